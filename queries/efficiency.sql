-- name: efficiency
-- description: Customer efficiency: minutes worked per distinct ticket worked, per client and period of started_at
-- scope: client
-- param trend_start: date
-- param period_start: date
-- kpi: minutes_per_ticket n=efficiency_n unit=minutes show=headline order=100 no_data="no time worked" label="Time worked per ticket"
-- kpi: minutes_worked n=efficiency_n unit=minutes show=detail no_data="no time worked" label="Time worked"
SELECT client_id,
       period,
       -- a decimal sum is exact, so the total does not depend on the order rows arrive in
       CAST(sum(CAST(minutes AS DECIMAL(38, 12))) AS DOUBLE) / count(DISTINCT ticket_id) AS minutes_per_ticket,
       CAST(sum(CAST(minutes AS DECIMAL(38, 12))) AS DOUBLE) AS minutes_worked,
       count(DISTINCT ticket_id) AS efficiency_n
FROM work_facts
WHERE period BETWEEN $trend_start AND $period_start
GROUP BY client_id, period
ORDER BY client_id, period
