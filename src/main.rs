use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mspkpi::commands;
use mspkpi::data::integrity::contain;

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
    Import(commands::import::ImportArgs),
    Report(commands::report::ReportArgs),
    Sql(commands::sql::SqlArgs),
    Export(commands::export::ExportArgs),
    Functions(commands::functions::FunctionsArgs),
    Validate(commands::validate::ValidateArgs),
    Vacuum(commands::vacuum::VacuumArgs),
    #[cfg(feature = "cluster")]
    Scheduler(commands::cluster::SchedulerArgs),
    #[cfg(feature = "cluster")]
    Executor(commands::cluster::ExecutorArgs),
}

fn main() -> ExitCode {
    mspkpi::data::integrity::quiet_panics();
    mspkpi::install_crypto_provider();
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
    // A panic that escapes every layer below still ends as an error and an exit code,
    // never as exit status 101 with a backtrace.
    if let Command::Validate(args) = cli.command {
        // 0 clean, 1 errors in the data, 2 could not run.
        return match runtime.block_on(contain(commands::validate::run(args))) {
            Ok(false) => ExitCode::SUCCESS,
            Ok(true) => ExitCode::from(1),
            Err(error) => {
                eprintln!("error: {}", mspkpi::error_message(&error));
                ExitCode::from(2)
            }
        };
    }
    let result = runtime.block_on(contain(async {
        match cli.command {
            Command::Demo(args) => commands::demo::run(args).await,
            Command::Generate(args) => commands::generate::run(args).await,
            Command::Import(args) => commands::import::run(args).await,
            Command::Report(args) => commands::report::run(args).await,
            Command::Sql(args) => commands::sql::run(args).await,
            Command::Export(args) => commands::export::run(args).await,
            Command::Functions(args) => commands::functions::run(args),
            Command::Validate(_) => Ok(()),
            Command::Vacuum(args) => commands::vacuum::run(args).await,
            #[cfg(feature = "cluster")]
            Command::Scheduler(args) => commands::cluster::run_scheduler(args).await,
            #[cfg(feature = "cluster")]
            Command::Executor(args) => commands::cluster::run_executor(args).await,
        }
    }));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", mspkpi::error_message(&error));
            ExitCode::FAILURE
        }
    }
}
