use std::ops::RangeInclusive;

use datafusion_expr::{Documentation, Signature, Volatility};
use datafusion_macros::user_doc;

use super::score::{Scale, ScoreFunction};
use crate::ratio::RatioAggregate;

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

udaf_singleton!(csat_udaf, RatioAggregate(Csat::default()));

/// The 1..5 scale: a 4 or a 5 adds 1.
#[derive(Debug, Default, Clone, Copy)]
pub struct CsatKernel;

impl Scale for CsatKernel {
    const FUNCTION: &'static str = "csat";
    const RANGE: RangeInclusive<i64> = 1..=5;

    #[inline(always)]
    fn numerator(score: i64) -> i64 {
        (score >= 4) as i64
    }
}

impl ScoreFunction for Csat {
    type Scale = CsatKernel;

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
