//! The engine: expands a pipeline into a DAG of nodes (petgraph), runs ready nodes concurrently
//! on tokio under global and per-class limits, retries transient failures with backoff, records
//! every outcome in a sled journal so `--continue` resumes, and always ends by writing the bundle.

pub mod task;

pub use task::{ParamSpec, Registry, TaskContext, TaskEnv, TaskError, TaskKind, TaskOutput};

/// Errors that stop a run as a whole (a single task's failure never does).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Message(String),
}
