//! The Parquet files of a local table folder, and the hive partition values of their
//! paths. Hidden entries ('.', '_': a Delta log, a staging folder) are left out.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Every `.parquet` file below `dir`, in path order.
pub fn parquet_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    collect(dir, &mut files)?;
    Ok(files)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read folder {}", dir.display()))?
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("cannot read folder {}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        if path.is_dir() {
            collect(&path, out)?;
        } else if name.ends_with(".parquet") {
            out.push(path);
        }
    }
    Ok(())
}

/// The hive partition keys and values of a file below `root`
/// (`month=2026-10/part.parquet`), outermost first.
pub fn partition_values(root: &Path, file: &Path) -> Vec<(String, String)> {
    file.parent()
        .and_then(|p| p.strip_prefix(root).ok())
        .map(|relative| {
            relative
                .components()
                .filter_map(|c| {
                    let c = c.as_os_str().to_string_lossy();
                    c.split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The hive partition keys of a file below `root`, outermost first.
pub fn partition_keys(root: &Path, file: &Path) -> Vec<String> {
    partition_values(root, file)
        .into_iter()
        .map(|(key, _)| key)
        .collect()
}
