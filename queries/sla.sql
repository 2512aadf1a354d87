-- name: sla
-- description: Response and resolution SLA compliance per client, period and priority (and 'all'); each ticket counts in the period its SLA was decided: the response (or resolution) time if within target, else the deadline
-- scope: client
-- param trend_start: date
-- param period_start: date
-- kpi: response_sla n=response_sla_n unit=percent show=headline order=30 goal=sla_goal_percent index=1 index_label="response SLA" index_sort=ascending no_data="no response SLA decided" label="Response SLA met"
-- kpi: resolution_sla n=resolution_sla_n unit=percent show=headline order=40 goal=sla_goal_percent index=2 index_label="resolution SLA" no_data="no resolution SLA decided" label="Resolution SLA met"
-- section: sla_table
WITH decided AS (
    SELECT client_id, priority, 'response' AS kind, response_met AS met, response_sla_period AS period
    FROM ticket_facts
    WHERE response_sla_period BETWEEN $trend_start AND $period_start
    UNION ALL
    SELECT client_id, priority, 'resolution' AS kind, resolution_met AS met, resolution_sla_period AS period
    FROM ticket_facts
    WHERE resolution_sla_period BETWEEN $trend_start AND $period_start
)
SELECT client_id,
       period,
       coalesce(priority, 'all') AS priority,
       sla_compliance(met) FILTER (WHERE kind = 'response') AS response_sla,
       count(*) FILTER (WHERE kind = 'response') AS response_sla_n,
       sla_compliance(met) FILTER (WHERE kind = 'resolution') AS resolution_sla,
       count(*) FILTER (WHERE kind = 'resolution') AS resolution_sla_n
FROM decided
GROUP BY GROUPING SETS ((client_id, period, priority), (client_id, period))
ORDER BY client_id, period, priority
