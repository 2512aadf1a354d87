use arrow::datatypes::DataType;
use datafusion_common::Result;
use datafusion_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use super::business_minutes::{business_span, span_arg_types};
use crate::args::{MICROS_PER_MINUTE, check_arity};
use crate::pauses::paused_micros;

const NAME: &str = "paused_minutes";

#[user_doc(
    doc_section(label = "MSP KPI Functions"),
    description = "Business minutes between two instants that fall inside the pauses: the time a ticket spent waiting on the customer, in the calendar's business hours ('24x7' = wall clock). business_minutes(s, e, c) = business_minutes(s, e, c, p) + paused_minutes(s, e, c, p). Negative when end is before start; NULL when start, end or calendar is NULL; NULL or no pauses = 0, without reading the calendar.",
    syntax_example = "paused_minutes(start, end, calendar, pauses)",
    sql_example = r#"```sql
> SELECT paused_minutes(TIMESTAMP '2026-11-16 09:00:00', TIMESTAMP '2026-11-17 12:00:00', '24x7', [named_struct('start', TIMESTAMP '2026-11-16 10:00:00', 'end', TIMESTAMP '2026-11-17 10:00:00')]);
+--------+
| 1440.0 |
+--------+
```"#,
    argument(name = "start", description = "Start instant."),
    argument(name = "end", description = "End instant."),
    argument(name = "calendar", description = "Calendar spec; '24x7' = wall clock."),
    argument(
        name = "pauses",
        description = "List of {start, end} structs (sla_pauses); a NULL end = still paused."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PausedMinutes {
    signature: Signature,
}

impl Default for PausedMinutes {
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

udf_singleton!(paused_minutes_udf, PausedMinutes::default());

impl ScalarUDFImpl for PausedMinutes {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(NAME, arg_types, &[4])?;
        span_arg_types(NAME, arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        business_span(NAME, args, true, |calendar, start, end, pauses| {
            paused_micros(Some(calendar), start, end, pauses) as f64 / MICROS_PER_MINUTE as f64
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
