-- Clients, from the clients.csv template (PSA exports carry no time zones, calendars,
-- MRR or onboarding dates): one row per client, client_id spelled as the PSA's
-- tickets spell the company. Dates as 2026-10-31; an empty churned_on = still a client.
-- reads: clients (clients.csv)
SELECT client_id,
       name,
       timezone,
       calendar,
       to_date(onboarded_on, '%Y-%m-%d') AS onboarded_on,
       to_date(churned_on, '%Y-%m-%d') AS churned_on,
       CAST(mrr AS DOUBLE) AS mrr,
       CAST(sla_goal_percent AS DOUBLE) AS sla_goal_percent,
       _source_row
FROM clients
