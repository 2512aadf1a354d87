//! Bad input: `validate` on hand-made broken data, clear errors from `report` and `sql`,
//! and a seeded fuzz run over corrupted data directories.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use crate::common::*;
use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use mspkpi::period::Period;
use mspkpi::report::{self, ReportOptions};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn mspkpi(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mspkpi"))
        .args(args)
        .output()
        .unwrap()
}

/// Reads a whole Parquet file.
fn read_batches(path: &Path) -> Vec<RecordBatch> {
    let file = std::fs::File::open(path).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

fn write_batches(path: &Path, batches: &[RecordBatch]) {
    let schema = batches[0].schema();
    let mut writer =
        ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, None).unwrap();
    for b in batches {
        writer.write(b).unwrap();
    }
    writer.close().unwrap();
}

/// Rewrites one column of a table through `f`.
fn rewrite_column(dir: &Path, table: &str, column: &str, f: impl Fn(&ArrayRef) -> ArrayRef) {
    let path = dir.join(table).join("part-0.parquet");
    let batches: Vec<RecordBatch> = read_batches(&path)
        .into_iter()
        .map(|b| {
            let index = b.schema().index_of(column).unwrap();
            let mut columns = b.columns().to_vec();
            columns[index] = f(&columns[index]);
            let mut fields: Vec<Field> = b
                .schema()
                .fields()
                .iter()
                .map(|f| f.as_ref().clone())
                .collect();
            fields[index] = Field::new(column, columns[index].data_type().clone(), true);
            RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
        })
        .collect();
    write_batches(&path, &batches);
}

fn healthy(dir: &Path) {
    worked_examples(dir);
}

#[tokio::test]
async fn validate_finds_every_class_of_problem() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    healthy(d);
    let clean = mspkpi::validate::validate(d).await.unwrap();
    assert_eq!(clean.findings.len(), 0, "{}", clean.text());

    // Keys, times and values, all in one data set.
    let t = |id: &str,
             client: &str,
             priority: &str,
             created: &str,
             response: Option<&str>,
             resolved: Option<&str>,
             closed: Option<&str>,
             contacts: Option<i32>| {
        ticket(
            id,
            client,
            priority,
            utc(created),
            response.map(utc),
            resolved.map(utc),
            closed.map(utc),
            contacts,
        )
    };
    let mut tickets = vec![
        t(
            "B1",
            "R",
            "P4",
            "2026-10-01 10:00",
            Some("2026-10-01 09:00"),
            None,
            None,
            None,
        ),
        t(
            "B2",
            "R",
            "P4",
            "2026-10-01 10:00",
            None,
            Some("2026-10-02 10:00"),
            Some("2026-10-01 12:00"),
            Some(1),
        ),
        t(
            "B3",
            "R",
            "P4",
            "2026-10-01 10:00",
            None,
            Some("2099-01-01 00:00"),
            None,
            Some(1),
        ),
        t(
            "B4",
            "R",
            "P4",
            "2026-10-01 10:00",
            None,
            Some("2026-10-01 11:00"),
            None,
            Some(0),
        ),
        t(
            "B5",
            "GHOST",
            "P4",
            "2026-10-01 10:00",
            None,
            None,
            None,
            None,
        ),
        t("B6", "R", "P9", "2026-10-01 10:00", None, None, None, None),
    ];
    tickets.push(tickets[0].clone());
    write_table(d, "tickets", &tickets);
    write_table(
        d,
        "time_entries",
        &[vec![
            s("NOPE"),
            s("tech-1"),
            ts("2026-10-01 10:00"),
            Cell::F(-5.0),
        ]],
    );
    write_table(
        d,
        "surveys",
        &[
            vec![
                s("V1"),
                s("R"),
                Cell::Null,
                ts("2026-10-01 10:00"),
                s("nps"),
                Cell::I(11),
            ],
            vec![
                s("V1"),
                s("R"),
                Cell::Null,
                ts("2026-10-01 10:00"),
                s("csat"),
                Cell::I(0),
            ],
            vec![
                s("V3"),
                s("NOBODY"),
                s("NOTICKET"),
                ts("2026-10-01 10:00"),
                s("ces"),
                Cell::I(3),
            ],
        ],
    );
    write_table(
        d,
        "clients",
        &[
            vec![
                s("R"),
                s("R"),
                s("Mars/Olympus"),
                Cell::Null,
                date("2025-01-01"),
                date("2024-01-01"),
                Cell::F(-1.0),
            ],
            vec![
                s("R"),
                s("R again"),
                s("UTC"),
                s("Mon-Fri 18:00-08:00 UTC"),
                date("2025-01-01"),
                Cell::Null,
                Cell::F(1.0),
            ],
        ],
    );
    let report = mspkpi::validate::validate(d).await.unwrap();
    let text = report.text();
    for expected in [
        "2 × duplicate ticket_id",
        "first_response_at before created_at",
        "closed_at before resolved_at",
        "timestamp in the future",
        "contacts below 1",
        "client_id with no match in clients",
        "priority with no sla_targets row",
        "ticket_id with no match in tickets",
        "negative or missing minutes",
        "duplicate survey_id",
        "NPS score outside 0-10",
        "CSAT score outside 1-5",
        "unknown kind",
        "duplicate client_id",
        "churned_on before onboarded_on",
        "negative or missing mrr",
        "unknown IANA time zone: 'Mars/Olympus'",
        "ends before it starts",
    ] {
        assert!(text.contains(expected), "missing '{expected}' in\n{text}");
    }
    assert!(
        text.contains("e.g. B1 in ") && text.contains("tickets/part-0.parquet"),
        "{text}"
    );
    assert!(text.contains("warning"), "{text}");
    let json = mspkpi(&[
        "validate",
        "--data",
        d.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(json.status.code(), Some(1));
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(parsed["findings"].as_array().unwrap().len() >= 18);

    // Schema problems: a missing table, a missing column, a wrong type, non-Parquet and truncated files.
    let schema_dir = tempfile::tempdir().unwrap();
    let d = schema_dir.path();
    healthy(d);
    std::fs::remove_dir_all(d.join("sla_targets")).unwrap();
    rewrite_column(d, "surveys", "submitted_at", |a| {
        arrow::compute::cast(a, &DataType::Utf8).unwrap()
    });
    let entries = read_batches(&d.join("time_entries/part-0.parquet"));
    write_batches(
        &d.join("time_entries/part-0.parquet"),
        &[entries[0].project(&[0, 1, 2]).unwrap()],
    );
    std::fs::write(
        d.join("clients/part-1.parquet"),
        "client_id,name\nC1,Acme\n",
    )
    .unwrap();
    let bytes = std::fs::read(d.join("tickets/part-0.parquet")).unwrap();
    std::fs::write(d.join("tickets/part-0.parquet"), &bytes[..bytes.len() - 40]).unwrap();
    let output = mspkpi(&["validate", "--data", d.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "sla_targets",
        "missing: expected a folder",
        "column 'submitted_at' has type Utf8",
        "column 'minutes' is missing",
        "clients/part-1.parquet",
        "tickets/part-0.parquet",
    ] {
        assert!(text.contains(expected), "missing '{expected}' in\n{text}");
    }
    // Could not run at all.
    assert_eq!(
        mspkpi(&["validate", "--data", "/nonexistent/mspkpi"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        mspkpi(&[
            "validate",
            "--data",
            dir.path().parent().unwrap().join("none").to_str().unwrap()
        ])
        .status
        .code(),
        Some(2)
    );
}

/// Every schema class through `report` and `sql`: one clear error naming file and
/// column, a non-zero exit, and nothing written.
#[test]
fn report_and_sql_reject_broken_files_and_write_nothing() {
    type Break = fn(&Path);
    let cases: [(&str, Break, &[&str]); 5] = [
        (
            "missing table",
            |d| std::fs::remove_dir_all(d.join("surveys")).unwrap(),
            &["table 'surveys'", "missing"],
        ),
        (
            "missing column",
            |d| {
                let batches = read_batches(&d.join("clients/part-0.parquet"));
                write_batches(
                    &d.join("clients/part-0.parquet"),
                    &[batches[0].project(&[0, 1, 3, 4, 5, 6]).unwrap()],
                );
            },
            &["clients/part-0.parquet", "column 'timezone'", "is missing"],
        ),
        (
            "wrong type",
            |d| {
                rewrite_column(d, "tickets", "created_at", |a| {
                    arrow::compute::cast(a, &DataType::Utf8).unwrap()
                })
            },
            &[
                "tickets/part-0.parquet",
                "column 'created_at'",
                "expected a timestamp",
            ],
        ),
        (
            "not parquet",
            |d| std::fs::write(d.join("time_entries/part-0.parquet"), b"hello").unwrap(),
            &["time_entries/part-0.parquet", "not a Parquet file"],
        ),
        (
            "truncated",
            |d| {
                let p = d.join("surveys/part-0.parquet");
                let bytes = std::fs::read(&p).unwrap();
                std::fs::write(&p, &bytes[..bytes.len() / 3]).unwrap();
            },
            &["surveys/part-0.parquet", "Parquet"],
        ),
    ];
    for (name, break_it, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        healthy(dir.path());
        break_it(dir.path());
        let out = tempfile::tempdir().unwrap();
        let report = mspkpi(&[
            "report",
            "--data",
            dir.path().to_str().unwrap(),
            "--period",
            "2026-10",
            "--out",
            out.path().to_str().unwrap(),
        ]);
        let sql = mspkpi(&[
            "sql",
            "--data",
            dir.path().to_str().unwrap(),
            "SELECT count(*) FROM clients",
        ]);
        for (command, output) in [("report", &report), ("sql", &sql)] {
            let err = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "{name} via {command}: {err}");
            for e in expected {
                assert!(err.contains(e), "{name} via {command}: '{e}' not in {err}");
            }
            assert!(!err.contains("panicked"), "{name} via {command}: {err}");
        }
        assert_eq!(
            std::fs::read_dir(out.path()).unwrap().count(),
            0,
            "{name}: report wrote something"
        );
    }
}

/// Values the KPI functions reject: `report` fails with the function's message and
/// points to `validate`; data-quality problems that the queries tolerate do not stop it.
#[tokio::test]
async fn out_of_domain_values_stop_the_report_with_a_pointer_to_validate() {
    let dir = tempfile::tempdir().unwrap();
    healthy(dir.path());
    rewrite_column(dir.path(), "surveys", "score", |a| {
        let scores = arrow::compute::cast(a, &DataType::Int32).unwrap();
        let scores = scores
            .as_any()
            .downcast_ref::<arrow::array::Int32Array>()
            .unwrap();
        Arc::new(arrow::array::Int32Array::from_iter(
            scores
                .iter()
                .enumerate()
                .map(|(i, v)| if i == 3 { Some(11) } else { v }),
        ))
    });
    let out = tempfile::tempdir().unwrap();
    let error = format!(
        "{:#}",
        report::run(&report_options(dir.path(), out.path(), "2026-10"))
            .await
            .unwrap_err()
    );
    assert!(
        error.contains("nps: value 11 is out of range") && error.contains("mspkpi validate"),
        "{error}"
    );
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
    let sql = mspkpi(&[
        "sql",
        "--data",
        dir.path().to_str().unwrap(),
        "SELECT nps(score) FROM surveys",
    ]);
    assert!(String::from_utf8_lossy(&sql.stderr).contains("nps: value 11"));

    // Duplicate keys and times in the wrong order: reported by validate, tolerated by the report.
    let dir = tempfile::tempdir().unwrap();
    healthy(dir.path());
    let path = dir.path().join("tickets/part-0.parquet");
    let batches = read_batches(&path);
    write_batches(&path, &[batches[0].clone(), batches[0].slice(0, 5)]);
    report::run(&report_options(dir.path(), out.path(), "2026-10"))
        .await
        .unwrap();
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Damage {
    Truncate,
    FlipBytes,
    Garbage,
    EmptyFile,
    SwapType,
    OutOfRange,
    DuplicateKeys,
    DropTable,
}

const TABLES: [&str; 5] = [
    "tickets",
    "time_entries",
    "surveys",
    "clients",
    "sla_targets",
];

fn corrupt(dir: &Path, rng: &mut ChaCha8Rng) -> (Damage, PathBuf) {
    let damages = [
        Damage::Truncate,
        Damage::FlipBytes,
        Damage::Garbage,
        Damage::EmptyFile,
        Damage::SwapType,
        Damage::OutOfRange,
        Damage::DuplicateKeys,
        Damage::DropTable,
    ];
    let damage = damages[rng.random_range(0..damages.len())];
    let table = TABLES[rng.random_range(0..TABLES.len())];
    let file = dir.join(table).join("part-0.parquet");
    let bytes = std::fs::read(&file).unwrap();
    match damage {
        Damage::Truncate => {
            std::fs::write(&file, &bytes[..rng.random_range(0..bytes.len())]).unwrap()
        }
        Damage::FlipBytes => {
            let mut bytes = bytes;
            for _ in 0..rng.random_range(1..12) {
                let i = rng.random_range(0..bytes.len());
                bytes[i] ^= 1 << rng.random_range(0..8);
            }
            std::fs::write(&file, bytes).unwrap();
        }
        Damage::Garbage => {
            let garbage: Vec<u8> = (0..rng.random_range(1..4000))
                .map(|_| rng.random())
                .collect();
            std::fs::write(&file, garbage).unwrap();
        }
        Damage::EmptyFile => std::fs::write(&file, b"").unwrap(),
        Damage::SwapType => {
            let table_def = mspkpi::schema::table(table).unwrap();
            let column = table_def.columns[rng.random_range(0..table_def.columns.len())].name;
            let target = [
                DataType::Utf8,
                DataType::Boolean,
                DataType::Float64,
                DataType::Int64,
            ][rng.random_range(0..4)]
            .clone();
            rewrite_column(dir, table, column, |a| {
                arrow::compute::cast(a, &target)
                    .unwrap_or_else(|_| arrow::array::new_null_array(&target, a.len()))
            });
        }
        Damage::OutOfRange => match rng.random_range(0..3) {
            0 => rewrite_column(dir, "surveys", "score", |a| {
                arrow::compute::kernels::numeric::add(a, &arrow::array::Int32Array::new_scalar(20))
                    .unwrap()
            }),
            1 => rewrite_column(dir, "clients", "mrr", |a| {
                arrow::compute::kernels::numeric::neg(a).unwrap()
            }),
            _ => rewrite_column(dir, "tickets", "contacts", |a| {
                arrow::compute::kernels::numeric::sub(a, &arrow::array::Int32Array::new_scalar(5))
                    .unwrap()
            }),
        },
        Damage::DuplicateKeys => {
            let batches = read_batches(&file);
            if !batches.is_empty() {
                let mut twice = batches.clone();
                twice.extend(batches);
                write_batches(&file, &twice);
            }
        }
        Damage::DropTable => std::fs::remove_dir_all(dir.join(table)).unwrap(),
    }
    (damage, file)
}

/// Corrupts generated data in many seeded ways and runs validate, sql and report on
/// each: no panic, no hang, no partial output, and detectable damage named by file.
/// `MSPKPI_FUZZ_CASES` sets the number of cases (500 by default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_corrupted_data_directories() {
    let cases: usize = std::env::var("MSPKPI_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let pristine = tempfile::tempdir().unwrap();
    generated(pristine.path(), 4, 400, 3);
    let mut rng = ChaCha8Rng::seed_from_u64(20261123);
    let mut outcomes: std::collections::BTreeMap<(Damage, &str), usize> = Default::default();
    for case in 0..cases {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(pristine.path(), dir.path());
        let (damage, file) = corrupt(dir.path(), &mut rng);
        let file_name = file.strip_prefix(dir.path()).unwrap().display().to_string();
        let data = dir.path().to_path_buf();
        let limit = std::time::Duration::from_secs(60);

        // validate
        let validate = tokio::time::timeout(
            limit,
            tokio::spawn({
                let data = data.clone();
                async move { mspkpi::validate::validate(&data).await.map(|r| r.text()) }
            }),
        )
        .await
        .unwrap_or_else(|_| panic!("case {case}: validate hung on {damage:?}"));
        let validate = validate
            .unwrap_or_else(|e| {
                panic!("case {case}: validate panicked on {damage:?} of {file_name}: {e}")
            })
            .unwrap_or_else(|e| format!("could not run: {e:#}"));

        // sql: a query over every table
        let sql = tokio::time::timeout(limit, tokio::spawn({
            let data = data.clone();
            async move {
                let (ctx, _) = mspkpi::session::open(&data, &Default::default()).await?;
                let frame = ctx.sql("SELECT (SELECT count(*) FROM tickets) + (SELECT count(*) FROM surveys) + (SELECT count(*) FROM time_entries) + (SELECT count(*) FROM clients) + (SELECT count(*) FROM sla_targets)").await?;
                frame.collect().await?;
                anyhow::Ok(())
            }
        })).await.unwrap_or_else(|_| panic!("case {case}: sql hung on {damage:?}"));
        let sql = sql.unwrap_or_else(|e| {
            panic!("case {case}: sql panicked on {damage:?} of {file_name}: {e}")
        });

        // report, on a fifth of the cases (it runs every saved query)
        if case % 5 == 0 {
            let out = tempfile::tempdir().unwrap();
            let options = ReportOptions {
                period: Period::parse("2025-01").unwrap(),
                ..report_options(&data, out.path(), "2026-10")
            };
            let result = tokio::time::timeout(
                limit,
                tokio::spawn(async move { report::run(&options).await.map(|_| ()) }),
            )
            .await
            .unwrap_or_else(|_| panic!("case {case}: report hung on {damage:?}"))
            .unwrap_or_else(|e| {
                panic!("case {case}: report panicked on {damage:?} of {file_name}: {e}")
            });
            let written: Vec<PathBuf> = walk(out.path());
            if result.is_err() {
                assert!(
                    written.is_empty(),
                    "case {case}: a failed report left {written:?}"
                );
            } else {
                assert!(
                    written
                        .iter()
                        .all(|p| !p.to_string_lossy().contains("staging")),
                    "case {case}"
                );
            }
        }

        // Damage that Parquet can detect is named by file.
        let structural = matches!(
            damage,
            Damage::Truncate | Damage::Garbage | Damage::EmptyFile | Damage::DropTable
        );
        let outcome = match &sql {
            Ok(()) => "undetected by sql",
            Err(e) => {
                let message = mspkpi::error_message(e);
                assert!(!message.is_empty());
                if structural {
                    let table = file_name.split('/').next().unwrap();
                    assert!(
                        message.contains(table),
                        "case {case}: {damage:?} of {file_name}: {message}"
                    );
                    assert!(
                        validate.contains(table),
                        "case {case}: validate did not name {table}:\n{validate}"
                    );
                }
                "error"
            }
        };
        let outcome = if outcome == "undetected by sql"
            && validate.contains("error")
            && !validate.contains(" 0 error(s)")
        {
            "reported by validate"
        } else {
            outcome
        };
        *outcomes.entry((damage, outcome)).or_default() += 1;
    }
    eprintln!("{cases} fuzz cases:");
    for ((damage, outcome), count) in &outcomes {
        eprintln!("  {damage:?}: {outcome}: {count}");
    }
}
