//! The HTML reports in a real browser: headless Chromium loads the index and a client
//! report with no console message and no request beyond `file:` and `data:`, takes a
//! screenshot that is a real picture, and prints the client report to PDF with the
//! expected number of pages, each naming the client and the period.
//!
//! Needs Debian's `chromium` and `poppler-utils` (`.ci/run` installs them). Under
//! `CI=true` a missing tool fails the test; elsewhere the test is skipped with a message.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;
use mspkpi::report;

/// The pages of the worked example's client N report printed on A4, measured with
/// Chromium 156; a browser may differ by one.
const CLIENT_N_PAGES: usize = 4;

/// The first of the usual Chromium binaries on PATH, or `MSPKPI_CHROMIUM`.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("MSPKPI_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| which(name))
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    })
}

/// The tools, or `None` (with a message) when the test is to be skipped.
fn tools() -> Option<PathBuf> {
    let missing: Vec<&str> = [
        ("chromium", chromium().is_none()),
        ("pdfinfo", which("pdfinfo").is_none()),
        ("pdftotext", which("pdftotext").is_none()),
    ]
    .into_iter()
    .filter(|(_, missing)| *missing)
    .map(|(name, _)| name)
    .collect();
    if missing.is_empty() {
        return chromium();
    }
    let message = format!(
        "browser test needs {} (Debian: apt-get install chromium poppler-utils)",
        missing.join(", ")
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true: {message}");
    }
    eprintln!("skipped: {message}");
    None
}

/// Runs headless Chromium on one page with `extra` flags; its stderr (where console
/// messages are logged). A fresh profile each time, no background networking, and a
/// time limit: the process is killed after 60 s.
fn run_chromium(chromium: &Path, scratch: &Path, page: &Path, extra: &[String]) -> String {
    let profile = tempfile::tempdir_in(scratch).unwrap();
    let log = scratch.join("chromium.log");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdout(std::fs::File::create(scratch.join("chromium.out")).unwrap())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium failed on {}", page.display());
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish {} within 60 s", page.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::read_to_string(log).unwrap()
}

/// The URLs the page itself asked for, from Chromium's net log: requests whose network
/// isolation key is the page's `file://` site (the browser's own background requests
/// carry another key).
fn page_requests(net_log: &Path) -> Vec<String> {
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(net_log).unwrap()).unwrap();
    log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|event| {
            let params = &event["params"];
            let key = params["network_isolation_key"].as_str().unwrap_or("");
            let url = params["url"].as_str()?;
            key.contains("file://").then(|| url.to_string())
        })
        .collect()
}

/// A PNG's size (from its header) and whether it holds more than one colour: the
/// filtered scanlines of a single-colour image hold a handful of distinct bytes (the
/// filter types, the colour, zeros), those of a rendered page many more. Inflated with
/// flate2 as parquet already builds it, so the tests add no feature to the shared build.
fn png_size_and_colours(path: &Path) -> (u32, u32, bool) {
    use std::io::Read;
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    let (width, height) = (be(16), be(20));
    let mut compressed = Vec::new();
    let mut at = 8;
    while at + 8 <= bytes.len() {
        let length = be(at) as usize;
        if &bytes[at + 4..at + 8] == b"IDAT" {
            compressed.extend_from_slice(&bytes[at + 8..at + 8 + length]);
        }
        at += 12 + length;
    }
    let mut pixels = Vec::new();
    flate2::read::ZlibDecoder::new(compressed.as_slice())
        .read_to_end(&mut pixels)
        .unwrap();
    let mut seen = [false; 256];
    pixels.iter().for_each(|b| seen[*b as usize] = true);
    (width, height, seen.iter().filter(|s| **s).count() > 32)
}

fn tool_output(program: &str, args: &[&str]) -> String {
    let output = Command::new(program).args(args).output().unwrap();
    assert!(output.status.success(), "{program} {args:?} failed");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn reports_load_print_and_stay_offline_in_headless_chromium() {
    let Some(chromium) = tools() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    worked_examples(data.path());
    let out = tempfile::tempdir().unwrap();
    report::run(&report_options(data.path(), out.path(), "2026-10"))
        .await
        .unwrap();
    let folder = out.path().join("2026-10").canonicalize().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let s = scratch.path();

    for page in ["index.html", "N.html"] {
        let page = folder.join(page);
        let net_log = s.join("net.json");
        let screenshot = s.join("shot.png");
        let log = run_chromium(
            &chromium,
            s,
            &page,
            &[
                format!("--log-net-log={}", net_log.display()),
                format!("--screenshot={}", screenshot.display()),
                "--window-size=1280,900".into(),
            ],
        );
        let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
        assert!(
            console.is_empty(),
            "{}: console messages {console:?}",
            page.display()
        );
        let requests: Vec<String> = page_requests(&net_log)
            .into_iter()
            .filter(|url| !url.starts_with("file:") && !url.starts_with("data:"))
            .collect();
        assert!(
            requests.is_empty(),
            "{}: requests {requests:?}",
            page.display()
        );
        let (width, height, varied) = png_size_and_colours(&screenshot);
        assert_eq!((width, height), (1280, 900), "{}", page.display());
        assert!(
            varied,
            "{}: the screenshot is a single colour",
            page.display()
        );
    }

    // Printed without the browser's own header and footer: the report's page header
    // names the client and the period on every page.
    let pdf = s.join("N.pdf");
    run_chromium(
        &chromium,
        s,
        &folder.join("N.html"),
        &[
            "--no-pdf-header-footer".into(),
            format!("--print-to-pdf={}", pdf.display()),
        ],
    );
    let pdf_path = pdf.to_str().unwrap();
    let pages: usize = tool_output("pdfinfo", &[pdf_path])
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap();
    assert!(
        pages.abs_diff(CLIENT_N_PAGES) <= 1,
        "{pages} pages, expected {CLIENT_N_PAGES} ± 1"
    );
    let mut all = String::new();
    for page in 1..=pages {
        let n = page.to_string();
        let text = tool_output("pdftotext", &["-f", &n, "-l", &n, pdf_path, "-"]);
        assert!(
            text.contains("Client N") && text.contains("October 2026"),
            "page {page} does not name the client and period:\n{text}"
        );
        all.push_str(&text);
    }
    // The worked example's NPS, as the report prints it.
    assert!(
        all.contains("Net Promoter Score: 60.0 from 100 answers"),
        "{all}"
    );
}
