//! The API server's service proxy (`/api/v1/namespaces/NS/services/[SCHEME:]NAME:PORT/proxy/PATH`),
//! answered from the scenario's scripted `http` handlers: what `kubectl get --raw` and the
//! `k8s.proxy` kind reach an application's HTTP endpoint through, without a port-forward.
//!
//! As on a real API server, the Service must exist (404 otherwise) and PORT must be one of its
//! ports, by name or number (503 `no endpoints available for service` otherwise, which is what a
//! real server says when it cannot pick a backend). A port with no scripted answer for the path
//! answers 404 from the "application".

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

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
            && h.service == name
            && (h.port == port_name || h.port == port_number)
            && h.path
                .as_deref()
                .is_none_or(|p| p.trim_start_matches('/') == full)
    });
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
