-- Autotask PSA tickets: a CSV export with the REST API's Tickets field names
-- (companyID, priority, createDate, ...). priority is the picklist's value (4
-- Critical, 1 High, 2 Medium, 3 Low) or its label. Times are local and 12-hour
-- (10/5/2026 2:03 PM): pass --timezone with the PSA's zone.
-- reads: tickets (the Tickets export)
SELECT CAST(id AS VARCHAR) AS ticket_id,
       CAST("companyID" AS VARCHAR) AS client_id,
       CAST("assignedResourceID" AS VARCHAR) AS technician_id,
       CASE trim(CAST(priority AS VARCHAR))
           WHEN '4' THEN 'P1' WHEN 'Critical' THEN 'P1'
           WHEN '1' THEN 'P2' WHEN 'High' THEN 'P2'
           WHEN '2' THEN 'P3' WHEN 'Medium' THEN 'P3'
           WHEN '3' THEN 'P4' WHEN 'Low' THEN 'P4'
           ELSE CAST(priority AS VARCHAR)
       END AS priority,
       CAST("issueType" AS VARCHAR) AS category,
       to_timestamp("createDate", '%m/%d/%Y %I:%M %p') AS created_at,
       to_timestamp("firstResponseDateTime", '%m/%d/%Y %I:%M %p') AS first_response_at,
       to_timestamp("resolvedDateTime", '%m/%d/%Y %I:%M %p') AS resolved_at,
       to_timestamp("completedDate", '%m/%d/%Y %I:%M %p') AS closed_at,
       -- Autotask records no customer contacts per ticket: FCR shows no data.
       CAST(NULL AS INT) AS contacts,
       _source_row
FROM tickets
