//! The object store: a scenario's objects indexed by (group, version, plural, namespace, name),
//! completed the way an API server completes what it stores (uid, creationTimestamp,
//! resourceVersion, a namespace for namespaced objects).
//!
//! An API server stores one object per group and resource and serves it at every served
//! version of that resource. The store does the same by holding, beside each object as it was
//! recorded, its conversion (`sim::convert`) to each other served version of its group and
//! resource: gets, lists, watches and tables at any served version find it, with the same
//! uid, resourceVersion and creationTimestamp. An object recorded at two versions is served
//! as recorded at each.
//!
//! Read-only once built: the simulator answers reads, and dry-run writes never reach it, so the
//! server shares it between requests without locks.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::resources::{Registry, ResourceInfo};
use super::SimError;

/// A resource type: group (`""` for core), version, plural.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gvr {
    pub group: String,
    pub version: String,
    pub plural: String,
}

impl Gvr {
    pub fn new(group: &str, version: &str, plural: &str) -> Gvr {
        Gvr {
            group: group.into(),
            version: version.into(),
            plural: plural.into(),
        }
    }

    pub fn pods() -> Gvr {
        Gvr::new("", "v1", "pods")
    }
}

/// The objects of a scenario, by resource type then (namespace, name). Cluster-scoped objects
/// have the namespace `""`. BTreeMaps keep the order a real server lists in (by key).
#[derive(Debug, Default)]
pub struct Store {
    pub registry: Registry,
    objects: BTreeMap<Gvr, BTreeMap<(String, String), Arc<Value>>>,
    /// The highest resourceVersion given out: the resourceVersion of every list.
    resource_version: u64,
    /// The version each converted copy was converted from, by its place in `objects`.
    converted_from: BTreeMap<(Gvr, (String, String)), String>,
}

/// First resourceVersion handed out; real ones are etcd revisions, large and increasing.
const FIRST_RESOURCE_VERSION: u64 = 1000;

impl Store {
    /// Indexes `objects`; namespaced objects without a namespace go to `default_namespace`.
    /// `now` is the creationTimestamp of objects that have none. A server of the default
    /// minor serves them (see [`Store::with_registry`]).
    pub fn new(
        objects: &[Value],
        default_namespace: &str,
        now: DateTime<Utc>,
    ) -> Result<Store, SimError> {
        let minor = super::scenario::ServerVersion::default()
            .minor_number()
            .unwrap_or(32);
        Store::with_registry(
            Registry::new(objects, minor),
            objects,
            default_namespace,
            now,
        )
    }

    /// Indexes `objects` under the resources of `registry` (a server version's built-ins and
    /// the CRDs present, or a recorded discovery).
    pub fn with_registry(
        registry: Registry,
        objects: &[Value],
        default_namespace: &str,
        now: DateTime<Utc>,
    ) -> Result<Store, SimError> {
        let mut store = Store {
            registry,
            objects: BTreeMap::new(),
            resource_version: FIRST_RESOURCE_VERSION,
            converted_from: BTreeMap::new(),
        };
        let mut problems = Vec::new();
        for (i, obj) in objects.iter().enumerate() {
            if let Err(e) = store.insert(obj.clone(), default_namespace, now) {
                problems.push(format!("object {}: {e}", i + 1));
            }
        }
        store.add_missing_namespaces(default_namespace, now);
        store.link_events();
        store.add_served_versions();
        // A list is at least as new as its newest item: recorded objects carry the etcd
        // revisions they were read at.
        let newest = store
            .objects
            .values()
            .flat_map(BTreeMap::values)
            .filter_map(|o| {
                o["metadata"]["resourceVersion"]
                    .as_str()?
                    .parse::<u64>()
                    .ok()
            })
            .max()
            .unwrap_or(0);
        store.resource_version = store.resource_version.max(newest);
        if problems.is_empty() {
            Ok(store)
        } else {
            Err(SimError::Scenario(format!(
                "the scenario has objects the simulated cluster cannot serve: {}",
                problems.join("; ")
            )))
        }
    }

    fn insert(
        &mut self,
        mut obj: Value,
        default_namespace: &str,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = obj["kind"].as_str().unwrap_or_default().to_string();
        if api_version.is_empty() || kind.is_empty() {
            return Err("has no apiVersion or kind; give both".into());
        }
        let Some(name) = obj["metadata"]["name"].as_str().map(str::to_string) else {
            return Err(format!("{kind} has no metadata.name; give it one"));
        };
        let info = self.registry.by_kind(&api_version, &kind).ok_or_else(|| {
            format!(
                "{kind} {name:?} has apiVersion {api_version:?} and kind {kind:?}, which are not served; \
                 add its CustomResourceDefinition to the scenario"
            )
        })?;
        let gvr = Gvr::new(&info.group, &info.version, &info.plural);
        let namespaced = info.namespaced;
        let meta = obj["metadata"]
            .as_object_mut()
            .ok_or_else(|| format!("{kind} {name:?}: metadata is not a mapping"))?;
        let namespace = if namespaced {
            let ns = meta
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or(default_namespace)
                .to_string();
            meta.insert("namespace".into(), json!(ns));
            ns
        } else {
            meta.remove("namespace");
            String::new()
        };
        if self
            .objects
            .get(&gvr)
            .is_some_and(|m| m.contains_key(&(namespace.clone(), name.clone())))
        {
            return Err(format!(
                "{kind} {name:?} in namespace {namespace:?} appears twice; remove one"
            ));
        }
        if !meta.get("uid").is_some_and(Value::is_string) {
            meta.insert("uid".into(), json!(stable_uid(&gvr, &namespace, &name)));
        }
        if !meta.get("creationTimestamp").is_some_and(Value::is_string) {
            meta.insert(
                "creationTimestamp".into(),
                json!(now.to_rfc3339_opts(SecondsFormat::Secs, true)),
            );
        }
        if !meta.get("resourceVersion").is_some_and(Value::is_string) {
            self.resource_version += 1;
            meta.insert(
                "resourceVersion".into(),
                json!(self.resource_version.to_string()),
            );
        }
        self.objects
            .entry(gvr)
            .or_default()
            .insert((namespace, name), Arc::new(obj));
        Ok(())
    }

    /// Namespaces every cluster has, and those the scenario's objects live in, exist even when
    /// the scenario does not list them: a real cluster could not hold the objects otherwise.
    fn add_missing_namespaces(&mut self, main: &str, now: DateTime<Utc>) {
        let ns_gvr = Gvr::new("", "v1", "namespaces");
        let mut wanted: std::collections::BTreeSet<String> = [
            "default",
            "kube-system",
            "kube-public",
            "kube-node-lease",
            main,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for objs in self.objects.values() {
            wanted.extend(
                objs.keys()
                    .map(|(ns, _)| ns.clone())
                    .filter(|ns| !ns.is_empty()),
            );
        }
        for ns in wanted {
            if self.get(&ns_gvr, "", &ns).is_some() {
                continue;
            }
            let obj = json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            });
            // Cannot fail: a well-formed Namespace not yet stored.
            let _ = self.insert(obj, main, now);
        }
    }

    /// Gives events the uid of the object they are about, when the scenario left it out: a real
    /// event always carries it, and `kubectl describe` selects events by it.
    fn link_events(&mut self) {
        let mut uids = std::collections::HashMap::new();
        for objs in self.objects.values() {
            for ((ns, name), o) in objs {
                if let (Some(kind), Some(uid)) = (o["kind"].as_str(), o["metadata"]["uid"].as_str())
                {
                    uids.insert(
                        (kind.to_string(), ns.clone(), name.clone()),
                        uid.to_string(),
                    );
                }
            }
        }
        let Some(events) = self.objects.get_mut(&Gvr::new("", "v1", "events")) else {
            return;
        };
        for ((ev_ns, _), ev) in events.iter_mut() {
            let io = &ev["involvedObject"];
            if io["uid"].is_string() || !io.is_object() {
                continue;
            }
            let kind = io["kind"].as_str().unwrap_or_default().to_string();
            let name = io["name"].as_str().unwrap_or_default().to_string();
            let ns = io["namespace"].as_str().map(str::to_string);
            let found = uids
                .get(&(
                    kind.clone(),
                    ns.clone().unwrap_or_else(|| ev_ns.clone()),
                    name.clone(),
                ))
                .or_else(|| uids.get(&(kind, String::new(), name)));
            if let Some(uid) = found {
                Arc::make_mut(ev)["involvedObject"]["uid"] = json!(uid);
            }
        }
    }

    /// Serves every object at the other served versions of its group and resource (the
    /// registry's: a server version's built-ins, the CRDs' served versions, or a recorded
    /// discovery), converted as the API server converts.
    fn add_served_versions(&mut self) {
        let mut converted = Vec::new();
        for (gvr, objs) in &self.objects {
            let others = self.registry.all().iter().filter(|r| {
                r.group == gvr.group && r.plural == gvr.plural && r.version != gvr.version
            });
            for other in others {
                let to = Gvr::new(&gvr.group, &other.version, &gvr.plural);
                let recorded = self.objects.get(&to);
                for (key, o) in objs {
                    if recorded.is_some_and(|m| m.contains_key(key)) {
                        continue;
                    }
                    let obj =
                        super::convert::to_version(o, &gvr.group, &gvr.plural, &other.version);
                    converted.push((to.clone(), key.clone(), gvr.version.clone(), obj));
                }
            }
        }
        for (to, key, from, obj) in converted {
            // An object recorded at two versions converts into a third from the first of them.
            let slot = self.objects.entry(to.clone()).or_default();
            if slot.contains_key(&key) {
                continue;
            }
            slot.insert(key.clone(), Arc::new(obj));
            self.converted_from.insert((to, key), from);
        }
    }

    /// The object `obj` (served at `gvr`) as it was recorded: itself, or for a copy converted
    /// to `gvr`'s version the object it was converted from. The API server prints tables from
    /// the object it stores, so a table is the same at every version.
    pub fn recorded_form(&self, gvr: &Gvr, obj: &Arc<Value>) -> Arc<Value> {
        let ns = obj["metadata"]["namespace"].as_str().unwrap_or_default();
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let key = (gvr.clone(), (ns.to_string(), name.to_string()));
        self.converted_from
            .get(&key)
            .and_then(|from| self.get(&Gvr::new(&gvr.group, from, &gvr.plural), ns, name))
            .unwrap_or_else(|| obj.clone())
    }

    /// The resourceVersion of lists.
    pub fn resource_version(&self) -> String {
        self.resource_version.to_string()
    }

    /// The resourceVersion of lists, as a number.
    pub fn revision(&self) -> u64 {
        self.resource_version
    }

    /// One object; `namespace` is ignored (pass `""`) for cluster-scoped resources.
    pub fn get(&self, gvr: &Gvr, namespace: &str, name: &str) -> Option<Arc<Value>> {
        self.objects
            .get(gvr)?
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }

    /// A pod by namespace and name.
    pub fn pod(&self, namespace: &str, name: &str) -> Option<Arc<Value>> {
        self.get(&Gvr::pods(), namespace, name)
    }

    /// Every object of a type, in one namespace or (None) in all, in key order.
    pub fn list<'a>(
        &'a self,
        gvr: &Gvr,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Arc<Value>> + 'a {
        self.objects
            .get(gvr)
            .into_iter()
            .flat_map(|m| m.iter())
            .filter(move |((ns, _), _)| namespace.is_none_or(|want| ns == want))
            .map(|(_, v)| v)
    }

    /// The resource information of a type.
    pub fn info(&self, gvr: &Gvr) -> Option<&ResourceInfo> {
        self.registry.find(&gvr.group, &gvr.version, &gvr.plural)
    }

    /// How many objects are stored.
    pub fn len(&self) -> usize {
        self.objects.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A uid derived from the object's identity, so the same scenario gives the same uids on
/// every start (bundles collected from it can be compared).
fn stable_uid(gvr: &Gvr, namespace: &str, name: &str) -> String {
    let h = blake3::hash(
        format!(
            "{}/{}/{}/{namespace}/{name}",
            gvr.group, gvr.version, gvr.plural
        )
        .as_bytes(),
    );
    let b = h.as_bytes();
    let hex: String = b[..16].iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-4{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn fills_metadata_and_indexes_by_namespace() {
        let objs = vec![
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b", "namespace": "other"}}),
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "namespace": "x"}}),
        ];
        let s = Store::new(&objs, "main", now()).unwrap();
        let a = s.pod("main", "a").expect("defaulted namespace");
        assert_eq!(a["metadata"]["creationTimestamp"], "2026-01-01T00:00:00Z");
        assert_eq!(a["metadata"]["uid"].as_str().unwrap().len(), 36);
        assert_eq!(a["metadata"]["resourceVersion"], "1001");
        assert_eq!(s.list(&Gvr::pods(), None).count(), 2);
        let namespaces: Vec<String> = s
            .list(&Gvr::new("", "v1", "namespaces"), None)
            .map(|n| n["metadata"]["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            namespaces,
            [
                "default",
                "kube-node-lease",
                "kube-public",
                "kube-system",
                "main",
                "other"
            ]
        );
        assert_eq!(s.list(&Gvr::pods(), Some("other")).count(), 1);
        let n = s.get(&Gvr::new("", "v1", "nodes"), "", "n1").unwrap();
        assert!(n["metadata"].get("namespace").is_none());
        assert_eq!(s.resource_version(), "1009");
    }

    #[test]
    fn list_resource_version_is_at_least_the_newest_item_s() {
        let objs = vec![
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "resourceVersion": "27050"}}),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b"}}),
        ];
        let s = Store::new(&objs, "main", now()).unwrap();
        assert_eq!(s.resource_version(), "27050");
        let b = s.pod("main", "b").unwrap();
        assert!(
            b["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
                < 27050
        );
    }

    #[test]
    fn events_get_the_uid_of_their_object() {
        let objs = vec![
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}),
            json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "a.1"},
                   "involvedObject": {"kind": "Pod", "name": "a"}}),
        ];
        let s = Store::new(&objs, "main", now()).unwrap();
        let pod_uid = s.pod("main", "a").unwrap()["metadata"]["uid"].clone();
        let ev = s.get(&Gvr::new("", "v1", "events"), "main", "a.1").unwrap();
        assert_eq!(ev["involvedObject"]["uid"], pod_uid);
    }

    #[test]
    fn unknown_kind_and_duplicates_are_errors_naming_the_fix() {
        let objs = vec![
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}),
        ];
        let e = Store::new(&objs, "main", now()).unwrap_err().to_string();
        assert!(e.contains("CustomResourceDefinition"), "{e}");
        assert!(e.contains("appears twice"), "{e}");
    }

    fn served_at(s: &Store, group: &str, plural: &str) -> Vec<(String, String)> {
        ["v1", "v1beta1", "v2", "v2beta1", "v2beta2"]
            .iter()
            .flat_map(|v| {
                s.list(&Gvr::new(group, v, plural), None)
                    .map(|o| (v.to_string(), o["apiVersion"].as_str().unwrap().to_string()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn objects_are_served_at_every_served_version_of_their_resource() {
        let objs = vec![
            json!({"apiVersion": "autoscaling/v2beta1", "kind": "HorizontalPodAutoscaler",
                   "metadata": {"name": "web", "resourceVersion": "42"},
                   "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3,
                            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "targetAverageUtilization": 80}}]}}),
            json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
                   "spec": {"schedule": "* * * * *"}}),
        ];
        let reg = Registry::new(&objs, 24);
        let s = Store::with_registry(reg, &objs, "main", now()).unwrap();
        // A 1.24 server serves HPAs at v1, v2, v2beta1 and v2beta2, CronJobs at v1 and v1beta1.
        assert_eq!(
            served_at(&s, "autoscaling", "horizontalpodautoscalers"),
            [
                ("v1".into(), "autoscaling/v1".into()),
                ("v2".into(), "autoscaling/v2".into()),
                ("v2beta1".into(), "autoscaling/v2beta1".into()),
                ("v2beta2".into(), "autoscaling/v2beta2".into()),
            ]
        );
        assert_eq!(
            served_at(&s, "batch", "cronjobs"),
            [
                ("v1".into(), "batch/v1".into()),
                ("v1beta1".into(), "batch/v1beta1".into())
            ]
        );
        let v2 = Gvr::new("autoscaling", "v2", "horizontalpodautoscalers");
        let at_v2 = s.get(&v2, "main", "web").unwrap();
        let recorded = s
            .get(
                &Gvr::new("autoscaling", "v2beta1", "horizontalpodautoscalers"),
                "main",
                "web",
            )
            .unwrap();
        // One object: the same identity, converted fields.
        assert_eq!(at_v2["metadata"], recorded["metadata"]);
        assert_eq!(
            at_v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
            80
        );
        assert_eq!(s.recorded_form(&v2, &at_v2), recorded);
        assert_eq!(s.recorded_form(&v2, &recorded), recorded);
        // The same schema: nothing but apiVersion differs.
        let cj = |v| {
            s.get(&Gvr::new("batch", v, "cronjobs"), "main", "c")
                .unwrap()
        };
        let (mut old, new) = ((*cj("v1beta1")).clone(), cj("v1"));
        old["apiVersion"] = json!("batch/v1");
        assert_eq!(&old, new.as_ref());
        // A 1.32 server serves CronJobs at batch/v1 only.
        let s =
            Store::with_registry(Registry::new(&objs[1..], 32), &objs[1..], "main", now()).unwrap();
        assert_eq!(
            served_at(&s, "batch", "cronjobs"),
            [("v1".into(), "batch/v1".into())]
        );
    }

    #[test]
    fn custom_resources_are_served_at_each_served_version_of_their_crd() {
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"kind": "Widget", "plural": "widgets"},
                     "versions": [{"name": "v1", "served": true, "storage": true},
                                  {"name": "v1beta1", "served": true},
                                  {"name": "v1alpha1", "served": false}]}});
        let w = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                       "spec": {"size": 3}});
        let s = Store::new(&[crd, w.clone()], "main", now()).unwrap();
        assert_eq!(
            served_at(&s, "example.com", "widgets"),
            [
                ("v1".into(), "example.com/v1".into()),
                ("v1beta1".into(), "example.com/v1beta1".into())
            ]
        );
        assert_eq!(
            s.list(&Gvr::new("example.com", "v1alpha1", "widgets"), None)
                .count(),
            0
        );
    }
}
