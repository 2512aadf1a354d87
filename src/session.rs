//! A DataFusion session with every mspkpi function and a data directory's tables.

use std::sync::Arc;

use anyhow::{Context, Result};
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::{SessionState, SessionStateBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::data::catalog::{self, TableSource};
use crate::data::imports::AsOf;
use crate::data::location::Location;
use crate::data::object_stores;
use crate::data::pinned::Pins;

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
    /// On a cluster, where the executors write the models (`None`: a local temporary
    /// folder).
    pub models_at: Option<Location>,
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
    // The session's view of its data directory: the catalog pins it, the stores keep it.
    let pins = Pins::new();
    let config = config.with_extension(pins.clone());
    let mut runtime =
        RuntimeEnvBuilder::new().with_object_store_registry(object_stores::pinned_registry(pins));
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

/// A session over a data directory: its tables checked and registered, its Delta
/// tables at the import `as_of` names (the latest without it).
pub async fn open(
    data: &Location,
    as_of: Option<AsOf>,
    options: &EngineOptions,
) -> Result<(SessionContext, Vec<TableSource>)> {
    let ctx = connect(options).await?;
    let tables = catalog::register(&ctx, data, as_of).await?;
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
    use super::parse_memory;

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
