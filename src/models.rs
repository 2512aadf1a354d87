//! Staged models, like dbt's staging models: the saved queries of `-- scope: model`
//! run first, once per run, and each result is registered as a table that the KPI
//! queries, and ad-hoc SQL, read by name (`ticket_facts`, `work_facts`).
//!
//! Where a model's rows go is its [`Placement`]. Locally, a model stays in memory
//! while it fits the budget: without `--memory-limit`, always; with one, the models
//! together may hold half of it, reserved from the engine's memory pool so that the
//! queries' own share shrinks by as much. A model that does not fit is written, as it
//! streams, to Parquet in a run-scoped temporary folder. On a cluster, every model
//! goes to Parquet in a run-scoped folder that all the executors reach (a local one
//! for a cluster on one machine, or shared storage). Run folders are removed when the
//! run ends, whether it succeeds or fails.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use arrow::array::{Array, AsArray, GenericListArray, OffsetSizeTrait, RecordBatch};
use arrow::datatypes::{DataType, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use datafusion::scalar::ScalarValue;
use futures::StreamExt;
use object_store::ObjectStoreExt;
use parquet::arrow::AsyncArrowWriter;

use crate::data::location::Location;
use crate::data::object_stores;
use crate::saved_queries::SavedQuery;
use crate::session::EngineOptions;

/// Where a run's models go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// In this process's memory, as much as they need.
    Memory,
    /// In memory up to this many bytes together; beyond, to Parquet in a local
    /// temporary folder.
    Bounded(usize),
    /// On a cluster: as Parquet under `_runs/<id>/` of this location, which every
    /// executor must reach; `None`: a local temporary folder, for a cluster on one
    /// machine.
    Executors(Option<Location>),
}

/// Where the engine's models go: on a cluster, to the executors' Parquet (the
/// executors are other processes, which cannot read this one's memory).
pub fn placement(engine: &EngineOptions) -> Placement {
    if engine.on_cluster() {
        return Placement::Executors(engine.models_at.clone());
    }
    match engine.memory_limit {
        Some(limit) => Placement::Bounded(limit / 2),
        None => Placement::Memory,
    }
}

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

/// A run's folder for models on Parquet.
enum RunFolder {
    Temporary(tempfile::TempDir),
    /// `<models-at>/_runs/<id>`.
    Shared(Location),
}

impl RunFolder {
    fn new(placement: &Placement) -> Result<Option<RunFolder>> {
        let at = match placement {
            Placement::Memory => return Ok(None),
            Placement::Bounded(_) | Placement::Executors(None) => {
                let dir = tempfile::Builder::new()
                    .prefix("mspkpi-models-")
                    .tempdir()
                    .context("cannot create a temporary folder for the models")?;
                return Ok(Some(RunFolder::Temporary(dir)));
            }
            Placement::Executors(Some(at)) => at,
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let id = format!("{nanos:x}-{}", std::process::id());
        let folder = at.join("_runs").join(&id);
        if let Some(path) = folder.as_local() {
            std::fs::create_dir_all(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
        }
        Ok(Some(RunFolder::Shared(folder)))
    }

    fn location(&self) -> Location {
        match self {
            RunFolder::Temporary(dir) => Location::Local(dir.path().to_path_buf()),
            RunFolder::Shared(location) => location.clone(),
        }
    }

    fn remove(self) {
        match self {
            RunFolder::Temporary(dir) => {
                let _ = dir.close();
            }
            RunFolder::Shared(Location::Local(path)) => {
                let _ = std::fs::remove_dir_all(path);
            }
            // Dropping may happen outside any runtime, or inside one that cannot
            // block: the objects go on a thread of their own.
            RunFolder::Shared(folder) => {
                let removal = std::thread::spawn({
                    let folder = folder.clone();
                    move || -> Result<()> {
                        tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()?
                            .block_on(remove_all(&folder))
                    }
                });
                if let Ok(Err(error)) = removal.join() {
                    eprintln!(
                        "warning: cannot remove the run's models at {folder}: {}",
                        crate::error_message(&error)
                    );
                }
            }
        }
    }
}

/// The models of a run, registered on its session. Dropping it deregisters them and
/// removes the run's folder.
pub struct Models {
    ctx: SessionContext,
    /// The models placed so far, in the order they were kept.
    kept: Mutex<Vec<Model>>,
    reservation: Mutex<Option<MemoryReservation>>,
    folder: Option<RunFolder>,
}

impl Drop for Models {
    fn drop(&mut self) {
        // Tables first, so that nothing still reads the files the folder removes.
        for model in self
            .kept
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = self.ctx.deregister_table(model.name.as_str());
        }
        if let Some(folder) = self.folder.take() {
            folder.remove();
        }
    }
}

impl Models {
    /// The models of a run that has `any` of them, none registered yet: its budget
    /// reserved from the engine's pool as they arrive, its folder made.
    pub fn new(ctx: &SessionContext, placement: &Placement, any: bool) -> Result<Self> {
        let reservation = placement
            .budget()
            .map(|_| MemoryConsumer::new("mspkpi models").register(&ctx.runtime_env().memory_pool));
        Ok(Models {
            ctx: ctx.clone(),
            kept: Mutex::new(Vec::new()),
            reservation: Mutex::new(reservation),
            folder: if any {
                RunFolder::new(placement)?
            } else {
                None
            },
        })
    }

    /// Runs one model where the placement says, within `share` bytes of memory, and
    /// registers it; its table is there when this returns.
    pub async fn place(
        &self,
        model: &SavedQuery,
        values: &HashMap<String, ScalarValue>,
        placement: &Placement,
        share: Option<usize>,
    ) -> Result<Model> {
        if self.ctx.table_exist(model.name.as_str())? {
            bail!(
                "saved query {model} is a model named like a table of the data: rename one of them"
            );
        }
        let (rows, bytes, storage) = place(
            &self.ctx,
            model,
            values,
            placement,
            self.folder.as_ref(),
            share,
        )
        .await?;
        Ok(Model {
            name: model.name.clone(),
            rows,
            bytes,
            storage,
        })
    }

    /// Keeps a placed model, to be removed with the others; one in memory holds its
    /// bytes of the budget.
    pub fn keep(&self, model: Model) {
        let mut reservation = self.reservation.lock().unwrap_or_else(|e| e.into_inner());
        if let (Storage::Memory, Some(reservation)) = (model.storage, reservation.as_mut()) {
            reservation.grow(model.bytes);
        }
        self.kept
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(model);
    }

    /// The models kept, in the order they were.
    pub fn models(&self) -> Vec<Model> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Placement {
    /// The bytes of memory the models may hold together; `None`: no bound.
    pub fn budget(&self) -> Option<usize> {
        match self {
            Placement::Memory => None,
            Placement::Bounded(budget) => Some(*budget),
            Placement::Executors(_) => Some(0),
        }
    }
}

/// Runs one model where `placement` says, within `budget` bytes of memory; returns
/// its rows, bytes and where they went.
async fn place(
    ctx: &SessionContext,
    model: &SavedQuery,
    values: &HashMap<String, ScalarValue>,
    placement: &Placement,
    run_folder: Option<&RunFolder>,
    budget: Option<usize>,
) -> Result<(usize, usize, Storage)> {
    let started = Instant::now();
    let what = format!("saved query {model}");
    let (rows, bytes, storage) = match (run_folder, placement) {
        (Some(folder), Placement::Executors(_)) => {
            let folder = folder.location().join(&model.name);
            let (rows, bytes) = crate::cluster::rerun_if_executor_lost(ctx, &what, || {
                place_on_cluster(ctx, model, values, &folder)
            })
            .await
            .with_context(|| what.clone())?;
            (rows, bytes, Storage::Parquet)
        }
        _ => {
            let spill = run_folder.map(RunFolder::location);
            read_here(
                ctx,
                model,
                values,
                budget,
                spill.as_ref().and_then(Location::as_local),
            )
            .await
            .with_context(|| what.clone())?
        }
    };
    crate::timings::report(|| {
        format!(
            "model {}: {:.2} s, {rows} rows, {} MiB in {storage:?}",
            model.name,
            started.elapsed().as_secs_f64(),
            bytes >> 20
        )
    });
    Ok((rows, bytes, storage))
}

/// Runs a model here and registers its rows: in memory within `budget`, else as
/// Parquet under `spill`.
async fn read_here(
    ctx: &SessionContext,
    model: &SavedQuery,
    values: &HashMap<String, ScalarValue>,
    budget: Option<usize>,
    spill: Option<&Path>,
) -> Result<(usize, usize, Storage)> {
    let frame = model.frame(ctx, values).await?;
    let streams = frame.execute_stream_partitioned().await?;
    match read(streams, budget, spill, &model.name).await? {
        Read::Memory { schema, partitions } => {
            let rows = partitions.iter().flatten().map(RecordBatch::num_rows).sum();
            let bytes = partitions.iter().flatten().map(batch_bytes).sum();
            let table = MemTable::try_new(schema, partitions)?;
            ctx.register_table(model.name.as_str(), Arc::new(table))?;
            Ok((rows, bytes, Storage::Memory))
        }
        Read::Parquet { folder, rows } => {
            let folder = Location::Local(folder);
            register_folder(ctx, &model.name, &folder, None).await?;
            Ok((rows, stored_bytes(&folder).await?, Storage::Parquet))
        }
    }
}

/// Runs a model on the cluster and writes its rows as Parquet to `folder`, where the
/// executors read them; returns the rows and bytes written.
///
/// The rows pass through this process: with Ballista 55's executors writing them
/// (`COPY ... TO`), a lost executor can make the job succeed with some partitions'
/// rows twice over, where one sending results here fails the stream, and the query
/// runs again from the start.
async fn place_on_cluster(
    ctx: &SessionContext,
    model: &SavedQuery,
    values: &HashMap<String, ScalarValue>,
    folder: &Location,
) -> Result<(usize, usize)> {
    // What an attempt that lost its executor left behind.
    remove_all(folder).await?;
    let frame = model.frame(ctx, values).await?;
    let schema = frame.schema().as_arrow().clone();
    let streams = frame.execute_stream_partitioned().await?;
    // An object-store folder is written locally first, then uploaded.
    let staging;
    let parent = match folder.as_local() {
        Some(path) => path.parent().unwrap_or(path),
        None => {
            staging = tempfile::Builder::new()
                .prefix("mspkpi-model-")
                .tempdir()
                .context("cannot create a temporary folder for a model")?;
            staging.path()
        }
    };
    let Read::Parquet {
        folder: written,
        rows,
    } = read(streams, Some(0), Some(parent), &model.name).await?
    else {
        bail!("a model on a cluster stayed in memory");
    };
    if rows == 0 {
        // An empty file read into a shuffle makes Ballista 55 rerun that stage without
        // end: an empty model is a relation that plans without one.
        ctx.register_table(
            model.name.as_str(),
            crate::data::catalog::empty_table(ctx, &schema)?,
        )?;
        return Ok((0, 0));
    }
    if folder.as_local().is_none() {
        upload(&written, folder).await?;
    }
    register_folder(ctx, &model.name, folder, Some(&schema)).await?;
    Ok((rows, stored_bytes(folder).await?))
}

/// Copies the files of a local folder to an object-store folder, streaming each in
/// parts.
async fn upload(local: &Path, folder: &Location) -> Result<()> {
    let (store, _) = object_stores::store_for(folder)?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(local)
        .with_context(|| format!("cannot read {}", local.display()))?
        .filter_map(|entry| Some(entry.ok()?.path()))
        .collect();
    files.sort();
    for file in files {
        let Some(name) = file.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let target = folder.join(name);
        let (_, key) = object_stores::store_for(&target)?;
        let mut source = tokio::fs::File::open(&file)
            .await
            .with_context(|| format!("cannot open {}", file.display()))?;
        let mut sink = object_store::buffered::BufWriter::new(store.clone(), key);
        tokio::io::copy(&mut source, &mut sink)
            .await
            .with_context(|| format!("cannot write {target}"))?;
        tokio::io::AsyncWriteExt::shutdown(&mut sink)
            .await
            .with_context(|| format!("cannot write {target}"))?;
    }
    Ok(())
}

/// Registers a folder of Parquet files as the model `name`. With `schema`, the
/// table has the query's own types, and a model without rows (whose folder may hold
/// no file) is an empty table.
async fn register_folder(
    ctx: &SessionContext,
    name: &str,
    folder: &Location,
    schema: Option<&arrow::datatypes::Schema>,
) -> Result<()> {
    let mut options = ParquetReadOptions::default();
    if let Some(schema) = schema {
        options = options.schema(schema);
    }
    ctx.register_parquet(name, format!("{folder}/"), options)
        .await
        .with_context(|| format!("cannot read the model back from {folder}"))
}

/// The bytes of the files under `folder`.
async fn stored_bytes(folder: &Location) -> Result<usize> {
    let (_, files) = object_stores::list(folder).await?;
    Ok(files.iter().map(|f| f.size as usize).sum())
}

/// Removes every file under `folder` (none is fine).
async fn remove_all(folder: &Location) -> Result<()> {
    if let Some(path) = folder.as_local() {
        return match std::fs::remove_dir_all(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("cannot remove {}", path.display()))
            }
            _ => Ok(()),
        };
    }
    let (store, objects) = object_stores::list(folder).await?;
    for object in objects {
        store
            .delete(&object.location)
            .await
            .map_err(|e| object_stores::explain(e, "cannot remove", folder))?;
    }
    Ok(())
}

impl Models {
    /// The run-scoped local folder models are written to, if any.
    pub fn spill_folder(&self) -> Option<PathBuf> {
        self.folder
            .as_ref()
            .map(RunFolder::location)
            .and_then(|l| l.as_local().map(Path::to_path_buf))
    }

    /// Bytes the in-memory models hold.
    pub fn held(&self) -> usize {
        self.kept
            .lock()
            .unwrap_or_else(|e| e.into_inner())
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
        .map(|c| slice_bytes(c.as_ref()))
        .sum()
}

/// An array's slice of its buffers. Arrow's `get_slice_memory_size` counts a list's
/// values whole, however few of them the slice's offsets reach: a model's list column,
/// one array cut into batches, would count once per batch.
fn slice_bytes(array: &dyn Array) -> usize {
    let nulls = array.nulls().map_or(0, |n| n.len().div_ceil(8));
    match array.data_type() {
        DataType::List(_) => nulls + list_slice_bytes(array.as_list::<i32>()),
        DataType::LargeList(_) => nulls + list_slice_bytes(array.as_list::<i64>()),
        // a sliced struct's fields are sliced with it
        DataType::Struct(_) => {
            nulls
                + array
                    .as_struct()
                    .columns()
                    .iter()
                    .map(|c| slice_bytes(c.as_ref()))
                    .sum::<usize>()
        }
        _ => array.to_data().get_slice_memory_size().unwrap_or(0),
    }
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

/// A list's offsets, and the values they reach.
fn list_slice_bytes<O: OffsetSizeTrait>(list: &GenericListArray<O>) -> usize {
    let offsets = list.value_offsets();
    let (first, last) = (offsets[0].as_usize(), offsets[offsets.len() - 1].as_usize());
    size_of_val(offsets) + slice_bytes(list.values().slice(first, last - first).as_ref())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Array, ArrayRef, Int64Array, ListArray};
    use arrow::datatypes::Int64Type;

    use super::slice_bytes;

    #[test]
    fn slices_of_a_list_count_their_own_values_only() {
        let rows: Vec<Option<Vec<Option<i64>>>> =
            (0..1000).map(|i| Some(vec![Some(i); 10])).collect();
        let list: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int64Type, _, _>(rows));
        let whole = slice_bytes(list.as_ref());
        // 10,000 values of 8 bytes, 1,001 offsets of 4
        assert_eq!(whole, 10_000 * 8 + 1001 * 4);
        let halves =
            slice_bytes(list.slice(0, 500).as_ref()) + slice_bytes(list.slice(500, 500).as_ref());
        assert_eq!(halves, 10_000 * 8 + 2 * 501 * 4);
        let plain: ArrayRef = Arc::new(Int64Array::from_iter_values(0..100));
        assert_eq!(slice_bytes(plain.slice(0, 10).as_ref()), 80);
    }
}
