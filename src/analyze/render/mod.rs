//! Renderings of a report: text (terminal, colour optional), JSON (the versioned schema) and
//! HTML (one self-contained file with an SVG timeline).

pub mod html;
mod json;
pub mod text;

pub use json::render_json;
