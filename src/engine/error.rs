//! The errors that stop a run as a whole.

/// Errors that stop a run as a whole (a single task's failure never does), by what a caller
/// can do about them.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A fresh run found an unfinished collection for its output.
    #[error("an unfinished collection for {output} exists in {}: resume it with `--continue`, or discard it with `--force`", partial.display())]
    PartialExists {
        output: String,
        partial: std::path::PathBuf,
    },
    /// A fresh run found its bundle already written.
    #[error("{output} already exists: write the bundle elsewhere with --bundle FILE.zip or --bundle-dir DIR, or replace it with `--force`")]
    OutputExists { output: String },
    /// `--continue` on a collection of another target or pipeline; the message names both.
    #[error("{0}")]
    OtherCollection(String),
    /// The journal cannot be used: another format version, unreadable, locked or failing.
    #[error("{0}")]
    Journal(String),
    /// The pipeline cannot be planned (run variables, task names, `needs`, a cycle).
    #[error("{0}")]
    Plan(String),
    /// A file or folder of the collection could not be read or written.
    /// A full disk or a read-only folder is described with the fix (free space, `--continue`).
    #[error("{}", crate::bundle::storage::describe(path, source, None))]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The working folder could not be created where the bundle goes.
    #[error("cannot create the collection's working folder {}: {}; write the bundle somewhere writable with --bundle FILE.zip or --bundle-dir DIR", path.display(), crate::bundle::storage::plain(source))]
    WorkingFolder {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The artifact store failed.
    #[error(transparent)]
    Bundle(#[from] crate::bundle::BundleError),
    /// The bundle could not be written (the partial folder is kept: `--continue` retries).
    #[error("cannot write the bundle: {0}")]
    WriteBundle(#[source] crate::bundle::BundleError),
    /// A bug in kudo-diag or a task kind (a panic, a node finished twice, a stalled loop).
    #[error("{0}")]
    Internal(String),
}
