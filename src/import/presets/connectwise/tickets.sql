-- ConnectWise Manage service tickets: a CSV export with the REST API's field names,
-- nested objects flattened with dots (company.identifier, priority.name), or
-- /service/tickets as JSON (flattened the same way on reading). Times are local and
-- 12-hour (10/5/2026 2:03 PM): pass --timezone with the PSA's zone.
-- reads: tickets (the service tickets export)
SELECT CAST(id AS VARCHAR) AS ticket_id,
       "company.identifier" AS client_id,
       "owner.identifier" AS technician_id,
       CASE
           WHEN "priority.name" LIKE 'Priority 1%' THEN 'P1'
           WHEN "priority.name" LIKE 'Priority 2%' THEN 'P2'
           WHEN "priority.name" LIKE 'Priority 3%' THEN 'P3'
           WHEN "priority.name" LIKE 'Priority 4%' THEN 'P4'
           ELSE "priority.name"
       END AS priority,
       "type.name" AS category,
       to_timestamp("dateEntered", '%m/%d/%Y %I:%M %p') AS created_at,
       to_timestamp("dateResponded", '%m/%d/%Y %I:%M %p') AS first_response_at,
       to_timestamp("dateResolved", '%m/%d/%Y %I:%M %p') AS resolved_at,
       to_timestamp("closedDate", '%m/%d/%Y %I:%M %p') AS closed_at,
       -- Manage records no customer contacts per ticket: FCR shows no data.
       CAST(NULL AS INT) AS contacts,
       _source_row
FROM tickets
