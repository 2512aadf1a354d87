//! MSP help-desk KPI functions for Apache DataFusion.
//!
//! Aggregates: [`nps`](aggregate::nps), [`csat`](aggregate::csat),
//! [`sla_compliance`](aggregate::sla_compliance), [`fcr_rate`](aggregate::fcr_rate),
//! [`churn_rate`](aggregate::churn_rate),
//! [`revenue_churn_rate`](aggregate::revenue_churn_rate). Scalars:
//! [`business_minutes`](scalar::business_minutes), [`sla_met`](scalar::sla_met),
//! [`business_deadline`](scalar::business_deadline), [`local_month`](scalar::local_month).
//!
//! ```
//! use datafusion::execution::FunctionRegistry;
//! use datafusion::prelude::SessionContext;
//!
//! let ctx = SessionContext::new();
//! mspkpi_udfs::register_all(&mut *ctx.state_ref().write())?;
//! assert!(ctx.udaf("nps").is_ok() && ctx.udf("business_minutes").is_ok());
//! # Ok::<(), datafusion::error::DataFusionError>(())
//! ```
//!
//! The crate does no I/O and keeps no state between queries: every result follows from
//! the function's arguments, so the functions also work unchanged on a distributed
//! engine that registers them by name.

#[macro_use]
mod macros;

pub mod aggregate;
pub mod args;
pub mod calendar;
pub mod error;
pub mod expr_fn;
pub mod pauses;
pub mod ratio;
pub mod scalar;
pub mod sla;

use std::sync::Arc;

use datafusion_common::Result;
use datafusion_expr::registry::FunctionRegistry;
use datafusion_expr::{AggregateUDF, ScalarUDF};

pub use calendar::Calendar;
pub use error::KpiError;

/// Every KPI aggregate function.
pub fn aggregate_functions() -> Vec<Arc<AggregateUDF>> {
    vec![
        aggregate::nps::nps_udaf(),
        aggregate::csat::csat_udaf(),
        aggregate::sla_compliance::sla_compliance_udaf(),
        aggregate::fcr_rate::fcr_rate_udaf(),
        aggregate::churn_rate::churn_rate_udaf(),
        aggregate::revenue_churn_rate::revenue_churn_rate_udaf(),
        aggregate::status_history::sla_pauses_udaf(),
        aggregate::status_history::first_resolved_at_udaf(),
        aggregate::status_history::first_reopened_at_udaf(),
        aggregate::status_history::status_summary_udaf(),
    ]
}

/// Every scalar helper function.
pub fn scalar_functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        scalar::business_minutes::business_minutes_udf(),
        scalar::sla_met::sla_met_udf(),
        scalar::business_deadline::business_deadline_udf(),
        scalar::local_month::local_month_udf(),
        scalar::paused_minutes::paused_minutes_udf(),
    ]
}

/// Registers every function in a registry (a `SessionState`, or a distributed
/// engine's function registry), as DataFusion's own function crates do.
pub fn register_all(registry: &mut dyn FunctionRegistry) -> Result<()> {
    for function in aggregate_functions() {
        registry.register_udaf(function)?;
    }
    for function in scalar_functions() {
        registry.register_udf(function)?;
    }
    Ok(())
}
