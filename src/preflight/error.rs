//! The errors that stop a preflight, and how they map to the crate's error.

use super::gotmpl;
use super::params::ParamError;

/// Errors that stop a preflight before any check can run (bad package, parameters or
/// templates, unreachable cluster). Check failures are not errors: they are in the report.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error("{0}")]
    Package(String),
    #[error("{}", params_text(.0))]
    Params(Vec<ParamError>),
    #[error("failed to render the operator's templates: {0}; fix the template or the parameters it uses")]
    Template(#[from] gotmpl::TemplateError),
    #[error("{0}")]
    Render(String),
    #[error("{0}")]
    Cluster(String),
}

fn params_text(errs: &[ParamError]) -> String {
    let lines: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    if lines.len() == 1 {
        lines[0].clone()
    } else {
        format!(
            "{} problems with the parameters:\n  {}",
            lines.len(),
            lines.join("\n  ")
        )
    }
}

impl From<PreflightError> for crate::Error {
    fn from(e: PreflightError) -> Self {
        match e {
            PreflightError::Params(_) | PreflightError::Package(_) => {
                crate::Error::Usage(e.to_string())
            }
            other => crate::Error::Preflight(other),
        }
    }
}
