//! The one path every collect kind takes to the API server: build a request, send it through the
//! run's `kube::Client`, and turn whatever goes wrong into a `TaskError` the engine can act on.
//!
//! Why not `kube::Api` for everything: its errors (`kube::Error::Api`) keep the status code but drop
//! the response headers, and the engine needs `Retry-After` to back off a throttled API server
//! politely. So requests are built with `kube::core::Request` (the same URL and query encoding
//! `Api` uses) and sent with `Client::send`, which hands back the raw response. Exec is the
//! exception (it needs the WebSocket upgrade `Api::exec` does); its errors go through
//! [`kube_error`].

use std::time::Duration;

use bytes::Bytes;
use hyper::body::Body as _;
use hyper::{header, Response, StatusCode};
use kube::client::Body;
use serde_json::Value;

use crate::engine::{TaskContext, TaskError};

/// Largest JSON response read into memory (one list page of 500 objects fits many times over).
/// A bigger answer is a sign of a misbehaving server, and holding it would defeat paging.
pub const MAX_JSON_BYTES: usize = 256 * 1024 * 1024;

/// The run's Kubernetes client, or an error that says how to provide one.
pub fn client(ctx: &TaskContext) -> Result<kube::Client, TaskError> {
    ctx.env.kube.clone().ok_or_else(|| {
        TaskError::permanent(format!(
            "task {} needs a Kubernetes cluster but the run has none: pass --kubeconfig or run against `kudo-diag sim`",
            ctx.task
        ))
    })
}

/// Sends a request and returns the response when its status is 2xx. `what` names the request
/// in errors ("get pod cassandra-0 in namespace prod"). Honours the node's cancellation.
pub async fn send(
    ctx: &TaskContext,
    req: hyper::Request<Vec<u8>>,
    what: &str,
) -> Result<Response<Body>, TaskError> {
    let client = client(ctx)?;
    let res = tokio::select! {
        r = client.send(req.map(Body::from)) => r.map_err(|e| kube_error(e, what))?,
        _ = ctx.cancel.cancelled() => return Err(cancelled(what)),
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
    let bytes = read_limited(ctx, &mut body, 64 * 1024, what)
        .await
        .unwrap_or_default();
    Err(status_error(code, retry_after.as_deref(), &bytes, what))
}

/// Sends a request and parses the 2xx answer as JSON.
pub async fn send_json(
    ctx: &TaskContext,
    req: hyper::Request<Vec<u8>>,
    what: &str,
) -> Result<Value, TaskError> {
    let res = send(ctx, req, what).await?;
    let mut body = res.into_body();
    let bytes = read_limited(ctx, &mut body, MAX_JSON_BYTES, what).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        TaskError::permanent(format!(
            "{what}: the API server answered with something that is not JSON ({e}); check that the kubeconfig points at a Kubernetes API server"
        ))
    })
}

/// The next chunk of a response body, `None` at its end. Cancellation and connection errors
/// become `TaskError`s (transient: a reset in the middle of a body is worth another attempt).
pub async fn next_chunk(
    ctx: &TaskContext,
    body: &mut Body,
    what: &str,
) -> Option<Result<Bytes, TaskError>> {
    loop {
        let frame = tokio::select! {
            f = std::future::poll_fn(|cx| std::pin::Pin::new(&mut *body).poll_frame(cx)) => f,
            _ = ctx.cancel.cancelled() => return Some(Err(cancelled(what))),
        };
        match frame {
            None => return None,
            Some(Err(e)) => return Some(Err(kube_error(e, what))),
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
    ctx: &TaskContext,
    body: &mut Body,
    limit: usize,
    what: &str,
) -> Result<Vec<u8>, TaskError> {
    let mut out = Vec::new();
    while let Some(chunk) = next_chunk(ctx, body, what).await {
        let chunk = chunk?;
        if out.len() + chunk.len() > limit {
            return Err(TaskError::permanent(format!(
                "{what}: the response is larger than {limit} bytes; narrow the request (a label selector, a smaller page)"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn cancelled(what: &str) -> TaskError {
    // Cancellation means the node's timeout expired or the run is stopping; another attempt
    // (with a fresh timeout) may well succeed, a stopping run will not schedule one.
    TaskError::transient(format!(
        "{what}: cancelled (the task's timeout expired or the run was interrupted)"
    ))
}

/// Maps a non-2xx answer to a `TaskError`.
///
/// 429 and 5xx are transient (the server is busy or restarting) and keep its `Retry-After`
/// (header in seconds, else the Status body's `details.retryAfterSeconds`); 408 too. Everything
/// else (400, 401, 403, 404, 410, ...) will not change by asking again: permanent, with the API's
/// own message and what to do about it.
pub fn status_error(
    code: StatusCode,
    retry_after: Option<&str>,
    body: &[u8],
    what: &str,
) -> TaskError {
    let status: Option<Value> = serde_json::from_slice(body).ok();
    let api_message = status
        .as_ref()
        .and_then(|s| s.get("message"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.len() > 300 {
                format!("{}...", truncate(text, 300))
            } else {
                text.to_string()
            }
        });
    let retry_after = retry_after
        .and_then(|v| v.trim().parse::<u64>().ok())
        .or_else(|| {
            status
                .as_ref()
                .and_then(|s| s.pointer("/details/retryAfterSeconds"))
                .and_then(Value::as_u64)
        })
        // A 429 whose Retry-After the client could not see (exec's upgrade error keeps only
        // the status code) waits the API server's default second, not a shorter backoff.
        .or((code == StatusCode::TOO_MANY_REQUESTS).then_some(1))
        .map(Duration::from_secs);
    let n = code.as_u16();
    let detail = if api_message.is_empty() {
        String::new()
    } else {
        format!(": {api_message}")
    };
    // 410 Gone on a paged list: the continue token expired (etcd compacted past it). A new
    // attempt starts the list over, which is the documented remedy.
    let expired_page = n == 410 && what.starts_with("list ");
    let transient = n == 429 || n == 408 || code.is_server_error() || expired_page;
    let hint = match n {
        401 => "; the credentials were refused: refresh the kubeconfig's token or certificate",
        403 => "; the collector's user lacks this permission: grant it (see `kudo-diag preflight`) or mark the task optional",
        // A list has no name to get wrong: a 404 means the resource type is not served.
        404 if what.starts_with("list ") => {
            "; the cluster does not serve this resource: check apiVersion and kind, or install its CRD"
        }
        404 => "; it does not exist (any more): check the name and namespace",
        429 => "; the API server is throttling requests: will retry after its Retry-After",
        410 if expired_page => "; the list changed too much while paging: will start it over",
        _ if transient => "; the API server is unavailable or overloaded: will retry",
        _ => "",
    };
    TaskError {
        message: format!("{what}: {n} {}{detail}{hint}", reason(code)),
        transient,
        retry_after,
    }
}

fn reason(code: StatusCode) -> String {
    code.canonical_reason().unwrap_or("").to_lowercase()
}

/// Maps an error of the kube client (no HTTP answer, or an answer it judged) to a `TaskError`.
/// Connection failures, resets and timeouts are transient; bad configuration and
/// authentication are permanent.
pub fn kube_error(err: kube::Error, what: &str) -> TaskError {
    use kube::Error as E;
    match err {
        E::Api(e) => {
            let code = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = serde_json::json!({"message": e.message}).to_string();
            status_error(code, None, body.as_bytes(), what)
        }
        E::UpgradeConnection(kube::client::UpgradeConnectionError::ProtocolSwitch(code)) => {
            status_error(code, None, b"", what)
        }
        E::UpgradeConnection(e) => TaskError::transient(format!(
            "{what}: the WebSocket upgrade failed ({e}); will retry"
        )),
        E::HyperError(e) => TaskError::transient(format!(
            "{what}: connection to the API server failed ({e}); will retry"
        )),
        E::Service(e) => TaskError::transient(format!(
            "{what}: the request to the API server failed ({e}); will retry"
        )),
        E::ReadEvents(e) => TaskError::transient(format!(
            "{what}: reading the response failed ({e}); will retry"
        )),
        E::Auth(e) => TaskError::permanent(format!(
            "{what}: authentication failed ({e}); fix the kubeconfig's credentials"
        )),
        E::BuildRequest(e) => TaskError::permanent(format!(
            "{what}: the request could not be built ({e}); check the task's parameters"
        )),
        other => TaskError::permanent(format!("{what}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_is_transient_and_keeps_retry_after() {
        let e = status_error(
            StatusCode::TOO_MANY_REQUESTS,
            Some("7"),
            br#"{"kind":"Status","message":"too many requests"}"#,
            "list pods",
        );
        assert!(e.transient);
        assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
        assert!(e
            .message
            .starts_with("list pods: 429 too many requests: too many requests"));
    }

    #[test]
    fn retry_after_falls_back_to_status_details() {
        let e = status_error(
            StatusCode::TOO_MANY_REQUESTS,
            None,
            br#"{"kind":"Status","details":{"retryAfterSeconds":3}}"#,
            "get x",
        );
        assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
        // Neither header nor details (exec's upgrade error): the API server's default second.
        let e = status_error(StatusCode::TOO_MANY_REQUESTS, None, b"", "exec x");
        assert_eq!(e.retry_after, Some(Duration::from_secs(1)));
    }

    #[test]
    fn server_errors_are_transient() {
        for code in [500u16, 502, 503, 504] {
            let e = status_error(StatusCode::from_u16(code).unwrap(), None, b"", "get x");
            assert!(e.transient, "{code} should be transient");
            assert_eq!(e.retry_after, None);
        }
    }

    #[test]
    fn not_found_and_forbidden_are_permanent_with_the_api_message() {
        let e = status_error(
            StatusCode::NOT_FOUND,
            Some("5"),
            br#"{"kind":"Status","message":"pods \"cassandra-9\" not found","code":404}"#,
            "get pod cassandra-9",
        );
        assert!(!e.transient);
        assert!(
            e.message.contains(r#"pods "cassandra-9" not found"#),
            "{}",
            e.message
        );
        assert!(e.message.contains("check the name and namespace"));
        let e = status_error(
            StatusCode::FORBIDDEN,
            None,
            br#"{"kind":"Status","message":"pods is forbidden: User \"x\" cannot list resource \"pods\""}"#,
            "list pods",
        );
        assert!(!e.transient);
        assert!(e.message.contains("cannot list resource"));
        assert!(e.message.contains("grant it"));
    }

    #[test]
    fn an_expired_continue_token_restarts_the_list() {
        let e = status_error(
            StatusCode::GONE,
            None,
            br#"{"kind":"Status","message":"The provided continue parameter is too old to display a consistent list result.","reason":"Expired","code":410}"#,
            "list pods in namespace prod",
        );
        assert!(e.transient, "{}", e.message);
        assert!(e.message.contains("start it over"), "{}", e.message);
        assert!(!status_error(StatusCode::GONE, None, b"", "get pod x").transient);
    }

    #[test]
    fn a_list_of_an_unserved_resource_says_so() {
        let e = status_error(
            StatusCode::NOT_FOUND,
            None,
            b"404 page not found",
            "list widgets",
        );
        assert!(
            e.message.contains("does not serve this resource"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_non_json_error_body_is_quoted_and_truncated() {
        let body = "x".repeat(1000);
        let e = status_error(StatusCode::BAD_GATEWAY, None, body.as_bytes(), "proxy");
        assert!(e.transient);
        assert!(e.message.len() < 500, "{}", e.message);
    }

    #[test]
    fn kube_api_errors_map_by_code() {
        let e = kube_error(
            kube::Error::Api(
                kube::core::Status::failure("etcdserver: request timed out", "InternalError")
                    .with_code(503)
                    .boxed(),
            ),
            "get x",
        );
        assert!(e.transient);
        let e = kube_error(
            kube::Error::UpgradeConnection(kube::client::UpgradeConnectionError::ProtocolSwitch(
                StatusCode::FORBIDDEN,
            )),
            "exec in pod p",
        );
        assert!(!e.transient);
        assert!(e.message.contains("403"));
    }
}
