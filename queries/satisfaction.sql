-- name: satisfaction
-- description: NPS (with promoter, passive and detractor counts) and CSAT per client and period of submitted_at
-- scope: client
-- param trend_start: date
-- param period_start: date
SELECT s.client_id,
       p.period,
       nps(s.score) FILTER (WHERE s.kind = 'nps') AS nps,
       count(s.score) FILTER (WHERE s.kind = 'nps') AS nps_n,
       count(*) FILTER (WHERE s.kind = 'nps' AND s.score >= 9) AS promoters,
       count(*) FILTER (WHERE s.kind = 'nps' AND s.score IN (7, 8)) AS passives,
       count(*) FILTER (WHERE s.kind = 'nps' AND s.score <= 6) AS detractors,
       csat(s.score) FILTER (WHERE s.kind = 'csat') AS csat,
       count(s.score) FILTER (WHERE s.kind = 'csat') AS csat_n
FROM surveys s
JOIN clients c ON c.client_id = s.client_id
JOIN periods p ON p.month = local_month(s.submitted_at, c.timezone)
WHERE p.period BETWEEN $trend_start AND $period_start
GROUP BY s.client_id, p.period
ORDER BY s.client_id, p.period
