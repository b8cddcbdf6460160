//! Retries for the requests a collection makes before its engine runs: finding the target
//! (`target::resolve`), reading what the operator publishes about itself and the Secret values
//! to redact (`opdiag`). The engine retries its own nodes; these calls come first and have no
//! node, so without this one 503, 429 or dropped connection would choose the wrong pipeline,
//! fail the run, or leave Secret values out of redaction.
//!
//! The classification is the engine's (`api::status_error`, `api::kube_error`): 429, 408 and
//! 5xx answers and connection failures are transient, everything else is final.
//!
//! [`within`] does the same for the requests of a task that makes several (`kudo.versions`,
//! describe text): the engine's retry of the node starts all of them over, so with a few
//! percent of failing requests a six-request task would spend its attempts on bad luck.

use std::future::Future;
use std::time::Duration;

use crate::engine::{TaskContext, TaskError};

/// Attempts of one request, the first included.
pub const ATTEMPTS: u32 = 5;

/// What Kubernetes' own clients wait after a 429 whose Retry-After they cannot see (kube's
/// `Error::Api` keeps the status code but not the headers); the API server's default too.
const THROTTLED_DELAY: Duration = Duration::from_secs(1);

/// Whether asking again may succeed.
pub fn is_transient(e: &kube::Error) -> bool {
    use kube::Error as E;
    match e {
        E::Api(s) => s.code == 429 || s.code == 408 || (500..600).contains(&s.code),
        E::HyperError(_) | E::Service(_) | E::ReadEvents(_) => true,
        _ => false,
    }
}

/// First backoff: 100 ms, 200 ms, 400 ms, 800 ms, about 1.5 s in all, well inside a request
/// timeout.
const BACKOFF: Duration = Duration::from_millis(100);

/// How long to wait before attempt `attempt + 1` after `e`.
fn delay(e: &kube::Error, attempt: u32, backoff: Duration) -> Duration {
    match e {
        kube::Error::Api(s) if s.code == 429 => THROTTLED_DELAY,
        _ => backoff * (1 << attempt.saturating_sub(1).min(4)),
    }
}

/// Runs `request` until it succeeds, fails for good, or [`ATTEMPTS`] are used; returns the last
/// error. Callers bound the whole with their request timeout.
pub async fn retrying<T, F, Fut>(request: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    retrying_with(BACKOFF, request).await
}

async fn retrying_with<T, F, Fut>(backoff: Duration, mut request: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let mut attempt = 1;
    loop {
        match request().await {
            Err(e) if attempt < ATTEMPTS && is_transient(&e) => {
                tracing::debug!(attempt, "transient error, retrying: {e}");
                tokio::time::sleep(delay(&e, attempt, backoff)).await;
                attempt += 1;
            }
            done => return done,
        }
    }
}

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
            Err(e) if attempt < ATTEMPTS && e.transient && !ctx.cancel.is_cancelled() => {
                let wait = e
                    .retry_after
                    .unwrap_or(BACKOFF * (1 << (attempt - 1).min(4)));
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn api(code: u16) -> kube::Error {
        kube::Error::Api(
            kube::core::Status::failure("injected", "x")
                .with_code(code)
                .boxed(),
        )
    }

    #[test]
    fn throttling_server_errors_and_timeouts_are_transient_the_rest_final() {
        for code in [429, 408, 500, 503] {
            assert!(is_transient(&api(code)), "{code}");
        }
        for code in [400, 401, 403, 404, 410] {
            assert!(!is_transient(&api(code)), "{code}");
        }
        assert_eq!(delay(&api(429), 1, BACKOFF), THROTTLED_DELAY);
        assert_eq!(delay(&api(503), 1, BACKOFF), Duration::from_millis(100));
        assert_eq!(delay(&api(503), 4, BACKOFF), Duration::from_millis(800));
    }

    #[tokio::test]
    async fn retries_transient_errors_until_an_answer() {
        let calls = AtomicU32::new(0);
        let got = retrying_with(Duration::from_millis(1), || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => Err(api(503)),
                1 => Err(api(500)),
                _ => Ok(7),
            }
        })
        .await;
        assert_eq!(got.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn gives_up_at_once_on_a_final_error_and_after_the_attempts_on_transient_ones() {
        let calls = AtomicU32::new(0);
        let got: Result<(), _> = retrying_with(Duration::from_millis(1), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(api(403))
        })
        .await;
        assert!(matches!(got, Err(kube::Error::Api(s)) if s.code == 403));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        calls.store(0, Ordering::SeqCst);
        let got: Result<(), _> = retrying_with(Duration::from_millis(1), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(api(500))
        })
        .await;
        assert!(got.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), ATTEMPTS);
    }
}
