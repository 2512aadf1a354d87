//! The saved queries: the design's worked examples on hand-made data, period
//! attribution edge cases, and agreement with an independent computation on
//! generated data.

use crate::common::*;
use mspkpi::results::{Cell, Row};

#[tokio::test]
async fn all_queries_run_on_generated_data() {
    let dir = tempfile::tempdir().unwrap();
    generated_with_history(dir.path(), 20, 20_000, 14);
    for period in ["2025-12", "2025-Q4"] {
        let results = saved_results(dir.path(), period).await;
        for r in &results {
            eprintln!(
                "{period} {}: {} rows, columns {:?}",
                r.query.name,
                r.table.len(),
                r.columns()
            );
            assert!(!r.table.is_empty(), "{} returned no rows", r.query.name);
        }
    }
}

fn result<'a>(results: &'a [mspkpi::run::QueryResult], name: &str) -> &'a mspkpi::run::QueryResult {
    results.iter().find(|r| r.query.name == name).unwrap()
}

/// The row of a client for a period (and priority, for SLA).
fn row<'a>(
    results: &'a [mspkpi::run::QueryResult],
    query: &str,
    client: &str,
    period: &str,
    priority: Option<&str>,
) -> Option<Row<'a>> {
    result(results, query)
        .client_rows(client)
        .into_iter()
        .find(|r| {
            r.key("period").as_deref() == Some(period)
                && priority.is_none_or(|p| r.text("priority") == Some(p))
        })
}

fn num(row: Option<Row>, column: &str) -> f64 {
    row.unwrap_or_else(|| panic!("no row for {column}"))
        .number(column)
        .unwrap_or_else(|| panic!("{column} is not a number"))
}

#[tokio::test]
async fn worked_examples_through_the_saved_queries() {
    let dir = tempfile::tempdir().unwrap();
    worked_examples(dir.path());
    let results = saved_results(dir.path(), "2026-10").await;
    let oct = "2026-10-01";

    let r = row(&results, "responsiveness", "R", oct, None);
    assert_eq!((num(r, "response_avg"), num(r, "response_n")), (20.0, 20.0));
    assert_eq!(num(row(&results, "fcr", "F", oct, None), "fcr"), 90.0);
    let sla = row(&results, "sla", "S", oct, Some("P3"));
    assert_eq!(
        (num(sla, "response_sla"), num(sla, "response_sla_n")),
        (95.0, 100.0)
    );
    assert_eq!(
        num(row(&results, "sla", "S", oct, Some("all")), "response_sla"),
        95.0
    );
    let n = row(&results, "satisfaction", "N", oct, None);
    assert_eq!(
        (
            num(n, "nps"),
            num(n, "promoters"),
            num(n, "passives"),
            num(n, "detractors")
        ),
        (60.0, 70.0, 20.0, 10.0)
    );
    assert_eq!(
        num(
            row(&results, "efficiency", "E", oct, None),
            "minutes_per_ticket"
        ),
        30.0
    );
    assert_eq!(
        num(row(&results, "efficiency", "E", oct, None), "efficiency_n"),
        10.0
    );
    let team = result(&results, "team").rows().find(|r| {
        r.text("technician_id") == Some("tech-9") && r.key("period").as_deref() == Some(oct)
    });
    assert_eq!(num(team, "minutes_per_ticket"), 20.0);
    let flow = row(&results, "flow", "O", oct, None);
    assert_eq!(
        (
            num(flow, "opened"),
            num(flow, "closed"),
            num(flow, "open_close_ratio"),
            num(flow, "open_close_difference"),
            num(flow, "backlog")
        ),
        (120.0, 100.0, 1.2, 20.0, 20.0)
    );
    let churn = result(&results, "churn")
        .rows()
        .find(|r| r.key("period").as_deref() == Some(oct));
    assert_eq!(
        (
            num(churn, "churn_rate"),
            num(churn, "active_at_start"),
            num(churn, "churned")
        ),
        (3.0, 100.0, 3.0)
    );
    // CLTV: average MRR 1000 / (3 % churn in one of 12 months = 0.25 % a month)
    assert_eq!(num(churn, "cltv"), 1000.0 / 0.0025);
    // With no churn in the 12 months before, CLTV is undefined (NULL), never infinity.
    let september = result(&results, "churn")
        .rows()
        .find(|r| r.key("period").as_deref() == Some("2026-09-01"))
        .unwrap();
    assert_eq!(september.cell("cltv"), Cell::Null, "{september:?}");
    assert_eq!(september.number("churn_rate"), Some(0.0));
}

#[tokio::test]
async fn rows_count_in_the_period_their_outcome_became_known() {
    let dir = tempfile::tempdir().unwrap();
    worked_examples(dir.path());
    let october = saved_results(dir.path(), "2026-10").await;
    let november = saved_results(dir.path(), "2026-11").await;
    // Created in October, resolved in November: November's resolution figures only.
    assert!(row(&october, "resolution", "P", "2026-10-01", None).is_none());
    assert_eq!(
        num(
            row(&november, "resolution", "P", "2026-11-01", None),
            "resolution_n"
        ),
        1.0
    );
    assert!(row(&november, "resolution", "P", "2026-10-01", None).is_none());
    // P1 responded in time in October; P2 breached at its October deadline though
    // answered in November: both decided in October, nothing in November.
    let sla = row(&october, "sla", "P", "2026-10-01", Some("P3"));
    assert_eq!(
        (num(sla, "response_sla"), num(sla, "response_sla_n")),
        (50.0, 2.0)
    );
    assert_eq!(
        num(
            row(&november, "sla", "P", "2026-10-01", Some("P3")),
            "response_sla_n"
        ),
        2.0
    );
    assert!(
        row(&november, "sla", "P", "2026-11-01", Some("P3"))
            .is_none_or(|r| r.int("response_sla_n") == Some(0))
    );
    // 23:30 on 31 October in New York is October: three tickets opened in October.
    assert_eq!(
        num(row(&october, "flow", "P", "2026-10-01", None), "opened"),
        3.0
    );
    // A client without a calendar is still counted (24x7).
    assert_eq!(
        num(
            row(&october, "responsiveness", "P", "2026-10-01", None),
            "response_avg"
        ),
        20.0
    );
    // A quarter holds its months.
    let q4 = saved_results(dir.path(), "2026-Q4").await;
    assert_eq!(
        num(row(&q4, "flow", "P", "2026-10-01", None), "opened"),
        3.0
    );
    assert_eq!(
        num(
            row(&q4, "resolution", "P", "2026-10-01", None),
            "resolution_n"
        ),
        1.0
    );
}

/// Plain Rust over the raw rows: (client, local month "YYYY-MM-01") -> value.
mod independent {
    use std::collections::{BTreeMap, HashMap};

    use arrow::array::{AsArray, RecordBatch};
    use arrow::datatypes::{DataType, Int32Type, TimestampMicrosecondType};
    use chrono::{Datelike, TimeZone};

    pub fn month(zone: &str, micros: i64) -> String {
        let zone: chrono_tz::Tz = zone.parse().unwrap();
        let local = zone.timestamp_micros(micros).unwrap();
        format!("{:04}-{:02}-01", local.year(), local.month())
    }

    pub fn texts(batch: &RecordBatch, column: &str) -> Vec<Option<String>> {
        let array =
            arrow::compute::cast(batch.column_by_name(column).unwrap(), &DataType::Utf8).unwrap();
        array
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    }

    pub fn times(batch: &RecordBatch, column: &str) -> Vec<Option<i64>> {
        batch
            .column_by_name(column)
            .unwrap()
            .as_primitive::<TimestampMicrosecondType>()
            .iter()
            .collect()
    }

    pub fn ints(batch: &RecordBatch, column: &str) -> Vec<Option<i32>> {
        batch
            .column_by_name(column)
            .unwrap()
            .as_primitive::<Int32Type>()
            .iter()
            .collect()
    }

    pub type Key = (String, String);

    #[derive(Default, Debug)]
    pub struct Sums {
        pub nps: BTreeMap<Key, (i64, i64)>,
        pub csat: BTreeMap<Key, (i64, i64)>,
        pub fcr: BTreeMap<Key, (i64, i64)>,
        pub opened: BTreeMap<Key, i64>,
        pub response_24x7: BTreeMap<Key, (f64, i64)>,
        pub p1_response_sla: BTreeMap<Key, (i64, i64)>,
    }

    pub fn compute(
        tickets: &[RecordBatch],
        surveys: &[RecordBatch],
        clients: &[RecordBatch],
    ) -> Sums {
        let mut zone: HashMap<String, String> = HashMap::new();
        let mut no_calendar: HashMap<String, bool> = HashMap::new();
        for b in clients {
            let (ids, zones, calendars) = (
                texts(b, "client_id"),
                texts(b, "timezone"),
                texts(b, "calendar"),
            );
            for i in 0..b.num_rows() {
                let id = ids[i].clone().unwrap();
                zone.insert(id.clone(), zones[i].clone().unwrap());
                no_calendar.insert(id, calendars[i].is_none());
            }
        }
        let mut sums = Sums::default();
        for b in surveys {
            let (client, kind, score, at) = (
                texts(b, "client_id"),
                texts(b, "kind"),
                ints(b, "score"),
                times(b, "submitted_at"),
            );
            for i in 0..b.num_rows() {
                let c = client[i].clone().unwrap();
                let key = (c.clone(), month(&zone[&c], at[i].unwrap()));
                let score = score[i].unwrap() as i64;
                if kind[i].as_deref() == Some("nps") {
                    let e = sums.nps.entry(key).or_default();
                    e.0 += (score >= 9) as i64 - (score <= 6) as i64;
                    e.1 += 1;
                } else {
                    let e = sums.csat.entry(key).or_default();
                    e.0 += (score >= 4) as i64;
                    e.1 += 1;
                }
            }
        }
        for b in tickets {
            let (client, priority, created, response, resolved, contacts) = (
                texts(b, "client_id"),
                texts(b, "priority"),
                times(b, "created_at"),
                times(b, "first_response_at"),
                times(b, "resolved_at"),
                ints(b, "contacts"),
            );
            for i in 0..b.num_rows() {
                let c = client[i].clone().unwrap();
                let z = &zone[&c];
                let created = created[i].unwrap();
                *sums
                    .opened
                    .entry((c.clone(), month(z, created)))
                    .or_default() += 1;
                if let (Some(resolved), Some(contacts)) = (resolved[i], contacts[i]) {
                    let e = sums.fcr.entry((c.clone(), month(z, resolved))).or_default();
                    e.0 += (contacts == 1) as i64;
                    e.1 += 1;
                }
                if let (Some(response), true) = (response[i], no_calendar[&c]) {
                    let e = sums
                        .response_24x7
                        .entry((c.clone(), month(z, response)))
                        .or_default();
                    e.0 += (response - created) as f64 / 60e6;
                    e.1 += 1;
                }
                // P1 targets are wall-clock (30 minutes by default; this data has no
                // client-specific P1 rows): met when answered by the deadline, decided
                // at the answer if met, else at the deadline.
                if priority[i].as_deref() == Some("P1") {
                    let deadline = created + 30 * 60_000_000;
                    let met = response[i].is_some_and(|r| r <= deadline);
                    let decided = if met { response[i].unwrap() } else { deadline };
                    let e = sums
                        .p1_response_sla
                        .entry((c.clone(), month(z, decided)))
                        .or_default();
                    e.0 += met as i64;
                    e.1 += 1;
                }
            }
        }
        sums
    }
}

#[tokio::test]
async fn saved_queries_equal_an_independent_computation_on_generated_data() {
    let dir = tempfile::tempdir().unwrap();
    generated(dir.path(), 25, 30_000, 14);
    let ctx = datafusion::prelude::SessionContext::new();
    let mut raw = std::collections::HashMap::new();
    for table in ["tickets", "surveys", "clients"] {
        let path = dir.path().join(table).join("part-0.parquet");
        let frame = ctx
            .read_parquet(path.to_str().unwrap(), Default::default())
            .await
            .unwrap();
        raw.insert(table, frame.collect().await.unwrap());
    }
    let sums = independent::compute(&raw["tickets"], &raw["surveys"], &raw["clients"]);
    let period = "2025-12";
    let results = saved_results(dir.path(), period).await;
    let window: Vec<String> = mspkpi::period::Period::parse(period)
        .unwrap()
        .trend()
        .iter()
        .map(|p| p.start.format("%Y-%m-%d").to_string())
        .collect();
    let in_window = |key: &independent::Key| window.contains(&key.1);
    let pct = |(n, d): (i64, i64)| 100.0 * n as f64 / d as f64;
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9 * b.abs().max(1.0);

    let mut checked = 0;
    for (key, &nd) in sums.nps.iter().filter(|(k, _)| in_window(k)) {
        let r = row(&results, "satisfaction", &key.0, &key.1, None);
        assert!(close(num(r, "nps"), pct(nd)), "nps {key:?}");
        assert_eq!(num(r, "nps_n") as i64, nd.1, "nps_n {key:?}");
        checked += 1;
    }
    for (key, &nd) in sums.csat.iter().filter(|(k, _)| in_window(k)) {
        assert!(
            close(
                num(row(&results, "satisfaction", &key.0, &key.1, None), "csat"),
                pct(nd)
            ),
            "csat {key:?}"
        );
        checked += 1;
    }
    for (key, &nd) in sums.fcr.iter().filter(|(k, _)| in_window(k)) {
        let r = row(&results, "fcr", &key.0, &key.1, None);
        assert!(close(num(r, "fcr"), pct(nd)), "fcr {key:?}");
        assert_eq!(num(r, "fcr_n") as i64, nd.1);
        checked += 1;
    }
    for (key, &opened) in sums.opened.iter().filter(|(k, _)| in_window(k)) {
        assert_eq!(
            num(row(&results, "flow", &key.0, &key.1, None), "opened") as i64,
            opened,
            "opened {key:?}"
        );
        checked += 1;
    }
    for (key, &(total, n)) in sums.response_24x7.iter().filter(|(k, _)| in_window(k)) {
        let r = row(&results, "responsiveness", &key.0, &key.1, None);
        assert!(
            close(num(r, "response_avg"), total / n as f64),
            "response {key:?}"
        );
        assert_eq!(num(r, "response_n") as i64, n);
        checked += 1;
    }
    for (key, &nd) in sums.p1_response_sla.iter().filter(|(k, _)| in_window(k)) {
        let r = row(&results, "sla", &key.0, &key.1, Some("P1"));
        assert!(
            close(num(r, "response_sla"), pct(nd)),
            "P1 response SLA {key:?}"
        );
        assert_eq!(num(r, "response_sla_n") as i64, nd.1);
        checked += 1;
    }
    assert!(checked > 500, "only {checked} values compared");
    // and nothing extra: every satisfaction row has an independent counterpart
    let satisfaction = result(&results, "satisfaction");
    for client in satisfaction.clients() {
        for r in satisfaction.client_rows(client) {
            let key = (client.to_string(), r.key("period").unwrap());
            assert!(
                sums.nps.contains_key(&key) || sums.csat.contains_key(&key),
                "{key:?}"
            );
        }
    }
}

#[tokio::test]
async fn pauses_and_reopens_through_the_saved_queries() {
    let dir = tempfile::tempdir().unwrap();
    status_history_examples(dir.path());
    let results = saved_results(dir.path(), "2026-10").await;
    let oct = "2026-10-01";
    // W1 met through its pause, W5 breached before its pause, W4 pending.
    let sla = row(&results, "sla", "W", oct, Some("all"));
    assert_eq!(
        (num(sla, "resolution_sla"), num(sla, "resolution_sla_n")),
        (75.0, 4.0)
    );
    assert_eq!(
        (num(sla, "response_sla"), num(sla, "response_sla_n")),
        (100.0, 5.0)
    );
    // W4's deadline moved to November (1 h before its pause, 3 h after): not in
    // October's trend window, which ends with October.
    let fcr = row(&results, "fcr", "W", oct, None);
    assert_eq!((num(fcr, "fcr"), num(fcr, "fcr_n")), (50.0, 4.0));
    let reopens = row(&results, "reopens", "W", oct, None);
    assert_eq!(
        (num(reopens, "reopen_rate"), num(reopens, "reopen_n")),
        (25.0, 4.0)
    );
    let waiting = row(&results, "waiting", "W", oct, None);
    assert_eq!(
        (num(waiting, "waiting_avg"), num(waiting, "waiting_n")),
        (645.0, 4.0)
    );
    // The clients without a status history keep their numbers, with no reopen rate.
    assert_eq!(num(row(&results, "fcr", "F", oct, None), "fcr"), 90.0);
    assert!(
        row(&results, "waiting", "F", oct, None).is_some_and(|r| r.number("waiting_avg").is_none()),
        "F has no status history: no waiting time, not 0"
    );

    // The same tickets without the status tables: the first version's numbers.
    std::fs::remove_dir_all(dir.path().join("ticket_status")).unwrap();
    std::fs::remove_dir_all(dir.path().join("statuses")).unwrap();
    let results = saved_results(dir.path(), "2026-10").await;
    let sla = row(&results, "sla", "W", oct, Some("all"));
    assert_eq!(
        (num(sla, "resolution_sla"), num(sla, "resolution_sla_n")),
        (40.0, 5.0)
    );
    assert_eq!(num(row(&results, "fcr", "W", oct, None), "fcr"), 75.0);
    assert!(row(&results, "reopens", "W", oct, None).is_none());
    assert!(
        row(&results, "waiting", "W", oct, None).is_some_and(|r| r.number("waiting_avg").is_none())
    );
}
