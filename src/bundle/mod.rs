//! The bundle: artifacts written safely while collecting (sink), the final zip with its manifest
//! (writer), reading and verifying a bundle (reader), and redaction of secrets.

pub mod sink;
pub mod writer;

/// Errors of the bundle layer.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{0}")]
    Message(String),
}
