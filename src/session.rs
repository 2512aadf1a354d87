//! A DataFusion session with every mspkpi function and a data directory's tables.

use std::sync::Arc;

use anyhow::{Context, Result};
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::{SessionState, SessionStateBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::catalog::{self, TableSource};
use crate::location::Location;
use crate::object_stores;

/// How the engine runs.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Memory pool size in bytes; beyond it, aggregations and sorts spill to disk.
    pub memory_limit: Option<usize>,
    /// Worker threads and partitions (default: the number of cores). On a cluster, the
    /// partitions the client plans with.
    pub threads: Option<usize>,
    /// A Ballista scheduler (`df://HOST:PORT`) whose executors run the queries.
    pub cluster: Option<String>,
}

impl EngineOptions {
    /// Whether queries run on a cluster, where every table must be one that a plan can
    /// carry to another process (files, views), never memory of this one.
    pub fn on_cluster(&self) -> bool {
        self.cluster.is_some()
    }
}

/// A local session with every mspkpi function registered and no tables.
pub fn context(options: &EngineOptions) -> Result<SessionContext> {
    Ok(SessionContext::new_with_state(state(SessionConfig::new(), options)?).enable_url_table())
}

/// A session with every mspkpi function registered and no tables: local, or on the
/// cluster the options name.
pub async fn connect(options: &EngineOptions) -> Result<SessionContext> {
    let Some(url) = &options.cluster else {
        return context(options);
    };
    #[cfg(feature = "cluster")]
    {
        let state = state(crate::cluster::client_config(), options)?;
        Ok(crate::cluster::connect(url, state)
            .await?
            .enable_url_table())
    }
    #[cfg(not(feature = "cluster"))]
    anyhow::bail!(
        "--cluster {url}: this mspkpi was built without the `cluster` feature (build it with `cargo build --features cluster`)"
    )
}

/// The state of a session: the options applied to `config`, the mspkpi functions
/// registered.
pub fn state(config: SessionConfig, options: &EngineOptions) -> Result<SessionState> {
    let mut config = config.with_information_schema(true);
    if let Some(threads) = options.threads {
        config = config.with_target_partitions(threads.max(1));
    }
    if options.memory_limit.is_some() {
        // A hash join holds its whole build side in memory and cannot spill; a sort-merge
        // join's sorts can. Under a bound, joins of any size finish within it.
        config = config.set_bool("datafusion.optimizer.prefer_hash_join", false);
    }
    let mut runtime =
        RuntimeEnvBuilder::new().with_object_store_registry(object_stores::registry());
    if let Some(limit) = options.memory_limit {
        runtime = runtime.with_memory_pool(Arc::new(FairSpillPool::new(limit)));
    }
    let mut state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime.build_arc()?)
        .with_default_features()
        .build();
    mspkpi_udfs::register_all(&mut state).context("cannot register the mspkpi functions")?;
    Ok(state)
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
pub async fn rerun_if_executor_lost<T, F, Fut>(what: &str, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
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

/// A session over a data directory: its tables checked and registered.
pub async fn open(
    data: &Location,
    options: &EngineOptions,
) -> Result<(SessionContext, Vec<TableSource>)> {
    let ctx = connect(options).await?;
    let tables = catalog::register(&ctx, data).await?;
    Ok((ctx, tables))
}

/// Parses a memory size such as `2G`, `512M`, `64K` or a byte count.
pub fn parse_memory(text: &str) -> std::result::Result<usize, String> {
    let text = text.trim();
    let (digits, unit) = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((text, ""), |i| text.split_at(i));
    let value: f64 = digits
        .parse()
        .map_err(|_| format!("'{text}' is not a memory size (e.g. 2G, 512M)"))?;
    let factor = match unit
        .trim()
        .to_ascii_uppercase()
        .trim_end_matches("IB")
        .trim_end_matches('B')
    {
        "" => 1.0,
        "K" => 1024.0,
        "M" => 1024.0 * 1024.0,
        "G" => 1024.0 * 1024.0 * 1024.0,
        "T" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("'{text}' has an unknown unit (use K, M, G or T)")),
    };
    Ok((value * factor) as usize)
}

#[cfg(test)]
mod tests {
    use super::{lost_executor, parse_memory};

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

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("2G"), Ok(2 << 30));
        assert_eq!(parse_memory("512M"), Ok(512 << 20));
        assert_eq!(parse_memory("1.5GB"), Ok(3 << 29));
        assert_eq!(parse_memory("1000"), Ok(1000));
        assert!(parse_memory("lots").is_err());
        assert!(parse_memory("2X").is_err());
    }
}
