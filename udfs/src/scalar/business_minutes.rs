use std::sync::Arc;

use arrow::array::{Array, Float64Array};
use arrow::buffer::NullBuffer;
use arrow::datatypes::DataType;
use datafusion_common::Result;
use datafusion_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion_macros::user_doc;

use super::leading_arrays;
use crate::args::{PerRow, check_arity, coerce_temporal, coerce_text, temporal_as_micros};
use crate::calendar::Calendar;

const NAME: &str = "business_minutes";

#[user_doc(
    doc_section(label = "MSP KPI Functions"),
    description = "Minutes between two instants that fall in the business hours of a calendar, in the calendar's local time (daylight-saving changes, weekends and holidays included). Negative when end is before start. NULL when any argument is NULL. The calendar spec is 'DAYS HH:MM-HH:MM[,HH:MM-HH:MM] [; DAYS ...] ZONE [holidays YYYY-MM-DD,...]', or '24x7' for wall-clock time.",
    syntax_example = "business_minutes(start, end, calendar)",
    sql_example = r#"```sql
> SELECT business_minutes(TIMESTAMP '2026-11-20 17:00:00', TIMESTAMP '2026-11-23 09:00:00', 'Mon-Fri 08:00-18:00 UTC');
+-------+
| 120.0 |
+-------+
```"#,
    argument(
        name = "start",
        description = "Start instant (timestamp of any unit and zone, or date)."
    ),
    argument(name = "end", description = "End instant."),
    argument(
        name = "calendar",
        description = "Calendar spec, e.g. 'Mon-Fri 08:00-18:00 America/New_York holidays 2026-12-25'; a column or a literal."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct BusinessMinutes {
    signature: Signature,
}

impl Default for BusinessMinutes {
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

pub fn business_minutes_udf() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(BusinessMinutes::default()))
}

impl ScalarUDFImpl for BusinessMinutes {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(NAME, arg_types, &[3])?;
        Ok(vec![
            coerce_temporal(NAME, "start", &arg_types[0])?,
            coerce_temporal(NAME, "end", &arg_types[1])?,
            coerce_text(NAME, "calendar", &arg_types[2])?,
        ])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = leading_arrays(&args.args, 2, rows)?;
        let start = temporal_as_micros(NAME, &arrays[0])?;
        let end = temporal_as_micros(NAME, &arrays[1])?;
        let calendars = PerRow::from_columnar(&args.args[2], Calendar::parse)?;
        let nulls = NullBuffer::union(
            arrays[0].logical_nulls().as_ref(),
            arrays[1].logical_nulls().as_ref(),
        );
        let minutes: Float64Array = (0..rows)
            .map(|row| {
                let valid = nulls.as_ref().is_none_or(|n| n.is_valid(row));
                match calendars.get(row) {
                    Some(calendar) if valid => {
                        Some(calendar.business_minutes(start[row], end[row]))
                    }
                    _ => None,
                }
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(minutes)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
