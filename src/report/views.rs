//! What the templates see: `Serialize` views of one client's report, the index and the
//! team report, built from the typed query results and the KPI catalogue. Values are
//! already formatted for people (so Markdown and HTML read the same); custom templates
//! also get each client query's raw rows (`q.<query>.rows`, `q.<query>.current`).

use std::collections::{BTreeMap, HashMap};

use anyhow::{Result, bail};
use chrono::NaiveDate;
use serde::Serialize;

use minijinja::Value;

use super::charts::{bars_svg, nps_bar_svg, sparkline, trend_svg};
use super::format::{self, Currency, Format};
use super::inputs::{Client, SlaTarget};
use crate::kpi::{self, Kpi, Shown};
use crate::period::{Grain, Period};
use crate::results::Row;
use crate::run::QueryResult;
use crate::saved_queries::Scope;
use crate::saved_queries::declaration::{Goal, Section};

/// A value from fewer rows than this is flagged as a small sample.
pub const SMALL_SAMPLE: i64 = 30;

/// The categories a client report lists before "other".
pub const TOP_CATEGORIES: usize = 8;

/// The SLA compliance a client is promised, in percent: `clients.sla_goal_percent`,
/// else this.
pub const DEFAULT_SLA_GOAL: f64 = 95.0;

/// The results of a run by query name and by the sections they fill, with the
/// catalogue.
pub struct Results<'a> {
    by_name: HashMap<&'a str, &'a QueryResult>,
    by_section: HashMap<Section, &'a QueryResult>,
    pub catalogue: &'a [Kpi],
    /// The index's columns, left to right (found once, read for every client).
    pub index_columns: Vec<&'a Kpi>,
}

impl<'a> Results<'a> {
    pub fn new(results: &'a [QueryResult], catalogue: &'a [Kpi]) -> Self {
        let mut by_section = HashMap::new();
        for result in results {
            for section in &result.query.sections {
                by_section.entry(*section).or_insert(result);
            }
        }
        Self {
            by_name: results.iter().map(|r| (r.query.name.as_str(), r)).collect(),
            by_section,
            catalogue,
            index_columns: kpi::index_columns(catalogue),
        }
    }

    /// The result of the query that fills `section`, which must return `column`.
    fn section(&self, section: Section, column: &str) -> Result<&'a QueryResult> {
        let Some(result) = self.by_section.get(&section) else {
            bail!(
                "the report needs a saved query with '-- section: {}' (column '{column}'), which the queries folder does not have",
                section.name()
            );
        };
        self.require(&result.query.name, column)
    }

    /// The result of `query`, which must return `column`.
    fn require(&self, query: &str, column: &str) -> Result<&'a QueryResult> {
        let Some(result) = self.by_name.get(query) else {
            bail!(
                "the report needs the saved query '{query}' (column '{column}'), which the queries folder does not have"
            );
        };
        if !result.columns().is_empty() && !result.table.has_column(column) {
            bail!(
                "saved query {} returns no column '{column}', which the report needs",
                result.query
            );
        }
        Ok(result)
    }

    fn kpis(&self, shown: impl Fn(Shown) -> bool, scope: Scope) -> impl Iterator<Item = &'a Kpi> {
        self.catalogue
            .iter()
            .filter(move |k| shown(k.shown) && k.scope == scope)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PeriodView {
    label: String,
    title: String,
    noun: &'static str,
    start: String,
    end: String,
    previous: String,
    trend_labels: Vec<String>,
}

fn noun(period: &Period) -> &'static str {
    match period.grain {
        Grain::Month => "month",
        Grain::Quarter => "quarter",
    }
}

/// `September 2026`, `Q3 2026`.
fn period_title(period: &Period) -> String {
    match period.grain {
        Grain::Month => period.start.format("%B %Y").to_string(),
        Grain::Quarter => period.short_label(),
    }
}

impl PeriodView {
    fn new(period: &Period) -> Self {
        Self {
            label: period.to_string(),
            title: period_title(period),
            noun: noun(period),
            start: period.start.format("%Y-%m-%d").to_string(),
            end: period.end().format("%Y-%m-%d").to_string(),
            previous: period.previous(1).to_string(),
            trend_labels: period.trend().iter().map(Period::short_label).collect(),
        }
    }
}

/// One KPI of a client: formatted value, previous, change, n and trend.
#[derive(Debug, Clone, Serialize)]
pub struct KpiView {
    key: String,
    label: String,
    value: String,
    raw: Option<f64>,
    previous: String,
    change: String,
    n: Option<String>,
    n_raw: Option<i64>,
    small: bool,
    no_data: Option<String>,
    sparkline: String,
    svg: String,
}

impl KpiView {
    /// A value from a small sample (a missing value is not one).
    fn small_value(&self) -> bool {
        self.small && self.raw.is_some()
    }
}

/// The row per period that stands for the whole client (the `all` row where a query
/// splits by priority).
fn main_rows<'a>(rows: &[Row<'a>]) -> BTreeMap<NaiveDate, Row<'a>> {
    rows.iter()
        .filter(|r| r.text("priority").is_none_or(|p| p == "all"))
        .filter_map(|r| Some((r.date("period")?, *r)))
        .collect()
}

/// One KPI's series over the trend, with the goal line for a KPI that has one.
fn kpi_view(kpi: &Kpi, rows: &[Row], period: &Period, goal: Option<f64>) -> KpiView {
    let by_period = main_rows(rows);
    let trend = period.trend();
    let value_in = |p: &Period| by_period.get(&p.start).and_then(|r| r.number(&kpi.column));
    let series: Vec<Option<f64>> = trend.iter().map(value_in).collect();
    let current = value_in(period);
    let previous = value_in(&period.previous(1));
    let n = kpi
        .n_column
        .as_deref()
        .and_then(|c| by_period.get(&period.start)?.number(c))
        .map(|n| n as i64);
    let labels: Vec<String> = trend.iter().map(Period::short_label).collect();
    let goal_label = goal.map(|g| format!("goal {}", format::value(kpi.unit, Some(g))));
    let formatted: Vec<String> = series.iter().map(|v| format::value(kpi.unit, *v)).collect();
    KpiView {
        key: kpi.key.clone(),
        label: kpi.label.clone(),
        value: format::value(kpi.unit, current),
        raw: current,
        previous: format::value(kpi.unit, previous),
        change: format::change(kpi.unit, current, previous),
        n: n.map(|n| format::value(Format::Count, Some(n as f64))),
        n_raw: n,
        small: n.is_some_and(|n| n < SMALL_SAMPLE),
        no_data: current
            .is_none()
            .then(|| kpi.no_data_sentence(noun(period))),
        sparkline: sparkline(&series),
        svg: trend_svg(
            &series,
            &labels,
            &formatted,
            goal.zip(goal_label.as_deref()),
        ),
    }
}

/// A line of the tickets-opened breakdown.
#[derive(Debug, Clone, Serialize)]
pub struct BreakdownLine {
    label: String,
    opened: String,
    opened_raw: u64,
    previous: String,
    change: String,
}

/// Tickets opened in the period and the one before, by one dimension (`priority` or
/// `category`) of the `breakdown` query: every value in order, or the `top` largest
/// of the period (ties by name) and the rest summed as "other".
fn breakdown(
    rows: &[Row],
    dimension: &str,
    period: &Period,
    top: Option<usize>,
) -> Vec<BreakdownLine> {
    let (current, previous) = (period.start, period.previous(1).start);
    let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for row in rows
        .iter()
        .filter(|r| r.text("dimension") == Some(dimension))
    {
        let opened = row.number("opened").unwrap_or(0.0) as u64;
        let entry = counts
            .entry(row.key("value").unwrap_or_default())
            .or_default();
        match row.date("period") {
            Some(p) if p == current => entry.0 += opened,
            Some(p) if p == previous => entry.1 += opened,
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
        .map(|(label, (current, previous))| BreakdownLine {
            label,
            opened: format::value(Format::Count, count(current)),
            opened_raw: current,
            previous: format::value(Format::Count, count(previous)),
            change: format::change(Format::Count, count(current), count(previous)),
        })
        .collect()
}

/// A client's SLA target for one priority.
#[derive(Debug, Clone, Serialize)]
pub struct TargetView {
    priority: String,
    response: String,
    resolution: String,
    clock: &'static str,
}

/// The client's SLA targets per priority: its own row, else the default row.
fn client_targets(targets: &[SlaTarget], id: &str) -> Vec<TargetView> {
    let mut by_priority: BTreeMap<&str, &SlaTarget> = BTreeMap::new();
    for row in targets.iter().filter(|t| t.client_id.is_none()) {
        by_priority.insert(&row.priority, row);
    }
    for row in targets
        .iter()
        .filter(|t| t.client_id.as_deref() == Some(id))
    {
        by_priority.insert(&row.priority, row);
    }
    by_priority
        .values()
        .map(|t| TargetView {
            priority: t.priority.clone(),
            response: format::value(Format::Minutes, t.response_minutes),
            resolution: format::value(Format::Minutes, t.resolution_minutes),
            clock: if t.business_hours == Some(true) {
                "business hours"
            } else {
                "around the clock"
            },
        })
        .collect()
}

/// SLA compliance of one priority (or `all`) in the report period.
#[derive(Debug, Clone, Serialize)]
pub struct SlaRow {
    priority: String,
    response_target: Option<String>,
    resolution_target: Option<String>,
    response_sla: String,
    response_n: String,
    resolution_sla: String,
    resolution_n: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClientInfo {
    id: String,
    name: String,
    timezone: String,
    calendar: String,
    file: String,
}

/// A client query's rows, and the row of the report period.
#[derive(Debug, Clone, Serialize)]
pub struct QueryRows<'a> {
    rows: Vec<Row<'a>>,
    current: Option<Row<'a>>,
}

/// The context of one client's report.
#[derive(Debug, Clone, Serialize)]
pub struct ClientView<'a> {
    client: ClientInfo,
    period: PeriodView,
    page_header: String,
    headline: Vec<KpiView>,
    kpi: BTreeMap<String, KpiView>,
    /// The KPIs custom queries declare.
    more_kpis: Vec<KpiView>,
    sla_targets: Vec<TargetView>,
    sla_rows: Vec<SlaRow>,
    sla_goal: String,
    by_priority: Vec<BreakdownLine>,
    by_category: Vec<BreakdownLine>,
    category_svg: Option<String>,
    nps_bar: Option<String>,
    small_sample: i64,
    /// Whether the data has a status history, so that SLA clocks pause.
    status_history: bool,
    q: BTreeMap<&'a str, QueryRows<'a>>,
}

/// The context of one client's report.
pub fn client<'a>(
    client: &Client,
    file: &str,
    period: &Period,
    results: &Results<'a>,
    targets: &[SlaTarget],
    status_history: bool,
) -> Result<ClientView<'a>> {
    let id = client.id.as_str();
    let goal = client.sla_goal_percent.unwrap_or(DEFAULT_SLA_GOAL);
    let mut kpis = BTreeMap::new();
    let mut headline = Vec::new();
    let mut more_kpis = Vec::new();
    let reported = |s: Shown| matches!(s, Shown::Headline | Shown::Detail | Shown::Declared);
    let mut headline_views = Vec::new();
    for kpi in results.kpis(reported, Scope::Client) {
        let result = results.require(&kpi.query, &kpi.column)?;
        let view = kpi_view(
            kpi,
            &result.client_rows(id),
            period,
            kpi.goal.map(|Goal::ClientSlaGoal| goal),
        );
        match kpi.shown {
            Shown::Headline => headline_views.push((kpi.order, view.clone())),
            Shown::Declared => more_kpis.push(view.clone()),
            _ => {}
        }
        kpis.insert(kpi.key.clone(), view);
    }
    // In the declared order; those without one after, in catalogue order.
    headline_views.sort_by_key(|(order, _)| (order.is_none(), *order));
    headline.extend(headline_views.into_iter().map(|(_, view)| view));
    // SLA per priority in the report period.
    let sla = results.section(Section::SlaTable, "priority")?;
    let targets = client_targets(targets, id);
    let target_of = |priority: &str, pick: fn(&TargetView) -> &String| {
        targets
            .iter()
            .find(|t| t.priority == priority)
            .map(|t| pick(t).clone())
    };
    let count = |n: Option<f64>| format::value(Format::Count, Some(n.unwrap_or(0.0)));
    let mut sla_rows: Vec<SlaRow> = sla
        .client_rows(id)
        .iter()
        .filter(|r| r.date("period") == Some(period.start))
        .map(|r| {
            let priority = r.key("priority").unwrap_or_default();
            SlaRow {
                response_target: target_of(&priority, |t| &t.response),
                resolution_target: target_of(&priority, |t| &t.resolution),
                response_sla: format::value(Format::Percent, r.number("response_sla")),
                response_n: count(r.number("response_sla_n")),
                resolution_sla: format::value(Format::Percent, r.number("resolution_sla")),
                resolution_n: count(r.number("resolution_sla_n")),
                priority,
            }
        })
        .collect();
    // Priorities first, the overall row last.
    sla_rows.sort_by_key(|r| (r.priority == "all", r.priority.clone()));
    let opened = results
        .section(Section::OpenedBreakdown, "opened")?
        .client_rows(id);
    let by_priority = breakdown(&opened, "priority", period, None);
    let by_category = breakdown(&opened, "category", period, Some(TOP_CATEGORIES));
    let bars: Vec<(String, u64)> = by_category
        .iter()
        .map(|c| (c.label.clone(), c.opened_raw))
        .collect();
    let category_svg = (!bars.is_empty()).then(|| bars_svg(&bars));
    let nps_bar = results.by_section.get(&Section::NpsBar).and_then(|result| {
        let rows = result.client_rows(id);
        let row = *main_rows(&rows).get(&period.start)?;
        row.number("nps")?;
        let whole = |column: &str| row.number(column).unwrap_or(0.0) as u64;
        Some(nps_bar_svg(
            whole("promoters"),
            whole("passives"),
            whole("detractors"),
        ))
    });
    // The raw rows of every client query, for custom templates.
    let mut q = BTreeMap::new();
    for result in results
        .by_name
        .values()
        .filter(|r| r.query.scope == Scope::Client)
    {
        let rows = result.client_rows(id);
        let current = main_rows(&rows).get(&period.start).copied();
        q.insert(result.query.name.as_str(), QueryRows { rows, current });
    }
    Ok(ClientView {
        client: ClientInfo {
            id: id.to_string(),
            name: client.name.clone(),
            timezone: client.timezone.clone(),
            calendar: client
                .calendar
                .clone()
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| "24x7 (no calendar on file)".to_string()),
            file: file.to_string(),
        },
        period: PeriodView::new(period),
        page_header: format!("{} · service report, {}", client.name, period_title(period)),
        headline,
        kpi: kpis,
        more_kpis,
        sla_targets: targets,
        sla_rows,
        sla_goal: format::value(Format::Percent, Some(goal)),
        by_priority,
        by_category,
        category_svg,
        nps_bar,
        small_sample: SMALL_SAMPLE,
        status_history,
        q,
    })
}

/// One cell of a client's line in the index.
#[derive(Debug, Clone, Serialize)]
pub struct IndexCell {
    value: String,
    small: bool,
}

/// A column of the index.
#[derive(Debug, Clone, Serialize)]
pub struct IndexHeading {
    key: String,
    label: String,
}

/// The index's line for a client: its cells in the declared columns' order
/// (`cells`), and each column's `<key>`, `<key>_raw` and `<key>_small` by name.
#[derive(Debug, Clone, Serialize)]
pub struct IndexRow {
    name: String,
    id: String,
    file: String,
    cells: Vec<IndexCell>,
    #[serde(flatten)]
    by_key: BTreeMap<String, Value>,
    #[serde(skip)]
    sort_key: Option<f64>,
}

impl IndexRow {
    pub fn new(view: &ClientView, columns: &[&Kpi]) -> Self {
        let mut row = Self {
            name: view.client.name.clone(),
            id: view.client.id.clone(),
            file: view.client.file.clone(),
            cells: Vec::new(),
            by_key: BTreeMap::new(),
            sort_key: None,
        };
        for kpi in columns {
            let k = view.kpi.get(&kpi.key);
            let value = k.map(|v| v.value.clone()).unwrap_or_default();
            let raw = k.and_then(|v| v.raw);
            let small = k.is_some_and(KpiView::small_value);
            if kpi.index.as_ref().is_some_and(|i| i.sorts) {
                row.sort_key = raw;
            }
            row.by_key
                .insert(kpi.key.clone(), Value::from(value.clone()));
            row.by_key
                .insert(format!("{}_raw", kpi.key), Value::from(raw));
            row.by_key
                .insert(format!("{}_small", kpi.key), Value::from(small));
            row.cells.push(IndexCell { value, small });
        }
        row
    }

    fn any_small(&self) -> bool {
        self.cells.iter().any(|c| c.small)
    }
}

/// A portfolio or internal KPI of the report period, formatted.
#[derive(Debug, Clone, Serialize)]
pub struct PeriodKpi {
    label: String,
    value: String,
    n: Option<String>,
}

/// The declared KPIs of portfolio or internal queries, for the period's row.
fn declared_kpis(
    results: &Results,
    scope: Scope,
    period: &Period,
    currency: &Currency,
) -> Result<Vec<PeriodKpi>> {
    let mut out = Vec::new();
    for kpi in results.kpis(|s| s == Shown::Declared, scope) {
        let result = results.require(&kpi.query, &kpi.column)?;
        let row = result
            .rows()
            .find(|r| r.date("period") == Some(period.start));
        let value = row.and_then(|r| r.number(&kpi.column));
        out.push(PeriodKpi {
            label: kpi.label.clone(),
            value: match kpi.unit {
                Format::Money => currency.amount(value),
                unit => format::value(unit, value),
            },
            n: kpi
                .n_column
                .as_deref()
                .and_then(|c| row?.number(c))
                .map(|n| format::value(Format::Count, Some(n))),
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
pub struct Portfolio {
    churn_rate: String,
    revenue_churn_rate: String,
    active_at_start: String,
    churned: String,
    active_at_end: String,
    average_mrr: String,
    average_monthly_churn_12m: String,
    cltv: String,
    churn_sparkline: String,
    churn_svg: String,
}

/// The portfolio index.
#[derive(Debug, Clone, Serialize)]
pub struct IndexView {
    period: PeriodView,
    page_header: String,
    columns: Vec<IndexHeading>,
    clients: Vec<IndexRow>,
    portfolio: Portfolio,
    more_kpis: Vec<PeriodKpi>,
    small_sample: i64,
    any_small: bool,
}

/// The portfolio index: every client's index KPIs, lowest first of the one declared
/// `index_sort=ascending` (the response SLA), and the portfolio's churn and CLTV.
pub fn index(
    mut rows: Vec<IndexRow>,
    period: &Period,
    results: &Results,
    currency: &Currency,
) -> Result<IndexView> {
    rows.sort_by(|a, b| {
        let key = |r: &IndexRow| r.sort_key.unwrap_or(f64::INFINITY);
        key(a).total_cmp(&key(b)).then_with(|| a.name.cmp(&b.name))
    });
    let any_small = rows.iter().any(IndexRow::any_small);
    let churn = results.section(Section::PortfolioChurn, "cltv")?;
    let by_period: BTreeMap<NaiveDate, Row> = churn
        .rows()
        .filter_map(|r| Some((r.date("period")?, r)))
        .collect();
    let current = by_period.get(&period.start);
    let get = |c: &str| current.and_then(|r| r.number(c));
    let unit = |column: &str| {
        results
            .catalogue
            .iter()
            .find(|k| k.query == churn.query.name && k.column == column)
            .map_or(Format::Count, |k| k.unit)
    };
    let shown = |column: &str| match unit(column) {
        Format::Money => currency.amount(get(column)),
        u => format::value(u, get(column)),
    };
    let trend = period.trend();
    let churn_series: Vec<Option<f64>> = trend
        .iter()
        .map(|p| by_period.get(&p.start).and_then(|r| r.number("churn_rate")))
        .collect();
    let cltv = match get("cltv") {
        Some(_) => shown("cltv"),
        None if current.is_some() => "undefined (no churn in 12 months)".to_string(),
        None => format::MISSING.to_string(),
    };
    let labels: Vec<String> = trend.iter().map(Period::short_label).collect();
    let formatted: Vec<String> = churn_series
        .iter()
        .map(|v| format::value(unit("churn_rate"), *v))
        .collect();
    Ok(IndexView {
        period: PeriodView::new(period),
        page_header: format!("Client reports, {}", period_title(period)),
        columns: results
            .index_columns
            .iter()
            .map(|k| IndexHeading {
                key: k.key.clone(),
                label: k
                    .index
                    .as_ref()
                    .map_or_else(|| k.label.clone(), |i| i.label.clone()),
            })
            .collect(),
        clients: rows,
        portfolio: Portfolio {
            churn_rate: shown("churn_rate"),
            revenue_churn_rate: shown("revenue_churn_rate"),
            active_at_start: shown("active_at_start"),
            churned: shown("churned"),
            active_at_end: shown("active_at_end"),
            average_mrr: shown("average_mrr"),
            average_monthly_churn_12m: shown("average_monthly_churn_12m"),
            cltv,
            churn_sparkline: sparkline(&churn_series),
            churn_svg: trend_svg(&churn_series, &labels, &formatted, None),
        },
        more_kpis: declared_kpis(results, Scope::Portfolio, period, currency)?,
        small_sample: SMALL_SAMPLE,
        any_small,
    })
}

/// A technician's line of the team report.
#[derive(Debug, Clone, Serialize)]
pub struct TechnicianRow {
    technician: String,
    minutes_per_ticket: String,
    tickets: String,
    minutes_worked: String,
    small: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TeamView {
    period: PeriodView,
    page_header: String,
    technicians: Vec<TechnicianRow>,
    more_kpis: Vec<PeriodKpi>,
    small_sample: i64,
}

/// The internal team report: technician efficiency in the period.
pub fn team(period: &Period, results: &Results, currency: &Currency) -> Result<TeamView> {
    let team = results.section(Section::Technicians, "minutes_per_ticket")?;
    let mut rows: Vec<Row> = team
        .rows()
        .filter(|r| r.date("period") == Some(period.start))
        .collect();
    let per_ticket = |r: &Row| r.number("minutes_per_ticket").unwrap_or(0.0);
    rows.sort_by(|a, b| {
        per_ticket(b)
            .total_cmp(&per_ticket(a))
            .then_with(|| a.key("technician_id").cmp(&b.key("technician_id")))
    });
    let technicians = rows
        .iter()
        .map(|r| {
            let n = r.number("tickets_worked").unwrap_or(0.0) as i64;
            TechnicianRow {
                technician: r.key("technician_id").unwrap_or_default(),
                minutes_per_ticket: format::value(Format::Minutes, r.number("minutes_per_ticket")),
                tickets: format::value(Format::Count, Some(n as f64)),
                minutes_worked: format::value(Format::Minutes, r.number("minutes_worked")),
                small: n < SMALL_SAMPLE,
            }
        })
        .collect();
    Ok(TeamView {
        period: PeriodView::new(period),
        page_header: format!("Team report, {} (internal)", period_title(period)),
        technicians,
        more_kpis: declared_kpis(results, Scope::Internal, period, currency)?,
        small_sample: SMALL_SAMPLE,
    })
}

/// A safe, unique file stem per client id.
pub fn file_stems(clients: &[&Client]) -> HashMap<String, String> {
    clients
        .iter()
        .map(|c| {
            let stem = crate::write::safe_file_stem(&c.id);
            // Never collide with the index or the team report.
            let stem = if stem == "index" || stem == "team" {
                format!("client-{stem}")
            } else {
                stem
            };
            (c.id.clone(), stem)
        })
        .collect()
}
