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
    /// `details` of the Status: the object's group, resource and name, when there is one
    /// (boxed: handlers return `Result<_, ApiStatus>` everywhere, and it keeps that small).
    pub details: Option<Box<Details>>,
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

    /// `pods "x" not found`, `daemonsets.apps "x" not found`: the API server names the
    /// resource with its group (apimachinery `errors.NewNotFound`, `GroupResource.String()`).
    pub fn not_found(group: &str, resource: &str, name: &str) -> Self {
        let mut s = Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", qualified(group, resource)),
        );
        s.details = Some(Box::new(Details::new(group, resource, name)));
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
        if let Some(d) = &self.details {
            v["details"] = json!({"name": d.name, "kind": d.kind});
            if !d.group.is_empty() {
                v["details"]["group"] = json!(d.group);
            }
        }
        if let Some(s) = self.retry_after {
            v["details"]["retryAfterSeconds"] = json!(s);
        }
        v
    }
}

/// The `details` of a Status: `kind` is the resource (`daemonsets`), as the API server writes
/// it, `group` is left out for the core group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Details {
    pub group: String,
    pub kind: String,
    pub name: String,
}

impl Details {
    pub fn new(group: &str, resource: &str, name: &str) -> Details {
        Details {
            group: group.into(),
            kind: resource.into(),
            name: name.into(),
        }
    }
}

/// `pods`, `daemonsets.apps`: a resource as messages name it (`GroupResource.String()`).
pub fn qualified(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_names_the_group_as_the_api_server_does() {
        let s = ApiStatus::not_found("apps", "daemonsets", "x");
        assert_eq!(s.message, "daemonsets.apps \"x\" not found");
        assert_eq!(
            s.body()["details"],
            json!({"name": "x", "group": "apps", "kind": "daemonsets"})
        );
        let core = ApiStatus::not_found("", "pods", "p").body();
        assert_eq!(core["message"], "pods \"p\" not found");
        assert!(core["details"].get("group").is_none());
    }
}
