-- name: reopens
-- description: Reopen rate per client and period, over tickets with a status history: tickets first reopened in the period ÷ tickets first resolved in it (NULL without a status history)
-- scope: client
-- param trend_start: date
-- param period_start: date
-- kpi: reopen_rate n=reopen_n unit=percent show=headline order=60 needs=ticket_status no_data="no tickets resolved" label="Reopen rate"
WITH events AS (
    SELECT client_id, reopened_period AS period, 1 AS reopened, 0 AS resolved
    FROM ticket_facts
    WHERE reopened_period BETWEEN $trend_start AND $period_start
    UNION ALL
    SELECT client_id, resolved_period AS period, 0 AS reopened, 1 AS resolved
    FROM ticket_facts
    WHERE has_status_history AND resolved_period BETWEEN $trend_start AND $period_start
)
SELECT client_id,
       period,
       CASE WHEN sum(resolved) > 0 THEN 100.0 * sum(reopened) / sum(resolved) END AS reopen_rate,
       sum(resolved) AS reopen_n
FROM events
GROUP BY client_id, period
ORDER BY client_id, period
