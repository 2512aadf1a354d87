//! Property tests: every KPI aggregate gives the same answer as a plain Rust reference
//! for any split of the input into batches and partitions, with and without partial
//! aggregation skipped (`convert_to_state`), and under a memory limit that makes the
//! grouped aggregation spill (`state`/`merge_batch` through `EmitTo`).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, AsArray, BooleanArray, Date32Array, Float64Array, Int8Array, Int16Array, Int32Array,
    Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray, TimestampMillisecondArray,
    UInt16Array,
};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema, SchemaRef, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use proptest::prelude::*;

const MINUTE: i64 = 60_000_000;
/// 2026-01-01 and 2026-02-01 as days since the epoch; as_of is 2026-01-01 12:00 UTC.
const PERIOD_START: i32 = 20454;
const PERIOD_END: i32 = 20485;
const AS_OF: i64 = PERIOD_START as i64 * 86_400_000_000 + 12 * 60 * MINUTE;

#[derive(Debug, Clone)]
struct Row {
    group: i64,
    score: Option<i8>,
    csat: Option<i16>,
    contacts: Option<i32>,
    met: Option<bool>,
    onboarded: Option<i32>,
    churned: Option<i32>,
    mrr_cents: i64,
    created: Option<i64>,
    done: Option<i64>,
    target: i64,
}

fn row_strategy(groups: i64) -> impl Strategy<Value = Row> {
    (
        (
            0..groups,
            proptest::option::weighted(0.9, 0i8..=10),
            proptest::option::weighted(0.9, 1i16..=5),
        ),
        (
            proptest::option::weighted(0.8, 1i32..=4),
            proptest::option::weighted(0.8, any::<bool>()),
        ),
        (
            proptest::option::weighted(0.95, PERIOD_START - 60..PERIOD_END + 10),
            proptest::option::weighted(0.3, PERIOD_START - 30..PERIOD_END + 30),
            0i64..500_000,
        ),
        (
            proptest::option::weighted(0.95, 0i64..24 * 60),
            proptest::option::weighted(0.7, 0i64..24 * 60),
            0i64..600,
        ),
    )
        .prop_map(
            |(
                (group, score, csat),
                (contacts, met),
                (onboarded, churned, mrr_cents),
                (created, done, target),
            )| Row {
                group,
                score,
                csat,
                contacts,
                met,
                onboarded,
                churned,
                mrr_cents,
                created: created.map(|m| PERIOD_START as i64 * 86_400_000_000 + m * MINUTE),
                done: done
                    .zip(created)
                    .map(|(d, c)| PERIOD_START as i64 * 86_400_000_000 + (c + d) * MINUTE),
                target,
            },
        )
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("g", DataType::Int64, false),
        Field::new("score", DataType::Int8, true),
        Field::new("csat", DataType::Int16, true),
        Field::new("contacts", DataType::Int32, true),
        Field::new("met", DataType::Boolean, true),
        Field::new("onboarded", DataType::Date32, true),
        Field::new("churned", DataType::Date32, true),
        Field::new("mrr", DataType::Float64, false),
        Field::new(
            "created",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new(
            "done",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("target", DataType::Int64, false),
        // The same targets in the narrower types read in 32 bits.
        Field::new("target_i32", DataType::Int32, false),
        Field::new("target_u16", DataType::UInt16, false),
        // The same period and moment as the constants, as columns and in other types,
        // so the per-row paths of the kernels are compared with the reference too.
        Field::new("p_start", DataType::Date32, false),
        Field::new("p_end", DataType::Date32, false),
        Field::new(
            "p_start_ts",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        Field::new(
            "as_of_ms",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        ),
        Field::new("cal", DataType::Utf8, false),
    ]))
}

fn batch(rows: &[Row]) -> RecordBatch {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.group))),
        Arc::new(Int8Array::from_iter(rows.iter().map(|r| r.score))),
        Arc::new(Int16Array::from_iter(rows.iter().map(|r| r.csat))),
        Arc::new(Int32Array::from_iter(rows.iter().map(|r| r.contacts))),
        Arc::new(BooleanArray::from_iter(rows.iter().map(|r| r.met))),
        Arc::new(Date32Array::from_iter(rows.iter().map(|r| r.onboarded))),
        Arc::new(Date32Array::from_iter(rows.iter().map(|r| r.churned))),
        Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| r.mrr_cents as f64 / 100.0),
        )),
        Arc::new(
            TimestampMicrosecondArray::from_iter(rows.iter().map(|r| r.created))
                .with_timezone("UTC"),
        ),
        Arc::new(
            TimestampMicrosecondArray::from_iter(rows.iter().map(|r| r.done)).with_timezone("UTC"),
        ),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.target))),
        Arc::new(Int32Array::from_iter_values(
            rows.iter().map(|r| r.target as i32),
        )),
        Arc::new(UInt16Array::from_iter_values(
            rows.iter().map(|r| r.target as u16),
        )),
        Arc::new(Date32Array::from_iter_values(
            rows.iter().map(|_| PERIOD_START),
        )),
        Arc::new(Date32Array::from_iter_values(
            rows.iter().map(|_| PERIOD_END),
        )),
        Arc::new(TimestampMicrosecondArray::from_iter_values(
            rows.iter().map(|_| PERIOD_START as i64 * 86_400_000_000),
        )),
        Arc::new(TimestampMillisecondArray::from_iter_values(
            rows.iter().map(|_| AS_OF / 1000),
        )),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|_| "24x7"))),
    ];
    RecordBatch::try_new(schema(), columns).unwrap()
}

/// Splits the rows into `partitions` partitions of batches of at most `batch_rows`.
fn partitioned(rows: &[Row], partitions: usize, batch_rows: usize) -> Vec<Vec<RecordBatch>> {
    let mut parts: Vec<Vec<Row>> = vec![Vec::new(); partitions];
    for (i, row) in rows.iter().enumerate() {
        parts[i % partitions].push(row.clone());
    }
    parts
        .iter()
        .map(|part| part.chunks(batch_rows.max(1)).map(batch).collect())
        .collect()
}

type Kpis = [Option<f64>; 7];

fn ratio(num: i64, den: i64) -> Option<f64> {
    (den != 0).then(|| 100.0 * num as f64 / den as f64)
}

/// The straightforward computation, group by group.
fn reference(rows: &[Row]) -> BTreeMap<i64, Kpis> {
    let mut sums: BTreeMap<i64, [(i64, i64); 7]> = BTreeMap::new();
    for r in rows {
        let s = sums.entry(r.group).or_default();
        if let Some(score) = r.score {
            s[0].0 += i64::from(score >= 9) - i64::from(score <= 6);
            s[0].1 += 1;
        }
        if let Some(csat) = r.csat {
            s[1].0 += i64::from(csat >= 4);
            s[1].1 += 1;
        }
        if let Some(contacts) = r.contacts {
            s[2].0 += i64::from(contacts == 1);
            s[2].1 += 1;
        }
        if let Some(met) = r.met {
            s[3].0 += i64::from(met);
            s[3].1 += 1;
        }
        if let Some(onboarded) = r.onboarded {
            let active = onboarded < PERIOD_START && r.churned.is_none_or(|c| c >= PERIOD_START);
            let lost = active && r.churned.is_some_and(|c| c < PERIOD_END);
            s[4].0 += i64::from(lost);
            s[4].1 += i64::from(active);
            s[5].0 += i64::from(lost) * r.mrr_cents;
            s[5].1 += i64::from(active) * r.mrr_cents;
        }
        if let Some(created) = r.created {
            let target = r.target * MINUTE;
            let state = match r.done.filter(|&d| d <= AS_OF) {
                Some(done) => Some(done - created <= target),
                None if AS_OF - created > target => Some(false),
                None => None,
            };
            if let Some(met) = state {
                s[6].0 += i64::from(met);
                s[6].1 += 1;
            }
        }
    }
    sums.into_iter()
        .map(|(g, s)| (g, s.map(|(n, d)| ratio(n, d))))
        .collect()
}

/// Each KPI expression and the reference KPI it must equal (an index into [`Kpis`]).
/// Constant arguments take the kernels' constant paths; the same arguments as columns,
/// in other types, or with a calendar, take the per-row paths.
const KPI_EXPRESSIONS: [(&str, usize); 15] = [
    ("nps(score)", 0),
    ("csat(csat)", 1),
    ("fcr_rate(contacts)", 2),
    ("sla_compliance(met)", 3),
    (
        "churn_rate(onboarded, churned, DATE '2026-01-01', DATE '2026-02-01')",
        4,
    ),
    ("churn_rate(onboarded, churned, p_start, p_end)", 4),
    ("churn_rate(onboarded, churned, p_start_ts, p_end)", 4),
    (
        "revenue_churn_rate(onboarded, churned, mrr, DATE '2026-01-01', DATE '2026-02-01')",
        5,
    ),
    (
        "revenue_churn_rate(onboarded, churned, mrr, p_start, p_end)",
        5,
    ),
    (
        "sla_compliance(created, done, target, TIMESTAMP '2026-01-01T12:00:00Z')",
        6,
    ),
    ("sla_compliance(created, done, target, as_of_ms)", 6),
    (
        "sla_compliance(created, done, target_i32, TIMESTAMP '2026-01-01T12:00:00Z')",
        6,
    ),
    ("sla_compliance(created, done, target_u16, as_of_ms)", 6),
    (
        "sla_compliance(created, done, target, TIMESTAMP '2026-01-01T12:00:00Z', '24x7')",
        6,
    ),
    ("sla_compliance(created, done, target, as_of_ms, cal)", 6),
];

/// The KPI expressions as a select list, each with `suffix` (e.g. a FILTER clause).
fn kpi_select(suffix: &str) -> String {
    KPI_EXPRESSIONS
        .iter()
        .enumerate()
        .map(|(k, (expression, _))| format!("{expression}{suffix} AS k{k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

type Results = [Option<f64>; KPI_EXPRESSIONS.len()];

fn context(target_partitions: usize, skip_partial: bool, memory: Option<usize>) -> SessionContext {
    let mut config = SessionConfig::new()
        .with_target_partitions(target_partitions)
        .with_batch_size(64);
    if skip_partial {
        let options = config.options_mut();
        options
            .execution
            .skip_partial_aggregation_probe_rows_threshold = 10;
        options
            .execution
            .skip_partial_aggregation_probe_ratio_threshold = 0.0;
    }
    let mut runtime = RuntimeEnvBuilder::new();
    if let Some(bytes) = memory {
        runtime = runtime.with_memory_pool(Arc::new(FairSpillPool::new(bytes)));
    }
    let mut state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime.build_arc().unwrap())
        .with_default_features()
        .build();
    mspkpi_udfs::register_all(&mut state).unwrap();
    SessionContext::new_with_state(state)
}

async fn grouped(ctx: &SessionContext, data: Vec<Vec<RecordBatch>>) -> BTreeMap<i64, Results> {
    ctx.register_table("t", Arc::new(MemTable::try_new(schema(), data).unwrap()))
        .unwrap();
    let batches = ctx
        .sql(&format!("SELECT g, {} FROM t GROUP BY g", kpi_select("")))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for b in &batches {
        for row in 0..b.num_rows() {
            let g = b.column(0).as_primitive::<Int64Type>().value(row);
            let kpis: Results = std::array::from_fn(|k| {
                let c = b.column(k + 1).as_primitive::<Float64Type>();
                (!c.is_null(row)).then(|| c.value(row))
            });
            out.insert(g, kpis);
        }
    }
    out
}

fn assert_close(actual: &BTreeMap<i64, Results>, expected: &BTreeMap<i64, Kpis>, what: &str) {
    assert_eq!(
        actual.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "{what}: groups"
    );
    for (g, e) in expected {
        let a = &actual[g];
        for (k, (expression, reference)) in KPI_EXPRESSIONS.iter().enumerate() {
            match (a[k], e[*reference]) {
                (Some(x), Some(y)) => assert!(
                    (x - y).abs() <= 1e-9 * y.abs().max(1.0),
                    "{what}: group {g} {expression}: {x} vs {y}"
                ),
                (x, y) => assert_eq!(x, y, "{what}: group {g} {expression}"),
            }
        }
    }
}

use arrow::array::Array;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn grouped_results_do_not_depend_on_partitioning(
        rows in proptest::collection::vec(row_strategy(12), 0..400),
        partitions in 1usize..5,
        batch_rows in 1usize..70,
    ) {
        let expected = reference(&rows);
        runtime().block_on(async {
            for (target, skip) in [(1, false), (8, false), (8, true)] {
                let ctx = context(target, skip, None);
                let actual = grouped(&ctx, partitioned(&rows, partitions, batch_rows)).await;
                assert_close(&actual, &expected, &format!("target_partitions {target}, skip partial {skip}"));
            }
        });
    }

    #[test]
    fn ungrouped_and_filtered_results_match_the_reference(
        rows in proptest::collection::vec(row_strategy(3), 0..300),
        batch_rows in 1usize..50,
    ) {
        let filtered: Vec<Row> = rows.iter().filter(|r| r.group != 1).cloned().collect();
        let mut expected: Vec<Row> = filtered.clone();
        for r in &mut expected { r.group = 0; }
        let expected = reference(&expected).remove(&0).unwrap_or([None; 7]);
        runtime().block_on(async {
            let ctx = context(4, false, None);
            ctx.register_table("t", Arc::new(MemTable::try_new(schema(), partitioned(&rows, 3, batch_rows)).unwrap())).unwrap();
            let select = kpi_select(" FILTER (WHERE g <> 1)");
            let b = &ctx.sql(&format!("SELECT {select} FROM t")).await.unwrap().collect().await.unwrap()[0];
            for (k, (expression, reference)) in KPI_EXPRESSIONS.iter().enumerate() {
                let c = b.column(k).as_primitive::<Float64Type>();
                let a = (!c.is_null(0)).then(|| c.value(0));
                match (a, expected[*reference]) {
                    (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-9 * y.abs().max(1.0), "{expression}: {x} vs {y}"),
                    (x, y) => assert_eq!(x, y, "{expression}"),
                }
            }
        });
    }
}

/// The sum of a metric over an EXPLAIN ANALYZE of the grouped KPI query.
async fn metric(ctx: &SessionContext, name: &str) -> u64 {
    let batches = ctx
        .sql(&format!(
            "EXPLAIN ANALYZE SELECT g, {} FROM t GROUP BY g",
            kpi_select("")
        ))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let text = arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string();
    text.split(&format!("{name}="))
        .skip(1)
        .filter_map(|rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

#[test]
fn the_skip_and_spill_paths_really_run() {
    let rows: Vec<Row> = (0..5_000)
        .map(|i| Row {
            group: i,
            score: Some((i % 11) as i8),
            csat: None,
            contacts: None,
            met: None,
            onboarded: None,
            churned: None,
            mrr_cents: 0,
            created: None,
            done: None,
            target: 0,
        })
        .collect();
    runtime().block_on(async {
        let ctx = context(2, true, None);
        ctx.register_table(
            "t",
            Arc::new(MemTable::try_new(schema(), partitioned(&rows, 2, 512)).unwrap()),
        )
        .unwrap();
        assert!(metric(&ctx, "skipped_aggregation_rows").await > 0);
        let ctx = context(2, false, Some(2 << 20));
        let many: Vec<Row> = (0..200_000)
            .map(|i| Row {
                group: i,
                ..rows[0].clone()
            })
            .collect();
        ctx.register_table(
            "t",
            Arc::new(MemTable::try_new(schema(), partitioned(&many, 2, 8192)).unwrap()),
        )
        .unwrap();
        assert!(metric(&ctx, "spill_count").await > 0);
    });
}

/// Many groups under a small memory pool: the grouped aggregation spills and merges its
/// partial states back.
#[test]
fn spilling_aggregation_matches_the_reference() {
    let mut rng_rows = Vec::new();
    let mut seed = 7u64;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        seed >> 33
    };
    for i in 0..300_000i64 {
        let v = next();
        rng_rows.push(Row {
            group: (v % 100_000) as i64,
            score: Some((v % 11) as i8),
            csat: Some((v % 5 + 1) as i16),
            contacts: (v % 7 != 0).then_some((v % 3 + 1) as i32),
            met: Some(v % 4 != 0),
            onboarded: Some(PERIOD_START - 10 + (i % 20) as i32),
            churned: (v % 9 == 0).then_some(PERIOD_START + (v % 40) as i32),
            mrr_cents: (v % 100_000) as i64,
            created: Some(PERIOD_START as i64 * 86_400_000_000 + (v % 600) as i64 * MINUTE),
            done: (v % 3 != 0)
                .then_some(PERIOD_START as i64 * 86_400_000_000 + (v % 700) as i64 * MINUTE),
            target: (v % 120) as i64,
        });
    }
    let expected = reference(&rng_rows);
    runtime().block_on(async {
        let ctx = context(2, false, Some(6 << 20));
        let data = partitioned(&rng_rows, 2, 8192);
        let actual = grouped(&ctx, data).await;
        assert_close(&actual, &expected, "spilling");
    });
}
