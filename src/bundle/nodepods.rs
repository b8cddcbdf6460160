//! The node context of a bundle (`cluster/node-pods.json`, [`super::layout::NODE_PODS`]): for
//! each node that runs a pod of the instance, every pod bound to it in any namespace, with only
//! what the node's allocation needs: name, namespace, phase, age, IP and, per container, its
//! requests, limits and state. No specs, no env, no labels: the other pods of a shared cluster
//! are not the instance's, and their details are not the bundle's business.
//!
//! The collector writes it (`collect::kinds::nodepods`), `serve` turns each row back into a Pod
//! holding only those fields ([`PodRow::to_pod`]), so `kubectl describe node` computes its
//! "Non-terminated Pods" and "Allocated resources" from every pod on the node as on the cluster,
//! and `analyze` counts these pods in what a node has left.
//!
//! The file is JSON, one pod per line, so it stays readable and diffable:
//!
//! ```json
//! {"nodes": [
//! {"name": "node-1", "pods": [
//!   {"namespace": "monitoring", "name": "agent-x", "phase": "Running", "created": "...", "containers": [{"name": "agent", "requests": {"cpu": "100m", "memory": "200Mi"}, "state": "running", "ready": true}]}
//! ]}
//! ]}
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The annotation a served pod of the table carries, saying what it holds.
pub const SUMMARY_ANNOTATION: &str = "kudo-diag.dev/collected";

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodePods {
    pub nodes: Vec<NodeRow>,
}

/// One node and the pods bound to it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeRow {
    pub name: String,
    pub pods: Vec<PodRow>,
}

/// One pod, as much as allocation and `kubectl get pods -o wide` need.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodRow {
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub phase: String,
    /// `metadata.creationTimestamp`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created: String,
    #[serde(rename = "podIP", default, skip_serializing_if = "String::is_empty")]
    pub pod_ip: String,
    #[serde(default)]
    pub containers: Vec<ContainerRow>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<ContainerRow>,
    /// `spec.overhead` (RuntimeClass overhead): part of what the pod takes from its node.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overhead: BTreeMap<String, String>,
}

/// One container's resources and state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerRow {
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: BTreeMap<String, String>,
    /// `running`, `waiting` or `terminated`; empty when the pod has no status for it yet.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub state: String,
    /// The waiting or terminated reason (`CrashLoopBackOff`, `Completed`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ready: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub restarts: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A resource list (`{"cpu": "500m", "memory": 1073741824}`) as strings, the way the API server
/// prints quantities.
fn quantities(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, q)| {
                    let q = q.as_str().map_or_else(|| q.to_string(), str::to_string);
                    (k.clone(), q)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn text(v: &Value, ptr: &str) -> String {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn containers_of(pod: &Value, spec_field: &str, status_field: &str) -> Vec<ContainerRow> {
    let statuses = pod["status"][status_field].as_array();
    let status_of = |name: &str| {
        statuses
            .into_iter()
            .flatten()
            .find(|s| s["name"].as_str() == Some(name))
    };
    pod["spec"][spec_field]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let name = text(c, "/name");
            let mut row = ContainerRow {
                requests: quantities(&c["resources"]["requests"]),
                limits: quantities(&c["resources"]["limits"]),
                ..ContainerRow::default()
            };
            if let Some(s) = status_of(&name) {
                row.ready = s["ready"].as_bool().unwrap_or(false);
                row.restarts = s["restartCount"].as_u64().unwrap_or(0);
                if let Some((state, detail)) = s["state"].as_object().and_then(|m| m.iter().next())
                {
                    row.state = state.clone();
                    row.reason = text(detail, "/reason");
                }
            }
            row.name = name;
            row
        })
        .collect()
}

impl PodRow {
    /// The row of a Pod object as the API server returns it.
    pub fn from_pod(pod: &Value) -> PodRow {
        PodRow {
            namespace: text(pod, "/metadata/namespace"),
            name: text(pod, "/metadata/name"),
            phase: text(pod, "/status/phase"),
            created: text(pod, "/metadata/creationTimestamp"),
            pod_ip: text(pod, "/status/podIP"),
            containers: containers_of(pod, "containers", "containerStatuses"),
            init_containers: containers_of(pod, "initContainers", "initContainerStatuses"),
            overhead: quantities(&pod["spec"]["overhead"]),
        }
    }

    /// A Pod object holding only what the row holds, bound to `node`, with an annotation that
    /// says so (`kubectl describe pod` shows it).
    pub fn to_pod(&self, node: &str) -> Value {
        let containers = |rows: &[ContainerRow]| -> Vec<Value> {
            rows.iter()
                .map(|c| {
                    let mut resources = json!({});
                    if !c.requests.is_empty() {
                        resources["requests"] = json!(c.requests);
                    }
                    if !c.limits.is_empty() {
                        resources["limits"] = json!(c.limits);
                    }
                    json!({"name": c.name, "image": "", "resources": resources})
                })
                .collect()
        };
        let statuses = |rows: &[ContainerRow]| -> Vec<Value> {
            rows.iter()
                .filter(|c| !c.state.is_empty())
                .map(|c| {
                    let detail = if c.reason.is_empty() {
                        json!({})
                    } else {
                        json!({"reason": c.reason})
                    };
                    json!({"name": c.name, "ready": c.ready, "restartCount": c.restarts,
                           "image": "", "imageID": "", "state": {c.state.clone(): detail}})
                })
                .collect()
        };
        let mut spec = json!({"nodeName": node, "containers": containers(&self.containers)});
        if !self.init_containers.is_empty() {
            spec["initContainers"] = json!(containers(&self.init_containers));
        }
        if !self.overhead.is_empty() {
            spec["overhead"] = json!(self.overhead);
        }
        let mut status = json!({"phase": self.phase,
                                "containerStatuses": statuses(&self.containers)});
        if !self.init_containers.is_empty() {
            status["initContainerStatuses"] = json!(statuses(&self.init_containers));
        }
        if !self.pod_ip.is_empty() {
            status["podIP"] = json!(self.pod_ip);
            status["podIPs"] = json!([{"ip": self.pod_ip}]);
        }
        let mut meta = json!({"name": self.name, "namespace": self.namespace,
            "annotations": {SUMMARY_ANNOTATION: "node context only: phase, IP, container states, requests and limits"}});
        if !self.created.is_empty() {
            meta["creationTimestamp"] = json!(self.created);
        }
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status})
    }
}

/// Writes the file's text ([`NodePods::to_text`]) a node at a time: the collector lists one
/// node's pods, writes them and lets them go (20,000 pods' rows, and the text of all of them,
/// were 20 MB held at once).
pub struct TextWriter<W: std::io::Write> {
    out: W,
    nodes: usize,
}

impl<W: std::io::Write> TextWriter<W> {
    pub fn new(mut out: W) -> std::io::Result<Self> {
        out.write_all(b"{\"nodes\": [\n")?;
        Ok(TextWriter { out, nodes: 0 })
    }

    /// Appends one node and its pods, one per line.
    pub fn node(&mut self, node: &NodeRow) -> std::io::Result<()> {
        if self.nodes > 0 {
            // The previous node's closing line goes on only now that it is not the last.
            self.out.write_all(b",\n")?;
        }
        self.nodes += 1;
        let name = serde_json::to_string(&node.name).expect("a string serializes");
        writeln!(self.out, "{{\"name\": {name}, \"pods\": [")?;
        for (j, pod) in node.pods.iter().enumerate() {
            let row = serde_json::to_string(pod).expect("a row serializes");
            let comma = if j + 1 < node.pods.len() { "," } else { "" };
            writeln!(self.out, "  {row}{comma}")?;
        }
        self.out.write_all(b"]}")
    }

    /// Closes the table and hands the writer back.
    pub fn finish(mut self) -> std::io::Result<W> {
        if self.nodes > 0 {
            self.out.write_all(b"\n")?;
        }
        self.out.write_all(b"]}\n")?;
        Ok(self.out)
    }
}

impl NodePods {
    /// Parses the file.
    pub fn parse(text: &str) -> Result<NodePods, String> {
        serde_json::from_str(text).map_err(|e| format!("not a node-pods table: {e}"))
    }

    /// The file's text: one pod per line.
    pub fn to_text(&self) -> String {
        let mut w = TextWriter::new(Vec::new()).expect("writing to memory cannot fail");
        for node in &self.nodes {
            w.node(node).expect("writing to memory cannot fail");
        }
        String::from_utf8(w.finish().expect("writing to memory cannot fail"))
            .expect("JSON text is UTF-8")
    }

    /// Every row as a Pod object ([`PodRow::to_pod`]).
    pub fn pods(&self) -> Vec<Value> {
        self.nodes
            .iter()
            .flat_map(|n| n.pods.iter().map(|p| p.to_pod(&n.name)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pod_keeps_only_its_allocation_and_state() {
        let pod = json!({
            "metadata": {"name": "agent-x", "namespace": "monitoring", "creationTimestamp": "2026-11-27T08:00:00Z",
                         "labels": {"app": "agent"}},
            "spec": {"nodeName": "n1", "overhead": {"cpu": "10m"},
                     "initContainers": [{"name": "setup", "image": "busybox", "resources": {"requests": {"memory": "1Gi"}}}],
                     "containers": [{"name": "agent", "image": "agent:1", "env": [{"name": "TOKEN", "value": "s3cret"}],
                                     "resources": {"requests": {"cpu": 1, "memory": "200Mi"}, "limits": {"memory": "400Mi"}}}]},
            "status": {"phase": "Running", "podIP": "10.1.0.5",
                       "initContainerStatuses": [{"name": "setup", "ready": true, "state": {"terminated": {"reason": "Completed"}}}],
                       "containerStatuses": [{"name": "agent", "ready": true, "restartCount": 2, "state": {"running": {"startedAt": "x"}}}]}
        });
        let row = PodRow::from_pod(&pod);
        let table = NodePods {
            nodes: vec![NodeRow {
                name: "n1".into(),
                pods: vec![row.clone()],
            }],
        };
        let text = table.to_text();
        // Two nodes, and none: the same text as one written whole, and it parses back.
        let two = NodePods {
            nodes: vec![
                table.nodes[0].clone(),
                NodeRow {
                    name: "n2".into(),
                    pods: vec![row.clone(), row.clone()],
                },
            ],
        };
        let two_text = two.to_text();
        assert!(
            two_text.starts_with("{\"nodes\": [\n{\"name\": \"n1\", \"pods\": [\n  {"),
            "{two_text}"
        );
        assert!(two_text.contains("]},\n{\"name\": \"n2\""), "{two_text}");
        assert!(two_text.ends_with("}\n]}\n]}\n"), "{two_text}");
        assert_eq!(NodePods::parse(&two_text).unwrap(), two);
        assert_eq!(NodePods::default().to_text(), "{\"nodes\": [\n]}\n");
        assert_eq!(
            NodePods::parse(&NodePods::default().to_text()).unwrap(),
            NodePods::default()
        );
        assert!(!text.contains("s3cret") && !text.contains("TOKEN") && !text.contains("agent:1"));
        assert_eq!(text.lines().count(), 5, "{text}");
        assert_eq!(NodePods::parse(&text).unwrap(), table);
        let served = &table.pods()[0];
        assert_eq!(served["spec"]["nodeName"], "n1");
        assert_eq!(
            served["spec"]["containers"][0]["resources"],
            json!({"requests": {"cpu": "1", "memory": "200Mi"}, "limits": {"memory": "400Mi"}})
        );
        assert_eq!(
            served["spec"]["initContainers"][0]["resources"]["requests"]["memory"],
            "1Gi"
        );
        assert_eq!(served["spec"]["overhead"]["cpu"], "10m");
        assert_eq!(
            served["status"]["containerStatuses"][0]["state"],
            json!({"running": {}})
        );
        assert_eq!(served["status"]["containerStatuses"][0]["restartCount"], 2);
        assert_eq!(
            served["status"]["initContainerStatuses"][0]["state"],
            json!({"terminated": {"reason": "Completed"}})
        );
        assert_eq!(served["status"]["podIP"], "10.1.0.5");
        assert_eq!(
            served["metadata"]["creationTimestamp"],
            "2026-11-27T08:00:00Z"
        );
        assert!(served["metadata"].get("labels").is_none());
        assert!(NodePods::parse("{}").unwrap_err().contains("node-pods"));
    }
}
