//! mspkpi on a Ballista cluster: an in-process one for every saved query, and real
//! `scheduler` and `executor` processes for the report, also when an executor dies.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use mspkpi::period::Period;
use mspkpi::saved_queries::{self, QueryResult};
use mspkpi::session::{self, EngineOptions};

use crate::common::*;

/// Every row of every result, each cell as its Debug text (a float's shortest exact
/// form, so equal text is equal bits), rows sorted.
fn rendered(results: &[QueryResult]) -> Vec<(String, Vec<String>)> {
    results
        .iter()
        .map(|result| {
            let mut rows: Vec<String> = result
                .rows()
                .map(|row| {
                    result
                        .columns()
                        .iter()
                        .map(|c| format!("{c}={:?}", row.cell(c)))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .collect();
            rows.sort();
            (result.query.name.clone(), rows)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_saved_query_gives_the_local_result_on_an_in_process_cluster() {
    let dir = tempfile::tempdir().unwrap();
    generated(dir.path(), 6, 3_000, 14);
    let local = rendered(&saved_results(dir.path(), "2025-12").await);

    let engine = EngineOptions {
        threads: Some(3),
        ..Default::default()
    };
    let state = session::state(mspkpi::cluster::client_config(), &engine).unwrap();
    let ctx = mspkpi::cluster::standalone(state).await.unwrap();
    mspkpi::catalog::register(&ctx, &dir.path().into())
        .await
        .unwrap();
    let period = Period::parse("2025-12").unwrap();
    mspkpi::period::register_periods(&ctx, period.grain).unwrap();
    let queries = saved_queries::load(None).unwrap();
    // No room in memory: the models go to Parquet, which the executor reads.
    let results = saved_queries::run_all(
        &ctx,
        &queries,
        &saved_queries::period_params(&period),
        Some(0),
        |_| {},
    )
    .await
    .unwrap();
    let remote = rendered(&results);
    assert_eq!(remote.len(), local.len());
    assert!(local.iter().all(|(_, rows)| !rows.is_empty()), "{local:?}");
    for ((name, expected), (_, actual)) in local.iter().zip(&remote) {
        assert_eq!(actual, expected, "saved query {name}");
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_for_port(port: u16, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// A scheduler and executors on 127.0.0.1, each process's log in a file; all stopped
/// when dropped, also when a test fails.
pub struct Cluster {
    logs: tempfile::TempDir,
    scheduler_port: u16,
    processes: Vec<(String, Child)>,
    /// Variables every process gets (an object store's endpoint and credentials).
    env: Vec<(String, String)>,
}

impl Cluster {
    pub fn start(executors: usize) -> Cluster {
        Cluster::start_with_env(executors, &[])
    }

    pub fn start_with_env(executors: usize, env: &[(String, String)]) -> Cluster {
        let mut cluster = Cluster {
            logs: tempfile::tempdir().unwrap(),
            scheduler_port: free_port(),
            processes: Vec::new(),
            env: env.to_vec(),
        };
        let port = cluster.scheduler_port.to_string();
        cluster.spawn(
            "scheduler",
            &["scheduler", "--port", &port, "--executor-timeout", "10"],
        );
        assert!(
            wait_for_port(cluster.scheduler_port, Duration::from_secs(30)),
            "the scheduler did not listen: {}",
            cluster.log("scheduler")
        );
        for i in 0..executors {
            let (flight, grpc) = (free_port().to_string(), free_port().to_string());
            let scheduler = format!("127.0.0.1:{port}");
            cluster.spawn(
                &format!("executor-{i}"),
                &[
                    "executor",
                    "--scheduler",
                    &scheduler,
                    "--port",
                    &flight,
                    "--grpc-port",
                    &grpc,
                    "--concurrency",
                    "1",
                    "--heartbeat",
                    "2",
                ],
            );
            assert!(
                wait_for_port(flight.parse().unwrap(), Duration::from_secs(30)),
                "executor {i} did not listen: {}",
                cluster.log(&format!("executor-{i}"))
            );
        }
        cluster
    }

    fn spawn(&mut self, name: &str, args: &[&str]) {
        let log = std::fs::File::create(self.logs.path().join(format!("{name}.log"))).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_mspkpi"))
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.processes.push((name.to_string(), child));
    }

    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.logs.path().join(format!("{name}.log"))).unwrap_or_default()
    }

    pub fn url(&self) -> String {
        format!("df://127.0.0.1:{}", self.scheduler_port)
    }

    fn kill(&mut self, name: &str) {
        if let Some((_, child)) = self.processes.iter_mut().find(|(n, _)| n == name) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (_, child) in &mut self.processes {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn report(data: &Path, out: &Path, period: &str, cluster: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mspkpi"));
    command.args([
        "report",
        "--data",
        &data.display().to_string(),
        "--period",
        period,
        "--out",
        &out.display().to_string(),
        "--threads",
        "2",
    ]);
    if let Some(url) = cluster {
        command.args(["--cluster", url]);
    }
    command
}

fn run(mut command: Command) -> Output {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Every file below `dir`, by its path below it, with its bytes.
pub fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = walk(dir)
        .into_iter()
        .map(|f| {
            (
                f.strip_prefix(dir).unwrap().to_path_buf(),
                std::fs::read(&f).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

pub fn assert_same_tree(actual: &Path, expected: &Path) {
    let (actual, expected) = (tree(actual), tree(expected));
    let names = |t: &[(PathBuf, Vec<u8>)]| t.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    assert_eq!(names(&actual), names(&expected));
    for ((path, a), (_, e)) in actual.iter().zip(&expected) {
        assert!(a == e, "{} differs", path.display());
    }
}

#[test]
fn report_on_scheduler_and_executor_processes_is_byte_identical_and_survives_a_lost_executor() {
    let data = tempfile::tempdir().unwrap();
    // Enough tickets that a run on the cluster lasts a few seconds.
    generated(data.path(), 20, 300_000, 14);
    let local = tempfile::tempdir().unwrap();
    run(report(data.path(), local.path(), "2025-11", None));
    run(report(data.path(), local.path(), "2025-12", None));

    let mut cluster = Cluster::start(2);
    let url = cluster.url();
    let remote = tempfile::tempdir().unwrap();
    let first = report(data.path(), remote.path(), "2025-11", Some(&url))
        .output()
        .unwrap();
    assert!(
        first.status.success(),
        "{}\n--- scheduler:\n{}",
        String::from_utf8_lossy(&first.stderr),
        cluster.log("scheduler")
    );
    assert_same_tree(
        &remote.path().join("2025-11"),
        &local.path().join("2025-11"),
    );
    let before = tree(&remote.path().join("2025-11"));

    // A second period, with one executor killed while it runs.
    let started = Instant::now();
    let mut second = report(data.path(), remote.path(), "2025-12", Some(&url))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    assert!(
        second.try_wait().unwrap().is_none(),
        "the run ended before an executor could be killed in its middle"
    );
    cluster.kill("executor-0");
    let deadline = started + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = second.kill();
            panic!(
                "the run neither finished nor failed within 120 s of losing an executor\n--- scheduler:\n{}",
                cluster.log("scheduler")
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let output = second.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if status.success() {
        assert_same_tree(
            &remote.path().join("2025-12"),
            &local.path().join("2025-12"),
        );
    } else {
        assert!(stderr.contains("lost the executor"), "{stderr}");
        assert!(!remote.path().join("2025-12").exists());
    }
    assert_eq!(tree(&remote.path().join("2025-11")), before);
}

#[test]
fn cluster_processes_fail_clearly_on_a_taken_port_or_an_absent_scheduler() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_mspkpi"))
        .args(["scheduler", "--port", &port])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );

    let absent = free_port();
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_mspkpi"))
        .args([
            "executor",
            "--scheduler",
            &format!("127.0.0.1:{absent}"),
            "--port",
            &free_port().to_string(),
            "--grpc-port",
            &free_port().to_string(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!("cannot reach the scheduler at 127.0.0.1:{absent}")),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(15));

    let data = tempfile::tempdir().unwrap();
    generated(data.path(), 2, 200, 3);
    let output = Command::new(env!("CARGO_BIN_EXE_mspkpi"))
        .args([
            "sql",
            "--data",
            &data.path().display().to_string(),
            "--cluster",
            &format!("df://127.0.0.1:{absent}"),
            "SELECT 1",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!("cannot reach the scheduler at 127.0.0.1:{absent}")),
        "{stderr}"
    );
}
