//! The generator's realism claims, determinism, and the catalog's checks and casts.

use std::sync::Arc;

use crate::common::{generated, generated_with_history, query, scalar, write_parquet};
use arrow::array::{
    Array, AsArray, Int64Array, StringArray, TimestampMicrosecondArray, TimestampNanosecondArray,
};
use arrow::datatypes::{DataType, Int32Type, Int64Type, TimeUnit};
use mspkpi::data::schema::TABLES;
use mspkpi::session::{self, EngineOptions};

async fn f64_of(ctx: &datafusion::prelude::SessionContext, sql: &str) -> f64 {
    scalar(ctx, sql).await.parse().unwrap()
}

#[tokio::test]
async fn generated_tables_match_the_canonical_schema_and_look_real() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generated(dir.path(), 30, 40_000, 12);
    assert_eq!(summary.clients, 30);
    assert!((36_000..44_000).contains(&summary.tickets), "{summary:?}");
    let (ctx, tables) = session::open(&dir.path().into(), None, &EngineOptions::default())
        .await
        .unwrap();
    assert_eq!(tables.len(), 5);
    for table in &TABLES {
        let frame = ctx.table(table.name).await.unwrap();
        let schema = frame.schema();
        for column in table.columns {
            let field = schema.field_with_unqualified_name(column.name).unwrap();
            let expected = column.kind.data_type();
            let ok = field.data_type() == &expected
                || (expected == DataType::Utf8 && field.data_type() == &DataType::Utf8View);
            assert!(ok, "{}.{}: {}", table.name, column.name, field.data_type());
        }
    }

    // Tickets arrive mostly in local business hours (Mon-Fri 08:00-18:00 local).
    let batches = query(
        &ctx,
        "SELECT t.created_at, c.timezone FROM tickets t JOIN clients c USING (client_id)",
    )
    .await;
    let (mut inside, mut all) = (0usize, 0usize);
    for batch in &batches {
        let created = batch
            .column(0)
            .as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
        let zones = arrow::compute::cast(batch.column(1), &DataType::Utf8).unwrap();
        let zones = zones.as_string::<i32>();
        for row in 0..batch.num_rows() {
            use chrono::{Datelike, TimeZone, Timelike};
            let zone: chrono_tz::Tz = zones.value(row).parse().unwrap();
            let local = zone.timestamp_micros(created.value(row)).unwrap();
            let weekday = local.weekday().num_days_from_monday();
            inside += usize::from(weekday < 5 && (8..18).contains(&local.hour()));
            all += 1;
        }
    }
    let in_hours = inside as f64 / all as f64;
    assert!(
        (0.7..0.95).contains(&in_hours),
        "share in business hours {in_hours}"
    );

    // Few P1, many P3/P4.
    let p1 = f64_of(
        &ctx,
        "SELECT avg(CASE WHEN priority = 'P1' THEN 1.0 ELSE 0.0 END) FROM tickets",
    )
    .await;
    let p34 = f64_of(
        &ctx,
        "SELECT avg(CASE WHEN priority IN ('P3', 'P4') THEN 1.0 ELSE 0.0 END) FROM tickets",
    )
    .await;
    assert!((0.015..0.05).contains(&p1), "P1 share {p1}");
    assert!((0.78..0.92).contains(&p34), "P3/P4 share {p34}");

    // Some tickets are still open at the end; responses come before resolutions.
    let open = f64_of(
        &ctx,
        "SELECT avg(CASE WHEN resolved_at IS NULL THEN 1.0 ELSE 0.0 END) FROM tickets",
    )
    .await;
    assert!((0.003..0.08).contains(&open), "open share {open}");
    assert_eq!(scalar(&ctx, "SELECT count(*) FROM tickets WHERE first_response_at > resolved_at OR resolved_at < created_at OR closed_at < resolved_at").await, "0");

    // Resolution times are skewed (mean well above median) and depend on priority.
    let skew = f64_of(&ctx, "SELECT avg(m) / median(m) FROM (SELECT business_minutes(created_at, resolved_at, '24x7') AS m FROM tickets WHERE priority = 'P3')").await;
    assert!(skew > 1.3, "mean/median {skew}");
    let p1_faster = f64_of(&ctx, "SELECT median(CASE WHEN priority = 'P1' THEN m END) / median(CASE WHEN priority = 'P4' THEN m END) FROM (SELECT priority, business_minutes(created_at, resolved_at, '24x7') AS m FROM tickets)").await;
    assert!(p1_faster < 0.5, "P1/P4 median resolution {p1_faster}");

    // Contacts mostly 1 with a tail.
    let fcr = f64_of(&ctx, "SELECT fcr_rate(contacts) FROM tickets").await;
    assert!((55.0..90.0).contains(&fcr), "FCR {fcr}");
    assert!(f64_of(&ctx, "SELECT CAST(max(contacts) AS DOUBLE) FROM tickets").await >= 4.0);

    // Surveys in range, for about a fifth of resolved tickets, and varying by client.
    assert_eq!(scalar(&ctx, "SELECT count(*) FROM surveys WHERE (kind = 'nps' AND score NOT BETWEEN 0 AND 10) OR (kind = 'csat' AND score NOT BETWEEN 1 AND 5) OR kind NOT IN ('nps', 'csat')").await, "0");
    let survey_share = f64_of(&ctx, "SELECT CAST((SELECT count(*) FROM surveys) AS DOUBLE) / count(*) FROM tickets WHERE resolved_at IS NOT NULL").await;
    assert!(
        (0.15..0.22).contains(&survey_share),
        "survey share {survey_share}"
    );
    let spread = f64_of(&ctx, "SELECT stddev(v) FROM (SELECT client_id, nps(score) AS v FROM surveys WHERE kind = 'nps' GROUP BY client_id HAVING count(*) >= 30)").await;
    assert!(spread > 8.0, "NPS spread across clients {spread}");

    // A few large clients and a long tail: the top 20 % of clients hold most tickets.
    let top_share = f64_of(&ctx, "SELECT CAST(sum(n) FILTER (WHERE r <= 6) AS DOUBLE) / sum(n) FROM (SELECT count(*) AS n, row_number() OVER (ORDER BY count(*) DESC) AS r FROM tickets GROUP BY client_id)").await;
    assert!(top_share > 0.45, "top-20% share {top_share}");

    // Clients: every zone valid, some churned, MRR grows with size.
    assert!(
        f64_of(
            &ctx,
            "SELECT CAST(count(*) AS DOUBLE) FROM clients WHERE churned_on IS NOT NULL"
        )
        .await
            >= 1.0
    );
    let correlation = f64_of(&ctx, "SELECT corr(c.mrr, CAST(t.n AS DOUBLE)) FROM clients c JOIN (SELECT client_id, count(*) AS n FROM tickets GROUP BY client_id) t USING (client_id)").await;
    assert!(correlation > 0.5, "MRR/size correlation {correlation}");

    // Time entries and SLA targets.
    assert_eq!(scalar(&ctx, "SELECT count(*) FROM time_entries e LEFT JOIN tickets t USING (ticket_id) WHERE t.ticket_id IS NULL OR e.minutes <= 0").await, "0");
    assert_eq!(
        scalar(
            &ctx,
            "SELECT count(*) FROM sla_targets WHERE client_id IS NULL"
        )
        .await,
        "4"
    );
    assert!(
        f64_of(
            &ctx,
            "SELECT CAST(count(*) AS DOUBLE) FROM sla_targets WHERE client_id IS NOT NULL"
        )
        .await
            >= 2.0
    );
}

#[test]
fn the_same_seed_gives_identical_files() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // With the status history, so that all seven tables exist and are compared.
    generated_with_history(a.path(), 10, 3_000, 6);
    generated_with_history(b.path(), 10, 3_000, 6);
    for table in &TABLES {
        let file = format!("{}/part-0.parquet", table.name);
        let (x, y) = (
            std::fs::read(a.path().join(&file)).unwrap(),
            std::fs::read(b.path().join(&file)).unwrap(),
        );
        assert!(!x.is_empty());
        assert!(x == y, "{file} differs between two runs with the same seed");
    }
    // A different seed gives different data.
    mspkpi::sample::generator::generate(
        b.path(),
        &mspkpi::sample::generator::Options {
            clients: 10,
            tickets: 3_000,
            months: 6,
            seed: 7,
            ..Default::default()
        },
    )
    .unwrap();
    let file = "tickets/part-0.parquet";
    assert_ne!(
        std::fs::read(a.path().join(file)).unwrap(),
        std::fs::read(b.path().join(file)).unwrap()
    );
}

/// The status history draws from a stream of its own: the five tables are the same
/// bytes with or without it, a second run gives the same history, and a run without it
/// removes the status tables an earlier run left.
#[test]
fn the_status_history_leaves_the_other_tables_byte_identical() {
    let (plain, with) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let summary = generated(plain.path(), 6, 2_000, 4);
    let with_summary = generated_with_history(with.path(), 6, 2_000, 4);
    assert_eq!(summary.ticket_status, 0);
    assert!(
        with_summary.ticket_status > 2 * with_summary.tickets,
        "{with_summary:?}"
    );
    for table in [
        "tickets",
        "time_entries",
        "surveys",
        "clients",
        "sla_targets",
    ] {
        let file = format!("{table}/part-0.parquet");
        assert!(
            std::fs::read(plain.path().join(&file)).unwrap()
                == std::fs::read(with.path().join(&file)).unwrap(),
            "{table} differs"
        );
    }
    assert!(!plain.path().join("ticket_status").exists());
    let again = tempfile::tempdir().unwrap();
    generated_with_history(again.path(), 6, 2_000, 4);
    for table in ["ticket_status", "statuses"] {
        let file = format!("{table}/part-0.parquet");
        assert!(
            std::fs::read(again.path().join(&file)).unwrap()
                == std::fs::read(with.path().join(&file)).unwrap(),
            "{table} differs between runs"
        );
    }
    generated(with.path(), 6, 2_000, 4);
    assert!(!with.path().join("ticket_status").exists() && !with.path().join("statuses").exists());
}

async fn open_error(dir: &std::path::Path) -> String {
    match session::open(&dir.into(), None, &EngineOptions::default()).await {
        Ok(_) => panic!("expected an error for {}", dir.display()),
        Err(e) => format!("{e:#}"),
    }
}

#[tokio::test]
async fn catalog_errors_name_the_table_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    generated(dir.path(), 5, 500, 3);

    // A missing table.
    let targets = dir.path().join("sla_targets");
    std::fs::rename(&targets, dir.path().join("_moved")).unwrap();
    let message = open_error(dir.path()).await;
    assert!(
        message.contains("table 'sla_targets'") && message.contains("missing"),
        "{message}"
    );
    std::fs::rename(dir.path().join("_moved"), &targets).unwrap();

    // A file without a column, beside a good one.
    let bad = dir.path().join("tickets/part-9.parquet");
    write_parquet(
        &bad,
        vec![
            ("ticket_id", Arc::new(StringArray::from(vec!["X1"])) as _),
            ("client_id", Arc::new(StringArray::from(vec!["C0001"])) as _),
        ],
    );
    let message = open_error(dir.path()).await;
    assert!(
        message.contains("table 'tickets'")
            && message.contains("part-9.parquet")
            && message.contains("column 'technician_id'")
            && message.contains("column 'priority'")
            && message.contains("is missing"),
        "{message}"
    );
    std::fs::remove_file(&bad).unwrap();

    // Text where a timestamp belongs.
    let surveys = dir.path().join("surveys/part-0.parquet");
    let original = std::fs::read(&surveys).unwrap();
    write_parquet(
        &surveys,
        vec![
            ("survey_id", Arc::new(StringArray::from(vec!["S1"])) as _),
            ("client_id", Arc::new(StringArray::from(vec!["C0001"])) as _),
            (
                "ticket_id",
                Arc::new(StringArray::from(vec![None::<&str>])) as _,
            ),
            (
                "submitted_at",
                Arc::new(StringArray::from(vec!["yesterday"])) as _,
            ),
            ("kind", Arc::new(StringArray::from(vec!["nps"])) as _),
            (
                "score",
                Arc::new(arrow::array::Int32Array::from(vec![9])) as _,
            ),
        ],
    );
    let message = open_error(dir.path()).await;
    assert!(
        message.contains("column 'submitted_at'")
            && message.contains("expected a timestamp")
            && message.contains("surveys/part-0.parquet"),
        "{message}"
    );
    std::fs::write(&surveys, original).unwrap();

    // A truncated file and a file that is not Parquet at all.
    let clients = dir.path().join("clients/part-0.parquet");
    let bytes = std::fs::read(&clients).unwrap();
    std::fs::write(&clients, &bytes[..bytes.len() / 2]).unwrap();
    let message = open_error(dir.path()).await;
    assert!(
        message.contains("clients/part-0.parquet") && message.contains("Parquet"),
        "{message}"
    );
    std::fs::write(&clients, b"client_id,name\nC1,Acme\n").unwrap();
    let message = open_error(dir.path()).await;
    assert!(
        message.contains("clients/part-0.parquet") && message.contains("not a"),
        "{message}"
    );
    std::fs::write(&clients, &bytes).unwrap();

    // Missing data directory.
    let message = open_error(&dir.path().join("nope")).await;
    assert!(
        message.contains("nope") && message.contains("does not exist"),
        "{message}"
    );

    // Back to healthy.
    assert!(
        session::open(&dir.path().into(), None, &EngineOptions::default())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn compatible_types_are_cast_and_hive_partitions_are_read() {
    let dir = tempfile::tempdir().unwrap();
    generated(dir.path(), 5, 500, 3);
    // Surveys with an Int64 score and nanosecond timestamps without a zone.
    let surveys = dir.path().join("surveys");
    std::fs::remove_dir_all(&surveys).unwrap();
    write_parquet(
        &surveys.join("part-0.parquet"),
        vec![
            (
                "survey_id",
                Arc::new(StringArray::from(vec!["S1", "S2"])) as _,
            ),
            (
                "client_id",
                Arc::new(StringArray::from(vec!["C0001", "C0002"])) as _,
            ),
            (
                "ticket_id",
                Arc::new(StringArray::from(vec![None::<&str>, None])) as _,
            ),
            (
                "submitted_at",
                Arc::new(TimestampNanosecondArray::from(vec![
                    1_790_000_000_123_456_789,
                    1_790_000_001_000_000_000,
                ])) as _,
            ),
            ("kind", Arc::new(StringArray::from(vec!["nps", "nps"])) as _),
            ("score", Arc::new(Int64Array::from(vec![10, 3])) as _),
            (
                "channel",
                Arc::new(StringArray::from(vec!["email", "phone"])) as _,
            ),
        ],
    );
    // Tickets split into hive partitions.
    let tickets = dir.path().join("tickets");
    let one = dir.path().join("_one.parquet");
    std::fs::rename(tickets.join("part-0.parquet"), &one).unwrap();
    std::fs::create_dir_all(tickets.join("month=2026-10")).unwrap();
    std::fs::rename(&one, tickets.join("month=2026-10/part-0.parquet")).unwrap();
    write_parquet(
        &tickets.join("month=2026-11/part-0.parquet"),
        vec![
            ("ticket_id", Arc::new(StringArray::from(vec!["X1"])) as _),
            ("client_id", Arc::new(StringArray::from(vec!["C0001"])) as _),
            (
                "technician_id",
                Arc::new(StringArray::from(vec![None::<&str>])) as _,
            ),
            ("priority", Arc::new(StringArray::from(vec!["P2"])) as _),
            (
                "category",
                Arc::new(StringArray::from(vec![None::<&str>])) as _,
            ),
            (
                "created_at",
                Arc::new(
                    TimestampMicrosecondArray::from(vec![1_790_000_000_000_000])
                        .with_timezone("UTC"),
                ) as _,
            ),
            (
                "first_response_at",
                Arc::new(TimestampMicrosecondArray::from(vec![None::<i64>]).with_timezone("UTC"))
                    as _,
            ),
            (
                "resolved_at",
                Arc::new(TimestampMicrosecondArray::from(vec![None::<i64>]).with_timezone("UTC"))
                    as _,
            ),
            (
                "closed_at",
                Arc::new(TimestampMicrosecondArray::from(vec![None::<i64>]).with_timezone("UTC"))
                    as _,
            ),
            (
                "contacts",
                Arc::new(arrow::array::Int32Array::from(vec![None::<i32>])) as _,
            ),
        ],
    );

    let (ctx, _) = session::open(&dir.path().into(), None, &EngineOptions::default())
        .await
        .unwrap();
    let batches = query(
        &ctx,
        "SELECT score, submitted_at, channel FROM surveys ORDER BY survey_id",
    )
    .await;
    let batch = &batches[0];
    assert_eq!(batch.column(0).data_type(), &DataType::Int32);
    assert_eq!(
        batch
            .column(0)
            .as_primitive::<Int32Type>()
            .values()
            .to_vec(),
        vec![10, 3]
    );
    assert_eq!(
        batch.column(1).data_type(),
        &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    let instants = batch
        .column(1)
        .as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
    assert_eq!(instants.value(0), 1_790_000_000_123_456);
    assert_eq!(scalar(&ctx, "SELECT nps(score) FROM surveys").await, "0.0");

    let rows: i64 = scalar(&ctx, "SELECT count(*) FROM tickets")
        .await
        .parse()
        .unwrap();
    let november = query(&ctx, "SELECT count(*) FROM tickets WHERE month = '2026-11'").await;
    assert_eq!(
        november[0].column(0).as_primitive::<Int64Type>().value(0),
        1
    );
    assert!(rows > 400, "{rows}");
    assert!(november[0].column(0).is_valid(0));
}
