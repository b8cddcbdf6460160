//! Conversion between the served versions of one resource, as an API server converts: it
//! stores one object per group and resource and answers in whichever served version a client
//! asks for.
//!
//! Most resources keep one schema across their served versions (CronJob batch/v1beta1 and
//! batch/v1, RuntimeClass, CSIStorageCapacity, custom resources under conversion strategy
//! `None`): only `apiVersion` changes. Not converted yet, so served with only `apiVersion`
//! changed: PodDisruptionBudget policy/v1beta1 (an empty selector matches nothing there),
//! EndpointSlice discovery.k8s.io/v1beta1 (`topology`) and the flowcontrol kinds before
//! v1beta3 (`assuredConcurrencyShares`). HorizontalPodAutoscaler differs between autoscaling/v1, v2beta1, v2beta2 and v2;
//! it is converted through the autoscaling/v2 shape, following the API server's conversion
//! functions (kubernetes `pkg/apis/autoscaling/v1/conversion.go`, `v2beta1/conversion.go`,
//! `v2beta2/conversion.go`), round-trip annotations (`autoscaling.alpha.kubernetes.io/*`)
//! included.

use serde_json::{json, Map, Value};

/// The other metrics of an autoscaling/v1 object, in the v2beta1 shape.
const METRICS: &str = "autoscaling.alpha.kubernetes.io/metrics";
/// The metric statuses of an autoscaling/v1 object, in the v2beta1 shape.
const CURRENT_METRICS: &str = "autoscaling.alpha.kubernetes.io/current-metrics";
/// The conditions of an autoscaling/v1 object.
const CONDITIONS: &str = "autoscaling.alpha.kubernetes.io/conditions";
/// The scaling behavior of an autoscaling/v1 or v2beta1 object.
const BEHAVIOR: &str = "autoscaling.alpha.kubernetes.io/behavior";
const ROUND_TRIP: [&str; 4] = [METRICS, CURRENT_METRICS, CONDITIONS, BEHAVIOR];

/// `obj` (of `group`'s resource `plural`, at any served version) in `version`.
pub fn to_version(obj: &Value, group: &str, plural: &str, version: &str) -> Value {
    if group == "autoscaling" && plural == "horizontalpodautoscalers" {
        return hpa_from_v2(hpa_to_v2(obj), version);
    }
    let mut out = obj.clone();
    out["apiVersion"] = json!(if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    });
    out
}

/// The version of an HPA: its apiVersion's, or for an object without one the shape it has
/// (autoscaling/v1's `targetCPUUtilizationPercentage`, else autoscaling/v2).
fn hpa_version(o: &Value) -> &str {
    match o["apiVersion"].as_str().and_then(|a| a.split_once('/')) {
        Some((_, v)) => v,
        None if o["spec"].get("targetCPUUtilizationPercentage").is_some() => "v1",
        None => "v2",
    }
}

/// An HPA of any version in the autoscaling/v2 shape (the API server's internal version).
pub fn hpa_to_v2(o: &Value) -> Value {
    let mut out = o.clone();
    let saved = take_round_trip(&mut out);
    match hpa_version(o) {
        "v1" => v1_to_v2(&mut out, &saved),
        "v2beta1" => {
            let spec = &mut out["spec"];
            if let Some(ms) = spec.get("metrics").and_then(Value::as_array) {
                spec["metrics"] = ms.iter().map(v2beta1_spec_to_v2).collect();
            }
            if let Some(b) = saved.get(BEHAVIOR) {
                spec["behavior"] = b.clone();
            }
            let status = &mut out["status"];
            if let Some(ms) = status.get("currentMetrics").and_then(Value::as_array) {
                status["currentMetrics"] = ms.iter().map(v2beta1_status_to_v2).collect();
            }
        }
        _ => {}
    }
    if o.get("apiVersion").is_some() {
        out["apiVersion"] = json!("autoscaling/v2");
    }
    out
}

/// An HPA in the autoscaling/v2 shape converted to `version`.
pub fn hpa_from_v2(mut o: Value, version: &str) -> Value {
    match version {
        "v1" => o = v2_to_v1(o),
        "v2beta1" => {
            let behavior = o["spec"].as_object_mut().and_then(|s| s.remove("behavior"));
            let spec = &mut o["spec"];
            if let Some(ms) = spec.get("metrics").and_then(Value::as_array) {
                spec["metrics"] = ms.iter().map(v2_spec_to_v2beta1).collect();
            }
            let status = &mut o["status"];
            if let Some(ms) = status.get("currentMetrics").and_then(Value::as_array) {
                status["currentMetrics"] = ms.iter().map(v2_status_to_v2beta1).collect();
            }
            if let Some(b) = behavior.filter(|b| !b.is_null()) {
                annotate(&mut o, BEHAVIOR, &b);
            }
        }
        _ => {}
    }
    o["apiVersion"] = json!(format!("autoscaling/{version}"));
    o
}

/// Removes the round-trip annotations (`DropRoundTripHorizontalPodAutoscalerAnnotations`),
/// returning their values parsed; an annotations map left empty is removed.
fn take_round_trip(o: &mut Value) -> Map<String, Value> {
    let mut saved = Map::new();
    let Some(ann) = o["metadata"]
        .get_mut("annotations")
        .and_then(Value::as_object_mut)
    else {
        return saved;
    };
    for key in ROUND_TRIP {
        if let Some(Value::String(text)) = ann.remove(key) {
            if let Ok(v) = serde_json::from_str::<Value>(&text) {
                saved.insert(key.to_string(), v);
            }
        }
    }
    if ann.is_empty() {
        if let Some(meta) = o["metadata"].as_object_mut() {
            meta.remove("annotations");
        }
    }
    saved
}

/// Sets annotation `key` to `v` encoded as JSON.
fn annotate(o: &mut Value, key: &str, v: &Value) {
    let text = serde_json::to_string(v).unwrap_or_default();
    let meta = &mut o["metadata"];
    if !meta["annotations"].is_object() {
        meta["annotations"] = json!({});
    }
    meta["annotations"][key] = json!(text);
}

/// Copies `key` from `from` to `to` when it is set.
fn copy(to: &mut Map<String, Value>, from: &Value, key: &str) {
    if let Some(v) = from.get(key).filter(|v| !v.is_null()) {
        to.insert(key.to_string(), v.clone());
    }
}

/// Copies `from_key` of `from` to `to_key` of `to` when it is set.
fn put(to: &mut Value, to_key: &str, from: &Value, from_key: &str) {
    if let Some(v) = from.get(from_key).filter(|v| !v.is_null()) {
        to[to_key] = v.clone();
    }
}

/// A quantity Go declares without a pointer: absent, it is the zero quantity, `"0"`.
fn quantity_or_zero(from: &Value, key: &str) -> Value {
    from.get(key)
        .filter(|v| !v.is_null())
        .cloned()
        .unwrap_or_else(|| json!("0"))
}

/// The field of a metric's type in a MetricSpec or MetricStatus (`resource` for Resource).
pub(crate) fn metric_field(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "Resource" => "resource",
        "ContainerResource" => "containerResource",
        "Pods" => "pods",
        "Object" => "object",
        "External" => "external",
        _ => return None,
    })
}

/// The v2 `metric` identifier from a v2beta1 name and selector field.
fn identifier(src: &Value, selector_key: &str) -> Value {
    let mut m = json!({});
    put(&mut m, "name", src, "metricName");
    put(&mut m, "selector", src, selector_key);
    m
}

/// A v2beta1 (or v1 annotation) metric spec in the v2 shape.
pub fn v2beta1_spec_to_v2(m: &Value) -> Value {
    let kind = m["type"].as_str().unwrap_or_default();
    let Some(field) = metric_field(kind) else {
        return m.clone();
    };
    let src = &m[field];
    let mut out = json!({});
    let mut target = json!({});
    match kind {
        "Resource" | "ContainerResource" => {
            put(&mut out, "name", src, "name");
            put(&mut out, "container", src, "container");
            let utilization = src["targetAverageUtilization"].is_null();
            target["type"] = json!(if utilization {
                "AverageValue"
            } else {
                "Utilization"
            });
            put(&mut target, "averageValue", src, "targetAverageValue");
            put(
                &mut target,
                "averageUtilization",
                src,
                "targetAverageUtilization",
            );
        }
        "Pods" => {
            out["metric"] = identifier(src, "selector");
            target = json!({"type": "AverageValue",
                "averageValue": quantity_or_zero(src, "targetAverageValue")});
        }
        "Object" => {
            put(&mut out, "describedObject", src, "target");
            out["metric"] = identifier(src, "selector");
            let avg = src["averageValue"].is_null();
            target["type"] = json!(if avg { "Value" } else { "AverageValue" });
            target["value"] = quantity_or_zero(src, "targetValue");
            put(&mut target, "averageValue", src, "averageValue");
        }
        _ => {
            out["metric"] = identifier(src, "metricSelector");
            let value = src["targetValue"].is_null();
            target["type"] = json!(if value { "AverageValue" } else { "Value" });
            put(&mut target, "value", src, "targetValue");
            put(&mut target, "averageValue", src, "targetAverageValue");
        }
    }
    out["target"] = target;
    json!({"type": kind, field: out})
}

/// A v2beta1 (or v1 annotation) metric status in the v2 shape.
pub fn v2beta1_status_to_v2(m: &Value) -> Value {
    let kind = m["type"].as_str().unwrap_or_default();
    let Some(field) = metric_field(kind) else {
        return m.clone();
    };
    let src = &m[field];
    let mut out = json!({});
    let mut current = json!({});
    match kind {
        "Resource" | "ContainerResource" => {
            put(&mut out, "name", src, "name");
            put(&mut out, "container", src, "container");
            current["averageValue"] = quantity_or_zero(src, "currentAverageValue");
            put(
                &mut current,
                "averageUtilization",
                src,
                "currentAverageUtilization",
            );
        }
        "Pods" => {
            out["metric"] = identifier(src, "selector");
            current["averageValue"] = quantity_or_zero(src, "currentAverageValue");
        }
        "Object" => {
            put(&mut out, "describedObject", src, "target");
            out["metric"] = identifier(src, "selector");
            current["value"] = quantity_or_zero(src, "currentValue");
            put(&mut current, "averageValue", src, "averageValue");
        }
        _ => {
            out["metric"] = identifier(src, "metricSelector");
            current["value"] = quantity_or_zero(src, "currentValue");
            put(&mut current, "averageValue", src, "currentAverageValue");
        }
    }
    out["current"] = current;
    json!({"type": kind, field: out})
}

/// A v2 metric spec in the v2beta1 shape (also the shape of v1's metrics annotation).
pub fn v2_spec_to_v2beta1(m: &Value) -> Value {
    let kind = m["type"].as_str().unwrap_or_default();
    let Some(field) = metric_field(kind) else {
        return m.clone();
    };
    let src = &m[field];
    let (metric, target) = (&src["metric"], &src["target"]);
    let mut out = json!({});
    match kind {
        "Resource" | "ContainerResource" => {
            put(&mut out, "name", src, "name");
            put(&mut out, "container", src, "container");
            put(
                &mut out,
                "targetAverageUtilization",
                target,
                "averageUtilization",
            );
            put(&mut out, "targetAverageValue", target, "averageValue");
        }
        "Pods" => {
            put(&mut out, "metricName", metric, "name");
            put(&mut out, "selector", metric, "selector");
            out["targetAverageValue"] = quantity_or_zero(target, "averageValue");
        }
        "Object" => {
            put(&mut out, "target", src, "describedObject");
            put(&mut out, "metricName", metric, "name");
            put(&mut out, "selector", metric, "selector");
            out["targetValue"] = quantity_or_zero(target, "value");
            put(&mut out, "averageValue", target, "averageValue");
        }
        _ => {
            put(&mut out, "metricName", metric, "name");
            put(&mut out, "metricSelector", metric, "selector");
            put(&mut out, "targetValue", target, "value");
            put(&mut out, "targetAverageValue", target, "averageValue");
        }
    }
    json!({"type": kind, field: out})
}

/// A v2 metric status in the v2beta1 shape (also the shape of v1's current-metrics
/// annotation).
pub fn v2_status_to_v2beta1(m: &Value) -> Value {
    let kind = m["type"].as_str().unwrap_or_default();
    let Some(field) = metric_field(kind) else {
        return m.clone();
    };
    let src = &m[field];
    let (metric, current) = (&src["metric"], &src["current"]);
    let mut out = json!({});
    match kind {
        "Resource" | "ContainerResource" => {
            put(&mut out, "name", src, "name");
            put(&mut out, "container", src, "container");
            put(
                &mut out,
                "currentAverageUtilization",
                current,
                "averageUtilization",
            );
            out["currentAverageValue"] = quantity_or_zero(current, "averageValue");
        }
        "Pods" => {
            put(&mut out, "metricName", metric, "name");
            put(&mut out, "selector", metric, "selector");
            out["currentAverageValue"] = quantity_or_zero(current, "averageValue");
        }
        "Object" => {
            put(&mut out, "target", src, "describedObject");
            put(&mut out, "metricName", metric, "name");
            put(&mut out, "selector", metric, "selector");
            out["currentValue"] = quantity_or_zero(current, "value");
            put(&mut out, "averageValue", current, "averageValue");
        }
        _ => {
            put(&mut out, "metricName", metric, "name");
            put(&mut out, "metricSelector", metric, "selector");
            out["currentValue"] = quantity_or_zero(current, "value");
            put(&mut out, "currentAverageValue", current, "averageValue");
        }
    }
    json!({"type": kind, field: out})
}

/// A CPU Resource metric with a utilization target.
fn cpu_utilization(m: &Value) -> Option<&Value> {
    let r = &m["resource"];
    (m["type"] == "Resource" && r["name"] == "cpu")
        .then(|| &r["target"]["averageUtilization"])
        .filter(|u| !u.is_null())
}

/// autoscaling/v1 to v2: the CPU target becomes a Resource metric after the annotation's
/// other metrics; without any metric, the CPU target defaults to 80% (the implicit default
/// v1 always had); the annotations give back the statuses, conditions and behavior.
fn v1_to_v2(o: &mut Value, saved: &Map<String, Value>) {
    let old_spec = o["spec"].take();
    let mut spec = Map::new();
    for key in ["scaleTargetRef", "minReplicas", "maxReplicas"] {
        copy(&mut spec, &old_spec, key);
    }
    let mut metrics: Vec<Value> = saved
        .get(METRICS)
        .and_then(Value::as_array)
        .map(|ms| ms.iter().map(v2beta1_spec_to_v2).collect())
        .unwrap_or_default();
    let cpu = |u: &Value| {
        json!({"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": u}}})
    };
    if let Some(u) = old_spec
        .get("targetCPUUtilizationPercentage")
        .filter(|u| !u.is_null())
    {
        metrics.push(cpu(u));
    }
    if metrics.is_empty() {
        metrics.push(cpu(&json!(80)));
    }
    spec.insert("metrics".into(), Value::Array(metrics));
    if let Some(b) = saved.get(BEHAVIOR) {
        spec.insert("behavior".into(), b.clone());
    }
    o["spec"] = Value::Object(spec);
    let Some(old_status) = o.get_mut("status").map(Value::take) else {
        return;
    };
    let mut status = Map::new();
    for key in [
        "observedGeneration",
        "lastScaleTime",
        "currentReplicas",
        "desiredReplicas",
    ] {
        copy(&mut status, &old_status, key);
    }
    let current = match (
        saved.get(CURRENT_METRICS).and_then(Value::as_array),
        old_status
            .get("currentCPUUtilizationPercentage")
            .filter(|u| !u.is_null()),
    ) {
        (Some(ms), _) => ms.iter().map(v2beta1_status_to_v2).collect(),
        (None, Some(u)) => vec![json!({"type": "Resource", "resource": {"name": "cpu",
            "current": {"averageUtilization": u}}})],
        (None, None) => Vec::new(),
    };
    if !current.is_empty() {
        status.insert("currentMetrics".into(), Value::Array(current));
    }
    if let Some(c) = saved.get(CONDITIONS) {
        status.insert("conditions".into(), c.clone());
    }
    o["status"] = Value::Object(status);
}

/// autoscaling/v2 to v1: the first CPU Resource metric gives the CPU target; every other
/// metric, every metric status, the conditions and the behavior go to annotations.
fn v2_to_v1(mut o: Value) -> Value {
    let old_spec = o["spec"].take();
    let mut spec = Map::new();
    for key in ["scaleTargetRef", "minReplicas", "maxReplicas"] {
        copy(&mut spec, &old_spec, key);
    }
    let metrics = old_spec["metrics"].as_array().cloned().unwrap_or_default();
    if let Some(first_cpu) = metrics
        .iter()
        .find(|m| m["type"] == "Resource" && m["resource"]["name"] == "cpu")
    {
        if let Some(u) = cpu_utilization(first_cpu) {
            spec.insert("targetCPUUtilizationPercentage".into(), u.clone());
        }
    }
    let others: Vec<Value> = metrics
        .iter()
        .filter(|m| cpu_utilization(m).is_none())
        .map(v2_spec_to_v2beta1)
        .collect();
    o["spec"] = Value::Object(spec);
    if !others.is_empty() {
        annotate(&mut o, METRICS, &Value::Array(others));
    }
    if let Some(old_status) = o.get_mut("status").map(Value::take) {
        let mut status = Map::new();
        for key in [
            "observedGeneration",
            "lastScaleTime",
            "currentReplicas",
            "desiredReplicas",
        ] {
            copy(&mut status, &old_status, key);
        }
        let current = old_status["currentMetrics"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for m in &current {
            let r = &m["resource"];
            let u = &r["current"]["averageUtilization"];
            if m["type"] == "Resource" && r["name"] == "cpu" && !u.is_null() {
                status.insert("currentCPUUtilizationPercentage".into(), u.clone());
            }
        }
        o["status"] = Value::Object(status);
        if !current.is_empty() {
            let v1: Vec<Value> = current.iter().map(v2_status_to_v2beta1).collect();
            annotate(&mut o, CURRENT_METRICS, &Value::Array(v1));
        }
        if let Some(c) = old_status["conditions"]
            .as_array()
            .filter(|c| !c.is_empty())
        {
            annotate(&mut o, CONDITIONS, &Value::Array(c.clone()));
        }
    }
    if let Some(b) = old_spec.get("behavior").filter(|b| !b.is_null()) {
        annotate(&mut o, BEHAVIOR, b);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2beta1() -> Value {
        json!({"apiVersion": "autoscaling/v2beta1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default", "uid": "u1", "resourceVersion": "7"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "minReplicas": 2, "maxReplicas": 10, "metrics": [
                {"type": "Resource", "resource": {"name": "cpu", "targetAverageUtilization": 80}},
                {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "500Mi"}},
                {"type": "Pods", "pods": {"metricName": "qps", "targetAverageValue": "10"}},
                {"type": "Object", "object": {"metricName": "hits", "targetValue": "2k",
                    "target": {"apiVersion": "v1", "kind": "Service", "name": "s"}}},
                {"type": "External", "external": {"metricName": "queue", "targetAverageValue": "30",
                    "metricSelector": {"matchLabels": {"q": "jobs"}}}}]},
            "status": {"currentReplicas": 3, "desiredReplicas": 3,
                "conditions": [{"type": "AbleToScale", "status": "True"}],
                "currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "currentAverageUtilization": 12, "currentAverageValue": "40m"}},
                {"type": "Resource", "resource": {"name": "memory", "currentAverageValue": "200Mi"}},
                {"type": "Pods", "pods": {"metricName": "qps", "currentAverageValue": "7"}},
                {"type": "Object", "object": {"metricName": "hits", "currentValue": "1500",
                    "target": {"apiVersion": "v1", "kind": "Service", "name": "s"}}},
                {"type": "External", "external": {"metricName": "queue", "currentValue": "90",
                    "currentAverageValue": "45", "metricSelector": {"matchLabels": {"q": "jobs"}}}}]}})
    }

    #[test]
    fn v2beta1_metrics_take_the_v2_shape_as_the_api_server_converts_them() {
        let v2 = hpa_to_v2(&v2beta1());
        assert_eq!(v2["apiVersion"], "autoscaling/v2");
        let m = &v2["spec"]["metrics"];
        assert_eq!(
            m[0]["resource"],
            json!({"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}})
        );
        assert_eq!(
            m[1]["resource"]["target"],
            json!({"type": "AverageValue", "averageValue": "500Mi"})
        );
        assert_eq!(
            m[2]["pods"],
            json!({"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}})
        );
        assert_eq!(
            m[3]["object"],
            json!({"describedObject": {"apiVersion": "v1", "kind": "Service", "name": "s"},
                   "metric": {"name": "hits"}, "target": {"type": "Value", "value": "2k"}})
        );
        assert_eq!(
            m[4]["external"],
            json!({"metric": {"name": "queue", "selector": {"matchLabels": {"q": "jobs"}}},
                   "target": {"type": "AverageValue", "averageValue": "30"}})
        );
        let c = &v2["status"]["currentMetrics"];
        assert_eq!(
            c[0]["resource"]["current"],
            json!({"averageUtilization": 12, "averageValue": "40m"})
        );
        assert_eq!(
            c[4]["external"]["current"],
            json!({"value": "90", "averageValue": "45"})
        );
        // Fields of the same meaning are untouched.
        assert_eq!(
            v2["status"]["conditions"],
            v2beta1()["status"]["conditions"]
        );
        assert_eq!(v2["metadata"], v2beta1()["metadata"]);
    }

    #[test]
    fn v2beta1_round_trips_through_v2() {
        let back = hpa_from_v2(hpa_to_v2(&v2beta1()), "v2beta1");
        assert_eq!(back, v2beta1());
    }

    #[test]
    fn v1_keeps_the_cpu_target_and_annotates_the_rest() {
        let v2 = hpa_to_v2(&v2beta1());
        let v1 = hpa_from_v2(v2.clone(), "v1");
        assert_eq!(v1["apiVersion"], "autoscaling/v1");
        assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 80);
        assert!(v1["spec"].get("metrics").is_none());
        assert_eq!(v1["status"]["currentCPUUtilizationPercentage"], 12);
        assert_eq!(v1["status"]["currentReplicas"], 3);
        let ann = &v1["metadata"]["annotations"];
        let others: Value = serde_json::from_str(ann[METRICS].as_str().unwrap()).unwrap();
        // The CPU utilization metric is the v1 field; the other four are v2beta1-shaped.
        assert_eq!(others.as_array().unwrap().len(), 4);
        assert_eq!(others[0]["resource"]["targetAverageValue"], "500Mi");
        let statuses: Value = serde_json::from_str(ann[CURRENT_METRICS].as_str().unwrap()).unwrap();
        assert_eq!(statuses.as_array().unwrap().len(), 5);
        assert!(ann[CONDITIONS].as_str().unwrap().contains("AbleToScale"));
        // Back to v2: the annotations are read and dropped, the CPU metric comes after the
        // others (the API server appends it), the statuses and conditions come back whole.
        let again = hpa_to_v2(&v1);
        assert!(again["metadata"].get("annotations").is_none());
        let metrics = again["spec"]["metrics"].as_array().unwrap();
        assert_eq!(metrics.len(), 5);
        assert_eq!(metrics[4], v2["spec"]["metrics"][0]);
        assert_eq!(
            again["status"]["currentMetrics"],
            v2["status"]["currentMetrics"]
        );
        assert_eq!(again["status"]["conditions"], v2["status"]["conditions"]);
    }

    #[test]
    fn a_v1_object_without_a_target_gets_the_implicit_80_percent() {
        let v1 = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "a"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "a"}, "maxReplicas": 4},
            "status": {"currentReplicas": 1, "desiredReplicas": 1, "currentCPUUtilizationPercentage": 7}});
        let v2 = hpa_to_v2(&v1);
        assert_eq!(
            v2["spec"]["metrics"],
            json!([{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 80}}}])
        );
        assert_eq!(
            v2["status"]["currentMetrics"][0]["resource"]["current"],
            json!({"averageUtilization": 7})
        );
    }

    #[test]
    fn behavior_travels_in_an_annotation_where_the_version_has_no_field() {
        let mut v2 = hpa_to_v2(&v2beta1());
        v2["spec"]["behavior"] = json!({"scaleDown": {"stabilizationWindowSeconds": 300}});
        let old = hpa_from_v2(v2.clone(), "v2beta1");
        assert!(old["spec"].get("behavior").is_none());
        assert!(old["metadata"]["annotations"][BEHAVIOR]
            .as_str()
            .unwrap()
            .contains("300"));
        assert_eq!(hpa_to_v2(&old), v2);
        let v2beta2 = hpa_from_v2(v2.clone(), "v2beta2");
        assert_eq!(v2beta2["apiVersion"], "autoscaling/v2beta2");
        assert_eq!(v2beta2["spec"], v2["spec"]);
    }

    #[test]
    fn same_schema_versions_change_only_the_api_version() {
        let cj = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
            "spec": {"schedule": "* * * * *"}});
        let old = to_version(&cj, "batch", "cronjobs", "v1beta1");
        let mut want = cj.clone();
        want["apiVersion"] = json!("batch/v1beta1");
        assert_eq!(old, want);
        assert_eq!(to_version(&cj, "", "pods", "v1")["apiVersion"], "v1");
    }
}
