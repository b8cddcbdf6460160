//! Pipelines: the YAML description of what a collection does (model), `{{var}}` templates
//! (template), the built-in pipelines (builtin), loading files and merging `extends` (load),
//! reading a document with every structural problem (parse, locate), validation against the task
//! kinds of the `engine::Registry` it is given (validate) and the DAG as Graphviz DOT (graph). Every problem is reported as
//! `file:line:column: message`. docs/pipelines.md is the user's reference.

pub mod builtin;
pub mod graph;
pub mod load;
pub mod locate;
pub mod model;
pub mod parse;
pub mod template;
pub mod validate;

#[cfg(test)]
pub(crate) mod test_kinds;
#[cfg(test)]
mod tests;

pub use builtin::select_for_operator;
pub use load::{is_file_spec, load_builtin, load_file, load_str, resolve};
pub use model::{ForEach, Nested, PipelineDoc, PipelineSpec, TaskSpec};

/// A pipeline ready to run: `extends` merged, validated, with a hash that identifies it in the
/// journal (a resumed run must use the same pipeline).
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub name: String,
    /// Where each part came from (`builtin:kudo`, a file path), base first.
    pub sources: Vec<String>,
    pub tasks: Vec<TaskSpec>,
    /// blake3 of the canonical JSON of `tasks`.
    pub hash: String,
    /// What validation warns about without refusing the pipeline (`validate::warnings`).
    pub warnings: Vec<Problem>,
}

impl Pipeline {
    /// Builds a pipeline from tasks already merged and validated, computing its hash.
    pub fn new(name: impl Into<String>, sources: Vec<String>, tasks: Vec<TaskSpec>) -> Self {
        let canonical = serde_json::to_vec(&tasks).expect("task specs serialize");
        let hash = blake3::hash(&canonical).to_hex().to_string();
        Pipeline {
            name: name.into(),
            sources,
            tasks,
            hash,
            warnings: Vec::new(),
        }
    }
}

/// Everything wrong with a pipeline, all of it, not only the first problem.
#[derive(Debug, thiserror::Error)]
#[error("{}", render_problems(.problems))]
pub struct PipelineError {
    pub problems: Vec<Problem>,
}

/// One problem, located where possible (`file:line:column: message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub source: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

fn render_problems(problems: &[Problem]) -> String {
    let mut s = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s.push_str(&p.to_string());
    }
    s
}
