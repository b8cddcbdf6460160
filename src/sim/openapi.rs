//! `/openapi/v3`: the OpenAPI v3 documents `kubectl explain` reads, one per group version the
//! server serves, as an API server publishes them.
//!
//! - Built-in kinds: their schema definitions for the server's minor, generated from a
//!   maintained schema source by `openapi/vendor.py` (its doc names the source and licence)
//!   into `openapi/definitions.json.gz` (about 410 KB: minors 1.19 to 1.37, each definition
//!   once per run of minors it stayed the same in). A server older than the first minor
//!   vendored uses the first one's, a newer one the last one's.
//! - Custom resources: their CRD version's `openAPIV3Schema`, with `metadata` pointing to
//!   ObjectMeta and the group, version and kind marked, as the API server builds them.
//!
//! A group version's document holds the schemas of its kinds and every definition they refer
//! to, and the read (`get`) paths of its resources with their kinds; no write operation is
//! published, so a client still finds that the server does not check fields on writes
//! (kubectl's `fieldValidation` check reads the POST and PATCH operations), as before.
//!
//! `v2` publishes the same definitions as one Swagger 2.0 document (`/openapi/v2`), in JSON or
//! in the gnostic protobuf form (`gnostic`) kubectl reads.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::sync::{Arc, OnceLock};

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

mod gnostic;
pub mod v2;

use super::discovery::not_found_page;
use super::state::SimState;

static DEFINITIONS: &[u8] = include_bytes!("openapi/definitions.json.gz");

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// Every vendored definition, with the minors each variant is for.
fn vendored() -> &'static Map<String, Value> {
    static V: OnceLock<Map<String, Value>> = OnceLock::new();
    V.get_or_init(|| {
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(DEFINITIONS)
            .read_to_end(&mut text)
            .expect("the vendored definitions are a gzip stream");
        serde_json::from_slice(&text).expect("the vendored definitions are JSON")
    })
}

/// The definitions of the built-in kinds for `minor` (clamped to the vendored minors).
fn definitions(minor: u32) -> BTreeMap<&'static str, &'static Value> {
    let all = vendored();
    let bound = |pick: fn(u64, u64) -> u64, key: &str| {
        all.values()
            .flat_map(|v| v.as_array().into_iter().flatten())
            .filter_map(|r| r[key].as_u64())
            .reduce(pick)
            .unwrap_or(0)
    };
    let m = u64::from(minor).clamp(bound(u64::min, "from"), bound(u64::max, "to"));
    all.iter()
        .filter_map(|(name, runs)| {
            let run = runs.as_array()?.iter().find(|r| {
                r["from"].as_u64().is_some_and(|f| f <= m)
                    && r["to"].as_u64().is_some_and(|t| m <= t)
            })?;
            Some((name.as_str(), &run["schema"]))
        })
        .collect()
}

/// The documentation of one field of a built-in definition as a server of `minor` publishes
/// it (the vendored run nearest to `minor` when none covers it): the text the API server's
/// printers describe a column with (`SwaggerDoc()` of the same Go field).
pub(super) fn field_doc(minor: u32, definition: &str, property: &str) -> Option<&'static str> {
    let m = u64::from(minor);
    let runs = vendored().get(definition)?.as_array()?;
    let distance = |r: &Value| {
        let (from, to) = (r["from"].as_u64()?, r["to"].as_u64()?);
        Some(from.saturating_sub(m) + m.saturating_sub(to))
    };
    let run = runs
        .iter()
        .min_by_key(|r| distance(r).unwrap_or(u64::MAX))?;
    run["schema"]["properties"][property]["description"].as_str()
}

/// Whether a server of `minor` has the built-in definition `name` (a vendored run covers the
/// minor).
pub(super) fn has_definition(minor: u32, name: &str) -> bool {
    let m = u64::from(minor);
    vendored()
        .get(name)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|r| {
            r["from"].as_u64().is_some_and(|f| f <= m) && r["to"].as_u64().is_some_and(|t| m <= t)
        })
}

/// Whether a schema is marked as one of `group/version`'s kinds.
fn of_group_version(schema: &Value, group: &str, version: &str) -> bool {
    schema["x-kubernetes-group-version-kind"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|g| g["group"] == group && g["version"] == version)
}

/// The names of the definitions `schema` refers to, anywhere inside it.
fn refs_in(schema: &Value, out: &mut Vec<String>) {
    match schema {
        Value::Object(m) => {
            if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                if let Some(name) = r.strip_prefix("#/components/schemas/") {
                    out.push(name.to_string());
                }
            }
            m.values().for_each(|v| refs_in(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| refs_in(v, out)),
        _ => {}
    }
}

/// A CRD version's schema as the API server publishes it: `metadata` is ObjectMeta, and the
/// kind is marked with its group, version and kind.
fn crd_schema(crd: &Value, version: &Value) -> Option<(String, Value)> {
    let spec = &crd["spec"];
    let group = spec["group"].as_str()?;
    let kind = spec["names"]["kind"].as_str()?;
    let v = version["name"].as_str()?;
    let mut schema = version["schema"]["openAPIV3Schema"].clone();
    if !schema.is_object() {
        schema = json!({"type": "object"});
    }
    let mut props = schema["properties"]
        .as_object_mut()
        .map(std::mem::take)
        .unwrap_or_default();
    props.insert(
        "metadata".into(),
        json!({"$ref": format!("#/components/schemas/{OBJECT_META}"),
               "description": "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"}),
    );
    schema["properties"] = Value::Object(props);
    schema["x-kubernetes-group-version-kind"] =
        json!([{"group": group, "kind": kind, "version": v}]);
    // The API server names a CRD's schema by its reversed group, version and kind.
    let reversed: Vec<&str> = group.split('.').rev().collect();
    Some((format!("{}.{v}.{kind}", reversed.join(".")), schema))
}

/// The schemas of one group version: its kinds and everything they refer to.
fn schemas(st: &SimState, group: &str, version: &str) -> Map<String, Value> {
    let defs = definitions(st.minor());
    let mut out = Map::new();
    let mut todo: Vec<String> = defs
        .iter()
        .filter(|(_, s)| of_group_version(s, group, version))
        .map(|(n, _)| n.to_string())
        .collect();
    for crd in st
        .scenario
        .objects
        .iter()
        .filter(|o| o["kind"] == "CustomResourceDefinition" && o["spec"]["group"] == group)
    {
        for v in crd["spec"]["versions"].as_array().into_iter().flatten() {
            if v["name"] == version && v["served"].as_bool().unwrap_or(true) {
                if let Some((name, schema)) = crd_schema(crd, v) {
                    refs_in(&schema, &mut todo);
                    out.insert(name, schema);
                }
            }
        }
    }
    while let Some(name) = todo.pop() {
        if out.contains_key(&name) {
            continue;
        }
        if let Some(s) = defs.get(name.as_str()) {
            refs_in(s, &mut todo);
            out.insert(name, (*s).clone());
        }
    }
    out
}

/// The group versions a document is published for: `api/v1`, `apis/G/V`.
fn group_versions(st: &SimState) -> BTreeSet<(String, String)> {
    st.store
        .registry
        .all()
        .iter()
        .map(|r| (r.group.clone(), r.version.clone()))
        .collect()
}

fn path_of(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3`: where each group version's document is, with a hash that changes with it.
pub async fn index(State(st): State<Arc<SimState>>) -> Response {
    let minor = st.minor();
    let paths: Map<String, Value> = group_versions(&st)
        .into_iter()
        .map(|(g, v)| {
            let path = path_of(&g, &v);
            let crds: Vec<&Value> = st
                .scenario
                .objects
                .iter()
                .filter(|o| o["kind"] == "CustomResourceDefinition" && o["spec"]["group"] == g)
                .collect();
            let hash = blake3::hash(format!("{minor}/{path}/{}", json!(crds)).as_bytes());
            let url = format!("/openapi/v3/{path}?hash={}", &hash.to_hex()[..32]);
            (path, json!({"serverRelativeURL": url}))
        })
        .collect();
    axum::Json(json!({"paths": paths})).into_response()
}

/// The read paths of a group version's resources (`…/pods` and `…/pods/{name}`, cluster-wide
/// and per namespace), each with its kind (`x-kubernetes-group-version-kind`): how a client
/// (kubectl explain) finds the kind of a resource in the document. Only `get` is published.
fn read_paths(st: &SimState, group: &str, version: &str) -> Map<String, Value> {
    let root = format!("/{}", path_of(group, version));
    let mut out = Map::new();
    for r in st
        .store
        .registry
        .in_group_version(group, version)
        .filter(|r| !r.plural.contains('/'))
    {
        let gvk = json!({"group": group, "version": version, "kind": r.kind});
        let op = |action: &str| json!({"get": {"x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk}});
        let mut lists = vec![format!("{root}/{}", r.plural)];
        if r.namespaced {
            lists.push(format!("{root}/namespaces/{{namespace}}/{}", r.plural));
        }
        let item = format!("{}/{{name}}", lists.last().expect("one list path at least"));
        for l in lists {
            out.insert(l, op("list"));
        }
        out.insert(item, op("get"));
    }
    out
}

fn document(st: &SimState, group: &str, version: &str) -> Response {
    if !group_versions(st).contains(&(group.to_string(), version.to_string())) {
        return not_found_page();
    }
    axum::Json(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": st.scenario.server_version.git_version},
        "paths": read_paths(st, group, version),
        "components": {"schemas": schemas(st, group, version)},
    }))
    .into_response()
}

/// `/openapi/v3/api/V`.
pub async fn core(State(st): State<Arc<SimState>>, Path(version): Path<String>) -> Response {
    document(&st, "", &version)
}

/// `/openapi/v3/apis/G/V`.
pub async fn named(
    State(st): State<Arc<SimState>>,
    Path((group, version)): Path<(String, String)>,
) -> Response {
    document(&st, &group, &version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_definitions_differ_by_minor_and_clamp_to_the_vendored_ones() {
        let d32 = definitions(32);
        let pod = d32["io.k8s.api.core.v1.Pod"];
        assert!(of_group_version(pod, "", "v1"));
        assert_eq!(
            pod["properties"]["spec"]["$ref"],
            "#/components/schemas/io.k8s.api.core.v1.PodSpec"
        );
        assert_eq!(pod["properties"]["kind"]["type"], "string");
        assert!(pod["properties"]["kind"].get("enum").is_none());
        // VolumeAttributesClass came in 1.29 (storage.k8s.io/v1beta1 from 1.31).
        let vac = "io.k8s.api.storage.v1beta1.VolumeAttributesClass";
        assert!(d32.contains_key(vac));
        assert!(!definitions(25).contains_key(vac));
        // Older servers get the first vendored minor's (1.19).
        assert_eq!(definitions(18), definitions(19));
        // A 1.24 server has its own: batch/v1beta1 CronJob (gone in 1.25), no
        // PodSpec.hostUsers (new in 1.25).
        let (d24, d25) = (definitions(24), definitions(25));
        let cron = "io.k8s.api.batch.v1beta1.CronJob";
        assert!(d24.contains_key(cron) && !d25.contains_key(cron));
        let has_host_users = |d: &BTreeMap<&str, &Value>| {
            d["io.k8s.api.core.v1.PodSpec"]["properties"]
                .get("hostUsers")
                .is_some()
        };
        assert!(!has_host_users(&d24) && has_host_users(&d25));
    }

    #[test]
    fn a_crd_schema_points_its_metadata_to_object_meta_and_names_its_kind() {
        let crd = json!({"spec": {"group": "traefik.containo.us", "names": {"kind": "IngressRoute"},
            "versions": [{"name": "v1alpha1", "served": true, "schema": {"openAPIV3Schema": {
                "type": "object", "description": "IngressRoute is ...",
                "properties": {"spec": {"type": "object", "properties": {"entryPoints": {"type": "array", "items": {"type": "string"}}}}}}}}]}});
        let (name, s) = crd_schema(&crd, &crd["spec"]["versions"][0]).unwrap();
        assert_eq!(name, "us.containo.traefik.v1alpha1.IngressRoute");
        assert_eq!(
            s["properties"]["metadata"]["$ref"],
            format!("#/components/schemas/{OBJECT_META}")
        );
        assert_eq!(
            s["x-kubernetes-group-version-kind"][0]["kind"],
            "IngressRoute"
        );
        assert_eq!(
            s["properties"]["spec"]["properties"]["entryPoints"]["type"],
            "array"
        );
    }
}
