//! The export is a warehouse contract: its schema, kpi names, segments, values (to the
//! float bit) and n are pinned here, on the worked examples and on generated data.

use std::path::Path;

use arrow::array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::common::*;
use mspkpi::period::Period;
use mspkpi::session::EngineOptions;
use mspkpi::{export, report, saved_queries};

/// Exports a period and returns the written partition as CSV, header first and the
/// rows sorted (CSV prints each float in its shortest exact form).
async fn exported(data: &Path, period: &str, threads: usize) -> String {
    let period = Period::parse(period).unwrap();
    let queries = saved_queries::load(None).unwrap();
    let engine = EngineOptions {
        threads: Some(threads),
        ..Default::default()
    };
    let results = report::collect(&data.into(), None, &period, &queries, &engine)
        .await
        .unwrap()
        .results;
    let catalogue = mspkpi::kpi::catalogue(&queries);
    let facts = export::facts(&results, &catalogue, &period).unwrap();
    let out = tempfile::tempdir().unwrap();
    let partition = export::write(out.path(), &period, &facts).unwrap();
    let file = std::fs::File::open(partition.join("part-0.parquet")).unwrap();
    let batches: Vec<RecordBatch> = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(batches[0].schema(), export::schema());
    let mut text = Vec::new();
    {
        let mut writer = arrow::csv::WriterBuilder::new().build(&mut text);
        for batch in &batches {
            writer.write(batch).unwrap();
        }
    }
    let text = String::from_utf8(text).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let header = lines.remove(0);
    lines.sort_unstable();
    format!("{header}\n{}\n", lines.join("\n"))
}

#[tokio::test]
async fn the_export_of_the_worked_examples_is_pinned() {
    let dir = tempfile::tempdir().unwrap();
    worked_examples(dir.path());
    insta::assert_snapshot!(
        "export_worked_examples",
        exported(dir.path(), "2026-10", 2).await
    );
}

#[tokio::test]
async fn the_export_of_generated_data_is_pinned() {
    let dir = tempfile::tempdir().unwrap();
    generated(dir.path(), 4, 3_000, 14);
    let text = exported(dir.path(), "2025-12", 2).await;
    assert!(text.lines().count() > 150, "{text}");
    insta::assert_snapshot!("export_generated", text);
    // The same bits whatever the partitioning: averages sum exactly.
    for threads in [1, 3] {
        assert_eq!(
            exported(dir.path(), "2025-12", threads).await,
            text,
            "{threads} threads"
        );
    }
}
