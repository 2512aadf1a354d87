use std::path::PathBuf;

use anyhow::Result;
use chrono::Duration;
use clap::Args;

use crate::data::vacuum::{self, parse_retention};

/// Removes the files of the data directory's Delta tables that no import a reader may
/// still hold needs: an import stays readable (`--as-of`) while it is the latest and
/// for the retention after the next one replaced it.
#[derive(Debug, Args)]
pub struct VacuumArgs {
    /// The data directory (local) that `mspkpi import` writes.
    #[arg(long)]
    pub data: PathBuf,
    /// How long a replaced import stays readable: 7d, 36h, 90m, 0s.
    #[arg(long, default_value = "7d", value_parser = parse_retention)]
    pub retain: Duration,
    /// Say what would be removed; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(args: VacuumArgs) -> Result<()> {
    let vacuumed = vacuum::vacuum(&args.data, args.retain, args.dry_run).await?;
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    for file in &vacuumed.files {
        println!("{verb} {}", file.display());
    }
    let kept: Vec<String> = vacuumed.kept_imports.iter().map(u64::to_string).collect();
    println!(
        "{verb} {} files ({:.1} MB) from {}; imports still readable: {}",
        vacuumed.files.len(),
        vacuumed.bytes as f64 / 1e6,
        args.data.display(),
        kept.join(", ")
    );
    Ok(())
}
