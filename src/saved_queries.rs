//! Saved KPI queries: load `queries/*.sql`, parse and check their header, bind typed
//! parameters through DataFusion's parameter binding, run each query once for all
//! clients, and hand back its rows keyed by client.
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
//! it fastest in one partition, for example).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use crate::report::format::Format;
use crate::results::{self, Table};
use anyhow::{Context, Result, bail};
use arrow::array::RecordBatch;
use chrono::{NaiveDate, NaiveDateTime};
use datafusion::prelude::{DataFrame, SessionContext};
use datafusion::scalar::ScalarValue;
use futures::StreamExt;

/// The queries built into the binary (the repository's `queries/`).
const BUILTIN: [(&str, &str); 16] = [
    ("breakdown.sql", include_str!("../queries/breakdown.sql")),
    ("churn.sql", include_str!("../queries/churn.sql")),
    (
        "client_terms.sql",
        include_str!("../queries/client_terms.sql"),
    ),
    ("efficiency.sql", include_str!("../queries/efficiency.sql")),
    ("fcr.sql", include_str!("../queries/fcr.sql")),
    ("flow.sql", include_str!("../queries/flow.sql")),
    ("reopens.sql", include_str!("../queries/reopens.sql")),
    ("resolution.sql", include_str!("../queries/resolution.sql")),
    (
        "responsiveness.sql",
        include_str!("../queries/responsiveness.sql"),
    ),
    (
        "satisfaction.sql",
        include_str!("../queries/satisfaction.sql"),
    ),
    ("sla.sql", include_str!("../queries/sla.sql")),
    ("team.sql", include_str!("../queries/team.sql")),
    (
        "ticket_facts.sql",
        include_str!("../queries/ticket_facts.sql"),
    ),
    (
        "ticket_status_facts.sql",
        include_str!("../queries/ticket_status_facts.sql"),
    ),
    ("waiting.sql", include_str!("../queries/waiting.sql")),
    ("work_facts.sql", include_str!("../queries/work_facts.sql")),
];

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

/// A KPI column a query declares in its header:
/// `-- kpi: column [n=column] [unit=percent] [label=Text to the end of the line]`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredKpi {
    pub column: String,
    pub n_column: Option<String>,
    pub unit: Format,
    pub label: Option<String>,
}

impl DeclaredKpi {
    fn parse(text: &str) -> Result<Self> {
        let (text, label) = match text.split_once("label=") {
            Some((before, label)) => (before, Some(label.trim().to_string())),
            None => (text, None),
        };
        let mut words = text.split_whitespace();
        let column = words
            .next()
            .context("no column (use: -- kpi: column n=column_n unit=percent label=Text)")?
            .to_string();
        let mut kpi = Self {
            column,
            n_column: None,
            unit: Format::Count,
            label: label.filter(|l| !l.is_empty()),
        };
        for word in words {
            match word.split_once('=') {
                Some(("n", n)) => kpi.n_column = Some(n.to_string()),
                Some(("unit", unit)) => kpi.unit = crate::report::catalogue::parse_unit(unit)?,
                _ => bail!("'{word}' is not n=<column>, unit=<unit> or label=<text>"),
            }
        }
        Ok(kpi)
    }
}

#[derive(Debug, Clone)]
pub struct SavedQuery {
    pub name: String,
    pub description: String,
    pub scope: Scope,
    pub params: Vec<Param>,
    /// The KPI columns its header declares.
    pub kpis: Vec<DeclaredKpi>,
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
        let mut kpis: Vec<DeclaredKpi> = Vec::new();
        let mut settings: Vec<(String, String)> = Vec::new();
        for (line, key, value) in header_entries(text) {
            if key == "kpi" {
                let kpi = DeclaredKpi::parse(value)
                    .with_context(|| format!("{source}:{line}: KPI declaration"))?;
                if kpis.iter().any(|k| k.column == kpi.column) {
                    bail!("{source}:{line}: KPI '{}' is declared twice", kpi.column);
                }
                kpis.push(kpi);
                continue;
            }
            let value = value.split("  ").next().unwrap_or("").trim();
            if key == "name" {
                name = Some(value.to_string());
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
            kpis,
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

fn builtin() -> Result<Vec<SavedQuery>> {
    BUILTIN
        .iter()
        .map(|(file, text)| SavedQuery::parse(&format!("queries/{file}"), text))
        .collect()
}

/// The built-in queries, or those of `dir` with the built-in models it does not
/// replace (a model of the same name replaces the built-in one).
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
            for file in files {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                queries.push(SavedQuery::parse(&file.display().to_string(), &text)?);
            }
            for model in builtin()?.into_iter().filter(|q| q.scope == Scope::Model) {
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
    Ok(queries)
}

/// One saved query's result, typed, with the rows of each client.
#[derive(Debug, Clone)]
pub struct QueryResult {
    pub query: SavedQuery,
    pub table: Table,
    by_client: BTreeMap<String, Vec<usize>>,
}

impl QueryResult {
    pub fn new(query: SavedQuery, table: Table) -> Self {
        let by_client = match query.scope {
            Scope::Client => results::group_rows(&table, "client_id"),
            _ => BTreeMap::new(),
        };
        Self {
            query,
            table,
            by_client,
        }
    }

    /// The columns; none when the query returned no rows.
    pub fn columns(&self) -> &[String] {
        self.table.column_names()
    }

    pub fn rows(&self) -> impl Iterator<Item = results::Row<'_>> {
        self.table.rows()
    }

    /// The rows of one client (of a client-scope query).
    pub fn client_rows(&self, client: &str) -> Vec<results::Row<'_>> {
        self.by_client
            .get(client)
            .map(|rows| rows.iter().map(|&i| self.table.row(i)).collect())
            .unwrap_or_default()
    }

    /// The clients that have rows.
    pub fn clients(&self) -> impl Iterator<Item = &str> {
        self.by_client.keys().map(String::as_str)
    }
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

/// Materialises the models and runs every other query once, splitting the
/// client-scope results per client. `placement` is where the models go
/// ([`crate::models::placement`]). Locally, a query starts as soon as the models it
/// reads are registered, one query at a time in file order among those ready, so
/// that it fills the cores a model leaves idle; the results come back in file order.
pub async fn run_all(
    ctx: &SessionContext,
    queries: &[SavedQuery],
    values: &HashMap<String, ScalarValue>,
    placement: &crate::models::Placement,
    progress: impl FnMut(&SavedQuery),
) -> Result<Vec<QueryResult>> {
    let progress = std::cell::RefCell::new(progress);
    let (registered, mut arrivals) = futures::channel::mpsc::unbounded::<String>();
    let models = crate::models::materialise(
        ctx,
        queries,
        values,
        placement,
        |model| (progress.borrow_mut())(model),
        move |name| {
            // The receiver only goes when the queries have failed, and the run with them.
            let _ = registered.unbounded_send(name.to_string());
        },
    );
    let model_names: Vec<&str> = queries
        .iter()
        .filter(|q| q.scope == Scope::Model)
        .map(|q| q.name.as_str())
        .collect();
    // On a cluster every query waits for all the models: a run whose jobs overlapped
    // there when an executor was lost neither finished nor failed within 120 s (the
    // lost-executor test), where one job at a time is rerun.
    let on_cluster = matches!(placement, crate::models::Placement::Executors(_));
    let reads = |query: &SavedQuery| -> Result<Vec<String>> {
        if on_cluster {
            return Ok(model_names.iter().map(|m| m.to_string()).collect());
        }
        crate::models::reads(ctx, query, &model_names)
    };
    // Each query, with its place in file order and the models it waits for.
    let mut waiting = queries
        .iter()
        .filter(|q| q.scope != Scope::Model)
        .enumerate()
        .map(|(place, q)| Ok((place, q, reads(q)?)))
        .collect::<Result<Vec<(usize, &SavedQuery, Vec<String>)>>>()?;
    let kpis = async {
        let mut done: Vec<String> = Vec::new();
        let mut results = Vec::new();
        while !waiting.is_empty() {
            let ready = waiting
                .iter()
                .position(|(_, _, reads)| reads.iter().all(|r| done.contains(r)));
            let Some(ready) = ready else {
                match arrivals.next().await {
                    Some(model) => done.push(model),
                    None => bail!("the models ended before every model a query reads was there"),
                }
                continue;
            };
            let (place, query, _) = waiting.remove(ready);
            (progress.borrow_mut())(query);
            results.push((place, run_one(ctx, query, values).await?));
        }
        results.sort_by_key(|(place, _)| *place);
        Ok(results
            .into_iter()
            .map(|(_, result)| result)
            .collect::<Vec<_>>())
    };
    let (_models, results) = futures::try_join!(models, kpis)?;
    Ok(results)
}

/// Runs one query (not a model) and checks that it returns the columns its scope and
/// its KPIs need.
async fn run_one(
    ctx: &SessionContext,
    query: &SavedQuery,
    values: &HashMap<String, ScalarValue>,
) -> Result<QueryResult> {
    let started = std::time::Instant::now();
    let batches = query.run(ctx, values).await?;
    if std::env::var_os("MSPKPI_TIMINGS").is_some() {
        eprintln!(
            "saved query {}: {:.2} s",
            query.name,
            started.elapsed().as_secs_f64()
        );
    }
    let table = Table::from_batches(&batches)
        .with_context(|| format!("saved query {query}: reading its result"))?;
    let required: &[&str] = match query.scope {
        Scope::Client => &["client_id", "period"],
        Scope::Portfolio | Scope::Internal | Scope::Model => &["period"],
    };
    if let Some(missing) = required
        .iter()
        .find(|c| !table.column_names().is_empty() && !table.has_column(c))
    {
        bail!(
            "saved query {query} returns no '{missing}' column, which a {:?} query must return",
            query.scope
        );
    }
    for kpi in &query.kpis {
        for column in std::iter::once(&kpi.column).chain(&kpi.n_column) {
            if !table.column_names().is_empty() && !table.has_column(column) {
                bail!(
                    "saved query {query} declares the KPI column '{column}', which it does not return"
                );
            }
        }
    }
    Ok(QueryResult::new(query.clone(), table))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_queries_parse() {
        let queries = load(None).unwrap();
        assert_eq!(queries.len(), BUILTIN.len());
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
