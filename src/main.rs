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
    Demo(commands::demo::DemoArgs),
    Generate(commands::generate::GenerateArgs),
    Report(commands::report::ReportArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => commands::demo::run(args).await,
            Command::Generate(args) => commands::generate::run(args),
            Command::Report(args) => commands::report::run(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
