use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::buffer::BooleanBuffer;
use arrow::datatypes::{DataType, Float64Type};
use arrow::util::display::array_value_to_string;
use datafusion_common::{Result, exec_err};
use datafusion_expr::{AggregateUDF, Documentation, Signature, Volatility};
use datafusion_macros::user_doc;

use crate::args::{check_arity, coerce_date, temporal_as_micros};
use crate::ratio::{RatioAggregate, RatioFunction, RatioKernel, for_each_weighted};

#[user_doc(
    doc_section(label = "MSP KPI Functions"),
    description = "Logo churn rate: of the clients active at period_start (onboarded before it and not churned before it), the percentage whose churned_on falls in [period_start, period_end). Clients onboarded during the period count in neither part. NULL churned_on = still a client. A group with no client active at the start gives NULL; period_end before period_start is an error.",
    syntax_example = "churn_rate(onboarded_on, churned_on, period_start, period_end)",
    sql_example = r#"```sql
> SELECT churn_rate(onboarded_on, churned_on, DATE '2026-10-01', DATE '2026-11-01') FROM clients;
+------+
| 3.0  |
+------+
```"#,
    argument(
        name = "onboarded_on",
        description = "When the client started (date or timestamp)."
    ),
    argument(
        name = "churned_on",
        description = "When the client left; NULL while still a client."
    ),
    argument(
        name = "period_start",
        description = "First day of the period (inclusive); a column or a literal."
    ),
    argument(
        name = "period_end",
        description = "End of the period (exclusive); a column or a literal."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ChurnRate {
    signature: Signature,
}

impl Default for ChurnRate {
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

pub fn churn_rate_udaf() -> Arc<AggregateUDF> {
    Arc::new(AggregateUDF::new_from_impl(RatioAggregate(
        ChurnRate::default(),
    )))
}

/// Churn over clients, counted (`churn_rate`) or weighted by MRR in cents
/// (`revenue_churn_rate`, whose arguments carry `mrr` third).
#[derive(Debug)]
pub struct ChurnKernel {
    pub function: &'static str,
    pub weighted: bool,
}

impl ChurnKernel {
    fn bounds(&self) -> (usize, usize) {
        if self.weighted { (3, 4) } else { (2, 3) }
    }
}

/// MRR in whole cents; NaN, infinite and negative amounts are errors.
fn mrr_cents(
    function: &str,
    array: &ArrayRef,
    selection: Option<&BooleanBuffer>,
) -> Result<Vec<i64>> {
    let mrr = array.as_primitive::<Float64Type>();
    let mut bad = None;
    let cents = mrr
        .values()
        .iter()
        .enumerate()
        .map(|(row, &amount)| {
            let selected = selection.is_none_or(|s| s.value(row)) && mrr.is_valid(row);
            if selected && !(amount.is_finite() && amount >= 0.0) && bad.is_none() {
                bad = Some(row);
            }
            (amount * 100.0).round() as i64
        })
        .collect();
    if let Some(row) = bad {
        let value = array_value_to_string(array, row).unwrap_or_default();
        return exec_err!("{function}: mrr {value} is invalid (expected a non-negative amount)");
    }
    Ok(cents)
}

impl RatioKernel for ChurnKernel {
    fn contribute<F: FnMut(usize, i64, i64)>(
        &self,
        args: &[ArrayRef],
        selection: Option<&BooleanBuffer>,
        mut add: F,
    ) -> Result<()> {
        let function = self.function;
        let onboarded = temporal_as_micros(function, &args[0])?;
        let churned = temporal_as_micros(function, &args[1])?;
        let churned_valid = args[1].logical_nulls();
        let (start_arg, end_arg) = self.bounds();
        let start = temporal_as_micros(function, &args[start_arg])?;
        let end = temporal_as_micros(function, &args[end_arg])?;
        let weights = if self.weighted {
            Some(mrr_cents(function, &args[2], selection)?)
        } else {
            None
        };
        let mut reversed = None;
        for_each_weighted(&onboarded, selection, |row, onboarded, selected| {
            let (start, end) = (start[row], end[row]);
            if selected != 0 && end < start && reversed.is_none() {
                reversed = Some(row);
            }
            // NULL churned_on: still a client, i.e. churns at the end of time.
            let churned = if churned_valid.as_ref().is_none_or(|v| v.is_valid(row)) {
                churned[row]
            } else {
                i64::MAX
            };
            let active_at_start = (onboarded < start) & (churned >= start);
            let lost = active_at_start & (churned < end);
            let weight = selected * weights.as_ref().map_or(1, |w| w[row]);
            add(row, weight * lost as i64, weight * active_at_start as i64);
        });
        if let Some(row) = reversed {
            return exec_err!(
                "{function}: period_end {} is before period_start {}",
                array_value_to_string(&args[end_arg], row).unwrap_or_default(),
                array_value_to_string(&args[start_arg], row).unwrap_or_default()
            );
        }
        Ok(())
    }

    fn required_args(&self) -> &[usize] {
        if self.weighted {
            &[0, 2, 3, 4]
        } else {
            &[0, 2, 3]
        }
    }
}

pub fn coerce_churn_dates(
    function: &str,
    arg_types: &[DataType],
    names: [&str; 4],
) -> Result<Vec<DataType>> {
    arg_types
        .iter()
        .zip(names)
        .map(|(t, name)| coerce_date(function, name, t))
        .collect()
}

impl RatioFunction for ChurnRate {
    type Kernel = ChurnKernel;

    fn name(&self) -> &'static str {
        "churn_rate"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity("churn_rate", arg_types, &[4])?;
        coerce_churn_dates(
            "churn_rate",
            arg_types,
            ["onboarded_on", "churned_on", "period_start", "period_end"],
        )
    }

    fn kernel(&self, _arg_types: &[DataType]) -> Result<ChurnKernel> {
        Ok(ChurnKernel {
            function: "churn_rate",
            weighted: false,
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
