//! The KPI catalogue: every KPI the reports show and the export writes, with its
//! label, value column, n column, unit and scope. The built-in saved queries' KPIs are
//! listed here; a custom saved query declares its own in its header
//! (`-- kpi: column n=column_n unit=percent label=Text`), and they reach the client
//! report (client scope), the index (portfolio) or the team report (internal), and the
//! export, without code changes.

use anyhow::{Result, bail};

use super::format::Format;
use crate::saved_queries::{SavedQuery, Scope};

/// Where a KPI shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// In the client report's headline table, and as `kpi.<key>`.
    Headline,
    /// As `kpi.<key>` of the client report (its detail sections).
    Detail,
    /// In a report's "more KPIs" table: a KPI a custom query declared.
    Declared,
    /// Only in the export (and in the index or team report's own sections).
    Export,
}

/// One KPI.
#[derive(Debug, Clone, PartialEq)]
pub struct Kpi {
    /// The name templates use (`kpi.<key>`): the value column.
    pub key: String,
    pub label: String,
    /// The saved query and its value column.
    pub query: String,
    pub column: String,
    /// The column holding how many rows the value is computed from.
    pub n_column: Option<String>,
    pub unit: Format,
    pub scope: Scope,
    /// What the report says when there is no value, completed by "this month" unless
    /// it holds for every period (`no_data_in_any_period`).
    pub no_data: String,
    pub no_data_in_any_period: bool,
    pub shown: Shown,
}

impl Kpi {
    /// The name in the export: `<query>.<column>`.
    pub fn export_name(&self) -> String {
        format!("{}.{}", self.query, self.column)
    }

    /// Whether it needs the optional status history (`ticket_status`).
    pub fn needs_status_history(&self) -> bool {
        matches!(self.query.as_str(), "reopens" | "waiting")
    }

    /// What the report says in place of a missing value in `period_noun` ("month").
    pub fn no_data_sentence(&self, period_noun: &str) -> String {
        if self.no_data_in_any_period {
            self.no_data.clone()
        } else {
            format!("{} this {period_noun}", self.no_data)
        }
    }

    /// Whether the client's SLA goal applies to it.
    pub fn has_goal(&self) -> bool {
        self.query == "sla" && matches!(self.column.as_str(), "response_sla" | "resolution_sla")
    }
}

/// query, column, n column, unit, label, no data, shown
type Entry = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Format,
    &'static str,
    &'static str,
    Shown,
);

const BUILTIN: &[Entry] = {
    use Format::*;
    use Shown::*;
    &[
        (
            "responsiveness",
            "response_avg",
            Some("response_n"),
            Minutes,
            "First response, average",
            "no first responses",
            Headline,
        ),
        (
            "responsiveness",
            "response_median",
            Some("response_n"),
            Minutes,
            "First response, median",
            "no first responses",
            Detail,
        ),
        (
            "responsiveness",
            "response_p90",
            Some("response_n"),
            Minutes,
            "First response, 90th percentile",
            "no first responses",
            Detail,
        ),
        (
            "resolution",
            "resolution_avg",
            Some("resolution_n"),
            Minutes,
            "Resolution time, average",
            "no tickets resolved",
            Headline,
        ),
        (
            "resolution",
            "resolution_median",
            Some("resolution_n"),
            Minutes,
            "Resolution time, median",
            "no tickets resolved",
            Detail,
        ),
        (
            "resolution",
            "resolution_p90",
            Some("resolution_n"),
            Minutes,
            "Resolution time, 90th percentile",
            "no tickets resolved",
            Detail,
        ),
        (
            "sla",
            "response_sla",
            Some("response_sla_n"),
            Percent,
            "Response SLA met",
            "no response SLA decided",
            Headline,
        ),
        (
            "sla",
            "resolution_sla",
            Some("resolution_sla_n"),
            Percent,
            "Resolution SLA met",
            "no resolution SLA decided",
            Headline,
        ),
        (
            "fcr",
            "fcr",
            Some("fcr_n"),
            Percent,
            "First-contact resolution",
            "no tickets resolved",
            Headline,
        ),
        (
            "reopens",
            "reopen_rate",
            Some("reopen_n"),
            Percent,
            "Reopen rate",
            "no tickets resolved",
            Headline,
        ),
        (
            "waiting",
            "waiting_avg",
            Some("waiting_n"),
            Minutes,
            "Time waiting on you, average",
            "no tickets resolved",
            Headline,
        ),
        (
            "satisfaction",
            "nps",
            Some("nps_n"),
            Score,
            "Net Promoter Score",
            "no NPS surveys",
            Headline,
        ),
        (
            "satisfaction",
            "promoters",
            None,
            Count,
            "Promoters",
            "no NPS surveys",
            Detail,
        ),
        (
            "satisfaction",
            "passives",
            None,
            Count,
            "Passives",
            "no NPS surveys",
            Detail,
        ),
        (
            "satisfaction",
            "detractors",
            None,
            Count,
            "Detractors",
            "no NPS surveys",
            Detail,
        ),
        (
            "satisfaction",
            "csat",
            Some("csat_n"),
            Percent,
            "Customer satisfaction (CSAT)",
            "no CSAT surveys",
            Headline,
        ),
        (
            "efficiency",
            "minutes_per_ticket",
            Some("efficiency_n"),
            Minutes,
            "Time worked per ticket",
            "no time worked",
            Headline,
        ),
        (
            "efficiency",
            "minutes_worked",
            Some("efficiency_n"),
            Minutes,
            "Time worked",
            "no time worked",
            Detail,
        ),
        (
            "flow",
            "opened",
            None,
            Count,
            "Tickets opened",
            "no tickets opened",
            Headline,
        ),
        (
            "flow",
            "closed",
            None,
            Count,
            "Tickets closed",
            "no tickets closed",
            Headline,
        ),
        (
            "flow",
            "open_close_ratio",
            None,
            Ratio,
            "Opened ÷ closed",
            "no tickets closed",
            Headline,
        ),
        (
            "flow",
            "open_close_difference",
            None,
            Count,
            "Opened − closed",
            "no tickets opened or closed",
            Headline,
        ),
        (
            "flow",
            "backlog",
            None,
            Count,
            "Open tickets at period end",
            "no tickets",
            Headline,
        ),
        (
            "breakdown",
            "opened",
            None,
            Count,
            "Tickets opened",
            "no tickets opened",
            Export,
        ),
        (
            "churn",
            "churn_rate",
            None,
            Percent,
            "Logo churn",
            "no clients",
            Export,
        ),
        (
            "churn",
            "revenue_churn_rate",
            None,
            Percent,
            "Revenue churn",
            "no clients",
            Export,
        ),
        (
            "churn",
            "active_at_start",
            None,
            Count,
            "Active clients at period start",
            "no clients",
            Export,
        ),
        (
            "churn",
            "churned",
            None,
            Count,
            "Clients churned",
            "no clients",
            Export,
        ),
        (
            "churn",
            "active_at_end",
            None,
            Count,
            "Active clients at period end",
            "no clients",
            Export,
        ),
        (
            "churn",
            "average_mrr",
            None,
            Money,
            "Average MRR",
            "no clients",
            Export,
        ),
        (
            "churn",
            "average_monthly_churn_12m",
            None,
            Percent,
            "Average monthly churn, 12 months",
            "no clients",
            Export,
        ),
        (
            "churn",
            "cltv",
            None,
            Money,
            "Client lifetime value",
            "no churn in 12 months",
            Export,
        ),
        (
            "team",
            "minutes_per_ticket",
            None,
            Minutes,
            "Minutes per ticket",
            "no time worked",
            Export,
        ),
        (
            "team",
            "minutes_worked",
            None,
            Minutes,
            "Time worked",
            "no time worked",
            Export,
        ),
        (
            "team",
            "tickets_worked",
            None,
            Count,
            "Tickets worked",
            "no time worked",
            Export,
        ),
    ]
};

/// The catalogue of a run: the built-in KPIs of the queries loaded (a query replaced
/// by a custom one of the same name keeps them), then each query's declared KPIs (a
/// declaration replaces a built-in entry for the same column).
pub fn catalogue(queries: &[SavedQuery]) -> Vec<Kpi> {
    let mut kpis: Vec<Kpi> = Vec::new();
    for &(query, column, n, unit, label, no_data, shown) in BUILTIN {
        let Some(saved) = queries.iter().find(|q| q.name == query) else {
            continue;
        };
        kpis.push(Kpi {
            key: column.to_string(),
            label: label.to_string(),
            query: query.to_string(),
            column: column.to_string(),
            n_column: n.map(str::to_string),
            unit,
            scope: saved.scope,
            no_data: no_data.to_string(),
            no_data_in_any_period: false,
            shown,
        });
    }
    for query in queries {
        for declared in &query.kpis {
            let kpi = Kpi {
                key: declared.column.clone(),
                label: declared
                    .label
                    .clone()
                    .unwrap_or_else(|| declared.column.clone()),
                query: query.name.clone(),
                column: declared.column.clone(),
                n_column: declared.n_column.clone(),
                unit: declared.unit,
                scope: query.scope,
                no_data: "no data".to_string(),
                no_data_in_any_period: false,
                shown: Shown::Declared,
            };
            match kpis
                .iter_mut()
                .find(|k| k.query == kpi.query && k.column == kpi.column)
            {
                Some(existing) => {
                    // The declaration's n, unit and label; the report keeps its place.
                    existing.n_column = kpi.n_column;
                    existing.unit = kpi.unit;
                    existing.label = kpi.label;
                }
                None => kpis.push(kpi),
            }
        }
    }
    kpis
}

/// Without a status history, the KPIs that need one say so instead of "no tickets
/// resolved this month": they have no value in any period, and never a zero.
pub fn without_status_history(kpis: &mut [Kpi]) {
    for kpi in kpis.iter_mut().filter(|k| k.needs_status_history()) {
        kpi.no_data = "no status history".to_string();
        kpi.no_data_in_any_period = true;
    }
}

/// A unit's name in a `-- kpi:` header.
pub fn parse_unit(text: &str) -> Result<Format> {
    Ok(match text {
        "percent" => Format::Percent,
        "score" => Format::Score,
        "minutes" => Format::Minutes,
        "count" => Format::Count,
        "ratio" => Format::Ratio,
        "money" => Format::Money,
        other => {
            bail!("unknown unit '{other}' (use percent, score, minutes, count, ratio or money)")
        }
    })
}
