//! Single-thread cost per row of the KPI `GroupsAccumulator`s' `update_batch`, against
//! the kernel of DataFusion's own `count` (`accumulate_indices`) on the same batches:
//! the part of a GROUP BY query that the functions decide, without the hashing of the
//! group keys, which costs every formulation the same.
//!
//!     kernel-bench [--rows N] [--rounds N]
//!
//! Beside them, `nps` written with DataFusion's own helper (`accumulate`, the
//! per-value loop of `NullState` that `avg` and `sum` use): what the hand-written
//! kernel would cost if it were DataFusion's.
//!
//! Prints a Markdown table (minimum over the rounds, in ns per row); `bench/run.sh`
//! puts it in `bench/RESULTS.md`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::AsArray;
use arrow::array::{Array, ArrayRef, BooleanArray, Int8Array, Int16Array};
use arrow::datatypes::Int8Type;
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};
use datafusion_functions_aggregate_common::aggregate::groups_accumulator::accumulate::{
    accumulate, accumulate_indices,
};
use mspkpi_udfs::aggregate::csat::CsatKernel;
use mspkpi_udfs::aggregate::fcr_rate::FcrRateKernel;
use mspkpi_udfs::aggregate::nps::NpsKernel;
use mspkpi_udfs::aggregate::sla_compliance::SlaComplianceKernel;
use mspkpi_udfs::ratio::{RatioGroupsAccumulator, RatioKernel};

/// DataFusion's batch size.
const BATCH_ROWS: usize = 8192;

struct Batch {
    groups: Vec<usize>,
    /// One column per case, in the order of [`CASES`].
    columns: Vec<ArrayRef>,
}

/// Name of each case and how the column it reads is made from a random number; every
/// column has 5 % NULLs, as survey answers and SLA flags do.
const CASES: [&str; 4] = [
    "csat(score Int8)",
    "nps(score Int8)",
    "fcr_rate(contacts Int16)",
    "sla_compliance(met Boolean)",
];

/// One column from one random number per row: NULL for 1 row in 20, else `answer` of
/// the rest of the number.
fn answers<A, T>(random: &[u64], answer: impl Fn(u64) -> T) -> ArrayRef
where
    A: Array + From<Vec<Option<T>>> + 'static,
{
    let values: Vec<Option<T>> = random
        .iter()
        .map(|&r| (!r.is_multiple_of(20)).then(|| answer(r / 20)))
        .collect();
    Arc::new(A::from(values))
}

fn batches(rows: usize, groups: usize) -> Vec<Batch> {
    let mut state = 42u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let mut out = Vec::new();
    let mut made = 0;
    while made < rows {
        let n = BATCH_ROWS.min(rows - made);
        let group_of_row: Vec<usize> = (0..n).map(|_| (next() % groups as u64) as usize).collect();
        let random: Vec<u64> = (0..n).map(|_| next()).collect();
        let columns: Vec<ArrayRef> = vec![
            answers::<Int8Array, _>(&random, |r| (r % 5 + 1) as i8),
            answers::<Int8Array, _>(&random, |r| (r % 11) as i8),
            answers::<Int16Array, _>(&random, |r| (r % 4 + 1) as i16),
            answers::<BooleanArray, _>(&random, |r| r % 10 != 0),
        ];
        out.push(Batch {
            groups: group_of_row,
            columns,
        });
        made += n;
    }
    out
}

/// Seconds for DataFusion's `count(column)` kernel over every batch.
fn time_count(batches: &[Batch], column: usize, groups: usize) -> f64 {
    let start = Instant::now();
    let mut counts = vec![0i64; groups];
    for batch in batches {
        let values = &batch.columns[column];
        accumulate_indices(
            &batch.groups,
            values.logical_nulls().as_ref(),
            None,
            |group| counts[group] += 1,
        );
    }
    black_box(&counts);
    start.elapsed().as_secs_f64()
}

/// Seconds for `nps` through DataFusion's `accumulate`: a range check and two sums per
/// group, as the KPI kernel keeps them, evaluation included.
fn time_nps_with_accumulate(batches: &[Batch], column: usize, groups: usize) -> f64 {
    let start = Instant::now();
    let mut sums = vec![[0i64; 2]; groups];
    let mut out_of_range = false;
    for batch in batches {
        let values = batch.columns[column].as_primitive::<Int8Type>();
        accumulate(&batch.groups, values, None, |group, score| {
            out_of_range |= !(0..=10).contains(&score);
            let sum = &mut sums[group];
            sum[0] += i64::from(score >= 9) - i64::from(score <= 6);
            sum[1] += 1;
        });
    }
    assert!(!out_of_range, "nps: a score outside 0..10");
    let result: Vec<Option<f64>> = sums
        .iter()
        .map(|[num, den]| (*den > 0).then(|| 100.0 * *num as f64 / *den as f64))
        .collect();
    black_box(result);
    start.elapsed().as_secs_f64()
}

/// Seconds for one KPI accumulator over every batch, evaluation included.
fn time_kpi<K: RatioKernel>(kernel: K, batches: &[Batch], column: usize, groups: usize) -> f64 {
    let start = Instant::now();
    let mut accumulator = RatioGroupsAccumulator::new(kernel);
    for batch in batches {
        let values = std::slice::from_ref(&batch.columns[column]);
        if let Err(e) = accumulator.update_batch(values, &batch.groups, None, groups) {
            panic!("{}: {e}", CASES[column]);
        }
    }
    match accumulator.evaluate(EmitTo::All) {
        Ok(result) => black_box(result),
        Err(e) => panic!("{}: {e}", CASES[column]),
    };
    start.elapsed().as_secs_f64()
}

fn main() {
    let mut rows = 10_000_000usize;
    let mut rounds = 15usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().and_then(|v| v.parse().ok());
        match (arg.as_str(), value) {
            ("--rows", Some(v)) => rows = v,
            ("--rounds", Some(v)) => rounds = v,
            _ => panic!("usage: kernel-bench [--rows N] [--rounds N]"),
        }
    }
    println!(
        "### GroupsAccumulator kernels, {rows} rows in {BATCH_ROWS}-row batches, 1 thread, minimum of {rounds} rounds\n"
    );
    println!("| kernel | groups | count(column) ns/row | KPI ns/row | × count |");
    println!("|---|---:|---:|---:|---:|");
    for groups in [1_000, 100_000] {
        let batches = batches(rows, groups);
        let mut count = [f64::MAX; CASES.len()];
        let mut kpi = [f64::MAX; CASES.len()];
        let mut nps_accumulate = f64::MAX;
        // Interleaved, so that a slow phase of the machine hits every kernel alike.
        for _ in 0..rounds {
            for (column, best) in count.iter_mut().enumerate() {
                *best = best.min(time_count(&batches, column, groups));
            }
            kpi[0] = kpi[0].min(time_kpi(CsatKernel, &batches, 0, groups));
            kpi[1] = kpi[1].min(time_kpi(NpsKernel, &batches, 1, groups));
            kpi[2] = kpi[2].min(time_kpi(
                FcrRateKernel { reopened: false },
                &batches,
                2,
                groups,
            ));
            kpi[3] = kpi[3].min(time_kpi(SlaComplianceKernel::Met, &batches, 3, groups));
            nps_accumulate = nps_accumulate.min(time_nps_with_accumulate(&batches, 1, groups));
        }
        let ns = |seconds: f64| seconds * 1e9 / rows as f64;
        for (column, name) in CASES.iter().enumerate() {
            println!(
                "| {name} | {groups} | {:.2} | {:.2} | {:.2} |",
                ns(count[column]),
                ns(kpi[column]),
                kpi[column] / count[column]
            );
        }
        println!(
            "| nps(score Int8) with DataFusion's accumulate | {groups} | {:.2} | {:.2} | {:.2} |",
            ns(count[1]),
            ns(nps_accumulate),
            nps_accumulate / count[1]
        );
    }
    println!();
}
