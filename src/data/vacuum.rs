//! `mspkpi vacuum`: removes the files of a data directory's Delta tables that no
//! snapshot a reader may still hold needs.
//!
//! The rule is Delta's own, applied to whole imports: an import stays readable while it
//! is the latest, and for the retention after the next import replaced it. A reader
//! that started before the vacuum read an import that was the latest when it started;
//! unless it has run for longer than the retention, its files are kept. Files written
//! within the retention are never removed either (an import may be committing them).
//! So `--as-of` reaches back as far as the retention, and no further once a vacuum ran.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Duration, Utc};

use crate::data::delta;
use crate::data::imports::{Import, Manifest};
use crate::data::location::Location;

/// What a vacuum removed (or, for a dry run, would remove).
#[derive(Debug, Default)]
pub struct Vacuumed {
    pub files: Vec<PathBuf>,
    pub bytes: u64,
    /// The imports whose files are kept, oldest first.
    pub kept_imports: Vec<u64>,
}

/// Parses a retention such as `7d`, `36h`, `90m` or `0s`.
pub fn parse_retention(text: &str) -> std::result::Result<Duration, String> {
    let text = text.trim();
    let (digits, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let value: i64 = digits
        .parse()
        .map_err(|_| format!("'{text}' is not a retention (e.g. 7d, 36h, 90m)"))?;
    match unit {
        "d" => Ok(Duration::days(value)),
        "h" => Ok(Duration::hours(value)),
        "m" => Ok(Duration::minutes(value)),
        "s" => Ok(Duration::seconds(value)),
        _ => Err(format!("'{text}': the unit must be d, h, m or s (e.g. 7d)")),
    }
}

/// The imports a reader may still hold at `now`: the latest, and every one that was
/// replaced less than `retain` ago.
fn held_imports(manifest: &Manifest, now: DateTime<Utc>, retain: Duration) -> Vec<&Import> {
    let imports = &manifest.imports;
    imports
        .iter()
        .enumerate()
        .filter(|(index, _)| match imports.get(index + 1) {
            None => true,
            Some(next) => next.committed_at > now - retain,
        })
        .map(|(_, import)| import)
        .collect()
}

/// Removes the data files of the Delta tables in `dir` that no held import needs and
/// that are older than `retain`. With `dry_run`, removes nothing and says what it would.
pub async fn vacuum(dir: &Path, retain: Duration, dry_run: bool) -> Result<Vacuumed> {
    let data = Location::Local(dir.to_path_buf());
    let Some(manifest) = Manifest::read(&data).await? else {
        bail!(
            "{} has no import manifest: vacuum removes what `mspkpi import` replaced in its Delta tables",
            dir.display()
        );
    };
    let now = Utc::now();
    let held = held_imports(&manifest, now, retain);
    // Each table's versions that a held import names.
    let mut versions: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
    for import in &held {
        for (table, version) in &import.tables {
            versions.entry(table).or_default().insert(*version);
        }
    }
    let cutoff = SystemTime::from(now - retain);
    let mut vacuumed = Vacuumed {
        kept_imports: held.iter().map(|i| i.import).collect(),
        ..Default::default()
    };
    for (table, versions) in versions {
        let folder = dir.join(table);
        if !delta::is_delta_folder(&folder) {
            continue;
        }
        let location = Location::Local(folder.clone());
        let mut needed: BTreeSet<PathBuf> = BTreeSet::new();
        for version in versions {
            let snapshot = delta::snapshot(&location, Some(version)).await?;
            needed.extend(
                snapshot
                    .file_locations(&location)
                    .into_iter()
                    .filter_map(|file| file.as_local().map(Path::to_path_buf)),
            );
        }
        let absolute = folder
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", folder.display()))?;
        for file in delta::files_below(&absolute)? {
            let path = absolute.join(&file.relative);
            if needed.contains(&path) || SystemTime::from(file.modified) >= cutoff {
                continue;
            }
            if !dry_run {
                std::fs::remove_file(&path)
                    .with_context(|| format!("cannot remove {}", path.display()))?;
            }
            vacuumed.bytes += file.size;
            vacuumed.files.push(path);
        }
    }
    Ok(vacuumed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retentions() {
        assert_eq!(parse_retention("7d"), Ok(Duration::days(7)));
        assert_eq!(parse_retention("36h"), Ok(Duration::hours(36)));
        assert_eq!(parse_retention("0s"), Ok(Duration::zero()));
        assert!(parse_retention("7").is_err());
        assert!(parse_retention("a week").is_err());
    }

    #[test]
    fn an_import_is_held_while_latest_and_for_the_retention_after() {
        let at = |h: i64| DateTime::<Utc>::from_timestamp(1_800_000_000 + h * 3600, 0).unwrap();
        let import = |n: u64, h: i64| Import {
            import: n,
            committed_at: at(h),
            tables: BTreeMap::new(),
        };
        let manifest = Manifest {
            imports: vec![import(1, 0), import(2, 24), import(3, 200)],
        };
        let held = |now: i64, retain: i64| -> Vec<u64> {
            held_imports(&manifest, at(now), Duration::hours(retain))
                .iter()
                .map(|i| i.import)
                .collect()
        };
        // Import 1 was replaced at hour 24: held until hour 24 + retention.
        assert_eq!(held(201, 168), [2, 3]);
        assert_eq!(held(191, 168), [1, 2, 3]);
        assert_eq!(held(201, 0), [3]);
    }
}
