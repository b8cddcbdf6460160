//! A small evaluator for Go `text/template` with the sprig functions KUDO operator packages use.
//!
//! Why our own: KUDO renders its templates with Go's `text/template` plus sprig, and no Rust crate
//! evaluates Go templates faithfully (tera, handlebars, minijinja and friends have other syntax
//! and other truthiness, printing and whitespace rules). This module implements the subset the
//! real packages use (see tests/data/preflight/operators): actions with pipelines `|`, fields
//! `.A.B` and `$.A`, variables (`$x :=`, `$x =`), `if/else if/else/end`, `range` (lists, maps,
//! with `$i, $v :=`), `with`, `{{-`/`-}}` trimming, comments, and the functions in `funcs`.
//!
//! Values that cannot be known before install (KUDO pipe-task outputs, `.Pipes.*`) are
//! `Value::Unknown`: they print as a visible placeholder and every use is recorded in
//! `Rendered::unknowns`, so the preflight report can say what it could not determine.
//!
//! Architecture: `lex` cuts the source into text and action tokens, `parse` builds the tree
//! (`Template`), `exec` walks it against a `Value`, and `funcs` is the table of callable
//! functions by name, grouped by family in `builtins` (Go's own), `strings`, `math`,
//! `collections` and `encoding` (sprig's).

mod builtins;
mod collections;
mod encoding;
mod exec;
mod funcs;
mod lex;
mod math;
mod parse;
mod strings;
mod value;

pub use exec::Rendered;
pub use parse::Template;
pub use value::{unknown_text, TemplateError, Value};

#[cfg(test)]
mod tests;
