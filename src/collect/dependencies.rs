//! Which other KUDO instances an instance depends on, asked before the collection starts so
//! each is collected in the same run (`engine::scope`), under `dependencies/NAMESPACE/INSTANCE/`.
//!
//! An instance's dependencies are:
//! - its KUDO parent and children: Instances linked to it by an ownerReference (an operator's
//!   plan that creates another instance, such as Kafka's ZooKeeper, owns it);
//! - the instances its parameters point at: any parameter value (the instance's own, else the
//!   OperatorVersion's default) that holds a network address (`host:port` lists, URLs) whose
//!   host names a Service (`pod.svc.ns.svc.cluster.local`, `svc.ns.svc`, `pod.svc`, `svc.ns`,
//!   `svc`), whose pods are owned, through their controllers, by another Instance.
//!
//! No parameter name is special: a ZooKeeper connection string, an Elasticsearch URL or a
//! database host are found the same way. The closure is walked breadth first, each instance
//! once (a child's parent is the instance itself), at most [`MAX_DEPTH`] links from the
//! collected instance and at most [`MAX_DEPENDENCIES`] instances in all; what the bounds cut
//! is said in a note.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::time::Duration;

use kube::api::{Api, DynamicObject, ListParams};
use kube::core::GroupVersionKind;
use serde_json::Value;

use super::resources::{lookup, split_api_version};
use super::retry::retrying;

/// How many links from the collected instance a dependency may be (its ZooKeeper is 1, the
/// ZooKeeper's own dependency 2).
pub const MAX_DEPTH: usize = 3;
/// How many dependencies one collection takes at most.
pub const MAX_DEPENDENCIES: usize = 8;
/// How many owners up from a pod the walk to its Instance goes (pod, ReplicaSet, Deployment,
/// Instance is three).
const MAX_OWNER_HOPS: usize = 5;

/// One instance to collect with the one asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub namespace: String,
    pub instance: String,
    /// Why it is one, for the user: `child of kafka/kafka`, `parameter ZOOKEEPER_URI of
    /// kafka/kafka names Service kafka/kafka-zookeeper-hs`.
    pub why: String,
    /// Links from the collected instance (1 for its own).
    pub depth: usize,
}

/// The dependencies found, in the order they were found, and notes for the user.
#[derive(Debug, Default)]
pub struct Found {
    pub dependencies: Vec<Dependency>,
    pub notes: Vec<String>,
}

/// Walks the dependency closure of `namespace/instance`. Every request is bounded by
/// `timeout`; what cannot be read is a note, never a reason to stop the collection.
pub async fn resolve(
    client: &kube::Client,
    namespace: &str,
    instance: &str,
    timeout: Duration,
) -> Found {
    let ask = Asker {
        client,
        timeout,
        services: BTreeMap::new(),
        notes: Vec::new(),
    };
    walk(ask, namespace, instance).await
}

async fn walk(mut ask: Asker<'_>, namespace: &str, instance: &str) -> Found {
    let mut found = Found::default();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    seen.insert((namespace.to_string(), instance.to_string()));
    let mut queue = VecDeque::from([(namespace.to_string(), instance.to_string(), 0usize)]);
    while let Some((ns, name, depth)) = queue.pop_front() {
        let links = match ask.links(&ns, &name).await {
            Ok(l) => l,
            Err(e) => {
                found.notes.push(format!(
                    "could not look for the dependencies of instance {ns}/{name}: {e}"
                ));
                continue;
            }
        };
        for (dns, dname, why) in links {
            if !seen.insert((dns.clone(), dname.clone())) {
                continue;
            }
            if depth + 1 > MAX_DEPTH {
                found.notes.push(format!(
                    "instance {dns}/{dname} ({why}) is not collected: it is more than {MAX_DEPTH} dependencies away; collect it with its own `kudo-diag run`"
                ));
                continue;
            }
            if found.dependencies.len() >= MAX_DEPENDENCIES {
                found.notes.push(format!(
                    "instance {dns}/{dname} ({why}) is not collected: a collection takes at most {MAX_DEPENDENCIES} dependencies; collect it with its own `kudo-diag run`"
                ));
                continue;
            }
            found.dependencies.push(Dependency {
                namespace: dns.clone(),
                instance: dname.clone(),
                why,
                depth: depth + 1,
            });
            queue.push_back((dns, dname, depth + 1));
        }
    }
    found.notes.append(&mut ask.notes);
    found
}

/// The API questions of one walk, each bounded by `timeout`, with the Services already looked
/// up remembered (three ZooKeeper hosts name one Service).
struct Asker<'a> {
    client: &'a kube::Client,
    timeout: Duration,
    services: BTreeMap<(String, String), Option<(String, String)>>,
    /// What could not be followed (a Service or an owner not allowed to be read).
    notes: Vec<String>,
}

impl Asker<'_> {
    async fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>, String> {
        let Some(api) = self.api(api_version, kind, namespace).await else {
            return Ok(None);
        };
        match tokio::time::timeout(self.timeout, retrying(|| api.get_opt(name))).await {
            Ok(Ok(o)) => Ok(o.map(|o| serde_json::to_value(o).unwrap_or(Value::Null))),
            Ok(Err(e)) => Err(format!("failed to get {kind} {namespace}/{name}: {e}")),
            Err(_) => Err(format!("no answer getting {kind} {namespace}/{name}")),
        }
    }

    async fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        selector: Option<&str>,
    ) -> Result<Vec<Value>, String> {
        let Some(api) = self.api(api_version, kind, namespace).await else {
            return Ok(Vec::new());
        };
        let lp = match selector {
            Some(s) => ListParams::default().labels(s),
            None => ListParams::default(),
        };
        match tokio::time::timeout(self.timeout, retrying(|| api.list(&lp))).await {
            Ok(Ok(l)) => Ok(l
                .items
                .into_iter()
                .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
                .collect()),
            Ok(Err(e)) => Err(format!("failed to list {kind} in {namespace}: {e}")),
            Err(_) => Err(format!("no answer listing {kind} in {namespace}")),
        }
    }

    /// The namespaced API of a kind: the static table, else discovery (an owner of a kind the
    /// table does not know, such as another operator's custom resource).
    async fn api(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
    ) -> Option<Api<DynamicObject>> {
        let resource = match lookup(api_version, Some(kind), None) {
            Some(r) => r.resource,
            None => {
                let (group, version) = split_api_version(api_version);
                let gvk = GroupVersionKind::gvk(group, version, kind);
                let pinned = kube::discovery::pinned_kind(self.client, &gvk);
                tokio::time::timeout(self.timeout, pinned)
                    .await
                    .ok()?
                    .ok()?
                    .0
            }
        };
        Some(Api::namespaced_with(
            self.client.clone(),
            namespace,
            &resource,
        ))
    }

    /// The instances directly linked to `namespace/name`: parent, children, and those its
    /// parameters point at, each with why.
    async fn links(
        &mut self,
        namespace: &str,
        name: &str,
    ) -> Result<Vec<(String, String, String)>, String> {
        let Some(inst) = self.get(INSTANCE_API, "Instance", namespace, name).await? else {
            return Err(format!("instance {namespace}/{name} is gone"));
        };
        let mut out = Vec::new();
        for parent in instance_owners(&inst) {
            out.push((
                namespace.to_string(),
                parent,
                format!("parent of {namespace}/{name}"),
            ));
        }
        // The namespace's instances and the OperatorVersion's parameters are asked at once.
        let (others, params) = tokio::join!(
            self.list(INSTANCE_API, "Instance", namespace, None),
            self.parameters(&inst, namespace)
        );
        for other in others? {
            if instance_owners(&other).iter().any(|o| o == name) {
                if let Some(child) = other["metadata"]["name"].as_str() {
                    out.push((
                        namespace.to_string(),
                        child.to_string(),
                        format!("child of {namespace}/{name}"),
                    ));
                }
            }
        }
        for (param, value) in params {
            for (sns, svc) in service_candidates(&value, namespace) {
                if let Some((ins, iname)) = self.instance_behind(&sns, &svc).await {
                    out.push((
                        ins,
                        iname,
                        format!(
                            "parameter {param} of {namespace}/{name} names Service {sns}/{svc}"
                        ),
                    ));
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The instance's effective parameters: the OperatorVersion's defaults, overridden by the
    /// instance's own values. An OperatorVersion that cannot be read leaves the instance's.
    async fn parameters(&self, inst: &Value, namespace: &str) -> BTreeMap<String, String> {
        let mut params = BTreeMap::new();
        if let Some(ov) = inst["spec"]["operatorVersion"]["name"].as_str() {
            if let Ok(Some(ov)) = self
                .get(INSTANCE_API, "OperatorVersion", namespace, ov)
                .await
            {
                for p in ov["spec"]["parameters"].as_array().into_iter().flatten() {
                    if let (Some(n), Some(d)) = (p["name"].as_str(), p["default"].as_str()) {
                        params.insert(n.to_string(), d.to_string());
                    }
                }
            }
        }
        if let Some(own) = inst["spec"]["parameters"].as_object() {
            for (k, v) in own {
                if let Some(v) = v.as_str() {
                    params.insert(k.clone(), v.to_string());
                }
            }
        }
        params
    }

    /// The Instance that runs the pods behind Service `namespace/svc`, if the Service exists
    /// and one does.
    async fn instance_behind(&mut self, namespace: &str, svc: &str) -> Option<(String, String)> {
        let key = (namespace.to_string(), svc.to_string());
        if let Some(known) = self.services.get(&key) {
            return known.clone();
        }
        let found = match self.look_behind(namespace, svc).await {
            Ok(found) => found,
            Err(e) => {
                self.notes.push(format!(
                    "could not follow Service {namespace}/{svc} to the instance behind it ({e}); an instance it leads to is not collected"
                ));
                None
            }
        };
        self.services.insert(key, found.clone());
        found
    }

    /// The instance behind a Service: `Ok(None)` when there is none (no such Service, no
    /// selector, no pods, no Instance among their owners), an error when a read failed.
    async fn look_behind(
        &self,
        namespace: &str,
        svc: &str,
    ) -> Result<Option<(String, String)>, String> {
        let Some(service) = self.get("v1", "Service", namespace, svc).await? else {
            return Ok(None);
        };
        let Some(selector) = selector_text(&service["spec"]["selector"]) else {
            return Ok(None);
        };
        let pods = self.list("v1", "Pod", namespace, Some(&selector)).await?;
        let Some(pod) = pods.into_iter().next() else {
            return Ok(None);
        };
        Ok(self
            .owning_instance(pod, namespace)
            .await?
            .map(|i| (namespace.to_string(), i)))
    }

    /// Up the ownerReferences from `object` (a pod) to a KUDO Instance.
    async fn owning_instance(
        &self,
        mut object: Value,
        namespace: &str,
    ) -> Result<Option<String>, String> {
        for _ in 0..MAX_OWNER_HOPS {
            let Some((api_version, kind, name)) = controller_of(&object) else {
                return Ok(None);
            };
            if is_instance(&api_version, &kind) {
                return Ok(Some(name));
            }
            match self.get(&api_version, &kind, namespace, &name).await? {
                Some(owner) => object = owner,
                None => return Ok(None),
            }
        }
        Ok(None)
    }
}

const INSTANCE_API: &str = "kudo.dev/v1beta1";

/// An object's controller (else its first owner): apiVersion, kind, name.
fn controller_of(object: &Value) -> Option<(String, String, String)> {
    let refs = object["metadata"]["ownerReferences"].as_array()?;
    let owner = refs
        .iter()
        .find(|r| r["controller"].as_bool() == Some(true))
        .or_else(|| refs.first())?;
    Some((
        owner["apiVersion"].as_str()?.to_string(),
        owner["kind"].as_str()?.to_string(),
        owner["name"].as_str()?.to_string(),
    ))
}

fn is_instance(api_version: &str, kind: &str) -> bool {
    kind == "Instance" && split_api_version(api_version).0 == "kudo.dev"
}

/// The names of the Instances that own `object` (ownerReferences are namespace-local).
fn instance_owners(object: &Value) -> Vec<String> {
    object["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| {
            is_instance(
                r["apiVersion"].as_str().unwrap_or(""),
                r["kind"].as_str().unwrap_or(""),
            )
        })
        .filter_map(|r| r["name"].as_str().map(str::to_string))
        .collect()
}

/// A Service's `spec.selector` as a label selector (`app=zookeeper,instance=zk`); `None` for a
/// Service without one (its endpoints are managed by hand: no pods to follow).
fn selector_text(selector: &Value) -> Option<String> {
    let m = selector.as_object()?;
    if m.is_empty() {
        return None;
    }
    Some(
        m.iter()
            .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={v}")))
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// The Services a parameter value may name, as (namespace, name), most likely first, for a
/// collection in namespace `own`. The value is read as a list of network addresses (split at
/// commas, semicolons and whitespace), each `[scheme://][user@]host[:port][/path]`; a host is
/// a cluster DNS name:
///
/// - `a.b.svc[.DOMAIN]`: Service `a` in namespace `b`; `p.a.b.svc[.DOMAIN]`: the same (a pod's
///   name under a headless Service);
/// - `a.b`: pod `a` of Service `b` in `own`, or Service `a` in `b`; `p.a.b`: Service `a` in `b`;
/// - `a`: Service `a` in `own`, only when written with a port or a scheme (`zk:2181`): a bare
///   word is a setting, not an address.
///
/// IP addresses, names of more than three labels outside `.svc` and anything that is not a
/// DNS label name give nothing.
pub fn service_candidates(value: &str, own: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for token in value.split(|c: char| c == ',' || c == ';' || c.is_whitespace()) {
        let Some((host, addressed)) = host_of(token) else {
            continue;
        };
        let labels: Vec<&str> = host.split('.').collect();
        if !labels.iter().all(|l| is_dns_label(l)) || labels.iter().all(|l| is_number(l)) {
            continue;
        }
        let mut push = |ns: &str, svc: &str| {
            let c = (ns.to_string(), svc.to_string());
            if !out.contains(&c) {
                out.push(c);
            }
        };
        if let Some(k) = labels.iter().position(|l| *l == "svc") {
            if k >= 2 {
                push(labels[k - 1], labels[k - 2]);
            }
            continue;
        }
        match labels.as_slice() {
            [svc] if addressed => push(own, svc),
            // The cluster's DNS search order: `a.b.OWN.svc` (pod `a` of headless Service
            // `b`) before `a.b.svc` (Service `a` in namespace `b`).
            [a, b] => {
                push(own, b);
                push(b, a);
            }
            [_, svc, ns] => push(ns, svc),
            _ => {}
        }
    }
    out
}

/// The host of one address token, and whether it was written as an address (with a port or a
/// scheme).
fn host_of(token: &str) -> Option<(&str, bool)> {
    let mut rest = token.trim();
    let mut addressed = false;
    if let Some((_, after)) = rest.split_once("://") {
        rest = after;
        addressed = true;
    }
    if let Some((_, after)) = rest.rsplit_once('@') {
        rest = after;
    }
    if let Some(i) = rest.find('/') {
        rest = &rest[..i];
    }
    if let Some((host, port)) = rest.rsplit_once(':') {
        if port.is_empty() || !is_number(port) {
            return None;
        }
        rest = host;
        addressed = true;
    }
    let host = rest.strip_suffix('.').unwrap_or(rest);
    (!host.is_empty()).then_some((host, addressed))
}

/// A DNS-1123 label, as Kubernetes names Services and namespaces (lowercase).
fn is_dns_label(l: &str) -> bool {
    !l.is_empty()
        && l.len() <= 63
        && l.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !l.starts_with('-')
        && !l.ends_with('-')
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn a_zookeeper_connection_string_names_its_headless_service() {
        let v =
            "zk-zookeeper-0.zk-hs:2181,zk-zookeeper-1.zk-hs:2181,zk-zookeeper-2.zk-hs:2181/kafka";
        assert_eq!(
            service_candidates(v, "prod"),
            c(&[
                ("prod", "zk-hs"),
                ("zk-hs", "zk-zookeeper-0"),
                ("zk-hs", "zk-zookeeper-1"),
                ("zk-hs", "zk-zookeeper-2"),
            ])
        );
    }

    #[test]
    fn cluster_dns_names_give_their_namespace_and_service() {
        assert_eq!(
            service_candidates("zk-0.zk-hs.data.svc.cluster.local:2181", "prod"),
            c(&[("data", "zk-hs")])
        );
        assert_eq!(
            service_candidates("http://es-master.search.svc:9200/_cluster", "prod"),
            c(&[("search", "es-master")])
        );
        assert_eq!(
            service_candidates("user:pw@db.other:5432", "prod"),
            c(&[("prod", "other"), ("other", "db")])
        );
        assert_eq!(
            service_candidates("zk-0.zk-hs.data:2181", "prod"),
            c(&[("data", "zk-hs")])
        );
        assert_eq!(
            service_candidates("cassandra:9042", "prod"),
            c(&[("prod", "cassandra")])
        );
    }

    #[test]
    fn settings_that_are_not_addresses_name_no_service() {
        for v in [
            "true",
            "3",
            "kafka",
            "INFO",
            "256Mi",
            "/var/lib/kafka",
            "1.2.3",
            "10.0.0.7:2181",
            "G1GC",
            "-XX:+UseG1GC",
            "a.b.c.d.example.com:443",
            "x:",
            "",
        ] {
            assert_eq!(service_candidates(v, "prod"), c(&[]), "{v}");
        }
    }

    #[test]
    fn owners_and_selectors_are_read_from_the_objects() {
        let child = serde_json::json!({"metadata": {"ownerReferences": [
            {"apiVersion": "kudo.dev/v1beta1", "kind": "Instance", "name": "kafka"},
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "x"}]}});
        assert_eq!(instance_owners(&child), vec!["kafka"]);
        assert_eq!(
            selector_text(&serde_json::json!({"app": "zookeeper", "instance": "zk"})).as_deref(),
            Some("app=zookeeper,instance=zk")
        );
        assert_eq!(selector_text(&serde_json::json!({})), None);
    }
}
