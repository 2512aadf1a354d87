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
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::common::TableReference;
use datafusion::datasource::MemTable;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use datafusion::scalar::ScalarValue;
use futures::StreamExt;
use parquet::arrow::AsyncArrowWriter;

use crate::saved_queries::{SavedQuery, Scope};
use crate::session::{self, EngineOptions};

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
    reservation: Option<MemoryReservation>,
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

/// How much memory the models may hold (`None`: no bound). On a cluster, none: the
/// executors are other processes, so every model goes to Parquet they can read.
pub fn budget(engine: &EngineOptions) -> Option<usize> {
    if engine.on_cluster() {
        return Some(0);
    }
    engine.memory_limit.map(|limit| limit / 2)
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
        reservation: budget
            .map(|_| MemoryConsumer::new("mspkpi models").register(&ctx.runtime_env().memory_pool)),
        spill: None,
    };
    if budget.is_some() {
        run.spill = Some(
            tempfile::Builder::new()
                .prefix("mspkpi-models-")
                .tempdir()
                .context("cannot create a temporary folder for the models")?,
        );
    }
    for model in run_order(ctx, &models)? {
        progress(model);
        let started = Instant::now();
        if ctx.table_exist(model.name.as_str())? {
            bail!(
                "saved query {model} is a model named like a table of the data: rename one of them"
            );
        }
        let left = budget.map(|b| b.saturating_sub(run.held()));
        let spill = run.spill.as_ref().map(|d| d.path());
        let what = format!("saved query {model}");
        let read = session::rerun_if_executor_lost(&what, || async {
            let frame = model.frame(ctx, values).await?;
            let streams = frame
                .execute_stream_partitioned()
                .await
                .with_context(|| format!("saved query {model}"))?;
            read(streams, left, spill, &model.name)
                .await
                .with_context(|| format!("saved query {model}"))
        });
        let (rows, bytes, storage) = match read.await? {
            Read::Memory { schema, partitions } => {
                let rows = partitions.iter().flatten().map(RecordBatch::num_rows).sum();
                let bytes = partitions.iter().flatten().map(batch_bytes).sum();
                if let Some(reservation) = &mut run.reservation {
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
    /// The run-scoped folder models spill to (with a budget).
    pub fn spill_folder(&self) -> Option<&Path> {
        self.spill.as_ref().map(|d| d.path())
    }

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

/// The bytes a batch holds: its slice of each buffer (batches cut from one buffer
/// would otherwise count it again and again).
fn batch_bytes(batch: &RecordBatch) -> usize {
    batch
        .columns()
        .iter()
        .map(|c| c.to_data().get_slice_memory_size().unwrap_or(0))
        .sum()
}

/// One partition's rows: in memory, or written to a file once the model outgrew its
/// budget.
enum Partition {
    Memory(Vec<RecordBatch>),
    File(usize),
}

/// What the partitions of a model share while they are read.
struct Shared {
    budget: Option<usize>,
    held: AtomicUsize,
    /// Set once the batches held exceed the budget: from then on every partition
    /// writes to its file.
    spilling: AtomicBool,
}

async fn write_all(
    writer: &mut AsyncArrowWriter<tokio::fs::File>,
    batches: &[RecordBatch],
) -> Result<usize> {
    let mut rows = 0;
    for batch in batches {
        rows += batch.num_rows();
        writer.write(batch).await?;
    }
    Ok(rows)
}

async fn create_writer(
    path: &Path,
    schema: SchemaRef,
) -> Result<AsyncArrowWriter<tokio::fs::File>> {
    let file = tokio::fs::File::create(path)
        .await
        .with_context(|| format!("cannot create {}", path.display()))?;
    Ok(AsyncArrowWriter::try_new(file, schema, None)?)
}

/// Reads one partition on its own task: into memory, or, once the model is spilling,
/// into `path`.
async fn read_partition(
    mut stream: SendableRecordBatchStream,
    shared: Arc<Shared>,
    path: PathBuf,
) -> Result<Partition> {
    let mut batches = Vec::new();
    let mut writer: Option<(AsyncArrowWriter<tokio::fs::File>, usize)> = None;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        if let Some((writer, rows)) = &mut writer {
            *rows += batch.num_rows();
            writer.write(&batch).await?;
            continue;
        }
        let bytes = batch_bytes(&batch);
        let held = shared.held.fetch_add(bytes, Ordering::Relaxed) + bytes;
        batches.push(batch);
        if shared.budget.is_some_and(|b| held > b) {
            shared.spilling.store(true, Ordering::Relaxed);
        }
        if shared.spilling.load(Ordering::Relaxed) {
            let mut file = create_writer(&path, stream.schema()).await?;
            let rows = write_all(&mut file, &batches).await?;
            shared
                .held
                .fetch_sub(batches.iter().map(batch_bytes).sum(), Ordering::Relaxed);
            batches.clear();
            writer = Some((file, rows));
        }
    }
    match writer {
        Some((writer, rows)) => {
            writer.close().await?;
            Ok(Partition::File(rows))
        }
        None => Ok(Partition::Memory(batches)),
    }
}

/// Reads every partition on its own task (as DataFusion's own collect does, so the
/// plan runs on every thread). While the batches read fit `budget` they stay in
/// memory; beyond it, every partition goes to `<spill>/<name>/part-<i>.parquet`.
async fn read(
    streams: Vec<SendableRecordBatchStream>,
    budget: Option<usize>,
    spill: Option<&Path>,
    name: &str,
) -> Result<Read> {
    let schema = match streams.first() {
        Some(s) => s.schema(),
        None => bail!("the query has no output partitions"),
    };
    let folder = spill.map(|s| s.join(name)).unwrap_or_default();
    if spill.is_some() {
        std::fs::create_dir_all(&folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
    }
    let budget = budget.filter(|_| spill.is_some());
    let shared = Arc::new(Shared {
        budget,
        held: AtomicUsize::new(0),
        // With no room at all, even a model without rows goes to files.
        spilling: AtomicBool::new(budget == Some(0)),
    });
    let mut tasks = tokio::task::JoinSet::new();
    for (i, stream) in streams.into_iter().enumerate() {
        let path = folder.join(format!("part-{i}.parquet"));
        let shared = shared.clone();
        tasks.spawn(async move { (i, read_partition(stream, shared, path).await) });
    }
    let mut partitions: Vec<Option<Partition>> = Vec::new();
    partitions.resize_with(tasks.len(), || None);
    while let Some(done) = tasks.join_next().await {
        let (i, partition) = done.context("a model partition's task failed")?;
        partitions[i] = Some(partition?);
    }
    let partitions: Vec<Partition> = partitions.into_iter().flatten().collect();
    if !shared.spilling.load(Ordering::Relaxed) {
        let batches = partitions
            .into_iter()
            .map(|p| match p {
                Partition::Memory(batches) => batches,
                Partition::File(_) => Vec::new(),
            })
            .collect();
        return Ok(Read::Memory {
            schema,
            partitions: batches,
        });
    }
    // Partitions that ended before the model began to spill join the others on disk.
    let mut rows = 0;
    for (i, partition) in partitions.into_iter().enumerate() {
        rows += match partition {
            Partition::File(rows) => rows,
            Partition::Memory(batches) => {
                let path = folder.join(format!("part-{i}.parquet"));
                let mut writer = create_writer(&path, schema.clone()).await?;
                let rows = write_all(&mut writer, &batches).await?;
                writer.close().await?;
                rows
            }
        };
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
