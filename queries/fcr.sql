-- name: fcr
-- description: First-contact resolution rate per client and period of resolved_at
-- scope: client
-- param trend_start: date
-- param period_start: date
-- param grain: string
-- param window_start: timestamp
-- param window_end: timestamp
WITH resolved AS (
    SELECT t.client_id, t.contacts, CAST(date_trunc($grain, local_month(t.resolved_at, c.timezone)) AS DATE) AS period
    FROM tickets t
    JOIN clients c ON c.client_id = t.client_id
    WHERE t.resolved_at IS NOT NULL
      AND t.resolved_at >= $window_start AND t.resolved_at < $window_end
)
SELECT client_id,
       period,
       fcr_rate(contacts) AS fcr,
       count(contacts) AS fcr_n
FROM resolved
WHERE period BETWEEN $trend_start AND $period_start
GROUP BY client_id, period
ORDER BY client_id, period
