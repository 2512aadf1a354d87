-- name: team
-- description: Technician efficiency (internal): minutes worked per distinct ticket worked, per technician and period of started_at in the client's zone
-- scope: internal
-- param trend_start: date
-- param period_start: date
-- param grain: string
-- param window_start: timestamp
-- param window_end: timestamp
WITH worked AS (
    SELECT e.technician_id, e.ticket_id, e.minutes, CAST(date_trunc($grain, local_month(e.started_at, c.timezone)) AS DATE) AS period
    FROM time_entries e
    JOIN tickets t ON t.ticket_id = e.ticket_id
    JOIN clients c ON c.client_id = t.client_id
    WHERE e.started_at >= $window_start AND e.started_at < $window_end
)
SELECT technician_id,
       period,
       sum(minutes) / count(DISTINCT ticket_id) AS minutes_per_ticket,
       sum(minutes) AS minutes_worked,
       count(DISTINCT ticket_id) AS tickets_worked
FROM worked
WHERE period BETWEEN $trend_start AND $period_start
GROUP BY technician_id, period
ORDER BY technician_id, period
