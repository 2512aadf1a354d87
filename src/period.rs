//! Report periods: a calendar month (`2026-10`) or quarter (`2026-Q3`), in each
//! client's own time zone, and the `periods` table that maps months to periods.

use std::fmt;
use std::sync::Arc;

use anyhow::{Result, bail};
use chrono::{Datelike, Months, NaiveDate};
use datafusion::datasource::ViewTable;
use datafusion::logical_expr::{Expr, LogicalPlanBuilder};
use datafusion::prelude::{SessionContext, col, lit};
use datafusion::scalar::ScalarValue;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grain {
    Month,
    Quarter,
}

impl Grain {
    pub fn months(self) -> u32 {
        match self {
            Grain::Month => 1,
            Grain::Quarter => 3,
        }
    }

    /// Periods shown in a trend: the period and the eleven months (four quarters)
    /// before it.
    pub fn trend_length(self) -> u32 {
        match self {
            Grain::Month => 12,
            Grain::Quarter => 5,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    pub start: NaiveDate,
    pub grain: Grain,
}

impl Period {
    /// `2026-10` or `2026-Q3`.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let bad = || {
            anyhow::anyhow!(
                "'{text}' is not a period: use YYYY-MM (a month) or YYYY-Qn (a quarter)"
            )
        };
        let (year, rest) = text.split_once('-').ok_or_else(bad)?;
        let year: i32 = year.parse().map_err(|_| bad())?;
        let (month, grain) = match rest.strip_prefix(['Q', 'q']) {
            Some(q) => {
                let q: u32 = q.parse().map_err(|_| bad())?;
                if !(1..=4).contains(&q) {
                    bail!("'{text}': a quarter is Q1 to Q4");
                }
                (3 * q - 2, Grain::Quarter)
            }
            None => (rest.parse().map_err(|_| bad())?, Grain::Month),
        };
        let start = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)?;
        Ok(Self { start, grain })
    }

    pub fn containing(date: NaiveDate, grain: Grain) -> Self {
        let month0 = (date.month0() / grain.months()) * grain.months();
        Self {
            start: NaiveDate::from_ymd_opt(date.year(), month0 + 1, 1).unwrap_or(date),
            grain,
        }
    }

    /// The first day after the period.
    pub fn end(&self) -> NaiveDate {
        self.start + Months::new(self.grain.months())
    }

    /// The period `n` periods before this one.
    pub fn previous(&self, n: u32) -> Self {
        Self {
            start: self.start - Months::new(self.grain.months() * n),
            grain: self.grain,
        }
    }

    /// The first period of the trend that ends with this one.
    pub fn trend_start(&self) -> Self {
        self.previous(self.grain.trend_length() - 1)
    }

    /// The periods of the trend, oldest first.
    pub fn trend(&self) -> Vec<Period> {
        (0..self.grain.trend_length())
            .rev()
            .map(|n| self.previous(n))
            .collect()
    }

    /// Short label for charts: `Oct 2026`, `Q3 2026`.
    pub fn short_label(&self) -> String {
        match self.grain {
            Grain::Month => self.start.format("%b %Y").to_string(),
            Grain::Quarter => format!("Q{} {}", self.start.month0() / 3 + 1, self.start.year()),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.grain {
            Grain::Month => write!(f, "{}", self.start.format("%Y-%m")),
            Grain::Quarter => write!(f, "{}-Q{}", self.start.year(), self.start.month0() / 3 + 1),
        }
    }
}

fn days(date: NaiveDate) -> i32 {
    date.signed_duration_since(NaiveDate::default()).num_days() as i32
}

/// Registers `periods(month, period, period_end)`: every month from 1990 to 2100 with
/// the first day of the period that contains it and the first day after that period.
/// Saved queries join on `month = local_month(...)` and group by `period`, so one query
/// text serves months and quarters.
///
/// The table is a view over a VALUES list rather than a table in memory, because a
/// plan that reads it must also travel to a cluster's scheduler, and a view's plan
/// serializes where a memory table does not.
pub fn register_periods(ctx: &SessionContext, grain: Grain) -> Result<()> {
    let first = NaiveDate::from_ymd_opt(1990, 1, 1).unwrap_or_default();
    let rows: Vec<Vec<Expr>> = (0..12 * 111)
        .map(|i| {
            let month = first + Months::new(i);
            let period = Period::containing(month, grain);
            [month, period.start, period.end()]
                .into_iter()
                .map(|day| lit(ScalarValue::Date32(Some(days(day)))))
                .collect()
        })
        .collect();
    let plan = LogicalPlanBuilder::values(rows)?
        .project([
            col("column1").alias("month"),
            col("column2").alias("period"),
            col("column3").alias("period_end"),
        ])?
        .build()?;
    ctx.deregister_table("periods")?;
    ctx.register_table("periods", Arc::new(ViewTable::new(plan, None)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_months_and_quarters() {
        let m = Period::parse("2026-10").unwrap();
        assert_eq!(m.to_string(), "2026-10");
        assert_eq!(m.end(), NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
        assert_eq!(m.trend_start().to_string(), "2025-11");
        assert_eq!(m.short_label(), "Oct 2026");
        let q = Period::parse("2026-Q3").unwrap();
        assert_eq!(q.start, NaiveDate::from_ymd_opt(2026, 7, 1).unwrap());
        assert_eq!(q.end(), NaiveDate::from_ymd_opt(2026, 10, 1).unwrap());
        assert_eq!(q.trend_start().to_string(), "2025-Q3");
        assert_eq!(q.trend().len(), 5);
        for bad in ["2026", "2026-13", "2026-Q5", "Oct 2026", "2026-Q0"] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }
}
