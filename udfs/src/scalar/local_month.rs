use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use arrow::array::{Array, Date32Array};
use arrow::datatypes::DataType;
use chrono_tz::Tz;
use datafusion_common::Result;
use datafusion_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use super::leading_arrays;
use crate::args::{
    MICROS_PER_DAY, PerRow, check_arity, coerce_temporal, coerce_text, temporal_as_micros,
};
use crate::calendar::{
    civil_from_days, days_from_civil, first_of_month, local_to_utc, offset_micros, parse_zone,
};

const NAME: &str = "local_month";

#[user_doc(
    doc_section(label = "MSP KPI Functions"),
    description = "The first day of the calendar month that contains an instant in an IANA time zone: the period key of monthly KPIs (a ticket raised at 23:30 on 31 October in New York belongs to October). Much faster than date_trunc('month', ...) on zoned timestamps. NULL when either argument is NULL; an unknown zone is an error.",
    syntax_example = "local_month(ts, timezone)",
    sql_example = r#"```sql
> SELECT local_month(TIMESTAMP '2026-11-01 04:30:00Z', 'America/New_York');
+------------+
| 2026-10-01 |
+------------+
```"#,
    argument(
        name = "ts",
        description = "The instant (timestamp of any unit and zone; a date is taken as is)."
    ),
    argument(
        name = "timezone",
        description = "IANA zone name such as 'Europe/Berlin'; a column or a literal."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LocalMonth {
    signature: Signature,
}

impl Default for LocalMonth {
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

udf_singleton!(local_month_udf, LocalMonth::default());

const FIRST_YEAR: i64 = 1970;
const MONTHS: usize = 12 * 150;

/// The UTC instants at which each local month of 1970..2120 begins in one zone, so
/// that a lookup is a month estimate and at most one step, instead of a time-zone
/// conversion per row. Built once per zone per process: a pure function of the zone,
/// so it changes no result.
#[derive(Debug)]
pub struct MonthStarts {
    zone: Tz,
    starts: Vec<i64>,
}

impl MonthStarts {
    fn build(zone: Tz) -> Self {
        let starts = (0..=MONTHS)
            .map(|i| {
                let day = days_from_civil(FIRST_YEAR + (i / 12) as i64, (i % 12) as u32 + 1, 1);
                local_to_utc(zone, day * MICROS_PER_DAY)
            })
            .collect();
        Self { zone, starts }
    }

    /// Shared per zone for the life of the process.
    pub fn for_zone(zone: Tz) -> Arc<Self> {
        static CACHE: OnceLock<RwLock<HashMap<Tz, Arc<MonthStarts>>>> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        if let Some(found) = cache.read().ok().and_then(|c| c.get(&zone).cloned()) {
            return found;
        }
        let built = Arc::new(Self::build(zone));
        if let Ok(mut cache) = cache.write() {
            cache.entry(zone).or_insert_with(|| built.clone());
        }
        built
    }

    /// Days since the epoch of the first day of the local month containing `utc`.
    #[inline]
    pub fn month_of(&self, utc: i64) -> i64 {
        let (year, month, _) = civil_from_days(utc.div_euclid(MICROS_PER_DAY));
        let guess = (year - FIRST_YEAR) * 12 + month as i64 - 1;
        // The local month differs from the UTC month by at most one.
        let mut i = guess;
        if i >= 1 && (i as usize) < MONTHS {
            if utc < self.starts[i as usize] {
                i -= 1;
            } else if utc >= self.starts[i as usize + 1] {
                i += 1;
            }
            return days_from_civil(
                FIRST_YEAR + i.div_euclid(12),
                i.rem_euclid(12) as u32 + 1,
                1,
            );
        }
        let local = utc + offset_micros(self.zone, utc);
        first_of_month(local.div_euclid(MICROS_PER_DAY))
    }
}

impl ScalarUDFImpl for LocalMonth {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(NAME, arg_types, &[2])?;
        Ok(vec![
            coerce_temporal(NAME, "ts", &arg_types[0])?,
            coerce_text(NAME, "timezone", &arg_types[1])?,
        ])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Date32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = leading_arrays(&args.args, 1, rows)?;
        let is_date = matches!(arrays[0].data_type(), DataType::Date32 | DataType::Date64);
        let instants = temporal_as_micros(NAME, &arrays[0])?;
        let zones = PerRow::from_columnar(&args.args[1], |name| {
            parse_zone(NAME, name).map(MonthStarts::for_zone)
        })?;
        let months: Date32Array = match &zones {
            // The fast path: one zone for the batch, no NULL zone.
            PerRow::Uniform(Some(zone)) if !is_date => {
                let values: Vec<i32> = instants.iter().map(|&t| zone.month_of(t) as i32).collect();
                Date32Array::new(values.into(), arrays[0].logical_nulls())
            }
            _ => (0..rows)
                .map(|row| {
                    let zone = zones.get(row)?;
                    if !arrays[0].is_valid(row) {
                        return None;
                    }
                    let t = instants[row];
                    Some(if is_date {
                        first_of_month(t.div_euclid(MICROS_PER_DAY)) as i32
                    } else {
                        zone.month_of(t) as i32
                    })
                })
                .collect(),
        };
        Ok(ColumnarValue::Array(Arc::new(months)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lookup_equals_direct_conversion() {
        for name in [
            "America/New_York",
            "Europe/Berlin",
            "Asia/Kolkata",
            "Pacific/Chatham",
            "America/Santiago",
            "UTC",
        ] {
            let zone: Tz = name.parse().unwrap();
            let table = MonthStarts::for_zone(zone);
            let mut t = 0i64;
            while t < 4_000_000_000_000_000 {
                let local = t + offset_micros(zone, t);
                let expected = first_of_month(local.div_euclid(MICROS_PER_DAY));
                assert_eq!(table.month_of(t), expected, "{name} at {t}");
                t += 3_599_999_999; // just under an hour, to hit every boundary hour
            }
        }
    }

    #[test]
    fn late_evening_in_new_york_is_still_october() {
        let zone: Tz = "America/New_York".parse().unwrap();
        let table = MonthStarts::for_zone(zone);
        // 2026-11-01 03:30 UTC = 2026-10-31 23:30 EDT (daylight time ends later that night)
        let utc = days_from_civil(2026, 11, 1) * MICROS_PER_DAY + (3 * 60 + 30) * 60_000_000;
        assert_eq!(table.month_of(utc), days_from_civil(2026, 10, 1));
        // an hour later it is 00:30 on 1 November in New York
        assert_eq!(
            table.month_of(utc + 3_600_000_000),
            days_from_civil(2026, 11, 1)
        );
    }
}
