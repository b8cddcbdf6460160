//! `k8s.describe`: `kubectl describe`-style text for the instance's pods, statefulsets,
//! deployments, services and PVCs, beside their YAML (the implicit collection KEP-22's revision
//! lists). A person reads this first; the YAML is for tools. Events are listed once per task and
//! matched to each object (by kind and name), newest last, at most [`MAX_EVENTS`] per object.
//!
//! Env values are not printed (names and sources only), so a describe never holds a value the
//! pod YAML's redaction would hide.

use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::{json, Value};

use crate::collect::kinds::list::PAGE_SIZE;
use crate::collect::{api, params, retry};
use crate::engine::{ParamSpec, TaskContext, TaskError, TaskKind, TaskOutput};
use crate::kubeapi::path;
use crate::pipeline::TaskSpec;

/// Events shown per object (the most recent).
pub const MAX_EVENTS: usize = 20;

pub struct Describe;

const PARAMS: &[ParamSpec] = &[
    ParamSpec::required(
        "kind",
        "Pod, StatefulSet, Deployment, Service or PersistentVolumeClaim",
    ),
    ParamSpec::optional(
        "labelSelector",
        "which objects (default: all in the namespace)",
    ),
    ParamSpec::optional("namespace", "the namespace (default: the run's)"),
    ParamSpec::optional(
        "podSelector",
        "PersistentVolumeClaim only: also the claims that pods with these labels mount (a StatefulSet's claims do not carry the instance label)",
    ),
    ParamSpec::optional(
        "outputEach",
        "also one file per object; {name} is the object's name (pods/{name}/describe.txt)",
    ),
];

fn api_path(kind: &str) -> Option<(&'static str, &'static str)> {
    Some(match kind {
        "Pod" => ("v1", "pods"),
        "StatefulSet" => ("apps/v1", "statefulsets"),
        "Deployment" => ("apps/v1", "deployments"),
        "Service" => ("v1", "services"),
        "PersistentVolumeClaim" => ("v1", "persistentvolumeclaims"),
        _ => return None,
    })
}

/// The describe tasks every collection gets: one per kind, scoped to the instance.
pub fn tasks() -> Vec<TaskSpec> {
    [
        ("Pod", "pods", Some("pods/{name}/describe.txt")),
        ("StatefulSet", "statefulsets", None),
        ("Deployment", "deployments", None),
        ("Service", "services", None),
        ("PersistentVolumeClaim", "pvcs", None),
    ]
    .into_iter()
    .map(|(kind, file, each)| {
        let mut params = json!({"kind": kind, "labelSelector": "kudo.dev/instance={{instance}}"});
        if let Some(e) = each {
            params["outputEach"] = json!(e);
        }
        if kind == "PersistentVolumeClaim" {
            params["podSelector"] = json!("kudo.dev/instance={{instance}}");
        }
        TaskSpec {
            name: format!("describe-{file}"),
            kind: "k8s.describe".into(),
            params,
            needs: Vec::new(),
            for_each: None,
            // One describe per object: pods get theirs beside their pod.yaml, not a second
            // copy in one file of them all.
            output: each
                .is_none()
                .then(|| format!("workload/{file}.describe.txt")),
            timeout: None,
            retries: None,
            optional: false,
        }
    })
    .collect()
}

#[async_trait::async_trait]
impl TaskKind for Describe {
    fn name(&self) -> &'static str {
        "k8s.describe"
    }
    fn description(&self) -> &'static str {
        "kubectl describe-style text (status, conditions, containers, volumes, recent events)"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutput, TaskError> {
        let p = &ctx.params;
        let kind = params::str_req(p, "kind")?;
        let (api_version, plural) = api_path(kind).ok_or_else(|| {
            TaskError::failed(format!(
                "k8s.describe cannot describe {kind}: use Pod, StatefulSet, Deployment, Service or PersistentVolumeClaim"
            ))
        })?;
        let ns = params::namespace(p, &ctx.vars)?.ok_or_else(|| {
            TaskError::failed("the namespace is unknown: add `namespace` or run with --namespace")
        })?;
        let sel = params::str_opt(p, "labelSelector")?;
        let each = params::str_opt(p, "outputEach")?;
        // Events are a garnish: a user not allowed to list them still gets the description.
        // A transient failure is not that: "<none>" would be a wrong answer, so retry it.
        let mut events = Vec::new();
        let events_url = path::collection("v1", Some(ns), "events");
        let events_what = format!("list events in namespace {ns}");
        match for_each_item(ctx, &events_url, &events_what, |e| {
            events.push(e);
            Ok(())
        })
        .await
        {
            Ok(()) => {}
            Err(e) if e.is_transient() => return Err(e),
            Err(_) => events.clear(),
        }
        // Objects are described page by page as they arrive and written straight to the
        // artifact: thousands of pods are never held at once (at 5,000 pods the whole list and
        // a copy of it were the collection's largest holder of memory).
        let mut out = Described {
            writer: match &ctx.output {
                Some(o) => Some(
                    ctx.sink
                        .create(o)
                        .map_err(|e| TaskError::failed(e.to_string()))?,
                ),
                None => None,
            },
            count: 0,
            names: Vec::new(),
        };
        let all_url = path::collection(api_version, Some(ns), plural);
        let url = path::with_query(&all_url, &[("labelSelector", sel.unwrap_or(""))]);
        let what = format!("list {plural} in namespace {ns}");
        for_each_item(ctx, &url, &what, |o| out.add(ctx, kind, &o, &events, each)).await?;
        if let Some(ps) = params::str_opt(p, "podSelector")? {
            // Claims the selected pods mount, beside the labelled ones.
            let mut claims: Vec<String> = Vec::new();
            let pods_url = path::with_query(
                &path::collection("v1", Some(ns), "pods"),
                &[("labelSelector", ps)],
            );
            let pods_what = format!("list pods with labels {ps} in namespace {ns}");
            for_each_item(ctx, &pods_url, &pods_what, |pod| {
                let volumes = pod.pointer("/spec/volumes").and_then(Value::as_array);
                claims.extend(volumes.into_iter().flatten().filter_map(|v| {
                    v.pointer("/persistentVolumeClaim/claimName")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                }));
                Ok(())
            })
            .await?;
            claims.sort();
            claims.dedup();
            if !claims.is_empty() {
                for_each_item(ctx, &all_url, &what, |c| {
                    let name = s(&c, "/metadata/name");
                    let known = out.names.iter().any(|n| n == name);
                    if claims.binary_search_by(|x| x.as_str().cmp(name)).is_ok() && !known {
                        out.add(ctx, kind, &c, &events, each)?;
                    }
                    Ok(())
                })
                .await?;
            }
        }
        let count = out.count;
        if let Some(mut w) = out.writer {
            if count == 0 {
                let none = format!(
                    "No {plural} found in namespace {ns}{}.\n",
                    sel.map(|s| format!(" with labels {s}")).unwrap_or_default()
                );
                w.write_all(none.as_bytes()).map_err(write_err)?;
            }
            w.finish().map_err(|e| TaskError::failed(e.to_string()))?;
        }
        Ok(TaskOutput {
            items: vec![json!({"objects": count})].into(),
        })
    }
}

/// The describe text being written: the artifact, how many objects it holds and their names
/// (to add a claim only once).
struct Described {
    writer: Option<crate::bundle::sink::ArtifactWriter>,
    count: usize,
    names: Vec<String>,
}

impl Described {
    fn add(
        &mut self,
        ctx: &TaskContext,
        kind: &str,
        o: &Value,
        events: &[Value],
        each: Option<&str>,
    ) -> Result<(), TaskError> {
        let text = describe(kind, o, events);
        if let Some(w) = self.writer.as_mut() {
            if self.count > 0 {
                w.write_all(b"\n\n").map_err(write_err)?;
            }
            w.write_all(text.as_bytes()).map_err(write_err)?;
        }
        let name = s(o, "/metadata/name");
        // A name that cannot be a file name (only a hostile API server sends one) loses only
        // its own file; its text is in the combined output above.
        if let Some(each) = each.filter(|_| crate::bundle::sink::is_path_segment(name)) {
            ctx.sink
                .put(&each.replace("{name}", name), text.as_bytes())
                .map_err(|e| TaskError::failed(e.to_string()))?;
        }
        self.names.push(name.to_string());
        self.count += 1;
        Ok(())
    }
}

fn write_err(e: std::io::Error) -> TaskError {
    TaskError::failed(format!("write the describe text: {e}"))
}

/// Every item of a list, one page at a time, handed to `f` as it arrives; each page request is
/// retried on its own (a describe makes up to four lists), so a retry never repeats an item.
async fn for_each_item(
    ctx: &TaskContext,
    url: &str,
    what: &str,
    mut f: impl FnMut(Value) -> Result<(), TaskError>,
) -> Result<(), TaskError> {
    let limit = PAGE_SIZE.to_string();
    let mut page_url = path::with_query(url, &[("limit", &limit)]);
    loop {
        let mut page = retry::within(ctx, || get_page(ctx, &page_url, what)).await?;
        if let Some(Value::Array(items)) = page.get_mut("items").map(Value::take) {
            for item in items {
                f(item)?;
            }
        }
        match page.pointer("/metadata/continue").and_then(Value::as_str) {
            Some(c) if !c.is_empty() => {
                page_url = path::with_query(url, &[("limit", &limit), ("continue", c)]);
            }
            _ => return Ok(()),
        }
    }
}

async fn get_page(ctx: &TaskContext, url: &str, what: &str) -> Result<Value, TaskError> {
    let req = hyper::Request::get(url)
        .body(Vec::new())
        .map_err(|e| TaskError::failed(format!("{what}: {e}")))?;
    api::list_json(ctx, req, what).await
}

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn or_none(x: &str) -> &str {
    if x.is_empty() {
        "<none>"
    } else {
        x
    }
}

fn num(v: &Value, ptr: &str) -> i64 {
    v.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

/// `key=value` lines, continuation lines indented under the first.
fn map_lines(out: &mut String, title: &str, m: Option<&Value>) {
    let items: Vec<String> = m
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(k, _)| *k != "kubectl.kubernetes.io/last-applied-configuration")
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(&v.to_string())))
                .collect()
        })
        .unwrap_or_default();
    if items.is_empty() {
        let _ = writeln!(out, "{title:<14}<none>");
        return;
    }
    for (i, it) in items.iter().enumerate() {
        let _ = writeln!(out, "{:<14}{it}", if i == 0 { title } else { "" });
    }
}

fn header(out: &mut String, o: &Value) {
    let _ = writeln!(out, "{:<14}{}", "Name:", s(o, "/metadata/name"));
    let _ = writeln!(out, "{:<14}{}", "Namespace:", s(o, "/metadata/namespace"));
    let _ = writeln!(
        out,
        "{:<14}{}",
        "Created:",
        or_none(s(o, "/metadata/creationTimestamp"))
    );
    map_lines(out, "Labels:", o.pointer("/metadata/labels"));
    map_lines(out, "Annotations:", o.pointer("/metadata/annotations"));
    if let Some(owner) = o
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .find(|r| r.get("controller") == Some(&Value::Bool(true)))
                .or(a.first())
        })
    {
        let _ = writeln!(
            out,
            "{:<14}{}/{}",
            "Controlled By:",
            s(owner, "/kind"),
            s(owner, "/name")
        );
    }
}

fn conditions(out: &mut String, o: &Value) {
    let conds = o.pointer("/status/conditions").and_then(Value::as_array);
    let Some(conds) = conds.filter(|c| !c.is_empty()) else {
        return;
    };
    let _ = writeln!(
        out,
        "Conditions:\n  {:<28}{:<8}{:<24}Message",
        "Type", "Status", "Reason"
    );
    for c in conds {
        let _ = writeln!(
            out,
            "  {:<28}{:<8}{:<24}{}",
            s(c, "/type"),
            s(c, "/status"),
            s(c, "/reason"),
            s(c, "/message")
        );
    }
}

fn state_text(st: &Value) -> Vec<String> {
    if let Some(r) = st.get("running") {
        return vec![
            "Running".into(),
            format!("  Started:    {}", s(r, "/startedAt")),
        ];
    }
    if let Some(w) = st.get("waiting") {
        let mut v = vec![
            "Waiting".into(),
            format!("  Reason:     {}", s(w, "/reason")),
        ];
        if !s(w, "/message").is_empty() {
            v.push(format!("  Message:    {}", s(w, "/message")));
        }
        return v;
    }
    if let Some(t) = st.get("terminated") {
        return vec![
            "Terminated".into(),
            format!("  Reason:     {}", s(t, "/reason")),
            format!("  Exit Code:  {}", num(t, "/exitCode")),
            format!("  Started:    {}", s(t, "/startedAt")),
            format!("  Finished:   {}", s(t, "/finishedAt")),
        ];
    }
    vec!["<unknown>".into()]
}

fn containers(out: &mut String, title: &str, specs: Option<&Value>, statuses: Option<&Value>) {
    let Some(specs) = specs.and_then(Value::as_array).filter(|a| !a.is_empty()) else {
        return;
    };
    let _ = writeln!(out, "{title}:");
    for c in specs {
        let name = s(c, "/name");
        let st = statuses
            .and_then(Value::as_array)
            .and_then(|a| a.iter().find(|x| s(x, "/name") == name));
        let _ = writeln!(out, "  {name}:");
        let _ = writeln!(out, "    Image:          {}", s(c, "/image"));
        let ports: Vec<String> = c
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| {
                format!(
                    "{}/{}",
                    num(p, "/containerPort"),
                    p.get("protocol").and_then(Value::as_str).unwrap_or("TCP")
                )
            })
            .collect();
        if !ports.is_empty() {
            let _ = writeln!(out, "    Ports:          {}", ports.join(", "));
        }
        if let Some(cmd) = c.get("command").and_then(Value::as_array) {
            let words: Vec<&str> = cmd.iter().filter_map(Value::as_str).collect();
            let _ = writeln!(out, "    Command:        {}", words.join(" "));
        }
        if let Some(st) = st {
            let lines = state_text(st.get("state").unwrap_or(&Value::Null));
            let _ = writeln!(out, "    State:          {}", lines[0]);
            for l in &lines[1..] {
                let _ = writeln!(out, "    {l}");
            }
            if let Some(last) = st
                .get("lastState")
                .filter(|l| l.as_object().is_some_and(|m| !m.is_empty()))
            {
                let lines = state_text(last);
                let _ = writeln!(out, "    Last State:     {}", lines[0]);
                for l in &lines[1..] {
                    let _ = writeln!(out, "    {l}");
                }
            }
            let ready = st.get("ready").and_then(Value::as_bool).unwrap_or(false);
            let _ = writeln!(
                out,
                "    Ready:          {}",
                if ready { "True" } else { "False" }
            );
            let _ = writeln!(out, "    Restart Count:  {}", num(st, "/restartCount"));
        }
        for (k, label) in [("limits", "Limits"), ("requests", "Requests")] {
            if let Some(m) = c
                .pointer(&format!("/resources/{k}"))
                .and_then(Value::as_object)
            {
                let _ = writeln!(out, "    {label}:");
                for (r, q) in m {
                    let _ = writeln!(out, "      {r}: {}", q.as_str().unwrap_or(&q.to_string()));
                }
            }
        }
        let env: Vec<String> = c
            .get("env")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|e| {
                let from = if let Some(r) = e.pointer("/valueFrom/secretKeyRef") {
                    format!(
                        "<set to the key '{}' in secret '{}'>",
                        s(r, "/key"),
                        s(r, "/name")
                    )
                } else if let Some(r) = e.pointer("/valueFrom/configMapKeyRef") {
                    format!(
                        "<set to the key '{}' of config map '{}'>",
                        s(r, "/key"),
                        s(r, "/name")
                    )
                } else if e.get("valueFrom").is_some() {
                    "<set from a field or resource>".to_string()
                } else {
                    "<value in the pod YAML>".to_string()
                };
                format!("      {}: {from}", s(e, "/name"))
            })
            .collect();
        if !env.is_empty() {
            let _ = writeln!(out, "    Environment:\n{}", env.join("\n"));
        }
        let mounts: Vec<String> = c
            .get("volumeMounts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|m| {
                let ro = m.get("readOnly").and_then(Value::as_bool).unwrap_or(false);
                format!(
                    "      {} from {} ({})",
                    s(m, "/mountPath"),
                    s(m, "/name"),
                    if ro { "ro" } else { "rw" }
                )
            })
            .collect();
        if !mounts.is_empty() {
            let _ = writeln!(out, "    Mounts:\n{}", mounts.join("\n"));
        }
    }
}

fn volumes(out: &mut String, vols: Option<&Value>) {
    let Some(vols) = vols.and_then(Value::as_array).filter(|a| !a.is_empty()) else {
        return;
    };
    let _ = writeln!(out, "Volumes:");
    for v in vols {
        let _ = writeln!(out, "  {}:", s(v, "/name"));
        let line = if let Some(x) = v.get("persistentVolumeClaim") {
            format!("PersistentVolumeClaim (ClaimName: {})", s(x, "/claimName"))
        } else if let Some(x) = v.get("configMap") {
            format!("ConfigMap (Name: {})", s(x, "/name"))
        } else if let Some(x) = v.get("secret") {
            format!("Secret (SecretName: {})", s(x, "/secretName"))
        } else if v.get("emptyDir").is_some() {
            "EmptyDir".to_string()
        } else if let Some(x) = v.get("hostPath") {
            format!("HostPath (Path: {})", s(x, "/path"))
        } else if v.get("projected").is_some() {
            "Projected".to_string()
        } else {
            "other".to_string()
        };
        let _ = writeln!(out, "    Type:  {line}");
    }
}

fn events_for(out: &mut String, kind: &str, name: &str, events: &[Value]) {
    let mut mine: Vec<&Value> = events
        .iter()
        .filter(|e| s(e, "/involvedObject/kind") == kind && s(e, "/involvedObject/name") == name)
        .collect();
    let when = |e: &Value| {
        [
            s(e, "/lastTimestamp"),
            s(e, "/eventTime"),
            s(e, "/metadata/creationTimestamp"),
        ]
        .into_iter()
        .find(|t| !t.is_empty())
        .unwrap_or("")
        .to_string()
    };
    mine.sort_by_key(|e| when(e));
    if mine.is_empty() {
        let _ = writeln!(out, "Events:       <none>");
        return;
    }
    let skip = mine.len().saturating_sub(MAX_EVENTS);
    let _ = writeln!(
        out,
        "Events:\n  {:<8}{:<22}{:<22}{:<26}Message",
        "Type", "Reason", "Last Seen", "From"
    );
    for e in &mine[skip..] {
        let count = num(e, "/count");
        let _ = writeln!(
            out,
            "  {:<8}{:<22}{:<22}{:<26}{}{}",
            s(e, "/type"),
            s(e, "/reason"),
            when(e),
            s(e, "/source/component"),
            s(e, "/message"),
            if count > 1 {
                format!(" (x{count})")
            } else {
                String::new()
            }
        );
    }
}

/// The describe text of one object of `kind`.
pub fn describe(kind: &str, o: &Value, events: &[Value]) -> String {
    let mut out = String::new();
    header(&mut out, o);
    match kind {
        "Pod" => pod_text(&mut out, o),
        "StatefulSet" | "Deployment" => workload_text(&mut out, o, kind),
        "Service" => service_text(&mut out, o),
        "PersistentVolumeClaim" => claim_text(&mut out, o),
        _ => {}
    }
    events_for(&mut out, kind, s(o, "/metadata/name"), events);
    out
}

/// A Pod's node, phase, IP, containers, conditions and volumes.
fn pod_text(out: &mut String, o: &Value) {
    let _ = writeln!(out, "{:<14}{}", "Node:", or_none(s(o, "/spec/nodeName")));
    let _ = writeln!(out, "{:<14}{}", "Status:", s(o, "/status/phase"));
    if !s(o, "/status/reason").is_empty() {
        let _ = writeln!(out, "{:<14}{}", "Reason:", s(o, "/status/reason"));
    }
    let _ = writeln!(out, "{:<14}{}", "IP:", or_none(s(o, "/status/podIP")));
    containers(
        out,
        "Init Containers",
        o.pointer("/spec/initContainers"),
        o.pointer("/status/initContainerStatuses"),
    );
    containers(
        out,
        "Containers",
        o.pointer("/spec/containers"),
        o.pointer("/status/containerStatuses"),
    );
    conditions(out, o);
    volumes(out, o.pointer("/spec/volumes"));
}

/// A StatefulSet's or Deployment's selector, replicas, strategy and pod template.
fn workload_text(out: &mut String, o: &Value, kind: &str) {
    map_lines(out, "Selector:", o.pointer("/spec/selector/matchLabels"));
    let _ = writeln!(
        out,
        "{:<14}{} desired | {} current | {} ready | {} updated | {} available",
        "Replicas:",
        num(o, "/spec/replicas"),
        num(o, "/status/replicas"),
        num(o, "/status/readyReplicas"),
        num(o, "/status/updatedReplicas"),
        num(o, "/status/availableReplicas"),
    );
    if kind == "StatefulSet" {
        let _ = writeln!(
            out,
            "{:<14}{}",
            "Update:",
            or_none(s(o, "/spec/updateStrategy/type"))
        );
        let claims: Vec<String> = o
            .pointer("/spec/volumeClaimTemplates")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| {
                format!(
                    "{} ({}, {})",
                    s(c, "/metadata/name"),
                    or_none(s(c, "/spec/storageClassName")),
                    s(c, "/spec/resources/requests/storage")
                )
            })
            .collect();
        let _ = writeln!(out, "{:<14}{}", "Claims:", or_none(&claims.join(", ")));
    } else {
        let _ = writeln!(
            out,
            "{:<14}{}",
            "Strategy:",
            or_none(s(o, "/spec/strategy/type"))
        );
    }
    let _ = writeln!(out, "Pod Template:");
    containers(
        out,
        "  Containers",
        o.pointer("/spec/template/spec/containers"),
        None,
    );
    volumes(out, o.pointer("/spec/template/spec/volumes"));
    conditions(out, o);
}

/// A Service's type, IP, selector, ports and affinity.
fn service_text(out: &mut String, o: &Value) {
    let _ = writeln!(out, "{:<14}{}", "Type:", s(o, "/spec/type"));
    let _ = writeln!(out, "{:<14}{}", "IP:", or_none(s(o, "/spec/clusterIP")));
    map_lines(out, "Selector:", o.pointer("/spec/selector"));
    for p in o
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let target = p
            .get("targetPort")
            .map(|t| t.as_str().map(str::to_string).unwrap_or(t.to_string()))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{:<14}{} {}/{} -> {}",
            "Port:",
            or_none(s(p, "/name")),
            num(p, "/port"),
            p.get("protocol").and_then(Value::as_str).unwrap_or("TCP"),
            target
        );
    }
    let _ = writeln!(
        out,
        "{:<14}{}",
        "Affinity:",
        or_none(s(o, "/spec/sessionAffinity"))
    );
}

/// A PersistentVolumeClaim's phase, volume, class, capacity, modes and conditions.
fn claim_text(out: &mut String, o: &Value) {
    let _ = writeln!(out, "{:<14}{}", "Status:", s(o, "/status/phase"));
    let _ = writeln!(
        out,
        "{:<14}{}",
        "Volume:",
        or_none(s(o, "/spec/volumeName"))
    );
    let _ = writeln!(
        out,
        "{:<14}{}",
        "StorageClass:",
        or_none(s(o, "/spec/storageClassName"))
    );
    let _ = writeln!(
        out,
        "{:<14}{}",
        "Capacity:",
        or_none(s(o, "/status/capacity/storage"))
    );
    let modes: Vec<&str> = o
        .pointer("/spec/accessModes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let _ = writeln!(out, "{:<14}{}", "Access Modes:", or_none(&modes.join(",")));
    conditions(out, o);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crashing_pod_shows_its_states_volumes_and_events() {
        let pod = json!({
            "metadata": {"name": "c-1", "namespace": "prod", "labels": {"app": "c"},
                          "ownerReferences": [{"kind": "StatefulSet", "name": "c", "controller": true}]},
            "spec": {"nodeName": "n1", "containers": [{"name": "cassandra", "image": "cassandra:3.11.7",
                      "env": [{"name": "PASS", "value": "hunter2"}],
                      "volumeMounts": [{"name": "data", "mountPath": "/var/lib/cassandra"}]}],
                     "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-c-1"}}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
                       "containerStatuses": [{"name": "cassandra", "ready": false, "restartCount": 4,
                          "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                          "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]}
        });
        let events = vec![
            json!({"type": "Warning", "reason": "BackOff", "message": "Back-off restarting failed container",
            "count": 12, "lastTimestamp": "2026-11-27T08:20:00Z", "source": {"component": "kubelet"},
            "involvedObject": {"kind": "Pod", "name": "c-1"}}),
        ];
        let t = describe("Pod", &pod, &events);
        for want in [
            "Controlled By:StatefulSet/c",
            "State:          Waiting",
            "Reason:     CrashLoopBackOff",
            "Last State:     Terminated",
            "Exit Code:  137",
            "Restart Count:  4",
            "/var/lib/cassandra from data (rw)",
            "PersistentVolumeClaim (ClaimName: data-c-1)",
            "Ready                       False",
            "Back-off restarting failed container (x12)",
        ] {
            assert!(t.contains(want), "{want:?} missing:\n{t}");
        }
        assert!(!t.contains("hunter2"), "env values are not printed:\n{t}");
    }
}
