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
    description = "Net Promoter Score: the percentage of promoters (scores 9-10) minus the percentage of detractors (0-6) among answered scores on the 0..10 scale, from -100 to 100. NULL scores are ignored; a group without answers gives NULL; a score outside 0..10 is an error.",
    syntax_example = "nps(score)",
    sql_example = r#"```sql
> SELECT nps(score) FROM (VALUES (10), (9), (7), (3)) AS t(score);
+--------------+
| nps(t.score) |
+--------------+
| 25.0         |
+--------------+
```"#,
    argument(
        name = "score",
        description = "Survey answer on the 0..10 scale, any integer type."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Nps {
    signature: Signature,
}

impl Default for Nps {
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

pub fn nps_udaf() -> Arc<AggregateUDF> {
    Arc::new(AggregateUDF::new_from_impl(RatioAggregate(Nps::default())))
}

#[derive(Debug)]
pub struct NpsKernel;

/// Each score's numerator: -1 for a detractor (0-6), 0 for a passive (7-8), 1 for a
/// promoter (9-10).
const SCORE_NUMERATOR: [i64; 16] = [-1, -1, -1, -1, -1, -1, -1, 0, 0, 1, 1, 0, 0, 0, 0, 0];

impl RatioKernel for NpsKernel {
    fn contribute<K: Copy, F: FnMut(K, i64, i64)>(
        &self,
        args: &[ArrayRef],
        selection: Option<&BooleanBuffer>,
        keys: &[K],
        add: F,
    ) -> Result<()> {
        score_contributions(
            ("nps", "score"),
            &args[0],
            selection,
            keys,
            0..=10,
            add,
            |score| {
                // A table look-up takes fewer instructions than two comparisons. Scores
                // are checked to be 0 to 10 first; the mask only spares a bounds check.
                SCORE_NUMERATOR[(score & 15) as usize]
            },
        )
    }

    fn required_args(&self) -> &[usize] {
        &[0]
    }
}

impl RatioFunction for Nps {
    type Kernel = NpsKernel;

    fn name(&self) -> &'static str {
        "nps"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity("nps", arg_types, &[1])?;
        Ok(vec![coerce_integer("nps", "score", &arg_types[0])?])
    }

    fn kernel(
        &self,
        _arg_types: &[DataType],
        _constants: &[Option<ScalarValue>],
    ) -> Result<NpsKernel> {
        Ok(NpsKernel)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
