//! The rows of every group in one buffer, and each group's effective history:
//! one kind per instant, in time order.

use std::fmt::Debug;
use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, ListArray, StringArray, TimestampMicrosecondArray,
    UInt8Array,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::Field;
use datafusion_common::{Result, exec_err, internal_err};
use datafusion_expr::EmitTo;

use super::kind::StatusKind;
use super::texts::{ByView, Interner, Texts, texts};
use crate::args::temporal_as_micros;

/// One status row: its group, the instant, and the status (interned) with its kind.
///
/// Sixteen bytes: every row of every group sits in one vector, so that adding a batch
/// allocates nothing per group; the rows are put in group order only when they are
/// read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Change {
    pub(super) at: i64,
    pub(super) group: u32,
    /// The status's id in the accumulator's [`Interner`], shifted left by two, with the
    /// kind in the two low bits.
    pub(super) status_and_kind: u32,
}

impl Change {
    pub(super) fn status(self) -> u32 {
        self.status_and_kind >> 2
    }

    pub(super) fn kind(self) -> StatusKind {
        match self.status_and_kind & 3 {
            0 => StatusKind::Open,
            1 => StatusKind::Paused,
            2 => StatusKind::Resolved,
            _ => StatusKind::Closed,
        }
    }
}

/// A ticket's history as the functions read it: one kind per instant, in time order.
pub type Effective = [(i64, StatusKind)];

/// The effective histories of consecutive groups, in one buffer.
#[derive(Debug, Default)]
pub struct Histories {
    /// Group `i` is `changes[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<usize>,
    changes: Vec<(i64, StatusKind)>,
}

impl Histories {
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Group `i`'s history; `None` for a group without rows.
    pub fn get(&self, i: usize) -> Option<&Effective> {
        let history = &self.changes[self.offsets[i]..self.offsets[i + 1]];
        (!history.is_empty()).then_some(history)
    }

    pub fn iter(&self) -> impl Iterator<Item = Option<&Effective>> + Clone {
        (0..self.len()).map(|i| self.get(i))
    }
}

/// The rows of every group, and the status names they use.
#[derive(Debug)]
pub(super) struct HistoryStore {
    pub(super) function: &'static str,
    pub(super) num_groups: usize,
    /// Every group's rows, in the order they arrived.
    pub(super) changes: Vec<Change>,
    pub(super) statuses: Interner,
}

impl HistoryStore {
    pub(super) fn new(function: &'static str) -> Self {
        Self {
            function,
            num_groups: 0,
            changes: Vec::new(),
            statuses: Interner::default(),
        }
    }

    pub(super) fn grow_to(&mut self, total_num_groups: usize) -> Result<()> {
        if total_num_groups > u32::MAX as usize {
            return exec_err!("{}: more than {} groups", self.function, u32::MAX);
        }
        self.num_groups = self.num_groups.max(total_num_groups);
        Ok(())
    }

    pub(super) fn change(
        &mut self,
        group: usize,
        at: i64,
        status: &str,
        kind: StatusKind,
    ) -> Result<Change> {
        let status = self.statuses.id(self.function, status)?;
        Ok(Self::change_of(group, at, status, kind))
    }

    #[inline]
    pub(super) fn change_of(group: usize, at: i64, status: u32, kind: StatusKind) -> Change {
        Change {
            at,
            group: group as u32,
            status_and_kind: status << 2 | kind as u32,
        }
    }

    /// Calls `each(row, change)` for every row of a batch of arguments inside
    /// `filter` with no NULL argument.
    pub(super) fn changes(
        &mut self,
        values: &[ArrayRef],
        filter: Option<&BooleanArray>,
        group_of: impl Fn(usize) -> usize,
        mut each: impl FnMut(Change),
    ) -> Result<()> {
        let function = self.function;
        let [changed_at, status, kind] = values else {
            return internal_err!("{function}: expected 3 arguments, got {}", values.len());
        };
        let at = temporal_as_micros(function, changed_at)?;
        let statuses = Texts::new(function, status)?;
        let kinds = Texts::new(function, kind)?;
        let at_valid = changed_at.logical_nulls();
        let (mut status_ids, mut kind_of) = (ByView::new(), ByView::new());
        for row in 0..at.len() {
            let selected = filter.is_none_or(|f| f.is_valid(row) && f.value(row));
            let (Some(status), Some(kind)) = (statuses.get(row), kinds.get(row)) else {
                continue;
            };
            if !selected || at_valid.as_ref().is_some_and(|v| v.is_null(row)) {
                continue;
            }
            let kind = kind_of.get_or(kinds.view(row), || StatusKind::parse(function, kind))?;
            let status =
                status_ids.get_or(statuses.view(row), || self.statuses.id(function, status))?;
            each(Self::change_of(group_of(row), at[row], status, kind));
        }
        Ok(())
    }

    pub(super) fn add(
        &mut self,
        values: &[ArrayRef],
        filter: Option<&BooleanArray>,
        group_of: impl Fn(usize) -> usize,
    ) -> Result<()> {
        let mut added = std::mem::take(&mut self.changes);
        let result = self.changes(values, filter, group_of, |change| added.push(change));
        self.changes = added;
        result
    }

    /// Takes back rows added before (a sliding window frame moving on).
    pub(super) fn retract(&mut self, values: &[ArrayRef]) -> Result<()> {
        let mut removed = Vec::new();
        self.changes(values, None, |_| 0, |change| removed.push(change))?;
        for change in removed {
            if let Some(i) = self.changes.iter().position(|c| *c == change) {
                self.changes.swap_remove(i);
            }
        }
        Ok(())
    }

    /// Adds partial states: per row, a list of each of changed_at, status and kind.
    pub(super) fn merge(
        &mut self,
        states: &[ArrayRef],
        group_of: impl Fn(usize) -> usize,
    ) -> Result<()> {
        let function = self.function;
        let [at_lists, status_lists, kind_lists] = states else {
            return internal_err!("{function}: expected 3 state columns, got {}", states.len());
        };
        let (at_lists, status_lists, kind_lists) = (
            at_lists.as_list::<i32>(),
            status_lists.as_list::<i32>(),
            kind_lists.as_list::<i32>(),
        );
        let at = temporal_as_micros(function, at_lists.values())?;
        let statuses = texts(function, status_lists.values())?;
        let kinds = kind_lists
            .values()
            .as_primitive::<arrow::datatypes::UInt8Type>();
        let offsets = at_lists.value_offsets();
        self.changes.reserve(at.len());
        for row in 0..at_lists.len() {
            if at_lists.is_null(row) {
                continue;
            }
            let group = group_of(row);
            for i in offsets[row] as usize..offsets[row + 1] as usize {
                let Some(status) = statuses[i] else {
                    return internal_err!("{function}: NULL status in a partial state");
                };
                let kind = StatusKind::from_code(function, kinds.value(i))?;
                let change = self.change(group, at[i], status, kind)?;
                self.changes.push(change);
            }
        }
        Ok(())
    }

    /// Takes the rows of the groups `emit_to` asks for, in group order: group `i`'s
    /// rows are `changes[offsets[i]..offsets[i + 1]]`. The groups left behind are
    /// numbered from 0 again, as [`EmitTo::First`] requires.
    pub(super) fn take(&mut self, emit_to: EmitTo) -> (Vec<usize>, Vec<Change>) {
        let taken_groups = match emit_to {
            EmitTo::All => self.num_groups,
            EmitTo::First(n) => n.min(self.num_groups),
        };
        // Rows that arrive grouped, as from input sorted by the grouping key, are
        // already in group order: the groups taken are a prefix, and the rows need no
        // sort.
        if self.changes.is_sorted_by_key(|c| c.group) {
            let split = self
                .changes
                .partition_point(|c| (c.group as usize) < taken_groups);
            let mut kept = self.changes.split_off(split);
            for change in &mut kept {
                change.group -= taken_groups as u32;
            }
            let taken = std::mem::replace(&mut self.changes, kept);
            self.num_groups -= taken_groups;
            let mut offsets = Vec::with_capacity(taken_groups + 1);
            offsets.push(0);
            let mut row = 0;
            for group in 0..taken_groups as u32 {
                while row < taken.len() && taken[row].group == group {
                    row += 1;
                }
                offsets.push(row);
            }
            return (offsets, taken);
        }
        let taken = if taken_groups == self.num_groups {
            std::mem::take(&mut self.changes)
        } else {
            let (taken, mut kept): (Vec<Change>, Vec<Change>) = self
                .changes
                .iter()
                .partition(|c| (c.group as usize) < taken_groups);
            for change in &mut kept {
                change.group -= taken_groups as u32;
            }
            self.changes = kept;
            taken
        };
        self.num_groups -= taken_groups;
        // A counting sort by group: linear, where a comparison sort of every row would
        // not be.
        let mut offsets = vec![0usize; taken_groups + 1];
        for change in &taken {
            offsets[change.group as usize + 1] += 1;
        }
        for i in 0..taken_groups {
            offsets[i + 1] += offsets[i];
        }
        let mut next = offsets.clone();
        let mut grouped = vec![
            Change {
                at: 0,
                group: 0,
                status_and_kind: 0
            };
            taken.len()
        ];
        for change in taken {
            let slot = &mut next[change.group as usize];
            grouped[*slot] = change;
            *slot += 1;
        }
        (offsets, grouped)
    }

    /// The partial states of the groups `emit_to` asks for: per group, a list of each of
    /// changed_at, status and kind.
    pub(super) fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let (offsets, changes) = self.take(emit_to);
        let offsets = OffsetBuffer::new(
            offsets
                .iter()
                .map(|&o| i32::try_from(o))
                .collect::<std::result::Result<Vec<i32>, _>>()
                .map_err(|_| {
                    datafusion_common::DataFusionError::Execution(format!(
                        "{}: a partial state of more than {} rows",
                        self.function,
                        i32::MAX
                    ))
                })?
                .into(),
        );
        let at = TimestampMicrosecondArray::from_iter_values(changes.iter().map(|c| c.at))
            .with_timezone("UTC");
        let statuses = StringArray::from_iter_values(
            changes
                .iter()
                .map(|c| self.statuses.names[c.status() as usize].as_str()),
        );
        let kinds = UInt8Array::from_iter_values(changes.iter().map(|c| c.kind() as u8));
        let list = |values: ArrayRef| -> Result<ArrayRef> {
            let field = Arc::new(Field::new("item", values.data_type().clone(), true));
            Ok(Arc::new(ListArray::try_new(
                field,
                offsets.clone(),
                values,
                None,
            )?))
        };
        Ok(vec![
            list(Arc::new(at))?,
            list(Arc::new(statuses))?,
            list(Arc::new(kinds))?,
        ])
    }

    /// The effective histories of the groups `emit_to` asks for: each sorted by
    /// `(changed_at, status)`, one kind per instant (the last status there).
    pub(super) fn histories(&mut self, emit_to: EmitTo) -> Histories {
        let ranks = self.statuses.ranks();
        let (offsets, mut changes) = self.take(emit_to);
        let mut histories = Histories {
            offsets: Vec::with_capacity(offsets.len()),
            changes: Vec::with_capacity(changes.len()),
        };
        histories.offsets.push(0);
        for window in offsets.windows(2) {
            let group = &mut changes[window[0]..window[1]];
            let key = |c: &Change| (c.at, ranks[c.status() as usize]);
            if !group.is_sorted_by_key(key) {
                group.sort_unstable_by_key(key);
            }
            let start = histories.changes.len();
            for change in group.iter() {
                match histories.changes[start..].last_mut() {
                    Some(last) if last.0 == change.at => last.1 = change.kind(),
                    _ => histories.changes.push((change.at, change.kind())),
                }
            }
            histories.offsets.push(histories.changes.len());
        }
        histories
    }

    pub(super) fn size(&self) -> usize {
        size_of::<Self>() + self.changes.capacity() * size_of::<Change>() + self.statuses.bytes()
    }
}
