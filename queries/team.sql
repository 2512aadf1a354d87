-- name: team
-- description: Technician efficiency (internal): minutes worked per distinct ticket worked, per technician and period of started_at in the client's zone
-- scope: internal
-- param trend_start: date
-- param period_start: date
-- kpi: minutes_per_ticket unit=minutes show=export no_data="no time worked" label="Minutes per ticket"
-- kpi: minutes_worked unit=minutes show=export no_data="no time worked" label="Time worked"
-- kpi: tickets_worked unit=count show=export no_data="no time worked" label="Tickets worked"
-- section: technicians
SELECT technician_id,
       period,
       -- a decimal sum is exact, so the total does not depend on the order rows arrive in
       CAST(sum(CAST(minutes AS DECIMAL(38, 12))) AS DOUBLE) / count(DISTINCT ticket_id) AS minutes_per_ticket,
       CAST(sum(CAST(minutes AS DECIMAL(38, 12))) AS DOUBLE) AS minutes_worked,
       count(DISTINCT ticket_id) AS tickets_worked
FROM work_facts
WHERE period BETWEEN $trend_start AND $period_start
GROUP BY technician_id, period
ORDER BY technician_id, period
