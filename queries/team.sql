-- name: team
-- description: Technician efficiency (internal): minutes worked per distinct ticket worked, per technician and period of started_at in the client's zone
-- scope: internal
-- param trend_start: date
-- param period_start: date
SELECT e.technician_id,
       p.period,
       sum(e.minutes) / count(DISTINCT e.ticket_id) AS minutes_per_ticket,
       sum(e.minutes) AS minutes_worked,
       count(DISTINCT e.ticket_id) AS tickets_worked
FROM time_entries e
JOIN tickets t ON t.ticket_id = e.ticket_id
JOIN clients c ON c.client_id = t.client_id
JOIN periods p ON p.month = local_month(e.started_at, c.timezone)
WHERE p.period BETWEEN $trend_start AND $period_start
GROUP BY e.technician_id, p.period
ORDER BY e.technician_id, p.period
