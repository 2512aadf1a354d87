-- name: resolution
-- description: Resolution time in business minutes (client calendar; 24x7 without one), per client and period of resolved_at
-- scope: client
-- param trend_start: date
-- param period_start: date
-- param grain: string
-- param window_start: timestamp
-- param window_end: timestamp
WITH resolutions AS (
    SELECT t.client_id,
           CAST(date_trunc($grain, local_month(t.resolved_at, c.timezone)) AS DATE) AS period,
           business_minutes(t.created_at, t.resolved_at, coalesce(c.calendar, '24x7')) AS minutes
    FROM tickets t
    JOIN clients c ON c.client_id = t.client_id
    WHERE t.resolved_at IS NOT NULL
      AND t.resolved_at >= $window_start AND t.resolved_at < $window_end
)
SELECT client_id,
       period,
       avg(minutes) AS resolution_avg,
       median(minutes) AS resolution_median,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY minutes) AS resolution_p90,
       count(minutes) AS resolution_n
FROM resolutions
WHERE period BETWEEN $trend_start AND $period_start
GROUP BY client_id, period
ORDER BY client_id, period
