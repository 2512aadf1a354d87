//! The canonical Arrow schemas of the tables (five required, two optional): the only place their columns are
//! spelled out. The generator writes them, the catalog checks and casts files to them,
//! `validate` checks data against them, and the README documents them.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

pub const TICKETS: &str = "tickets";
pub const TIME_ENTRIES: &str = "time_entries";
pub const SURVEYS: &str = "surveys";
pub const CLIENTS: &str = "clients";
pub const SLA_TARGETS: &str = "sla_targets";
pub const TICKET_STATUS: &str = "ticket_status";
pub const STATUSES: &str = "statuses";

/// The priorities tickets carry, most urgent first.
pub const PRIORITIES: [&str; 4] = ["P1", "P2", "P3", "P4"];

/// The kinds of survey answer (`surveys.kind`).
pub const SURVEY_KINDS: [&str; 2] = ["nps", "csat"];

/// The kinds of status (`statuses.kind`): what a status means for the SLA clocks.
pub const STATUS_KINDS: [&str; 4] = ["open", "paused", "resolved", "closed"];

/// The values a text column may hold, where they are a fixed set.
pub fn allowed_values(table: &str, column: &str) -> Option<&'static [&'static str]> {
    match (table, column) {
        (TICKETS | SLA_TARGETS, "priority") => Some(&PRIORITIES),
        (SURVEYS, "kind") => Some(&SURVEY_KINDS),
        (STATUSES, "kind") => Some(&STATUS_KINDS),
        _ => None,
    }
}

/// A UTC instant as every table stores it.
pub fn timestamp() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// One column: its name, type, whether it may be NULL, and what it means (for the
/// README and `validate`).
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub nullable: bool,
    pub meaning: &'static str,
}

/// The logical kinds of the canonical columns; each has one Arrow type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Timestamp,
    Date,
    Int32,
    Float64,
    Boolean,
}

impl Kind {
    pub fn data_type(self) -> DataType {
        match self {
            Kind::Text => DataType::Utf8,
            Kind::Timestamp => timestamp(),
            Kind::Date => DataType::Date32,
            Kind::Int32 => DataType::Int32,
            Kind::Float64 => DataType::Float64,
            Kind::Boolean => DataType::Boolean,
        }
    }

    /// How the README names the type.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Text => "Utf8",
            Kind::Timestamp => "Timestamp(µs, UTC)",
            Kind::Date => "Date32",
            Kind::Int32 => "Int32",
            Kind::Float64 => "Float64",
            Kind::Boolean => "Boolean",
        }
    }
}

/// A canonical table.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    pub meaning: &'static str,
    pub columns: &'static [Column],
    /// Columns a file may leave out: a table without one reads it as NULL.
    pub optional_columns: &'static [Column],
    /// The column that identifies a row, if any (unique).
    pub key: Option<&'static str>,
    /// Whether a data directory must have it.
    pub required: bool,
}

const fn col(name: &'static str, kind: Kind, nullable: bool, meaning: &'static str) -> Column {
    Column {
        name,
        kind,
        nullable,
        meaning,
    }
}

use Kind::*;

pub const TABLES: [Table; 7] = [
    Table {
        name: TICKETS,
        meaning: "one row per ticket; NULL times mean \"not yet\"",
        key: Some("ticket_id"),
        required: true,
        optional_columns: &[],
        columns: &[
            col("ticket_id", Text, false, "unique ticket id"),
            col("client_id", Text, false, "the client (`clients.client_id`)"),
            col("technician_id", Text, true, "the assigned technician"),
            col("priority", Text, false, "`P1` (most urgent) .. `P4`"),
            col("category", Text, true, "free-form category, e.g. `network`"),
            col("created_at", Timestamp, false, "when the ticket was opened"),
            col(
                "first_response_at",
                Timestamp,
                true,
                "first response to the customer",
            ),
            col("resolved_at", Timestamp, true, "when it was resolved"),
            col("closed_at", Timestamp, true, "when it was closed"),
            col(
                "contacts",
                Int32,
                true,
                "customer contacts until resolution; 1 = resolved on first contact",
            ),
        ],
    },
    Table {
        name: TIME_ENTRIES,
        meaning: "technician time worked on tickets",
        key: None,
        required: true,
        optional_columns: &[],
        columns: &[
            col("ticket_id", Text, false, "the ticket (`tickets.ticket_id`)"),
            col("technician_id", Text, false, "who worked"),
            col("started_at", Timestamp, false, "when the work started"),
            col("minutes", Float64, false, "minutes worked (≥ 0)"),
        ],
    },
    Table {
        name: SURVEYS,
        meaning: "survey answers",
        key: Some("survey_id"),
        required: true,
        optional_columns: &[],
        columns: &[
            col("survey_id", Text, false, "unique answer id"),
            col("client_id", Text, false, "the client"),
            col("ticket_id", Text, true, "the ticket it is about, if any"),
            col("submitted_at", Timestamp, false, "when it was answered"),
            col("kind", Text, false, "`nps` or `csat`"),
            col("score", Int32, false, "0..10 for nps, 1..5 for csat"),
        ],
    },
    Table {
        name: CLIENTS,
        meaning: "one row per client",
        key: Some("client_id"),
        required: true,
        optional_columns: &[col(
            "sla_goal_percent",
            Float64,
            true,
            "optional column: the share of tickets the SLA promises to meet (0-100); NULL or no column = 95",
        )],
        columns: &[
            col("client_id", Text, false, "unique client id"),
            col("name", Text, false, "display name"),
            col(
                "timezone",
                Text,
                false,
                "IANA zone, e.g. `Europe/Berlin`; periods are local months of this zone",
            ),
            col(
                "calendar",
                Text,
                true,
                "business-hours spec, e.g. `Mon-Fri 08:00-18:00 Europe/Berlin holidays 2026-12-25`; NULL = 24x7",
            ),
            col("onboarded_on", Date, false, "first day as a client"),
            col(
                "churned_on",
                Date,
                true,
                "day the client left; NULL = still a client",
            ),
            col("mrr", Float64, false, "monthly recurring revenue (≥ 0)"),
        ],
    },
    Table {
        name: SLA_TARGETS,
        meaning: "SLA promised per priority, optionally per client",
        key: None,
        required: true,
        optional_columns: &[],
        columns: &[
            col(
                "client_id",
                Text,
                true,
                "the client; NULL = default for all clients",
            ),
            col("priority", Text, false, "`P1`..`P4`"),
            col(
                "response_minutes",
                Int32,
                false,
                "first-response target in minutes",
            ),
            col(
                "resolution_minutes",
                Int32,
                false,
                "resolution target in minutes",
            ),
            col(
                "business_hours",
                Boolean,
                false,
                "true = minutes count in the client's calendar, false = wall clock",
            ),
        ],
    },
    Table {
        name: TICKET_STATUS,
        meaning: "optional: each ticket's status history; the SLA clocks stop while a ticket is in a status of kind `paused`",
        key: None,
        required: false,
        optional_columns: &[],
        columns: &[
            col("ticket_id", Text, false, "the ticket (`tickets.ticket_id`)"),
            col(
                "status",
                Text,
                false,
                "the status entered (`statuses.status`)",
            ),
            col(
                "changed_at",
                Timestamp,
                false,
                "when the ticket entered it; it stays there until its next row",
            ),
        ],
    },
    Table {
        name: STATUSES,
        meaning: "optional, required with `ticket_status`: what each status means for the SLA clocks",
        key: Some("status"),
        required: false,
        optional_columns: &[],
        columns: &[
            col(
                "status",
                Text,
                false,
                "unique status name, as `ticket_status` spells it",
            ),
            col(
                "kind",
                Text,
                false,
                "`open`, `paused` (the SLA clocks stop: waiting on the customer), `resolved` or `closed`",
            ),
        ],
    },
];

/// The tables a data directory must have.
pub fn required_tables() -> impl Iterator<Item = &'static Table> {
    TABLES.iter().filter(|t| t.required)
}

pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

impl Table {
    /// The required columns: what the generator writes and every file must have.
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|c| Field::new(c.name, c.kind.data_type(), c.nullable))
                .collect::<Vec<_>>(),
        ))
    }

    /// A required or optional column by name.
    pub fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns
            .iter()
            .chain(self.optional_columns)
            .find(|c| c.name == name)
    }

    /// The README's table of this table's columns.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "#### `{}`: {}\n\n| column | type | NULL? | meaning |\n|---|---|---|---|\n",
            self.name, self.meaning
        );
        for c in self.columns.iter().chain(self.optional_columns) {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                c.name,
                c.kind.label(),
                if c.nullable { "yes" } else { "no" },
                c.meaning
            ));
        }
        out
    }
}

/// What a report says of a KPI that needs the optional `table` when the data has
/// none: "no status history".
pub fn absent_sentence(table: &str) -> String {
    match table {
        TICKET_STATUS => "no status history".to_string(),
        other => format!("no {other} table"),
    }
}
