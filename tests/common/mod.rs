//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{Field, Schema};
use mspkpi::generator::{self, Options};
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
    generator::generate(
        dir,
        &Options {
            clients,
            tickets,
            months,
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
    use arrow::array::*;
    use mspkpi::schema::Kind;
    let table = mspkpi::schema::table(table).unwrap();
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
    let path = dir.join(table.name).join("part-0.parquet");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut writer =
        ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

/// Runs every built-in saved query for a period over a data directory.
pub async fn saved_results(dir: &Path, period: &str) -> Vec<mspkpi::saved_queries::QueryResult> {
    let period = mspkpi::period::Period::parse(period).unwrap();
    let (ctx, _) = mspkpi::session::open(dir, &Default::default())
        .await
        .unwrap();
    mspkpi::period::register_periods(&ctx, period.grain).unwrap();
    let queries = mspkpi::saved_queries::load(None).unwrap();
    mspkpi::saved_queries::run_all(
        &ctx,
        &queries,
        &mspkpi::saved_queries::period_params(&period),
        |_| {},
    )
    .await
    .unwrap()
}
