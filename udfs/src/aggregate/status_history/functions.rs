//! The four status-history functions and what they read from a history.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

use arrow::array::{ArrayRef, ListArray, StructArray, TimestampMicrosecondArray};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field, Fields};
use datafusion_common::{Result, internal_err};
use datafusion_expr::{Documentation, Signature, Volatility};
use datafusion_macros::user_doc;

use super::framework::{StatusAggregate, StatusFunction};
use super::kind::StatusKind;
use super::store::{Effective, Histories};
use crate::args::utc_micros_type;
use crate::pauses::{OPEN, pause_fields, pauses_type};

pub(super) fn timestamps(values: impl IntoIterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from_iter(values).with_timezone("UTC"))
}

/// Each group's pauses as a list of `{start, end}` structs (the type of
/// [`pauses_type`]); NULL for a group without rows, and with `none_as_null` also for a
/// group that never paused.
pub(super) fn pause_lists(histories: &Histories, none_as_null: bool) -> Result<ListArray> {
    let mut lengths = Vec::with_capacity(histories.len());
    let mut valid = Vec::with_capacity(histories.len());
    let (mut starts, mut ends) = (Vec::new(), Vec::new());
    for history in histories.iter() {
        let pauses = history.map(pauses_of).unwrap_or_default();
        lengths.push(pauses.len());
        valid.push(history.is_some() && !(none_as_null && pauses.is_empty()));
        for (start, end) in pauses {
            starts.push(Some(start));
            ends.push((end != OPEN).then_some(end));
        }
    }
    let structs = StructArray::try_new(
        pause_fields(),
        vec![timestamps(starts), timestamps(ends)],
        None,
    )?;
    let DataType::List(field) = pauses_type() else {
        return internal_err!("the pauses type is a list");
    };
    Ok(ListArray::try_new(
        field,
        OffsetBuffer::from_lengths(lengths),
        Arc::new(structs),
        Some(NullBuffer::from(valid)),
    )?)
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

#[user_doc(
    doc_section(label = "MSP KPI Functions"),
    description = "What a ticket's status history means for its SLA clocks and KPIs, read in one pass: a struct of pauses (as sla_pauses, but NULL when the ticket never paused, which the pauses arguments read as none), first_resolved_at (as first_resolved_at) and first_reopened_at (as first_reopened_at). One aggregate where the three would each collect and sort the rows again. Rows are read as by sla_pauses; a group without rows gives NULL.",
    syntax_example = "status_summary(changed_at, status, kind)",
    sql_example = r#"```sql
> SELECT ticket_id, s['pauses'] AS pauses, s['first_reopened_at'] AS reopened
  FROM (SELECT ticket_id, status_summary(changed_at, ts.status, s.kind) AS s
        FROM ticket_status ts JOIN statuses s ON s.status = ts.status
        GROUP BY ticket_id);
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
pub struct StatusSummary {
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
status_function_defaults!(SlaPauses, FirstResolvedAt, FirstReopenedAt, StatusSummary);

udaf_singleton!(sla_pauses_udaf, StatusAggregate(SlaPauses::default(),));

udaf_singleton!(
    first_resolved_at_udaf,
    StatusAggregate(FirstResolvedAt::default(),)
);

udaf_singleton!(
    first_reopened_at_udaf,
    StatusAggregate(FirstReopenedAt::default(),)
);

udaf_singleton!(
    status_summary_udaf,
    StatusAggregate(StatusSummary::default(),)
);

/// The fields of [`status_summary`](status_summary_udaf)'s struct.
pub fn summary_fields() -> Fields {
    Fields::from(vec![
        Field::new("pauses", pauses_type(), true),
        Field::new("first_resolved_at", utc_micros_type(), true),
        Field::new("first_reopened_at", utc_micros_type(), true),
    ])
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

    fn evaluate(histories: &Histories) -> Result<ArrayRef> {
        Ok(Arc::new(pause_lists(histories, false)?))
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

    fn evaluate(histories: &Histories) -> Result<ArrayRef> {
        Ok(timestamps(
            histories
                .iter()
                .map(|history| history.and_then(first_resolution)),
        ))
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

    fn evaluate(histories: &Histories) -> Result<ArrayRef> {
        Ok(timestamps(
            histories
                .iter()
                .map(|history| history.and_then(first_reopen)),
        ))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

impl StatusFunction for StatusSummary {
    fn name(&self) -> &'static str {
        "status_summary"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self) -> DataType {
        DataType::Struct(summary_fields())
    }

    fn evaluate(histories: &Histories) -> Result<ArrayRef> {
        let resolved = timestamps(histories.iter().map(|h| h.and_then(first_resolution)));
        let reopened = timestamps(histories.iter().map(|h| h.and_then(first_reopen)));
        let valid = NullBuffer::from_iter(histories.iter().map(|h| h.is_some()));
        Ok(Arc::new(StructArray::try_new(
            summary_fields(),
            vec![Arc::new(pause_lists(histories, true)?), resolved, reopened],
            Some(valid),
        )?))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
