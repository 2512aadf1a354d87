//! Pause points for tests that must act at a given moment of a run (read while an
//! import commits, kill it between two steps).
//!
//! With `MSPKPI_PAUSE_AT=<step>` and `MSPKPI_PAUSE_DIR=<folder>`, a process that reaches
//! `<step>` creates `<folder>/<step>.reached` and waits until `<folder>/<step>.go`
//! exists, at most two minutes. Without them a pause point costs one variable lookup.

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The longest a pause waits for its go-ahead, so that a test that dies never leaves a
/// process waiting forever.
const LONGEST: Duration = Duration::from_secs(120);

/// Waits here when the environment names this step.
pub fn at(step: &str) {
    let Some(folder) = requested(step) else {
        return;
    };
    let _ = std::fs::write(folder.join(format!("{step}.reached")), b"");
    let go = folder.join(format!("{step}.go"));
    let started = Instant::now();
    while !go.exists() && started.elapsed() < LONGEST {
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn requested(step: &str) -> Option<PathBuf> {
    let wanted = std::env::var("MSPKPI_PAUSE_AT").ok()?;
    if !wanted.split(',').any(|w| w.trim() == step) {
        return None;
    }
    std::env::var_os("MSPKPI_PAUSE_DIR").map(PathBuf::from)
}
