-- Zendesk status history, from ticket_audits (ticket_id, created_at, events): each
-- Create or Change event of the status field is the ticket entering that status.
-- timezone: UTC
-- reads: ticket_audits
SELECT CAST(ticket_id AS VARCHAR) AS ticket_id,
       event['value'] AS status,
       to_timestamp(created_at) AS changed_at,
       _source_row
FROM (SELECT ticket_id, created_at, _source_row, unnest(events) AS event FROM ticket_audits)
WHERE event['field_name'] = 'status' AND event['type'] IN ('Create', 'Change')
