//! The report job: golden files, escaping, safe names, reproducibility, atomic swaps.

use std::path::{Path, PathBuf};

use crate::common::*;
use mspkpi::report;

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Checks that every tag opened is closed, in order (void elements aside), and that
/// nothing fetches from the network or runs script.
fn assert_well_formed_html(html: &str) {
    const VOID: [&str; 6] = ["meta", "br", "hr", "img", "input", "link"];
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let end = rest.find('>').expect("unclosed tag");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        let self_closing = tag.ends_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if tag.starts_with('/') {
            assert_eq!(
                stack.pop().as_deref(),
                Some(name.as_str()),
                "closing </{name}> does not match"
            );
        } else if !self_closing && !VOID.contains(&name.as_str()) {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed tags: {stack:?}");
    assert!(!html.contains("<script"), "script in the report");
    assert!(
        !html.contains("http://")
            || html
                .matches("http://")
                .all(|_| html.contains("http://www.w3.org/2000/svg"))
    );
    assert!(
        !html.contains("https://"),
        "a network reference in the report"
    );
}

#[tokio::test]
async fn worked_examples_render_as_the_design_prints_them() {
    let data = tempfile::tempdir().unwrap();
    worked_examples(data.path());
    let out = tempfile::tempdir().unwrap();
    let summary = report::run(&report_options(data.path(), out.path(), "2026-10"))
        .await
        .unwrap();
    assert_eq!(summary.clients, 100 - 3 + 3); // churned in October: still active in October
    let folder = out.path().join("2026-10");

    let r = read(folder.join("R.md"));
    insta::assert_snapshot!("client_R_md", r);
    assert!(r.contains("| First response, average | 20 min ⚠ |"), "{r}");
    assert!(r.contains("_no NPS surveys this month_"), "{r}");
    let row = |text: &str, label: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("| {label} |")))
            .unwrap_or_else(|| panic!("no {label} in\n{text}"))
            .to_string()
    };
    assert!(row(&read(folder.join("F.md")), "First-contact resolution").contains("| 90.0 % |"));
    assert!(row(&read(folder.join("S.md")), "Response SLA met").contains("| 95.0 % |"));
    assert!(row(&read(folder.join("N.md")), "Net Promoter Score").contains("| 60.0 |"));
    assert!(row(&read(folder.join("E.md")), "Time worked per ticket").contains("| 30 min ⚠ |"));
    let o = read(folder.join("O.md"));
    assert!(
        row(&o, "Opened ÷ closed").contains("| 1.20 |")
            && row(&o, "Opened − closed").contains("| 20 |"),
        "{o}"
    );
    // Tickets by priority and by category, hand-counted from the worked example of O
    // (none in September): the top 8 categories, ties by name, the rest as other.
    let section = o
        .split("## Tickets by priority and category")
        .nth(1)
        .unwrap();
    for line in [
        "| P1 | 6 | 0 | +6 |",
        "| P2 | 24 | 0 | +24 |",
        "| P3 | 40 | 0 | +40 |",
        "| P4 | 50 | 0 | +50 |",
        "| category | opened | previous | change |\n|---|---:|---:|---:|\n| network | 30 | 0 | +30 |\n| email | 20 | 0 | +20 |\n| printer | 15 | 0 | +15 |\n| backup | 12 | 0 | +12 |\n| security | 10 | 0 | +10 |\n| hardware | 8 | 0 | +8 |\n| uncategorised | 7 | 0 | +7 |\n| software | 6 | 0 | +6 |\n| other | 12 | 0 | +12 |\n",
    ] {
        assert!(section.contains(line), "'{line}' not in\n{section}");
    }
    let o_html = read(folder.join("O.html"));
    assert_eq!(o_html.matches("<rect").count(), 9, "one bar per category");
    assert!(o_html.contains("<title>other: 12</title>"), "{o_html}");
    // Promised beside achieved, and the goal on the SLA trend charts.
    let s_md = read(folder.join("S.md"));
    assert!(s_md.contains("The goal: **95.0 %** of tickets"), "{s_md}");
    assert!(
        s_md.contains("| P3 | 1 h | 95.0 % | 100 | 166 h 40 min | 0.0 % | 100 |"),
        "{s_md}"
    );
    assert_eq!(
        read(folder.join("S.html"))
            .matches("<title>goal 95.0 %</title>")
            .count(),
        2
    );

    let index = read(folder.join("index.md"));
    insta::assert_snapshot!("index_md", index);
    // Small samples are flagged in the index too: R's 20 responses, not O's 120 tickets.
    assert!(
        index.contains("| [Client R](R.md) | 100.0 % ⚠ | 0.0 % ⚠ |"),
        "{index}"
    );
    assert!(
        index.contains("| [Client O](O.md) | 0.0 % | 0.0 % |"),
        "{index}"
    );
    assert!(
        index.contains("| average MRR at the end | $1,000.00 |"),
        "{index}"
    );
    assert!(index.contains("| churn rate | 3.0 % |"), "{index}");
    let team = read(folder.join("team.md"));
    assert!(team.contains("| tech-9 | 20 min | 25 ⚠ |"), "{team}");

    let html = read(folder.join("N.html"));
    insta::assert_snapshot!("client_N_html", html);
    assert_well_formed_html(&html);
    assert!(html.contains("<svg class=\"trend\"") && html.contains("<svg class=\"nps-bar\""));
    assert!(html.contains("@media print"));
    // The same value reads the same in both formats.
    assert!(html.contains("<td>60.0</td>") && read(folder.join("N.md")).contains("| 60.0 |"));
    // Client reports carry no technician names.
    for file in ["R", "E", "T", "N"] {
        assert!(
            !read(folder.join(format!("{file}.md"))).contains("tech-"),
            "{file}"
        );
        assert!(
            !read(folder.join(format!("{file}.html"))).contains("tech-"),
            "{file}"
        );
    }
}

#[tokio::test]
async fn hostile_names_are_escaped_and_ids_stay_inside() {
    let data = tempfile::tempdir().unwrap();
    let created = utc("2026-10-05 10:00");
    let ids = ["../../x", "a/b", "", "index", "<b>"];
    let tickets: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            ticket(
                &format!("T{i}"),
                id,
                "P4",
                created,
                Some(created + 5 * MIN),
                None,
                None,
                None,
            )
        })
        .collect();
    write_table(data.path(), "tickets", &tickets);
    write_table(data.path(), "time_entries", &[]);
    write_table(data.path(), "surveys", &[]);
    let clients: Vec<_> = ids
        .iter()
        .map(|id| {
            vec![
                s(id),
                s("<script>alert(1)</script> | pipe"),
                s("UTC"),
                Cell::Null,
                date("2025-01-01"),
                Cell::Null,
                Cell::F(10.0),
            ]
        })
        .collect();
    write_table(data.path(), "clients", &clients);
    write_table(
        data.path(),
        "sla_targets",
        &[vec![
            Cell::Null,
            s("P4"),
            Cell::I(60),
            Cell::I(600),
            Cell::B(false),
        ]],
    );
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    report::run(&report_options(data.path(), &out, "2026-10"))
        .await
        .unwrap();
    // Everything is inside OUT/2026-10, one .md and .html per client plus index and team.
    let files: Vec<String> = std::fs::read_dir(out.join("2026-10"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 2 * ids.len() + 4, "{files:?}");
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
    for f in &files {
        assert!(!f.starts_with('.') && !f.contains('/'), "{f}");
    }
    let index = read(out.join("2026-10/index.html"));
    assert!(
        !index.contains("<script>alert"),
        "unescaped name in the index"
    );
    assert!(
        index.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
            || index.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{index}"
    );
    assert_well_formed_html(&index);
    let md = read(out.join("2026-10/index.md"));
    assert!(md.contains("\\| pipe"), "{md}");
}

#[tokio::test]
async fn reruns_are_identical_and_failures_leave_the_previous_reports() {
    let data = tempfile::tempdir().unwrap();
    generated(data.path(), 8, 3_000, 6);
    let out = tempfile::tempdir().unwrap();
    let period = "2025-03";
    report::run(&report_options(data.path(), out.path(), period))
        .await
        .unwrap();
    let folder = out.path().join(period);
    let snapshot = |dir: &Path| -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    };
    let first = snapshot(&folder);
    assert!(first.len() > 4);
    report::run(&report_options(data.path(), out.path(), period))
        .await
        .unwrap();
    assert!(first == snapshot(&folder), "a re-run changed the bytes");

    // A template that fails for one client in the middle of the run.
    let templates = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/templates")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), templates.path().join(entry.file_name())).unwrap();
    }
    let client = templates.path().join("client.md.j2");
    let text = std::fs::read_to_string(&client).unwrap();
    std::fs::write(
        &client,
        format!(
            "{{% if client.id == \"C0003\" %}}{{{{ client.no_such_field }}}}{{% endif %}}\n{text}"
        ),
    )
    .unwrap();
    let mut broken = report_options(data.path(), out.path(), period);
    broken.templates = Some(templates.path().to_path_buf());
    let error = format!("{:#}", report::run(&broken).await.unwrap_err());
    assert!(
        error.contains("client.md.j2:1") && error.contains("C0003"),
        "{error}"
    );
    assert!(
        first == snapshot(&folder),
        "a failed run changed the previous reports"
    );
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        1,
        "staging left behind"
    );

    // A saved query that lacks a column the report needs.
    let queries = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/queries")).unwrap() {
        let entry = entry.unwrap();
        let text = std::fs::read_to_string(entry.path())
            .unwrap()
            .replace("AS fcr,", "AS first_contact,");
        std::fs::write(queries.path().join(entry.file_name()), text).unwrap();
    }
    let mut lacking = report_options(data.path(), out.path(), period);
    lacking.queries = Some(queries.path().to_path_buf());
    let error = format!("{:#}", report::run(&lacking).await.unwrap_err());
    assert!(
        error.contains("fcr") && error.contains("returns no column 'fcr'"),
        "{error}"
    );
}

/// The SLA goal comes from `clients.sla_goal_percent` where the column exists (95 %
/// otherwise), `validate` rejects a goal outside 0-100, and `--currency` sets the
/// symbol of money amounts.
#[tokio::test]
async fn sla_goal_per_client_and_currency() {
    use arrow::array::{Array, Float64Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};
    let data = tempfile::tempdir().unwrap();
    worked_examples(data.path());
    let with_goals = |goal_of_s: f64| {
        let path = data.path().join("clients/part-0.parquet");
        let file = std::fs::File::open(&path).unwrap();
        let batch = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let batch = batch.project(&(0..7).collect::<Vec<_>>()).unwrap();
        let ids = batch
            .column(0)
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .unwrap();
        let goals: Float64Array = (0..ids.len())
            .map(|i| (ids.value(i) == "S").then_some(goal_of_s))
            .collect();
        let mut fields: Vec<Field> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields.push(Field::new("sla_goal_percent", DataType::Float64, true));
        let mut columns = batch.columns().to_vec();
        columns.push(std::sync::Arc::new(goals));
        let batch =
            RecordBatch::try_new(std::sync::Arc::new(Schema::new(fields)), columns).unwrap();
        let mut writer = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&path).unwrap(),
            batch.schema(),
            None,
        )
        .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    };
    with_goals(90.0);
    let out = tempfile::tempdir().unwrap();
    let options = report::ReportOptions {
        currency: mspkpi::report::format::Currency::parse("chf").unwrap(),
        ..report_options(data.path(), out.path(), "2026-10")
    };
    report::run(&options).await.unwrap();
    let folder = out.path().join("2026-10");
    assert!(read(folder.join("S.md")).contains("The goal: **90.0 %** of tickets"));
    assert_eq!(
        read(folder.join("S.html"))
            .matches("<title>goal 90.0 %</title>")
            .count(),
        2
    );
    // Clients without a goal of their own keep the default.
    assert!(read(folder.join("R.md")).contains("The goal: **95.0 %** of tickets"));
    assert!(read(folder.join("index.md")).contains("| average MRR at the end | CHF 1,000.00 |"));
    assert_eq!(
        mspkpi::data::validate::validate(&data.path().into(), None, &Default::default())
            .await
            .unwrap()
            .errors(),
        0
    );

    with_goals(150.0);
    let text = mspkpi::data::validate::validate(&data.path().into(), None, &Default::default())
        .await
        .unwrap()
        .text();
    assert!(
        text.contains("1 × sla_goal_percent outside 0-100") && text.contains("S (150.0)"),
        "{text}"
    );
}

#[tokio::test]
async fn a_client_with_pauses_and_reopens_and_one_without_a_status_history() {
    let data = tempfile::tempdir().unwrap();
    status_history_examples(data.path());
    let out = tempfile::tempdir().unwrap();
    report::run(&report_options(data.path(), out.path(), "2026-10"))
        .await
        .unwrap();
    let w = read(out.path().join("2026-10").join("W.md"));
    insta::assert_snapshot!("client_W_md", w);
    assert!(w.contains("| Resolution SLA met | 75.0 % ⚠ |"), "{w}");
    assert!(w.contains("| Reopen rate | 25.0 % ⚠ |"), "{w}");
    assert!(
        w.contains("A service level's clock stops while a ticket waits on you"),
        "{w}"
    );
    // Without the status tables: a sentence, never a zero.
    std::fs::remove_dir_all(data.path().join("ticket_status")).unwrap();
    std::fs::remove_dir_all(data.path().join("statuses")).unwrap();
    let out = tempfile::tempdir().unwrap();
    report::run(&report_options(data.path(), out.path(), "2026-10"))
        .await
        .unwrap();
    let w = read(out.path().join("2026-10").join("W.md"));
    insta::assert_snapshot!("client_W_without_history_md", w);
    assert!(w.contains("| Reopen rate | _no status history_ |"), "{w}");
    assert!(
        w.contains("| Time waiting on you, average | _no status history_ |"),
        "{w}"
    );
    assert!(w.contains("There is no status history"), "{w}");
}
