//! Deterministic synthetic help-desk history that looks like a real MSP: a few large
//! clients and a long tail, tickets mostly in local business hours with weekly
//! seasonality, skewed response and resolution times by priority, open tickets at the
//! end, time entries, surveys whose answers vary by client, and SLA targets.
//!
//! Output is streamed to Parquet in row groups while it is generated, so memory stays
//! bounded at any scale; the same options give byte-identical files.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int32Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use chrono::NaiveDate;
use chrono_tz::Tz;
use indicatif::{ProgressBar, ProgressStyle};
use mspkpi_udfs::Calendar;
use mspkpi_udfs::calendar::{civil_from_days, days_from_civil, local_to_utc};
use parquet::arrow::ArrowWriter;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Normal, Poisson};

use crate::data::schema::{self, PRIORITIES, Table};
use crate::write::StagedDir;

const MICROS_PER_MINUTE: i64 = 60_000_000;
const MICROS_PER_DAY: i64 = 86_400_000_000;
const BATCH_ROWS: usize = 65_536;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    pub clients: usize,
    pub tickets: u64,
    pub months: u32,
    pub seed: u64,
    /// First month of the history, `(year, month)`.
    pub start: (i32, u32),
    /// Also write `ticket_status` and `statuses`: each ticket's status history.
    pub status_history: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            clients: 40,
            tickets: 100_000,
            months: 24,
            seed: 42,
            start: (2024, 11),
            status_history: false,
        }
    }
}

/// Parses `YYYY-MM`.
pub fn parse_month(text: &str) -> Result<(i32, u32)> {
    let date = NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
        .with_context(|| format!("'{text}' is not a month (YYYY-MM)"))?;
    use chrono::Datelike;
    Ok((date.year(), date.month()))
}

/// What was written, for the closing message.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub clients: u64,
    pub tickets: u64,
    pub time_entries: u64,
    pub surveys: u64,
    pub sla_targets: u64,
    /// Status rows; 0 without `status_history`.
    pub ticket_status: u64,
    /// The instant the history ends (exclusive), UTC microseconds.
    pub end_micros: i64,
}

const ZONES: [(&str, &str); 10] = [
    ("America/New_York", "Mon-Fri 08:00-18:00"),
    ("America/Chicago", "Mon-Fri 08:00-17:00"),
    ("America/Los_Angeles", "Mon-Fri 07:00-17:00"),
    ("Europe/London", "Mon-Fri 09:00-17:30"),
    (
        "Europe/Berlin",
        "Mon-Thu 08:00-12:00,13:00-17:00; Fri 08:00-15:00",
    ),
    ("Europe/Paris", "Mon-Fri 09:00-18:00"),
    ("Europe/Madrid", "Mon-Fri 09:00-14:00,16:00-19:00"),
    ("Asia/Kolkata", "Mon-Sat 09:30-18:30"),
    ("Australia/Sydney", "Mon-Fri 08:30-17:30"),
    ("America/Sao_Paulo", "Mon-Fri 08:00-18:00"),
];

const NAME_STEMS: [&str; 24] = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Wonka",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Cyberdyne",
    "Tyrell",
    "Gringotts",
    "Oscorp",
    "Dunder",
    "Pied Piper",
    "Aperture",
    "Black Mesa",
    "Massive Dynamic",
    "Monarch",
    "Nakatomi",
    "Prestige",
    "Sterling",
    "Wernham",
];
const NAME_SUFFIXES: [&str; 6] = ["Corp", "GmbH", "Ltd", "LLC", "AG", "Inc"];
const CATEGORIES: [&str; 7] = [
    "network", "email", "hardware", "access", "software", "security", "printing",
];

/// Relative ticket volume per local weekday, Monday first.
const WEEKDAY_WEIGHT: [f64; 7] = [1.25, 1.1, 1.0, 1.0, 0.85, 0.12, 0.08];
/// Priority mix and lognormal medians (business minutes) of response and resolution.
const PRIORITY_SHARE: [f64; 4] = [0.03, 0.12, 0.45, 0.40];
const RESPONSE_MEDIAN: [f64; 4] = [10.0, 22.0, 60.0, 130.0];
const RESOLUTION_MEDIAN: [f64; 4] = [100.0, 220.0, 480.0, 900.0];
/// Default SLA targets: (response, resolution, business hours).
const DEFAULT_TARGETS: [(i32, i32, bool); 4] = [
    (30, 240, false),
    (60, 480, true),
    (240, 1440, true),
    (480, 2880, true),
];

struct Client {
    id: String,
    name: String,
    zone: Tz,
    calendar: Option<String>,
    parsed_calendar: Calendar,
    onboarded_day: i64,
    churned_day: Option<i64>,
    mrr: f64,
    weight: f64,
    /// 0 = unhappy, 1 = delighted; drives survey answers, speed and FCR.
    satisfaction: f64,
    speed: f64,
    first_contact_share: f64,
}

/// Column buffers of one table, flushed to Parquet every [`BATCH_ROWS`] rows.
struct TableWriter {
    table: &'static Table,
    writer: ArrowWriter<File>,
    columns: Vec<ColumnBuffer>,
    rows: usize,
    written: u64,
}

enum ColumnBuffer {
    Text(Vec<Option<String>>),
    Timestamp(Vec<Option<i64>>),
    Date(Vec<Option<i32>>),
    Int32(Vec<Option<i32>>),
    Float64(Vec<Option<f64>>),
    Boolean(Vec<Option<bool>>),
}

/// One value of a row, in the table's column order.
enum Value {
    Text(Option<String>),
    Timestamp(Option<i64>),
    Date(Option<i32>),
    Int32(Option<i32>),
    Float64(Option<f64>),
    Boolean(Option<bool>),
}

impl TableWriter {
    fn create(folder: &Path, table: &'static Table) -> Result<Self> {
        Self::create_sorted_by(folder, table, &[])
    }

    /// A writer whose rows come in ascending order of the columns named `sorted_by`,
    /// which the file records.
    fn create_sorted_by(folder: &Path, table: &'static Table, sorted_by: &[&str]) -> Result<Self> {
        let sorted_by = sorted_by
            .iter()
            .map(|name| {
                table
                    .columns
                    .iter()
                    .position(|c| c.name == *name)
                    .with_context(|| format!("generator bug: {} has no column {name}", table.name))
            })
            .collect::<Result<Vec<usize>>>()?;
        let dir = folder.join(table.name);
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join("part-0.parquet");
        let file =
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        let writer = ArrowWriter::try_new(
            file,
            table.schema(),
            Some(crate::write::table_properties_sorted_by(&sorted_by)?),
        )?;
        let columns = table
            .columns
            .iter()
            .map(|c| match c.kind {
                schema::Kind::Text => ColumnBuffer::Text(Vec::new()),
                schema::Kind::Timestamp => ColumnBuffer::Timestamp(Vec::new()),
                schema::Kind::Date => ColumnBuffer::Date(Vec::new()),
                schema::Kind::Int32 => ColumnBuffer::Int32(Vec::new()),
                schema::Kind::Float64 => ColumnBuffer::Float64(Vec::new()),
                schema::Kind::Boolean => ColumnBuffer::Boolean(Vec::new()),
            })
            .collect();
        Ok(Self {
            table,
            writer,
            columns,
            rows: 0,
            written: 0,
        })
    }

    fn push(&mut self, row: Vec<Value>) -> Result<()> {
        for (column, value) in self.columns.iter_mut().zip(row) {
            match (column, value) {
                (ColumnBuffer::Text(c), Value::Text(v)) => c.push(v),
                (ColumnBuffer::Timestamp(c), Value::Timestamp(v)) => c.push(v),
                (ColumnBuffer::Date(c), Value::Date(v)) => c.push(v),
                (ColumnBuffer::Int32(c), Value::Int32(v)) => c.push(v),
                (ColumnBuffer::Float64(c), Value::Float64(v)) => c.push(v),
                (ColumnBuffer::Boolean(c), Value::Boolean(v)) => c.push(v),
                _ => bail!(
                    "generator bug: a value does not match its column in {}",
                    self.table.name
                ),
            }
        }
        self.rows += 1;
        if self.rows >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|column| -> ArrayRef {
                match column {
                    ColumnBuffer::Text(c) => Arc::new(StringArray::from(std::mem::take(c))),
                    ColumnBuffer::Timestamp(c) => Arc::new(
                        TimestampMicrosecondArray::from(std::mem::take(c)).with_timezone("UTC"),
                    ),
                    ColumnBuffer::Date(c) => Arc::new(Date32Array::from(std::mem::take(c))),
                    ColumnBuffer::Int32(c) => Arc::new(Int32Array::from(std::mem::take(c))),
                    ColumnBuffer::Float64(c) => Arc::new(Float64Array::from(std::mem::take(c))),
                    ColumnBuffer::Boolean(c) => Arc::new(BooleanArray::from(std::mem::take(c))),
                }
            })
            .collect();
        let batch = RecordBatch::try_new(self.table.schema(), arrays)?;
        self.writer.write(&batch)?;
        self.written += self.rows as u64;
        self.rows = 0;
        Ok(())
    }

    fn finish(mut self) -> Result<u64> {
        self.flush()?;
        self.writer.close()?;
        Ok(self.written)
    }
}

fn text(s: impl Into<String>) -> Value {
    Value::Text(Some(s.into()))
}

/// Picks an index with probability proportional to `weights`.
fn pick(rng: &mut ChaCha8Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

fn lognormal(median: f64, sigma: f64) -> Result<LogNormal<f64>> {
    LogNormal::new(median.ln(), sigma).context("invalid lognormal parameters")
}

/// Generates the history into `out` (one folder per table), replacing those folders.
pub fn generate(out: &Path, options: &Options) -> Result<Summary> {
    if options.clients == 0 {
        bail!("--clients must be at least 1");
    }
    if options.months == 0 {
        bail!("--months must be at least 1");
    }
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let staged = StagedDir::new(&out.join(".generate"))?;
    let summary = write_tables(staged.path(), options)?;
    // Swap each table folder in; the staged folder itself is then empty. A status
    // history left by an earlier run would not match the new tickets: it goes.
    for table in &schema::TABLES {
        let from = staged.path().join(table.name);
        let to: PathBuf = out.join(table.name);
        if !from.exists() {
            if to.exists() {
                fs::remove_dir_all(&to)
                    .with_context(|| format!("cannot remove {}", to.display()))?;
            }
            continue;
        }
        let table_dir = StagedDir::new(&to)?;
        fs::remove_dir_all(table_dir.path())?;
        fs::rename(&from, table_dir.path())
            .with_context(|| format!("cannot move {} into place", from.display()))?;
        table_dir.commit()?;
    }
    drop(staged);
    Ok(summary)
}

fn write_tables(folder: &Path, options: &Options) -> Result<Summary> {
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let (start_year, start_month) = options.start;
    let start_day = days_from_civil(start_year as i64, start_month, 1);
    let month_start = |i: u32| -> i64 {
        let m = start_month as i64 - 1 + i as i64;
        days_from_civil(
            start_year as i64 + m.div_euclid(12),
            m.rem_euclid(12) as u32 + 1,
            1,
        )
    };
    let end_day = month_start(options.months);
    let end = end_day * MICROS_PER_DAY;
    let clients = make_clients(&mut rng, options, start_day, end_day)?;

    let mut writers: Vec<TableWriter> = schema::required_tables()
        .map(|t| TableWriter::create(folder, t))
        .collect::<Result<_>>()?;
    // The histories draw from a stream of their own, so that the other tables come
    // out byte-identical with or without them.
    let mut histories = match options.status_history {
        true => Some(StatusHistories::create(folder, options.seed)?),
        false => None,
    };
    let [tickets_w, time_w, surveys_w, clients_w, targets_w] = &mut writers[..] else {
        bail!("generator bug: five tables expected");
    };

    for c in &clients {
        clients_w.push(vec![
            text(&c.id),
            text(&c.name),
            text(c.zone.name()),
            Value::Text(c.calendar.clone()),
            Value::Date(Some(c.onboarded_day as i32)),
            Value::Date(c.churned_day.map(|d| d as i32)),
            Value::Float64(Some(c.mrr)),
        ])?;
    }
    for (p, &(response, resolution, business_hours)) in DEFAULT_TARGETS.iter().enumerate() {
        targets_w.push(vec![
            Value::Text(None),
            text(PRIORITIES[p]),
            Value::Int32(Some(response)),
            Value::Int32(Some(resolution)),
            Value::Boolean(Some(business_hours)),
        ])?;
    }
    // Premium contracts: every seventh client has tighter P2 and P3 targets.
    for c in clients.iter().step_by(7) {
        for p in [1, 2] {
            let (response, resolution, business_hours) = DEFAULT_TARGETS[p];
            targets_w.push(vec![
                text(&c.id),
                text(PRIORITIES[p]),
                Value::Int32(Some(response / 2)),
                Value::Int32(Some(resolution / 2)),
                Value::Boolean(Some(business_hours)),
            ])?;
        }
    }

    // Tickets per client per active day, so the total comes out near the request.
    let active_days = |c: &Client| -> f64 {
        let from = c.onboarded_day.max(start_day);
        let to = c.churned_day.unwrap_or(end_day).min(end_day);
        (to - from).max(0) as f64
    };
    let capacity: f64 = clients.iter().map(|c| c.weight * active_days(c)).sum();
    let per_weight_day = if capacity > 0.0 {
        options.tickets as f64 / capacity
    } else {
        0.0
    };

    let technicians = (options.tickets / 50_000).clamp(8, 200) as usize;
    let progress = ProgressBar::new(options.tickets).with_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {human_pos}/{human_len} tickets ({eta})")
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    );
    progress.set_message("generating");

    let hour_in_business: Normal<f64> = Normal::new(13.0, 2.6).context("normal")?;
    let entry_minutes = lognormal(22.0, 0.9)?;
    let extra_entries = Poisson::new(0.8).context("poisson")?;
    let close_delay = lognormal(18.0 * 60.0, 1.0)?;
    let survey_delay = lognormal(20.0 * 60.0, 0.8)?;
    let response_dists: Vec<LogNormal<f64>> = RESPONSE_MEDIAN
        .iter()
        .map(|&m| lognormal(m, 0.9))
        .collect::<Result<_>>()?;
    let resolution_dists: Vec<LogNormal<f64>> = RESOLUTION_MEDIAN
        .iter()
        .map(|&m| lognormal(m, 1.0))
        .collect::<Result<_>>()?;
    let twenty_four_seven = Calendar::parse("24x7")?;

    let mut ticket_seq = 0u64;
    let mut survey_seq = 0u64;
    for month in 0..options.months {
        let (first, last) = (month_start(month), month_start(month + 1));
        let day_weights: Vec<f64> = (first..last)
            .map(|d| WEEKDAY_WEIGHT[(d + 3).rem_euclid(7) as usize])
            .collect();
        for c in &clients {
            let from = c.onboarded_day.max(first);
            let to = c.churned_day.unwrap_or(last).min(last);
            if to <= from {
                continue;
            }
            let expected = per_weight_day * c.weight * (to - from) as f64;
            let count = if expected > 0.0 {
                Poisson::new(expected).context("poisson")?.sample(&mut rng) as u64
            } else {
                0
            };
            let weights = &day_weights[(from - first) as usize..(to - first) as usize];
            for _ in 0..count {
                ticket_seq += 1;
                let day = from + pick(&mut rng, weights) as i64;
                // Most tickets arrive in local business hours, the rest around the clock.
                let local_minute = if rng.random::<f64>() < 0.85 {
                    (hour_in_business.sample(&mut rng).clamp(7.0, 19.9) * 60.0) as i64
                } else {
                    rng.random_range(0..1440)
                };
                let local = day * MICROS_PER_DAY
                    + local_minute * MICROS_PER_MINUTE
                    + rng.random_range(0..MICROS_PER_MINUTE);
                let created = local_to_utc(c.zone, local);
                let p = pick(&mut rng, &PRIORITY_SHARE);
                let (_, _, business_hours) = DEFAULT_TARGETS[p];
                let clock = if business_hours {
                    &c.parsed_calendar
                } else {
                    &twenty_four_seven
                };
                let response_minutes = response_dists[p].sample(&mut rng) * c.speed;
                let resolution_minutes =
                    response_minutes + resolution_dists[p].sample(&mut rng) * c.speed;
                let responded = clock.deadline(created, (response_minutes * 60e6) as i64)?;
                let mut resolved = clock.deadline(created, (resolution_minutes * 60e6) as i64)?;
                // A few tickets stall and are never resolved.
                if rng.random::<f64>() < 0.004 {
                    resolved = i64::MAX;
                }
                let closed = resolved.saturating_add((close_delay.sample(&mut rng) * 60e6) as i64);
                let known = |t: i64| (t < end).then_some(t);
                let (first_response_at, resolved_at, closed_at) =
                    (known(responded), known(resolved), known(closed));
                let contacts = resolved_at.map(|_| {
                    if rng.random::<f64>() < c.first_contact_share {
                        1
                    } else {
                        2 + (rng.random::<f64>().ln() / 0.5f64.ln()).floor() as i32
                    }
                });
                let ticket_id = format!("T{ticket_seq:09}");
                if let Some(histories) = &mut histories {
                    let times = TicketTimes {
                        created,
                        responded: first_response_at,
                        resolved: resolved_at,
                        closed: closed_at,
                        end,
                    };
                    histories.write(&ticket_id, &times)?;
                }
                let technician = rng.random_range(0..technicians);
                tickets_w.push(vec![
                    text(&ticket_id),
                    text(&c.id),
                    text(format!("tech-{technician:03}")),
                    text(PRIORITIES[p]),
                    if rng.random::<f64>() < 0.03 {
                        Value::Text(None)
                    } else {
                        text(CATEGORIES[rng.random_range(0..CATEGORIES.len())])
                    },
                    Value::Timestamp(Some(created)),
                    Value::Timestamp(first_response_at),
                    Value::Timestamp(resolved_at),
                    Value::Timestamp(closed_at),
                    Value::Int32(contacts),
                ])?;
                // Time entries while the ticket is worked, by its technician and at times
                // a colleague.
                let work_end = resolved_at.unwrap_or(end).max(created + MICROS_PER_MINUTE);
                let entries = 1 + extra_entries.sample(&mut rng) as usize;
                for e in 0..entries {
                    let started = rng.random_range(created..work_end);
                    if started >= end {
                        continue;
                    }
                    let who = if e == 0 {
                        technician
                    } else {
                        rng.random_range(0..technicians)
                    };
                    let minutes = (entry_minutes.sample(&mut rng) * (1.6 - 0.2 * p as f64)).round();
                    time_w.push(vec![
                        text(&ticket_id),
                        text(format!("tech-{who:03}")),
                        Value::Timestamp(Some(started)),
                        Value::Float64(Some(minutes.max(1.0))),
                    ])?;
                }
                // About one resolved ticket in five gets a survey answer.
                if let Some(resolved_at) = resolved_at
                    && rng.random::<f64>() < 0.2
                {
                    let submitted = resolved_at + (survey_delay.sample(&mut rng) * 60e6) as i64;
                    if submitted < end {
                        survey_seq += 1;
                        let nps = rng.random::<bool>();
                        let noise: f64 = rng.random::<f64>() + rng.random::<f64>() - 1.0;
                        let score = if nps {
                            (6.8 + 3.2 * c.satisfaction + 3.0 * noise)
                                .round()
                                .clamp(0.0, 10.0)
                        } else {
                            (3.4 + 1.6 * c.satisfaction + 1.4 * noise)
                                .round()
                                .clamp(1.0, 5.0)
                        } as i32;
                        surveys_w.push(vec![
                            text(format!("S{survey_seq:09}")),
                            text(&c.id),
                            text(&ticket_id),
                            Value::Timestamp(Some(submitted)),
                            text(if nps { "nps" } else { "csat" }),
                            Value::Int32(Some(score)),
                        ])?;
                    }
                }
                if ticket_seq.is_multiple_of(4096) {
                    progress.set_position(ticket_seq);
                }
            }
        }
    }
    progress.finish_and_clear();

    let ticket_status = match histories {
        Some(histories) => histories.finish()?,
        None => 0,
    };
    let mut counts = writers.into_iter().map(TableWriter::finish);
    let mut next = || counts.next().unwrap_or(Ok(0));
    Ok(Summary {
        tickets: next()?,
        time_entries: next()?,
        surveys: next()?,
        clients: next()?,
        sla_targets: next()?,
        ticket_status,
        end_micros: end,
    })
}

/// The statuses of the generated histories: name and kind.
pub const STATUSES: [(&str, &str); 6] = [
    ("New", "open"),
    ("In Progress", "open"),
    ("Waiting on Customer", "paused"),
    ("Reopened", "open"),
    ("Resolved", "resolved"),
    ("Closed", "closed"),
];

/// A ticket's known instants (`None`: not by the end of the history).
struct TicketTimes {
    created: i64,
    responded: Option<i64>,
    resolved: Option<i64>,
    closed: Option<i64>,
    /// The end of the history (exclusive).
    end: i64,
}

/// Writes `ticket_status` and `statuses`: new → in progress → at times waiting on the
/// customer for hours to days → resolved → closed, a few tickets reopened in between,
/// agreeing with the tickets' own timestamps.
struct StatusHistories {
    rng: ChaCha8Rng,
    rows: TableWriter,
    statuses: TableWriter,
    wait: LogNormal<f64>,
    reopen_delay: LogNormal<f64>,
    history: Vec<(i64, &'static str)>,
}

impl StatusHistories {
    fn create(folder: &Path, seed: u64) -> Result<Self> {
        let table = |name: &str| {
            schema::table(name).with_context(|| format!("generator bug: no table {name}"))
        };
        Ok(Self {
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5354_4154_5553_4849),
            // ticket by ticket (ids grow with the tickets), each in time order
            rows: TableWriter::create_sorted_by(
                folder,
                table(schema::TICKET_STATUS)?,
                &["ticket_id", "changed_at"],
            )?,
            statuses: TableWriter::create(folder, table(schema::STATUSES)?)?,
            wait: lognormal(8.0 * 60.0, 1.1)?,
            reopen_delay: lognormal(6.0 * 60.0, 1.0)?,
            history: Vec::new(),
        })
    }

    /// Adds a status at `at`, after the ones before: one at the same instant replaces
    /// the previous status, so no ticket has two statuses at once.
    fn enter(&mut self, at: i64, status: &'static str) {
        match self.history.last_mut() {
            Some(last) if last.0 == at => last.1 = status,
            Some(last) if last.0 > at => {}
            _ => self.history.push((at, status)),
        }
    }

    fn write(&mut self, ticket_id: &str, t: &TicketTimes) -> Result<()> {
        self.history.clear();
        self.enter(t.created, "New");
        if let Some(responded) = t.responded {
            self.enter(responded, "In Progress");
        }
        // About one ticket in four waits on the customer once, after the response.
        let worked_from = t.responded.unwrap_or(t.created);
        let worked_until = t.resolved.unwrap_or(t.end);
        let wait_draw: f64 = self.rng.random();
        let wait_minutes = self.wait.sample(&mut self.rng);
        if wait_draw < 0.25 && worked_until - worked_from > 2 * 60 * MICROS_PER_MINUTE {
            let span = worked_until - worked_from;
            let start = worked_from + (span as f64 * self.rng.random_range(0.1..0.6)) as i64;
            let back = start + (wait_minutes * MICROS_PER_MINUTE as f64) as i64;
            self.enter(start, "Waiting on Customer");
            match t.resolved {
                // Back to work before the resolution, or waiting until it.
                Some(resolved) if back < resolved => self.enter(back, "In Progress"),
                Some(_) => {}
                // Still waiting when the history ends, or back before.
                None if back < t.end => self.enter(back, "In Progress"),
                None => {}
            }
        }
        if let Some(resolved) = t.resolved {
            self.enter(resolved, "Resolved");
            // A few resolved tickets come back before they are closed.
            let reopen_draw: f64 = self.rng.random();
            let delay = (self.reopen_delay.sample(&mut self.rng) * MICROS_PER_MINUTE as f64) as i64;
            let limit = t.closed.unwrap_or(t.end);
            let reopened = resolved + delay.max(MICROS_PER_MINUTE);
            if reopen_draw < 0.04 && reopened < limit {
                self.enter(reopened, "Reopened");
                let again = reopened + (limit - reopened) / 2;
                if again > reopened {
                    self.enter(again, "Resolved");
                }
            }
        }
        if let Some(closed) = t.closed {
            self.enter(closed, "Closed");
        }
        for i in 0..self.history.len() {
            let (at, status) = self.history[i];
            self.rows.push(vec![
                text(ticket_id),
                text(status),
                Value::Timestamp(Some(at)),
            ])?;
        }
        Ok(())
    }

    /// Writes the statuses and closes both tables; returns the status rows written.
    fn finish(mut self) -> Result<u64> {
        for (status, kind) in STATUSES {
            self.statuses.push(vec![text(status), text(kind)])?;
        }
        self.statuses.finish()?;
        self.rows.finish()
    }
}

fn make_clients(
    rng: &mut ChaCha8Rng,
    options: &Options,
    start_day: i64,
    end_day: i64,
) -> Result<Vec<Client>> {
    let window = end_day - start_day;
    let years: Vec<i64> = {
        let (first, _, _) = civil_from_days(start_day);
        let (last, _, _) = civil_from_days(end_day);
        (first..=last).collect()
    };
    let size: LogNormal<f64> = LogNormal::new(0.0, 1.0).context("lognormal")?;
    (0..options.clients)
        .map(|i| {
            // Zipf-like sizes: a few large clients, a long tail.
            let weight = 1.0 / ((i + 1) as f64).powf(0.9) * size.sample(rng).clamp(0.3, 3.0);
            let (zone_name, hours) = ZONES[rng.random_range(0..ZONES.len())];
            let zone: Tz = zone_name.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
            let holidays: Vec<String> = years
                .iter()
                .flat_map(|y| [format!("{y}-01-01"), format!("{y}-12-25")])
                .collect();
            let spec = format!("{hours} {zone_name} holidays {}", holidays.join(","));
            let parsed_calendar = Calendar::parse(&spec)?;
            // One client in eight has no calendar on file (reported as 24x7).
            let calendar = (rng.random::<f64>() >= 0.125).then_some(spec);
            // Most clients predate the window; some are onboarded during it.
            let onboarded_day = if rng.random::<f64>() < 0.8 {
                start_day - rng.random_range(30..2000)
            } else {
                start_day + rng.random_range(0..window.max(1))
            };
            let churned_day = (rng.random::<f64>() < 0.15)
                .then(|| rng.random_range(start_day..end_day))
                .filter(|&d| d > onboarded_day + 30);
            let stem = NAME_STEMS[i % NAME_STEMS.len()];
            let suffix = NAME_SUFFIXES[(i / NAME_STEMS.len()) % NAME_SUFFIXES.len()];
            let round = i / (NAME_STEMS.len() * NAME_SUFFIXES.len());
            let name = if round == 0 {
                format!("{stem} {suffix}")
            } else {
                format!("{stem} {suffix} {}", round + 1)
            };
            let satisfaction: f64 = rng.random();
            Ok(Client {
                id: format!("C{:04}", i + 1),
                name,
                zone,
                calendar,
                parsed_calendar,
                onboarded_day,
                churned_day,
                mrr: ((300.0 + 2500.0 * weight * rng.random_range(0.7..1.3)) * 100.0).round()
                    / 100.0,
                weight,
                satisfaction,
                speed: 1.3 - 0.7 * satisfaction + rng.random_range(-0.1..0.1),
                first_contact_share: 0.55 + 0.35 * satisfaction,
            })
        })
        .collect()
}
