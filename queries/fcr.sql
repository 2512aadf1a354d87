-- name: fcr
-- description: First-contact resolution rate per client and period of resolved_at; with a status history, a ticket reopened before the end of that period does not count as resolved on first contact
-- scope: client
-- param trend_start: date
-- param period_start: date
-- kpi: fcr n=fcr_n unit=percent show=headline order=50 index=5 index_label=FCR no_data="no tickets resolved" label="First-contact resolution"
SELECT client_id,
       resolved_period AS period,
       fcr_rate(contacts, reopened_period <= resolved_period) AS fcr,
       count(contacts) AS fcr_n
FROM ticket_facts
WHERE resolved_period BETWEEN $trend_start AND $period_start
GROUP BY client_id, resolved_period
ORDER BY client_id, period
