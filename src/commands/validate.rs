use anyhow::Result;
use clap::{Args, ValueEnum};

use super::report::{AsOfArgs, EngineArgs};
use crate::data::location::Location;
use crate::data::validate;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ValidateFormat {
    Text,
    Json,
}

/// Checks a data directory against the schema and the data-quality rules. Exit code 0
/// when clean, 1 when there are errors, 2 when it could not run.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Data directory: a local folder or an s3://bucket/prefix.
    #[arg(long, value_parser = Location::parse)]
    pub data: Location,
    #[command(flatten)]
    pub as_of: AsOfArgs,
    #[arg(long, value_enum, default_value = "text")]
    pub format: ValidateFormat,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Returns whether the data has errors.
pub async fn run(args: ValidateArgs) -> Result<bool> {
    let report = validate::validate(&args.data, args.as_of.as_of, &args.engine.options()?).await?;
    match args.format {
        ValidateFormat::Text => print!("{}", report.text()),
        ValidateFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(report.errors() > 0)
}
