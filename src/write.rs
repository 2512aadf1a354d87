//! Atomic output: folders via a staging folder flushed to disk and swapped in at the
//! end, so that a failed run never leaves half an output and a re-run replaces exactly
//! what it writes.
//!
//! The swap is one `renameat2(RENAME_EXCHANGE)` where the OS and file system have it: a
//! reader sees the old folder or the new one, never none. Elsewhere it is two renames
//! (the destination aside to `.<name>.old-<pid>`, the staging folder in); a run killed
//! between them is repaired by the next [`StagedDir::new`] of the same destination,
//! which puts the old folder back.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// How a canonical table's Parquet files are written (by `generate` and `import`):
/// zstd level 1, row groups of up to a million rows.
pub fn table_properties() -> Result<parquet::file::properties::WriterProperties> {
    table_properties_sorted_by(&[])
}

/// [`table_properties`] for rows written in ascending order of the columns at
/// `sorted_by` (indexes into the schema): the files say so in their row groups'
/// `sorting_columns`, from which DataFusion plans such a table as sorted (a GROUP BY on
/// those columns then streams instead of hashing every group at once).
pub fn table_properties_sorted_by(
    sorted_by: &[usize],
) -> Result<parquet::file::properties::WriterProperties> {
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::metadata::SortingColumn;
    let sorting: Vec<SortingColumn> = sorted_by
        .iter()
        .map(|&column| SortingColumn {
            column_idx: column as i32,
            descending: false,
            nulls_first: false,
        })
        .collect();
    Ok(parquet::file::properties::WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1)?))
        .set_max_row_group_row_count(Some(1 << 20))
        .set_sorting_columns((!sorting.is_empty()).then_some(sorting))
        .build())
}

/// A folder written under a temporary name beside its destination and swapped in by
/// [`StagedDir::commit`]. Dropped without commit, it is removed and the destination is
/// left as it was.
#[derive(Debug)]
pub struct StagedDir {
    staging: PathBuf,
    destination: PathBuf,
    committed: bool,
}

fn sibling(path: &Path, tag: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    path.with_file_name(format!(".{name}.{tag}-{}", std::process::id()))
}

impl StagedDir {
    pub fn new(destination: &Path) -> Result<Self> {
        let parent = destination
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create folder {}", parent.display()))?;
        recover(destination)?;
        let staging = sibling(destination, "staging");
        if staging.exists() {
            fs::remove_dir_all(&staging)
                .with_context(|| format!("cannot remove stale {}", staging.display()))?;
        }
        fs::create_dir_all(&staging)
            .with_context(|| format!("cannot create folder {}", staging.display()))?;
        Ok(Self {
            staging,
            destination: destination.to_path_buf(),
            committed: false,
        })
    }

    /// Where to write the contents.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Writes a file into the staged folder. The folder is the unit that appears whole
    /// or not at all, so the file needs no rename of its own; [`StagedDir::commit`]
    /// makes it durable.
    pub fn write(&self, relative: &Path, contents: &[u8]) -> Result<()> {
        let path = self.staging.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create folder {}", parent.display()))?;
        }
        fs::write(&path, contents).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Replaces the destination with the staged folder, once everything in it is on
    /// disk.
    pub fn commit(mut self) -> Result<()> {
        sync_tree(&self.staging)?;
        crate::pause::at("commit");
        if self.destination.exists() && exchange(&self.staging, &self.destination)? {
            // The staging path now holds the previous contents.
            self.committed = true;
            sync_parent(&self.destination)?;
            return fs::remove_dir_all(&self.staging)
                .with_context(|| format!("cannot remove the previous {}", self.staging.display()));
        }
        let old = sibling(&self.destination, "old");
        if self.destination.exists() {
            if old.exists() {
                fs::remove_dir_all(&old)
                    .with_context(|| format!("cannot remove stale {}", old.display()))?;
            }
            fs::rename(&self.destination, &old)
                .with_context(|| format!("cannot move {} aside", self.destination.display()))?;
            crate::pause::at("commit.between-renames");
        }
        if let Err(e) = fs::rename(&self.staging, &self.destination) {
            // Put the previous output back before reporting.
            if old.exists() {
                let _ = fs::rename(&old, &self.destination);
            }
            return Err(e).with_context(|| {
                format!("cannot move output into {}", self.destination.display())
            });
        }
        self.committed = true;
        sync_parent(&self.destination)?;
        match fs::remove_dir_all(&old) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("cannot remove the previous {}", old.display()))
            }
            _ => Ok(()),
        }
    }
}

/// Swaps two folders in one step; `false` where the OS or file system cannot
/// (`MSPKPI_TWO_RENAMES=1` says it cannot, for the tests of the other path).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> Result<bool> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    use rustix::io::Errno;
    if std::env::var_os("MSPKPI_TWO_RENAMES").is_some_and(|v| v == "1") {
        return Ok(false);
    }
    match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(true),
        Err(Errno::INVAL | Errno::NOSYS | Errno::NOTSUP) => Ok(false),
        Err(e) => Err(std::io::Error::from(e))
            .with_context(|| format!("cannot move output into {}", b.display())),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> Result<bool> {
    Ok(false)
}

/// Replaces the file at `path` with `contents` in one rename: a reader sees the old
/// file or the new one, whole.
pub fn replace_file(path: &Path, contents: &[u8]) -> Result<()> {
    use std::io::Write;
    let staged = sibling(path, "tmp");
    let written = fs::File::create(&staged).and_then(|mut file| {
        file.write_all(contents)?;
        file.sync_all()
    });
    if let Err(error) = written.and_then(|()| fs::rename(&staged, path)) {
        let _ = fs::remove_file(&staged);
        return Err(error).with_context(|| format!("cannot write {}", path.display()));
    }
    sync_parent(path)
}

/// Flushes the folder holding `path`, so that a rename inside it is on disk.
fn sync_parent(path: &Path) -> Result<()> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::File::open(parent)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot flush {} to disk", parent.display()))
}

/// Whether the process that named a sibling folder may still be using it.
fn alive(pid: u32) -> bool {
    pid == std::process::id()
        || !cfg!(target_os = "linux")
        || Path::new(&format!("/proc/{pid}")).exists()
}

/// Repairs what a killed run left beside `destination`: without the destination, the
/// newest `.<name>.old-<pid>` of a finished process is the last complete output and is
/// put back; beside a destination, such folders and finished processes' staging folders
/// are leftovers and are removed. An old folder is never removed while the destination
/// is missing.
pub fn recover(destination: &Path) -> Result<()> {
    let (Some(parent), Some(name)) = (destination.parent(), destination.file_name()) else {
        return Ok(());
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let name = name.to_string_lossy();
    let Ok(entries) = fs::read_dir(parent) else {
        return Ok(());
    };
    let mut old = Vec::new();
    let mut staging = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file_name.strip_prefix(&format!(".{name}.")) else {
            continue;
        };
        let (kind, pid) = rest.rsplit_once('-').unwrap_or((rest, ""));
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if alive(pid) {
            continue;
        }
        let modified = entry.metadata().and_then(|m| m.modified()).ok();
        match kind {
            "old" => old.push((modified, entry.path())),
            "staging" => staging.push(entry.path()),
            _ => {}
        }
    }
    old.sort();
    if !destination.exists()
        && let Some((_, newest)) = old.pop()
    {
        fs::rename(&newest, destination).with_context(|| {
            format!(
                "cannot restore {} from {} (left by a run that was stopped)",
                destination.display(),
                newest.display()
            )
        })?;
        eprintln!(
            "note: restored {} from {}, left by a run that was stopped while committing",
            destination.display(),
            newest.display()
        );
    }
    for (_, leftover) in old {
        fs::remove_dir_all(&leftover)
            .with_context(|| format!("cannot remove stale {}", leftover.display()))?;
    }
    for leftover in staging {
        fs::remove_dir_all(&leftover)
            .with_context(|| format!("cannot remove stale {}", leftover.display()))?;
    }
    Ok(())
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            files_under(&entry.path(), found)?;
        } else {
            found.push(entry.path());
        }
    }
    Ok(())
}

/// Flushes every file under `dir` to disk, and `dir` itself. The files sync on a few
/// threads at once: the file system commits concurrent syncs together, where one at a
/// time each waits for its own.
pub fn sync_tree(dir: &Path) -> Result<()> {
    let mut files = Vec::new();
    files_under(dir, &mut files).with_context(|| format!("cannot list {}", dir.display()))?;
    let share = files.len().div_ceil(8).max(1);
    let synced: Vec<Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(share)
            .map(|part| {
                scope.spawn(move || {
                    for path in part {
                        fs::File::open(path)
                            .and_then(|f| f.sync_all())
                            .with_context(|| format!("cannot flush {} to disk", path.display()))?;
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a thread flushing files failed")))
            })
            .collect()
    });
    for result in synced {
        result?;
    }
    fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot flush {} to disk", dir.display()))
}

/// A file name derived from data (a client id) that stays inside its folder: only
/// ASCII letters, digits, `-`, `_` and `.` survive, never a leading dot; an empty or
/// changed name gets a short hash of the original so that two ids never collide.
pub fn safe_file_stem(id: &str) -> String {
    let cleaned: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches('_').to_string();
    if !cleaned.is_empty() && cleaned == id && cleaned.len() <= 100 {
        return cleaned;
    }
    let short: String = cleaned.chars().take(60).collect();
    let prefix = if short.is_empty() { "client" } else { &short };
    format!("{prefix}-{:016x}", fnv1a(id.as_bytes()))
}

/// FNV-1a: a stable hash (the standard library's is not stable across releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names_stay_inside_and_stay_unique() {
        assert_eq!(safe_file_stem("C0001"), "C0001");
        for hostile in [
            "../../x",
            "a/b",
            "",
            ".",
            "..",
            "C0001/../../etc",
            "<script>",
        ] {
            let stem = safe_file_stem(hostile);
            assert!(
                !stem.is_empty() && !stem.starts_with('.'),
                "{hostile} -> {stem}"
            );
            assert!(
                !stem.contains('/') && !stem.contains('\\'),
                "{hostile} -> {stem}"
            );
        }
        assert_ne!(safe_file_stem("a/b"), safe_file_stem("a_b"));
        assert_ne!(safe_file_stem("a/b"), safe_file_stem("a?b"));
    }

    #[test]
    fn staged_dir_replaces_only_on_commit() {
        let root = tempfile::tempdir().unwrap();
        let destination = root.path().join("2026-10");
        fs::create_dir_all(&destination).unwrap();
        fs::write(destination.join("old.md"), "old").unwrap();
        {
            let staged = StagedDir::new(&destination).unwrap();
            fs::write(staged.path().join("new.md"), "new").unwrap();
            // dropped without commit
        }
        assert!(destination.join("old.md").exists());
        let staged = StagedDir::new(&destination).unwrap();
        fs::write(staged.path().join("new.md"), "new").unwrap();
        staged.commit().unwrap();
        assert!(!destination.join("old.md").exists());
        assert!(destination.join("new.md").exists());
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 1);
    }
}
