//! The crate's error: one enum that wraps each module's own error, so `main` can print a message a
//! person can act on and pick the exit code. Module errors are kept as they are (`#[from]`), not
//! flattened to text, so a caller can still match on them; `Other` is for what is only printed.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Pipeline(#[from] crate::pipeline::PipelineError),
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error(transparent)]
    Bundle(#[from] crate::bundle::BundleError),
    #[error(transparent)]
    Sim(#[from] crate::sim::SimError),
    #[error(transparent)]
    Target(#[from] crate::collect::target::TargetError),
    #[error(transparent)]
    Preflight(crate::preflight::PreflightError),
    #[error(transparent)]
    Upload(#[from] crate::ship::upload::UploadError),
    #[error(transparent)]
    Retention(#[from] crate::ship::retention::RetentionError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Bad input from the user, with the fix in the message.
    #[error("{0}")]
    Usage(String),
    /// Flags that contradict each other in a way clap cannot see (two spellings of one
    /// setting): a usage error, exit code 2 like clap's own.
    #[error("{0}")]
    Flags(String),
    /// A failure only ever printed (writing to stdout, a signal handler), said in full.
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
