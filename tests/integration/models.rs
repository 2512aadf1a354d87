//! The staged models: computed once per run and read by the KPI queries, registered
//! for ad-hoc SQL by `sql --period`, spilled to Parquet beyond their budget, replaced
//! or extended by a queries folder; and KPIs that custom queries declare.

use std::path::Path;
use std::process::Command;

use crate::common::*;
use mspkpi::models::{self, Placement, Storage};
use mspkpi::period::Period;
use mspkpi::saved_queries::{self, Scope};
use mspkpi::{export, report, session};

fn mspkpi(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_mspkpi"))
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_kpi_queries_read_the_models_and_only_models_count_business_time() {
    let queries = saved_queries::load(None).unwrap();
    let names: Vec<&str> = queries
        .iter()
        .filter(|q| q.scope == Scope::Model)
        .map(|q| q.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "client_terms",
            "ticket_facts",
            "ticket_status_facts",
            "work_facts"
        ]
    );
    for query in queries.iter().filter(|q| q.scope != Scope::Model) {
        for function in ["business_minutes(", "business_deadline(", "sla_met("] {
            assert!(!query.sql.contains(function), "{query} calls {function}");
        }
        let reads = |table: &str| {
            let words: Vec<&str> = query.sql.split_whitespace().collect();
            words
                .windows(2)
                .any(|w| ["FROM", "JOIN"].contains(&w[0]) && w[1] == table)
        };
        let reads_raw = ["tickets", "time_entries", "ticket_status", "statuses"]
            .into_iter()
            .any(reads);
        let exempt = ["churn", "satisfaction"].contains(&query.name.as_str());
        assert!(
            exempt || !reads_raw,
            "{query} reads the raw tables, not the models"
        );
    }
}

#[test]
fn sql_with_a_period_registers_the_models() {
    let dir = tempfile::tempdir().unwrap();
    worked_examples(dir.path());
    let data = dir.path().display().to_string();
    let (code, out, err) = mspkpi(&[
        "sql",
        "--data",
        &data,
        "--period",
        "2026-10",
        "--format",
        "csv",
        "SELECT client_id, count(*) AS opened, count(*) FILTER (WHERE priority = 'P1') AS p1 FROM ticket_facts WHERE created_period = DATE '2026-10-01' AND client_id = 'O' GROUP BY client_id",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "client_id,opened,p1\nO,120,6\n");
    // E's ten tickets had 300 minutes worked in October (the worked example).
    let (code, out, err) = mspkpi(&[
        "sql",
        "--data",
        &data,
        "--period",
        "2026-10",
        "--format",
        "csv",
        "SELECT sum(minutes) AS minutes, count(DISTINCT ticket_id) AS tickets FROM work_facts WHERE client_id = 'E' AND period = DATE '2026-10-01'",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "minutes,tickets\n300.0,10\n");
    // Without --period there are no models.
    let (code, _, err) = mspkpi(&["sql", "--data", &data, "SELECT * FROM ticket_facts"]);
    assert_ne!(code, 0);
    assert!(err.contains("ticket_facts"), "{err}");
}

async fn model_rows(ctx: &datafusion::prelude::SessionContext, sql: &str) -> Vec<String> {
    let batches = query(ctx, sql).await;
    let text = arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string();
    text.lines().map(str::to_string).collect()
}

#[tokio::test]
async fn a_model_beyond_its_budget_is_spilled_to_parquet_and_removed_after_the_run() {
    let dir = tempfile::tempdir().unwrap();
    // With a status history, so that the lists of pauses go through Parquet too.
    generated_with_history(dir.path(), 6, 4_000, 14);
    let period = Period::parse("2025-12").unwrap();
    let params = saved_queries::period_params(&period);
    let queries = saved_queries::load(None).unwrap();
    let sql = "SELECT client_id, created_period, count(*), round(sum(resolution_minutes), 3), count(response_met) FILTER (WHERE response_met), max(resolution_decided_at) FROM ticket_facts GROUP BY 1, 2 ORDER BY 1, 2";
    let mut results = Vec::new();
    for placement in [Placement::Memory, Placement::Bounded(64 << 10)] {
        let engine = session::EngineOptions {
            threads: Some(3),
            ..Default::default()
        };
        let (ctx, _) = session::open(&dir.path().into(), &engine).await.unwrap();
        mspkpi::period::register_periods(&ctx, period.grain).unwrap();
        // Each model is announced once its table is there, so the queries waiting for it
        // can start.
        let announced = std::sync::Mutex::new(Vec::new());
        let run = models::materialise(
            &ctx,
            &queries,
            &params,
            &placement,
            |_| {},
            |name| {
                assert!(
                    ctx.table_exist(name).unwrap(),
                    "{name} announced before it is there"
                );
                announced.lock().unwrap().push(name.to_string());
            },
        )
        .await
        .unwrap();
        let storage: Vec<Storage> = run.models.iter().map(|m| m.storage).collect();
        let expected = if placement != Placement::Memory {
            Storage::Parquet
        } else {
            Storage::Memory
        };
        // client_terms (a few rows) fits any budget's share. The three models that read
        // no other model run together, before the ticket_facts that reads two of them.
        assert_eq!(storage, [Storage::Memory, expected, expected, expected]);
        let names: Vec<&str> = run.models.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "client_terms",
                "ticket_status_facts",
                "work_facts",
                "ticket_facts"
            ]
        );
        let mut announced = announced.into_inner().unwrap();
        announced.sort();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(announced, sorted);
        assert!(run.models[1].rows > 1_000, "{:?}", run.models);
        assert!(run.models[3].rows > 1_000, "{:?}", run.models);
        results.push(model_rows(&ctx, sql).await);
        let folder = run.spill_folder();
        assert_eq!(folder.is_some(), placement != Placement::Memory);
        drop(run);
        if let Some(folder) = folder {
            assert!(!folder.exists(), "{} is left behind", folder.display());
        }
        assert!(!ctx.table_exist("ticket_facts").unwrap());
    }
    assert_eq!(results[0], results[1]);
}

#[tokio::test]
async fn a_report_under_a_small_memory_limit_is_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    generated(dir.path(), 6, 4_000, 14);
    let mut folders = Vec::new();
    for limit in [None, Some(128 << 20)] {
        let out = tempfile::tempdir().unwrap();
        let mut options = report_options(dir.path(), out.path(), "2025-12");
        options.engine.memory_limit = limit;
        report::run(&options).await.unwrap();
        let files: Vec<(String, Vec<u8>)> = walk(&out.path().join("2025-12"))
            .into_iter()
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        assert!(files.len() > 10);
        folders.push(files);
    }
    assert!(
        folders[0] == folders[1],
        "a memory limit changed the report"
    );
}

/// A queries folder with the built-in queries, a model of its own that reads a
/// built-in model, and a client query that declares a KPI.
fn custom_queries(dir: &Path) {
    for query in saved_queries::load(None).unwrap() {
        if query.scope != Scope::Model {
            std::fs::write(dir.join(format!("{}.sql", query.name)), &query.sql).unwrap();
        }
    }
    std::fs::write(
        dir.join("urgent_tickets.sql"),
        "-- name: urgent_tickets\n-- description: P1 tickets\n-- scope: model\n\
         SELECT client_id, created_period FROM ticket_facts WHERE priority = 'P1'\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("urgent_share.sql"),
        "-- name: urgent_share\n-- description: the share of P1 tickets among those opened\n-- scope: client\n\
         -- param trend_start: date\n-- param period_start: date\n\
         -- kpi: urgent_share n=opened_n unit=percent label=Urgent (P1) share of tickets opened\n\
         SELECT o.client_id, o.period, 100.0 * coalesce(u.urgent, 0) / o.opened AS urgent_share, o.opened AS opened_n\n\
         FROM (SELECT client_id, created_period AS period, count(*) AS opened FROM ticket_facts GROUP BY 1, 2) o\n\
         LEFT JOIN (SELECT client_id, created_period AS period, count(*) AS urgent FROM urgent_tickets GROUP BY 1, 2) u\n\
           ON u.client_id = o.client_id AND u.period = o.period\n\
         WHERE o.period BETWEEN $trend_start AND $period_start\n",
    )
    .unwrap();
}

#[tokio::test]
async fn a_declared_kpi_reaches_the_client_report_and_the_export() {
    let data = tempfile::tempdir().unwrap();
    worked_examples(data.path());
    let queries_dir = tempfile::tempdir().unwrap();
    custom_queries(queries_dir.path());
    let out = tempfile::tempdir().unwrap();
    let mut options = report_options(data.path(), out.path(), "2026-10");
    options.queries = Some(queries_dir.path().to_path_buf());
    options.formats = vec![report::OutputFormat::Markdown];
    report::run(&options).await.unwrap();
    let text = std::fs::read_to_string(out.path().join("2026-10/O.md")).unwrap();
    // O opened 120 tickets in October, 6 of them P1.
    assert!(
        text.contains("## More KPIs")
            && text.contains("| Urgent (P1) share of tickets opened | 5.0 % |"),
        "{text}"
    );
    assert!(text.contains("| 120 |"), "{text}");

    let queries = saved_queries::load(Some(queries_dir.path())).unwrap();
    let period = Period::parse("2026-10").unwrap();
    let results = report::collect(&data.path().into(), &period, &queries, &Default::default())
        .await
        .unwrap()
        .results;
    let catalogue = report::catalogue::catalogue(&queries);
    let facts = export::facts(&results, &catalogue, &period).unwrap();
    let kpis = facts
        .column(3)
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .unwrap();
    let clients = facts
        .column(0)
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .unwrap();
    let values = facts
        .column(5)
        .as_any()
        .downcast_ref::<arrow::array::Float64Array>()
        .unwrap();
    let ns = facts
        .column(6)
        .as_any()
        .downcast_ref::<arrow::array::Int64Array>()
        .unwrap();
    let row = (0..facts.num_rows())
        .find(|&i| kpis.value(i) == "urgent_share.urgent_share" && clients.value(i) == "O")
        .expect("the declared KPI is exported");
    assert_eq!((values.value(row), ns.value(row)), (5.0, 120));
    // An undeclared column of a custom query (opened_n) is not a KPI.
    assert!((0..facts.num_rows()).all(|i| !kpis.value(i).ends_with("opened_n")));
}

#[tokio::test]
async fn a_queries_folder_can_replace_a_built_in_model() {
    let data = tempfile::tempdir().unwrap();
    worked_examples(data.path());
    let queries_dir = tempfile::tempdir().unwrap();
    custom_queries(queries_dir.path());
    // Only time entries of 18 minutes or more count.
    let work_facts = saved_queries::load(None)
        .unwrap()
        .into_iter()
        .find(|q| q.name == "work_facts")
        .unwrap();
    std::fs::write(
        queries_dir.path().join("work_facts.sql"),
        work_facts.sql.replace(
            "WHERE e.started_at",
            "WHERE e.minutes >= 18 AND e.started_at",
        ),
    )
    .unwrap();
    let queries = saved_queries::load(Some(queries_dir.path())).unwrap();
    assert_eq!(queries.iter().filter(|q| q.name == "work_facts").count(), 1);
    assert!(queries.iter().any(|q| q.name == "ticket_facts"));
    let period = Period::parse("2026-10").unwrap();
    let results = report::collect(&data.path().into(), &period, &queries, &Default::default())
        .await
        .unwrap()
        .results;
    let efficiency = results
        .iter()
        .find(|r| r.query.name == "efficiency")
        .unwrap();
    let e = efficiency
        .client_rows("E")
        .into_iter()
        .find(|r| r.key("period").as_deref() == Some("2026-10-01"));
    // E's twenty entries are of 15 minutes (300 in all with the built-in model): none
    // counts now.
    assert!(e.is_none(), "{e:?}");
    let team = results.iter().find(|r| r.query.name == "team").unwrap();
    let t = team.rows().find(|r| {
        r.text("technician_id") == Some("tech-9")
            && r.key("period").as_deref() == Some("2026-10-01")
    });
    // tech-9's 500 minutes are 25 entries of 20: all still count.
    assert_eq!(t.and_then(|r| r.number("minutes_worked")), Some(500.0));
}

/// A saved query from its text.
fn saved(file: &str, text: &str) -> saved_queries::SavedQuery {
    saved_queries::SavedQuery::parse(file, text).unwrap()
}

#[tokio::test]
async fn queries_start_when_their_models_are_there_and_come_back_in_file_order() {
    let dir = tempfile::tempdir().unwrap();
    worked_examples(dir.path());
    let (ctx, _) = session::open(&dir.path().into(), &Default::default())
        .await
        .unwrap();
    let reads_model = "-- name: a\n-- scope: portfolio\n\
                       SELECT DATE '2026-10-01' AS period, sum(v) AS total FROM m\n";
    let reads_none = "-- name: b\n-- scope: portfolio\n\
                      SELECT DATE '2026-10-01' AS period, count(*) AS tickets FROM tickets\n";
    let model = "-- name: m\n-- scope: model\nSELECT v FROM (VALUES (1), (2), (4)) t(v)\n";
    let queries = [
        saved("a.sql", reads_model),
        saved("b.sql", reads_none),
        saved("m.sql", model),
    ];
    let models: Vec<&str> = vec!["m"];
    assert_eq!(models::reads(&ctx, &queries[0], &models).unwrap(), ["m"]);
    assert!(
        models::reads(&ctx, &queries[1], &models)
            .unwrap()
            .is_empty()
    );
    let results = saved_queries::run_all(
        &ctx,
        &queries,
        &Default::default(),
        &Placement::Memory,
        |_| {},
    )
    .await
    .unwrap();
    let names: Vec<&str> = results.iter().map(|r| r.query.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(results[0].table.row(0).number("total"), Some(7.0));
    assert!(
        !ctx.table_exist("m").unwrap(),
        "the run's model is left registered"
    );

    // A model that fails fails the run with its own error; the query waiting for it
    // does not wait for ever.
    let failing = "-- name: m\n-- scope: model\nSELECT CAST('seven' AS INT) AS v\n";
    let queries = [
        saved("a.sql", reads_model),
        saved("b.sql", reads_none),
        saved("m.sql", failing),
    ];
    let error = saved_queries::run_all(
        &ctx,
        &queries,
        &Default::default(),
        &Placement::Memory,
        |_| {},
    )
    .await
    .err()
    .unwrap();
    assert!(format!("{error:#}").contains("saved query m"), "{error:#}");
}

#[tokio::test]
async fn models_that_read_each_other_in_a_cycle_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    worked_examples(dir.path());
    let a =
        saved_queries::SavedQuery::parse("a.sql", "-- name: a\n-- scope: model\nSELECT * FROM b\n")
            .unwrap();
    let b =
        saved_queries::SavedQuery::parse("b.sql", "-- name: b\n-- scope: model\nSELECT * FROM a\n")
            .unwrap();
    let (ctx, _) = session::open(&dir.path().into(), &Default::default())
        .await
        .unwrap();
    let error = models::materialise(
        &ctx,
        &[a, b],
        &Default::default(),
        &Placement::Memory,
        |_| {},
        |_| {},
    )
    .await
    .err()
    .unwrap();
    assert_eq!(
        error.to_string(),
        "the models a, b read each other in a cycle"
    );
}
