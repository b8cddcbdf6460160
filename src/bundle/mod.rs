//! The bundle: artifacts written safely while collecting (sink), the final zip with its manifest
//! (writer), reading and verifying a bundle (reader), redaction of secrets (redact), and the
//! bundle paths more than one module uses (layout), the node context table (nodepods).
//!
//! Architecture: the sink redacts, hashes and deflates every artifact as it is written, so that
//! the writer only copies compressed entries into one zip; the reader is the only way the rest
//! of the tool (analyze, serve, `bundle verify`) opens a bundle, and it treats every bundle as
//! hostile input.

pub mod error;
pub mod layout;
pub mod nesting;
pub mod nodepods;
pub mod pack;
pub mod reader;
pub mod redact;
pub mod sink;
pub mod storage;
pub mod troubleshoot;
pub mod writer;

pub use error::BundleError;
