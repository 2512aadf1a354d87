//! What a status means for the SLA clocks.

use std::fmt::Debug;

use datafusion_common::{Result, internal_err};

use crate::error::KpiError;

/// What a status means for the SLA clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum StatusKind {
    /// The clocks run.
    Open = 0,
    /// The clocks stop: waiting on the customer.
    Paused = 1,
    Resolved = 2,
    Closed = 3,
}

impl StatusKind {
    /// A kind by its name; anything else is an error naming the function and value.
    pub fn parse(function: &str, text: &str) -> Result<Self> {
        match text {
            "open" => Ok(Self::Open),
            "paused" => Ok(Self::Paused),
            "resolved" => Ok(Self::Resolved),
            "closed" => Ok(Self::Closed),
            other => Err(KpiError::UnknownStatusKind {
                function: function.to_string(),
                value: other.to_string(),
            }
            .into()),
        }
    }

    pub(super) fn from_code(function: &str, code: u8) -> Result<Self> {
        match code {
            0 => Ok(Self::Open),
            1 => Ok(Self::Paused),
            2 => Ok(Self::Resolved),
            3 => Ok(Self::Closed),
            other => internal_err!("{function}: status kind code {other} in a partial state"),
        }
    }

    pub fn is_done(self) -> bool {
        matches!(self, Self::Resolved | Self::Closed)
    }
}
