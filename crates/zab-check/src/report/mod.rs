//! Reports people can read: a self-contained HTML page with an SVG timeline, one lane per
//! client and per server, the offending ops highlighted, epochs and faults marked.

mod html;
mod timeline;

pub use html::render_html;
pub use timeline::{
    history_timeline, operations_timeline, Mark, Rule, RuleKind, Span, SpanStyle, Timeline,
};

use std::path::{Path, PathBuf};

/// Write `timeline` as `<dir>/<name>.html`, creating `dir`. Returns the path written.
pub fn write_report(dir: &Path, name: &str, timeline: &Timeline) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.join(format!("{safe}.html"));
    std::fs::write(&path, render_html(timeline))?;
    Ok(path)
}
