use arrow::datatypes::DataType;
use datafusion_common::{Result, ScalarValue, plan_err};
use datafusion_expr::{Documentation, Signature, Volatility};
use datafusion_macros::user_doc;

use super::churn_rate::{ChurnKernel, coerce_churn_dates};
use crate::args::check_arity;
use crate::ratio::{RatioAggregate, RatioFunction};

#[user_doc(
    doc_section(label = "MSP KPI Functions"),
    description = "Revenue churn rate: like churn_rate, but each client weighs by its monthly recurring revenue: lost MRR of the clients that churned in [period_start, period_end) as a percentage of the MRR of the clients active at period_start. MRR is summed in whole cents, so results do not depend on partitioning. An mrr that is negative, NaN or above 1e13 (ten trillion) is an error.",
    syntax_example = "revenue_churn_rate(onboarded_on, churned_on, mrr, period_start, period_end)",
    sql_example = r#"```sql
> SELECT revenue_churn_rate(onboarded_on, churned_on, mrr, DATE '2026-10-01', DATE '2026-11-01') FROM clients;
```"#,
    argument(
        name = "onboarded_on",
        description = "When the client started (date or timestamp)."
    ),
    argument(
        name = "churned_on",
        description = "When the client left; NULL while still a client."
    ),
    argument(
        name = "mrr",
        description = "Monthly recurring revenue (a number from 0 to 1e13)."
    ),
    argument(
        name = "period_start",
        description = "First day of the period (inclusive)."
    ),
    argument(name = "period_end", description = "End of the period (exclusive).")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RevenueChurnRate {
    signature: Signature,
}

impl Default for RevenueChurnRate {
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

udaf_singleton!(
    revenue_churn_rate_udaf,
    RatioAggregate(RevenueChurnRate::default(),)
);

const NAME: &str = "revenue_churn_rate";

impl RatioFunction for RevenueChurnRate {
    type Kernel = ChurnKernel;

    fn name(&self) -> &'static str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(NAME, arg_types, &[5])?;
        let mrr = match &arg_types[2] {
            t if t.is_numeric() || t.is_null() => DataType::Float64,
            t => return plan_err!("{NAME}: argument mrr must be a number, got {t}"),
        };
        let dates = [
            arg_types[0].clone(),
            arg_types[1].clone(),
            arg_types[3].clone(),
            arg_types[4].clone(),
        ];
        let mut types = coerce_churn_dates(
            NAME,
            &dates,
            ["onboarded_on", "churned_on", "period_start", "period_end"],
        )?;
        types.insert(2, mrr);
        Ok(types)
    }

    fn kernel(
        &self,
        arg_types: &[DataType],
        constants: &[Option<ScalarValue>],
    ) -> Result<ChurnKernel> {
        ChurnKernel::new(NAME, true, arg_types, constants)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
