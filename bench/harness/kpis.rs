//! In-process benchmark of the KPI aggregates against their fastest DataFusion
//! built-in formulation and against the cheapest query that reads the same columns
//! with the same GROUP BY, on an in-memory table; and of `business_minutes` and
//! `local_month` on generated tickets. Interleaved rounds, median of at least 7.
//!
//! cargo run --release -p mspkpi-bench -- [--rows N] [--rounds N] [--threads N] [--data DIR]
//!     [--only TEXT]
//! (bench/run.sh runs it and writes bench/RESULTS.md)

use std::sync::Arc;
use std::time::Instant;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int8Array, Int32Array, RecordBatch,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use mspkpi::session::{self, EngineOptions};

struct Args {
    rows: usize,
    rounds: usize,
    threads: usize,
    data: Option<String>,
    /// Only the cases whose name contains this text.
    only: Option<String>,
}

fn args() -> Args {
    let mut args = Args {
        rows: 20_000_000,
        rounds: 7,
        threads: 2,
        data: None,
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--rows" => args.rows = it.next().and_then(|v| v.parse().ok()).unwrap_or(args.rows),
            "--rounds" => {
                args.rounds = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(args.rounds)
                    .max(7)
            }
            "--threads" => {
                args.threads = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(args.threads)
            }
            "--data" => args.data = it.next(),
            "--only" => args.only = it.next(),
            _ => {}
        }
    }
    args
}

/// A deterministic pseudo-random stream (the values only need to look like KPI inputs).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

const MINUTE: i64 = 60_000_000;
const START: i64 = 1_767_225_600_000_000; // 2026-01-01

fn synthetic(rows: usize, partitions: usize) -> MemTable {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let schema = Arc::new(Schema::new(vec![
        Field::new("g1k", DataType::Int32, false),
        Field::new("g100k", DataType::Int32, false),
        Field::new("score", DataType::Int8, true),
        Field::new("csat", DataType::Int8, true),
        Field::new("contacts", DataType::Int32, true),
        Field::new("met", DataType::Boolean, true),
        Field::new("created", ts.clone(), false),
        Field::new("done", ts, true),
        Field::new("target", DataType::Int32, false),
        Field::new("onboarded", DataType::Date32, false),
        Field::new("churned", DataType::Date32, true),
        Field::new("mrr", DataType::Float64, false),
    ]));
    let batch_rows = 8192;
    let mut rng = Lcg(42);
    let mut parts: Vec<Vec<RecordBatch>> = vec![Vec::new(); partitions];
    let mut made = 0;
    let mut p = 0;
    while made < rows {
        let n = batch_rows.min(rows - made);
        let mut v = || rng.next();
        let g: Vec<u64> = (0..n).map(|_| v()).collect();
        let r: Vec<u64> = (0..n).map(|_| v()).collect();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int32Array::from_iter_values(
                g.iter().map(|x| (x % 1000) as i32),
            )),
            Arc::new(Int32Array::from_iter_values(
                g.iter().map(|x| (x % 100_000) as i32),
            )),
            Arc::new(Int8Array::from_iter(
                r.iter().map(|x| (x % 20 != 0).then_some((x % 11) as i8)),
            )),
            Arc::new(Int8Array::from_iter(
                r.iter().map(|x| (x % 20 != 0).then_some((x % 5 + 1) as i8)),
            )),
            Arc::new(Int32Array::from_iter(
                r.iter()
                    .map(|x| (x % 10 != 0).then_some(((x >> 4) % 4 + 1) as i32)),
            )),
            Arc::new(BooleanArray::from_iter(
                r.iter()
                    .map(|x| (x % 10 != 0).then_some((x >> 3) % 10 != 0)),
            )),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(
                    r.iter().map(|x| START + (x % 500_000) as i64 * MINUTE),
                )
                .with_timezone("UTC"),
            ),
            Arc::new(
                TimestampMicrosecondArray::from_iter(r.iter().map(|x| {
                    (x % 7 != 0).then_some(START + ((x % 500_000) + (x >> 8) % 600) as i64 * MINUTE)
                }))
                .with_timezone("UTC"),
            ),
            Arc::new(Int32Array::from_iter_values(
                r.iter().map(|x| ((x >> 5) % 4 * 120 + 60) as i32),
            )),
            Arc::new(Date32Array::from_iter_values(
                r.iter().map(|x| 19_000 + (x % 2_000) as i32),
            )),
            Arc::new(Date32Array::from_iter(r.iter().map(|x| {
                (x % 5 == 0).then_some(20_000 + ((x >> 6) % 1_000) as i32)
            }))),
            Arc::new(Float64Array::from_iter_values(
                r.iter().map(|x| ((x >> 7) % 100_000) as f64 / 100.0),
            )),
        ];
        parts[p % partitions].push(RecordBatch::try_new(schema.clone(), columns).expect("batch"));
        p += 1;
        made += n;
    }
    MemTable::try_new(schema, parts).expect("table")
}

async fn time(ctx: &SessionContext, sql: &str) -> f64 {
    let start = Instant::now();
    let frame = ctx.sql(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    let batches = frame
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    std::hint::black_box(batches);
    start.elapsed().as_secs_f64()
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

fn stats(times: &mut [f64]) -> (f64, f64, f64) {
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[0], times[times.len() - 1])
}

struct Case {
    name: String,
    mine: String,
    builtins: Vec<String>,
    floor: String,
}

/// Runs cases in interleaved rounds and prints a Markdown table.
async fn run(ctx: &SessionContext, cases: &[Case], rounds: usize, header: &str) {
    println!("{header}\n");
    println!(
        "| case | mspkpi median (min-max) s | fastest built-in median s | floor median s | × built-in: of medians / paired | × floor: of medians / paired | floor ÷ built-in, paired |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for case in cases {
        // Every query of a round, mine first; the order rotates from round to round so
        // that no query always follows the same one (caches, allocator state).
        let queries: Vec<&str> = std::iter::once(case.mine.as_str())
            .chain(case.builtins.iter().map(String::as_str))
            .chain((!case.floor.is_empty()).then_some(case.floor.as_str()))
            .collect();
        for sql in &queries {
            time(ctx, sql).await;
        }
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); queries.len()];
        for round in 0..rounds {
            for offset in 0..queries.len() {
                let query = (round + offset) % queries.len();
                times[query].push(time(ctx, queries[query]).await);
            }
        }
        let mut mine = times.remove(0);
        let floor = match case.floor.is_empty() {
            true => Vec::new(),
            false => times.pop().unwrap_or_default(),
        };
        let builtins = times;
        // Paired ratios: each round's queries ran back to back, so the median of the
        // per-round ratios is robust to the machine's speed drifting between rounds.
        let fastest = (0..builtins.len())
            .min_by(|&a, &b| median(&builtins[a]).total_cmp(&median(&builtins[b])));
        let ratios = |numerators: &[f64], denominators: &[f64]| -> Vec<f64> {
            numerators
                .iter()
                .zip(denominators)
                .map(|(n, d)| n / d)
                .collect()
        };
        let paired = |other: &[f64]| ratios(&mine, other);
        // What the cheapest query reading the same columns leaves for any
        // implementation: no aggregate that reads them can be much faster than it.
        let floor_of_builtin = fastest
            .filter(|_| !floor.is_empty())
            .map(|i| median(&ratios(&floor, &builtins[i])));
        let builtin_ratio = fastest.map(|i| (median(&builtins[i]), median(&paired(&builtins[i]))));
        let floor_ratio = (!floor.is_empty()).then(|| (median(&floor), median(&paired(&floor))));
        let (m, lo, hi) = stats(&mut mine);
        let show = |value: Option<f64>, digits: usize| {
            value.map_or("–".to_string(), |v| format!("{v:.digits$}"))
        };
        println!(
            "| {} | {m:.3} ({lo:.3}-{hi:.3}) | {} | {} | {} / {} | {} / {} | {} |",
            case.name,
            show(builtin_ratio.map(|r| r.0), 3),
            show(floor_ratio.map(|r| r.0), 3),
            show(builtin_ratio.map(|r| m / r.0), 2),
            show(builtin_ratio.map(|r| r.1), 2),
            show(floor_ratio.map(|r| m / r.0), 2),
            show(floor_ratio.map(|r| r.1), 2),
            show(floor_of_builtin, 2),
        );
    }
    println!();
}

/// The wall-clock SLA as built-ins: microsecond arithmetic on the instants.
const SLA_BUILTIN: &str = "100.0 * count(*) FILTER (WHERE arrow_cast(done, 'Int64') <= 1798761600000000 AND arrow_cast(done, 'Int64') - arrow_cast(created, 'Int64') <= CAST(target AS BIGINT) * 60000000) / nullif(count(*) FILTER (WHERE arrow_cast(done, 'Int64') <= 1798761600000000 OR 1798761600000000 - arrow_cast(created, 'Int64') > CAST(target AS BIGINT) * 60000000), 0)";

fn aggregate_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for key in ["g1k", "g100k"] {
        let q = |select: &str| format!("SELECT {key}, {select} FROM t GROUP BY {key}");
        let case = |name: &str, mine: &str, builtins: &[&str], floor: &str| Case {
            name: format!("{name} by {key}"),
            mine: q(mine),
            builtins: builtins.iter().map(|b| q(b)).collect(),
            floor: q(floor),
        };
        cases.push(case("nps(score)", "nps(score)", &[
            "100.0 * (count(*) FILTER (WHERE score >= 9) - count(*) FILTER (WHERE score <= 6)) / count(score)",
            "100.0 * sum(CASE WHEN score >= 9 THEN 1 WHEN score <= 6 THEN -1 ELSE 0 END) / count(score)",
        ], "count(score)"));
        cases.push(case(
            "csat(score)",
            "csat(csat)",
            &[
                "100.0 * count(*) FILTER (WHERE csat >= 4) / count(csat)",
                "100.0 * sum(CASE WHEN csat >= 4 THEN 1 ELSE 0 END) / count(csat)",
            ],
            "count(csat)",
        ));
        cases.push(case(
            "fcr_rate(contacts)",
            "fcr_rate(contacts)",
            &[
                "100.0 * count(*) FILTER (WHERE contacts = 1) / count(contacts)",
                "100.0 * avg(CAST(contacts = 1 AS INT))",
            ],
            "count(contacts)",
        ));
        cases.push(case(
            "sla_compliance(met)",
            "sla_compliance(met)",
            &[
                "100.0 * count(*) FILTER (WHERE met) / count(met)",
                "100.0 * avg(CAST(met AS INT))",
            ],
            "count(met)",
        ));
        // Not a KPI: the grouping alone, as a lower bound for every aggregate by this
        // key; its "× built-in" is the least any csat implementation could reach.
        cases.push(case(
            "GROUP BY alone, against csat's built-in and floor",
            "1",
            &["100.0 * count(*) FILTER (WHERE csat >= 4) / count(csat)"],
            "count(csat)",
        ));
        cases.push(case(
            "sla_compliance(created, done, target, as_of)",
            "sla_compliance(created, done, target, TIMESTAMP '2027-01-01T00:00:00Z')",
            &[SLA_BUILTIN],
            "count(created) + count(done) + count(target)",
        ));
        cases.push(case(
            "sla_compliance(..., '24x7')",
            "sla_compliance(created, done, target, TIMESTAMP '2027-01-01T00:00:00Z', '24x7')",
            &[SLA_BUILTIN],
            "count(created) + count(done) + count(target)",
        ));
        cases.push(case("churn_rate", "churn_rate(onboarded, churned, DATE '2025-01-01', DATE '2025-02-01')", &[
            "100.0 * count(*) FILTER (WHERE onboarded < DATE '2025-01-01' AND churned >= DATE '2025-01-01' AND churned < DATE '2025-02-01') / nullif(count(*) FILTER (WHERE onboarded < DATE '2025-01-01' AND (churned IS NULL OR churned >= DATE '2025-01-01')), 0)",
        ], "count(onboarded) + count(churned)"));
        cases.push(case("revenue_churn_rate", "revenue_churn_rate(onboarded, churned, mrr, DATE '2025-01-01', DATE '2025-02-01')", &[
            "100.0 * sum(mrr) FILTER (WHERE onboarded < DATE '2025-01-01' AND churned >= DATE '2025-01-01' AND churned < DATE '2025-02-01') / nullif(sum(mrr) FILTER (WHERE onboarded < DATE '2025-01-01' AND (churned IS NULL OR churned >= DATE '2025-01-01')), 0)",
        ], "count(onboarded) + count(churned) + count(mrr)"));
    }
    cases
}

/// The allocator datafusion-cli uses: it keeps freed memory for the next query instead
/// of returning it to the kernel, so repeated queries measure the query, not page faults.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let args = args();
    let engine = EngineOptions {
        threads: Some(args.threads),
        ..Default::default()
    };
    let ctx = session::context(&engine).expect("session");
    eprintln!("building {} in-memory rows ...", args.rows);
    ctx.register_table("t", Arc::new(synthetic(args.rows, args.threads)))
        .expect("register");
    let cases: Vec<Case> = aggregate_cases()
        .into_iter()
        .filter(|c| {
            args.only
                .as_ref()
                .is_none_or(|only| c.name.contains(only.as_str()))
        })
        .collect();
    run(
        &ctx,
        &cases,
        args.rounds,
        &format!(
            "### KPI aggregates, {} rows in memory, {} threads",
            args.rows, args.threads
        ),
    )
    .await;

    if let Some(data) = &args.data {
        let (files, _) = session::open(&std::path::Path::new(data).into(), None, &engine)
            .await
            .expect("data");
        let ctx = session::context(&engine).expect("session");
        for table in ["tickets", "clients"] {
            let batches = files
                .table(table)
                .await
                .expect("table")
                .collect()
                .await
                .expect("read");
            let schema = batches[0].schema();
            let mut parts: Vec<Vec<RecordBatch>> = vec![Vec::new(); args.threads];
            for (i, b) in batches.into_iter().enumerate() {
                parts[i % args.threads].push(b);
            }
            ctx.register_table(
                table,
                Arc::new(MemTable::try_new(schema, parts).expect("mem")),
            )
            .expect("register");
        }
        let cases = vec![
            Case {
                name: "business_minutes over resolved tickets (client calendars)".into(),
                mine: "SELECT sum(business_minutes(t.created_at, t.resolved_at, coalesce(c.calendar, '24x7'))) FROM tickets t JOIN clients c ON c.client_id = t.client_id".into(),
                builtins: vec!["SELECT sum(date_part('epoch', t.resolved_at - t.created_at) / 60) FROM tickets t JOIN clients c ON c.client_id = t.client_id".into()],
                floor: String::new(),
            },
            Case {
                name: "local_month(created_at, 'America/New_York') vs date_trunc on zoned timestamps".into(),
                mine: "SELECT count(*), min(m) FROM (SELECT local_month(created_at, 'America/New_York') AS m FROM tickets)".into(),
                builtins: vec!["SELECT count(*), min(m) FROM (SELECT date_trunc('month', arrow_cast(created_at, 'Timestamp(Microsecond, Some(\"America/New_York\"))')) AS m FROM tickets)".into()],
                floor: String::new(),
            },
            Case {
                name: "local_month(created_at, client zone) per client and month".into(),
                mine: "SELECT t.client_id, local_month(t.created_at, c.timezone) AS m, count(*) FROM tickets t JOIN clients c ON c.client_id = t.client_id GROUP BY 1, 2".into(),
                builtins: vec!["SELECT t.client_id, date_trunc('month', arrow_cast(t.created_at, 'Timestamp(Microsecond, Some(\"America/New_York\"))')) AS m, count(*) FROM tickets t JOIN clients c ON c.client_id = t.client_id GROUP BY 1, 2".into()],
                floor: String::new(),
            },
        ];
        run(&ctx, &cases, args.rounds, "### Scalar helpers on the generated tickets (in memory); 'built-in' = plain difference / date_trunc").await;
    }
}
