//! mspkpi on a Ballista cluster: an in-process one for every saved query, and real
//! `scheduler` and `executor` processes for the report, also when an executor dies.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use mspkpi::period::Period;
use mspkpi::run::{self, QueryResult};
use mspkpi::saved_queries;
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
    // With a status history, so that the pause functions and the reopen and waiting
    // queries run on the executors too.
    generated_with_history(dir.path(), 6, 3_000, 14);
    let local = assert_cluster_gives_the_local_results(dir.path(), "2025-12").await;
    assert!(local.iter().all(|(_, rows)| !rows.is_empty()), "{local:?}");
}

/// Delta tables holding the files of two imports: the cluster's scheduler, which plans
/// the scans, reads the files of the import the client resolved, as the local run does.
#[cfg(feature = "delta")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_tables_give_the_local_results_on_an_in_process_cluster() {
    use crate::concurrency::{history, identity_mapping, import};
    let root = tempfile::tempdir().unwrap();
    let mapping = identity_mapping(root.path());
    let data = root.path().join("data");
    for seed in [2, 1] {
        let source = history(root.path(), seed);
        let output = import(&mapping, &source, &data, "delta").output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let local = assert_cluster_gives_the_local_results(&data, "2026-03").await;
    let sla = local.iter().find(|(name, _)| name == "sla").unwrap();
    assert!(!sla.1.is_empty());
}

/// The saved queries' results on an in-process cluster equal the local ones; returns
/// the local ones, as text.
async fn assert_cluster_gives_the_local_results(
    dir: &Path,
    period: &str,
) -> Vec<(String, Vec<String>)> {
    let local = rendered(&saved_results(dir, period).await);

    let engine = EngineOptions {
        threads: Some(3),
        ..Default::default()
    };
    let state = session::state(mspkpi::cluster::client_config(), &engine).unwrap();
    let ctx = mspkpi::cluster::standalone(state).await.unwrap();
    mspkpi::data::catalog::register(&ctx, &dir.into(), None)
        .await
        .unwrap();
    let period = Period::parse(period).unwrap();
    mspkpi::period::register_periods(&ctx, period.grain).unwrap();
    let queries = saved_queries::load(None).unwrap();
    // The executor writes the models to Parquet and reads them back.
    let results = run::run_all(
        &ctx,
        &queries,
        &saved_queries::period_params(&period),
        &mspkpi::models::Placement::Executors(None),
        |_| {},
    )
    .await
    .unwrap();
    let remote = rendered(&results);
    assert_eq!(remote.len(), local.len());
    for ((name, expected), (_, actual)) in local.iter().zip(&remote) {
        assert_eq!(actual, expected, "saved query {name}");
    }
    local
}

/// A result as text, row by row, floats to ten decimals as the .slt runner prints them.
fn as_text(batches: &[arrow::array::RecordBatch]) -> Vec<String> {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{DataType, Float64Type};
    let mut rows = Vec::new();
    for batch in batches {
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = batch
                .columns()
                .iter()
                .map(|column| {
                    if column.is_null(row) {
                        "NULL".to_string()
                    } else if column.data_type() == &DataType::Float64 {
                        let value = column.as_primitive::<Float64Type>().value(row);
                        format!("{}", (value * 1e10).round() / 1e10 + 0.0)
                    } else {
                        arrow::util::display::array_value_to_string(column, row).unwrap()
                    }
                })
                .collect();
            rows.push(cells.join(" "));
        }
    }
    rows
}

/// Plans that read no data files run on the client; one reading memory and files
/// together is refused by name. The worked examples of the cluster-parity issue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_tables_and_table_functions_run_on_a_cluster_session() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generated(dir.path(), 2, 200, 3);
    let engine = EngineOptions {
        threads: Some(2),
        ..Default::default()
    };
    let state = session::state(mspkpi::cluster::client_config(), &engine).unwrap();
    let cluster = mspkpi::cluster::standalone(state).await.unwrap();
    mspkpi::data::catalog::register(&cluster, &dir.path().into(), None)
        .await
        .unwrap();
    let local = session::context(&engine).unwrap();
    mspkpi::data::catalog::register(&local, &dir.path().into(), None)
        .await
        .unwrap();
    let answer = async |ctx: &datafusion::prelude::SessionContext, sql: &str| {
        as_text(&ctx.sql(sql).await.unwrap().collect().await.unwrap())
    };
    for (sql, expected) in [
        ("SELECT count(*) FROM range(10)", "10"),
        (
            "SELECT sla_compliance(v < 95) FROM generate_series(0, 99) AS g(v)",
            "95",
        ),
        (
            "SELECT fcr_rate(CASE WHEN v < 90 THEN 1 ELSE 2 + v % 3 END) FROM generate_series(0, 99) AS g(v)",
            "90",
        ),
        // 101 clients active on 1 October, 3 of them gone by 1 November: 300/101 %.
        (
            "SELECT churn_rate(o, c, DATE '2026-10-01', DATE '2026-11-01') FROM (\
             SELECT DATE '2026-01-01' AS o, CAST(NULL AS DATE) AS c FROM generate_series(1, 98) \
             UNION ALL SELECT DATE '2026-01-01', DATE '2026-10-01' + CAST(v AS INT) \
             FROM generate_series(1, 3) AS g(v))",
            "2.9702970297",
        ),
        ("SELECT sum(x) FROM (VALUES (1), (2), (3)) AS t(x)", "6"),
        ("SELECT count(*) FROM unnest([1, 2, 3])", "3"),
    ] {
        assert_eq!(answer(&cluster, sql).await, [expected], "{sql}");
    }
    // A table made from the data files on the cluster, kept in the client's memory.
    answer(
        &cluster,
        "CREATE TABLE per_client AS SELECT client_id, count(*) AS n FROM tickets GROUP BY client_id",
    )
    .await;
    answer(
        &local,
        "CREATE TABLE per_client AS SELECT client_id, count(*) AS n FROM tickets GROUP BY client_id",
    )
    .await;
    let totals = "SELECT count(*), sum(n) FROM per_client";
    assert_eq!(answer(&cluster, totals).await, answer(&local, totals).await);
    assert_eq!(
        answer(&cluster, totals).await,
        [format!("2 {}", summary.tickets)]
    );

    let mixed = cluster
        .sql("SELECT count(*) FROM tickets JOIN per_client USING (client_id)")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        mixed.contains("on a cluster, a query cannot read per_client (in this process's memory")
            && mixed.contains("together with data files (")
            && mixed.contains("/tickets"),
        "{mixed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_slt_aggregate_queries_give_the_local_results_on_an_in_process_cluster() {
    use sqllogictest::{DefaultColumnType, QueryExpect, Record, StatementExpect};
    let engine = EngineOptions {
        threads: Some(4),
        ..Default::default()
    };
    let local = session::context(&engine).unwrap();
    let state = session::state(mspkpi::cluster::client_config(), &engine).unwrap();
    let cluster = mspkpi::cluster::standalone(state).await.unwrap();
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/slt"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "slt"))
            .collect();
    files.sort();
    let tables = tempfile::tempdir().unwrap();
    let mut compared = 0;
    for file in &files {
        for record in sqllogictest::parse_file::<DefaultColumnType>(file).unwrap() {
            match record {
                Record::Statement {
                    sql,
                    expected: StatementExpect::Ok | StatementExpect::Count(_),
                    ..
                } => {
                    local.sql(&sql).await.unwrap().collect().await.unwrap();
                    // A table in the client's memory (or a table function's) does not
                    // travel in a plan; a Parquet file of its rows does.
                    let created = sql
                        .trim()
                        .strip_prefix("CREATE TABLE ")
                        .and_then(|rest| rest.split_whitespace().next());
                    let Some(name) = created else {
                        // SET and the like: the same on both.
                        cluster.sql(&sql).await.unwrap().collect().await.unwrap();
                        continue;
                    };
                    let path = tables.path().join(format!("{name}.parquet"));
                    local
                        .sql(&format!(
                            "COPY (SELECT * FROM {name}) TO '{}'",
                            path.display()
                        ))
                        .await
                        .unwrap()
                        .collect()
                        .await
                        .unwrap();
                    let _ = cluster.deregister_table(name);
                    cluster
                        .register_parquet(name, path.display().to_string(), Default::default())
                        .await
                        .unwrap();
                }
                Record::Query {
                    sql,
                    expected: QueryExpect::Results { .. },
                    ..
                } if !sql.trim_start().to_ascii_uppercase().starts_with("EXPLAIN") => {
                    // (A plan differs on a cluster by design.)
                    let mut expected =
                        as_text(&local.sql(&sql).await.unwrap().collect().await.unwrap());
                    let actual = match cluster.sql(&sql).await {
                        Ok(frame) => frame.collect().await,
                        Err(error) => Err(error),
                    };
                    let mut actual = match actual {
                        Ok(batches) => as_text(&batches),
                        Err(error) => panic!("{}: {sql}: {error}", file.display()),
                    };
                    // Without ORDER BY, rows may come in any order, here and there.
                    if !sql.to_ascii_uppercase().contains("ORDER BY") {
                        expected.sort();
                        actual.sort();
                    }
                    assert_eq!(actual, expected, "{}: {sql}", file.display());
                    compared += 1;
                }
                _ => {}
            }
        }
    }
    assert!(compared >= 30, "only {compared} queries compared");
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
    same_export_sql_and_validate(data.path(), &url);

    // A second period, with one executor killed while it runs, and the models in a
    // folder named by --models-at (as a shared one would be), emptied at the end.
    let models_at = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut second = report(data.path(), remote.path(), "2025-12", Some(&url))
        .arg("--models-at")
        .arg(models_at.path())
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
    let runs = std::fs::read_dir(models_at.path().join("_runs")).unwrap();
    assert_eq!(runs.count(), 0, "the run left its models behind");
}

/// `export`, `sql` (as sorted CSV) and `validate` on the cluster give the local output.
fn same_export_sql_and_validate(data: &Path, url: &str) {
    let data = data.display().to_string();
    let mspkpi = |args: &[&str], cluster: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mspkpi"));
        command.args(args);
        if cluster {
            command.args(["--cluster", url]);
        }
        run(command)
    };
    let out = tempfile::tempdir().unwrap();
    for (name, cluster) in [("local", false), ("cluster", true)] {
        let out = out.path().join(name).display().to_string();
        mspkpi(
            &[
                "export", "--data", &data, "--period", "2025-11", "--out", &out,
            ],
            cluster,
        );
    }
    let facts = |name: &str| {
        std::fs::read(out.path().join(name).join("period=2025-11/part-0.parquet")).unwrap()
    };
    assert!(facts("cluster") == facts("local"), "the exports differ");

    let query = "SELECT client_id, priority, count(*) AS tickets, sla_compliance(created_at, resolved_at, 480, TIMESTAMP '2026-01-01 00:00:00') AS sla, sum(contacts) AS contacts FROM tickets GROUP BY client_id, priority";
    let sorted = |output: Output| {
        let mut lines: Vec<String> = String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        lines.sort();
        lines
    };
    let local = sorted(mspkpi(
        &["sql", "--data", &data, "--format", "csv", query],
        false,
    ));
    let remote = sorted(mspkpi(
        &["sql", "--data", &data, "--format", "csv", query],
        true,
    ));
    assert!(local.len() > 20, "{local:?}");
    assert_eq!(remote, local);

    let local = mspkpi(&["validate", "--data", &data], false).stdout;
    let remote = mspkpi(&["validate", "--data", &data], true).stdout;
    assert_eq!(
        String::from_utf8_lossy(&remote),
        String::from_utf8_lossy(&local)
    );
}

#[test]
fn cluster_processes_fail_clearly_on_a_taken_port_or_an_absent_scheduler() {
    let mspkpi = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mspkpi"));
        command.args(args);
        fails_within(&mut command, Duration::from_secs(15))
    };
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let printed = mspkpi(&["scheduler", "--port", &port]);
    assert!(
        printed.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{printed}"
    );

    let absent = free_port();
    let unreachable = format!("cannot reach the scheduler at 127.0.0.1:{absent}");
    let printed = mspkpi(&[
        "executor",
        "--scheduler",
        &format!("127.0.0.1:{absent}"),
        "--port",
        &free_port().to_string(),
        "--grpc-port",
        &free_port().to_string(),
    ]);
    assert!(printed.contains(&unreachable), "{printed}");

    let data = tempfile::tempdir().unwrap();
    generated(data.path(), 2, 200, 3);
    let printed = mspkpi(&[
        "sql",
        "--data",
        &data.path().display().to_string(),
        "--cluster",
        &format!("df://127.0.0.1:{absent}"),
        "SELECT 1",
    ]);
    assert!(printed.contains(&unreachable), "{printed}");
}
