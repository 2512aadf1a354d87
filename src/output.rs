//! Writers for `mspkpi sql`: an aligned table for the terminal, CSV, JSON, NDJSON and
//! Parquet. Everything but the table streams batch by batch, so a large result runs in
//! bounded memory; a file is written under a temporary name and renamed when complete.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::util::display::FormatOptions;
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::StreamExt;
use parquet::arrow::ArrowWriter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
    Ndjson,
    Parquet,
}

/// Where output goes: stdout, or a file written atomically.
pub struct Destination {
    file: Option<(PathBuf, PathBuf)>,
    writer: Box<dyn Write + Send>,
}

impl Destination {
    pub fn open(path: Option<&Path>) -> Result<Self> {
        match path {
            None => Ok(Self {
                file: None,
                writer: Box::new(BufWriter::new(std::io::stdout())),
            }),
            Some(path) => {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "out".into());
                let temporary = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
                let file = File::create(&temporary)
                    .with_context(|| format!("cannot create {}", temporary.display()))?;
                Ok(Self {
                    file: Some((temporary, path.to_path_buf())),
                    writer: Box::new(BufWriter::new(file)),
                })
            }
        }
    }

    fn finish(mut self) -> Result<()> {
        self.writer.flush()?;
        drop(std::mem::replace(
            &mut self.writer,
            Box::new(std::io::sink()),
        ));
        if let Some((temporary, path)) = self.file.take() {
            std::fs::rename(&temporary, &path)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(())
    }
}

impl Drop for Destination {
    fn drop(&mut self) {
        if let Some((temporary, _)) = &self.file {
            let _ = std::fs::remove_file(temporary);
        }
    }
}

/// Writes a result stream; returns the number of rows.
pub async fn write(
    mut stream: SendableRecordBatchStream,
    format: OutputFormat,
    destination: Destination,
    max_table_rows: usize,
) -> Result<usize> {
    let schema = stream.schema();
    let mut destination = destination;
    let mut rows = 0;
    match format {
        OutputFormat::Table => {
            let mut shown: Vec<RecordBatch> = Vec::new();
            let mut shown_rows = 0;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows();
                if shown_rows < max_table_rows {
                    let take = (max_table_rows - shown_rows).min(batch.num_rows());
                    shown.push(batch.slice(0, take));
                    shown_rows += take;
                }
            }
            write_table(&mut destination.writer, &schema, &shown)?;
            let more = rows - shown_rows;
            if more > 0 {
                writeln!(
                    destination.writer,
                    "... {more} more rows ({rows} in all; use --format csv or --output to get them all)"
                )?;
            } else {
                writeln!(
                    destination.writer,
                    "{rows} row{}",
                    if rows == 1 { "" } else { "s" }
                )?;
            }
        }
        OutputFormat::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut destination.writer);
            let mut any = false;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows();
                writer.write(&batch)?;
                any = true;
            }
            if !any {
                writer.write(&RecordBatch::new_empty(schema.clone()))?;
            }
        }
        OutputFormat::Json => {
            let mut writer = arrow::json::ArrayWriter::new(&mut destination.writer);
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows();
                writer.write(&batch)?;
            }
            writer.finish()?;
            if rows == 0 {
                write!(destination.writer, "[]")?;
            }
            writeln!(destination.writer)?;
        }
        OutputFormat::Ndjson => {
            let mut writer = arrow::json::LineDelimitedWriter::new(&mut destination.writer);
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows();
                writer.write(&batch)?;
            }
            writer.finish()?;
        }
        OutputFormat::Parquet => {
            if destination.file.is_none() {
                bail!("--format parquet needs --output FILE");
            }
            let mut writer = ArrowWriter::try_new(&mut destination.writer, schema.clone(), None)?;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows();
                writer.write(&batch)?;
            }
            writer.close()?;
        }
    }
    destination.finish()?;
    Ok(rows)
}

fn write_table(out: &mut dyn Write, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<()> {
    let options = FormatOptions::default().with_null("NULL");
    let batches: Vec<RecordBatch> = if batches.is_empty() {
        vec![RecordBatch::new_empty(schema.clone())]
    } else {
        batches.to_vec()
    };
    let table = arrow::util::pretty::pretty_format_batches_with_options(&batches, &options)?;
    writeln!(out, "{table}")?;
    Ok(())
}
