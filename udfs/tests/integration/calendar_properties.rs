//! Properties of business time: additivity, bounds, 24x7, and deadlines as the inverse
//! of business_minutes, over calendars with daylight-saving changes and holidays.

use mspkpi_udfs::Calendar;
use proptest::prelude::*;

const SPECS: [&str; 6] = [
    "Mon-Fri 08:00-18:00 America/New_York holidays 2026-07-03,2026-11-26,2026-12-25",
    "Mon-Thu 08:00-12:00,13:00-17:00; Fri 08:00-15:00 Europe/Berlin holidays 2026-12-24,2026-12-25,2027-01-01",
    "Mon-Sun 00:00-24:00 Europe/London",
    "Sat-Sun 01:30-03:30 America/Chicago",
    "Mon-Sat 09:30-18:30 Asia/Kolkata",
    "24x7",
];
const MINUTE: i64 = 60_000_000;
/// 2025-12-01 .. 2027-06-01 in microseconds.
const FROM: i64 = 1_764_547_200_000_000;
const UNTIL: i64 = 1_811_808_000_000_000;

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, .. ProptestConfig::default() })]

    #[test]
    fn additive_and_bounded(spec in 0..SPECS.len(), mut points in proptest::collection::vec(FROM..UNTIL, 3)) {
        let calendar = Calendar::parse(SPECS[spec]).unwrap();
        points.sort_unstable();
        let (a, b, c) = (points[0], points[1], points[2]);
        let ab = calendar.business_micros(a, b);
        let bc = calendar.business_micros(b, c);
        prop_assert_eq!(calendar.business_micros(a, c), ab + bc);
        prop_assert!(0 <= ab && ab <= b - a);
        prop_assert_eq!(calendar.business_micros(b, a), -ab);
    }

    #[test]
    fn twenty_four_seven_is_the_plain_difference(a in FROM..UNTIL, b in FROM..UNTIL) {
        let calendar = Calendar::parse("24x7").unwrap();
        prop_assert_eq!(calendar.business_minutes(a, b), (b - a) as f64 / MINUTE as f64);
    }

    #[test]
    fn deadline_is_the_inverse_of_business_minutes(spec in 0..SPECS.len(), start in FROM..UNTIL, minutes in 0i64..20_000) {
        let calendar = Calendar::parse(SPECS[spec]).unwrap();
        let deadline = calendar.deadline(start, minutes * MINUTE).unwrap();
        prop_assert_eq!(calendar.business_micros(start, deadline), minutes * MINUTE);
        // and the earliest such instant: a minute earlier is not enough
        if minutes > 0 {
            prop_assert!(calendar.business_micros(start, deadline - MINUTE) < minutes * MINUTE);
        }
    }
}
