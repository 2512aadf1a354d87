-- SLA targets, from the sla_targets.csv template: per priority (P1..P4), for every
-- client (empty client_id) or one; business_hours true = the minutes count in the
-- client's calendar, false = around the clock.
-- reads: sla_targets (sla_targets.csv)
SELECT client_id,
       priority,
       CAST(response_minutes AS INT) AS response_minutes,
       CAST(resolution_minutes AS INT) AS resolution_minutes,
       CASE lower(trim(business_hours))
           WHEN 'true' THEN true WHEN 'yes' THEN true
           WHEN 'false' THEN false WHEN 'no' THEN false
       END AS business_hours,
       _source_row
FROM sla_targets
