//! Failures that are not the user's query: a panic anywhere (in a DataFusion task, a
//! decoder, our own code) becomes an ordinary error, and a read that fails is traced
//! back to the file, row group and column that cannot be decoded.
//!
//! parquet-rs panics on some damaged pages instead of returning an error, and neither
//! its errors nor DataFusion's name the file. So when a query fails in a way that damaged
//! data can explain, the tables' files are decoded again one column chunk at a time,
//! each inside `catch_unwind`, and the first chunk that fails names the file.

use std::any::Any;
use std::fmt;
use std::fs::File;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use anyhow::{Context, Result};
use datafusion::error::DataFusionError;
use futures::{FutureExt, StreamExt};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use parquet::basic::SortOrder;
use parquet::errors::ParquetError;
use parquet::file::metadata::ColumnChunkMetaData;
use parquet::file::statistics::Statistics;

use crate::data::catalog::TableSource;
use crate::data::location::Location;
use crate::data::pinned::ChangedDuringRun;
use mspkpi_udfs::KpiError;

/// `MSPKPI_DEBUG=1` shows panic messages and backtraces, which are otherwise kept off
/// the terminal.
pub fn debug_enabled() -> bool {
    std::env::var_os("MSPKPI_DEBUG").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Replaces the default panic hook, which prints the message (and, with
/// `RUST_BACKTRACE`, a backtrace) of every panic, even one that is caught and reported
/// as an error. With `MSPKPI_DEBUG=1` the message and a backtrace go to stderr.
pub fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        if debug_enabled() {
            eprintln!(
                "debug: {info}\n{}",
                std::backtrace::Backtrace::force_capture()
            );
        }
    }));
}

/// A panic turned into an error. Its message is shown only under `MSPKPI_DEBUG=1`: it
/// is a dependency's internal text, not something a user can act on.
#[derive(Debug)]
pub struct Panicked {
    pub message: String,
}

impl Panicked {
    pub fn from_payload(payload: Box<dyn Any + Send>) -> Self {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        Self { message }
    }
}

impl fmt::Display for Panicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "internal failure")?;
        if debug_enabled() {
            write!(f, " ({})", self.message)?;
        } else {
            write!(f, " (MSPKPI_DEBUG=1 shows details)")?;
        }
        Ok(())
    }
}

impl std::error::Error for Panicked {}

/// Runs a future, turning a panic inside it into an error.
pub async fn contain<T>(future: impl Future<Output = Result<T>>) -> Result<T> {
    match AssertUnwindSafe(future).catch_unwind().await {
        Ok(result) => result,
        Err(payload) => Err(Panicked::from_payload(payload).into()),
    }
}

/// Whether an error comes from reading or decoding data (or from a panic, which a
/// damaged page can cause), rather than from the query, its plan or a KPI function
/// (a [`KpiError`] is a value the data holds, read as it was written).
pub fn may_be_damaged_data(error: &anyhow::Error) -> bool {
    if crate::cluster::lost_executor(&format!("{error:#}")).is_some() {
        return false;
    }
    if KpiError::find(error.as_ref()).is_some() || ChangedDuringRun::find(error.as_ref()).is_some()
    {
        return false;
    }
    error.chain().any(|cause| {
        if cause.is::<Panicked>() || cause.is::<ParquetError>() {
            return true;
        }
        match cause
            .downcast_ref::<DataFusionError>()
            .map(|e| e.find_root())
        {
            Some(root) => matches!(
                root,
                DataFusionError::ParquetError(_)
                    | DataFusionError::ArrowError(..)
                    // a damaged footer's statistics trip DataFusion's own assertions
                    | DataFusionError::Internal(_)
                    | DataFusionError::ExecutionJoin(_)
                    | DataFusionError::IoError(_)
                    | DataFusionError::External(_)
            ),
            None => false,
        }
    })
}

/// Whether an error carries a panic's text (DataFusion reports a panicked task as a
/// join error that quotes the panic message).
fn carries_panic_text(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| cause.to_string().contains("panicked"))
}

/// A column chunk that cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedFile {
    pub table: String,
    pub file: Location,
    pub row_group: Option<usize>,
    pub column: Option<String>,
    /// The decoder's error, or "" when it panicked (its text helps nobody).
    pub detail: String,
    /// Whether the footer's statistics are at fault rather than a page.
    pub statistics: bool,
}

impl DamagedFile {
    /// The problem without the table's name: where and what.
    pub fn problem(&self) -> String {
        let what = if self.statistics {
            "damaged footer statistics in"
        } else {
            "cannot decode data in"
        };
        let mut text = format!("{what} {}", self.file);
        match (&self.row_group, &self.column) {
            (Some(row_group), Some(column)) => {
                text.push_str(&format!(" (row group {row_group}, column {column})"))
            }
            (Some(row_group), None) => text.push_str(&format!(" (row group {row_group})")),
            _ => {}
        }
        match (self.statistics, self.detail.as_str()) {
            (true, detail) => text.push_str(&format!(": {detail}")),
            (false, "") => text.push_str(": corrupted page?"),
            (false, detail) => text.push_str(&format!(": corrupted page? ({detail})")),
        }
        text
    }
}

impl fmt::Display for DamagedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.table, self.problem())
    }
}

/// Whether a column chunk's footer statistics have a minimum above the maximum, in the
/// column's own sort order: a damaged footer (DataFusion's pruning asserts on it).
fn statistics_disagree(column: &ColumnChunkMetaData) -> bool {
    fn above<T: PartialOrd>(min: Option<T>, max: Option<T>) -> bool {
        matches!((min, max), (Some(min), Some(max)) if min > max)
    }
    let Some(statistics) = column.statistics() else {
        return false;
    };
    if statistics.is_min_max_deprecated() {
        return false;
    }
    let signed = match column.column_descr().sort_order() {
        SortOrder::SIGNED => true,
        SortOrder::UNSIGNED => false,
        SortOrder::UNDEFINED => return false,
    };
    match statistics {
        Statistics::Int32(s) if signed => above(s.min_opt(), s.max_opt()),
        Statistics::Int32(s) => above(
            s.min_opt().map(|v| *v as u32),
            s.max_opt().map(|v| *v as u32),
        ),
        Statistics::Int64(s) if signed => above(s.min_opt(), s.max_opt()),
        Statistics::Int64(s) => above(
            s.min_opt().map(|v| *v as u64),
            s.max_opt().map(|v| *v as u64),
        ),
        Statistics::Float(s) => above(s.min_opt(), s.max_opt()),
        Statistics::Double(s) => above(s.min_opt(), s.max_opt()),
        Statistics::ByteArray(_) if !signed => {
            above(statistics.min_bytes_opt(), statistics.max_bytes_opt())
        }
        _ => false,
    }
}

/// Decodes a row group's columns (all of them, or one leaf) at DataFusion's batch size.
fn decode(
    file: &File,
    metadata: &ArrowReaderMetadata,
    row_group: usize,
    projection: ProjectionMask,
) -> std::result::Result<(), String> {
    let input = file.try_clone().map_err(|e| format!("cannot open: {e}"))?;
    let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(input, metadata.clone())
        .with_row_groups(vec![row_group])
        .with_projection(projection)
        .with_batch_size(8192)
        .build()
        .map_err(|e| e.to_string())?;
    for batch in reader {
        batch.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Decodes every row group of one file (whole, then column by column where it fails)
/// and checks its footer statistics; the first problem, if any. Checks page checksums
/// where the writer stored them.
pub fn check_file(table: &str, path: &Path) -> Option<DamagedFile> {
    let damaged = |row_group: Option<usize>, column: Option<String>, detail: String| {
        Some(DamagedFile {
            table: table.to_string(),
            file: path.into(),
            row_group,
            column,
            detail,
            statistics: false,
        })
    };
    // The decoder's error, or "" for a panic (its text helps nobody).
    let contained = |f: &dyn Fn() -> std::result::Result<(), String>| {
        catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| Err(String::new()))
    };
    let (file, metadata) = match crate::data::catalog::open_parquet(path) {
        Ok(opened) => opened,
        Err(detail) => return damaged(None, None, detail),
    };
    let schema = metadata.metadata().file_metadata().schema_descr_ptr();
    for row_group in 0..metadata.metadata().num_row_groups() {
        let columns = metadata.metadata().row_group(row_group).columns();
        if let Some(column) = columns.iter().find(|c| statistics_disagree(c)) {
            return damaged(
                Some(row_group),
                Some(column.column_path().string()),
                "a minimum above the maximum".into(),
            )
            .map(|d| DamagedFile {
                statistics: true,
                ..d
            });
        }
        let whole = contained(&|| decode(&file, &metadata, row_group, ProjectionMask::all()));
        let Err(whole) = whole else { continue };
        for leaf in 0..schema.num_columns() {
            let alone = contained(&|| {
                decode(
                    &file,
                    &metadata,
                    row_group,
                    ProjectionMask::leaves(&schema, [leaf]),
                )
            });
            if let Err(detail) = alone {
                return damaged(
                    Some(row_group),
                    Some(schema.column(leaf).path().string()),
                    detail,
                );
            }
        }
        // Each column decodes alone, but not together: their row counts disagree.
        return damaged(Some(row_group), None, whole);
    }
    None
}

/// Decodes every file of the tables, a few at a time on blocking threads; the damaged
/// ones in table and file order.
pub async fn find_damaged(sources: &[TableSource]) -> Vec<DamagedFile> {
    let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
    let jobs = sources.iter().flat_map(|source| {
        source
            .files
            .iter()
            .map(|file| check_location(source.name.clone(), file.clone()))
    });
    futures::stream::iter(jobs)
        .buffered(parallel)
        .filter_map(|damaged| async move { damaged })
        .collect()
        .await
}

/// [`check_file`] on a blocking thread; an object is first copied to a temporary
/// file, since decoding every page reads all of it anyway.
async fn check_location(table: String, file: Location) -> Option<DamagedFile> {
    let copy = match &file {
        Location::Local(_) => None,
        Location::Object(_) => match download(&file).await {
            Ok(copy) => Some(copy),
            Err(error) => {
                return Some(DamagedFile {
                    table,
                    file,
                    row_group: None,
                    column: None,
                    detail: format!("cannot read: {}", crate::error_message(&error)),
                    statistics: false,
                });
            }
        },
    };
    let path = match (&file, &copy) {
        (Location::Local(path), _) => path.clone(),
        (_, Some(copy)) => copy.path().to_path_buf(),
        (_, None) => return None,
    };
    let checked = tokio::task::spawn_blocking(move || check_file(&table, &path)).await;
    checked
        .ok()
        .flatten()
        .map(|damaged| DamagedFile { file, ..damaged })
}

/// An object's bytes in a temporary file, removed when dropped.
async fn download(file: &Location) -> anyhow::Result<tempfile::NamedTempFile> {
    use std::io::Write;
    let (store, path) = crate::data::object_stores::store_for(file)?;
    let mut stream = object_store::ObjectStoreExt::get(store.as_ref(), &path)
        .await
        .map_err(|e| crate::data::object_stores::explain(e, "cannot read", file))?
        .into_stream();
    let mut copy = tempfile::NamedTempFile::new().context("cannot create a temporary file")?;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.with_context(|| format!("cannot read {file}"))?;
        copy.write_all(&chunk)
            .context("cannot write a temporary file")?;
    }
    Ok(copy)
}

/// The error to show for a failed run over `sources`: when damaged data can explain
/// it, the files that cannot be decoded; a panic's text never reaches the user.
pub async fn explain(error: anyhow::Error, sources: &[TableSource]) -> anyhow::Error {
    if let Some(changed) = ChangedDuringRun::find(error.as_ref()) {
        let file = changed.display_location();
        let same = |listed: &Location| match listed {
            Location::Local(path) => {
                path.canonicalize().is_ok_and(|p| p == Path::new(&file))
                    || Path::new(&file).ends_with(path)
            }
            Location::Object(_) => listed.to_string() == file,
        };
        return match sources.iter().find(|source| source.files.iter().any(same)) {
            Some(source) => anyhow::anyhow!("table '{}': {changed}", source.name),
            None => anyhow::anyhow!("{changed}"),
        };
    }
    if !may_be_damaged_data(&error) {
        return error;
    }
    let damaged = find_damaged(sources).await;
    if !damaged.is_empty() {
        let lines: Vec<String> = damaged.iter().map(|d| d.to_string()).collect();
        return anyhow::anyhow!(
            "{}\n(run `mspkpi validate` for a full report)",
            lines.join("\n")
        );
    }
    let error = if carries_panic_text(&error) && !debug_enabled() {
        without_panic_text(&error)
    } else {
        error
    };
    // No file fails on its own: the read failed for another reason, which the error
    // says; it is not the place to guess at damage.
    error
}

/// The error's contexts down to the first cause that quotes a panic, then "internal
/// failure" in its place.
fn without_panic_text(error: &anyhow::Error) -> anyhow::Error {
    let mut parts: Vec<String> = error
        .chain()
        .map(|cause| cause.to_string())
        .take_while(|text| !text.contains("panicked"))
        .collect();
    parts.push(
        Panicked {
            message: String::new(),
        }
        .to_string(),
    );
    anyhow::anyhow!("{}", parts.join(": "))
}

/// Runs a future over the tables of `sources`: a panic becomes an error, and a failure
/// that damaged data can explain names the damaged files.
pub async fn guarded<T>(
    sources: &[TableSource],
    future: impl Future<Output = Result<T>>,
) -> Result<T> {
    match contain(future).await {
        Ok(value) => Ok(value),
        Err(error) => Err(explain(error, sources).await),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value a KPI function rejects is the data as written, not damage: its files
    /// are not checked again. An arrow or Parquet error may be damage.
    #[test]
    fn a_kpi_error_is_not_a_sign_of_damaged_data() {
        let rejected = DataFusionError::from(KpiError::OutOfRange {
            function: "nps".into(),
            argument: "score".into(),
            value: "11".into(),
            expected: "from 0 to 10".into(),
        });
        let shared = DataFusionError::Shared(std::sync::Arc::new(rejected));
        let error = anyhow::Error::new(shared).context("saved query satisfaction");
        assert!(!may_be_damaged_data(&error));
        let decoding =
            DataFusionError::ParquetError(Box::new(ParquetError::General("bad page".into())));
        assert!(may_be_damaged_data(&anyhow::Error::new(decoding)));
    }
}
