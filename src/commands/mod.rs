//! One module per subcommand.

pub mod demo;
pub mod export;
pub mod functions;
pub mod generate;
pub mod report;
pub mod sql;
pub mod validate;
