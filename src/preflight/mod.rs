//! Preflight (KEP-22 phase one, issue 6): before an operator instance exists, will this KUDO
//! operator, with these parameters, fit in this cluster and be allowed there?
//!
//! Architecture: `package` loads an operator package (folder, .tgz, or an OperatorVersion in the
//! cluster); `params` resolves parameters (defaults, `-p`, `--params-file`) and validates them;
//! `gotmpl` is a Go text/template evaluator with the sprig subset KUDO packages use; `render`
//! renders the templates the deploy plan references and extracts what the operator will ask
//! for (`Requirements`); `cluster` reads the cluster once into `ClusterFacts`; `checks` and
//! `placement` turn requirements and facts into pass/warn/fail `Check`s; `report` prints them as
//! text or versioned JSON; `run` does these steps in order. Checks are pure functions of
//! (requirements, facts), so they are unit tested without a server and end to end against the
//! simulated cluster.

pub mod checks;
pub mod cluster;
mod error;
pub mod gotmpl;
pub mod package;
pub mod params;
pub mod placement;
pub mod quantity;
pub mod render;
pub mod report;
mod run;

pub use error::PreflightError;
pub use package::Package;
pub use params::{ParamError, ParamInputs, Params};
pub use report::Report;
pub use run::{run, run_offline, Options};
