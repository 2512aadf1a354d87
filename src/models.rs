//! Staged models, like dbt's staging models: the saved queries of `-- scope: model`
//! run first, once per run, and each result is registered as a table that the KPI
//! queries, and ad-hoc SQL, read by name (`ticket_facts`, `work_facts`).
//!
//! A model stays in memory while it fits the budget: without `--memory-limit`, always;
//! with one, the models together may hold half of it, reserved from the engine's
//! memory pool so that the queries' own share shrinks by as much. A model that does not
//! fit is written, as it streams, to Parquet in a run-scoped temporary folder that is
//! removed when the run ends, whether it succeeds or fails.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::datasource::MemTable;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use datafusion::scalar::ScalarValue;
use datafusion::common::TableReference;
use futures::StreamExt;
use parquet::arrow::AsyncArrowWriter;

use crate::saved_queries::{Scope, SavedQuery};

/// Where a model's rows went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    Memory,
    Parquet,
}

/// One materialised model.
#[derive(Debug, Clone)]
pub struct Model {
    pub name: String,
    pub rows: usize,
    pub bytes: usize,
    pub storage: Storage,
}

/// The models of a run, registered on its session. Dropping it deregisters them and
/// removes the spill folder.
pub struct Models {
    ctx: SessionContext,
    pub models: Vec<Model>,
    _reservation: Option<MemoryReservation>,
    spill: Option<tempfile::TempDir>,
}

impl Drop for Models {
    fn drop(&mut self) {
        // Tables first, so that nothing still reads the files the folder removes.
        for model in &self.models {
            let _ = self.ctx.deregister_table(model.name.as_str());
        }
        if let Some(dir) = self.spill.take() {
            let _ = dir.close();
        }
    }
}

/// How much memory the models may hold (`None`: no bound).
pub fn budget(memory_limit: Option<usize>) -> Option<usize> {
    memory_limit.map(|limit| limit / 2)
}

/// The order in which models can run: each after the models it reads.
fn run_order<'a>(ctx: &SessionContext, models: &[&'a SavedQuery]) -> Result<Vec<&'a SavedQuery>> {
    let state = ctx.state();
    let mut reads: HashMap<&str, Vec<String>> = HashMap::new();
    for model in models {
        let dialect = state.config().options().sql_parser.dialect;
        let statement = state
            .sql_to_statement(&model.sql, &dialect)
            .with_context(|| format!("saved query {model}"))?;
        let tables = state
            .resolve_table_references(&statement)
            .with_context(|| format!("saved query {model}"))?;
        let names = tables
            .iter()
            .map(|t: &TableReference| t.table().to_string())
            .filter(|t| models.iter().any(|m| m.name == *t && m.name != model.name))
            .collect();
        reads.insert(model.name.as_str(), names);
    }
    let mut ordered: Vec<&SavedQuery> = Vec::new();
    while ordered.len() < models.len() {
        let ready = models.iter().find(|m| {
            !ordered.iter().any(|o| o.name == m.name)
                && reads[m.name.as_str()]
                    .iter()
                    .all(|r| ordered.iter().any(|o| o.name == *r))
        });
        match ready {
            Some(model) => ordered.push(model),
            None => {
                let stuck: Vec<&str> = models
                    .iter()
                    .filter(|m| !ordered.iter().any(|o| o.name == m.name))
                    .map(|m| m.name.as_str())
                    .collect();
                bail!("the models {} read each other in a cycle", stuck.join(", "));
            }
        }
    }
    Ok(ordered)
}

/// Runs the model queries among `queries` and registers their results as tables.
pub async fn materialise(
    ctx: &SessionContext,
    queries: &[SavedQuery],
    values: &HashMap<String, ScalarValue>,
    budget: Option<usize>,
    mut progress: impl FnMut(&SavedQuery),
) -> Result<Models> {
    let models: Vec<&SavedQuery> = queries.iter().filter(|q| q.scope == Scope::Model).collect();
    let mut run = Models {
        ctx: ctx.clone(),
        models: Vec::new(),
        _reservation: budget.map(|_| {
            MemoryConsumer::new("mspkpi models").register(&ctx.runtime_env().memory_pool)
        }),
        spill: None,
    };
    for model in run_order(ctx, &models)? {
        progress(model);
        let started = Instant::now();
        if ctx.table_exist(model.name.as_str())? {
            bail!(
                "saved query {model} is a model named like a table of the data: rename one of them"
            );
        }
        let frame = model.frame(ctx, values).await?;
        let streams = frame
            .execute_stream_partitioned()
            .await
            .with_context(|| format!("saved query {model}"))?;
        let left = budget.map(|b| b.saturating_sub(run.held()));
        let (rows, bytes, storage) = match read(streams, left, &mut run.spill, &model.name)
            .await
            .with_context(|| format!("saved query {model}"))?
        {
            Read::Memory { schema, partitions } => {
                let rows = partitions.iter().flatten().map(RecordBatch::num_rows).sum();
                let bytes = partitions
                    .iter()
                    .flatten()
                    .map(RecordBatch::get_array_memory_size)
                    .sum();
                if let Some(reservation) = &mut run._reservation {
                    reservation.grow(bytes);
                }
                let table = MemTable::try_new(schema, partitions)?;
                ctx.register_table(model.name.as_str(), Arc::new(table))?;
                (rows, bytes, Storage::Memory)
            }
            Read::Parquet { folder, rows } => {
                ctx.register_parquet(
                    model.name.as_str(),
                    folder.display().to_string(),
                    ParquetReadOptions::default(),
                )
                .await?;
                (rows, folder_size(&folder), Storage::Parquet)
            }
        };
        if std::env::var_os("MSPKPI_TIMINGS").is_some() {
            eprintln!(
                "model {}: {:.2} s, {rows} rows, {} MiB in {storage:?}",
                model.name,
                started.elapsed().as_secs_f64(),
                bytes >> 20
            );
        }
        run.models.push(Model {
            name: model.name.clone(),
            rows,
            bytes,
            storage,
        });
    }
    Ok(run)
}

impl Models {
    /// Bytes the in-memory models hold.
    fn held(&self) -> usize {
        self.models
            .iter()
            .filter(|m| m.storage == Storage::Memory)
            .map(|m| m.bytes)
            .sum()
    }
}

enum Read {
    Memory {
        schema: SchemaRef,
        partitions: Vec<Vec<RecordBatch>>,
    },
    Parquet {
        folder: PathBuf,
        rows: usize,
    },
}

/// Reads every partition, a batch at a time from whichever is ready. Once the batches
/// read exceed `budget`, writes them and the rest of each partition to
/// `<spill>/<name>/part-<i>.parquet` instead, creating the run's spill folder.
async fn read(
    streams: Vec<SendableRecordBatchStream>,
    budget: Option<usize>,
    spill: &mut Option<tempfile::TempDir>,
    name: &str,
) -> Result<Read> {
    let schema = match streams.first() {
        Some(s) => s.schema(),
        None => bail!("the query has no output partitions"),
    };
    let count = streams.len();
    let mut tagged = futures::stream::select_all(
        streams
            .into_iter()
            .enumerate()
            .map(|(i, s)| s.map(move |b| (i, b)).boxed()),
    );
    let mut partitions: Vec<Vec<RecordBatch>> = vec![Vec::new(); count];
    let mut held = 0usize;
    while let Some((i, batch)) = tagged.next().await {
        let batch = batch?;
        held += batch.get_array_memory_size();
        partitions[i].push(batch);
        if budget.is_some_and(|b| held > b) {
            break;
        }
    }
    if !budget.is_some_and(|b| held > b) {
        return Ok(Read::Memory { schema, partitions });
    }
    if spill.is_none() {
        *spill = Some(
            tempfile::Builder::new()
                .prefix("mspkpi-models-")
                .tempdir()
                .context("cannot create a temporary folder for the models")?,
        );
    }
    let folder = spill
        .as_ref()
        .map(|d| d.path().join(name))
        .context("no spill folder")?;
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    let mut writers = Vec::with_capacity(count);
    for i in 0..count {
        let path = folder.join(format!("part-{i}.parquet"));
        let file = tokio::fs::File::create(&path)
            .await
            .with_context(|| format!("cannot create {}", path.display()))?;
        writers.push(AsyncArrowWriter::try_new(file, schema.clone(), None)?);
    }
    let mut rows = 0;
    for (writer, batches) in writers.iter_mut().zip(partitions) {
        for batch in batches {
            rows += batch.num_rows();
            writer.write(&batch).await?;
        }
    }
    while let Some((i, batch)) = tagged.next().await {
        let batch = batch?;
        rows += batch.num_rows();
        writers[i].write(&batch).await?;
    }
    for writer in writers {
        writer.close().await?;
    }
    Ok(Read::Parquet { folder, rows })
}

fn folder_size(folder: &Path) -> usize {
    std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len() as usize)
                .sum()
        })
        .unwrap_or(0)
}
