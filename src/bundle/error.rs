//! The errors of the bundle layer, by what a caller can do about them.

use std::path::PathBuf;

/// Errors of the bundle layer.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// A file or folder of the bundle or of the artifact store could not be read or written.
    /// A full disk or a read-only folder is described with the fix; `needed` is about how many
    /// bytes the write needed, when known.
    #[error("{}", super::storage::describe(path, source, *needed))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
        needed: Option<u64>,
    },
    /// A file of the collection could not be written; the message is the path and the error.
    #[error("{}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A bundle could not be opened.
    #[error("cannot open bundle {shown}: {source}")]
    Open {
        shown: String,
        #[source]
        source: std::io::Error,
    },
    /// A hostile bundle or one over a limit: rejected before anything is read from it.
    #[error("{0}")]
    Refused(String),
    /// A damaged bundle or stored artifact (truncated, not a zip, malformed metadata).
    #[error("{0}")]
    Corrupt(String),
    /// The bundle has no file at the asked path.
    #[error("{0}")]
    Missing(String),
    /// A bundle path that is not relative, `/`-separated and free of `.`, `..` or empty segments.
    #[error("invalid bundle path {path:?}: use a relative path with `/` separators and no `.`, `..` or empty segments")]
    UnsafePath { path: String },
    /// A bundle path kept for kudo-diag's own files.
    #[error(
        "bundle path {path:?} is reserved for kudo-diag's own files; choose another `output` path"
    )]
    ReservedPath { path: String },
    /// Two tasks wrote the same bundle path.
    #[error("two tasks wrote the same bundle path {path} ({first} and {second}); give them distinct `output` paths")]
    DuplicatePath {
        path: String,
        first: String,
        second: String,
    },
    /// A redaction pattern does not compile.
    #[error("{0}")]
    Redaction(String),
    /// The zip library failed for another reason than I/O.
    #[error("{0}")]
    Zip(String),
}
