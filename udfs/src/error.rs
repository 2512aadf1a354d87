//! The error a KPI function raises for a value outside its domain: typed, so that a
//! caller can tell "the data holds a value the function rejects" from a failing plan or
//! damaged data without reading the message. It reaches callers as
//! `DataFusionError::External`; [`KpiError::find`] digs it out of whatever DataFusion
//! wrapped it in.

use std::error::Error;
use std::fmt;

use datafusion_common::DataFusionError;

/// A value a KPI function rejects, with the function, the argument and the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KpiError {
    /// An integer outside the function's range (an NPS of 11).
    OutOfRange {
        function: String,
        argument: String,
        value: String,
        expected: String,
    },
    /// An amount that cannot be one (a negative MRR).
    InvalidAmount {
        function: String,
        argument: String,
        value: String,
        expected: String,
    },
    /// A negative SLA target.
    NegativeTarget {
        function: String,
        argument: String,
        value: i64,
    },
    /// A period that ends before it starts.
    ReversedPeriod {
        function: String,
        start: String,
        end: String,
    },
    /// A status kind that is not open, paused, resolved or closed.
    UnknownStatusKind { function: String, value: String },
    /// A calendar spec that does not parse.
    InvalidCalendar { spec: String, reason: String },
    /// A time zone that is not an IANA name.
    UnknownTimeZone { function: String, name: String },
}

impl KpiError {
    /// The function that raised it (`calendar` for a calendar spec).
    pub fn function(&self) -> &str {
        match self {
            KpiError::OutOfRange { function, .. }
            | KpiError::InvalidAmount { function, .. }
            | KpiError::NegativeTarget { function, .. }
            | KpiError::ReversedPeriod { function, .. }
            | KpiError::UnknownStatusKind { function, .. }
            | KpiError::UnknownTimeZone { function, .. } => function,
            KpiError::InvalidCalendar { .. } => "calendar",
        }
    }

    /// Whether a message that lost its type (a cluster's error, sent back as text)
    /// is one of these: their wording, kept beside [`fmt::Display`]'s.
    pub fn described_in(text: &str) -> bool {
        [
            "is out of range (expected",
            "is invalid (expected",
            "must not be negative, got",
            "is before period_start",
            "unknown status kind '",
            "invalid calendar spec '",
            "unknown time zone '",
        ]
        .iter()
        .any(|marker| text.contains(marker))
    }

    /// The `KpiError` an error carries, through DataFusion's and arrow's wrappers.
    pub fn find<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a KpiError> {
        let mut cause: Option<&(dyn Error + 'static)> = Some(error);
        while let Some(error) = cause {
            if let Some(found) = error.downcast_ref::<KpiError>() {
                return Some(found);
            }
            // DataFusion's `Shared` and `Context` hand out their inner error as the
            // source; `External` its boxed one.
            cause = error.source();
        }
        None
    }
}

impl fmt::Display for KpiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KpiError::OutOfRange {
                function,
                value,
                expected,
                ..
            } => write!(
                f,
                "{function}: value {value} is out of range (expected {expected})"
            ),
            KpiError::InvalidAmount {
                function,
                argument,
                value,
                expected,
            } => write!(
                f,
                "{function}: {argument} {value} is invalid (expected {expected})"
            ),
            KpiError::NegativeTarget {
                function,
                argument,
                value,
            } => write!(
                f,
                "{function}: {argument} must not be negative, got {value}"
            ),
            KpiError::ReversedPeriod {
                function,
                start,
                end,
            } => write!(
                f,
                "{function}: period_end {end} is before period_start {start}"
            ),
            KpiError::UnknownStatusKind { function, value } => write!(
                f,
                "{function}: unknown status kind '{value}' (expected open, paused, resolved or closed)"
            ),
            KpiError::InvalidCalendar { spec, reason } => {
                write!(f, "invalid calendar spec '{spec}': {reason}")
            }
            KpiError::UnknownTimeZone { function, name } => {
                write!(f, "{function}: unknown time zone '{name}'")
            }
        }
    }
}

impl Error for KpiError {}

impl From<KpiError> for DataFusionError {
    fn from(error: KpiError) -> Self {
        DataFusionError::External(Box::new(error))
    }
}
