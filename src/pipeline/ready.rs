//! A pipeline ready to run, with the hash the journal knows it by.

use super::{Problem, TaskSpec};

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
