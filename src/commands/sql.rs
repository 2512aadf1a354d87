use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use datafusion::sql::parser::DFParser;
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use super::report::EngineArgs;
use crate::output::{self, Destination, OutputFormat};
use crate::saved_queries::ParamKind;
use crate::session;

/// Ad-hoc SQL with every mspkpi function and every table of the data directory;
/// without a query, an interactive shell.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// Data directory whose tables are registered (one folder or file per table).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The query to run.
    pub query: Option<String>,
    /// A file of SQL statements separated by `;`.
    #[arg(short = 'f', long = "file", conflicts_with = "query")]
    pub file: Option<PathBuf>,
    /// A parameter: `name=value` binds text to $name; `name:type=value` binds a
    /// typed value (date, timestamp, int, float, bool, string).
    #[arg(long = "param", value_parser = parse_param)]
    pub params: Vec<(String, ScalarValue)>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Write the result to this file instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Rows a table shows at most.
    #[arg(long, default_value_t = 200)]
    pub max_rows: usize,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// `name=value` or `name:type=value`, with the whole reason on failure (clap shows
/// only the error's own message).
pub fn parse_param(text: &str) -> std::result::Result<(String, ScalarValue), String> {
    parse_param_value(text).map_err(|e| format!("{e:#}"))
}

fn parse_param_value(text: &str) -> Result<(String, ScalarValue)> {
    let (key, value) = text.split_once('=').with_context(|| {
        format!("'{text}' is not a parameter (use name=value or name:type=value)")
    })?;
    let (name, kind) = match key.split_once(':') {
        Some((name, kind)) => (name, ParamKind::from_name(kind)?),
        None => (key, ParamKind::String),
    };
    let name = name.trim().trim_start_matches('$');
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!("'{name}' is not a parameter name (letters, digits and _)");
    }
    let value = kind
        .value(value)
        .with_context(|| format!("parameter '{name}'"))?;
    Ok((name.to_string(), value))
}

/// Splits a script into statements with DataFusion's own parser.
fn statements(sql: &str) -> Result<Vec<String>> {
    let parsed = DFParser::parse_sql(sql)?;
    Ok(parsed.into_iter().map(|s| s.to_string()).collect())
}

async fn execute(
    ctx: &SessionContext,
    sql: &str,
    params: &HashMap<String, ScalarValue>,
    format: OutputFormat,
    output: Option<&Path>,
    max_rows: usize,
) -> Result<usize> {
    let mut frame = ctx.sql(sql).await?;
    if !params.is_empty() {
        frame = frame.with_param_values(params.clone())?;
    }
    let stream = frame.execute_stream().await?;
    output::write(stream, format, Destination::open(output)?, max_rows).await
}

pub async fn run(args: SqlArgs) -> Result<()> {
    let engine = args.engine.options();
    let ctx = match &args.data {
        Some(data) => session::open(data, &engine).await?.0,
        None => session::context(&engine)?,
    };
    // The month-to-period table the saved queries join, so their text runs here too.
    if !ctx.table_exist("periods")? {
        crate::period::register_periods(&ctx, crate::period::Grain::Month)?;
    }
    let params: HashMap<String, ScalarValue> = args.params.into_iter().collect();
    let script = match (&args.query, &args.file) {
        (Some(query), _) => Some(query.clone()),
        (None, Some(file)) => Some(
            std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?,
        ),
        (None, None) => None,
    };
    match script {
        Some(script) => {
            let statements = statements(&script)?;
            if statements.is_empty() {
                bail!("no SQL statement given");
            }
            if args.output.is_some() && statements.len() > 1 {
                bail!(
                    "--output takes one statement; the script has {}",
                    statements.len()
                );
            }
            for statement in &statements {
                execute(
                    &ctx,
                    statement,
                    &params,
                    args.format,
                    args.output.as_deref(),
                    args.max_rows,
                )
                .await?;
            }
            Ok(())
        }
        None => shell(&ctx, &params, args.format, args.max_rows).await,
    }
}

const HELP: &str = "Statements end with ';' and may span lines.
  \\d            list tables
  \\d NAME       describe a table
  \\df           list the mspkpi functions
  \\df NAME      show a function's documentation
  \\q            quit (or Ctrl-D)";

async fn backslash(ctx: &SessionContext, command: &str, max_rows: usize) -> Result<bool> {
    let mut words = command.split_whitespace();
    let name = words.next().unwrap_or("");
    let argument = words.next();
    let sql = match (name, argument) {
        ("\\q", _) => return Ok(false),
        ("\\?" | "\\h" | "\\help", _) => {
            println!("{HELP}");
            return Ok(true);
        }
        ("\\d", None) => "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name".to_string(),
        ("\\d", Some(table)) => {
            if !table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                bail!("'{table}' is not a table name");
            }
            format!("SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = '{table}' ORDER BY ordinal_position")
        }
        ("\\df", None) => {
            super::functions::print(None)?;
            return Ok(true);
        }
        ("\\df", Some(function)) => {
            super::functions::print(Some(function))?;
            return Ok(true);
        }
        _ => bail!("unknown command {name} (\\? for help)"),
    };
    execute(
        ctx,
        &sql,
        &HashMap::new(),
        OutputFormat::Table,
        None,
        max_rows,
    )
    .await?;
    Ok(true)
}

fn history_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".mspkpi_history"))
}

async fn shell(
    ctx: &SessionContext,
    params: &HashMap<String, ScalarValue>,
    format: OutputFormat,
    max_rows: usize,
) -> Result<()> {
    let mut editor = DefaultEditor::new().context("cannot start the line editor")?;
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    eprintln!("mspkpi SQL shell: every mspkpi function is registered. \\? for help, \\q to quit.");
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() {
            "mspkpi> "
        } else {
            "   ...> "
        };
        match editor.readline(prompt) {
            Ok(line) => {
                let trimmed = line.trim();
                if buffer.is_empty() && trimmed.starts_with('\\') {
                    let _ = editor.add_history_entry(trimmed);
                    match backslash(ctx, trimmed, max_rows).await {
                        Ok(true) => continue,
                        Ok(false) => break,
                        Err(error) => {
                            eprintln!("error: {}", crate::error_message(&error));
                            continue;
                        }
                    }
                }
                if trimmed.is_empty() && buffer.is_empty() {
                    continue;
                }
                buffer.push_str(&line);
                buffer.push('\n');
                if trimmed.ends_with(';') {
                    let statement = std::mem::take(&mut buffer);
                    let _ = editor.add_history_entry(statement.trim());
                    if let Err(error) =
                        execute(ctx, &statement, params, format, None, max_rows).await
                    {
                        eprintln!("error: {}", crate::error_message(&error));
                    }
                }
            }
            Err(ReadlineError::Interrupted) => buffer.clear(),
            Err(ReadlineError::Eof) => break,
            Err(error) => return Err(error).context("cannot read input"),
        }
    }
    if !buffer.trim().is_empty()
        && let Err(error) = execute(ctx, &buffer, params, format, None, max_rows).await
    {
        eprintln!("error: {}", crate::error_message(&error));
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    Ok(())
}
