//! Delta Lake tables (delta-rs): a table folder holding a `_delta_log/` is a Delta table.
//!
//! Reading: a run resolves each Delta table once, to one version, and reads exactly the
//! Parquet files of that version: the catalog registers a listing table whose listing
//! is fixed to those files (see [`crate::data::pinned`]), so a plan carries plain file
//! paths, on one machine or to a cluster's executors, and a commit made meanwhile is
//! not seen. Tables whose log asks for a reader feature this path cannot honour
//! (deletion vectors, column mapping) are refused by name.
//!
//! Writing: the import writes its Parquet files into the table folder under names no
//! version has used, then commits one version that adds them and removes every file of
//! the version before. Old files stay until `vacuum` removes them.
//!
//! delta-rs is behind the `delta` cargo feature (see README's set-up); a build without
//! it keeps plain Parquet folders and refuses Delta tables by name ([`AVAILABLE`]).

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use object_store::ObjectMeta;

use crate::data::files;
use crate::data::location::Location;

#[cfg(feature = "delta")]
mod log;
#[cfg(feature = "delta")]
pub use log::{commit, register_s3_log_stores, snapshot};

// Compiled in tests too, so a build with delta-rs still checks the one without.
#[cfg(any(not(feature = "delta"), test))]
mod absent;
#[cfg(not(feature = "delta"))]
pub use absent::{commit, snapshot};

/// Whether this build reads and writes Delta tables (the `delta` cargo feature).
pub const AVAILABLE: bool = cfg!(feature = "delta");

/// The folder that makes a table folder a Delta table.
pub const LOG_FOLDER: &str = "_delta_log";

/// How a command stores a table it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TableFormat {
    /// A Delta Lake table: each write one commit, readers see one version, older
    /// versions stay readable until they are vacuumed.
    Delta,
    /// Plain Parquet folders, replaced by renaming folders.
    Parquet,
}

/// How a build without delta-rs gets it.
const BUILD_WITH_DELTA: &str =
    "build it with the `delta` feature (`cargo install --path . --features delta`)";

impl TableFormat {
    /// The format a command writes at `out`, checked before any work: Delta is refused
    /// in a build without delta-rs, and at a path delta-rs cannot name.
    pub fn check_writable_at(self, out: &Location) -> Result<Self> {
        self.available_in(AVAILABLE)?;
        if self == TableFormat::Delta {
            check_location(out)?;
        }
        Ok(self)
    }

    fn available_in(self, built_with_delta: bool) -> Result<Self> {
        if self == TableFormat::Delta && !built_with_delta {
            anyhow::bail!(
                "Delta tables need Delta Lake support, and this mspkpi was built without it: {BUILD_WITH_DELTA}, or use `--format parquet`"
            );
        }
        Ok(self)
    }
}

/// Refuses a Delta table location whose path holds a literal '%': delta-rs decodes a
/// table URL's path once more than it encodes it, so it would read and write a
/// different folder (`my%20data` as `my data`).
pub fn check_location(location: &Location) -> Result<()> {
    let literal_percent = match location {
        Location::Local(path) => std::path::absolute(path)
            .unwrap_or_else(|_| path.clone())
            .to_string_lossy()
            .contains('%'),
        // A URL's '%' is literal when it is "%25" or starts no escape.
        Location::Object(url) => url.path().match_indices('%').any(|(at, _)| {
            let escape = url.path().get(at + 1..at + 3).unwrap_or("");
            escape == "25" || escape.len() < 2 || !escape.bytes().all(|b| b.is_ascii_hexdigit())
        }),
    };
    if literal_percent {
        anyhow::bail!(
            "{location}: a Delta table's path cannot contain '%' (delta-rs would read it as another folder): rename the folder"
        );
    }
    Ok(())
}

/// A Delta table at the version a run reads.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub version: u64,
    /// The version's data files, by their paths in the table's store, with their sizes.
    pub files: Vec<ObjectMeta>,
    /// The table's partition columns, outermost first.
    pub partition_columns: Vec<String>,
    /// The table's schema as Arrow types.
    pub schema: arrow::datatypes::SchemaRef,
}

impl Snapshot {
    /// Each file's location, as `table` (the table's folder or prefix) names places.
    pub fn file_locations(&self, table: &Location) -> Vec<Location> {
        self.files
            .iter()
            .map(|file| match table {
                Location::Object(url) => {
                    let mut url = url.clone();
                    url.set_path(&format!("/{}", file.location));
                    Location::Object(url)
                }
                Location::Local(_) => {
                    Location::Local(std::path::PathBuf::from(format!("/{}", file.location)))
                }
            })
            .collect()
    }
}

/// Whether the local folder is a Delta table.
pub fn is_delta_folder(folder: &Path) -> bool {
    folder.join(LOG_FOLDER).is_dir()
}

/// A Parquet file already in a table's folder, to be added by [`commit`].
#[derive(Debug, Clone)]
pub struct NewFile {
    /// Its path below the table folder, '/'-separated (`month=2026-10/part-….parquet`).
    pub relative: String,
    pub size: u64,
    pub modified: DateTime<Utc>,
    pub partition_values: HashMap<String, Option<String>>,
    /// Its rows, where known (the log's `numRecords` statistic).
    pub rows: Option<usize>,
}

/// Which files of the version before a commit replaces.
#[derive(Debug, Clone, Copy)]
pub enum Replace<'a> {
    /// Every file: the table becomes the new files.
    All,
    /// The files of one partition (Delta's replaceWhere `column = 'value'`).
    Partition { column: &'a str, value: &'a str },
}

/// The files below a local folder a commit would add: every `.parquet` file outside the
/// log and hidden folders, with the hive partition values of its path.
pub fn files_below(folder: &Path) -> Result<Vec<NewFile>> {
    let mut files = Vec::new();
    for path in files::parquet_files(folder)? {
        let meta =
            std::fs::metadata(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let relative = path
            .strip_prefix(folder)
            .with_context(|| format!("{} is not below {}", path.display(), folder.display()))?;
        let relative: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        files.push(NewFile {
            relative: relative.join("/"),
            size: meta.len(),
            modified: meta
                .modified()
                .map(DateTime::<Utc>::from)
                .unwrap_or_else(|_| Utc::now()),
            partition_values: files::partition_values(folder, &path)
                .into_iter()
                .map(|(key, value)| (key, Some(value)))
                .collect(),
            rows: None,
        });
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_with_a_literal_percent_is_refused_for_delta_tables() {
        let local = Location::Local("/srv/msp 100%/data".into());
        let error = check_location(&local).unwrap_err().to_string();
        assert!(error.starts_with("/srv/msp 100%/data: a Delta table's path cannot contain '%'"));
        let s3 = Location::parse("s3://kpi/100%25/facts").unwrap();
        assert!(check_location(&s3).is_err());
        for fine in ["s3://kpi/my%20facts", "s3://kpi/facts"] {
            check_location(&Location::parse(fine).unwrap()).unwrap();
        }
        check_location(&Location::Local("/srv/msp reports/data".into())).unwrap();
    }

    #[test]
    fn a_build_without_delta_refuses_the_format_up_front_and_keeps_parquet() {
        let error = TableFormat::Delta.available_in(false).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("built without it: build it with the `delta` feature"),
            "{error}"
        );
        assert_eq!(
            TableFormat::Parquet.available_in(false).unwrap(),
            TableFormat::Parquet
        );
        assert_eq!(
            TableFormat::Delta.available_in(true).unwrap(),
            TableFormat::Delta
        );
    }
}
