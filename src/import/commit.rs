//! How an import's staged tables become the data directory's: as new versions of Delta
//! tables and a manifest line (the default), or by swapping plain Parquet folders.
//!
//! The Delta commit, in order: each written table's files move from the staging folder
//! into the table's folder under names no version has used, and the table commits a
//! version that adds them and removes the files of its version before; a plain table
//! the import keeps is converted (a version 0 of its files as they are); then one line
//! appended to `_mspkpi/imports.ndjson` names every table's version. Readers take the
//! versions of the newest line, so an import is seen whole or not at all. A run killed
//! before that line leaves files and versions that no line names: readers never see
//! them, the next import commits over them, and `vacuum` removes their files.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::Utc;

use crate::data::delta::{self, Replace, TableFormat};
use crate::data::files;
use crate::data::imports::Manifest;
use crate::data::location::Location;
use crate::data::schema;

/// The format of `out` when the import is not told one: Delta for a new or empty folder
/// or one that already has Delta tables, Parquet for a plain data directory. A build
/// without Delta support writes new folders as Parquet.
pub fn format_of(out: &Path) -> TableFormat {
    if holds_delta(out) {
        return TableFormat::Delta;
    }
    if !delta::AVAILABLE {
        return TableFormat::Parquet;
    }
    let plain = fs::read_dir(out).is_ok_and(|entries| {
        entries.filter_map(|e| e.ok()).any(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            schema::table(name.trim_end_matches(".parquet")).is_some()
        })
    });
    if plain {
        TableFormat::Parquet
    } else {
        TableFormat::Delta
    }
}

/// Whether the data directory has an import manifest or a Delta table.
pub fn holds_delta(out: &Path) -> bool {
    out.join(crate::data::imports::FOLDER).exists()
        || fs::read_dir(out).is_ok_and(|entries| {
            entries
                .filter_map(|e| e.ok())
                .any(|entry| delta::is_delta_folder(&entry.path()))
        })
}

/// Commits the tables `written` (folders of `staging`) into the data directory `out`
/// as Delta versions, converts the plain tables it keeps, and appends the manifest
/// line. Returns the import's number.
pub async fn commit_delta(staging: &Path, out: &Path, written: &[&str]) -> Result<u64> {
    crate::pause::at("commit");
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let data = Location::Local(out.to_path_buf());
    let mut manifest = Manifest::read(&data).await?.unwrap_or_default();
    let before = manifest
        .latest()
        .map(|i| i.tables.clone())
        .unwrap_or_default();
    // Unique per import: a stamp of the time and the process.
    let stamp = format!(
        "{}-{}",
        Utc::now().format("%Y%m%dT%H%M%S%3f"),
        std::process::id()
    );
    let mut versions: BTreeMap<String, u64> = BTreeMap::new();
    for table in written {
        let folder = out.join(table);
        let moved = move_files(&staging.join(table), &folder, &stamp)?;
        let schema = staged_schema(&moved, &folder, table)?;
        let location = Location::Local(folder.clone());
        let version = delta::commit(&location, &schema, &[], moved, Replace::All).await?;
        versions.insert(table.to_string(), version);
        crate::pause::at("commit.table");
    }
    // The tables the import kept: their versions as the last import left them; a plain
    // table becomes a Delta table of its files as they are.
    for entry in fs::read_dir(out).with_context(|| format!("cannot list {}", out.display()))? {
        let entry = entry.with_context(|| format!("cannot list {}", out.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if versions.contains_key(&name) || name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        let folder = entry.path();
        if !folder.is_dir() || schema::table(&name).is_none() {
            continue;
        }
        let version = match before.get(&name) {
            Some(version) if delta::is_delta_folder(&folder) => *version,
            _ if delta::is_delta_folder(&folder) => {
                delta::snapshot(&Location::Local(folder.clone()), None)
                    .await?
                    .version
            }
            _ => {
                let mut files = delta::files_below(&folder)?;
                for file in &mut files {
                    file.rows = Some(rows_of(&folder.join(&file.relative))?);
                }
                let partitions = files
                    .first()
                    .map(|f| files::partition_keys(&folder, &folder.join(&f.relative)))
                    .unwrap_or_default();
                let schema = staged_schema(&files, &folder, &name)?;
                let location = Location::Local(folder.clone());
                delta::commit(&location, &schema, &partitions, files, Replace::All).await?
            }
        };
        versions.insert(name, version);
    }
    manifest.append(out, versions, Utc::now())
}

/// Moves every Parquet file below `from` into `to` under a name of this import, keeping
/// its sub-folders; returns them as files to add.
fn move_files(from: &Path, to: &Path, stamp: &str) -> Result<Vec<delta::NewFile>> {
    let staged = delta::files_below(from)?;
    let mut moved = Vec::new();
    for (index, file) in staged.into_iter().enumerate() {
        let relative = PathBuf::from(&file.relative);
        let name = format!("part-{stamp}-{index:05}.parquet");
        let target_relative = match relative.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(parent) => parent.join(&name),
            None => PathBuf::from(&name),
        };
        let target = to.join(&target_relative);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let source = from.join(&relative);
        fs::rename(&source, &target)
            .with_context(|| format!("cannot move {} to {}", source.display(), target.display()))?;
        moved.push(delta::NewFile {
            relative: target_relative.to_string_lossy().replace('\\', "/"),
            rows: Some(rows_of(&target)?),
            ..file
        });
    }
    crate::write::sync_tree(to)?;
    Ok(moved)
}

/// The rows of a Parquet file, from its footer: the log's `numRecords` of the file.
fn rows_of(path: &Path) -> Result<usize> {
    let (_, metadata) = crate::data::catalog::open_parquet(path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let rows = metadata.metadata().file_metadata().num_rows();
    usize::try_from(rows).with_context(|| format!("{}: {rows} rows", path.display()))
}

/// The Arrow schema of a table's files, from the first one's footer.
fn staged_schema(
    files: &[delta::NewFile],
    folder: &Path,
    table: &str,
) -> Result<arrow::datatypes::Schema> {
    let Some(first) = files.first() else {
        anyhow::bail!(
            "table '{table}': no Parquet file to commit in {}",
            folder.display()
        );
    };
    let path = folder.join(&first.relative);
    let schema = crate::data::catalog::read_footer(&path)
        .map_err(|e| anyhow::anyhow!("table '{table}', file {}: {e}", path.display()))?;
    Ok(schema.as_ref().clone())
}
