//! The unit of a KPI's value: how it reads in a report, and its name in a saved
//! query's `-- kpi:` header (`unit=percent`).

use anyhow::{Result, bail};

/// How a KPI value reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A percentage, e.g. `95.0 %`.
    Percent,
    /// An NPS, e.g. `+60.0` (a score from -100 to 100, not a percentage).
    Score,
    /// A duration in minutes, e.g. `1 h 25 min`.
    Minutes,
    /// A count, e.g. `1,234`.
    Count,
    /// A ratio, e.g. `1.20`.
    Ratio,
    /// Money, e.g. `12,345.00`.
    Money,
}

impl Format {
    /// A unit's name in a `-- kpi:` header.
    pub fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "percent" => Self::Percent,
            "score" => Self::Score,
            "minutes" => Self::Minutes,
            "count" => Self::Count,
            "ratio" => Self::Ratio,
            "money" => Self::Money,
            other => {
                bail!("unknown unit '{other}' (use percent, score, minutes, count, ratio or money)")
            }
        })
    }
}
