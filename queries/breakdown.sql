-- name: breakdown
-- description: Tickets opened per client and period (created_at, in the client's zone), by priority and by category; a NULL category counts as 'uncategorised'
-- scope: client
-- param trend_start: date
-- param period_start: date
-- kpi: opened unit=count show=export no_data="no tickets opened" label="Tickets opened"
-- section: opened_breakdown
SELECT client_id, created_period AS period, 'priority' AS dimension, priority AS value, count(*) AS opened
FROM ticket_facts
WHERE created_period BETWEEN $trend_start AND $period_start
GROUP BY client_id, created_period, priority
UNION ALL
SELECT client_id, created_period AS period, 'category' AS dimension,
       coalesce(category, 'uncategorised') AS value, count(*) AS opened
FROM ticket_facts
WHERE created_period BETWEEN $trend_start AND $period_start
GROUP BY client_id, created_period, coalesce(category, 'uncategorised')
ORDER BY client_id, period, dimension, value
