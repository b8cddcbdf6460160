//! Reading a task's rendered parameters, with errors that name the parameter and the fix.

use serde_json::Value;

use crate::engine::TaskError;

/// A required string parameter.
pub fn str_req<'a>(p: &'a Value, name: &str) -> Result<&'a str, TaskError> {
    str_opt(p, name)?.ok_or_else(|| {
        TaskError::invalid(format!(
            "missing parameter `{name}`: add it to the task's params"
        ))
    })
}

/// An optional string parameter; an empty string counts as absent.
pub fn str_opt<'a>(p: &'a Value, name: &str) -> Result<Option<&'a str>, TaskError> {
    match p.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(TaskError::invalid(format!(
            "parameter `{name}` must be a string, found {}",
            type_name(other)
        ))),
    }
}

/// An optional boolean parameter (`true`/`false`, or the strings "true"/"false" a template makes).
pub fn bool_opt(p: &Value, name: &str) -> Result<Option<bool>, TaskError> {
    match p.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s == "true" => Ok(Some(true)),
        Some(Value::String(s)) if s == "false" => Ok(Some(false)),
        Some(other) => Err(TaskError::invalid(format!(
            "parameter `{name}` must be true or false, found {other}"
        ))),
    }
}

/// An optional non-negative integer, given as a number or a numeric string.
pub fn u64_opt(p: &Value, name: &str) -> Result<Option<u64>, TaskError> {
    match p.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => as_u64(v).map(Some).ok_or_else(|| {
            TaskError::invalid(format!(
                "parameter `{name}` must be a non-negative integer, found {v}"
            ))
        }),
    }
}

pub fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A list of strings (an argv).
pub fn string_list(p: &Value, name: &str) -> Result<Vec<String>, TaskError> {
    let bad = || {
        TaskError::invalid(format!(
            "parameter `{name}` must be a list of strings, e.g. [nodetool, status]"
        ))
    };
    match p.get(name) {
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(bad()),
            })
            .collect(),
        None => Err(TaskError::invalid(format!(
            "missing parameter `{name}`: add it to the task's params"
        ))),
        _ => Err(bad()),
    }
}

/// A pod given either by name (a string) or as the Pod object itself (`pod: "{{pod}}"` in a
/// fan-out), the latter also giving its namespace and container statuses.
pub struct PodRef<'a> {
    pub name: &'a str,
    pub namespace: Option<&'a str>,
    pub object: Option<&'a Value>,
}

pub fn pod_ref<'a>(p: &'a Value, name: &str) -> Result<PodRef<'a>, TaskError> {
    match p.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(PodRef {
            name: s,
            namespace: None,
            object: None,
        }),
        Some(obj @ Value::Object(_)) => {
            let pod_name = obj
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    TaskError::invalid(format!(
                        "parameter `{name}` is an object without metadata.name: pass a Pod or its name"
                    ))
                })?;
            Ok(PodRef {
                name: pod_name,
                namespace: obj.pointer("/metadata/namespace").and_then(Value::as_str),
                object: Some(obj),
            })
        }
        None | Some(Value::Null) => Err(TaskError::invalid(format!(
            "missing parameter `{name}`: give the pod's name or the pod object (`{name}: \"{{{{pod}}}}\"`)"
        ))),
        Some(other) => Err(TaskError::invalid(format!(
            "parameter `{name}` must be a pod name or a Pod object, found {}",
            type_name(other)
        ))),
    }
}

impl<'a> PodRef<'a> {
    /// The namespace a pod request goes to: the `namespace` parameter, else the pod object's
    /// own, else the run's `namespace` variable.
    pub fn namespace_in(&self, p: &'a Value, vars: &'a Value) -> Result<&'a str, TaskError> {
        let ns = match str_opt(p, "namespace")? {
            Some(ns) => Some(ns),
            None => self.namespace.or(namespace(p, vars)?),
        };
        ns.ok_or_else(|| {
            TaskError::invalid(
                "the pod's namespace is unknown: add `namespace` or run with --namespace",
            )
        })
    }
}

/// Whether a request failed because its object does not exist: the API server answered 404.
pub fn gone(e: &TaskError) -> bool {
    e.status() == Some(404)
}

/// The error of a task whose pod, listed earlier, was deleted before the task ran: the API's
/// own error, said in the cluster's terms, never retried. The API's answer (404) stays its kind.
pub fn deleted_during_collection(e: TaskError) -> TaskError {
    TaskError::new(
        e.kind,
        format!("the pod was deleted during the collection: {}", e.message),
    )
}

/// The namespace a namespaced request goes to: the `namespace` parameter, else the run's
/// `namespace` variable.
pub fn namespace<'a>(p: &'a Value, vars: &'a Value) -> Result<Option<&'a str>, TaskError> {
    if let Some(ns) = str_opt(p, "namespace")? {
        return Ok(Some(ns));
    }
    Ok(vars
        .get("namespace")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty()))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
