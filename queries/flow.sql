-- name: flow
-- description: Tickets opened (created_at), closed (closed_at, else resolved_at), their ratio and difference, and the backlog at period end, per client and period
-- scope: client
-- param trend_start: date
-- param period_start: date
-- kpi: opened unit=count show=headline order=110 index=6 index_label=opened no_data="no tickets opened" label="Tickets opened"
-- kpi: closed unit=count show=headline order=120 no_data="no tickets closed" label="Tickets closed"
-- kpi: open_close_ratio unit=ratio show=headline order=130 no_data="no tickets closed" label="Opened ÷ closed"
-- kpi: open_close_difference unit=count show=headline order=140 no_data="no tickets opened or closed" label="Opened − closed"
-- kpi: backlog unit=count show=headline order=150 index=7 index_label="open at end" no_data="no tickets" label="Open tickets at period end"
WITH events AS (
    SELECT client_id, created_period AS period, 1 AS opened, 0 AS closed
    FROM ticket_facts
    UNION ALL
    SELECT client_id, closed_period AS period, 0 AS opened, 1 AS closed
    FROM ticket_facts
    WHERE closed_period IS NOT NULL
),
per_period AS (
    SELECT client_id, period, sum(opened) AS opened, sum(closed) AS closed
    FROM events
    GROUP BY client_id, period
),
running AS (
    -- backlog at the end of a period: opened so far minus closed so far (the tickets
    -- that ticket_facts leaves out were opened and closed before the window, or both
    -- after it, and add nothing to it)
    SELECT client_id, period, opened, closed,
           sum(opened - closed) OVER (PARTITION BY client_id ORDER BY period
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS backlog
    FROM per_period
)
SELECT client_id,
       period,
       opened,
       closed,
       CAST(opened AS DOUBLE) / nullif(closed, 0) AS open_close_ratio,
       opened - closed AS open_close_difference,
       backlog
FROM running
WHERE period BETWEEN $trend_start AND $period_start
ORDER BY client_id, period
