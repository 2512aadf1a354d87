//! `mspkpi validate`: the schema and data-quality rules, each problem with its count
//! and up to five example keys, errors and warnings apart.

use crate::data::location::Location;
use std::collections::BTreeMap;

use anyhow::Result;
use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::data::catalog::{self, TableSource};
use crate::data::imports::AsOf;
use crate::data::integrity;
use crate::session::{self, EngineOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub table: String,
    pub severity: Severity,
    pub problem: String,
    pub count: u64,
    /// Up to five examples: the row's key, and the file where it is known.
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ValidationReport {
    pub data: String,
    pub tables: BTreeMap<String, TableSummary>,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TableSummary {
    pub location: String,
    pub files: usize,
}

impl ValidationReport {
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }

    pub fn warnings(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .count()
    }

    /// The text report, grouped by table, errors before warnings.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let mut tables: Vec<&str> = self.findings.iter().map(|f| f.table.as_str()).collect();
        tables.sort_unstable();
        tables.dedup();
        for table in tables {
            let location = self
                .tables
                .get(table)
                .map(|t| format!(" ({})", t.location))
                .unwrap_or_default();
            out.push_str(&format!("{table}{location}\n"));
            let mut findings: Vec<&Finding> =
                self.findings.iter().filter(|f| f.table == table).collect();
            findings.sort_by_key(|f| f.severity);
            for f in findings {
                let label = match f.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                };
                out.push_str(&format!("  {label:<7} {} × {}\n", f.count, f.problem));
                if !f.examples.is_empty() {
                    out.push_str(&format!("          e.g. {}\n", f.examples.join(", ")));
                }
            }
        }
        out.push_str(&format!(
            "{}: {} error(s), {} warning(s)\n",
            self.data,
            self.errors(),
            self.warnings()
        ));
        out
    }
}

/// A data rule: the SQL yields the offending rows' keys as `key`.
struct Rule {
    table: &'static str,
    needs: &'static [&'static str],
    severity: Severity,
    problem: &'static str,
    sql: &'static str,
}

const fn rule(
    table: &'static str,
    needs: &'static [&'static str],
    severity: Severity,
    problem: &'static str,
    sql: &'static str,
) -> Rule {
    Rule {
        table,
        needs,
        severity,
        problem,
        sql,
    }
}

use Severity::{Error as E, Warning as W};

const RULES: &[Rule] = &[
    rule(
        "tickets",
        &[],
        E,
        "duplicate ticket_id",
        "SELECT ticket_id AS key FROM tickets WHERE ticket_id IN (SELECT ticket_id FROM tickets GROUP BY ticket_id HAVING count(*) > 1)",
    ),
    rule(
        "tickets",
        &[],
        E,
        "NULL in a required column (ticket_id, client_id, priority, created_at)",
        "SELECT coalesce(ticket_id, '(no id)') AS key FROM tickets WHERE ticket_id IS NULL OR client_id IS NULL OR priority IS NULL OR created_at IS NULL",
    ),
    rule(
        "tickets",
        &["clients"],
        E,
        "client_id with no match in clients",
        "SELECT ticket_id || ' (client ' || client_id || ')' AS key FROM tickets WHERE client_id NOT IN (SELECT client_id FROM clients WHERE client_id IS NOT NULL)",
    ),
    rule(
        "tickets",
        &[],
        E,
        "first_response_at before created_at",
        "SELECT ticket_id AS key FROM tickets WHERE first_response_at < created_at",
    ),
    rule(
        "tickets",
        &[],
        E,
        "resolved_at before created_at",
        "SELECT ticket_id AS key FROM tickets WHERE resolved_at < created_at",
    ),
    rule(
        "tickets",
        &[],
        E,
        "closed_at before created_at",
        "SELECT ticket_id AS key FROM tickets WHERE closed_at < created_at",
    ),
    rule(
        "tickets",
        &[],
        E,
        "closed_at before resolved_at",
        "SELECT ticket_id AS key FROM tickets WHERE closed_at < resolved_at",
    ),
    rule(
        "tickets",
        &[],
        E,
        "timestamp in the future",
        "SELECT ticket_id AS key FROM tickets WHERE greatest(created_at, first_response_at, resolved_at, closed_at) > now()",
    ),
    rule(
        "tickets",
        &[],
        E,
        "contacts below 1",
        "SELECT ticket_id || ' (' || CAST(contacts AS VARCHAR) || ')' AS key FROM tickets WHERE contacts < 1",
    ),
    rule(
        "tickets",
        &["sla_targets"],
        E,
        "priority with no sla_targets row",
        "SELECT ticket_id || ' (' || priority || ')' AS key FROM tickets WHERE priority NOT IN (SELECT priority FROM sla_targets WHERE priority IS NOT NULL)",
    ),
    rule(
        "time_entries",
        &["tickets"],
        E,
        "ticket_id with no match in tickets",
        "SELECT ticket_id AS key FROM time_entries WHERE ticket_id NOT IN (SELECT ticket_id FROM tickets WHERE ticket_id IS NOT NULL)",
    ),
    rule(
        "time_entries",
        &[],
        E,
        "negative or missing minutes",
        "SELECT ticket_id || ' (' || coalesce(CAST(minutes AS VARCHAR), 'NULL') || ')' AS key FROM time_entries WHERE minutes < 0 OR minutes IS NULL OR isnan(minutes)",
    ),
    rule(
        "time_entries",
        &[],
        E,
        "started_at in the future",
        "SELECT ticket_id AS key FROM time_entries WHERE started_at > now()",
    ),
    rule(
        "surveys",
        &[],
        E,
        "duplicate survey_id",
        "SELECT survey_id AS key FROM surveys WHERE survey_id IN (SELECT survey_id FROM surveys GROUP BY survey_id HAVING count(*) > 1)",
    ),
    rule(
        "surveys",
        &["clients"],
        E,
        "client_id with no match in clients",
        "SELECT survey_id || ' (client ' || client_id || ')' AS key FROM surveys WHERE client_id NOT IN (SELECT client_id FROM clients WHERE client_id IS NOT NULL)",
    ),
    rule(
        "surveys",
        &["tickets"],
        W,
        "ticket_id with no match in tickets",
        "SELECT survey_id || ' (ticket ' || ticket_id || ')' AS key FROM surveys WHERE ticket_id IS NOT NULL AND ticket_id NOT IN (SELECT ticket_id FROM tickets WHERE ticket_id IS NOT NULL)",
    ),
    rule(
        "surveys",
        &[],
        E,
        "unknown kind (expected nps or csat)",
        "SELECT survey_id || ' (' || coalesce(kind, 'NULL') || ')' AS key FROM surveys WHERE kind IS NULL OR kind NOT IN ('nps', 'csat')",
    ),
    rule(
        "surveys",
        &[],
        E,
        "NPS score outside 0-10",
        "SELECT survey_id || ' (' || coalesce(CAST(score AS VARCHAR), 'NULL') || ')' AS key FROM surveys WHERE kind = 'nps' AND (score NOT BETWEEN 0 AND 10 OR score IS NULL)",
    ),
    rule(
        "surveys",
        &[],
        E,
        "CSAT score outside 1-5",
        "SELECT survey_id || ' (' || coalesce(CAST(score AS VARCHAR), 'NULL') || ')' AS key FROM surveys WHERE kind = 'csat' AND (score NOT BETWEEN 1 AND 5 OR score IS NULL)",
    ),
    rule(
        "surveys",
        &[],
        E,
        "submitted_at in the future",
        "SELECT survey_id AS key FROM surveys WHERE submitted_at > now()",
    ),
    rule(
        "clients",
        &[],
        E,
        "duplicate client_id",
        "SELECT client_id AS key FROM clients WHERE client_id IN (SELECT client_id FROM clients GROUP BY client_id HAVING count(*) > 1)",
    ),
    rule(
        "clients",
        &[],
        E,
        "churned_on before onboarded_on",
        "SELECT client_id AS key FROM clients WHERE churned_on < onboarded_on",
    ),
    rule(
        "clients",
        &[],
        E,
        "negative or missing mrr",
        "SELECT client_id || ' (' || coalesce(CAST(mrr AS VARCHAR), 'NULL') || ')' AS key FROM clients WHERE mrr < 0 OR mrr IS NULL OR isnan(mrr)",
    ),
    rule(
        "clients",
        &[],
        E,
        "sla_goal_percent outside 0-100",
        "SELECT client_id || ' (' || CAST(sla_goal_percent AS VARCHAR) || ')' AS key FROM clients WHERE sla_goal_percent < 0 OR sla_goal_percent > 100 OR isnan(sla_goal_percent)",
    ),
    rule(
        "sla_targets",
        &[],
        E,
        "negative target minutes",
        "SELECT coalesce(client_id, 'default') || ' ' || priority AS key FROM sla_targets WHERE response_minutes < 0 OR resolution_minutes < 0",
    ),
    rule(
        "statuses",
        &[],
        E,
        "duplicate status",
        "SELECT status AS key FROM statuses WHERE status IN (SELECT status FROM statuses GROUP BY status HAVING count(*) > 1)",
    ),
    rule(
        "statuses",
        &[],
        E,
        "kind is not open, paused, resolved or closed",
        "SELECT coalesce(status, 'NULL') || ' (' || coalesce(kind, 'NULL') || ')' AS key FROM statuses WHERE status IS NULL OR kind IS NULL OR kind NOT IN ('open', 'paused', 'resolved', 'closed')",
    ),
    rule(
        "ticket_status",
        &[],
        E,
        "NULL ticket_id, status or changed_at",
        "SELECT coalesce(ticket_id, 'NULL') || ' ' || coalesce(status, 'NULL') || ' at ' || coalesce(CAST(changed_at AS VARCHAR), 'NULL') AS key FROM ticket_status WHERE ticket_id IS NULL OR status IS NULL OR changed_at IS NULL",
    ),
    rule(
        "ticket_status",
        &["statuses"],
        E,
        "status with no match in statuses",
        "SELECT ticket_id || ' (' || status || ')' AS key FROM ticket_status WHERE status NOT IN (SELECT status FROM statuses WHERE status IS NOT NULL)",
    ),
    rule(
        "ticket_status",
        &["tickets"],
        E,
        "ticket_id with no match in tickets",
        "SELECT ticket_id AS key FROM ticket_status WHERE ticket_id NOT IN (SELECT ticket_id FROM tickets WHERE ticket_id IS NOT NULL)",
    ),
    rule(
        "ticket_status",
        &[],
        E,
        "two different statuses for a ticket at the same changed_at (the KPI functions take the last in (changed_at, status) order)",
        "SELECT ticket_id || ' at ' || CAST(changed_at AS VARCHAR) AS key FROM ticket_status GROUP BY ticket_id, changed_at HAVING count(DISTINCT status) > 1",
    ),
    rule(
        "ticket_status",
        &["tickets"],
        E,
        "changed_at before the ticket's created_at (the KPI functions read it as created_at)",
        "SELECT s.ticket_id || ' (' || s.status || ' at ' || CAST(s.changed_at AS VARCHAR) || ')' AS key FROM ticket_status s JOIN tickets t ON t.ticket_id = s.ticket_id WHERE s.changed_at < t.created_at",
    ),
    rule(
        "tickets",
        &["ticket_status", "statuses"],
        W,
        "resolved_at is not the first resolved or closed status of the ticket's status history",
        "WITH history AS (SELECT h.ticket_id, first_resolved_at(h.changed_at, h.status, s.kind) AS first_resolved FROM ticket_status h JOIN statuses s ON s.status = h.status WHERE s.kind IN ('open', 'paused', 'resolved', 'closed') GROUP BY h.ticket_id) SELECT t.ticket_id || ' (resolved_at ' || coalesce(CAST(t.resolved_at AS VARCHAR), 'NULL') || ', history ' || coalesce(CAST(h.first_resolved AS VARCHAR), 'none') || ')' AS key FROM tickets t JOIN history h ON h.ticket_id = t.ticket_id WHERE t.resolved_at IS DISTINCT FROM h.first_resolved",
    ),
    rule(
        "sla_targets",
        &[],
        E,
        "more than one row for a client (or the default) and priority",
        "SELECT coalesce(client_id, 'default') || ' ' || priority AS key FROM sla_targets GROUP BY client_id, priority HAVING count(*) > 1",
    ),
];

fn strings(batches: &[arrow::array::RecordBatch]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for batch in batches {
        let column = arrow::compute::cast(batch.column(0), &DataType::Utf8)?;
        let column = column.as_string::<i32>();
        for i in 0..column.len() {
            out.push(if column.is_null(i) {
                "NULL".into()
            } else {
                column.value(i).to_string()
            });
        }
    }
    Ok(out)
}

async fn check(ctx: &SessionContext, sql: &str) -> Result<(u64, Vec<String>)> {
    let count_sql = format!("SELECT count(*) FROM ({sql})");
    let count_batches = ctx.sql(&count_sql).await?.collect().await?;
    let count = strings(&count_batches)?
        .first()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    if count == 0 {
        return Ok((0, Vec::new()));
    }
    let examples = strings(
        &ctx.sql(&format!(
            "SELECT DISTINCT key FROM ({sql}) ORDER BY key LIMIT 5"
        ))
        .await?
        .collect()
        .await?,
    )?;
    Ok((count, examples))
}

/// Distinct texts of a column that `valid` rejects, with their counts.
async fn invalid_texts(
    ctx: &SessionContext,
    sql: &str,
    valid: impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, u64, String)>> {
    let batches = ctx.sql(sql).await?.collect().await?;
    let mut bad = Vec::new();
    for batch in &batches {
        let text = arrow::compute::cast(batch.column(0), &DataType::Utf8)?;
        let text = text.as_string::<i32>();
        let counts = arrow::compute::cast(batch.column(1), &DataType::Utf8)?;
        let counts = counts.as_string::<i32>();
        for i in 0..batch.num_rows() {
            if text.is_null(i) {
                continue;
            }
            if let Some(why) = valid(text.value(i)) {
                bad.push((
                    text.value(i).to_string(),
                    counts.value(i).parse().unwrap_or(0),
                    why,
                ));
            }
        }
    }
    Ok(bad)
}

/// Checks a data directory: its files here, its data rules on `engine` (locally or on
/// a cluster). An error return means validation could not run at all.
pub async fn validate(
    dir: &Location,
    as_of: Option<AsOf>,
    engine: &EngineOptions,
) -> Result<ValidationReport> {
    let mut inspection = catalog::inspect(dir, as_of).await?;
    inspection
        .problems
        .extend(catalog::check_import_log(dir).await?);
    let mut findings: Vec<Finding> = inspection
        .problems
        .iter()
        .map(|p| Finding {
            table: p.table.clone(),
            severity: Severity::Error,
            problem: match &p.column {
                Some(column) => format!("column '{column}' {}", p.message),
                None => p.message.clone(),
            },
            count: 1,
            examples: p.file.iter().map(|f| f.to_string()).collect(),
        })
        .collect();
    let broken: Vec<&str> = inspection
        .problems
        .iter()
        .map(|p| p.table.as_str())
        .collect();
    let mut healthy: Vec<TableSource> = inspection
        .tables
        .iter()
        .filter(|t| !broken.contains(&t.name.as_str()))
        .cloned()
        .collect();
    // Every page decodes (and matches its checksum, where the writer stored one), or
    // the file is named here and its table left out of the data rules.
    let damaged = integrity::find_damaged(&healthy).await;
    for file in &damaged {
        findings.push(Finding {
            table: file.table.clone(),
            severity: Severity::Error,
            problem: file.problem(),
            count: 1,
            examples: Vec::new(),
        });
    }
    healthy.retain(|t| !damaged.iter().any(|d| d.table == t.name));
    let ctx = session::connect(engine).await?;
    catalog::register_sources(&ctx, &healthy).await?;
    let present = |name: &str| healthy.iter().any(|t| t.name == name);
    let where_of = |table: &str| -> String {
        match healthy.iter().find(|t| t.name == table) {
            Some(t) if t.files.len() == 1 => t.files[0].to_string(),
            Some(t) => format!("one of {} files in {}", t.files.len(), t.location),
            None => String::new(),
        }
    };
    // Tables a rule could not read although every file decodes on its own.
    let mut unreadable: Vec<&str> = Vec::new();
    for rule in RULES {
        let usable = |t: &str| present(t) && !unreadable.contains(&t);
        if !usable(rule.table) || !rule.needs.iter().all(|t| usable(t)) {
            continue;
        }
        let (count, examples) = match integrity::contain(check(&ctx, rule.sql)).await {
            Ok(found) => found,
            Err(error) if integrity::may_be_damaged_data(&error) => {
                let tables: Vec<&str> = std::iter::once(rule.table)
                    .chain(rule.needs.iter().copied())
                    .collect();
                unreadable.extend(&tables);
                findings.push(Finding {
                    table: rule.table.into(),
                    severity: Severity::Error,
                    problem: format!(
                        "cannot read {} (a damaged file?): {}",
                        tables.join(" with "),
                        crate::error_message(&error)
                    ),
                    count: 1,
                    examples: vec![where_of(rule.table)],
                });
                continue;
            }
            Err(error) => return Err(error),
        };
        if count > 0 {
            let file = where_of(rule.table);
            findings.push(Finding {
                table: rule.table.into(),
                severity: rule.severity,
                problem: rule.problem.into(),
                count,
                examples: examples
                    .into_iter()
                    .map(|k| format!("{k} in {file}"))
                    .collect(),
            });
        }
    }
    if present("clients") {
        let zones = invalid_texts(
            &ctx,
            "SELECT timezone, count(*) FROM clients GROUP BY timezone",
            |z| {
                z.parse::<chrono_tz::Tz>()
                    .err()
                    .map(|_| "unknown IANA time zone".to_string())
            },
        )
        .await?;
        let calendars = invalid_texts(
            &ctx,
            "SELECT calendar, count(*) FROM clients GROUP BY calendar",
            |c| {
                mspkpi_udfs::Calendar::parse(c).err().map(|e| {
                    match mspkpi_udfs::KpiError::find(&e) {
                        Some(rejected) => rejected.to_string(),
                        None => e.to_string(),
                    }
                })
            },
        )
        .await?;
        let file = where_of("clients");
        for (column, bad) in [("timezone", zones), ("calendar", calendars)] {
            for (value, count, why) in bad {
                let sql = format!(
                    "SELECT DISTINCT client_id FROM clients WHERE {column} = $value ORDER BY client_id LIMIT 5"
                );
                let ids = strings(
                    &ctx.sql(&sql)
                        .await?
                        .with_param_values(vec![(
                            "value",
                            datafusion::scalar::ScalarValue::Utf8(Some(value.clone())),
                        )])?
                        .collect()
                        .await?,
                )?;
                let problem = if column == "timezone" {
                    format!("{why}: '{value}'")
                } else {
                    why.replace("Execution error: ", "")
                };
                findings.push(Finding {
                    table: "clients".into(),
                    severity: Severity::Error,
                    problem,
                    count,
                    examples: ids
                        .into_iter()
                        .map(|id| format!("{id} in {file}"))
                        .collect(),
                });
            }
        }
    }
    let tables = inspection
        .tables
        .iter()
        .map(|t| {
            (
                t.name.clone(),
                TableSummary {
                    location: t.location.to_string(),
                    files: t.files.len(),
                },
            )
        })
        .collect();
    Ok(ValidationReport {
        data: dir.to_string(),
        tables,
        findings,
    })
}
