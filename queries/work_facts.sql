-- name: work_facts
-- description: Time entries started in the trend window, with their ticket's client and the local period of started_at (in the client's zone)
-- scope: model
-- param grain: string
-- param window_start: timestamp
-- param window_end: timestamp
SELECT e.ticket_id,
       e.technician_id,
       t.client_id,
       e.started_at,
       e.minutes,
       CAST(date_trunc($grain, local_month(e.started_at, c.timezone)) AS DATE) AS period
FROM time_entries e
JOIN tickets t ON t.ticket_id = e.ticket_id
JOIN clients c ON c.client_id = t.client_id
WHERE e.started_at >= $window_start AND e.started_at < $window_end
