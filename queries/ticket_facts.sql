-- name: ticket_facts
-- description: One row per ticket relevant to the trend window (an event inside it, a clock still running, or still open): its client, priority, category and contacts, the local period of each event (its first reopen too), business minutes to first response and to resolution, the business minutes it waited on the customer before resolution, and each SLA clock's decision (met, decided_at, period), with the clocks stopped while the ticket waited
-- scope: model
-- param grain: string
-- param window_start: timestamp
-- param window_end: timestamp
-- set datafusion.optimizer.join_reordering: false
WITH relevant AS (
    -- every ticket that any KPI of the window can see: not everything before the
    -- window, and something before its end (open tickets stay in, for the backlog)
    SELECT t.ticket_id, t.client_id, t.priority, t.category, t.contacts,
           t.created_at, t.first_response_at, t.resolved_at,
           -- the periods come first: a timestamp no period can hold fails here, before
           -- business time is counted to it
           CAST(date_trunc($grain, local_month(t.created_at, g.timezone)) AS DATE) AS created_period,
           CAST(date_trunc($grain, local_month(t.first_response_at, g.timezone)) AS DATE) AS responded_period,
           CAST(date_trunc($grain, local_month(t.resolved_at, g.timezone)) AS DATE) AS resolved_period,
           CAST(date_trunc($grain, local_month(coalesce(t.closed_at, t.resolved_at), g.timezone)) AS DATE) AS closed_period,
           CAST(date_trunc($grain, local_month(h.first_reopened_at, g.timezone)) AS DATE) AS reopened_period,
           h.ticket_id IS NOT NULL AS has_status_history,
           -- NULL for a ticket that never waited: its clocks take the plain path below
           h.pauses,
           g.timezone,
           g.calendar,
           g.response_target,
           g.resolution_target,
           g.sla_calendar
    -- Planned as written (join_reordering is off above): each join builds on its
    -- left side, client_terms (one row per client and priority) and the status facts
    -- (narrow rows, one per ticket with a history), and streams the wide ticket rows.
    -- Left to choose, the planner builds on the tickets, whose filtered size it
    -- underestimates, and collects every wide row of the window into one table.
    FROM client_terms g
    JOIN (ticket_status_facts h RIGHT JOIN tickets t ON h.ticket_id = t.ticket_id)
      ON g.client_id = t.client_id AND g.priority_key = coalesce(t.priority, '')
    WHERE (t.created_at >= $window_start
           OR t.first_response_at IS NULL OR t.first_response_at >= $window_start
           OR t.resolved_at IS NULL OR t.resolved_at >= $window_start
           OR coalesce(t.closed_at, t.resolved_at) >= $window_start
           OR h.first_reopened_at >= $window_start)
      AND (t.created_at < $window_end OR t.first_response_at < $window_end
           OR t.resolved_at < $window_end OR coalesce(t.closed_at, t.resolved_at) < $window_end)
),
clocks AS (
    SELECT *,
           -- business time is counted once per clock, for clocks that stop in the window
           CASE WHEN first_response_at >= $window_start AND first_response_at < $window_end
                THEN business_minutes(created_at, first_response_at, calendar) END AS response_minutes,
           CASE WHEN resolved_at >= $window_start AND resolved_at < $window_end
                THEN business_minutes(created_at, resolved_at, calendar) END AS resolution_minutes,
           -- waiting on the customer before the resolution, for tickets with a status
           -- history (0 when they never waited); the end is NULL for the others, which
           -- makes their minutes NULL (cheaper than a CASE around the function)
           paused_minutes(created_at,
                          CASE WHEN resolved_at >= $window_start AND resolved_at < $window_end
                                    AND has_status_history
                               THEN resolved_at END,
                          calendar, pauses) AS waiting_minutes,
           -- an SLA clock is judged when it was created before the window ends and not
           -- stopped before the window opens
           response_target IS NOT NULL AND created_at < $window_end
             AND (first_response_at IS NULL OR first_response_at >= $window_start) AS response_judged,
           resolution_target IS NOT NULL AND created_at < $window_end
             AND (resolved_at IS NULL OR resolved_at >= $window_start) AS resolution_judged
    FROM relevant
),
met AS (
    SELECT *,
           -- the minutes above where the SLA counts the same calendar; else sla_met,
           -- which stops counting once past the target (a mistyped year 20260 is not
           -- counted week by week)
           CASE WHEN NOT response_judged THEN NULL
                WHEN first_response_at IS NULL THEN false
                WHEN response_minutes IS NULL OR sla_calendar IS DISTINCT FROM calendar
                THEN sla_met(created_at, first_response_at, response_target, first_response_at, sla_calendar, pauses)
                -- customers are mostly waited on after the first response: no minute
                -- paused before it, none to take off
                WHEN pauses IS NULL OR paused_minutes(created_at, first_response_at, calendar, pauses) = 0
                THEN response_minutes <= response_target
                ELSE sla_met(created_at, first_response_at, response_target, first_response_at, sla_calendar, pauses)
           END AS response_met,
           CASE WHEN NOT resolution_judged THEN NULL
                WHEN resolved_at IS NULL THEN false
                WHEN resolution_minutes IS NULL OR sla_calendar IS DISTINCT FROM calendar
                THEN sla_met(created_at, resolved_at, resolution_target, resolved_at, sla_calendar, pauses)
                -- the minutes less those waited (none without a history), each first
                -- turned back into the whole microseconds it counts: exact while below
                -- 2^23 minutes (16 years), where a double's error stays far under half a
                -- microsecond
                WHEN abs(resolution_minutes) < 8388608
                THEN round(resolution_minutes * 60000000) - round(coalesce(waiting_minutes, 0) * 60000000)
                     <= resolution_target * 60000000
                ELSE sla_met(created_at, resolved_at, resolution_target, resolved_at, sla_calendar, pauses)
           END AS resolution_met
    FROM clocks
),
decided AS (
    SELECT *,
           CASE WHEN response_met THEN first_response_at
                -- a pause before the deadline pushes it out
                WHEN NOT response_met THEN business_deadline(created_at, response_target, sla_calendar, pauses)
           END AS response_decided_at,
           CASE WHEN resolution_met THEN resolved_at
                WHEN NOT resolution_met THEN business_deadline(created_at, resolution_target, sla_calendar, pauses)
           END AS resolution_decided_at
    FROM met
)
SELECT ticket_id,
       client_id,
       priority,
       category,
       contacts,
       created_period,
       responded_period,
       resolved_period,
       closed_period,
       reopened_period,
       has_status_history,
       response_minutes,
       resolution_minutes,
       waiting_minutes,
       response_met,
       response_decided_at,
       CAST(date_trunc($grain, local_month(response_decided_at, timezone)) AS DATE) AS response_sla_period,
       resolution_met,
       resolution_decided_at,
       CAST(date_trunc($grain, local_month(resolution_decided_at, timezone)) AS DATE) AS resolution_sla_period
FROM decided
