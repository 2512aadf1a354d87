//! SLA clocks that pause: the worked examples through SQL, the business-time
//! properties with pauses, and pause-aware compliance against a plain reference that
//! replays each history minute by minute.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};
use mspkpi_udfs::Calendar;
use mspkpi_udfs::pauses::{
    OPEN, normalize, paused_micros, unpaused_deadline, unpaused_exceeds, unpaused_micros,
};
use proptest::prelude::*;

const MINUTE: i64 = 60_000_000;

fn context(partitions: usize, batch_size: usize) -> SessionContext {
    let config = SessionConfig::new()
        .with_target_partitions(partitions)
        .with_batch_size(batch_size);
    let ctx = SessionContext::new_with_config(config);
    mspkpi_udfs::register_all(&mut *ctx.state_ref().write()).unwrap();
    ctx
}

async fn one(ctx: &SessionContext, sql: &str) -> String {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let batch = &batches[0];
    assert_eq!(batch.num_rows(), 1, "{sql}");
    arrow::util::display::array_value_to_string(batch.column(0), 0).unwrap()
}

/// One pause as SQL.
fn pause(start: &str, end: Option<&str>) -> String {
    let end = end.map_or("CAST(NULL AS TIMESTAMP)".to_string(), |e| {
        format!("TIMESTAMP '{e}'")
    });
    format!("named_struct('start', TIMESTAMP '{start}', 'end', {end})")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

#[test]
fn a_day_waiting_on_the_customer_turns_a_breach_into_a_met_sla() {
    runtime().block_on(async {
        let ctx = context(2, 8192);
        // Created Mon 09:00, waiting Mon 10:00 - Tue 10:00, resolved Tue 12:00; 240
        // wall-clock minutes allowed: 3 h unpaused (met), 27 h without the history.
        let pauses = format!("[{}]", pause("2026-11-16 10:00:00", Some("2026-11-17 10:00:00")));
        let created = "TIMESTAMP '2026-11-16 09:00:00'";
        let resolved = "TIMESTAMP '2026-11-17 12:00:00'";
        let met = format!("sla_met({created}, {resolved}, 240, {resolved}, '24x7', {pauses})");
        assert_eq!(one(&ctx, &format!("SELECT {met}")).await, "true");
        let plain = format!("sla_met({created}, {resolved}, 240, {resolved}, '24x7')");
        assert_eq!(one(&ctx, &format!("SELECT {plain}")).await, "false");
        let minutes = format!("business_minutes({created}, {resolved}, '24x7', {pauses})");
        assert_eq!(one(&ctx, &format!("SELECT {minutes}")).await, "180.0");
        let waited = format!("paused_minutes({created}, {resolved}, '24x7', {pauses})");
        assert_eq!(one(&ctx, &format!("SELECT {waited}")).await, "1440.0");
        // The deadline moves out by the day waited: Tue 10:00 + 3 h = Tue 13:00.
        let deadline = format!("business_deadline({created}, 240, '24x7', {pauses})");
        assert_eq!(one(&ctx, &format!("SELECT {deadline}")).await, "2026-11-17T13:00:00Z");
        let compliance = format!(
            "SELECT sla_compliance(c, r, 240, r, '24x7', p) FROM (VALUES ({created}, {resolved}, {pauses})) AS t(c, r, p)"
        );
        assert_eq!(one(&ctx, &compliance).await, "100.0");
        // NULL pauses are no pauses.
        let none = format!(
            "SELECT sla_compliance(c, r, 240, r, '24x7', CAST(NULL AS {})) FROM (VALUES ({created}, {resolved})) AS t(c, r)",
            "TIMESTAMP"
        );
        assert!(ctx.sql(&none).await.is_err(), "a pauses argument of the wrong type is refused");
        let none = format!(
            "SELECT sla_met({created}, {resolved}, 240, {resolved}, '24x7', NULL)"
        );
        assert_eq!(one(&ctx, &none).await, "false");
    });
}

#[test]
fn a_pause_over_a_weekend_and_the_end_of_daylight_saving() {
    runtime().block_on(async {
        let ctx = context(2, 8192);
        let calendar = "'Mon-Fri 09:00-17:00 America/New_York'";
        // Fri 2026-10-30 15:00 EDT (19:00Z); waiting Fri 16:00 EDT - Mon 2026-11-02
        // 11:00 EST (16:00Z), across the night clocks fall back; resolved Mon 13:00 EST.
        let pauses = format!(
            "[{}]",
            pause("2026-10-30 20:00:00", Some("2026-11-02 16:00:00"))
        );
        let created = "TIMESTAMP '2026-10-30 19:00:00'";
        let resolved = "TIMESTAMP '2026-11-02 18:00:00'";
        let sql = |expr: String| format!("SELECT {expr}");
        // Fri 15-16 and Mon 11-13: 180 business minutes; 360 without the pause.
        let minutes = format!("business_minutes({created}, {resolved}, {calendar}, {pauses})");
        assert_eq!(one(&ctx, &sql(minutes)).await, "180.0");
        let plain = format!("business_minutes({created}, {resolved}, {calendar})");
        assert_eq!(one(&ctx, &sql(plain)).await, "360.0");
        let waited = format!("paused_minutes({created}, {resolved}, {calendar}, {pauses})");
        assert_eq!(one(&ctx, &sql(waited)).await, "180.0");
        let met = format!("sla_met({created}, {resolved}, 240, {resolved}, {calendar}, {pauses})");
        assert_eq!(one(&ctx, &sql(met)).await, "true");
        // 60 minutes on Friday, the other 180 from Monday 11:00 EST: 14:00 EST.
        let deadline = format!("business_deadline({created}, 240, {calendar}, {pauses})");
        assert_eq!(one(&ctx, &sql(deadline)).await, "2026-11-02T19:00:00Z");
        let deadline = format!("business_deadline({created}, 240, {calendar})");
        assert_eq!(one(&ctx, &sql(deadline)).await, "2026-11-02T16:00:00Z");
    });
}

#[test]
fn a_pause_still_open_keeps_the_clock_pending_and_a_late_one_changes_nothing() {
    runtime().block_on(async {
        let ctx = context(2, 8192);
        let created = "TIMESTAMP '2026-11-16 09:00:00'";
        let as_of = "TIMESTAMP '2026-12-01 00:00:00'";
        // Waiting since 10:00 and still waiting at the end of the period: 60 minutes
        // counted, so pending, with no deadline yet.
        let open = format!("[{}]", pause("2026-11-16 10:00:00", None));
        let met = format!("SELECT sla_met({created}, NULL, 240, {as_of}, '24x7', {open})");
        assert_eq!(one(&ctx, &met).await, "");
        let deadline = format!("SELECT business_deadline({created}, 240, '24x7', {open})");
        assert_eq!(one(&ctx, &deadline).await, "");
        let compliance = format!(
            "SELECT sla_compliance(c, CAST(NULL AS TIMESTAMP), 240, {as_of}, '24x7', p) FROM (VALUES ({created}, {open})) AS t(c, p)"
        );
        assert_eq!(one(&ctx, &compliance).await, "", "nothing decided: NULL");
        // A pause that starts after the target was exceeded (14:00, five hours in):
        // breached, at the unchanged deadline 13:00.
        let late = format!("[{}]", pause("2026-11-16 14:00:00", Some("2026-11-17 09:00:00")));
        let resolved = "TIMESTAMP '2026-11-17 10:00:00'";
        let met = format!("SELECT sla_met({created}, {resolved}, 240, {resolved}, '24x7', {late})");
        assert_eq!(one(&ctx, &met).await, "false");
        let deadline = format!("SELECT business_deadline({created}, 240, '24x7', {late})");
        assert_eq!(one(&ctx, &deadline).await, "2026-11-16T13:00:00Z");
    });
}

#[test]
fn status_rows_become_pauses_resolutions_and_reopens() {
    runtime().block_on(async {
        for (partitions, batch_size) in [(1, 8192), (4, 2)] {
            let ctx = context(partitions, batch_size);
            let rows = [
                ("T1", "2026-11-16 09:00:00", "New", "open"),
                ("T1", "2026-11-16 10:00:00", "Waiting", "paused"),
                // an exact duplicate counts once
                ("T1", "2026-11-16 10:00:00", "Waiting", "paused"),
                // two waiting statuses in a row make one pause
                ("T1", "2026-11-16 12:00:00", "Waiting on vendor", "paused"),
                ("T1", "2026-11-17 10:00:00", "In Progress", "open"),
                ("T1", "2026-11-17 12:00:00", "Resolved", "resolved"),
                ("T1", "2026-11-18 08:00:00", "In Progress", "open"),
                ("T1", "2026-11-19 08:00:00", "Closed", "closed"),
                // a tie: the last in (changed_at, status) order holds, 'Waiting'
                ("T2", "2026-11-16 09:00:00", "In Progress", "open"),
                ("T2", "2026-11-16 09:00:00", "Waiting", "paused"),
                ("T3", "2026-11-16 09:00:00", "New", "open"),
                ("T3", "2026-11-16 11:00:00", "Closed", "closed"),
                ("T3", "2026-11-16 12:00:00", "Closed", "closed"),
            ];
            let values: Vec<String> = rows
                .iter()
                .map(|(t, at, s, k)| format!("('{t}', TIMESTAMP '{at}', '{s}', '{k}')"))
                .collect();
            ctx.sql(&format!(
                "CREATE VIEW h AS SELECT * FROM (VALUES {}) AS t(ticket_id, changed_at, status, kind)",
                values.join(", ")
            ))
            .await
            .unwrap();
            let sql = |expr: &str, ticket: &str| {
                format!("SELECT {expr}(changed_at, status, kind) FROM h WHERE ticket_id = '{ticket}'")
            };
            assert_eq!(
                one(&ctx, &sql("sla_pauses", "T1")).await,
                "[{start: 2026-11-16T10:00:00Z, end: 2026-11-17T10:00:00Z}]"
            );
            assert_eq!(one(&ctx, &sql("first_resolved_at", "T1")).await, "2026-11-17T12:00:00Z");
            assert_eq!(one(&ctx, &sql("first_reopened_at", "T1")).await, "2026-11-18T08:00:00Z");
            assert_eq!(
                one(&ctx, &sql("sla_pauses", "T2")).await,
                "[{start: 2026-11-16T09:00:00Z, end: }]"
            );
            assert_eq!(one(&ctx, &sql("first_reopened_at", "T3")).await, "");
            assert_eq!(one(&ctx, &sql("sla_pauses", "T3")).await, "[]");
            assert_eq!(one(&ctx, &sql("sla_pauses", "none")).await, "");
            // status_summary: all three at once; NULL pauses for a ticket that never
            // paused, and a NULL struct for no rows
            assert_eq!(
                one(&ctx, &sql("status_summary", "T1")).await,
                "{pauses: [{start: 2026-11-16T10:00:00Z, end: 2026-11-17T10:00:00Z}], first_resolved_at: 2026-11-17T12:00:00Z, first_reopened_at: 2026-11-18T08:00:00Z}"
            );
            assert_eq!(
                one(&ctx, &sql("status_summary", "T3")).await,
                "{pauses: , first_resolved_at: 2026-11-16T11:00:00Z, first_reopened_at: }"
            );
            assert_eq!(one(&ctx, &sql("status_summary", "none")).await, "");
            // FILTER, and a window frame that slides (retraction).
            let filtered = "SELECT sla_pauses(changed_at, status, kind) FILTER (WHERE status <> 'Waiting on vendor') FROM h WHERE ticket_id = 'T1'";
            assert_eq!(
                one(&ctx, filtered).await,
                "[{start: 2026-11-16T10:00:00Z, end: 2026-11-17T10:00:00Z}]"
            );
            let window = "SELECT first_resolved_at(changed_at, status, kind) OVER (ORDER BY changed_at, status ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS r FROM h WHERE ticket_id = 'T3' ORDER BY changed_at DESC LIMIT 1";
            assert_eq!(one(&ctx, window).await, "2026-11-16T11:00:00Z");
            let unknown = "SELECT sla_pauses(changed_at, status, 'waiting') FROM h";
            let error = ctx.sql(unknown).await.unwrap().collect().await.unwrap_err();
            assert!(error.to_string().contains("unknown status kind 'waiting'"), "{error}");
            // fcr_rate leaves reopened tickets out of the first-contact share.
            let fcr = "SELECT fcr_rate(c, r) FROM (VALUES (1, true), (1, false), (1, NULL), (2, true)) AS t(c, r)";
            assert_eq!(one(&ctx, fcr).await, "50.0");
        }
    });
}

const SPECS: [&str; 4] = [
    "Mon-Fri 08:00-18:00 America/New_York holidays 2026-11-26",
    "Mon-Thu 08:00-12:00,13:00-17:00; Fri 08:00-15:00 Europe/Berlin",
    "Sat-Sun 01:30-03:30 America/Chicago",
    "24x7",
];
/// 2026-09-01 .. 2027-01-01 in microseconds.
const FROM: i64 = 1_788_220_800_000_000;
const UNTIL: i64 = 1_798_761_600_000_000;

/// Sorted, merged pauses from random points; the last may be open.
fn pauses_from(mut points: Vec<i64>, open_last: bool) -> Vec<(i64, i64)> {
    points.sort_unstable();
    let mut pauses: Vec<(i64, i64)> = points
        .chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| (c[0], c[1]))
        .collect();
    if open_last && let Some(last) = pauses.last_mut() {
        last.1 = OPEN;
    }
    normalize(&mut pauses);
    pauses.retain(|(s, e)| s < e);
    pauses
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, .. ProptestConfig::default() })]

    #[test]
    fn paused_business_time_is_additive_and_splits_the_whole(
        spec in 0..SPECS.len(),
        mut points in proptest::collection::vec(FROM..UNTIL, 3),
        pause_points in proptest::collection::vec(FROM..UNTIL, 0..8),
        open in any::<bool>(),
    ) {
        let calendar = Calendar::parse(SPECS[spec]).unwrap();
        let pauses = pauses_from(pause_points, open);
        points.sort_unstable();
        let [a, b, c] = [points[0], points[1], points[2]];
        let cal = Some(&calendar);
        prop_assert_eq!(
            unpaused_micros(cal, a, b, &pauses) + unpaused_micros(cal, b, c, &pauses),
            unpaused_micros(cal, a, c, &pauses)
        );
        prop_assert_eq!(
            unpaused_micros(cal, a, c, &pauses) + paused_micros(cal, a, c, &pauses),
            calendar.business_micros(a, c)
        );
        prop_assert_eq!(unpaused_micros(cal, c, a, &pauses), -unpaused_micros(cal, a, c, &pauses));
        let total = unpaused_micros(cal, a, c, &pauses);
        for limit in [0, total - 1, total, total + 1] {
            prop_assert_eq!(unpaused_exceeds(cal, a, c, limit, &pauses), total > limit);
        }
    }

    #[test]
    fn the_paused_deadline_is_the_first_instant_the_target_is_reached(
        spec in 0..SPECS.len(),
        start in FROM..UNTIL,
        target_minutes in 0i64..20_000,
        pause_points in proptest::collection::vec(FROM..UNTIL, 0..8),
        open in any::<bool>(),
    ) {
        let calendar = Calendar::parse(SPECS[spec]).unwrap();
        let pauses = pauses_from(pause_points, open);
        let cal = Some(&calendar);
        let target = target_minutes * MINUTE;
        match unpaused_deadline(cal, start, target, &pauses).unwrap() {
            Some(deadline) => {
                prop_assert_eq!(unpaused_micros(cal, start, deadline, &pauses), target);
                if target > 0 {
                    prop_assert!(unpaused_micros(cal, start, deadline - 1, &pauses) < target);
                }
                prop_assert_eq!(
                    sla(cal, start, deadline, target, &pauses),
                    true,
                    "done at the deadline is met"
                );
            }
            None => {
                // A pause without end comes before the target is reached.
                let (open_start, _) = *pauses.last().unwrap();
                prop_assert_eq!(pauses.last().unwrap().1, OPEN);
                prop_assert!(unpaused_micros(cal, start, open_start.max(start), &pauses) < target);
                prop_assert!(!unpaused_exceeds(cal, start, i64::MAX / 4, target, &pauses));
            }
        }
    }
}

fn sla(
    cal: Option<&Calendar>,
    created: i64,
    done: i64,
    target: i64,
    pauses: &[(i64, i64)],
) -> bool {
    !unpaused_exceeds(cal, created, done, target, pauses)
}

/// One random ticket: created minute, done minute (maybe none), target, and status
/// rows `(minute, status index)`.
#[derive(Debug, Clone)]
struct Ticket {
    group: i64,
    created: i64,
    done: Option<i64>,
    target: i64,
    rows: Vec<(i64, usize)>,
}

/// Statuses and their kinds; two paused and two open ones, so ties between kinds occur.
const STATUSES: [(&str, &str); 5] = [
    ("A open", "open"),
    ("B waiting", "paused"),
    ("C vendor", "paused"),
    ("D working", "open"),
    ("E resolved", "resolved"),
];

fn ticket_strategy() -> impl Strategy<Value = Ticket> {
    (
        0i64..4,
        0i64..200,
        proptest::option::weighted(0.7, 0i64..400),
        0i64..150,
        proptest::collection::vec((0i64..400, 0..STATUSES.len()), 0..8),
    )
        .prop_map(|(group, created, done, target, mut rows)| {
            // duplicates: repeat some rows exactly
            if let Some(&row) = rows.first() {
                rows.push(row);
            }
            Ticket {
                group,
                created,
                done: done.map(|d| created + d),
                target,
                rows,
            }
        })
}

const AS_OF: i64 = 450;

/// The reference: replay each minute, paused when the last status row at or before
/// it (ties: the greatest status name) is of kind paused.
fn reference(tickets: &[Ticket]) -> BTreeMap<i64, (i64, i64)> {
    let mut sums: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for ticket in tickets {
        let paused_at = |minute: i64| {
            ticket
                .rows
                .iter()
                .filter(|(at, _)| *at <= minute)
                .max_by_key(|(at, s)| (*at, STATUSES[*s].0))
                .is_some_and(|(_, s)| STATUSES[*s].1 == "paused")
        };
        let counted =
            |until: i64| (ticket.created..until).filter(|&m| !paused_at(m)).count() as i64;
        let state = match ticket.done.filter(|&d| d <= AS_OF) {
            Some(done) => Some(counted(done) <= ticket.target),
            None if counted(AS_OF) > ticket.target => Some(false),
            None => None,
        };
        let sum = sums.entry(ticket.group).or_default();
        if let Some(met) = state {
            sum.0 += met as i64;
            sum.1 += 1;
        }
    }
    sums
}

fn tables(tickets: &[Ticket], partitions: usize) -> (MemTable, MemTable) {
    let utc = || DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let minutes = |m: i64| m * MINUTE;
    let ticket_schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("grp", DataType::Int64, false),
        Field::new("created", utc(), false),
        Field::new("done", utc(), true),
        Field::new("target", DataType::Int64, false),
    ]));
    let status_schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("changed_at", utc(), false),
        Field::new("status", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
    ]));
    let mut ticket_parts = vec![Vec::new(); partitions];
    let mut status_parts = vec![Vec::new(); partitions];
    for (i, ticket) in tickets.iter().enumerate() {
        let ts = |v: Vec<Option<i64>>| -> ArrayRef {
            Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC"))
        };
        ticket_parts[i % partitions].push(
            RecordBatch::try_new(
                ticket_schema.clone(),
                vec![
                    Arc::new(Int64Array::from(vec![i as i64])),
                    Arc::new(Int64Array::from(vec![ticket.group])),
                    ts(vec![Some(minutes(ticket.created))]),
                    ts(vec![ticket.done.map(minutes)]),
                    Arc::new(Int64Array::from(vec![ticket.target])),
                ],
            )
            .unwrap(),
        );
        // each status row in a partition of its own choosing
        for (j, &(at, s)) in ticket.rows.iter().enumerate() {
            status_parts[(i + j) % partitions].push(
                RecordBatch::try_new(
                    status_schema.clone(),
                    vec![
                        Arc::new(Int64Array::from(vec![i as i64])),
                        ts(vec![Some(minutes(at))]),
                        Arc::new(StringArray::from(vec![STATUSES[s].0])),
                        Arc::new(StringArray::from(vec![STATUSES[s].1])),
                    ],
                )
                .unwrap(),
            );
        }
    }
    (
        MemTable::try_new(ticket_schema, ticket_parts).unwrap(),
        MemTable::try_new(status_schema, status_parts).unwrap(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, .. ProptestConfig::default() })]

    #[test]
    fn pause_aware_compliance_matches_a_minute_by_minute_replay(
        tickets in proptest::collection::vec(ticket_strategy(), 0..40),
        partitions in 1usize..4,
        summary in any::<bool>(),
    ) {
        let expected = reference(&tickets);
        let actual = runtime().block_on(async {
            let ctx = context(partitions, 3);
            let (ticket_table, status_table) = tables(&tickets, partitions);
            ctx.register_table("tickets", Arc::new(ticket_table)).unwrap();
            ctx.register_table("ticket_status", Arc::new(status_table)).unwrap();
            // status_summary's pauses are NULL where sla_pauses' are empty: the same
            // clocks either way
            let pauses = if summary {
                "status_summary(changed_at, status, kind)['pauses']"
            } else {
                "sla_pauses(changed_at, status, kind)"
            };
            let sql = format!(
                "WITH p AS (SELECT id, {pauses} AS pauses FROM ticket_status GROUP BY id) \
                 SELECT grp, sla_compliance(created, done, target, TIMESTAMP '1970-01-01 00:00:00' + INTERVAL '{AS_OF} minutes', '24x7', pauses) AS c, \
                        count(sla_met(created, done, target, TIMESTAMP '1970-01-01 00:00:00' + INTERVAL '{AS_OF} minutes', '24x7', pauses)) AS n \
                 FROM tickets t LEFT JOIN p ON p.id = t.id GROUP BY grp ORDER BY grp"
            );
            let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
            let mut actual = BTreeMap::new();
            for batch in batches {
                let groups = batch.column(0).as_primitive::<arrow::datatypes::Int64Type>();
                let compliance = batch.column(1).as_primitive::<arrow::datatypes::Float64Type>();
                let n = batch.column(2).as_primitive::<arrow::datatypes::Int64Type>();
                for row in 0..batch.num_rows() {
                    actual.insert(groups.value(row), (compliance.is_valid(row).then(|| compliance.value(row)), n.value(row)));
                }
            }
            actual
        });
        for (group, (met, decided)) in &expected {
            let (compliance, n) = actual[group];
            prop_assert_eq!(n, *decided, "group {}", group);
            let want = (*decided > 0).then(|| 100.0 * *met as f64 / *decided as f64);
            match (compliance, want) {
                (Some(a), Some(b)) => prop_assert!((a - b).abs() < 1e-9, "group {}: {} vs {}", group, a, b),
                (a, b) => prop_assert_eq!(a, b, "group {}", group),
            }
        }
    }
}

#[test]
fn paused_minutes_read_the_calendar_only_of_rows_that_paused() {
    runtime().block_on(async {
        let ctx = context(1, 8192);
        let paused = format!("[{}]", pause("2026-11-16 10:00:00", Some("2026-11-17 10:00:00")));
        let rows = |bad_calendar_pauses: &str| {
            format!(
                "SELECT paused_minutes(s, e, c, p) AS m FROM (VALUES \
                 (TIMESTAMP '2026-11-16 09:00:00', TIMESTAMP '2026-11-17 12:00:00', '24x7', {paused}), \
                 (TIMESTAMP '2026-11-16 09:00:00', TIMESTAMP '2026-11-17 12:00:00', 'Mon-Fri 08:00-18:00 UTC', NULL), \
                 (TIMESTAMP '2026-11-16 09:00:00', TIMESTAMP '2026-11-17 12:00:00', NULL, NULL), \
                 (TIMESTAMP '2026-11-16 09:00:00', TIMESTAMP '2026-11-17 12:00:00', 'not a calendar', {bad_calendar_pauses})) t(s, e, c, p)"
            )
        };
        let batches = ctx.sql(&rows("NULL")).await.unwrap().collect().await.unwrap();
        let values: Vec<String> = batches
            .iter()
            .flat_map(|b| {
                (0..b.num_rows())
                    .map(|i| arrow::util::display::array_value_to_string(b.column(0), i).unwrap())
            })
            .collect();
        // 24 h paused; a row without pauses is 0 whatever its calendar; NULL calendar,
        // NULL minutes.
        assert_eq!(values, ["1440.0", "0.0", "", "0.0"]);
        // A calendar that a row with pauses needs is read, and a bad one is an error.
        let error = ctx
            .sql(&rows(&paused))
            .await
            .unwrap()
            .collect()
            .await
            .err()
            .unwrap();
        assert!(error.to_string().contains("not a calendar"), "{error}");
    });
}
