//! The generated sections of the README and of `docs/` (the report excerpt, the
//! schema, the function reference, the ad-hoc SQL session, the validate output) must
//! match what the code produces. `MSPKPI_UPDATE_README=1 cargo test --test integration
//! readme` rewrites them.

use std::path::Path;
use std::process::Command;

use crate::common::{Cell, copy_dir, date, s, write_table_file};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The README's three questions of a service manager, on the demo sample.
const SESSION: [(&str, &str); 3] = [
    (
        "Which clients breached their first-response SLA most last month?",
        "SELECT c.name, count(*) FILTER (WHERE NOT met) AS breaches, round(sla_compliance(met), 1) AS response_sla
FROM (
  SELECT t.client_id, sla_met(t.created_at, t.first_response_at, g.response_minutes,
           TIMESTAMP '2026-10-01 00:00:00Z',
           CASE WHEN g.business_hours THEN coalesce(c.calendar, '24x7') ELSE '24x7' END) AS met
  FROM tickets t
  JOIN clients c ON c.client_id = t.client_id
  JOIN sla_targets g ON g.client_id IS NULL AND g.priority = t.priority
  WHERE local_month(t.created_at, c.timezone) = DATE '2026-09-01'
) s JOIN clients c ON c.client_id = s.client_id
GROUP BY c.name ORDER BY breaches DESC LIMIT 5",
    ),
    (
        "NPS per client over the last quarter",
        "SELECT c.name, round(nps(s.score), 1) AS nps, count(*) AS answers
FROM surveys s JOIN clients c ON c.client_id = s.client_id
WHERE s.kind = 'nps'
  AND local_month(s.submitted_at, c.timezone) BETWEEN DATE '2026-07-01' AND DATE '2026-09-01'
GROUP BY c.name ORDER BY nps DESC LIMIT 5",
    ),
    (
        "Technicians with the most minutes per ticket (last quarter)",
        "SELECT technician_id, round(sum(minutes) / count(DISTINCT ticket_id), 1) AS minutes_per_ticket,
       count(DISTINCT ticket_id) AS tickets
FROM time_entries
WHERE started_at >= TIMESTAMP '2026-07-01 00:00:00Z' AND started_at < TIMESTAMP '2026-10-01 00:00:00Z'
GROUP BY technician_id ORDER BY minutes_per_ticket DESC LIMIT 5",
    ),
];

fn run(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_mspkpi"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success() || args[0] == "validate",
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn replace_section(text: &str, name: &str, body: &str) -> String {
    let start = format!("<!-- {name}:start -->\n");
    let end = format!("<!-- {name}:end -->");
    let (Some(i), Some(j)) = (text.find(&start), text.find(&end)) else {
        panic!("no {name} markers");
    };
    format!("{}{start}{body}{}", &text[..i], &text[j..])
}

fn sample(dir: &Path) {
    mspkpi::sample::generator::generate(dir, &mspkpi::commands::demo::sample_options()).unwrap();
}

#[tokio::test]
async fn readme_sections_match_the_code() {
    let sample_dir = tempfile::tempdir().unwrap();
    let data = sample_dir.path().join("data");
    sample(&data);
    let data_arg = data.to_str().unwrap();

    let schema: String = mspkpi::data::schema::TABLES
        .iter()
        .map(|t| t.markdown() + "\n")
        .collect();

    let mut functions = String::new();
    for (name, kind, doc) in mspkpi::commands::functions::catalog() {
        let doc = doc.expect("every function is documented");
        functions.push_str(&format!(
            "#### `{name}` ({kind})\n\n{}\n\n```sql\n{}\n```\n\n",
            doc.description, doc.syntax_example
        ));
        if let Some(arguments) = &doc.arguments {
            for (argument, description) in arguments {
                functions.push_str(&format!("- `{argument}`: {description}\n"));
            }
            functions.push('\n');
        }
        if let Some(example) = &doc.sql_example {
            functions.push_str(&format!("{}\n\n", example.trim()));
        }
    }

    let mut session = String::new();
    for (question, sql) in SESSION {
        let output = run(&["sql", "--data", data_arg, sql]);
        session.push_str(&format!("**{question}**\n\n```console\n$ mspkpi sql --data mspkpi-demo/data \"\n{sql}\"\n{output}```\n\n"));
    }

    let out = tempfile::tempdir().unwrap();
    run(&[
        "report",
        "--data",
        data_arg,
        "--period",
        "2026-09",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    let client = std::fs::read_to_string(out.path().join("2026-09/C0001.md")).unwrap();
    let excerpt: String = client
        .lines()
        .take_while(|l| !l.starts_with("## Responsiveness"))
        .map(|l| format!("{l}\n"))
        .collect();
    let excerpt = format!("```markdown\n{excerpt}```\n");

    // A broken copy for the troubleshooting section.
    let broken = sample_dir.path().join("broken");
    copy_dir(&data, &broken);
    let surveys = broken.join("surveys/part-0.parquet");
    let bytes = std::fs::read(&surveys).unwrap();
    std::fs::write(&surveys, &bytes[..bytes.len() / 2]).unwrap();
    let time_entries = broken.join("time_entries/part-0.parquet");
    std::fs::remove_file(&time_entries).unwrap();
    std::fs::write(
        broken.join("time_entries/export.parquet"),
        b"ticket_id;minutes\nT1;30\n",
    )
    .unwrap();
    write_table_file(
        &broken,
        "clients",
        "late-additions.parquet",
        &[vec![
            s("C0001"),
            s("Acme Corp (duplicate)"),
            s("Mars/Olympus"),
            s("Mon-Fri 18:00-08:00 UTC"),
            date("2026-01-01"),
            date("2025-06-30"),
            Cell::F(-100.0),
        ]],
    );
    write_table_file(
        &broken,
        "sla_targets",
        "extra.parquet",
        &[vec![
            Cell::Null,
            s("P1"),
            Cell::I(-30),
            Cell::I(240),
            Cell::B(false),
        ]],
    );
    let validate = run(&["validate", "--data", broken.to_str().unwrap()])
        .replace(broken.to_str().unwrap(), "broken-data");
    let troubleshooting =
        format!("```console\n$ mspkpi validate --data broken-data\n{validate}```\n");

    let mut stale = Vec::new();
    for (file, name, body) in [
        ("README.md", "report-excerpt", excerpt),
        ("docs/data.md", "schema", schema),
        ("docs/functions.md", "functions", functions),
        ("docs/sql.md", "sql-session", session),
        (
            "docs/troubleshooting.md",
            "troubleshooting",
            troubleshooting,
        ),
    ] {
        let path = Path::new(ROOT).join(file);
        let current = std::fs::read_to_string(&path).unwrap();
        let updated = replace_section(&current, name, &body);
        if updated == current {
            continue;
        }
        if std::env::var_os("MSPKPI_UPDATE_README").is_some() {
            std::fs::write(&path, &updated).unwrap();
        } else {
            stale.push(format!("{file} ({name})"));
        }
    }
    assert!(
        stale.is_empty(),
        "out of date: {}: run MSPKPI_UPDATE_README=1 cargo test --test integration readme and review the diff",
        stale.join(", ")
    );
}

/// The README is a front door: what it is, the two commands, a report excerpt, the
/// layout and the links on its first screen; the reference lives in `docs/`, and every
/// relative link of the README and the docs names a file that exists.
#[test]
fn the_readme_is_a_front_door_and_its_links_hold() {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let lines: Vec<&str> = readme.lines().collect();
    assert!(lines.len() <= 300, "the README has {} lines", lines.len());
    let first = lines[..60.min(lines.len())].join("\n");
    for needed in [
        "cargo run -- demo",
        "cargo test --workspace",
        "<!-- report-excerpt:end -->",
        "udfs/",
        "docs/functions.md",
        "CONTRIBUTING.md",
    ] {
        assert!(first.contains(needed), "the first 60 lines lack {needed}");
    }
    let mut pages = vec![("".to_string(), readme.clone())];
    for entry in std::fs::read_dir(Path::new(ROOT).join("docs")).unwrap() {
        let path = entry.unwrap().path();
        pages.push(("docs/".to_string(), std::fs::read_to_string(&path).unwrap()));
    }
    for (base, text) in pages {
        for link in text.split("](").skip(1) {
            let target = link.split(')').next().unwrap_or_default();
            let file = target.split('#').next().unwrap_or_default();
            if file.is_empty() || file.contains("://") || file.contains(' ') {
                continue;
            }
            let path = Path::new(ROOT).join(&base).join(file);
            assert!(path.exists(), "{base}: the link {target} names no file");
        }
    }
}
