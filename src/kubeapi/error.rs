//! The API layer's error: an [`ErrorKind`] (for an answer: its status code, the Status's
//! `reason` and `Retry-After`) and a message that names the request, quotes the API server and
//! says what to do. Whether it is worth another attempt is the kind's to say.

use std::time::Duration;

use hyper::StatusCode;
use serde_json::Value;

use crate::failure::ErrorKind;

/// A request that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
        }
    }

    /// The API server's status code, when it answered.
    pub fn status(&self) -> Option<u16> {
        self.kind.status()
    }

    pub fn is_transient(&self) -> bool {
        self.kind.is_transient()
    }
}

/// What to do when the API server answers the first request with 401 or 403: the credentials,
/// not the network, are the problem (said the same way by every command that connects).
pub const CREDENTIALS_FIX: &str = "check the user and context with `kubectl config view --minify`, and log in again (a token or client certificate may have expired)";

/// What a request addressed, which changes what a 404 means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One object (get, a log, exec, a proxy): a 404 means it does not exist.
    Object,
    /// A collection (list): it has no name to get wrong, so a 404 means the resource type is not
    /// served.
    Collection,
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

/// Maps a non-2xx answer to an [`ApiError`] of kind `Api`, keeping the status code, the Status
/// object's `reason` and the server's `Retry-After` (header in seconds, else the Status body's
/// `details.retryAfterSeconds`; a 429 with neither waits the API server's default second). The
/// message quotes the API's own message and says what to do.
pub fn status_error(
    code: StatusCode,
    retry_after: Option<&str>,
    body: &[u8],
    what: &str,
    scope: Scope,
) -> ApiError {
    let status: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        status
            .as_ref()
            .and_then(|s| s.get(name))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let api_message = field("message").unwrap_or_else(|| {
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
    let kind = ErrorKind::api(
        code.as_u16(),
        field("reason").unwrap_or_default(),
        retry_after,
    );
    let detail = if api_message.is_empty() {
        String::new()
    } else {
        format!(": {api_message}")
    };
    let hint = hint(&kind, scope);
    ApiError {
        message: format!("{what}: {} {}{detail}{hint}", code.as_u16(), reason(code)),
        kind,
    }
}

/// What to do about an answer, by its kind.
fn hint(kind: &ErrorKind, scope: Scope) -> &'static str {
    match (kind.status().unwrap_or(0), scope) {
        (401, _) => "; the credentials were refused: refresh the kubeconfig's token or certificate",
        (403, _) => "; the collector's user lacks this permission: grant it (see `kudo-diag preflight`) or mark the task optional",
        (404, Scope::Collection) => {
            "; the cluster does not serve this resource: check apiVersion and kind, or install its CRD"
        }
        (404, Scope::Object) => "; it does not exist (any more): check the name and namespace",
        (429, _) => "; the API server is throttling requests: will retry after its Retry-After",
        (410, _) if kind.is_transient() => "; the list changed too much while paging: will start it over",
        _ if kind.is_transient() => "; the API server is unavailable or overloaded: will retry",
        _ => "",
    }
}

fn reason(code: StatusCode) -> String {
    code.canonical_reason().unwrap_or("").to_lowercase()
}

/// An error with its causes, `error: cause: cause`. The HTTP client's errors name only their
/// stage (`client error (SendRequest)`); what happened (`connection closed before message
/// completed`, `Connection reset by peer`) is in their sources. A cause its error's text
/// already holds is not said twice.
fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !text.is_empty() && !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

/// Maps an error of the kube client (no HTTP answer, or an answer it judged) to an
/// [`ApiError`]: an answer keeps its status; connection failures, resets and upgrade failures
/// are `Transport`; bad configuration and authentication are `Invalid`.
pub fn kube_error(err: kube::Error, what: &str, scope: Scope) -> ApiError {
    use kube::Error as E;
    let transport = |m: String| ApiError::new(ErrorKind::Transport, m);
    match err {
        E::Api(e) => {
            let code = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = serde_json::json!({"message": e.message, "reason": e.reason}).to_string();
            status_error(code, None, body.as_bytes(), what, scope)
        }
        E::UpgradeConnection(kube::client::UpgradeConnectionError::ProtocolSwitch(code)) => {
            status_error(code, None, b"", what, scope)
        }
        E::UpgradeConnection(e) => transport(format!(
            "{what}: the WebSocket upgrade failed ({}); will retry",
            with_causes(&e)
        )),
        E::HyperError(e) => transport(format!(
            "{what}: connection to the API server failed ({}); will retry",
            with_causes(&e)
        )),
        E::Service(e) => transport(format!(
            "{what}: the request to the API server failed ({}); will retry",
            with_causes(&*e)
        )),
        E::ReadEvents(e) => transport(format!(
            "{what}: reading the response failed ({}); will retry",
            with_causes(&e)
        )),
        E::Auth(e) => ApiError::new(
            ErrorKind::Invalid,
            format!("{what}: authentication failed ({e}); fix the kubeconfig's credentials"),
        ),
        E::BuildRequest(e) => ApiError::new(
            ErrorKind::Invalid,
            format!("{what}: the request could not be built ({e}); check the task's parameters"),
        ),
        other => ApiError::new(ErrorKind::Failed, format!("{what}: {other}")),
    }
}

/// The kind of a kube client error, without building a message (for retry decisions).
pub fn kind_of(err: &kube::Error) -> ErrorKind {
    use kube::Error as E;
    match err {
        E::Api(e) => {
            let retry_after = (e.code == 429).then_some(Duration::from_secs(1));
            ErrorKind::api(e.code, e.reason.clone(), retry_after)
        }
        E::UpgradeConnection(kube::client::UpgradeConnectionError::ProtocolSwitch(code)) => {
            ErrorKind::api(code.as_u16(), "", None)
        }
        E::UpgradeConnection(_) | E::HyperError(_) | E::Service(_) | E::ReadEvents(_) => {
            ErrorKind::Transport
        }
        E::Auth(_) | E::BuildRequest(_) => ErrorKind::Invalid,
        _ => ErrorKind::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OBJ: Scope = Scope::Object;

    #[test]
    fn throttling_is_transient_and_keeps_retry_after() {
        let e = status_error(
            StatusCode::TOO_MANY_REQUESTS,
            Some("7"),
            br#"{"kind":"Status","message":"too many requests","reason":"TooManyRequests"}"#,
            "list pods",
            Scope::Collection,
        );
        assert!(e.is_transient());
        assert_eq!(
            e.kind,
            ErrorKind::api(429, "TooManyRequests", Some(Duration::from_secs(7)))
        );
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
            OBJ,
        );
        assert_eq!(e.kind.retry_after(), Some(Duration::from_secs(3)));
        // Neither header nor details (exec's upgrade error): the API server's default second.
        let e = status_error(StatusCode::TOO_MANY_REQUESTS, None, b"", "exec x", OBJ);
        assert_eq!(e.kind.retry_after(), Some(Duration::from_secs(1)));
    }

    #[test]
    fn server_errors_are_transient() {
        for code in [500u16, 502, 503, 504] {
            let e = status_error(StatusCode::from_u16(code).unwrap(), None, b"", "get x", OBJ);
            assert!(e.is_transient(), "{code} should be transient");
            assert_eq!(e.status(), Some(code));
            assert_eq!(e.kind.retry_after(), None);
        }
    }

    #[test]
    fn not_found_and_forbidden_are_permanent_with_the_api_message() {
        let e = status_error(
            StatusCode::NOT_FOUND,
            Some("5"),
            br#"{"kind":"Status","message":"pods \"cassandra-9\" not found","reason":"NotFound","code":404}"#,
            "get pod cassandra-9",
            OBJ,
        );
        assert!(!e.is_transient());
        assert_eq!(e.status(), Some(404));
        assert!(matches!(&e.kind, ErrorKind::Api { reason, .. } if reason == "NotFound"));
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
            Scope::Collection,
        );
        assert!(!e.is_transient());
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
            Scope::Collection,
        );
        assert!(e.is_transient(), "{}", e.message);
        assert!(e.message.contains("start it over"), "{}", e.message);
        assert!(!status_error(StatusCode::GONE, None, b"", "get pod x", OBJ).is_transient());
    }

    #[test]
    fn a_list_of_an_unserved_resource_says_so() {
        let e = status_error(
            StatusCode::NOT_FOUND,
            None,
            b"404 page not found",
            "list widgets",
            Scope::Collection,
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
        let e = status_error(StatusCode::BAD_GATEWAY, None, body.as_bytes(), "proxy", OBJ);
        assert!(e.is_transient());
        assert!(e.message.len() < 500, "{}", e.message);
    }

    #[test]
    fn a_transport_error_says_its_causes_once() {
        /// An error that names only its stage, as the HTTP client's do.
        #[derive(Debug)]
        struct Stage(std::io::Error);
        impl std::fmt::Display for Stage {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("client error (SendRequest)")
            }
        }
        impl std::error::Error for Stage {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let reset = std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "connection reset by peer",
        );
        let e = kube_error(
            kube::Error::Service(Box::new(Stage(reset))),
            "get instance c",
            OBJ,
        );
        assert_eq!(e.kind, ErrorKind::Transport);
        assert_eq!(
            e.message,
            "get instance c: the request to the API server failed (client error (SendRequest): connection reset by peer); will retry"
        );
        assert_eq!(
            with_causes(&Stage(std::io::Error::other("client error"))),
            "client error (SendRequest)"
        );
    }

    #[test]
    fn kube_errors_map_to_kinds() {
        let api = kube::Error::Api(
            kube::core::Status::failure("etcdserver: request timed out", "InternalError")
                .with_code(503)
                .boxed(),
        );
        assert_eq!(kind_of(&api), ErrorKind::api(503, "InternalError", None));
        let e = kube_error(api, "get x", OBJ);
        assert!(e.is_transient());
        assert_eq!(e.kind, ErrorKind::api(503, "InternalError", None));
        let forbidden = || {
            kube::Error::UpgradeConnection(kube::client::UpgradeConnectionError::ProtocolSwitch(
                StatusCode::FORBIDDEN,
            ))
        };
        assert_eq!(kind_of(&forbidden()).status(), Some(403));
        let e = kube_error(forbidden(), "exec in pod p", OBJ);
        assert!(!e.is_transient());
        assert_eq!(e.status(), Some(403));
        assert!(e.message.contains("403"));
        let e = kube_error(
            kube::Error::UpgradeConnection(
                kube::client::UpgradeConnectionError::MissingUpgradeWebSocketHeader,
            ),
            "exec",
            OBJ,
        );
        assert_eq!(e.kind, ErrorKind::Transport);
    }
}
