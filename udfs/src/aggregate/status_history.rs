//! Aggregates over a ticket's status history: `sla_pauses`, `first_resolved_at` and
//! `first_reopened_at`.
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
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion_common::{Result, ScalarValue, exec_err, internal_err};
use datafusion_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion_expr::utils::{AggregateOrderSensitivity, format_state_name};
use datafusion_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, EmitTo, GroupsAccumulator,
    ReversedUDAF, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::args::{check_arity, coerce_temporal, coerce_text, temporal_as_micros, utc_micros_type};
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
            other => exec_err!(
                "{function}: unknown status kind '{other}' (expected open, paused, resolved or closed)"
            ),
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

/// One status row of a group: the instant, the status (interned) and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Change {
    at: i64,
    status: u32,
    kind: StatusKind,
}

/// A ticket's history as the functions read it: one kind per instant, in time order.
pub type Effective = [(i64, StatusKind)];

/// What one aggregate makes of each group's effective history.
pub trait StatusFunction: Debug + PartialEq + Eq + Hash + Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn signature(&self) -> &Signature;
    fn return_type(&self) -> DataType;
    /// One value per group; `None` for a group without rows (the result is NULL).
    fn evaluate(groups: &[Option<Vec<(i64, StatusKind)>>]) -> Result<ArrayRef>;
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
        Ok(Box::new(StatusAccumulator::<F> {
            function: PhantomData,
            store: HistoryStore::new(self.0.name()),
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

/// The status names seen by one accumulator, each stored once.
#[derive(Debug, Default)]
struct Interner {
    names: Vec<String>,
    ids: HashMap<String, u32>,
}

impl Interner {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
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

/// The rows of every group, and the status names they use.
#[derive(Debug)]
struct HistoryStore {
    function: &'static str,
    groups: Vec<Vec<Change>>,
    statuses: Interner,
}

impl HistoryStore {
    fn new(function: &'static str) -> Self {
        Self {
            function,
            groups: Vec::new(),
            statuses: Interner::default(),
        }
    }

    /// Calls `each(row, change)` for every row of a batch of arguments inside
    /// `filter` with no NULL argument.
    fn changes(
        &mut self,
        values: &[ArrayRef],
        filter: Option<&BooleanArray>,
        mut each: impl FnMut(usize, Change),
    ) -> Result<()> {
        let function = self.function;
        let [changed_at, status, kind] = values else {
            return internal_err!("{function}: expected 3 arguments, got {}", values.len());
        };
        let at = temporal_as_micros(function, changed_at)?;
        let statuses = texts(function, status)?;
        let kinds = texts(function, kind)?;
        let at_valid = changed_at.logical_nulls();
        let mut last_kind: Option<(&str, StatusKind)> = None;
        for row in 0..at.len() {
            let selected = filter.is_none_or(|f| f.is_valid(row) && f.value(row));
            let (Some(status), Some(kind)) = (statuses[row], kinds[row]) else {
                continue;
            };
            if !selected || at_valid.as_ref().is_some_and(|v| v.is_null(row)) {
                continue;
            }
            let kind = match last_kind {
                Some((text, parsed)) if text == kind => parsed,
                _ => {
                    let parsed = StatusKind::parse(function, kind)?;
                    last_kind = Some((kind, parsed));
                    parsed
                }
            };
            let status = self.statuses.id(status);
            each(
                row,
                Change {
                    at: at[row],
                    status,
                    kind,
                },
            );
        }
        Ok(())
    }

    fn add(
        &mut self,
        values: &[ArrayRef],
        filter: Option<&BooleanArray>,
        group_of: impl Fn(usize) -> usize,
    ) -> Result<()> {
        let mut added = Vec::new();
        self.changes(values, filter, |row, change| {
            added.push((group_of(row), change))
        })?;
        for (group, change) in added {
            self.groups[group].push(change);
        }
        Ok(())
    }

    /// Takes back rows added before (a sliding window frame moving on).
    fn retract(&mut self, values: &[ArrayRef]) -> Result<()> {
        let mut removed = Vec::new();
        self.changes(values, None, |_, change| removed.push(change))?;
        let group = &mut self.groups[0];
        for change in removed {
            if let Some(i) = group.iter().position(|c| *c == change) {
                group.swap_remove(i);
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
        for row in 0..at_lists.len() {
            if at_lists.is_null(row) {
                continue;
            }
            let group = group_of(row);
            for i in offsets[row] as usize..offsets[row + 1] as usize {
                let Some(status) = statuses[i] else {
                    return internal_err!("{function}: NULL status in a partial state");
                };
                let change = Change {
                    at: at[i],
                    status: self.statuses.id(status),
                    kind: StatusKind::from_code(function, kinds.value(i))?,
                };
                self.groups[group].push(change);
            }
        }
        Ok(())
    }

    /// The groups' rows as partial states.
    fn state(&self, groups: &[Vec<Change>]) -> Result<Vec<ArrayRef>> {
        let offsets = OffsetBuffer::from_lengths(groups.iter().map(Vec::len));
        let changes: Vec<&Change> = groups.iter().flatten().collect();
        let changes = changes.into_iter();
        let at = TimestampMicrosecondArray::from_iter_values(changes.clone().map(|c| c.at))
            .with_timezone("UTC");
        let statuses = StringArray::from_iter_values(
            changes
                .clone()
                .map(|c| self.statuses.names[c.status as usize].as_str()),
        );
        let kinds = UInt8Array::from_iter_values(changes.map(|c| c.kind as u8));
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

    /// Each group's effective history: sorted by `(changed_at, status)`, one kind per
    /// instant (the last status there), `None` for a group without rows.
    fn effective(&self, groups: &[Vec<Change>]) -> Vec<Option<Vec<(i64, StatusKind)>>> {
        let ranks = self.statuses.ranks();
        groups
            .iter()
            .map(|changes| {
                if changes.is_empty() {
                    return None;
                }
                let mut sorted = changes.clone();
                sorted.sort_unstable_by_key(|c| (c.at, ranks[c.status as usize]));
                let mut effective: Vec<(i64, StatusKind)> = Vec::with_capacity(sorted.len());
                for change in sorted {
                    match effective.last_mut() {
                        Some(last) if last.0 == change.at => last.1 = change.kind,
                        _ => effective.push((change.at, change.kind)),
                    }
                }
                Some(effective)
            })
            .collect()
    }

    fn size(&self) -> usize {
        size_of::<Self>()
            + self.groups.capacity() * size_of::<Vec<Change>>()
            + self
                .groups
                .iter()
                .map(|g| g.capacity() * size_of::<Change>())
                .sum::<usize>()
            + self.statuses.bytes()
    }
}

#[derive(Debug)]
struct StatusAccumulator<F: StatusFunction> {
    function: PhantomData<F>,
    store: HistoryStore,
}

impl<F: StatusFunction> StatusAccumulator<F> {
    fn one_group(&mut self) {
        if self.store.groups.is_empty() {
            self.store.groups.push(Vec::new());
        }
    }
}

impl<F: StatusFunction> Accumulator for StatusAccumulator<F> {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.one_group();
        self.store.add(values, None, |_| 0)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.one_group();
        self.store.merge(states, |_| 0)
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.one_group();
        self.store.retract(values)
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.one_group();
        self.store
            .state(&self.store.groups)?
            .iter()
            .map(|array| ScalarValue::try_from_array(array, 0))
            .collect()
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.one_group();
        let effective = self.store.effective(&self.store.groups);
        ScalarValue::try_from_array(&F::evaluate(&effective)?, 0)
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
        self.store.groups.resize_with(total_num_groups, Vec::new);
        self.store.add(values, opt_filter, |row| group_indices[row])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.store.groups.resize_with(total_num_groups, Vec::new);
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
        rows.groups
            .resize_with(values.first().map_or(0, |v| v.len()), Vec::new);
        rows.add(values, opt_filter, |row| row)?;
        rows.state(&rows.groups)
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let groups = emit_to.take_needed(&mut self.store.groups);
        let effective = self.store.effective(&groups);
        F::evaluate(&effective)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let groups = emit_to.take_needed(&mut self.store.groups);
        self.store.state(&groups)
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.store.size()
    }
}

fn timestamps(values: impl IntoIterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from_iter(values).with_timezone("UTC"))
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
status_function_defaults!(SlaPauses, FirstResolvedAt, FirstReopenedAt);

pub fn sla_pauses_udaf() -> Arc<AggregateUDF> {
    Arc::new(AggregateUDF::new_from_impl(StatusAggregate(
        SlaPauses::default(),
    )))
}

pub fn first_resolved_at_udaf() -> Arc<AggregateUDF> {
    Arc::new(AggregateUDF::new_from_impl(StatusAggregate(
        FirstResolvedAt::default(),
    )))
}

pub fn first_reopened_at_udaf() -> Arc<AggregateUDF> {
    Arc::new(AggregateUDF::new_from_impl(StatusAggregate(
        FirstReopenedAt::default(),
    )))
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

    fn evaluate(groups: &[Option<Vec<(i64, StatusKind)>>]) -> Result<ArrayRef> {
        let pauses: Vec<Option<Vec<(i64, i64)>>> = groups
            .iter()
            .map(|history| history.as_deref().map(pauses_of))
            .collect();
        let offsets =
            OffsetBuffer::from_lengths(pauses.iter().map(|p| p.as_ref().map_or(0, Vec::len)));
        let all = pauses.iter().flatten().flatten();
        let starts = timestamps(all.clone().map(|&(start, _)| Some(start)));
        let ends = timestamps(all.map(|&(_, end)| (end != OPEN).then_some(end)));
        let structs = StructArray::try_new(pause_fields(), vec![starts, ends], None)?;
        let valid = NullBuffer::from_iter(pauses.iter().map(Option::is_some));
        let DataType::List(field) = pauses_type() else {
            return internal_err!("sla_pauses: the pauses type is a list");
        };
        Ok(Arc::new(ListArray::try_new(
            field,
            offsets,
            Arc::new(structs),
            Some(valid),
        )?))
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

    fn evaluate(groups: &[Option<Vec<(i64, StatusKind)>>]) -> Result<ArrayRef> {
        Ok(timestamps(groups.iter().map(|history| {
            history.as_deref().and_then(first_resolution)
        })))
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

    fn evaluate(groups: &[Option<Vec<(i64, StatusKind)>>]) -> Result<ArrayRef> {
        Ok(timestamps(
            groups
                .iter()
                .map(|history| history.as_deref().and_then(first_reopen)),
        ))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StatusKind::*;

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
