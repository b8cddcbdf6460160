//! Where a `diagnostics` key is read from, in this order (a later source's entry replaces an
//! earlier one of the same name):
//!
//! 1. an operator package given with `--operator-package`: a folder with operator.yaml, or a
//!    `.tgz`/`.tar.gz` as `kubectl kudo package create` writes (operator.yaml at its root or
//!    one folder down);
//! 2. the OperatorVersion in the cluster: KUDO's OperatorVersion CRD has no `diagnostics`
//!    field, so the key travels as YAML in the annotation `kudo-diag.dev/diagnostics`
//!    (and, for CRDs that preserve unknown fields, `spec.diagnostics` is read too);
//! 3. ConfigMaps labelled `kudo-diag.dev/diagnostics-for: OPERATOR` in kudo-system, then in the
//!    instance's namespace, with the key as YAML under `data."diagnostics.yaml"`: a team
//!    publishes diagnostics to a running cluster without a new operator version.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use super::model::{from_operator_yaml, from_value, from_yaml};
use super::plan::Sourced;
use crate::kubeapi::path;

/// The OperatorVersion annotation holding the key as YAML.
pub const ANNOTATION: &str = "kudo-diag.dev/diagnostics";
/// The ConfigMap label whose value is the operator's name.
pub const CONFIGMAP_LABEL: &str = "kudo-diag.dev/diagnostics-for";
/// The ConfigMap data key holding the key as YAML.
pub const CONFIGMAP_KEY: &str = "diagnostics.yaml";

/// The `diagnostics` key of an operator package (folder or tgz); `Ok(None)` when its
/// operator.yaml has none.
pub fn from_package(path: &Path) -> Result<Option<Sourced>, String> {
    let origin = format!("package:{}", path.display());
    let text = if path.is_dir() {
        let f = path.join("operator.yaml");
        std::fs::read_to_string(&f).map_err(|e| {
            format!(
                "cannot read {}: {e}; --operator-package takes a folder with operator.yaml or a .tgz package",
                f.display()
            )
        })?
    } else {
        let bytes = std::fs::read(path)
            .map_err(|e| format!("cannot read operator package {}: {e}", path.display()))?;
        operator_yaml_from_tgz(&bytes).map_err(|e| format!("{}: {e}", path.display()))?
    };
    let d = from_operator_yaml(&text).map_err(|e| format!("{origin}: {e}"))?;
    Ok(d.map(|diagnostics| Sourced {
        origin,
        diagnostics,
    }))
}

/// operator.yaml out of a gzipped tar package.
pub fn operator_yaml_from_tgz(bytes: &[u8]) -> Result<String, String> {
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut tar)
        .map_err(|e| format!("not a gzipped tar package ({e}); give a .tgz from `kubectl kudo package create` or the package folder"))?;
    let files = super::tar::read(&tar).map_err(|e| e.to_string())?;
    let found = files
        .iter()
        .filter(|f| {
            let p = f.path.trim_start_matches("./");
            p == "operator.yaml" || (p.ends_with("/operator.yaml") && p.matches('/').count() == 1)
        })
        .min_by_key(|f| f.path.len())
        .ok_or("the package has no operator.yaml at its root or one folder down")?;
    String::from_utf8(found.content.clone()).map_err(|_| "operator.yaml is not UTF-8".to_string())
}

/// The key carried by an OperatorVersion object (annotation, else `spec.diagnostics`).
pub fn from_operator_version(ov: &Value) -> Result<Option<Sourced>, String> {
    let ns = ov
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let name = ov
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let origin = format!("operatorversion:{ns}/{name}");
    let d = if let Some(text) = ov
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(ANNOTATION))
        .and_then(Value::as_str)
    {
        Some(from_yaml(text).map_err(|e| format!("{origin}: annotation {ANNOTATION}: {e}"))?)
    } else if let Some(v) = ov.pointer("/spec/diagnostics") {
        Some(from_value(v).map_err(|e| format!("{origin}: {e}"))?)
    } else {
        None
    };
    Ok(d.map(|diagnostics| Sourced {
        origin,
        diagnostics,
    }))
}

/// The key carried by a labelled ConfigMap.
pub fn from_configmap(cm: &Value) -> Result<Sourced, String> {
    let ns = cm
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let name = cm
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let origin = format!("configmap:{ns}/{name}");
    let text = cm
        .pointer("/data")
        .and_then(|d| d.get(CONFIGMAP_KEY))
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{origin}: has label {CONFIGMAP_LABEL} but no data key {CONFIGMAP_KEY:?}; put the diagnostics key there as YAML"))?;
    let diagnostics = from_yaml(text).map_err(|e| format!("{origin}: {e}"))?;
    Ok(Sourced {
        origin,
        diagnostics,
    })
}

async fn get_json(client: &kube::Client, url: &str) -> Result<Option<Value>, String> {
    let req = hyper::Request::get(url)
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    // Transient failures (503, 429, a dropped connection) are retried like the engine's.
    match crate::kubeapi::retrying(|| client.request::<Value>(req.clone())).await {
        Ok(v) => Ok(Some(v)),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// What the cluster publishes for `operator`: its OperatorVersion `operator_version` (in
/// `namespace`), then the labelled ConfigMaps of `kudo_namespace` and `namespace`. Problems
/// (unreadable keys, denied requests) are returned beside what could be read: they never stop
/// a collection.
pub async fn from_cluster(
    client: &kube::Client,
    namespace: &str,
    kudo_namespace: &str,
    operator: &str,
    operator_version: Option<&str>,
) -> (Vec<Sourced>, Vec<String>) {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    let mut namespaces = vec![kudo_namespace];
    if namespace != kudo_namespace {
        namespaces.push(namespace);
    }
    // Asked at once: each is one request that waits on the API server, not on the others.
    let selector = format!("{CONFIGMAP_LABEL}={operator}");
    let ov_url = operator_version
        .map(|ov| path::object("kudo.dev/v1beta1", Some(namespace), "operatorversions", ov));
    let (ov_answer, cm_answers) = tokio::join!(
        async {
            match &ov_url {
                Some(url) => Some(get_json(client, url).await),
                None => None,
            }
        },
        futures::future::join_all(namespaces.iter().map(|ns| {
            let url = path::with_query(
                &path::collection("v1", Some(ns), "configmaps"),
                &[("labelSelector", &selector)],
            );
            async move { get_json(client, &url).await }
        })),
    );
    if let (Some(ov), Some(answer)) = (operator_version, ov_answer) {
        match answer {
            Ok(Some(obj)) => match from_operator_version(&obj) {
                Ok(Some(s)) => found.push(s),
                Ok(None) => {}
                Err(e) => problems.push(e),
            },
            Ok(None) => {}
            Err(e) => problems.push(format!("reading OperatorVersion {namespace}/{ov}: {e}")),
        }
    }
    for (ns, answer) in namespaces.iter().zip(cm_answers) {
        match answer {
            Ok(Some(list)) => {
                let mut items = list["items"].as_array().cloned().unwrap_or_default();
                items.sort_by(|a, b| {
                    a.pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .cmp(&b.pointer("/metadata/name").and_then(Value::as_str))
                });
                for cm in items {
                    match from_configmap(&cm) {
                        Ok(s) => found.push(s),
                        Err(e) => problems.push(e),
                    }
                }
            }
            Ok(None) => {}
            Err(e) => problems.push(format!(
                "listing ConfigMaps labelled {CONFIGMAP_LABEL}={operator} in namespace {ns}: {e}"
            )),
        }
    }
    (found, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operator_versions_carry_the_key_in_an_annotation() {
        let ov = json!({"metadata": {"namespace": "ns", "name": "zk-0.3.3", "annotations": {
            ANNOTATION: "bundle:\n  resources:\n  - {name: a, kind: Command, spec: {command: [ls]}}\n"}}});
        let s = from_operator_version(&ov).unwrap().unwrap();
        assert_eq!(s.origin, "operatorversion:ns/zk-0.3.3");
        assert_eq!(s.diagnostics.bundle.resources.len(), 1);
        assert!(from_operator_version(&json!({"metadata": {}}))
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_configmap_without_the_data_key_says_where_to_put_it() {
        let cm = json!({"metadata": {"namespace": "kudo-system", "name": "zk-diag"}, "data": {}});
        let e = from_configmap(&cm).unwrap_err();
        assert!(e.contains("no data key \"diagnostics.yaml\""), "{e}");
    }
}
