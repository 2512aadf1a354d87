//! `s3://` data and exports, against moto's S3 emulator on 127.0.0.1: validate, report
//! (also on a cluster) and export give what they give on the local disk; a missing
//! bucket and missing credentials fail clearly and fast; no secret is ever printed.
//!
//! The emulator is `moto_server` (PyPI `moto[server]`), found through
//! `MSPKPI_MOTO_SERVER` or on PATH; `.ci/run` installs it. Under `CI=true` its absence
//! fails the test; elsewhere the test is skipped with a message.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::{ObjectStore, ObjectStoreExt};

use super::cluster::{Cluster, assert_same_tree, free_port, wait_for_port};
use crate::common::*;

/// Would a log or message print this, a credential leaked.
const SECRET: &str = "sentinel-9f2c41d7-secret";

/// A moto S3 server on 127.0.0.1, stopped when dropped.
struct Moto {
    child: Child,
    port: u16,
    /// moto's request log (one line per HTTP request).
    requests: tempfile::NamedTempFile,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto() -> Option<Moto> {
    let program = std::env::var("MSPKPI_MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
    let port = free_port();
    let requests = tempfile::NamedTempFile::new().unwrap();
    let child = Command::new(&program)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(requests.reopen().unwrap())
        .spawn();
    let child = match child {
        Ok(child) => child,
        Err(error) => {
            let message = format!("cannot start {program} ({error}): pip install 'moto[server]'");
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true: {message}");
            }
            eprintln!("skipped: {message}");
            return None;
        }
    };
    let moto = Moto {
        child,
        port,
        requests,
    };
    assert!(
        wait_for_port(port, Duration::from_secs(30)),
        "moto_server did not listen"
    );
    Some(moto)
}

impl Moto {
    /// The request lines moto has logged, such as `"PUT /bucket/key HTTP/1.1" 200`.
    fn requests(&self) -> String {
        std::fs::read_to_string(self.requests.path()).unwrap_or_default()
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The standard AWS variables a command reads.
    fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", &self.endpoint()),
            ("AWS_ALLOW_HTTP", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// moto accepts an unsigned bucket creation.
    fn create_bucket(&self, bucket: &str) {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            stream,
            "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }

    fn store(&self, bucket: &str) -> Arc<dyn ObjectStore> {
        Arc::new(
            AmazonS3Builder::new()
                .with_bucket_name(bucket)
                .with_endpoint(self.endpoint())
                .with_allow_http(true)
                .with_region("us-east-1")
                .with_access_key_id("testing")
                .with_secret_access_key(SECRET)
                .build()
                .unwrap(),
        )
    }
}

async fn upload(store: &dyn ObjectStore, dir: &Path, prefix: &str) {
    for file in walk(dir) {
        let key = format!("{prefix}/{}", file.strip_prefix(dir).unwrap().display());
        let bytes = std::fs::read(&file).unwrap();
        store.put(&key.as_str().into(), bytes.into()).await.unwrap();
    }
}

fn mspkpi(args: &[&str], env: &[(String, String)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mspkpi"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_report_and_export_through_s3_equal_the_local_ones() {
    let Some(moto) = moto() else { return };
    moto.create_bucket("kpi");
    let store = moto.store("kpi");
    let data = tempfile::tempdir().unwrap();
    generated(data.path(), 8, 6_000, 14);
    upload(store.as_ref(), data.path(), "history").await;
    let env = moto.env();
    let local_data = data.path().display().to_string();
    let remote_data = "s3://kpi/history";
    let mut printed = String::new();
    let mut run = |args: &[&str], env: &[(String, String)]| {
        let output = mspkpi(args, env);
        printed.push_str(&text(&output));
        output
    };

    let validated = run(&["validate", "--data", remote_data], &env);
    assert!(validated.status.success(), "{}", text(&validated));
    assert!(
        text(&validated).contains("s3://kpi/history: 0 error(s), 0 warning(s)"),
        "{}",
        text(&validated)
    );

    let out = tempfile::tempdir().unwrap();
    let (local_out, remote_out) = (out.path().join("local"), out.path().join("remote"));
    let (local_text, remote_text) = (
        local_out.display().to_string(),
        remote_out.display().to_string(),
    );
    for (data, out) in [
        (local_data.as_str(), &local_text),
        (remote_data, &remote_text),
    ] {
        let report = run(
            &[
                "report", "--data", data, "--period", "2025-12", "--out", out,
            ],
            &env,
        );
        assert!(report.status.success(), "{}", text(&report));
    }
    assert_same_tree(&remote_out.join("2025-12"), &local_out.join("2025-12"));

    // An earlier run's stray object in the partition goes; the facts are the local ones.
    store
        .put(
            &"facts/period=2025-12/part-7.parquet".into(),
            vec![1u8, 2, 3].into(),
        )
        .await
        .unwrap();
    let local_facts = out.path().join("facts");
    let exported = run(
        &[
            "export",
            "--data",
            remote_data,
            "--period",
            "2025-12",
            "--out",
            "s3://kpi/facts",
        ],
        &env,
    );
    assert!(exported.status.success(), "{}", text(&exported));
    let local_export = run(
        &[
            "export",
            "--data",
            &local_data,
            "--period",
            "2025-12",
            "--out",
            &local_facts.display().to_string(),
        ],
        &env,
    );
    assert!(local_export.status.success(), "{}", text(&local_export));
    let listed: Vec<String> = {
        let objects: Vec<object_store::ObjectMeta> = store
            .list(Some(&"facts".into()))
            .try_collect()
            .await
            .unwrap();
        objects.iter().map(|o| o.location.to_string()).collect()
    };
    assert_eq!(listed, ["facts/period=2025-12/part-0.parquet"]);
    let remote_bytes = store
        .get(&"facts/period=2025-12/part-0.parquet".into())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let local_bytes = std::fs::read(local_facts.join("period=2025-12/part-0.parquet")).unwrap();
    assert!(
        remote_bytes.as_ref() == local_bytes.as_slice(),
        "the exports differ"
    );

    // SQL over the data and over an object by URL.
    let count = "SELECT count(*) AS n, sum(contacts) AS contacts FROM tickets";
    let counted = run(
        &["sql", "--data", remote_data, "--format", "csv", count],
        &env,
    );
    let counted_here = run(
        &["sql", "--data", &local_data, "--format", "csv", count],
        &env,
    );
    assert!(counted.status.success(), "{}", text(&counted));
    assert!(counted.stdout.len() > 10);
    assert_eq!(counted.stdout, counted_here.stdout);
    let facts = run(
        &[
            "sql",
            "--format",
            "csv",
            "SELECT count(*) AS n FROM 's3://kpi/facts/period=2025-12/part-0.parquet'",
        ],
        &env,
    );
    let local_rows = run(
        &[
            "sql",
            "--format",
            "csv",
            &format!(
                "SELECT count(*) AS n FROM '{}'",
                local_facts.join("period=2025-12/part-0.parquet").display()
            ),
        ],
        &env,
    );
    assert!(facts.status.success(), "{}", text(&facts));
    assert_eq!(facts.stdout, local_rows.stdout);

    // The executors of a cluster read the same URLs, and write the run's models to
    // the bucket, from which the run removes them at its end.
    let cluster = Cluster::start_with_env(1, &env);
    let clustered = out.path().join("cluster");
    let report = run(
        &[
            "report",
            "--data",
            remote_data,
            "--period",
            "2025-12",
            "--out",
            &clustered.display().to_string(),
            "--cluster",
            &cluster.url(),
            "--models-at",
            "s3://kpi/models",
        ],
        &env,
    );
    assert!(
        report.status.success(),
        "{}\n{}",
        text(&report),
        cluster.log("scheduler")
    );
    assert_same_tree(&clustered.join("2025-12"), &local_out.join("2025-12"));
    let models: Vec<object_store::ObjectMeta> = store
        .list(Some(&"models".into()))
        .try_collect()
        .await
        .unwrap();
    assert!(models.is_empty(), "the run left its models: {models:?}");
    let requests = moto.requests();
    assert!(
        requests.contains("PUT /kpi/models/_runs/"),
        "no model was written to the bucket:\n{requests}"
    );
    let logs = cluster.log("scheduler") + &cluster.log("executor-0");
    assert!(!logs.contains(SECRET), "a cluster log shows the secret");
    assert!(!printed.contains(SECRET), "a command printed the secret");
}

#[test]
fn a_missing_bucket_or_missing_credentials_fail_clearly_within_seconds() {
    let Some(moto) = moto() else { return };
    moto.create_bucket("empty");
    let env = moto.env();
    let out = tempfile::tempdir().unwrap();
    let out = out.path().display().to_string();
    let timed = |args: &[&str], env: &[(String, String)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mspkpi"));
        command.args(args).envs(env.iter().map(|(k, v)| (k, v)));
        let printed = fails_within(&mut command, Duration::from_secs(10));
        assert!(!printed.contains(SECRET), "{printed}");
        printed
    };
    let printed = timed(
        &[
            "report",
            "--data",
            "s3://no-such-bucket/x",
            "--period",
            "2025-12",
            "--out",
            &out,
        ],
        &env,
    );
    assert!(
        printed.contains(
            "cannot list s3://no-such-bucket/x: the bucket 'no-such-bucket' does not exist"
        ),
        "{printed}"
    );
    let printed = timed(&["validate", "--data", "s3://empty/none"], &env);
    assert!(
        printed.contains("missing: expected a folder s3://empty/none/tickets/"),
        "{printed}"
    );

    let anonymous: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| !k.starts_with("AWS_ACCESS_KEY_ID") && !k.starts_with("AWS_SECRET"))
        .cloned()
        .collect();
    let mut command = Command::new(env!("CARGO_BIN_EXE_mspkpi"));
    command
        .args(["validate", "--data", "s3://empty/none"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .envs(anonymous.iter().map(|(k, v)| (k, v)));
    let printed = fails_within(&mut command, Duration::from_secs(10));
    assert!(printed.contains("s3://empty/none"), "{printed}");
    assert!(printed.contains("credentials"), "{printed}");
}

/// A run over `s3://` data reads the objects as it listed them: one replaced while it
/// runs fails it with the object's URL and "rerun" (its reads are conditional on the
/// listed ETag), never with the replacement's bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_replaced_during_a_run_fails_it_with_rerun() {
    let Some(moto) = moto() else { return };
    moto.create_bucket("live");
    let store = moto.store("live");
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    generated(first.path(), 4, 2_000, 4);
    generated(second.path(), 4, 2_500, 4);
    upload(store.as_ref(), first.path(), "history").await;

    let pauses = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut export = Command::new(env!("CARGO_BIN_EXE_mspkpi"));
    export
        .args([
            "export",
            "--data",
            "s3://live/history",
            "--period",
            "2025-01",
            "--out",
        ])
        .arg(out.path())
        .envs(moto.env());
    let reader = crate::concurrency::Paused::start(export, pauses.path(), "registered");
    let replaced = second.path().join("tickets/part-0.parquet");
    store
        .put(
            &"history/tickets/part-0.parquet".into(),
            std::fs::read(&replaced).unwrap().into(),
        )
        .await
        .unwrap();
    let overtaken = reader.resume();
    let said = text(&overtaken);
    assert!(!overtaken.status.success(), "{said}");
    assert!(
        said.contains(
            "s3://live/history/tickets/part-0.parquet changed during the run (an import replaced the data?): rerun"
        ),
        "{said}"
    );
    assert!(!said.contains(SECRET), "{said}");
    assert!(!out.path().join("period=2025-01").exists());
}

/// A data directory of Delta tables on S3 holds the files of both its imports; a run
/// reads the versions the manifest names, as a local run does, and `--as-of` the older.
#[cfg(feature = "delta")]
#[tokio::test]
async fn delta_tables_on_s3_read_at_the_versions_their_manifest_names() {
    use crate::concurrency::{history, identity_mapping, import};
    let Some(moto) = moto() else { return };
    moto.create_bucket("lake");
    let store = moto.store("lake");
    let root = tempfile::tempdir().unwrap();
    let mapping = identity_mapping(root.path());
    let data = root.path().join("data");
    for seed in [1, 2] {
        let source = history(root.path(), seed);
        let output = import(&mapping, &source, &data, "delta").output().unwrap();
        assert!(output.status.success(), "{}", text(&output));
    }
    upload(store.as_ref(), &data, "data").await;
    for as_of in [None, Some("1")] {
        let (local, remote) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let export = |from: &str, out: &Path| {
            let out = out.display().to_string();
            let mut args = vec![
                "export", "--data", from, "--period", "2026-03", "--out", &out,
            ];
            if let Some(as_of) = as_of {
                args.extend(["--as-of", as_of]);
            }
            let output = mspkpi(&args, &moto.env());
            assert!(output.status.success(), "{}", text(&output));
        };
        export(&data.display().to_string(), local.path());
        export("s3://lake/data", remote.path());
        assert_same_tree(local.path(), remote.path());
    }
}

/// Two `export --format delta` runs racing on one S3 table: conditional puts let one
/// commit each version; a loser retries or fails saying so; the period's partition
/// ends with one file of facts, never two.
#[cfg(feature = "delta")]
#[tokio::test]
async fn racing_delta_exports_on_s3_commit_one_version_each() {
    let Some(moto) = moto() else { return };
    moto.create_bucket("kpi");
    let data = tempfile::tempdir().unwrap();
    generated(data.path(), 4, 2_000, 4);
    let data_arg = data.path().display().to_string();
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_mspkpi"))
            .args([
                "export", "--format", "delta", "--period", "2025-03", "--data", &data_arg,
            ])
            .args(["--out", "s3://kpi/facts"])
            .envs(moto.env())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut committed = 0;
    // The first race creates the table, the second commits to it.
    for round in 0..2 {
        let racers = [start(), start()];
        let outputs: Vec<Output> = racers
            .into_iter()
            .map(|child| child.wait_with_output().unwrap())
            .collect();
        let won = outputs.iter().filter(|o| o.status.success()).count();
        assert!(won >= 1, "round {round}: {}", text(&outputs[0]));
        for output in outputs.iter().filter(|o| !o.status.success()) {
            let said = text(output);
            assert!(
                said.contains("cannot commit to the Delta table s3://kpi/facts"),
                "round {round}: {said}"
            );
            assert!(!said.contains(SECRET), "{said}");
        }
        committed += won;
    }
    let store = moto.store("kpi");
    mspkpi::data::delta::register_s3_log_stores();
    let url = url::Url::parse("s3://kpi/facts/").unwrap();
    let table = deltalake_core::DeltaTableBuilder::from_url(url.clone())
        .unwrap()
        .with_storage_backend(store.clone(), url)
        .load()
        .await
        .unwrap();
    assert_eq!(table.version(), Some(committed as u64 - 1));
    let files: Vec<String> = table.get_file_uris().unwrap().collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let local = tempfile::tempdir().unwrap();
    let output = mspkpi(
        &[
            "export",
            "--period",
            "2025-03",
            "--data",
            &data_arg,
            "--out",
            &local.path().display().to_string(),
        ],
        &[],
    );
    assert!(output.status.success(), "{}", text(&output));
    let key = files[0].trim_start_matches("s3://kpi/");
    let remote = store.get(&key.into()).await.unwrap().bytes().await.unwrap();
    let rows = |bytes: bytes::Bytes| -> usize {
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)
            .unwrap()
            .build()
            .unwrap()
            .map(|b| b.unwrap().num_rows())
            .sum()
    };
    let plain = std::fs::read(local.path().join("period=2025-03/part-0.parquet")).unwrap();
    assert_eq!(rows(remote), rows(plain.into()));
}
