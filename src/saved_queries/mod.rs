//! The saved-query file format: load `queries/*.sql`, parse and check their header,
//! and bind typed parameters through DataFusion's parameter binding. Running them is
//! [`crate::run`]'s job.
//!
//! A file starts with `--` header lines:
//!
//! ```sql
//! -- name: satisfaction
//! -- description: NPS and CSAT per client and month
//! -- scope: client
//! -- param trend_start: date
//! SELECT client_id, period, ... WHERE period >= $trend_start ...
//! ```
//!
//! A `-- set datafusion.<option>: <value>` line plans and runs that one query with a
//! DataFusion option changed (a model whose input is sorted by its group key groups
//! it fastest in one partition, for example). `-- kpi:` and `-- section:` lines say
//! what the query gives the reports ([`declaration`]).

pub mod declaration;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use arrow::array::RecordBatch;
use chrono::{NaiveDate, NaiveDateTime};
use datafusion::prelude::{DataFrame, SessionContext};
use datafusion::scalar::ScalarValue;
use include_dir::{Dir, include_dir};

use declaration::{DeclaredKpi, Section, Shown};

/// The queries built into the binary: the repository's `queries/`.
static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/queries");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Rows per `client_id` and `period`: one client's report.
    Client,
    /// Rows per `period`: the index.
    Portfolio,
    /// The internal team report.
    Internal,
    /// A staged model: run first, once per run, and registered as a table of its
    /// name that the other queries read.
    Model,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Date,
    Timestamp,
    Int,
    Float,
    String,
    Bool,
}

impl ParamKind {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "date" => Self::Date,
            "timestamp" => Self::Timestamp,
            "int" => Self::Int,
            "float" => Self::Float,
            "string" => Self::String,
            "bool" => Self::Bool,
            _ => return None,
        })
    }

    /// Parses a value given as text (`--param name:type=value`).
    pub fn value(self, text: &str) -> Result<ScalarValue> {
        let bad = |what: &str| anyhow::anyhow!("'{text}' is not {what}");
        Ok(match self {
            Self::Date => {
                let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map_err(|_| bad("a date (YYYY-MM-DD)"))?;
                ScalarValue::Date32(Some(
                    date.signed_duration_since(NaiveDate::default()).num_days() as i32,
                ))
            }
            Self::Timestamp => {
                let parsed = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
                    .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
                    .or_else(|_| {
                        NaiveDate::parse_from_str(text, "%Y-%m-%d")
                            .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
                    })
                    .map_err(|_| bad("a timestamp (YYYY-MM-DD HH:MM:SS, UTC)"))?;
                ScalarValue::TimestampMicrosecond(
                    Some(parsed.and_utc().timestamp_micros()),
                    Some("UTC".into()),
                )
            }
            Self::Int => ScalarValue::Int64(Some(text.parse().map_err(|_| bad("an integer"))?)),
            Self::Float => ScalarValue::Float64(Some(text.parse().map_err(|_| bad("a number"))?)),
            Self::String => ScalarValue::Utf8(Some(text.to_string())),
            Self::Bool => ScalarValue::Boolean(Some(match text.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => true,
                "false" | "no" | "0" => false,
                _ => return Err(bad("a boolean (true/false)")),
            })),
        })
    }

    /// Parses `date`, `timestamp`, ... with a clear error.
    pub fn from_name(text: &str) -> Result<Self> {
        Self::parse(text).ok_or_else(|| {
            anyhow::anyhow!(
                "unknown parameter type '{text}' (use date, timestamp, int, float, string or bool)"
            )
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub kind: ParamKind,
    /// 1-based line of its declaration.
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct SavedQuery {
    pub name: String,
    pub description: String,
    pub scope: Scope,
    pub params: Vec<Param>,
    /// The KPI columns its header declares.
    pub kpis: Vec<DeclaredKpi>,
    /// The report sections its rows fill.
    pub sections: Vec<Section>,
    /// DataFusion options this query runs with (`-- set key: value`), checked when the
    /// file loads.
    pub settings: Vec<(String, String)>,
    pub sql: String,
    /// The file it came from, for messages.
    pub source: String,
}

impl fmt::Display for SavedQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.source)
    }
}

/// `$name` placeholders outside string literals and comments, with their 1-based line.
pub fn placeholders(sql: &str) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    let mut chars = sql.char_indices().peekable();
    let mut line = 1;
    let mut in_string = false;
    let mut in_comment = false;
    while let Some((_, c)) = chars.next() {
        match c {
            '\n' => {
                line += 1;
                in_comment = false;
            }
            _ if in_comment => {}
            '\'' => in_string = !in_string,
            _ if in_string => {}
            '-' if chars.peek().is_some_and(|&(_, n)| n == '-') => in_comment = true,
            '$' => {
                let mut name = String::new();
                while let Some(&(_, n)) = chars.peek() {
                    if n.is_ascii_alphanumeric() || n == '_' {
                        name.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                if !name.is_empty() && !name.chars().all(|c| c.is_ascii_digit()) {
                    found.push((name, line));
                }
            }
            _ => {}
        }
    }
    found
}

/// The `-- key: value` lines of a SQL file's header (the comment lines before its
/// first statement line), as (line number, key, value), both trimmed. Comment lines
/// without a colon are prose and skipped.
pub fn header_entries(text: &str) -> Vec<(usize, &str, &str)> {
    let mut entries = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let Some(header) = raw.trim_start().strip_prefix("--") else {
            if raw.trim().is_empty() {
                continue;
            }
            break;
        };
        if let Some((key, value)) = header.trim().split_once(':') {
            entries.push((i + 1, key.trim(), value.trim()));
        }
    }
    entries
}

impl SavedQuery {
    /// Parses a query file; `source` names it in errors.
    pub fn parse(source: &str, text: &str) -> Result<Self> {
        let mut name = None;
        let mut description = String::new();
        let mut scope = None;
        let mut params: Vec<Param> = Vec::new();
        let mut kpi_lines: Vec<(usize, DeclaredKpi)> = Vec::new();
        let mut settings: Vec<(String, String)> = Vec::new();
        let mut sections: Vec<(usize, Section)> = Vec::new();
        for (line, key, value) in header_entries(text) {
            if key == "kpi" {
                let kpi = DeclaredKpi::parse(value)
                    .with_context(|| format!("{source}:{line}: KPI declaration"))?;
                if kpi_lines.iter().any(|(_, k)| k.column == kpi.column) {
                    bail!("{source}:{line}: KPI '{}' is declared twice", kpi.column);
                }
                kpi_lines.push((line, kpi));
                continue;
            }
            let value = value.split("  ").next().unwrap_or("").trim();
            if key == "name" {
                name = Some(value.to_string());
            } else if key == "section" {
                let section =
                    Section::parse(value).map_err(|e| anyhow::anyhow!("{source}:{line}: {e}"))?;
                if sections.iter().any(|(_, s)| *s == section) {
                    bail!("{source}:{line}: section '{value}' is declared twice");
                }
                sections.push((line, section));
            } else if key == "description" {
                description = value.to_string();
            } else if key == "scope" {
                scope = Some(match value {
                    "client" => Scope::Client,
                    "portfolio" => Scope::Portfolio,
                    "internal" => Scope::Internal,
                    "model" => Scope::Model,
                    other => bail!(
                        "{source}:{line}: unknown scope '{other}' (use client, portfolio, internal or model)"
                    ),
                });
            } else if let Some(option) = key.strip_prefix("set ") {
                let option = option.trim().to_string();
                // Checked here, so that a misspelt option fails when the file loads.
                datafusion::config::ConfigOptions::new()
                    .set(&option, value)
                    .map_err(|e| anyhow::anyhow!("{source}:{line}: -- set {option}: {e}"))?;
                settings.push((option, value.to_string()));
            } else if let Some(param) = key.strip_prefix("param ") {
                let param = param.trim().to_string();
                let kind = ParamKind::from_name(value.split_whitespace().next().unwrap_or(""))
                    .with_context(|| format!("{source}:{line}: parameter '{param}'"))?;
                if params.iter().any(|p| p.name == param) {
                    bail!("{source}:{line}: parameter '{param}' is declared twice");
                }
                params.push(Param {
                    name: param,
                    kind,
                    line,
                });
            }
        }
        let name = name.with_context(|| format!("{source}: the header has no '-- name:' line"))?;
        let scope = scope.with_context(|| {
            format!("{source}: the header has no '-- scope:' line (client, portfolio, internal or model)")
        })?;
        for (line, kpi) in &kpi_lines {
            let client_only = match kpi.shown {
                Shown::Headline => Some("show=headline"),
                Shown::Detail => Some("show=detail"),
                _ if kpi.index.is_some() => Some("index="),
                _ if kpi.goal.is_some() => Some("goal="),
                _ => None,
            };
            if let Some(key) = client_only.filter(|_| scope != Scope::Client) {
                bail!(
                    "{source}:{line}: KPI '{}': {key} is for a client query's KPIs",
                    kpi.column
                );
            }
        }
        if scope == Scope::Model && !(kpi_lines.is_empty() && sections.is_empty()) {
            bail!("{source}: a model declares no KPIs or sections: the queries that read it do");
        }
        for (used, line) in placeholders(text) {
            if !params.iter().any(|p| p.name == used) {
                bail!(
                    "{source}:{line}: ${used} is used but not declared (add '-- param {used}: <type>' to the header)"
                );
            }
        }
        Ok(Self {
            name,
            description,
            scope,
            params,
            kpis: kpi_lines.into_iter().map(|(_, k)| k).collect(),
            sections: sections.into_iter().map(|(_, s)| s).collect(),
            settings,
            sql: text.to_string(),
            source: source.to_string(),
        })
    }

    /// The values for this query's parameters, checked: every declared parameter must
    /// be given, with a value of its declared type.
    pub fn bind(
        &self,
        values: &HashMap<String, ScalarValue>,
    ) -> Result<HashMap<String, ScalarValue>> {
        let mut bound = HashMap::new();
        for param in &self.params {
            let value = values.get(&param.name).with_context(|| {
                format!(
                    "{}:{}: parameter '{}' is declared but no value was given",
                    self.source, param.line, param.name
                )
            })?;
            let fits = matches!(
                (param.kind, value),
                (ParamKind::Date, ScalarValue::Date32(_))
                    | (
                        ParamKind::Timestamp,
                        ScalarValue::TimestampMicrosecond(_, _)
                    )
                    | (ParamKind::Int, ScalarValue::Int64(_))
                    | (ParamKind::Float, ScalarValue::Float64(_))
                    | (ParamKind::String, ScalarValue::Utf8(_))
                    | (ParamKind::Bool, ScalarValue::Boolean(_))
            );
            if !fits {
                bail!(
                    "{}:{}: parameter '{}' is declared {:?} but given {}",
                    self.source,
                    param.line,
                    param.name,
                    param.kind,
                    value.data_type()
                );
            }
            bound.insert(param.name.clone(), value.clone());
        }
        Ok(bound)
    }

    /// The query planned with bound parameters.
    pub async fn frame(
        &self,
        ctx: &SessionContext,
        values: &HashMap<String, ScalarValue>,
    ) -> Result<DataFrame> {
        let bound = self.bind(values)?;
        let with_settings;
        let ctx = if self.settings.is_empty() {
            ctx
        } else {
            // The same tables, functions and runtime, other options for this query.
            let mut state = ctx.state();
            for (option, value) in &self.settings {
                state
                    .config_mut()
                    .options_mut()
                    .set(option, value)
                    .with_context(|| format!("saved query {self}: -- set {option}"))?;
            }
            with_settings = SessionContext::new_with_state(state);
            &with_settings
        };
        ctx.sql(&self.sql)
            .await
            .with_context(|| format!("saved query {self}"))?
            .with_param_values(bound)
            .with_context(|| format!("saved query {self}"))
    }

    /// Runs the query once (for all clients) with bound parameters.
    pub async fn run(
        &self,
        ctx: &SessionContext,
        values: &HashMap<String, ScalarValue>,
    ) -> Result<Vec<RecordBatch>> {
        crate::cluster::rerun_if_executor_lost(ctx, &format!("saved query {self}"), || async {
            self.frame(ctx, values)
                .await?
                .collect()
                .await
                .with_context(|| format!("saved query {self}"))
        })
        .await
    }
}

/// The built-in queries, in file-name order.
pub fn builtin() -> Result<Vec<SavedQuery>> {
    let mut files: Vec<_> = BUILTIN
        .files()
        .filter(|f| f.path().extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort_by_key(|f| f.path());
    files
        .into_iter()
        .map(|file| {
            let source = format!("queries/{}", file.path().display());
            let text = file
                .contents_utf8()
                .with_context(|| format!("{source} is not UTF-8"))?;
            SavedQuery::parse(&source, text)
        })
        .collect()
}

/// The built-in queries, or those of `dir` with the built-in models it does not
/// replace (a model of the same name replaces the built-in one).
///
/// A file of `dir` that replaces a built-in query (has its name) and declares no
/// `-- kpi:` lines keeps the built-in query's KPIs, and one without `-- section:`
/// lines its sections, so that a replacement written before queries declared them
/// reads as it did. A file with `-- kpi:` lines declares the whole of its KPIs; a
/// query of another name inherits nothing.
pub fn load(dir: Option<&Path>) -> Result<Vec<SavedQuery>> {
    let mut queries = Vec::new();
    match dir {
        None => queries = builtin()?,
        Some(dir) => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .with_context(|| format!("cannot read the queries folder {}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "sql"))
                .collect();
            files.sort();
            if files.is_empty() {
                bail!("no .sql files in {}", dir.display());
            }
            let builtin = builtin()?;
            for file in files {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                let mut query = SavedQuery::parse(&file.display().to_string(), &text)?;
                if let Some(replaced) = builtin.iter().find(|b| b.name == query.name) {
                    if query.kpis.is_empty() {
                        query.kpis = replaced.kpis.clone();
                    }
                    if query.sections.is_empty() {
                        query.sections = replaced.sections.clone();
                    }
                }
                queries.push(query);
            }
            for model in builtin.into_iter().filter(|q| q.scope == Scope::Model) {
                if !queries.iter().any(|q| q.name == model.name) {
                    queries.push(model);
                }
            }
        }
    }
    let mut names: Vec<&str> = queries.iter().map(|q| q.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        bail!("two saved queries are named '{}'", w[0]);
    }
    for section in declaration::Section::ALL {
        let filling: Vec<&SavedQuery> = queries
            .iter()
            .filter(|q| q.sections.contains(&section))
            .collect();
        if let [first, second, ..] = filling[..] {
            bail!(
                "two saved queries declare '-- section: {}': {first} and {second}",
                section.name()
            );
        }
    }
    Ok(queries)
}

/// The parameters the report and the export give every saved query: the first day of
/// the report period and of its trend window (dates, in each client's local calendar),
/// the grain (`month` or `quarter`) for `date_trunc($grain, local_month(...))`, and
/// `window_start` / `window_end`: UTC instants a day wider than the trend window in any
/// zone, so that queries can skip rows (and Parquet row groups) early.
pub fn period_params(period: &crate::period::Period) -> HashMap<String, ScalarValue> {
    let day = |d: NaiveDate| {
        ScalarValue::Date32(Some(
            d.signed_duration_since(NaiveDate::default()).num_days() as i32,
        ))
    };
    let instant = |d: NaiveDate| {
        let micros = d.signed_duration_since(NaiveDate::default()).num_days() * 86_400_000_000;
        ScalarValue::TimestampMicrosecond(Some(micros), Some("UTC".into()))
    };
    let grain = match period.grain {
        crate::period::Grain::Month => "month",
        crate::period::Grain::Quarter => "quarter",
    };
    HashMap::from([
        ("period_start".to_string(), day(period.start)),
        ("trend_start".to_string(), day(period.trend_start().start)),
        (
            "grain".to_string(),
            ScalarValue::Utf8(Some(grain.to_string())),
        ),
        (
            "window_start".to_string(),
            instant(period.trend_start().start - chrono::Days::new(1)),
        ),
        (
            "window_end".to_string(),
            instant(period.end() + chrono::Days::new(1)),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_queries_parse() {
        let queries = load(None).unwrap();
        // The embedded folder is the repository's: include_dir does not notice a new
        // file by itself, so a stale build fails here.
        let mut on_disk: Vec<String> =
            std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/queries"))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|f| f.ends_with(".sql"))
                .collect();
        on_disk.sort();
        let embedded: Vec<String> = queries
            .iter()
            .map(|q| q.source.trim_start_matches("queries/").to_string())
            .collect();
        assert_eq!(embedded, on_disk);
        for q in &queries {
            assert!(!q.description.is_empty(), "{q}");
            assert!(q.scope == Scope::Model || q.params.len() >= 2, "{q}");
        }
    }

    #[test]
    fn a_set_line_runs_that_query_with_the_option_and_a_misspelt_one_fails_to_load() {
        let text = "-- name: x\n-- scope: model\n-- set datafusion.execution.target_partitions: 1\n\
                    SELECT v, count(*) FROM (VALUES (1), (2), (3)) t(v) GROUP BY v";
        let query = SavedQuery::parse("q.sql", text).unwrap();
        assert_eq!(
            query.settings,
            [(
                "datafusion.execution.target_partitions".to_string(),
                "1".to_string()
            )]
        );
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let ctx = SessionContext::new_with_config(
                datafusion::prelude::SessionConfig::new().with_target_partitions(4),
            );
            let frame = query.frame(&ctx, &HashMap::new()).await.unwrap();
            assert_eq!(frame.task_ctx().session_config().target_partitions(), 1);
            let plan = frame.create_physical_plan().await.unwrap();
            use datafusion::physical_plan::ExecutionPlanProperties;
            assert_eq!(plan.output_partitioning().partition_count(), 1);
            // The session the query came from keeps its own options.
            assert_eq!(ctx.state().config().target_partitions(), 4);
            let plan = ctx
                .sql(&query.sql)
                .await
                .unwrap()
                .create_physical_plan()
                .await
                .unwrap();
            assert_eq!(plan.output_partitioning().partition_count(), 4);
        });
        let err = SavedQuery::parse(
            "q.sql",
            "-- name: x\n-- scope: model\n-- set datafusion.execution.target_partition: 1\nSELECT 1",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("q.sql:3: -- set datafusion.execution.target_partition:"),
            "{err}"
        );
        let err = SavedQuery::parse(
            "q.sql",
            "-- name: x\n-- scope: model\n-- set datafusion.execution.target_partitions: many\nSELECT 1",
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("q.sql:3:"), "{err}");
    }

    #[test]
    fn header_errors_name_the_file_and_line() {
        let err = SavedQuery::parse("q.sql", "-- name: x\n-- scope: planet\nSELECT 1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "q.sql:2: unknown scope 'planet' (use client, portfolio, internal or model)"
        );
        let err = SavedQuery::parse(
            "q.sql",
            "-- name: x\n-- scope: client\nSELECT 1\nWHERE a = $client",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "q.sql:4: $client is used but not declared (add '-- param client: <type>' to the header)"
        );
        let err = SavedQuery::parse(
            "q.sql",
            "-- name: x\n-- scope: client\n-- param p: money\nSELECT 1",
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("q.sql:3: parameter 'p'"),
            "{err:#}"
        );
        // a '$' inside a string or a comment is not a placeholder
        let q = SavedQuery::parse(
            "q.sql",
            "-- name: x\n-- scope: client\n-- param a: int\nSELECT '$b', $a -- $c\n",
        )
        .unwrap();
        let err = q.bind(&HashMap::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "q.sql:3: parameter 'a' is declared but no value was given"
        );
        let wrong = HashMap::from([("a".to_string(), ScalarValue::Utf8(Some("1".into())))]);
        assert!(
            q.bind(&wrong)
                .unwrap_err()
                .to_string()
                .contains("declared Int but given Utf8")
        );
    }

    #[test]
    fn typed_values_parse() {
        assert_eq!(
            ParamKind::Date.value("2026-10-01").unwrap(),
            ScalarValue::Date32(Some(20727))
        );
        assert_eq!(
            ParamKind::Int.value("42").unwrap(),
            ScalarValue::Int64(Some(42))
        );
        assert!(
            ParamKind::Date
                .value("October")
                .unwrap_err()
                .to_string()
                .contains("'October' is not a date")
        );
        assert_eq!(
            ParamKind::Bool.value("TRUE").unwrap(),
            ScalarValue::Boolean(Some(true))
        );
    }
}
