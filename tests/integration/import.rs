//! `mspkpi import`: the four presets end to end on fixtures in each PSA's documented
//! layout (quoted commas and newlines, empty cells, 12-hour local times, CRLF, a BOM),
//! a generic mapping over JSON, Parquet and a folder, and every kind of bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::walk;

fn fixtures(preset: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(preset)
}

fn mspkpi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mspkpi"))
        .args(args)
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The `--source` arguments of a preset's fixtures, and the flags it needs.
fn preset_args(preset: &str) -> Vec<String> {
    let dir = fixtures(preset);
    let source = |spec: &str| {
        let (name, file) = spec.split_once('=').unwrap_or(("", spec));
        let path = dir.join(file).display().to_string();
        if name.is_empty() {
            path
        } else {
            format!("{name}={path}")
        }
    };
    let mut args: Vec<String> = vec!["--mapping".into(), preset.into()];
    let sources: &[&str] = match preset {
        "connectwise" => &[
            "tickets=Service Tickets.csv",
            "time_entries.csv",
            "surveys.csv",
        ],
        "autotask" => &[
            "tickets=Tickets.csv",
            "time_entries=TimeEntries.csv",
            "surveys.csv",
        ],
        "halopsa" => &["tickets.csv", "actions.csv", "surveys.csv"],
        "zendesk" => &[
            "tickets.json",
            "ticket_metrics.ndjson",
            "ticket_audits.ndjson",
            "satisfaction_ratings.json",
            "time_entries.csv",
        ],
        _ => unreachable!(),
    };
    for spec in sources.iter().chain(&["clients.csv", "sla_targets.csv"]) {
        args.push("--source".into());
        args.push(source(spec));
    }
    // The PSAs' local times are New York's; Zendesk's API times are UTC (its mapping
    // says so), and the time_entries template's are given in UTC.
    args.push("--timezone".into());
    args.push(
        if preset == "zendesk" {
            "UTC"
        } else {
            "America/New_York"
        }
        .into(),
    );
    args
}

fn import(preset: &str, out: &Path) -> Output {
    let mut args: Vec<String> = vec!["import".into()];
    args.extend(preset_args(preset));
    args.extend(["--out".to_string(), out.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    mspkpi(&args)
}

/// The October 2026 report of the client named Acme Corporation.
fn acme_report(data: &Path) -> String {
    let reports = tempfile::tempdir().unwrap();
    let (data, out) = (
        data.display().to_string(),
        reports.path().display().to_string(),
    );
    let run = mspkpi(&[
        "report", "--data", &data, "--period", "2026-10", "--out", &out, "--format", "md",
    ]);
    assert!(run.status.success(), "{}", text(&run));
    let files = walk(reports.path());
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .find(|t| t.contains("Acme Corporation") && t.contains("## At a glance"))
        .unwrap_or_else(|| panic!("no report for Acme among {files:?}"))
}

fn row<'a>(report: &'a str, kpi: &str) -> &'a str {
    report
        .lines()
        .find(|l| l.starts_with(&format!("| {kpi} |")))
        .unwrap_or_else(|| panic!("no row {kpi} in\n{report}"))
}

/// Every preset, on the same five tickets in its PSA's layout (four of Acme's, one of
/// Globex's), counted by hand with Acme's targets around the clock (P1 30 min / 4 h,
/// P2 1 h / 8 h, P3 4 h / 24 h, P4 8 h / 48 h) in New York time (UTC-4 in October):
///
/// - 1: P1, response after 20 min (met), resolved after 3 h (met);
/// - 2: P2, response after 90 min (breached), resolved after 7 h (met);
/// - 3: P3, response after 1 h (met), resolved after 48 h (breached at 24 h);
/// - 4: P4, no response and not resolved: both breached at their deadlines in October.
///
/// Response SLA 2 of 4 = 50 %, resolution SLA 2 of 4 = 50 %. Zendesk's history has
/// ticket 3 pending for 24 h, so its resolution took 24 h of unpaused time: met, 3 of
/// 4 = 75 %, and 1,440 minutes of waiting over the three resolved tickets = 8 h on
/// average; its FCR is 2 of 3 (ticket 2 took three replies), no reopens. Surveys: a
/// CSAT 5 and NPS answers 9 and 6 (NPS 0) in the template; Zendesk's ratings "good" and
/// "bad" are 5 and 1 (CSAT 50 %), its "offered" rating is no answer.
#[test]
fn every_preset_imports_its_fixtures_validates_clean_and_reports_numbers_counted_by_hand() {
    for preset in ["connectwise", "autotask", "halopsa", "zendesk"] {
        let data = tempfile::tempdir().unwrap();
        let out = data.path().join("data");
        let run = import(preset, &out);
        let printed = text(&run);
        assert!(run.status.success(), "{preset}: {printed}");
        assert!(
            printed.contains("tickets       5 rows"),
            "{preset}: {printed}"
        );
        assert!(
            printed.contains("clients       2 rows"),
            "{preset}: {printed}"
        );
        assert!(
            printed.contains("sla_targets   4 rows"),
            "{preset}: {printed}"
        );
        assert!(printed.contains("0 error(s)"), "{preset}: {printed}");
        assert!(
            printed.contains(&format!("imported into {}", out.display())),
            "{preset}: {printed}"
        );
        let validate = mspkpi(&["validate", "--data", &out.display().to_string()]);
        assert!(validate.status.success(), "{preset}: {}", text(&validate));

        let report = acme_report(&out);
        assert!(
            row(&report, "Tickets opened").contains("| 4 |"),
            "{preset}: {report}"
        );
        assert!(
            row(&report, "Tickets closed").contains("| 3 |"),
            "{preset}: {report}"
        );
        // (20 + 90 + 60) / 3 minutes; (3 + 7 + 48) / 3 hours; (90 + 45 + 180) / 3 minutes.
        assert!(
            row(&report, "First response, average").contains("| 57 min ⚠ |"),
            "{preset}: {report}"
        );
        assert!(
            row(&report, "Resolution time, average").contains("| 19 h 20 min ⚠ |"),
            "{preset}: {report}"
        );
        assert!(
            row(&report, "Time worked per ticket").contains("| 1 h 45 min ⚠ |"),
            "{preset}: {report}"
        );
        assert!(
            row(&report, "Response SLA met").contains("| 50.0 % ⚠ |"),
            "{preset}: {report}"
        );
        if preset == "zendesk" {
            assert!(printed.contains("ticket_status 16 rows"), "{printed}");
            assert!(printed.contains("statuses      6 rows"), "{printed}");
            assert!(
                row(&report, "Resolution SLA met").contains("| 75.0 % ⚠ |"),
                "{report}"
            );
            assert!(
                row(&report, "First-contact resolution").contains("| 66.7 % ⚠ |"),
                "{report}"
            );
            assert!(
                row(&report, "Reopen rate").contains("| 0.0 % ⚠ |"),
                "{report}"
            );
            assert!(
                row(&report, "Time waiting on you, average").contains("| 8 h ⚠ |"),
                "{report}"
            );
            assert!(
                row(&report, "Customer satisfaction (CSAT)").contains("| 50.0 % ⚠ |"),
                "{report}"
            );
        } else {
            assert!(
                row(&report, "Resolution SLA met").contains("| 50.0 % ⚠ |"),
                "{preset}: {report}"
            );
            assert!(
                row(&report, "Net Promoter Score").contains("| 0.0 ⚠ |"),
                "{preset}: {report}"
            );
            assert!(
                row(&report, "Customer satisfaction (CSAT)").contains("| 100.0 % ⚠ |"),
                "{preset}: {report}"
            );
        }
    }
}

/// A copy of a preset's fixtures with one file's text changed.
fn fixtures_with(preset: &str, file: &str, from: &str, to: &str) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    crate::common::copy_dir(&fixtures(preset), copy.path());
    let path = copy.path().join(file);
    let original = std::fs::read_to_string(&path).unwrap();
    assert!(original.contains(from), "{file} lacks {from}");
    std::fs::write(&path, original.replacen(from, to, 1)).unwrap();
    copy
}

/// Runs the ConnectWise preset on a changed copy of its fixtures into a data directory
/// that holds an earlier import; returns what it printed, after checking that it
/// failed and left the earlier data as it was.
fn fails_on_connectwise(file: &str, from: &str, to: &str) -> String {
    let data = tempfile::tempdir().unwrap();
    let out = data.path().join("data");
    assert!(import("connectwise", &out).status.success());
    let before: Vec<(PathBuf, Vec<u8>)> = walk(&out)
        .into_iter()
        .map(|f| (f.clone(), std::fs::read(f).unwrap()))
        .collect();
    let changed = fixtures_with("connectwise", file, from, to);
    let mut args: Vec<String> = vec!["import".into()];
    args.extend(preset_args("connectwise").into_iter().map(|a| {
        a.replace(
            &fixtures("connectwise").display().to_string(),
            &changed.path().display().to_string(),
        )
    }));
    args.extend(["--out".to_string(), out.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = mspkpi(&args);
    let printed = text(&run);
    assert_eq!(run.status.code(), Some(1), "{printed}");
    assert!(printed.contains("stays as it was"), "{printed}");
    let after: Vec<(PathBuf, Vec<u8>)> = walk(&out)
        .into_iter()
        .map(|f| (f.clone(), std::fs::read(f).unwrap()))
        .collect();
    assert!(before == after, "the earlier data changed: {printed}");
    let siblings: Vec<_> = std::fs::read_dir(data.path()).unwrap().collect();
    assert_eq!(siblings.len(), 1, "a staging folder is left behind");
    printed
}

#[test]
fn a_date_that_does_not_parse_names_the_source_row_the_value_and_the_mapping_line() {
    let printed = fails_on_connectwise(
        "Service Tickets.csv",
        "10/7/2026 10:00 AM",
        "10/45/2026 10:00 AM",
    );
    assert!(
        printed.contains("preset connectwise: tickets.sql line 17"),
        "{printed}"
    );
    assert!(printed.contains("'10/45/2026 10:00 AM'"), "{printed}");
    // The third data row (the first spans two lines).
    assert!(
        printed.contains("Service Tickets.csv row 3, column dateEntered"),
        "{printed}"
    );
}

#[test]
fn an_unknown_priority_label_names_the_value_and_the_row() {
    let printed = fails_on_connectwise(
        "Service Tickets.csv",
        "Priority 4 - Schedule Maintenance",
        "Whenever",
    );
    assert!(
        printed.contains(
            "preset connectwise: tickets.sql line 15: column priority is not one of P1, P2, P3, P4"
        ),
        "{printed}"
    );
    assert!(printed.contains("'Whenever' in "), "{printed}");
    assert!(printed.contains("Service Tickets.csv row 4"), "{printed}");
}

#[test]
fn a_duplicate_key_names_both_rows() {
    let printed = fails_on_connectwise(
        "Service Tickets.csv",
        "2001,Password reset",
        "1002,Password reset",
    );
    assert!(printed.contains("duplicate ticket_id"), "{printed}");
    assert!(printed.contains("'1002' in "), "{printed}");
    assert!(printed.contains("row 2 and "), "{printed}");
    assert!(printed.contains("row 5"), "{printed}");
}

#[test]
fn local_times_that_do_not_exist_or_happen_twice_are_errors_with_the_value() {
    // 2:30 AM on 8 March 2026 does not exist in New York; 1:30 AM on 1 November 2026
    // happens twice.
    let printed = fails_on_connectwise("time_entries.csv", "10/5/2026 9:05 AM", "3/8/2026 2:30 AM");
    assert!(printed.contains("time_entries.sql line 6: column started_at: a local time in America/New_York that does not exist"), "{printed}");
    assert!(printed.contains("2026-03-08 02:30:00 in "), "{printed}");
    assert!(printed.contains("time_entries.csv row 1"), "{printed}");
    let printed =
        fails_on_connectwise("time_entries.csv", "10/5/2026 9:05 AM", "11/1/2026 1:30 AM");
    assert!(printed.contains("is ambiguous"), "{printed}");
}

#[test]
fn a_validate_error_swaps_nothing_in() {
    // A ticket of a client the clients table does not have.
    let printed = fails_on_connectwise(
        "Service Tickets.csv",
        "2001,Password reset,GLOBEX",
        "2001,Password reset,INITECH",
    );
    assert!(printed.contains("validate:"), "{printed}");
    assert!(printed.contains("INITECH"), "{printed}");
}

#[test]
fn a_timestamp_without_a_zone_is_an_error_unless_the_mapping_declares_one() {
    let data = tempfile::tempdir().unwrap();
    let out = data.path().join("data");
    let mut args: Vec<String> = vec!["import".into()];
    let mut preset = preset_args("connectwise");
    preset.truncate(preset.len() - 2);
    args.extend(preset);
    args.extend(["--out".to_string(), out.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = mspkpi(&args);
    let printed = text(&run);
    assert_eq!(run.status.code(), Some(1), "{printed}");
    assert!(printed.contains("preset connectwise: tickets.sql line 17: column created_at is a timestamp without a time zone"), "{printed}");
    assert!(!out.exists());
}

/// The data files of a table folder (a Delta table's log left out), by name, with
/// their bytes.
fn table_files(data: &Path, table: &str) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let folder = data.join(table);
    let mut files: Vec<_> = crate::common::walk(&folder)
        .into_iter()
        .filter(|f| !f.starts_with(folder.join("_delta_log")))
        .map(|f| (f.clone(), std::fs::read(&f).unwrap()))
        .collect();
    files.sort();
    files
}

/// A mapping folder of one's own, over a JSON array, a Parquet file and a folder of
/// CSV files; a dry run writes nothing, a real one replaces only the tables it maps.
#[test]
fn a_mapping_folder_over_json_parquet_and_a_folder_of_csv_files() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("data");
    assert!(import("connectwise", &out).status.success());
    let kept = table_files(&out, "clients");

    let exports = work.path().join("Exports 2026");
    std::fs::create_dir_all(&exports).unwrap();
    // The ticket ids of the ConnectWise import, whose time entries and surveys stay.
    std::fs::write(
        exports.join("a.csv"),
        "Ref,Opened (local)\n1001,2026-10-05 09:00\n1002,2026-10-06 10:30\n",
    )
    .unwrap();
    std::fs::write(
        exports.join("b.csv"),
        "Ref,Opened (local)\n1003,2026-10-07 11:00\n2001,2026-10-12 08:30\n",
    )
    .unwrap();
    let json = work.path().join("meta.json");
    std::fs::write(&json, r#"[{"ref": "1001", "who": {"client": "ACME"}, "p": 1}, {"ref": "1002", "who": {"client": "ACME"}, "p": 2}, {"ref": "1003", "who": {"client": "ACME"}, "p": 3}, {"ref": "2001", "who": {"client": "GLOBEX"}, "p": 4}]"#).unwrap();
    let parquet = work.path().join("closed.parquet");
    crate::common::write_parquet(
        &parquet,
        vec![
            (
                "ref",
                std::sync::Arc::new(arrow::array::StringArray::from(vec!["1001", "2001"])) as _,
            ),
            (
                "closed_utc",
                std::sync::Arc::new(
                    arrow::array::TimestampMicrosecondArray::from(vec![
                        1_791_216_000_000_000i64,
                        1_791_810_000_000_000,
                    ])
                    .with_timezone("UTC"),
                ) as _,
            ),
        ],
    );
    let mapping = work.path().join("mapping");
    std::fs::create_dir_all(&mapping).unwrap();
    std::fs::write(
        mapping.join("tickets.sql"),
        "-- timezone: America/New_York\n-- reads: exports_2026, meta, closed\nSELECT e.\"Ref\" AS ticket_id,\n       m.\"who.client\" AS client_id,\n       NULL AS technician_id,\n       'P' || CAST(m.p AS VARCHAR) AS priority,\n       NULL AS category,\n       to_timestamp(e.\"Opened (local)\", '%Y-%m-%d %H:%M') AS created_at,\n       NULL AS first_response_at,\n       c.closed_utc AS resolved_at,\n       c.closed_utc AS closed_at,\n       CAST(NULL AS INT) AS contacts,\n       e._source_row, e._source_file\nFROM exports_2026 e JOIN meta m ON m.ref = e.\"Ref\" LEFT JOIN closed c ON c.ref = e.\"Ref\"\n",
    )
    .unwrap();
    let args = |dry: bool| -> Vec<String> {
        let mut args: Vec<String> = ["import", "--mapping"].map(String::from).to_vec();
        args.push(mapping.display().to_string());
        for source in [&exports, &json, &parquet] {
            args.push("--source".into());
            args.push(source.display().to_string());
        }
        args.extend(["--out".into(), out.display().to_string()]);
        if dry {
            args.push("--dry-run".into());
        }
        args
    };
    let before = table_files(&out, "tickets");
    let run = mspkpi(&args(true).iter().map(String::as_str).collect::<Vec<_>>());
    let printed = text(&run);
    assert!(run.status.success(), "{printed}");
    assert!(printed.contains("source exports_2026: 4 rows"), "{printed}");
    assert!(printed.contains("tickets       4 rows"), "{printed}");
    assert!(
        printed.contains("clients       kept from the data directory"),
        "{printed}"
    );
    assert!(
        printed.contains("dry run: clean, nothing written"),
        "{printed}"
    );
    assert_eq!(table_files(&out, "tickets"), before);

    let run = mspkpi(&args(false).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(run.status.success(), "{}", text(&run));
    assert_eq!(table_files(&out, "clients"), kept);
    let data = out.display().to_string();
    let query = mspkpi(&[
        "sql",
        "--data",
        &data,
        "--format",
        "csv",
        "SELECT ticket_id, client_id, priority, created_at, resolved_at FROM tickets ORDER BY ticket_id",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&query.stdout),
        "ticket_id,client_id,priority,created_at,resolved_at\n\
         1001,ACME,P1,2026-10-05T13:00:00Z,2026-10-05T16:00:00Z\n\
         1002,ACME,P2,2026-10-06T14:30:00Z,\n\
         1003,ACME,P3,2026-10-07T15:00:00Z,\n\
         2001,GLOBEX,P4,2026-10-12T12:30:00Z,2026-10-12T13:00:00Z\n",
        "{}",
        text(&query)
    );
}

#[test]
fn bad_arguments_and_sources_fail_clearly() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("data").display().to_string();
    let csv = fixtures("connectwise")
        .join("clients.csv")
        .display()
        .to_string();
    // Two sources with one name.
    let run = mspkpi(&[
        "import",
        "--mapping",
        "connectwise",
        "--source",
        &csv,
        "--source",
        &csv,
        "--out",
        &out,
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        text(&run).contains("two sources are named 'clients'"),
        "{}",
        text(&run)
    );
    // A source that does not exist, a mapping that is neither folder nor preset.
    let run = mspkpi(&[
        "import",
        "--mapping",
        "connectwise",
        "--source",
        "nowhere.csv",
        "--out",
        &out,
    ]);
    assert!(
        text(&run).contains("source nowhere.csv does not exist"),
        "{}",
        text(&run)
    );
    let run = mspkpi(&[
        "import",
        "--mapping",
        "kaseya",
        "--source",
        &csv,
        "--out",
        &out,
    ]);
    assert!(text(&run).contains("'kaseya' is neither a mapping folder nor a preset (connectwise, autotask, halopsa, zendesk)"), "{}", text(&run));
    // A destination that holds other things.
    std::fs::write(work.path().join("notes.txt"), "mine").unwrap();
    let run = mspkpi(&[
        "import",
        "--mapping",
        "connectwise",
        "--source",
        &csv,
        "--out",
        &work.path().display().to_string(),
    ]);
    assert!(
        text(&run).contains("is not empty and not a data directory"),
        "{}",
        text(&run)
    );
    // A mapping file that returns text for a timestamp.
    let mapping = work.path().join("mapping");
    std::fs::create_dir_all(&mapping).unwrap();
    std::fs::write(mapping.join("clients.sql"), "SELECT client_id, name, timezone, calendar,\n  onboarded_on,\n  NULL AS churned_on, 1.0 AS mrr FROM clients").unwrap();
    let run = mspkpi(&[
        "import",
        "--mapping",
        &mapping.display().to_string(),
        "--source",
        &csv,
        "--out",
        &out,
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert!(text(&run).contains("clients.sql line 2: column onboarded_on is Utf8, expected a date (Date32): convert it, e.g. to_date(col, '%m/%d/%Y')"), "{}", text(&run));
    // --print-mapping writes the preset and its templates, and never overwrites.
    let to = work.path().join("my-mapping");
    let run = mspkpi(&[
        "import",
        "--print-mapping",
        "zendesk",
        "--to",
        &to.display().to_string(),
    ]);
    assert!(run.status.success(), "{}", text(&run));
    let mut written: Vec<String> = std::fs::read_dir(&to)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(
        written,
        [
            "clients.csv",
            "clients.sql",
            "sla_targets.csv",
            "sla_targets.sql",
            "statuses.sql",
            "surveys.sql",
            "ticket_status.sql",
            "tickets.sql",
            "time_entries.csv",
            "time_entries.sql"
        ]
    );
    let run = mspkpi(&[
        "import",
        "--print-mapping",
        "zendesk",
        "--to",
        &to.display().to_string(),
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        text(&run).contains("exists: --print-mapping writes into an empty or new folder"),
        "{}",
        text(&run)
    );
}

/// `generate --psa-csv` writes ConnectWise's layout, which the preset imports back:
/// the same tickets per client and priority, the same resolved and closed counts, the
/// same minutes worked and survey answers (times lose only their seconds).
#[test]
fn a_generated_connectwise_export_imports_back_to_the_same_history() {
    let work = tempfile::tempdir().unwrap();
    let (data, csv, out) = (
        work.path().join("data"),
        work.path().join("csv"),
        work.path().join("imported"),
    );
    let (data, csv, out) = (
        data.display().to_string(),
        csv.display().to_string(),
        out.display().to_string(),
    );
    let run = mspkpi(&[
        "generate",
        "--out",
        &data,
        "--clients",
        "4",
        "--tickets",
        "1500",
        "--months",
        "3",
        "--psa-csv",
        &csv,
    ]);
    assert!(run.status.success(), "{}", text(&run));
    let mut args: Vec<String> = [
        "import",
        "--mapping",
        "connectwise",
        "--timezone",
        "UTC",
        "--out",
        &out,
    ]
    .map(String::from)
    .to_vec();
    for (name, file) in mspkpi::sample::psa_csv::FILES {
        args.extend(["--source".to_string(), format!("{name}={csv}/{file}")]);
    }
    let run = mspkpi(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(run.status.success(), "{}", text(&run));
    for sql in [
        "SELECT client_id, priority, count(*), count(resolved_at), count(closed_at), count(first_response_at), count(technician_id) FROM tickets GROUP BY 1, 2 ORDER BY 1, 2",
        "SELECT count(*), round(sum(minutes), 6), count(DISTINCT ticket_id) FROM time_entries",
        "SELECT client_id, kind, count(*), sum(score) FROM surveys GROUP BY 1, 2 ORDER BY 1, 2",
        "SELECT client_id, timezone, calendar, onboarded_on, churned_on, mrr FROM clients ORDER BY 1",
        "SELECT * FROM sla_targets ORDER BY client_id NULLS FIRST, priority",
        // Every instant to the minute, as the export writes it.
        "SELECT ticket_id, date_trunc('minute', created_at), date_trunc('minute', first_response_at), date_trunc('minute', resolved_at), date_trunc('minute', closed_at) FROM tickets ORDER BY ticket_id",
    ] {
        let result = |dir: &str| {
            String::from_utf8_lossy(&mspkpi(&["sql", "--data", dir, "--format", "csv", sql]).stdout)
                .into_owned()
        };
        let (original, imported) = (result(&data), result(&out));
        assert!(original.lines().count() > 1, "{sql}: {original}");
        assert_eq!(imported, original, "{sql}");
    }
}
