use std::ops::RangeInclusive;

use datafusion_expr::{Documentation, Signature, Volatility};
use datafusion_macros::user_doc;

use super::score::{Scale, ScoreFunction};
use crate::ratio::RatioAggregate;

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

udaf_singleton!(nps_udaf, RatioAggregate(Nps::default()));

/// The 0..10 scale: a promoter (9-10) adds 1, a passive (7-8) 0, a detractor (0-6) -1.
#[derive(Debug, Default, Clone, Copy)]
pub struct NpsKernel;

/// Each score's numerator: -1 for a detractor (0-6), 0 for a passive (7-8), 1 for a
/// promoter (9-10).
const SCORE_NUMERATOR: [i64; 16] = [-1, -1, -1, -1, -1, -1, -1, 0, 0, 1, 1, 0, 0, 0, 0, 0];

impl Scale for NpsKernel {
    const FUNCTION: &'static str = "nps";
    const RANGE: RangeInclusive<i64> = 0..=10;

    #[inline(always)]
    fn numerator(score: i64) -> i64 {
        // A table look-up takes fewer instructions than two comparisons. Scores are
        // checked to be 0 to 10 first; the mask only spares a bounds check.
        SCORE_NUMERATOR[(score & 15) as usize]
    }
}

impl ScoreFunction for Nps {
    type Scale = NpsKernel;

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
