-- name: satisfaction
-- description: NPS (with promoter, passive and detractor counts) and CSAT per client and period of submitted_at
-- scope: client
-- param trend_start: date
-- param period_start: date
-- param grain: string
-- param window_start: timestamp
-- param window_end: timestamp
WITH answers AS (
    SELECT s.client_id, s.kind, s.score, CAST(date_trunc($grain, local_month(s.submitted_at, c.timezone)) AS DATE) AS period
    FROM surveys s
    JOIN clients c ON c.client_id = s.client_id
    WHERE s.submitted_at >= $window_start AND s.submitted_at < $window_end
)
SELECT client_id,
       period,
       nps(score) FILTER (WHERE kind = 'nps') AS nps,
       count(score) FILTER (WHERE kind = 'nps') AS nps_n,
       count(*) FILTER (WHERE kind = 'nps' AND score >= 9) AS promoters,
       count(*) FILTER (WHERE kind = 'nps' AND score IN (7, 8)) AS passives,
       count(*) FILTER (WHERE kind = 'nps' AND score <= 6) AS detractors,
       csat(score) FILTER (WHERE kind = 'csat') AS csat,
       count(score) FILTER (WHERE kind = 'csat') AS csat_n
FROM answers
WHERE period BETWEEN $trend_start AND $period_start
GROUP BY client_id, period
ORDER BY client_id, period
