//! A mapping: one SQL file per canonical table, each a `SELECT` over the source tables
//! that returns the table's columns. From a folder, or a preset shipped in the binary.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono_tz::Tz;
use include_dir::{Dir, include_dir};

use crate::data::schema::{TABLES, Table};
use crate::saved_queries::header_entries;

/// The PSAs whose exports have a mapping shipped in the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    Connectwise,
    Autotask,
    Halopsa,
    Zendesk,
}

/// The presets' mapping files, built into the binary: a folder per preset of
/// `<table>.sql` files, and beside them the files the presets share, for tables PSA
/// exports lack (clients' time zones, calendars, MRR and onboarding dates; SLA
/// targets) or that some PSAs keep elsewhere: `<table>.sql` with the CSV template
/// (`<table>.csv`) the user fills in.
static PRESETS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/src/import/presets");

/// The `.sql` files directly in `dir`, as (table, SQL), by table name.
fn sql_files(dir: &'static Dir<'static>) -> Vec<(&'static str, &'static str)> {
    let mut files: Vec<(&'static str, &'static str)> = dir
        .files()
        .filter(|f| f.path().extension().is_some_and(|x| x == "sql"))
        .filter_map(|f| Some((f.path().file_stem()?.to_str()?, f.contents_utf8()?)))
        .collect();
    files.sort();
    files
}

impl Preset {
    pub const ALL: [Preset; 4] = [
        Preset::Connectwise,
        Preset::Autotask,
        Preset::Halopsa,
        Preset::Zendesk,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Preset::Connectwise => "connectwise",
            Preset::Autotask => "autotask",
            Preset::Halopsa => "halopsa",
            Preset::Zendesk => "zendesk",
        }
    }

    /// (canonical table, SQL) of the preset's own mapping files.
    fn own_files(self) -> Vec<(&'static str, &'static str)> {
        let mut files = PRESETS
            .get_dir(self.name())
            .map(sql_files)
            .unwrap_or_default();
        // In the canonical tables' order, the order their tables are mapped in.
        files.sort_by_key(|(table, _)| TABLES.iter().position(|t| t.name == *table));
        files
    }

    /// The shared mapping files the preset uses: those of the tables it has no file of
    /// its own for, with their templates.
    fn shared_files(self) -> Vec<(&'static str, &'static str, &'static str)> {
        let own = self.own_files();
        sql_files(&PRESETS)
            .into_iter()
            .filter(|(table, _)| !own.iter().any(|(o, _)| o == table))
            .map(|(table, sql)| {
                let template = PRESETS
                    .get_file(format!("{table}.csv"))
                    .and_then(|f| f.contents_utf8())
                    .unwrap_or_default();
                (table, sql, template)
            })
            .collect()
    }

    /// (canonical table, SQL) for each table the preset maps.
    fn files(self) -> Vec<(&'static str, &'static str)> {
        let shared = self
            .shared_files()
            .into_iter()
            .map(|(table, sql, _)| (table, sql));
        self.own_files().into_iter().chain(shared).collect()
    }

    fn parse(text: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.name() == text)
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The `--mapping` argument: a folder, or a preset's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappingSpec {
    Folder(PathBuf),
    Preset(Preset),
}

impl MappingSpec {
    /// A folder that exists is a folder, even one named like a preset; otherwise a
    /// preset's name is the preset.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let path = PathBuf::from(text);
        if path.is_dir() {
            return Ok(MappingSpec::Folder(path));
        }
        if let Some(preset) = Preset::parse(text) {
            return Ok(MappingSpec::Preset(preset));
        }
        Err(format!(
            "'{text}' is neither a mapping folder nor a preset ({})",
            Preset::ALL.map(|p| p.name()).join(", ")
        ))
    }
}

/// One mapping file, parsed.
#[derive(Debug, Clone)]
pub struct MappingFile {
    pub table: &'static Table,
    /// How messages name the file: its path, or `preset connectwise: tickets.sql`.
    pub origin: String,
    pub sql: String,
    /// `-- timezone: ZONE`: the zone of the timestamps the query returns without one.
    pub timezone: Option<Tz>,
    /// `-- reads: a, b`: the sources it needs; without all of them the file is skipped.
    pub reads: Vec<String>,
}

impl MappingFile {
    pub fn parse(table: &'static Table, origin: String, sql: String) -> Result<Self> {
        let mut timezone = None;
        let mut reads = Vec::new();
        for (line, key, value) in header_entries(&sql) {
            match key {
                "timezone" => {
                    timezone = Some(value.parse::<Tz>().map_err(|_| {
                        anyhow::anyhow!(
                            "{origin} line {line}: '{value}' is not an IANA time zone (e.g. America/New_York)"
                        )
                    })?)
                }
                "reads" => reads.extend(
                    value
                        .split(',')
                        // "tickets (the Service Tickets export)": the name, then prose.
                        .filter_map(|s| s.split_whitespace().next())
                        .map(str::to_string),
                ),
                _ => {}
            }
        }
        Ok(Self {
            table,
            origin,
            sql,
            timezone,
            reads,
        })
    }

    /// The line that defines output column `column` (`... AS column`), else the first
    /// line that names it, else the first line of the query.
    pub fn line_of(&self, column: &str) -> usize {
        let lines: Vec<String> = self.sql.lines().map(|l| l.to_ascii_lowercase()).collect();
        let column = column.to_ascii_lowercase();
        let alias = [format!("as {column}"), format!("as \"{column}\"")];
        let defines = |line: &str| {
            alias.iter().any(|a| {
                line.match_indices(a.as_str()).any(|(at, _)| {
                    let after = line[at + a.len()..].chars().next();
                    !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                })
            })
        };
        let names = |line: &str| line.contains(&column);
        let code = |line: &&String| !line.trim_start().starts_with("--");
        lines
            .iter()
            .position(|l| code(&l) && defines(l))
            .or_else(|| lines.iter().position(|l| code(&l) && names(l)))
            .or_else(|| lines.iter().position(|l| code(&l) && !l.trim().is_empty()))
            .map_or(1, |i| i + 1)
    }
}

/// The mapping files of a folder or preset, in the canonical tables' order.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub files: Vec<MappingFile>,
}

impl Mapping {
    pub fn load(spec: &MappingSpec) -> Result<Self> {
        let mut files = Vec::new();
        match spec {
            MappingSpec::Preset(preset) => {
                for (table, sql) in preset.files() {
                    let table = crate::data::schema::table(table)
                        .with_context(|| format!("preset {preset}: unknown table {table}"))?;
                    files.push(MappingFile::parse(
                        table,
                        format!("preset {preset}: {}.sql", table.name),
                        sql.to_string(),
                    )?);
                }
            }
            MappingSpec::Folder(folder) => {
                let entries = std::fs::read_dir(folder)
                    .with_context(|| format!("cannot list mapping folder {}", folder.display()))?;
                let mut paths: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "sql"))
                    .collect();
                paths.sort();
                for path in paths {
                    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
                    let Some(table) = stem.as_deref().and_then(crate::data::schema::table) else {
                        bail!(
                            "mapping file {} is not named after a canonical table ({}.sql)",
                            path.display(),
                            TABLES.map(|t| t.name).join(".sql, ")
                        );
                    };
                    let sql = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read mapping file {}", path.display()))?;
                    files.push(MappingFile::parse(table, path.display().to_string(), sql)?);
                }
                if files.is_empty() {
                    bail!(
                        "mapping folder {} has no SQL files ({}.sql)",
                        folder.display(),
                        TABLES.map(|t| t.name).join(".sql, ")
                    );
                }
            }
        }
        files.sort_by_key(|f| TABLES.iter().position(|t| t.name == f.table.name));
        Ok(Self { files })
    }
}

/// `--print-mapping PRESET --to DIR`: writes the preset's SQL files and the templates
/// of the tables PSA exports lack, for adapting a copy. Refuses to overwrite a file.
pub fn print_mapping(preset: Preset, to: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(to)
        .with_context(|| format!("cannot create folder {}", to.display()))?;
    let files = preset
        .files()
        .into_iter()
        .map(|(table, sql)| (format!("{table}.sql"), sql))
        .chain(
            preset
                .shared_files()
                .into_iter()
                .map(|(table, _, template)| (format!("{table}.csv"), template)),
        );
    let files: Vec<(PathBuf, &str)> = files.map(|(name, text)| (to.join(name), text)).collect();
    if let Some((existing, _)) = files.iter().find(|(path, _)| path.exists()) {
        bail!(
            "{} exists: --print-mapping writes into an empty or new folder",
            existing.display()
        );
    }
    for (path, text) in &files {
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(files.into_iter().map(|(path, _)| path).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded presets are the repository's folder (include_dir does not notice a
    /// new file by itself), in the order their tables are mapped.
    #[test]
    fn the_embedded_presets_are_the_folder_in_table_order() {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/import/presets");
        for preset in Preset::ALL {
            let mut on_disk: Vec<String> = std::fs::read_dir(folder.join(preset.name()))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            on_disk.sort();
            let mut embedded: Vec<String> = preset
                .own_files()
                .iter()
                .map(|(t, _)| format!("{t}.sql"))
                .collect();
            embedded.sort();
            assert_eq!(embedded, on_disk, "{preset}");
        }
        let zendesk: Vec<&str> = Preset::Zendesk.files().iter().map(|(t, _)| *t).collect();
        assert_eq!(
            zendesk,
            [
                "tickets",
                "surveys",
                "ticket_status",
                "statuses",
                "clients",
                "sla_targets",
                "time_entries"
            ]
        );
        let shared: Vec<&str> = Preset::Connectwise
            .shared_files()
            .iter()
            .map(|(t, _, template)| {
                assert!(template.contains(','), "{t}.csv");
                *t
            })
            .collect();
        assert_eq!(shared, ["clients", "sla_targets", "surveys"]);
    }

    #[test]
    fn every_preset_parses_and_declares_its_sources() {
        for preset in Preset::ALL {
            let mapping = Mapping::load(&MappingSpec::Preset(preset)).unwrap();
            assert!(mapping.files.len() >= 5, "{preset}");
            for file in &mapping.files {
                assert!(
                    !file.reads.is_empty(),
                    "{} declares no sources",
                    file.origin
                );
            }
        }
    }

    #[test]
    fn the_line_of_a_column_is_where_it_is_defined() {
        let file = MappingFile::parse(
            crate::data::schema::table("tickets").unwrap(),
            "t.sql".into(),
            "-- timezone: America/New_York\nSELECT id AS ticket_id,\n  CASE p WHEN 'a' THEN 'P1' END AS priority,\n  x AS priority_name\nFROM t".into(),
        )
        .unwrap();
        assert_eq!(file.timezone, Some(chrono_tz::America::New_York));
        assert_eq!(file.line_of("priority"), 3);
        assert_eq!(file.line_of("ticket_id"), 2);
        assert_eq!(file.line_of("x"), 4);
        assert_eq!(file.line_of("nothing"), 2);
        let bad = MappingFile::parse(
            crate::data::schema::table("tickets").unwrap(),
            "t.sql".into(),
            "-- timezone: Mars/Olympus\nSELECT 1".into(),
        );
        assert!(
            bad.unwrap_err()
                .to_string()
                .contains("t.sql line 1: 'Mars/Olympus'")
        );
    }
}
