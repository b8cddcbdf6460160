//! The Table form (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`) that `kubectl get`
//! asks for: the columns and cell values a real API server prints for pods, nodes, services,
//! statefulsets, deployments, events, namespaces, PVCs and a few more, a CRD's
//! `additionalPrinterColumns`, and Name/Age (Name/Created At for built-ins) otherwise.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::resources::ResourceInfo;

/// A column: name as the server spells it (kubectl upper-cases it), type, priority (1 = wide).
struct Col(&'static str, &'static str, u8);

/// What rows carry of their object (`includeObject`): kubectl asks for `Metadata` by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

impl IncludeObject {
    pub fn parse(s: Option<&str>) -> IncludeObject {
        match s {
            Some("None") => IncludeObject::None,
            Some("Object") => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        }
    }
}

/// Builds a `meta.k8s.io/v1` Table of `objects`, `list_meta` being the list's metadata.
pub fn table(
    info: &ResourceInfo,
    objects: &[&Value],
    list_meta: Value,
    include: IncludeObject,
    now: DateTime<Utc>,
) -> Value {
    let (cols, cells): (Vec<Value>, Vec<Vec<Value>>) = if !info.printer_columns.is_empty() {
        crd_columns(info, objects, now)
    } else {
        let cols = builtin_columns(info);
        let rows = objects.iter().map(|o| builtin_row(info, o, now)).collect();
        (
            cols.iter()
                .map(|c| col_def(c.0, c.1, c.2, c.0 == "Name"))
                .collect(),
            rows,
        )
    };
    let rows: Vec<Value> = objects
        .iter()
        .zip(cells)
        .map(|(o, cells)| {
            let mut row = json!({ "cells": cells });
            match include {
                IncludeObject::None => {}
                IncludeObject::Metadata => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": o["metadata"],
                    })
                }
                IncludeObject::Object => row["object"] = (*o).clone(),
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": cols,
        "rows": rows,
    })
}

fn col_def(name: &str, typ: &str, priority: u8, is_name: bool) -> Value {
    let mut c = json!({
        "name": name,
        "type": typ,
        "format": "",
        "description": "",
        "priority": priority,
    });
    if is_name {
        c["format"] = json!("name");
        c["description"] = json!("Name must be unique within a namespace.");
    }
    c
}

fn builtin_columns(info: &ResourceInfo) -> Vec<Col> {
    let age = Col("Age", "string", 0);
    let name = Col("Name", "string", 0);
    match (info.group.as_str(), info.plural.as_str()) {
        ("", "pods") => vec![
            name,
            Col("Ready", "string", 0),
            Col("Status", "string", 0),
            Col("Restarts", "string", 0),
            age,
            Col("IP", "string", 1),
            Col("Node", "string", 1),
            Col("Nominated Node", "string", 1),
            Col("Readiness Gates", "string", 1),
        ],
        ("", "nodes") => vec![
            name,
            Col("Status", "string", 0),
            Col("Roles", "string", 0),
            age,
            Col("Version", "string", 0),
            Col("Internal-IP", "string", 1),
            Col("External-IP", "string", 1),
            Col("OS-Image", "string", 1),
            Col("Kernel-Version", "string", 1),
            Col("Container-Runtime", "string", 1),
        ],
        ("", "services") => vec![
            name,
            Col("Type", "string", 0),
            Col("Cluster-IP", "string", 0),
            Col("External-IP", "string", 0),
            Col("Port(s)", "string", 0),
            age,
            Col("Selector", "string", 1),
        ],
        ("", "namespaces") => vec![name, Col("Status", "string", 0), age],
        ("", "events") => vec![
            Col("Last Seen", "string", 0),
            Col("Type", "string", 0),
            Col("Reason", "string", 0),
            Col("Object", "string", 0),
            Col("Subobject", "string", 1),
            Col("Source", "string", 1),
            Col("Message", "string", 0),
            Col("First Seen", "string", 1),
            Col("Count", "integer", 1),
            Col("Name", "string", 1),
        ],
        ("", "persistentvolumeclaims") => vec![
            name,
            Col("Status", "string", 0),
            Col("Volume", "string", 0),
            Col("Capacity", "string", 0),
            Col("Access Modes", "string", 0),
            Col("StorageClass", "string", 0),
            Col("VolumeAttributesClass", "string", 0),
            age,
            Col("VolumeMode", "string", 1),
        ],
        ("", "configmaps") => vec![name, Col("Data", "integer", 0), age],
        ("", "serviceaccounts") => vec![name, Col("Secrets", "string", 0), age],
        ("", "endpoints") => vec![name, Col("Endpoints", "string", 0), age],
        ("", "persistentvolumes") => vec![
            name,
            Col("Capacity", "string", 0),
            Col("Access Modes", "string", 0),
            Col("Reclaim Policy", "string", 0),
            Col("Status", "string", 0),
            Col("Claim", "string", 0),
            Col("StorageClass", "string", 0),
            Col("VolumeAttributesClass", "string", 0),
            Col("Reason", "string", 0),
            age,
            Col("VolumeMode", "string", 1),
        ],
        ("storage.k8s.io", "storageclasses") => vec![
            name,
            Col("Provisioner", "string", 0),
            Col("ReclaimPolicy", "string", 0),
            Col("VolumeBindingMode", "string", 0),
            Col("AllowVolumeExpansion", "string", 0),
            age,
        ],
        ("policy", "poddisruptionbudgets") => vec![
            name,
            Col("Min Available", "string", 0),
            Col("Max Unavailable", "string", 0),
            Col("Allowed Disruptions", "integer", 0),
            age,
        ],
        ("apps", "replicasets") => vec![
            name,
            Col("Desired", "integer", 0),
            Col("Current", "integer", 0),
            Col("Ready", "integer", 0),
            age,
            Col("Containers", "string", 1),
            Col("Images", "string", 1),
            Col("Selector", "string", 1),
        ],
        ("apps", "daemonsets") => vec![
            name,
            Col("Desired", "integer", 0),
            Col("Current", "integer", 0),
            Col("Ready", "integer", 0),
            Col("Up-to-date", "integer", 0),
            Col("Available", "integer", 0),
            Col("Node Selector", "string", 0),
            age,
            Col("Containers", "string", 1),
            Col("Images", "string", 1),
            Col("Selector", "string", 1),
        ],
        ("", "secrets") => vec![
            name,
            Col("Type", "string", 0),
            Col("Data", "integer", 0),
            age,
        ],
        ("apps", "statefulsets") => vec![
            name,
            Col("Ready", "string", 0),
            age,
            Col("Containers", "string", 1),
            Col("Images", "string", 1),
        ],
        ("apps", "deployments") => vec![
            name,
            Col("Ready", "string", 0),
            Col("Up-to-date", "integer", 0),
            Col("Available", "integer", 0),
            age,
            Col("Containers", "string", 1),
            Col("Images", "string", 1),
            Col("Selector", "string", 1),
        ],
        (g, _) if is_custom(g) => {
            // Custom resources without printer columns, as the CRD handler prints them.
            vec![name, age]
        }
        _ => vec![name, Col("Created At", "date", 0)],
    }
}

/// Whether a group is a custom resource's (served by the CRD handler, which prints Name/Age),
/// not a built-in one (`*.k8s.io` and the core group, which print Name/Created At).
fn is_custom(group: &str) -> bool {
    group.contains('.') && !group.ends_with(".k8s.io")
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn or_none(x: &str) -> Value {
    if x.is_empty() {
        json!("<none>")
    } else {
        json!(x)
    }
}

fn age(o: &Value, now: DateTime<Utc>) -> Value {
    json!(since(s(&o["metadata"]["creationTimestamp"]), now))
}

/// `translateTimestampSince`: a human duration since an RFC 3339 time, `<unknown>` if none.
pub fn since(ts: &str, now: DateTime<Utc>) -> String {
    match DateTime::parse_from_rfc3339(ts) {
        Ok(t) => human_duration((now - t.with_timezone(&Utc)).num_seconds()),
        Err(_) => "<unknown>".into(),
    }
}

/// Kubernetes' `duration.HumanDuration`: `45s`, `5m3s`, `3h`, `2d4h`, `3y12d`.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    let secs = secs.max(0);
    let mins = secs / 60;
    let hours = mins / 60;
    let days = hours / 24;
    if secs < 120 {
        format!("{secs}s")
    } else if mins < 10 {
        if secs % 60 == 0 {
            format!("{mins}m")
        } else {
            format!("{mins}m{}s", secs % 60)
        }
    } else if mins < 180 {
        format!("{mins}m")
    } else if hours < 8 {
        if mins % 60 == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{}m", mins % 60)
        }
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        if hours % 24 == 0 {
            format!("{days}d")
        } else {
            format!("{days}d{}h", hours % 24)
        }
    } else if hours < 24 * 365 * 2 {
        format!("{days}d")
    } else if hours < 24 * 365 * 8 {
        let years = days / 365;
        if days % 365 == 0 {
            format!("{years}y")
        } else {
            format!("{years}y{}d", days % 365)
        }
    } else {
        format!("{}y", days / 365)
    }
}

fn arr(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

fn builtin_row(info: &ResourceInfo, o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let name = json!(s(&o["metadata"]["name"]));
    match (info.group.as_str(), info.plural.as_str()) {
        ("", "pods") => pod_row(o, now),
        ("", "nodes") => node_row(o, now),
        ("", "services") => service_row(o, now),
        ("", "namespaces") => vec![name, json!(s(&o["status"]["phase"])), age(o, now)],
        ("", "events") => event_row(o, now),
        ("", "persistentvolumeclaims") => pvc_row(o, now),
        ("", "configmaps") => {
            let n = o["data"].as_object().map_or(0, |m| m.len())
                + o["binaryData"].as_object().map_or(0, |m| m.len());
            vec![name, json!(n), age(o, now)]
        }
        ("", "serviceaccounts") => vec![
            name,
            json!(arr(&o["secrets"]).len().to_string()),
            age(o, now),
        ],
        ("", "endpoints") => vec![name, json!(endpoints_cell(o)), age(o, now)],
        ("", "persistentvolumes") => pv_row(o, now),
        ("storage.k8s.io", "storageclasses") => {
            let default = o["metadata"]["annotations"]
                ["storageclass.kubernetes.io/is-default-class"]
                == "true";
            let shown = if default {
                format!("{} (default)", s(&o["metadata"]["name"]))
            } else {
                s(&o["metadata"]["name"]).to_string()
            };
            vec![
                json!(shown),
                json!(s(&o["provisioner"])),
                json!(o["reclaimPolicy"].as_str().unwrap_or("Delete")),
                json!(o["volumeBindingMode"].as_str().unwrap_or("Immediate")),
                json!(o["allowVolumeExpansion"]
                    .as_bool()
                    .unwrap_or(false)
                    .to_string()),
                age(o, now),
            ]
        }
        ("policy", "poddisruptionbudgets") => {
            let int_or_str = |v: &Value| match v {
                Value::Null => "N/A".to_string(),
                Value::String(x) => x.clone(),
                other => other.to_string(),
            };
            vec![
                name,
                json!(int_or_str(&o["spec"]["minAvailable"])),
                json!(int_or_str(&o["spec"]["maxUnavailable"])),
                json!(o["status"]["disruptionsAllowed"].as_i64().unwrap_or(0)),
                age(o, now),
            ]
        }
        ("apps", "replicasets") => {
            let (c, i) = containers_images(o);
            vec![
                name,
                json!(o["spec"]["replicas"].as_i64().unwrap_or(1)),
                json!(o["status"]["replicas"].as_i64().unwrap_or(0)),
                json!(o["status"]["readyReplicas"].as_i64().unwrap_or(0)),
                age(o, now),
                json!(c),
                json!(i),
                json!(selector_string(&o["spec"]["selector"]["matchLabels"])),
            ]
        }
        ("apps", "daemonsets") => {
            let (c, i) = containers_images(o);
            let st = &o["status"];
            let n = |k: &str| json!(st[k].as_i64().unwrap_or(0));
            vec![
                name,
                n("desiredNumberScheduled"),
                n("currentNumberScheduled"),
                n("numberReady"),
                n("updatedNumberScheduled"),
                n("numberAvailable"),
                json!(selector_string(
                    &o["spec"]["template"]["spec"]["nodeSelector"]
                )),
                age(o, now),
                json!(c),
                json!(i),
                json!(selector_string(&o["spec"]["selector"]["matchLabels"])),
            ]
        }
        ("", "secrets") => {
            let n = o["data"].as_object().map_or(0, |m| m.len());
            let t = o["type"].as_str().unwrap_or("Opaque");
            vec![name, json!(t), json!(n), age(o, now)]
        }
        ("apps", "statefulsets") => {
            let (c, i) = containers_images(o);
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    o["status"]["readyReplicas"].as_i64().unwrap_or(0),
                    o["spec"]["replicas"].as_i64().unwrap_or(1)
                )),
                age(o, now),
                json!(c),
                json!(i),
            ]
        }
        ("apps", "deployments") => {
            let (c, i) = containers_images(o);
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    o["status"]["readyReplicas"].as_i64().unwrap_or(0),
                    o["spec"]["replicas"].as_i64().unwrap_or(1)
                )),
                json!(o["status"]["updatedReplicas"].as_i64().unwrap_or(0)),
                json!(o["status"]["availableReplicas"].as_i64().unwrap_or(0)),
                age(o, now),
                json!(c),
                json!(i),
                json!(selector_string(&o["spec"]["selector"]["matchLabels"])),
            ]
        }
        (g, _) if is_custom(g) => {
            vec![name, age(o, now)]
        }
        _ => vec![name, o["metadata"]["creationTimestamp"].clone()],
    }
}

/// `10.1.0.1:9042,10.1.0.2:9042 + 1 more...`, as the endpoints printer shortens them.
fn endpoints_cell(o: &Value) -> String {
    let mut all = Vec::new();
    for subset in arr(&o["subsets"]) {
        let ports = arr(&subset["ports"]);
        for a in arr(&subset["addresses"]) {
            let ip = s(&a["ip"]);
            if ports.is_empty() {
                all.push(ip.to_string());
            }
            for p in ports {
                all.push(format!("{ip}:{}", p["port"]));
            }
        }
    }
    match all.len() {
        0 => "<none>".into(),
        n if n <= 3 => all.join(","),
        n => format!("{} + {} more...", all[..3].join(","), n - 3),
    }
}

fn access_modes(v: &Value) -> String {
    arr(v)
        .iter()
        .map(|m| match s(m) {
            "ReadWriteOnce" => "RWO",
            "ReadOnlyMany" => "ROX",
            "ReadWriteMany" => "RWX",
            "ReadWriteOncePod" => "RWOP",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn pv_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let spec = &o["spec"];
    let claim = match spec["claimRef"].as_object() {
        Some(c) => format!(
            "{}/{}",
            c.get("namespace")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            c.get("name").and_then(Value::as_str).unwrap_or_default()
        ),
        None => String::new(),
    };
    let phase = if o["metadata"]["deletionTimestamp"].is_string() {
        "Terminating"
    } else {
        s(&o["status"]["phase"])
    };
    vec![
        json!(s(&o["metadata"]["name"])),
        json!(s(&spec["capacity"]["storage"])),
        json!(access_modes(&spec["accessModes"])),
        json!(spec["persistentVolumeReclaimPolicy"]
            .as_str()
            .unwrap_or("Retain")),
        json!(phase),
        json!(claim),
        json!(s(&spec["storageClassName"])),
        json!(spec["volumeAttributesClassName"]
            .as_str()
            .unwrap_or("<unset>")),
        json!(s(&o["status"]["reason"])),
        age(o, now),
        json!(spec["volumeMode"].as_str().unwrap_or("<unset>")),
    ]
}

fn containers_images(o: &Value) -> (String, String) {
    let cs = arr(&o["spec"]["template"]["spec"]["containers"]);
    let names: Vec<&str> = cs.iter().map(|c| s(&c["name"])).collect();
    let images: Vec<&str> = cs.iter().map(|c| s(&c["image"])).collect();
    (names.join(","), images.join(","))
}

fn selector_string(labels: &Value) -> String {
    match labels.as_object() {
        Some(m) if !m.is_empty() => {
            let mut kv: Vec<String> = m.iter().map(|(k, v)| format!("{k}={}", s(v))).collect();
            kv.sort();
            kv.join(",")
        }
        _ => "<none>".into(),
    }
}

/// The pod printer: READY, STATUS (waiting/terminated reasons, Init:, Terminating), RESTARTS
/// with the time of the last restart, as `kubectl get pods` shows them.
fn pod_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let spec = &o["spec"];
    let st = &o["status"];
    let total = arr(&spec["containers"]).len();
    let mut ready = 0;
    let mut restarts = 0i64;
    let mut last_restart: Option<String> = None;
    let mut note_restart = |c: &Value, restarts: &mut i64| {
        *restarts += c["restartCount"].as_i64().unwrap_or(0);
        if let Some(f) = c["lastState"]["terminated"]["finishedAt"].as_str() {
            if last_restart.as_deref().is_none_or(|l| f > l) {
                last_restart = Some(f.to_string());
            }
        }
    };
    let mut reason = s(&st["phase"]).to_string();
    if let Some(r) = st["reason"].as_str().filter(|r| !r.is_empty()) {
        reason = r.to_string();
    }
    let init_specs = arr(&spec["initContainers"]).len();
    let mut initializing = false;
    for (i, c) in arr(&st["initContainerStatuses"]).iter().enumerate() {
        note_restart(c, &mut restarts);
        let term = &c["state"]["terminated"];
        let wait = &c["state"]["waiting"];
        if term.is_object() && term["exitCode"].as_i64() == Some(0) {
            continue;
        }
        if term.is_object() {
            reason = match term["reason"].as_str().filter(|r| !r.is_empty()) {
                Some(r) => format!("Init:{r}"),
                None => match term["signal"].as_i64().filter(|x| *x != 0) {
                    Some(sig) => format!("Init:Signal:{sig}"),
                    None => format!("Init:ExitCode:{}", term["exitCode"].as_i64().unwrap_or(0)),
                },
            };
        } else if let Some(r) = wait["reason"]
            .as_str()
            .filter(|r| !r.is_empty() && *r != "PodInitializing")
        {
            reason = format!("Init:{r}");
        } else {
            reason = format!("Init:{i}/{init_specs}");
        }
        initializing = true;
        break;
    }
    if !initializing {
        restarts = 0;
        last_restart = None;
        let mut note_restart = |c: &Value, restarts: &mut i64| {
            *restarts += c["restartCount"].as_i64().unwrap_or(0);
            if let Some(f) = c["lastState"]["terminated"]["finishedAt"].as_str() {
                if last_restart.as_deref().is_none_or(|l| f > l) {
                    last_restart = Some(f.to_string());
                }
            }
        };
        let mut has_running = false;
        for c in arr(&st["containerStatuses"]).iter().rev() {
            note_restart(c, &mut restarts);
            let term = &c["state"]["terminated"];
            let wait = &c["state"]["waiting"];
            if let Some(r) = wait["reason"].as_str().filter(|r| !r.is_empty()) {
                reason = r.to_string();
            } else if let Some(r) = term["reason"].as_str().filter(|r| !r.is_empty()) {
                reason = r.to_string();
            } else if term.is_object() {
                reason = match term["signal"].as_i64().filter(|x| *x != 0) {
                    Some(sig) => format!("Signal:{sig}"),
                    None => format!("ExitCode:{}", term["exitCode"].as_i64().unwrap_or(0)),
                };
            } else if c["ready"] == json!(true) && c["state"]["running"].is_object() {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            let pod_ready = arr(&st["conditions"])
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            reason = if pod_ready { "Running" } else { "NotReady" }.into();
        }
    }
    if o["metadata"]["deletionTimestamp"].is_string() {
        reason = if st["reason"] == "NodeLost" {
            "Unknown".into()
        } else {
            "Terminating".into()
        };
    }
    let restarts_cell = match (&last_restart, restarts) {
        (Some(t), r) if r != 0 => format!("{r} ({} ago)", since(t, now)),
        _ => restarts.to_string(),
    };
    let gates = arr(&spec["readinessGates"]);
    let gates_cell = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let true_gates = gates
            .iter()
            .filter(|g| {
                arr(&st["conditions"])
                    .iter()
                    .any(|c| c["type"] == g["conditionType"] && c["status"] == "True")
            })
            .count();
        format!("{true_gates}/{}", gates.len())
    };
    vec![
        json!(s(&o["metadata"]["name"])),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts_cell),
        age(o, now),
        or_none(s(&st["podIP"])),
        or_none(s(&spec["nodeName"])),
        or_none(s(&st["nominatedNodeName"])),
        json!(gates_cell),
    ]
}

fn node_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let st = &o["status"];
    let mut status = match arr(&st["conditions"]).iter().find(|c| c["type"] == "Ready") {
        Some(c) if c["status"] == "True" => "Ready".to_string(),
        Some(c) if c["status"] == "False" => "NotReady".to_string(),
        _ => "Unknown".to_string(),
    };
    if o["spec"]["unschedulable"] == json!(true) {
        status.push_str(",SchedulingDisabled");
    }
    let mut roles: Vec<String> = o["metadata"]["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| {
            if let Some(r) = k.strip_prefix("node-role.kubernetes.io/") {
                Some(r.to_string())
            } else if k == "kubernetes.io/role" {
                Some(s(v).to_string())
            } else {
                None
            }
        })
        .filter(|r| !r.is_empty())
        .collect();
    roles.sort();
    roles.dedup();
    let addr = |t: &str| {
        arr(&st["addresses"])
            .iter()
            .find(|a| a["type"] == t)
            .map(|a| s(&a["address"]).to_string())
            .unwrap_or_default()
    };
    let info = &st["nodeInfo"];
    vec![
        json!(s(&o["metadata"]["name"])),
        json!(status),
        or_none(&roles.join(",")),
        age(o, now),
        json!(s(&info["kubeletVersion"])),
        or_none(&addr("InternalIP")),
        or_none(&addr("ExternalIP")),
        or_none(s(&info["osImage"])),
        or_none(s(&info["kernelVersion"])),
        or_none(s(&info["containerRuntimeVersion"])),
    ]
}

fn service_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let spec = &o["spec"];
    let typ = spec["type"].as_str().unwrap_or("ClusterIP");
    let cluster_ip = or_none(s(&spec["clusterIP"]));
    let mut external: Vec<String> = arr(&spec["externalIPs"])
        .iter()
        .map(|x| s(x).to_string())
        .collect();
    let external_cell = match typ {
        "ExternalName" => s(&spec["externalName"]).to_string(),
        "LoadBalancer" => {
            external.extend(
                arr(&o["status"]["loadBalancer"]["ingress"])
                    .iter()
                    .map(|i| {
                        i["ip"]
                            .as_str()
                            .or(i["hostname"].as_str())
                            .unwrap_or_default()
                            .to_string()
                    }),
            );
            if external.is_empty() {
                "<pending>".into()
            } else {
                external.join(",")
            }
        }
        _ => {
            if external.is_empty() {
                "<none>".into()
            } else {
                external.join(",")
            }
        }
    };
    let ports: Vec<String> = arr(&spec["ports"])
        .iter()
        .map(|p| {
            let proto = p["protocol"].as_str().unwrap_or("TCP");
            match p["nodePort"].as_i64() {
                Some(np) if np != 0 => format!("{}:{np}/{proto}", p["port"]),
                _ => format!("{}/{proto}", p["port"]),
            }
        })
        .collect();
    vec![
        json!(s(&o["metadata"]["name"])),
        json!(typ),
        cluster_ip,
        json!(external_cell),
        or_none(&ports.join(",")),
        age(o, now),
        json!(selector_string(&spec["selector"])),
    ]
}

fn event_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let first_ts = s(&o["firstTimestamp"]);
    let first_ts = if first_ts.is_empty() {
        s(&o["eventTime"])
    } else {
        first_ts
    };
    let last_ts = s(&o["lastTimestamp"]);
    let mut last_ts = if last_ts.is_empty() {
        first_ts
    } else {
        last_ts
    };
    let mut count = o["count"].as_i64().unwrap_or(1);
    if let Some(series) = o["series"].as_object() {
        if let Some(t) = series.get("lastObservedTime").and_then(Value::as_str) {
            last_ts = t;
        }
        count = series.get("count").and_then(Value::as_i64).unwrap_or(count);
    }
    let io = &o["involvedObject"];
    let target = format!("{}/{}", s(&io["kind"]).to_lowercase(), s(&io["name"]));
    let src = &o["source"];
    let source = match (s(&src["component"]), s(&src["host"])) {
        ("", _) => s(&o["reportingComponent"]).to_string(),
        (c, "") => c.to_string(),
        (c, h) => format!("{c}, {h}"),
    };
    vec![
        json!(since(last_ts, now)),
        json!(s(&o["type"])),
        json!(s(&o["reason"])),
        json!(target),
        json!(s(&io["fieldPath"])),
        json!(source),
        json!(s(&o["message"]).trim()),
        json!(since(first_ts, now)),
        json!(count),
        json!(s(&o["metadata"]["name"])),
    ]
}

fn pvc_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let spec = &o["spec"];
    let st = &o["status"];
    let phase = if o["metadata"]["deletionTimestamp"].is_string() {
        "Terminating"
    } else {
        s(&st["phase"])
    };
    let bound = phase == "Bound";
    let modes = access_modes(&st["accessModes"]);
    let class = spec["storageClassName"].as_str().unwrap_or_else(|| {
        s(&o["metadata"]["annotations"]["volume.beta.kubernetes.io/storage-class"])
    });
    vec![
        json!(s(&o["metadata"]["name"])),
        json!(phase),
        json!(s(&spec["volumeName"])),
        json!(if bound {
            s(&st["capacity"]["storage"])
        } else {
            ""
        }),
        json!(if bound { modes } else { String::new() }),
        json!(class),
        json!(spec["volumeAttributesClassName"]
            .as_str()
            .unwrap_or("<unset>")),
        age(o, now),
        json!(spec["volumeMode"].as_str().unwrap_or("<unset>")),
    ]
}

/// Columns of a CRD version's `additionalPrinterColumns`, after Name.
fn crd_columns(
    info: &ResourceInfo,
    objects: &[&Value],
    now: DateTime<Utc>,
) -> (Vec<Value>, Vec<Vec<Value>>) {
    let mut cols = vec![col_def("Name", "string", 0, true)];
    for c in &info.printer_columns {
        cols.push(json!({
            "name": s(&c["name"]),
            "type": c["type"].as_str().unwrap_or("string"),
            "format": s(&c["format"]),
            "description": s(&c["description"]),
            "priority": c["priority"].as_i64().unwrap_or(0),
        }));
    }
    let rows = objects
        .iter()
        .map(|o| {
            let mut cells = vec![json!(s(&o["metadata"]["name"]))];
            for c in &info.printer_columns {
                let v = json_path(o, s(&c["jsonPath"]));
                cells.push(match (c["type"].as_str(), v) {
                    (Some("date"), Some(Value::String(t))) => json!(since(&t, now)),
                    (_, Some(v)) => v,
                    (_, None) => Value::Null,
                });
            }
            cells
        })
        .collect();
    (cols, rows)
}

/// A simple JSONPath as CRDs use it: `.status.phase`, `.spec.items[0].name`.
fn json_path(o: &Value, path: &str) -> Option<Value> {
    let path = path.trim().trim_start_matches('{').trim_end_matches('}');
    let mut cur = o;
    for part in path.trim_start_matches('.').split('.') {
        if part.is_empty() {
            continue;
        }
        let (key, idx) = match part.split_once('[') {
            Some((k, rest)) => (k, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        if !key.is_empty() {
            cur = cur.get(key)?;
        }
        if let Some(i) = idx {
            cur = cur.get(i)?;
        }
    }
    Some(cur.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T01:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn human_durations_match_kubernetes() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(119), "119s");
        assert_eq!(human_duration(303), "5m3s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 60), "3h1m");
        assert_eq!(human_duration(30 * 3600), "30h");
        assert_eq!(human_duration(3 * 86400 + 3600), "3d1h");
        assert_eq!(human_duration(100 * 86400), "100d");
    }

    #[test]
    fn pod_row_shows_crashloop_and_restarts_with_last_time() {
        let pod = json!({
            "metadata": {"name": "c-1", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "n1"},
            "status": {"phase": "Running", "podIP": "10.0.0.5", "containerStatuses": [
                {"name": "a", "ready": true, "restartCount": 0, "state": {"running": {}}},
                {"name": "b", "ready": false, "restartCount": 4,
                 "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                 "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                                              "finishedAt": "2026-01-01T00:55:00Z"}}}
            ]}
        });
        let row = pod_row(&pod, now());
        assert_eq!(row[1], "1/2");
        assert_eq!(row[2], "CrashLoopBackOff");
        assert_eq!(row[3], "4 (5m ago)");
        assert_eq!(row[4], "60m");
        assert_eq!(row[5], "10.0.0.5");
        assert_eq!(row[6], "n1");
        assert_eq!(row[7], "<none>");
    }

    #[test]
    fn pod_status_covers_init_terminating_and_exit_codes() {
        let init = json!({
            "metadata": {"name": "p"},
            "spec": {"initContainers": [{"name": "i1"}, {"name": "i2"}], "containers": [{"name": "c"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [
                {"name": "i1", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                {"name": "i2", "state": {"running": {}}}
            ]}
        });
        assert_eq!(pod_row(&init, now())[2], "Init:1/2");
        let failed_init = json!({
            "metadata": {"name": "p"},
            "spec": {"initContainers": [{"name": "i1"}], "containers": [{"name": "c"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [
                {"name": "i1", "restartCount": 2, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
            ]}
        });
        assert_eq!(pod_row(&failed_init, now())[2], "Init:CrashLoopBackOff");
        let exited = json!({
            "metadata": {"name": "p", "deletionTimestamp": "2026-01-01T00:59:00Z"},
            "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "c", "state": {"terminated": {"exitCode": 2}}}
            ]}
        });
        assert_eq!(pod_row(&exited, now())[2], "Terminating");
        let mut exited = exited;
        exited["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("deletionTimestamp");
        assert_eq!(pod_row(&exited, now())[2], "ExitCode:2");
        let evicted = json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Failed", "reason": "Evicted"}
        });
        assert_eq!(pod_row(&evicted, now())[2], "Evicted");
        assert_eq!(pod_row(&evicted, now())[1], "0/1");
    }

    #[test]
    fn crd_printer_columns_follow_json_paths() {
        let info = ResourceInfo {
            group: "example.com".into(),
            version: "v1".into(),
            kind: "W".into(),
            plural: "ws".into(),
            singular: "w".into(),
            short_names: vec![],
            namespaced: true,
            verbs: vec![],
            categories: vec![],
            printer_columns: vec![
                json!({"name": "Phase", "type": "string", "jsonPath": ".status.phase"}),
                json!({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}),
            ],
        };
        let o = json!({"metadata": {"name": "w1", "creationTimestamp": "2026-01-01T00:00:00Z"},
                       "status": {"phase": "Ok"}});
        let t = table(&info, &[&o], json!({}), IncludeObject::Metadata, now());
        assert_eq!(t["rows"][0]["cells"], json!(["w1", "Ok", "60m"]));
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(t["columnDefinitions"][1]["name"], "Phase");
    }
}
