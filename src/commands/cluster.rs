//! `mspkpi scheduler` and `mspkpi executor`: the processes of a Ballista cluster.

use std::time::Duration;

use anyhow::Result;
use clap::Args;

use crate::cluster::{self, ExecutorOptions, SchedulerOptions};
use crate::session::parse_memory;

/// Starts a Ballista scheduler with every mspkpi function; stops on SIGTERM or Ctrl-C.
#[derive(Debug, Args)]
pub struct SchedulerArgs {
    /// Address to listen on. Ballista has no authentication: any other address than
    /// the loopback one exposes the data to whoever reaches it.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    #[arg(long, default_value_t = 50050)]
    pub port: u16,
    /// Seconds without a heartbeat after which an executor is taken as lost.
    #[arg(long, default_value_t = 60)]
    pub executor_timeout: u64,
}

/// Starts a Ballista executor with every mspkpi function; stops on SIGTERM or Ctrl-C.
#[derive(Debug, Args)]
pub struct ExecutorArgs {
    /// The scheduler's HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:50050")]
    pub scheduler: String,
    /// Address to listen on (see `scheduler --bind`).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Arrow Flight port: results and shuffle data.
    #[arg(long, default_value_t = 50051)]
    pub port: u16,
    /// gRPC port: tasks from the scheduler.
    #[arg(long, default_value_t = 50052)]
    pub grpc_port: u16,
    /// Tasks run at once (default: the number of cores).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Memory of this executor's tasks together (e.g. 4G); beyond it, they spill.
    #[arg(long, value_parser = parse_memory)]
    pub memory_limit: Option<usize>,
    /// Seconds between heartbeats to the scheduler; keep well below its
    /// --executor-timeout.
    #[arg(long, default_value_t = 5)]
    pub heartbeat: u64,
}

pub async fn run_scheduler(args: SchedulerArgs) -> Result<()> {
    cluster::init_logging();
    cluster::run_scheduler(&SchedulerOptions {
        bind: args.bind,
        port: args.port,
        executor_timeout: Duration::from_secs(args.executor_timeout),
    })
    .await
}

pub async fn run_executor(args: ExecutorArgs) -> Result<()> {
    cluster::init_logging();
    cluster::run_executor(&ExecutorOptions {
        scheduler: args.scheduler,
        bind: args.bind,
        port: args.port,
        grpc_port: args.grpc_port,
        concurrency: args.concurrency,
        memory_limit: args.memory_limit,
        heartbeat: Duration::from_secs(args.heartbeat),
    })
    .await
}
