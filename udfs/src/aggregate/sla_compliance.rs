use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray};
use arrow::buffer::BooleanBuffer;
use arrow::datatypes::DataType;
use datafusion_common::Result;
use datafusion_expr::{AggregateUDF, Documentation, Signature, Volatility};
use datafusion_macros::user_doc;

use crate::args::{PerRow, check_arity, integers_as_i64, temporal_as_micros};
use crate::calendar::Calendar;
use crate::ratio::{RatioAggregate, RatioFunction, RatioKernel, for_each_weighted};
use crate::sla::{sla_arg_types, sla_state};

#[user_doc(
    doc_section(label = "MSP KPI Functions"),
    description = "SLA compliance: the percentage of decided SLAs that were met. With one BOOLEAN argument, the share of true among non-NULL values (NULL = pending, excluded). With (created_at, done_at, target_minutes, as_of [, calendar]) each row is decided like sla_met: met when done within target, breached when done late or not done and already past target; pending rows (not done, still within target) are excluded. With a calendar only business hours count. A group with nothing decided gives NULL.",
    syntax_example = "sla_compliance(met) | sla_compliance(created_at, done_at, target_minutes, as_of [, calendar])",
    sql_example = r#"```sql
> SELECT sla_compliance(met) FROM (VALUES (true), (true), (false), (NULL)) AS t(met);
+----------------------------+
| sla_compliance(t.met)      |
+----------------------------+
| 66.66666666666667          |
+----------------------------+
> SELECT sla_compliance(created_at, first_response_at, 60, TIMESTAMP '2026-11-01 00:00:00', 'Mon-Fri 08:00-18:00 UTC') FROM tickets;
```"#,
    argument(
        name = "met",
        description = "BOOLEAN: true = SLA met, false = breached, NULL = pending."
    ),
    argument(
        name = "created_at",
        description = "When the clock started (timestamp of any unit and zone, or date)."
    ),
    argument(
        name = "done_at",
        description = "When the response or resolution happened; NULL = not yet."
    ),
    argument(
        name = "target_minutes",
        description = "The SLA target in minutes (any integer type)."
    ),
    argument(
        name = "as_of",
        description = "The moment the state is judged at: a done_at after it counts as not done."
    ),
    argument(
        name = "calendar",
        description = "Optional business-hours calendar spec, e.g. 'Mon-Fri 08:00-18:00 Europe/Berlin holidays 2026-12-25'; '24x7' = wall clock."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SlaCompliance {
    signature: Signature,
}

impl Default for SlaCompliance {
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

pub fn sla_compliance_udaf() -> Arc<AggregateUDF> {
    Arc::new(AggregateUDF::new_from_impl(RatioAggregate(
        SlaCompliance::default(),
    )))
}

#[derive(Debug)]
pub enum SlaComplianceKernel {
    Met,
    Times { with_calendar: bool },
}

const NAME: &str = "sla_compliance";

impl RatioKernel for SlaComplianceKernel {
    fn contribute<F: FnMut(usize, i64, i64)>(
        &self,
        args: &[ArrayRef],
        selection: Option<&BooleanBuffer>,
        mut add: F,
    ) -> Result<()> {
        match self {
            SlaComplianceKernel::Met => {
                let met = args[0].as_boolean().values();
                for row in 0..met.len() {
                    let weight = selection.map_or(1, |s| s.value(row) as i64);
                    add(row, weight & met.value(row) as i64, weight);
                }
                Ok(())
            }
            SlaComplianceKernel::Times { with_calendar } => {
                let created = temporal_as_micros(NAME, &args[0])?;
                let done = temporal_as_micros(NAME, &args[1])?;
                let done_valid = args[1].logical_nulls();
                let target = integers_as_i64(NAME, &args[2])?;
                let as_of = temporal_as_micros(NAME, &args[3])?;
                let calendars = if *with_calendar {
                    Some(PerRow::from_array(&args[4], Calendar::parse)?)
                } else {
                    None
                };
                let mut error = None;
                for_each_weighted(&created, selection, |row, created, weight| {
                    if weight == 0 || error.is_some() {
                        return;
                    }
                    let done = done_valid
                        .as_ref()
                        .is_none_or(|v| v.is_valid(row))
                        .then(|| done[row]);
                    let calendar = calendars.as_ref().and_then(|c| c.get(row));
                    match sla_state(NAME, created, done, target[row], as_of[row], calendar) {
                        Ok(Some(met)) => add(row, met as i64, 1),
                        Ok(None) => {}
                        Err(e) => error = Some(e),
                    }
                });
                error.map_or(Ok(()), Err)
            }
        }
    }

    fn required_args(&self) -> &[usize] {
        match self {
            SlaComplianceKernel::Met => &[0],
            SlaComplianceKernel::Times {
                with_calendar: false,
            } => &[0, 2, 3],
            SlaComplianceKernel::Times {
                with_calendar: true,
            } => &[0, 2, 3, 4],
        }
    }
}

impl RatioFunction for SlaCompliance {
    type Kernel = SlaComplianceKernel;

    fn name(&self) -> &'static str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(NAME, arg_types, &[1, 4, 5])?;
        if arg_types.len() == 1 {
            return match &arg_types[0] {
                DataType::Boolean | DataType::Null => Ok(vec![DataType::Boolean]),
                t => datafusion_common::plan_err!(
                    "{NAME}: the one-argument form takes a BOOLEAN (met), got {t}"
                ),
            };
        }
        sla_arg_types(NAME, arg_types)
    }

    fn kernel(&self, arg_types: &[DataType]) -> Result<SlaComplianceKernel> {
        Ok(match arg_types.len() {
            1 => SlaComplianceKernel::Met,
            n => SlaComplianceKernel::Times {
                with_calendar: n == 5,
            },
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
