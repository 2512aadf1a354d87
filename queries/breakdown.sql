-- name: breakdown
-- description: Tickets opened per client and period (created_at, in the client's zone), by priority and by category; a NULL category counts as 'uncategorised'
-- scope: client
-- param trend_start: date
-- param period_start: date
-- param grain: string
-- param window_start: timestamp
-- param window_end: timestamp
WITH opened AS (
    SELECT t.client_id,
           CAST(date_trunc($grain, local_month(t.created_at, c.timezone)) AS DATE) AS period,
           t.priority,
           coalesce(t.category, 'uncategorised') AS category
    FROM tickets t JOIN clients c ON c.client_id = t.client_id
    WHERE t.created_at >= $window_start AND t.created_at < $window_end
)
SELECT client_id, period, 'priority' AS dimension, priority AS value, count(*) AS opened
FROM opened
WHERE period BETWEEN $trend_start AND $period_start
GROUP BY client_id, period, priority
UNION ALL
SELECT client_id, period, 'category' AS dimension, category AS value, count(*) AS opened
FROM opened
WHERE period BETWEEN $trend_start AND $period_start
GROUP BY client_id, period, category
ORDER BY client_id, period, dimension, value
