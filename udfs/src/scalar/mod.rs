//! Scalar helpers: business time, SLA state, deadlines and local months.

pub mod business_deadline;
pub mod business_minutes;
pub mod local_month;
pub mod paused_minutes;
pub mod sla_met;

use arrow::array::ArrayRef;
use datafusion_common::Result;
use datafusion_expr::ColumnarValue;

/// The first `n` arguments as arrays of the batch's length (literals expanded).
pub(crate) fn leading_arrays(
    args: &[ColumnarValue],
    n: usize,
    rows: usize,
) -> Result<Vec<ArrayRef>> {
    args[..n].iter().map(|arg| arg.to_array(rows)).collect()
}
