use std::hint::select_unpredictable;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::datatypes::{DataType, Date32Type, Float64Type};
use arrow::util::display::array_value_to_string;
use datafusion_common::{Result, ScalarValue, internal_datafusion_err, internal_err};
use datafusion_expr::{Documentation, Signature, Volatility};
use datafusion_macros::user_doc;

use crate::args::{
    RowValue, Same, check_arity, coerce_date, constant_micros, raw_ticks, temporal_as_micros,
};
use crate::error::KpiError;
use crate::ratio::{
    RatioAggregate, RatioFunction, RatioKernel, find_selected, first_selected, for_each_row,
    keys_for,
};

#[user_doc(
    doc_section(label = "MSP KPI Functions"),
    description = "Logo churn rate: of the clients active at period_start (onboarded before it and not churned before it), the percentage whose churned_on falls in [period_start, period_end). Clients onboarded during the period count in neither part. NULL churned_on = still a client. A group with no client active at the start gives NULL; period_end before period_start is an error.",
    syntax_example = "churn_rate(onboarded_on, churned_on, period_start, period_end)",
    sql_example = r#"```sql
> SELECT churn_rate(onboarded_on, churned_on, DATE '2026-10-01', DATE '2026-11-01') FROM clients;
+------+
| 3.0  |
+------+
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
        name = "period_start",
        description = "First day of the period (inclusive); a column or a literal."
    ),
    argument(
        name = "period_end",
        description = "End of the period (exclusive); a column or a literal."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ChurnRate {
    signature: Signature,
}

impl Default for ChurnRate {
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

udaf_singleton!(churn_rate_udaf, RatioAggregate(ChurnRate::default(),));

/// Churn over clients, counted (`churn_rate`) or weighted by MRR in cents
/// (`revenue_churn_rate`, whose arguments carry `mrr` third).
#[derive(Debug)]
pub struct ChurnKernel {
    function: &'static str,
    weighted: bool,
    dates: DateRepr,
    /// `period_start` and `period_end` in `dates`' representation when both are constants.
    constant_bounds: Option<(i64, i64)>,
}

/// How the four dates are compared. When they share one type they compare on their raw
/// values (days for Date32, the type's own unit otherwise); mixed types are converted
/// to UTC microseconds.
#[derive(Debug, Clone, Copy)]
enum DateRepr {
    Days,
    Ticks,
    Micros,
}

impl ChurnKernel {
    pub fn new(
        function: &'static str,
        weighted: bool,
        arg_types: &[DataType],
        constants: &[Option<ScalarValue>],
    ) -> Result<Self> {
        let (start, end) = bound_args(weighted);
        let date_args = [0, 1, start, end];
        let first = &arg_types[0];
        let dates = if !date_args.iter().all(|&i| &arg_types[i] == first) {
            DateRepr::Micros
        } else if first == &DataType::Date32 {
            DateRepr::Days
        } else {
            DateRepr::Ticks
        };
        let native = |value: &ScalarValue| -> Result<i64> {
            let array = value.to_array()?;
            Ok(match dates {
                DateRepr::Days => array.as_primitive::<Date32Type>().value(0) as i64,
                DateRepr::Ticks => match raw_ticks(&array) {
                    Some(ticks) => ticks[0],
                    None => return internal_err!("{function}: {value} is not a timestamp"),
                },
                DateRepr::Micros => constant_micros(function, value)?,
            })
        };
        let constant_bounds = match (&constants.get(start), &constants.get(end)) {
            (Some(Some(start)), Some(Some(end))) => Some((native(start)?, native(end)?)),
            _ => None,
        };
        Ok(Self {
            function,
            weighted,
            dates,
            constant_bounds,
        })
    }

    fn bounds(&self) -> (usize, usize) {
        bound_args(self.weighted)
    }
}

/// The argument positions of period_start and period_end (`revenue_churn_rate` has
/// `mrr` third).
fn bound_args(weighted: bool) -> (usize, usize) {
    if weighted { (3, 4) } else { (2, 3) }
}

/// The native value type of the dates compared.
trait Instant: Copy + Ord + TryFrom<i64> {
    /// A NULL `churned_on` (still a client) churns at the end of time.
    const NEVER: Self;
}

impl Instant for i32 {
    const NEVER: Self = i32::MAX;
}

impl Instant for i64 {
    const NEVER: Self = i64::MAX;
}

/// The largest MRR accepted, 10^13 (ten trillion a month): its cents stay below 2^51,
/// where [`cents`] is exact, and a sum of a million of them still fits in an `i64`.
const MAX_MRR: f64 = 1e13;

/// 2^52 + 2^51: adding it to a float below 2^51 in magnitude leaves that float rounded
/// to the nearest integer (ties to even) in the low bits of the sum's mantissa.
const ROUNDING_BIAS: f64 = 6_755_399_441_055_744.0;

/// MRR in whole cents, rounded half away from zero like `f64::round`, for the amounts
/// [`valid_mrr`] accepts. Float additions and a bit cast instead of `round` (a library
/// call on baseline x86-64) and of `as i64` (which saturates, with range and NaN tests).
#[inline(always)]
fn cents(amount: f64) -> i64 {
    let scaled = amount * 100.0;
    let biased = scaled + ROUNDING_BIAS;
    // Wrapping: NULL and filtered-out slots may hold any float, and their (meaningless)
    // cents are computed too, then weighted by zero.
    let nearest_even = (biased.to_bits() as i64).wrapping_sub(ROUNDING_BIAS.to_bits() as i64);
    // A tie rounded down to even goes up instead; the subtraction is exact.
    nearest_even.wrapping_add((scaled - (biased - ROUNDING_BIAS) == 0.5) as i64)
}

/// An MRR the function accepts: a number from 0 to [`MAX_MRR`] (not NaN).
#[inline(always)]
fn valid_mrr(amount: f64) -> bool {
    (0.0..=MAX_MRR).contains(&amount)
}

/// The columns of one batch in their compared representation, with the key of each row.
struct ChurnBatch<'a, T, K> {
    keys: &'a [K],
    onboarded: &'a [T],
    churned: &'a [T],
    churned_valid: Option<&'a BooleanBuffer>,
    mrr: Option<&'a [f64]>,
    selection: Option<&'a BooleanBuffer>,
}

impl<T: Instant, K: Copy> ChurnBatch<'_, T, K> {
    /// Active at start and lost in the period, without a branch on the data.
    #[inline(always)]
    fn contribute<F: FnMut(K, i64, i64)>(
        &self,
        start: impl RowValue<T>,
        end: impl RowValue<T>,
        add: &mut F,
    ) {
        // Slices of the keys' length, so that the loop indexes them without bounds checks.
        let keys = self.keys;
        let onboarded = &self.onboarded[..keys.len()];
        let churned = &self.churned[..keys.len()];
        let mrr = self.mrr.map(|mrr| &mrr[..keys.len()]);
        for_each_row(
            keys,
            self.selection,
            self.churned_valid,
            |row, key, selected, churned_valid| {
                let (start, end) = (start.at(row), end.at(row));
                let churned = if churned_valid != 0 {
                    churned[row]
                } else {
                    T::NEVER
                };
                let active_at_start = (onboarded[row] < start) & (churned >= start);
                let lost = active_at_start & (churned < end);
                let weight = match mrr {
                    Some(mrr) => selected * cents(mrr[row]),
                    None => selected,
                };
                // Without the hint LLVM may turn these selects into branches on the data.
                add(
                    key,
                    select_unpredictable(lost, weight, 0),
                    select_unpredictable(active_at_start, weight, 0),
                );
            },
        );
    }

    /// Runs the loop compiled for constant bounds, or the one for bound columns; or,
    /// without adding anything, names the first selected row whose period_end is before
    /// its period_start (`Some(row)`).
    #[inline(always)]
    fn contribute_with<F: FnMut(K, i64, i64)>(
        &self,
        constant_bounds: Option<(i64, i64)>,
        (starts, ends): (&[T], &[T]),
        add: &mut F,
    ) -> Result<Option<usize>> {
        let native = |value: i64| {
            T::try_from(value).map_err(|_| internal_datafusion_err!("date {value} out of range"))
        };
        let reversed = match constant_bounds {
            Some((start, end)) if end < start => {
                first_selected(self.onboarded.len(), self.selection)
            }
            Some(_) => None,
            None => {
                let bounds: Vec<(T, T)> =
                    starts.iter().copied().zip(ends.iter().copied()).collect();
                find_selected(&bounds, self.selection, |(start, end)| end < start)
            }
        };
        if reversed.is_some() {
            return Ok(reversed);
        }
        match constant_bounds {
            Some((start, end)) => self.contribute(Same(native(start)?), Same(native(end)?), add),
            None => self.contribute(starts, ends, add),
        }
        Ok(None)
    }
}

impl RatioKernel for ChurnKernel {
    fn contribute<K: Copy, F: FnMut(K, i64, i64)>(
        &self,
        args: &[ArrayRef],
        selection: Option<&BooleanBuffer>,
        keys: &[K],
        mut add: F,
    ) -> Result<()> {
        let function = self.function;
        let (start, end) = self.bounds();
        let churned_valid = args[1].logical_nulls();
        let churned_valid = churned_valid.as_ref().map(NullBuffer::inner);
        let mrr = match self.weighted {
            true => Some(args[2].as_primitive::<Float64Type>().values().as_ref()),
            false => None,
        };
        // A vectorised pass of its own, so that the loop's rows take no check.
        let bad_mrr =
            mrr.and_then(|mrr| find_selected(mrr, selection, |amount| !valid_mrr(amount)));
        if let Some(row) = bad_mrr {
            let value = array_value_to_string(&args[2], row).unwrap_or_default();
            return Err(KpiError::InvalidAmount {
                function: function.to_string(),
                argument: "mrr".to_string(),
                value,
                expected: "an amount from 0 to 1e13".to_string(),
            }
            .into());
        }
        let reversed = match self.dates {
            DateRepr::Days => {
                let days = |i: usize| args[i].as_primitive::<Date32Type>().values().as_ref();
                ChurnBatch {
                    keys: keys_for(keys, days(0).len())?,
                    onboarded: days(0),
                    churned: days(1),
                    churned_valid,
                    mrr,
                    selection,
                }
                .contribute_with(
                    self.constant_bounds,
                    (days(start), days(end)),
                    &mut add,
                )?
            }
            DateRepr::Ticks => {
                let ticks = |i: usize| {
                    raw_ticks(&args[i])
                        .ok_or_else(|| internal_datafusion_err!("{function}: expected timestamps"))
                };
                let onboarded = ticks(0)?;
                ChurnBatch {
                    keys: keys_for(keys, onboarded.len())?,
                    onboarded,
                    churned: ticks(1)?,
                    churned_valid,
                    mrr,
                    selection,
                }
                .contribute_with(
                    self.constant_bounds,
                    (ticks(start)?, ticks(end)?),
                    &mut add,
                )?
            }
            DateRepr::Micros => {
                let micros = |i: usize| temporal_as_micros(function, &args[i]);
                let (onboarded, churned) = (micros(0)?, micros(1)?);
                let (start, end) = (micros(start)?, micros(end)?);
                ChurnBatch {
                    keys: keys_for(keys, onboarded.len())?,
                    onboarded: &onboarded,
                    churned: &churned,
                    churned_valid,
                    mrr,
                    selection,
                }
                .contribute_with(self.constant_bounds, (&start, &end), &mut add)?
            }
        };
        match reversed {
            Some(row) => Err(KpiError::ReversedPeriod {
                function: function.to_string(),
                start: array_value_to_string(&args[start], row).unwrap_or_default(),
                end: array_value_to_string(&args[end], row).unwrap_or_default(),
            }
            .into()),
            None => Ok(()),
        }
    }

    fn required_args(&self) -> &[usize] {
        if self.weighted {
            &[0, 2, 3, 4]
        } else {
            &[0, 2, 3]
        }
    }

    fn unit_contributions(&self) -> bool {
        !self.weighted
    }
}

pub fn coerce_churn_dates(
    function: &str,
    arg_types: &[DataType],
    names: [&str; 4],
) -> Result<Vec<DataType>> {
    arg_types
        .iter()
        .zip(names)
        .map(|(t, name)| coerce_date(function, name, t))
        .collect()
}

impl RatioFunction for ChurnRate {
    type Kernel = ChurnKernel;

    fn name(&self) -> &'static str {
        "churn_rate"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity("churn_rate", arg_types, &[4])?;
        coerce_churn_dates(
            "churn_rate",
            arg_types,
            ["onboarded_on", "churned_on", "period_start", "period_end"],
        )
    }

    fn kernel(
        &self,
        arg_types: &[DataType],
        constants: &[Option<ScalarValue>],
    ) -> Result<ChurnKernel> {
        ChurnKernel::new("churn_rate", false, arg_types, constants)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_round_like_f64_round() {
        let ties = [0.005, 0.125, 0.375, 2.5, 1.005, 12.345, 0.0, 0.01, 99.995];
        let spread = (0..200_000).map(|i| i as f64 * 0.0037 + (i % 7) as f64 * 1e6);
        let extremes = [MAX_MRR, MAX_MRR - 0.005, 1e13 / 3.0, f64::MIN_POSITIVE];
        for amount in ties.into_iter().chain(spread).chain(extremes) {
            assert_eq!(cents(amount), (amount * 100.0).round() as i64, "{amount}");
        }
        // Exact ties round away from zero, not to even.
        assert_eq!(cents(0.125), 13);
        assert_eq!(cents(0.375), 38);
    }

    /// NULL and filtered-out slots may hold any float: converting it must not panic
    /// (the result is weighted by zero).
    #[test]
    fn cents_of_any_float_do_not_panic() {
        let amounts = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN,
            -0.0,
            -(ROUNDING_BIAS + 1.0) / 100.0,
            -1e300,
            -f64::MIN_POSITIVE,
        ];
        for amount in amounts {
            std::hint::black_box(cents(amount));
        }
    }

    #[test]
    fn mrr_outside_the_exact_range_is_invalid() {
        for amount in [0.0, 0.01, 1234.56, MAX_MRR] {
            assert!(valid_mrr(amount), "{amount}");
        }
        for amount in [-0.01, f64::NAN, f64::INFINITY, 1.0e13 + 0.01, f64::MAX] {
            assert!(!valid_mrr(amount), "{amount}");
        }
    }
}
