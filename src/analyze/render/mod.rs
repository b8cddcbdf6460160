//! Renderings of a report: text (terminal, colour optional), JSON (the versioned schema) and
//! HTML (one self-contained file with an SVG timeline).

pub mod html;
pub mod text;

/// The report as pretty JSON (schema: docs/analyzers.md).
pub fn render_json(r: &super::model::Report) -> String {
    let mut s = serde_json::to_string_pretty(r).expect("a report always serializes");
    s.push('\n');
    s
}
