//! Business-hours calendars: a time zone, weekly opening hours and holidays, parsed
//! from a compact spec such as
//! `'Mon-Fri 08:00-12:00,13:00-17:00 Europe/Berlin holidays 2026-12-24,2026-12-25'`.
//!
//! Times are UTC instants in microseconds. Opening hours are local wall-clock times, so
//! a calendar converts with the zone's offset. Long spans are counted a week at a time
//! (a 7-day window holds exactly one week of opening hours, minus its holidays), and only
//! windows that contain a daylight-saving change are split at the change.

use chrono::{DateTime, LocalResult, NaiveDate, Offset, TimeZone};
use chrono_tz::Tz;
use datafusion_common::{DataFusionError, Result, exec_err};

use crate::args::{MICROS_PER_DAY, MICROS_PER_MINUTE};
use crate::error::KpiError;

const MICROS_PER_WEEK: i64 = 7 * MICROS_PER_DAY;
const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A parsed business-hours calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    zone: Tz,
    /// Opening ranges per weekday (Monday first), microseconds after local midnight,
    /// sorted and disjoint.
    week: [Vec<(i64, i64)>; 7],
    weekly_micros: i64,
    /// Local dates (days since 1970-01-01), sorted, without duplicates.
    holidays: Vec<i64>,
    /// `24x7` without holidays: business time is wall-clock time.
    always_open: bool,
}

fn spec_error(spec: &str, what: impl std::fmt::Display) -> DataFusionError {
    KpiError::InvalidCalendar {
        spec: spec.to_string(),
        reason: what.to_string(),
    }
    .into()
}

fn parse_day(spec: &str, name: &str) -> Result<usize> {
    let lower = name.to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .position(|d| lower.len() >= 3 && d.starts_with(&lower[..3]) && is_day_word(&lower))
        .ok_or_else(|| spec_error(spec, format!("unknown day '{name}'")))
}

fn is_day_word(word: &str) -> bool {
    const FULL: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    word.len() >= 3 && FULL.iter().any(|full| full.starts_with(word))
}

/// `Mon-Fri`, `Sat`, `Mon,Wed,Fri`, `Fri-Mon` (wrapping).
fn parse_days(spec: &str, token: &str) -> Result<Vec<usize>> {
    let mut days = Vec::new();
    for part in token.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (parse_day(spec, from)?, parse_day(spec, to)?);
                let mut day = from;
                loop {
                    days.push(day);
                    if day == to {
                        break;
                    }
                    day = (day + 1) % 7;
                }
            }
            None => days.push(parse_day(spec, part)?),
        }
    }
    Ok(days)
}

fn looks_like_days(token: &str) -> bool {
    token
        .split([',', '-'])
        .all(|w| is_day_word(&w.to_ascii_lowercase()))
}

fn parse_clock(spec: &str, text: &str) -> Result<i64> {
    let bad = || spec_error(spec, format!("'{text}' is not a time of day (HH:MM)"));
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(0..=24).contains(&h) || !(0..60).contains(&m) || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok((h * 60 + m) * MICROS_PER_MINUTE)
}

/// `08:00-12:00,13:00-17:00`
fn parse_ranges(spec: &str, token: &str) -> Result<Vec<(i64, i64)>> {
    token
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|part| {
            let (from, to) = part
                .split_once('-')
                .ok_or_else(|| spec_error(spec, format!("'{part}' is not a range HH:MM-HH:MM")))?;
            let (from, to) = (parse_clock(spec, from)?, parse_clock(spec, to)?);
            if to <= from {
                return Err(spec_error(
                    spec,
                    format!("range '{part}' ends before it starts"),
                ));
            }
            Ok((from, to))
        })
        .collect()
}

fn days_since_epoch(date: NaiveDate) -> i64 {
    date.signed_duration_since(NaiveDate::default()).num_days()
}

/// Monday = 0. 1970-01-01 was a Thursday.
#[inline]
fn weekday(day: i64) -> usize {
    (day + 3).rem_euclid(7) as usize
}

impl Calendar {
    /// Parses a spec: `24x7`, or rules `DAYS RANGES` separated by spaces or `;`, then an
    /// IANA zone, then optionally `holidays DATE,DATE,...`.
    pub fn parse(spec: &str) -> Result<Self> {
        let spaced = spec.replace(';', " ; ");
        let mut tokens = spaced.split_whitespace().peekable();
        let mut week: [Vec<(i64, i64)>; 7] = Default::default();
        let mut zone: Option<Tz> = None;
        let mut holidays = Vec::new();
        let mut any_rule = false;
        let mut always_open = false;
        while let Some(token) = tokens.next() {
            if token == ";" {
                continue;
            }
            if token.eq_ignore_ascii_case("24x7") {
                for day in &mut week {
                    day.push((0, MICROS_PER_DAY));
                }
                any_rule = true;
                always_open = true;
            } else if token.eq_ignore_ascii_case("holidays") {
                for text in tokens.by_ref().flat_map(|t| t.split(',')) {
                    if text.is_empty() || text == ";" {
                        continue;
                    }
                    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
                        spec_error(spec, format!("holiday '{text}' is not a date (YYYY-MM-DD)"))
                    })?;
                    holidays.push(days_since_epoch(date));
                }
            } else if looks_like_days(token) {
                let days = parse_days(spec, token)?;
                let Some(ranges) = tokens.next() else {
                    return Err(spec_error(spec, format!("days '{token}' have no hours")));
                };
                let ranges = parse_ranges(spec, ranges)?;
                for day in days {
                    week[day].extend(ranges.iter().copied());
                }
                any_rule = true;
            } else if token.contains(':') && token.contains('-') {
                return Err(spec_error(
                    spec,
                    format!("hours '{token}' need days before them (e.g. Mon-Fri {token})"),
                ));
            } else {
                let parsed: Tz = token
                    .parse()
                    .map_err(|_| spec_error(spec, format!("unknown time zone '{token}'")))?;
                if zone.replace(parsed).is_some() {
                    return Err(spec_error(spec, "more than one time zone"));
                }
            }
        }
        if !any_rule {
            return Err(spec_error(
                spec,
                "no opening hours (e.g. 'Mon-Fri 08:00-18:00 UTC' or '24x7')",
            ));
        }
        for (day, ranges) in week.iter_mut().enumerate() {
            ranges.sort_unstable();
            if let Some(pair) = ranges.windows(2).find(|w| w[1].0 < w[0].1) {
                return Err(spec_error(
                    spec,
                    format!(
                        "overlapping ranges on {}: {} and {}",
                        DAY_NAMES[day],
                        clock(pair[0]),
                        clock(pair[1])
                    ),
                ));
            }
        }
        let zone = match zone {
            Some(zone) => zone,
            None if always_open => Tz::UTC,
            None => {
                return Err(spec_error(
                    spec,
                    "missing time zone (e.g. Europe/Berlin or UTC)",
                ));
            }
        };
        holidays.sort_unstable();
        holidays.dedup();
        let weekly_micros = week.iter().flatten().map(|(s, e)| e - s).sum();
        Ok(Self {
            zone,
            always_open: always_open && holidays.is_empty() && weekly_micros == MICROS_PER_WEEK,
            week,
            weekly_micros,
            holidays,
        })
    }

    /// Business hours per week, in minutes.
    /// `24x7` without holidays: business time is wall-clock time.
    pub fn is_wall_clock(&self) -> bool {
        self.always_open
    }

    pub fn weekly_minutes(&self) -> f64 {
        self.weekly_micros as f64 / MICROS_PER_MINUTE as f64
    }

    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// UTC offset in microseconds at a UTC instant.
    #[inline]
    pub fn offset_micros(&self, utc: i64) -> i64 {
        offset_micros(self.zone, utc)
    }

    #[inline]
    fn is_holiday(&self, day: i64) -> bool {
        !self.holidays.is_empty() && self.holidays.binary_search(&day).is_ok()
    }

    /// Business microseconds in the local interval `[from, to)` when one offset holds
    /// throughout, optionally only on holidays.
    fn local_overlap(&self, from: i64, to: i64, only_holidays: bool) -> i64 {
        if from >= to {
            return 0;
        }
        let mut total = 0;
        let first = from.div_euclid(MICROS_PER_DAY);
        let last = (to - 1).div_euclid(MICROS_PER_DAY);
        for day in first..=last {
            if self.is_holiday(day) != only_holidays {
                continue;
            }
            let midnight = day * MICROS_PER_DAY;
            for &(start, end) in &self.week[weekday(day)] {
                let overlap = (midnight + end).min(to) - (midnight + start).max(from);
                total += overlap.max(0);
            }
        }
        total
    }

    /// Business microseconds in `[from, to)`, from < to, when one offset holds.
    fn constant_offset_span(&self, from: i64, to: i64, offset: i64) -> i64 {
        let (from, to) = (from + offset, to + offset);
        if to - from == MICROS_PER_WEEK {
            let lost = if self.holidays.is_empty() {
                0
            } else {
                self.local_overlap(from, to, true)
            };
            self.weekly_micros - lost
        } else {
            self.local_overlap(from, to, false)
        }
    }

    /// Business microseconds in `[from, to)` for a span of at most a week.
    fn short_span(&self, from: i64, to: i64) -> i64 {
        if from >= to {
            return 0;
        }
        let offset = self.offset_micros(from);
        match self.offset_change(from, to) {
            None => self.constant_offset_span(from, to, offset),
            // A daylight-saving change lies inside: count each side with its own offset.
            Some(change) => {
                self.constant_offset_span(from, change, offset) + self.short_span(change, to)
            }
        }
    }

    /// The first instant in `(from, to]` at which the offset differs from the one at
    /// `from`, if any (offsets change on whole seconds, at most once a week).
    fn offset_change(&self, from: i64, to: i64) -> Option<i64> {
        let offset = self.offset_micros(from);
        if self.offset_micros(to) == offset {
            return None;
        }
        let (mut before, mut after) = (from, to);
        while after - before > 1 {
            let mid = before + (after - before) / 2;
            if self.offset_micros(mid) == offset {
                before = mid;
            } else {
                after = mid;
            }
        }
        Some(after)
    }

    /// Within the local interval `[from, to)` of one offset: the local instant at which
    /// `remaining` business microseconds have passed, or the business microseconds the
    /// interval holds when that is not enough.
    fn local_deadline(
        &self,
        from: i64,
        to: i64,
        mut remaining: i64,
    ) -> std::result::Result<i64, i64> {
        let mut used = 0;
        if from >= to {
            return Err(0);
        }
        for day in from.div_euclid(MICROS_PER_DAY)..=(to - 1).div_euclid(MICROS_PER_DAY) {
            if self.is_holiday(day) {
                continue;
            }
            let midnight = day * MICROS_PER_DAY;
            for &(start, end) in &self.week[weekday(day)] {
                let open = (midnight + start).max(from);
                let close = (midnight + end).min(to);
                if close <= open {
                    continue;
                }
                if close - open >= remaining {
                    return Ok(open + remaining);
                }
                remaining -= close - open;
                used += close - open;
            }
        }
        Err(used)
    }

    /// Business time between two UTC instants, in microseconds; negative when `to` is
    /// before `from`.
    pub fn business_micros(&self, from: i64, to: i64) -> i64 {
        if to < from {
            return -self.business_micros(to, from);
        }
        if self.always_open {
            return to - from;
        }
        let mut total = 0;
        let mut cursor = from;
        while to - cursor >= MICROS_PER_WEEK {
            total += self.short_span(cursor, cursor + MICROS_PER_WEEK);
            cursor += MICROS_PER_WEEK;
        }
        total + self.short_span(cursor, to)
    }

    /// Whether the business time between two UTC instants exceeds `limit`
    /// microseconds: `business_micros(from, to) > limit`, counted only until the answer
    /// is known, so a span of centuries (a damaged or mistyped timestamp) costs no more
    /// than the weeks it takes to pass `limit`.
    pub fn exceeds(&self, from: i64, to: i64, limit: i64) -> bool {
        if self.always_open {
            return self.business_micros(from, to) > limit;
        }
        if to < from {
            // -b > limit  ⟺  b ≤ -limit - 1  ⟺  not (b > -limit - 1)
            return !self.exceeds(to, from, limit.saturating_neg().saturating_sub(1));
        }
        // Every span adds a non-negative amount: once past the limit, the total is too.
        let mut total = 0;
        let mut cursor = from;
        while to - cursor >= MICROS_PER_WEEK {
            total += self.short_span(cursor, cursor + MICROS_PER_WEEK);
            if total > limit {
                return true;
            }
            cursor += MICROS_PER_WEEK;
        }
        total + self.short_span(cursor, to) > limit
    }

    pub fn business_minutes(&self, from: i64, to: i64) -> f64 {
        self.business_micros(from, to) as f64 / MICROS_PER_MINUTE as f64
    }

    /// The instant at which `target` microseconds of business time have passed since
    /// `start`. A target of 0 is `start` itself.
    pub fn deadline(&self, start: i64, target: i64) -> Result<i64> {
        if target < 0 {
            return Err(KpiError::NegativeTarget {
                function: "business_deadline".to_string(),
                argument: "target minutes".to_string(),
                value: target / MICROS_PER_MINUTE,
            }
            .into());
        }
        if self.always_open || target == 0 {
            return Ok(start.saturating_add(target));
        }
        let mut remaining = target;
        let mut cursor = start;
        loop {
            let week = self.short_span(cursor, cursor + MICROS_PER_WEEK);
            if week >= remaining {
                break;
            }
            remaining -= week;
            cursor += MICROS_PER_WEEK;
        }
        // The deadline is within the next week: walk it in spans of one offset, in
        // local time, exactly as business_micros counts.
        let mut span_start = cursor;
        let week_end = cursor + MICROS_PER_WEEK;
        while span_start < week_end {
            let offset = self.offset_micros(span_start);
            let span_end = self.offset_change(span_start, week_end).unwrap_or(week_end);
            match self.local_deadline(span_start + offset, span_end + offset, remaining) {
                Ok(local) => return Ok(local - offset),
                Err(used) => remaining -= used,
            }
            span_start = span_end;
        }
        exec_err!("business_deadline: no deadline found within a week after {cursor} µs")
    }
}

fn clock((start, end): (i64, i64)) -> String {
    let hm = |t: i64| format!("{:02}:{:02}", t / 3_600_000_000, t / MICROS_PER_MINUTE % 60);
    format!("{}-{}", hm(start), hm(end))
}

/// The UTC instant at which the clock of `zone` reads `local` (microseconds). A time
/// skipped by a daylight-saving jump is read with the offset in force before the jump;
/// a repeated time maps to its first occurrence.
pub fn local_to_utc(zone: Tz, local: i64) -> i64 {
    let Some(naive) = DateTime::from_timestamp_micros(local).map(|d| d.naive_utc()) else {
        return local;
    };
    match zone.from_local_datetime(&naive) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.timestamp_micros(),
        LocalResult::None => local - offset_micros(zone, local - MICROS_PER_DAY),
    }
}

/// UTC offset of `zone` in microseconds at a UTC instant (0 outside chrono's range).
#[inline]
pub fn offset_micros(zone: Tz, utc: i64) -> i64 {
    match DateTime::from_timestamp_micros(utc) {
        Some(t) => {
            zone.offset_from_utc_datetime(&t.naive_utc())
                .fix()
                .local_minus_utc() as i64
                * 1_000_000
        }
        None => 0,
    }
}

/// Parses an IANA zone name with an error that quotes it.
pub fn parse_zone(function: &str, name: &str) -> Result<Tz> {
    name.parse::<Tz>().map_err(|_| {
        KpiError::UnknownTimeZone {
            function: function.to_string(),
            name: name.to_string(),
        }
        .into()
    })
}

/// Days since the epoch of the first day of the month containing `day`.
#[inline]
pub fn first_of_month(day: i64) -> i64 {
    let (y, m, _) = civil_from_days(day);
    days_from_civil(y, m, 1)
}

/// Howard Hinnant's `civil_from_days`: (year, month 1-12, day 1-31).
#[inline]
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Howard Hinnant's `days_from_civil`.
#[inline]
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    fn utc(text: &str) -> i64 {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_utc()
            .timestamp_micros()
    }

    fn local(cal: &Calendar, text: &str) -> i64 {
        let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
        cal.zone
            .from_local_datetime(&naive)
            .earliest()
            .unwrap()
            .timestamp_micros()
    }

    #[test]
    fn civil_round_trip() {
        for day in -800_000..800_000 {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
            let date = NaiveDate::from_ymd_opt(y as i32, m, d).unwrap();
            assert_eq!(days_since_epoch(date), day);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(
            first_of_month(days_from_civil(2026, 10, 31)),
            days_from_civil(2026, 10, 1)
        );
        assert_eq!(
            days_from_civil(2024, 3, 1) - days_from_civil(2024, 2, 1),
            29
        );
    }

    #[test]
    fn friday_evening_to_monday_morning_is_two_hours() {
        let cal = Calendar::parse("Mon-Fri 08:00-18:00 UTC").unwrap();
        // 2026-11-20 is a Friday.
        let from = utc("2026-11-20 17:00");
        let to = utc("2026-11-23 09:00");
        assert_eq!(cal.business_minutes(from, to), 120.0);
        assert_eq!(cal.business_minutes(to, from), -120.0);
    }

    #[test]
    fn outside_hours_is_zero() {
        let cal = Calendar::parse("Mon-Fri 08:00-18:00 Europe/Berlin").unwrap();
        let from = local(&cal, "2026-11-20 19:00");
        let to = local(&cal, "2026-11-21 11:00");
        assert_eq!(cal.business_minutes(from, to), 0.0);
    }

    #[test]
    fn spring_forward_and_fall_back() {
        // A calendar open around the clock in New York: the business time is the real
        // elapsed time, 23 hours on 2026-03-08 and 25 on 2026-11-01.
        let cal = Calendar::parse("Mon-Sun 00:00-24:00 America/New_York").unwrap();
        let spring = cal.business_minutes(
            local(&cal, "2026-03-08 00:00"),
            local(&cal, "2026-03-09 00:00"),
        );
        assert_eq!(spring, 23.0 * 60.0);
        let fall = cal.business_minutes(
            local(&cal, "2026-11-01 00:00"),
            local(&cal, "2026-11-02 00:00"),
        );
        assert_eq!(fall, 25.0 * 60.0);
        // Office hours are unaffected by the change: Fri 17:00 to Mon 09:00 across the
        // European spring-forward night (2026-03-29) is still two hours.
        let berlin = Calendar::parse("Mon-Fri 08:00-18:00 Europe/Berlin").unwrap();
        let from = local(&berlin, "2026-03-27 17:00");
        let to = local(&berlin, "2026-03-30 09:00");
        assert_eq!(berlin.business_minutes(from, to), 120.0);
        assert_eq!(to - from, (64 - 1) * 3_600_000_000);
    }

    #[test]
    fn holidays_are_closed() {
        let cal = Calendar::parse("Mon-Fri 09:00-17:00 UTC holidays 2026-12-25").unwrap();
        // Thu 24th 16:00 to Mon 28th 10:00: one hour Thursday, Friday closed, one hour Monday.
        assert_eq!(
            cal.business_minutes(utc("2026-12-24 16:00"), utc("2026-12-28 10:00")),
            120.0
        );
    }

    #[test]
    fn a_year_is_weekly_hours_times_weeks_minus_holidays() {
        let cal = Calendar::parse(
            "Mon-Thu 08:00-12:00,13:00-17:00; Fri 08:00-15:00 Europe/Berlin holidays 2027-01-01,2026-12-25,2026-05-01",
        )
        .unwrap();
        assert_eq!(cal.weekly_minutes(), (4.0 * 8.0 + 7.0) * 60.0);
        // 2026-01-05 (Mon) to 2027-01-04 (Mon): exactly 52 weeks; holidays on a Friday
        // (2026-05-01, 7 h), a Friday (2026-12-25, 7 h) and a Friday (2027-01-01, 7 h).
        let from = local(&cal, "2026-01-05 00:00");
        let to = local(&cal, "2027-01-04 00:00");
        assert_eq!(
            cal.business_minutes(from, to),
            52.0 * cal.weekly_minutes() - 3.0 * 7.0 * 60.0
        );
    }

    #[test]
    fn deadlines() {
        let cal = Calendar::parse("Mon-Fri 08:00-18:00 UTC holidays 2026-11-23").unwrap();
        // Friday 17:00 + 2 h: 1 h on Friday, Monday is a holiday, 1 h on Tuesday.
        let d = cal
            .deadline(utc("2026-11-20 17:00"), 120 * MICROS_PER_MINUTE)
            .unwrap();
        assert_eq!(d, utc("2026-11-24 09:00"));
        // Across the US fall-back night.
        let ny = Calendar::parse("Mon-Fri 09:00-17:00 America/New_York").unwrap();
        let start = local(&ny, "2026-10-30 16:00");
        let d = ny.deadline(start, 120 * MICROS_PER_MINUTE).unwrap();
        assert_eq!(d, local(&ny, "2026-11-02 10:00"));
        assert_eq!(ny.business_minutes(start, d), 120.0);
        // Many weeks: 100 business hours = 2.5 weeks of 40 h.
        let d = ny.deadline(start, 100 * 60 * MICROS_PER_MINUTE).unwrap();
        assert_eq!(ny.business_minutes(start, d), 6000.0);
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        let cases = [
            (
                "Mon-Fri 08:00-18:00 Mars/Olympus",
                "unknown time zone 'Mars/Olympus'",
            ),
            ("Mon-Fri 18:00-08:00 UTC", "ends before it starts"),
            ("Mon-Fri 08:00-12:00,11:00-13:00 UTC", "overlapping ranges"),
            ("Mon-Fri 08:00-18:00", "missing time zone"),
            ("Mon-Fri 8am-6pm UTC", "not a time of day"),
            ("UTC", "no opening hours"),
            (
                "Mon-Fri 08:00-18:00 UTC holidays 2026-13-01",
                "holiday '2026-13-01'",
            ),
        ];
        for (spec, expected) in cases {
            let message = Calendar::parse(spec).unwrap_err().to_string();
            assert!(message.contains(expected), "{spec}: {message}");
            assert!(message.contains(spec), "{spec}: {message}");
        }
    }

    #[test]
    fn exceeds_agrees_with_the_full_count_and_stops_early() {
        let cal = Calendar::parse("Mon-Fri 09:00-17:30 Europe/London holidays 2026-12-25").unwrap();
        let from = utc("2026-10-20 16:00");
        for hours in [0, 1, 7, 30, 24 * 7, 24 * 60, 24 * 400] {
            let to = from + hours * 60 * MICROS_PER_MINUTE;
            let total = cal.business_micros(from, to);
            for limit in [0, total - 1, total, total + 1, 240 * MICROS_PER_MINUTE] {
                assert_eq!(
                    cal.exceeds(from, to, limit),
                    total > limit,
                    "{hours} h, {limit}"
                );
                assert_eq!(
                    cal.exceeds(to, from, limit),
                    -total > limit,
                    "{hours} h back"
                );
            }
        }
        // A response dated some 290,000 years on, or a ticket created then: decided
        // within the first week.
        assert!(cal.exceeds(from, i64::MAX / 2, 240 * MICROS_PER_MINUTE));
        assert!(!cal.exceeds(i64::MAX / 2, from, 240 * MICROS_PER_MINUTE));
        assert!(!cal.exceeds(i64::MAX / 2, from, -1));
    }

    #[test]
    fn twenty_four_seven_is_wall_clock() {
        let cal = Calendar::parse("24x7").unwrap();
        assert_eq!(cal.business_micros(5, 1_000_000_007), 1_000_000_002);
    }
}
