//! Aggregates over a ticket's status history: `sla_pauses`, `first_resolved_at`,
//! `first_reopened_at`, and `status_summary`, which gives all three from one pass.
//!
//! Each takes the rows `(changed_at, status, kind)` of one ticket, where the ticket
//! entered `status` at `changed_at` and `kind` is the status's kind (`open`, `paused`,
//! `resolved` or `closed`, from the `statuses` table). The rows are collected per
//! group and read in `(changed_at, status)` order: exact duplicates count once, and of
//! two statuses at the same instant the last in that order holds. Collecting all rows
//! before reading them makes the result independent of the order, batching and
//! partitioning the rows arrive in.

mod framework;
mod functions;
mod kind;
mod store;
mod texts;

pub use framework::{StatusAggregate, StatusFunction};
pub use functions::{
    FirstReopenedAt, FirstResolvedAt, SlaPauses, StatusSummary, first_reopen,
    first_reopened_at_udaf, first_resolution, first_resolved_at_udaf, pauses_of, sla_pauses_udaf,
    status_summary_udaf, summary_fields,
};
pub use kind::StatusKind;
pub use store::{Effective, Histories};
