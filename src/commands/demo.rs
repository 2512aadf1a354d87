use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;

use crate::report::format::Currency;
use crate::report::{self, OutputFormat, ReportOptions};
use crate::sample::generator::{self, Options};
use crate::session::EngineOptions;

/// Generates a sample history and renders its reports for the last complete month of
/// the data: the one-command first run.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output folder: the sample data goes to OUT/data, the reports to OUT/reports.
    #[arg(long, default_value = "mspkpi-demo")]
    pub out: PathBuf,
    /// Currency of money amounts (MRR, CLTV): a code such as USD, EUR or CHF.
    #[arg(long, default_value = "USD", value_parser = Currency::parse)]
    pub currency: Currency,
}

/// The demo's sample: a few dozen clients, about a year of history, a fixed seed.
pub fn sample_options() -> Options {
    Options {
        clients: 36,
        tickets: 60_000,
        months: 13,
        seed: 2026,
        start: (2025, 10),
        status_history: true,
    }
}

pub async fn run(args: DemoArgs) -> Result<()> {
    let started = Instant::now();
    let data = args.out.join("data");
    let options = sample_options();
    eprintln!(
        "generating a sample history of {} clients into {} ...",
        options.clients,
        data.display()
    );
    generator::generate(&data, &options)?;
    let period = report::last_complete_month(&data).await?;
    eprintln!("rendering the reports for {period} ...");
    let summary = report::run(&ReportOptions {
        as_of: None,
        data: data.clone().into(),
        period,
        clients: Vec::new(),
        formats: vec![OutputFormat::Markdown, OutputFormat::Html],
        queries: None,
        templates: None,
        out: args.out.join("reports"),
        engine: EngineOptions::default(),
        currency: args.currency,
    })
    .await?;
    eprintln!(
        "done in {:.1} s: {} reports for {} clients. Open the index:",
        started.elapsed().as_secs_f64(),
        summary.files,
        summary.clients
    );
    println!("{}", summary.folder.join("index.html").display());
    eprintln!(
        "Try ad-hoc SQL: mspkpi sql --data {} \"SELECT client_id, nps(score) FROM surveys WHERE kind = 'nps' GROUP BY client_id\"",
        data.display()
    );
    Ok(())
}
