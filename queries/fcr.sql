-- name: fcr
-- description: First-contact resolution rate per client and period of resolved_at
-- scope: client
-- param trend_start: date
-- param period_start: date
SELECT t.client_id,
       p.period,
       fcr_rate(t.contacts) AS fcr,
       count(t.contacts) AS fcr_n
FROM tickets t
JOIN clients c ON c.client_id = t.client_id
JOIN periods p ON p.month = local_month(t.resolved_at, c.timezone)
WHERE t.resolved_at IS NOT NULL
  AND p.period BETWEEN $trend_start AND $period_start
GROUP BY t.client_id, p.period
ORDER BY t.client_id, p.period
