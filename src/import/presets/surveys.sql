-- Survey answers, from the surveys.csv template (the PSA's own or a survey tool's
-- export, e.g. SmileBack or CrewHu): kind nps (score 0-10) or csat (1-5), submitted_at
-- as 2026-10-05 14:03:00 in the zone of --timezone.
-- reads: surveys (surveys.csv)
SELECT survey_id,
       client_id,
       ticket_id,
       to_timestamp(submitted_at, '%Y-%m-%d %H:%M:%S') AS submitted_at,
       lower(kind) AS kind,
       CAST(score AS INT) AS score,
       _source_row
FROM surveys
