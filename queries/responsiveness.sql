-- name: responsiveness
-- description: First-response time in business minutes (client calendar; 24x7 without one), per client and period of first_response_at
-- scope: client
-- param trend_start: date
-- param period_start: date
-- kpi: response_avg n=response_n unit=minutes show=headline order=10 no_data="no first responses" label="First response, average"
-- kpi: response_median n=response_n unit=minutes show=detail no_data="no first responses" label="First response, median"
-- kpi: response_p90 n=response_n unit=minutes show=detail no_data="no first responses" label="First response, 90th percentile"
SELECT client_id,
       responded_period AS period,
       -- a decimal sum is exact, so the mean does not depend on the order rows arrive in
       CAST(avg(CAST(response_minutes AS DECIMAL(38, 12))) AS DOUBLE) AS response_avg,
       median(response_minutes) AS response_median,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY response_minutes) AS response_p90,
       count(response_minutes) AS response_n
FROM ticket_facts
WHERE responded_period BETWEEN $trend_start AND $period_start
GROUP BY client_id, responded_period
ORDER BY client_id, period
