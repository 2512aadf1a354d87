//! The kernel shared by the aggregates of one integer column (`nps`, `csat`,
//! `fcr_rate`): each answered row adds its own numerator and 1 to the denominator;
//! and the one implementation of the survey-score aggregates, which differ only in
//! their [`Scale`].

use std::fmt::Debug;
use std::hash::Hash;
use std::ops::RangeInclusive;

use arrow::array::{ArrayRef, downcast_integer_array};
use arrow::buffer::BooleanBuffer;
use arrow::datatypes::DataType;
use arrow::util::display::array_value_to_string;
use datafusion_common::{Result, ScalarValue};
use datafusion_expr::{Documentation, Signature};

use crate::args::{check_arity, coerce_integer, not_an_integer};
use crate::error::KpiError;
use crate::ratio::{RatioFunction, RatioKernel, find_selected, for_each_weighted, keys_for};

/// Native integers read as i64 without a per-batch widening copy.
pub trait AsI64: Copy + PartialOrd {
    fn as_i64(self) -> i64;
    /// The value of this type nearest to `value`.
    fn saturating_from_i64(value: i64) -> Self;
}

macro_rules! impl_as_i64 {
    ($($t:ty),*) => {$(impl AsI64 for $t {
        #[inline(always)]
        fn as_i64(self) -> i64 {
            self as i64
        }
        #[inline(always)]
        fn saturating_from_i64(value: i64) -> Self {
            value.clamp(<$t>::MIN as i64, <$t>::MAX as i64) as $t
        }
    })*};
}
impl_as_i64!(i8, i16, i32, i64, u8, u16, u32);

impl AsI64 for u64 {
    #[inline(always)]
    fn as_i64(self) -> i64 {
        // Beyond i64::MAX is out of every domain; saturate so the range check sees it.
        self.min(i64::MAX as u64) as i64
    }
    #[inline(always)]
    fn saturating_from_i64(value: i64) -> Self {
        value.max(0) as u64
    }
}

/// Whether a value of type `T` falls outside `min..=max`, compared in `T` itself so
/// that the check over a column vectorises at the column's own width.
#[inline(always)]
fn outside<T: AsI64>(min: i64, max: i64) -> impl Fn(T) -> bool + Copy {
    let (low, high) = (T::saturating_from_i64(min), T::saturating_from_i64(max));
    // A bound beyond the type's range on the wrong side: no value fits at all.
    let none_fits = low.as_i64() < min || high.as_i64() > max;
    move |value: T| none_fits | (value < low) | (value > high)
}

/// Adds `(numerator(value), 1)` for every selected row whose value is in `valid`;
/// a selected value outside it is an error naming the function.
pub fn score_contributions<K: Copy, F: FnMut(K, i64, i64)>(
    (function, argument): (&str, &str),
    array: &ArrayRef,
    selection: Option<&BooleanBuffer>,
    keys: &[K],
    valid: RangeInclusive<i64>,
    mut add: F,
    numerator: impl Fn(i64) -> i64,
) -> Result<()> {
    // The range check is a vectorised pass of its own before the counting loop: with
    // many groups that loop waits on memory, and the fewer instructions each row takes
    // there, the more rows' counter updates the CPU keeps in flight.
    let (min, max) = valid.into_inner();
    let integers = array.as_ref();
    let out_of_range = downcast_integer_array!(
        integers => find_selected(integers.values(), selection, outside(min, max)),
        other => return Err(not_an_integer(function, other))
    );
    if let Some(row) = out_of_range {
        let value = array_value_to_string(array, row).unwrap_or_default();
        let range = if max == i64::MAX {
            format!("at least {min}")
        } else {
            format!("from {min} to {max}")
        };
        return Err(KpiError::OutOfRange {
            function: function.to_string(),
            argument: argument.to_string(),
            value,
            expected: range,
        }
        .into());
    }
    downcast_integer_array!(
        integers => {
            let values = integers.values();
            let keys = keys_for(keys, values.len())?;
            for_each_weighted(values, keys, selection, |key, value, weight| {
                add(key, weight * numerator(value.as_i64()), weight);
            })
        },
        other => return Err(not_an_integer(function, other))
    );
    Ok(())
}

/// A survey score's scale: the function it belongs to, the answers it accepts and what
/// each answer adds to the numerator (the denominator counts every answer). A scale is
/// the kernel of its aggregate.
pub trait Scale: Debug + Default + Send + Sync + 'static {
    const FUNCTION: &'static str;
    const RANGE: RangeInclusive<i64>;
    fn numerator(score: i64) -> i64;
}

impl<S: Scale> RatioKernel for S {
    fn contribute<K: Copy, F: FnMut(K, i64, i64)>(
        &self,
        args: &[ArrayRef],
        selection: Option<&BooleanBuffer>,
        keys: &[K],
        add: F,
    ) -> Result<()> {
        score_contributions(
            (S::FUNCTION, "score"),
            &args[0],
            selection,
            keys,
            S::RANGE,
            add,
            S::numerator,
        )
    }

    fn required_args(&self) -> &[usize] {
        &[0]
    }
}

/// A survey-score aggregate (`nps`, `csat`): one `score` argument of any integer
/// type, read on its scale. The function's own part is its scale and its docs.
pub trait ScoreFunction: Debug + PartialEq + Eq + Hash + Send + Sync + 'static {
    type Scale: Scale;
    fn signature(&self) -> &Signature;
    fn documentation(&self) -> Option<&Documentation>;
}

impl<F: ScoreFunction> RatioFunction for F {
    type Kernel = F::Scale;

    fn name(&self) -> &'static str {
        F::Scale::FUNCTION
    }

    fn signature(&self) -> &Signature {
        ScoreFunction::signature(self)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let name = F::Scale::FUNCTION;
        check_arity(name, arg_types, &[1])?;
        Ok(vec![coerce_integer(name, "score", &arg_types[0])?])
    }

    fn kernel(
        &self,
        _arg_types: &[DataType],
        _constants: &[Option<ScalarValue>],
    ) -> Result<F::Scale> {
        Ok(F::Scale::default())
    }

    fn documentation(&self) -> Option<&Documentation> {
        ScoreFunction::documentation(self)
    }
}
