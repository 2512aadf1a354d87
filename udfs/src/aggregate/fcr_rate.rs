use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::buffer::BooleanBuffer;
use arrow::datatypes::DataType;
use datafusion_common::{Result, ScalarValue};
use datafusion_expr::{AggregateUDF, Documentation, Signature, Volatility};
use datafusion_macros::user_doc;

use super::score::score_contributions;
use crate::args::{check_arity, coerce_integer};
use crate::ratio::{RatioAggregate, RatioFunction, RatioKernel};

#[user_doc(
    doc_section(label = "MSP KPI Functions"),
    description = "First-contact resolution rate: the percentage of resolved tickets (non-NULL contacts) that needed exactly one customer contact. NULL contacts (not yet resolved) are ignored; a group without resolved tickets gives NULL; contacts below 1 are an error.",
    syntax_example = "fcr_rate(contacts)",
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

pub fn fcr_rate_udaf() -> Arc<AggregateUDF> {
    Arc::new(AggregateUDF::new_from_impl(RatioAggregate(
        FcrRate::default(),
    )))
}

#[derive(Debug)]
pub struct FcrRateKernel;

impl RatioKernel for FcrRateKernel {
    fn contribute<K: Copy, F: FnMut(K, i64, i64)>(
        &self,
        args: &[ArrayRef],
        selection: Option<&BooleanBuffer>,
        keys: &[K],
        add: F,
    ) -> Result<()> {
        score_contributions(
            "fcr_rate",
            &args[0],
            selection,
            keys,
            1..=i64::MAX,
            add,
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
        check_arity("fcr_rate", arg_types, &[1])?;
        Ok(vec![coerce_integer("fcr_rate", "contacts", &arg_types[0])?])
    }

    fn kernel(
        &self,
        _arg_types: &[DataType],
        _constants: &[Option<ScalarValue>],
    ) -> Result<FcrRateKernel> {
        Ok(FcrRateKernel)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
