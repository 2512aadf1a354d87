//! Sample data: a deterministic synthetic help-desk history, and the same history as a
//! PSA's CSV exports (for trying `import`).

pub mod generator;
pub mod psa_csv;
