//! The end-to-end tests of the mspkpi binary and library, in one test binary: each
//! test binary links DataFusion, so one binary instead of six keeps the build's time
//! and disk use down.

mod bad_input;
mod browser;
mod cli;
#[cfg(feature = "cluster")]
mod cluster;
mod common;
mod concurrency;
mod export;
mod foundation;
mod import;
mod layout;
mod models;
// Its cluster part needs the `cluster` feature.
#[cfg(feature = "cluster")]
mod object_store;
mod python;
mod readme;
mod report;
mod saved_queries;
