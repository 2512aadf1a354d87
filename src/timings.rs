//! `MSPKPI_TIMINGS=1`: one line on standard error per step that is timed (a model, a
//! saved query, an import's stages, the report's rendering). `bench/` reads them, so
//! their wording is a contract.

use std::sync::OnceLock;

/// Whether `MSPKPI_TIMINGS` is set (read once per process).
pub fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var_os("MSPKPI_TIMINGS").is_some())
}

/// Prints the line `line` makes, when timings are on.
pub fn report(line: impl FnOnce() -> String) {
    if enabled() {
        eprintln!("{}", line());
    }
}
