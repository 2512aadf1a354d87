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
    description = "Customer satisfaction (top-two-box): the percentage of answers of 4 or 5 among answered scores on the 1..5 scale. NULL scores are ignored; a group without answers gives NULL; a score outside 1..5 is an error.",
    syntax_example = "csat(score)",
    sql_example = r#"```sql
> SELECT csat(score) FROM (VALUES (5), (4), (3), (1)) AS t(score);
+---------------+
| csat(t.score) |
+---------------+
| 50.0          |
+---------------+
```"#,
    argument(
        name = "score",
        description = "Survey answer on the 1..5 scale, any integer type."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Csat {
    signature: Signature,
}

impl Default for Csat {
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

pub fn csat_udaf() -> Arc<AggregateUDF> {
    Arc::new(AggregateUDF::new_from_impl(RatioAggregate(Csat::default())))
}

#[derive(Debug)]
pub struct CsatKernel;

impl RatioKernel for CsatKernel {
    fn contribute<K: Copy, F: FnMut(K, i64, i64)>(
        &self,
        args: &[ArrayRef],
        selection: Option<&BooleanBuffer>,
        keys: &[K],
        add: F,
    ) -> Result<()> {
        score_contributions(
            ("csat", "score"),
            &args[0],
            selection,
            keys,
            1..=5,
            add,
            |score| (score >= 4) as i64,
        )
    }

    fn required_args(&self) -> &[usize] {
        &[0]
    }
}

impl RatioFunction for Csat {
    type Kernel = CsatKernel;

    fn name(&self) -> &'static str {
        "csat"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity("csat", arg_types, &[1])?;
        Ok(vec![coerce_integer("csat", "score", &arg_types[0])?])
    }

    fn kernel(
        &self,
        _arg_types: &[DataType],
        _constants: &[Option<ScalarValue>],
    ) -> Result<CsatKernel> {
        Ok(CsatKernel)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
