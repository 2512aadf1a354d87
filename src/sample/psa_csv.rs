//! Generated data written back out as a PSA's CSV exports, ConnectWise Manage's layout,
//! for trying and benchmarking `mspkpi import` at any size: the tickets and time
//! entries by the REST API's field names, clients, SLA targets and surveys in the
//! templates' layout. Times are written in UTC (import them with `--timezone UTC`):
//! local times would make the hour the clocks go back ambiguous.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::data::location::Location;
use crate::session::{self, EngineOptions};

/// The files written, each with the source name the connectwise preset reads it as.
pub const FILES: [(&str, &str); 5] = [
    ("tickets", "Service Tickets.csv"),
    ("time_entries", "time_entries.csv"),
    ("surveys", "surveys.csv"),
    ("clients", "clients.csv"),
    ("sla_targets", "sla_targets.csv"),
];

const LOCAL: &str = "'%m/%d/%Y %I:%M %p'";
const TEMPLATE: &str = "'%Y-%m-%d %H:%M:%S'";

fn query(source: &str) -> String {
    let time = |column: &str, format: &str| format!("to_char({column}, {format})");
    match source {
        "tickets" => format!(
            "SELECT ticket_id AS id, 'Ticket ' || ticket_id AS summary, client_id AS \"company.identifier\", \
             CASE priority WHEN 'P1' THEN 'Priority 1 - Emergency Response' WHEN 'P2' THEN 'Priority 2 - Quick Response' \
             WHEN 'P3' THEN 'Priority 3 - Normal Response' ELSE 'Priority 4 - Schedule Maintenance' END AS \"priority.name\", \
             CASE WHEN closed_at IS NOT NULL THEN 'Closed' WHEN resolved_at IS NOT NULL THEN 'Completed' ELSE 'New' END AS \"status.name\", \
             category AS \"type.name\", technician_id AS \"owner.identifier\", \
             {} AS \"dateEntered\", {} AS \"dateResponded\", {} AS \"dateResolved\", {} AS \"closedDate\" \
             FROM tickets ORDER BY ticket_id",
            time("created_at", LOCAL),
            time("first_response_at", LOCAL),
            time("resolved_at", LOCAL),
            time("closed_at", LOCAL)
        ),
        "time_entries" => format!(
            "SELECT row_number() OVER (ORDER BY ticket_id, started_at, technician_id) AS id, ticket_id AS \"chargeToId\", \
             'ServiceTicket' AS \"chargeToType\", technician_id AS \"member.identifier\", {} AS \"timeStart\", \
             minutes / 60.0 AS \"actualHours\" FROM time_entries ORDER BY id",
            time("started_at", LOCAL)
        ),
        "surveys" => format!(
            "SELECT survey_id, client_id, ticket_id, {} AS submitted_at, kind, score FROM surveys ORDER BY survey_id",
            time("submitted_at", TEMPLATE)
        ),
        "clients" => "SELECT client_id, name, timezone, calendar, to_char(onboarded_on, '%Y-%m-%d') AS onboarded_on, \
             to_char(churned_on, '%Y-%m-%d') AS churned_on, mrr, sla_goal_percent FROM clients ORDER BY client_id"
            .to_string(),
        _ => "SELECT client_id, priority, response_minutes, resolution_minutes, business_hours FROM sla_targets \
             ORDER BY client_id NULLS FIRST, priority"
            .to_string(),
    }
}

/// Writes the data directory's tables as ConnectWise CSV exports into `dir`.
pub async fn write(data: &Path, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (ctx, _) = session::open(
        &Location::Local(data.to_path_buf()),
        None,
        &EngineOptions::default(),
    )
    .await?;
    let mut written = Vec::new();
    for (table, file) in FILES {
        let path = dir.join(file);
        let frame = ctx
            .sql(&query(table))
            .await
            .with_context(|| format!("cannot export {table}"))?;
        let batches = frame.collect().await?;
        let mut out = std::fs::File::create(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let mut writer = arrow::csv::WriterBuilder::new()
            .with_header(true)
            .build(&mut out);
        for batch in &batches {
            writer.write(batch)?;
        }
        written.push(path);
    }
    Ok(written)
}
