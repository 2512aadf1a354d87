//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{Field, Schema};
use mspkpi::sample::generator::{self, Options};
use parquet::arrow::ArrowWriter;

/// Writes one batch to a Parquet file, creating folders.
pub fn write_parquet(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
        .collect();
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut writer =
        ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

/// A generated data directory.
pub fn generated(dir: &Path, clients: usize, tickets: u64, months: u32) -> generator::Summary {
    generate(dir, clients, tickets, months, false)
}

/// Generated data with each ticket's status history.
pub fn generated_with_history(
    dir: &Path,
    clients: usize,
    tickets: u64,
    months: u32,
) -> generator::Summary {
    generate(dir, clients, tickets, months, true)
}

fn generate(
    dir: &Path,
    clients: usize,
    tickets: u64,
    months: u32,
    status_history: bool,
) -> generator::Summary {
    generator::generate(
        dir,
        &Options {
            clients,
            tickets,
            months,
            status_history,
            ..Options::default()
        },
    )
    .unwrap()
}

/// Runs a query and returns the batches.
pub async fn query(ctx: &datafusion::prelude::SessionContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql).await.unwrap().collect().await.unwrap()
}

/// The single value of a one-row, one-column query, formatted.
pub async fn scalar(ctx: &datafusion::prelude::SessionContext, sql: &str) -> String {
    let batches = query(ctx, sql).await;
    let batch = batches.iter().find(|b| b.num_rows() > 0).expect("a row");
    arrow::util::display::array_value_to_string(batch.column(0), 0).unwrap()
}

/// A cell of a hand-made table row, in the canonical column order.
#[derive(Debug, Clone)]
pub enum Cell {
    S(String),
    T(i64),
    D(i32),
    I(i32),
    F(f64),
    B(bool),
    Null,
}

pub fn s(text: &str) -> Cell {
    Cell::S(text.to_string())
}

/// UTC instant from `YYYY-MM-DD HH:MM`.
pub fn utc(text: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
        .unwrap()
        .and_utc()
        .timestamp_micros()
}

pub fn ts(text: &str) -> Cell {
    Cell::T(utc(text))
}

pub fn date(text: &str) -> Cell {
    let d = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
    Cell::D(
        d.signed_duration_since(chrono::NaiveDate::default())
            .num_days() as i32,
    )
}

/// Writes rows of a canonical table to `dir/<table>/part-0.parquet`.
pub fn write_table(dir: &Path, table: &str, rows: &[Vec<Cell>]) {
    write_table_file(dir, table, "part-0.parquet", rows);
}

/// Writes rows of a canonical table to `dir/<table>/<file>`.
pub fn write_table_file(dir: &Path, table: &str, file: &str, rows: &[Vec<Cell>]) {
    use arrow::array::*;
    use mspkpi::data::schema::Kind;
    let table = mspkpi::data::schema::table(table).unwrap();
    let columns: Vec<ArrayRef> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, column)| -> ArrayRef {
            let cells = rows.iter().map(|r| r[i].clone());
            match column.kind {
                Kind::Text => Arc::new(StringArray::from_iter(cells.map(|c| match c {
                    Cell::S(s) => Some(s),
                    _ => None,
                }))),
                Kind::Timestamp => Arc::new(
                    TimestampMicrosecondArray::from_iter(cells.map(|c| match c {
                        Cell::T(t) => Some(t),
                        _ => None,
                    }))
                    .with_timezone("UTC"),
                ),
                Kind::Date => Arc::new(Date32Array::from_iter(cells.map(|c| match c {
                    Cell::D(d) => Some(d),
                    _ => None,
                }))),
                Kind::Int32 => Arc::new(Int32Array::from_iter(cells.map(|c| match c {
                    Cell::I(v) => Some(v),
                    _ => None,
                }))),
                Kind::Float64 => Arc::new(Float64Array::from_iter(cells.map(|c| match c {
                    Cell::F(v) => Some(v),
                    _ => None,
                }))),
                Kind::Boolean => Arc::new(BooleanArray::from_iter(cells.map(|c| match c {
                    Cell::B(v) => Some(v),
                    _ => None,
                }))),
            }
        })
        .collect();
    let batch = RecordBatch::try_new(table.schema(), columns).unwrap();
    let path = dir.join(table.name).join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut writer =
        ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

/// Runs every built-in saved query for a period over a data directory.
pub async fn saved_results(dir: &Path, period: &str) -> Vec<mspkpi::run::QueryResult> {
    let period = mspkpi::period::Period::parse(period).unwrap();
    let (ctx, _) = mspkpi::session::open(&dir.into(), None, &Default::default())
        .await
        .unwrap();
    mspkpi::period::register_periods(&ctx, period.grain).unwrap();
    let queries = mspkpi::saved_queries::load(None).unwrap();
    mspkpi::run::run_all(
        &ctx,
        &queries,
        &mspkpi::saved_queries::period_params(&period),
        &mspkpi::models::Placement::Memory,
        |_| {},
    )
    .await
    .unwrap()
}

pub const MIN: i64 = 60_000_000;

/// A ticket row: id, client, technician, priority, created, first response, resolved,
/// closed, contacts.
#[allow(clippy::too_many_arguments)]
pub fn ticket(
    id: &str,
    client: &str,
    priority: &str,
    created: i64,
    response: Option<i64>,
    resolved: Option<i64>,
    closed: Option<i64>,
    contacts: Option<i32>,
) -> Vec<Cell> {
    let t = |v: Option<i64>| v.map_or(Cell::Null, Cell::T);
    vec![
        s(id),
        s(client),
        s("tech-1"),
        s(priority),
        s("network"),
        Cell::T(created),
        t(response),
        t(resolved),
        t(closed),
        contacts.map_or(Cell::Null, Cell::I),
    ]
}

/// The design's worked examples, one client each, plus period-attribution cases for a
/// New York client without a calendar.
pub fn worked_examples(dir: &std::path::Path) {
    let october = utc("2026-10-05 10:00");
    let mut tickets = Vec::new();
    // R: 20 responses of 20 minutes = 400 minutes -> 20 min average
    for i in 0..20 {
        let c = october + i * 60 * MIN;
        tickets.push(ticket(
            &format!("R{i}"),
            "R",
            "P4",
            c,
            Some(c + 20 * MIN),
            None,
            None,
            None,
        ));
    }
    // F: 90 of 100 resolved on first contact
    for i in 0..100 {
        let c = october + i * 60 * MIN;
        tickets.push(ticket(
            &format!("F{i}"),
            "F",
            "P4",
            c,
            None,
            Some(c + 100 * MIN),
            None,
            Some(if i < 90 { 1 } else { 2 }),
        ));
    }
    // S: 95 of 100 P3 responses within the 60-minute wall-clock target
    for i in 0..100 {
        let c = october + i * 60 * MIN;
        let response = if i < 95 { 30 } else { 90 };
        tickets.push(ticket(
            &format!("S{i}"),
            "S",
            "P3",
            c,
            Some(c + response * MIN),
            None,
            None,
            None,
        ));
    }
    // O: 120 opened, 100 closed; by category network 30, email 20, printer 15, backup 12,
    // security 10, hardware 8, no category 7, software 6, access 5, phone 4, vpn 3; by
    // priority P1 6, P2 24, P3 40, P4 50
    let categories = [
        ("network", 30),
        ("email", 20),
        ("printer", 15),
        ("backup", 12),
        ("security", 10),
        ("hardware", 8),
        ("", 7),
        ("software", 6),
        ("access", 5),
        ("phone", 4),
        ("vpn", 3),
    ];
    let category_of = |i: i64| {
        let mut seen = 0;
        categories
            .iter()
            .find(|(_, n)| {
                seen += n;
                i < seen
            })
            .map_or(
                Cell::Null,
                |(c, _)| if c.is_empty() { Cell::Null } else { s(c) },
            )
    };
    for i in 0..120 {
        let c = october + i * 60 * MIN;
        let closed = (i < 100).then_some(c + 30 * MIN);
        let priority = match i {
            0..6 => "P1",
            6..30 => "P2",
            30..70 => "P3",
            _ => "P4",
        };
        let mut row = ticket(&format!("O{i}"), "O", priority, c, None, None, closed, None);
        row[4] = category_of(i);
        tickets.push(row);
    }
    // E: 10 tickets worked 300 minutes; T: technician tech-9 worked 500 minutes on 25 tickets
    for i in 0..10 {
        tickets.push(ticket(
            &format!("E{i}"),
            "E",
            "P4",
            october,
            None,
            None,
            None,
            None,
        ));
    }
    for i in 0..25 {
        tickets.push(ticket(
            &format!("TT{i}"),
            "T",
            "P4",
            october,
            None,
            None,
            None,
            None,
        ));
    }
    // P (New York, no calendar): created in October, resolved in November; response
    // breached at an October deadline but answered in November; created 23:30 local on
    // 31 October (03:30 UTC on 1 November).
    let p1 = utc("2026-10-20 10:00");
    tickets.push(ticket(
        "P1",
        "P",
        "P3",
        p1,
        Some(p1 + 20 * MIN),
        Some(utc("2026-11-03 10:00")),
        None,
        Some(1),
    ));
    let p2 = utc("2026-10-30 12:00");
    tickets.push(ticket(
        "P2",
        "P",
        "P3",
        p2,
        Some(utc("2026-11-02 09:00")),
        None,
        None,
        None,
    ));
    tickets.push(ticket(
        "P3",
        "P",
        "P4",
        utc("2026-11-01 03:30"),
        None,
        None,
        None,
        None,
    ));
    write_table(dir, "tickets", &tickets);

    let mut entries = Vec::new();
    for i in 0..20 {
        entries.push(vec![
            s(&format!("E{}", i % 10)),
            s("tech-1"),
            ts("2026-10-06 10:00"),
            Cell::F(15.0),
        ]);
    }
    for i in 0..25 {
        entries.push(vec![
            s(&format!("TT{i}")),
            s("tech-9"),
            ts("2026-10-07 10:00"),
            Cell::F(20.0),
        ]);
    }
    write_table(dir, "time_entries", &entries);

    // N: 70 promoters, 20 passives, 10 detractors -> NPS 60
    let surveys: Vec<Vec<Cell>> = (0..100)
        .map(|i| {
            let score = if i < 70 {
                9 + i % 2
            } else if i < 90 {
                7 + i % 2
            } else {
                i % 7
            };
            vec![
                s(&format!("N{i}")),
                s("N"),
                Cell::Null,
                ts("2026-10-10 12:00"),
                s("nps"),
                Cell::I(score),
            ]
        })
        .collect();
    write_table(dir, "surveys", &surveys);

    // 100 clients; X1..X3 churn in October 2026, nobody else in the year before.
    let mut clients = Vec::new();
    for id in ["R", "F", "S", "O", "E", "T", "N"] {
        clients.push(vec![
            s(id),
            s(&format!("Client {id}")),
            s("UTC"),
            s("24x7"),
            date("2025-01-01"),
            Cell::Null,
            Cell::F(1000.0),
        ]);
    }
    clients.push(vec![
        s("P"),
        s("Client P"),
        s("America/New_York"),
        Cell::Null,
        date("2025-01-01"),
        Cell::Null,
        Cell::F(1000.0),
    ]);
    for i in 1..=92 {
        let churned = if i <= 3 {
            date("2026-10-15")
        } else {
            Cell::Null
        };
        clients.push(vec![
            s(&format!("X{i}")),
            s(&format!("Filler {i}")),
            s("UTC"),
            Cell::Null,
            date("2025-01-01"),
            churned,
            Cell::F(1000.0),
        ]);
    }
    write_table(dir, "clients", &clients);

    let targets: Vec<Vec<Cell>> = ["P1", "P2", "P3", "P4"]
        .iter()
        .map(|p| {
            vec![
                Cell::Null,
                s(p),
                Cell::I(60),
                Cell::I(10_000),
                Cell::B(false),
            ]
        })
        .collect();
    write_table(dir, "sla_targets", &targets);
}

/// Every file below a folder.
pub fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Copies a folder tree.
pub fn copy_dir(from: &Path, to: &Path) {
    for entry in walk(from) {
        let target = to.join(entry.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&entry, &target).unwrap();
    }
}

/// Report options for every client, in Markdown and HTML, with the built-in queries
/// and templates.
pub fn report_options(data: &Path, out: &Path, period: &str) -> mspkpi::report::ReportOptions {
    mspkpi::report::ReportOptions {
        data: data.into(),
        as_of: None,
        period: mspkpi::period::Period::parse(period).unwrap(),
        clients: Vec::new(),
        formats: vec![
            mspkpi::report::OutputFormat::Markdown,
            mspkpi::report::OutputFormat::Html,
        ],
        queries: None,
        templates: None,
        out: out.to_path_buf(),
        engine: Default::default(),
        currency: Default::default(),
    }
}

/// Runs `command`, which must fail within `within`; returns what it printed (stdout,
/// then stderr).
pub fn fails_within(command: &mut std::process::Command, within: std::time::Duration) -> String {
    let started = std::time::Instant::now();
    let output = command.output().unwrap();
    let elapsed = started.elapsed();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !output.status.success(),
        "{command:?} succeeded:\n{printed}"
    );
    assert!(elapsed < within, "{command:?} took {elapsed:?}:\n{printed}");
    printed
}

/// The worked examples plus client W (UTC, wall clock, a 240-minute P2 resolution
/// target) with a status history in October 2026:
/// - W1 waits a day (Mon 10:00 - Tue 10:00) and is resolved Tue 12:00: 3 h unpaused,
///   met (27 h, breached, without the history); it waited 1,440 minutes;
/// - W2 is resolved in 2 h and reopened two days later, in October: not a first-contact
///   resolution, and October's one reopen;
/// - W3 is resolved in 1 h and reopened in November: October's FCR keeps it;
/// - W4 waits from 1 h in until after the period: pending in October (breached at an
///   October deadline without the history), met in November;
/// - W5 starts waiting 5 h in, after its 4 h had passed: breached at 13:00; it waited
///   1,140 minutes before its resolution.
///
/// October for W: resolution SLA 3 of 4 decided (75 %; 2 of 5 without the history),
/// FCR 2 of 4, reopen rate 1 of 4, time waiting (1440 + 0 + 0 + 1140) / 4 = 645 min.
pub fn status_history_examples(dir: &Path) {
    worked_examples(dir);
    let mut tickets: Vec<Vec<Cell>> = Vec::new();
    let mut history: Vec<Vec<Cell>> = Vec::new();
    let mut add = |id: &str,
                   created: &str,
                   response: &str,
                   resolved: &str,
                   closed: &str,
                   contacts: i32,
                   statuses: &[(&str, &str)]| {
        tickets.push(ticket(
            id,
            "W",
            "P2",
            utc(created),
            Some(utc(response)),
            Some(utc(resolved)),
            Some(utc(closed)),
            Some(contacts),
        ));
        for (status, at) in statuses {
            history.push(vec![s(id), s(status), ts(at)]);
        }
    };
    add(
        "W1",
        "2026-10-05 09:00",
        "2026-10-05 09:30",
        "2026-10-06 12:00",
        "2026-10-07 12:00",
        1,
        &[
            ("New", "2026-10-05 09:00"),
            ("In Progress", "2026-10-05 09:30"),
            ("Waiting on Customer", "2026-10-05 10:00"),
            // an exact duplicate counts once
            ("Waiting on Customer", "2026-10-05 10:00"),
            ("In Progress", "2026-10-06 10:00"),
            ("Resolved", "2026-10-06 12:00"),
            ("Closed", "2026-10-07 12:00"),
        ],
    );
    add(
        "W2",
        "2026-10-12 09:00",
        "2026-10-12 09:10",
        "2026-10-12 11:00",
        "2026-10-15 09:00",
        1,
        &[
            ("New", "2026-10-12 09:00"),
            ("In Progress", "2026-10-12 09:10"),
            ("Resolved", "2026-10-12 11:00"),
            ("Reopened", "2026-10-14 09:00"),
            ("Resolved", "2026-10-14 10:00"),
            ("Closed", "2026-10-15 09:00"),
        ],
    );
    add(
        "W3",
        "2026-10-26 09:00",
        "2026-10-26 09:10",
        "2026-10-26 10:00",
        "2026-10-27 09:00",
        1,
        &[
            ("New", "2026-10-26 09:00"),
            ("In Progress", "2026-10-26 09:10"),
            ("Resolved", "2026-10-26 10:00"),
            ("Closed", "2026-10-27 09:00"),
            ("Reopened", "2026-11-03 09:00"),
            ("Resolved", "2026-11-03 12:00"),
        ],
    );
    add(
        "W4",
        "2026-10-28 09:00",
        "2026-10-28 09:15",
        "2026-11-05 10:00",
        "2026-11-06 10:00",
        1,
        &[
            ("New", "2026-10-28 09:00"),
            ("In Progress", "2026-10-28 09:15"),
            ("Waiting on Customer", "2026-10-28 10:00"),
            ("In Progress", "2026-11-05 09:00"),
            ("Resolved", "2026-11-05 10:00"),
            ("Closed", "2026-11-06 10:00"),
        ],
    );
    add(
        "W5",
        "2026-10-19 09:00",
        "2026-10-19 09:20",
        "2026-10-20 10:00",
        "2026-10-21 10:00",
        2,
        &[
            ("New", "2026-10-19 09:00"),
            ("In Progress", "2026-10-19 09:20"),
            ("Waiting on Customer", "2026-10-19 14:00"),
            ("In Progress", "2026-10-20 09:00"),
            ("Resolved", "2026-10-20 10:00"),
            ("Closed", "2026-10-21 10:00"),
        ],
    );
    write_table_file(dir, "tickets", "part-w.parquet", &tickets);
    write_table(dir, "ticket_status", &history);
    // The generator's statuses, which the histories above use.
    let statuses: Vec<Vec<Cell>> = mspkpi::sample::generator::STATUSES
        .iter()
        .map(|(status, kind)| vec![s(status), s(kind)])
        .collect();
    write_table(dir, "statuses", &statuses);
    let client = vec![
        s("W"),
        s("Client W"),
        s("UTC"),
        s("24x7"),
        date("2025-01-01"),
        Cell::Null,
        Cell::F(1000.0),
    ];
    write_table_file(dir, "clients", "part-w.parquet", &[client]);
    let target = vec![s("W"), s("P2"), Cell::I(60), Cell::I(240), Cell::B(false)];
    write_table_file(dir, "sla_targets", "part-w.parquet", &[target]);
}
