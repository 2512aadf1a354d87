use std::sync::Arc;

use arrow::array::BooleanArray;
use arrow::datatypes::DataType;
use datafusion_common::Result;
use datafusion_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use super::leading_arrays;
use crate::args::{PerRow, check_arity, integers_as_i64, temporal_as_micros};
use crate::calendar::Calendar;
use crate::pauses::PauseLists;
use crate::sla::{sla_arg_types, sla_state};

const NAME: &str = "sla_met";

#[user_doc(
    doc_section(label = "MSP KPI Functions"),
    description = "The SLA state of a ticket at as_of: true = done within target; false = done late, or not done and already past target; NULL = not done and still within target (pending). A done_at later than as_of counts as not done. With a calendar, only business hours count; without, wall-clock time. With pauses (as sla_pauses returns them), the clock stops inside them; NULL pauses = none.",
    syntax_example = "sla_met(created_at, done_at, target_minutes, as_of [, calendar [, pauses]])",
    sql_example = r#"```sql
> SELECT sla_met(TIMESTAMP '2026-11-20 17:00:00', TIMESTAMP '2026-11-23 09:00:00', 120, TIMESTAMP '2026-12-01 00:00:00', 'Mon-Fri 08:00-18:00 UTC');
+------+
| true |
+------+
```"#,
    argument(name = "created_at", description = "When the clock started."),
    argument(
        name = "done_at",
        description = "When the response or resolution happened; NULL = not yet."
    ),
    argument(
        name = "target_minutes",
        description = "The SLA target in minutes (any integer type)."
    ),
    argument(name = "as_of", description = "The moment the state is judged at."),
    argument(
        name = "calendar",
        description = "Optional business-hours calendar spec; '24x7' = wall clock."
    ),
    argument(
        name = "pauses",
        description = "Optional list of {start, end} structs during which the clock stops (sla_pauses); a NULL end = still paused."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SlaMet {
    signature: Signature,
}

impl Default for SlaMet {
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

udf_singleton!(sla_met_udf, SlaMet::default());

impl ScalarUDFImpl for SlaMet {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(NAME, arg_types, &[4, 5, 6])?;
        sla_arg_types(NAME, arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = leading_arrays(&args.args, 4, rows)?;
        let created = temporal_as_micros(NAME, &arrays[0])?;
        let done = temporal_as_micros(NAME, &arrays[1])?;
        let target = integers_as_i64(NAME, &arrays[2])?;
        let as_of = temporal_as_micros(NAME, &arrays[3])?;
        let calendars = match args.args.get(4) {
            Some(arg) => Some(PerRow::from_columnar(arg, Calendar::parse)?),
            None => None,
        };
        let pauses = match args.args.get(5) {
            Some(arg) => Some(PauseLists::from_array(NAME, &arg.to_array(rows)?)?),
            None => None,
        };
        let mut scratch = Vec::new();
        let states = (0..rows)
            .map(|row| {
                let present = |i: usize| arrays[i].is_valid(row);
                if !(present(0) && present(2) && present(3)) {
                    return Ok(None);
                }
                let calendar = match &calendars {
                    Some(calendars) => match calendars.get(row) {
                        Some(calendar) => Some(calendar),
                        None => return Ok(None),
                    },
                    None => None,
                };
                let done = present(1).then(|| done[row]);
                let pauses = match &pauses {
                    Some(pauses) => pauses.row(row, &mut scratch),
                    None => &[],
                };
                sla_state(
                    NAME,
                    created[row],
                    done,
                    target[row],
                    as_of[row],
                    calendar,
                    pauses,
                )
            })
            .collect::<Result<BooleanArray>>()?;
        Ok(ColumnarValue::Array(Arc::new(states)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
