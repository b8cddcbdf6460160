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

/// KUDO's kinds, served for a scenario that holds KUDO objects but not KUDO's CRDs (a CRD
/// present replaces these with its own names and columns).
const KUDO_KINDS: &[(&str, &str)] = &[
    ("Operator", "operators"),
    ("OperatorVersion", "operatorversions"),
    ("Instance", "instances"),
];

/// All resources served, in discovery order (groups in first-seen order).
#[derive(Debug, Clone, Default)]
pub struct Registry {
    resources: Vec<ResourceInfo>,
}

impl Registry {
    /// The built-ins of a server of `minor` (see `sim::builtins`) plus every CRD found among
    /// `objects`. KUDO's group is served only when the objects hold KUDO's CRDs or objects.
    pub fn new(objects: &[Value], minor: u32) -> Registry {
        let mut reg = Registry::default();
        let singular = super::builtins::reports_singular(minor);
        for bi in super::builtins::for_minor(minor) {
            reg.resources.push(ResourceInfo {
                group: bi.group.into(),
                version: bi.version.into(),
                kind: bi.kind.into(),
                plural: bi.plural.into(),
                singular: if singular && !bi.plural.contains('/') {
                    bi.kind.to_lowercase()
                } else {
                    String::new()
                },
                short_names: bi.short_names.iter().map(|s| s.to_string()).collect(),
                namespaced: bi.namespaced,
                verbs: bi.verbs.iter().map(|s| s.to_string()).collect(),
                categories: bi.categories.iter().map(|s| s.to_string()).collect(),
                printer_columns: Vec::new(),
            });
        }
        if objects.iter().any(|o| {
            o["apiVersion"]
                .as_str()
                .is_some_and(|a| a.starts_with("kudo.dev/"))
        }) {
            for (kind, plural) in KUDO_KINDS {
                reg.resources.push(ResourceInfo {
                    group: "kudo.dev".into(),
                    version: "v1beta1".into(),
                    kind: kind.to_string(),
                    plural: plural.to_string(),
                    singular: kind.to_lowercase(),
                    short_names: Vec::new(),
                    namespaced: true,
                    verbs: RW.iter().map(|s| s.to_string()).collect(),
                    categories: Vec::new(),
                    printer_columns: Vec::new(),
                });
            }
        }
        for o in objects {
            if o["kind"] == "CustomResourceDefinition" {
                reg.add_crd(o);
            }
        }
        reg
    }

    /// The resources a cluster recorded in its discovery (`APIResourceList`s, in order), served
    /// as recorded; the CRDs among `objects` give their versions' printer columns.
    pub fn from_recorded(lists: &Value, objects: &[Value]) -> Registry {
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        };
        let mut reg = Registry::default();
        for list in lists.as_array().into_iter().flatten() {
            let gv = list["groupVersion"].as_str().unwrap_or_default();
            let (group, version) = split_api_version(gv);
            for r in list["resources"].as_array().into_iter().flatten() {
                let Some(plural) = r["name"].as_str() else {
                    continue;
                };
                reg.resources.push(ResourceInfo {
                    group: group.into(),
                    version: version.into(),
                    kind: r["kind"].as_str().unwrap_or_default().into(),
                    plural: plural.into(),
                    singular: r["singularName"].as_str().unwrap_or_default().into(),
                    short_names: strings(&r["shortNames"]),
                    namespaced: r["namespaced"].as_bool().unwrap_or(false),
                    verbs: strings(&r["verbs"]),
                    categories: strings(&r["categories"]),
                    printer_columns: Vec::new(),
                });
            }
        }
        for crd in objects
            .iter()
            .filter(|o| o["kind"] == "CustomResourceDefinition")
        {
            let spec = &crd["spec"];
            let (Some(group), Some(plural)) =
                (spec["group"].as_str(), spec["names"]["plural"].as_str())
            else {
                continue;
            };
            for ver in spec["versions"].as_array().into_iter().flatten() {
                let version = ver["name"].as_str().unwrap_or_default();
                if let Some(r) = reg
                    .resources
                    .iter_mut()
                    .find(|r| r.group == group && r.version == version && r.plural == plural)
                {
                    r.printer_columns = ver["additionalPrinterColumns"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                }
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
        let reg = Registry::new(&[crd], 32);
        let r = reg.find("example.com", "v1", "widgets").expect("served");
        assert!(!r.namespaced);
        assert_eq!(r.short_names, vec!["wd"]);
        assert_eq!(r.singular, "widget");
        assert!(reg.find("example.com", "v0", "widgets").is_none());
        assert_eq!(reg.by_kind("v1", "Pod").unwrap().plural, "pods");
        assert!(reg.groups().iter().all(|(g, _)| g != "kudo.dev"));
    }

    #[test]
    fn kudo_is_served_only_when_the_cluster_has_it() {
        let inst = serde_json::json!({"apiVersion": "kudo.dev/v1beta1", "kind": "Instance",
            "metadata": {"name": "i"}});
        let reg = Registry::new(&[inst], 24);
        assert_eq!(
            reg.by_kind("kudo.dev/v1beta1", "Instance").unwrap().plural,
            "instances"
        );
        assert!(Registry::new(&[], 24)
            .find("kudo.dev", "v1beta1", "instances")
            .is_none());
    }
}
