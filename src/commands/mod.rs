//! One module per subcommand.

pub mod demo;
pub mod generate;
pub mod report;
