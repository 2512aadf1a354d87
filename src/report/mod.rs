//! The monthly report job: runs every saved query once for all clients, splits the
//! results per client, and renders one report per client (Markdown and HTML) plus a
//! portfolio index and an internal team report, into a staging folder that replaces
//! `OUT/<period>` only when everything is written.

pub mod charts;
pub mod format;
pub mod inputs;
pub mod templates;
pub mod views;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use datafusion::prelude::SessionContext;
use indicatif::{ProgressBar, ProgressStyle};

use minijinja::Value;

use crate::data::catalog;
use crate::data::imports::AsOf;
use crate::data::integrity;
use crate::data::location::Location;
use crate::kpi;
use crate::models;
use crate::period::{self, Period};
use crate::results::Table;
use crate::run::{self, QueryResult};
use crate::saved_queries::{self, SavedQuery};
use crate::session::{self, EngineOptions};
use crate::write::StagedDir;
use mspkpi_udfs::KpiError;

/// Output formats of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OutputFormat {
    Markdown,
    Html,
}

impl OutputFormat {
    pub fn parse(text: &str) -> Result<Vec<Self>> {
        let mut formats = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let format = match part {
                "md" | "markdown" => Self::Markdown,
                "html" => Self::Html,
                other => bail!("unknown report format '{other}' (use md, html or md,html)"),
            };
            if !formats.contains(&format) {
                formats.push(format);
            }
        }
        if formats.is_empty() {
            bail!("no report format given (use md, html or md,html)");
        }
        Ok(formats)
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Markdown => "md",
            Self::Html => "html",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub data: Location,
    /// The import whose data the report reads (`--as-of`; the latest when `None`).
    pub as_of: Option<AsOf>,
    pub period: Period,
    /// Only these clients (all active clients when empty).
    pub clients: Vec<String>,
    pub formats: Vec<OutputFormat>,
    pub queries: Option<PathBuf>,
    pub templates: Option<PathBuf>,
    pub out: PathBuf,
    pub engine: EngineOptions,
    /// The currency of MRR and CLTV.
    pub currency: format::Currency,
}

#[derive(Debug, Clone)]
pub struct ReportSummary {
    pub folder: PathBuf,
    pub clients: usize,
    pub files: usize,
}

fn progress_bar(length: u64) -> ProgressBar {
    let bar = ProgressBar::new(length);
    if let Ok(style) = ProgressStyle::with_template("{msg:30} [{bar:30}] {pos}/{len}") {
        bar.set_style(style);
    }
    bar
}

/// The saved queries' results, the session's clients and SLA targets.
#[derive(Debug)]
pub struct Collected {
    pub results: Vec<QueryResult>,
    pub clients: Vec<inputs::Client>,
    pub targets: Vec<inputs::SlaTarget>,
    /// Whether the data has a status history (`ticket_status`).
    pub status_history: bool,
}

/// Runs the saved queries for the period and returns their results, the session's
/// clients and SLA targets. A failure that damaged data can explain names the file.
pub async fn collect(
    data: &Location,
    as_of: Option<AsOf>,
    period: &Period,
    queries: &[SavedQuery],
    engine: &EngineOptions,
) -> Result<Collected> {
    let (ctx, sources) = session::open(data, as_of, engine).await?;
    let status_history = catalog::has_status_history(&sources);
    let run = run_queries(&ctx, data, period, queries, engine, status_history);
    integrity::guarded(&sources, run).await
}

async fn run_queries(
    ctx: &SessionContext,
    data: &Location,
    period: &Period,
    queries: &[SavedQuery],
    engine: &EngineOptions,
    status_history: bool,
) -> Result<Collected> {
    period::register_periods(ctx, period.grain)?;
    let bar = progress_bar(queries.len() as u64);
    let params = saved_queries::period_params(period);
    let results = run::run_all(ctx, queries, &params, &models::placement(engine), |q| {
        bar.set_message(format!("query {}", q.name));
        bar.inc(1);
    })
    .await
    .map_err(|e| {
        if rejected_values(&e, engine.on_cluster()) {
            e.context(format!("the data has values the KPI functions reject: run `mspkpi validate --data {data}` to list them"))
        } else {
            e
        }
    })?;
    bar.finish_and_clear();
    let clients = inputs::clients(ctx).await?;
    let targets = inputs::sla_targets(ctx).await?;
    Ok(Collected {
        results,
        clients,
        targets,
        status_history,
    })
}

/// Whether a run failed on values of the data rather than on the query: a value
/// outside a KPI function's domain (a [`KpiError`]), or, from a damaged page that
/// still decodes, a time outside what a timestamp can hold.
fn rejected_values(error: &anyhow::Error, on_cluster: bool) -> bool {
    if KpiError::find(error.as_ref()).is_some() {
        return true;
    }
    let text = format!("{error:#}");
    // Arrow gives an unrepresentable time no kind of its own.
    if text.contains("representable") {
        return true;
    }
    // A cluster sends its executors' errors back as text.
    on_cluster && KpiError::described_in(&text)
}

/// Renders the reports of one period.
pub async fn run(options: &ReportOptions) -> Result<ReportSummary> {
    let queries = saved_queries::load(options.queries.as_deref())?;
    let templates = templates::Templates::load(options.templates.as_deref())?;
    let Collected {
        results,
        clients,
        targets,
        status_history,
    } = collect(
        &options.data,
        options.as_of,
        &options.period,
        &queries,
        &options.engine,
    )
    .await?;
    let mut catalogue = kpi::catalogue(&queries);
    if !status_history {
        kpi::without_table(&mut catalogue, crate::data::schema::TICKET_STATUS);
    }
    let results = views::Results::new(&results, &catalogue);

    let active: Vec<&inputs::Client> = clients
        .iter()
        .filter(|c| c.active_in(&options.period))
        .collect();
    let selected: Vec<&inputs::Client> = if options.clients.is_empty() {
        active
    } else {
        let mut chosen = Vec::new();
        for id in &options.clients {
            match active.iter().find(|c| c.id == *id) {
                Some(c) => chosen.push(*c),
                None => bail!("client '{id}' is not a client active in {}", options.period),
            }
        }
        chosen
    };
    let files = views::file_stems(&selected);

    let folder = options.out.join(options.period.to_string());
    let rendering = std::time::Instant::now();
    let staged = StagedDir::new(&folder)?;
    let bar = progress_bar(selected.len() as u64);
    // Clients render in parallel, a share of them per thread.
    let workers = options
        .engine
        .threads
        .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
        .unwrap_or(1)
        .clamp(1, selected.len().max(1));
    let share = selected.len().div_ceil(workers).max(1);
    let page = Page {
        folder: &staged,
        period: &options.period,
        formats: &options.formats,
        templates: &templates,
        results: &results,
        targets: &targets,
        files: &files,
        status_history,
    };
    let shares: Vec<Result<Vec<views::IndexRow>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = selected
            .chunks(share)
            .map(|clients| {
                let (page, bar) = (&page, &bar);
                scope.spawn(move || {
                    clients
                        .iter()
                        .map(|client| {
                            bar.set_message(format!("client {}", client.id));
                            let row = page.client(client);
                            bar.inc(1);
                            row
                        })
                        .collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a report thread failed")))
            })
            .collect()
    });
    let mut index_rows = Vec::new();
    for share in shares {
        index_rows.extend(share?);
    }
    let mut written = index_rows.len() * options.formats.len();
    bar.finish_and_clear();
    let index = views::index(index_rows, &options.period, &results, &options.currency)?;
    let team = views::team(&options.period, &results, &options.currency)?;
    let (index, team) = (Value::from_serialize(&index), Value::from_serialize(&team));
    for &format in &options.formats {
        let pages = [
            ("index", templates.render(format, "index", &index)?),
            ("team", templates.render(format, "team", &team)?),
        ];
        for (name, text) in pages {
            staged.write(
                Path::new(&format!("{name}.{}", format.extension())),
                text.as_bytes(),
            )?;
            written += 1;
        }
    }
    staged.commit()?;
    crate::timings::report(|| {
        format!(
            "rendering and writing {written} files: {:.2} s",
            rendering.elapsed().as_secs_f64()
        )
    });
    Ok(ReportSummary {
        folder,
        clients: selected.len(),
        files: written,
    })
}

/// What every client's report needs besides the client.
struct Page<'a> {
    folder: &'a StagedDir,
    period: &'a Period,
    formats: &'a [OutputFormat],
    templates: &'a templates::Templates,
    results: &'a views::Results<'a>,
    targets: &'a [inputs::SlaTarget],
    files: &'a HashMap<String, String>,
    status_history: bool,
}

impl Page<'_> {
    /// Renders and writes one client's report in every format; returns its index line.
    fn client(&self, client: &inputs::Client) -> Result<views::IndexRow> {
        let id = &client.id;
        let file = &self.files[id];
        let view = views::client(
            client,
            file,
            self.period,
            self.results,
            self.targets,
            self.status_history,
        )?;
        let row = views::IndexRow::new(&view, &self.results.index_columns);
        // One conversion for every format.
        let context = Value::from_serialize(&view);
        for &format in self.formats {
            let text = self
                .templates
                .render(format, "client", &context)
                .with_context(|| format!("the report of client '{id}'"))?;
            self.folder.write(
                Path::new(&format!("{file}.{}", format.extension())),
                text.as_bytes(),
            )?;
        }
        Ok(row)
    }
}

/// The last complete period of the data: the latest `created_at` month, minus one.
pub async fn last_complete_month(data: &Path) -> Result<Period> {
    let (ctx, sources) = session::open(&data.into(), None, &EngineOptions::default()).await?;
    let table = integrity::guarded(&sources, async {
        Table::from_batches(
            &ctx.sql("SELECT CAST(max(created_at) AS DATE) AS last FROM tickets")
                .await?
                .collect()
                .await?,
        )
    })
    .await?;
    let date = (!table.is_empty())
        .then(|| table.row(0).date("last"))
        .flatten()
        .context("the tickets table is empty")?;
    Ok(Period::containing(date, period::Grain::Month).previous(1))
}
