//! KPI facts for a data warehouse: one row per (client, period, kpi, segment) with its
//! value and n, as Parquet partitioned by period (`OUT/period=2026-10/`). A period's
//! partition is written to a staging folder and swapped in, so a re-run replaces
//! exactly that partition and a failed run changes nothing. In an object store the
//! partition is a single object, uploaded whole.
//!
//! As a Delta table (`--format delta`), the same facts go to one new file in the
//! period's partition, committed with the removal of the partition's earlier files in
//! one version (replaceWhere `period = 'P'`): a reader sees the old facts or the new,
//! never both, and periods accumulate into one table that Spark, DuckDB, Polars and
//! pandas read as it is.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::array::{Date32Array, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Date32Type, Field, Schema, SchemaRef};
use object_store::ObjectStoreExt;
use parquet::arrow::ArrowWriter;

use crate::data::delta;
use crate::data::location::Location;
use crate::data::object_stores;
use crate::kpi::Kpi;
use crate::period::Period;
use crate::run::QueryResult;
use crate::saved_queries::Scope;
use crate::write::StagedDir;

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

/// The facts of the report period: a row per catalogue KPI and result row of the
/// period. The segment of a split row is its priority, its technician, or a
/// breakdown's `dimension:value` (`category:network`).
pub fn facts(results: &[QueryResult], catalogue: &[Kpi], period: &Period) -> Result<RecordBatch> {
    let days = Date32Type::from_naive_date(period.start);
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
        let kpis: Vec<&Kpi> = catalogue
            .iter()
            .filter(|k| k.query == result.query.name && result.table.has_column(&k.column))
            .collect();
        for row in result
            .rows()
            .filter(|r| r.date("period") == Some(period.start))
        {
            let seg = row
                .key("priority")
                .or_else(|| row.key("technician_id"))
                .or_else(|| Some(format!("{}:{}", row.key("dimension")?, row.key("value")?)));
            for k in &kpis {
                client.push(row.key("client_id"));
                scope.push(scope_name);
                kpi.push(k.export_name());
                segment.push(seg.clone());
                value.push(row.number(&k.column));
                n.push(k.n_column.as_deref().and_then(|c| row.int(c)));
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

/// Writes the facts of a period to `out/period=<period>/part-0.parquet`, on the local
/// disk or in an object store.
pub async fn write_to(out: &Location, period: &Period, facts: &RecordBatch) -> Result<Location> {
    match out {
        Location::Local(folder) => write(folder, period, facts).map(Location::Local),
        Location::Object(_) => write_object(out, period, facts).await,
    }
}

/// The object-store export: the partition is one object, written in a single upload
/// that appears whole or not at all (S3 has no rename to stage with). Other objects
/// left in the partition by an earlier run are removed after it, so the partition
/// then holds exactly this run's facts.
async fn write_object(out: &Location, period: &Period, facts: &RecordBatch) -> Result<Location> {
    let partition = out.join(&format!("period={period}"));
    let object = partition.join("part-0.parquet");
    let mut bytes = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut bytes, facts.schema(), None)?;
    writer.write(facts)?;
    writer.close()?;
    let (store, key) = object_stores::store_for(&object)?;
    store
        .put(&key, bytes.into())
        .await
        .map_err(|e| object_stores::explain(e, "cannot write", &object))?;
    let (_, stale) = object_stores::list(&partition).await?;
    for meta in stale.into_iter().filter(|m| m.location != key) {
        store
            .delete(&meta.location)
            .await
            .with_context(|| format!("cannot remove {} from {partition}", meta.location))?;
    }
    Ok(partition)
}

/// The partition column of the Delta export.
pub const PERIOD_COLUMN: &str = "period";

/// Commits the facts of a period as the `period=<period>` partition of the Delta table
/// at `out` (created on the first export), replacing that partition's facts. Returns
/// the version.
pub async fn write_delta(out: &Location, period: &Period, facts: &RecordBatch) -> Result<u64> {
    let value = period.to_string();
    // A name no other export uses, so that racing exports never overwrite a file.
    let relative = format!(
        "{PERIOD_COLUMN}={value}/part-{}-{:016x}.parquet",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%3f"),
        getrandom::u64().context("cannot draw a file name")?
    );
    let mut bytes = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut bytes, facts.schema(), None)?;
    writer.write(facts)?;
    writer.close()?;
    let size = bytes.len() as u64;
    match out.join(&relative) {
        Location::Local(path) => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            crate::write::replace_file(&path, &bytes)?;
        }
        file @ Location::Object(_) => {
            let (store, key) = object_stores::store_for(&file)?;
            store
                .put(&key, bytes.into())
                .await
                .map_err(|e| object_stores::explain(e, "cannot write", &file))?;
        }
    }
    let mut fields: Vec<Field> = facts
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new(PERIOD_COLUMN, DataType::Utf8, false));
    let new = delta::NewFile {
        relative,
        size,
        modified: chrono::Utc::now(),
        partition_values: [(PERIOD_COLUMN.to_string(), Some(value.clone()))].into(),
        rows: Some(facts.num_rows()),
    };
    delta::commit(
        out,
        &Schema::new(fields),
        &[PERIOD_COLUMN.to_string()],
        vec![new],
        delta::Replace::Partition {
            column: PERIOD_COLUMN,
            value: &value,
        },
    )
    .await
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
