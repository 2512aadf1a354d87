//! Readers while an import commits, and imports that are killed. Over Delta tables a
//! run reads the import that was the latest when it started, whole, whatever commits
//! meanwhile; a killed import leaves the previous one, and the next completes. Over
//! plain Parquet folders a run reads the data as its registration listed it; a file
//! replaced under it fails the run with "changed during the run: rerun", never with
//! another history's numbers; a killed import leaves the previous data, which the next
//! run finds. The pause points (`MSPKPI_PAUSE_AT`) make each overlap certain.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::walk;

const PERIOD: &str = "2026-03";

/// The tables a history has, each imported from a source of the same name.
const SOURCES: [&str; 5] = [
    "tickets",
    "clients",
    "time_entries",
    "surveys",
    "sla_targets",
];

/// A generated history of its own seed, as Parquet sources.
pub fn history(root: &Path, seed: u64) -> PathBuf {
    let dir = root.join(format!("history-{seed}"));
    let out = mspkpi()
        .args([
            "generate",
            "--clients",
            "5",
            "--tickets",
            "1500",
            "--months",
            "4",
        ])
        .args(["--start", "2025-12", "--seed", &seed.to_string(), "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    dir
}

/// The identity mapping: each canonical table as its Parquet source holds it.
pub fn identity_mapping(root: &Path) -> PathBuf {
    let dir = root.join("mapping");
    std::fs::create_dir_all(&dir).unwrap();
    for table in SOURCES {
        std::fs::write(
            dir.join(format!("{table}.sql")),
            format!("-- reads: source_{table}\nSELECT * EXCLUDE (_source_row, _source_file) FROM source_{table}\n"),
        )
        .unwrap();
    }
    dir
}

fn mspkpi() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mspkpi"))
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn import(mapping: &Path, history: &Path, out: &Path, format: &str) -> Command {
    let mut command = mspkpi();
    command
        .arg("import")
        .args(["--format", format])
        .arg("--mapping")
        .arg(mapping);
    for table in SOURCES {
        command
            .arg("--source")
            .arg(format!("source_{table}={}", history.join(table).display()));
    }
    command.arg("--out").arg(out).args(["--threads", "2"]);
    command
}

fn export(data: &Path, out: &Path) -> Command {
    let mut command = mspkpi();
    command
        .args(["export", "--threads", "2", "--period", PERIOD, "--data"])
        .arg(data)
        .arg("--out")
        .arg(out);
    command
}

/// The files of an export, by path below its folder, with their bytes.
fn exported(out: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    walk(out)
        .into_iter()
        .map(|file| {
            let bytes = std::fs::read(&file).unwrap();
            (file.strip_prefix(out).unwrap().to_path_buf(), bytes)
        })
        .collect()
}

fn succeeds(command: &mut Command) -> Output {
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    output
}

/// A process stopped at a pause point, killed if the test ends early.
pub struct Paused {
    child: Option<Child>,
    folder: PathBuf,
    step: &'static str,
}

impl Paused {
    pub fn start(mut command: Command, folder: &Path, step: &'static str) -> Self {
        std::fs::create_dir_all(folder).unwrap();
        let child = command
            .env("MSPKPI_PAUSE_AT", step)
            .env("MSPKPI_PAUSE_DIR", folder)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut paused = Self {
            child: Some(child),
            folder: folder.to_path_buf(),
            step,
        };
        let reached = folder.join(format!("{step}.reached"));
        let started = Instant::now();
        while !reached.exists() {
            if let Some(status) = paused.child.as_mut().unwrap().try_wait().unwrap() {
                let output = paused.child.take().unwrap().wait_with_output().unwrap();
                panic!("ended ({status}) before {step}: {}", text(&output));
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "{step} not reached"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        paused
    }

    pub fn resume(mut self) -> Output {
        std::fs::write(self.folder.join(format!("{}.go", self.step)), b"").unwrap();
        self.child.take().unwrap().wait_with_output().unwrap()
    }

    fn kill(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

struct Histories {
    root: tempfile::TempDir,
    mapping: PathBuf,
    /// How the imports store the tables: `delta` or `parquet`.
    format: &'static str,
    a: PathBuf,
    b: PathBuf,
    /// The export of each history, imported on its own.
    expected_a: Vec<(PathBuf, Vec<u8>)>,
    expected_b: Vec<(PathBuf, Vec<u8>)>,
}

impl Histories {
    fn new(format: &'static str) -> Self {
        let root = tempfile::tempdir().unwrap();
        let mapping = identity_mapping(root.path());
        let a = history(root.path(), 1);
        let b = history(root.path(), 2);
        let expected = |history: &Path, name: &str| {
            let data = root.path().join(format!("only-{name}"));
            succeeds(&mut import(&mapping, history, &data, format));
            let out = root.path().join(format!("export-{name}"));
            succeeds(&mut export(&data, &out));
            exported(&out)
        };
        let expected_a = expected(&a, "a");
        let expected_b = expected(&b, "b");
        assert!(!expected_a.is_empty());
        assert_ne!(expected_a, expected_b, "the two histories give other facts");
        Self {
            root,
            mapping,
            format,
            a,
            b,
            expected_a,
            expected_b,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    fn import(&self, history: &Path, out: &Path) -> Command {
        import(&self.mapping, history, out, self.format)
    }

    /// Runs `imports` imports into `data`, `first` and the other history by turns,
    /// while `export` runs in a loop (given its round); returns how many of its rounds
    /// ended while the imports still ran.
    fn exports_during_imports(
        &self,
        data: &Path,
        imports: usize,
        first: &Path,
        mut export: impl FnMut(usize),
    ) -> usize {
        let second = if first == self.a { &self.b } else { &self.a };
        let importing = std::sync::atomic::AtomicBool::new(true);
        let mut overlapped = 0;
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for round in 0..imports {
                    let history = if round % 2 == 0 { first } else { second };
                    succeeds(&mut self.import(history, data));
                }
                importing.store(false, std::sync::atomic::Ordering::SeqCst);
            });
            let started = Instant::now();
            let mut round = 0;
            while importing.load(std::sync::atomic::Ordering::SeqCst) {
                assert!(
                    started.elapsed() < Duration::from_secs(600),
                    "the loop takes too long"
                );
                round += 1;
                export(round);
                if importing.load(std::sync::atomic::Ordering::SeqCst) {
                    overlapped += 1;
                }
            }
        });
        overlapped
    }

    /// Exports `data` into a new folder and says which history it equals.
    fn export_is(&self, data: &Path, name: &str) -> &'static str {
        let out = self.path(name);
        succeeds(&mut export(data, &out));
        let facts = exported(&out);
        if facts == self.expected_a {
            "a"
        } else if facts == self.expected_b {
            "b"
        } else {
            "neither"
        }
    }
}

fn leftovers(data: &Path) -> Vec<String> {
    let name = data.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_dir(data.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!(".{name}.")))
        .collect()
}

#[test]
fn readers_during_parquet_imports_see_one_history_or_are_told_to_rerun() {
    let histories = Histories::new("parquet");
    let data = histories.path("data");
    succeeds(&mut histories.import(&histories.a, &data));
    assert_eq!(histories.export_is(&data, "first"), "a");

    // An export that has listed the files when an import commits reads none of the new
    // files: it fails, saying so, and writes nothing.
    let reader = Paused::start(
        export(&data, &histories.path("overtaken")),
        &histories.path("pause-reader"),
        "registered",
    );
    succeeds(&mut histories.import(&histories.b, &data));
    let overtaken = reader.resume();
    let said = text(&overtaken);
    assert!(!overtaken.status.success(), "{said}");
    assert!(
        said.contains("changed during the run (an import replaced the data?): rerun"),
        "{said}"
    );
    assert!(said.contains("/data/"), "{said}");
    assert!(!said.contains("damaged"), "{said}");
    assert!(
        !histories
            .path("overtaken")
            .join(format!("period={PERIOD}"))
            .exists()
    );
    assert_eq!(histories.export_is(&data, "after"), "b");

    // While an import waits to commit, readers see the previous history whole.
    let writer = Paused::start(
        histories.import(&histories.a, &data),
        &histories.path("pause-writer"),
        "commit",
    );
    assert_eq!(histories.export_is(&data, "during"), "b");
    assert!(writer.resume().status.success());
    assert_eq!(histories.export_is(&data, "committed"), "a");

    // Imports and exports in loops: every export is one history's facts, exactly, or
    // a failure that says the data changed.
    let (mut exact, mut told) = (0, 0);
    let overlapped = histories.exports_during_imports(&data, 8, &histories.b, |round| {
        let out = histories.path(&format!("loop-{round}"));
        let output = export(&data, &out).output().unwrap();
        if output.status.success() {
            let facts = exported(&out);
            assert!(
                facts == histories.expected_a || facts == histories.expected_b,
                "export {round} is neither history's"
            );
            exact += 1;
        } else {
            let said = text(&output);
            assert!(said.contains("changed during the run"), "{said}");
            told += 1;
        }
    });
    assert!(
        overlapped >= 3,
        "only {overlapped} exports ran during the imports"
    );
    // Exact reads during an import are shown above; here most exports overlap a commit.
    println!("{exact} exports exact, {told} told to rerun");
    assert!(leftovers(&data).is_empty(), "{:?}", leftovers(&data));
}

#[test]
fn a_killed_parquet_import_leaves_the_previous_data_and_the_next_run_repairs() {
    let histories = Histories::new("parquet");
    let data = histories.path("data");
    succeeds(&mut histories.import(&histories.a, &data));

    // Killed with its tables written, before the swap: the data is A's; the next import
    // removes the staging folder it left.
    let killed = |history: &Path, step: &'static str, folder: &str, two_renames: bool| {
        let mut command = histories.import(history, &data);
        if two_renames {
            command.env("MSPKPI_TWO_RENAMES", "1");
        }
        Paused::start(command, &histories.path(folder), step).kill();
    };
    killed(&histories.b, "commit", "pause-1", false);
    assert_eq!(leftovers(&data).len(), 1, "{:?}", leftovers(&data));
    assert_eq!(histories.export_is(&data, "after-kill-1"), "a");
    succeeds(&mut histories.import(&histories.b, &data));
    assert!(leftovers(&data).is_empty(), "{:?}", leftovers(&data));
    assert_eq!(histories.export_is(&data, "after-import-1"), "b");

    // Where the swap is two renames, killed between them: the data directory is
    // missing and its previous contents are beside it. The next run puts them back.
    killed(&histories.a, "commit.between-renames", "pause-2", true);
    assert!(!data.exists());
    assert_eq!(leftovers(&data).len(), 2, "{:?}", leftovers(&data));
    let out = histories.path("after-kill-2");
    let restored = succeeds(&mut export(&data, &out));
    assert!(
        text(&restored).contains("note: restored"),
        "{}",
        text(&restored)
    );
    assert_eq!(exported(&out), histories.expected_b);
    succeeds(
        histories
            .import(&histories.a, &data)
            .env("MSPKPI_TWO_RENAMES", "1"),
    );
    assert!(leftovers(&data).is_empty(), "{:?}", leftovers(&data));
    assert_eq!(histories.export_is(&data, "after-import-2"), "a");
}

/// The numbers of the imports in a data directory's manifest.
#[cfg(feature = "delta")]
fn manifest_imports(data: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(data.join("_mspkpi/imports.ndjson")).unwrap();
    text.lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            value["import"].as_u64().unwrap()
        })
        .collect()
}

#[cfg(feature = "delta")]
#[test]
fn readers_during_delta_imports_see_one_import_whole() {
    let histories = Histories::new("delta");
    let data = histories.path("data");
    succeeds(&mut histories.import(&histories.a, &data));
    assert!(data.join("tickets/_delta_log").is_dir());
    assert_eq!(manifest_imports(&data), [1]);
    assert_eq!(histories.export_is(&data, "first"), "a");

    // An export that registered its tables before an import commits reads its import,
    // exactly, to the end.
    let reader = Paused::start(
        export(&data, &histories.path("held")),
        &histories.path("pause-reader"),
        "registered",
    );
    succeeds(&mut histories.import(&histories.b, &data));
    let held = reader.resume();
    assert!(held.status.success(), "{}", text(&held));
    assert_eq!(exported(&histories.path("held")), histories.expected_a);
    assert_eq!(histories.export_is(&data, "after"), "b");

    // Between the commits of two tables, and before the manifest names them, readers
    // see the previous import whole.
    for step in ["commit.table", "manifest"] {
        let writer = Paused::start(
            histories.import(&histories.a, &data),
            &histories.path(&format!("pause-{step}")),
            step,
        );
        assert_eq!(histories.export_is(&data, &format!("during-{step}")), "b");
        assert!(writer.resume().status.success());
        assert_eq!(histories.export_is(&data, &format!("after-{step}")), "a");
        succeeds(&mut histories.import(&histories.b, &data));
    }

    // Imports and exports in loops: every export succeeds with one history's facts.
    let overlapped = histories.exports_during_imports(&data, 10, &histories.a, |round| {
        let seen = histories.export_is(&data, &format!("loop-{round}"));
        assert_ne!(seen, "neither", "export {round} is neither history's");
    });
    assert!(
        overlapped >= 3,
        "only {overlapped} exports ran during the imports"
    );
    assert!(leftovers(&data).is_empty(), "{:?}", leftovers(&data));
}

#[cfg(feature = "delta")]
#[test]
fn a_killed_delta_import_leaves_the_previous_import_and_the_next_completes() {
    let histories = Histories::new("delta");
    let data = histories.path("data");
    succeeds(&mut histories.import(&histories.a, &data));
    // Killed with its tables staged, with one table committed, and before the
    // manifest: readers see import 1 each time; the next import commits over it.
    for (round, step) in ["commit", "commit.table", "manifest"]
        .into_iter()
        .enumerate()
    {
        Paused::start(
            histories.import(&histories.b, &data),
            &histories.path(&format!("pause-{round}")),
            step,
        )
        .kill();
        assert_eq!(manifest_imports(&data), [1], "killed at {step}");
        assert_eq!(
            histories.export_is(&data, &format!("after-kill-{round}")),
            "a"
        );
    }
    succeeds(&mut histories.import(&histories.b, &data));
    assert_eq!(manifest_imports(&data), [1, 2]);
    assert_eq!(histories.export_is(&data, "completed"), "b");
    // The killed runs' staging folders are gone once an import ran after them.
    assert!(leftovers(&data).is_empty(), "{:?}", leftovers(&data));
}

/// The rows a Delta table's log counts in its live files (each add action's
/// `numRecords`); panics on a live file without one.
#[cfg(feature = "delta")]
fn logged_rows(table: &Path) -> u64 {
    let mut live = std::collections::BTreeMap::new();
    let mut commits: Vec<PathBuf> = std::fs::read_dir(table.join("_delta_log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    commits.sort();
    for commit in commits {
        for line in std::fs::read_to_string(&commit).unwrap().lines() {
            let action: serde_json::Value = serde_json::from_str(line).unwrap();
            if let Some(add) = action.get("add") {
                let stats: serde_json::Value =
                    serde_json::from_str(add["stats"].as_str().expect("stats")).unwrap();
                let rows = stats["numRecords"].as_u64().expect("numRecords");
                live.insert(add["path"].as_str().unwrap().to_string(), rows);
            } else if let Some(remove) = action.get("remove") {
                live.remove(remove["path"].as_str().unwrap());
            }
        }
    }
    assert!(!live.is_empty(), "{}: no live files", table.display());
    live.values().sum()
}

/// A report's files, by path below its folder, with their bytes.
#[cfg(feature = "delta")]
fn report(data: &Path, out: &Path, as_of: Option<&str>) -> Vec<(PathBuf, Vec<u8>)> {
    let mut command = mspkpi();
    command
        .args([
            "report",
            "--threads",
            "2",
            "--period",
            PERIOD,
            "--format",
            "md,html",
        ])
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out);
    if let Some(as_of) = as_of {
        command.args(["--as-of", as_of]);
    }
    succeeds(&mut command);
    exported(out)
}

#[cfg(feature = "delta")]
#[test]
fn as_of_reproduces_an_earlier_report_and_vacuum_keeps_what_readers_hold() {
    let histories = Histories::new("delta");
    let data = histories.path("data");
    succeeds(&mut histories.import(&histories.a, &data));
    let first = report(&data, &histories.path("report-1"), None);
    let plain = histories.path("plain");
    succeeds(&mut import(
        &histories.mapping,
        &histories.a,
        &plain,
        "parquet",
    ));
    assert_eq!(
        report(&plain, &histories.path("report-plain"), None),
        first,
        "a Delta import reports as the plain one"
    );
    succeeds(&mut histories.import(&histories.b, &data));
    let second = report(&data, &histories.path("report-2"), None);
    assert_ne!(second, first);
    assert_eq!(report(&data, &histories.path("as-of-1"), Some("1")), first);
    let manifest = std::fs::read_to_string(data.join("_mspkpi/imports.ndjson")).unwrap();
    let line: serde_json::Value = serde_json::from_str(manifest.lines().next().unwrap()).unwrap();
    let committed = line["committed_at"].as_str().unwrap();
    assert_eq!(
        report(&data, &histories.path("as-of-time"), Some(committed)),
        first
    );

    // Unknown imports, and --as-of over plain folders, are refused by name.
    let unknown = mspkpi()
        .args(["export", "--period", PERIOD, "--as-of", "9", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(histories.path("unknown"))
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(
        text(&unknown).contains("--as-of import 9: no such import"),
        "{}",
        text(&unknown)
    );
    let over_plain = mspkpi()
        .args(["export", "--period", PERIOD, "--as-of", "1", "--data"])
        .arg(&plain)
        .arg("--out")
        .arg(histories.path("over-plain"))
        .output()
        .unwrap();
    assert!(
        text(&over_plain).contains("has no import manifest"),
        "{}",
        text(&over_plain)
    );

    // A vacuum within the retention removes nothing; a reader holding import 2 reads
    // through a vacuum with no retention, which removes import 1's files.
    let kept = succeeds(mspkpi().args(["vacuum", "--data"]).arg(&data));
    assert!(text(&kept).contains("removed 0 files"), "{}", text(&kept));
    let reader = Paused::start(
        export(&data, &histories.path("through-vacuum")),
        &histories.path("pause-vacuum"),
        "registered",
    );
    let vacuumed = succeeds(
        mspkpi()
            .args(["vacuum", "--retain", "0s", "--data"])
            .arg(&data),
    );
    let said = text(&vacuumed);
    assert!(
        said.contains("imports still readable: 2") && !said.contains("removed 0 files"),
        "{said}"
    );
    let held = reader.resume();
    assert!(held.status.success(), "{}", text(&held));
    assert_eq!(
        exported(&histories.path("through-vacuum")),
        histories.expected_b
    );
    assert_eq!(report(&data, &histories.path("report-3"), None), second);
    let gone = mspkpi()
        .args(["export", "--period", PERIOD, "--as-of", "1", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(histories.path("gone"))
        .output()
        .unwrap();
    assert!(!gone.status.success());
    assert!(
        text(&gone).contains(
            "is missing, though version 0 of the table names it: removed by `mspkpi vacuum`?"
        ),
        "{}",
        text(&gone)
    );

    // validate reads every version the manifest names (vacuumed files are no error),
    // and names the import whose log it cannot read.
    succeeds(mspkpi().args(["validate", "--data"]).arg(&data));
    std::fs::write(
        data.join("surveys/_delta_log/00000000000000000001.json"),
        b"{",
    )
    .unwrap();
    let broken = mspkpi()
        .args(["validate", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(broken.status.code(), Some(1), "{}", text(&broken));
    assert!(
        text(&broken).contains("import 2: cannot read version 1 of the Delta table"),
        "{}",
        text(&broken)
    );
}

#[cfg(feature = "delta")]
#[test]
fn format_delta_converts_a_plain_data_directory_in_one_import() {
    let histories = Histories::new("parquet");
    let data = histories.path("data");
    succeeds(&mut histories.import(&histories.a, &data));
    assert!(!data.join("tickets/_delta_log").exists());
    let before = report(&data, &histories.path("before"), None);

    // An import that maps one table converts it and keeps (and converts) the others.
    let tickets_only = histories.path("tickets-only");
    std::fs::create_dir_all(&tickets_only).unwrap();
    std::fs::copy(
        histories.mapping.join("tickets.sql"),
        tickets_only.join("tickets.sql"),
    )
    .unwrap();
    let converted = succeeds(&mut import(&tickets_only, &histories.a, &data, "delta"));
    assert!(
        text(&converted).contains("(Delta tables, import 1)"),
        "{}",
        text(&converted)
    );
    for table in SOURCES {
        assert!(data.join(table).join("_delta_log").is_dir(), "{table}");
    }
    assert_eq!(manifest_imports(&data), [1]);
    assert_eq!(report(&data, &histories.path("after"), None), before);
    // Every file's add action carries its row count, for Delta readers' statistics;
    // converted and imported tables alike.
    for table in SOURCES {
        let counted = succeeds(
            mspkpi()
                .args(["sql", "--format", "csv", "--data"])
                .arg(&data)
                .arg(format!("SELECT count(*) AS n FROM {table}")),
        );
        let counted: u64 = String::from_utf8_lossy(&counted.stdout)
            .lines()
            .nth(1)
            .and_then(|line| line.trim().parse().ok())
            .unwrap_or_else(|| panic!("no count of {table}"));
        assert_eq!(logged_rows(&data.join(table)), counted, "{table}");
    }

    // A Delta directory stays Delta: --format parquet is refused, no flag commits.
    let refused = import(&histories.mapping, &histories.b, &data, "parquet")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("--format parquet:"),
        "{}",
        text(&refused)
    );
    let mut unflagged = mspkpi();
    unflagged
        .arg("import")
        .arg("--mapping")
        .arg(&histories.mapping);
    for table in SOURCES {
        unflagged.arg("--source").arg(format!(
            "source_{table}={}",
            histories.b.join(table).display()
        ));
    }
    succeeds(unflagged.arg("--out").arg(&data));
    assert_eq!(manifest_imports(&data), [1, 2]);
    assert_eq!(histories.export_is(&data, "b-export"), "b");
}
