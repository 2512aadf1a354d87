-- HaloPSA actions with time on them (Actions: ticket_id, who_agentid, datetime, timetaken
-- in hours; local, 24-hour times).
-- reads: actions (the Actions export)
SELECT CAST(ticket_id AS VARCHAR) AS ticket_id,
       CAST(who_agentid AS VARCHAR) AS technician_id,
       to_timestamp(datetime, '%Y-%m-%d %H:%M:%S') AS started_at,
       CAST(timetaken AS DOUBLE) * 60 AS minutes,
       _source_row
FROM actions
WHERE CAST(timetaken AS DOUBLE) > 0
