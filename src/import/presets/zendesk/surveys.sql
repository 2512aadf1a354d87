-- Zendesk satisfaction ratings (satisfaction_ratings: id, ticket_id, score, created_at):
-- CSAT "good" = 5 and "bad" = 1 on the 1-5 scale; offered but unanswered ratings are
-- left out. The client is the ticket's organization.
-- timezone: UTC
-- reads: satisfaction_ratings, tickets
SELECT CAST(r.id AS VARCHAR) AS survey_id,
       CAST(t.organization_id AS VARCHAR) AS client_id,
       CAST(r.ticket_id AS VARCHAR) AS ticket_id,
       to_timestamp(r.created_at) AS submitted_at,
       'csat' AS kind,
       CASE r.score WHEN 'good' THEN 5 WHEN 'bad' THEN 1 END AS score,
       r._source_row
FROM satisfaction_ratings r
JOIN tickets t ON t.id = r.ticket_id
WHERE r.score IN ('good', 'bad')
