//! KPI facts for a data warehouse: one row per (client, period, kpi, segment) with its
//! value and n, as Parquet partitioned by period (`OUT/period=2026-10/`). A period's
//! partition is written to a staging folder and swapped in, so a re-run replaces
//! exactly that partition and a failed run changes nothing.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::array::{Date32Array, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use chrono::NaiveDate;
use parquet::arrow::ArrowWriter;
use serde_json::Value;

use crate::period::Period;
use crate::saved_queries::{QueryResult, Scope};
use crate::write::StagedDir;

/// Dimension columns: not KPIs.
const DIMENSIONS: [&str; 6] = [
    "client_id",
    "period",
    "priority",
    "technician_id",
    "dimension",
    "value",
];

pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("client_id", DataType::Utf8, true),
        Field::new("period_start", DataType::Date32, false),
        Field::new("scope", DataType::Utf8, false),
        Field::new("kpi", DataType::Utf8, false),
        Field::new("segment", DataType::Utf8, true),
        Field::new("value", DataType::Float64, true),
        Field::new("n", DataType::Int64, true),
    ]))
}

/// The column holding the n of `column`: `<column>_n`, else `<prefix>_n` for a prefix
/// of it (`response_avg` → `response_n`), else the query's only `_n` column.
fn n_column<'a>(column: &str, columns: &'a [String]) -> Option<&'a String> {
    let mut prefix = column;
    loop {
        if let Some(found) = columns.iter().find(|c| **c == format!("{prefix}_n")) {
            return Some(found);
        }
        match prefix.rfind('_') {
            Some(i) => prefix = &prefix[..i],
            None => break,
        }
    }
    let mut counts = columns.iter().filter(|c| c.ends_with("_n"));
    match (counts.next(), counts.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

/// The facts of the report period.
pub fn facts(results: &[QueryResult], period: &Period) -> Result<RecordBatch> {
    let day = period.start.format("%Y-%m-%d").to_string();
    let days = period
        .start
        .signed_duration_since(NaiveDate::default())
        .num_days() as i32;
    let (mut client, mut scope, mut kpi, mut segment, mut value, mut n) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for result in results {
        let scope_name = match result.query.scope {
            Scope::Client => "client",
            Scope::Portfolio => "portfolio",
            Scope::Internal => "internal",
            Scope::Model => continue,
        };
        for row in result
            .rows
            .iter()
            .filter(|r| r.get("period").and_then(Value::as_str) == Some(day.as_str()))
        {
            let text = |c: &str| row.get(c).and_then(Value::as_str).map(str::to_string);
            // The segment of a split row: a priority, a technician, or a breakdown's
            // `dimension:value` (`category:network`).
            let seg = text("priority")
                .or_else(|| text("technician_id"))
                .or_else(|| Some(format!("{}:{}", text("dimension")?, text("value")?)));
            for column in &result.columns {
                if DIMENSIONS.contains(&column.as_str()) || column.ends_with("_n") {
                    continue;
                }
                let Some(v) = row.get(column) else { continue };
                if !(v.is_number() || v.is_null()) {
                    continue;
                }
                client.push(text("client_id"));
                scope.push(scope_name);
                kpi.push(format!("{}.{column}", result.query.name));
                segment.push(seg.clone());
                value.push(v.as_f64());
                n.push(
                    n_column(column, &result.columns)
                        .and_then(|c| row.get(c))
                        .and_then(Value::as_i64),
                );
            }
        }
    }
    let rows = kpi.len();
    Ok(RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(StringArray::from(client)),
            Arc::new(Date32Array::from(vec![days; rows])),
            Arc::new(StringArray::from(scope)),
            Arc::new(StringArray::from(kpi)),
            Arc::new(StringArray::from(segment)),
            Arc::new(Float64Array::from(value)),
            Arc::new(Int64Array::from(n)),
        ],
    )?)
}

/// Writes the facts of a period to `out/period=<period>/part-0.parquet`.
pub fn write(out: &Path, period: &Period, facts: &RecordBatch) -> Result<PathBuf> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let partition = out.join(format!("period={period}"));
    let staged = StagedDir::new(&partition)?;
    let path = staged.path().join("part-0.parquet");
    let file = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut writer = ArrowWriter::try_new(file, facts.schema(), None)?;
    writer.write(facts)?;
    writer.close()?;
    staged.commit()?;
    Ok(partition)
}
