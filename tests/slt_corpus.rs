//! DataFusion's own SQL logic tests (the `datafusion-sqllogictest` package's
//! `test_files/`, from cargo's registry) through three sessions, side by side:
//!
//! - **a** DataFusion's session, configured as DataFusion's runner configures it;
//! - **b** mspkpi's local session (`mspkpi sql`), every mspkpi function registered;
//! - **c** mspkpi on a Ballista cluster: a scheduler and an executor in this process,
//!   or the cluster `MSPKPI_SLT_CLUSTER` names (`df://HOST:PORT`, its processes started
//!   in `MSPKPI_SLT_DIR`, where the corpus is copied).
//!
//! Each query's outcome against the file's expected output is recorded per session.
//! `cargo test --test slt_corpus` runs the CI subset and fails on any divergence the
//! harness does not list as intended; `bench/slt.sh` runs the whole corpus
//! (`MSPKPI_SLT_FILES=all`) and writes `bench/SLT.md` (`MSPKPI_SLT_RESULTS`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;
use std::time::{Duration, Instant};

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{
    DataType, Decimal32Type, Decimal64Type, Decimal128Type, Decimal256Type, DecimalType,
    Float16Type, Float32Type, Float64Type,
};
use arrow::util::display::{ArrayFormatter, array_value_to_string};
use bigdecimal::BigDecimal;
use datafusion::error::DataFusionError;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use mspkpi::session::{self, EngineOptions};
use sqllogictest::{
    AsyncDB, ColumnType, DBOutput, Normalizer, Record, Runner, TestErrorKind,
    strict_column_validator,
};

/// DataFusion's runner plans with 4 partitions, so that its plans are deterministic.
const PARTITIONS: usize = 4;
/// A query that runs longer is recorded as timed out.
const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// The CI subset, in about half a minute: a file for each class of divergence the
/// whole corpus shows (bench/SLT.md), the nested functions an executor once lacked,
/// and the in-memory tables and table functions of the cluster-parity issue.
const CI_FILES: &[&str] = &[
    "array/array_has.slt",
    "array/array_reverse.slt",
    "array_query.slt",
    "arrow_typeof.slt",
    "coalesce.slt",
    "copy.slt",
    "datetime/timestamps.slt",
    "dynamic_filter_pushdown_config.slt",
    "file_row_index.slt",
    "imdb.slt",
    "join_is_not_distinct_from.slt",
    "parquet_filter_pushdown.slt",
    "parquet_metadata_functions.slt",
    "schema_evolution_nested.slt",
    "struct.slt",
    "table_functions.slt",
    "unnest.slt",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mode {
    DataFusion,
    Mspkpi,
    Cluster,
}

const MODES: [Mode; 3] = [Mode::DataFusion, Mode::Mspkpi, Mode::Cluster];

/// A column's type letter, as DataFusion's runner writes them in `query` headers.
#[derive(Debug, PartialEq, Eq, Clone)]
enum Letter {
    Boolean,
    DateTime,
    Integer,
    Float,
    Text,
    Timestamp,
    Another,
}

impl ColumnType for Letter {
    fn from_char(value: char) -> Option<Self> {
        Some(match value {
            'B' => Self::Boolean,
            'D' => Self::DateTime,
            'I' => Self::Integer,
            'P' => Self::Timestamp,
            'R' => Self::Float,
            'T' => Self::Text,
            _ => Self::Another,
        })
    }

    fn to_char(&self) -> char {
        match self {
            Self::Boolean => 'B',
            Self::DateTime => 'D',
            Self::Integer => 'I',
            Self::Timestamp => 'P',
            Self::Float => 'R',
            Self::Text => 'T',
            Self::Another => '?',
        }
    }
}

fn letter(data_type: &DataType) -> Letter {
    match data_type {
        DataType::Boolean => Letter::Boolean,
        t if t.is_integer() => Letter::Integer,
        t if t.is_floating() || t.is_decimal() => Letter::Float,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Letter::Text,
        DataType::Date32 | DataType::Date64 | DataType::Time32(_) | DataType::Time64(_) => {
            Letter::DateTime
        }
        DataType::Timestamp(_, _) => Letter::Timestamp,
        DataType::Dictionary(key, value)
            if key.is_integer()
                && matches!(
                    value.as_ref(),
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ) =>
        {
            Letter::Text
        }
        _ => Letter::Another,
    }
}

/// A number as DataFusion's runner prints it: rounded to `digits` decimals, trailing
/// zeros dropped, never in exponent form.
fn plain(text: &str, digits: i64) -> String {
    BigDecimal::from_str(text).map_or_else(
        |_| text.to_string(),
        |value| value.round(digits).normalized().to_plain_string(),
    )
}

fn float(value: f64, text: String) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        plain(&text, 12)
    }
}

fn decimal<T: DecimalType>(array: &ArrayRef, row: usize, scale: i8) -> String {
    let value = array.as_primitive::<T>().value(row);
    plain(&T::format_decimal(value, u8::MAX, scale), i64::from(scale))
}

/// One cell as DataFusion's runner prints it (NULL, `(empty)`, rounded floats).
fn cell(array: &ArrayRef, row: usize) -> Result<String, DataFusionError> {
    if array.is_null(row) {
        return Ok("NULL".into());
    }
    Ok(match array.data_type() {
        DataType::Null => "NULL".into(),
        DataType::Float16 => {
            let value = array.as_primitive::<Float16Type>().value(row);
            float(value.to_f64(), value.to_string())
        }
        DataType::Float32 => {
            let value = array.as_primitive::<Float32Type>().value(row);
            float(f64::from(value), value.to_string())
        }
        DataType::Float64 => {
            let value = array.as_primitive::<Float64Type>().value(row);
            float(value, value.to_string())
        }
        DataType::Decimal32(_, scale) => decimal::<Decimal32Type>(array, row, *scale),
        DataType::Decimal64(_, scale) => decimal::<Decimal64Type>(array, row, *scale),
        DataType::Decimal128(_, scale) => decimal::<Decimal128Type>(array, row, *scale),
        DataType::Decimal256(_, scale) => decimal::<Decimal256Type>(array, row, *scale),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let text = array_value_to_string(array, row)?;
            if text.is_empty() {
                "(empty)".into()
            } else {
                text.trim_end_matches('\n').replace('\0', "\\0")
            }
        }
        DataType::Dictionary(_, _) => {
            let dictionary = array.as_any_dictionary();
            let key = dictionary.normalized_keys()[row];
            return cell(dictionary.values(), key);
        }
        _ => {
            let options = datafusion::config::FormatOptions {
                null: "NULL".into(),
                ..Default::default()
            };
            let options: arrow::util::display::FormatOptions = (&options).try_into()?;
            ArrayFormatter::try_new(array.as_ref(), &options)?
                .value(row)
                .to_string()
        }
    })
}

/// A row whose last cell holds several lines (EXPLAIN's plans): the other cells, then
/// one row per line, numbered, its indent as dashes, as DataFusion's runner writes them.
fn expand(mut row: Vec<String>, rows: &mut Vec<Vec<String>>) {
    match row.pop() {
        Some(last) if last.contains('\n') => {
            rows.push(row);
            for (i, line) in last.split('\n').enumerate() {
                let content = line.trim_start();
                let indent = "-".repeat(line.len() - content.len());
                rows.push(vec![format!("{:02}){indent}{content}", i + 1)]);
            }
        }
        Some(last) => {
            row.push(last);
            rows.push(row);
        }
        None => rows.push(row),
    }
}

/// DataFusion's comparison: each row's cells joined by a space, trailing space trimmed;
/// `<slt:ignore>` in the expected output matches anything.
fn validator(normalizer: Normalizer, actual: &[Vec<String>], expected: &[String]) -> bool {
    const IGNORE: &str = "<slt:ignore>";
    let expected: Vec<String> = expected.iter().map(normalizer).collect();
    let actual: Vec<String> = actual
        .iter()
        .map(|row| row.join(" ").trim_end().to_string())
        .collect();
    if !expected.iter().any(|line| line.contains(IGNORE)) {
        return actual == expected;
    }
    let (expected, actual) = (expected.join("\n"), actual.join("\n"));
    let mut at = 0;
    for (i, fragment) in expected.split(IGNORE).enumerate() {
        if fragment.is_empty() {
            continue;
        }
        match actual[at..].find(fragment) {
            Some(found) if i > 0 || found == 0 => at += found + fragment.len(),
            _ => return false,
        }
    }
    true
}

/// The normalizer's type is sqllogictest's: `fn(&String) -> String`.
#[allow(clippy::ptr_arg)]
fn trim_end(text: &String) -> String {
    text.trim_end().to_string()
}

struct Db {
    ctx: SessionContext,
    /// The checkout root of DataFusion's runner, here the copy's: paths in plans start
    /// with `WORKSPACE_ROOT` instead.
    root: String,
}

#[async_trait::async_trait]
impl AsyncDB for Db {
    type Error = DataFusionError;
    type ColumnType = Letter;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<Letter>, DataFusionError> {
        let run = async {
            let frame = self.ctx.sql(sql).await?;
            let schema = frame.schema().as_arrow().clone();
            let batches: Vec<RecordBatch> = frame.collect().await?;
            Ok::<_, DataFusionError>((schema, batches))
        };
        let (schema, batches) =
            tokio::time::timeout(QUERY_TIMEOUT, run)
                .await
                .map_err(|_| {
                    DataFusionError::Execution(format!("timed out after {QUERY_TIMEOUT:?}"))
                })??;
        let types: Vec<Letter> = schema
            .fields()
            .iter()
            .map(|f| letter(f.data_type()))
            .collect();
        let mut rows = Vec::new();
        for batch in &batches {
            for row in 0..batch.num_rows() {
                let cells = batch
                    .columns()
                    .iter()
                    .map(|column| {
                        cell(column, row).map(|c| c.replace(&self.root, "WORKSPACE_ROOT"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                expand(cells, &mut rows);
            }
        }
        if rows.is_empty() && types.is_empty() {
            return Ok(DBOutput::StatementComplete(0));
        }
        Ok(DBOutput::Rows { types, rows })
    }

    fn engine_name(&self) -> &str {
        "DataFusion"
    }

    async fn shutdown(&mut self) {}
}

/// How one record ended in one session.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Pass,
    /// It ran, and its rows, columns or row count differ from the expected ones (or it
    /// succeeded where an error was expected).
    Wrong(String),
    /// It failed with an error (or a different error than expected).
    Error(String),
}

fn first_line(text: &str, within: usize) -> String {
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    line.chars().take(within).collect()
}

fn outcome(kind: TestErrorKind) -> Outcome {
    match kind {
        TestErrorKind::Fail { err, .. } | TestErrorKind::ErrorMismatch { err, .. } => {
            let text = format!("{err:#}");
            // Neither belongs in a message about something a session does not support.
            if text.contains("/.cargo/registry/") || text.contains("likely caused by a bug") {
                Outcome::Error(format!("{INTERNAL_TEXT}: {}", first_line(&text, 160)))
            } else {
                Outcome::Error(first_line(&text, 160))
            }
        }
        TestErrorKind::Ok { .. } => Outcome::Wrong("succeeded where an error was expected".into()),
        TestErrorKind::QueryResultMismatch {
            expected, actual, ..
        } => {
            // The first line that differs, for the results file.
            let (e, a) = expected
                .lines()
                .map(Some)
                .chain(std::iter::repeat(None))
                .zip(actual.lines().map(Some).chain(std::iter::repeat(None)))
                .find(|(e, a)| e != a)
                .unwrap_or((None, None));
            let sorted = |text: &str| {
                let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
                lines.sort();
                lines
            };
            if sorted(&expected) == sorted(&actual) {
                return Outcome::Wrong(ROW_ORDER_ONLY.into());
            }
            let shown =
                |line: Option<&str>| line.map_or("(no row)".to_string(), |l| first_line(l, 70));
            let what = if expected.replace("Utf8View", "Utf8") == actual {
                STRING_TYPE_ONLY
            } else {
                "different rows"
            };
            Outcome::Wrong(format!(
                "{what}: `{}` expected, `{}` given",
                shown(e),
                shown(a)
            ))
        }
        TestErrorKind::QueryResultColumnsMismatch {
            expected, actual, ..
        } => Outcome::Wrong(format!(
            "different column types: {expected} expected, {actual} given"
        )),
        TestErrorKind::StatementResultMismatch { .. } => {
            Outcome::Wrong("different row count".into())
        }
        other => Outcome::Error(first_line(&other.to_string(), 160)),
    }
}

/// One query or statement of a file, as run in each session.
#[derive(Debug)]
struct Entry {
    line: String,
    is_query: bool,
    is_explain: bool,
    outcomes: BTreeMap<Mode, Outcome>,
}

#[derive(Debug, Default)]
struct FileResult {
    entries: Vec<Entry>,
    skipped: Option<String>,
    seconds: BTreeMap<Mode, f64>,
}

/// Why a file cannot run here, if it cannot: data the package does not ship, or a
/// service or feature this build does not have.
fn reason_to_skip(relative: &str, text: &str) -> Option<String> {
    if relative.starts_with("pg_compat/") {
        return Some("needs PostgreSQL".into());
    }
    if relative.starts_with("spark/") {
        return Some("needs datafusion-spark (Spark dialect and functions)".into());
    }
    if relative == "avro.slt" {
        return Some("needs DataFusion's avro feature".into());
    }
    for marker in ["'../", "\"../"] {
        if let Some(at) = text.find(marker) {
            let path: String = text[at + 1..]
                .chars()
                .take_while(|c| !matches!(c, '\'' | '"' | '\n'))
                .collect();
            return Some(format!("reads {path}, which the package does not ship"));
        }
    }
    None
}

struct Harness {
    /// The corpus copy's sqllogictest folder: the working directory.
    workdir: PathBuf,
    root: String,
    cluster_url: String,
}

impl Harness {
    async fn session(&self, mode: Mode, relative: &str) -> anyhow::Result<SessionContext> {
        let engine = EngineOptions {
            threads: Some(PARTITIONS),
            ..Default::default()
        };
        let ctx = match mode {
            Mode::DataFusion => {
                let config = SessionConfig::new().with_target_partitions(PARTITIONS);
                let state = SessionStateBuilder::new()
                    .with_config(config)
                    .with_default_features()
                    .build();
                let ctx = SessionContext::new_with_state(state);
                if relative == "dynamic_file.slt" {
                    ctx.enable_url_table()
                } else {
                    ctx
                }
            }
            // `mspkpi sql`'s session: local, or a client of the cluster.
            Mode::Mspkpi | Mode::Cluster => {
                session::connect(&EngineOptions {
                    cluster: (mode == Mode::Cluster).then(|| self.cluster_url.clone()),
                    ..engine
                })
                .await?
            }
        };
        Ok(ctx)
    }

    async fn run_file(&self, relative: &str) -> anyhow::Result<FileResult> {
        let path = self.workdir.join("test_files").join(relative);
        let text = std::fs::read_to_string(&path)?;
        let mut result = FileResult::default();
        if let Some(reason) = reason_to_skip(relative, &text) {
            result.skipped = Some(reason);
            return Ok(result);
        }
        let records = sqllogictest::parse_file::<Letter>(&path)?;
        let mut entries: BTreeMap<usize, Entry> = BTreeMap::new();
        for mode in MODES {
            // Each file writes below test_files/scratch/<its name>/.
            let stem = Path::new(relative).file_stem().unwrap_or_default();
            let scratch = self.workdir.join("test_files/scratch").join(stem);
            let _ = std::fs::remove_dir_all(&scratch);
            std::fs::create_dir_all(&scratch)?;
            let started = Instant::now();
            let ctx = self.session(mode, relative).await?;
            let root = self.root.clone();
            let mut runner = Runner::new(move || {
                let db = Db {
                    ctx: ctx.clone(),
                    root: root.clone(),
                };
                async move { Ok::<_, DataFusionError>(db) }
            });
            runner.with_column_validator(strict_column_validator);
            runner.with_normalizer(trim_end);
            runner.with_validator(validator);
            for (index, record) in records.iter().enumerate() {
                let (is_query, sql, loc) = match record {
                    Record::Halt { .. } => break,
                    Record::Query { sql, loc, .. } => (true, sql, loc),
                    Record::Statement { sql, loc, .. } => (false, sql, loc),
                    _ => {
                        let _ = runner.run_async(record.clone()).await;
                        continue;
                    }
                };
                let outcome = match runner.run_async(record.clone()).await {
                    Ok(_) => Outcome::Pass,
                    Err(error) => outcome(error.kind()),
                };
                entries
                    .entry(index)
                    .or_insert_with(|| Entry {
                        line: format!(
                            "{}:{}",
                            loc.file().rsplit("test_files/").next().unwrap_or(relative),
                            loc.line()
                        ),
                        is_query,
                        is_explain: sql.trim_start().to_ascii_lowercase().starts_with("explain"),
                        outcomes: BTreeMap::new(),
                    })
                    .outcomes
                    .insert(mode, outcome);
            }
            runner.shutdown_async().await;
            result.seconds.insert(mode, started.elapsed().as_secs_f64());
        }
        result.entries = entries.into_values().collect();
        Ok(result)
    }
}

/// Where cargo keeps the datafusion-sqllogictest package: `cargo metadata` of
/// bench/slt-corpus/Cargo.toml.
fn corpus_in_registry() -> anyhow::Result<PathBuf> {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/slt-corpus/Cargo.toml");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--manifest-path",
            manifest,
        ])
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "cargo metadata --manifest-path {manifest} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let manifest_path = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "datafusion-sqllogictest")
        .and_then(|p| p["manifest_path"].as_str())
        .ok_or_else(|| {
            anyhow::anyhow!("cargo metadata of {manifest} names no datafusion-sqllogictest")
        })?;
    Ok(Path::new(manifest_path)
        .parent()
        .ok_or_else(|| anyhow::anyhow!("{manifest_path} has no folder"))?
        .to_path_buf())
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

fn slt_files(test_files: &Path) -> Vec<String> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, base, out);
            } else if path.extension().is_some_and(|e| e == "slt")
                && let Ok(relative) = path.strip_prefix(base)
            {
                out.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(test_files, test_files, &mut out);
    out.sort();
    out
}

const COMPRESSION_LOST: &str = "the executor reads a compressed CSV or JSON file as plain text: the file's compression does not reach it (\"unexpected '\\u{1f}'\", gzip's first byte)";
const INTERNAL_TEXT: &str = "a build machine's path or DataFusion's bug report text";
const ROW_ORDER_ONLY: &str = "the same rows in another order";
const STRING_TYPE_ONLY: &str = "the same values, Utf8 where Utf8View was expected";
const UTF8_ON_A_CLUSTER: &str = "Ballista's client config maps SQL string types to Utf8, not Utf8View (view types' IPC frames can outgrow Arrow Flight's), so arrow_typeof and arrow_field name Utf8 and a coalesce with a dictionary keeps the dictionary; the values are equal";
const FILES_BY_PATH: &str = "mspkpi's sessions read files by path (SELECT * FROM 'tickets.parquet'), as datafusion-cli's do: a bare name that is a folder of the working directory (here the package's data/) is a table, so CREATE TABLE data fails and later queries read the folder";

/// Divergences that are ours by design: (where, or what the outcome says; why).
const BY_DESIGN: &[(&str, &str)] = &[
    (
        ROW_ORDER_ONLY,
        "the query has no ORDER BY, and a distributed plan returns its partitions in the order they finish",
    ),
    (STRING_TYPE_ONLY, UTF8_ON_A_CLUSTER),
    ("coalesce.slt:257", UTF8_ON_A_CLUSTER),
    ("array_query.slt:", FILES_BY_PATH),
    ("async_udf.slt:", FILES_BY_PATH),
];

/// What stops a query on a cluster, where it fails there with an error: (where, or
/// what the error says; why). Each Ballista limitation is a ready upstream issue in
/// docs/cluster.md.
const CLUSTER_LIMITS: &[(&str, &str)] = &[
    (
        "Error during planning: on a cluster, a query cannot read",
        "mspkpi refuses a plan reading this process's memory and data files together, by name",
    ),
    (
        "file_row_index.slt:",
        "Ballista's plan codec loses a Parquet scan's virtual columns (file_row_index()): the executor cannot decode the plan (\"Column index 1 out of bounds for projected expressions\")",
    ),
    (
        "parquet_metadata_functions.slt:",
        "Ballista's plan codec loses a Parquet scan's virtual columns: the executor cannot decode the plan (\"Column index 1 out of bounds for projected expressions\")",
    ),
    ("copy.slt:466", COMPRESSION_LOST),
    ("copy.slt:482", COMPRESSION_LOST),
];

/// Whether `line` (file:line) is the place `needle` names: one line (`file.slt:12`),
/// or every line of a file (`file.slt:`).
fn at(line: &str, needle: &str) -> bool {
    line == needle || (needle.ends_with(':') && line.starts_with(needle))
}

fn cluster_limit(line: &str, outcome: &Outcome) -> Option<&'static str> {
    let Outcome::Error(text) = outcome else {
        return None;
    };
    CLUSTER_LIMITS
        .iter()
        .find(|(needle, _)| text.starts_with(needle) || at(line, needle))
        .map(|(_, why)| *why)
}

fn by_design(line: &str, outcome: &Outcome) -> Option<&'static str> {
    let (Outcome::Wrong(text) | Outcome::Error(text)) = outcome else {
        return None;
    };
    BY_DESIGN
        .iter()
        .find(|(needle, _)| text.starts_with(needle) || at(line, needle))
        .map(|(_, why)| *why)
}

#[derive(Debug, Default)]
struct Totals {
    queries: usize,
    explain: usize,
    pass: BTreeMap<Mode, usize>,
    /// Queries (EXPLAIN aside) passing in a, and of them the ones that pass in b and c.
    a_pass: usize,
    same: BTreeMap<Mode, usize>,
    wrong: BTreeMap<Mode, usize>,
    unexplained: BTreeMap<Mode, usize>,
}

fn report(files: &[(String, FileResult)], wall: f64, external: bool) -> (String, Totals) {
    let mut totals = Totals::default();
    let mut per_file = String::new();
    let mut divergences = String::new();
    let mut skipped = String::new();
    // Each reason once, numbered in the order they are first met.
    let mut reasons: Vec<&'static str> = Vec::new();
    let mut number = |why: &'static str| {
        let at = reasons.iter().position(|r| *r == why).unwrap_or_else(|| {
            reasons.push(why);
            reasons.len() - 1
        });
        at + 1
    };
    for (name, result) in files {
        if let Some(reason) = &result.skipped {
            let _ = writeln!(skipped, "| {name} | {reason} |");
            continue;
        }
        let queries: Vec<&Entry> = result.entries.iter().filter(|e| e.is_query).collect();
        let count = |mode| {
            queries
                .iter()
                .filter(|e| e.outcomes.get(&mode) == Some(&Outcome::Pass))
                .count()
        };
        let _ = writeln!(
            per_file,
            "| {name} | {} | {} | {} | {} | {:.1} / {:.1} / {:.1} |",
            queries.len(),
            count(Mode::DataFusion),
            count(Mode::Mspkpi),
            count(Mode::Cluster),
            result.seconds.get(&Mode::DataFusion).unwrap_or(&0.0),
            result.seconds.get(&Mode::Mspkpi).unwrap_or(&0.0),
            result.seconds.get(&Mode::Cluster).unwrap_or(&0.0),
        );
        totals.queries += queries.len();
        for mode in MODES {
            *totals.pass.entry(mode).or_default() += count(mode);
        }
        for entry in &result.entries {
            let a = entry.outcomes.get(&Mode::DataFusion);
            if entry.is_query && entry.is_explain {
                totals.explain += 1;
            }
            let counted = entry.is_query && !entry.is_explain && a == Some(&Outcome::Pass);
            if counted {
                totals.a_pass += 1;
            }
            for mode in [Mode::Mspkpi, Mode::Cluster] {
                let Some(x) = entry.outcomes.get(&mode) else {
                    continue;
                };
                if Some(x) == a {
                    if counted {
                        *totals.same.entry(mode).or_default() += 1;
                    }
                    continue;
                }
                if a != Some(&Outcome::Pass) || (mode == Mode::Cluster && entry.is_explain) {
                    // Failing in DataFusion's own session too, or a plan, which a
                    // cluster plans differently by design.
                    continue;
                }
                let internal = matches!(x, Outcome::Error(text) if text.starts_with(INTERNAL_TEXT));
                let class = match (x, by_design(&entry.line, x).filter(|_| !internal)) {
                    (_, Some(why)) => format!("by design [{}]", number(why)),
                    (Outcome::Wrong(_), None) => {
                        *totals.wrong.entry(mode).or_default() += 1;
                        "**wrong result**".to_string()
                    }
                    (_, None) if mode == Mode::Cluster && !internal => {
                        match cluster_limit(&entry.line, x) {
                            Some(why) => format!("unsupported on a cluster [{}]", number(why)),
                            None => {
                                *totals.unexplained.entry(mode).or_default() += 1;
                                "unsupported on a cluster (**unexplained**)".to_string()
                            }
                        }
                    }
                    _ => {
                        *totals.unexplained.entry(mode).or_default() += 1;
                        "**unexplained**".to_string()
                    }
                };
                let detail = match x {
                    Outcome::Wrong(what) | Outcome::Error(what) => what.replace('|', "\\|"),
                    Outcome::Pass => "passes where DataFusion's session fails".into(),
                };
                let _ = writeln!(
                    divergences,
                    "| {} | {} | {} | {class} | {detail} |",
                    entry.line,
                    if mode == Mode::Mspkpi { "b" } else { "c" },
                    if entry.is_query { "query" } else { "statement" },
                );
            }
        }
    }
    let pct = |n: usize| 100.0 * n as f64 / totals.a_pass.max(1) as f64;
    let b_same = totals.same.get(&Mode::Mspkpi).copied().unwrap_or(0);
    let c_same = totals.same.get(&Mode::Cluster).copied().unwrap_or(0);
    let mut out = String::new();
    let _ = writeln!(out, "# DataFusion's SQL logic tests through mspkpi\n");
    let _ = writeln!(
        out,
        "Made by `bench/slt.sh` (tests/slt_corpus.rs) from datafusion-sqllogictest 55.2.0's \
         test_files/ in {wall:.0} s. Sessions: **a** DataFusion's (4 target partitions, as its \
         runner), **b** mspkpi's local session, **c** mspkpi on Ballista ({}).\n",
        if external {
            "a scheduler and an executor as processes"
        } else {
            "a scheduler and an executor in the harness's process"
        }
    );
    let _ = writeln!(out, "| | count |\n|---|---:|");
    let _ = writeln!(
        out,
        "| files run | {} |",
        files.iter().filter(|f| f.1.skipped.is_none()).count()
    );
    let _ = writeln!(
        out,
        "| files skipped | {} |",
        files.iter().filter(|f| f.1.skipped.is_some()).count()
    );
    let _ = writeln!(
        out,
        "| queries | {} (EXPLAIN: {}) |",
        totals.queries, totals.explain
    );
    for mode in MODES {
        let _ = writeln!(
            out,
            "| pass in {mode:?} | {} |",
            totals.pass.get(&mode).unwrap_or(&0)
        );
    }
    let _ = writeln!(out, "| pass in a, EXPLAIN aside | {} |", totals.a_pass);
    let _ = writeln!(
        out,
        "| of these, the same in b | {b_same} ({:.2} %) |",
        pct(b_same)
    );
    let _ = writeln!(
        out,
        "| of these, the same in c | {c_same} ({:.2} %) |",
        pct(c_same)
    );
    for mode in [Mode::Mspkpi, Mode::Cluster] {
        let _ = writeln!(
            out,
            "| wrong results in {mode:?} | {} |",
            totals.wrong.get(&mode).unwrap_or(&0)
        );
    }
    let _ = writeln!(out, "\n## Divergences from a, where a passes\n");
    let _ = writeln!(
        out,
        "| where | session | kind | class | what |\n|---|---|---|---|---|"
    );
    out.push_str(&divergences);
    let _ = writeln!(out, "\nReasons:\n");
    for (i, why) in reasons.iter().enumerate() {
        let _ = writeln!(out, "{}. {why}", i + 1);
    }
    let _ = writeln!(
        out,
        "\n## Per file (queries; passing in a, b, c; seconds a / b / c)\n"
    );
    let _ = writeln!(
        out,
        "| file | queries | a | b | c | s |\n|---|---:|---:|---:|---:|---|"
    );
    out.push_str(&per_file);
    let _ = writeln!(out, "\n## Skipped files\n\n| file | why |\n|---|---|");
    out.push_str(&skipped);
    (out, totals)
}

async fn start_in_process_cluster() -> anyhow::Result<String> {
    use mspkpi::cluster::{ExecutorOptions, SchedulerOptions};
    let free = || -> anyhow::Result<u16> {
        Ok(std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port())
    };
    let port = free()?;
    let scheduler = SchedulerOptions {
        bind: "127.0.0.1".into(),
        port,
        executor_timeout: Duration::from_secs(60),
    };
    tokio::spawn(async move { mspkpi::cluster::run_scheduler(&scheduler).await });
    wait_for(port).await?;
    let executor = ExecutorOptions {
        scheduler: format!("127.0.0.1:{port}"),
        bind: "127.0.0.1".into(),
        port: free()?,
        grpc_port: free()?,
        concurrency: Some(2),
        memory_limit: None,
        heartbeat: Duration::from_secs(5),
    };
    let flight = executor.port;
    tokio::spawn(async move { mspkpi::cluster::run_executor(&executor).await });
    wait_for(flight).await?;
    // The executor registers with the scheduler after it listens.
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(format!("df://127.0.0.1:{port}"))
}

async fn wait_for(port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        anyhow::ensure!(
            Instant::now() < deadline,
            "nothing listens on 127.0.0.1:{port} after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

async fn run() -> anyhow::Result<bool> {
    let started = Instant::now();
    // Before the harness moves into the corpus's copy.
    let results_file = std::env::var_os("MSPKPI_SLT_RESULTS")
        .map(std::path::absolute)
        .transpose()?;
    let package = corpus_in_registry()?;
    let keep = std::env::var_os("MSPKPI_SLT_DIR")
        .map(std::path::absolute)
        .transpose()?;
    let temp = tempfile::tempdir()?;
    let base = keep.unwrap_or_else(|| temp.path().to_path_buf());
    // The layout of DataFusion's checkout, so the files' relative paths resolve alike.
    // Copied over, never removed first: a cluster's processes may run in it already.
    let workdir = base.join("datafusion/sqllogictest");
    copy_tree(&package.join("test_files"), &workdir.join("test_files"))?;
    copy_tree(&package.join("data"), &workdir.join("data"))?;
    std::env::set_current_dir(&workdir)?;
    let root = std::fs::canonicalize(&base)?
        .to_string_lossy()
        .trim_start_matches('/')
        .to_string();

    if std::env::var_os("RUST_LOG").is_some() {
        mspkpi::cluster::init_logging();
    }
    let external = std::env::var("MSPKPI_SLT_CLUSTER").ok();
    let cluster_url = match &external {
        Some(url) => url.clone(),
        None => start_in_process_cluster().await?,
    };
    let harness = Harness {
        workdir: workdir.clone(),
        root,
        cluster_url,
    };
    let selection = std::env::var("MSPKPI_SLT_FILES").unwrap_or_else(|_| "ci".into());
    let all = slt_files(&workdir.join("test_files"));
    let files: Vec<String> = match selection.as_str() {
        "all" => all,
        "ci" => CI_FILES.iter().map(|f| f.to_string()).collect(),
        list => list.split(',').map(|f| f.trim().to_string()).collect(),
    };
    let mut results = Vec::new();
    for name in files {
        let file_started = Instant::now();
        let result = harness
            .run_file(&name)
            .await
            .unwrap_or_else(|error| FileResult {
                skipped: Some(format!(
                    "cannot run: {}",
                    first_line(&error.to_string(), 200)
                )),
                ..Default::default()
            });
        eprintln!("{name}: {:.1} s", file_started.elapsed().as_secs_f64());
        results.push((name, result));
    }
    let (text, totals) = report(
        &results,
        started.elapsed().as_secs_f64(),
        external.is_some(),
    );
    if let Some(path) = results_file {
        std::fs::write(&path, &text)?;
    }
    let c_same = totals.same.get(&Mode::Cluster).copied().unwrap_or(0);
    let share = c_same as f64 / totals.a_pass.max(1) as f64;
    let wrong: usize = totals.wrong.values().sum();
    let unexplained: usize = totals.unexplained.values().sum();
    println!(
        "slt corpus: {} queries, {} pass in DataFusion's session; b {} / c {} the same ({:.2} %); wrong results {wrong}; unexplained {unexplained}",
        totals.queries,
        totals.a_pass,
        totals.same.get(&Mode::Mspkpi).copied().unwrap_or(0),
        c_same,
        100.0 * share
    );
    let ok = totals.a_pass > 0 && wrong == 0 && unexplained == 0 && share >= 0.95;
    if !ok {
        println!("{text}");
    }
    Ok(ok)
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start tokio: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("slt corpus: {error:#}");
            ExitCode::FAILURE
        }
    }
}
