//! mspkpi: client KPIs for Managed Service Providers, from help-desk history in Parquet.
//!
//! The binary is a thin shell over these modules; tests call them directly.

pub mod catalog;
pub mod commands;
pub mod generator;
pub mod period;
pub mod report;
pub mod saved_queries;
pub mod schema;
pub mod session;
pub mod write;
