use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mspkpi::commands;

/// Client KPIs for Managed Service Providers: ad-hoc SQL with KPI functions over
/// help-desk history in Parquet, and monthly client reports.
#[derive(Debug, Parser)]
#[command(name = "mspkpi", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Generate(commands::generate::GenerateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Generate(args) => commands::generate::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
