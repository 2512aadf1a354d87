//! The clients and SLA targets that the report reads besides the saved queries' results,
//! typed.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use datafusion::prelude::SessionContext;

use crate::period::Period;
use crate::results::Table;

#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub timezone: String,
    pub calendar: Option<String>,
    pub onboarded_on: Option<NaiveDate>,
    pub churned_on: Option<NaiveDate>,
    pub mrr: Option<f64>,
    pub sla_goal_percent: Option<f64>,
}

impl Client {
    /// Active at some point of the period: onboarded before its end and not churned
    /// before its start.
    pub fn active_in(&self, period: &Period) -> bool {
        self.onboarded_on.is_none_or(|d| d < period.end())
            && self.churned_on.is_none_or(|d| d >= period.start)
    }
}

/// One row of `sla_targets`: a client's own (`client_id` set) or the default.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaTarget {
    pub client_id: Option<String>,
    pub priority: String,
    pub response_minutes: Option<f64>,
    pub resolution_minutes: Option<f64>,
    pub business_hours: Option<bool>,
}

async fn table(ctx: &SessionContext, sql: &str) -> Result<Table> {
    let batches = ctx.sql(sql).await?.collect().await?;
    Table::from_batches(&batches)
}

pub async fn clients(ctx: &SessionContext) -> Result<Vec<Client>> {
    let table = table(
        ctx,
        "SELECT client_id, name, timezone, calendar, onboarded_on, churned_on, mrr, sla_goal_percent FROM clients ORDER BY client_id",
    )
    .await
    .context("reading the clients")?;
    Ok(table
        .rows()
        .map(|r| Client {
            id: r.key("client_id").unwrap_or_default(),
            name: r.text("name").unwrap_or_default().to_string(),
            timezone: r.text("timezone").unwrap_or_default().to_string(),
            calendar: r.text("calendar").map(str::to_string),
            onboarded_on: r.date("onboarded_on"),
            churned_on: r.date("churned_on"),
            mrr: r.number("mrr"),
            sla_goal_percent: r.number("sla_goal_percent"),
        })
        .collect())
}

pub async fn sla_targets(ctx: &SessionContext) -> Result<Vec<SlaTarget>> {
    let table = table(
        ctx,
        "SELECT client_id, priority, response_minutes, resolution_minutes, business_hours FROM sla_targets ORDER BY priority",
    )
    .await
    .context("reading the SLA targets")?;
    Ok(table
        .rows()
        .map(|r| SlaTarget {
            client_id: r.key("client_id"),
            priority: r.key("priority").unwrap_or_default(),
            response_minutes: r.number("response_minutes"),
            resolution_minutes: r.number("resolution_minutes"),
            business_hours: r.bool("business_hours"),
        })
        .collect())
}
