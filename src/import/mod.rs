//! `mspkpi import`: a PSA's exports into the canonical tables, through a mapping written
//! in SQL. Sources are read and registered, each mapping file's result is checked and
//! converted to its table's schema and written to a staging folder with the tables the
//! data directory keeps, `validate` runs there, and only a clean result replaces the
//! data directory's tables: as new Delta versions, or by a folder swap (see [`commit`]).

pub mod commit;
pub mod conform;
pub mod mapping;
pub mod problems;
pub mod sources;
pub mod timestamps;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono_tz::Tz;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{DataFusionError, SchemaError};
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{SessionContext, col, ident, lit};
use futures::StreamExt;
use parquet::arrow::ArrowWriter;

use crate::data::delta::TableFormat;
use crate::data::location::Location;
use crate::data::schema::{self, TABLES};
use crate::data::validate::{self, ValidationReport};
use crate::session::{self, EngineOptions};
use crate::write::StagedDir;
use conform::Conformer;
use mapping::{Mapping, MappingFile, MappingSpec};
use problems::Problems;
use sources::{SOURCE_FILE, SOURCE_ROW, Source, SourceSpec};

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub mapping: MappingSpec,
    pub sources: Vec<SourceSpec>,
    pub out: PathBuf,
    /// Check everything, write nothing.
    pub dry_run: bool,
    /// The zone of zone-less timestamps in mapping files that declare none.
    pub timezone: Option<Tz>,
    pub engine: EngineOptions,
    /// How the tables are stored (`None`: as `out` has them, Delta for a new folder).
    pub format: Option<TableFormat>,
}

/// What became of one canonical table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Its mapping file ran: the rows it returned.
    Mapped { rows: usize, origin: String },
    /// Its mapping file ran into problems: nothing is written.
    Failed { origin: String },
    /// Its mapping file reads sources that were not given; the table is kept when
    /// the data directory has it.
    Skipped {
        origin: String,
        missing: Vec<String>,
        kept: bool,
    },
    /// Not mapped: kept from the data directory.
    Kept,
    /// Not mapped and not in the data directory, but required: written empty.
    Empty,
}

#[derive(Debug, Clone)]
pub struct TableResult {
    pub table: &'static str,
    pub outcome: Outcome,
}

/// The result of an import, written or not.
#[derive(Debug)]
pub struct Imported {
    pub out: PathBuf,
    pub sources: Vec<(String, PathBuf, usize)>,
    pub tables: Vec<TableResult>,
    pub problems: Problems,
    /// `validate` on the staged tables; `None` when the mapping already had problems.
    pub validation: Option<ValidationReport>,
    pub written: bool,
    pub dry_run: bool,
    /// How the tables are stored.
    pub format: TableFormat,
    /// The import's number in the data directory's manifest (Delta tables).
    pub import: Option<u64>,
    /// Reading the sources, running the mappings and writing Parquet.
    pub mapping_time: Duration,
    pub validate_time: Duration,
}

impl Imported {
    /// Whether the import found nothing wrong (a dry run included).
    pub fn clean(&self) -> bool {
        self.problems.is_empty() && self.validation.as_ref().is_some_and(|v| v.errors() == 0)
    }

    /// What import prints: sources, tables with their rows, problems, validate's
    /// summary, and what was written.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (name, path, rows) in &self.sources {
            out.push_str(&format!(
                "source {name}: {rows} rows from {}\n",
                path.display()
            ));
        }
        for table in &self.tables {
            let what = match &table.outcome {
                Outcome::Mapped { rows, origin } => format!("{rows} rows ({origin})"),
                Outcome::Skipped {
                    origin,
                    missing,
                    kept,
                } => {
                    let kept = if *kept {
                        "kept from the data directory"
                    } else {
                        "not written"
                    };
                    format!(
                        "skipped, {kept}: {origin} reads {}, not given as --source",
                        missing.join(", ")
                    )
                }
                Outcome::Failed { origin } => format!("not written: {origin} has problems (below)"),
                Outcome::Kept => "kept from the data directory".to_string(),
                Outcome::Empty => "no mapping and none in the data directory: written empty".into(),
            };
            out.push_str(&format!("{:<13} {what}\n", table.table));
        }
        if !self.problems.is_empty() {
            out.push_str(&format!(
                "{} problem(s) in the mapping or sources:\n",
                self.problems.total()
            ));
            for problem in self.problems.iter() {
                out.push_str(&format!("  {problem}\n"));
            }
        }
        if let Some(validation) = &self.validation {
            out.push_str("validate:\n");
            for line in validation.text().lines() {
                out.push_str(&format!("  {line}\n"));
            }
        }
        out.push_str(&format!(
            "mapping {:.2} s, validate {:.2} s\n",
            self.mapping_time.as_secs_f64(),
            self.validate_time.as_secs_f64()
        ));
        let verdict = if self.written {
            match self.import {
                Some(import) => format!(
                    "imported into {} (Delta tables, import {import})",
                    self.out.display()
                ),
                None => format!("imported into {}", self.out.display()),
            }
        } else if self.dry_run && self.clean() {
            format!("dry run: clean, nothing written to {}", self.out.display())
        } else {
            format!("nothing written: {} stays as it was", self.out.display())
        };
        out.push_str(&verdict);
        out.push('\n');
        out
    }
}

/// Runs an import. Problems in the mapping or the data are in the result (nothing is
/// written then); an error means the import could not run at all.
pub async fn run(options: &ImportOptions) -> Result<Imported> {
    let mapping = Mapping::load(&options.mapping)?;
    check_destination(&options.out)?;
    let format = options
        .format
        .unwrap_or_else(|| commit::format_of(&options.out))
        .check_writable_at(&Location::Local(options.out.clone()))?;
    if format == TableFormat::Parquet && commit::holds_delta(&options.out) {
        bail!(
            "--format parquet: {} holds Delta tables; import plain folders into a new folder",
            options.out.display()
        );
    }
    let started = Instant::now();
    let threads = options
        .engine
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut sources: Vec<Source> = Vec::new();
    for spec in &options.sources {
        if sources.iter().any(|s| s.name == spec.name) {
            bail!(
                "two sources are named '{}': give one another name with NAME=PATH",
                spec.name
            );
        }
        let read = Instant::now();
        sources.push(Source::read(spec, threads)?);
        crate::timings::report(|| {
            format!(
                "source {}: {:.2} s",
                spec.name,
                read.elapsed().as_secs_f64()
            )
        });
    }
    let ctx = session::context(&options.engine)?;
    ctx.register_udf(timestamps::PreparedToTimestamp::udf(
        datafusion::execution::FunctionRegistry::udf(&ctx, "to_timestamp")?,
    ));
    let partitions = ctx.state().config().target_partitions();
    for source in &sources {
        source.register(&ctx, partitions)?;
    }
    let staging = Staging::new(&options.out, options.dry_run)?;
    let mut problems = Problems::default();
    let mut tables = Vec::new();
    for file in &mapping.files {
        let missing: Vec<String> = file
            .reads
            .iter()
            .filter(|r| !sources.iter().any(|s| &s.name == *r))
            .cloned()
            .collect();
        let outcome = if missing.is_empty() {
            let before = problems.total();
            let mapped = Instant::now();
            let rows = map_table(
                &ctx,
                file,
                &sources,
                options.timezone,
                staging.path(),
                &mut problems,
            )
            .await?;
            crate::timings::report(|| {
                format!(
                    "mapping {}: {:.2} s",
                    file.origin,
                    mapped.elapsed().as_secs_f64()
                )
            });
            if problems.total() > before {
                Outcome::Failed {
                    origin: file.origin.clone(),
                }
            } else {
                Outcome::Mapped {
                    rows,
                    origin: file.origin.clone(),
                }
            }
        } else {
            Outcome::Skipped {
                origin: file.origin.clone(),
                missing,
                kept: false,
            }
        };
        tables.push(TableResult {
            table: file.table.name,
            outcome,
        });
    }
    let mapped: Vec<&str> = tables
        .iter()
        .filter(|t| matches!(t.outcome, Outcome::Mapped { .. } | Outcome::Failed { .. }))
        .map(|t| t.table)
        .collect();
    if mapped.is_empty() && problems.is_empty() {
        let skipped: Vec<String> = tables
            .iter()
            .filter_map(|t| match &t.outcome {
                Outcome::Skipped {
                    origin, missing, ..
                } => Some(format!("{origin} reads {}", missing.join(", "))),
                _ => None,
            })
            .collect();
        bail!(
            "no mapping file could run, for want of sources ({}); name them with --source NAME=PATH",
            skipped.join("; ")
        );
    }
    // What the data directory has and the import does not replace stays.
    if options.out.is_dir() {
        for entry in fs::read_dir(&options.out)
            .with_context(|| format!("cannot list {}", options.out.display()))?
        {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if mapped.contains(&name.as_str()) {
                continue;
            }
            link_tree(&entry.path(), &staging.path().join(&name))?;
            match tables.iter_mut().find(|t| t.table == name) {
                Some(TableResult {
                    outcome: Outcome::Skipped { kept, .. },
                    ..
                }) => *kept = true,
                Some(_) => {}
                None => {
                    if let Some(table) = schema::table(&name) {
                        tables.push(TableResult {
                            table: table.name,
                            outcome: Outcome::Kept,
                        });
                    }
                }
            }
        }
    }
    for table in schema::required_tables() {
        if !mapped.contains(&table.name) && !staging.path().join(table.name).exists() {
            write_empty(staging.path(), table)?;
            tables.retain(|t| t.table != table.name);
            tables.push(TableResult {
                table: table.name,
                outcome: Outcome::Empty,
            });
        }
    }
    tables.sort_by_key(|t| TABLES.iter().position(|c| c.name == t.table));
    let mapping_time = started.elapsed();
    let started = Instant::now();
    let validation = if problems.is_empty() {
        let staged = Location::Local(staging.path().to_path_buf());
        let mut report = validate::validate(&staged, None, &options.engine).await?;
        relocate(&mut report, staging.path(), &options.out);
        Some(report)
    } else {
        None
    };
    let validate_time = started.elapsed();
    let clean = problems.is_empty() && validation.as_ref().is_some_and(|v| v.errors() == 0);
    let written = clean && !options.dry_run;
    let mut import = None;
    if written {
        match format {
            TableFormat::Parquet => staging.commit()?,
            TableFormat::Delta => {
                let new: Vec<&str> = tables
                    .iter()
                    .filter(|t| matches!(t.outcome, Outcome::Mapped { .. } | Outcome::Empty))
                    .map(|t| t.table)
                    .collect();
                import = Some(commit::commit_delta(staging.path(), &options.out, &new).await?);
            }
        }
    }
    Ok(Imported {
        out: options.out.clone(),
        sources: sources
            .iter()
            .map(|s| (s.name.clone(), s.path.clone(), s.rows))
            .collect(),
        tables,
        problems,
        validation,
        written,
        dry_run: options.dry_run,
        format,
        import,
        mapping_time,
        validate_time,
    })
}

/// The destination is new, empty, or a data directory: import replaces tables, and
/// must never fill a folder of other things with copies of them.
fn check_destination(out: &Path) -> Result<()> {
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        bail!("--out {} is a file, not a data directory", out.display());
    }
    let names: Vec<String> = fs::read_dir(out)
        .with_context(|| format!("cannot list {}", out.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    if !names.is_empty() && !names.iter().any(|n| schema::table(n).is_some()) {
        bail!(
            "--out {} is not empty and not a data directory (it has none of {}): import into a new or empty folder, or into a data directory",
            out.display(),
            TABLES.map(|t| format!("{}/", t.name)).join(", ")
        );
    }
    Ok(())
}

/// Runs one mapping file into `dir/<table>/part-0.parquet`; returns its rows.
async fn map_table(
    ctx: &SessionContext,
    file: &MappingFile,
    sources: &[Source],
    timezone: Option<Tz>,
    dir: &Path,
    problems: &mut Problems,
) -> Result<usize> {
    let frame = match ctx.sql(&file.sql).await {
        Ok(frame) => frame,
        Err(error) => {
            let hint = planning_hint(&error, sources);
            let message = crate::error_message(&error.into());
            problems.add(
                &file.origin,
                line_of_error(file, &message),
                hint.map_or(message.clone(), |hint| format!("{message} ({hint})")),
                None,
            );
            return Ok(0);
        }
    };
    let source = source_of_rows(frame.logical_plan(), sources);
    let output = frame.schema().as_arrow().clone();
    let Some(mut conformer) =
        Conformer::new(file, &output, file.timezone.or(timezone), source, problems)
    else {
        return Ok(0);
    };
    // In the sources' order, so that the same input gives the same file.
    let mut order = Vec::new();
    if output.column_with_name(SOURCE_FILE).is_some() {
        order.push(col(SOURCE_FILE).sort(true, true));
    }
    if output.column_with_name(SOURCE_ROW).is_some() {
        order.push(col(SOURCE_ROW).sort(true, true));
    }
    let frame = if order.is_empty() {
        frame
    } else {
        frame.sort(order)?
    };
    let folder = dir.join(file.table.name);
    fs::create_dir_all(&folder).with_context(|| format!("cannot create {}", folder.display()))?;
    let path = folder.join("part-0.parquet");
    let out = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut writer = ArrowWriter::try_new(
        out,
        conformer.schema(),
        Some(crate::write::table_properties()?),
    )?;
    let mut rows = 0;
    let mut stream = match frame.execute_stream().await {
        Ok(stream) => stream,
        Err(error) => {
            let message = crate::error_message(&error.into());
            problems.add(&file.origin, line_of_error(file, &message), message, None);
            return Ok(0);
        }
    };
    while let Some(batch) = stream.next().await {
        let batch = match batch {
            Ok(batch) => batch,
            Err(error) => {
                let message = crate::error_message(&error.into());
                let (line, example) = match locate_value(ctx, sources, &message).await {
                    Some((column, place)) => (file.line_of(&column), Some(place)),
                    None => (line_of_error(file, &message), None),
                };
                problems.add(&file.origin, line, message, example);
                return Ok(rows);
            }
        };
        rows += batch.num_rows();
        if let Some(converted) = conformer.convert(&batch, problems)?
            && problems.is_empty()
        {
            writer.write(&converted)?;
        }
    }
    writer.close()?;
    Ok(rows)
}

/// The line a planning or execution error points at: the line naming the field it
/// names (`No field named x`), else the first line of the query.
fn line_of_error(file: &MappingFile, message: &str) -> usize {
    let named = message
        .split("No field named ")
        .nth(1)
        .and_then(|rest| rest.split(['.', ' ']).next())
        .map(|name| name.trim_matches(|c| c == '"' || c == '\''));
    file.line_of(named.unwrap_or("select"))
}

/// What to add to a planning error: the source tables where a table was not found, a
/// reminder about quoting where a field was not.
fn planning_hint(error: &DataFusionError, sources: &[Source]) -> Option<String> {
    match error.find_root() {
        DataFusionError::SchemaError(schema_error, _)
            if matches!(**schema_error, SchemaError::FieldNotFound { .. }) =>
        {
            Some(
                "mixed-case names need double quotes: \"dateEntered\"; unquoted names are lowercased"
                    .to_string(),
            )
        }
        // DataFusion 55 gives a missing table no kind of its own: a plan error
        // "table '...' not found".
        DataFusionError::Plan(message) if message.starts_with("table ") && message.ends_with(" not found") => {
            let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
            Some(format!("the sources given: {}", names.join(", ")))
        }
        _ => None,
    }
}

/// The first quoted value of an execution error (`Error parsing timestamp from
/// '13/45/2026'...`), found in a source: the column it is in and where.
async fn locate_value(
    ctx: &SessionContext,
    sources: &[Source],
    message: &str,
) -> Option<(String, String)> {
    let value = message.split('\'').nth(1)?;
    for source in sources {
        for field in source.schema.fields() {
            let name = field.name();
            if name == SOURCE_ROW || !matches!(field.data_type(), arrow::datatypes::DataType::Utf8)
            {
                continue;
            }
            let mut wanted = vec![col(SOURCE_ROW)];
            if source.schema.column_with_name(SOURCE_FILE).is_some() {
                wanted.push(col(SOURCE_FILE));
            }
            let found = ctx
                .table(source.name.as_str())
                .await
                .ok()?
                .filter(ident(name).eq(lit(value)))
                .ok()?
                .select(wanted)
                .ok()?
                .sort(vec![col(SOURCE_ROW).sort(true, true)])
                .ok()?
                .limit(0, Some(1))
                .ok()?
                .collect()
                .await
                .ok()?;
            let Some(batch) = found.into_iter().find(|b| b.num_rows() > 0) else {
                continue;
            };
            use arrow::array::AsArray;
            let row = batch
                .column(0)
                .as_primitive_opt::<arrow::datatypes::Int64Type>()?
                .value(0);
            let file = batch
                .columns()
                .get(1)
                .and_then(|c| c.as_string_opt::<i32>())
                .map(|c| c.value(0).to_string());
            return Some((
                name.clone(),
                format!(
                    "'{value}' in {}, column {name}",
                    source.row_location(file.as_deref(), row)
                ),
            ));
        }
    }
    None
}

/// The source the result's `_source_row` comes from: the table its qualifier names, or
/// the one table a subquery alias of that name reads, or the only table read.
fn source_of_rows<'a>(plan: &LogicalPlan, sources: &'a [Source]) -> Option<&'a Source> {
    let (qualifier, _) = plan
        .schema()
        .qualified_field_with_unqualified_name(SOURCE_ROW)
        .ok()?;
    let scans = |plan: &LogicalPlan| -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        let _ = plan.apply(|node| {
            if let LogicalPlan::TableScan(scan) = node {
                let name = scan.table_name.table().to_string();
                if !found.contains(&name) {
                    found.push(name);
                }
            }
            Ok(TreeNodeRecursion::Continue)
        });
        found
    };
    let table = match qualifier {
        None => match scans(plan).as_slice() {
            [only] => Some(only.clone()),
            _ => None,
        },
        Some(qualifier) => {
            let wanted = qualifier.table().to_string();
            let mut resolved = None;
            let _ = plan.apply(|node| {
                if let LogicalPlan::SubqueryAlias(alias) = node
                    && alias.alias.table() == wanted
                {
                    if let [only] = scans(&alias.input).as_slice() {
                        resolved = Some(only.clone());
                    }
                    return Ok(TreeNodeRecursion::Stop);
                }
                Ok(TreeNodeRecursion::Continue)
            });
            resolved.or(Some(wanted))
        }
    }?;
    sources.iter().find(|s| s.name == table)
}

/// A required table the import neither maps nor keeps: written with no rows.
fn write_empty(dir: &Path, table: &schema::Table) -> Result<()> {
    let folder = dir.join(table.name);
    fs::create_dir_all(&folder).with_context(|| format!("cannot create {}", folder.display()))?;
    let path = folder.join("part-0.parquet");
    let file = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    ArrowWriter::try_new(
        file,
        table.schema(),
        Some(crate::write::table_properties()?),
    )?
    .close()?;
    Ok(())
}

/// `from` at `to` by hard links (a copy where links cannot be made), folders recreated.
fn link_tree(from: &Path, to: &Path) -> Result<()> {
    if from.is_dir() {
        fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
        for entry in
            fs::read_dir(from).with_context(|| format!("cannot list {}", from.display()))?
        {
            let entry = entry?;
            link_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        return Ok(());
    }
    if fs::hard_link(from, to).is_err() {
        fs::copy(from, to)
            .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    }
    Ok(())
}

/// The validate report of the staging folder, naming the data directory instead.
fn relocate(report: &mut ValidationReport, staging: &Path, out: &Path) {
    let (from, to) = (staging.display().to_string(), out.display().to_string());
    report.data = report.data.replace(&from, &to);
    for table in report.tables.values_mut() {
        table.location = table.location.replace(&from, &to);
    }
    for finding in &mut report.findings {
        for example in &mut finding.examples {
            *example = example.replace(&from, &to);
        }
    }
}

/// Where the tables are written before they replace the data directory's: beside it
/// (so that the swap is a rename), or for a dry run in a temporary folder.
enum Staging {
    Beside(StagedDir),
    Temporary(tempfile::TempDir),
}

impl Staging {
    fn new(out: &Path, dry_run: bool) -> Result<Self> {
        Ok(if dry_run {
            Staging::Temporary(tempfile::tempdir().context("cannot create a temporary folder")?)
        } else {
            Staging::Beside(StagedDir::new(out)?)
        })
    }

    fn path(&self) -> &Path {
        match self {
            Staging::Beside(staged) => staged.path(),
            Staging::Temporary(dir) => dir.path(),
        }
    }

    fn commit(self) -> Result<()> {
        match self {
            Staging::Beside(staged) => staged.commit(),
            Staging::Temporary(_) => Ok(()),
        }
    }
}
