//! The resource registry: every API resource the simulated cluster serves, with the names,
//! scope, verbs and categories discovery reports (`kubectl api-resources` prints them).
//!
//! The built-in list covers what kudo-diag reads (issue 3 item 2) plus the KUDO kinds; any
//! `CustomResourceDefinition` among a scenario's objects adds its served versions.

use serde_json::Value;

/// One resource (or subresource, `pods/log`) of one group version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceInfo {
    /// `""` for the core group.
    pub group: String,
    pub version: String,
    pub kind: String,
    /// `pods`, or `pods/log` for a subresource.
    pub plural: String,
    pub singular: String,
    pub short_names: Vec<String>,
    pub namespaced: bool,
    pub verbs: Vec<String>,
    pub categories: Vec<String>,
    /// `additionalPrinterColumns` of a CRD version (raw JSON), for the Table form.
    pub printer_columns: Vec<Value>,
}

impl ResourceInfo {
    /// `v1` for core, `apps/v1` otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn is_subresource(&self) -> bool {
        self.plural.contains('/')
    }
}

/// Verbs of a resource a real API server would allow writes on; the simulator answers only
/// reads (and dry-run writes) but reports the real verbs so kubectl behaves as against a cluster.
const RW: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

struct Builtin {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    short: &'static [&'static str],
    namespaced: bool,
    verbs: &'static [&'static str],
    categories: &'static [&'static str],
}

const fn b(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    short: &'static [&'static str],
    namespaced: bool,
    categories: &'static [&'static str],
) -> Builtin {
    Builtin {
        group,
        version,
        kind,
        plural,
        short,
        namespaced,
        verbs: RW,
        categories,
    }
}

const ALL: &[&str] = &["all"];
const NONE: &[&str] = &[];
const KUDO: &[&str] = &[];

const BUILTINS: &[Builtin] = &[
    b("", "v1", "Namespace", "namespaces", &["ns"], false, NONE),
    b("", "v1", "Node", "nodes", &["no"], false, NONE),
    b("", "v1", "Pod", "pods", &["po"], true, ALL),
    Builtin {
        group: "",
        version: "v1",
        kind: "Pod",
        plural: "pods/log",
        short: &[],
        namespaced: true,
        verbs: &["get"],
        categories: NONE,
    },
    Builtin {
        group: "",
        version: "v1",
        kind: "PodExecOptions",
        plural: "pods/exec",
        short: &[],
        namespaced: true,
        verbs: &["create", "get"],
        categories: NONE,
    },
    Builtin {
        group: "",
        version: "v1",
        kind: "Pod",
        plural: "pods/status",
        short: &[],
        namespaced: true,
        verbs: &["get", "patch", "update"],
        categories: NONE,
    },
    b("", "v1", "Service", "services", &["svc"], true, ALL),
    // Not used by KUDO, but `kubectl cluster-info dump` and `get all` list them.
    b(
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        &["rc"],
        true,
        ALL,
    ),
    b("", "v1", "Endpoints", "endpoints", &["ep"], true, NONE),
    b("", "v1", "ConfigMap", "configmaps", &["cm"], true, NONE),
    b("", "v1", "Secret", "secrets", &[], true, NONE),
    b(
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        &["sa"],
        true,
        NONE,
    ),
    b(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        &["pvc"],
        true,
        NONE,
    ),
    b(
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        &["pv"],
        false,
        NONE,
    ),
    b("", "v1", "Event", "events", &["ev"], true, NONE),
    b(
        "",
        "v1",
        "ResourceQuota",
        "resourcequotas",
        &["quota"],
        true,
        NONE,
    ),
    b(
        "",
        "v1",
        "LimitRange",
        "limitranges",
        &["limits"],
        true,
        NONE,
    ),
    b(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        &["sts"],
        true,
        ALL,
    ),
    b(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        &["deploy"],
        true,
        ALL,
    ),
    b(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        &["rs"],
        true,
        ALL,
    ),
    b("apps", "v1", "DaemonSet", "daemonsets", &["ds"], true, ALL),
    b("batch", "v1", "Job", "jobs", &[], true, ALL),
    b("batch", "v1", "CronJob", "cronjobs", &["cj"], true, ALL),
    b(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        &[],
        false,
        NONE,
    ),
    b(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        &[],
        false,
        NONE,
    ),
    b(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        &["netpol"],
        true,
        NONE,
    ),
    b(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        &["pdb"],
        true,
        NONE,
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        &[],
        true,
        NONE,
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        &[],
        true,
        NONE,
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        &[],
        false,
        NONE,
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        &[],
        false,
        NONE,
    ),
    b(
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        &["sc"],
        false,
        NONE,
    ),
    b(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        &["crd", "crds"],
        false,
        NONE,
    ),
    Builtin {
        group: "authorization.k8s.io",
        version: "v1",
        kind: "SelfSubjectAccessReview",
        plural: "selfsubjectaccessreviews",
        short: &[],
        namespaced: false,
        verbs: &["create"],
        categories: NONE,
    },
    b(
        "kudo.dev",
        "v1beta1",
        "Operator",
        "operators",
        &[],
        true,
        KUDO,
    ),
    b(
        "kudo.dev",
        "v1beta1",
        "OperatorVersion",
        "operatorversions",
        &[],
        true,
        KUDO,
    ),
    b(
        "kudo.dev",
        "v1beta1",
        "Instance",
        "instances",
        &[],
        true,
        KUDO,
    ),
];

/// All resources served, in discovery order (groups in first-seen order).
#[derive(Debug, Clone, Default)]
pub struct Registry {
    resources: Vec<ResourceInfo>,
}

impl Registry {
    /// The built-ins plus every CRD found among `objects`.
    pub fn new(objects: &[Value]) -> Registry {
        let mut reg = Registry::default();
        for bi in BUILTINS {
            reg.resources.push(ResourceInfo {
                group: bi.group.into(),
                version: bi.version.into(),
                kind: bi.kind.into(),
                plural: bi.plural.into(),
                singular: if bi.plural.contains('/') {
                    String::new()
                } else {
                    bi.kind.to_lowercase()
                },
                short_names: bi.short.iter().map(|s| s.to_string()).collect(),
                namespaced: bi.namespaced,
                verbs: bi.verbs.iter().map(|s| s.to_string()).collect(),
                categories: bi.categories.iter().map(|s| s.to_string()).collect(),
                printer_columns: Vec::new(),
            });
        }
        for o in objects {
            if o["kind"] == "CustomResourceDefinition" {
                reg.add_crd(o);
            }
        }
        reg
    }

    /// Adds (or replaces, for the built-in KUDO kinds) the served versions of one CRD.
    fn add_crd(&mut self, crd: &Value) {
        let spec = &crd["spec"];
        let Some(group) = spec["group"].as_str() else {
            return;
        };
        let names = &spec["names"];
        let Some(plural) = names["plural"].as_str() else {
            return;
        };
        let kind = names["kind"].as_str().unwrap_or_default().to_string();
        let singular = names["singular"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| kind.to_lowercase());
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let namespaced = spec["scope"].as_str() != Some("Cluster");
        for ver in spec["versions"].as_array().into_iter().flatten() {
            if ver["served"] == Value::Bool(false) {
                continue;
            }
            let Some(version) = ver["name"].as_str() else {
                continue;
            };
            let info = ResourceInfo {
                group: group.into(),
                version: version.into(),
                kind: kind.clone(),
                plural: plural.into(),
                singular: singular.clone(),
                short_names: strings(&names["shortNames"]),
                namespaced,
                verbs: RW.iter().map(|s| s.to_string()).collect(),
                categories: strings(&names["categories"]),
                printer_columns: ver["additionalPrinterColumns"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            };
            match self
                .resources
                .iter_mut()
                .find(|r| r.group == group && r.version == version && r.plural == plural)
            {
                Some(existing) => *existing = info,
                None => self.resources.push(info),
            }
        }
    }

    pub fn all(&self) -> &[ResourceInfo] {
        &self.resources
    }

    /// The resource served at `group/version/plural` (`plural` may be `pods/log`).
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceInfo> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
    }

    /// The (top-level) resource of an `apiVersion` + `kind`, to index a scenario object.
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<&ResourceInfo> {
        let (group, version) = split_api_version(api_version);
        self.resources.iter().find(|r| {
            r.group == group && r.version == version && r.kind == kind && !r.is_subresource()
        })
    }

    /// Groups in discovery order, each with its versions (first = preferred).
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for r in &self.resources {
            match out.iter_mut().find(|(g, _)| *g == r.group) {
                Some((_, vs)) => {
                    if !vs.contains(&r.version) {
                        vs.push(r.version.clone());
                    }
                }
                None => out.push((r.group.clone(), vec![r.version.clone()])),
            }
        }
        out
    }

    /// The resources of one group version, in registry order.
    pub fn in_group_version<'a>(
        &'a self,
        group: &'a str,
        version: &'a str,
    ) -> impl Iterator<Item = &'a ResourceInfo> + 'a {
        self.resources
            .iter()
            .filter(move |r| r.group == group && r.version == version)
    }
}

/// `apps/v1` -> (`apps`, `v1`); `v1` -> (``, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crd_adds_its_served_versions_and_names() {
        let crd = serde_json::json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Cluster",
                "names": {"kind": "Widget", "plural": "widgets", "shortNames": ["wd"], "categories": ["all"]},
                "versions": [{"name": "v1", "served": true}, {"name": "v0", "served": false}]}
        });
        let reg = Registry::new(&[crd]);
        let r = reg.find("example.com", "v1", "widgets").expect("served");
        assert!(!r.namespaced);
        assert_eq!(r.short_names, vec!["wd"]);
        assert_eq!(r.singular, "widget");
        assert!(reg.find("example.com", "v0", "widgets").is_none());
        assert_eq!(reg.by_kind("v1", "Pod").unwrap().plural, "pods");
    }
}
