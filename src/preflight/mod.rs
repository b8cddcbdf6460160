//! Preflight (KEP-22 phase one, issue 6): before an operator instance exists, will this KUDO
//! operator, with these parameters, fit in this cluster and be allowed there?
//!
//! Architecture: `package` loads an operator package (folder, .tgz, or an OperatorVersion in the
//! cluster); `params` resolves parameters (defaults, `-p`, `--params-file`) and validates them;
//! `gotmpl` is a Go text/template evaluator with the sprig subset KUDO packages use; `render`
//! renders the templates the deploy plan references and extracts what the operator will ask
//! for (`Requirements`); `cluster` reads the cluster once into `ClusterFacts`; `checks` and
//! `placement` turn requirements and facts into pass/warn/fail `Check`s; `report` prints them as
//! text or versioned JSON. Checks are pure functions of (requirements, facts), so they are unit
//! tested without a server and end to end against the simulated cluster.

pub mod gotmpl;
pub mod package;
pub mod params;
pub mod placement;
pub mod quantity;
pub mod render;

pub use package::Package;
pub use params::{ParamError, ParamInputs, Params};

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
        format!("{} problems with the parameters:\n  {}", lines.len(), lines.join("\n  "))
    }
}

impl From<PreflightError> for crate::Error {
    fn from(e: PreflightError) -> Self {
        match e {
            PreflightError::Params(_) | PreflightError::Package(_) => crate::Error::Usage(e.to_string()),
            other => crate::Error::Other(other.to_string()),
        }
    }
}
