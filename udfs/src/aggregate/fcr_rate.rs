use arrow::array::{Array, ArrayRef, AsArray};
use arrow::buffer::BooleanBuffer;
use arrow::datatypes::DataType;
use datafusion_common::{Result, ScalarValue};
use datafusion_expr::{Documentation, Signature, Volatility};
use datafusion_macros::user_doc;

use super::score::score_contributions;
use crate::args::{check_arity, coerce_integer};
use crate::ratio::{RatioAggregate, RatioFunction, RatioKernel};

#[user_doc(
    doc_section(label = "MSP KPI Functions"),
    description = "First-contact resolution rate: the percentage of resolved tickets (non-NULL contacts) that needed exactly one customer contact. With reopened, a ticket for which it is true does not count as resolved on first contact (NULL = not reopened). NULL contacts (not yet resolved) are ignored; a group without resolved tickets gives NULL; contacts below 1 are an error.",
    syntax_example = "fcr_rate(contacts [, reopened])",
    sql_example = r#"```sql
> SELECT fcr_rate(contacts) FROM (VALUES (1), (1), (1), (3), (NULL)) AS t(contacts);
+----------------------+
| fcr_rate(t.contacts) |
+----------------------+
| 75.0                 |
+----------------------+
```"#,
    argument(
        name = "contacts",
        description = "Customer contacts until resolution (1 = resolved on first contact), any integer type; NULL while unresolved."
    ),
    argument(
        name = "reopened",
        description = "Optional BOOLEAN: true = the ticket was reopened after its resolution, so not resolved on first contact."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FcrRate {
    signature: Signature,
}

impl Default for FcrRate {
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

udaf_singleton!(fcr_rate_udaf, RatioAggregate(FcrRate::default(),));

#[derive(Debug)]
pub struct FcrRateKernel {
    /// Whether a second argument says which tickets were reopened.
    pub reopened: bool,
}

impl RatioKernel for FcrRateKernel {
    fn contribute<K: Copy, F: FnMut(K, i64, i64)>(
        &self,
        args: &[ArrayRef],
        selection: Option<&BooleanBuffer>,
        keys: &[K],
        mut add: F,
    ) -> Result<()> {
        score_contributions(
            ("fcr_rate", "contacts"),
            &args[0],
            selection,
            keys,
            1..=i64::MAX,
            &mut add,
            |contacts| (contacts == 1) as i64,
        )?;
        if !self.reopened {
            return Ok(());
        }
        // A reopened ticket takes back what it added to the numerator.
        let reopened = args[1].as_boolean();
        let mut reopened_rows = match reopened.nulls() {
            Some(nulls) => reopened.values() & nulls.inner(),
            None => reopened.values().clone(),
        };
        if let Some(selection) = selection {
            reopened_rows = &reopened_rows & selection;
        }
        if reopened_rows.count_set_bits() == 0 {
            return Ok(());
        }
        score_contributions(
            ("fcr_rate", "contacts"),
            &args[0],
            Some(&reopened_rows),
            keys,
            1..=i64::MAX,
            |key, numerator, _| add(key, -numerator, 0),
            |contacts| (contacts == 1) as i64,
        )
    }

    fn required_args(&self) -> &[usize] {
        &[0]
    }
}

impl RatioFunction for FcrRate {
    type Kernel = FcrRateKernel;

    fn name(&self) -> &'static str {
        "fcr_rate"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity("fcr_rate", arg_types, &[1, 2])?;
        let mut types = vec![coerce_integer("fcr_rate", "contacts", &arg_types[0])?];
        match arg_types.get(1) {
            Some(DataType::Boolean | DataType::Null) => types.push(DataType::Boolean),
            Some(other) => {
                return datafusion_common::plan_err!(
                    "fcr_rate: argument reopened must be a BOOLEAN, got {other}"
                );
            }
            None => {}
        }
        Ok(types)
    }

    fn kernel(
        &self,
        arg_types: &[DataType],
        _constants: &[Option<ScalarValue>],
    ) -> Result<FcrRateKernel> {
        Ok(FcrRateKernel {
            reopened: arg_types.len() == 2,
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
