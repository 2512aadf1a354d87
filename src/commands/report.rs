use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;

use crate::data::imports::AsOf;
use crate::data::location::Location;
use crate::period::Period;
use crate::report::format::Currency;
use crate::report::{self, OutputFormat, ReportOptions};
use crate::session::{EngineOptions, parse_memory};

/// Engine settings shared by the commands that run queries.
#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// Memory limit of the query engine (e.g. 2G); beyond it, work spills to disk.
    #[arg(long, value_parser = parse_memory)]
    pub memory_limit: Option<usize>,
    /// Worker threads (default: the number of cores); with --cluster, the partitions
    /// the client plans with.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Run the queries on a Ballista cluster: its scheduler's df://HOST:PORT. Memory is
    /// then each executor's own --memory-limit.
    #[arg(long, value_name = "URL")]
    pub cluster: Option<String>,
    /// With --cluster: where the executors write the run's models, a folder or
    /// s3://bucket/prefix that every executor can reach (default: a temporary folder
    /// of this machine, for a cluster on one machine). The run's models go under
    /// `_runs/<id>/` there and are removed when it ends.
    #[arg(long, value_name = "LOCATION", value_parser = Location::parse, requires = "cluster")]
    pub models_at: Option<Location>,
}

impl EngineArgs {
    pub fn options(&self) -> Result<EngineOptions> {
        if self.cluster.is_some() && self.memory_limit.is_some() {
            anyhow::bail!(
                "--memory-limit bounds this process's engine, which does not run the queries under --cluster: give each executor its own --memory-limit"
            );
        }
        Ok(EngineOptions {
            memory_limit: self.memory_limit,
            threads: self.threads,
            cluster: self.cluster.clone(),
            models_at: self.models_at.clone(),
        })
    }
}

/// Which import of a data directory a command reads.
#[derive(Debug, Clone, Args)]
pub struct AsOfArgs {
    /// Read the data as an import left it (time travel over Delta tables): an import's
    /// number, or an RFC 3339 time for the last import committed by then
    /// (2026-11-01T06:00:00Z). Default: the latest import.
    #[arg(long, value_name = "IMPORT|TIME", value_parser = AsOf::parse)]
    pub as_of: Option<AsOf>,
}

/// The report formats asked for.
#[derive(Debug, Clone)]
pub struct Formats(pub Vec<OutputFormat>);

fn parse_formats(text: &str) -> Result<Formats> {
    OutputFormat::parse(text).map(Formats)
}

/// Renders one report per client, an index and a team report for a period.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Data directory (one folder or file per table): a local folder or an
    /// s3://bucket/prefix.
    #[arg(long, value_parser = Location::parse)]
    pub data: Location,
    #[command(flatten)]
    pub as_of: AsOfArgs,
    /// The period: a month (2026-10) or a quarter (2026-Q3), in each client's time zone.
    #[arg(long, value_parser = Period::parse)]
    pub period: Period,
    /// Only this client (repeatable).
    #[arg(long = "client")]
    pub clients: Vec<String>,
    /// Output formats: md, html or md,html.
    #[arg(long, default_value = "md,html", value_parser = parse_formats)]
    pub format: Formats,
    /// Saved queries folder (default: the built-in queries).
    #[arg(long)]
    pub queries: Option<PathBuf>,
    /// Templates folder (default: the built-in templates).
    #[arg(long)]
    pub templates: Option<PathBuf>,
    /// Output folder; the period's reports go to OUT/<period>/, replacing that folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Currency of money amounts (MRR, CLTV): a code such as USD, EUR or CHF.
    #[arg(long, default_value = "USD", value_parser = Currency::parse)]
    pub currency: Currency,
    #[command(flatten)]
    pub engine: EngineArgs,
}

pub async fn run(args: ReportArgs) -> Result<()> {
    let started = Instant::now();
    let options = ReportOptions {
        data: args.data,
        as_of: args.as_of.as_of,
        period: args.period,
        clients: args.clients,
        formats: args.format.0,
        queries: args.queries,
        templates: args.templates,
        out: args.out,
        engine: args.engine.options()?,
        currency: args.currency,
    };
    let summary = report::run(&options).await?;
    eprintln!(
        "wrote {} files for {} clients to {} in {:.1} s",
        summary.files,
        summary.clients,
        summary.folder.display(),
        started.elapsed().as_secs_f64()
    );
    println!("{}", summary.folder.join("index.html").display());
    Ok(())
}
