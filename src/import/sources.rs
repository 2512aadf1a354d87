//! The `--source [NAME=]PATH` tables of an import: CSV, JSON / NDJSON or Parquet files,
//! or a folder of files of one format, each read into memory with its row numbers and
//! registered under its name for the mapping SQL.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow::array::{ArrayRef, Int64Array, RecordBatch, RecordBatchReader, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::logical_expr::SortExpr;
use datafusion::prelude::{SessionContext, col};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// The column every source gains: the 1-based data row of its file (the header is not
/// a data row), which import's messages cite.
pub const SOURCE_ROW: &str = "_source_row";
/// The column a folder's sources gain: the file, within the folder, a row comes from.
pub const SOURCE_FILE: &str = "_source_file";

const BATCH_ROWS: usize = 8192;

/// How a source's files are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    /// One JSON array of objects, or one object per line (NDJSON).
    Json,
    Parquet,
}

impl Format {
    fn of(path: &Path) -> Option<Format> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "csv" => Some(Format::Csv),
            "json" | "ndjson" | "jsonl" => Some(Format::Json),
            "parquet" => Some(Format::Parquet),
            _ => None,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Csv => "CSV",
            Format::Json => "JSON",
            Format::Parquet => "Parquet",
        })
    }
}

/// One `--source` argument, before it is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    pub name: String,
    pub path: PathBuf,
}

impl SourceSpec {
    /// `NAME=PATH` or `PATH`; without a name, the name is the file's or folder's stem,
    /// lowercased, with every character other than `a-z0-9_` turned into `_`.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let (name, path) = match text.split_once('=') {
            Some((name, path)) if is_table_name(name) => (Some(name.to_string()), path),
            _ => (None, text),
        };
        if path.is_empty() {
            return Err(format!("'{text}': no path"));
        }
        let path = PathBuf::from(path);
        let name = match name {
            Some(name) => name,
            None => table_name_of(&path).ok_or_else(|| {
                format!("'{text}': cannot name a table after this path; write NAME=PATH")
            })?,
        };
        Ok(Self { name, path })
    }
}

fn is_table_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The table name a path gives: `Tickets Export-2026.csv` → `tickets_export_2026`.
pub fn table_name_of(path: &Path) -> Option<String> {
    let stem = if path.is_dir() {
        path.file_name()?
    } else {
        path.file_stem()?
    };
    let name: String = stem
        .to_string_lossy()
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    (!name.is_empty()).then_some(name)
}

/// A source read into memory.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub path: PathBuf,
    pub format: Format,
    /// The files read, in order (one, or a folder's files sorted by name).
    pub files: Vec<PathBuf>,
    pub rows: usize,
    pub schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

impl Source {
    /// Reads a source's files, a large CSV file on `threads` threads; an error names
    /// the file.
    pub fn read(spec: &SourceSpec, threads: usize) -> Result<Self> {
        let (format, files) = files_of(&spec.path)?;
        let in_folder = spec.path.is_dir();
        let mut batches = Vec::new();
        let mut schema: Option<SchemaRef> = None;
        for file in &files {
            let mut read = match format {
                Format::Csv => read_csv(file, threads),
                Format::Json => read_json(file),
                Format::Parquet => read_parquet(file),
            }
            .with_context(|| format!("source '{}': cannot read {}", spec.name, file.display()))?;
            let name = file_label(file);
            read = numbered(read, in_folder.then_some(name.as_str()))?;
            let file_schema = read.first().map(|b| b.schema());
            match (&schema, file_schema) {
                (None, Some(s)) => schema = Some(s),
                (Some(first), Some(this)) if first.fields() != this.fields() => bail!(
                    "source '{}': {} has other columns than {} ({}); a folder is one table",
                    spec.name,
                    file.display(),
                    files[0].display(),
                    describe_difference(first, &this)
                ),
                _ => {}
            }
            batches.extend(read);
        }
        let schema = match schema {
            Some(schema) => schema,
            None => bail!(
                "source '{}': {} has no rows and no columns",
                spec.name,
                spec.path.display()
            ),
        };
        let rows = batches.iter().map(|b| b.num_rows()).sum();
        Ok(Self {
            name: spec.name.clone(),
            path: spec.path.clone(),
            format,
            files,
            rows,
            schema,
            batches,
        })
    }

    /// Registers the source as a table of `ctx`, split over `partitions` partitions so
    /// that the mapping SQL runs on every core. Each partition is a run of consecutive
    /// batches, and the table says it is in the sources' order (`_source_file`,
    /// `_source_row`): the import's sort into that order then merges the partitions
    /// instead of sorting every row again.
    pub fn register(&self, ctx: &SessionContext, partitions: usize) -> Result<()> {
        let partitions = partitions.max(1);
        let per_part = self.rows.div_ceil(partitions).max(1);
        let mut parts: Vec<Vec<RecordBatch>> = vec![Vec::new(); partitions];
        let mut seen = 0;
        for batch in &self.batches {
            parts[(seen / per_part).min(partitions - 1)].push(batch.clone());
            seen += batch.num_rows();
        }
        let mut table = MemTable::try_new(self.schema.clone(), parts)?;
        if let Some(order) = self.source_order() {
            table = table.with_sort_order(vec![order]);
        }
        ctx.register_table(self.name.as_str(), Arc::new(table))
            .with_context(|| format!("cannot register source '{}'", self.name))?;
        Ok(())
    }

    /// The sort order of the rows as read: files in the order of their labels as text
    /// (`files_of` sorts paths, whose order could differ for names that are not
    /// UTF-8), then rows in file order.
    fn source_order(&self) -> Option<Vec<SortExpr>> {
        let row = col(SOURCE_ROW).sort(true, true);
        if self.schema.column_with_name(SOURCE_FILE).is_none() {
            return Some(vec![row]);
        }
        let names: Vec<String> = self.files.iter().map(|f| file_label(f)).collect();
        names
            .is_sorted()
            .then(|| vec![col(SOURCE_FILE).sort(true, true), row])
    }

    /// Where a row was read: the file, and its data row there.
    pub fn row_location(&self, file: Option<&str>, row: i64) -> String {
        match file {
            Some(file) => format!("{} row {row}", self.path.join(file).display()),
            None => format!("{} row {row}", self.path.display()),
        }
    }
}

fn describe_difference(first: &Schema, other: &Schema) -> String {
    let names =
        |s: &Schema| -> Vec<String> { s.fields().iter().map(|f| f.name().clone()).collect() };
    let (a, b) = (names(first), names(other));
    let missing: Vec<&String> = a.iter().filter(|n| !b.contains(n)).collect();
    let extra: Vec<&String> = b.iter().filter(|n| !a.contains(n)).collect();
    match (missing.is_empty(), extra.is_empty()) {
        (true, true) => "the same names with other types or order".into(),
        _ => format!("lacks {missing:?}, adds {extra:?}"),
    }
}

/// A folder's file as its rows' `_source_file` names it: the file name, as text.
fn file_label(file: &Path) -> String {
    file.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The format and files of a path: a file, or a folder's visible files of one format.
fn files_of(path: &Path) -> Result<(Format, Vec<PathBuf>)> {
    if !path.exists() {
        bail!("source {} does not exist", path.display());
    }
    if !path.is_dir() {
        let format = Format::of(path).with_context(|| {
            format!(
                "source {}: unknown format (the name should end in .csv, .json, .ndjson, .jsonl or .parquet)",
                path.display()
            )
        })?;
        return Ok((format, vec![path.to_path_buf()]));
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("cannot list source folder {}", path.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    let mut formats: Vec<Format> = Vec::new();
    for file in &files {
        match Format::of(file) {
            Some(format) if !formats.contains(&format) => formats.push(format),
            Some(_) => {}
            None => bail!(
                "source folder {}: {} is not a .csv, .json, .ndjson, .jsonl or .parquet file",
                path.display(),
                file.display()
            ),
        }
    }
    match formats.as_slice() {
        [format] => Ok((*format, files)),
        [] => bail!("source folder {} has no files", path.display()),
        _ => bail!(
            "source folder {} mixes formats ({}); a folder is one table of one format",
            path.display(),
            formats
                .iter()
                .map(|f| f.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A CSV file with every column as text: the header's names (a UTF-8 byte-order mark
/// stripped, an empty name becoming `column_N`), empty cells NULL, quoted fields with
/// commas, quotes and newlines, CRLF or LF line ends. A large file is decoded in
/// `threads` parts at once, split at line ends outside quotes.
fn read_csv(path: &Path, threads: usize) -> Result<Vec<RecordBatch>> {
    let bytes = std::fs::read(path)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes.as_slice());
    let mut header = csv::StringRecord::new();
    if !reader.read_record(&mut header)? {
        bail!("the file is empty: a CSV source needs a header row");
    }
    let body_start = (reader.position().byte() as usize).min(bytes.len());
    let mut names: Vec<String> = Vec::with_capacity(header.len());
    for (i, name) in header.iter().enumerate() {
        let name = if i == 0 {
            name.trim_start_matches('\u{feff}')
        } else {
            name
        };
        let name = if name.trim().is_empty() {
            format!("column_{}", i + 1)
        } else {
            name.to_string()
        };
        if names.contains(&name) || name == SOURCE_ROW || name == SOURCE_FILE {
            bail!("the header names column '{name}' twice (or uses a name import reserves)");
        }
        names.push(name);
    }
    let schema = Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let body = &bytes[body_start..];
    let decode = |part: &[u8]| -> Result<Vec<RecordBatch>> {
        let reader = arrow::csv::ReaderBuilder::new(schema.clone())
            .with_header(false)
            .with_batch_size(BATCH_ROWS)
            .build(part)?;
        Ok(reader.collect::<std::result::Result<Vec<_>, _>>()?)
    };
    let parts = split_at_record_ends(body, threads);
    let decoded: Vec<Result<Vec<RecordBatch>>> = if parts.len() == 1 {
        vec![decode(body)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = parts
                .iter()
                .map(|part| scope.spawn(|| decode(part)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("a thread decoding CSV failed")))
                })
                .collect()
        })
    };
    let mut batches = Vec::new();
    for part in decoded {
        match part {
            Ok(part) => batches.extend(part),
            // Decoded whole, so that the error's line number counts from the file's start.
            Err(error) if parts.len() > 1 => {
                return match decode(body) {
                    Err(whole) => Err(whole),
                    Ok(_) => Err(error),
                };
            }
            Err(error) => return Err(error),
        }
    }
    if batches.is_empty() {
        batches.push(RecordBatch::new_empty(schema));
    }
    Ok(batches)
}

/// `body` in up to `parts` pieces that each end at a line end outside quotes (a quote
/// inside a quoted field is doubled, so the count of quotes before a byte says whether
/// it is inside one). Small bodies stay whole.
fn split_at_record_ends(body: &[u8], parts: usize) -> Vec<&[u8]> {
    if parts <= 1 || body.len() < (4 << 20) {
        return vec![body];
    }
    let mut pieces = Vec::with_capacity(parts);
    let (mut start, mut position, mut in_quotes) = (0, 0, false);
    for k in 1..parts {
        let target = (body.len() / parts * k).max(position);
        let quotes = body[position..target]
            .iter()
            .filter(|&&b| b == b'"')
            .count();
        in_quotes ^= quotes % 2 == 1;
        position = target;
        while position < body.len() {
            let byte = body[position];
            position += 1;
            if byte == b'"' {
                in_quotes = !in_quotes;
            } else if byte == b'\n' && !in_quotes {
                break;
            }
        }
        if position >= body.len() {
            break;
        }
        pieces.push(&body[start..position]);
        start = position;
    }
    pieces.push(&body[start..]);
    pieces
}

/// A JSON array of objects or NDJSON, types inferred from all rows; nested objects
/// become columns named with dots (`company.identifier`), the names CSV exports of the
/// same records use.
fn read_json(path: &Path) -> Result<Vec<RecordBatch>> {
    let mut text = String::new();
    File::open(path)?.read_to_string(&mut text)?;
    let values: Vec<serde_json::Value> = if text.trim_start().starts_with('[') {
        serde_json::from_str(&text).context("not a JSON array of objects")?
    } else {
        let mut values = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            values.push(
                serde_json::from_str(line)
                    .with_context(|| format!("line {} is not a JSON object", i + 1))?,
            );
        }
        values
    };
    if let Some((i, _)) = values.iter().enumerate().find(|(_, v)| !v.is_object()) {
        bail!("record {} is not a JSON object", i + 1);
    }
    let schema = arrow::json::reader::infer_json_schema_from_iterator(values.iter().map(Ok))?;
    let schema = Arc::new(schema);
    let mut batches = Vec::new();
    for chunk in values.chunks(BATCH_ROWS) {
        let mut decoder = arrow::json::ReaderBuilder::new(schema.clone())
            .with_batch_size(BATCH_ROWS)
            .build_decoder()?;
        decoder.serialize(chunk)?;
        if let Some(batch) = decoder.flush()? {
            batches.push(batch.normalize(".", None)?);
        }
    }
    if batches.is_empty() {
        batches.push(RecordBatch::new_empty(schema).normalize(".", None)?);
    }
    Ok(batches)
}

fn read_parquet(path: &Path) -> Result<Vec<RecordBatch>> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path)?)?
        .with_batch_size(BATCH_ROWS)
        .build()?;
    let schema = reader.schema();
    let mut batches = Vec::new();
    for batch in reader {
        batches.push(batch?);
    }
    if batches.is_empty() {
        batches.push(RecordBatch::new_empty(schema));
    }
    Ok(batches)
}

/// The batches with `_source_row` (and, for a folder's file, `_source_file`) added.
fn numbered(batches: Vec<RecordBatch>, file: Option<&str>) -> Result<Vec<RecordBatch>> {
    let mut next: i64 = 1;
    let mut out = Vec::with_capacity(batches.len());
    for batch in batches {
        if batch.schema().column_with_name(SOURCE_ROW).is_some() {
            bail!("a column is named '{SOURCE_ROW}', a name import reserves");
        }
        let rows = batch.num_rows() as i64;
        let mut fields: Vec<Arc<Field>> = batch.schema().fields().iter().cloned().collect();
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        fields.push(Arc::new(Field::new(SOURCE_ROW, DataType::Int64, false)));
        columns.push(Arc::new(Int64Array::from_iter_values(next..next + rows)));
        if let Some(file) = file {
            fields.push(Arc::new(Field::new(SOURCE_FILE, DataType::Utf8, false)));
            columns.push(Arc::new(StringArray::from_iter_values(
                std::iter::repeat_n(file, rows as usize),
            )));
        }
        next += rows;
        out.push(RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            columns,
        )?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_stems_or_are_given() {
        assert_eq!(
            table_name_of(Path::new("exports/Tickets Export-2026.csv")).as_deref(),
            Some("tickets_export_2026")
        );
        let spec = SourceSpec::parse("tickets=exports/Tickets Export-2026.csv").unwrap();
        assert_eq!(spec.name, "tickets");
        assert_eq!(spec.path, Path::new("exports/Tickets Export-2026.csv"));
        // A path with '=' in it is a path when what precedes is not a table name.
        let spec = SourceSpec::parse("data/a=b.csv").unwrap();
        assert_eq!(
            (spec.name.as_str(), spec.path.to_str()),
            ("a_b", Some("data/a=b.csv"))
        );
        assert!(SourceSpec::parse("t=").is_err());
    }

    #[test]
    fn csv_reads_every_column_as_text_with_awkward_but_legal_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(
            &path,
            "\u{feff}id,note,,when\r\n1,\"a, \"\"quoted\"\"\r\nline\",x,10/05/2026 02:03 PM\r\n2,,,\r\n",
        )
        .unwrap();
        let batches = numbered(read_csv(&path, 1).unwrap(), None).unwrap();
        let batch = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
        let schema = batch.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["id", "note", "column_3", "when", SOURCE_ROW]);
        let text = |c: usize, r: usize| {
            use arrow::array::{Array, AsArray};
            let column = batch.column(c).as_string::<i32>();
            (!column.is_null(r)).then(|| column.value(r).to_string())
        };
        assert_eq!(text(0, 0).as_deref(), Some("1"));
        assert_eq!(text(1, 0).as_deref(), Some("a, \"quoted\"\r\nline"));
        assert_eq!(text(3, 0).as_deref(), Some("10/05/2026 02:03 PM"));
        assert_eq!(text(1, 1), None);
        assert_eq!(text(3, 1), None);
        use arrow::array::AsArray;
        let rows = batch
            .column(4)
            .as_primitive::<arrow::datatypes::Int64Type>();
        assert_eq!(rows.values().to_vec(), [1, 2]);
    }

    #[test]
    fn a_large_csv_splits_only_at_line_ends_outside_quotes() {
        let mut text = String::from("a,b\n");
        for i in 0..400_000 {
            text.push_str(&format!("{i},\"x\n\"\"y\"\"\nz\"\n"));
        }
        let body = &text.as_bytes()[4..];
        let parts = split_at_record_ends(body, 3);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts.concat(), body);
        for part in &parts {
            assert!(part.ends_with(b"z\"\n"), "{:?}", &part[part.len() - 8..]);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.csv");
        std::fs::write(&path, &text).unwrap();
        let (one, three) = (read_csv(&path, 1).unwrap(), read_csv(&path, 3).unwrap());
        let rows = |b: &[RecordBatch]| b.iter().map(|b| b.num_rows()).sum::<usize>();
        assert_eq!((rows(&one), rows(&three)), (400_000, 400_000));
        let whole = |b: &[RecordBatch]| arrow::compute::concat_batches(&b[0].schema(), b).unwrap();
        assert_eq!(whole(&one), whole(&three));
    }

    #[test]
    fn a_registered_source_is_in_read_order_so_sorting_into_it_only_merges() {
        use datafusion::physical_plan::displayable;
        let dir = tempfile::tempdir().unwrap();
        // Two files of several batches each, over more partitions than files.
        for (name, first) in [("a.csv", 0), ("b.csv", 100_000)] {
            let mut text = String::from("id\n");
            for i in 0..20_000 {
                text.push_str(&format!("{}\n", first + i));
            }
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let spec = SourceSpec::parse(&format!("s={}", dir.path().display())).unwrap();
        let source = Source::read(&spec, 2).unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let ctx = SessionContext::new();
            source.register(&ctx, 3).unwrap();
            let frame = ctx
                .table("s")
                .await
                .unwrap()
                .sort(vec![
                    col(SOURCE_FILE).sort(true, true),
                    col(SOURCE_ROW).sort(true, true),
                ])
                .unwrap();
            let plan = frame.clone().create_physical_plan().await.unwrap();
            let shown = displayable(plan.as_ref()).indent(true).to_string();
            assert!(!shown.contains("SortExec"), "{shown}");
            assert!(shown.contains("SortPreservingMergeExec"), "{shown}");
            let batches = frame.collect().await.unwrap();
            let batch = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
            use arrow::array::AsArray;
            let ids: Vec<i64> = batch
                .column(0)
                .as_string::<i32>()
                .iter()
                .map(|id| id.unwrap().parse().unwrap())
                .collect();
            let expected: Vec<i64> = (0..20_000).chain(100_000..120_000).collect();
            assert_eq!(ids, expected);
        });
    }

    #[test]
    fn json_arrays_and_ndjson_flatten_nested_objects() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            (
                "a.json",
                r#"[{"id": 1, "company": {"identifier": "ACME"}}, {"id": 2, "company": null}]"#,
            ),
            (
                "b.ndjson",
                "{\"id\": 1, \"company\": {\"identifier\": \"ACME\"}}\n\n{\"id\": 2}\n",
            ),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            let batches = read_json(&path).unwrap();
            let schema = batches[0].schema();
            let mut names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            names.sort_unstable();
            assert_eq!(names, ["company.identifier", "id"], "{name}");
            assert_eq!(batches[0].num_rows(), 2);
        }
    }
}
