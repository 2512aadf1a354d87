//! A mapping query's result made canonical: its columns checked against the table's
//! schema and cast to the canonical types, zone-less timestamps taken as local time of
//! the mapping's zone, and each row checked for what only the source can explain (a
//! NULL where none may be, a label outside its set, a duplicate key, a local time that
//! does not exist), every problem citing the source row.

use datafusion::common::HashMap;
use datafusion::common::hash_map::EntryRef;
use std::sync::Arc;

use anyhow::Result;
use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, TimestampMicrosecondArray};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef, TimeUnit};
use chrono::{LocalResult, TimeZone};
use chrono_tz::Tz;

use super::mapping::MappingFile;
use super::problems::Problems;
use super::sources::{SOURCE_FILE, SOURCE_ROW, Source};
use crate::data::catalog::{compatible, kind_description};
use crate::data::schema::{self, Column, Kind};

/// How one output column becomes its canonical column.
#[derive(Debug, Clone)]
enum Conversion {
    /// Arrow's cast; a value it cannot represent (an integer out of range) is a problem.
    Cast(DataType),
    /// A timestamp without a zone: local time of the zone, to UTC.
    Local(Tz),
}

#[derive(Debug, Clone)]
struct Target {
    column: &'static Column,
    index: usize,
    conversion: Conversion,
    line: usize,
}

/// Where a result row came from.
#[derive(Debug, Clone)]
struct RowRef {
    /// 1-based, over the whole result.
    result_row: usize,
    source_row: Option<i64>,
    /// The file within a folder source.
    file: Option<String>,
}

/// The keys seen so far, for the duplicate check: where each was first seen, kept
/// small (a key per row of the table), the file as an index into `files`.
struct KeyCheck {
    /// The key column's position in the output.
    position: usize,
    seen: HashMap<String, (usize, Option<i64>, Option<u32>)>,
    files: Vec<String>,
}

/// The conversion of one mapping file's result, batch by batch.
pub struct Conformer<'a> {
    file: &'a MappingFile,
    targets: Vec<Target>,
    schema: SchemaRef,
    source_row: Option<usize>,
    source_file: Option<usize>,
    /// The source `_source_row` comes from, where the plan says.
    source: Option<&'a Source>,
    key: Option<KeyCheck>,
    rows: usize,
}

impl<'a> Conformer<'a> {
    /// Checks the query's output schema: every column of the table, no other (besides
    /// `_source_row` / `_source_file`), each of a type that converts. Problems go to
    /// `problems`; `None` when the result cannot be converted at all.
    pub fn new(
        file: &'a MappingFile,
        output: &Schema,
        timezone: Option<Tz>,
        source: Option<&'a Source>,
        problems: &mut Problems,
    ) -> Option<Self> {
        let table = file.table;
        let mut targets = Vec::new();
        let (mut source_row, mut source_file) = (None, None);
        let before = problems.total();
        for (index, field) in output.fields().iter().enumerate() {
            let name = field.name().as_str();
            if name == SOURCE_ROW {
                source_row = Some(index);
                continue;
            }
            if name == SOURCE_FILE {
                source_file = Some(index);
                continue;
            }
            let line = file.line_of(name);
            let Some(column) = table.column(name) else {
                problems.add(
                    &file.origin,
                    line,
                    format!(
                        "returns column '{name}', which {} does not have (its columns: {})",
                        table.name,
                        names(table).join(", ")
                    ),
                    None,
                );
                continue;
            };
            if targets.iter().any(|t: &Target| t.column.name == name) {
                problems.add(
                    &file.origin,
                    line,
                    format!("returns column '{name}' twice"),
                    None,
                );
                continue;
            }
            let data_type = field.data_type();
            if !compatible(column.kind, data_type) {
                problems.add(
                    &file.origin,
                    line,
                    format!(
                        "column {name} is {data_type}, expected {} ({}){}",
                        kind_description(column.kind),
                        column.kind.label(),
                        hint(column.kind, data_type)
                    ),
                    None,
                );
                continue;
            }
            let conversion = match (column.kind, data_type) {
                (Kind::Timestamp, DataType::Timestamp(_, None)) => match timezone {
                    Some(zone) => Conversion::Local(zone),
                    None => {
                        problems.add(
                            &file.origin,
                            line,
                            format!(
                                "column {name} is a timestamp without a time zone: declare the zone its local times are in with '-- timezone: ZONE' in the file's header (or pass --timezone); it is never taken as UTC unasked"
                            ),
                            None,
                        );
                        continue;
                    }
                },
                (kind, _) => Conversion::Cast(kind.data_type()),
            };
            targets.push(Target {
                column,
                index,
                conversion,
                line,
            });
        }
        for column in table.columns {
            if !targets.iter().any(|t| t.column.name == column.name)
                && !output.fields().iter().any(|f| f.name() == column.name)
            {
                problems.add(
                    &file.origin,
                    file.line_of("select"),
                    format!(
                        "does not return column {} ({}); return NULL AS {} where the export has none{}",
                        column.name,
                        column.kind.label(),
                        column.name,
                        if column.nullable { "" } else { " (it may not be NULL, though)" }
                    ),
                    None,
                );
            }
        }
        if problems.total() > before {
            return None;
        }
        // The canonical order: the table's columns, then the optional ones returned.
        targets.sort_by_key(|t| {
            table
                .columns
                .iter()
                .chain(table.optional_columns)
                .position(|c| c.name == t.column.name)
        });
        let schema = Arc::new(Schema::new(
            targets
                .iter()
                .map(|t| Field::new(t.column.name, t.column.kind.data_type(), t.column.nullable))
                .collect::<Vec<_>>(),
        ));
        let key = table
            .key
            .and_then(|key| targets.iter().position(|t| t.column.name == key))
            .map(|position| KeyCheck {
                position,
                seen: HashMap::new(),
                files: Vec::new(),
            });
        Some(Self {
            file,
            targets,
            schema,
            source_row,
            source_file,
            source,
            key,
            rows: 0,
        })
    }

    /// The canonical schema of the converted batches.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Where output row `row` of `batch` came from, cheap to keep for every key.
    fn row_ref(&self, batch: &RecordBatch, row: usize) -> RowRef {
        let source_row = self.source_row.and_then(|i| {
            batch
                .column(i)
                .as_primitive_opt::<Int64Type>()
                .filter(|r| r.is_valid(row))
                .map(|r| r.value(row))
        });
        let file = self.source_file.and_then(|i| {
            batch
                .column(i)
                .as_string_opt::<i32>()
                .filter(|f| f.is_valid(row))
                .map(|f| f.value(row).to_string())
        });
        RowRef {
            result_row: self.rows + row + 1,
            source_row,
            file,
        }
    }

    /// A row's origin, for messages.
    fn describe(&self, at: &RowRef) -> String {
        match (at.source_row, self.source) {
            (Some(number), Some(source)) => source.row_location(at.file.as_deref(), number),
            (Some(number), None) => format!("source row {number}"),
            (None, _) if self.source_row.is_none() => format!(
                "result row {} (return {SOURCE_ROW} to have the source row cited)",
                at.result_row
            ),
            (None, _) => format!("result row {}", at.result_row),
        }
    }

    fn location(&self, batch: &RecordBatch, row: usize) -> String {
        self.describe(&self.row_ref(batch, row))
    }

    /// Converts one batch of the query's result. Problems go to `problems`; `None`
    /// when they leave the batch without a value where the table needs one.
    pub fn convert(
        &mut self,
        batch: &RecordBatch,
        problems: &mut Problems,
    ) -> Result<Option<RecordBatch>> {
        let before = problems.total();
        let origin = self.file.origin.as_str();
        let table = self.file.table.name;
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.targets.len());
        for target in &self.targets {
            let input = batch.column(target.index);
            // A NULL literal's column (DataType::Null) has logical nulls only.
            let input_nulls = input.logical_nulls();
            let null_at = |row: usize| input_nulls.as_ref().is_some_and(|n| n.is_null(row));
            let name = target.column.name;
            let converted: ArrayRef = match &target.conversion {
                Conversion::Cast(to) => {
                    let out = cast_with_options(input, to, &CastOptions::default())?;
                    if out.null_count() > input.logical_null_count() {
                        for row in 0..input.len() {
                            if !null_at(row) && out.is_null(row) {
                                problems.add(
                                    origin,
                                    target.line,
                                    format!(
                                        "column {name} cannot hold the value as {}",
                                        target.column.kind.label()
                                    ),
                                    Some(format!(
                                        "{} in {}",
                                        display(input, row),
                                        self.location(batch, row)
                                    )),
                                );
                            }
                        }
                    }
                    out
                }
                Conversion::Local(zone) => {
                    let micros = cast_with_options(
                        input,
                        &DataType::Timestamp(TimeUnit::Microsecond, None),
                        &CastOptions::default(),
                    )?;
                    let micros =
                        micros.as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
                    let mut out = Vec::with_capacity(micros.len());
                    for row in 0..micros.len() {
                        if micros.is_null(row) {
                            out.push(None);
                            continue;
                        }
                        let local = chrono::DateTime::from_timestamp_micros(micros.value(row))
                            .map(|t| t.naive_utc());
                        let utc = local.map(|l| zone.from_local_datetime(&l));
                        match utc {
                            Some(LocalResult::Single(t)) => out.push(Some(t.timestamp_micros())),
                            Some(other) => {
                                let why = match other {
                                    LocalResult::Ambiguous(..) => {
                                        "is ambiguous (it happens twice as the clocks go back)"
                                    }
                                    _ => "does not exist (the clocks skip it)",
                                };
                                problems.add(
                                    origin,
                                    target.line,
                                    format!("column {name}: a local time in {zone} that {why}"),
                                    Some(format!(
                                        "{} in {}",
                                        local.map(|l| l.to_string()).unwrap_or_default(),
                                        self.location(batch, row)
                                    )),
                                );
                                out.push(None);
                            }
                            None => {
                                problems.add(
                                    origin,
                                    target.line,
                                    format!("column {name}: a timestamp out of range"),
                                    Some(self.location(batch, row)),
                                );
                                out.push(None);
                            }
                        }
                    }
                    Arc::new(TimestampMicrosecondArray::from(out).with_timezone("UTC"))
                }
            };
            let column = target.column;
            if !column.nullable && input.logical_null_count() > 0 {
                for row in 0..input.len() {
                    if null_at(row) {
                        problems.add(
                            origin,
                            target.line,
                            format!("column {name} is NULL, which {table}.{name} may not be (a value the mapping does not recognise?)"),
                            Some(self.location(batch, row)),
                        );
                    }
                }
            }
            if let Some(allowed) = schema::allowed_values(table, name) {
                let text = converted.as_string::<i32>();
                for row in 0..text.len() {
                    if text.is_valid(row) && !allowed.contains(&text.value(row)) {
                        problems.add(
                            origin,
                            target.line,
                            format!("column {name} is not one of {}", allowed.join(", ")),
                            Some(format!(
                                "'{}' in {}",
                                text.value(row),
                                self.location(batch, row)
                            )),
                        );
                    }
                }
            }
            columns.push(converted);
        }
        if let Some(mut check) = self.key.take() {
            let keys = columns[check.position].as_string::<i32>();
            let name = self.targets[check.position].column.name;
            let line = self.targets[check.position].line;
            for row in 0..keys.len() {
                if keys.is_null(row) {
                    continue;
                }
                match check.seen.entry_ref(keys.value(row)) {
                    EntryRef::Vacant(slot) => {
                        let here = self.row_ref(batch, row);
                        let file = here.file.map(|file| {
                            match check.files.iter().position(|f| *f == file) {
                                Some(i) => i as u32,
                                None => {
                                    check.files.push(file);
                                    (check.files.len() - 1) as u32
                                }
                            }
                        });
                        slot.insert((here.result_row, here.source_row, file));
                    }
                    EntryRef::Occupied(first) => {
                        let &(result_row, source_row, file) = first.get();
                        let first = RowRef {
                            result_row,
                            source_row,
                            file: file.map(|i| check.files[i as usize].clone()),
                        };
                        problems.add(
                            origin,
                            line,
                            format!("duplicate {name}: {table} has one row per {name}"),
                            Some(format!(
                                "'{}' in {} and {}",
                                keys.value(row),
                                self.describe(&first),
                                self.location(batch, row)
                            )),
                        )
                    }
                }
            }
            self.key = Some(check);
        }
        self.rows += batch.num_rows();
        match RecordBatch::try_new(self.schema.clone(), columns) {
            Ok(converted) => Ok(Some(converted)),
            Err(_) if problems.total() > before => Ok(None),
            Err(error) => Err(error.into()),
        }
    }
}

fn names(table: &schema::Table) -> Vec<&'static str> {
    table
        .columns
        .iter()
        .chain(table.optional_columns)
        .map(|c| c.name)
        .collect()
}

/// How to convert text into a kind, for the type mismatch message.
fn hint(kind: Kind, data_type: &DataType) -> &'static str {
    let text = matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    );
    match kind {
        Kind::Timestamp if text => ": convert it, e.g. to_timestamp(col, '%m/%d/%Y %I:%M %p')",
        Kind::Date if text => ": convert it, e.g. to_date(col, '%m/%d/%Y')",
        Kind::Int32 | Kind::Float64 if text => ": convert it, e.g. TRY_CAST(col AS INT)",
        Kind::Boolean if text => {
            ": convert it, e.g. CASE col WHEN 'Yes' THEN true WHEN 'No' THEN false END"
        }
        Kind::Text => ": convert it, e.g. CAST(col AS VARCHAR)",
        _ => "",
    }
}

/// A value as text, quoted when it is text.
fn display(array: &ArrayRef, row: usize) -> String {
    let text = arrow::util::display::array_value_to_string(array, row).unwrap_or_default();
    if matches!(
        array.data_type(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    ) {
        format!("'{text}'")
    } else {
        text
    }
}
