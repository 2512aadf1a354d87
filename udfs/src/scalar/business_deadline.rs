use std::sync::Arc;

use arrow::array::{Array, TimestampMicrosecondArray};
use arrow::datatypes::DataType;
use datafusion_common::Result;
use datafusion_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use super::leading_arrays;
use crate::args::{
    MICROS_PER_MINUTE, PerRow, check_arity, coerce_integer, coerce_temporal, coerce_text,
    integers_as_i64, temporal_as_micros, utc_micros_type,
};
use crate::calendar::Calendar;
use crate::pauses::{PauseLists, coerce_pauses, unpaused_deadline};

const NAME: &str = "business_deadline";

#[user_doc(
    doc_section(label = "MSP KPI Functions"),
    description = "The instant at which target_minutes of business time have passed since start: the SLA deadline. The inverse of business_minutes: business_minutes(s, business_deadline(s, m, c), c) = m. Returns a UTC timestamp; NULL when start, target or calendar is NULL; a negative target is an error. With pauses (as sla_pauses returns them) the clock stops inside them, so each pause before the deadline pushes it out, and a pause that has not ended before it gives NULL (no deadline yet); NULL pauses = none.",
    syntax_example = "business_deadline(start, target_minutes, calendar [, pauses])",
    sql_example = r#"```sql
> SELECT business_deadline(TIMESTAMP '2026-11-20 17:00:00', 120, 'Mon-Fri 08:00-18:00 UTC');
+----------------------+
| 2026-11-23T09:00:00Z |
+----------------------+
```"#,
    argument(name = "start", description = "When the clock started."),
    argument(
        name = "target_minutes",
        description = "Business minutes allowed (any integer type)."
    ),
    argument(name = "calendar", description = "Calendar spec; '24x7' = wall clock."),
    argument(
        name = "pauses",
        description = "Optional list of {start, end} structs during which the clock stops (sla_pauses); a NULL end = still paused."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct BusinessDeadline {
    signature: Signature,
}

impl Default for BusinessDeadline {
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

udf_singleton!(business_deadline_udf, BusinessDeadline::default());

impl ScalarUDFImpl for BusinessDeadline {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(NAME, arg_types, &[3, 4])?;
        let mut types = vec![
            coerce_temporal(NAME, "start", &arg_types[0])?,
            coerce_integer(NAME, "target_minutes", &arg_types[1])?,
            coerce_text(NAME, "calendar", &arg_types[2])?,
        ];
        if let Some(pauses) = arg_types.get(3) {
            types.push(coerce_pauses(NAME, pauses)?);
        }
        Ok(types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(utc_micros_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = leading_arrays(&args.args, 2, rows)?;
        let start = temporal_as_micros(NAME, &arrays[0])?;
        let target = integers_as_i64(NAME, &arrays[1])?;
        let calendars = PerRow::from_columnar(&args.args[2], Calendar::parse)?;
        let pauses = match args.args.get(3) {
            Some(arg) => Some(PauseLists::from_array(NAME, &arg.to_array(rows)?)?),
            None => None,
        };
        let mut scratch = Vec::new();
        let deadlines = (0..rows)
            .map(|row| match calendars.get(row) {
                Some(calendar) if arrays[0].is_valid(row) && arrays[1].is_valid(row) => {
                    let target = target[row].saturating_mul(MICROS_PER_MINUTE);
                    match &pauses {
                        Some(pauses) if target >= 0 => {
                            let pauses = pauses.row(row, &mut scratch);
                            unpaused_deadline(Some(calendar), start[row], target, pauses)
                        }
                        _ => calendar.deadline(start[row], target).map(Some),
                    }
                }
                _ => Ok(None),
            })
            .collect::<Result<TimestampMicrosecondArray>>()?
            .with_timezone("UTC");
        Ok(ColumnarValue::Array(Arc::new(deadlines)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
