-- name: ticket_status_facts
-- description: One row per ticket with a status history: the intervals its SLA clocks stood still (statuses of kind paused; NULL when it never paused), its first resolution and its first reopen; empty when the data has no ticket_status table
-- scope: model
-- set datafusion.execution.target_partitions: 1
-- One partition, because ticket_status is read in (ticket_id, changed_at) order where its
-- files say so, and one stream then groups each ticket as its rows pass. Two
-- partitions would each group half, then merge every ticket's rows again through an
-- order-preserving repartition, which costs more than the second core gives.
WITH summaries AS (
    -- one aggregate, so each ticket's rows are collected and sorted once
    SELECT ts.ticket_id, status_summary(ts.changed_at, ts.status, s.kind) AS summary
    FROM ticket_status ts
    JOIN statuses s ON s.status = ts.status
    GROUP BY ts.ticket_id
)
SELECT ticket_id,
       summary['pauses'] AS pauses,
       summary['first_resolved_at'] AS first_resolved_at,
       summary['first_reopened_at'] AS first_reopened_at
FROM summaries
