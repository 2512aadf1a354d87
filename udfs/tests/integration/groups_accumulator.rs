//! Direct tests of the GroupsAccumulator and Accumulator of the ratio aggregates.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int8Array, Int64Array};
use arrow::datatypes::{Float64Type, Int64Type};
use datafusion_expr::{Accumulator, EmitTo, GroupsAccumulator};
use mspkpi_udfs::aggregate::nps::NpsKernel;
use mspkpi_udfs::ratio::{RatioAccumulator, RatioGroupsAccumulator};

fn scores(values: &[Option<i8>]) -> Vec<ArrayRef> {
    vec![Arc::new(Int8Array::from(values.to_vec()))]
}

fn floats(array: &ArrayRef) -> Vec<Option<f64>> {
    array.as_primitive::<Float64Type>().iter().collect()
}

#[test]
fn update_with_filter_then_emit_first_then_rest() {
    let mut acc = RatioGroupsAccumulator::new(NpsKernel);
    // group 0: 10, 9, 3 (+ a filtered-out 0) -> (2 - 1) / 3
    // group 1: 7, NULL -> 0 / 1 = 0
    // group 2: only a filtered-out row -> NULL
    // group 3: 0 -> -100
    let values = scores(&[
        Some(10),
        Some(9),
        Some(3),
        Some(0),
        Some(7),
        None,
        Some(10),
        Some(0),
    ]);
    let groups = [0, 0, 0, 0, 1, 1, 2, 3];
    let filter = BooleanArray::from(vec![
        Some(true),
        Some(true),
        Some(true),
        Some(false),
        Some(true),
        Some(true),
        None,
        Some(true),
    ]);
    acc.update_batch(&values, &groups, Some(&filter), 4)
        .unwrap();
    let first = acc.evaluate(EmitTo::First(2)).unwrap();
    assert_eq!(floats(&first), vec![Some(100.0 / 3.0), Some(0.0)]);
    // The remaining groups were renumbered 0 and 1.
    let rest = acc.evaluate(EmitTo::All).unwrap();
    assert_eq!(floats(&rest), vec![None, Some(-100.0)]);
}

#[test]
fn state_and_merge_match_a_single_accumulator() {
    let values = scores(&[Some(10), Some(2), Some(8), Some(9), Some(9), None]);
    let groups = [0, 1, 0, 1, 2, 2];

    let mut partial_a = RatioGroupsAccumulator::new(NpsKernel);
    partial_a
        .update_batch(&[values[0].slice(0, 3)], &groups[..3], None, 2)
        .unwrap();
    let mut partial_b = RatioGroupsAccumulator::new(NpsKernel);
    partial_b
        .update_batch(&[values[0].slice(3, 3)], &[0, 1, 1], None, 2)
        .unwrap();

    // State with EmitTo::First(1), then the rest.
    let a_first = partial_a.state(EmitTo::First(1)).unwrap();
    let a_rest = partial_a.state(EmitTo::All).unwrap();
    assert_eq!(
        a_first[0].as_primitive::<Int64Type>().values().to_vec(),
        vec![1]
    );
    assert_eq!(
        a_first[1].as_primitive::<Int64Type>().values().to_vec(),
        vec![2]
    );
    assert_eq!(
        a_rest[0].as_primitive::<Int64Type>().values().to_vec(),
        vec![-1]
    );

    // Merge into final groups: a's group 0 -> 0, a's group 1 -> 1, b's 0 -> 1, b's 1 -> 2.
    let mut merged = RatioGroupsAccumulator::new(NpsKernel);
    merged.merge_batch(&a_first, &[0], 3).unwrap();
    merged.merge_batch(&a_rest, &[1], 3).unwrap();
    merged
        .merge_batch(&partial_b.state(EmitTo::All).unwrap(), &[1, 2], 3)
        .unwrap();
    let result = floats(&merged.evaluate(EmitTo::All).unwrap());
    // group 0: 10, 8 -> 50; group 1: 2, 9 -> 0; group 2: 9, NULL -> 100
    assert_eq!(result, vec![Some(50.0), Some(0.0), Some(100.0)]);

    // The plain accumulator over the same rows of group 0.
    let mut single = RatioAccumulator::new(NpsKernel);
    single.update_batch(&scores(&[Some(10), Some(8)])).unwrap();
    assert_eq!(
        single.evaluate().unwrap(),
        datafusion_common::ScalarValue::Float64(Some(50.0))
    );
}

#[test]
fn convert_to_state_gives_one_state_row_per_input_row() {
    let acc = RatioGroupsAccumulator::new(NpsKernel);
    let values = scores(&[Some(10), Some(5), None, Some(8)]);
    let filter = BooleanArray::from(vec![true, true, true, false]);
    let state = acc.convert_to_state(&values, Some(&filter)).unwrap();
    let num: Vec<i64> = state[0].as_primitive::<Int64Type>().values().to_vec();
    let den: Vec<i64> = state[1].as_primitive::<Int64Type>().values().to_vec();
    assert_eq!(num, vec![1, -1, 0, 0]);
    assert_eq!(den, vec![1, 1, 0, 0]);
    // Merging the converted states gives the same answer as updating.
    let mut merged = RatioGroupsAccumulator::new(NpsKernel);
    merged.merge_batch(&state, &[0, 0, 0, 0], 1).unwrap();
    assert_eq!(
        floats(&merged.evaluate(EmitTo::All).unwrap()),
        vec![Some(0.0)]
    );
}

#[test]
fn retract_restores_the_empty_state() {
    let mut acc = RatioAccumulator::new(NpsKernel);
    let values = scores(&[Some(10), Some(0), Some(7)]);
    acc.update_batch(&values).unwrap();
    assert_eq!(
        acc.evaluate().unwrap(),
        datafusion_common::ScalarValue::Float64(Some(0.0))
    );
    acc.retract_batch(&[values[0].slice(0, 1)]).unwrap();
    assert_eq!(
        acc.evaluate().unwrap(),
        datafusion_common::ScalarValue::Float64(Some(-50.0))
    );
    acc.retract_batch(&[values[0].slice(1, 2)]).unwrap();
    assert_eq!(
        acc.evaluate().unwrap(),
        datafusion_common::ScalarValue::Float64(None)
    );
    // Evaluate does not consume the state.
    acc.update_batch(&scores(&[Some(9)])).unwrap();
    assert_eq!(acc.evaluate().unwrap(), acc.evaluate().unwrap());
}

#[test]
fn out_of_range_is_an_error_in_every_path() {
    let values = scores(&[Some(3), Some(12)]);
    let mut acc = RatioGroupsAccumulator::new(NpsKernel);
    let message = acc
        .update_batch(&values, &[0, 1], None, 2)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("nps: value 12 is out of range"),
        "{message}"
    );
    let message = acc.convert_to_state(&values, None).unwrap_err().to_string();
    assert!(message.contains("value 12"), "{message}");
    let mut single = RatioAccumulator::new(NpsKernel);
    assert!(single.update_batch(&values).is_err());
    // Filtered out, the bad value is not an error.
    let filter = BooleanArray::from(vec![true, false]);
    acc.update_batch(&values, &[0, 1], Some(&filter), 2)
        .unwrap();
}

#[test]
fn states_from_elsewhere_with_nulls_add_nothing() {
    let mut acc = RatioGroupsAccumulator::new(NpsKernel);
    let num: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None]));
    let den: ArrayRef = Arc::new(Int64Array::from(vec![Some(2), None]));
    acc.merge_batch(&[num, den], &[0, 0], 1).unwrap();
    let result = acc.evaluate(EmitTo::All).unwrap();
    assert_eq!(
        result
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap()
            .value(0),
        50.0
    );
}
