//! One module per subcommand.

#[cfg(feature = "cluster")]
pub mod cluster;
pub mod demo;
pub mod export;
pub mod functions;
pub mod generate;
pub mod import;
pub mod report;
pub mod sql;
pub mod vacuum;
pub mod validate;
