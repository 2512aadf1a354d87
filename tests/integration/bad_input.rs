//! Bad input: `validate` on hand-made broken data, clear errors from `report` and `sql`,
//! and a seeded fuzz run over corrupted data directories.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use crate::common::*;
use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use mspkpi::report;
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
    let clean = mspkpi::data::validate::validate(&d.into(), None, &Default::default())
        .await
        .unwrap();
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
    let report = mspkpi::data::validate::validate(&d.into(), None, &Default::default())
        .await
        .unwrap();
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

/// The classes of damage the fuzz applies to one file (or table) of a data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Damage {
    /// Bits flipped inside one column chunk's pages (headers and data).
    DataPageFlip,
    /// Bits flipped inside the footer's metadata.
    FooterFlip,
    Truncate,
    /// A run of bytes set to zero.
    ZeroRange,
    Garbage,
    EmptyFile,
    /// A valid Parquet file of another table in its place.
    OtherTable,
    SwapType,
    OutOfRange,
    DuplicateKeys,
    DropTable,
}

const DAMAGES: [Damage; 11] = [
    Damage::DataPageFlip,
    Damage::FooterFlip,
    Damage::Truncate,
    Damage::ZeroRange,
    Damage::Garbage,
    Damage::EmptyFile,
    Damage::OtherTable,
    Damage::SwapType,
    Damage::OutOfRange,
    Damage::DuplicateKeys,
    Damage::DropTable,
];

const TABLES: [&str; 5] = [
    "tickets",
    "time_entries",
    "surveys",
    "clients",
    "sla_targets",
];

fn flip_bits(bytes: &mut [u8], range: std::ops::Range<usize>, rng: &mut ChaCha8Rng) {
    if range.is_empty() {
        return;
    }
    for _ in 0..rng.random_range(1..8) {
        let i = rng.random_range(range.clone());
        bytes[i] ^= 1 << rng.random_range(0..8);
    }
}

/// The byte range of one column chunk of a Parquet file, chosen at random.
fn column_chunk(path: &Path, rng: &mut ChaCha8Rng) -> std::ops::Range<usize> {
    let file = std::fs::File::open(path).unwrap();
    let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
    let metadata = parquet::file::reader::FileReader::metadata(&reader);
    let row_group = metadata.row_group(rng.random_range(0..metadata.num_row_groups()));
    let chunk = row_group.column(rng.random_range(0..row_group.num_columns()));
    let (start, length) = chunk.byte_range();
    start as usize..(start + length) as usize
}

/// The byte range of a Parquet file's footer metadata (before its length and magic).
fn footer(bytes: &[u8]) -> std::ops::Range<usize> {
    let end = bytes.len() - 8;
    let length = u32::from_le_bytes(bytes[end..end + 4].try_into().unwrap()) as usize;
    end - length..end
}

/// Damages one table of `dir`; the damage and the file it hit.
fn corrupt(dir: &Path, rng: &mut ChaCha8Rng) -> (Damage, PathBuf) {
    let damage = DAMAGES[rng.random_range(0..DAMAGES.len())];
    let table = match damage {
        // The columns with a domain: an NPS or CSAT score, MRR, contacts.
        Damage::OutOfRange => ["surveys", "clients", "tickets"][rng.random_range(0..3)],
        _ => TABLES[rng.random_range(0..TABLES.len())],
    };
    let file = dir.join(table).join("part-0.parquet");
    let mut bytes = std::fs::read(&file).unwrap();
    match damage {
        Damage::DataPageFlip => {
            let chunk = column_chunk(&file, rng);
            flip_bits(&mut bytes, chunk, rng);
            std::fs::write(&file, bytes).unwrap();
        }
        Damage::FooterFlip => {
            let range = footer(&bytes);
            flip_bits(&mut bytes, range, rng);
            std::fs::write(&file, bytes).unwrap();
        }
        Damage::Truncate => {
            std::fs::write(&file, &bytes[..rng.random_range(0..bytes.len())]).unwrap()
        }
        Damage::ZeroRange => {
            let start = rng.random_range(0..bytes.len());
            let end = (start + rng.random_range(1..256)).min(bytes.len());
            bytes[start..end].fill(0);
            std::fs::write(&file, bytes).unwrap();
        }
        Damage::Garbage => {
            let garbage: Vec<u8> = (0..rng.random_range(1..4000))
                .map(|_| rng.random())
                .collect();
            std::fs::write(&file, garbage).unwrap();
        }
        Damage::EmptyFile => std::fs::write(&file, b"").unwrap(),
        Damage::OtherTable => {
            let other = TABLES[(TABLES.iter().position(|t| *t == table).unwrap()
                + rng.random_range(1..TABLES.len()))
                % TABLES.len()];
            std::fs::copy(dir.join(other).join("part-0.parquet"), &file).unwrap();
        }
        Damage::SwapType => {
            let table_def = mspkpi::data::schema::table(table).unwrap();
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
        Damage::OutOfRange => match table {
            "surveys" => rewrite_column(dir, "surveys", "score", |a| {
                arrow::compute::kernels::numeric::add(a, &arrow::array::Int32Array::new_scalar(20))
                    .unwrap()
            }),
            "clients" => rewrite_column(dir, "clients", "mrr", |a| {
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

/// How one run of the binary ended.
struct Run {
    code: Option<i32>,
    timed_out: bool,
    output: String,
}

impl Run {
    /// Exit status 101 (a panic) or above, or killed by a signal.
    fn crashed(&self) -> bool {
        !self.timed_out && self.code.is_none_or(|c| c >= 101)
    }

    fn panic_text(&self) -> bool {
        ["panicked", "RUST_BACKTRACE", "stack backtrace"]
            .iter()
            .any(|t| self.output.contains(t))
    }
}

/// The binary the fuzz runs: this build's, or `MSPKPI_FUZZ_BINARY` (a release build).
fn fuzz_binary() -> PathBuf {
    std::env::var_os("MSPKPI_FUZZ_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_mspkpi")))
}

/// Runs the binary with its output in files (no pipe to fill), killed after `limit`.
fn run_bounded(binary: &Path, args: &[&str], scratch: &Path, limit: std::time::Duration) -> Run {
    let out_path = scratch.join("output.txt");
    let out = std::fs::File::create(&out_path).unwrap();
    let mut child = Command::new(binary)
        .args(args)
        .env_remove("MSPKPI_DEBUG")
        .env("RUST_BACKTRACE", "1")
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let (code, timed_out) = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break (status.code(), false);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break (None, true);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    Run {
        code,
        timed_out,
        output: std::fs::read_to_string(&out_path).unwrap_or_default(),
    }
}

/// A file's bytes by relative path, for comparing a folder before and after a run.
fn snapshot(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    if !dir.exists() {
        return Default::default();
    }
    walk(dir)
        .into_iter()
        .map(|p| {
            (
                p.strip_prefix(dir).unwrap().to_path_buf(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

/// What one command did with one damaged data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// Exit status ≥ 101 or a signal: must never happen.
    Crash,
    /// Panic text or a backtrace in the output: must never happen.
    PanicText,
    /// Still running after the time limit: must never happen.
    Hang,
    /// A failed report changed the output folder: must never happen.
    PartialOutput,
    /// A failure whose message names neither the damaged table nor validate: must not
    /// happen for damage to a file.
    Unnamed,
    /// A clear error naming the table or file (or, for values, pointing to validate).
    Error,
    /// The command succeeded: the damage left the data readable (or changed values
    /// silently, as a flipped bit in a page without checksum can).
    Success,
}

const FAILURES: [Outcome; 5] = [
    Outcome::Crash,
    Outcome::PanicText,
    Outcome::Hang,
    Outcome::PartialOutput,
    Outcome::Unnamed,
];

/// The cases of a seeded fuzz run, each a damaged copy of one generated data directory
/// on which the real binary runs `validate`, `sql` (reading every column of every
/// table) and `report` (into a folder that holds the period's earlier report, which a
/// failed run must leave as it was). Returns the outcomes per damage and command.
fn fuzz(
    cases: usize,
    workers: usize,
) -> std::collections::BTreeMap<(Damage, &'static str, Outcome), usize> {
    let binary = fuzz_binary();
    let pristine = tempfile::tempdir().unwrap();
    generated(pristine.path(), 4, 400, 3);
    let earlier = tempfile::tempdir().unwrap();
    let limit = std::time::Duration::from_secs(60);
    let data = pristine.path().to_str().unwrap();
    let out = earlier.path().to_str().unwrap();
    let first = run_bounded(
        &binary,
        &[
            "report", "--data", data, "--period", "2025-01", "--out", out,
        ],
        earlier.path(),
        limit,
    );
    assert_eq!(first.code, Some(0), "{}", first.output);
    std::fs::remove_file(earlier.path().join("output.txt")).unwrap();
    let earlier_report = snapshot(earlier.path());
    let sql = TABLES
        .iter()
        .map(|t| format!("SELECT '{t}' AS t, count(*) AS n FROM (SELECT DISTINCT * FROM {t})"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");

    // MSPKPI_FUZZ_ONLY=N runs case N alone and keeps its folder, to reproduce it.
    let only: Option<usize> = std::env::var("MSPKPI_FUZZ_ONLY")
        .ok()
        .and_then(|v| v.parse().ok());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let outcomes = std::sync::Mutex::new(std::collections::BTreeMap::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let case = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if case >= cases {
                        break;
                    }
                    if only.is_some_and(|only| only != case) {
                        continue;
                    }
                    // Seeded per case, so a case is the same whichever worker runs it.
                    let mut rng = ChaCha8Rng::seed_from_u64(20261201 ^ (case as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                    let mut scratch = tempfile::tempdir().unwrap();
                    if only.is_some() {
                        scratch.disable_cleanup(true);
                        eprintln!("case {case} in {}", scratch.path().display());
                    }
                    let dir = scratch.path().join("data");
                    copy_dir(pristine.path(), &dir);
                    let (damage, file) = corrupt(&dir, &mut rng);
                    let table = file.strip_prefix(&dir).unwrap().iter().next().unwrap().to_string_lossy().into_owned();
                    let out = scratch.path().join("reports");
                    copy_dir(earlier.path(), &out);
                    let d = dir.to_str().unwrap();
                    let o = out.to_str().unwrap();
                    let runs = [
                        ("validate", run_bounded(&binary, &["validate", "--data", d], scratch.path(), limit)),
                        ("sql", run_bounded(&binary, &["sql", "--data", d, "--format", "csv", &sql], scratch.path(), limit)),
                        ("report", run_bounded(&binary, &["report", "--data", d, "--period", "2025-01", "--out", o], scratch.path(), limit)),
                    ];
                    let report_folder = snapshot(&out);
                    for (command, run) in runs {
                        let failed = run.code != Some(0);
                        let outcome = if run.crashed() {
                            Outcome::Crash
                        } else if run.timed_out {
                            Outcome::Hang
                        } else if run.panic_text() {
                            Outcome::PanicText
                        } else if command == "report" && ((failed && report_folder != earlier_report) || report_folder.keys().any(|p| p.iter().any(|c| c.to_string_lossy().starts_with('.')))) {
                            Outcome::PartialOutput
                        } else if !failed {
                            Outcome::Success
                        } else if run.output.contains(&table) || run.output.contains("mspkpi validate") {
                            Outcome::Error
                        } else {
                            Outcome::Unnamed
                        };
                        if FAILURES.contains(&outcome) {
                            eprintln!("case {case}: {damage:?} of {table}: {command} gave {outcome:?}:\n{}", run.output);
                        }
                        *outcomes.lock().unwrap().entry((damage, command, outcome)).or_default() += 1;
                    }
                }
            });
        }
    });
    outcomes.into_inner().unwrap()
}

/// The outcome table of a fuzz run, one row per damage and command, in Markdown.
fn outcome_table(
    outcomes: &std::collections::BTreeMap<(Damage, &'static str, Outcome), usize>,
) -> String {
    let columns = [
        Outcome::Crash,
        Outcome::PanicText,
        Outcome::Hang,
        Outcome::PartialOutput,
        Outcome::Unnamed,
        Outcome::Error,
        Outcome::Success,
    ];
    let mut text = String::from(
        "| damage | command | crash | panic text | hang | partial output | unnamed error | clear error | ran |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for damage in DAMAGES {
        for command in ["validate", "sql", "report"] {
            let counts: Vec<String> = columns
                .iter()
                .map(|o| {
                    outcomes
                        .get(&(damage, command, *o))
                        .copied()
                        .unwrap_or(0)
                        .to_string()
                })
                .collect();
            text.push_str(&format!(
                "| {damage:?} | {command} | {} |\n",
                counts.join(" | ")
            ));
        }
    }
    text
}

/// Corrupts generated data in many seeded ways and runs the real binary's `validate`,
/// `sql` and `report` on each: no crash, no panic text, no hang, no partial output, and
/// damage to a file named by its table. `MSPKPI_FUZZ_CASES` sets the number of cases
/// (500 by default), `MSPKPI_FUZZ_BINARY` the binary (this build's by default; see
/// `bench/fuzz.sh` for a release run), `MSPKPI_FUZZ_TABLE` a file to write the outcome
/// table to, `MSPKPI_FUZZ_ONLY` one case to run alone (its folder is kept).
#[test]
fn fuzz_corrupted_data_directories() {
    let cases: usize = std::env::var("MSPKPI_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let outcomes = fuzz(cases, 2);
    let table = outcome_table(&outcomes);
    eprintln!("{cases} fuzz cases:\n{table}");
    if let Some(path) = std::env::var_os("MSPKPI_FUZZ_TABLE") {
        std::fs::write(path, &table).unwrap();
    }
    let failures: usize = outcomes
        .iter()
        .filter(|((_, _, outcome), _)| FAILURES.contains(outcome))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(failures, 0, "{table}");
    // The run reached the damage it is meant to test (unless it ran one case alone).
    let whole_run = std::env::var_os("MSPKPI_FUZZ_ONLY").is_none();
    for damage in [Damage::DataPageFlip, Damage::FooterFlip]
        .into_iter()
        .filter(|_| whole_run)
    {
        let errors: usize = outcomes
            .iter()
            .filter(|((d, _, o), _)| *d == damage && *o == Outcome::Error)
            .map(|(_, n)| n)
            .sum();
        assert!(errors > 0, "no {damage:?} case was detected:\n{table}");
    }
}

/// Whether decoding every column of a Parquet file (held in memory) panics.
fn decoding_panics(bytes: &[u8]) -> bool {
    let bytes = bytes::Bytes::copy_from_slice(bytes);
    std::panic::catch_unwind(|| {
        if let Ok(builder) = ParquetRecordBatchReaderBuilder::try_new(bytes)
            && let Ok(reader) = builder.build()
        {
            for batch in reader {
                if batch.is_err() {
                    break;
                }
            }
        }
    })
    .is_err()
}

/// The first single-bit flip inside a column chunk of `file` that makes parquet-rs's
/// decoder panic (rather than return an error), as a damaged export did in the field.
fn panicking_flip(file: &Path) -> Option<Vec<u8>> {
    let bytes = std::fs::read(file).unwrap();
    let reader =
        parquet::file::reader::SerializedFileReader::new(std::fs::File::open(file).unwrap())
            .unwrap();
    let metadata = parquet::file::reader::FileReader::metadata(&reader);
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut found = None;
    'search: for row_group in metadata.row_groups() {
        for chunk in row_group.columns() {
            let (start, length) = chunk.byte_range();
            for offset in start as usize..(start + length) as usize {
                for bit in 0..8 {
                    let mut flipped = bytes.clone();
                    flipped[offset] ^= 1 << bit;
                    if decoding_panics(&flipped) {
                        found = Some(flipped);
                        break 'search;
                    }
                }
            }
        }
    }
    std::panic::set_hook(previous_hook);
    found
}

/// A data page that makes the decoder panic: `validate` lists the file and exits 1,
/// `report` and `sql` exit 1 naming the file, row group and column, and no panic text
/// or backtrace reaches the terminal unless `MSPKPI_DEBUG=1` asks for it.
#[test]
fn a_data_page_the_decoder_panics_on_is_named_and_crashes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    generated(dir.path(), 4, 400, 3);
    let file = dir.path().join("time_entries/part-0.parquet");
    let flipped = panicking_flip(&file).expect("a bit flip that makes the decoder panic");
    std::fs::write(&file, flipped).unwrap();
    let d = dir.path().to_str().unwrap();
    let run = |args: &[&str], debug: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mspkpi"));
        command.args(args).env("RUST_BACKTRACE", "1");
        if debug {
            command.env("MSPKPI_DEBUG", "1");
        } else {
            command.env_remove("MSPKPI_DEBUG");
        }
        let output = command.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.code(), text)
    };

    let (code, text) = run(&["validate", "--data", d], false);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("time_entries")
            && text.contains("cannot decode data in")
            && text.contains("time_entries/part-0.parquet (row group 0, column "),
        "{text}"
    );
    assert!(text.contains("1 error(s)"), "only the damaged file: {text}");
    assert!(
        !text.contains("panicked") && !text.contains("backtrace"),
        "{text}"
    );

    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    for args in [
        vec!["report", "--data", d, "--period", "2025-01", "--out", o],
        vec![
            "sql",
            "--data",
            d,
            "SELECT sum(minutes), count(DISTINCT ticket_id), max(started_at), min(technician_id) FROM time_entries",
        ],
    ] {
        let (code, text) = run(&args, false);
        assert_eq!(code, Some(1), "{args:?}: {text}");
        assert!(
            text.contains("time_entries: cannot decode data in")
                && text.contains("time_entries/part-0.parquet (row group 0, column ")
                && text.contains("corrupted page?"),
            "{args:?}: {text}"
        );
        assert!(
            !text.contains("panicked") && !text.contains("backtrace"),
            "{args:?}: {text}"
        );
    }
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);

    // The debug switch shows what was hidden.
    let (code, text) = run(
        &["report", "--data", d, "--period", "2025-01", "--out", o],
        true,
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("debug: ") && text.contains("panicked"),
        "{text}"
    );
}

/// A page whose bytes no longer match the checksum its writer stored: the flipped bit
/// still decodes (168.0 reads as 336.0), so only the checksum tells. `validate` and
/// `sql` name the file; the intact copy is clean.
#[test]
fn page_checksums_are_verified_where_the_writer_stored_them() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/checksums");
    let dir = tempfile::tempdir().unwrap();
    healthy(dir.path());
    let d = dir.path().to_str().unwrap();
    let table = dir.path().join("calendars/part-0.parquet");
    std::fs::create_dir_all(table.parent().unwrap()).unwrap();

    std::fs::copy(fixtures.join("calendars.parquet"), &table).unwrap();
    let clean = mspkpi(&["validate", "--data", d]);
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&clean.stdout)
    );
    let sum = mspkpi(&[
        "sql",
        "--data",
        d,
        "--format",
        "csv",
        "SELECT sum(hours) AS h FROM calendars",
    ]);
    assert_eq!(String::from_utf8_lossy(&sum.stdout), "h\n208.0\n");

    std::fs::copy(fixtures.join("calendars-damaged.parquet"), &table).unwrap();
    let damaged = mspkpi(&["validate", "--data", d]);
    let text = String::from_utf8_lossy(&damaged.stdout);
    assert_eq!(damaged.status.code(), Some(1), "{text}");
    assert!(
        text.contains("calendars/part-0.parquet (row group 0, column hours): corrupted page?")
            && text.contains("Page CRC checksum mismatch"),
        "{text}"
    );
    let sum = mspkpi(&["sql", "--data", d, "SELECT sum(hours) AS h FROM calendars"]);
    let error = String::from_utf8_lossy(&sum.stderr);
    assert_eq!(sum.status.code(), Some(1), "{error}");
    assert!(
        error.contains("calendars: cannot decode data in") && error.contains("checksum mismatch"),
        "{error}"
    );
}

#[tokio::test]
async fn status_history_rules() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    status_history_examples(d);
    let clean = mspkpi::data::validate::validate(&d.into(), None, &Default::default())
        .await
        .unwrap();
    assert_eq!(
        (clean.errors(), clean.warnings()),
        (0, 0),
        "{}",
        clean.text()
    );

    // ticket_status without statuses: an error naming the table, for every command.
    let statuses = d.join("statuses");
    let kept = tempfile::tempdir().unwrap();
    std::fs::rename(&statuses, kept.path().join("statuses")).unwrap();
    let report = mspkpi::data::validate::validate(&d.into(), None, &Default::default())
        .await
        .unwrap();
    assert!(
        report.text().contains("table 'ticket_status' needs it"),
        "{}",
        report.text()
    );
    let out = mspkpi(&[
        "report",
        "--data",
        d.to_str().unwrap(),
        "--period",
        "2026-10",
        "--out",
        kept.path().join("reports").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("table 'statuses'") && stderr.contains("ticket_status"),
        "{stderr}"
    );
    assert!(!kept.path().join("reports").exists());
    std::fs::rename(kept.path().join("statuses"), &statuses).unwrap();

    // The other rules, each broken once.
    write_table_file(
        d,
        "ticket_status",
        "part-bad.parquet",
        &[
            vec![s("W1"), s("On Hold"), ts("2026-10-05 11:00")],
            vec![s("nobody"), s("New"), ts("2026-10-05 11:00")],
            vec![s("W2"), s("Reopened"), ts("2026-10-12 11:00")],
            vec![s("W3"), s("New"), ts("2026-10-25 09:00")],
        ],
    );
    write_table_file(
        d,
        "statuses",
        "part-bad.parquet",
        &[vec![s("Escalated"), s("urgent")], vec![s("New"), s("open")]],
    );
    let report = mspkpi::data::validate::validate(&d.into(), None, &Default::default())
        .await
        .unwrap();
    let text = report.text();
    for expected in [
        "status with no match in statuses",
        "W1 (On Hold)",
        "ticket_id with no match in tickets",
        "two different statuses for a ticket at the same changed_at",
        "W2 at 2026-10-12",
        "changed_at before the ticket's created_at",
        "W3 (New at 2026-10-25",
        "kind is not open, paused, resolved or closed",
        "Escalated (urgent)",
        "duplicate status",
    ] {
        assert!(text.contains(expected), "missing '{expected}' in\n{text}");
    }

    // resolved_at that disagrees with the history: a warning.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    status_history_examples(d);
    write_table_file(
        d,
        "ticket_status",
        "part-late.parquet",
        &[vec![s("W3"), s("Closed"), ts("2026-10-26 09:30")]],
    );
    let report = mspkpi::data::validate::validate(&d.into(), None, &Default::default())
        .await
        .unwrap();
    assert_eq!(
        (report.errors(), report.warnings()),
        (0, 1),
        "{}",
        report.text()
    );
    assert!(
        report
            .text()
            .contains("resolved_at is not the first resolved or closed status"),
        "{}",
        report.text()
    );
}
