-- name: efficiency
-- description: Customer efficiency: minutes worked per distinct ticket worked, per client and period of started_at
-- scope: client
-- param trend_start: date
-- param period_start: date
-- param grain: string
-- param window_start: timestamp
-- param window_end: timestamp
WITH worked AS (
    SELECT t.client_id, e.ticket_id, e.minutes, CAST(date_trunc($grain, local_month(e.started_at, c.timezone)) AS DATE) AS period
    FROM time_entries e
    JOIN tickets t ON t.ticket_id = e.ticket_id
    JOIN clients c ON c.client_id = t.client_id
    WHERE e.started_at >= $window_start AND e.started_at < $window_end
)
SELECT client_id,
       period,
       sum(minutes) / count(DISTINCT ticket_id) AS minutes_per_ticket,
       sum(minutes) AS minutes_worked,
       count(DISTINCT ticket_id) AS efficiency_n
FROM worked
WHERE period BETWEEN $trend_start AND $period_start
GROUP BY client_id, period
ORDER BY client_id, period
