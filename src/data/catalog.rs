//! Registers a data directory's tables in a DataFusion session, checked against the
//! canonical schema.
//!
//! Each table is a folder (hive partitions allowed) or a single `.parquet` file, on the
//! local disk or below an object-store prefix (`s3://bucket/data/`). Every
//! file's footer is read first, so a truncated or non-Parquet file is reported by its
//! path (parquet-rs's own errors do not name the file), and each column is checked
//! file by file. Compatible types (any integer width, any timestamp unit, a timestamp
//! without zone taken as UTC, any string type) are accepted and cast to the canonical
//! type by a view over the raw listing table.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::datatypes::{DataType, SchemaRef};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::physical_plan::parquet::metadata::DFParquetMetadata;
use datafusion::prelude::{SessionContext, cast, col, lit};
use datafusion::scalar::ScalarValue;
use futures::StreamExt;
use object_store::ObjectStoreExt;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};

use crate::data::delta::{self, Snapshot};
use crate::data::files::{parquet_files, partition_keys};
use crate::data::imports::{AsOf, Manifest};
use crate::data::location::Location;
use crate::data::object_stores;
use crate::data::pinned::Pins;
use crate::data::schema::{self, Kind, TABLES, Table};

/// Where a table's data lives.
#[derive(Debug, Clone)]
pub struct TableSource {
    pub name: String,
    /// The folder or the single file.
    pub location: Location,
    pub files: Vec<Location>,
    /// Hive partition keys (`month` for `month=2026-10/`), outermost first.
    pub partitions: Vec<String>,
    /// A Delta table: the version the run reads, whose files are `files`.
    pub delta: Option<Snapshot>,
}

/// One thing wrong with a data directory's structure or schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaProblem {
    pub table: String,
    pub file: Option<Location>,
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for SchemaProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "table '{}'", self.table)?;
        if let Some(file) = &self.file {
            write!(f, ", file {file}")?;
        }
        if let Some(column) = &self.column {
            write!(f, ", column '{column}'")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// What a data directory holds, and what is wrong with it.
#[derive(Debug, Default)]
pub struct Inspection {
    pub tables: Vec<TableSource>,
    pub problems: Vec<SchemaProblem>,
}

/// Lists the data directory's tables, reads every file's footer and checks each
/// canonical table's columns. Does not stop at the first problem. Delta tables are
/// read at the versions of the import `as_of` names (the latest import without it;
/// each table's latest version where the directory has no import manifest).
pub async fn inspect(data: &Location, as_of: Option<AsOf>) -> Result<Inspection> {
    let versions = versions(data, as_of).await?;
    match data {
        Location::Local(dir) => inspect_folder(dir, &versions).await,
        Location::Object(_) => inspect_objects(data, &versions).await,
    }
}

/// The Delta version of each table a run reads, from the import manifest (empty
/// without one: each table at its latest version).
async fn versions(data: &Location, as_of: Option<AsOf>) -> Result<BTreeMap<String, u64>> {
    let manifest = Manifest::read(data).await?;
    let import = match (&manifest, as_of) {
        (None, None) => return Ok(BTreeMap::new()),
        (None, Some(as_of)) => anyhow::bail!(
            "--as-of {as_of}: {data} has no import manifest ({}/{}): time travel reads Delta tables written by `mspkpi import`",
            crate::data::imports::FOLDER,
            crate::data::imports::FILE
        ),
        (Some(manifest), Some(as_of)) => manifest.select(as_of, data)?,
        (Some(manifest), None) => match manifest.latest() {
            Some(latest) => latest,
            None => return Ok(BTreeMap::new()),
        },
    };
    Ok(import.tables.clone())
}

/// The Delta log of every version the import manifest names: each must be readable
/// (time travel reads them), and each table's columns must be the canonical ones. The
/// files of older imports may have been vacuumed; those of the import a run reads are
/// checked by [`inspect`].
pub async fn check_import_log(data: &Location) -> Result<Vec<SchemaProblem>> {
    let Some(manifest) = Manifest::read(data).await? else {
        return Ok(Vec::new());
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut problems = Vec::new();
    for import in &manifest.imports {
        for (table, version) in &import.tables {
            if !seen.insert((table.clone(), *version)) {
                continue;
            }
            let location = data.join(table);
            // A plain folder where the manifest names a version: an import's staging
            // folder, whose written tables are not committed yet.
            if location
                .as_local()
                .is_some_and(|folder| !delta::is_delta_folder(folder))
            {
                continue;
            }
            let problem = |message: String| SchemaProblem {
                table: table.clone(),
                file: None,
                column: None,
                message: format!("import {}: {message}", import.import),
            };
            let snapshot = match delta::snapshot(&location, Some(*version)).await {
                Err(error) => {
                    problems.push(problem(format!("{error:#}")));
                    continue;
                }
                Ok(snapshot) => snapshot,
            };
            // The version's schema checked as a file's footer is, under its name.
            let mut found = Vec::new();
            check_file(
                table,
                &location,
                Ok(snapshot.schema.clone()),
                &snapshot.partition_columns,
                &mut found,
            );
            problems.extend(found.into_iter().map(|p| {
                problem(format!(
                    "version {version}: column '{}' {}",
                    p.column.unwrap_or_default(),
                    p.message
                ))
            }));
        }
    }
    Ok(problems)
}

/// A Delta table at the version the run reads, each of its files' footer read and
/// checked; `None` (with the problem recorded) when its log cannot be read.
async fn inspect_delta(
    name: String,
    location: Location,
    versions: &BTreeMap<String, u64>,
    problems: &mut Vec<SchemaProblem>,
) -> Option<TableSource> {
    let problem = |message: String| SchemaProblem {
        table: name.clone(),
        file: None,
        column: None,
        message,
    };
    let opened = async {
        let snapshot = delta::snapshot(&location, versions.get(&name).copied()).await?;
        let store = object_stores::store_for(&location)?.0;
        anyhow::Ok((snapshot, store))
    };
    let (snapshot, store) = match opened.await {
        Ok(opened) => opened,
        Err(error) => {
            problems.push(problem(format!("{error:#}")));
            return None;
        }
    };
    let footers: Vec<std::result::Result<SchemaRef, String>> = futures::stream::iter(
        snapshot
            .files
            .iter()
            .map(|meta| read_object_footer(store.as_ref(), meta)),
    )
    .buffered(FOOTER_READS)
    .collect()
    .await;
    let files = snapshot.file_locations(&location);
    for ((meta, file), footer) in snapshot.files.iter().zip(&files).zip(footers) {
        // A file the version names that is not there was vacuumed, not damaged.
        let footer = match footer {
            Err(_)
                if matches!(
                    store.head(&meta.location).await,
                    Err(object_store::Error::NotFound { .. })
                ) =>
            {
                Err(vacuumed(snapshot.version))
            }
            footer => footer,
        };
        check_file(&name, file, footer, &snapshot.partition_columns, problems);
    }
    Some(TableSource {
        name,
        location,
        files,
        partitions: snapshot.partition_columns.clone(),
        delta: Some(snapshot),
    })
}

async fn inspect_folder(dir: &Path, versions: &BTreeMap<String, u64>) -> Result<Inspection> {
    if !dir.is_dir() {
        anyhow::bail!(
            "data directory {} does not exist or is not a folder",
            dir.display()
        );
    }
    let mut inspection = Inspection::default();
    let mut names: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if file_name.starts_with('.') || file_name.starts_with('_') {
            continue;
        }
        let name = match file_name.strip_suffix(".parquet") {
            Some(stem) if entry.path().is_file() => stem.to_string(),
            None if entry.path().is_dir() => file_name,
            _ => continue,
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names.sort();
    missing_tables(&dir.display().to_string(), &names, &mut inspection.problems);
    for name in names {
        let folder = dir.join(&name);
        if delta::is_delta_folder(&folder) {
            let location = Location::Local(folder);
            let table = inspect_delta(name, location, versions, &mut inspection.problems).await;
            inspection.tables.extend(table);
            continue;
        }
        let (location, mut files) = if folder.is_dir() {
            let files = parquet_files(&folder)?;
            (folder, files)
        } else {
            let file = dir.join(format!("{name}.parquet"));
            (file.clone(), vec![file])
        };
        files.sort();
        let partitions = files
            .first()
            .map(|f| partition_keys(&location, f))
            .unwrap_or_default();
        if files.is_empty() {
            inspection.problems.push(SchemaProblem {
                table: name.clone(),
                file: None,
                column: None,
                message: format!("no .parquet files in {}", location.display()),
            });
            continue;
        }
        for file in &files {
            let keys = partition_keys(&location, file);
            check_file(
                &name,
                &file.as_path().into(),
                read_footer(file),
                &keys,
                &mut inspection.problems,
            );
        }
        inspection.tables.push(TableSource {
            name,
            location: location.into(),
            files: files.into_iter().map(Location::Local).collect(),
            partitions,
            delta: None,
        });
    }
    Ok(inspection)
}

/// A problem for each required table that `names` lacks, and for `statuses` when
/// `ticket_status` is there without it.
fn missing_tables(root: &str, names: &[String], problems: &mut Vec<SchemaProblem>) {
    let root = root.trim_end_matches('/');
    let has = |name: &str| names.iter().any(|n| n == name);
    if has(schema::TICKET_STATUS) && !has(schema::STATUSES) {
        problems.push(SchemaProblem {
            table: schema::STATUSES.into(),
            file: None,
            column: None,
            message: format!(
                "missing: table '{}' needs it to know which statuses stop the SLA clocks; expected a folder {root}/{1}/ or a file {root}/{1}.parquet",
                schema::TICKET_STATUS,
                schema::STATUSES
            ),
        });
    }
    for table in &TABLES {
        if table.required && !has(table.name) {
            problems.push(SchemaProblem {
                table: table.name.into(),
                file: None,
                column: None,
                message: format!(
                    "missing: expected a folder {root}/{0}/ or a file {root}/{0}.parquet",
                    table.name
                ),
            });
        }
    }
}

/// Records what is wrong with one file of a table: an unreadable footer, or columns
/// of a canonical table that are missing or of the wrong type.
fn check_file(
    table: &str,
    file: &Location,
    footer: std::result::Result<SchemaRef, String>,
    partition_keys: &[String],
    problems: &mut Vec<SchemaProblem>,
) {
    match footer {
        Err(message) => problems.push(SchemaProblem {
            table: table.to_string(),
            file: Some(file.clone()),
            column: None,
            message,
        }),
        Ok(file_schema) => {
            if let Some(canonical) = schema::table(table) {
                check_columns(canonical, &file_schema, partition_keys, file, problems);
            }
        }
    }
}

/// Footers read at once from an object store.
const FOOTER_READS: usize = 16;

/// [`inspect`] for an object-store prefix: the objects listed once, each footer read
/// with two ranged requests.
async fn inspect_objects(data: &Location, versions: &BTreeMap<String, u64>) -> Result<Inspection> {
    let (store, objects) = object_stores::list(data).await?;
    let prefix = data.object_path().unwrap_or_default();
    // Tables with a log: their files are the log's, never a listing's.
    let mut delta_tables: Vec<String> = Vec::new();
    for meta in &objects {
        let Some(mut parts) = meta.location.prefix_match(&prefix) else {
            continue;
        };
        if let (Some(table), Some(folder)) = (parts.next(), parts.next())
            && folder.as_ref() == delta::LOG_FOLDER
            && !delta_tables.iter().any(|t| t == table.as_ref())
        {
            delta_tables.push(table.as_ref().to_string());
        }
    }
    // Each object by its path below the prefix, hidden ones ('.', '_') left out.
    let below: Vec<(Vec<String>, object_store::ObjectMeta)> = objects
        .into_iter()
        .filter_map(|meta| {
            let parts: Vec<String> = meta
                .location
                .prefix_match(&prefix)?
                .map(|p| p.as_ref().to_string())
                .collect();
            let hidden = parts
                .iter()
                .any(|p| p.starts_with('.') || p.starts_with('_'));
            (!hidden && !parts.is_empty()).then_some((parts, meta))
        })
        .collect();
    let mut names: Vec<String> = Vec::new();
    for (parts, _) in &below {
        let name = match parts.as_slice() {
            [file] => match file.strip_suffix(".parquet") {
                Some(stem) => stem.to_string(),
                None => continue,
            },
            [folder, ..] => folder.clone(),
            [] => continue,
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names.sort();
    let mut inspection = Inspection::default();
    missing_tables(&data.to_string(), &names, &mut inspection.problems);
    for name in names {
        if delta_tables.contains(&name) {
            let location = data.join(&name);
            let table = inspect_delta(name, location, versions, &mut inspection.problems).await;
            inspection.tables.extend(table);
            continue;
        }
        let single = format!("{name}.parquet");
        let in_folder = |parts: &[String]| parts.len() > 1 && parts[0] == name;
        let is_folder = below.iter().any(|(parts, _)| in_folder(parts));
        let files: Vec<(&[String], &object_store::ObjectMeta)> = below
            .iter()
            .filter(|(parts, _)| {
                if is_folder {
                    in_folder(parts) && parts.last().is_some_and(|f| f.ends_with(".parquet"))
                } else {
                    parts.len() == 1 && parts[0] == single
                }
            })
            .map(|(parts, meta)| (parts.as_slice(), meta))
            .collect();
        let location = data.join(if is_folder { &name } else { &single });
        if files.is_empty() {
            inspection.problems.push(SchemaProblem {
                table: name.clone(),
                file: None,
                column: None,
                message: format!("no .parquet files in {location}"),
            });
            continue;
        }
        let keys_of = |parts: &[String]| -> Vec<String> {
            parts[..parts.len() - 1]
                .iter()
                .filter_map(|p| p.split_once('=').map(|(k, _)| k.to_string()))
                .collect()
        };
        let footers: Vec<std::result::Result<SchemaRef, String>> = futures::stream::iter(
            files
                .iter()
                .map(|(_, meta)| read_object_footer(store.as_ref(), meta)),
        )
        .buffered(FOOTER_READS)
        .collect()
        .await;
        let mut sources = Vec::new();
        for ((parts, _), footer) in files.iter().zip(footers) {
            let file = data.join(&parts.join("/"));
            check_file(
                &name,
                &file,
                footer,
                &keys_of(parts),
                &mut inspection.problems,
            );
            sources.push(file);
        }
        inspection.tables.push(TableSource {
            name,
            location,
            files: sources,
            partitions: files
                .first()
                .map(|(parts, _)| keys_of(parts))
                .unwrap_or_default(),
            delta: None,
        });
    }
    Ok(inspection)
}

/// Why a file of a Delta version is not there.
fn vacuumed(version: u64) -> String {
    format!(
        "is missing, though version {version} of the table names it: removed by `mspkpi vacuum`? (an import replaced longer ago than the retention can no longer be read)"
    )
}

async fn read_object_footer(
    store: &dyn object_store::ObjectStore,
    meta: &object_store::ObjectMeta,
) -> std::result::Result<SchemaRef, String> {
    if meta.size < 12 {
        return Err(format!(
            "not a Parquet file ({} bytes, truncated or empty)",
            meta.size
        ));
    }
    DFParquetMetadata::new(store, meta)
        .fetch_schema()
        .await
        .map(Arc::new)
        .map_err(|e| format!("not a readable Parquet file (truncated or corrupt?): {e}"))
}

/// The Arrow schema stored in a Parquet file's footer, or why it cannot be read.
pub fn read_footer(path: &Path) -> std::result::Result<SchemaRef, String> {
    open_parquet(path).map(|(_, metadata)| metadata.schema().clone())
}

/// A Parquet file opened with its footer read, or why it cannot be.
pub fn open_parquet(path: &Path) -> std::result::Result<(File, ArrowReaderMetadata), String> {
    let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let length = file.metadata().map(|m| m.len()).unwrap_or(0);
    if length < 12 {
        return Err(format!(
            "not a Parquet file ({length} bytes, truncated or empty)"
        ));
    }
    // The footer decoder can panic on damaged metadata instead of returning an error.
    match std::panic::catch_unwind(|| ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())) {
        Ok(Ok(metadata)) => Ok((file, metadata)),
        Ok(Err(e)) => Err(format!(
            "not a readable Parquet file (truncated or corrupt?): {e}"
        )),
        Err(_) => Err("not a readable Parquet file (corrupt footer)".into()),
    }
}

/// Whether a file's type can be read as the canonical kind.
pub fn compatible(kind: Kind, data_type: &DataType) -> bool {
    use DataType::*;
    match kind {
        Kind::Text => match data_type {
            Utf8 | LargeUtf8 | Utf8View | Null => true,
            Dictionary(_, value) => matches!(**value, Utf8 | LargeUtf8 | Utf8View),
            _ => false,
        },
        Kind::Timestamp => matches!(data_type, Timestamp(_, _) | Null),
        Kind::Date => matches!(data_type, Date32 | Date64 | Timestamp(_, _) | Null),
        Kind::Int32 => data_type.is_integer() || data_type.is_null(),
        Kind::Float64 => data_type.is_numeric() || data_type.is_null(),
        Kind::Boolean => matches!(data_type, Boolean | Null),
    }
}

pub fn kind_description(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "text",
        Kind::Timestamp => "a timestamp",
        Kind::Date => "a date",
        Kind::Int32 => "an integer",
        Kind::Float64 => "a number",
        Kind::Boolean => "a boolean",
    }
}

fn check_columns(
    table: &Table,
    file_schema: &SchemaRef,
    partition_keys: &[String],
    file: &Location,
    problems: &mut Vec<SchemaProblem>,
) {
    let optional = table.optional_columns.iter().map(|c| (c, true));
    for (column, optional) in table.columns.iter().map(|c| (c, false)).chain(optional) {
        let problem = |message: String| SchemaProblem {
            table: table.name.into(),
            file: Some(file.clone()),
            column: Some(column.name.into()),
            message,
        };
        match file_schema.field_with_name(column.name) {
            Ok(field) if !compatible(column.kind, field.data_type()) => {
                problems.push(problem(format!(
                    "has type {}, expected {} ({})",
                    field.data_type(),
                    kind_description(column.kind),
                    column.kind.label()
                )))
            }
            Ok(_) => {}
            Err(_) if optional || partition_keys.iter().any(|k| k == column.name) => {}
            Err(_) => problems.push(problem("is missing".into())),
        }
    }
}

/// Registers every table of the directory: canonical tables as views that cast to the
/// canonical types, other tables (e.g. `calendars`) as they are. Any schema problem is
/// an error that names the table, the file and the column.
pub async fn register(
    ctx: &SessionContext,
    dir: &Location,
    as_of: Option<AsOf>,
) -> Result<Vec<TableSource>> {
    if let Location::Local(path) = dir {
        crate::write::recover(path)?;
    }
    pin(ctx, dir)?;
    let inspection = inspect(dir, as_of).await?;
    if !inspection.problems.is_empty() {
        const SHOWN: usize = 5;
        let mut message: Vec<String> = inspection
            .problems
            .iter()
            .take(SHOWN)
            .map(|p| p.to_string())
            .collect();
        let more = inspection.problems.len().saturating_sub(SHOWN);
        if more > 0 {
            message.push(format!("... and {more} more"));
        }
        message.push(format!(
            "(run `mspkpi validate --data {dir}` for a full report)"
        ));
        anyhow::bail!("{}", message.join("\n"));
    }
    register_sources(ctx, &inspection.tables).await?;
    register_absent_optional_tables(ctx, &inspection.tables)?;
    crate::pause::at("registered");
    Ok(inspection.tables)
}

/// Pins the data directory in the session's stores: from here on, every query of the
/// session reads the files the tables' registration lists, as they were then (see
/// [`crate::data::pinned`]).
fn pin(ctx: &SessionContext, dir: &Location) -> Result<()> {
    let Some(pins) = ctx.state().config().get_extension::<Pins>() else {
        return Ok(());
    };
    if let Some((store, prefix)) = pinned_key(dir)? {
        pins.pin(&store, prefix);
    }
    Ok(())
}

/// A location's store and path as [`Pins`] names them; `None` for a local folder that
/// is not there (it has nothing to pin; inspecting it says so).
fn pinned_key(location: &Location) -> Result<Option<(String, object_store::path::Path)>> {
    Ok(match location {
        Location::Local(path) => {
            let Ok(absolute) = path.canonicalize() else {
                return Ok(None);
            };
            let prefix = object_store::path::Path::from_filesystem_path(&absolute)
                .with_context(|| format!("{}: not a usable path", path.display()))?;
            Some((object_stores::LOCAL_STORE.to_string(), prefix))
        }
        Location::Object(url) => Some((
            object_stores::bucket_store(url),
            location.object_path().unwrap_or_default(),
        )),
    })
}

/// Fixes a Delta table's listing to the files of the version the run reads.
fn fix_delta_listing(ctx: &SessionContext, source: &TableSource) -> Result<()> {
    let (Some(snapshot), Some(pins)) =
        (&source.delta, ctx.state().config().get_extension::<Pins>())
    else {
        return Ok(());
    };
    if let Some((store, prefix)) = pinned_key(&source.location)? {
        pins.fix(&store, prefix, snapshot.files.clone());
    }
    Ok(())
}

/// Whether the tables hold a status history (`ticket_status`).
pub fn has_status_history(sources: &[TableSource]) -> bool {
    sources.iter().any(|s| s.name == schema::TICKET_STATUS)
}

/// Registers each optional canonical table the data lacks as an empty table of its
/// schema, so that the queries that read it run unchanged (no status history: nothing
/// pauses).
fn register_absent_optional_tables(ctx: &SessionContext, sources: &[TableSource]) -> Result<()> {
    for table in TABLES.iter().filter(|t| !t.required) {
        if !sources.iter().any(|s| s.name == table.name) {
            ctx.register_table(table.name, empty_table(ctx, &table.schema())?)?;
        }
    }
    Ok(())
}

/// A table without rows of `schema`, as a relation the optimizer sees to be empty:
/// it plans on a cluster (where an empty file as the input of a shuffle makes Ballista
/// 55 rerun the stage without end), and joins with it fold away.
pub fn empty_table(
    ctx: &SessionContext,
    schema: &arrow::datatypes::Schema,
) -> Result<Arc<dyn datafusion::catalog::TableProvider>> {
    let columns = schema
        .fields()
        .iter()
        .map(|f| cast(lit(ScalarValue::Null), f.data_type().clone()).alias(f.name()))
        .collect::<Vec<_>>();
    Ok(ctx
        .read_empty()?
        .select(columns)?
        .filter(lit(false))?
        .into_view())
}

/// Registers tables already inspected.
pub async fn register_sources(ctx: &SessionContext, sources: &[TableSource]) -> Result<()> {
    for source in sources {
        fix_delta_listing(ctx, source)?;
        register_table(ctx, source).await.with_context(|| {
            format!(
                "cannot register table '{}' from {}",
                source.name, source.location
            )
        })?;
    }
    Ok(())
}

/// A data file's location as a listing table takes it.
fn file_url(file: &Location) -> Result<String> {
    Ok(match file {
        Location::Local(path) => path
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", path.display()))?
            .to_string_lossy()
            .into_owned(),
        Location::Object(url) => url.to_string(),
    })
}

async fn register_table(ctx: &SessionContext, source: &TableSource) -> Result<()> {
    let mut url_text = match &source.location {
        Location::Local(path) => {
            let location = path
                .canonicalize()
                .with_context(|| format!("cannot resolve {}", path.display()))?;
            let mut text = location.to_string_lossy().into_owned();
            if location.is_dir() {
                text.push('/');
            }
            text
        }
        Location::Object(url) => {
            let mut text = url.to_string();
            if !text.ends_with(".parquet") {
                text.push('/');
            }
            text
        }
    };
    if url_text.ends_with("//") {
        url_text.pop();
    }
    let mut urls = vec![ListingTableUrl::parse(&url_text)?];
    if let Some(snapshot) = &source.delta {
        if snapshot.partition_columns.is_empty() && !source.files.is_empty() {
            // An unpartitioned Delta table: its version's files by name, so that every
            // planner reads exactly those, a cluster's scheduler (which lists a folder
            // itself) included.
            urls = source
                .files
                .iter()
                .map(|file| Ok(ListingTableUrl::parse(file_url(file)?)?))
                .collect::<Result<_>>()?;
        } else if crate::cluster::is_remote(ctx) {
            anyhow::bail!(
                "the Delta table {} is partitioned (by {}): on a cluster, whose scheduler lists folders itself, mspkpi reads unpartitioned Delta tables only; run without --cluster",
                source.location,
                snapshot.partition_columns.join(", ")
            );
        }
    }
    let url = urls[0].clone();
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(
            source
                .partitions
                .iter()
                .map(|k| (k.clone(), DataType::Utf8))
                .collect(),
        );
    let file_schema = options.infer_schema(&ctx.state(), &url).await?;
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(file_schema);
    let raw = Arc::new(ListingTable::try_new(config)?);
    let frame = ctx.read_table(raw)?;
    let Some(table) = schema::table(&source.name) else {
        ctx.register_table(source.name.as_str(), frame.into_view())?;
        return Ok(());
    };
    // Canonical columns first, cast where the file's type differs; extra columns kept.
    let raw_schema = frame.schema().clone();
    let mut columns = Vec::new();
    for column in table.columns.iter().chain(table.optional_columns) {
        let target = column.kind.data_type();
        let Ok(field) = raw_schema.field_with_unqualified_name(column.name) else {
            // An optional column the files leave out reads as NULL.
            columns.push(cast(lit(ScalarValue::Null), target).alias(column.name));
            continue;
        };
        let expr = col(format!("\"{}\"", column.name));
        let same = match column.kind {
            Kind::Text => matches!(
                field.data_type(),
                DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
            ),
            _ => field.data_type() == &target,
        };
        columns.push(if same {
            expr
        } else {
            cast(expr, target).alias(column.name)
        });
    }
    for field in raw_schema.fields() {
        if table.column(field.name()).is_none() {
            columns.push(col(format!("\"{}\"", field.name())));
        }
    }
    let view = frame.select(columns)?;
    ctx.register_table(source.name.as_str(), view.into_view())?;
    Ok(())
}
