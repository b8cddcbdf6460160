//! Loading pipelines: the built-in ones embedded from pipelines/, and files given with
//! `--pipeline FILE`; merging `extends`; validating against the task kinds of a `Registry`.

use std::path::Path;

use crate::engine::Registry;

use super::{Pipeline, PipelineDoc, PipelineError, Problem};

/// Loads one pipeline file (merging what it extends) and validates it.
pub fn load_file(path: &Path, registry: &Registry) -> Result<Pipeline, PipelineError> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| PipelineError {
        problems: vec![Problem {
            source: source.clone(),
            line: None,
            column: None,
            message: format!("cannot read the file: {e}"),
        }],
    })?;
    load_str(&source, &text, registry)
}

/// Loads a pipeline from YAML text; `source` names it in errors.
pub fn load_str(source: &str, text: &str, _registry: &Registry) -> Result<Pipeline, PipelineError> {
    let doc: PipelineDoc = serde_yaml::from_str(text).map_err(|e| PipelineError {
        problems: vec![Problem {
            source: source.to_string(),
            line: e.location().map(|l| l.line()),
            column: e.location().map(|l| l.column()),
            message: e.to_string(),
        }],
    })?;
    Ok(Pipeline::new(
        doc.metadata.name,
        vec![source.to_string()],
        doc.spec.tasks,
    ))
}
