-- name: sla
-- description: Response and resolution SLA compliance per client, period and priority (and 'all'); each ticket counts in the period its SLA was decided: the response (or resolution) time if within target, else the deadline
-- scope: client
-- param trend_start: date
-- param period_start: date
-- param grain: string
-- param window_start: timestamp
-- param window_end: timestamp
WITH pairs AS (
    SELECT c.client_id, c.timezone, c.calendar, x.priority
    FROM clients c CROSS JOIN (SELECT DISTINCT priority FROM sla_targets) x
),
targets AS (
    -- the client's own row for the priority first, else the default row
    SELECT pairs.client_id,
           pairs.timezone,
           pairs.priority,
           coalesce(s.response_minutes, d.response_minutes) AS response_minutes,
           coalesce(s.resolution_minutes, d.resolution_minutes) AS resolution_minutes,
           CASE WHEN coalesce(s.business_hours, d.business_hours)
                THEN coalesce(pairs.calendar, '24x7') ELSE '24x7' END AS calendar
    FROM pairs
    LEFT JOIN sla_targets s ON s.client_id = pairs.client_id AND s.priority = pairs.priority
    LEFT JOIN sla_targets d ON d.client_id IS NULL AND d.priority = pairs.priority
    WHERE coalesce(s.response_minutes, d.response_minutes) IS NOT NULL
),
judged AS (
    SELECT t.client_id, g.timezone, t.priority, 'response' AS kind, t.created_at,
           t.first_response_at AS done_at, g.response_minutes AS target_minutes, g.calendar
    FROM tickets t JOIN targets g ON g.client_id = t.client_id AND g.priority = t.priority
    -- decided after the window opens: answered inside it or later, or not answered
    WHERE (t.first_response_at IS NULL OR t.first_response_at >= $window_start) AND t.created_at < $window_end
    UNION ALL
    SELECT t.client_id, g.timezone, t.priority, 'resolution' AS kind, t.created_at,
           t.resolved_at AS done_at, g.resolution_minutes AS target_minutes, g.calendar
    FROM tickets t JOIN targets g ON g.client_id = t.client_id AND g.priority = t.priority
    WHERE (t.resolved_at IS NULL OR t.resolved_at >= $window_start) AND t.created_at < $window_end
),
met AS (
    SELECT *,
           -- sla_met stops counting business time once past the target: the same
           -- answer as business_minutes(...) <= target_minutes, without counting a
           -- mistyped year 20260 week by week
           done_at IS NOT NULL
             AND sla_met(created_at, done_at, target_minutes, done_at, calendar) AS met
    FROM judged
),
decided AS (
    SELECT client_id, priority, kind, met,
           CASE WHEN met THEN done_at
                ELSE business_deadline(created_at, target_minutes, calendar) END AS decided_at,
           timezone
    FROM met
),
periods_of AS (
    SELECT *, CAST(date_trunc($grain, local_month(decided_at, timezone)) AS DATE) AS period FROM decided
)
SELECT d.client_id,
       d.period,
       coalesce(d.priority, 'all') AS priority,
       sla_compliance(d.met) FILTER (WHERE d.kind = 'response') AS response_sla,
       count(*) FILTER (WHERE d.kind = 'response') AS response_sla_n,
       sla_compliance(d.met) FILTER (WHERE d.kind = 'resolution') AS resolution_sla,
       count(*) FILTER (WHERE d.kind = 'resolution') AS resolution_sla_n
FROM periods_of d
WHERE d.period BETWEEN $trend_start AND $period_start
GROUP BY GROUPING SETS ((d.client_id, d.period, d.priority), (d.client_id, d.period))
ORDER BY d.client_id, d.period, priority
