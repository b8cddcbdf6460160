//! MERGE: stand-ins for the scenario owner's modules, with their exact signatures, so the server
//! routes to them today. At merge, delete this file and switch the `use` lines marked `MERGE` in
//! `api.rs` to `crate::sim::access`, `crate::sim::logs` and `crate::sim::exec`.
//!
//! - `allowed`: the local fallback allows everything (the brief's instruction);
//! - `serve_log`: answers the scenario's inline logs only, without the query parameters;
//! - `serve_exec`: answers a Status saying exec handlers are not on this branch.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::scenario::{LogSource, Permissions};
use super::state::SimState;
use super::status::ApiStatus;

/// MERGE: replaced by `crate::sim::access::allowed` (deny rules). Allows everything.
pub fn allowed(
    _p: &Permissions,
    _verb: &str,
    _group: &str,
    _resource: &str,
    _subresource: Option<&str>,
    _namespace: Option<&str>,
) -> bool {
    true
}

/// MERGE: replaced by `crate::sim::logs::serve_log`. Inline logs of the named (or only)
/// container, whole.
pub fn serve_log(state: &SimState, pod: &Value, query: &HashMap<String, String>) -> Response {
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let containers: Vec<&str> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    let container = match query.get("container") {
        Some(c) => c.as_str(),
        None if containers.len() == 1 => containers[0],
        None => {
            return ApiStatus::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                containers.join(" ")
            ))
            .into_response()
        }
    };
    let previous = query.get("previous").is_some_and(|v| v == "true");
    let spec = state.scenario.logs.iter().find(|l| {
        l.pod == name
            && l.container == container
            && l.previous == previous
            && l.namespace.as_deref().unwrap_or(&state.scenario.namespace) == ns
    });
    match spec.map(|s| &s.source) {
        Some(LogSource::Inline(text)) => text.clone().into_response(),
        _ => String::new().into_response(),
    }
}

/// MERGE: replaced by `crate::sim::exec::serve_exec`.
pub fn serve_exec(
    _state: Arc<SimState>,
    _pod: Value,
    _query: Vec<(String, String)>,
    _ws: WebSocketUpgrade,
) -> Response {
    ApiStatus::new(
        501,
        "NotImplemented",
        "exec handlers are not on this branch of the simulated cluster yet",
    )
    .into_response()
}
