//! Retries within one task: [`within`] runs each request of a task that makes several
//! (`kudo.versions`, describe text) under [`crate::kubeapi::retry`]'s rule, because the engine's
//! retry of the node starts all of them over, so with a few percent of failing requests a
//! six-request task would spend its attempts on bad luck.
//!
//! The requests a collection makes before its engine runs (target resolution, the operator's
//! own diagnostics, Secret values to redact) use [`retrying`], re-exported from the same rule.

use std::future::Future;

use crate::engine::{TaskContext, TaskError};
use crate::kubeapi::retry::{delay, BACKOFF};
pub use crate::kubeapi::retry::{retrying, ATTEMPTS};

/// Runs one request of a multi-request task until it succeeds, fails for good, or
/// [`ATTEMPTS`] are used, waiting the server's Retry-After (else a short backoff) between
/// attempts and giving up at once when the node is cancelled. The last error goes to the
/// engine, which may retry the whole node.
pub async fn within<T, F, Fut>(ctx: &TaskContext, mut request: F) -> Result<T, TaskError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, TaskError>>,
{
    let mut attempt = 1;
    loop {
        match request().await {
            Err(e) if attempt < ATTEMPTS && e.is_transient() && !ctx.cancel.is_cancelled() => {
                let wait = delay(&e.kind, attempt, BACKOFF);
                tracing::debug!(node = %ctx.node, attempt, "transient error, retrying: {e}");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = ctx.cancel.cancelled() => return Err(e),
                }
                attempt += 1;
            }
            done => return done,
        }
    }
}
