use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;

use crate::sample::generator::{self, Options, parse_month};

/// Writes deterministic synthetic help-desk history (five Parquet tables, seven with
/// --status-history).
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Folder to write the tables into (one sub-folder per table).
    #[arg(long)]
    pub out: PathBuf,
    /// Number of clients.
    #[arg(long, default_value_t = 40)]
    pub clients: usize,
    /// Approximate number of tickets.
    #[arg(long, default_value_t = 100_000)]
    pub tickets: u64,
    /// Months of history.
    #[arg(long, default_value_t = 24)]
    pub months: u32,
    /// Random seed: the same seed and options give byte-identical files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// First month of the history (YYYY-MM).
    #[arg(long, default_value = "2024-11", value_parser = parse_month)]
    pub start: (i32, u32),
    /// Also write each ticket's status history (ticket_status and statuses): waits on
    /// the customer that pause the SLA clocks, and reopens.
    #[arg(long)]
    pub status_history: bool,
    /// Also write the history as ConnectWise Manage CSV exports into this folder (the
    /// layout `import --mapping connectwise` reads; times in UTC, so import them with
    /// --timezone UTC), for trying and benchmarking import.
    #[arg(long, value_name = "DIR")]
    pub psa_csv: Option<PathBuf>,
}

pub async fn run(args: GenerateArgs) -> Result<()> {
    let options = Options {
        clients: args.clients,
        tickets: args.tickets,
        months: args.months,
        seed: args.seed,
        start: args.start,
        status_history: args.status_history,
    };
    let started = Instant::now();
    let summary = generator::generate(&args.out, &options)?;
    eprintln!(
        "wrote {} clients, {} tickets, {} time entries, {} survey answers, {} SLA targets{} to {} in {:.1} s",
        summary.clients,
        summary.tickets,
        summary.time_entries,
        summary.surveys,
        summary.sla_targets,
        if args.status_history {
            format!(", {} status changes", summary.ticket_status)
        } else {
            String::new()
        },
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    if let Some(dir) = &args.psa_csv {
        let started = Instant::now();
        crate::sample::psa_csv::write(&args.out, dir).await?;
        eprintln!(
            "wrote the ConnectWise CSV exports to {} in {:.1} s",
            dir.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
