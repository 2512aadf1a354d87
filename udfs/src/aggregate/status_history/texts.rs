//! Reading the status and kind arguments: status names interned once per
//! accumulator, text arguments read in place, and a batch's few distinct views looked
//! up once.

use std::collections::HashMap;
use std::fmt::Debug;
use std::mem::size_of;

use arrow::array::{Array, ArrayRef, AsArray, StringArray};
use arrow::datatypes::DataType;
use datafusion_common::{Result, exec_err};

/// A help desk uses a handful of statuses: up to this many are found by a scan, which
/// beats hashing every row's name.
pub(super) const SCANNED_STATUSES: usize = 16;

/// The status names seen by one accumulator, each stored once.
#[derive(Debug, Default)]
pub(super) struct Interner {
    pub(super) names: Vec<String>,
    pub(super) ids: HashMap<String, u32>,
}

impl Interner {
    pub(super) fn id(&mut self, function: &str, name: &str) -> Result<u32> {
        let found = if self.names.len() <= SCANNED_STATUSES {
            self.names.iter().position(|n| n == name).map(|i| i as u32)
        } else {
            self.ids.get(name).copied()
        };
        if let Some(id) = found {
            return Ok(id);
        }
        let id = self.names.len() as u32;
        if id >= 1 << 30 {
            return exec_err!("{function}: more than 2^30 distinct statuses");
        }
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        Ok(id)
    }

    /// Each id's position in the names' sorted order.
    pub(super) fn ranks(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.names.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| self.names[a as usize].cmp(&self.names[b as usize]));
        let mut ranks = vec![0; order.len()];
        for (rank, &id) in order.iter().enumerate() {
            ranks[id as usize] = rank as u32;
        }
        ranks
    }

    pub(super) fn bytes(&self) -> usize {
        self.names
            .iter()
            .map(|n| 2 * (n.capacity() + size_of::<String>()) + 8)
            .sum()
    }
}

/// Text values of a Utf8, LargeUtf8 or Utf8View array, NULL as `None`.
pub(super) fn texts<'a>(function: &str, array: &'a ArrayRef) -> Result<Vec<Option<&'a str>>> {
    Ok(match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().collect(),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().collect(),
        DataType::Utf8View => array.as_string_view().iter().collect(),
        DataType::Null => vec![None; array.len()],
        other => return exec_err!("{function}: expected text, got {other}"),
    })
}

/// A text argument read in place, row by row.
pub(super) enum Texts<'a> {
    Utf8(&'a StringArray),
    LargeUtf8(&'a arrow::array::LargeStringArray),
    View(&'a arrow::array::StringViewArray),
    Null,
}

impl<'a> Texts<'a> {
    pub(super) fn new(function: &str, array: &'a ArrayRef) -> Result<Self> {
        Ok(match array.data_type() {
            DataType::Utf8 => Self::Utf8(array.as_string::<i32>()),
            DataType::LargeUtf8 => Self::LargeUtf8(array.as_string::<i64>()),
            DataType::Utf8View => Self::View(array.as_string_view()),
            DataType::Null => Self::Null,
            other => return exec_err!("{function}: expected text, got {other}"),
        })
    }

    #[inline]
    pub(super) fn get(&self, row: usize) -> Option<&'a str> {
        match self {
            Self::Utf8(a) => a.is_valid(row).then(|| a.value(row)),
            Self::LargeUtf8(a) => a.is_valid(row).then(|| a.value(row)),
            Self::View(a) => a.is_valid(row).then(|| a.value(row)),
            Self::Null => None,
        }
    }

    /// The row's Utf8View view. Two rows of one array with the same view hold the
    /// same text: a short text is its view, a longer one points at the same bytes.
    #[inline]
    pub(super) fn view(&self, row: usize) -> Option<u128> {
        match self {
            Self::View(a) => Some(a.views()[row]),
            _ => None,
        }
    }
}

/// What a batch's few distinct views stand for (a status's id, a kind), so that a
/// repeated value costs a 16-byte comparison rather than a text lookup.
pub(super) struct ByView<T> {
    pub(super) seen: Vec<(u128, T)>,
}

impl<T: Copy> ByView<T> {
    /// Views remembered at most: statuses and kinds are few; a column of many
    /// distinct values looks them up as text.
    const CAPACITY: usize = 32;

    pub(super) fn new() -> Self {
        Self { seen: Vec::new() }
    }

    #[inline]
    pub(super) fn get_or(
        &mut self,
        view: Option<u128>,
        lookup: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        let Some(view) = view else {
            return lookup();
        };
        if let Some(&(_, value)) = self.seen.iter().find(|(v, _)| *v == view) {
            return Ok(value);
        }
        let value = lookup()?;
        if self.seen.len() < Self::CAPACITY {
            self.seen.push((view, value));
        }
        Ok(value)
    }
}
