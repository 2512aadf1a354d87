//! The SLA state of one ticket at a moment, shared by `sla_met` and `sla_compliance`.

use arrow::datatypes::DataType;
use datafusion_common::Result;

use crate::args::{MICROS_PER_MINUTE, coerce_integer, coerce_temporal, coerce_text};
use crate::calendar::Calendar;
use crate::error::KpiError;
use crate::pauses::{coerce_pauses, unpaused_exceeds};

/// The state at `as_of` (instants in UTC microseconds): `Some(true)` done within
/// target, `Some(false)` done late or not done and already past target, `None` not done
/// and still within target. A `done` later than `as_of` counts as not done. Without a
/// calendar, time is wall-clock time. Time inside `pauses` (sorted and merged, see
/// [`crate::pauses`]) does not count.
#[inline]
pub fn sla_state(
    function: &str,
    created: i64,
    done: Option<i64>,
    target_minutes: i64,
    as_of: i64,
    calendar: Option<&Calendar>,
    pauses: &[(i64, i64)],
) -> Result<Option<bool>> {
    let target = target_micros(function, target_minutes)?;
    let past_target = |until: i64| match (calendar, pauses) {
        (Some(calendar), []) => calendar.exceeds(created, until, target),
        (None, []) => until.saturating_sub(created) > target,
        (calendar, pauses) => unpaused_exceeds(calendar, created, until, target, pauses),
    };
    Ok(match done.filter(|&done| done <= as_of) {
        Some(done) => Some(!past_target(done)),
        None if past_target(as_of) => Some(false),
        None => None,
    })
}

/// An SLA target in microseconds; a negative target is an error naming the function.
#[inline]
pub fn target_micros(function: &str, target_minutes: i64) -> Result<i64> {
    if target_minutes < 0 {
        return Err(KpiError::NegativeTarget {
            function: function.to_string(),
            argument: "target_minutes".to_string(),
            value: target_minutes,
        }
        .into());
    }
    Ok(target_minutes.saturating_mul(MICROS_PER_MINUTE))
}

/// The argument types of `(created_at, done_at, target_minutes, as_of [, calendar
/// [, pauses]])`.
pub fn sla_arg_types(function: &str, arg_types: &[DataType]) -> Result<Vec<DataType>> {
    let mut types = vec![
        coerce_temporal(function, "created_at", &arg_types[0])?,
        coerce_temporal(function, "done_at", &arg_types[1])?,
        coerce_integer(function, "target_minutes", &arg_types[2])?,
        coerce_temporal(function, "as_of", &arg_types[3])?,
    ];
    if let Some(calendar) = arg_types.get(4) {
        types.push(coerce_text(function, "calendar", calendar)?);
    }
    if let Some(pauses) = arg_types.get(5) {
        types.push(coerce_pauses(function, pauses)?);
    }
    Ok(types)
}
