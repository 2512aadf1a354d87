//! One aggregate framework for status histories: a [`StatusFunction`] says what
//! it makes of each group's effective history; [`StatusAggregate`] and its
//! accumulators collect the rows, exactly and whatever their order.

use std::fmt::Debug;
use std::hash::Hash;
use std::marker::PhantomData;
use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray};
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion_common::{Result, ScalarValue};
use datafusion_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion_expr::utils::{AggregateOrderSensitivity, format_state_name};
use datafusion_expr::{
    Accumulator, AggregateUDFImpl, Documentation, EmitTo, GroupsAccumulator, ReversedUDAF,
    Signature,
};

use super::store::{Histories, HistoryStore};
use crate::args::{check_arity, coerce_temporal, coerce_text, utc_micros_type};

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

pub(super) fn refuse_distinct(name: &str, args: &AccumulatorArgs) -> Result<()> {
    if args.is_distinct {
        return datafusion_common::not_impl_err!(
            "{name}(DISTINCT ...) is not supported: duplicate status rows already count once"
        );
    }
    Ok(())
}

#[derive(Debug)]
pub(super) struct StatusAccumulator<F: StatusFunction> {
    pub(super) function: PhantomData<F>,
    /// One group, which [`HistoryStore::take`] empties: it is put back after each read.
    pub(super) store: HistoryStore,
}

impl<F: StatusFunction> StatusAccumulator<F> {
    /// Reads the one group without emptying it: a window frame reads it again.
    pub(super) fn read<T>(&mut self, read: impl FnOnce(&mut HistoryStore) -> T) -> T {
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
pub(super) struct StatusGroupsAccumulator<F: StatusFunction> {
    pub(super) function: PhantomData<F>,
    pub(super) store: HistoryStore,
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

#[cfg(test)]
mod tests {
    use super::super::functions::*;
    use super::super::kind::StatusKind::*;
    use super::super::store::*;
    use super::*;
    use crate::pauses::OPEN;
    use arrow::array::StringArray;

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
