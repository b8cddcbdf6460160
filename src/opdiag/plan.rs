//! Turning `diagnostics` entries into pipeline tasks.
//!
//! For an entry `NAME` (its name made safe for a task name and a bundle path):
//!
//! ```text
//! Copy    diag-NAME-pods (opdiag.pods: the instance's running pods matching spec.selector)
//!           -> diag-NAME[pod] (opdiag.copy: `tar cf - PATH...` in the pod, unpacked to
//!              diagnostics/NAME/POD/PATH)
//! Command diag-NAME-pods -> diag-NAME[pod] (k8s.exec: diagnostics/NAME/POD.txt, stderr beside it)
//! Request diag-NAME (opdiag.request: the Service's port checked, then GET through the service
//!           proxy: diagnostics/NAME.txt)
//! ```
//!
//! A bad entry (unknown kind, missing or malformed field, bad redact regex) becomes a task
//! `diag-NAME` of kind `opdiag.invalid` that fails with the reason: it shows in `pipelines show`,
//! in the run's errors.json and summary, and every other task still runs.

use serde_json::{json, Map, Value};

use super::model::{Diagnostics, ResourceEntry};
use crate::pipeline::{ForEach, Pipeline, TaskSpec};

/// Where the generated artifacts go in the bundle.
pub const BUNDLE_DIR: &str = "diagnostics";

/// A `diagnostics` key and where it was read from (`package:DIR`, `operatorversion:NS/NAME`,
/// `configmap:NS/NAME`).
#[derive(Debug, Clone, PartialEq)]
pub struct Sourced {
    pub origin: String,
    pub diagnostics: Diagnostics,
}

/// The tasks for every source's entries, and what is wrong with the entries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiagnosticsPlan {
    pub tasks: Vec<TaskSpec>,
    /// One line per bad entry, `ORIGIN: entry NAME: REASON` (also a failing task each).
    pub problems: Vec<String>,
    /// Where the entries came from, in order.
    pub origins: Vec<String>,
}

impl DiagnosticsPlan {
    /// `base` with these tasks appended (a generated task replaces a base task of the same
    /// name, as `extends` does) and the origins added to its sources.
    pub fn merge_into(&self, base: &Pipeline) -> Pipeline {
        let mut tasks = base.tasks.clone();
        for t in &self.tasks {
            match tasks.iter_mut().find(|b| b.name == t.name) {
                Some(slot) => *slot = t.clone(),
                None => tasks.push(t.clone()),
            }
        }
        let mut sources = base.sources.clone();
        sources.extend(self.origins.iter().map(|o| format!("diagnostics:{o}")));
        Pipeline::new(base.name.clone(), sources, tasks)
    }
}

/// Entries of all sources, in order; an entry of a later source replaces an earlier one of the
/// same name (a ConfigMap published to the cluster overrides the package's entry).
pub fn plan(sources: &[Sourced]) -> DiagnosticsPlan {
    let mut entries: Vec<(&str, &ResourceEntry)> = Vec::new();
    let mut out = DiagnosticsPlan::default();
    for s in sources {
        out.origins.push(s.origin.clone());
        for e in &s.diagnostics.bundle.resources {
            match entries.iter_mut().find(|(_, p)| p.name == e.name) {
                Some(slot) => *slot = (&s.origin, e),
                None => entries.push((&s.origin, e)),
            }
        }
        for (i, r) in s.diagnostics.bundle.redact.iter().enumerate() {
            if let Err(why) = super::redact::check_entry(&r.spec) {
                let name = r
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("redact-{}", i + 1));
                let msg = format!("{}: redact entry {name}: {why}", s.origin);
                out.tasks
                    .push(invalid(&format!("diag-{}", safe(&name)), &name, &msg));
                out.problems.push(msg);
            }
        }
    }
    for (origin, e) in entries {
        match tasks_for(e) {
            Ok(mut ts) => out.tasks.append(&mut ts),
            Err(why) => {
                let msg = format!("{origin}: entry {}: {why}", e.name);
                out.tasks
                    .push(invalid(&format!("diag-{}", safe(&e.name)), &e.name, &msg));
                out.problems.push(msg);
            }
        }
    }
    out
}

/// A name safe for a task name and a bundle path: lowercase letters, digits and `-`.
pub fn safe(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-').to_string();
    if s.is_empty() {
        "unnamed".into()
    } else {
        s
    }
}

fn task(name: String, kind: &str, params: Value) -> TaskSpec {
    TaskSpec {
        name,
        kind: kind.into(),
        params,
        needs: Vec::new(),
        for_each: None,
        output: None,
        timeout: None,
        retries: None,
        optional: false,
    }
}

pub(crate) fn invalid(task_name: &str, entry: &str, message: &str) -> TaskSpec {
    task(
        task_name.to_string(),
        "opdiag.invalid",
        json!({"entry": entry, "message": message}),
    )
}

/// KUDO's template forms that an operator developer writes in operator.yaml (`{{ .Name }}`,
/// `{{ $.Name }}`, `{{ .Namespace }}`, `{{ .OperatorName }}`) as pipeline variables, so an
/// entry can name `{{ .Name }}-cs` as the package's own templates do.
pub fn kudo_templates(v: &Value) -> Value {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\{\{-?\s*\$?\.(Name|Namespace|OperatorName)\s*-?\}\}").expect("regex")
    });
    match v {
        Value::String(s) => Value::String(
            RE.replace_all(s, |c: &regex::Captures| match &c[1] {
                "Name" => "{{instance}}",
                "Namespace" => "{{namespace}}",
                _ => "{{operator}}",
            })
            .into_owned(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(kudo_templates).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), kudo_templates(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn tasks_for(e: &ResourceEntry) -> Result<Vec<TaskSpec>, String> {
    if e.name.trim().is_empty() {
        return Err("has no `name`: give each entry a name, it names its artifacts".into());
    }
    let n = safe(&e.name);
    let spec = kudo_templates(&e.spec)
        .as_object()
        .cloned()
        .unwrap_or_default();
    match e.kind.as_str() {
        "Copy" => {
            let paths = string_or_list(&spec, "path")?;
            if let Some(p) = paths.iter().find(|p| !p.starts_with('/')) {
                return Err(format!(
                    "spec.path {p:?} is relative: give absolute paths inside the container"
                ));
            }
            let mut ts = pods_task(&n, &e.name, &spec)?;
            let mut params = json!({"pod": "{{pod}}", "paths": paths, "entry": e.name});
            copy_container(&spec, &mut params)?;
            let mut t = task(format!("diag-{n}"), "opdiag.copy", params);
            fan_out(&mut t, &n);
            t.output = Some(format!("{BUNDLE_DIR}/{n}/{{{{pod.metadata.name}}}}"));
            ts.push(t);
            Ok(ts)
        }
        "Command" => {
            let argv = match spec.get("command") {
                Some(Value::String(s)) if !s.trim().is_empty() => {
                    vec!["sh".to_string(), "-c".to_string(), s.clone()]
                }
                Some(Value::Array(a)) if !a.is_empty() => a
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => Ok(s.clone()),
                        Value::Number(n) => Ok(n.to_string()),
                        _ => Err("spec.command must be a string or a list of strings".to_string()),
                    })
                    .collect::<Result<_, _>>()?,
                _ => return Err(
                    "spec.command is missing: give a command line (run with sh -c) or an argv list"
                        .into(),
                ),
            };
            let mut ts = pods_task(&n, &e.name, &spec)?;
            let mut params = json!({"pod": "{{pod}}", "command": argv});
            copy_container(&spec, &mut params)?;
            let mut t = task(format!("diag-{n}"), "k8s.exec", params);
            fan_out(&mut t, &n);
            t.output = Some(format!("{BUNDLE_DIR}/{n}/{{{{pod.metadata.name}}}}.txt"));
            ts.push(t);
            Ok(ts)
        }
        "Request" => {
            let sref = spec
                .get("serviceRef")
                .and_then(Value::as_object)
                .ok_or("spec.serviceRef is missing: give {name: SERVICE, port: NAME-OR-NUMBER}")?;
            let service = sref
                .get("name")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .ok_or(
                    "spec.serviceRef.name is missing: name the Service to send the request to",
                )?;
            let port = match sref.get("port") {
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => {
                    return Err(
                        "spec.serviceRef.port is missing: give the port's name or number".into(),
                    )
                }
            };
            let mut path = spec
                .get("path")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim_start_matches('/')
                .to_string();
            if let Some(q) = spec.get("query") {
                let q = match q {
                    Value::String(s) => s.trim_start_matches('?').to_string(),
                    Value::Object(m) => m
                        .iter()
                        .map(|(k, v)| match v {
                            Value::String(s) => format!("{k}={s}"),
                            other => format!("{k}={other}"),
                        })
                        .collect::<Vec<_>>()
                        .join("&"),
                    _ => return Err("spec.query must be a string or a map".into()),
                };
                if !q.is_empty() {
                    path = format!("{path}?{q}");
                }
            }
            let mut params =
                json!({"service": service, "port": port, "path": path, "entry": e.name});
            if let Some(s) = spec.get("scheme").and_then(Value::as_str) {
                params["scheme"] = json!(s);
            }
            let mut t = task(format!("diag-{n}"), "opdiag.request", params);
            t.output = Some(format!("{BUNDLE_DIR}/{n}.txt"));
            Ok(vec![t])
        }
        other => Err(format!(
            "unknown kind {other:?}: use Copy, Command or Request"
        )),
    }
}

fn string_or_list(spec: &Map<String, Value>, key: &str) -> Result<Vec<String>, String> {
    match spec.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(vec![s.clone()]),
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("spec.{key} must be a path or a list of paths"))
            })
            .collect(),
        _ => Err(format!(
            "spec.{key} is missing: give a path or a list of paths"
        )),
    }
}

fn copy_container(spec: &Map<String, Value>, params: &mut Value) -> Result<(), String> {
    match spec.get("container") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(c)) => {
            params["container"] = json!(c);
            Ok(())
        }
        Some(_) => Err("spec.container must be a container name".into()),
    }
}

/// The `opdiag.pods` task: the instance's pods (label `kudo.dev/instance`) matching the entry's
/// `spec.selector.matchLabels`.
fn pods_task(n: &str, entry: &str, spec: &Map<String, Value>) -> Result<Vec<TaskSpec>, String> {
    // A workload standing for the pods it selects: `selector: {kind: StatefulSet, name: x}`.
    if let Some(kind) = spec
        .get("selector")
        .and_then(|s| s.get("kind"))
        .and_then(Value::as_str)
    {
        if !super::kinds::WORKLOAD_KINDS.contains(&kind) {
            return Err(format!(
                "spec.selector.kind {kind:?} cannot stand for pods: use one of {}",
                super::kinds::WORKLOAD_KINDS.join(", ")
            ));
        }
        let name = spec["selector"]
            .get("name")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or("spec.selector.name is missing: name the workload whose pods to use")?;
        return Ok(vec![task(
            format!("diag-{n}-pods"),
            "opdiag.pods",
            json!({"workload": {"kind": kind, "name": name}, "entry": entry}),
        )]);
    }
    let labels = spec
        .get("selector")
        .and_then(|s| s.get("matchLabels"))
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
        .ok_or("spec.selector.matchLabels is missing: say which of the instance's pods to use, e.g. {app: zookeeper}, or name a workload, {kind: StatefulSet, name: x}")?;
    let mut parts = Vec::new();
    for (k, v) in labels {
        let v = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return Err(format!("spec.selector.matchLabels.{k} must be a string")),
        };
        parts.push(format!("{k}={v}"));
    }
    Ok(vec![task(
        format!("diag-{n}-pods"),
        "opdiag.pods",
        json!({"labelSelector": parts.join(","), "entry": entry}),
    )])
}

fn fan_out(t: &mut TaskSpec, n: &str) {
    let pods = format!("diag-{n}-pods");
    t.needs = vec![pods.clone()];
    t.for_each = Some(ForEach {
        task: pods,
        bind: "pod".into(),
        then: None,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opdiag::model::from_yaml;

    fn sourced(yaml: &str) -> Vec<Sourced> {
        vec![Sourced {
            origin: "package:test".into(),
            diagnostics: from_yaml(yaml).unwrap(),
        }]
    }

    #[test]
    fn each_kind_becomes_tasks_and_bad_entries_become_failing_tasks() {
        let p = plan(&sourced(
            r#"
bundle:
  resources:
  - {name: Zoo Conf, kind: Copy, spec: {path: /conf/zoo.cfg, selector: {matchLabels: {app: zookeeper}}}}
  - {name: srvr, kind: Command, spec: {command: "echo srvr | nc localhost 2181", selector: {matchLabels: {app: zookeeper}}}}
  - {name: stat, kind: Request, spec: {serviceRef: {name: zk-admin, port: admin}, path: /commands/stat}}
  - {name: weird, kind: Telnet, spec: {}}
  - {name: nosel, kind: Command, spec: {command: [ls]}}
  redact:
  - spec: {regex: "("}
"#,
        ));
        let names: Vec<&str> = p.tasks.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "diag-redact-1",
                "diag-zoo-conf-pods",
                "diag-zoo-conf",
                "diag-srvr-pods",
                "diag-srvr",
                "diag-stat",
                "diag-weird",
                "diag-nosel"
            ]
        );
        assert_eq!(
            p.tasks[2].output.as_deref(),
            Some("diagnostics/zoo-conf/{{pod.metadata.name}}")
        );
        assert_eq!(p.tasks[1].params["labelSelector"], "app=zookeeper");
        assert_eq!(
            p.tasks[4].params["command"],
            json!(["sh", "-c", "echo srvr | nc localhost 2181"])
        );
        assert_eq!(p.tasks[5].params["path"], "commands/stat");
        assert_eq!(p.problems.len(), 3, "{:?}", p.problems);
        assert!(p.problems[1].contains("unknown kind \"Telnet\": use Copy, Command or Request"));
        assert!(p.problems[2].contains("spec.selector.matchLabels is missing"));
        assert!(p.problems[0].contains("regex"), "{}", p.problems[0]);
    }

    #[test]
    fn kudo_template_forms_become_pipeline_variables() {
        let v = kudo_templates(
            &json!({"a": ["{{ .Name }}-cs", "{{ $.OperatorName }}/{{.Namespace}}"]}),
        );
        assert_eq!(
            v,
            json!({"a": ["{{instance}}-cs", "{{operator}}/{{namespace}}"]})
        );
    }

    #[test]
    fn a_later_source_replaces_an_entry_of_the_same_name() {
        let mut s = sourced("bundle: {resources: [{name: a, kind: Command, spec: {command: [x], selector: {matchLabels: {a: b}}}}]}");
        s.push(Sourced {
            origin: "configmap:ns/cm".into(),
            diagnostics: from_yaml("bundle: {resources: [{name: a, kind: Command, spec: {command: [y], selector: {matchLabels: {a: b}}}}]}").unwrap(),
        });
        let p = plan(&s);
        assert_eq!(p.tasks.len(), 2);
        assert_eq!(p.tasks[1].params["command"], json!(["y"]));
    }
}
