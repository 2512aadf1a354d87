use std::path::PathBuf;

use anyhow::{Result, bail};
use chrono_tz::Tz;
use clap::Args;

use crate::data::delta::TableFormat;
use crate::import::mapping::{self, MappingSpec, Preset};
use crate::import::sources::SourceSpec;
use crate::import::{self, ImportOptions};
use crate::session::EngineOptions;

/// Imports a PSA's exports (CSV, JSON, NDJSON or Parquet) into a data directory
/// through a mapping written in SQL: a folder of one SELECT per canonical table, or a
/// preset. Nothing is written unless the mapped tables pass `validate`; exit code 1
/// with the problems listed otherwise.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A mapping folder (tickets.sql, clients.sql, ...) or a preset: connectwise,
    /// autotask, halopsa, zendesk.
    #[arg(long, value_parser = MappingSpec::parse, required_unless_present = "print_mapping")]
    pub mapping: Option<MappingSpec>,
    /// A source table: [NAME=]PATH, a CSV, JSON, NDJSON or Parquet file or a folder of
    /// files of one format. Without NAME, the file's or folder's stem, lowercased, with
    /// other characters than a-z, 0-9 and _ as _ (`Tickets Export.csv` → tickets_export).
    #[arg(long = "source", value_name = "[NAME=]PATH", value_parser = SourceSpec::parse)]
    pub sources: Vec<SourceSpec>,
    /// The data directory to import into: its mapped tables are replaced, the others kept.
    #[arg(long, required_unless_present = "print_mapping")]
    pub out: Option<PathBuf>,
    /// Check everything and print the counts and problems; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How the tables are stored: `delta` (the default for a new folder: each import a
    /// new version, readers see whole imports, `--as-of` reads older ones) or `parquet`
    /// (plain folders, replaced by renames). An existing folder keeps its format;
    /// `--format delta` converts a plain one.
    #[arg(long, value_enum)]
    pub format: Option<TableFormat>,
    /// The time zone of timestamps the mapping returns without one, for mapping files
    /// without a `-- timezone:` header (the presets have none: PSA exports carry local
    /// times of the PSA's zone).
    #[arg(long, value_name = "ZONE", value_parser = parse_zone)]
    pub timezone: Option<Tz>,
    /// Worker threads (default: the number of cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Write a preset's mapping files and the clients and SLA-target templates to the
    /// folder --to, for adapting a copy; imports nothing.
    #[arg(long, value_name = "PRESET", value_enum, requires = "to", conflicts_with_all = ["mapping", "sources", "out"])]
    pub print_mapping: Option<Preset>,
    /// With --print-mapping: the folder to write into.
    #[arg(long, value_name = "DIR", requires = "print_mapping")]
    pub to: Option<PathBuf>,
}

fn parse_zone(text: &str) -> std::result::Result<Tz, String> {
    text.parse::<Tz>()
        .map_err(|_| format!("'{text}' is not an IANA time zone (e.g. America/New_York)"))
}

pub async fn run(args: ImportArgs) -> Result<()> {
    if let (Some(preset), Some(to)) = (args.print_mapping, &args.to) {
        for path in mapping::print_mapping(preset, to)? {
            println!("wrote {}", path.display());
        }
        return Ok(());
    }
    let (Some(mapping), Some(out)) = (args.mapping, args.out) else {
        bail!("import needs --mapping and --out (or --print-mapping PRESET --to DIR)");
    };
    if args.sources.is_empty() {
        bail!("import needs at least one --source [NAME=]PATH");
    }
    let options = ImportOptions {
        mapping,
        sources: args.sources,
        out,
        dry_run: args.dry_run,
        timezone: args.timezone,
        engine: EngineOptions {
            threads: args.threads,
            ..Default::default()
        },
        format: args.format,
    };
    let imported = import::run(&options).await?;
    print!("{}", imported.text());
    if !imported.clean() {
        bail!(
            "import found problems: {} stays as it was",
            options.out.display()
        );
    }
    Ok(())
}
