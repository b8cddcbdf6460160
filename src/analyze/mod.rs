//! `kudo-diag analyze`: turn a bundle into a report that explains what is wrong (KEP-22's third
//! phase).
//!
//! Architecture: `source` reads the bundle through the hostile-input reader (caps, manifest
//! hashes); `context` parses what most rules need once; `rules/` holds the built-in analyzers
//! written in Rust (pods, workload and nodes, KUDO, applications, the collection itself);
//! `custom` runs rules written in YAML (built-in ones in analyzers/builtin.rules.yaml and
//! operator developers' own); `timeline` gathers events, restarts and plan updates; `model` is
//! the report, and `render/` turns it into text, JSON or HTML.

pub mod advice;
pub mod analysis;
pub mod context;
pub mod custom;
pub mod diff;
pub mod links;
pub mod model;
pub mod render;
pub mod rules;
pub mod source;
pub mod timeline;
pub mod troubleshoot;

#[cfg(test)]
mod diagnosis_tests;
#[cfg(test)]
mod fault_tests;
#[cfg(test)]
mod tests;

pub use analysis::{analyze_bundle, analyze_bundle_with, analyze_source, Options};
pub use model::{Finding, Fix, ParamChange, Report, Severity, REPORT_SCHEMA_VERSION};
pub use render::html::render_html;
pub use render::render_json;
pub use render::text::render_text;
