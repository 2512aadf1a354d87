//! A value outside a function's domain is a typed `KpiError`, found through every
//! wrapper DataFusion puts around it (repartitioning, several partitions, a window),
//! with the message it always had.

use datafusion::prelude::{SessionConfig, SessionContext};
use mspkpi_udfs::KpiError;

async fn error_of(sql: &str) -> datafusion::error::DataFusionError {
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(4));
    mspkpi_udfs::register_all(&mut *ctx.state_ref().write()).unwrap();
    let frame = ctx.sql(sql).await.unwrap();
    frame.collect().await.unwrap_err()
}

#[tokio::test]
async fn domain_errors_are_typed_through_datafusion() {
    let cases = [
        (
            "SELECT g, nps(v) FROM (VALUES (1, 3), (2, 11), (1, 9)) t(g, v) GROUP BY g",
            KpiError::OutOfRange {
                function: "nps".into(),
                argument: "score".into(),
                value: "11".into(),
                expected: "from 0 to 10".into(),
            },
        ),
        (
            "SELECT fcr_rate(c) OVER (ORDER BY c) FROM (VALUES (1), (0)) t(c)",
            KpiError::OutOfRange {
                function: "fcr_rate".into(),
                argument: "contacts".into(),
                value: "0".into(),
                expected: "at least 1".into(),
            },
        ),
        (
            "SELECT business_minutes(TIMESTAMP '2026-10-01 00:00:00Z', TIMESTAMP '2026-10-02 00:00:00Z', c) \
             FROM (VALUES ('Mon-Fri 09:00-17:00 Mars/Olympus')) t(c)",
            KpiError::InvalidCalendar {
                spec: "Mon-Fri 09:00-17:00 Mars/Olympus".into(),
                reason: "unknown time zone 'Mars/Olympus'".into(),
            },
        ),
    ];
    for (sql, expected) in cases {
        let error = error_of(sql).await;
        let found = KpiError::find(&error).unwrap_or_else(|| panic!("{sql}: untyped {error:?}"));
        assert_eq!(found, &expected, "{sql}");
        assert!(error.to_string().contains(&expected.to_string()), "{error}");
    }
    // A failing plan is not a KpiError.
    let ctx = SessionContext::new();
    let error = ctx.sql("SELECT nps(v) FROM nowhere").await.unwrap_err();
    assert_eq!(KpiError::find(&error), None);
    assert_eq!(
        KpiError::OutOfRange {
            function: "csat".into(),
            argument: "score".into(),
            value: "0".into(),
            expected: "from 1 to 5".into()
        }
        .to_string(),
        "csat: value 0 is out of range (expected from 1 to 5)"
    );
}
