//! Sending one request and reading its answer, bounded.
//!
//! Why not `kube::Api` for everything: its errors (`kube::Error::Api`) keep the status code but
//! drop the response headers, and a throttled API server's `Retry-After` is needed to back off
//! politely. So requests are built as `http::Request`s (with `kube::core::Request` or
//! [`super::path`]) and sent with `Client::send`, which hands back the raw response. Exec is the
//! exception (it needs the WebSocket upgrade `Api::exec` does); its errors go through
//! [`super::kube_error`].

use bytes::Bytes;
use hyper::body::Body as _;
use hyper::{header, Response};
use kube::client::Body;
use tokio_util::sync::CancellationToken;

use super::error::{kube_error, status_error, ApiError, Scope};
use crate::failure::ErrorKind;

/// Largest JSON response read into memory (one list page of 500 objects fits many times over).
/// A bigger answer is a sign of a misbehaving server, and holding it would defeat paging.
pub const MAX_JSON_BYTES: usize = 256 * 1024 * 1024;

/// Sends a request and returns the response when its status is 2xx. `what` names the request
/// in errors ("get pod cassandra-0 in namespace prod"). Gives up when `cancel` fires.
pub async fn send(
    client: &kube::Client,
    cancel: &CancellationToken,
    req: hyper::Request<Vec<u8>>,
    what: &str,
    scope: Scope,
) -> Result<Response<Body>, ApiError> {
    let res = tokio::select! {
        r = client.send(req.map(Body::from)) => r.map_err(|e| kube_error(e, what, scope))?,
        _ = cancel.cancelled() => return Err(cancelled(what)),
    };
    if res.status().is_success() {
        return Ok(res);
    }
    let code = res.status();
    let retry_after = res
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut body = res.into_body();
    // The error body is a small Status object; read at most 64 KiB of it.
    let bytes = read_limited(cancel, &mut body, 64 * 1024, what)
        .await
        .unwrap_or_default();
    Err(status_error(
        code,
        retry_after.as_deref(),
        &bytes,
        what,
        scope,
    ))
}

/// The next chunk of a response body, `None` at its end. A reset in the middle of a body is a
/// `Transport` error, worth another attempt.
pub async fn next_chunk(
    cancel: &CancellationToken,
    body: &mut Body,
    what: &str,
) -> Option<Result<Bytes, ApiError>> {
    loop {
        let frame = tokio::select! {
            f = std::future::poll_fn(|cx| std::pin::Pin::new(&mut *body).poll_frame(cx)) => f,
            _ = cancel.cancelled() => return Some(Err(cancelled(what))),
        };
        match frame {
            None => return None,
            Some(Err(e)) => return Some(Err(kube_error(e, what, Scope::Object))),
            Some(Ok(frame)) => {
                // Trailers carry no data; keep reading.
                if let Ok(data) = frame.into_data() {
                    return Some(Ok(data));
                }
            }
        }
    }
}

/// Reads a whole body, failing once it grows past `limit` bytes.
pub async fn read_limited(
    cancel: &CancellationToken,
    body: &mut Body,
    limit: usize,
    what: &str,
) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    while let Some(chunk) = next_chunk(cancel, body, what).await {
        let chunk = chunk?;
        if out.len() + chunk.len() > limit {
            return Err(ApiError::new(ErrorKind::Invalid, format!(
                "{what}: the response is larger than {limit} bytes; narrow the request (a label selector, a smaller page)"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Cancellation means the node's timeout expired or the run is stopping; another attempt (with
/// a fresh timeout) may well succeed, a stopping run will not schedule one.
pub fn cancelled(what: &str) -> ApiError {
    ApiError::new(
        ErrorKind::Cancelled,
        format!("{what}: cancelled (the task's timeout expired or the run was interrupted)"),
    )
}
