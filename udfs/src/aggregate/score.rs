//! The kernel shared by the aggregates of one integer column (`nps`, `csat`,
//! `fcr_rate`): each answered row adds its own numerator and 1 to the denominator.

use arrow::array::ArrayRef;
use arrow::buffer::BooleanBuffer;
use arrow::util::display::array_value_to_string;
use datafusion_common::{Result, exec_err};

use crate::ratio::{find_selected, for_each_weighted};
use crate::with_integer_values;

/// Native integers read as i64 without a per-batch widening copy.
pub trait AsI64: Copy {
    fn as_i64(self) -> i64;
}

macro_rules! impl_as_i64 {
    ($($t:ty),*) => {$(impl AsI64 for $t { #[inline(always)] fn as_i64(self) -> i64 { self as i64 } })*};
}
impl_as_i64!(i8, i16, i32, i64, u8, u16, u32);

impl AsI64 for u64 {
    #[inline(always)]
    fn as_i64(self) -> i64 {
        // Beyond i64::MAX is out of every domain; saturate so the range check sees it.
        self.min(i64::MAX as u64) as i64
    }
}

/// Adds `(numerator(value), 1)` for every selected row whose value is in
/// `min..=max`; a selected value outside the range is an error naming the function.
pub fn score_contributions<F: FnMut(usize, i64, i64)>(
    function: &str,
    array: &ArrayRef,
    selection: Option<&BooleanBuffer>,
    min: i64,
    max: i64,
    mut add: F,
    numerator: impl Fn(i64) -> i64,
) -> Result<()> {
    // The range check rides along in the main loop: a flag in a register costs less
    // than a second pass over the values.
    let mut suspect = false;
    with_integer_values!(array, function, |values| {
        for_each_weighted(values, selection, |row, value, weight| {
            let value = value.as_i64();
            suspect |= (weight != 0) & ((value < min) | (value > max));
            add(row, weight * numerator(value), weight);
        })
    });
    if !suspect {
        return Ok(());
    }
    let out_of_range = with_integer_values!(array, function, |values| {
        find_selected(values, selection, |value| {
            let value = value.as_i64();
            (value < min) | (value > max)
        })
    });
    if let Some(row) = out_of_range {
        let value = array_value_to_string(array, row).unwrap_or_default();
        let range = if max == i64::MAX {
            format!("at least {min}")
        } else {
            format!("from {min} to {max}")
        };
        return exec_err!("{function}: value {value} is out of range (expected {range})");
    }
    Ok(())
}
