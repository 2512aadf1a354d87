-- name: client_terms
-- description: One row per client and priority (each priority that tickets or SLA targets use; '' for tickets without one): the client's time zone and calendar, and its SLA targets, the client's own row for the priority first, else the default row
-- scope: model
SELECT c.client_id,
       p.priority_key,
       c.timezone,
       coalesce(c.calendar, '24x7') AS calendar,
       -- a pair has targets where it has a response target (as the SLA query has
       -- always read them)
       coalesce(s.response_minutes, d.response_minutes) AS response_target,
       CASE WHEN coalesce(s.response_minutes, d.response_minutes) IS NOT NULL
            THEN coalesce(s.resolution_minutes, d.resolution_minutes) END AS resolution_target,
       CASE WHEN coalesce(s.business_hours, d.business_hours)
            THEN coalesce(c.calendar, '24x7') ELSE '24x7' END AS sla_calendar
FROM clients c
CROSS JOIN (SELECT coalesce(priority, '') AS priority_key FROM tickets
            UNION SELECT priority FROM sla_targets WHERE priority IS NOT NULL) p
LEFT JOIN sla_targets s ON s.client_id = c.client_id AND s.priority = p.priority_key
LEFT JOIN sla_targets d ON d.client_id IS NULL AND d.priority = p.priority_key
