//! Rendering a timeline as one self-contained HTML file (inline SVG, inline CSS, no scripts
//! fetched from anywhere). Hovering an op shows its full description.

use super::timeline::{RuleKind, SpanStyle, Timeline};
use std::fmt::Write;

const LANE_HEIGHT: u64 = 26;
const LABEL_WIDTH: u64 = 110;
const PLOT_WIDTH: u64 = 1400;
const TOP: u64 = 40;
/// Beyond this many ops, only the window around the highlighted ones is drawn.
const SPANS_MAX: usize = 4000;

/// The whole page.
pub fn render_html(timeline: &Timeline) -> String {
    let (from, to) = window(timeline);
    let scale = |t: u64| -> f64 {
        let span = (to - from).max(1) as f64;
        LABEL_WIDTH as f64
            + (t.saturating_sub(from).min(to - from) as f64) * PLOT_WIDTH as f64 / span
    };
    let height = TOP + LANE_HEIGHT * timeline.lanes.len() as u64 + 30;
    let width = LABEL_WIDTH + PLOT_WIDTH + 20;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace" font-size="11">"#
    );
    for (i, lane) in timeline.lanes.iter().enumerate() {
        let y = TOP + LANE_HEIGHT * i as u64;
        let fill = if i % 2 == 0 { "#f6f6f6" } else { "#ffffff" };
        let _ = write!(
            svg,
            r#"<rect x="0" y="{y}" width="{width}" height="{LANE_HEIGHT}" fill="{fill}"/><text x="4" y="{}">{}</text>"#,
            y + 17,
            escape(lane)
        );
    }
    for rule in &timeline.rules {
        if rule.at < from || rule.at > to {
            continue;
        }
        let x = scale(rule.at);
        let (colour, dash) = match rule.kind {
            RuleKind::Fault => ("#d62728", "4,3"),
            RuleKind::Epoch => ("#2ca02c", "1,0"),
        };
        let _ = write!(
            svg,
            r#"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{}" stroke="{colour}" stroke-dasharray="{dash}"><title>{}</title></line><text x="{:.1}" y="{}" fill="{colour}" font-size="10">{}</text>"#,
            TOP - 12,
            height - 20,
            escape(&format!("{} at {}{}", rule.label, rule.at, timeline.unit)),
            x + 2.0,
            TOP - 14 + if rule.kind == RuleKind::Fault { 0 } else { 10 },
            escape(&rule.label)
        );
    }
    for span in &timeline.spans {
        let end = span.end.unwrap_or(to);
        if end < from || span.start > to {
            continue;
        }
        let y = TOP + LANE_HEIGHT * span.lane as u64 + 4;
        let (x1, x2) = (scale(span.start), scale(end).max(scale(span.start) + 2.0));
        let fill = match span.style {
            SpanStyle::Ok => "#9ecae1",
            SpanStyle::Failed => "#fdd0a2",
            SpanStyle::Unknown => "#d9d9d9",
        };
        let (stroke, stroke_width) = if span.highlight {
            ("#d62728", 2.5)
        } else {
            ("#636363", 0.5)
        };
        let dash = if span.end.is_none() {
            r#" stroke-dasharray="3,2""#
        } else {
            ""
        };
        let _ = write!(
            svg,
            r#"<g><title>{}</title><rect x="{x1:.1}" y="{y}" width="{:.1}" height="{}" fill="{fill}" stroke="{stroke}" stroke-width="{stroke_width}"{dash}/>"#,
            escape(&span.detail),
            x2 - x1,
            LANE_HEIGHT - 8
        );
        if x2 - x1 > 40.0 || span.highlight {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{}" clip-path="none">{}</text>"#,
                x1 + 2.0,
                y + 12,
                escape(&span.label)
            );
        }
        svg.push_str("</g>");
    }
    for mark in &timeline.marks {
        if mark.at < from || mark.at > to {
            continue;
        }
        let y = TOP + LANE_HEIGHT * mark.lane as u64;
        let x = scale(mark.at);
        let colour = if mark.highlight { "#d62728" } else { "#393b79" };
        let _ = write!(
            svg,
            r#"<g><title>{}</title><path d="M{x:.1},{} l4,8 l-8,0 z" fill="{colour}"/><text x="{:.1}" y="{}" font-size="9" fill="{colour}">{}</text></g>"#,
            escape(&mark.detail),
            y + 5,
            x + 5.0,
            y + 22,
            escape(&mark.label)
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{LABEL_WIDTH}" y="{}">{from}{unit}</text><text x="{}" y="{}" text-anchor="end">{to}{unit}</text></svg>"#,
        height - 6,
        LABEL_WIDTH + PLOT_WIDTH,
        height - 6,
        unit = escape(&timeline.unit)
    );

    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>\
<style>body{{font-family:sans-serif;margin:1em}} li.v{{color:#a50f15}} .legend span{{padding:0 .6em;margin-right:.5em}}</style>\
</head><body><h1>{title}</h1>",
        title = escape(&timeline.title)
    );
    if timeline.summary.is_empty() {
        page.push_str("<p>No violations.</p>");
    } else {
        page.push_str("<h2>Violations</h2><ul>");
        for line in &timeline.summary {
            let _ = write!(page, "<li class=\"v\">{}</li>", escape(line));
        }
        page.push_str("</ul>");
    }
    let shown = if (from, to) == full_range(timeline) {
        String::new()
    } else {
        format!(" (window {from}–{to}{} around the evidence)", timeline.unit)
    };
    let _ = write!(
        page,
        "<p class=\"legend\"><span style=\"background:#9ecae1\">ok</span><span style=\"background:#fdd0a2\">failed</span>\
<span style=\"background:#d9d9d9\">unknown (dashed: never completed)</span><span style=\"border:2px solid #d62728\">evidence</span>\
<span style=\"color:#d62728\">- - fault</span><span style=\"color:#2ca02c\">| leader established</span>{}</p>{svg}</body></html>",
        escape(&shown)
    );
    page.push('\n');
    page
}

fn full_range(timeline: &Timeline) -> (u64, u64) {
    let times = timeline
        .spans
        .iter()
        .flat_map(|s| [Some(s.start), s.end].into_iter().flatten())
        .chain(timeline.marks.iter().map(|m| m.at))
        .chain(timeline.rules.iter().map(|r| r.at));
    let (mut lo, mut hi) = (u64::MAX, 0);
    for t in times {
        lo = lo.min(t);
        hi = hi.max(t);
    }
    if lo > hi {
        (0, 1)
    } else {
        (lo, hi.max(lo + 1))
    }
}

/// The time range to draw: everything, or around the evidence when there is too much.
fn window(timeline: &Timeline) -> (u64, u64) {
    let full = full_range(timeline);
    if timeline.spans.len() <= SPANS_MAX {
        return full;
    }
    let evidence: Vec<(u64, u64)> = timeline
        .spans
        .iter()
        .filter(|s| s.highlight)
        .map(|s| (s.start, s.end.unwrap_or(s.start)))
        .chain(
            timeline
                .marks
                .iter()
                .filter(|m| m.highlight)
                .map(|m| (m.at, m.at)),
        )
        .collect();
    let Some(lo) = evidence.iter().map(|e| e.0).min() else {
        return full;
    };
    let hi = evidence.iter().map(|e| e.1).max().unwrap_or(lo);
    let pad = ((hi - lo) / 4).max(50);
    (
        lo.saturating_sub(pad).max(full.0),
        (hi + pad).min(full.1).max(lo + 1),
    )
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::timeline::Span;

    #[test]
    fn page_is_self_contained_and_escapes_labels() {
        let timeline = Timeline {
            title: "t <1>".into(),
            unit: "ms".into(),
            summary: vec!["linearizable: read <nil>".into()],
            lanes: vec!["client 1".into()],
            spans: vec![Span {
                lane: 0,
                start: 0,
                end: Some(10),
                label: "read".into(),
                detail: "read -> <nil>".into(),
                style: SpanStyle::Ok,
                highlight: true,
            }],
            marks: vec![],
            rules: vec![],
        };
        let page = render_html(&timeline);
        assert!(page.contains("t &lt;1&gt;"));
        assert!(page.contains("read -&gt; &lt;nil&gt;"));
        assert!(page.contains("#d62728"), "evidence highlighted");
        assert!(!page.contains("<script src"), "no external resources");
        assert!(
            !page.contains("http://") || page.matches("http://").count() == 1,
            "only the SVG namespace"
        );
    }
}
