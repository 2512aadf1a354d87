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
/// per point (shown on hover, read by screen readers); with a goal, a dashed line at
/// the goal (the scale always includes it).
pub fn trend_svg(
    values: &[Option<f64>],
    labels: &[String],
    formatted: &[String],
    goal: Option<(f64, &str)>,
) -> String {
    let (width, height, pad) = (160.0, 36.0, 4.0);
    let mut svg = format!(
        r#"<svg class="trend" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">"#
    );
    let Some((min, max)) = range(values) else {
        svg.push_str("<title>no data</title></svg>");
        return svg;
    };
    let (min, max) = match goal {
        Some((goal, _)) => (min.min(goal), max.max(goal)),
        None => (min, max),
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
    if let Some((goal, text)) = goal {
        let _ = write!(
            svg,
            r##"<line class="goal" x1="{pad}" y1="{y:.1}" x2="{x2}" y2="{y:.1}" stroke="#a15c00" stroke-width="1" stroke-dasharray="3 2"><title>{}</title></line>"##,
            escape(text),
            y = y(goal),
            x2 = width - pad,
        );
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

/// Horizontal bars, one per label, their lengths proportional to the counts, each
/// with its label and count as text (readable in print and by screen readers).
pub fn bars_svg(bars: &[(String, u64)]) -> String {
    let (width, row, label_width, count_width) = (420.0, 18.0, 130.0, 50.0);
    let height = row * bars.len().max(1) as f64;
    let largest = bars.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1) as f64;
    let mut svg = format!(
        r#"<svg class="bars" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" font-size="11">"#
    );
    for (i, (label, count)) in bars.iter().enumerate() {
        let top = row * i as f64;
        let length = (width - label_width - count_width) * *count as f64 / largest;
        let _ = write!(
            svg,
            r##"<text x="0" y="{text_y:.1}">{label}</text><rect x="{label_width}" y="{bar_y:.1}" width="{length:.1}" height="{bar_h:.1}" fill="#1f5fa8"><title>{label}: {count}</title></rect><text x="{count_x:.1}" y="{text_y:.1}">{count}</text>"##,
            label = escape(label),
            text_y = top + row - 5.0,
            bar_y = top + 3.0,
            bar_h = row - 6.0,
            count_x = label_width + length + 4.0,
        );
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
            None,
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("&lt;a&gt;") && !svg.contains("<a>"));
        assert_eq!(svg.matches("<circle").count(), 2);
        // The goal line sits on the scale: a goal above every value is the top edge.
        let with_goal = trend_svg(
            &[Some(80.0), Some(90.0)],
            &[],
            &[],
            Some((95.0, "goal 95.0 %")),
        );
        assert!(
            with_goal.contains(r#"y1="4.0""#) && with_goal.contains("<title>goal 95.0 %</title>")
        );
        let bars = bars_svg(&[("network".into(), 30), ("<other>".into(), 15)]);
        assert_eq!(bars.matches("<rect").count(), 2);
        assert!(bars.contains(r#"width="240.0""#) && bars.contains(r#"width="120.0""#));
        assert!(bars.contains("&lt;other&gt;"));
        let bar = nps_bar_svg(70, 20, 10);
        assert_eq!(bar.matches("<rect").count(), 3);
        assert!(bar.contains(r#"width="210.0""#));
    }
}
