use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;

use super::report::{AsOfArgs, EngineArgs};
use crate::data::delta::TableFormat;
use crate::data::location::Location;
use crate::export;
use crate::period::Period;
use crate::report;
use crate::saved_queries;

/// Writes the KPI facts of a period as Parquet, partitioned by period.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Data directory: a local folder or an s3://bucket/prefix.
    #[arg(long, value_parser = Location::parse)]
    pub data: Location,
    #[command(flatten)]
    pub as_of: AsOfArgs,
    /// The period: 2026-10 or 2026-Q3.
    #[arg(long, value_parser = Period::parse)]
    pub period: Period,
    /// Saved queries folder (default: the built-in queries).
    #[arg(long)]
    pub queries: Option<PathBuf>,
    /// Output folder, local or s3://bucket/prefix; the facts go to OUT/period=<period>/.
    #[arg(long, value_parser = Location::parse)]
    pub out: Location,
    /// `parquet`: the period's partition folder OUT/period=<period>/, replaced whole.
    /// `delta`: OUT is a Delta table partitioned by `period`; the period's partition is
    /// replaced in one commit, and periods accumulate.
    #[arg(long, value_enum, default_value = "parquet")]
    pub format: TableFormat,
    #[command(flatten)]
    pub engine: EngineArgs,
}

pub async fn run(args: ExportArgs) -> Result<()> {
    let started = Instant::now();
    args.format.check_writable_at(&args.out)?;
    let queries = saved_queries::load(args.queries.as_deref())?;
    let results = report::collect(
        &args.data,
        args.as_of.as_of,
        &args.period,
        &queries,
        &args.engine.options()?,
    )
    .await?
    .results;
    let catalogue = crate::kpi::catalogue(&queries);
    let facts = export::facts(&results, &catalogue, &args.period)?;
    let written = match args.format {
        TableFormat::Parquet => export::write_to(&args.out, &args.period, &facts)
            .await?
            .to_string(),
        TableFormat::Delta => {
            let version = export::write_delta(&args.out, &args.period, &facts).await?;
            format!(
                "the Delta table {} (version {version}, partition period={})",
                args.out, args.period
            )
        }
    };
    eprintln!(
        "wrote {} KPI facts to {written} in {:.1} s",
        facts.num_rows(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
