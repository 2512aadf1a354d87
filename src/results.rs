//! A query's result as typed columns, straight from its Arrow batches: text, integer,
//! float, boolean and date columns that the report reads by name, and rows that
//! serialize (for custom templates) without a detour through JSON text.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Float64Array, Int64Array, RecordBatch,
    StringArray,
};
use arrow::compute::{cast, concat_batches};
use arrow::datatypes::{DataType, Date32Type};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use chrono::NaiveDate;
use serde::ser::{Serialize, SerializeMap, Serializer};

/// One column, in the type the report reads it as.
#[derive(Debug, Clone)]
enum Column {
    Text(StringArray),
    Int(Int64Array),
    Float(Float64Array),
    Bool(BooleanArray),
    Date(Date32Array),
    /// Any other type (timestamps, lists, ...), as Arrow prints it.
    Printed(StringArray),
}

impl Column {
    fn from_array(array: &ArrayRef) -> Result<Self> {
        let as_type = |to: &DataType| cast(array, to).map_err(anyhow::Error::from);
        Ok(match array.data_type() {
            DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Dictionary(..)
                if cast(array, &DataType::Utf8).is_ok() =>
            {
                Self::Text(as_type(&DataType::Utf8)?.as_string::<i32>().clone())
            }
            t if t.is_integer() => match as_type(&DataType::Int64) {
                Ok(ints) => Self::Int(ints.as_primitive().clone()),
                // A UInt64 beyond i64::MAX.
                Err(_) => Self::Float(as_type(&DataType::Float64)?.as_primitive().clone()),
            },
            t if t.is_floating() || t.is_numeric() => {
                Self::Float(as_type(&DataType::Float64)?.as_primitive().clone())
            }
            DataType::Boolean => Self::Bool(array.as_boolean().clone()),
            DataType::Date32 | DataType::Date64 => {
                Self::Date(as_type(&DataType::Date32)?.as_primitive().clone())
            }
            _ => {
                let formatter = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())?;
                Self::Printed(StringArray::from_iter(
                    (0..array.len())
                        .map(|i| array.is_valid(i).then(|| formatter.value(i).to_string())),
                ))
            }
        })
    }
}

/// A cell, typed: what a template sees of a result row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(&'a str),
    Date(NaiveDate),
}

impl Serialize for Cell<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Null => serializer.serialize_none(),
            Self::Bool(b) => serializer.serialize_bool(*b),
            Self::Int(i) => serializer.serialize_i64(*i),
            // NaN and infinities read as missing, like NULL.
            Self::Float(f) if !f.is_finite() => serializer.serialize_none(),
            Self::Float(f) => serializer.serialize_f64(*f),
            Self::Text(t) => serializer.serialize_str(t),
            Self::Date(d) => serializer.collect_str(&d.format("%Y-%m-%d")),
        }
    }
}

/// The rows of a query result, column by column.
#[derive(Debug, Clone, Default)]
pub struct Table {
    names: Vec<String>,
    columns: Vec<Column>,
    rows: usize,
}

impl Table {
    pub fn from_batches(batches: &[RecordBatch]) -> Result<Self> {
        let Some(first) = batches.first() else {
            return Ok(Self::default());
        };
        let batch = concat_batches(&first.schema(), batches)?;
        let mut columns = Vec::with_capacity(batch.num_columns());
        for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
            columns.push(
                Column::from_array(array).with_context(|| {
                    format!("column '{}' ({})", field.name(), field.data_type())
                })?,
            );
        }
        Ok(Self {
            names: batch
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect(),
            columns,
            rows: batch.num_rows(),
        })
    }

    pub fn column_names(&self) -> &[String] {
        &self.names
    }

    pub fn has_column(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    pub fn row(&self, index: usize) -> Row<'_> {
        Row { table: self, index }
    }

    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        (0..self.rows).map(|index| self.row(index))
    }

    fn column(&self, name: &str) -> Option<&Column> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| &self.columns[i])
    }
}

/// One row of a [`Table`].
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    table: &'a Table,
    index: usize,
}

impl<'a> Row<'a> {
    pub fn cell(&self, column: &str) -> Cell<'a> {
        let i = self.index;
        let Some(col) = self.table.column(column) else {
            return Cell::Null;
        };
        let valid = match col {
            Column::Text(a) | Column::Printed(a) => a.is_valid(i),
            Column::Int(a) => a.is_valid(i),
            Column::Float(a) => a.is_valid(i),
            Column::Bool(a) => a.is_valid(i),
            Column::Date(a) => a.is_valid(i),
        };
        if !valid {
            return Cell::Null;
        }
        match col {
            Column::Text(a) | Column::Printed(a) => Cell::Text(a.value(i)),
            Column::Int(a) => Cell::Int(a.value(i)),
            Column::Float(a) => Cell::Float(a.value(i)),
            Column::Bool(a) => Cell::Bool(a.value(i)),
            Column::Date(a) => {
                Date32Type::to_naive_date_opt(a.value(i)).map_or(Cell::Null, Cell::Date)
            }
        }
    }

    /// A text column's value.
    pub fn text(&self, column: &str) -> Option<&'a str> {
        match self.cell(column) {
            Cell::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The value as text, whatever its type (a key such as a client id).
    pub fn key(&self, column: &str) -> Option<String> {
        match self.cell(column) {
            Cell::Null => None,
            Cell::Text(t) => Some(t.to_string()),
            Cell::Int(i) => Some(i.to_string()),
            Cell::Float(f) => Some(f.to_string()),
            Cell::Bool(b) => Some(b.to_string()),
            Cell::Date(d) => Some(d.format("%Y-%m-%d").to_string()),
        }
    }

    /// A numeric column's value; NaN and infinities are no value.
    pub fn number(&self, column: &str) -> Option<f64> {
        match self.cell(column) {
            Cell::Int(i) => Some(i as f64),
            Cell::Float(f) if f.is_finite() => Some(f),
            _ => None,
        }
    }

    /// An integer column's value.
    pub fn int(&self, column: &str) -> Option<i64> {
        match self.cell(column) {
            Cell::Int(i) => Some(i),
            _ => None,
        }
    }

    pub fn date(&self, column: &str) -> Option<NaiveDate> {
        match self.cell(column) {
            Cell::Date(d) => Some(d),
            _ => None,
        }
    }

    pub fn bool(&self, column: &str) -> Option<bool> {
        match self.cell(column) {
            Cell::Bool(b) => Some(b),
            _ => None,
        }
    }
}

/// A row serializes as a map of its columns, in their order.
impl Serialize for Row<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.table.names.len()))?;
        for name in &self.table.names {
            map.serialize_entry(name, &self.cell(name))?;
        }
        map.end()
    }
}

/// Row indexes of a table grouped by a key column's value (rows without one left out).
pub fn group_rows(table: &Table, column: &str) -> BTreeMap<String, Vec<usize>> {
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    if table.has_column(column) {
        for row in table.rows() {
            if let Some(key) = row.key(column) {
                groups.entry(key).or_default().push(row.index);
            }
        }
    }
    groups
}

/// A batch of one column, for tests.
#[cfg(test)]
fn one_column(name: &str, array: ArrayRef) -> RecordBatch {
    use std::sync::Arc;
    let schema = arrow::datatypes::Schema::new(vec![arrow::datatypes::Field::new(
        name,
        array.data_type().clone(),
        true,
    )]);
    RecordBatch::try_new(Arc::new(schema), vec![array]).unwrap_or_else(|e| panic!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{DictionaryArray, Int32Array, TimestampMicrosecondArray, UInt8Array};
    use arrow::datatypes::Int8Type;
    use std::sync::Arc;

    #[test]
    fn cells_keep_their_types() {
        let batches = [
            one_column("n", Arc::new(UInt8Array::from(vec![Some(3), None]))),
            one_column("n", Arc::new(UInt8Array::from(vec![Some(250)]))),
        ];
        let table = Table::from_batches(&batches).unwrap();
        assert_eq!(table.len(), 3);
        assert_eq!(table.row(0).int("n"), Some(3));
        assert_eq!(table.row(1).cell("n"), Cell::Null);
        assert_eq!(table.row(2).number("n"), Some(250.0));
        assert_eq!(table.row(0).cell("missing"), Cell::Null);

        let dict: DictionaryArray<Int8Type> = vec!["a", "b", "a"].into_iter().collect();
        let t = Table::from_batches(&[one_column("k", Arc::new(dict))]).unwrap();
        assert_eq!(t.row(2).text("k"), Some("a"));
        assert_eq!(group_rows(&t, "k")["a"], vec![0, 2]);

        let days =
            Table::from_batches(&[one_column("d", Arc::new(Date32Array::from(vec![20727])))])
                .unwrap();
        assert_eq!(days.row(0).date("d"), NaiveDate::from_ymd_opt(2026, 10, 1));
        assert_eq!(days.row(0).key("d").as_deref(), Some("2026-10-01"));

        let floats = Table::from_batches(&[one_column(
            "f",
            Arc::new(Float64Array::from(vec![f64::NAN, 1.5])),
        )])
        .unwrap();
        assert_eq!(floats.row(0).number("f"), None);
        assert_eq!(
            serde_json::to_string(&floats.row(0)).unwrap(),
            r#"{"f":null}"#
        );
        assert_eq!(
            serde_json::to_string(&floats.row(1)).unwrap(),
            r#"{"f":1.5}"#
        );

        let ts = TimestampMicrosecondArray::from(vec![0]);
        let t = Table::from_batches(&[one_column("t", Arc::new(ts))]).unwrap();
        assert_eq!(t.row(0).text("t"), Some("1970-01-01T00:00:00"));
        let ints =
            Table::from_batches(&[one_column("i", Arc::new(Int32Array::from(vec![7])))]).unwrap();
        assert_eq!(serde_json::to_string(&ints.row(0)).unwrap(), r#"{"i":7}"#);
    }
}
