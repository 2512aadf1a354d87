//! Aggregates over a ticket's status history: `sla_pauses`, `first_resolved_at`,
//! `first_reopened_at`, and `status_summary`, which gives all three from one pass.
//!
//! Each takes the rows `(changed_at, status, kind)` of one ticket, where the ticket
//! entered `status` at `changed_at` and `kind` is the status's kind (`open`, `paused`,
//! `resolved` or `closed`, from the `statuses` table). The rows are collected per
//! group and read in `(changed_at, status)` order: exact duplicates count once, and of
//! two statuses at the same instant the last in that order holds. Collecting all rows
//! before reading them makes the result independent of the order, batching and
//! partitioning the rows arrive in.

use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::marker::PhantomData;
use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, ListArray, StringArray, StructArray,
    TimestampMicrosecondArray, UInt8Array,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion_common::{Result, ScalarValue, exec_err, internal_err};
use datafusion_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion_expr::utils::{AggregateOrderSensitivity, format_state_name};
use datafusion_expr::{
    Accumulator, AggregateUDFImpl, Documentation, EmitTo, GroupsAccumulator, ReversedUDAF,
    Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::args::{check_arity, coerce_temporal, coerce_text, temporal_as_micros, utc_micros_type};
use crate::error::KpiError;
use crate::pauses::{OPEN, pause_fields, pauses_type};

/// What a status means for the SLA clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum StatusKind {
    /// The clocks run.
    Open = 0,
    /// The clocks stop: waiting on the customer.
    Paused = 1,
    Resolved = 2,
    Closed = 3,
}

impl StatusKind {
    /// A kind by its name; anything else is an error naming the function and value.
    pub fn parse(function: &str, text: &str) -> Result<Self> {
        match text {
            "open" => Ok(Self::Open),
            "paused" => Ok(Self::Paused),
            "resolved" => Ok(Self::Resolved),
            "closed" => Ok(Self::Closed),
            other => Err(KpiError::UnknownStatusKind {
                function: function.to_string(),
                value: other.to_string(),
            }
            .into()),
        }
    }

    fn from_code(function: &str, code: u8) -> Result<Self> {
        match code {
            0 => Ok(Self::Open),
            1 => Ok(Self::Paused),
            2 => Ok(Self::Resolved),
            3 => Ok(Self::Closed),
            other => internal_err!("{function}: status kind code {other} in a partial state"),
        }
    }

    pub fn is_done(self) -> bool {
        matches!(self, Self::Resolved | Self::Closed)
    }
}

/// One status row: its group, the instant, and the status (interned) with its kind.
///
/// Sixteen bytes: every row of every group sits in one vector, so that adding a batch
/// allocates nothing per group; the rows are put in group order only when they are
/// read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Change {
    at: i64,
    group: u32,
    /// The status's id in the accumulator's [`Interner`], shifted left by two, with the
    /// kind in the two low bits.
    status_and_kind: u32,
}

impl Change {
    fn status(self) -> u32 {
        self.status_and_kind >> 2
    }

    fn kind(self) -> StatusKind {
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

/// What one aggregate makes of each group's effective history.
pub trait StatusFunction: Debug + PartialEq + Eq + Hash + Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn signature(&self) -> &Signature;
    fn return_type(&self) -> DataType;
    /// One value per group; a group without rows gives NULL.
    fn evaluate(histories: &Histories) -> Result<ArrayRef>;
    fn documentation(&self) -> Option<&Documentation>;
}

/// A DataFusion aggregate built from a [`StatusFunction`].
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct StatusAggregate<F: StatusFunction>(pub F);

impl<F: StatusFunction> AggregateUDFImpl for StatusAggregate<F> {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn signature(&self) -> &Signature {
        self.0.signature()
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.0.name();
        check_arity(name, arg_types, &[3])?;
        Ok(vec![
            coerce_temporal(name, "changed_at", &arg_types[0])?,
            coerce_text(name, "status", &arg_types[1])?,
            coerce_text(name, "kind", &arg_types[2])?,
        ])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.0.return_type())
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        refuse_distinct(self.0.name(), &args)?;
        let mut store = HistoryStore::new(self.0.name());
        store.num_groups = 1;
        Ok(Box::new(StatusAccumulator::<F> {
            function: PhantomData,
            store,
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let list = |name: &str, item: DataType| {
            Arc::new(Field::new(
                format_state_name(args.name, name),
                DataType::List(Arc::new(Field::new("item", item, true))),
                true,
            ))
        };
        Ok(vec![
            list("changed_at", utc_micros_type()),
            list("status", DataType::Utf8),
            list("kind", DataType::UInt8),
        ])
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        !args.is_distinct
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        refuse_distinct(self.0.name(), &args)?;
        Ok(Box::new(StatusGroupsAccumulator::<F> {
            function: PhantomData,
            store: HistoryStore::new(self.0.name()),
        }))
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        AggregateOrderSensitivity::Insensitive
    }

    fn reverse_expr(&self) -> ReversedUDAF {
        ReversedUDAF::Identical
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.0.documentation()
    }
}

fn refuse_distinct(name: &str, args: &AccumulatorArgs) -> Result<()> {
    if args.is_distinct {
        return datafusion_common::not_impl_err!(
            "{name}(DISTINCT ...) is not supported: duplicate status rows already count once"
        );
    }
    Ok(())
}

/// A help desk uses a handful of statuses: up to this many are found by a scan, which
/// beats hashing every row's name.
const SCANNED_STATUSES: usize = 16;

/// The status names seen by one accumulator, each stored once.
#[derive(Debug, Default)]
struct Interner {
    names: Vec<String>,
    ids: HashMap<String, u32>,
}

impl Interner {
    fn id(&mut self, function: &str, name: &str) -> Result<u32> {
        let found = if self.names.len() <= SCANNED_STATUSES {
            self.names.iter().position(|n| n == name).map(|i| i as u32)
        } else {
            self.ids.get(name).copied()
        };
        if let Some(id) = found {
            return Ok(id);
        }
        let id = self.names.len() as u32;
        if id >= 1 << 30 {
            return exec_err!("{function}: more than 2^30 distinct statuses");
        }
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        Ok(id)
    }

    /// Each id's position in the names' sorted order.
    fn ranks(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.names.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| self.names[a as usize].cmp(&self.names[b as usize]));
        let mut ranks = vec![0; order.len()];
        for (rank, &id) in order.iter().enumerate() {
            ranks[id as usize] = rank as u32;
        }
        ranks
    }

    fn bytes(&self) -> usize {
        self.names
            .iter()
            .map(|n| 2 * (n.capacity() + size_of::<String>()) + 8)
            .sum()
    }
}

/// Text values of a Utf8, LargeUtf8 or Utf8View array, NULL as `None`.
fn texts<'a>(function: &str, array: &'a ArrayRef) -> Result<Vec<Option<&'a str>>> {
    Ok(match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().collect(),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().collect(),
        DataType::Utf8View => array.as_string_view().iter().collect(),
        DataType::Null => vec![None; array.len()],
        other => return exec_err!("{function}: expected text, got {other}"),
    })
}

/// A text argument read in place, row by row.
enum Texts<'a> {
    Utf8(&'a StringArray),
    LargeUtf8(&'a arrow::array::LargeStringArray),
    View(&'a arrow::array::StringViewArray),
    Null,
}

impl<'a> Texts<'a> {
    fn new(function: &str, array: &'a ArrayRef) -> Result<Self> {
        Ok(match array.data_type() {
            DataType::Utf8 => Self::Utf8(array.as_string::<i32>()),
            DataType::LargeUtf8 => Self::LargeUtf8(array.as_string::<i64>()),
            DataType::Utf8View => Self::View(array.as_string_view()),
            DataType::Null => Self::Null,
            other => return exec_err!("{function}: expected text, got {other}"),
        })
    }

    #[inline]
    fn get(&self, row: usize) -> Option<&'a str> {
        match self {
            Self::Utf8(a) => a.is_valid(row).then(|| a.value(row)),
            Self::LargeUtf8(a) => a.is_valid(row).then(|| a.value(row)),
            Self::View(a) => a.is_valid(row).then(|| a.value(row)),
            Self::Null => None,
        }
    }

    /// The row's Utf8View view. Two rows of one array with the same view hold the
    /// same text: a short text is its view, a longer one points at the same bytes.
    #[inline]
    fn view(&self, row: usize) -> Option<u128> {
        match self {
            Self::View(a) => Some(a.views()[row]),
            _ => None,
        }
    }
}

/// What a batch's few distinct views stand for (a status's id, a kind), so that a
/// repeated value costs a 16-byte comparison rather than a text lookup.
struct ByView<T> {
    seen: Vec<(u128, T)>,
}

impl<T: Copy> ByView<T> {
    /// Views remembered at most: statuses and kinds are few; a column of many
    /// distinct values looks them up as text.
    const CAPACITY: usize = 32;

    fn new() -> Self {
        Self { seen: Vec::new() }
    }

    #[inline]
    fn get_or(&mut self, view: Option<u128>, lookup: impl FnOnce() -> Result<T>) -> Result<T> {
        let Some(view) = view else {
            return lookup();
        };
        if let Some(&(_, value)) = self.seen.iter().find(|(v, _)| *v == view) {
            return Ok(value);
        }
        let value = lookup()?;
        if self.seen.len() < Self::CAPACITY {
            self.seen.push((view, value));
        }
        Ok(value)
    }
}

/// The rows of every group, and the status names they use.
#[derive(Debug)]
struct HistoryStore {
    function: &'static str,
    num_groups: usize,
    /// Every group's rows, in the order they arrived.
    changes: Vec<Change>,
    statuses: Interner,
}

impl HistoryStore {
    fn new(function: &'static str) -> Self {
        Self {
            function,
            num_groups: 0,
            changes: Vec::new(),
            statuses: Interner::default(),
        }
    }

    fn grow_to(&mut self, total_num_groups: usize) -> Result<()> {
        if total_num_groups > u32::MAX as usize {
            return exec_err!("{}: more than {} groups", self.function, u32::MAX);
        }
        self.num_groups = self.num_groups.max(total_num_groups);
        Ok(())
    }

    fn change(&mut self, group: usize, at: i64, status: &str, kind: StatusKind) -> Result<Change> {
        let status = self.statuses.id(self.function, status)?;
        Ok(Self::change_of(group, at, status, kind))
    }

    #[inline]
    fn change_of(group: usize, at: i64, status: u32, kind: StatusKind) -> Change {
        Change {
            at,
            group: group as u32,
            status_and_kind: status << 2 | kind as u32,
        }
    }

    /// Calls `each(row, change)` for every row of a batch of arguments inside
    /// `filter` with no NULL argument.
    fn changes(
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

    fn add(
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
    fn retract(&mut self, values: &[ArrayRef]) -> Result<()> {
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
    fn merge(&mut self, states: &[ArrayRef], group_of: impl Fn(usize) -> usize) -> Result<()> {
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
    fn take(&mut self, emit_to: EmitTo) -> (Vec<usize>, Vec<Change>) {
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
    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
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
    fn histories(&mut self, emit_to: EmitTo) -> Histories {
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

    fn size(&self) -> usize {
        size_of::<Self>() + self.changes.capacity() * size_of::<Change>() + self.statuses.bytes()
    }
}

#[derive(Debug)]
struct StatusAccumulator<F: StatusFunction> {
    function: PhantomData<F>,
    /// One group, which [`HistoryStore::take`] empties: it is put back after each read.
    store: HistoryStore,
}

impl<F: StatusFunction> StatusAccumulator<F> {
    /// Reads the one group without emptying it: a window frame reads it again.
    fn read<T>(&mut self, read: impl FnOnce(&mut HistoryStore) -> T) -> T {
        let changes = self.store.changes.clone();
        let value = read(&mut self.store);
        self.store.changes = changes;
        self.store.num_groups = 1;
        value
    }
}

impl<F: StatusFunction> Accumulator for StatusAccumulator<F> {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.store.add(values, None, |_| 0)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.store.merge(states, |_| 0)
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.store.retract(values)
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.read(|store| store.state(EmitTo::All))?
            .iter()
            .map(|array| ScalarValue::try_from_array(array, 0))
            .collect()
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let histories = self.read(|store| store.histories(EmitTo::All));
        ScalarValue::try_from_array(&F::evaluate(&histories)?, 0)
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.store.size()
    }
}

#[derive(Debug)]
struct StatusGroupsAccumulator<F: StatusFunction> {
    function: PhantomData<F>,
    store: HistoryStore,
}

impl<F: StatusFunction> GroupsAccumulator for StatusGroupsAccumulator<F> {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.store.grow_to(total_num_groups)?;
        self.store.add(values, opt_filter, |row| group_indices[row])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.store.grow_to(total_num_groups)?;
        self.store.merge(values, |row| group_indices[row])
    }

    /// Each row as a group of its own, for the partial aggregation DataFusion skips
    /// when grouping barely reduces the rows.
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let mut rows = HistoryStore::new(self.store.function);
        rows.grow_to(values.first().map_or(0, |v| v.len()))?;
        rows.add(values, opt_filter, |row| row)?;
        rows.state(EmitTo::All)
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        F::evaluate(&self.store.histories(emit_to))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        self.store.state(emit_to)
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.store.size()
    }
}

fn timestamps(values: impl IntoIterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from_iter(values).with_timezone("UTC"))
}

/// Each group's pauses as a list of `{start, end}` structs (the type of
/// [`pauses_type`]); NULL for a group without rows, and with `none_as_null` also for a
/// group that never paused.
fn pause_lists(histories: &Histories, none_as_null: bool) -> Result<ListArray> {
    let mut lengths = Vec::with_capacity(histories.len());
    let mut valid = Vec::with_capacity(histories.len());
    let (mut starts, mut ends) = (Vec::new(), Vec::new());
    for history in histories.iter() {
        let pauses = history.map(pauses_of).unwrap_or_default();
        lengths.push(pauses.len());
        valid.push(history.is_some() && !(none_as_null && pauses.is_empty()));
        for (start, end) in pauses {
            starts.push(Some(start));
            ends.push((end != OPEN).then_some(end));
        }
    }
    let structs = StructArray::try_new(
        pause_fields(),
        vec![timestamps(starts), timestamps(ends)],
        None,
    )?;
    let DataType::List(field) = pauses_type() else {
        return internal_err!("the pauses type is a list");
    };
    Ok(ListArray::try_new(
        field,
        OffsetBuffer::from_lengths(lengths),
        Arc::new(structs),
        Some(NullBuffer::from(valid)),
    )?)
}

// ---------------------------------------------------------------------------------

#[user_doc(
    doc_section(label = "MSP KPI Functions"),
    description = "The intervals a ticket spent in statuses of kind 'paused' (waiting on the customer), from its status history: a list of {start, end} structs, sorted and merged, with a NULL end while it is still paused. Rows with a NULL argument are ignored; exact duplicate rows count once; of two statuses at the same changed_at, the last in (changed_at, status) order holds. A group without rows gives NULL. The list is what the pauses argument of business_minutes, paused_minutes, business_deadline, sla_met and sla_compliance takes.",
    syntax_example = "sla_pauses(changed_at, status, kind)",
    sql_example = r#"```sql
> SELECT ticket_id, sla_pauses(changed_at, ts.status, s.kind) AS pauses
  FROM ticket_status ts JOIN statuses s ON s.status = ts.status
  GROUP BY ticket_id;
+-----------+------------------------------------------------------------+
| ticket_id | pauses                                                     |
+-----------+------------------------------------------------------------+
| T1        | [{start: 2026-11-16T10:00:00Z, end: 2026-11-17T10:00:00Z}] |
+-----------+------------------------------------------------------------+
```"#,
    argument(
        name = "changed_at",
        description = "When the ticket entered the status."
    ),
    argument(name = "status", description = "The status's name."),
    argument(
        name = "kind",
        description = "The status's kind: 'open', 'paused', 'resolved' or 'closed' (statuses.kind)."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SlaPauses {
    signature: Signature,
}

#[user_doc(
    doc_section(label = "MSP KPI Functions"),
    description = "When a ticket's status history first reaches a status of kind 'resolved' or 'closed': its first resolution. NULL when it never does, and for a group without rows. Rows are read as by sla_pauses.",
    syntax_example = "first_resolved_at(changed_at, status, kind)",
    sql_example = r#"```sql
> SELECT ticket_id, first_resolved_at(changed_at, ts.status, s.kind)
  FROM ticket_status ts JOIN statuses s ON s.status = ts.status
  GROUP BY ticket_id;
```"#,
    argument(
        name = "changed_at",
        description = "When the ticket entered the status."
    ),
    argument(name = "status", description = "The status's name."),
    argument(
        name = "kind",
        description = "The status's kind: 'open', 'paused', 'resolved' or 'closed'."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FirstResolvedAt {
    signature: Signature,
}

#[user_doc(
    doc_section(label = "MSP KPI Functions"),
    description = "When a ticket was first reopened: the first status of kind 'open' or 'paused' that follows one of kind 'resolved' or 'closed'. NULL when it never was, and for a group without rows. Rows are read as by sla_pauses.",
    syntax_example = "first_reopened_at(changed_at, status, kind)",
    sql_example = r#"```sql
> SELECT ticket_id, first_reopened_at(changed_at, ts.status, s.kind)
  FROM ticket_status ts JOIN statuses s ON s.status = ts.status
  GROUP BY ticket_id;
```"#,
    argument(
        name = "changed_at",
        description = "When the ticket entered the status."
    ),
    argument(name = "status", description = "The status's name."),
    argument(
        name = "kind",
        description = "The status's kind: 'open', 'paused', 'resolved' or 'closed'."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FirstReopenedAt {
    signature: Signature,
}

#[user_doc(
    doc_section(label = "MSP KPI Functions"),
    description = "What a ticket's status history means for its SLA clocks and KPIs, read in one pass: a struct of pauses (as sla_pauses, but NULL when the ticket never paused, which the pauses arguments read as none), first_resolved_at (as first_resolved_at) and first_reopened_at (as first_reopened_at). One aggregate where the three would each collect and sort the rows again. Rows are read as by sla_pauses; a group without rows gives NULL.",
    syntax_example = "status_summary(changed_at, status, kind)",
    sql_example = r#"```sql
> SELECT ticket_id, s['pauses'] AS pauses, s['first_reopened_at'] AS reopened
  FROM (SELECT ticket_id, status_summary(changed_at, ts.status, s.kind) AS s
        FROM ticket_status ts JOIN statuses s ON s.status = ts.status
        GROUP BY ticket_id);
```"#,
    argument(
        name = "changed_at",
        description = "When the ticket entered the status."
    ),
    argument(name = "status", description = "The status's name."),
    argument(
        name = "kind",
        description = "The status's kind: 'open', 'paused', 'resolved' or 'closed'."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct StatusSummary {
    signature: Signature,
}

macro_rules! status_function_defaults {
    ($($function:ident),*) => {$(
        impl Default for $function {
            fn default() -> Self {
                Self {
                    signature: Signature::user_defined(Volatility::Immutable),
                }
            }
        }
    )*};
}
status_function_defaults!(SlaPauses, FirstResolvedAt, FirstReopenedAt, StatusSummary);

udaf_singleton!(sla_pauses_udaf, StatusAggregate(SlaPauses::default(),));

udaf_singleton!(
    first_resolved_at_udaf,
    StatusAggregate(FirstResolvedAt::default(),)
);

udaf_singleton!(
    first_reopened_at_udaf,
    StatusAggregate(FirstReopenedAt::default(),)
);

udaf_singleton!(
    status_summary_udaf,
    StatusAggregate(StatusSummary::default(),)
);

/// The fields of [`status_summary`](status_summary_udaf)'s struct.
pub fn summary_fields() -> Fields {
    Fields::from(vec![
        Field::new("pauses", pauses_type(), true),
        Field::new("first_resolved_at", utc_micros_type(), true),
        Field::new("first_reopened_at", utc_micros_type(), true),
    ])
}

/// The paused intervals of an effective history, `end` = [`OPEN`] while paused.
pub fn pauses_of(history: &Effective) -> Vec<(i64, i64)> {
    let mut pauses = Vec::new();
    let mut paused_since = None;
    for &(at, kind) in history {
        match (kind, paused_since) {
            (StatusKind::Paused, None) => paused_since = Some(at),
            (StatusKind::Paused, Some(_)) => {}
            (_, Some(start)) => {
                pauses.push((start, at));
                paused_since = None;
            }
            (_, None) => {}
        }
    }
    if let Some(start) = paused_since {
        pauses.push((start, OPEN));
    }
    pauses
}

/// The first instant of a resolved or closed kind.
pub fn first_resolution(history: &Effective) -> Option<i64> {
    history
        .iter()
        .find(|(_, kind)| kind.is_done())
        .map(|&(at, _)| at)
}

/// The first open or paused instant after a resolved or closed one.
pub fn first_reopen(history: &Effective) -> Option<i64> {
    let resolved = history.iter().position(|(_, kind)| kind.is_done())?;
    history[resolved..]
        .iter()
        .find(|(_, kind)| !kind.is_done())
        .map(|&(at, _)| at)
}

impl StatusFunction for SlaPauses {
    fn name(&self) -> &'static str {
        "sla_pauses"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self) -> DataType {
        pauses_type()
    }

    fn evaluate(histories: &Histories) -> Result<ArrayRef> {
        Ok(Arc::new(pause_lists(histories, false)?))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

impl StatusFunction for FirstResolvedAt {
    fn name(&self) -> &'static str {
        "first_resolved_at"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self) -> DataType {
        utc_micros_type()
    }

    fn evaluate(histories: &Histories) -> Result<ArrayRef> {
        Ok(timestamps(
            histories
                .iter()
                .map(|history| history.and_then(first_resolution)),
        ))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

impl StatusFunction for FirstReopenedAt {
    fn name(&self) -> &'static str {
        "first_reopened_at"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self) -> DataType {
        utc_micros_type()
    }

    fn evaluate(histories: &Histories) -> Result<ArrayRef> {
        Ok(timestamps(
            histories
                .iter()
                .map(|history| history.and_then(first_reopen)),
        ))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

impl StatusFunction for StatusSummary {
    fn name(&self) -> &'static str {
        "status_summary"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self) -> DataType {
        DataType::Struct(summary_fields())
    }

    fn evaluate(histories: &Histories) -> Result<ArrayRef> {
        let resolved = timestamps(histories.iter().map(|h| h.and_then(first_resolution)));
        let reopened = timestamps(histories.iter().map(|h| h.and_then(first_reopen)));
        let valid = NullBuffer::from_iter(histories.iter().map(|h| h.is_some()));
        Ok(Arc::new(StructArray::try_new(
            summary_fields(),
            vec![Arc::new(pause_lists(histories, true)?), resolved, reopened],
            Some(valid),
        )?))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StatusKind::*;

    fn rows(rows: &[(i64, &str, &str)]) -> Vec<ArrayRef> {
        vec![
            timestamps(rows.iter().map(|r| Some(r.0))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.2))),
        ]
    }

    fn summary() -> StatusGroupsAccumulator<StatusSummary> {
        StatusGroupsAccumulator {
            function: PhantomData,
            store: HistoryStore::new("status_summary"),
        }
    }

    fn rendered(array: &ArrayRef) -> Vec<String> {
        let options = arrow::util::display::FormatOptions::default();
        let formatter =
            arrow::util::display::ArrayFormatter::try_new(array.as_ref(), &options).unwrap();
        (0..array.len())
            .map(|i| formatter.value(i).to_string())
            .collect()
    }

    #[test]
    fn groups_emitted_first_then_the_rest_renumbered_and_merged_states_agree() {
        // group 0: paused 10..20, resolved at 30, reopened at 40 (a filtered-out row at 35)
        // group 1: no rows that pass the filter; group 2: resolved at 5
        let values = rows(&[
            (30, "Resolved", "resolved"),
            (10, "Waiting", "paused"),
            (5, "Done", "resolved"),
            (0, "New", "open"),
            (35, "Closed", "closed"),
            (20, "Working", "open"),
            (40, "Working", "open"),
            (1, "New", "open"),
        ]);
        let groups = [0, 0, 2, 0, 0, 0, 0, 1];
        let filter = BooleanArray::from(vec![true, true, true, true, false, true, true, false]);
        let expected = [
            "{pauses: [{start: 1970-01-01T00:00:00.000010Z, end: 1970-01-01T00:00:00.000020Z}], first_resolved_at: 1970-01-01T00:00:00.000030Z, first_reopened_at: 1970-01-01T00:00:00.000040Z}",
            "",
            "{pauses: , first_resolved_at: 1970-01-01T00:00:00.000005Z, first_reopened_at: }",
        ];

        let mut direct = summary();
        direct
            .update_batch(&values, &groups, Some(&filter), 3)
            .unwrap();
        let first = direct.evaluate(EmitTo::First(1)).unwrap();
        assert_eq!(rendered(&first), expected[..1]);
        // the two left are groups 0 and 1 now; a row for the new group 0 joins them
        direct
            .update_batch(&rows(&[(50, "Working", "open")]), &[0], None, 2)
            .unwrap();
        let rest = direct.evaluate(EmitTo::All).unwrap();
        assert_eq!(
            rendered(&rest),
            [
                "{pauses: , first_resolved_at: , first_reopened_at: }",
                expected[2]
            ]
        );

        // Partial states of two halves, merged in another order, give the same values.
        let (left, right) = (
            values.iter().map(|v| v.slice(0, 4)).collect::<Vec<_>>(),
            values.iter().map(|v| v.slice(4, 4)).collect::<Vec<_>>(),
        );
        let filter_left = BooleanArray::from(vec![true, true, true, true]);
        let filter_right = BooleanArray::from(vec![false, true, true, false]);
        let mut a = summary();
        a.update_batch(&left, &groups[..4], Some(&filter_left), 3)
            .unwrap();
        let mut b = summary();
        b.update_batch(&right, &groups[4..], Some(&filter_right), 3)
            .unwrap();
        let mut merged = summary();
        merged
            .merge_batch(&b.state(EmitTo::All).unwrap(), &[2, 1, 0], 3)
            .unwrap();
        merged
            .merge_batch(&a.state(EmitTo::All).unwrap(), &[2, 1, 0], 3)
            .unwrap();
        let merged = merged.evaluate(EmitTo::All).unwrap();
        assert_eq!(rendered(&merged), [expected[2], expected[1], expected[0]]);
        // Each row as a state of its own (skipped partial aggregation) merges the same.
        let states = summary().convert_to_state(&values, Some(&filter)).unwrap();
        let mut from_rows = summary();
        from_rows.merge_batch(&states, &groups, 3).unwrap();
        assert_eq!(
            rendered(&from_rows.evaluate(EmitTo::All).unwrap()),
            expected
        );
    }

    /// Rows as the Utf8View columns Parquet gives, a status name longer than a view
    /// holds inline among them.
    fn view_rows(rows: &[(i64, &str, &str)]) -> Vec<ArrayRef> {
        use arrow::array::StringViewArray;
        vec![
            timestamps(rows.iter().map(|r| Some(r.0))),
            Arc::new(StringViewArray::from_iter_values(rows.iter().map(|r| r.1))),
            Arc::new(StringViewArray::from_iter_values(rows.iter().map(|r| r.2))),
        ]
    }

    #[test]
    fn rows_in_group_order_emitted_batch_by_batch_give_what_any_order_gives() {
        let long = "Waiting on Customer";
        // Sorted by group, as from input sorted by the grouping key: group 0 waits twice
        // and is resolved, group 1 reopens, group 2 has one row.
        let sorted = [
            (0, "New", "open"),
            (10, long, "paused"),
            (20, "Working", "open"),
            (25, long, "paused"),
            (30, "Resolved", "resolved"),
            (1, "New", "open"),
            (8, "Resolved", "resolved"),
            (9, "Working", "open"),
            (9, "Resolved", "resolved"),
            (5, "Done", "resolved"),
        ];
        let groups = [0, 0, 0, 0, 0, 1, 1, 1, 1, 2];

        // One batch, the rows reversed, as text: the reference.
        let reversed: Vec<_> = sorted.iter().rev().copied().collect();
        let reversed_groups: Vec<usize> = groups.iter().rev().copied().collect();
        let mut reference = summary();
        reference
            .update_batch(&rows(&reversed), &reversed_groups, None, 3)
            .unwrap();
        let expected = rendered(&reference.evaluate(EmitTo::All).unwrap());
        assert!(expected[0].contains("000025Z"), "{expected:?}");

        // Two batches of views, the first group emitted between them as sorted
        // aggregation does; the groups left are numbered from 0 again.
        let mut streamed = summary();
        streamed
            .update_batch(&view_rows(&sorted[..7]), &groups[..7], None, 2)
            .unwrap();
        let mut got = rendered(&streamed.evaluate(EmitTo::First(1)).unwrap());
        let renumbered: Vec<usize> = groups[7..].iter().map(|g| g - 1).collect();
        streamed
            .update_batch(&view_rows(&sorted[7..]), &renumbered, None, 2)
            .unwrap();
        got.extend(rendered(&streamed.evaluate(EmitTo::All).unwrap()));
        assert_eq!(got, expected);
    }

    #[test]
    fn pauses_reopens_and_resolutions_of_a_history() {
        let history = [
            (0, Open),
            (10, Paused),
            (15, Paused),
            (20, Open),
            (30, Resolved),
            (40, Open),
            (50, Paused),
        ];
        assert_eq!(pauses_of(&history), vec![(10, 20), (50, OPEN)]);
        assert_eq!(first_resolution(&history), Some(30));
        assert_eq!(first_reopen(&history), Some(40));
        assert_eq!(first_reopen(&[(0, Open), (30, Closed)]), None);
        assert_eq!(first_resolution(&[(0, Paused)]), None);
    }
}
