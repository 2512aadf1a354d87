//! KPI aggregates: one file per function, all on the shared ratio accumulator.

pub mod churn_rate;
pub mod csat;
pub mod fcr_rate;
pub mod nps;
pub mod revenue_churn_rate;
pub mod score;
pub mod sla_compliance;
pub mod status_history;
