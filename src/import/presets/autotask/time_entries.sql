-- Autotask PSA time entries (TimeEntries): ticketID, resourceID, startDateTime (local,
-- 12-hour) and hoursWorked; entries without a ticket are left out.
-- reads: time_entries (the TimeEntries export)
SELECT CAST("ticketID" AS VARCHAR) AS ticket_id,
       CAST("resourceID" AS VARCHAR) AS technician_id,
       to_timestamp("startDateTime", '%m/%d/%Y %I:%M %p') AS started_at,
       CAST("hoursWorked" AS DOUBLE) * 60 AS minutes,
       _source_row
FROM time_entries
WHERE "ticketID" IS NOT NULL
