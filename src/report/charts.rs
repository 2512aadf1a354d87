//! Inline SVG charts for the HTML report and text sparklines for Markdown.

use std::fmt::Write;

/// The smallest and largest finite values, if any.
fn range(values: &[Option<f64>]) -> Option<(f64, f64)> {
    values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// A Unicode sparkline: one block per period, `·` for a period without data.
pub fn sparkline(values: &[Option<f64>]) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let Some((min, max)) = range(values) else {
        return String::new();
    };
    values
        .iter()
        .map(|v| match v.filter(|v| v.is_finite()) {
            None => '·',
            Some(_) if max == min => BLOCKS[3],
            Some(v) => BLOCKS[(((v - min) / (max - min)) * 7.0).round() as usize],
        })
        .collect()
}

/// A small line chart of a trend, with a dot per period that has data and a title
/// per point (shown on hover, read by screen readers).
pub fn trend_svg(values: &[Option<f64>], labels: &[String], formatted: &[String]) -> String {
    let (width, height, pad) = (160.0, 36.0, 4.0);
    let mut svg = format!(
        r#"<svg class="trend" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">"#
    );
    let Some((min, max)) = range(values) else {
        svg.push_str("<title>no data</title></svg>");
        return svg;
    };
    let n = values.len().max(2) as f64;
    let x = |i: usize| pad + (width - 2.0 * pad) * i as f64 / (n - 1.0);
    let y = |v: f64| {
        if max == min {
            height / 2.0
        } else {
            height - pad - (height - 2.0 * pad) * (v - min) / (max - min)
        }
    };
    let mut path = String::new();
    let mut pen_down = false;
    for (i, v) in values.iter().enumerate() {
        match v.filter(|v| v.is_finite()) {
            Some(v) => {
                let _ = write!(
                    path,
                    "{}{:.1},{:.1} ",
                    if pen_down { "L" } else { "M" },
                    x(i),
                    y(v)
                );
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    let _ = write!(
        svg,
        r#"<path d="{}" fill="none" stroke="currentColor" stroke-width="1.5"/>"#,
        path.trim_end()
    );
    for (i, v) in values.iter().enumerate() {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            let label = labels.get(i).map(String::as_str).unwrap_or("");
            let text = formatted.get(i).map(String::as_str).unwrap_or("");
            let last = i + 1 == values.len();
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="{}"><title>{}: {}</title></circle>"#,
                x(i),
                y(v),
                if last { 3.0 } else { 1.5 },
                escape(label),
                escape(text)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The NPS bar: promoters, passives and detractors as shares of one bar.
pub fn nps_bar_svg(promoters: u64, passives: u64, detractors: u64) -> String {
    let total = (promoters + passives + detractors).max(1) as f64;
    let (width, height) = (300.0, 18.0);
    let parts = [
        (promoters, "#2e7d32", "promoters"),
        (passives, "#9e9e9e", "passives"),
        (detractors, "#c62828", "detractors"),
    ];
    let mut svg = format!(
        r#"<svg class="nps-bar" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img"><title>{promoters} promoters, {passives} passives, {detractors} detractors</title>"#
    );
    let mut x = 0.0;
    for (count, color, name) in parts {
        let w = width * count as f64 / total;
        if w > 0.0 {
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="0" width="{w:.1}" height="{height}" fill="{color}"><title>{count} {name}</title></rect>"#
            );
        }
        x += w;
    }
    svg.push_str("</svg>");
    svg
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_and_show_gaps() {
        assert_eq!(sparkline(&[Some(0.0), None, Some(7.0), Some(3.5)]), "▁·█▅");
        assert_eq!(sparkline(&[None, None]), "");
        assert_eq!(sparkline(&[Some(2.0), Some(2.0)]), "▄▄");
    }

    #[test]
    fn svg_is_well_formed_and_escaped() {
        let svg = trend_svg(
            &[Some(1.0), None, Some(3.0)],
            &["<a>".into(), "b".into(), "c".into()],
            &["1".into(), "".into(), "3".into()],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("&lt;a&gt;") && !svg.contains("<a>"));
        assert_eq!(svg.matches("<circle").count(), 2);
        let bar = nps_bar_svg(70, 20, 10);
        assert_eq!(bar.matches("<rect").count(), 3);
        assert!(bar.contains(r#"width="210.0""#));
    }
}
