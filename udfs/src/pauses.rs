//! SLA clocks that stop while a ticket waits on the customer.
//!
//! A ticket's pauses are intervals `[start, end)` of UTC microseconds, `end` open
//! (`i64::MAX`) while the ticket is still paused. `sla_pauses` builds them from a
//! status history as a `List<Struct<start, end>>`; the scalars take such a list as an
//! optional last argument. Business time with pauses is the business time of the
//! calendar (or wall-clock time) outside them, so every property of business time
//! holds unchanged on the unpaused parts: additivity, the deadline round trip and the
//! deadline's minimality.
//!

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Field, Fields};
use datafusion_common::{Result, exec_err, plan_err};

use crate::args::{temporal_as_micros, utc_micros_type};
use crate::calendar::Calendar;

/// The end of a pause that has not ended.
pub const OPEN: i64 = i64::MAX;

/// The fields of one pause: `start`, and `end` (NULL while still paused).
pub fn pause_fields() -> Fields {
    Fields::from(vec![
        Field::new("start", utc_micros_type(), false),
        Field::new("end", utc_micros_type(), true),
    ])
}

/// The type of a list of pauses, as `sla_pauses` returns it.
pub fn pauses_type() -> DataType {
    DataType::List(Arc::new(Field::new(
        "item",
        DataType::Struct(pause_fields()),
        true,
    )))
}

/// A pauses argument: a list (or large list) of structs of two timestamps or dates,
/// taken as they are; NULL reads as "no pauses".
pub fn coerce_pauses(function: &str, data_type: &DataType) -> Result<DataType> {
    let item = match data_type {
        DataType::Null => return Ok(pauses_type()),
        DataType::List(item) | DataType::LargeList(item) => item.data_type(),
        other => {
            return plan_err!(
                "{function}: argument pauses must be a list of {{start, end}} structs (as sla_pauses returns), got {other}"
            );
        }
    };
    let temporal = |t: &DataType| {
        matches!(
            t,
            DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 | DataType::Null
        )
    };
    match item {
        DataType::Struct(fields)
            if fields.len() == 2 && fields.iter().all(|f| temporal(f.data_type())) =>
        {
            Ok(data_type.clone())
        }
        other => plan_err!(
            "{function}: argument pauses must be a list of structs of two timestamps (start, end), got a list of {other}"
        ),
    }
}

/// The pauses of a batch's rows, read once, handed out per row sorted and merged.
pub struct PauseLists {
    /// Per row: the range of `starts`/`ends` it holds; empty for a NULL list.
    offsets: Vec<usize>,
    starts: Vec<i64>,
    /// `OPEN` for a NULL end.
    ends: Vec<i64>,
}

impl PauseLists {
    /// Reads a pauses argument of `rows` rows. A NULL list, and a pause with a NULL
    /// start, are no pauses.
    pub fn from_array(function: &str, array: &ArrayRef) -> Result<Self> {
        let rows = array.len();
        let (list_offsets, values): (Vec<usize>, ArrayRef) = match array.data_type() {
            DataType::Null => {
                return Ok(Self {
                    offsets: vec![0; rows + 1],
                    starts: Vec::new(),
                    ends: Vec::new(),
                });
            }
            DataType::List(_) => {
                let list = array.as_list::<i32>();
                let offsets = list.value_offsets().iter().map(|&o| o as usize).collect();
                (offsets, Arc::clone(list.values()))
            }
            DataType::LargeList(_) => {
                let list = array.as_list::<i64>();
                let offsets = list.value_offsets().iter().map(|&o| o as usize).collect();
                (offsets, Arc::clone(list.values()))
            }
            other => return exec_err!("{function}: pauses must be a list, got {other}"),
        };
        let Some(pauses) = values.as_struct_opt() else {
            return exec_err!("{function}: pauses must be a list of structs");
        };
        let (start_column, end_column) = (pauses.column(0), pauses.column(1));
        let start_values = temporal_as_micros(function, start_column)?;
        let end_values = temporal_as_micros(function, end_column)?;
        let mut offsets = Vec::with_capacity(rows + 1);
        let (mut starts, mut ends) = (Vec::new(), Vec::new());
        offsets.push(0);
        for row in 0..rows {
            if array.is_valid(row) {
                for i in list_offsets[row]..list_offsets[row + 1] {
                    if pauses.is_null(i) || start_column.is_null(i) {
                        continue;
                    }
                    starts.push(start_values[i]);
                    ends.push(if end_column.is_null(i) {
                        OPEN
                    } else {
                        end_values[i]
                    });
                }
            }
            offsets.push(starts.len());
        }
        Ok(Self {
            offsets,
            starts,
            ends,
        })
    }

    /// Whether row `row` has a pause (before empty ones are dropped).
    #[inline]
    pub fn has_any(&self, row: usize) -> bool {
        self.offsets[row] < self.offsets[row + 1]
    }

    /// Row `row`'s pauses, sorted by start and merged where they overlap or touch;
    /// empty intervals are dropped. `scratch` holds them.
    pub fn row<'a>(&self, row: usize, scratch: &'a mut Vec<(i64, i64)>) -> &'a [(i64, i64)] {
        scratch.clear();
        let range = self.offsets[row]..self.offsets[row + 1];
        scratch.extend(
            self.starts[range.clone()]
                .iter()
                .zip(&self.ends[range])
                .map(|(&s, &e)| (s, e))
                .filter(|(s, e)| s < e),
        );
        normalize(scratch);
        scratch
    }
}

/// Sorts intervals and merges those that overlap or touch, in place.
pub fn normalize(pauses: &mut Vec<(i64, i64)>) {
    if pauses.windows(2).any(|w| w[1].0 <= w[0].1) {
        pauses.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(pauses.len());
        for &(start, end) in pauses.iter() {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        *pauses = merged;
    }
}

/// Business time in `[from, to)`, from ≤ to: the calendar's, or wall-clock time.
#[inline]
fn span(calendar: Option<&Calendar>, from: i64, to: i64) -> i64 {
    match calendar {
        Some(calendar) => calendar.business_micros(from, to),
        None => to.saturating_sub(from),
    }
}

/// The parts of `[from, to)` outside the (sorted, merged) pauses, in order.
fn unpaused_parts(from: i64, to: i64, pauses: &[(i64, i64)]) -> impl Iterator<Item = (i64, i64)> {
    let mut cursor = from;
    let mut pauses = pauses.iter().filter(move |(_, end)| *end > from);
    let mut done = from >= to;
    std::iter::from_fn(move || {
        while !done {
            match pauses.next() {
                Some(&(start, end)) if start < to => {
                    let part = (cursor, start.min(to));
                    cursor = cursor.max(end);
                    if cursor >= to {
                        done = true;
                    }
                    if part.0 < part.1 {
                        return Some(part);
                    }
                }
                _ => {
                    done = true;
                    if cursor < to {
                        return Some((cursor, to));
                    }
                }
            }
        }
        None
    })
}

/// Business time between two instants outside the pauses, in microseconds; negative
/// when `to` is before `from`.
pub fn unpaused_micros(
    calendar: Option<&Calendar>,
    from: i64,
    to: i64,
    pauses: &[(i64, i64)],
) -> i64 {
    if to < from {
        return -unpaused_micros(calendar, to, from, pauses);
    }
    unpaused_parts(from, to, pauses)
        .map(|(a, b)| span(calendar, a, b))
        .fold(0i64, i64::saturating_add)
}

/// Business time between two instants inside the pauses, in microseconds; negative
/// when `to` is before `from`.
pub fn paused_micros(
    calendar: Option<&Calendar>,
    from: i64,
    to: i64,
    pauses: &[(i64, i64)],
) -> i64 {
    if to < from {
        return -paused_micros(calendar, to, from, pauses);
    }
    pauses
        .iter()
        .map(|&(start, end)| (start.max(from), end.min(to)))
        .filter(|(a, b)| a < b)
        .map(|(a, b)| span(calendar, a, b))
        .fold(0i64, i64::saturating_add)
}

/// Whether the unpaused business time between two instants exceeds `limit`,
/// counted only until the answer is known (see [`Calendar::exceeds`]).
pub fn unpaused_exceeds(
    calendar: Option<&Calendar>,
    from: i64,
    to: i64,
    limit: i64,
    pauses: &[(i64, i64)],
) -> bool {
    if to < from {
        return unpaused_micros(calendar, from, to, pauses) > limit;
    }
    let mut total = 0i64;
    for (a, b) in unpaused_parts(from, to, pauses) {
        let left = limit.saturating_sub(total);
        let exceeded = match calendar {
            Some(calendar) => calendar.exceeds(a, b, left),
            None => b.saturating_sub(a) > left,
        };
        if exceeded {
            return true;
        }
        total = total.saturating_add(span(calendar, a, b));
    }
    // Nothing unpaused, or a negative limit: 0 may already exceed it.
    total > limit
}

/// The first instant at which `target` microseconds of unpaused business time have
/// passed since `start`; `None` when a pause that never ends comes first.
pub fn unpaused_deadline(
    calendar: Option<&Calendar>,
    start: i64,
    target: i64,
    pauses: &[(i64, i64)],
) -> Result<Option<i64>> {
    let deadline_from = |from: i64, remaining: i64| match calendar {
        Some(calendar) => calendar.deadline(from, remaining),
        None => Ok(from.saturating_add(remaining)),
    };
    if target <= 0 {
        return deadline_from(start, target).map(Some);
    }
    let mut cursor = start;
    let mut remaining = target;
    for &(pause_start, pause_end) in pauses.iter().filter(|(_, end)| *end > start) {
        if pause_start > cursor {
            let available = span(calendar, cursor, pause_start);
            if available >= remaining {
                return deadline_from(cursor, remaining).map(Some);
            }
            remaining -= available;
        }
        if pause_end == OPEN {
            return Ok(None);
        }
        cursor = cursor.max(pause_end);
    }
    deadline_from(cursor, remaining).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::MICROS_PER_MINUTE;

    const H: i64 = 60 * MICROS_PER_MINUTE;

    #[test]
    fn unpaused_parts_skip_pauses_and_clip_them() {
        let parts: Vec<_> =
            unpaused_parts(0, 10 * H, &[(-5 * H, H), (3 * H, 4 * H), (9 * H, OPEN)]).collect();
        assert_eq!(parts, vec![(H, 3 * H), (4 * H, 9 * H)]);
        assert_eq!(
            unpaused_parts(0, 10 * H, &[]).collect::<Vec<_>>(),
            vec![(0, 10 * H)]
        );
        assert_eq!(unpaused_parts(0, 10 * H, &[(-H, OPEN)]).count(), 0);
        assert_eq!(unpaused_parts(5, 5, &[]).count(), 0);
    }

    #[test]
    fn wall_clock_pauses() {
        let pauses = [(H, 25 * H)];
        assert_eq!(unpaused_micros(None, 0, 27 * H, &pauses), 3 * H);
        assert_eq!(paused_micros(None, 0, 27 * H, &pauses), 24 * H);
        assert_eq!(unpaused_micros(None, 27 * H, 0, &pauses), -3 * H);
        assert_eq!(
            unpaused_deadline(None, 0, 4 * H, &pauses).unwrap(),
            Some(28 * H)
        );
        assert_eq!(unpaused_deadline(None, 0, H, &pauses).unwrap(), Some(H));
        assert_eq!(
            unpaused_deadline(None, 0, 2 * H, &[(H, OPEN)]).unwrap(),
            None
        );
        assert!(!unpaused_exceeds(None, 0, 27 * H, 4 * H, &pauses));
        assert!(unpaused_exceeds(None, 0, 29 * H, 4 * H, &pauses));
    }

    #[test]
    fn normalize_sorts_and_merges() {
        let mut pauses = vec![(5, 9), (1, 3), (3, 4), (8, 12)];
        normalize(&mut pauses);
        assert_eq!(pauses, vec![(1, 4), (5, 12)]);
    }
}
