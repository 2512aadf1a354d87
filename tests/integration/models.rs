//! The staged models: computed once per run and read by the KPI queries, registered
//! for ad-hoc SQL by `sql --period`, spilled to Parquet beyond their budget, replaced
//! or extended by a queries folder; and KPIs that custom queries declare.

use std::path::Path;
use std::process::Command;

use crate::common::*;
use mspkpi::models::{Placement, Storage};
use mspkpi::period::Period;
use mspkpi::run;
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
        let (ctx, _) = session::open(&dir.path().into(), None, &engine)
            .await
            .unwrap();
        mspkpi::period::register_periods(&ctx, period.grain).unwrap();
        // Each model is announced once its table is there, so the queries waiting for it
        // can start.
        let (mut started, mut announced) = (Vec::new(), Vec::new());
        let models: Vec<saved_queries::SavedQuery> = queries
            .iter()
            .filter(|q| q.scope == Scope::Model)
            .cloned()
            .collect();
        let run = run::run(&ctx, &models, &params, &placement, |step| match step {
            run::Step::Starts(q) => started.push(q.name.clone()),
            run::Step::Registered(q) => {
                assert!(
                    ctx.table_exist(q.name.as_str()).unwrap(),
                    "{} announced before it is there",
                    q.name
                );
                announced.push(q.name.clone());
            }
        })
        .await
        .unwrap();
        let run = run.models;
        let placed = run.models();
        let model = |name: &str| placed.iter().find(|m| m.name == name).unwrap();
        let expected = if placement != Placement::Memory {
            Storage::Parquet
        } else {
            Storage::Memory
        };
        // client_terms (a few rows) fits any budget's share. The three models that read
        // no other model start together, before the ticket_facts that reads two of them.
        assert_eq!(
            started,
            [
                "client_terms",
                "ticket_status_facts",
                "work_facts",
                "ticket_facts"
            ]
        );
        let storage: Vec<Storage> = started.iter().map(|m| model(m).storage).collect();
        assert_eq!(storage, [Storage::Memory, expected, expected, expected]);
        announced.sort();
        let mut sorted = started.clone();
        sorted.sort();
        assert_eq!(announced, sorted);
        assert!(model("ticket_status_facts").rows > 1_000, "{placed:?}");
        assert!(model("ticket_facts").rows > 1_000, "{placed:?}");
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
    let results = report::collect(
        &data.path().into(),
        None,
        &period,
        &queries,
        &Default::default(),
    )
    .await
    .unwrap()
    .results;
    let catalogue = mspkpi::kpi::catalogue(&queries);
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
    let results = report::collect(
        &data.path().into(),
        None,
        &period,
        &queries,
        &Default::default(),
    )
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
    let (ctx, _) = session::open(&dir.path().into(), None, &Default::default())
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
    assert_eq!(run::reads(&ctx, &queries[0], &models).unwrap(), ["m"]);
    assert!(run::reads(&ctx, &queries[1], &models).unwrap().is_empty());
    let results = run::run_all(
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
    let error = run::run_all(
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
    let (ctx, _) = session::open(&dir.path().into(), None, &Default::default())
        .await
        .unwrap();
    let error = run::materialise(&ctx, &[a, b], &Default::default(), &Placement::Memory)
        .await
        .err()
        .unwrap();
    assert_eq!(
        error.to_string(),
        "the models a, b read each other in a cycle"
    );
}

/// A copy of the built-in queries folder, each file changed by `edit`.
fn copy_of_queries(dir: &Path, edit: impl Fn(&str, String) -> String) {
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/queries")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(entry.path()).unwrap();
        std::fs::write(dir.join(&name), edit(&name, text)).unwrap();
    }
}

/// The report (client page and index, Markdown and HTML) and the export of October.
async fn report_and_export(data: &Path, queries: &Path) -> (String, String, String, Vec<String>) {
    let out = tempfile::tempdir().unwrap();
    let mut options = report_options(data, out.path(), "2026-10");
    options.queries = Some(queries.to_path_buf());
    options.formats = vec![report::OutputFormat::Markdown, report::OutputFormat::Html];
    report::run(&options).await.unwrap();
    let read = |file: &str| std::fs::read_to_string(out.path().join("2026-10").join(file)).unwrap();
    let loaded = saved_queries::load(Some(queries)).unwrap();
    let period = Period::parse("2026-10").unwrap();
    let results = report::collect(&data.into(), None, &period, &loaded, &Default::default())
        .await
        .unwrap()
        .results;
    let facts = export::facts(&results, &mspkpi::kpi::catalogue(&loaded), &period).unwrap();
    let kpis = facts
        .column(3)
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .unwrap();
    let mut names: Vec<String> = kpis.iter().flatten().map(str::to_string).collect();
    names.dedup();
    (read("O.md"), read("O.html"), read("index.md"), names)
}

/// A new headline KPI is one SQL file in a copy of `queries/`: it reaches the client
/// report (in its declared place, with its goal line and its no-data sentence), the
/// index and the export; deleting a built-in KPI's header line removes it from all
/// three.
#[tokio::test]
async fn a_kpi_is_one_sql_file_and_its_header_line() {
    let data = tempfile::tempdir().unwrap();
    worked_examples(data.path());
    let queries = tempfile::tempdir().unwrap();
    copy_of_queries(queries.path(), |_, text| text);
    std::fs::write(
        queries.path().join("urgent.sql"),
        "-- name: urgent\n-- description: the share of P1 tickets among those opened\n-- scope: client\n\
         -- param trend_start: date\n-- param period_start: date\n\
         -- kpi: urgent_share n=opened_n unit=percent show=headline order=35 goal=sla_goal_percent needs=ticket_status \
         index=8 index_label=\"urgent share\" no_data=\"no urgent tickets\" label=\"Urgent (P1) share\"\n\
         SELECT client_id, created_period AS period,\n\
                100.0 * count(*) FILTER (WHERE priority = 'P1') / count(*) AS urgent_share, count(*) AS opened_n\n\
         FROM ticket_facts WHERE created_period BETWEEN $trend_start AND $period_start GROUP BY 1, 2\n",
    )
    .unwrap();
    let (md, html, index, exported) = report_and_export(data.path(), queries.path()).await;
    // O opened 120 tickets in October, 6 of them P1; its place is after the response
    // SLA (order 30) and before the resolution SLA (40).
    let headline: Vec<&str> = md
        .lines()
        .skip_while(|l| !l.starts_with("| KPI |"))
        .take_while(|l| l.starts_with('|'))
        .collect();
    let place = |label: &str| {
        headline
            .iter()
            .position(|l| l.starts_with(&format!("| {label} |")))
    };
    assert!(
        place("Response SLA met") < place("Urgent (P1) share")
            && place("Urgent (P1) share") < place("Resolution SLA met"),
        "{md}"
    );
    assert!(
        headline
            .iter()
            .any(|l| l.starts_with("| Urgent (P1) share | 5.0 % |")),
        "{md}"
    );
    assert!(html.contains("goal 95.0 %"), "{html}");
    assert!(
        index.contains("| urgent share |") && index.contains("| 5.0 % |"),
        "{index}"
    );
    assert!(
        exported.contains(&"urgent.urgent_share".to_string()),
        "{exported:?}"
    );

    // Without the history the KPI needs, it says so in every period.
    let text = std::fs::read_to_string(queries.path().join("urgent.sql")).unwrap();
    std::fs::write(
        queries.path().join("urgent.sql"),
        text.replace(
            "created_period BETWEEN",
            "priority = 'none' AND created_period BETWEEN",
        ),
    )
    .unwrap();
    let (md, ..) = report_and_export(data.path(), queries.path()).await;
    assert!(
        md.contains("| Urgent (P1) share | _no status history_ |"),
        "{md}"
    );

    // Deleting a built-in KPI's header line removes it from the report, the index and
    // the export.
    let without = tempfile::tempdir().unwrap();
    copy_of_queries(without.path(), |name, text| {
        if name != "sla.sql" {
            return text;
        }
        text.lines()
            .filter(|l| !l.starts_with("-- kpi: resolution_sla "))
            .map(|l| format!("{l}\n"))
            .collect()
    });
    let (md, html, index, exported) = report_and_export(data.path(), without.path()).await;
    assert!(!md.contains("Resolution SLA met"), "{md}");
    assert!(!html.contains("Resolution SLA met"), "{html}");
    assert!(!index.contains("resolution SLA"), "{index}");
    assert!(
        !exported.iter().any(|k| k == "sla.resolution_sla"),
        "{exported:?}"
    );
    assert!(
        exported.iter().any(|k| k == "sla.response_sla"),
        "{exported:?}"
    );
}

/// A replacement of a built-in query written before the built-in queries declared
/// their KPIs (no `-- kpi:` or `-- section:` lines) keeps the built-in declarations.
#[test]
fn a_replacement_without_declarations_keeps_the_built_in_ones() {
    let queries = tempfile::tempdir().unwrap();
    copy_of_queries(queries.path(), |name, text| {
        if name != "sla.sql" {
            return text;
        }
        text.lines()
            .filter(|l| !l.starts_with("-- kpi:") && !l.starts_with("-- section:"))
            .map(|l| format!("{l}\n"))
            .collect()
    });
    let builtin = saved_queries::load(None).unwrap();
    let loaded = saved_queries::load(Some(queries.path())).unwrap();
    let sla = |queries: &[saved_queries::SavedQuery]| {
        let sla = queries.iter().find(|q| q.name == "sla").unwrap().clone();
        (sla.kpis, sla.sections)
    };
    assert_eq!(sla(&loaded), sla(&builtin));
    assert_eq!(sla(&builtin).0.len(), 2);
    assert_eq!(
        mspkpi::kpi::catalogue(&loaded),
        mspkpi::kpi::catalogue(&builtin)
    );
}
