//! End-to-end tests of the binary: `sql` in every format, parameters, scripts, the
//! shell on stdin, errors and exit codes, `functions`, and `validate`.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use crate::common::*;

fn mspkpi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mspkpi"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// One generated data directory shared by the tests of this file.
fn sample() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        generated(dir.path(), 12, 5_000, 6);
        dir
    })
    .path()
}

fn data() -> String {
    sample().display().to_string()
}

const QUERY: &str = "SELECT client_id, count(*) AS tickets, fcr_rate(contacts) AS fcr FROM tickets WHERE client_id IN ('C0001', 'C0002') GROUP BY client_id ORDER BY client_id";

#[test]
fn one_shot_query_in_every_format() {
    let expected = mspkpi(&["sql", "--data", &data(), "--format", "csv", QUERY]);
    assert!(expected.status.success(), "{}", stderr(&expected));
    let csv = stdout(&expected);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "client_id,tickets,fcr");
    assert_eq!(lines.len(), 3);
    let first: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(first[0], "C0001");
    let tickets: i64 = first[1].parse().unwrap();
    let fcr: f64 = first[2].parse().unwrap();
    assert!(tickets > 100 && (40.0..100.0).contains(&fcr), "{csv}");

    let table = stdout(&mspkpi(&["sql", "--data", &data(), QUERY]));
    assert!(
        table.contains("| client_id | tickets | fcr")
            && table.contains(&format!("| C0001     | {tickets}"))
            && table.ends_with("2 rows\n"),
        "{table}"
    );

    let json: serde_json::Value = serde_json::from_str(&stdout(&mspkpi(&[
        "sql",
        "--data",
        &data(),
        "--format",
        "json",
        QUERY,
    ])))
    .unwrap();
    assert_eq!(json[0]["client_id"], "C0001");
    assert_eq!(json[0]["tickets"], tickets);
    assert_eq!(json[0]["fcr"].as_f64().unwrap(), fcr);

    let ndjson = stdout(&mspkpi(&[
        "sql",
        "--data",
        &data(),
        "--format",
        "ndjson",
        QUERY,
    ]));
    let second: serde_json::Value = serde_json::from_str(ndjson.lines().nth(1).unwrap()).unwrap();
    assert_eq!(second["client_id"], "C0002");

    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("result.parquet");
    let written = mspkpi(&[
        "sql",
        "--data",
        &data(),
        "--format",
        "parquet",
        "--output",
        file.to_str().unwrap(),
        QUERY,
    ]);
    assert!(written.status.success(), "{}", stderr(&written));
    let back = stdout(&mspkpi(&[
        "sql",
        "--format",
        "csv",
        &format!("SELECT * FROM '{}'", file.display()),
    ]));
    assert_eq!(back, csv);
    // Only the file: no temporary left beside it.
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 1);
}

#[test]
fn parameters_are_bound_typed() {
    let output = mspkpi(&[
        "sql",
        "--data",
        &data(),
        "--format",
        "csv",
        "--param",
        "client=C0001",
        "--param",
        "since:date=2025-02-01",
        "--param",
        "limit:int=3",
        "SELECT count(*) AS n FROM (SELECT * FROM tickets WHERE client_id = $client AND CAST(created_at AS DATE) >= $since LIMIT $limit)",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "n\n3\n");
    // A typed date reaches an aggregate's DATE arguments.
    let churn = mspkpi(&[
        "sql",
        "--data",
        &data(),
        "--format",
        "csv",
        "--param",
        "start:date=2025-01-01",
        "--param",
        "end:date=2025-02-01",
        "SELECT churn_rate(onboarded_on, churned_on, $start, $end) IS NOT NULL AS ok FROM clients",
    ]);
    assert_eq!(stdout(&churn), "ok\ntrue\n", "{}", stderr(&churn));
    // A placeholder without a value, and a value that is not of its type.
    let missing = mspkpi(&["sql", "--data", &data(), "SELECT $nope"]);
    assert!(
        !missing.status.success() && stderr(&missing).contains("$nope"),
        "{}",
        stderr(&missing)
    );
    let bad = mspkpi(&["sql", "--param", "since:date=yesterday", "SELECT 1"]);
    assert!(
        !bad.status.success() && stderr(&bad).contains("'yesterday' is not a date"),
        "{}",
        stderr(&bad)
    );
}

/// Runs a script of statements from a file in `dir` over the sample, as CSV.
fn run_script(dir: &Path, script: &str) -> Output {
    let file = dir.join("script.sql");
    std::fs::write(&file, script).unwrap();
    mspkpi(&[
        "sql",
        "--data",
        &data(),
        "--format",
        "csv",
        "-f",
        file.to_str().unwrap(),
    ])
}

#[test]
fn a_file_of_statements() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_script(
        dir.path(),
        "-- two statements\nCREATE VIEW busy AS SELECT client_id, count(*) AS n FROM tickets GROUP BY client_id;\nSELECT count(*) AS clients FROM busy;\n",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).ends_with("clients\n12\n"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn the_shell_goes_on_after_an_error() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mspkpi"))
        .args(["sql", "--data", &data()])
        .env("HOME", tempfile::tempdir().unwrap().path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"SELECT 40 + 2\n  AS answer;\nSELECT no_such_column FROM tickets;\n\\d\n\\d clients\nSELECT nps(score) FILTER (WHERE kind = 'nps') IS NOT NULL AS ok FROM surveys;\n\\q\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let (out, err) = (stdout(&output), stderr(&output));
    assert!(output.status.success(), "{err}");
    assert!(out.contains("| 42     |"), "{out}");
    assert!(
        err.contains("no_such_column") && !err.contains("panicked"),
        "{err}"
    );
    assert!(
        // the optional status tables are listed too (empty without a status history)
        out.contains("| tickets       |")
            && out.contains("| ticket_status |")
            && out.contains("| onboarded_on "),
        "{out}"
    );
    assert!(out.contains("| true |"), "{out}");
}

#[test]
fn errors_are_one_clear_line_and_a_non_zero_exit() {
    for (query, expected) in [
        ("SELEC 1", "SELEC"),
        ("SELECT nope FROM tickets", "nope"),
        ("SELECT no_such_function(1)", "no_such_function"),
        ("SELECT nps(score + 20) FROM surveys", "nps: value"),
    ] {
        let output = mspkpi(&["sql", "--data", &data(), query]);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{query}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(expected),
            "{query}: {err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains("backtrace"),
            "{query}: {err}"
        );
    }
}

#[test]
fn functions_lists_every_function_with_its_documentation() {
    let output = stdout(&mspkpi(&["functions"]));
    for name in [
        "nps",
        "csat",
        "sla_compliance",
        "fcr_rate",
        "churn_rate",
        "revenue_churn_rate",
        "business_minutes",
        "sla_met",
        "business_deadline",
        "local_month",
        "paused_minutes",
        "sla_pauses",
        "first_resolved_at",
        "first_reopened_at",
        "status_summary",
    ] {
        assert!(output.contains(&format!("{name} (")), "{name} missing");
    }
    assert!(output.contains("Syntax: business_minutes(start, end, calendar [, pauses])"));
    let one = mspkpi(&["functions", "local_month"]);
    assert!(stdout(&one).contains("IANA") && stdout(&one).lines().count() > 5);
    let unknown = mspkpi(&["functions", "median"]);
    assert!(!unknown.status.success() && stderr(&unknown).contains("no mspkpi function 'median'"));
}

/// Statements run as DataFusion parsed them: printed back to text, a `COPY` target
/// loses its quotes. `COPY ... TO` in Parquet and CSV, `CREATE EXTERNAL TABLE ...
/// OPTIONS (...)`, quoted identifiers and a string holding `;`, in one script.
#[test]
fn copy_create_external_table_and_quoted_text_run_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let bare = Command::new(env!("CARGO_BIN_EXE_mspkpi"))
        .current_dir(dir.path())
        .args(["sql", "COPY (SELECT 1 AS x) TO 'x.parquet'"])
        .output()
        .unwrap();
    assert!(bare.status.success(), "{}", stderr(&bare));
    assert!(dir.path().join("x.parquet").is_file());

    let counts = dir.path().join("counts.parquet");
    let csv = dir.path().join("quoted.csv");
    let script = format!(
        "COPY (SELECT client_id, count(*) AS n FROM tickets GROUP BY client_id) TO '{counts}' STORED AS PARQUET;
         COPY (SELECT 1 AS x, 'a;b' AS \"Quoted; Name\") TO '{csv}' STORED AS CSV OPTIONS ('format.has_header' 'true');
         CREATE EXTERNAL TABLE counts STORED AS PARQUET LOCATION '{counts}' OPTIONS ('format.pushdown_filters' 'true');
         SELECT sum(n) AS \"Total; Tickets\", 'x;y' AS text FROM counts WHERE client_id <> 'none;really'",
        counts = counts.display(),
        csv = csv.display()
    );
    let output = run_script(dir.path(), &script);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        std::fs::read_to_string(&csv).unwrap(),
        "x,Quoted; Name\n1,a;b\n"
    );
    let tickets = stdout(&mspkpi(&[
        "sql",
        "--data",
        &data(),
        "--format",
        "csv",
        "SELECT count(*) AS n FROM tickets",
    ]));
    let tickets = tickets.trim().strip_prefix("n\n").unwrap();
    let out = stdout(&output);
    assert!(
        out.ends_with(&format!("Total; Tickets,text\n{tickets},x;y\n")),
        "the last statement's result: {out}"
    );
}
