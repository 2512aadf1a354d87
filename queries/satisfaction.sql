-- name: satisfaction
-- description: NPS (with promoter, passive and detractor counts) and CSAT per client and period of submitted_at
-- scope: client
-- param trend_start: date
-- param period_start: date
-- param grain: string
-- param window_start: timestamp
-- param window_end: timestamp
-- kpi: nps n=nps_n unit=score show=headline order=80 index=3 index_label=NPS no_data="no NPS surveys" label="Net Promoter Score"
-- kpi: promoters unit=count show=detail no_data="no NPS surveys" label="Promoters"
-- kpi: passives unit=count show=detail no_data="no NPS surveys" label="Passives"
-- kpi: detractors unit=count show=detail no_data="no NPS surveys" label="Detractors"
-- kpi: csat n=csat_n unit=percent show=headline order=90 index=4 index_label=CSAT no_data="no CSAT surveys" label="Customer satisfaction (CSAT)"
-- section: nps_bar
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
