//! `metav1.Status` errors exactly as a real API server writes them.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An API error: HTTP code, the `reason` kubectl and kube-rs switch on, and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiStatus {
    pub code: u16,
    /// `NotFound`, `Forbidden`, `TooManyRequests`, `InternalError`, `BadRequest`, `Unauthorized`, ...
    pub reason: &'static str,
    pub message: String,
    /// `details` of the Status: the object's kind and name, when there is one.
    pub details: Option<(String, String)>,
    /// Seconds for Retry-After (429, 503).
    pub retry_after: Option<u64>,
}

impl ApiStatus {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiStatus {
            code,
            reason,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    /// `pods "x" not found`, the way the API server phrases it.
    pub fn not_found(resource: &str, name: &str) -> Self {
        let mut s = Self::new(404, "NotFound", format!("{resource} \"{name}\" not found"));
        s.details = Some((resource.to_string(), name.to_string()));
        s
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    pub fn too_many_requests(retry_after: u64) -> Self {
        let mut s = Self::new(
            429,
            "TooManyRequests",
            "the server has received too many requests and has asked us to try again later",
        );
        s.retry_after = Some(retry_after);
        s
    }

    /// The Status object as JSON.
    pub fn body(&self) -> serde_json::Value {
        let mut v = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some((kind, name)) = &self.details {
            v["details"] = json!({"name": name, "kind": kind});
        }
        if let Some(s) = self.retry_after {
            v["details"]["retryAfterSeconds"] = json!(s);
        }
        v
    }
}

impl IntoResponse for ApiStatus {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (code, axum::Json(self.body())).into_response();
        if let Some(s) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}
