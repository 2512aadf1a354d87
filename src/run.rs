//! A run's one dependency graph: the staged models and the KPI queries, each node
//! starting as soon as the models it reads are registered (dbt's `GraphQueue`).
//!
//! - Models start as soon as they are ready, together; those starting at one moment
//!   share evenly what the budget (`--memory-limit`) has left: less what the models
//!   in memory hold and what the running ones were given.
//! - KPI queries run one at a time, the first ready one in file order, so that a
//!   query fills the cores a model leaves idle without two queries competing.
//! - On a cluster the models run in waves (those ready when nothing runs start
//!   together) and every KPI query waits for all of them: a run whose jobs
//!   overlapped there when an executor was lost neither finished nor failed within
//!   120 s, where one job at a time is rerun.
//!
//! Results come back in file order. A failing node fails the run with its own error.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;

use anyhow::{Context, Result, bail};
use datafusion::common::TableReference;
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use futures::StreamExt;
use futures::stream::FuturesUnordered;

use crate::models::{Model, Models, Placement};
use crate::results::{self, Table};
use crate::saved_queries::{SavedQuery, Scope};

/// One saved query's result, typed, with the rows of each client.
#[derive(Debug, Clone)]
pub struct QueryResult {
    pub query: SavedQuery,
    pub table: Table,
    by_client: BTreeMap<String, Vec<usize>>,
}

impl QueryResult {
    pub fn new(query: SavedQuery, table: Table) -> Self {
        let by_client = match query.scope {
            Scope::Client => results::group_rows(&table, "client_id"),
            _ => BTreeMap::new(),
        };
        Self {
            query,
            table,
            by_client,
        }
    }

    /// The columns; none when the query returned no rows.
    pub fn columns(&self) -> &[String] {
        self.table.column_names()
    }

    pub fn rows(&self) -> impl Iterator<Item = results::Row<'_>> {
        self.table.rows()
    }

    /// The rows of one client (of a client-scope query).
    pub fn client_rows(&self, client: &str) -> Vec<results::Row<'_>> {
        self.by_client
            .get(client)
            .map(|rows| rows.iter().map(|&i| self.table.row(i)).collect())
            .unwrap_or_default()
    }

    /// The clients that have rows.
    pub fn clients(&self) -> impl Iterator<Item = &str> {
        self.by_client.keys().map(String::as_str)
    }
}

/// What a run tells its caller as it goes.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    /// A model or query starts.
    Starts(&'a SavedQuery),
    /// A model's table is registered: the queries that read it may start.
    Registered(&'a SavedQuery),
}

/// A finished run: its models, still registered until this is dropped, and the
/// results of its KPI queries in file order.
pub struct Run {
    pub models: Models,
    pub results: Vec<QueryResult>,
}

/// The models among `models` that `query` reads (itself excepted), by name.
pub fn reads(ctx: &SessionContext, query: &SavedQuery, models: &[&str]) -> Result<Vec<String>> {
    let state = ctx.state();
    let dialect = state.config().options().sql_parser.dialect;
    let statement = state
        .sql_to_statement(&query.sql, &dialect)
        .with_context(|| format!("saved query {query}"))?;
    let tables = state
        .resolve_table_references(&statement)
        .with_context(|| format!("saved query {query}"))?;
    let mut names: Vec<String> = tables
        .iter()
        .map(|t: &TableReference| t.table().to_string())
        .filter(|t| models.contains(&t.as_str()) && *t != query.name)
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// Materialises the models and runs every other query once, splitting the
/// client-scope results per client; the models are removed when it returns.
pub async fn run_all(
    ctx: &SessionContext,
    queries: &[SavedQuery],
    values: &HashMap<String, ScalarValue>,
    placement: &Placement,
    mut progress: impl FnMut(&SavedQuery),
) -> Result<Vec<QueryResult>> {
    let run = run(ctx, queries, values, placement, |step| {
        if let Step::Starts(query) = step {
            progress(query)
        }
    })
    .await?;
    Ok(run.results)
}

/// Materialises the models among `queries` only, registered until the result drops.
pub async fn materialise(
    ctx: &SessionContext,
    queries: &[SavedQuery],
    values: &HashMap<String, ScalarValue>,
    placement: &Placement,
) -> Result<Models> {
    let models: Vec<SavedQuery> = queries
        .iter()
        .filter(|q| q.scope == Scope::Model)
        .cloned()
        .collect();
    Ok(run(ctx, &models, values, placement, |_| {}).await?.models)
}

/// A node of the graph.
struct Node<'a> {
    query: &'a SavedQuery,
    reads: Vec<String>,
    started: bool,
}

/// What a running node gives back: its place in `queries` and what it made.
enum Finished {
    Model(usize, Model),
    Query(usize, Box<QueryResult>),
}

type Running<'a> = Pin<Box<dyn Future<Output = Result<Finished>> + 'a>>;

/// Runs the graph of `queries` (see the module's rule).
pub async fn run<'q>(
    ctx: &SessionContext,
    queries: &'q [SavedQuery],
    values: &HashMap<String, ScalarValue>,
    placement: &Placement,
    mut step: impl FnMut(Step<'q>),
) -> Result<Run> {
    let model_names: Vec<&str> = queries
        .iter()
        .filter(|q| q.scope == Scope::Model)
        .map(|q| q.name.as_str())
        .collect();
    let on_cluster = matches!(placement, Placement::Executors(_));
    let mut nodes = queries
        .iter()
        .map(|query| {
            let reads = if on_cluster && query.scope != Scope::Model {
                model_names.iter().map(|m| m.to_string()).collect()
            } else {
                reads(ctx, query, &model_names)?
            };
            Ok(Node {
                query,
                reads,
                started: false,
            })
        })
        .collect::<Result<Vec<Node>>>()?;
    let models = Models::new(ctx, placement, !model_names.is_empty())?;
    let budget = placement.budget();
    let mut registered: Vec<&str> = Vec::new();
    // The shares of the budget the running models were given.
    let mut given: HashMap<usize, usize> = HashMap::new();
    let mut query_running = false;
    let mut results: Vec<(usize, QueryResult)> = Vec::new();
    let mut running: FuturesUnordered<Running> = FuturesUnordered::new();
    loop {
        let ready = |node: &Node| {
            !node.started && node.reads.iter().all(|r| registered.contains(&r.as_str()))
        };
        // On a cluster, models start in waves: those ready when nothing runs.
        let ready_models: Vec<usize> = (0..nodes.len())
            .filter(|&i| nodes[i].query.scope == Scope::Model && ready(&nodes[i]))
            .filter(|_| !on_cluster || running.is_empty())
            .collect();
        if !ready_models.is_empty() {
            let left = budget.map(|b| {
                b.saturating_sub(models.held())
                    .saturating_sub(given.values().sum())
            });
            let share = left.map(|l| l / ready_models.len());
            for &i in &ready_models {
                let node = &mut nodes[i];
                node.started = true;
                step(Step::Starts(node.query));
                if let Some(share) = share {
                    given.insert(i, share);
                }
                let (query, models) = (node.query, &models);
                running.push(Box::pin(async move {
                    let model = models.place(query, values, placement, share).await?;
                    Ok(Finished::Model(i, model))
                }));
            }
        }
        if !query_running {
            let next = (0..nodes.len())
                .find(|&i| nodes[i].query.scope != Scope::Model && ready(&nodes[i]));
            if let Some(i) = next {
                let node = &mut nodes[i];
                node.started = true;
                query_running = true;
                step(Step::Starts(node.query));
                let query = node.query;
                running.push(Box::pin(async move {
                    Ok(Finished::Query(
                        i,
                        Box::new(run_one(ctx, query, values).await?),
                    ))
                }));
            }
        }
        let Some(finished) = running.next().await else {
            break;
        };
        match finished? {
            Finished::Model(i, model) => {
                given.remove(&i);
                // Held before the next shares are given.
                models.keep(model);
                registered.push(nodes[i].query.name.as_str());
                step(Step::Registered(nodes[i].query));
            }
            Finished::Query(i, result) => {
                query_running = false;
                results.push((i, *result));
            }
        }
    }
    drop(running);
    let stuck: Vec<&str> = nodes
        .iter()
        .filter(|n| !n.started && n.query.scope == Scope::Model)
        .map(|n| n.query.name.as_str())
        .collect();
    if !stuck.is_empty() {
        bail!("the models {} read each other in a cycle", stuck.join(", "));
    }
    if let Some(waiting) = nodes.iter().find(|n| !n.started) {
        bail!(
            "saved query {} reads models that never ran: {}",
            waiting.query,
            waiting.reads.join(", ")
        );
    }
    results.sort_by_key(|(place, _)| *place);
    Ok(Run {
        models,
        results: results.into_iter().map(|(_, result)| result).collect(),
    })
}

/// Runs one query (not a model) and checks that it returns the columns its scope and
/// its KPIs need.
async fn run_one(
    ctx: &SessionContext,
    query: &SavedQuery,
    values: &HashMap<String, ScalarValue>,
) -> Result<QueryResult> {
    let started = std::time::Instant::now();
    let batches = query.run(ctx, values).await?;
    crate::timings::report(|| {
        format!(
            "saved query {}: {:.2} s",
            query.name,
            started.elapsed().as_secs_f64()
        )
    });
    let table = Table::from_batches(&batches)
        .with_context(|| format!("saved query {query}: reading its result"))?;
    let required: &[&str] = match query.scope {
        Scope::Client => &["client_id", "period"],
        Scope::Portfolio | Scope::Internal | Scope::Model => &["period"],
    };
    if let Some(missing) = required
        .iter()
        .find(|c| !table.column_names().is_empty() && !table.has_column(c))
    {
        bail!(
            "saved query {query} returns no '{missing}' column, which a {:?} query must return",
            query.scope
        );
    }
    for kpi in &query.kpis {
        for column in std::iter::once(&kpi.column).chain(&kpi.n_column) {
            if !table.column_names().is_empty() && !table.has_column(column) {
                bail!(
                    "saved query {query} returns no column '{column}', which its header declares as a KPI"
                );
            }
        }
    }
    Ok(QueryResult::new(query.clone(), table))
}
