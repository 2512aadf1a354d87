//! What a saved query's header declares about the report: its KPIs (`-- kpi:` lines)
//! and the report sections its rows fill (`-- section:` lines).
//!
//! A `-- kpi:` line is its value column, then `key=value` pairs:
//!
//! ```sql
//! -- kpi: response_sla n=response_sla_n unit=percent show=headline order=30 goal=sla_goal_percent label="Response SLA met" no_data="no response SLA decided"
//! ```
//!
//! A value holding spaces or `=` is quoted (`"…"`, with `\"` and `\\` inside). An
//! unquoted `label=` takes the rest of the line, as it always has.

use anyhow::{Context, Result, bail};

use crate::unit::Format;

/// Where a KPI shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// In the client report's headline table, and as `kpi.<key>`.
    Headline,
    /// As `kpi.<key>` of the client report (its detail sections).
    Detail,
    /// In a report's "more KPIs" table (the default of a declared KPI).
    Declared,
    /// Only in the export (and in the index or team report's own sections).
    Export,
}

/// A goal a KPI is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// The client's promised SLA compliance: `clients.sla_goal_percent`, else 95 %.
    ClientSlaGoal,
}

/// A column of the index (the portfolio's page of client lines).
#[derive(Debug, Clone, PartialEq)]
pub struct IndexColumn {
    /// Its place among the index's columns, left to right.
    pub place: i64,
    /// Its heading.
    pub label: String,
    /// Whether the index lists the clients by it, lowest (worst) first.
    pub sorts: bool,
}

/// What the report says where a KPI has no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoData {
    pub sentence: String,
    /// Whether it holds for every period; otherwise "this month" completes it.
    pub every_period: bool,
}

/// A KPI column a query declares in its header.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredKpi {
    pub column: String,
    pub n_column: Option<String>,
    pub unit: Format,
    pub label: Option<String>,
    pub shown: Shown,
    /// Its place in the headline table; KPIs without one follow, in file order.
    pub order: Option<i64>,
    pub no_data: Option<NoData>,
    /// The optional table it needs (`needs=ticket_status`).
    pub needs: Option<String>,
    pub goal: Option<Goal>,
    pub index: Option<IndexColumn>,
}

/// The keys a `-- kpi:` line takes.
const KEYS: &str = "n=, unit=, label=, show=, order=, no_data=, no_data_always=, needs=, goal=, index=, index_label= or index_sort=";

impl DeclaredKpi {
    pub fn parse(text: &str) -> Result<Self> {
        let (column, pairs) = pairs(text)?;
        let mut kpi = Self {
            column,
            n_column: None,
            unit: Format::Count,
            label: None,
            shown: Shown::Declared,
            order: None,
            no_data: None,
            needs: None,
            goal: None,
            index: None,
        };
        let (mut index_place, mut index_label, mut index_sorts) = (None, None, false);
        for (key, value) in pairs {
            let whole = |value: &str| -> Result<i64> {
                value
                    .parse()
                    .map_err(|_| anyhow::anyhow!("{key}={value}: not a whole number"))
            };
            match key.as_str() {
                "n" => kpi.n_column = Some(value),
                "unit" => kpi.unit = Format::parse(&value)?,
                "label" => kpi.label = Some(value).filter(|l| !l.is_empty()),
                "show" => {
                    kpi.shown = match value.as_str() {
                        "headline" => Shown::Headline,
                        "detail" => Shown::Detail,
                        "more" => Shown::Declared,
                        "export" => Shown::Export,
                        other => {
                            bail!("show={other}: use headline, detail, more or export")
                        }
                    }
                }
                "order" => kpi.order = Some(whole(&value)?),
                "no_data" | "no_data_always" => {
                    if kpi.no_data.is_some() {
                        bail!("no_data= and no_data_always= are one sentence: give one");
                    }
                    kpi.no_data = Some(NoData {
                        sentence: value,
                        every_period: key == "no_data_always",
                    })
                }
                "needs" => {
                    if crate::data::schema::table(&value).is_none() {
                        bail!("needs={value}: no table of the data is named so");
                    }
                    kpi.needs = Some(value)
                }
                "goal" => {
                    kpi.goal = Some(match value.as_str() {
                        "sla_goal_percent" => Goal::ClientSlaGoal,
                        other => bail!("goal={other}: use sla_goal_percent"),
                    })
                }
                "index" => index_place = Some(whole(&value)?),
                "index_label" => index_label = Some(value),
                "index_sort" => {
                    index_sorts = match value.as_str() {
                        "ascending" => true,
                        other => bail!("index_sort={other}: use ascending"),
                    }
                }
                _ => bail!("'{key}=' is not a key of a KPI (use {KEYS})"),
            }
        }
        match index_place {
            Some(place) => {
                kpi.index = Some(IndexColumn {
                    place,
                    label: index_label
                        .or_else(|| kpi.label.clone())
                        .unwrap_or_else(|| kpi.column.clone()),
                    sorts: index_sorts,
                })
            }
            None if index_label.is_some() || index_sorts => {
                bail!("index_label= and index_sort= need index=<place>")
            }
            None => {}
        }
        Ok(kpi)
    }
}

/// A section of a report that a query's rows fill, beside its KPIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// The client report's SLA table: a row per `priority` (and `all`), with
    /// `response_sla`, `response_sla_n`, `resolution_sla`, `resolution_sla_n`.
    SlaTable,
    /// The client report's tickets opened by priority and by category: rows of
    /// `dimension`, `value`, `opened`.
    OpenedBreakdown,
    /// The client report's NPS bar, from `promoters`, `passives` and `detractors`.
    NpsBar,
    /// The index's portfolio table and churn trend: `churn_rate`, `cltv`, ...
    PortfolioChurn,
    /// The team report's technicians: a row per `technician_id`.
    Technicians,
}

impl Section {
    pub const ALL: [Section; 5] = [
        Section::SlaTable,
        Section::OpenedBreakdown,
        Section::NpsBar,
        Section::PortfolioChurn,
        Section::Technicians,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Section::SlaTable => "sla_table",
            Section::OpenedBreakdown => "opened_breakdown",
            Section::NpsBar => "nps_bar",
            Section::PortfolioChurn => "portfolio_churn",
            Section::Technicians => "technicians",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.name() == text)
            .with_context(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|s| s.name()).collect();
                format!("unknown section '{text}' (use {})", names.join(", "))
            })
    }
}

/// Splits `column key=value key="quoted value"` into the column and its pairs. An
/// unquoted `label=` takes the rest of the text.
fn pairs(text: &str) -> Result<(String, Vec<(String, String)>)> {
    const USAGE: &str = "use: -- kpi: column n=column_n unit=percent label=\"Text\"";
    fn word(chars: &mut std::iter::Peekable<std::str::Chars>) -> String {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut word = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '=') {
            word.push(c);
        }
        word
    }
    let mut chars = text.trim().chars().peekable();
    let column = word(&mut chars);
    if column.is_empty() {
        bail!("no column ({USAGE})");
    }
    let mut found = Vec::new();
    loop {
        let key = word(&mut chars);
        if key.is_empty() {
            if chars.peek().is_some() {
                bail!("a value without a key ({USAGE})");
            }
            break;
        }
        if chars.next() != Some('=') {
            bail!("'{key}' has no value: write {key}=<value> ({USAGE})");
        }
        let value = if chars.peek() == Some(&'"') {
            chars.next();
            let mut value = String::new();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(c @ ('"' | '\\')) => value.push(c),
                        _ => bail!("{key}=: only \\\" and \\\\ are escapes in a quoted value"),
                    },
                    Some(c) => value.push(c),
                    None => bail!("{key}=: the quoted value has no closing '\"'"),
                }
            }
            if chars.peek().is_some_and(|c| !c.is_whitespace()) {
                bail!("{key}=: text right after the closing quote");
            }
            value
        } else if key == "label" {
            chars.by_ref().collect::<String>().trim().to_string()
        } else {
            let mut value = String::new();
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                value.push(c);
            }
            value
        };
        if found.iter().any(|(k, _)| *k == key) {
            bail!("{key}= is given twice");
        }
        found.push((key, value));
    }
    Ok((column, found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_reads_bare_and_quoted_values_and_the_older_label() {
        let kpi = DeclaredKpi::parse(
            r#"response_sla n=response_sla_n unit=percent show=headline order=30 goal=sla_goal_percent index=1 index_label="response SLA" index_sort=ascending no_data="no response \"SLA\" decided" label="Response SLA met""#,
        )
        .unwrap();
        assert_eq!(kpi.column, "response_sla");
        assert_eq!(kpi.n_column.as_deref(), Some("response_sla_n"));
        assert_eq!(kpi.unit, Format::Percent);
        assert_eq!(kpi.shown, Shown::Headline);
        assert_eq!(kpi.order, Some(30));
        assert_eq!(kpi.goal, Some(Goal::ClientSlaGoal));
        assert_eq!(
            kpi.index,
            Some(IndexColumn {
                place: 1,
                label: "response SLA".into(),
                sorts: true
            })
        );
        assert_eq!(
            kpi.no_data,
            Some(NoData {
                sentence: "no response \"SLA\" decided".into(),
                every_period: false
            })
        );
        assert_eq!(kpi.label.as_deref(), Some("Response SLA met"));

        let older =
            DeclaredKpi::parse("share n=n unit=percent label=Urgent (P1) share = x").unwrap();
        assert_eq!(older.label.as_deref(), Some("Urgent (P1) share = x"));
        assert_eq!(older.shown, Shown::Declared);
        assert_eq!(older.no_data, None);

        let always =
            DeclaredKpi::parse("w no_data_always=\"no status history\" needs=ticket_status")
                .unwrap();
        assert!(always.no_data.unwrap().every_period);
        assert_eq!(always.needs.as_deref(), Some("ticket_status"));
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        let error = |text: &str| format!("{:#}", DeclaredKpi::parse(text).unwrap_err());
        assert!(error("").starts_with("no column"));
        assert_eq!(
            error("c shown=headline"),
            format!("'shown=' is not a key of a KPI (use {KEYS})")
        );
        assert_eq!(
            error("c show=top"),
            "show=top: use headline, detail, more or export"
        );
        assert_eq!(error("c order=first"), "order=first: not a whole number");
        assert_eq!(
            error("c needs=tickets_status"),
            "needs=tickets_status: no table of the data is named so"
        );
        assert!(error("c label=\"open").contains("no closing"));
        assert!(error("c n").contains("'n' has no value"));
        assert_eq!(error("c n=a n=b"), "n= is given twice");
        assert_eq!(
            error("c unit=euro"),
            "unknown unit 'euro' (use percent, score, minutes, count, ratio or money)"
        );
        assert_eq!(
            error("c index_sort=ascending"),
            "index_label= and index_sort= need index=<place>"
        );
        assert_eq!(Section::parse("sla_table").unwrap(), Section::SlaTable);
        assert!(
            Section::parse("sla")
                .unwrap_err()
                .to_string()
                .contains("use sla_table, ")
        );
    }
}
