//! The Python package's tests (`python/tests`, pytest), run from here so that the
//! README's test command runs every test.
//!
//! They need a Python with datafusion 55, pyarrow, pytest and the package built from
//! this checkout (`maturin develop`, which `.ci/run` does), named by `MSPKPI_PYTHON`.
//! Under `CI=true` its absence fails the test; elsewhere the test is skipped with a
//! message.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn the_python_package_passes_its_tests() {
    let Ok(python) = std::env::var("MSPKPI_PYTHON") else {
        let message = "MSPKPI_PYTHON is not set: build the package into a virtual environment \
                       (cd python && maturin develop) and set MSPKPI_PYTHON=<venv>/bin/python";
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI=true: {message}");
        }
        eprintln!("skipped: {message}");
        return;
    };
    let tests = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join("tests");
    let mut child = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(&tests)
        .env("MSPKPI_BIN", env!("CARGO_BIN_EXE_mspkpi"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(600);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("pytest {} ran past 10 minutes", tests.display());
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    // Exit status 5 means that pytest collected no test: a failure too.
    assert!(
        status.success(),
        "pytest {} exited with {status}",
        tests.display()
    );
}
