//! Running on an Apache DataFusion Ballista cluster: the scheduler and executor
//! processes, with every mspkpi function registered, and the client session that
//! plans a query locally and hands it to the scheduler.
//!
//! The functions keep no state, so a plan names them and each node resolves the names
//! in its own registry: nothing but registration is needed on every node. Ballista has
//! no authentication of its own; a cluster belongs on a private network.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use ballista::prelude::{SessionConfigExt, SessionContextExt};
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::catalog::Session;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::listing::ListingTable;
use datafusion::datasource::source_as_provider;
use datafusion::error::DataFusionError;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::QueryPlanner;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::data::object_stores;

/// The scheduler process's settings.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    pub bind: String,
    pub port: u16,
    /// An executor silent for this long is taken as lost and its tasks run elsewhere.
    pub executor_timeout: Duration,
}

/// An executor process's settings.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler's `HOST:PORT`.
    pub scheduler: String,
    pub bind: String,
    /// The Arrow Flight port (results and shuffles).
    pub port: u16,
    /// The gRPC port (tasks from the scheduler).
    pub grpc_port: u16,
    /// Tasks run at once (default: the number of cores).
    pub concurrency: Option<usize>,
    /// Memory of the executor's tasks together; beyond it, they spill.
    pub memory_limit: Option<usize>,
    pub heartbeat: Duration,
}

/// The log lines of the cluster's processes go to stderr (`RUST_LOG` overrides the
/// level).
pub fn init_logging() {
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .target(env_logger::Target::Stderr)
        .try_init();
}

/// Ballista serves anyone who reaches its ports.
fn warn_if_exposed(bind: &str) {
    let local = bind == "localhost"
        || bind
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !local {
        log::warn!(
            "listening on {bind}: Ballista has no authentication, so anyone who can reach \
             this address can run queries and read the data; keep the cluster on a \
             private network"
        );
    }
}

/// Fails with a clear message when `bind:port` cannot be listened on.
fn check_free(bind: &str, port: u16, what: &str) -> Result<SocketAddr> {
    let address = format!("{bind}:{port}");
    let listener = TcpListener::bind(&address)
        .with_context(|| format!("the {what} cannot listen on {address} (is the port taken?)"))?;
    listener
        .local_addr()
        .with_context(|| format!("the {what} cannot listen on {address}"))
}

/// The functions an executor decodes plans with: those of the session the scheduler
/// plans with (every DataFusion function, nested ones included, and every mspkpi
/// function), so a node knows each function a client may call. Ballista's default
/// registry holds DataFusion's core functions only, not `array_has`, `array_element`….
fn function_registry() -> datafusion::error::Result<BallistaFunctionRegistry> {
    Ok(BallistaFunctionRegistry::from(&scheduler_session(
        SessionConfig::new(),
    )?))
}

/// The scheduler's session for a client's config: DataFusion's defaults, the mspkpi
/// functions and the object stores.
fn scheduler_session(
    config: SessionConfig,
) -> datafusion::error::Result<datafusion::execution::SessionState> {
    let mut state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .with_runtime_env(
            RuntimeEnvBuilder::new()
                .with_object_store_registry(object_stores::registry())
                .build_arc()?,
        )
        .build();
    mspkpi_udfs::register_all(&mut state)?;
    Ok(state)
}

/// Runs a scheduler until SIGTERM or Ctrl-C.
pub async fn run_scheduler(options: &SchedulerOptions) -> Result<()> {
    warn_if_exposed(&options.bind);
    let address = check_free(&options.bind, options.port, "scheduler")?;
    let timeout = options.executor_timeout.as_secs().max(1);
    let mut config = SchedulerConfig::default()
        .with_hostname(options.bind.clone())
        .with_port(options.port)
        .with_override_config_producer(Arc::new(SessionConfig::new_with_ballista))
        .with_override_session_builder(Arc::new(scheduler_session));
    config.bind_host = options.bind.clone();
    config.executor_timeout_seconds = timeout;
    // Look for silent executors often enough that a lost one is noticed within the
    // timeout, not a default 15 s later.
    config.expire_dead_executor_interval_seconds = (timeout / 2).clamp(1, 15);
    // With no executor left, fail the running jobs after the same time rather than
    // Ballista's default 180 s (the client runs a query again once).
    config.no_executors_grace_period_seconds = timeout;
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .context("cannot set up the scheduler's cluster state")?;
    log::info!("mspkpi scheduler on {address}, executor timeout {timeout} s");
    tokio::select! {
        served = start_server(cluster, address, Arc::new(config)) => {
            served.with_context(|| format!("the scheduler on {address} stopped"))
        }
        _ = shutdown_signal() => {
            log::info!("mspkpi scheduler stopping");
            Ok(())
        }
    }
}

/// SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Splits `HOST:PORT`.
fn host_and_port(text: &str) -> Result<(String, u16)> {
    let text = text.trim_start_matches("df://");
    let (host, port) = text
        .rsplit_once(':')
        .with_context(|| format!("'{text}' is not HOST:PORT"))?;
    let port = port
        .parse()
        .with_context(|| format!("'{port}' in '{text}' is not a port number"))?;
    Ok((host.to_string(), port))
}

/// Fails fast, naming the address, when nothing listens at the scheduler's port.
async fn check_reachable(host: &str, port: u16, what: &str) -> Result<()> {
    let address = format!("{host}:{port}");
    match tokio::time::timeout(
        Duration::from_secs(10),
        tokio::net::TcpStream::connect(&address),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => bail!("cannot reach the {what} at {address}: {e}"),
        Err(_) => bail!("cannot reach the {what} at {address}: no answer in 10 s"),
    }
}

/// Runs an executor until SIGTERM or Ctrl-C, or until the scheduler asks it to stop.
pub async fn run_executor(options: &ExecutorOptions) -> Result<()> {
    warn_if_exposed(&options.bind);
    let (scheduler_host, scheduler_port) = host_and_port(&options.scheduler)?;
    check_free(&options.bind, options.port, "executor")?;
    check_free(&options.bind, options.grpc_port, "executor")?;
    check_reachable(&scheduler_host, scheduler_port, "scheduler").await?;
    // Shuffle files and spills; removed when the executor stops.
    let work_dir = tempfile::Builder::new()
        .prefix("mspkpi-executor-")
        .tempdir()
        .context("cannot create the executor's work folder")?;
    let spill_to = work_dir.path().to_path_buf();
    let mut config = ExecutorProcessConfig {
        bind_host: options.bind.clone(),
        port: options.port,
        grpc_port: options.grpc_port,
        scheduler_host,
        scheduler_port,
        scheduler_connect_timeout_seconds: 10,
        executor_heartbeat_interval_seconds: options.heartbeat.as_secs().max(1),
        memory_pool_size: options.memory_limit.map(|m| m as u64),
        work_dir: Some(work_dir.path().display().to_string()),
        override_function_registry: Some(Arc::new(
            function_registry().context("cannot register the executor's functions")?,
        )),
        // s3:// data and models, from the executor's own AWS environment.
        override_runtime_producer: Some(Arc::new(move |_: &SessionConfig| {
            RuntimeEnvBuilder::new()
                .with_temp_file_path(spill_to.clone())
                .with_object_store_registry(object_stores::registry())
                .build_arc()
        })),
        override_config_producer: Some(Arc::new(SessionConfig::new_with_ballista)),
        print_thread_info: false,
        ..Default::default()
    };
    if let Some(concurrency) = options.concurrency {
        config.vcores = concurrency.max(1);
    }
    log::info!(
        "mspkpi executor {} on {}:{} (gRPC {}), scheduler {}",
        config.executor_id,
        options.bind,
        options.port,
        options.grpc_port,
        options.scheduler
    );
    let served = start_executor_process(Arc::new(config))
        .await
        .with_context(|| format!("the executor (scheduler {})", options.scheduler));
    drop(work_dir);
    served
}

/// A client session whose queries run on the cluster at `url` (`df://HOST:PORT`):
/// planned here, executed by the executors.
pub async fn connect(
    url: &str,
    local: datafusion::execution::SessionState,
) -> Result<SessionContext> {
    let (host, port) = host_and_port(url)?;
    check_reachable(&host, port, "scheduler").await?;
    let ctx = SessionContext::remote_with_state(url, local)
        .await
        .with_context(|| format!("cannot connect to the cluster at {url}"))?;
    register_again(&ctx)?;
    Ok(plan_memory_here(ctx))
}

/// An in-process cluster (one scheduler, one executor) over `local`: for tests.
pub async fn standalone(local: datafusion::execution::SessionState) -> Result<SessionContext> {
    let ctx = SessionContext::standalone_with_state(local)
        .await
        .context("cannot start an in-process cluster")?;
    register_again(&ctx)?;
    Ok(plan_memory_here(ctx))
}

/// The cluster session `ctx`, its planner wrapped in [`MemoryHere`].
fn plan_memory_here(ctx: SessionContext) -> SessionContext {
    let state = ctx.state();
    let cluster = Arc::clone(state.query_planner());
    let state = SessionStateBuilder::new_from_existing(state)
        .with_query_planner(Arc::new(MemoryHere { cluster }))
        .build();
    SessionContext::new_with_state(state)
}

/// Where a plan runs. A plan that reads no data files (only tables in this process's
/// memory, such as `CREATE TABLE … AS` results and `VALUES`, table functions such as
/// `range` and `generate_series`, or nothing) runs here: its rows exist only in this
/// process, and a cluster would add nothing but the round trip. A plan that reads data
/// files goes to the cluster, and one that reads files and memory together is refused
/// by name, since a plan carries files to the executors but not this process's memory.
#[derive(Debug)]
struct MemoryHere {
    cluster: Arc<dyn QueryPlanner + Send + Sync>,
}

#[async_trait::async_trait]
impl QueryPlanner for MemoryHere {
    async fn create_physical_plan(
        &self,
        plan: &LogicalPlan,
        session: &dyn Session,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        let (files, memory) = scans(plan)?;
        if files.is_empty() {
            return DefaultPhysicalPlanner::default()
                .create_physical_plan(plan, session)
                .await;
        }
        if !memory.is_empty() {
            return Err(DataFusionError::Plan(format!(
                "on a cluster, a query cannot read {} (in this process's memory: a CREATE TABLE … AS result, VALUES or a table function) together with data files ({}): write it to Parquet first (COPY … TO 'file.parquet') or run the query without --cluster",
                memory.join(", "),
                files.join(", ")
            )));
        }
        self.cluster.create_physical_plan(plan, session).await
    }
}

/// The tables a plan scans, subqueries included: those of data files (listing tables),
/// and the others (in this process's memory). `information_schema`, which Ballista
/// answers on the client itself, counts as neither.
fn scans(plan: &LogicalPlan) -> datafusion::error::Result<(Vec<String>, Vec<String>)> {
    let mut files = Vec::new();
    let mut memory = Vec::new();
    plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            let name = scan.table_name.to_string();
            let provider = source_as_provider(&scan.source)?;
            if scan.table_name.schema() == Some("information_schema") {
                // Ballista's own planner runs these on the client.
            } else if let Some(listing) = provider.downcast_ref::<ListingTable>() {
                // A view's scan has no name of its own: its files say what it reads.
                files.push(match listing.table_paths().first() {
                    Some(path) if name == "?table?" => path.as_str().to_string(),
                    _ => name,
                });
            } else {
                memory.push(name);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    for names in [&mut files, &mut memory] {
        names.sort_unstable();
        names.dedup();
    }
    Ok((files, memory))
}

/// Ballista's upgrade of a session replaces its function maps with DataFusion's
/// defaults: the mspkpi functions go back in.
fn register_again(ctx: &SessionContext) -> Result<()> {
    mspkpi_udfs::register_all(&mut *ctx.state_ref().write())
        .context("cannot register the mspkpi functions")
}

/// The session config a cluster client starts from.
pub fn client_config() -> SessionConfig {
    SessionConfig::new_with_ballista()
}

/// Whether `ctx` hands its queries to a cluster.
pub fn is_remote(ctx: &SessionContext) -> bool {
    ctx.state()
        .config()
        .options()
        .extensions
        .get::<ballista_core::config::BallistaConfig>()
        .is_some()
}

/// The executor that an error says was lost, by its id or address, when the error is
/// a cluster's transport failure: a stopped executor's results, or its shuffle
/// output, could not be read. Ballista reruns a lost executor's tasks elsewhere, but
/// what the client or another executor was reading from it is gone with it.
pub fn lost_executor(error_text: &str) -> Option<&str> {
    const NAMED_BY: [&str; 2] = [
        "Error connecting to Ballista scheduler or executor at ",
        "Shuffle fetch partition error from Executor ",
    ];
    if let Some(rest) = NAMED_BY
        .iter()
        .find_map(|prefix| error_text.split_once(prefix).map(|(_, rest)| rest))
    {
        let rest = rest
            .trim_start_matches("http://")
            .trim_start_matches("https://");
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || ".:-[]".contains(c)))
            .unwrap_or(rest.len());
        return Some(rest[..end].trim_end_matches(':')).filter(|a| !a.is_empty());
    }
    // A stream cut mid-way names no one.
    ["h2 protocol error", "connection reset", "tcp connect error"]
        .iter()
        .any(|t| error_text.contains(t))
        .then_some("that was sending results")
}

/// Runs `attempt`, and runs it again (twice at most) when it failed because an
/// executor of the cluster was lost: the scheduler has by then moved the lost
/// executor's work elsewhere, and a query's answer does not depend on where it ran.
/// A local session's queries run once.
pub async fn rerun_if_executor_lost<T, F, Fut>(
    ctx: &SessionContext,
    what: &str,
    mut attempt: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    if !is_remote(ctx) {
        return attempt().await;
    }
    const RERUNS: usize = 2;
    let mut reruns = 0;
    loop {
        match attempt().await {
            Err(error) if reruns < RERUNS => {
                let text = format!("{error:#}");
                let Some(executor) = lost_executor(&text) else {
                    return Err(error);
                };
                reruns += 1;
                eprintln!("{what}: lost the executor {executor}; running it again");
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            }
            Err(error) => {
                let text = format!("{error:#}");
                return Err(match lost_executor(&text) {
                    Some(executor) => error.context(format!(
                        "lost the executor {executor} in each of {} runs of {what}: check the cluster's executors",
                        RERUNS + 1
                    )),
                    None => error,
                });
            }
            ok => return ok,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::lost_executor;

    #[test]
    fn names_the_executor_an_error_could_not_reach() {
        let text = "Execution error: GrpcConnectionError(\"Error connecting to Ballista scheduler or executor at http://127.0.0.1:34551: tonic::transport::Error(Transport, ...)\")";
        assert_eq!(lost_executor(text), Some("127.0.0.1:34551"));
        let text = "External error: Shuffle fetch partition error from Executor b15e9e66-c0f2-4dec-af54-3bb27f7675f4, map_stage 1";
        assert_eq!(
            lost_executor(text),
            Some("b15e9e66-c0f2-4dec-af54-3bb27f7675f4")
        );
        assert_eq!(lost_executor("Execution error: division by zero"), None);
    }
}
