-- Zendesk Support tickets, from the API's JSON (or NDJSON / CSV with the same field
-- names): tickets (id, organization_id, assignee_id, priority, type, created_at) with
-- ticket_metrics (ticket_id, reply_time_in_minutes.calendar, solved_at, replies) and
-- the status changes of ticket_audits for the first resolution. Times are the API's
-- UTC (2026-10-05T14:03:00Z). A ticket without a priority counts as normal (P3);
-- contacts = the agent's public replies (one reply = resolved on first contact).
-- timezone: UTC
-- reads: tickets, ticket_metrics, ticket_audits
WITH first_solved AS (
    SELECT ticket_id, min(to_timestamp(created_at)) AS at
    FROM (SELECT ticket_id, created_at, unnest(events) AS event FROM ticket_audits)
    WHERE event['field_name'] = 'status' AND event['value'] IN ('solved', 'closed')
    GROUP BY ticket_id
)
SELECT CAST(t.id AS VARCHAR) AS ticket_id,
       CAST(t.organization_id AS VARCHAR) AS client_id,
       CAST(t.assignee_id AS VARCHAR) AS technician_id,
       CASE coalesce(t.priority, 'normal')
           WHEN 'urgent' THEN 'P1' WHEN 'high' THEN 'P2'
           WHEN 'normal' THEN 'P3' WHEN 'low' THEN 'P4'
           ELSE t.priority
       END AS priority,
       t.type AS category,
       to_timestamp(t.created_at) AS created_at,
       -- the first reply, reply_time minutes after creation (to_timestamp of seconds)
       to_timestamp(to_unixtime(to_timestamp(t.created_at))
                    + 60 * CAST(m."reply_time_in_minutes.calendar" AS BIGINT)) AS first_response_at,
       coalesce(s.at, to_timestamp(m.solved_at)) AS resolved_at,
       CASE WHEN t.status = 'closed' THEN to_timestamp(t.updated_at) END AS closed_at,
       CASE WHEN coalesce(s.at, to_timestamp(m.solved_at)) IS NOT NULL
            THEN CAST(greatest(coalesce(m.replies, 1), 1) AS INT) END AS contacts,
       t._source_row
FROM tickets t
LEFT JOIN ticket_metrics m ON m.ticket_id = t.id
LEFT JOIN first_solved s ON s.ticket_id = t.id
