//! The import manifest of a data directory with Delta tables: `_mspkpi/imports.ndjson`,
//! one line per committed import, naming the version of every table it left.
//!
//! An import commits each table's new version first and appends its line last, in one
//! atomic replace of the file: readers take the versions of the newest line, so a
//! reader never sees a table of a new import beside a table of the one before. A crash
//! between the table commits leaves versions that no line names; readers ignore them,
//! the next import commits over them (its versions are the tables' latest), and
//! `vacuum` removes their files once the retention has passed.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::data::location::Location;
use crate::data::object_stores;

/// The manifest's folder below the data directory; hidden from the catalog ('_').
pub const FOLDER: &str = "_mspkpi";
/// The manifest's file in [`FOLDER`].
pub const FILE: &str = "imports.ndjson";

/// One committed import: the version of each Delta table after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    /// 1 for the first import into the directory, then one more for each.
    pub import: u64,
    /// When its last table was committed.
    pub committed_at: DateTime<Utc>,
    /// Each table's Delta version.
    pub tables: BTreeMap<String, u64>,
}

/// Which import a run reads (`--as-of`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    /// An import's sequence number.
    Import(u64),
    /// The last import committed at or before this instant.
    Instant(DateTime<Utc>),
}

impl AsOf {
    /// `3` (an import) or an RFC 3339 instant such as `2026-11-01T06:00:00Z`.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let text = text.trim();
        if let Ok(import) = text.parse::<u64>() {
            return Ok(AsOf::Import(import));
        }
        DateTime::parse_from_rfc3339(text)
            .map(|t| AsOf::Instant(t.with_timezone(&Utc)))
            .map_err(|_| {
                format!(
                    "'{text}' is neither an import number (e.g. 3) nor an RFC 3339 time (e.g. 2026-11-01T06:00:00Z)"
                )
            })
    }
}

impl fmt::Display for AsOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AsOf::Import(import) => write!(f, "import {import}"),
            AsOf::Instant(at) => write!(f, "{}", at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        }
    }
}

/// The manifest's lines, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub imports: Vec<Import>,
}

impl Manifest {
    /// The manifest of a data directory; `None` when it has none (plain folders, or
    /// Delta tables written by another tool).
    pub async fn read(data: &Location) -> Result<Option<Manifest>> {
        let location = data.join(FOLDER).join(FILE);
        let text = match data {
            Location::Local(dir) => match std::fs::read_to_string(manifest_path(dir)) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e).with_context(|| format!("cannot read {location}")),
            },
            Location::Object(_) => {
                use object_store::ObjectStoreExt;
                let (store, path) = object_stores::store_for(&location)?;
                match store.get(&path).await {
                    Ok(got) => {
                        let bytes = got
                            .bytes()
                            .await
                            .map_err(|e| object_stores::explain(e, "cannot read", &location))?;
                        String::from_utf8(bytes.to_vec())
                            .with_context(|| format!("{location} is not UTF-8 text"))?
                    }
                    Err(object_store::Error::NotFound { .. }) => return Ok(None),
                    Err(e) => return Err(object_stores::explain(e, "cannot read", &location)),
                }
            }
        };
        Self::parse(&text, &location).map(Some)
    }

    fn parse(text: &str, location: &Location) -> Result<Manifest> {
        let mut imports: Vec<Import> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let import: Import = serde_json::from_str(line)
                .with_context(|| format!("{location}, line {}: not an import record", index + 1))?;
            if let Some(last) = imports.last()
                && import.import <= last.import
            {
                bail!(
                    "{location}, line {}: import {} follows import {}; the numbers must rise",
                    index + 1,
                    import.import,
                    last.import
                );
            }
            imports.push(import);
        }
        Ok(Manifest { imports })
    }

    pub fn latest(&self) -> Option<&Import> {
        self.imports.last()
    }

    /// The import a run reads `as_of`, or why there is none.
    pub fn select(&self, as_of: AsOf, location: &Location) -> Result<&Import> {
        let found = match as_of {
            AsOf::Import(n) => self.imports.iter().find(|i| i.import == n),
            AsOf::Instant(at) => self.imports.iter().rev().find(|i| i.committed_at <= at),
        };
        found.ok_or_else(|| {
            let known = match (self.imports.first(), self.imports.last()) {
                (Some(first), Some(last)) => format!(
                    "it holds imports {} ({}) to {} ({})",
                    first.import,
                    first
                        .committed_at
                        .to_rfc3339_opts(SecondsFormat::Secs, true),
                    last.import,
                    last.committed_at.to_rfc3339_opts(SecondsFormat::Secs, true)
                ),
                _ => "it holds no import".to_string(),
            };
            anyhow::anyhow!(
                "--as-of {as_of}: no such import in {}; {known}",
                location.join(FOLDER).join(FILE)
            )
        })
    }

    /// Appends `tables` as the next import and replaces the manifest in one rename;
    /// returns the import's number. The manifest is unchanged when the write fails.
    pub fn append(
        &mut self,
        dir: &Path,
        tables: BTreeMap<String, u64>,
        committed_at: DateTime<Utc>,
    ) -> Result<u64> {
        let import = Import {
            import: self.latest().map_or(1, |last| last.import + 1),
            committed_at,
            tables,
        };
        let mut text = String::new();
        for line in self.imports.iter().chain([&import]) {
            text.push_str(&serde_json::to_string(line)?);
            text.push('\n');
        }
        let folder = dir.join(FOLDER);
        std::fs::create_dir_all(&folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
        crate::pause::at("manifest");
        crate::write::replace_file(&manifest_path(dir), text.as_bytes())?;
        let number = import.import;
        self.imports.push(import);
        Ok(number)
    }
}

fn manifest_path(dir: &Path) -> PathBuf {
    dir.join(FOLDER).join(FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn as_of_takes_an_import_number_or_an_instant() {
        assert_eq!(AsOf::parse("3"), Ok(AsOf::Import(3)));
        assert_eq!(
            AsOf::parse("2026-11-01T07:00:00+01:00"),
            Ok(AsOf::Instant(at("2026-11-01T06:00:00Z")))
        );
        let error = AsOf::parse("yesterday").unwrap_err();
        assert!(error.contains("'yesterday' is neither"), "{error}");
    }

    #[test]
    fn an_instant_selects_the_last_import_committed_by_then() {
        let dir = tempfile::tempdir().unwrap();
        let mut manifest = Manifest::default();
        let tables = |v: u64| BTreeMap::from([("tickets".to_string(), v)]);
        manifest
            .append(dir.path(), tables(0), at("2026-10-01T06:00:00Z"))
            .unwrap();
        manifest
            .append(dir.path(), tables(3), at("2026-11-01T06:00:00Z"))
            .unwrap();
        let location = Location::Local(dir.path().to_path_buf());
        let read = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(Manifest::read(&location))
            .unwrap()
            .unwrap();
        assert_eq!(read, manifest);
        let select = |as_of| read.select(as_of, &location).map(|i| i.import);
        assert_eq!(
            select(AsOf::Instant(at("2026-11-01T06:00:00Z"))).unwrap(),
            2
        );
        assert_eq!(
            select(AsOf::Instant(at("2026-11-01T05:59:59Z"))).unwrap(),
            1
        );
        assert_eq!(select(AsOf::Import(1)).unwrap(), 1);
        let before = select(AsOf::Instant(at("2026-09-30T00:00:00Z"))).unwrap_err();
        assert!(
            before.to_string().contains("no such import")
                && before
                    .to_string()
                    .contains("imports 1 (2026-10-01T06:00:00Z) to 2"),
            "{before}"
        );
        assert!(select(AsOf::Import(7)).is_err());
    }
}
