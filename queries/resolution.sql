-- name: resolution
-- description: Resolution time in business minutes (client calendar; 24x7 without one), per client and period of resolved_at
-- scope: client
-- param trend_start: date
-- param period_start: date
-- kpi: resolution_avg n=resolution_n unit=minutes show=headline order=20 no_data="no tickets resolved" label="Resolution time, average"
-- kpi: resolution_median n=resolution_n unit=minutes show=detail no_data="no tickets resolved" label="Resolution time, median"
-- kpi: resolution_p90 n=resolution_n unit=minutes show=detail no_data="no tickets resolved" label="Resolution time, 90th percentile"
SELECT client_id,
       resolved_period AS period,
       -- a decimal sum is exact, so the mean does not depend on the order rows arrive in
       CAST(avg(CAST(resolution_minutes AS DECIMAL(38, 12))) AS DOUBLE) AS resolution_avg,
       median(resolution_minutes) AS resolution_median,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY resolution_minutes) AS resolution_p90,
       count(resolution_minutes) AS resolution_n
FROM ticket_facts
WHERE resolved_period BETWEEN $trend_start AND $period_start
GROUP BY client_id, resolved_period
ORDER BY client_id, period
