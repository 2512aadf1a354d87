-- name: flow
-- description: Tickets opened (created_at), closed (closed_at, else resolved_at), their ratio and difference, and the backlog at period end, per client and period
-- scope: client
-- param trend_start: date
-- param period_start: date
-- param grain: string
WITH events AS (
    SELECT t.client_id, local_month(t.created_at, c.timezone) AS month, 1 AS opened, 0 AS closed
    FROM tickets t JOIN clients c ON c.client_id = t.client_id
    UNION ALL
    SELECT t.client_id, local_month(coalesce(t.closed_at, t.resolved_at), c.timezone) AS month, 0 AS opened, 1 AS closed
    FROM tickets t JOIN clients c ON c.client_id = t.client_id
    WHERE coalesce(t.closed_at, t.resolved_at) IS NOT NULL
),
monthly AS (
    SELECT client_id, month, sum(opened) AS opened, sum(closed) AS closed
    FROM events
    GROUP BY client_id, month
),
running AS (
    -- backlog at the end of a month: opened so far minus closed so far
    SELECT client_id, month, opened, closed,
           sum(opened - closed) OVER (PARTITION BY client_id ORDER BY month
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS backlog
    FROM monthly
)
SELECT r.client_id,
       r.period,
       sum(r.opened) AS opened,
       sum(r.closed) AS closed,
       CAST(sum(r.opened) AS DOUBLE) / nullif(sum(r.closed), 0) AS open_close_ratio,
       sum(r.opened) - sum(r.closed) AS open_close_difference,
       last_value(r.backlog ORDER BY r.month) AS backlog
FROM (SELECT *, CAST(date_trunc($grain, month) AS DATE) AS period FROM running) r
WHERE r.period BETWEEN $trend_start AND $period_start
GROUP BY r.client_id, r.period
ORDER BY r.client_id, r.period
