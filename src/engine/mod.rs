//! The engine: expands a pipeline into a DAG of nodes (petgraph), runs ready nodes concurrently
//! on tokio under global and per-class limits, retries transient failures with backoff, records
//! every outcome in a sled journal so `--continue` resumes, and always ends by writing the bundle.
//!
//! - `plan`: the DAG and its bookkeeping (fan-out expansion, stable node ids, readiness).
//! - `scheduler`: the loop that runs nodes under limits, with timeouts and retries.
//! - `streams`: the limits keyed by what an attempt loads: streams per node, commands per pod.
//! - `journal`: the journal (sled meta, the record stream beside it) and its typed claims.
//! - `records`: the journal's record stream: checksummed batches, read back by offset.
//! - `run`: one collection end to end: partial folder, resume modes, archive.
//! - `event`: the events a `Reporter` (progress display, log, tests) receives.
//! - `scope`: dependencies collected in the same run, each under its own prefix.
//! - `notrunning`: tasks skipped because their container was not running, counted apart.
//! - `synthetic`: task kinds that need no cluster, for tests, benchmarks and demos.

pub mod error;
pub mod event;
pub mod journal;
pub mod notrunning;
pub mod plan;
mod records;
pub mod run;
pub mod scheduler;
pub mod scope;
pub mod streams;
pub mod synthetic;
pub mod task;

pub use error::EngineError;
pub use event::{Event, EventLog, Reporter, Silent};
pub use journal::{Journal, JournalMeta, NodeRecord, NodeState, JOURNAL_FORMAT_VERSION};
pub use plan::MAX_FAN_OUT;
pub use run::{run, Ending, ResumeMode, RunConfig, Summary};
pub use scheduler::{
    Counts, Limits, RetryPolicy, DEFAULT_CONCURRENCY, DEFAULT_PER_NODE, DEFAULT_PER_POD,
};
pub use scope::Scope;
pub use streams::{acquire as acquire_stream, StreamPermit};
pub use task::{
    ErrorKind, Items, LogSettings, ParamSpec, Registry, StreamLoad, TaskContext, TaskEnv,
    TaskError, TaskKind, TaskOutput,
};

#[cfg(test)]
mod tests;
