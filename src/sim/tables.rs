//! The Table form (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`) that `kubectl get`
//! asks for: the columns and cell values a real API server prints for pods, nodes, services,
//! statefulsets, deployments, events, namespaces, PVCs and a few more (further kinds in
//! `printers` and `node_printers`), a CRD's `additionalPrinterColumns`, and Name/Age
//! (Name/Created At for built-ins) otherwise. Every built-in column carries the description the
//! server sends: ObjectMeta's field documentation for Name and Age, the sentence or the field
//! documentation printers.go names for the others (`printers::COLUMN_DOCS`).

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::resources::ResourceInfo;
use crate::jsonpath::{go_text, Template};

/// A column: name as the server spells it (kubectl upper-cases it), type, priority (1 = wide).
pub struct Col(pub &'static str, pub &'static str, pub u8);

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

/// Builds a `meta.k8s.io/v1` Table of `objects`, `list_meta` being the list's metadata, as
/// a server of the default minor prints it.
pub fn table(
    info: &ResourceInfo,
    objects: &[&Value],
    list_meta: Value,
    include: IncludeObject,
    now: DateTime<Utc>,
) -> Value {
    table_for(info, 32, objects, list_meta, include, now)
}

/// Builds the Table a server of `minor` prints: columns a later release added are left out.
pub fn table_for(
    info: &ResourceInfo,
    minor: u32,
    objects: &[&Value],
    list_meta: Value,
    include: IncludeObject,
    now: DateTime<Utc>,
) -> Value {
    let mut objects = objects.to_vec();
    if let Some(order) = super::cluster_printers::row_order(&info.group, &info.plural) {
        objects.sort_by(|a, b| order(a, b));
    }
    let objects = objects.as_slice();
    let (cols, cells): (Vec<Value>, Vec<Vec<Value>>) = if !info.printer_columns.is_empty() {
        crd_columns(info, objects, now)
    } else {
        let printer = printer(info);
        let keep: Vec<bool> = printer
            .columns
            .iter()
            .map(|c| super::printers::column_since(&info.group, &info.plural, c.0) <= minor)
            .collect();
        let minor_row = super::printers::minor_row(&info.group, &info.plural);
        let rows = objects
            .iter()
            .map(|o| {
                minor_row
                    .map_or_else(|| (printer.row)(o, now), |row| row(o, now, minor))
                    .into_iter()
                    // A cell beyond the columns (an IPAddress's age) is sent as printers.go
                    // sends it.
                    .zip(keep.iter().chain(std::iter::repeat(&true)))
                    .filter_map(|(cell, k)| k.then_some(cell))
                    .collect()
            })
            .collect();
        (
            printer
                .columns
                .iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(c, _)| {
                    let mut def = col_def(c.0, c.1, c.2, c.0 == "Name");
                    // printers.go formats a VolumeAttachment's attacher as a name too.
                    if info.plural == "volumeattachments" && c.0 == "Attacher" {
                        def["format"] = json!("name");
                    }
                    let doc =
                        super::printers::column_description(&info.group, &info.plural, c.0, minor);
                    if !doc.is_empty() {
                        def["description"] = json!(doc);
                    }
                    def
                })
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

/// What the API server's printers describe the Name column with: ObjectMeta's `name` field
/// documentation (`metav1.ObjectMeta{}.SwaggerDoc()["name"]`).
const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";

/// What they describe Age (and the default table's Created At) with: ObjectMeta's
/// `creationTimestamp` documentation.
const CREATED_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

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
        c["description"] = json!(NAME_DESCRIPTION);
    } else if name == "Age" || name == "Created At" {
        c["description"] = json!(CREATED_DESCRIPTION);
    }
    c
}

/// How the server prints one built-in resource: its columns and the function that fills a row.
/// One entry per resource keeps the columns and their cells side by side.
struct Printer {
    columns: &'static [Col],
    row: RowFn,
}

/// Fills one row's cells from an object (and the time ages are counted to).
pub(super) type RowFn = fn(&Value, DateTime<Utc>) -> Vec<Value>;

// The columns many kinds share, as the API server's printers name them (`printers` uses them
// too).
pub(super) const NAME: Col = Col("Name", "string", 0);
pub(super) const AGE: Col = Col("Age", "string", 0);
pub(super) const CONTAINERS: Col = Col("Containers", "string", 1);
pub(super) const IMAGES: Col = Col("Images", "string", 1);
pub(super) const SELECTOR: Col = Col("Selector", "string", 1);

fn printer(info: &ResourceInfo) -> Printer {
    let (group, plural) = (info.group.as_str(), info.plural.as_str());
    let (columns, row) = super::printers::printer(group, plural)
        .or_else(|| super::node_printers::printer(group, plural))
        .or_else(|| super::cluster_printers::printer(group, plural))
        .or_else(|| core_printer(group, plural))
        .or_else(|| apps_printer(group, plural))
        .unwrap_or_else(|| fallback_printer(group));
    Printer { columns, row }
}

/// Printers of the core group.
fn core_printer(group: &str, plural: &str) -> Option<(&'static [Col], RowFn)> {
    let p: (&'static [Col], RowFn) = match (group, plural) {
        ("", "pods") => (
            &[
                NAME,
                Col("Ready", "string", 0),
                Col("Status", "string", 0),
                Col("Restarts", "string", 0),
                AGE,
                Col("IP", "string", 1),
                Col("Node", "string", 1),
                Col("Nominated Node", "string", 1),
                Col("Readiness Gates", "string", 1),
            ],
            pod_row,
        ),
        ("", "nodes") => (
            &[
                NAME,
                Col("Status", "string", 0),
                Col("Roles", "string", 0),
                AGE,
                Col("Version", "string", 0),
                Col("Internal-IP", "string", 1),
                Col("External-IP", "string", 1),
                Col("OS-Image", "string", 1),
                Col("Kernel-Version", "string", 1),
                Col("Container-Runtime", "string", 1),
            ],
            node_row,
        ),
        ("", "services") => (
            &[
                NAME,
                Col("Type", "string", 0),
                Col("Cluster-IP", "string", 0),
                Col("External-IP", "string", 0),
                Col("Port(s)", "string", 0),
                AGE,
                SELECTOR,
            ],
            service_row,
        ),
        ("", "namespaces") => (&[NAME, Col("Status", "string", 0), AGE], namespace_row),
        ("", "events") => (
            &[
                Col("Last Seen", "string", 0),
                Col("Type", "string", 0),
                Col("Reason", "string", 0),
                Col("Object", "string", 0),
                Col("Subobject", "string", 1),
                Col("Source", "string", 1),
                Col("Message", "string", 0),
                Col("First Seen", "string", 1),
                Col("Count", "string", 1),
                Col("Name", "string", 1),
            ],
            event_row,
        ),
        ("", "persistentvolumeclaims") => (
            &[
                NAME,
                Col("Status", "string", 0),
                Col("Volume", "string", 0),
                Col("Capacity", "string", 0),
                Col("Access Modes", "string", 0),
                Col("StorageClass", "string", 0),
                Col("VolumeAttributesClass", "string", 0),
                AGE,
                Col("VolumeMode", "string", 1),
            ],
            pvc_row,
        ),
        // printers.go declares Data a string column; its cell is the count.
        ("", "configmaps") => (&[NAME, Col("Data", "string", 0), AGE], configmap_row),
        ("", "serviceaccounts") => (
            &[NAME, Col("Secrets", "string", 0), AGE],
            serviceaccount_row,
        ),
        ("", "endpoints") => (&[NAME, Col("Endpoints", "string", 0), AGE], endpoints_row),
        ("", "persistentvolumes") => (
            &[
                NAME,
                Col("Capacity", "string", 0),
                Col("Access Modes", "string", 0),
                Col("Reclaim Policy", "string", 0),
                Col("Status", "string", 0),
                Col("Claim", "string", 0),
                Col("StorageClass", "string", 0),
                Col("VolumeAttributesClass", "string", 0),
                Col("Reason", "string", 0),
                AGE,
                Col("VolumeMode", "string", 1),
            ],
            pv_row,
        ),
        ("", "secrets") => (
            &[
                NAME,
                Col("Type", "string", 0),
                Col("Data", "string", 0),
                AGE,
            ],
            secret_row,
        ),
        _ => return None,
    };
    Some(p)
}

/// Printers of the apps, storage and policy groups.
fn apps_printer(group: &str, plural: &str) -> Option<(&'static [Col], RowFn)> {
    let p: (&'static [Col], RowFn) = match (group, plural) {
        ("storage.k8s.io", "storageclasses") => (
            &[
                NAME,
                Col("Provisioner", "string", 0),
                Col("ReclaimPolicy", "string", 0),
                Col("VolumeBindingMode", "string", 0),
                Col("AllowVolumeExpansion", "string", 0),
                AGE,
            ],
            storageclass_row,
        ),
        ("policy", "poddisruptionbudgets") => (
            &[
                NAME,
                Col("Min Available", "string", 0),
                Col("Max Unavailable", "string", 0),
                Col("Allowed Disruptions", "integer", 0),
                AGE,
            ],
            pdb_row,
        ),
        ("apps", "replicasets") => (
            &[
                NAME,
                Col("Desired", "integer", 0),
                Col("Current", "integer", 0),
                Col("Ready", "integer", 0),
                AGE,
                CONTAINERS,
                IMAGES,
                SELECTOR,
            ],
            replicaset_row,
        ),
        ("apps", "daemonsets") => (
            &[
                NAME,
                Col("Desired", "integer", 0),
                Col("Current", "integer", 0),
                Col("Ready", "integer", 0),
                Col("Up-to-date", "integer", 0),
                Col("Available", "integer", 0),
                Col("Node Selector", "string", 0),
                AGE,
                CONTAINERS,
                IMAGES,
                SELECTOR,
            ],
            daemonset_row,
        ),
        ("apps", "statefulsets") => (
            &[NAME, Col("Ready", "string", 0), AGE, CONTAINERS, IMAGES],
            statefulset_row,
        ),
        ("apps", "deployments") => (
            &[
                NAME,
                Col("Ready", "string", 0),
                Col("Up-to-date", "string", 0),
                Col("Available", "string", 0),
                AGE,
                CONTAINERS,
                IMAGES,
                SELECTOR,
            ],
            deployment_row,
        ),
        _ => return None,
    };
    Some(p)
}

/// Kinds without a printer: custom resources print Name/Age (the CRD handler's default),
/// built-ins Name/Created At (the API server's default table convertor).
fn fallback_printer(group: &str) -> (&'static [Col], RowFn) {
    if is_custom(group) {
        (&[NAME, AGE], name_age_row)
    } else {
        (&[NAME, Col("Created At", "date", 0)], name_created_row)
    }
}

/// Whether a group is a custom resource's (served by the CRD handler, which prints Name/Age),
/// not a built-in one (`*.k8s.io` and the core group, which print Name/Created At).
fn is_custom(group: &str) -> bool {
    group.contains('.') && !group.ends_with(".k8s.io")
}

pub(super) fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn or_none(x: &str) -> Value {
    if x.is_empty() {
        json!("<none>")
    } else {
        json!(x)
    }
}

pub(super) fn age(o: &Value, now: DateTime<Utc>) -> Value {
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

pub(super) fn arr(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

pub(super) fn name_cell(o: &Value) -> Value {
    json!(s(&o["metadata"]["name"]))
}

fn name_age_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![name_cell(o), age(o, now)]
}

fn name_created_row(o: &Value, _now: DateTime<Utc>) -> Vec<Value> {
    vec![name_cell(o), o["metadata"]["creationTimestamp"].clone()]
}

fn namespace_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![name_cell(o), json!(s(&o["status"]["phase"])), age(o, now)]
}

fn configmap_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let n = o["data"].as_object().map_or(0, |m| m.len())
        + o["binaryData"].as_object().map_or(0, |m| m.len());
    vec![name_cell(o), json!(n), age(o, now)]
}

fn serviceaccount_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let secrets = arr(&o["secrets"]).len().to_string();
    vec![name_cell(o), json!(secrets), age(o, now)]
}

fn endpoints_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![name_cell(o), json!(endpoints_cell(o)), age(o, now)]
}

fn secret_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let n = o["data"].as_object().map_or(0, |m| m.len());
    let t = o["type"].as_str().unwrap_or("Opaque");
    vec![name_cell(o), json!(t), json!(n), age(o, now)]
}

fn storageclass_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let default =
        o["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true";
    let name = s(&o["metadata"]["name"]);
    let shown = if default {
        format!("{name} (default)")
    } else {
        name.to_string()
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

fn pdb_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let int_or_str = |v: &Value| match v {
        Value::Null => "N/A".to_string(),
        Value::String(x) => x.clone(),
        other => other.to_string(),
    };
    vec![
        name_cell(o),
        json!(int_or_str(&o["spec"]["minAvailable"])),
        json!(int_or_str(&o["spec"]["maxUnavailable"])),
        json!(o["status"]["disruptionsAllowed"].as_i64().unwrap_or(0)),
        age(o, now),
    ]
}

/// A status or spec count, 0 (or `default`) when absent, as the printers show it.
fn count(v: &Value, default: i64) -> Value {
    json!(v.as_i64().unwrap_or(default))
}

/// READY of statefulsets and deployments: `ready/desired`.
fn ready_of_desired(o: &Value) -> Value {
    json!(format!(
        "{}/{}",
        o["status"]["readyReplicas"].as_i64().unwrap_or(0),
        o["spec"]["replicas"].as_i64().unwrap_or(1)
    ))
}

fn replicaset_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (c, i) = containers_images(o);
    vec![
        name_cell(o),
        count(&o["spec"]["replicas"], 1),
        count(&o["status"]["replicas"], 0),
        count(&o["status"]["readyReplicas"], 0),
        age(o, now),
        json!(c),
        json!(i),
        json!(selector_string(&o["spec"]["selector"]["matchLabels"])),
    ]
}

fn daemonset_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (c, i) = containers_images(o);
    let st = &o["status"];
    vec![
        name_cell(o),
        count(&st["desiredNumberScheduled"], 0),
        count(&st["currentNumberScheduled"], 0),
        count(&st["numberReady"], 0),
        count(&st["updatedNumberScheduled"], 0),
        count(&st["numberAvailable"], 0),
        json!(selector_string(
            &o["spec"]["template"]["spec"]["nodeSelector"]
        )),
        age(o, now),
        json!(c),
        json!(i),
        json!(selector_string(&o["spec"]["selector"]["matchLabels"])),
    ]
}

fn statefulset_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (c, i) = containers_images(o);
    vec![
        name_cell(o),
        ready_of_desired(o),
        age(o, now),
        json!(c),
        json!(i),
    ]
}

fn deployment_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (c, i) = containers_images(o);
    vec![
        name_cell(o),
        ready_of_desired(o),
        count(&o["status"]["updatedReplicas"], 0),
        count(&o["status"]["availableReplicas"], 0),
        age(o, now),
        json!(c),
        json!(i),
        json!(selector_string(&o["spec"]["selector"]["matchLabels"])),
    ]
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
        name_cell(o),
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
    containers_images_of(&o["spec"]["template"])
}

/// Container names and images of a pod template, comma-joined.
pub(super) fn containers_images_of(template: &Value) -> (String, String) {
    let cs = arr(&template["spec"]["containers"]);
    let names: Vec<&str> = cs.iter().map(|c| s(&c["name"])).collect();
    let images: Vec<&str> = cs.iter().map(|c| s(&c["image"])).collect();
    (names.join(","), images.join(","))
}

pub(super) fn selector_string(labels: &Value) -> String {
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
    vec![
        name_cell(o),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts_cell),
        age(o, now),
        or_none(s(&st["podIP"])),
        or_none(s(&spec["nodeName"])),
        or_none(s(&st["nominatedNodeName"])),
        json!(readiness_gates(o)),
    ]
}

/// `true/total` readiness gates, `<none>` without any.
fn readiness_gates(o: &Value) -> String {
    let gates = arr(&o["spec"]["readinessGates"]);
    if gates.is_empty() {
        return "<none>".to_string();
    }
    let true_gates = gates
        .iter()
        .filter(|g| {
            arr(&o["status"]["conditions"])
                .iter()
                .any(|c| c["type"] == g["conditionType"] && c["status"] == "True")
        })
        .count();
    format!("{true_gates}/{}", gates.len())
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
        name_cell(o),
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
        name_cell(o),
        json!(typ),
        cluster_ip,
        json!(external_cell),
        or_none(&ports.join(",")),
        age(o, now),
        json!(selector_string(&spec["selector"])),
    ]
}

fn event_row<'a>(o: &'a Value, now: DateTime<Utc>) -> Vec<Value> {
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
    // `formatEventSource`: source.component or reportingComponent, then source.host or
    // reportingInstance after a comma when there is one.
    let first = |a: &'a str, b: &'a str| if a.is_empty() { b } else { a };
    let component = first(s(&src["component"]), s(&o["reportingComponent"]));
    let instance = first(s(&src["host"]), s(&o["reportingInstance"]));
    let source = if instance.is_empty() {
        component.to_string()
    } else {
        format!("{component}, {instance}")
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
        name_cell(o),
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
        name_cell(o),
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

/// Columns of a CRD version's `additionalPrinterColumns`, after Name, filled as the
/// apiextensions-apiserver's table convertor does (`tableconvertor.New`, `cellForJSONValue`):
/// the path is wrapped in braces and evaluated with missing keys allowed; no result is a null
/// cell; a `string` column prints the first result as the JSONPath printer does (a map as
/// `map[k:v]`); other types take the first result when it has that JSON type, else null;
/// `date` is the age of an RFC 3339 time (`<invalid>` when it is not one).
fn crd_columns(
    info: &ResourceInfo,
    objects: &[&Value],
    now: DateTime<Utc>,
) -> (Vec<Value>, Vec<Vec<Value>>) {
    let mut cols = vec![col_def("Name", "string", 0, true)];
    let mut paths = Vec::new();
    for c in &info.printer_columns {
        cols.push(json!({
            "name": s(&c["name"]),
            "type": c["type"].as_str().unwrap_or("string"),
            "format": s(&c["format"]),
            "description": s(&c["description"]),
            "priority": c["priority"].as_i64().unwrap_or(0),
        }));
        // A column the API server could not compile would have been refused with its CRD.
        paths.push(Template::parse(s(&c["jsonPath"])).ok());
    }
    let rows = objects
        .iter()
        .map(|o| {
            let mut cells = vec![name_cell(o)];
            for (c, path) in info.printer_columns.iter().zip(&paths) {
                let v = path.as_ref().and_then(|p| p.first(o));
                cells.push(cell_for_json_value(s(&c["type"]), v, now));
            }
            cells
        })
        .collect();
    (cols, rows)
}

fn cell_for_json_value(typ: &str, v: Option<Value>, now: DateTime<Utc>) -> Value {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Value::Null;
    };
    match (typ, &v) {
        ("string" | "", _) => json!(go_text(&v)),
        ("integer", Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map_or(Value::Null, |i| json!(i)),
        ("number", Value::Number(n)) => n.as_f64().map_or(Value::Null, |f| json!(f)),
        ("boolean", Value::Bool(_)) => v,
        ("date", Value::String(t)) => match DateTime::parse_from_rfc3339(t) {
            Ok(_) => json!(since(t, now)),
            Err(_) => json!("<invalid>"),
        },
        _ => Value::Null,
    }
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

    fn info(group: &str, plural: &str) -> ResourceInfo {
        ResourceInfo {
            group: group.into(),
            version: "v1".into(),
            kind: "K".into(),
            plural: plural.into(),
            singular: plural.trim_end_matches('s').into(),
            short_names: vec![],
            namespaced: true,
            verbs: vec![],
            categories: vec![],
            printer_columns: vec![],
        }
    }

    #[test]
    fn every_printer_fills_one_cell_per_column() {
        // An empty object and a filled one: rows must line up with their columns either way,
        // or kubectl prints cells under the wrong headers.
        let filled = json!({
            "metadata": {"name": "x", "creationTimestamp": "2026-01-01T00:00:00Z",
                         "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "spec": {"replicas": 3, "containers": [{"name": "c"}], "ports": [{"port": 80}],
                     "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
            "status": {"phase": "Running", "readyReplicas": 2},
            "data": {"k": "v"}, "secrets": [{}], "subsets": [], "involvedObject": {"kind": "Pod"}
        });
        let kinds = [
            ("", "pods", 9),
            ("", "nodes", 10),
            ("", "services", 7),
            ("", "namespaces", 3),
            ("", "events", 10),
            ("", "persistentvolumeclaims", 9),
            ("", "configmaps", 3),
            ("", "serviceaccounts", 3),
            ("", "endpoints", 3),
            ("", "persistentvolumes", 11),
            ("", "secrets", 4),
            ("storage.k8s.io", "storageclasses", 6),
            ("policy", "poddisruptionbudgets", 5),
            ("apps", "replicasets", 8),
            ("apps", "daemonsets", 11),
            ("apps", "statefulsets", 5),
            ("apps", "deployments", 8),
            ("kudo.dev", "operators", 2),
            ("rbac.authorization.k8s.io", "roles", 2),
        ];
        for (group, plural, n) in kinds {
            let info = info(group, plural);
            for o in [json!({}), filled.clone()] {
                let t = table(&info, &[&o], json!({}), IncludeObject::None, now());
                let cols = t["columnDefinitions"].as_array().unwrap().len();
                let cells = t["rows"][0]["cells"].as_array().unwrap().len();
                assert_eq!((cols, cells), (n, n), "{group}/{plural}");
            }
        }
        let sts = table(
            &info("apps", "statefulsets"),
            &[&filled],
            json!({}),
            IncludeObject::None,
            now(),
        );
        assert_eq!(
            sts["rows"][0]["cells"],
            json!(["x", "2/3", "60m", "c", "i"])
        );
        let sc = table(
            &info("storage.k8s.io", "storageclasses"),
            &[&filled],
            json!({}),
            IncludeObject::None,
            now(),
        );
        assert_eq!(sc["rows"][0]["cells"][0], "x (default)");
        let role = table(
            &info("rbac.authorization.k8s.io", "roles"),
            &[&filled],
            json!({}),
            IncludeObject::None,
            now(),
        );
        assert_eq!(role["columnDefinitions"][1]["name"], "Created At");
        // Name and Age (Created At) carry ObjectMeta's field documentation, as the server's
        // printers describe them.
        let cols = &sts["columnDefinitions"];
        assert!(cols[0]["description"]
            .as_str()
            .unwrap()
            .starts_with("Name must be unique within a namespace. Is required"));
        assert!(cols[2]["description"]
            .as_str()
            .unwrap()
            .starts_with("CreationTimestamp is a timestamp"));
        assert!(role["columnDefinitions"][1]["description"]
            .as_str()
            .unwrap()
            .contains("\n\nPopulated by the system."));
        assert_eq!(
            role["rows"][0]["cells"],
            json!(["x", "2026-01-01T00:00:00Z"])
        );
    }

    #[test]
    fn columns_follow_the_server_minor() {
        let pvc = json!({"metadata": {"name": "data"}, "spec": {}, "status": {"phase": "Bound"}});
        let names = |minor| -> Vec<String> {
            let t = table_for(
                &info("", "persistentvolumeclaims"),
                minor,
                &[&pvc],
                json!({}),
                IncludeObject::None,
                now(),
            );
            assert_eq!(
                t["rows"][0]["cells"].as_array().unwrap().len(),
                t["columnDefinitions"].as_array().unwrap().len()
            );
            t["columnDefinitions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_string())
                .collect()
        };
        assert!(!names(24).contains(&"VolumeAttributesClass".to_string()));
        assert!(names(29).contains(&"VolumeAttributesClass".to_string()));
        let cm = table(
            &info("", "configmaps"),
            &[],
            json!({}),
            IncludeObject::None,
            now(),
        );
        assert_eq!(cm["columnDefinitions"][1]["type"], "string");
    }

    #[test]
    fn event_source_falls_back_to_the_reporting_controller_and_instance() {
        let ev = json!({"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p"},
            "reportingComponent": "kubelet", "reportingInstance": "node-1", "source": {}});
        let t = table(
            &info("", "events"),
            &[&ev],
            json!({}),
            IncludeObject::None,
            now(),
        );
        assert_eq!(t["rows"][0]["cells"][5], "kubelet, node-1");
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

    /// Regression: the hand-written path subset dropped `['key']` steps, so Longhorn's health
    /// columns printed the whole conditions map.
    #[test]
    fn crd_columns_read_bracket_keys_and_type_their_cells() {
        let mut info = info("longhorn.io", "volumes");
        info.printer_columns = vec![
            json!({"name": "Scheduled", "type": "string", "jsonPath": ".status.conditions['scheduled']['status']"}),
            json!({"name": "Size", "type": "integer", "jsonPath": ".spec.replicas"}),
            json!({"name": "Ready", "type": "boolean", "jsonPath": ".status.ready"}),
            json!({"name": "Ready2", "type": "integer", "jsonPath": ".status.ready"}),
            json!({"name": "Conditions", "type": "string", "jsonPath": ".status.conditions.restore"}),
            json!({"name": "Missing", "type": "string", "jsonPath": ".status.nope"}),
            json!({"name": "When", "type": "date", "jsonPath": ".status.when"}),
        ];
        let o = json!({"metadata": {"name": "v"}, "spec": {"replicas": 3},
            "status": {"ready": true, "when": "yesterday", "conditions": {
                "scheduled": {"status": "True"}, "restore": {"status": "False", "reason": "x"}}}});
        let t = table(&info, &[&o], json!({}), IncludeObject::None, now());
        assert_eq!(
            t["rows"][0]["cells"],
            json!([
                "v",
                "True",
                3,
                true,
                null,
                "map[reason:x status:False]",
                null,
                "<invalid>"
            ])
        );
    }

    /// The columnDefinitions a real API server sends for HPAs and pods, written from
    /// kubernetes pkg/printers/internalversion/printers.go `AddHandlers`
    /// (`horizontalPodAutoscalerColumnDefinitions`, `podColumnDefinitions`): the type, format
    /// and priority declared there and the descriptions of the fields it names
    /// (`HorizontalPodAutoscalerSpec{}.SwaggerDoc()["scaleTargetRef"]`, ...).
    #[test]
    fn builtin_column_definitions_are_the_servers() {
        let hpa = table(
            &info("autoscaling", "horizontalpodautoscalers"),
            &[],
            json!({}),
            IncludeObject::None,
            now(),
        );
        let col = |name: &str, typ: &str, format: &str, description: &str| json!({"name": name, "type": typ, "format": format, "description": description, "priority": 0});
        assert_eq!(
            hpa["columnDefinitions"],
            json!([
                col("Name", "string", "name", NAME_DESCRIPTION),
                col("Reference", "string", "", "scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count."),
                col("Targets", "string", "", "metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used).  The desired replica count is calculated multiplying the ratio between the target value and the current value by the current number of pods.  Ergo, metrics used must decrease as the pod count is increased, and vice-versa.  See the individual metric source types for more information about how each type of metric must respond. If not set, the default metric will be set to 80% average CPU utilization."),
                col("MinPods", "string", "", "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.  It defaults to 1 pod.  minReplicas is allowed to be 0 if the alpha feature gate HPAScaleToZero is enabled and at least one Object or External metric is configured.  Scaling is active as long as at least one metric value is available."),
                col("MaxPods", "string", "", "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up. It cannot be less that minReplicas."),
                col("Replicas", "string", "", "currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler."),
                col("Age", "string", "", CREATED_DESCRIPTION),
            ])
        );
        let va = table(
            &info("storage.k8s.io", "volumeattachments"),
            &[],
            json!({}),
            IncludeObject::None,
            now(),
        );
        assert_eq!(va["columnDefinitions"][1]["format"], "name");
        let pods = table(
            &info("", "pods"),
            &[],
            json!({}),
            IncludeObject::None,
            now(),
        );
        let mut ip = col(
            "IP",
            "string",
            "",
            "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
        );
        ip["priority"] = json!(1);
        assert_eq!(
            pods["columnDefinitions"].as_array().unwrap()[1..6],
            [
                col("Ready", "string", "", "The aggregate readiness state of this pod for accepting traffic."),
                col("Status", "string", "", "The aggregate status of the containers in this pod."),
                col("Restarts", "string", "", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
                col("Age", "string", "", CREATED_DESCRIPTION),
                ip,
            ]
        );
        let fs = |name: &str, p: i64| {
            json!({"metadata": {"name": name, "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"priorityLevelConfiguration": {"name": "pl"}, "matchingPrecedence": p}})
        };
        let (a, b) = (fs("global-default", 9900), fs("exempt", 1));
        let t = table(
            &info("flowcontrol.apiserver.k8s.io", "flowschemas"),
            &[&a, &b],
            json!({}),
            IncludeObject::None,
            now(),
        );
        assert_eq!(
            t["columnDefinitions"].as_array().unwrap()[1..],
            [
                col("PriorityLevel", "string", "", "`name` is the name of the priority level configuration being referenced Required."),
                col("MatchingPrecedence", "string", "", "`matchingPrecedence` is used to choose among the FlowSchemas that match a given request. The chosen FlowSchema is among those with the numerically lowest (which we take to be logically highest) MatchingPrecedence.  Each MatchingPrecedence value must be ranged in [1,10000]. Note that if the precedence is not specified, it will be set to 1000 as default."),
                col("DistinguisherMethod", "string", "", "`distinguisherMethod` defines how to compute the flow distinguisher for requests that match this schema. `nil` specifies that the distinguisher is disabled and thus will always be the empty string."),
                col("Age", "string", "", CREATED_DESCRIPTION),
                col("MissingPL", "string", "", "references a broken or non-existent PriorityLevelConfiguration"),
            ]
        );
        // Rows in matching order, not stored order.
        assert_eq!(t["rows"][0]["cells"][0], "exempt");
        assert_eq!(t["rows"][1]["cells"][2], 9900);
        // An IPAddress row has one cell more than its two columns: its age, as printers.go sends.
        let ip =
            json!({"metadata": {"name": "10.96.0.1", "creationTimestamp": "2026-01-01T00:00:00Z"}});
        let t = table(
            &info("networking.k8s.io", "ipaddresses"),
            &[&ip],
            json!({}),
            IncludeObject::None,
            now(),
        );
        assert_eq!(t["columnDefinitions"].as_array().unwrap().len(), 2);
        assert_eq!(t["rows"][0]["cells"].as_array().unwrap().len(), 3);
    }

    /// Every column of every built-in printer carries a description, on the oldest and the
    /// newest minors served (a misspelt definition or field in `printers::COLUMN_DOCS` fails
    /// here).
    #[test]
    fn every_builtin_printer_column_is_described() {
        let kinds = [
            ("", "pods"),
            ("", "nodes"),
            ("", "services"),
            ("", "namespaces"),
            ("", "events"),
            ("", "persistentvolumeclaims"),
            ("", "persistentvolumes"),
            ("", "configmaps"),
            ("", "secrets"),
            ("", "serviceaccounts"),
            ("", "endpoints"),
            ("", "podtemplates"),
            ("", "replicationcontrollers"),
            ("", "resourcequotas"),
            ("apps", "replicasets"),
            ("apps", "daemonsets"),
            ("apps", "statefulsets"),
            ("apps", "deployments"),
            ("apps", "controllerrevisions"),
            ("batch", "jobs"),
            ("batch", "cronjobs"),
            ("autoscaling", "horizontalpodautoscalers"),
            ("policy", "poddisruptionbudgets"),
            ("rbac.authorization.k8s.io", "rolebindings"),
            ("rbac.authorization.k8s.io", "clusterrolebindings"),
            (
                "admissionregistration.k8s.io",
                "mutatingwebhookconfigurations",
            ),
            (
                "admissionregistration.k8s.io",
                "validatingwebhookconfigurations",
            ),
            ("coordination.k8s.io", "leases"),
            ("networking.k8s.io", "ingresses"),
            ("networking.k8s.io", "ingressclasses"),
            ("networking.k8s.io", "networkpolicies"),
            ("scheduling.k8s.io", "priorityclasses"),
            ("discovery.k8s.io", "endpointslices"),
            ("node.k8s.io", "runtimeclasses"),
            ("storage.k8s.io", "storageclasses"),
            ("storage.k8s.io", "csinodes"),
            ("storage.k8s.io", "volumeattachments"),
            ("storage.k8s.io", "csidrivers"),
            ("certificates.k8s.io", "certificatesigningrequests"),
            ("flowcontrol.apiserver.k8s.io", "flowschemas"),
            (
                "flowcontrol.apiserver.k8s.io",
                "prioritylevelconfigurations",
            ),
            ("storage.k8s.io", "csistoragecapacities"),
            (
                "admissionregistration.k8s.io",
                "validatingadmissionpolicies",
            ),
            (
                "admissionregistration.k8s.io",
                "validatingadmissionpolicybindings",
            ),
            ("networking.k8s.io", "servicecidrs"),
            ("networking.k8s.io", "ipaddresses"),
            ("resource.k8s.io", "resourceclaims"),
            ("resource.k8s.io", "resourceslices"),
        ];
        for (group, plural) in kinds {
            for minor in [19, 25, 32, 37] {
                let t = table_for(
                    &info(group, plural),
                    minor,
                    &[],
                    json!({}),
                    IncludeObject::None,
                    now(),
                );
                let cols = t["columnDefinitions"].as_array().unwrap();
                // CSIStorageCapacity and IPAddress have no AGE column.
                let own = if matches!(plural, "csistoragecapacities" | "ipaddresses") {
                    cols[0]["name"] == "Name" && cols[1]["name"] != "Age"
                } else {
                    cols.len() > 2
                };
                assert!(own, "{group}/{plural} has no printer of its own");
                for c in cols {
                    // printers.go gives RuntimeClass's Handler an empty description.
                    if plural == "runtimeclasses" && c["name"] == "Handler" {
                        assert_eq!(c["description"], "");
                        continue;
                    }
                    assert!(
                        !c["description"].as_str().unwrap().is_empty(),
                        "{group}/{plural} {minor}: {} has no description",
                        c["name"]
                    );
                }
            }
        }
    }
}
