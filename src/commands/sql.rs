use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use datafusion::sql::parser::{DFParserBuilder, Statement};
use datafusion::sql::sqlparser::dialect::dialect_from_str;
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use super::report::{AsOfArgs, EngineArgs};
use crate::data::catalog::TableSource;
use crate::data::integrity;
use crate::data::location::Location;
use crate::models;
use crate::output::{self, Destination, OutputFormat};
use crate::period::{Grain, Period};
use crate::saved_queries::{self, ParamKind};
use crate::session;

/// Ad-hoc SQL with every mspkpi function and every table of the data directory;
/// without a query, an interactive shell.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// Data directory whose tables are registered (one folder or file per table): a
    /// local folder or an s3://bucket/prefix.
    #[arg(long, value_parser = Location::parse)]
    pub data: Option<Location>,
    #[command(flatten)]
    pub as_of: AsOfArgs,
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
    /// Registers the staged models (`ticket_facts`, `work_facts`) of this period
    /// (2026-10 or 2026-Q3), as the report computes them.
    #[arg(long, value_parser = Period::parse, requires = "data")]
    pub period: Option<Period>,
    /// The saved queries whose models `--period` registers (default: the built-in ones).
    #[arg(long, requires = "period")]
    pub queries: Option<PathBuf>,
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

/// Parses a script into statements with DataFusion's own parser, in the session's
/// dialect. The statements are planned as parsed: printing one back to text does not
/// always give valid SQL (a `COPY` target loses its quotes).
fn statements(ctx: &SessionContext, sql: &str) -> Result<Vec<Statement>> {
    let options = ctx.state().config().options().sql_parser.clone();
    let dialect = dialect_from_str(options.dialect)
        .with_context(|| format!("unknown SQL dialect {}", options.dialect))?;
    let parsed = DFParserBuilder::new(sql)
        .with_dialect(dialect.as_ref())
        .with_recursion_limit(options.recursion_limit.get())
        .build()?
        .parse_statements()?;
    Ok(parsed.into())
}

/// Where a statement runs: the session and the data directory's tables (whose files
/// are re-checked when a read fails).
struct Target<'a> {
    ctx: &'a SessionContext,
    sources: &'a [TableSource],
}

async fn execute(
    target: &Target<'_>,
    statement: Statement,
    params: &HashMap<String, ScalarValue>,
    format: OutputFormat,
    output: Option<&Path>,
    max_rows: usize,
) -> Result<usize> {
    integrity::guarded(target.sources, async {
        let ctx = target.ctx;
        let plan = ctx.state().statement_to_plan(statement).await?;
        let mut frame = ctx.execute_logical_plan(plan).await?;
        if !params.is_empty() {
            frame = frame.with_param_values(params.clone())?;
        }
        let stream = frame.execute_stream().await?;
        output::write(stream, format, Destination::open(output)?, max_rows).await
    })
    .await
}

/// Parses and runs each statement of a script.
async fn execute_script(
    target: &Target<'_>,
    script: &str,
    params: &HashMap<String, ScalarValue>,
    format: OutputFormat,
    output: Option<&Path>,
    max_rows: usize,
) -> Result<()> {
    let statements = statements(target.ctx, script)?;
    if statements.is_empty() {
        bail!("no SQL statement given");
    }
    if output.is_some() && statements.len() > 1 {
        bail!(
            "--output takes one statement; the script has {}",
            statements.len()
        );
    }
    for statement in statements {
        execute(target, statement, params, format, output, max_rows).await?;
    }
    Ok(())
}

pub async fn run(args: SqlArgs) -> Result<()> {
    let engine = args.engine.options()?;
    let (ctx, sources) = match &args.data {
        Some(data) => session::open(data, args.as_of.as_of, &engine).await?,
        None if args.as_of.as_of.is_some() => {
            bail!("--as-of reads a data directory: give it with --data")
        }
        None => (session::connect(&engine).await?, Vec::new()),
    };
    // The month-to-period table the saved queries join, so their text runs here too.
    let grain = args.period.as_ref().map_or(Grain::Month, |p| p.grain);
    if !ctx.table_exist("periods")? {
        crate::period::register_periods(&ctx, grain)?;
    }
    // Kept until the statements have run: dropping it removes the models.
    let _models = match &args.period {
        Some(period) => {
            let queries = saved_queries::load(args.queries.as_deref())?;
            let params = saved_queries::period_params(period);
            let placement = models::placement(&engine);
            let materialised = crate::run::materialise(&ctx, &queries, &params, &placement);
            Some(integrity::guarded(&sources, materialised).await?)
        }
        None => None,
    };
    let target = Target {
        ctx: &ctx,
        sources: &sources,
    };
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
            execute_script(
                &target,
                &script,
                &params,
                args.format,
                args.output.as_deref(),
                args.max_rows,
            )
            .await
        }
        None => shell(&target, &params, args.format, args.max_rows).await,
    }
}

const HELP: &str = "Statements end with ';' and may span lines.
  \\d            list tables
  \\d NAME       describe a table
  \\df           list the mspkpi functions
  \\df NAME      show a function's documentation
  \\q            quit (or Ctrl-D)";

async fn backslash(target: &Target<'_>, command: &str, max_rows: usize) -> Result<bool> {
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
    execute_script(
        target,
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
    target: &Target<'_>,
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
                    match backslash(target, trimmed, max_rows).await {
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
                        execute_script(target, &statement, params, format, None, max_rows).await
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
        && let Err(error) = execute_script(target, &buffer, params, format, None, max_rows).await
    {
        eprintln!("error: {}", crate::error_message(&error));
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    Ok(())
}
