//! Discovery and server information: `/version`, `/api`, `/apis`, `/apis/G`, `/api/v1`,
//! `/apis/G/V`, in the legacy (plain JSON) form, and the aggregated form
//! (`apidiscovery.k8s.io/v2`) that kubectl 1.32 asks for first.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::resources::ResourceInfo;
use super::state::SimState;
use super::status::ApiStatus;

const AGGREGATED_V2: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

fn json_response(v: Value, content_type: &'static str) -> Response {
    let mut r = axum::Json(v).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// Whether the client accepts the aggregated discovery document (v2).
fn wants_aggregated(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let p: String = part.chars().filter(|c| !c.is_whitespace()).collect();
            p.contains("g=apidiscovery.k8s.io")
                && p.contains("v=v2;")
                && p.contains("as=APIGroupDiscoveryList")
        })
}

/// `/version` (and `/version/`, which the python client asks for): the recorded `version.Info`
/// as it was. Fields a scenario did not record are empty strings, not made-up values: clients
/// (the python one) require every field of `version.Info` to be present.
pub async fn version(State(st): State<Arc<SimState>>) -> Response {
    axum::Json(version_info(&st.scenario.server_version)).into_response()
}

fn version_info(v: &crate::sim::scenario::ServerVersion) -> Value {
    let mut out = json!({
        "major": v.major,
        "minor": v.minor,
        "gitVersion": v.git_version,
    });
    for k in [
        "gitCommit",
        "gitTreeState",
        "buildDate",
        "goVersion",
        "compiler",
        "platform",
    ] {
        out[k] = v.recorded.get(k).cloned().unwrap_or_else(|| json!(""));
    }
    for (k, val) in &v.recorded {
        out[k.as_str()] = val.clone();
    }
    out
}

pub async fn healthz() -> &'static str {
    "ok"
}

/// `/api`: the core group's versions (or the aggregated document of the core group).
pub async fn api(State(st): State<Arc<SimState>>, headers: HeaderMap) -> Response {
    if wants_aggregated(&headers) {
        return json_response(aggregated(&st, true), AGGREGATED_V2);
    }
    axum::Json(json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}],
    }))
    .into_response()
}

/// `/apis`: every named group (or the aggregated document of them).
pub async fn apis(State(st): State<Arc<SimState>>, headers: HeaderMap) -> Response {
    if wants_aggregated(&headers) {
        return json_response(aggregated(&st, false), AGGREGATED_V2);
    }
    let groups: Vec<Value> = st
        .store
        .registry
        .groups()
        .into_iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, vs)| api_group(&g, &vs))
        .collect();
    axum::Json(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}))
        .into_response()
}

fn api_group(group: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": vs,
        "preferredVersion": vs[0],
    })
}

/// `/apis/G`.
pub async fn group(State(st): State<Arc<SimState>>, Path(group): Path<String>) -> Response {
    match st
        .store
        .registry
        .groups()
        .into_iter()
        .find(|(g, _)| *g == group && !g.is_empty())
    {
        Some((g, vs)) => axum::Json(api_group(&g, &vs)).into_response(),
        None => not_found_page(),
    }
}

/// `/api/v1`.
pub async fn core_resources(State(st): State<Arc<SimState>>) -> Response {
    resource_list(&st, "", "v1")
}

/// `/apis/G/V`.
pub async fn group_resources(
    State(st): State<Arc<SimState>>,
    Path((group, version)): Path<(String, String)>,
) -> Response {
    resource_list(&st, &group, &version)
}

fn resource_list(st: &SimState, group: &str, version: &str) -> Response {
    let resources: Vec<Value> = st
        .store
        .registry
        .in_group_version(group, version)
        .map(legacy_resource)
        .collect();
    if resources.is_empty() {
        return not_found_page();
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    axum::Json(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources,
    }))
    .into_response()
}

fn legacy_resource(r: &ResourceInfo) -> Value {
    let mut v = json!({
        "name": r.plural,
        "singularName": r.singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": r.verbs,
    });
    if !r.short_names.is_empty() {
        v["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        v["categories"] = json!(r.categories);
    }
    v
}

/// The aggregated discovery document (`apidiscovery.k8s.io/v2`): for `/api` the core group,
/// for `/apis` every named group, each resource with its subresources nested.
fn aggregated(st: &SimState, core: bool) -> Value {
    let reg = &st.store.registry;
    let items: Vec<Value> = reg
        .groups()
        .into_iter()
        .filter(|(g, _)| g.is_empty() == core)
        .map(|(g, vs)| {
            let versions: Vec<Value> = vs
                .iter()
                .map(|v| {
                    let all: Vec<&ResourceInfo> = reg.in_group_version(&g, v).collect();
                    let resources: Vec<Value> = all
                        .iter()
                        .filter(|r| !r.is_subresource())
                        .map(|r| {
                            let subs: Vec<Value> = all
                                .iter()
                                .filter_map(|s| {
                                    let sub = s.plural.strip_prefix(&format!("{}/", r.plural))?;
                                    Some(json!({
                                        "subresource": sub,
                                        "responseKind": {"group": g, "version": v, "kind": s.kind},
                                        "verbs": s.verbs,
                                    }))
                                })
                                .collect();
                            let mut res = json!({
                                "resource": r.plural,
                                "responseKind": {"group": g, "version": v, "kind": r.kind},
                                "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
                                "singularResource": r.singular,
                                "verbs": r.verbs,
                            });
                            if !r.short_names.is_empty() {
                                res["shortNames"] = json!(r.short_names);
                            }
                            if !r.categories.is_empty() {
                                res["categories"] = json!(r.categories);
                            }
                            if !subs.is_empty() {
                                res["subresources"] = json!(subs);
                            }
                            res
                        })
                        .collect();
                    json!({"version": v, "resources": resources, "freshness": "Current"})
                })
                .collect();
            json!({"metadata": {"name": g, "creationTimestamp": null}, "versions": versions})
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}

/// What a real server answers for a path it has no handler for.
pub fn not_found_page() -> Response {
    let mut r = (axum::http::StatusCode::NOT_FOUND, "404 page not found\n").into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// A 404 Status for an unknown resource in a known group version.
pub fn unknown_resource() -> Response {
    ApiStatus::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_serves_what_was_recorded_and_invents_nothing() {
        let doc = json!({"major": "1", "minor": "24", "gitVersion": "v1.24.4+k3s1",
            "gitCommit": "c3f830e9b9ed8a4d9d0e2aa663b4591b923a296e", "buildDate": "2022-08-25T03:46:35Z",
            "goVersion": "go1.18.1", "compiler": "gc", "gitTreeState": "clean", "platform": "linux/arm64"});
        let v = crate::sim::from_bundle::server_version_of(&doc).unwrap();
        assert_eq!(version_info(&v), doc);
        let plain = version_info(&crate::sim::scenario::ServerVersion::default());
        assert_eq!(plain["gitVersion"], "v1.32.4");
        assert_eq!(plain["gitCommit"], "");
        assert_eq!(plain["goVersion"], "");
    }

    #[test]
    fn kubectl_accept_header_selects_the_aggregated_form() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static(
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json",
            ),
        );
        assert!(wants_aggregated(&h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json, */*"),
        );
        assert!(!wants_aggregated(&h));
    }

    #[test]
    fn aggregated_document_nests_subresources_and_splits_core() {
        let st = SimState::new(
            crate::sim::Scenario {
                name: "t".into(),
                namespace: "ns".into(),
                ..Default::default()
            },
            None,
        )
        .unwrap();
        let core = aggregated(&st, true);
        assert_eq!(core["items"].as_array().unwrap().len(), 1);
        assert_eq!(core["items"][0]["metadata"]["name"], "");
        let pods = core["items"][0]["versions"][0]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "pods")
            .unwrap();
        assert_eq!(pods["scope"], "Namespaced");
        assert_eq!(pods["shortNames"], json!(["po"]));
        let subs: Vec<&str> = pods["subresources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["subresource"].as_str().unwrap())
            .collect();
        for sub in ["log", "exec", "status", "eviction", "portforward"] {
            assert!(subs.contains(&sub), "{subs:?}");
        }
        let groups = aggregated(&st, false);
        // No KUDO object, no kudo.dev group.
        assert!(groups["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["metadata"]["name"] != "kudo.dev"));
        assert!(groups["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["metadata"]["name"] != ""));
    }
}
