//! The expression builders give a Rust DataFrame the same answers as SQL, and each
//! function is one shared instance.

use std::sync::Arc;

use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::*;
use mspkpi_udfs::expr_fn;

#[tokio::test]
async fn a_dataframe_aggregate_equals_the_sql() {
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(3));
    mspkpi_udfs::register_all(&mut *ctx.state_ref().write()).unwrap();
    ctx.sql(
        "CREATE VIEW answers AS SELECT * FROM (VALUES ('a', 10, 1, false), ('a', 9, 2, NULL), \
         ('a', 3, 1, true), ('b', 7, 1, NULL), ('b', NULL, NULL, NULL)) t(client_id, score, contacts, reopened)",
    )
    .await
    .unwrap();
    let frame = ctx
        .table("answers")
        .await
        .unwrap()
        .aggregate(
            vec![col("client_id")],
            vec![
                expr_fn::nps(col("score")).alias("nps"),
                expr_fn::fcr_rate(col("contacts"), Some(col("reopened"))).alias("fcr"),
                expr_fn::fcr_rate(col("contacts"), None).alias("fcr_without_reopens"),
            ],
        )
        .unwrap()
        .sort(vec![col("client_id").sort(true, true)])
        .unwrap();
    let from_frame = pretty_format_batches(&frame.collect().await.unwrap())
        .unwrap()
        .to_string();
    let sql = ctx
        .sql(
            "SELECT client_id, nps(score) AS nps, fcr_rate(contacts, reopened) AS fcr, \
             fcr_rate(contacts) AS fcr_without_reopens FROM answers GROUP BY client_id ORDER BY client_id",
        )
        .await
        .unwrap();
    let from_sql = pretty_format_batches(&sql.collect().await.unwrap())
        .unwrap()
        .to_string();
    assert_eq!(from_frame, from_sql);
    // a: promoters 10 and 9, detractor 3: (2 - 1) / 3 = 33.3; one-contact tickets 10
    // and 3, but 3 was reopened: 1 of 3. b: one passive.
    assert!(
        from_frame.contains(
            "| a         | 33.333333333333336 | 33.333333333333336 | 66.66666666666667   |"
        ),
        "{from_frame}"
    );
    assert!(from_frame.contains("| b         | 0.0"), "{from_frame}");
}

#[test]
fn each_function_is_one_instance() {
    assert!(Arc::ptr_eq(
        &mspkpi_udfs::aggregate::nps::nps_udaf(),
        &mspkpi_udfs::aggregate::nps::nps_udaf()
    ));
    assert!(Arc::ptr_eq(
        &mspkpi_udfs::scalar::business_minutes::business_minutes_udf(),
        &mspkpi_udfs::scalar::business_minutes::business_minutes_udf()
    ));
}
