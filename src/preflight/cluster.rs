//! Reading the cluster, once, into `ClusterFacts`: the API server version, nodes and the pods
//! bound to them, storage classes, the target namespace with its quotas and limit ranges,
//! KUDO's CRDs, manager and webhook, the instance, and SelfSubjectAccessReview answers.
//!
//! Every read that fails (403, a resource the server does not serve) is kept as an error
//! string next to what it was for, so the checks can say "could not check: ..." instead of the
//! whole preflight stopping. Only an unreachable API server stops it.

use std::collections::{BTreeMap, BTreeSet};

use axum::http::{Method, Request};
use serde_json::{json, Value as Json};

use super::PreflightError;
use crate::failure::ErrorKind;
use crate::kubeapi::{self, ApiError, Scope};

/// A read that may have failed, with the reason as a person should read it.
pub type Read<T> = Result<T, String>;

/// One SelfSubjectAccessReview: what was asked and the answer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Access {
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub namespace: Option<String>,
    /// Why it is needed (`install`, or the kind the manager will create).
    pub for_what: String,
    /// Whether a denial fails the install (KUDO's own objects) or only warns.
    pub required: bool,
    pub allowed: Read<bool>,
}

/// Everything the checks need from the cluster.
#[derive(Debug, Clone)]
pub struct ClusterFacts {
    /// `gitVersion` of `/version`.
    pub server_version: Read<String>,
    pub nodes: Read<Vec<Json>>,
    /// Pods of all namespaces (for the requests already on each node).
    pub pods: Read<Vec<Json>>,
    pub storage_classes: Read<Vec<Json>>,
    /// `Ok(None)`: the namespace does not exist.
    pub namespace: Read<Option<Json>>,
    pub quotas: Read<Vec<Json>>,
    pub limit_ranges: Read<Vec<Json>>,
    /// CRD name -> the CRD, or `None` when not installed.
    pub crds: BTreeMap<String, Read<Option<Json>>>,
    /// Pods in kudo-system.
    pub kudo_pods: Read<Vec<Json>>,
    /// `Ok(None)`: the server does not serve mutating webhook configurations.
    pub webhooks: Read<Option<Vec<Json>>>,
    pub instance: Read<Option<Json>>,
    /// OperatorVersions in the namespace (empty where KUDO's API is not served).
    pub operator_versions: Read<Vec<Json>>,
    pub access: Vec<Access>,
    /// apiVersion -> the kinds the server serves in it (`Ok(None)`: the group version is not
    /// served at all), for the apiVersions the operator's objects use.
    pub served: BTreeMap<String, Read<Option<BTreeSet<String>>>>,
}

/// KUDO's CRDs, by name.
pub const KUDO_CRDS: [&str; 3] = [
    "operators.kudo.dev",
    "operatorversions.kudo.dev",
    "instances.kudo.dev",
];

/// The namespace KUDO's manager runs in.
pub const KUDO_NAMESPACE: &str = "kudo-system";

/// A thin reader over a `kube::Client` that speaks raw API paths (any group, no discovery),
/// through [`crate::kubeapi`]: its error classification, its retry rule (a 503 or a dropped
/// connection is asked again, as a collection would) and its encoding of query values.
#[derive(Clone)]
pub struct ApiReader {
    client: kube::Client,
}

impl ApiReader {
    pub fn new(client: kube::Client) -> ApiReader {
        ApiReader { client }
    }

    async fn send(&self, method: Method, path: &str, body: Option<Json>) -> Result<Json, ApiError> {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let mut req = Request::builder().method(method).uri(path);
        if !bytes.is_empty() {
            req = req.header("content-type", "application/json");
        }
        let req = req.body(bytes).map_err(|e| {
            ApiError::new(ErrorKind::Invalid, format!("bad request for {path}: {e}"))
        })?;
        kubeapi::retrying(|| self.client.request::<Json>(req.clone()))
            .await
            .map_err(|e| kubeapi::kube_error(e, path, Scope::Object))
    }

    /// GET one object; `Ok(None)` when it does not exist.
    pub async fn get(&self, path: &str) -> Read<Option<Json>> {
        match self.send(Method::GET, path, None).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e.message),
        }
    }

    /// GET a list, following `continue` pages of 500.
    pub async fn list(&self, path: &str) -> Read<Vec<Json>> {
        let mut items = Vec::new();
        let mut cont: Option<String> = None;
        loop {
            let url = kubeapi::path::with_query(
                path,
                &[
                    ("limit", "500"),
                    ("continue", cont.as_deref().unwrap_or("")),
                ],
            );
            let page = self
                .send(Method::GET, &url, None)
                .await
                .map_err(|e| e.message)?;
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["metadata"]["continue"]
                .as_str()
                .filter(|c| !c.is_empty())
            {
                Some(c) => cont = Some(c.to_string()),
                None => return Ok(items),
            }
        }
    }

    /// Like `list`, with `Ok(None)` when the server does not serve the resource.
    pub async fn list_if_served(&self, path: &str) -> Read<Option<Vec<Json>>> {
        match self
            .send(Method::GET, &format!("{path}?limit=500"), None)
            .await
        {
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e.message),
            Ok(_) => self.list(path).await.map(Some),
        }
    }

    /// The group versions the server serves (`v1` and `group/version`), from discovery.
    pub async fn group_versions(&self) -> Read<BTreeSet<String>> {
        let mut out = BTreeSet::from(["v1".to_string()]);
        let apis = self
            .send(Method::GET, "/apis", None)
            .await
            .map_err(|e| e.message)?;
        for g in apis["groups"].as_array().into_iter().flatten() {
            for v in g["versions"].as_array().into_iter().flatten() {
                if let Some(gv) = v["groupVersion"].as_str() {
                    out.insert(gv.to_string());
                }
            }
        }
        Ok(out)
    }

    /// The kinds served in one group version.
    pub async fn kinds(&self, api_version: &str) -> Read<BTreeSet<String>> {
        let path = kubeapi::path::group_version(api_version);
        let list = self
            .send(Method::GET, &path, None)
            .await
            .map_err(|e| e.message)?;
        Ok(list["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| !r["name"].as_str().unwrap_or_default().contains('/'))
            .filter_map(|r| r["kind"].as_str().map(str::to_string))
            .collect())
    }

    /// Asks the API server whether the current user may do `verb` on `resource`.
    pub async fn can_i(
        &self,
        verb: &str,
        group: &str,
        resource: &str,
        namespace: Option<&str>,
    ) -> Read<bool> {
        let mut ra = json!({"verb": verb, "group": group, "resource": resource});
        if let Some(ns) = namespace {
            ra["namespace"] = json!(ns);
        }
        let review = json!({
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": ra},
        });
        let answer = self
            .send(
                Method::POST,
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                Some(review),
            )
            .await
            .map_err(|e| e.message)?;
        Ok(answer["status"]["allowed"].as_bool().unwrap_or(false))
    }

    /// `/version`'s gitVersion; an error here means the cluster cannot be reached.
    pub async fn server_version(&self) -> Result<String, PreflightError> {
        let v = self
            .send(Method::GET, "/version", None)
            .await
            .map_err(|e| match e.status() {
                // Answered, but not as this user: a credentials problem, not a network one.
                Some(code @ (401 | 403)) => PreflightError::Cluster(format!(
                    "the Kubernetes API server rejected the credentials ({code} {}); {}",
                    if code == 401 { "Unauthorized" } else { "Forbidden" },
                    kubeapi::CREDENTIALS_FIX
                )),
                _ => PreflightError::Cluster(format!(
                    "failed to reach the Kubernetes API server: {}; check --kubeconfig and --context",
                    e.message
                )),
            })?;
        Ok(v["gitVersion"].as_str().unwrap_or_default().to_string())
    }
}

/// One access the install needs.
#[derive(Debug, Clone)]
pub struct AccessNeed {
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub namespaced: bool,
    pub for_what: String,
    pub required: bool,
}

/// Reads everything, concurrently where it is independent.
pub async fn gather(
    api: &ApiReader,
    namespace: &str,
    instance: &str,
    needs: &[AccessNeed],
    api_versions: &BTreeSet<String>,
) -> Result<ClusterFacts, PreflightError> {
    let server_version = Ok(api.server_version().await?);
    // Discovery first, so nothing asks for a group version the server does not serve.
    let group_versions = api.group_versions().await;
    let mut served = BTreeMap::new();
    for av in api_versions {
        let answer = match &group_versions {
            Ok(gvs) if !gvs.contains(av) => Ok(None),
            Ok(_) => api.kinds(av).await.map(Some),
            Err(e) => Err(e.clone()),
        };
        served.insert(av.clone(), answer);
    }
    let webhook_gv = "admissionregistration.k8s.io/v1";
    let webhooks_served = group_versions.as_ref().map(|g| g.contains(webhook_gv));
    use kubeapi::path::{collection, object};
    let ns_path = object("v1", None, "namespaces", namespace);
    let quota_path = collection("v1", Some(namespace), "resourcequotas");
    let limits_path = collection("v1", Some(namespace), "limitranges");
    let kudo_pods_path = collection("v1", Some(KUDO_NAMESPACE), "pods");
    let instance_path = object("kudo.dev/v1beta1", Some(namespace), "instances", instance);
    let ovs_path = collection("kudo.dev/v1beta1", Some(namespace), "operatorversions");
    let kudo_served = !matches!(&group_versions, Ok(g) if !g.contains("kudo.dev/v1beta1"));
    let (nodes, pods, storage_classes, ns, quotas, limit_ranges, kudo_pods, webhooks, inst) = futures::join!(
        api.list("/api/v1/nodes"),
        api.list("/api/v1/pods"),
        api.list("/apis/storage.k8s.io/v1/storageclasses"),
        api.get(&ns_path),
        api.list(&quota_path),
        api.list(&limits_path),
        api.list(&kudo_pods_path),
        async {
            match webhooks_served {
                Ok(true) => {
                    api.list_if_served(
                        "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
                    )
                    .await
                }
                Ok(false) => Ok(None),
                Err(e) => Err(e.clone()),
            }
        },
        async {
            if kudo_served {
                api.get(&instance_path).await
            } else {
                Ok(None)
            }
        },
    );
    let operator_versions = if kudo_served {
        api.list(&ovs_path).await
    } else {
        Ok(Vec::new())
    };
    let mut crds = BTreeMap::new();
    for name in KUDO_CRDS {
        crds.insert(
            name.to_string(),
            api.get(&object(
                "apiextensions.k8s.io/v1",
                None,
                "customresourcedefinitions",
                name,
            ))
            .await,
        );
    }
    let answers = futures::future::join_all(needs.iter().map(|n| {
        let ns = n.namespaced.then_some(namespace);
        api.can_i(&n.verb, &n.group, &n.resource, ns)
    }))
    .await;
    let access = needs
        .iter()
        .zip(answers)
        .map(|(n, allowed)| Access {
            verb: n.verb.clone(),
            group: n.group.clone(),
            resource: n.resource.clone(),
            namespace: n.namespaced.then(|| namespace.to_string()),
            for_what: n.for_what.clone(),
            required: n.required,
            allowed,
        })
        .collect();
    // An instance read on a cluster without KUDO's CRDs is a 404 of the type: no instance.
    Ok(ClusterFacts {
        server_version,
        nodes,
        pods,
        storage_classes,
        namespace: ns,
        quotas,
        limit_ranges,
        crds,
        kudo_pods,
        webhooks,
        instance: inst,
        operator_versions,
        access,
        served,
    })
}
