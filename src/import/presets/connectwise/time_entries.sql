-- ConnectWise Manage time entries (/time/entries): those charged to service tickets,
-- with member.identifier, timeStart (local, 12-hour) and actualHours.
-- reads: time_entries (the time entries export)
SELECT CAST("chargeToId" AS VARCHAR) AS ticket_id,
       "member.identifier" AS technician_id,
       to_timestamp("timeStart", '%m/%d/%Y %I:%M %p') AS started_at,
       CAST("actualHours" AS DOUBLE) * 60 AS minutes,
       _source_row
FROM time_entries
WHERE "chargeToType" = 'ServiceTicket'
