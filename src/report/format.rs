//! Numbers for people, the same in Markdown and HTML: one decimal for percentages,
//! `1 h 25 min` for durations, thousands separators for counts.

pub use crate::unit::Format;

pub const MISSING: &str = "–";

fn thousands(integer: u64) -> String {
    let digits = integer.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn signed_count(value: f64) -> String {
    let sign = if value < 0.0 { "−" } else { "" };
    format!("{sign}{}", thousands(value.abs().round() as u64))
}

/// `20 min`, `1 h 25 min`, `26 h`, `< 1 min`.
pub fn duration(minutes: f64) -> String {
    let sign = if minutes < 0.0 { "−" } else { "" };
    let total = minutes.abs().round() as u64;
    if total == 0 && minutes != 0.0 {
        return "< 1 min".into();
    }
    let (h, m) = (total / 60, total % 60);
    let body = match (h, m) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{} h", thousands(h)),
        (h, m) => format!("{} h {m} min", thousands(h)),
    };
    format!("{sign}{body}")
}

/// A value, or `–` when there is none.
pub fn value(format: Format, value: Option<f64>) -> String {
    let Some(v) = value.filter(|v| v.is_finite()) else {
        return MISSING.into();
    };
    match format {
        Format::Percent => format!("{v:.1} %"),
        Format::Score => format!("{v:.1}"),
        Format::Minutes => duration(v),
        Format::Count => signed_count(v),
        Format::Ratio => format!("{v:.2}"),
        Format::Money => {
            let cents = (v.abs() * 100.0).round() as u64;
            let sign = if v < 0.0 { "−" } else { "" };
            format!("{sign}{}.{:02}", thousands(cents / 100), cents % 100)
        }
    }
}

/// The change from `previous` to `current`: `+2.3 pp`, `−5 min`, `+3`; `–` without both.
pub fn change(format: Format, current: Option<f64>, previous: Option<f64>) -> String {
    let (Some(c), Some(p)) = (
        current.filter(|v| v.is_finite()),
        previous.filter(|v| v.is_finite()),
    ) else {
        return MISSING.into();
    };
    let d = c - p;
    let sign = if d > 0.0 {
        "+"
    } else if d < 0.0 {
        "−"
    } else {
        "±"
    };
    let a = d.abs();
    match format {
        Format::Percent => format!("{sign}{a:.1} pp"),
        Format::Score => format!("{sign}{a:.1}"),
        Format::Minutes => format!("{sign}{}", duration(a)),
        Format::Count => format!("{sign}{}", thousands(a.round() as u64)),
        Format::Ratio => format!("{sign}{a:.2}"),
        Format::Money => format!("{sign}{}", value(Format::Money, Some(a))),
    }
}

/// The currency money amounts print in: a known code with its symbol (`$1,234.50`,
/// `€1,234.50`), any other ISO 4217 code before the amount (`CHF 1,234.50`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency {
    code: String,
}

impl Default for Currency {
    fn default() -> Self {
        Self { code: "USD".into() }
    }
}

impl Currency {
    /// Codes whose symbol is unambiguous enough for a client report.
    const SYMBOLS: [(&'static str, &'static str); 7] = [
        ("USD", "$"),
        ("EUR", "€"),
        ("GBP", "£"),
        ("JPY", "¥"),
        ("INR", "₹"),
        ("AUD", "A$"),
        ("CAD", "CA$"),
    ];

    /// A three-letter currency code, e.g. `USD`, `eur`, `CHF`.
    pub fn parse(code: &str) -> std::result::Result<Self, String> {
        let code = code.trim().to_ascii_uppercase();
        if code.len() != 3 || !code.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(format!(
                "'{code}' is not a currency code (three letters, e.g. USD, EUR, CHF)"
            ));
        }
        Ok(Self { code })
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    /// An amount with its currency, or `–` when there is none.
    pub fn amount(&self, amount: Option<f64>) -> String {
        let Some(v) = amount.filter(|v| v.is_finite()) else {
            return MISSING.into();
        };
        let sign = if v < 0.0 { "−" } else { "" };
        let digits = value(Format::Money, Some(v.abs()));
        match Self::SYMBOLS.iter().find(|(code, _)| *code == self.code) {
            Some((_, symbol)) => format!("{sign}{symbol}{digits}"),
            None => format!("{sign}{} {digits}", self.code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_carries_its_currency() {
        let usd = Currency::default();
        assert_eq!(usd.amount(Some(1234.5)), "$1,234.50");
        assert_eq!(usd.amount(Some(-3.0)), "−$3.00");
        assert_eq!(usd.amount(None), "–");
        assert_eq!(
            Currency::parse("eur").unwrap().amount(Some(1234.5)),
            "€1,234.50"
        );
        assert_eq!(
            Currency::parse("CHF").unwrap().amount(Some(1234.5)),
            "CHF 1,234.50"
        );
        assert!(Currency::parse("dollars").is_err());
        assert!(Currency::parse("U$D").is_err());
    }

    #[test]
    fn the_worked_examples_read_as_the_design_prints_them() {
        assert_eq!(value(Format::Minutes, Some(400.0 / 20.0)), "20 min");
        assert_eq!(value(Format::Percent, Some(90.0)), "90.0 %");
        assert_eq!(value(Format::Percent, Some(95.0)), "95.0 %");
        assert_eq!(value(Format::Score, Some(60.0)), "60.0");
        assert_eq!(value(Format::Ratio, Some(1.2)), "1.20");
        assert_eq!(value(Format::Count, Some(20.0)), "20");
        assert_eq!(value(Format::Percent, Some(3.0)), "3.0 %");
    }

    #[test]
    fn durations_and_changes() {
        assert_eq!(duration(85.0), "1 h 25 min");
        assert_eq!(duration(120.0), "2 h");
        assert_eq!(duration(0.2), "< 1 min");
        assert_eq!(duration(3000.0), "50 h");
        assert_eq!(value(Format::Count, Some(1234567.0)), "1,234,567");
        assert_eq!(value(Format::Money, Some(1234.5)), "1,234.50");
        assert_eq!(value(Format::Percent, None), "–");
        assert_eq!(value(Format::Percent, Some(f64::NAN)), "–");
        assert_eq!(change(Format::Percent, Some(95.0), Some(92.7)), "+2.3 pp");
        assert_eq!(change(Format::Minutes, Some(20.0), Some(25.0)), "−5 min");
        assert_eq!(change(Format::Count, Some(3.0), Some(3.0)), "±0");
        assert_eq!(change(Format::Count, Some(3.0), None), "–");
    }
}
