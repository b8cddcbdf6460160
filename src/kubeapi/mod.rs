//! The one way kudo-diag talks to the Kubernetes API server: building paths with one
//! percent-encoding of names ([`path`]), sending through the run's `kube::Client` and reading
//! bounded answers ([`send`]), turning whatever goes wrong into an [`ApiError`] whose
//! [`ErrorKind`](crate::failure::ErrorKind) says what happened ([`error`]), and one retry rule
//! for requests made outside the engine ([`retry`]).
//!
//! ## Architecture
//!
//! It sits below both `collect` (task kinds, target resolution) and `preflight` (its
//! `ApiReader`), and `opdiag` builds its paths here: so preflight does not import collect's task
//! kinds to reach the cluster, and a change to how an answer is classified is made once. It
//! depends only on `failure` (the shared error kinds), never on the engine: a task's
//! `TaskError` is made from an [`ApiError`] by `collect::api`.

pub mod error;
pub mod path;
pub mod retry;
pub mod send;

pub use error::{kube_error, status_error, ApiError, Scope, CREDENTIALS_FIX};
pub use retry::retrying;
pub use send::{next_chunk, read_limited, send, MAX_JSON_BYTES};
