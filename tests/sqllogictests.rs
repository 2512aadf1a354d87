//! Runs the SQL logic tests in `tests/slt/*.slt` against a session with every mspkpi
//! function registered. `cargo test --test sqllogictests -- --complete` rewrites the
//! expected results (review the diff before committing it).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float64Type};
use arrow::util::display::array_value_to_string;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType, Normalizer};

struct Db {
    ctx: SessionContext,
}

fn cell(array: &ArrayRef, row: usize) -> Result<String, DataFusionError> {
    if array.is_null(row) {
        return Ok("NULL".into());
    }
    if array.data_type() == &DataType::Float64 {
        // Ten decimals: enough to pin a KPI, and free of last-bit noise.
        let value = array.as_primitive::<Float64Type>().value(row);
        let rounded = (value * 1e10).round() / 1e10;
        return Ok(format!("{}", rounded + 0.0));
    }
    let text = array_value_to_string(array, row)?;
    Ok(if text.is_empty() {
        "(empty)".into()
    } else {
        text
    })
}

/// A row whose cells hold several lines (EXPLAIN's plans) as one result row per line,
/// the other cells empty after the first, as DataFusion's own sqllogictest runner does:
/// an expected result is written one line per row.
fn expand_lines(cells: Vec<String>) -> Vec<Vec<String>> {
    let lines: Vec<Vec<&str>> = cells.iter().map(|c| c.lines().collect()).collect();
    let height = lines.iter().map(Vec::len).max().unwrap_or(1).max(1);
    (0..height)
        .map(|i| {
            lines
                .iter()
                .map(|cell| cell.get(i).map_or(String::new(), |line| line.to_string()))
                .collect()
        })
        .collect()
}

/// sqllogictest's default comparison (whitespace-normalised lines), except that the
/// continuation lines of [`expand_lines`], whose first cells are empty, do not start
/// with the space that joins the cells.
fn validator(normalizer: Normalizer, actual: &[Vec<String>], expected: &[String]) -> bool {
    let actual = actual.iter().map(|row| {
        row.iter()
            .map(normalizer)
            .filter(|cell| !cell.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    });
    actual.eq(expected.iter().map(normalizer))
}

#[async_trait::async_trait]
impl AsyncDB for Db {
    type Error = DataFusionError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, DataFusionError> {
        let frame = self.ctx.sql(sql).await?;
        let schema = frame.schema().clone();
        let batches = frame.collect().await?;
        if schema.fields().is_empty() {
            return Ok(DBOutput::StatementComplete(0));
        }
        let types = schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                t if t.is_integer() => DefaultColumnType::Integer,
                t if t.is_floating() => DefaultColumnType::FloatingPoint,
                _ => DefaultColumnType::Text,
            })
            .collect();
        let mut rows = Vec::new();
        for batch in &batches {
            for row in 0..batch.num_rows() {
                let cells = batch
                    .columns()
                    .iter()
                    .map(|c| cell(c, row))
                    .collect::<Result<Vec<_>, _>>()?;
                rows.extend(expand_lines(cells));
            }
        }
        Ok(DBOutput::Rows { types, rows })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "mspkpi-datafusion"
    }
}

fn session() -> Result<SessionContext, DataFusionError> {
    let ctx = SessionContext::new_with_config(
        datafusion::prelude::SessionConfig::new().with_target_partitions(4),
    );
    mspkpi_udfs::register_all(&mut *ctx.state_ref().write())?;
    Ok(ctx)
}

async fn run_file(path: &Path, complete: bool) -> Result<(), String> {
    let ctx = session().map_err(|e| e.to_string())?;
    let mut runner = sqllogictest::Runner::new(move || {
        let ctx = ctx.clone();
        async move { Ok(Db { ctx }) }
    });
    runner.with_validator(validator);
    if complete {
        runner
            .update_test_file(
                path,
                " ",
                validator,
                sqllogictest::default_normalizer,
                sqllogictest::default_column_validator,
            )
            .await
            .map_err(|e| e.to_string())
    } else {
        runner.run_file_async(path).await.map_err(|e| e.to_string())
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let complete = std::env::args().any(|a| a == "--complete");
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "slt"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    if files.is_empty() {
        eprintln!("no .slt files in {}", dir.display());
        return ExitCode::FAILURE;
    }
    let mut failures = 0;
    for file in &files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        match run_file(file, complete).await {
            Ok(()) => println!("ok   {name}"),
            Err(error) => {
                failures += 1;
                println!("FAIL {name}\n{error}");
            }
        }
    }
    if failures > 0 {
        println!("{failures} .slt file(s) failed");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
