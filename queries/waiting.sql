-- name: waiting
-- description: Time waiting on the customer per client and period of resolved_at: the average, over tickets first resolved in the period that have a status history, of the business minutes (client calendar; 24x7 without one) they spent in paused statuses before that resolution, 0 for those that never waited
-- scope: client
-- param trend_start: date
-- param period_start: date
-- kpi: waiting_avg n=waiting_n unit=minutes show=headline order=70 needs=ticket_status no_data="no tickets resolved" label="Time waiting on you, average"
SELECT client_id,
       resolved_period AS period,
       -- a decimal sum is exact, so the mean does not depend on the order rows arrive in
       CAST(avg(CAST(waiting_minutes AS DECIMAL(38, 12))) AS DOUBLE) AS waiting_avg,
       count(waiting_minutes) AS waiting_n
FROM ticket_facts
WHERE resolved_period BETWEEN $trend_start AND $period_start
GROUP BY client_id, resolved_period
ORDER BY client_id, period
