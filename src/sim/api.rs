//! Resource requests: `/api/v1/...` and `/apis/G/V/...` parsed into (resource, namespace, name,
//! subresource), checked against the scenario's permissions, then answered: get, list (label and
//! field selectors, `limit`/`continue`), the Table form, pod logs and exec (routed to the
//! scenario owner's handlers), SelfSubjectAccessReviews, and dry-run writes; with
//! `SimState::read_only` (a served bundle) every write, dry-run and exec is refused instead.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::Utc;
use futures::StreamExt;
use serde_json::{json, Value};

use super::discovery::{not_found_page, unknown_resource};
use super::protobuf;
use super::resources::ResourceInfo;
use super::selectors::{FieldSelector, LabelSelector};
use super::state::SimState;
use super::status::{qualified, ApiStatus, Details};
use super::store::Gvr;
use super::tables::{table_for, IncludeObject};

use super::access::allowed;
use super::exec::serve_exec;
use super::logs::serve_log;

/// The user every request is made as (what 403 messages and access reviews name).
pub const SIM_USER: &str = "kudo-diag-sim";

/// Largest request body accepted (access reviews, dry-run writes).
const MAX_BODY: usize = 4 << 20;

/// An early answer (404 page, Status) from a helper, boxed to keep `Result`s small.
type Rejection = Box<Response>;

/// What a resource path names.
#[derive(Debug, Clone)]
struct Target {
    info: ResourceInfo,
    /// `Some` for namespaced paths (`/namespaces/NS/...`).
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

/// Parses `/api/v1/...` or `/apis/G/V/...`; `Err` is the response for a bad path.
fn parse_path(st: &SimState, path: &str) -> Result<Target, Rejection> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(Box::new(not_found_page())),
    };
    let reg = &st.store.registry;
    if reg.in_group_version(group, version).next().is_none() {
        return Err(Box::new(not_found_page()));
    }
    let lookup = |plural: &str| -> Result<ResourceInfo, Rejection> {
        reg.find(group, version, plural)
            .cloned()
            .ok_or_else(|| Box::new(unknown_resource()))
    };
    let namespaced_resource = |plural: &str| {
        reg.find(group, version, plural)
            .is_some_and(|r| r.namespaced && !r.is_subresource())
    };
    let owned = |s: &&str| Some(s.to_string());
    let t = match rest {
        [plural] => Target {
            info: lookup(plural)?,
            namespace: None,
            name: None,
            subresource: None,
        },
        ["namespaces", ns, plural, tail @ ..] if namespaced_resource(plural) => {
            let info = lookup(plural)?;
            match tail {
                [] => Target {
                    info,
                    namespace: owned(ns),
                    name: None,
                    subresource: None,
                },
                [name] => Target {
                    info,
                    namespace: owned(ns),
                    name: owned(name),
                    subresource: None,
                },
                // `pods/NAME/proxy/PATH...`: the path belongs to the proxied server.
                [name, sub] | [name, sub @ "proxy", ..] => Target {
                    info,
                    namespace: owned(ns),
                    name: owned(name),
                    subresource: owned(sub),
                },
                _ => return Err(Box::new(not_found_page())),
            }
        }
        [plural, name, tail @ ..] if tail.len() <= 1 => {
            let info = lookup(plural)?;
            if info.namespaced {
                // A namespaced resource named without its namespace has no route.
                return Err(Box::new(not_found_page()));
            }
            Target {
                info,
                namespace: None,
                name: owned(name),
                subresource: tail.first().map(|s| s.to_string()),
            }
        }
        _ => return Err(Box::new(not_found_page())),
    };
    if let Some(sub) = &t.subresource {
        let served = reg
            .find(group, version, &format!("{}/{sub}", t.info.plural))
            .is_some();
        // A read-only bundle answers the subresources that change or run something with the
        // refusal its docs promise (docs/serve.md), not 404: `kubectl debug` and `kubectl
        // scale` stop with the reason instead of failing on an unexpected answer.
        let refused_here = st.read_only && READ_ONLY_REFUSED.contains(&sub.as_str());
        if !(served || refused_here) {
            return Err(Box::new(unknown_resource()));
        }
    }
    Ok(t)
}

/// Subresources that change or run something, refused by a read-only bundle even when the
/// scenario's discovery does not list them.
const READ_ONLY_REFUSED: &[&str] = &[
    "attach",
    "portforward",
    "proxy",
    "eviction",
    "scale",
    "ephemeralcontainers",
    "binding",
    "resize",
];

/// The RBAC verb of a request.
fn verb(method: &Method, t: &Target, query: &HashMap<String, String>) -> &'static str {
    if matches!(
        t.subresource.as_deref(),
        Some("exec" | "attach" | "portforward")
    ) {
        // Exec, attach and port-forward need `create` on their subresource, for the websocket
        // GET too (as since 1.31).
        return "create";
    }
    let watch = query.get("watch").is_some_and(|w| w == "true" || w == "1");
    match (method.as_str(), t.name.is_some()) {
        ("GET" | "HEAD", true) => "get",
        ("GET" | "HEAD", false) if watch => "watch",
        ("GET" | "HEAD", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "unknown",
    }
}

/// The 403 message a real API server writes, as the simulated cluster's user.
pub fn forbidden_message(
    verb: &str,
    t_group: &str,
    resource: &str,
    sub: Option<&str>,
    name: Option<&str>,
    ns: Option<&str>,
) -> String {
    super::access::forbidden_message(SIM_USER, verb, t_group, resource, sub, name, ns)
}

/// Every request under `/api/v1/` and `/apis/G/V/`.
pub async fn resource(State(st): State<Arc<SimState>>, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let t = match parse_path(&st, parts.uri.path()) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let pairs: Vec<(String, String)> = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let query: HashMap<String, String> = pairs.iter().cloned().collect();
    let verb = verb(&parts.method, &t, &query);
    let group = t.info.group.clone();
    let is_review = matches!(
        t.info.plural.as_str(),
        "selfsubjectaccessreviews" | "selfsubjectrulesreviews"
    );
    if st.read_only && !is_review {
        if let Some(refusal) = read_only_refusal(verb, &t) {
            return refusal.into_response();
        }
    }
    if !is_review
        && !allowed(
            &st.scenario.permissions,
            verb,
            &group,
            &t.info.plural,
            t.subresource.as_deref(),
            t.namespace.as_deref(),
        )
    {
        let mut s = ApiStatus::forbidden(forbidden_message(
            verb,
            &group,
            &t.info.plural,
            t.subresource.as_deref(),
            t.name.as_deref(),
            t.namespace.as_deref(),
        ));
        s.details = Some(details(&t, t.name.as_deref().unwrap_or_default()));
        return s.into_response();
    }

    match (parts.method.clone(), t.subresource.as_deref()) {
        (Method::GET, Some("log")) => {
            let pod = match lookup_pod(&st, &t) {
                Ok(p) => p,
                Err(r) => return *r,
            };
            serve_log(&st, &pod, &query)
        }
        (Method::GET | Method::POST, Some("exec")) => {
            let pod = match lookup_pod(&st, &t) {
                Ok(p) => p,
                Err(r) => return *r,
            };
            match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
                Ok(ws) => serve_exec(st.clone(), pod, pairs, ws),
                // The exec's own error first: kubectl retries a refused websocket with SPDY.
                Err(_) => crate::sim::exec::validate_exec(&pod, &pairs)
                    .err()
                    .unwrap_or_else(|| ApiStatus::bad_request("Upgrade request required"))
                    .into_response(),
            }
        }
        (Method::GET, Some("status")) | (Method::GET, None) if t.name.is_some() => {
            get_one(&st, &t, &parts.headers, &query)
        }
        (Method::GET, None) => {
            if verb == "watch" {
                return match watch(&st, &t, &parts.headers, &query) {
                    Ok(r) => r,
                    Err(s) => s.into_response(),
                };
            }
            list(&st, &t, &parts.headers, &query)
        }
        (Method::POST, None) if is_review && t.name.is_none() => review(&st, &t, body).await,
        (Method::POST | Method::PUT | Method::PATCH, None) if dry_run(&query) => {
            let v = match read_json(body).await {
                Ok(v) => v,
                Err(r) => return *r,
            };
            dry_run_write(&st, &t, &parts.method, v)
        }
        (Method::POST | Method::PUT | Method::PATCH | Method::DELETE, _) => ApiStatus::new(
            405,
            "MethodNotAllowed",
            format!(
                "the simulated cluster is read-only: {verb} on {} is not allowed; use --dry-run=server to check a write",
                t.info.plural
            ),
        )
        .into_response(),
        _ => ApiStatus::new(405, "MethodNotAllowed", "the server does not allow this method on the requested resource").into_response(),
    }
}

/// `POST` of a SelfSubjectAccessReview or SelfSubjectRulesReview, JSON or (as kubectl's typed
/// client sends them) protobuf.
async fn review(st: &SimState, t: &Target, body: Body) -> Response {
    let bytes = match read_bytes(body).await {
        Ok(b) => b,
        Err(r) => return *r,
    };
    if t.info.plural == "selfsubjectrulesreviews" {
        let review = if protobuf::is_protobuf(&bytes) {
            protobuf::self_subject_rules_review(&bytes).ok_or_else(|| {
                Box::new(
                    ApiStatus::bad_request(
                        "the protobuf SelfSubjectRulesReview could not be decoded; send it as JSON",
                    )
                    .into_response(),
                )
            })
        } else {
            parse_json(&bytes)
        };
        return match review {
            Ok(v) => super::access::rules_review(st, &v).into_response(),
            Err(r) => *r,
        };
    }
    // kubectl's typed client sends access reviews as protobuf.
    let review = if protobuf::is_protobuf(&bytes) {
        protobuf::self_subject_access_review(&bytes).ok_or_else(|| {
            Box::new(
                ApiStatus::bad_request(
                    "the protobuf SelfSubjectAccessReview could not be decoded; send it as JSON",
                )
                .into_response(),
            )
        })
    } else {
        parse_json(&bytes)
    };
    match review {
        Ok(v) => access_review(st, v),
        Err(r) => *r,
    }
}

/// Whether a verb only reads (what a read-only bundle still answers).
fn reads_only(verb: &str) -> bool {
    matches!(verb, "get" | "list" | "watch")
}

/// The answer of a read-only bundle (`kudo-diag serve`) to a request that would change or run
/// something, or `None` for a read. A write (dry-run too: there is nothing to check it against
/// that could change) is 405 MethodNotAllowed, as a real API server answers a verb a resource
/// does not support. Exec (and attach, port-forward) is 403 Forbidden, as when RBAC denies
/// `pods/exec`: kubectl prints the message of either, and neither is retried.
/// The refusal of a subresource that needs a running container (exec, attach, port-forward,
/// proxy) by a read-only bundle, as RBAC would deny it (403).
pub fn nothing_runs(plural: &str, name: &str, sub: &str) -> ApiStatus {
    ApiStatus::forbidden(format!(
        "{plural} \"{name}\" is forbidden: {sub} is not available in a read-only bundle served by kudo-diag serve: no container runs in it; the output of the commands the collection ran is in the bundle (apps/...)"
    ))
}

fn read_only_refusal(verb: &str, t: &Target) -> Option<ApiStatus> {
    // A proxied GET reaches a running container: nothing runs in a bundle.
    if reads_only(verb) && t.subresource.as_deref() != Some("proxy") {
        return None;
    }
    let name = t.name.as_deref().unwrap_or_default();
    let mut s = match t.subresource.as_deref() {
        Some(sub @ ("exec" | "attach" | "portforward" | "proxy")) => {
            nothing_runs(&t.info.plural, name, sub)
        }
        sub => {
            let what = match sub {
                Some(sub) => format!("{}/{sub}", t.info.plural),
                None => t.info.plural.clone(),
            };
            let object = if name.is_empty() {
                String::new()
            } else {
                format!(" \"{name}\"")
            };
            ApiStatus::new(
                405,
                "MethodNotAllowed",
                format!(
                    "{verb} on {what}{object} is not allowed: this is a read-only bundle served by kudo-diag serve, which shows what was collected and cannot be changed; make the change in the live cluster"
                ),
            )
        }
    };
    s.details = Some(details(t, name));
    Some(s)
}

fn dry_run(query: &HashMap<String, String>) -> bool {
    query.get("dryRun").is_some_and(|v| v == "All")
}

async fn read_bytes(body: Body) -> Result<bytes::Bytes, Rejection> {
    axum::body::to_bytes(body, MAX_BODY).await.map_err(|e| {
        Box::new(
            ApiStatus::bad_request(format!("failed to read the request body: {e}")).into_response(),
        )
    })
}

async fn read_json(body: Body) -> Result<Value, Rejection> {
    parse_json(&read_bytes(body).await?)
}

fn parse_json(bytes: &[u8]) -> Result<Value, Rejection> {
    // kubectl sends JSON; YAML is a superset, so accept it too.
    serde_json::from_slice(bytes)
        .or_else(|_| crate::yaml::from_slice(bytes))
        .map_err(|e| {
            Box::new(
                ApiStatus::bad_request(format!("the request body is not valid JSON or YAML: {e}"))
                    .into_response(),
            )
        })
}

/// The stored pod (shared, not copied: logs and exec only read it).
fn lookup_pod(st: &SimState, t: &Target) -> Result<Arc<Value>, Rejection> {
    let ns = t.namespace.as_deref().unwrap_or_default();
    let name = t.name.as_deref().unwrap_or_default();
    st.pod(ns, name)
        .ok_or_else(|| Box::new(ApiStatus::not_found("", "pods", name).into_response()))
}

/// Whether the client asked for the Table form.
fn wants_table(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("as=Table") && v.contains("g=meta.k8s.io"))
}

/// Whether the client asked for metadata only (`as=PartialObjectMetadata[List]`, kube-rs
/// `list_metadata`/`get_metadata`).
fn wants_metadata(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("as=PartialObjectMetadata") && v.contains("g=meta.k8s.io"))
}

fn partial(o: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": o["metadata"],
    })
}

fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// The Status `details` of a request's object.
fn details(t: &Target, name: &str) -> Box<Details> {
    Box::new(Details::new(&t.info.group, &t.info.plural, name))
}

fn gvr(t: &Target) -> Gvr {
    Gvr::new(&t.info.group, &t.info.version, &t.info.plural)
}

fn get_one(
    st: &SimState,
    t: &Target,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Response {
    let ns = t.namespace.as_deref().unwrap_or_default();
    let name = t.name.as_deref().unwrap_or_default();
    let obj = if t.info.plural == "pods" {
        st.pod(ns, name)
    } else {
        st.store.get(&gvr(t), ns, name)
    };
    let Some(obj) = obj else {
        return ApiStatus::not_found(&t.info.group, &t.info.plural, name).into_response();
    };
    if wants_table(headers) {
        let shown = st.store.recorded_form(&gvr(t), &obj);
        let tab = table_for(
            &t.info,
            st.minor(),
            &[&shown],
            json!({"resourceVersion": obj["metadata"]["resourceVersion"]}),
            IncludeObject::parse(query.get("includeObject").map(String::as_str)),
            Utc::now(),
        );
        return axum::Json(tab).into_response();
    }
    if wants_metadata(headers) {
        return axum::Json(partial(&obj)).into_response();
    }
    match serde_json::to_vec(&*obj) {
        Ok(b) => json_bytes(StatusCode::OK, b),
        Err(e) => ApiStatus::internal(format!("failed to encode the object: {e}")).into_response(),
    }
}

/// The position a continue token resumes after.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    v: String,
    rv: String,
    ns: String,
    name: String,
}

fn encode_continue(rv: &str, ns: &str, name: &str) -> String {
    let tok = ContinueToken {
        v: "meta.k8s.io/v1".into(),
        rv: rv.into(),
        ns: ns.into(),
        name: name.into(),
    };
    let json = serde_json::to_vec(&tok).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

fn decode_continue(s: &str) -> Result<ContinueToken, ApiStatus> {
    let bad = || {
        ApiStatus::bad_request(format!(
            "continue key is not valid: {s:?}; start the list again without continue"
        ))
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| bad())?;
    let tok: ContinueToken = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if tok.v != "meta.k8s.io/v1" {
        return Err(bad());
    }
    Ok(tok)
}

fn list(
    st: &SimState,
    t: &Target,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Response {
    match list_inner(st, t, headers, query) {
        Ok(r) => r,
        Err(s) => s.into_response(),
    }
}

fn list_inner(
    st: &SimState,
    t: &Target,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<Response, ApiStatus> {
    let labels = LabelSelector::parse(query.get("labelSelector").map_or("", String::as_str))?;
    let fields = FieldSelector::parse(
        query.get("fieldSelector").map_or("", String::as_str),
        &t.info.plural,
    )?;
    let limit = match query.get("limit").filter(|l| !l.is_empty()) {
        Some(l) => l.parse::<i64>().map_err(|_| {
            ApiStatus::bad_request(format!("limit must be a whole number, not {l:?}"))
        })?,
        None => 0,
    };
    let start = match query.get("continue").filter(|c| !c.is_empty()) {
        Some(c) => Some(decode_continue(c)?),
        None => None,
    };
    let is_pods = t.info.plural == "pods" && t.info.group.is_empty();
    let rv = list_revision(query, st.store.revision())?;
    let matching: Vec<&Arc<Value>> = st
        .store
        .list(&gvr(t), t.namespace.as_deref())
        .filter(|o| {
            let ns = o["metadata"]["namespace"].as_str().unwrap_or_default();
            let name = o["metadata"]["name"].as_str().unwrap_or_default();
            if let Some(tok) = &start {
                if (ns, name) <= (tok.ns.as_str(), tok.name.as_str()) {
                    return false;
                }
            }
            !(is_pods && st.faults.is_vanished(ns, name))
        })
        .filter(|o| labels.matches(o) && fields.matches(o))
        .collect();
    let (page, rest) = if limit > 0 && (limit as usize) < matching.len() {
        matching.split_at(limit as usize)
    } else {
        (matching.as_slice(), &[][..])
    };
    let mut meta = json!({"resourceVersion": rv});
    if let Some(last) = page.last().filter(|_| !rest.is_empty()) {
        meta["continue"] = json!(encode_continue(
            &rv,
            last["metadata"]["namespace"].as_str().unwrap_or_default(),
            last["metadata"]["name"].as_str().unwrap_or_default(),
        ));
        // The real server counts the rest only when nothing is filtered out.
        if labels.is_empty() && fields.is_empty() {
            meta["remainingItemCount"] = json!(rest.len());
        }
    }
    if is_pods {
        for p in page {
            st.faults.note_listed(
                p["metadata"]["namespace"].as_str().unwrap_or_default(),
                p["metadata"]["name"].as_str().unwrap_or_default(),
            );
        }
    }
    if wants_table(headers) {
        let shown: Vec<Arc<Value>> = page
            .iter()
            .map(|o| st.store.recorded_form(&gvr(t), o))
            .collect();
        let objs: Vec<&Value> = shown.iter().map(|a| a.as_ref()).collect();
        let tab = table_for(
            &t.info,
            st.minor(),
            &objs,
            meta,
            IncludeObject::parse(query.get("includeObject").map(String::as_str)),
            Utc::now(),
        );
        return Ok(axum::Json(tab).into_response());
    }
    if wants_metadata(headers) {
        let items: Vec<Value> = page.iter().map(|o| partial(o)).collect();
        return Ok(axum::Json(json!({
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": meta,
            "items": items,
        }))
        .into_response());
    }
    // Written piecewise so that a big list is not cloned into one Value first.
    let mut out = Vec::with_capacity(page.len() * 2048 + 256);
    let head = json!({
        "kind": format!("{}List", t.info.kind),
        "apiVersion": t.info.api_version(),
        "metadata": meta,
    });
    let head = serde_json::to_vec(&head).map_err(|e| ApiStatus::internal(e.to_string()))?;
    out.extend_from_slice(&head[..head.len() - 1]);
    out.extend_from_slice(b",\"items\":[");
    for (i, o) in page.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, o.as_ref())
            .map_err(|e| ApiStatus::internal(e.to_string()))?;
    }
    out.extend_from_slice(b"]}");
    Ok(json_bytes(StatusCode::OK, out))
}

/// The resourceVersion a list is served at, from `resourceVersion` and `resourceVersionMatch`
/// as the API server reads them (apimachinery `ValidateListOptions`, then the storage's
/// consistency rules). The store never changes, so its one revision answers `NotOlderThan`
/// any revision up to it and `Exact` that revision; an older exact revision was compacted
/// away (410 Expired), a newer one does not exist yet (504 Timeout, as the watch cache
/// answers after waiting for it).
fn list_revision(query: &HashMap<String, String>, current: u64) -> Result<String, ApiStatus> {
    let get = |k: &str| query.get(k).map(String::as_str).unwrap_or_default();
    let (rv, matching, cont) = (
        get("resourceVersion"),
        get("resourceVersionMatch"),
        get("continue"),
    );
    let invalid = |why: &str| {
        ApiStatus::new(
            422,
            "Invalid",
            format!("ListOptions.meta.k8s.io \"\" is invalid: {why}"),
        )
    };
    if !matching.is_empty() {
        if rv.is_empty() {
            return Err(invalid("resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"));
        }
        if !cont.is_empty() {
            return Err(invalid("resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided"));
        }
        if matching != "Exact" && matching != "NotOlderThan" {
            return Err(invalid(&format!("resourceVersionMatch: Unsupported value: {matching:?}: supported values: \"Exact\", \"NotOlderThan\", \"\"")));
        }
        if matching == "Exact" && rv == "0" {
            return Err(invalid("resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\""));
        }
    }
    if rv.is_empty() || rv == "0" {
        return Ok(current.to_string());
    }
    let wanted: u64 = rv.parse().map_err(|_| {
        ApiStatus::bad_request(format!(
            "invalid resource version {rv:?}: a resourceVersion is a number the server gave; list without it for the current state"
        ))
    })?;
    if wanted > current {
        let mut s = ApiStatus::new(
            504,
            "Timeout",
            format!("Timeout: Too large resource version: {wanted}, current: {current}"),
        );
        s.retry_after = Some(1);
        return Err(s);
    }
    if matching == "Exact" && wanted < current {
        return Err(ApiStatus::new(
            410,
            "Expired",
            "The resourceVersion for the provided list is too old.",
        ));
    }
    Ok(current.to_string())
}

/// A watch. The store never changes, so a watch from a list's resourceVersion only waits (until
/// `timeoutSeconds`, as a real server closes watches), and one from nothing (or `0`, or with
/// `sendInitialEvents=true`) first sends every matching object as ADDED.
fn watch(
    st: &SimState,
    t: &Target,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<Response, ApiStatus> {
    let labels = LabelSelector::parse(query.get("labelSelector").map_or("", String::as_str))?;
    let fields = FieldSelector::parse(
        query.get("fieldSelector").map_or("", String::as_str),
        &t.info.plural,
    )?;
    let timeout = match query.get("timeoutSeconds").filter(|v| !v.is_empty()) {
        Some(v) => v.parse::<u64>().map_err(|_| {
            ApiStatus::bad_request(format!("timeoutSeconds must be a whole number, not {v:?}"))
        })?,
        // Real servers pick 30 to 60 minutes.
        None => 1800,
    };
    let initial_events = query.get("sendInitialEvents").is_some_and(|v| v == "true");
    let from_now = query
        .get("resourceVersion")
        .is_some_and(|rv| !rv.is_empty() && rv != "0")
        && !initial_events;
    let is_pods = t.info.plural == "pods" && t.info.group.is_empty();
    let table_form = wants_table(headers);
    let mut frames: Vec<Result<bytes::Bytes, std::io::Error>> = Vec::new();
    if !from_now {
        for o in st.store.list(&gvr(t), t.namespace.as_deref()) {
            let ns = o["metadata"]["namespace"].as_str().unwrap_or_default();
            let name = o["metadata"]["name"].as_str().unwrap_or_default();
            if (is_pods && st.faults.is_vanished(ns, name))
                || !labels.matches(o)
                || !fields.matches(o)
            {
                continue;
            }
            if is_pods {
                // Initial events are a list too: a vanishing pod is gone after them.
                st.faults.note_listed(ns, name);
            }
            let object = if table_form {
                table_for(
                    &t.info,
                    st.minor(),
                    &[&st.store.recorded_form(&gvr(t), o)],
                    json!({}),
                    IncludeObject::parse(query.get("includeObject").map(String::as_str)),
                    Utc::now(),
                )
            } else {
                (**o).clone()
            };
            let mut line = serde_json::to_vec(&json!({"type": "ADDED", "object": object}))
                .map_err(|e| ApiStatus::internal(e.to_string()))?;
            line.push(b'\n');
            frames.push(Ok(line.into()));
        }
    }
    if initial_events {
        let bookmark = json!({"type": "BOOKMARK", "object": {
            "kind": t.info.kind, "apiVersion": t.info.api_version(),
            "metadata": {"resourceVersion": st.store.resource_version(),
                         "annotations": {"k8s.io/initial-events-end": "true"}}}});
        let mut line =
            serde_json::to_vec(&bookmark).map_err(|e| ApiStatus::internal(e.to_string()))?;
        line.push(b'\n');
        frames.push(Ok(line.into()));
    }
    let wait = futures::stream::once(async move {
        tokio::time::sleep(std::time::Duration::from_secs(timeout)).await;
    })
    .filter_map(|_| async { None::<Result<bytes::Bytes, std::io::Error>> });
    let body = Body::from_stream(futures::stream::iter(frames).chain(wait));
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(r)
}

/// `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews`, answered from the scenario's
/// permissions.
fn access_review(st: &SimState, review: Value) -> Response {
    let spec = &review["spec"];
    let allowed_now = match spec["resourceAttributes"].as_object() {
        Some(ra) => {
            let s = |k: &str| ra.get(k).and_then(Value::as_str).unwrap_or_default();
            let sub = Some(s("subresource")).filter(|x| !x.is_empty());
            let ns = Some(s("namespace")).filter(|x| !x.is_empty());
            allowed(
                &st.scenario.permissions,
                s("verb"),
                s("group"),
                s("resource"),
                sub,
                ns,
            )
        }
        // Non-resource URLs (/healthz, /version) are open to every authenticated user.
        None => true,
    };
    // A read-only bundle allows reads only, and says so to `kubectl auth can-i`.
    let verb = spec["resourceAttributes"]["verb"]
        .as_str()
        .unwrap_or_default();
    let refused_write = st.read_only && spec["resourceAttributes"].is_object() && !reads_only(verb);
    let allowed_now = allowed_now && !refused_write;
    let mut status = json!({"allowed": allowed_now});
    if refused_write {
        status["reason"] =
            json!("a read-only bundle served by kudo-diag serve allows get, list and watch only");
    }
    let body = json!({
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "spec": spec,
        "status": status,
    });
    (StatusCode::CREATED, axum::Json(body)).into_response()
}

/// A write with `dryRun=All`: validated for shape, completed as the server would, answered
/// back, never stored.
fn dry_run_write(st: &SimState, t: &Target, method: &Method, body: Value) -> Response {
    let ns = t.namespace.as_deref().unwrap_or_default();
    let existing = t.name.as_deref().and_then(|n| st.store.get(&gvr(t), ns, n));
    let mut obj = match (method.as_str(), existing) {
        ("PATCH", Some(cur)) => {
            let mut merged = (*cur).clone();
            merge_patch(&mut merged, &body);
            merged
        }
        ("PATCH", None) | ("PUT", None) => {
            return ApiStatus::not_found(
                &t.info.group,
                &t.info.plural,
                t.name.as_deref().unwrap_or_default(),
            )
            .into_response()
        }
        _ => body,
    };
    if !obj.is_object() {
        return ApiStatus::bad_request("the object must be a JSON object").into_response();
    }
    if obj["metadata"]["name"].as_str().is_none() {
        return ApiStatus::new(422, "Invalid", format!("{} \"\" is invalid: metadata.name: Required value: name or generateName is required", qualified(&t.info.group, &t.info.kind))).into_response();
    }
    if *method == Method::POST {
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        if st.store.get(&gvr(t), ns, name).is_some() {
            let mut s = ApiStatus::new(
                409,
                "AlreadyExists",
                format!(
                    "{} \"{name}\" already exists",
                    qualified(&t.info.group, &t.info.plural)
                ),
            );
            s.details = Some(details(t, name));
            return s.into_response();
        }
    }
    obj["apiVersion"] = json!(t.info.api_version());
    obj["kind"] = json!(t.info.kind);
    if t.info.namespaced {
        obj["metadata"]["namespace"] = json!(ns);
    }
    if !obj["metadata"]["creationTimestamp"].is_string() {
        obj["metadata"]["creationTimestamp"] =
            json!(Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    }
    let code = if method == Method::POST {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (code, axum::Json(obj)).into_response()
}

/// RFC 7386 JSON merge patch (also a fair approximation of a strategic merge patch).
fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = json!({});
            }
            let t = target.as_object_mut().expect("made an object above");
            for (k, v) in p {
                if k.starts_with("$") {
                    continue;
                }
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip_and_reject_garbage() {
        let tok = encode_continue("1001", "ns", "pod-3");
        let back = decode_continue(&tok).unwrap();
        assert_eq!((back.ns.as_str(), back.name.as_str()), ("ns", "pod-3"));
        assert_eq!(decode_continue("garbage!").unwrap_err().code, 400);
    }

    #[test]
    fn resource_version_match_follows_the_api_server_s_rules() {
        let q = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(list_revision(&q(&[]), 50).unwrap(), "50");
        let not_older = q(&[
            ("resourceVersion", "40"),
            ("resourceVersionMatch", "NotOlderThan"),
        ]);
        assert_eq!(list_revision(&not_older, 50).unwrap(), "50");
        let exact = q(&[("resourceVersion", "50"), ("resourceVersionMatch", "Exact")]);
        assert_eq!(list_revision(&exact, 50).unwrap(), "50");
        let old = q(&[("resourceVersion", "40"), ("resourceVersionMatch", "Exact")]);
        assert_eq!(list_revision(&old, 50).unwrap_err().code, 410);
        let future = q(&[
            ("resourceVersion", "60"),
            ("resourceVersionMatch", "NotOlderThan"),
        ]);
        let e = list_revision(&future, 50).unwrap_err();
        assert_eq!((e.code, e.reason), (504, "Timeout"));
        let alone = q(&[("resourceVersionMatch", "Exact")]);
        let e = list_revision(&alone, 50).unwrap_err();
        assert_eq!(e.code, 422);
        assert!(
            e.message
                .contains("forbidden unless resourceVersion is provided"),
            "{}",
            e.message
        );
        let bad = q(&[("resourceVersion", "1"), ("resourceVersionMatch", "Newest")]);
        assert!(list_revision(&bad, 50)
            .unwrap_err()
            .message
            .contains("Unsupported value"));
        let zero = q(&[("resourceVersion", "0"), ("resourceVersionMatch", "Exact")]);
        assert_eq!(list_revision(&zero, 50).unwrap_err().code, 422);
    }

    #[test]
    fn merge_patch_replaces_merges_and_removes() {
        let mut t = json!({"a": 1, "b": {"c": 2, "d": 3}});
        merge_patch(&mut t, &json!({"a": 5, "b": {"c": null, "e": 4}}));
        assert_eq!(t, json!({"a": 5, "b": {"d": 3, "e": 4}}));
    }

    #[test]
    fn forbidden_message_matches_the_api_server() {
        assert_eq!(
            forbidden_message("list", "", "pods", None, None, Some("x")),
            "pods is forbidden: User \"kudo-diag-sim\" cannot list resource \"pods\" in API group \"\" in the namespace \"x\""
        );
    }
}
