//! The JSON report: the `Report` model as it serializes (schema in docs/analyzers.md).

/// The report as pretty JSON, ending with a newline.
pub fn render_json(r: &crate::analyze::model::Report) -> String {
    let mut s = serde_json::to_string_pretty(r).expect("a report always serializes");
    s.push('\n');
    s
}
