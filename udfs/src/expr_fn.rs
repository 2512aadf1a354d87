//! Every function as an expression builder for DataFrame code, as DataFusion's own
//! `expr_fn` modules do:
//!
//! ```
//! use datafusion::prelude::*;
//! use mspkpi_udfs::expr_fn::nps;
//!
//! # async fn example(df: DataFrame) -> datafusion::error::Result<()> {
//! let by_client = df.aggregate(vec![col("client_id")], vec![nps(col("score")).alias("nps")])?;
//! # Ok(()) }
//! ```
//!
//! A trailing `Option` is an optional argument. Forms with other arguments
//! (`sla_compliance(created_at, done_at, target_minutes, as_of, ...)`) are
//! `sla_compliance_udaf().call(vec![...])`.

use datafusion_expr::Expr;

use crate::aggregate::{
    churn_rate::churn_rate_udaf,
    csat::csat_udaf,
    fcr_rate::fcr_rate_udaf,
    nps::nps_udaf,
    revenue_churn_rate::revenue_churn_rate_udaf,
    sla_compliance::sla_compliance_udaf,
    status_history::{
        first_reopened_at_udaf, first_resolved_at_udaf, sla_pauses_udaf, status_summary_udaf,
    },
};
use crate::scalar::{
    business_deadline::business_deadline_udf, business_minutes::business_minutes_udf,
    local_month::local_month_udf, paused_minutes::paused_minutes_udf, sla_met::sla_met_udf,
};

/// The arguments, with the optional ones that are given.
fn with_optional(
    mut args: Vec<Expr>,
    optional: impl IntoIterator<Item = Option<Expr>>,
) -> Vec<Expr> {
    args.extend(optional.into_iter().map_while(|a| a));
    args
}

/// `nps(score)`: Net Promoter Score of 0..10 answers.
pub fn nps(score: Expr) -> Expr {
    nps_udaf().call(vec![score])
}

/// `csat(score)`: the share of 4 and 5 among 1..5 answers.
pub fn csat(score: Expr) -> Expr {
    csat_udaf().call(vec![score])
}

/// `sla_compliance(met)`: the share of SLA decisions met.
pub fn sla_compliance(met: Expr) -> Expr {
    sla_compliance_udaf().call(vec![met])
}

/// `fcr_rate(contacts [, reopened])`: first-contact resolution.
pub fn fcr_rate(contacts: Expr, reopened: Option<Expr>) -> Expr {
    fcr_rate_udaf().call(with_optional(vec![contacts], [reopened]))
}

/// `churn_rate(onboarded_on, churned_on, period_start, period_end)`: logo churn.
pub fn churn_rate(
    onboarded_on: Expr,
    churned_on: Expr,
    period_start: Expr,
    period_end: Expr,
) -> Expr {
    churn_rate_udaf().call(vec![onboarded_on, churned_on, period_start, period_end])
}

/// `revenue_churn_rate(onboarded_on, churned_on, mrr, period_start, period_end)`.
pub fn revenue_churn_rate(
    onboarded_on: Expr,
    churned_on: Expr,
    mrr: Expr,
    period_start: Expr,
    period_end: Expr,
) -> Expr {
    revenue_churn_rate_udaf().call(vec![
        onboarded_on,
        churned_on,
        mrr,
        period_start,
        period_end,
    ])
}

/// `sla_pauses(changed_at, status, kind)`: a ticket's pauses from its status history.
pub fn sla_pauses(changed_at: Expr, status: Expr, kind: Expr) -> Expr {
    sla_pauses_udaf().call(vec![changed_at, status, kind])
}

/// `first_resolved_at(changed_at, status, kind)`.
pub fn first_resolved_at(changed_at: Expr, status: Expr, kind: Expr) -> Expr {
    first_resolved_at_udaf().call(vec![changed_at, status, kind])
}

/// `first_reopened_at(changed_at, status, kind)`.
pub fn first_reopened_at(changed_at: Expr, status: Expr, kind: Expr) -> Expr {
    first_reopened_at_udaf().call(vec![changed_at, status, kind])
}

/// `status_summary(changed_at, status, kind)`.
pub fn status_summary(changed_at: Expr, status: Expr, kind: Expr) -> Expr {
    status_summary_udaf().call(vec![changed_at, status, kind])
}

/// `local_month(ts, timezone)`: the first day of the local month.
pub fn local_month(ts: Expr, timezone: Expr) -> Expr {
    local_month_udf().call(vec![ts, timezone])
}

/// `business_minutes(start, end, calendar [, pauses])`.
pub fn business_minutes(start: Expr, end: Expr, calendar: Expr, pauses: Option<Expr>) -> Expr {
    business_minutes_udf().call(with_optional(vec![start, end, calendar], [pauses]))
}

/// `paused_minutes(start, end, calendar, pauses)`.
pub fn paused_minutes(start: Expr, end: Expr, calendar: Expr, pauses: Expr) -> Expr {
    paused_minutes_udf().call(vec![start, end, calendar, pauses])
}

/// `business_deadline(start, target_minutes, calendar [, pauses])`.
pub fn business_deadline(
    start: Expr,
    target_minutes: Expr,
    calendar: Expr,
    pauses: Option<Expr>,
) -> Expr {
    business_deadline_udf().call(with_optional(
        vec![start, target_minutes, calendar],
        [pauses],
    ))
}

/// `sla_met(created_at, done_at, target_minutes, as_of [, calendar [, pauses]])`.
pub fn sla_met(
    created_at: Expr,
    done_at: Expr,
    target_minutes: Expr,
    as_of: Expr,
    calendar: Option<Expr>,
    pauses: Option<Expr>,
) -> Expr {
    sla_met_udf().call(with_optional(
        vec![created_at, done_at, target_minutes, as_of],
        [calendar, pauses],
    ))
}
