//! The API server's service proxy (`/api/v1/namespaces/NS/services/[SCHEME:]NAME:PORT/proxy/PATH`),
//! answered from the scenario's scripted `http` handlers: what `kubectl get --raw` and the
//! `k8s.proxy` kind reach an application's HTTP endpoint through, without a port-forward.
//!
//! As on a real API server, the Service must exist (404 otherwise) and PORT must be one of its
//! ports, by name or number (503 `no endpoints available for service` otherwise, which is what a
//! real server says when it cannot pick a backend). A port with no scripted answer for the path
//! answers 404 from the "application".
//!
//! The pod proxy (`/api/v1/namespaces/NS/pods/NAME:PORT/proxy/PATH`, `get` on `pods/proxy`)
//! answers from the handlers scripted for that pod: the pod must exist (404), a named port is a
//! container port's name, and a port no handler listens on is a refused dial (503), as when
//! nothing listens there (ZooKeeper with its AdminServer turned off).

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::scenario::HttpHandler;
use super::state::SimState;
use super::status::ApiStatus;
use super::store::Gvr;

/// `.../proxy` with no path.
pub async fn service_root(
    State(st): State<Arc<SimState>>,
    Path((ns, target)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    answer(&st, &ns, &target, "", query.as_deref())
}

/// `.../proxy/PATH`.
pub async fn service(
    State(st): State<Arc<SimState>>,
    Path((ns, target, path)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    answer(&st, &ns, &target, &path, query.as_deref())
}

/// Splits `[scheme:]name[:port]` the way the API server does.
fn split_target(target: &str) -> (&str, &str) {
    let parts: Vec<&str> = target.split(':').collect();
    match parts.as_slice() {
        [name] => (name, ""),
        [name, port] => (name, port),
        [_scheme, name, port, ..] => (name, port),
        [] => ("", ""),
    }
}

fn answer(st: &SimState, ns: &str, target: &str, path: &str, query: Option<&str>) -> Response {
    let (name, port) = split_target(target);
    if !super::access::allowed(
        &st.scenario.permissions,
        "get",
        "",
        "services",
        Some("proxy"),
        Some(ns),
    ) {
        let mut s = ApiStatus::forbidden(super::api::forbidden_message(
            "get",
            "",
            "services",
            Some("proxy"),
            Some(name),
            Some(ns),
        ));
        s.details = Some(Box::new(super::status::Details::new("", "services", name)));
        return s.into_response();
    }
    let Some(svc) = st.store.get(&Gvr::new("", "v1", "services"), ns, name) else {
        return ApiStatus::not_found("", "services", name).into_response();
    };
    let ports: Vec<&Value> = svc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let port_matches = |p: &&&Value| {
        port.is_empty() && ports.len() == 1
            || p.get("name").and_then(Value::as_str) == Some(port)
            || p.get("port").map(|n| n.to_string()).as_deref() == Some(port)
    };
    let Some(found) = ports.iter().find(port_matches) else {
        return ApiStatus::new(
            503,
            "ServiceUnavailable",
            format!("no endpoints available for service \"{target}\""),
        )
        .into_response();
    };
    let full = match query {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_string(),
    };
    let port_name = found.get("name").and_then(Value::as_str).unwrap_or("");
    let port_number = found.get("port").map(|n| n.to_string()).unwrap_or_default();
    let handler = st.scenario.http.iter().find(|h| {
        h.namespace.as_deref().unwrap_or(&st.scenario.namespace) == ns
            && h.pod.is_none()
            && h.service == name
            && (h.port == port_name || h.port == port_number)
            && path_matches(h, &full)
    });
    scripted(handler)
}

fn path_matches(h: &HttpHandler, full: &str) -> bool {
    h.path
        .as_deref()
        .is_none_or(|p| p.trim_start_matches('/') == full)
}

/// A handler's answer, or the application's 404 when no handler has the path.
fn scripted(handler: Option<&HttpHandler>) -> Response {
    match handler {
        Some(h) => (
            StatusCode::from_u16(h.status.unwrap_or(200)).unwrap_or(StatusCode::OK),
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            h.body.clone(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "404 page not found\n",
        )
            .into_response(),
    }
}

/// `/api/v1/namespaces/NS/pods/NAME:PORT/proxy` with no path.
pub async fn pod_root(
    State(st): State<Arc<SimState>>,
    Path((ns, target)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    pod_answer(&st, &ns, &target, "", query.as_deref())
}

/// `/api/v1/namespaces/NS/pods/NAME:PORT/proxy/PATH`.
pub async fn pod(
    State(st): State<Arc<SimState>>,
    Path((ns, target, path)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    pod_answer(&st, &ns, &target, &path, query.as_deref())
}

/// The pod proxy, as the API server's: `get` on `pods/proxy`, the pod must exist, and the port is
/// a number or the name of one of its containers' ports (80 when none is given). A port nothing
/// scripted listens on is refused the way the API server reports a refused dial (503).
fn pod_answer(st: &SimState, ns: &str, target: &str, path: &str, query: Option<&str>) -> Response {
    let (name, port) = split_target(target);
    if !super::access::allowed(
        &st.scenario.permissions,
        "get",
        "",
        "pods",
        Some("proxy"),
        Some(ns),
    ) {
        let mut s = ApiStatus::forbidden(super::api::forbidden_message(
            "get",
            "",
            "pods",
            Some("proxy"),
            Some(name),
            Some(ns),
        ));
        s.details = Some(Box::new(super::status::Details::new("", "pods", name)));
        return s.into_response();
    }
    if st.read_only {
        let mut s = super::api::nothing_runs("pods", name, "proxy");
        s.details = Some(Box::new(super::status::Details::new("", "pods", name)));
        return s.into_response();
    }
    let Some(pod) = st.store.get(&Gvr::new("", "v1", "pods"), ns, name) else {
        return ApiStatus::not_found("", "pods", name).into_response();
    };
    // A named port is a container port's name.
    let number = if port.is_empty() {
        "80".to_string()
    } else if port.chars().all(|c| c.is_ascii_digit()) {
        port.to_string()
    } else {
        let named = pod
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .flat_map(|c| {
                c.get("ports")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
            })
            .find(|p| p.get("name").and_then(Value::as_str) == Some(port))
            .and_then(|p| p.get("containerPort"))
            .map(|n| n.to_string());
        match named {
            Some(n) => n,
            None => {
                return ApiStatus::new(
                    503,
                    "ServiceUnavailable",
                    format!("no such port {port:?} on pod {name:?}"),
                )
                .into_response()
            }
        }
    };
    let full = match query {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_string(),
    };
    let on_port: Vec<&HttpHandler> = st
        .scenario
        .http
        .iter()
        .filter(|h| {
            h.namespace.as_deref().unwrap_or(&st.scenario.namespace) == ns
                && h.pod.as_deref() == Some(name)
                && (h.port == number || h.port == port)
        })
        .collect();
    if on_port.is_empty() {
        let ip = pod
            .pointer("/status/podIP")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return ApiStatus::new(
            503,
            "ServiceUnavailable",
            format!("error trying to reach service: dial tcp {ip}:{number}: connect: connection refused"),
        )
        .into_response();
    }
    scripted(on_port.into_iter().find(|h| path_matches(h, &full)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split_like_the_api_server() {
        assert_eq!(split_target("zk-cs:client"), ("zk-cs", "client"));
        assert_eq!(split_target("https:es:9200"), ("es", "9200"));
        assert_eq!(split_target("web"), ("web", ""));
    }
}
