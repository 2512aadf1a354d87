-- HaloPSA tickets: a CSV export with the API's Tickets field names (client_id,
-- priority_id 1-4, dateoccurred, responsedate, dateclosed, agent_id, category_1).
-- Times are local, 24-hour (2026-10-05 14:03:00): pass --timezone with the PSA's
-- zone. Halo closes what it resolves: dateclosed is both.
-- reads: tickets (the Tickets export)
SELECT CAST(id AS VARCHAR) AS ticket_id,
       CAST(client_id AS VARCHAR) AS client_id,
       CAST(agent_id AS VARCHAR) AS technician_id,
       CASE trim(CAST(priority_id AS VARCHAR))
           WHEN '1' THEN 'P1' WHEN '2' THEN 'P2' WHEN '3' THEN 'P3' WHEN '4' THEN 'P4'
           ELSE CAST(priority_id AS VARCHAR)
       END AS priority,
       category_1 AS category,
       to_timestamp(dateoccurred, '%Y-%m-%d %H:%M:%S') AS created_at,
       to_timestamp(responsedate, '%Y-%m-%d %H:%M:%S') AS first_response_at,
       to_timestamp(dateclosed, '%Y-%m-%d %H:%M:%S') AS resolved_at,
       to_timestamp(dateclosed, '%Y-%m-%d %H:%M:%S') AS closed_at,
       -- Halo records no customer contacts per ticket: FCR shows no data.
       CAST(NULL AS INT) AS contacts,
       _source_row
FROM tickets
