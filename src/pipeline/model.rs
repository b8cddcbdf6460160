//! The pipeline file format, as serde types. One YAML document per pipeline, Kubernetes style:
//!
//! ```yaml
//! apiVersion: kudo-diag.dev/v1
//! kind: Pipeline
//! metadata:
//!   name: cassandra
//! spec:
//!   extends: kudo                  # optional: start from another pipeline's tasks
//!   operators: [cassandra]         # optional: chosen automatically for these operators
//!   tasks:
//!     - name: pods
//!       kind: k8s.list
//!       params: {apiVersion: v1, kind: Pod, labelSelector: "kudo.dev/instance={{instance}}"}
//!       output: workload/pods.yaml
//!     - name: nodetool-status
//!       kind: k8s.exec
//!       needs: [pods]
//!       forEach: {task: pods, as: pod}
//!       params: {pod: "{{pod.metadata.name}}", command: [nodetool, status]}
//!       output: "apps/cassandra/{{pod.metadata.name}}/nodetool-status.txt"
//! ```
//! docs/pipelines.md is the full reference.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const API_VERSION: &str = "kudo-diag.dev/v1";
pub const KIND: &str = "Pipeline";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PipelineDoc {
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    pub spec: PipelineSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PipelineSpec {
    /// Another pipeline whose tasks come first; a task here with the same name replaces it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// Operators (by KUDO Operator name) this pipeline is chosen for automatically.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operators: Vec<String>,
    #[serde(default)]
    pub tasks: Vec<TaskSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskSpec {
    pub name: String,
    pub kind: String,
    /// Parameters of the kind; strings may hold `{{var}}` templates.
    #[serde(default, skip_serializing_if = "is_empty_object")]
    pub params: Value,
    /// Tasks that must finish first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
    /// One node per item of an upstream task's result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_each: Option<ForEach>,
    /// Where the task's artifact goes in the bundle (a template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Per-attempt time limit, e.g. `30s`, `2m`.
    #[serde(
        default,
        with = "humantime_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout: Option<Duration>,
    /// Extra attempts for transient errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// A failure of an optional task is recorded but does not count as a failed collection.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

/// Fan-out: `forEach: {task: pods, as: pod}` makes one node per item `pods` returned, with the item
/// bound to `pod`; `then: {path: spec.containers, as: container}` goes one level deeper, one node
/// per element of that array inside each item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForEach {
    pub task: String,
    #[serde(rename = "as")]
    pub bind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then: Option<Nested>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Nested {
    /// A dotted path to an array inside each item (`spec.containers`). Several paths may be
    /// joined with `+` (`spec.initContainers+spec.containers`).
    pub path: String,
    #[serde(rename = "as")]
    pub bind: String,
}

fn is_empty_object(v: &Value) -> bool {
    v.is_null() || v.as_object().is_some_and(|o| o.is_empty())
}

mod humantime_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| humantime::parse_duration(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}
