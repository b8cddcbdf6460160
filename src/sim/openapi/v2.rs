//! `/openapi/v2`: the Swagger 2.0 document of every kind the server serves, as JSON or, when
//! asked, as gnostic protobuf (`super::gnostic`), the form kubectl reads for `explain --output
//! plaintext-openapiv2`, client-side validation and client-side apply's patch strategies.
//!
//! The definitions are those the v3 documents publish (the vendored built-in definitions of
//! the server's minor and the CRDs' schemas), converted as the API server converts a CRD's
//! structural schema to v2: references to `#/definitions/`, only what Swagger 2.0 has (no
//! `nullable`, `oneOf`, `anyOf`, `allOf`, `not`, `default`), and no type where v2 cannot say
//! it (a nullable field, `x-kubernetes-int-or-string`) nor fields under
//! `x-kubernetes-preserve-unknown-fields`, so that a client validating against v2 refuses
//! nothing the server accepts. Paths are the read paths of the v3 documents.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use prost::Message;
use serde_json::{json, Map, Value};

use super::gnostic;
use crate::sim::state::SimState;

/// The media type client-go asks for the protobuf form with.
pub const PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

/// The media type the API server answers the protobuf form with: the `@` of the asked type is
/// not valid in a media type (Go's `mime.ParseMediaType` refuses it), so kube-openapi's
/// handler returns the dotted spelling.
const PROTOBUF_RETURNED: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// Whether the client asked for the protobuf form (the spellings kube-openapi's handler
/// accepts for it: the gnostic type with `@` or `.`, and Kubernetes protobuf).
fn wants_protobuf(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| {
            let t = v.split(';').next().unwrap_or_default().trim();
            t.starts_with("application/com.github.proto-openapi.spec.v2")
                || t == "application/vnd.kubernetes.protobuf"
        })
}

/// `GET /openapi/v2`.
pub async fn document(State(st): State<Arc<SimState>>, headers: HeaderMap) -> Response {
    let doc = swagger(&st);
    if !wants_protobuf(&headers) {
        return axum::Json(doc).into_response();
    }
    let mut r = encode(&doc).encode_to_vec().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PROTOBUF_RETURNED),
    );
    r
}

/// The JSON document: every served group version's read paths and schemas, in v2's form.
pub(crate) fn swagger(st: &SimState) -> Value {
    let mut paths = Map::new();
    let mut definitions = Map::new();
    for (group, version) in super::group_versions(st) {
        paths.extend(super::read_paths(st, &group, &version));
        for (name, schema) in super::schemas(st, &group, &version) {
            definitions.entry(name).or_insert_with(|| to_v2(&schema));
        }
    }
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": st.scenario.server_version.git_version},
        "paths": paths,
        "definitions": definitions,
    })
}

/// Whether a schema sets the boolean `key`.
fn flag(m: &Map<String, Value>, key: &str) -> bool {
    m.get(key).and_then(Value::as_bool) == Some(true)
}

/// A schema of the v3 documents as the v2 document publishes it (see the module doc).
fn to_v2(schema: &Value) -> Value {
    let Value::Object(m) = schema else {
        return schema.clone();
    };
    let open = flag(m, "x-kubernetes-preserve-unknown-fields");
    let untyped = open || flag(m, "nullable") || flag(m, "x-kubernetes-int-or-string");
    let mut out = Map::new();
    for (key, value) in m {
        let converted = match key.as_str() {
            "$ref" => value
                .as_str()
                .map(|r| Value::from(r.replace("#/components/schemas/", "#/definitions/"))),
            "type" if untyped => None,
            "properties" if open => None,
            "properties" => value.as_object().map(|props| {
                Value::Object(props.iter().map(|(k, p)| (k.clone(), to_v2(p))).collect())
            }),
            "items" => Some(match value {
                Value::Array(a) => Value::Array(a.iter().map(to_v2).collect()),
                v => to_v2(v),
            }),
            "additionalProperties" => Some(to_v2(value)),
            "type" | "format" | "title" | "description" | "required" | "enum" => {
                Some(value.clone())
            }
            k if k.starts_with("x-") => Some(value.clone()),
            _ => None,
        };
        if let Some(v) = converted {
            out.insert(key.clone(), v);
        }
    }
    Value::Object(out)
}

/// A value as gnostic's `Any`: YAML text (JSON is YAML).
fn any(v: &Value) -> gnostic::Any {
    gnostic::Any {
        yaml: format!("{v}\n"),
    }
}

/// The `x-…` keys of a JSON object as gnostic vendor extensions.
fn extensions(m: &Map<String, Value>) -> Vec<gnostic::NamedAny> {
    m.iter()
        .filter(|(k, _)| k.starts_with("x-"))
        .map(|(k, v)| gnostic::NamedAny {
            name: k.clone(),
            value: Some(any(v)),
        })
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|s| s.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

fn named_schemas(m: &Map<String, Value>) -> Vec<gnostic::NamedSchema> {
    m.iter()
        .map(|(name, s)| gnostic::NamedSchema {
            name: name.clone(),
            value: Some(schema(s)),
        })
        .collect()
}

/// A v2 JSON schema as gnostic's `Schema`.
fn schema(v: &Value) -> gnostic::Schema {
    let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    let empty = Map::new();
    let m = v.as_object().unwrap_or(&empty);
    gnostic::Schema {
        xref: text("$ref"),
        format: text("format"),
        title: text("title"),
        description: text("description"),
        required: strings(&v["required"]),
        r#enum: v["enum"]
            .as_array()
            .into_iter()
            .flatten()
            .map(any)
            .collect(),
        additional_properties: m.get("additionalProperties").map(|a| {
            gnostic::AdditionalPropertiesItem {
                oneof: Some(match a {
                    Value::Bool(b) => gnostic::AdditionalProperties::Boolean(*b),
                    s => gnostic::AdditionalProperties::Schema(Box::new(schema(s))),
                }),
            }
        }),
        r#type: m
            .get("type")
            .map(|t| gnostic::TypeItem { value: strings(t) }),
        items: m.get("items").map(|i| gnostic::ItemsItem {
            schema: match i {
                Value::Array(a) => a.iter().map(schema).collect(),
                s => vec![schema(s)],
            },
        }),
        properties: m
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| gnostic::Properties {
                additional_properties: named_schemas(p),
            }),
        vendor_extension: extensions(m),
    }
}

/// The JSON document as gnostic's `Document`.
pub(crate) fn encode(doc: &Value) -> gnostic::Document {
    let empty = Map::new();
    let path = doc["paths"]
        .as_object()
        .unwrap_or(&empty)
        .iter()
        .map(|(name, item)| gnostic::NamedPathItem {
            name: name.clone(),
            value: Some(gnostic::PathItem {
                get: item["get"].as_object().map(|op| gnostic::Operation {
                    description: op
                        .get("description")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    operation_id: op
                        .get("operationId")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    vendor_extension: extensions(op),
                }),
            }),
        })
        .collect();
    gnostic::Document {
        swagger: doc["swagger"].as_str().unwrap_or_default().to_string(),
        info: Some(gnostic::Info {
            title: doc["info"]["title"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            version: doc["info"]["version"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        }),
        paths: Some(gnostic::Paths { path }),
        definitions: Some(gnostic::Definitions {
            additional_properties: named_schemas(doc["definitions"].as_object().unwrap_or(&empty)),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// gnostic's `Schema` read back into JSON: the inverse of `schema`.
    fn back(s: &gnostic::Schema) -> Value {
        let mut m = Map::new();
        let mut text = |k: &str, v: &str| {
            if !v.is_empty() {
                m.insert(k.into(), v.into());
            }
        };
        text("$ref", &s.xref);
        text("format", &s.format);
        text("title", &s.title);
        text("description", &s.description);
        if !s.required.is_empty() {
            m.insert("required".into(), json!(s.required));
        }
        let yaml = |a: &gnostic::Any| serde_json::from_str::<Value>(&a.yaml).unwrap();
        if !s.r#enum.is_empty() {
            m.insert("enum".into(), s.r#enum.iter().map(yaml).collect());
        }
        if let Some(a) = &s.additional_properties {
            let v = match a.oneof.as_ref().unwrap() {
                gnostic::AdditionalProperties::Boolean(b) => Value::Bool(*b),
                gnostic::AdditionalProperties::Schema(s) => back(s),
            };
            m.insert("additionalProperties".into(), v);
        }
        if let Some(t) = &s.r#type {
            m.insert("type".into(), t.value[0].clone().into());
        }
        if let Some(i) = &s.items {
            m.insert("items".into(), back(&i.schema[0]));
        }
        if let Some(p) = &s.properties {
            let props = p
                .additional_properties
                .iter()
                .map(|n| (n.name.clone(), back(n.value.as_ref().unwrap())))
                .collect();
            m.insert("properties".into(), Value::Object(props));
        }
        for e in &s.vendor_extension {
            m.insert(e.name.clone(), yaml(e.value.as_ref().unwrap()));
        }
        Value::Object(m)
    }

    fn state(name: &str) -> SimState {
        SimState::new(crate::sim::scenarios::load(name).unwrap(), None).unwrap()
    }

    #[test]
    fn the_protobuf_decodes_back_to_the_json_document() {
        let st = state("cassandra");
        let doc = swagger(&st);
        let bytes = encode(&doc).encode_to_vec();
        let decoded = gnostic::Document::decode(bytes.as_slice()).unwrap();
        assert_eq!(decoded.swagger, "2.0");
        assert_eq!(decoded.info.as_ref().unwrap().title, "Kubernetes");
        let defs = &decoded.definitions.as_ref().unwrap().additional_properties;
        let json_defs = doc["definitions"].as_object().unwrap();
        assert_eq!(defs.len(), json_defs.len());
        for d in defs {
            assert_eq!(
                back(d.value.as_ref().unwrap()),
                json_defs[&d.name],
                "{}",
                d.name
            );
        }
        let paths = &decoded.paths.as_ref().unwrap().path;
        assert_eq!(paths.len(), doc["paths"].as_object().unwrap().len());
        let pods = paths
            .iter()
            .find(|p| p.name == "/api/v1/namespaces/{namespace}/pods/{name}")
            .unwrap();
        let gvk = &pods
            .value
            .as_ref()
            .unwrap()
            .get
            .as_ref()
            .unwrap()
            .vendor_extension;
        assert!(gvk
            .iter()
            .any(|e| e.name == "x-kubernetes-group-version-kind"
                && e.value.as_ref().unwrap().yaml.contains("\"kind\":\"Pod\"")));
    }

    /// kube-openapi refuses the whole document when one reference does not resolve or a
    /// schema names several types, so kubectl would find no schema at all.
    #[test]
    fn every_reference_resolves_and_every_type_is_one() {
        let doc = swagger(&state("cassandra"));
        let defs = doc["definitions"].as_object().unwrap();
        fn walk(s: &Value, defs: &Map<String, Value>) {
            if let Some(r) = s["$ref"].as_str() {
                let name = r.strip_prefix("#/definitions/").expect(r);
                assert!(defs.contains_key(name), "{r}");
            }
            if let Some(t) = s.get("type") {
                assert!(t.is_string(), "{t}");
            }
            let props = s["properties"]
                .as_object()
                .into_iter()
                .flat_map(|p| p.values());
            for sub in props.chain([&s["items"], &s["additionalProperties"]]) {
                if sub.is_object() {
                    walk(sub, defs);
                }
            }
        }
        defs.values().for_each(|d| walk(d, defs));
        // The built-in kinds and KUDO's CRDs are there, marked with their kinds.
        let pod = &defs["io.k8s.api.core.v1.Pod"];
        assert_eq!(pod["x-kubernetes-group-version-kind"][0]["kind"], "Pod");
        assert_eq!(
            pod["properties"]["spec"]["$ref"],
            "#/definitions/io.k8s.api.core.v1.PodSpec"
        );
        assert!(defs.contains_key("dev.kudo.v1beta1.Instance"));
        // Strategic merge patch keys are published, as client-side apply reads them.
        let containers = &defs["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
    }

    #[test]
    fn a_crd_schema_keeps_only_what_v2_can_say() {
        let s = json!({"type": "object", "properties": {
            "size": {"type": "integer", "nullable": true, "minimum": 1},
            "port": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]},
            "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                       "properties": {"a": {"type": "string"}}},
            "mode": {"type": "string", "enum": ["a", "b"], "default": "a"}}});
        let v2 = to_v2(&s);
        let p = &v2["properties"];
        assert_eq!(p["size"], json!({}));
        assert_eq!(p["port"], json!({"x-kubernetes-int-or-string": true}));
        assert_eq!(
            p["config"],
            json!({"x-kubernetes-preserve-unknown-fields": true})
        );
        assert_eq!(p["mode"], json!({"type": "string", "enum": ["a", "b"]}));
    }

    #[test]
    fn protobuf_only_when_asked() {
        let mut h = HeaderMap::new();
        assert!(!wants_protobuf(&h));
        h.insert(header::ACCEPT, HeaderValue::from_static(PROTOBUF_RETURNED));
        assert!(wants_protobuf(&h));
        h.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        assert!(!wants_protobuf(&h));
    }
}
