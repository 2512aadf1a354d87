//! Argument handling shared by the functions: type coercion with clear errors, reading
//! any integer or temporal type natively, and per-row text arguments (calendar specs,
//! zone names) parsed once per distinct value.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, downcast_integer_array};
use arrow::buffer::ScalarBuffer;
use arrow::datatypes::{
    ArrowNativeType, DataType, Date32Type, Date64Type, Int64Type, Schema, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use datafusion_common::{
    DataFusionError, Result, ScalarValue, exec_datafusion_err, exec_err, plan_err,
};
use datafusion_expr::ColumnarValue;
use datafusion_expr::function::AccumulatorArgs;

pub const MICROS_PER_MINUTE: i64 = 60_000_000;
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The type every timestamp-like argument given as text (`'2026-11-01'`) or NULL is
/// read as.
pub fn utc_micros_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Integers are read in their own width (no widening cast); NULL is read as Int64.
pub fn coerce_integer(function: &str, argument: &str, data_type: &DataType) -> Result<DataType> {
    match data_type {
        t if t.is_integer() => Ok(t.clone()),
        DataType::Null => Ok(DataType::Int64),
        t => plan_err!("{function}: argument {argument} must be an integer, got {t}"),
    }
}

/// Timestamps (any unit and zone) and dates are read natively; text is parsed as a UTC
/// timestamp, so literals such as `'2026-11-01'` work.
pub fn coerce_temporal(function: &str, argument: &str, data_type: &DataType) -> Result<DataType> {
    match data_type {
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 => Ok(data_type.clone()),
        DataType::Null | DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            Ok(utc_micros_type())
        }
        t => plan_err!("{function}: argument {argument} must be a timestamp or a date, got {t}"),
    }
}

/// Dates for period bounds: dates stay dates, timestamps are read natively, text is a date.
pub fn coerce_date(function: &str, argument: &str, data_type: &DataType) -> Result<DataType> {
    match data_type {
        DataType::Null | DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            Ok(DataType::Date32)
        }
        t => coerce_temporal(function, argument, t),
    }
}

pub fn coerce_text(function: &str, argument: &str, data_type: &DataType) -> Result<DataType> {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Ok(data_type.clone()),
        DataType::Null => Ok(DataType::Utf8),
        t => plan_err!("{function}: argument {argument} must be text, got {t}"),
    }
}

pub fn check_arity(function: &str, arg_types: &[DataType], allowed: &[usize]) -> Result<()> {
    if allowed.contains(&arg_types.len()) {
        Ok(())
    } else {
        let expected: Vec<String> = allowed.iter().map(|n| n.to_string()).collect();
        plan_err!(
            "{function} takes {} arguments, got {}",
            expected.join(" or "),
            arg_types.len()
        )
    }
}

/// Any integer array as i64 values (NULL slots hold arbitrary values).
pub fn integers_as_i64(function: &str, array: &ArrayRef) -> Result<ScalarBuffer<i64>> {
    if let Some(int64) = array.as_primitive_opt::<Int64Type>() {
        return Ok(int64.values().clone());
    }
    if array.data_type() == &DataType::Null {
        return Ok(ScalarBuffer::from(vec![0i64; array.len()]));
    }
    // Only a UInt64 above i64::MAX has no i64: it saturates.
    Ok(downcast_integer_array!(
        array => array.values().iter().map(|v| v.to_i64().unwrap_or(i64::MAX)).collect(),
        other => return Err(not_an_integer(function, other))
    ))
}

/// The error for an argument the planner should have coerced to an integer.
pub fn not_an_integer(function: &str, got: &DataType) -> DataFusionError {
    exec_datafusion_err!("{function}: expected an integer argument, got {got}")
}

/// Any timestamp or date array as microseconds since the Unix epoch (UTC instants;
/// a date is its midnight UTC). NULL slots hold arbitrary values.
pub fn temporal_as_micros(function: &str, array: &ArrayRef) -> Result<ScalarBuffer<i64>> {
    fn scaled(values: &[i64], multiply: i64, divide: i64) -> ScalarBuffer<i64> {
        values
            .iter()
            .map(|&v| v.saturating_mul(multiply).div_euclid(divide))
            .collect()
    }
    Ok(match array.data_type() {
        DataType::Timestamp(TimeUnit::Microsecond, _) => array
            .as_primitive::<TimestampMicrosecondType>()
            .values()
            .clone(),
        DataType::Timestamp(TimeUnit::Second, _) => scaled(
            array.as_primitive::<TimestampSecondType>().values(),
            1_000_000,
            1,
        ),
        DataType::Timestamp(TimeUnit::Millisecond, _) => scaled(
            array.as_primitive::<TimestampMillisecondType>().values(),
            1_000,
            1,
        ),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => scaled(
            array.as_primitive::<TimestampNanosecondType>().values(),
            1,
            1_000,
        ),
        DataType::Date32 => array
            .as_primitive::<Date32Type>()
            .values()
            .iter()
            .map(|&d| d as i64 * MICROS_PER_DAY)
            .collect(),
        DataType::Date64 => scaled(array.as_primitive::<Date64Type>().values(), 1_000, 1),
        DataType::Null => ScalarBuffer::from(vec![0i64; array.len()]),
        other => return exec_err!("{function}: expected a timestamp or date, got {other}"),
    })
}

/// A text argument resolved per row: a literal is parsed once, a column once per
/// distinct value in the batch. Parsing never outlives the batch, so a function's
/// result follows from its arguments alone.
pub enum PerRow<T> {
    Uniform(Option<Arc<T>>),
    Column {
        values: Vec<Arc<T>>,
        /// index into `values` per row, `u32::MAX` for NULL
        index: Vec<u32>,
    },
}

impl<T> PerRow<T> {
    #[inline]
    pub fn get(&self, row: usize) -> Option<&T> {
        match self {
            PerRow::Uniform(value) => value.as_deref(),
            PerRow::Column { values, index } => values.get(index[row] as usize).map(|v| v.as_ref()),
        }
    }

    pub fn from_columnar(arg: &ColumnarValue, parse: impl Fn(&str) -> Result<T>) -> Result<Self> {
        Self::from_columnar_where(arg, parse, |_| true)
    }

    /// As [`Self::from_columnar`], but only the rows `wanted` says are looked up; the
    /// others read as NULL. For a kernel that needs the value on a few rows only.
    pub fn from_columnar_where(
        arg: &ColumnarValue,
        parse: impl Fn(&str) -> Result<T>,
        wanted: impl Fn(usize) -> bool,
    ) -> Result<Self> {
        match arg {
            ColumnarValue::Scalar(scalar) => Self::from_scalar(scalar, parse),
            ColumnarValue::Array(array) => Self::from_array_where(array, parse, wanted),
        }
    }

    pub fn from_scalar(scalar: &ScalarValue, parse: impl Fn(&str) -> Result<T>) -> Result<Self> {
        match scalar.try_as_str() {
            Some(Some(text)) => Ok(PerRow::Uniform(Some(Arc::new(parse(text)?)))),
            Some(None) => Ok(PerRow::Uniform(None)),
            None if scalar.is_null() => Ok(PerRow::Uniform(None)),
            None => exec_err!("expected text, got {}", scalar.data_type()),
        }
    }

    pub fn from_array(array: &ArrayRef, parse: impl Fn(&str) -> Result<T>) -> Result<Self> {
        Self::from_array_where(array, parse, |_| true)
    }

    fn from_array_where(
        array: &ArrayRef,
        parse: impl Fn(&str) -> Result<T>,
        wanted: impl Fn(usize) -> bool,
    ) -> Result<Self> {
        let texts: Box<dyn Iterator<Item = Option<&str>>> = match array.data_type() {
            DataType::Utf8 => Box::new(array.as_string::<i32>().iter()),
            DataType::LargeUtf8 => Box::new(array.as_string::<i64>().iter()),
            DataType::Utf8View => Box::new(array.as_string_view().iter()),
            DataType::Null => return Ok(PerRow::Uniform(None)),
            other => return exec_err!("expected text, got {other}"),
        };
        let mut seen: HashMap<&str, u32> = HashMap::new();
        let mut values = Vec::new();
        let mut index = Vec::with_capacity(array.len());
        let mut last: Option<(&str, u32)> = None;
        for (row, text) in texts.enumerate() {
            let Some(text) = text.filter(|_| wanted(row)) else {
                index.push(u32::MAX);
                continue;
            };
            if let Some((last_text, last_index)) = last
                && last_text == text
            {
                index.push(last_index);
                continue;
            }
            let i = match seen.get(text) {
                Some(&i) => i,
                None => {
                    let i = values.len() as u32;
                    values.push(Arc::new(parse(text)?));
                    seen.insert(text, i);
                    i
                }
            };
            last = Some((text, i));
            index.push(i);
        }
        Ok(PerRow::Column { values, index })
    }
}

/// Each argument's value if it is the same for every row: a literal or an expression of
/// literals (`DATE '2026-11-01'`, `CAST('60' AS INT)`), found by evaluating it without
/// input as DataFusion's own aggregates do for their literal parameters. DataFusion
/// still hands such an argument over as a full array on every batch; a kernel that
/// knows it is constant reads one value instead and skips per-batch conversions.
/// `None` for an argument that reads a column, and for a NULL constant (the array's
/// NULLs then exclude the rows as usual).
pub fn constant_arguments(args: &AccumulatorArgs) -> Vec<Option<ScalarValue>> {
    let no_input = RecordBatch::new_empty(Arc::new(Schema::empty()));
    args.exprs
        .iter()
        .map(|expr| match expr.evaluate(&no_input) {
            Ok(ColumnarValue::Scalar(value)) if !value.is_null() => Some(value),
            _ => None,
        })
        .collect()
}

/// A constant temporal argument as UTC microseconds, converted like a column would be.
pub fn constant_micros(function: &str, value: &ScalarValue) -> Result<i64> {
    Ok(temporal_as_micros(function, &value.to_array()?)?[0])
}

/// A constant integer argument as i64.
pub fn constant_i64(function: &str, value: &ScalarValue) -> Result<i64> {
    Ok(integers_as_i64(function, &value.to_array()?)?[0])
}

/// Per-row access to an argument that is either one constant ([`Same`]) or a column
/// (a slice). Kernels are generic over it, so each combination compiles to its own
/// loop with no per-row test of which it is.
pub trait RowValue<T>: Copy {
    fn at(self, row: usize) -> T;
}

/// The value of a constant argument, the same for every row.
#[derive(Debug, Clone, Copy)]
pub struct Same<T>(pub T);

impl<T: Copy> RowValue<T> for Same<T> {
    #[inline(always)]
    fn at(self, _row: usize) -> T {
        self.0
    }
}

impl<T: Copy> RowValue<T> for &[T] {
    #[inline(always)]
    fn at(self, row: usize) -> T {
        self[row]
    }
}

/// The raw values of a timestamp (any unit) or Date64 array: i64 counts of the type's
/// own unit. Two arrays of the same type compare correctly on these without conversion.
pub fn raw_ticks(array: &ArrayRef) -> Option<&[i64]> {
    Some(match array.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => {
            array.as_primitive::<TimestampSecondType>().values()
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            array.as_primitive::<TimestampMillisecondType>().values()
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            array.as_primitive::<TimestampMicrosecondType>().values()
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            array.as_primitive::<TimestampNanosecondType>().values()
        }
        DataType::Date64 => array.as_primitive::<Date64Type>().values(),
        _ => return None,
    })
}
