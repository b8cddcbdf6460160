//! Pipelines: the YAML description of what a collection does (model), `{{var}}` templates
//! (template), the built-in pipelines (builtin), loading files and merging `extends` (load),
//! reading a document with every structural problem (parse, locate), validation against the task
//! kinds of the `engine::Registry` it is given (validate) and the DAG as Graphviz DOT (graph). Every problem is reported as
//! `file:line:column: message`. docs/pipelines.md is the user's reference.

pub mod builtin;
pub mod error;
pub mod graph;
pub mod load;
pub mod locate;
pub mod model;
pub mod parse;
pub mod ready;
pub mod template;
pub mod validate;

#[cfg(test)]
pub(crate) mod test_kinds;
#[cfg(test)]
mod tests;

pub use builtin::select_for_operator;
pub use error::{PipelineError, Problem};
pub use load::{is_file_spec, load_builtin, load_file, load_str, resolve};
pub use model::{ForEach, Nested, PipelineDoc, PipelineSpec, TaskSpec};
pub use ready::Pipeline;
