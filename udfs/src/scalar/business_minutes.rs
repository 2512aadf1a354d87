use std::sync::Arc;

use arrow::array::{Array, Float64Array};
use arrow::buffer::NullBuffer;
use arrow::datatypes::DataType;
use datafusion_common::Result;
use datafusion_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use super::leading_arrays;
use crate::args::{
    MICROS_PER_MINUTE, PerRow, check_arity, coerce_temporal, coerce_text, temporal_as_micros,
};
use crate::calendar::Calendar;
use crate::pauses::{PauseLists, coerce_pauses, unpaused_micros};

const NAME: &str = "business_minutes";

#[user_doc(
    doc_section(label = "MSP KPI Functions"),
    description = "Minutes between two instants that fall in the business hours of a calendar, in the calendar's local time (daylight-saving changes, weekends and holidays included). Negative when end is before start. NULL when any argument is NULL. The calendar spec is 'DAYS HH:MM-HH:MM[,HH:MM-HH:MM] [; DAYS ...] ZONE [holidays YYYY-MM-DD,...]', or '24x7' for wall-clock time. With pauses (as sla_pauses returns them), time inside them does not count; NULL pauses = none.",
    syntax_example = "business_minutes(start, end, calendar [, pauses])",
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
    ),
    argument(
        name = "pauses",
        description = "Optional list of {start, end} structs to leave out (sla_pauses); a NULL end = still paused."
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

udf_singleton!(business_minutes_udf, BusinessMinutes::default());

impl ScalarUDFImpl for BusinessMinutes {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        span_arg_types(NAME, arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        business_span(
            NAME,
            args,
            false,
            |calendar, start, end, pauses| match pauses {
                [] => calendar.business_minutes(start, end),
                pauses => {
                    unpaused_micros(Some(calendar), start, end, pauses) as f64
                        / MICROS_PER_MINUTE as f64
                }
            },
        )
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// The argument types of `(start, end, calendar [, pauses])`.
pub(crate) fn span_arg_types(function: &str, arg_types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity(function, arg_types, &[3, 4])?;
    let mut types = vec![
        coerce_temporal(function, "start", &arg_types[0])?,
        coerce_temporal(function, "end", &arg_types[1])?,
        coerce_text(function, "calendar", &arg_types[2])?,
    ];
    if let Some(pauses) = arg_types.get(3) {
        types.push(coerce_pauses(function, pauses)?);
    }
    Ok(types)
}

/// Evaluates `(start, end, calendar [, pauses])` row by row: NULL where start, end or
/// calendar is NULL; a NULL pauses list is no pauses.
///
/// With `zero_without_pauses` (a function of the paused time only), a row without
/// pauses is 0 and its calendar is not looked up: most tickets never wait.
pub(crate) fn business_span(
    function: &str,
    args: ScalarFunctionArgs,
    zero_without_pauses: bool,
    minutes: impl Fn(&Calendar, i64, i64, &[(i64, i64)]) -> f64,
) -> Result<ColumnarValue> {
    let rows = args.number_rows;
    let arrays = leading_arrays(&args.args, 2, rows)?;
    let start = temporal_as_micros(function, &arrays[0])?;
    let end = temporal_as_micros(function, &arrays[1])?;
    let pauses = match args.args.get(3) {
        Some(arg) => Some(PauseLists::from_array(function, &arg.to_array(rows)?)?),
        None => None,
    };
    let skipped =
        |row: usize| zero_without_pauses && pauses.as_ref().is_none_or(|p| !p.has_any(row));
    let calendars =
        PerRow::from_columnar_where(&args.args[2], Calendar::parse, |row| !skipped(row))?;
    let nulls = NullBuffer::union(
        arrays[0].logical_nulls().as_ref(),
        arrays[1].logical_nulls().as_ref(),
    );
    let mut scratch = Vec::new();
    let values: Float64Array = (0..rows)
        .map(|row| {
            let valid = nulls.as_ref().is_none_or(|n| n.is_valid(row));
            if skipped(row) {
                let calendar = match &args.args[2] {
                    ColumnarValue::Scalar(calendar) => !calendar.is_null(),
                    ColumnarValue::Array(calendars) => calendars.is_valid(row),
                };
                return (valid && calendar).then_some(0.0);
            }
            match calendars.get(row) {
                Some(calendar) if valid => {
                    let pauses = match &pauses {
                        Some(pauses) => pauses.row(row, &mut scratch),
                        None => &[],
                    };
                    Some(minutes(calendar, start[row], end[row], pauses))
                }
                _ => None,
            }
        })
        .collect();
    Ok(ColumnarValue::Array(Arc::new(values)))
}
