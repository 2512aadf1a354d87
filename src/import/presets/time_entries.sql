-- Time worked, from the time_entries.csv template: minutes per ticket and technician,
-- started_at as 2026-10-05 14:03:00 in the zone of the mapping.
-- reads: time_entries (time_entries.csv)
SELECT ticket_id,
       technician_id,
       to_timestamp(started_at, '%Y-%m-%d %H:%M:%S') AS started_at,
       CAST(minutes AS DOUBLE) AS minutes,
       _source_row
FROM time_entries
