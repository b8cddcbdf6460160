//! Which API resource a task means: `apiVersion` + `kind` (or `resource`, the plural) resolved to
//! a `kube::core::ApiResource` and whether it is namespaced.
//!
//! A static table covers every resource the built-in pipelines touch. A collection of an
//! instance with thousands of pods runs thousands of get/list/log tasks; asking discovery for each
//! would double the requests to an API server that may already be struggling, and a discovery
//! cache shared between tasks would need state that kinds deliberately do not have. Only kinds
//! missing from the table (a user's pipeline naming some other CRD) pay for one discovery
//! round trip (`kube::discovery::pinned_kind`).

use kube::core::{ApiResource, GroupVersionKind};

use crate::engine::{ErrorKind, TaskContext, TaskError};

/// A resolved resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub resource: ApiResource,
    pub namespaced: bool,
}

/// (apiVersion, kind, plural, namespaced)
const TABLE: &[(&str, &str, &str, bool)] = &[
    ("v1", "Pod", "pods", true),
    ("v1", "Service", "services", true),
    ("v1", "Endpoints", "endpoints", true),
    ("v1", "ConfigMap", "configmaps", true),
    ("v1", "Secret", "secrets", true),
    ("v1", "ServiceAccount", "serviceaccounts", true),
    (
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
    ),
    ("v1", "PersistentVolume", "persistentvolumes", false),
    ("v1", "Event", "events", true),
    ("v1", "Node", "nodes", false),
    ("v1", "Namespace", "namespaces", false),
    ("v1", "ResourceQuota", "resourcequotas", true),
    ("v1", "LimitRange", "limitranges", true),
    ("apps/v1", "StatefulSet", "statefulsets", true),
    ("apps/v1", "Deployment", "deployments", true),
    ("apps/v1", "ReplicaSet", "replicasets", true),
    ("apps/v1", "DaemonSet", "daemonsets", true),
    ("batch/v1", "Job", "jobs", true),
    ("batch/v1", "CronJob", "cronjobs", true),
    (
        "policy/v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
    ),
    ("events.k8s.io/v1", "Event", "events", true),
    ("networking.k8s.io/v1", "Ingress", "ingresses", true),
    (
        "networking.k8s.io/v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
    ),
    ("storage.k8s.io/v1", "StorageClass", "storageclasses", false),
    ("rbac.authorization.k8s.io/v1", "Role", "roles", true),
    (
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        "rolebindings",
        true,
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        "clusterroles",
        false,
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
    ),
    (
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
    ),
    (
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        false,
    ),
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        false,
    ),
    ("kudo.dev/v1beta1", "Instance", "instances", true),
    ("kudo.dev/v1beta1", "Operator", "operators", true),
    (
        "kudo.dev/v1beta1",
        "OperatorVersion",
        "operatorversions",
        true,
    ),
];

/// Looks `apiVersion` + `kind` or `resource` (plural, case-insensitive) up in the static table.
pub fn lookup(api_version: &str, kind: Option<&str>, resource: Option<&str>) -> Option<Resolved> {
    TABLE
        .iter()
        .find(|(av, k, plural, _)| {
            *av == api_version
                && (kind.is_some_and(|want| want == *k)
                    || resource.is_some_and(|want| want.eq_ignore_ascii_case(plural)))
        })
        .map(|(av, k, plural, namespaced)| Resolved {
            resource: api_resource(av, k, plural),
            namespaced: *namespaced,
        })
}

fn api_resource(api_version: &str, kind: &str, plural: &str) -> ApiResource {
    let (group, version) = split_api_version(api_version);
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

/// `apps/v1` -> (`apps`, `v1`); `v1` -> (``, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

/// Resolves the task's `apiVersion` + `kind`/`resource` parameters, asking discovery only for
/// what the table does not know.
pub async fn resolve(ctx: &TaskContext) -> Result<Resolved, TaskError> {
    let p = &ctx.params;
    let api_version = super::params::str_req(p, "apiVersion")?;
    let kind = super::params::str_opt(p, "kind")?;
    let resource = super::params::str_opt(p, "resource")?;
    if kind.is_none() && resource.is_none() {
        return Err(TaskError::failed(
            "the task names no resource: give `kind` (e.g. Pod) or `resource` (e.g. pods)",
        ));
    }
    if let Some(r) = lookup(api_version, kind, resource) {
        return Ok(r);
    }
    let Some(kind) = kind else {
        return Err(TaskError::failed(format!(
            "unknown resource {:?} in {api_version}: give `kind` instead so it can be discovered",
            resource.unwrap_or_default()
        )));
    };
    let client = super::api::client(ctx)?;
    let (group, version) = split_api_version(api_version);
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let what = format!("discover {kind} in {api_version}");
    let (ar, caps) = tokio::select! {
        r = kube::discovery::pinned_kind(&client, &gvk) => r.map_err(|e| match e {
            kube::Error::Discovery(d) => TaskError::invalid(format!(
                "{what}: the cluster does not serve it ({d}); check apiVersion and kind, or install its CRD"
            )),
            kube::Error::Api(e) if e.code == 404 => TaskError::new(ErrorKind::api(404, e.reason, None), format!(
                "{what}: the cluster does not serve {api_version}; check apiVersion and kind, or install its CRD"
            )),
            other => super::api::kube_error(other, &what),
        })?,
        _ = ctx.cancel.cancelled() => return Err(super::api::cancelled(&what)),
    };
    Ok(Resolved {
        resource: ar,
        namespaced: caps.scope == kube::discovery::Scope::Namespaced,
    })
}

/// A name as one segment of a URL path: every byte outside the characters Kubernetes names use
/// (letters, digits, `-`, `.`, `_`, `~`, `:`) percent-encoded, and `.`/`..` encoded whole, so a
/// hostile name from the API server (`a/../..`, `x?watch=1`) can only name a missing object,
/// never another path. Valid names come out unchanged.
pub fn path_segment(name: &str) -> std::borrow::Cow<'_, str> {
    let keep = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':');
    if name != "." && name != ".." && !name.is_empty() && name.bytes().all(keep) {
        return std::borrow::Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() * 3);
    for b in name.bytes() {
        let dot_names = name == "." || name == "..";
        if keep(b) && !(b == b'.' && dot_names) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The URL path of a collection: `/api/v1/namespaces/NS/pods`, `/apis/apps/v1/statefulsets`.
pub fn collection_path(r: &Resolved, namespace: Option<&str>) -> String {
    let ns = namespace.filter(|_| r.namespaced);
    crate::kubeapi::path::collection(&r.resource.api_version, ns, &r.resource.plural)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_resolves_by_kind_or_plural() {
        let sts = lookup("apps/v1", Some("StatefulSet"), None).unwrap();
        assert_eq!(sts.resource.plural, "statefulsets");
        assert!(sts.namespaced);
        let crd = lookup(
            "apiextensions.k8s.io/v1",
            None,
            Some("CustomResourceDefinitions"),
        )
        .unwrap();
        assert!(!crd.namespaced);
        assert_eq!(crd.resource.kind, "CustomResourceDefinition");
        assert!(lookup("apps/v1", Some("Pod"), None).is_none());
    }

    /// Issue 14: names are one URL segment, whatever the API server sent.
    #[test]
    fn hostile_names_stay_one_path_segment() {
        assert_eq!(path_segment("cassandra-node-0"), "cassandra-node-0");
        assert_eq!(path_segment("system:admin"), "system:admin");
        assert_eq!(path_segment(".."), "%2E%2E");
        assert_eq!(path_segment("."), "%2E");
        assert_eq!(path_segment("a/../.."), "a%2F..%2F..");
        assert_eq!(path_segment("/abs"), "%2Fabs");
        assert_eq!(path_segment("x?watch=1#y"), "x%3Fwatch%3D1%23y");
        assert_eq!(path_segment("a b%"), "a%20b%25");
    }

    #[test]
    fn paths_follow_the_api_layout() {
        let pod = lookup("v1", Some("Pod"), None).unwrap();
        assert_eq!(
            collection_path(&pod, Some("prod")),
            "/api/v1/namespaces/prod/pods"
        );
        assert_eq!(collection_path(&pod, None), "/api/v1/pods");
        let inst = lookup("kudo.dev/v1beta1", Some("Instance"), None).unwrap();
        assert_eq!(
            collection_path(&inst, Some("ns")),
            "/apis/kudo.dev/v1beta1/namespaces/ns/instances"
        );
        let node = lookup("v1", Some("Node"), None).unwrap();
        assert_eq!(collection_path(&node, Some("ignored")), "/api/v1/nodes");
    }
}
