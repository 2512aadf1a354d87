-- Zendesk's statuses: new and open run the SLA clocks, pending and on-hold (hold)
-- wait on someone else and pause them, solved resolves and closed closes.
-- reads: ticket_audits
SELECT status, kind
FROM (VALUES ('new', 'open'), ('open', 'open'), ('pending', 'paused'), ('hold', 'paused'),
             ('solved', 'resolved'), ('closed', 'closed')) AS s(status, kind)
