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
