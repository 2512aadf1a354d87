//! Per-client, index and team contexts for the templates: values already formatted
//! for people (so Markdown and HTML read the same), plus the raw saved-query rows.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Result, bail};
use serde_json::{Map, Value, json};

use super::charts::{bars_svg, nps_bar_svg, sparkline, trend_svg};
use super::format::{self, Currency, Format};
use crate::period::{Grain, Period};
use crate::saved_queries::{QueryResult, Row};

/// A value from fewer rows than this is flagged as a small sample.
pub const SMALL_SAMPLE: i64 = 30;

/// The categories a client report lists before "other".
pub const TOP_CATEGORIES: usize = 8;

fn text_of(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

/// A KPI the client report shows.
struct Kpi {
    key: &'static str,
    label: &'static str,
    query: &'static str,
    column: &'static str,
    n_column: Option<&'static str>,
    format: Format,
    /// What the report says when there is no value, completed by "this month".
    no_data: &'static str,
    headline: bool,
}

// One row of the KPI table below: a constructor keeps the table to a line per KPI.
#[allow(clippy::too_many_arguments)]
const fn kpi(
    key: &'static str,
    label: &'static str,
    query: &'static str,
    column: &'static str,
    n_column: Option<&'static str>,
    format: Format,
    no_data: &'static str,
    headline: bool,
) -> Kpi {
    Kpi {
        key,
        label,
        query,
        column,
        n_column,
        format,
        no_data,
        headline,
    }
}

const KPIS: [Kpi; 21] = [
    kpi(
        "response_avg",
        "First response, average",
        "responsiveness",
        "response_avg",
        Some("response_n"),
        Format::Minutes,
        "no first responses",
        true,
    ),
    kpi(
        "response_median",
        "First response, median",
        "responsiveness",
        "response_median",
        Some("response_n"),
        Format::Minutes,
        "no first responses",
        false,
    ),
    kpi(
        "response_p90",
        "First response, 90th percentile",
        "responsiveness",
        "response_p90",
        Some("response_n"),
        Format::Minutes,
        "no first responses",
        false,
    ),
    kpi(
        "resolution_avg",
        "Resolution time, average",
        "resolution",
        "resolution_avg",
        Some("resolution_n"),
        Format::Minutes,
        "no tickets resolved",
        true,
    ),
    kpi(
        "resolution_median",
        "Resolution time, median",
        "resolution",
        "resolution_median",
        Some("resolution_n"),
        Format::Minutes,
        "no tickets resolved",
        false,
    ),
    kpi(
        "resolution_p90",
        "Resolution time, 90th percentile",
        "resolution",
        "resolution_p90",
        Some("resolution_n"),
        Format::Minutes,
        "no tickets resolved",
        false,
    ),
    kpi(
        "response_sla",
        "Response SLA met",
        "sla",
        "response_sla",
        Some("response_sla_n"),
        Format::Percent,
        "no response SLA decided",
        true,
    ),
    kpi(
        "resolution_sla",
        "Resolution SLA met",
        "sla",
        "resolution_sla",
        Some("resolution_sla_n"),
        Format::Percent,
        "no resolution SLA decided",
        true,
    ),
    kpi(
        "fcr",
        "First-contact resolution",
        "fcr",
        "fcr",
        Some("fcr_n"),
        Format::Percent,
        "no tickets resolved",
        true,
    ),
    kpi(
        "nps",
        "Net Promoter Score",
        "satisfaction",
        "nps",
        Some("nps_n"),
        Format::Score,
        "no NPS surveys",
        true,
    ),
    kpi(
        "promoters",
        "Promoters",
        "satisfaction",
        "promoters",
        None,
        Format::Count,
        "no NPS surveys",
        false,
    ),
    kpi(
        "passives",
        "Passives",
        "satisfaction",
        "passives",
        None,
        Format::Count,
        "no NPS surveys",
        false,
    ),
    kpi(
        "detractors",
        "Detractors",
        "satisfaction",
        "detractors",
        None,
        Format::Count,
        "no NPS surveys",
        false,
    ),
    kpi(
        "csat",
        "Customer satisfaction (CSAT)",
        "satisfaction",
        "csat",
        Some("csat_n"),
        Format::Percent,
        "no CSAT surveys",
        true,
    ),
    kpi(
        "minutes_per_ticket",
        "Time worked per ticket",
        "efficiency",
        "minutes_per_ticket",
        Some("efficiency_n"),
        Format::Minutes,
        "no time worked",
        true,
    ),
    kpi(
        "minutes_worked",
        "Time worked",
        "efficiency",
        "minutes_worked",
        None,
        Format::Minutes,
        "no time worked",
        false,
    ),
    kpi(
        "opened",
        "Tickets opened",
        "flow",
        "opened",
        None,
        Format::Count,
        "no tickets opened",
        true,
    ),
    kpi(
        "closed",
        "Tickets closed",
        "flow",
        "closed",
        None,
        Format::Count,
        "no tickets closed",
        true,
    ),
    kpi(
        "open_close_ratio",
        "Opened ÷ closed",
        "flow",
        "open_close_ratio",
        None,
        Format::Ratio,
        "no tickets closed",
        true,
    ),
    kpi(
        "open_close_difference",
        "Opened − closed",
        "flow",
        "open_close_difference",
        None,
        Format::Count,
        "no tickets opened or closed",
        true,
    ),
    kpi(
        "backlog",
        "Open tickets at period end",
        "flow",
        "backlog",
        None,
        Format::Count,
        "no tickets",
        true,
    ),
];

pub fn text(row: &Row, column: &str) -> String {
    match row.get(column) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn number(row: &Row, column: &str) -> Option<f64> {
    row.get(column).and_then(Value::as_f64)
}

fn noun(period: &Period) -> &'static str {
    match period.grain {
        Grain::Month => "month",
        Grain::Quarter => "quarter",
    }
}

fn day(period: &Period) -> String {
    period.start.format("%Y-%m-%d").to_string()
}

/// Clients active at some point of the period: onboarded before its end and not
/// churned before its start.
pub fn active_clients<'a>(clients: &'a [Row], period: &Period) -> Vec<&'a Row> {
    let (start, end) = (day(period), period.end().format("%Y-%m-%d").to_string());
    clients
        .iter()
        .filter(|c| text(c, "onboarded_on") < end)
        .filter(|c| {
            let churned = text(c, "churned_on");
            churned.is_empty() || churned >= start
        })
        .collect()
}

/// A safe, unique file stem per client id.
pub fn file_stems(clients: &[&Row]) -> HashMap<String, String> {
    clients
        .iter()
        .map(|c| {
            let id = text(c, "client_id");
            let stem = crate::write::safe_file_stem(&id);
            // Never collide with the index or the team report.
            let stem = if stem == "index" || stem == "team" {
                format!("client-{stem}")
            } else {
                stem
            };
            (id, stem)
        })
        .collect()
}

/// The row per period that stands for the whole client (the `all` row where a
/// query splits by priority).
fn main_rows(rows: &[Row]) -> BTreeMap<String, &Row> {
    rows.iter()
        .filter(|r| r.get("priority").is_none_or(|p| p == "all"))
        .map(|r| (text(r, "period"), r))
        .collect()
}

fn require<'a>(
    results: &'a HashMap<&str, &QueryResult>,
    query: &str,
    column: &str,
) -> Result<&'a QueryResult> {
    let Some(result) = results.get(query) else {
        bail!(
            "the report needs the saved query '{query}' (column '{column}'), which the queries folder does not have"
        );
    };
    if !result.columns.is_empty() && !result.columns.iter().any(|c| c == column) {
        bail!(
            "saved query {} returns no column '{column}', which the report needs",
            result.query
        );
    }
    Ok(result)
}

/// One KPI's values for a client: formatted value, previous, change, n and trend (with
/// the goal line, for a KPI that has one).
fn kpi_value(
    kpi: &Kpi,
    rows: &[Row],
    period: &Period,
    trend: &[Period],
    goal: Option<f64>,
) -> Value {
    let by_period = main_rows(rows);
    let series: Vec<Option<f64>> = trend
        .iter()
        .map(|p| by_period.get(&day(p)).and_then(|r| number(r, kpi.column)))
        .collect();
    let current_row = by_period.get(&day(period));
    let current = current_row.and_then(|r| number(r, kpi.column));
    let previous = by_period
        .get(&day(&period.previous(1)))
        .and_then(|r| number(r, kpi.column));
    let n = kpi
        .n_column
        .and_then(|c| current_row.and_then(|r| number(r, c)))
        .map(|n| n as i64);
    let labels: Vec<String> = trend.iter().map(Period::short_label).collect();
    let goal_label = goal.map(|g| format!("goal {}", format::value(kpi.format, Some(g))));
    let formatted: Vec<String> = series
        .iter()
        .map(|v| format::value(kpi.format, *v))
        .collect();
    json!({
        "key": kpi.key,
        "label": kpi.label,
        "value": format::value(kpi.format, current),
        "raw": current,
        "previous": format::value(kpi.format, previous),
        "change": format::change(kpi.format, current, previous),
        "n": n.map(|n| format::value(Format::Count, Some(n as f64))),
        "n_raw": n,
        "small": n.is_some_and(|n| n < SMALL_SAMPLE),
        "no_data": current.is_none().then(|| format!("{} this {}", kpi.no_data, noun(period))),
        "sparkline": sparkline(&series),
        "svg": trend_svg(&series, &labels, &formatted, goal.zip(goal_label.as_deref())),
    })
}

/// The SLA compliance a client is promised, in percent: `clients.sla_goal_percent`,
/// else this.
pub const DEFAULT_SLA_GOAL: f64 = 95.0;

/// Tickets opened in the period and the one before, by one dimension (`priority` or
/// `category`) of the `breakdown` query: every value in order, or the `top` largest
/// of the period (ties by name) and the rest summed as "other".
fn breakdown(rows: &[Row], dimension: &str, period: &Period, top: Option<usize>) -> Vec<Value> {
    let (current, previous) = (day(period), day(&period.previous(1)));
    let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for row in rows.iter().filter(|r| text(r, "dimension") == dimension) {
        let opened = number(row, "opened").unwrap_or(0.0) as u64;
        let entry = counts.entry(text(row, "value")).or_default();
        match text(row, "period") {
            p if p == current => entry.0 += opened,
            p if p == previous => entry.1 += opened,
            _ => {}
        }
    }
    let mut lines: Vec<(String, (u64, u64))> =
        counts.into_iter().filter(|(_, (c, p))| c + p > 0).collect();
    if let Some(top) = top {
        lines.sort_by(|(a, (ca, pa)), (b, (cb, pb))| cb.cmp(ca).then(pb.cmp(pa)).then(a.cmp(b)));
        if lines.len() > top {
            let rest = lines.split_off(top);
            let other = rest
                .iter()
                .fold((0, 0), |(c, p), (_, (rc, rp))| (c + rc, p + rp));
            lines.push(("other".to_string(), other));
        }
    }
    let count = |n: u64| Some(n as f64);
    lines
        .into_iter()
        .map(|(label, (current, previous))| {
            json!({
                "label": label,
                "opened": format::value(Format::Count, count(current)),
                "opened_raw": current,
                "previous": format::value(Format::Count, count(previous)),
                "change": format::change(Format::Count, count(current), count(previous)),
            })
        })
        .collect()
}

fn client_rows<'a>(result: &'a QueryResult, id: &str) -> &'a [Row] {
    result.by_client.get(id).map(Vec::as_slice).unwrap_or(&[])
}

/// `September 2026`, `Q3 2026`.
fn period_title(period: &Period) -> String {
    match period.grain {
        Grain::Month => period.start.format("%B %Y").to_string(),
        Grain::Quarter => period.short_label(),
    }
}

fn period_value(period: &Period) -> Value {
    json!({
        "label": period.to_string(),
        "title": period_title(period),
        "noun": noun(period),
        "start": day(period),
        "end": period.end().format("%Y-%m-%d").to_string(),
        "previous": period.previous(1).to_string(),
        "trend_labels": period.trend().iter().map(Period::short_label).collect::<Vec<_>>(),
    })
}

/// The client's SLA targets per priority: its own row, else the default row.
fn client_targets(targets: &[Row], id: &str) -> Vec<Value> {
    let mut by_priority: BTreeMap<String, &Row> = BTreeMap::new();
    for row in targets
        .iter()
        .filter(|r| r.get("client_id").is_none_or(Value::is_null))
    {
        by_priority.insert(text(row, "priority"), row);
    }
    for row in targets.iter().filter(|r| text(r, "client_id") == id) {
        by_priority.insert(text(row, "priority"), row);
    }
    by_priority
        .values()
        .map(|r| {
            json!({
                "priority": text(r, "priority"),
                "response": format::value(Format::Minutes, number(r, "response_minutes")),
                "resolution": format::value(Format::Minutes, number(r, "resolution_minutes")),
                "clock": if r.get("business_hours") == Some(&Value::Bool(true)) { "business hours" } else { "around the clock" },
            })
        })
        .collect()
}

/// The context of one client's report.
pub fn client(
    client: &Row,
    file: &str,
    period: &Period,
    results: &HashMap<&str, &QueryResult>,
    targets: &[Row],
) -> Result<Value> {
    let id = text(client, "client_id");
    let trend = period.trend();
    let goal = number(client, "sla_goal_percent").unwrap_or(DEFAULT_SLA_GOAL);
    let mut kpis = Map::new();
    let mut headline = Vec::new();
    for kpi in &KPIS {
        let result = require(results, kpi.query, kpi.column)?;
        let kpi_goal = matches!(kpi.key, "response_sla" | "resolution_sla").then_some(goal);
        let value = kpi_value(kpi, client_rows(result, &id), period, &trend, kpi_goal);
        if kpi.headline {
            headline.push(value.clone());
        }
        kpis.insert(kpi.key.to_string(), value);
    }
    // SLA per priority in the report period.
    let sla = require(results, "sla", "priority")?;
    let current_day = day(period);
    let targets = client_targets(targets, &id);
    let target_of = |priority: &str, key: &str| {
        targets
            .iter()
            .find(|t| t["priority"] == priority)
            .map_or(Value::Null, |t| t[key].clone())
    };
    let mut sla_rows: Vec<Value> = client_rows(sla, &id)
        .iter()
        .filter(|r| text(r, "period") == current_day)
        .map(|r| {
            let priority = text(r, "priority");
            json!({
                "response_target": target_of(&priority, "response"),
                "resolution_target": target_of(&priority, "resolution"),
                "priority": priority,
                "response_sla": format::value(Format::Percent, number(r, "response_sla")),
                "response_n": format::value(Format::Count, Some(number(r, "response_sla_n").unwrap_or(0.0))),
                "resolution_sla": format::value(Format::Percent, number(r, "resolution_sla")),
                "resolution_n": format::value(Format::Count, Some(number(r, "resolution_sla_n").unwrap_or(0.0))),
            })
        })
        .collect();
    // Priorities first, the overall row last.
    sla_rows.sort_by_key(|r| {
        (
            r["priority"] == "all",
            r["priority"].as_str().unwrap_or("").to_string(),
        )
    });
    let opened = client_rows(require(results, "breakdown", "opened")?, &id);
    let by_priority = breakdown(opened, "priority", period, None);
    let by_category = breakdown(opened, "category", period, Some(TOP_CATEGORIES));
    let bars: Vec<(String, u64)> = by_category
        .iter()
        .map(|c| (text_of(&c["label"]), c["opened_raw"].as_u64().unwrap_or(0)))
        .collect();
    let category_svg = (!bars.is_empty()).then(|| bars_svg(&bars));
    let count = |key: &str| kpis[key]["raw"].as_f64().unwrap_or(0.0) as u64;
    let nps_bar = (kpis["nps"]["raw"].is_number())
        .then(|| nps_bar_svg(count("promoters"), count("passives"), count("detractors")));
    // The raw rows of every client query, for custom templates.
    let mut queries = Map::new();
    for (name, result) in results {
        let rows = match result.query.scope {
            crate::saved_queries::Scope::Client => client_rows(result, &id).to_vec(),
            _ => continue,
        };
        let current = main_rows(&rows)
            .get(&current_day)
            .map(|r| Value::Object((*r).clone()));
        queries.insert(
            name.to_string(),
            json!({ "rows": rows, "current": current }),
        );
    }
    let calendar = text(client, "calendar");
    Ok(json!({
        "client": {
            "id": id,
            "name": text(client, "name"),
            "timezone": text(client, "timezone"),
            "calendar": if calendar.is_empty() { "24x7 (no calendar on file)".to_string() } else { calendar },
            "file": file,
        },
        "period": period_value(period),
        "page_header": format!("{} · service report, {}", text(client, "name"), period_title(period)),
        "headline": headline,
        "kpi": kpis,
        "sla_targets": targets,
        "sla_rows": sla_rows,
        "sla_goal": format::value(Format::Percent, Some(goal)),
        "by_priority": by_priority,
        "by_category": by_category,
        "category_svg": category_svg,
        "nps_bar": nps_bar,
        "small_sample": SMALL_SAMPLE,
        "q": queries,
    }))
}

/// The index's line for a client, from its context.
pub fn index_row(client: &Value) -> Value {
    let k = &client["kpi"];
    // A value from a small sample is flagged; a missing value (no sample) is not.
    let small = |key: &str| k[key]["small"] == true && k[key]["raw"].is_number();
    json!({
        "name": client["client"]["name"],
        "id": client["client"]["id"],
        "file": client["client"]["file"],
        "response_sla": k["response_sla"]["value"],
        "response_sla_raw": k["response_sla"]["raw"],
        "response_sla_small": small("response_sla"),
        "resolution_sla": k["resolution_sla"]["value"],
        "resolution_sla_small": small("resolution_sla"),
        "nps": k["nps"]["value"],
        "nps_small": small("nps"),
        "csat": k["csat"]["value"],
        "csat_small": small("csat"),
        "fcr": k["fcr"]["value"],
        "fcr_small": small("fcr"),
        "opened": k["opened"]["value"],
        "backlog": k["backlog"]["value"],
    })
}

/// The portfolio index: every client's headline KPIs, worst response SLA first, and
/// the portfolio's churn and CLTV.
pub fn index(
    mut rows: Vec<Value>,
    period: &Period,
    results: &HashMap<&str, &QueryResult>,
    currency: &Currency,
) -> Result<Value> {
    rows.sort_by(|a, b| {
        let key = |v: &Value| v["response_sla_raw"].as_f64().unwrap_or(f64::INFINITY);
        key(a)
            .total_cmp(&key(b))
            .then_with(|| a["name"].as_str().cmp(&b["name"].as_str()))
    });
    let any_small = rows.iter().any(|r| {
        [
            "response_sla_small",
            "resolution_sla_small",
            "nps_small",
            "csat_small",
            "fcr_small",
        ]
        .iter()
        .any(|k| r[*k] == true)
    });
    let churn = require(results, "churn", "cltv")?;
    let by_period: BTreeMap<String, &Row> =
        churn.rows.iter().map(|r| (text(r, "period"), r)).collect();
    let current = by_period.get(&day(period));
    let get = |c: &str| current.and_then(|r| number(r, c));
    let trend = period.trend();
    let churn_series: Vec<Option<f64>> = trend
        .iter()
        .map(|p| by_period.get(&day(p)).and_then(|r| number(r, "churn_rate")))
        .collect();
    let cltv = match get("cltv") {
        Some(v) => currency.amount(Some(v)),
        None if current.is_some() => "undefined (no churn in 12 months)".to_string(),
        None => format::MISSING.to_string(),
    };
    Ok(json!({
        "period": period_value(period),
        "page_header": format!("Client reports, {}", period_title(period)),
        "clients": rows,
        "portfolio": {
            "churn_rate": format::value(Format::Percent, get("churn_rate")),
            "revenue_churn_rate": format::value(Format::Percent, get("revenue_churn_rate")),
            "active_at_start": format::value(Format::Count, get("active_at_start")),
            "churned": format::value(Format::Count, get("churned")),
            "active_at_end": format::value(Format::Count, get("active_at_end")),
            "average_mrr": currency.amount(get("average_mrr")),
            "average_monthly_churn_12m": format::value(Format::Percent, get("average_monthly_churn_12m")),
            "cltv": cltv,
            "churn_sparkline": sparkline(&churn_series),
            "churn_svg": trend_svg(&churn_series, &trend.iter().map(Period::short_label).collect::<Vec<_>>(), &churn_series.iter().map(|v| format::value(Format::Percent, *v)).collect::<Vec<_>>(), None),
        },
        "small_sample": SMALL_SAMPLE,
        "any_small": any_small,
    }))
}

/// The internal team report: technician efficiency in the period.
pub fn team(period: &Period, results: &HashMap<&str, &QueryResult>) -> Result<Value> {
    let team = require(results, "team", "minutes_per_ticket")?;
    let current_day = day(period);
    let mut rows: Vec<&Row> = team
        .rows
        .iter()
        .filter(|r| text(r, "period") == current_day)
        .collect();
    rows.sort_by(|a, b| {
        number(b, "minutes_per_ticket")
            .unwrap_or(0.0)
            .total_cmp(&number(a, "minutes_per_ticket").unwrap_or(0.0))
            .then_with(|| text(a, "technician_id").cmp(&text(b, "technician_id")))
    });
    let technicians: Vec<Value> = rows
        .iter()
        .map(|r| {
            let n = number(r, "tickets_worked").unwrap_or(0.0) as i64;
            json!({
                "technician": text(r, "technician_id"),
                "minutes_per_ticket": format::value(Format::Minutes, number(r, "minutes_per_ticket")),
                "tickets": format::value(Format::Count, Some(n as f64)),
                "minutes_worked": format::value(Format::Minutes, number(r, "minutes_worked")),
                "small": n < SMALL_SAMPLE,
            })
        })
        .collect();
    Ok(
        json!({ "period": period_value(period), "page_header": format!("Team report, {} (internal)", period_title(period)), "technicians": technicians, "small_sample": SMALL_SAMPLE }),
    )
}
