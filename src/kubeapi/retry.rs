//! The retry rule for requests made outside the engine's nodes (finding the target, reading
//! what the operator publishes about itself and the Secret values to redact, preflight's reads)
//! and for the several requests of one task (`collect::retry::within`). Which errors are worth
//! another attempt is [`ErrorKind::is_transient`]'s to say; this only says how long to wait.
//!
//! The engine retries whole nodes with its own, longer backoff (`engine::RetryPolicy`); these
//! calls have no node, or are one of several in a node, so without this one 503, 429 or
//! dropped connection would choose the wrong pipeline, fail the run, or leave Secret values out
//! of redaction.

use std::future::Future;
use std::time::Duration;

use super::error::kind_of;
use crate::failure::ErrorKind;

/// Attempts of one request, the first included.
pub const ATTEMPTS: u32 = 5;

/// First backoff: 100 ms, 200 ms, 400 ms, 800 ms, about 1.5 s in all, well inside a request
/// timeout.
pub const BACKOFF: Duration = Duration::from_millis(100);

/// How long to wait before attempt `attempt + 1` after an error of `kind`: the server's
/// `Retry-After` when it gave one, else `backoff` doubled per attempt.
pub fn delay(kind: &ErrorKind, attempt: u32, backoff: Duration) -> Duration {
    kind.retry_after()
        .unwrap_or(backoff * (1 << attempt.saturating_sub(1).min(4)))
}

/// Runs `request` (a call of the kube client) until it succeeds, fails for good, or
/// [`ATTEMPTS`] are used; returns the last error. Callers bound the whole with their request
/// timeout.
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
            Err(e) if attempt < ATTEMPTS => {
                let kind = kind_of(&e);
                if !kind.is_transient() {
                    return Err(e);
                }
                tracing::debug!(attempt, "transient error, retrying: {e}");
                tokio::time::sleep(delay(&kind, attempt, backoff)).await;
                attempt += 1;
            }
            done => return done,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn api(code: u16) -> kube::Error {
        kube::Error::Api(
            kube::core::Status::failure("injected", "x")
                .with_code(code)
                .boxed(),
        )
    }

    #[test]
    fn throttling_waits_the_default_second_and_the_rest_backs_off() {
        assert_eq!(
            delay(&kind_of(&api(429)), 1, BACKOFF),
            Duration::from_secs(1)
        );
        assert_eq!(
            delay(&kind_of(&api(503)), 1, BACKOFF),
            Duration::from_millis(100)
        );
        assert_eq!(
            delay(&kind_of(&api(503)), 4, BACKOFF),
            Duration::from_millis(800)
        );
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
