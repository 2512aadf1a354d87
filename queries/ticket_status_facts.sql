-- name: ticket_status_facts
-- description: One row per ticket with a status history: the intervals its SLA clocks stood still (statuses of kind paused), its first resolution, its first reopen and whether it ever paused; empty when the data has no ticket_status table
-- scope: model
SELECT ts.ticket_id,
       sla_pauses(ts.changed_at, ts.status, s.kind) AS pauses,
       first_resolved_at(ts.changed_at, ts.status, s.kind) AS first_resolved_at,
       first_reopened_at(ts.changed_at, ts.status, s.kind) AS first_reopened_at,
       -- whether it ever entered a paused status: plain SQL, which every executor of a
       -- cluster plans (array functions need not be registered there)
       count(*) FILTER (WHERE s.kind = 'paused') > 0 AS has_pauses
FROM ticket_status ts
JOIN statuses s ON s.status = ts.status
GROUP BY ts.ticket_id
