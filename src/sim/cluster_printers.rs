//! Server-side table printers of the cluster's control kinds: API priority and fairness
//! (FlowSchemas, PriorityLevelConfigurations), admission policies (ValidatingAdmissionPolicies
//! and their bindings), Service IP allocation (ServiceCIDRs, IPAddresses), storage capacity
//! (CSIStorageCapacities) and dynamic resource allocation (DeviceClasses, ResourceClaims,
//! ResourceClaimTemplates, ResourceSlices). The other built-in printers are in `tables`,
//! `printers` and `node_printers`.
//!
//! Columns (name, type, priority) and cells follow the API server's printers (kubernetes
//! `pkg/printers/internalversion/printers.go`: the column definitions in `AddHandlers` and
//! the `print*` function of each kind), including their quirks: MatchingPrecedence is declared
//! a string column and filled with an integer; CSIStorageCapacity has no AGE column; an
//! IPAddress row carries its age as a third cell behind two column definitions. A
//! FlowSchema list is printed in the order the server matches requests against it
//! ([`row_order`]).

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::printers::Printer;
use super::tables::{age, arr, name_cell, s, Col, AGE, NAME};

/// The printer of one of these kinds, by group and plural.
pub fn printer(group: &str, plural: &str) -> Option<Printer> {
    let p: Printer = match (group, plural) {
        ("flowcontrol.apiserver.k8s.io", "flowschemas") => (
            &[
                NAME,
                Col("PriorityLevel", "string", 0),
                Col("MatchingPrecedence", "string", 0),
                Col("DistinguisherMethod", "string", 0),
                AGE,
                Col("MissingPL", "string", 0),
            ],
            flowschema_row,
        ),
        ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations") => (
            &[
                NAME,
                Col("Type", "string", 0),
                Col("NominalConcurrencyShares", "string", 0),
                Col("Queues", "string", 0),
                Col("HandSize", "string", 0),
                Col("QueueLengthLimit", "string", 0),
                AGE,
            ],
            priority_level_row,
        ),
        ("storage.k8s.io", "csistoragecapacities") => (
            &[
                NAME,
                Col("StorageClassName", "string", 0),
                Col("Capacity", "string", 0),
            ],
            storage_capacity_row,
        ),
        ("admissionregistration.k8s.io", "validatingadmissionpolicies") => (
            &[
                NAME,
                Col("Validations", "integer", 0),
                Col("ParamKind", "string", 0),
                AGE,
            ],
            admission_policy_row,
        ),
        ("admissionregistration.k8s.io", "validatingadmissionpolicybindings") => (
            &[
                NAME,
                Col("PolicyName", "string", 0),
                Col("ParamRef", "string", 0),
                AGE,
            ],
            policy_binding_row,
        ),
        ("networking.k8s.io", "servicecidrs") => {
            (&[NAME, Col("CIDRs", "string", 0), AGE], service_cidr_row)
        }
        ("networking.k8s.io", "ipaddresses") => {
            (&[NAME, Col("ParentRef", "string", 0)], ip_address_row)
        }
        ("resource.k8s.io", "deviceclasses" | "resourceclaimtemplates") => {
            (&[NAME, AGE], |o, now| vec![name_cell(o), age(o, now)])
        }
        ("resource.k8s.io", "resourceclaims") => {
            (&[NAME, Col("State", "string", 0), AGE], resource_claim_row)
        }
        ("resource.k8s.io", "resourceslices") => (
            &[
                NAME,
                Col("Node", "string", 0),
                Col("Driver", "string", 0),
                Col("Pool", "string", 0),
                AGE,
            ],
            resource_slice_row,
        ),
        _ => return None,
    };
    Some(p)
}

/// How the server orders a list's rows when it is not the store's order: FlowSchemas by
/// matching precedence, then name (`printFlowSchemaList` sorts a `FlowSchemaSequence`).
pub fn row_order(group: &str, plural: &str) -> Option<fn(&Value, &Value) -> Ordering> {
    match (group, plural) {
        ("flowcontrol.apiserver.k8s.io", "flowschemas") => Some(|a, b| {
            let precedence = |o: &Value| o["spec"]["matchingPrecedence"].as_i64().unwrap_or(0);
            precedence(a)
                .cmp(&precedence(b))
                .then_with(|| s(&a["metadata"]["name"]).cmp(s(&b["metadata"]["name"])))
        }),
        _ => None,
    }
}

/// `printFlowSchema`: DISTINGUISHERMETHOD `<none>` without one; MISSINGPL the status of the
/// Dangling condition, `?` before the server has set it.
fn flowschema_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let spec = &o["spec"];
    let method = match s(&spec["distinguisherMethod"]["type"]) {
        "" if spec["distinguisherMethod"].is_null() => "<none>",
        t => t,
    };
    let dangling = arr(&o["status"]["conditions"])
        .iter()
        .find(|c| c["type"] == "Dangling")
        .map_or("?", |c| s(&c["status"]));
    vec![
        name_cell(o),
        json!(s(&spec["priorityLevelConfiguration"]["name"])),
        json!(spec["matchingPrecedence"].as_i64().unwrap_or(0)),
        json!(method),
        age(o, now),
        json!(dangling),
    ]
}

/// `printPriorityLevelConfiguration`: the limited level's shares and queuing, `<none>` for an
/// exempt level or a level that rejects instead of queuing.
fn priority_level_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let spec = &o["spec"];
    let limited = &spec["limited"];
    let none = || json!("<none>");
    let int = |v: &Value| json!(v.as_i64().unwrap_or(0));
    let (shares, queues, hand, limit) = if limited.is_object() {
        // `assuredConcurrencyShares` is the field's name in the beta versions before 1.26.
        let shares = match &limited["nominalConcurrencyShares"] {
            Value::Null => &limited["assuredConcurrencyShares"],
            v => v,
        };
        let q = &limited["limitResponse"]["queuing"];
        if q.is_object() {
            (
                int(shares),
                int(&q["queues"]),
                int(&q["handSize"]),
                int(&q["queueLengthLimit"]),
            )
        } else {
            (int(shares), none(), none(), none())
        }
    } else {
        (none(), none(), none(), none())
    };
    vec![
        name_cell(o),
        json!(s(&spec["type"])),
        shares,
        queues,
        hand,
        limit,
        age(o, now),
    ]
}

/// `printCSIStorageCapacity`: the capacity as stored, `<unset>` without one.
fn storage_capacity_row(o: &Value, _now: DateTime<Utc>) -> Vec<Value> {
    let capacity = match &o["capacity"] {
        Value::String(q) => q.clone(),
        _ => "<unset>".into(),
    };
    vec![
        name_cell(o),
        json!(s(&o["storageClassName"])),
        json!(capacity),
    ]
}

/// `printValidatingAdmissionPolicy`: the number of validations and `apiVersion/kind` of the
/// parameter kind (`<unset>` without one).
fn admission_policy_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let spec = &o["spec"];
    let param_kind = match &spec["paramKind"] {
        Value::Object(_) => format!(
            "{}/{}",
            s(&spec["paramKind"]["apiVersion"]),
            s(&spec["paramKind"]["kind"])
        ),
        _ => "<unset>".into(),
    };
    vec![
        name_cell(o),
        json!(arr(&spec["validations"]).len()),
        json!(param_kind),
        age(o, now),
    ]
}

/// `metav1.LabelSelector.String()`, the generated debug form printers.go prints a binding's
/// parameter selector with.
fn label_selector_debug(sel: &Value) -> String {
    let labels = sel["matchLabels"]
        .as_object()
        .map(|m| {
            // Go's generated String() lists the map's keys sorted.
            let mut kv: Vec<String> = m.iter().map(|(k, v)| format!("{k}: {},", s(v))).collect();
            kv.sort();
            kv.concat()
        })
        .unwrap_or_default();
    let exprs: String = arr(&sel["matchExpressions"])
        .iter()
        .map(|e| {
            let values: Vec<&str> = arr(&e["values"]).iter().map(s).collect();
            format!(
                "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{}],}},",
                s(&e["key"]),
                s(&e["operator"]),
                values.join(" ")
            )
        })
        .collect();
    format!(
        "&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{{exprs}}},}}"
    )
}

/// `printValidatingAdmissionPolicyBinding`: PARAMREF `namespace/name` (`*/name` without a
/// namespace), the selector, or `<unset>`.
fn policy_binding_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let spec = &o["spec"];
    let pr = &spec["paramRef"];
    let param = match (s(&pr["name"]), s(&pr["namespace"])) {
        _ if !pr.is_object() => "<unset>".to_string(),
        ("", _) if pr["selector"].is_object() => label_selector_debug(&pr["selector"]),
        ("", _) => "<unset>".to_string(),
        (name, "") => format!("*/{name}"),
        (name, ns) => format!("{ns}/{name}"),
    };
    vec![
        name_cell(o),
        json!(s(&spec["policyName"])),
        json!(param),
        age(o, now),
    ]
}

/// `printServiceCIDR`: the CIDRs joined with commas.
fn service_cidr_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let cidrs: Vec<&str> = arr(&o["spec"]["cidrs"]).iter().map(s).collect();
    vec![name_cell(o), json!(cidrs.join(",")), age(o, now)]
}

/// `printIPAddress`: PARENTREF `resource.group[/namespace]/name` in lower case (`<none>`
/// without one), and the age as a cell no column describes.
fn ip_address_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let pr = &o["spec"]["parentRef"];
    let parent = if pr.is_object() {
        let resource = match s(&pr["group"]) {
            "" => s(&pr["resource"]).to_string(),
            g => format!("{}.{g}", s(&pr["resource"])),
        };
        let mut out = resource.to_lowercase();
        if !s(&pr["namespace"]).is_empty() {
            out = format!("{out}/{}", s(&pr["namespace"]));
        }
        format!("{out}/{}", s(&pr["name"]))
    } else {
        "<none>".into()
    };
    vec![name_cell(o), json!(parent), age(o, now)]
}

/// `resourceClaimState`: deleted, then pending (not allocated) or allocated and reserved.
fn resource_claim_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let deleted = !o["metadata"]["deletionTimestamp"].is_null();
    let mut states = Vec::new();
    if deleted {
        states.push("deleted");
    }
    if o["status"]["allocation"].is_null() {
        if !deleted {
            states.push("pending");
        }
    } else {
        states.push("allocated");
        if !arr(&o["status"]["reservedFor"]).is_empty() {
            states.push("reserved");
        }
    }
    vec![name_cell(o), json!(states.join(",")), age(o, now)]
}

/// `printResourceSlice`: the node, driver and pool name of the slice's spec.
fn resource_slice_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let spec = &o["spec"];
    vec![
        name_cell(o),
        json!(s(&spec["nodeName"])),
        json!(s(&spec["driver"])),
        json!(s(&spec["pool"]["name"])),
        age(o, now),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-01-01T00:10:00Z".parse().unwrap()
    }

    fn row(group: &str, plural: &str, o: Value) -> Vec<Value> {
        let (cols, f) = printer(group, plural).unwrap();
        let r = f(&o, now());
        assert!(r.len() >= cols.len(), "{plural}: {r:?}");
        r
    }

    fn meta(name: &str) -> Value {
        json!({"name": name, "creationTimestamp": "2026-01-01T00:00:00Z"})
    }

    #[test]
    fn flow_control_rows_follow_the_server() {
        let fs = json!({"metadata": meta("exempt"), "spec": {"priorityLevelConfiguration": {"name": "exempt"},
            "matchingPrecedence": 1}, "status": {"conditions": [{"type": "Dangling", "status": "False"}]}});
        assert_eq!(
            row("flowcontrol.apiserver.k8s.io", "flowschemas", fs),
            [
                json!("exempt"),
                json!("exempt"),
                json!(1),
                json!("<none>"),
                json!("10m"),
                json!("False")
            ]
        );
        let fs = json!({"metadata": meta("service-accounts"), "spec": {"priorityLevelConfiguration": {"name": "workload-low"},
            "matchingPrecedence": 9000, "distinguisherMethod": {"type": "ByUser"}}});
        let r = row("flowcontrol.apiserver.k8s.io", "flowschemas", fs);
        assert_eq!((&r[3], &r[5]), (&json!("ByUser"), &json!("?")));

        let limited = json!({"metadata": meta("global-default"), "spec": {"type": "Limited", "limited": {
            "nominalConcurrencyShares": 20, "limitResponse": {"type": "Queue",
            "queuing": {"queues": 128, "handSize": 6, "queueLengthLimit": 50}}}}});
        let r = row(
            "flowcontrol.apiserver.k8s.io",
            "prioritylevelconfigurations",
            limited,
        );
        assert_eq!(
            r[1..6],
            [json!("Limited"), json!(20), json!(128), json!(6), json!(50)]
        );
        let exempt = json!({"metadata": meta("exempt"), "spec": {"type": "Exempt", "exempt": {}}});
        let r = row(
            "flowcontrol.apiserver.k8s.io",
            "prioritylevelconfigurations",
            exempt,
        );
        assert_eq!(
            r[2..6],
            [
                json!("<none>"),
                json!("<none>"),
                json!("<none>"),
                json!("<none>")
            ]
        );
        // A 1.24 server's v1beta2 object names the shares assuredConcurrencyShares.
        let old = json!({"metadata": meta("catch-all"), "spec": {"type": "Limited", "limited": {
            "assuredConcurrencyShares": 5, "limitResponse": {"type": "Reject"}}}});
        let r = row(
            "flowcontrol.apiserver.k8s.io",
            "prioritylevelconfigurations",
            old,
        );
        assert_eq!(r[2..4], [json!(5), json!("<none>")]);
    }

    #[test]
    fn flowschemas_are_listed_by_matching_precedence_then_name() {
        let order = row_order("flowcontrol.apiserver.k8s.io", "flowschemas").unwrap();
        let fs = |name: &str, p: i64| json!({"metadata": {"name": name}, "spec": {"matchingPrecedence": p}});
        let mut list = [
            fs("global-default", 9900),
            fs("system-nodes", 500),
            fs("exempt", 1),
            fs("probes", 2),
            fs("b", 500),
        ];
        list.sort_by(order);
        let names: Vec<&str> = list.iter().map(|o| s(&o["metadata"]["name"])).collect();
        assert_eq!(
            names,
            ["exempt", "probes", "b", "system-nodes", "global-default"]
        );
        assert!(row_order("", "pods").is_none());
    }

    #[test]
    fn admission_policies_and_bindings() {
        let vap = json!({"metadata": meta("demo"), "spec": {"validations": [{"expression": "a"}, {"expression": "b"}],
            "paramKind": {"apiVersion": "rules.example.com/v1", "kind": "ReplicaLimit"}}});
        let r = row(
            "admissionregistration.k8s.io",
            "validatingadmissionpolicies",
            vap,
        );
        assert_eq!(
            r[1..3],
            [json!(2), json!("rules.example.com/v1/ReplicaLimit")]
        );
        let plain = json!({"metadata": meta("p"), "spec": {}});
        let r = row(
            "admissionregistration.k8s.io",
            "validatingadmissionpolicies",
            plain,
        );
        assert_eq!(r[1..3], [json!(0), json!("<unset>")]);

        let binding = |pr: Value| json!({"metadata": meta("b"), "spec": {"policyName": "demo", "paramRef": pr}});
        let cell = |pr: Value| {
            row(
                "admissionregistration.k8s.io",
                "validatingadmissionpolicybindings",
                binding(pr),
            )[2]
            .clone()
        };
        assert_eq!(
            cell(json!({"name": "limit", "namespace": "prod"})),
            "prod/limit"
        );
        assert_eq!(cell(json!({"name": "limit"})), "*/limit");
        assert_eq!(cell(Value::Null), "<unset>");
        assert_eq!(
            cell(json!({"selector": {"matchLabels": {"tier": "a", "env": "prod"},
                "matchExpressions": [{"key": "k", "operator": "In", "values": ["x", "y"]}]}})),
            "&LabelSelector{MatchLabels:map[string]string{env: prod,tier: a,},MatchExpressions:[]LabelSelectorRequirement{LabelSelectorRequirement{Key:k,Operator:In,Values:[x y],},},}"
        );
    }

    #[test]
    fn allocation_capacity_and_dra_rows() {
        let cidr = json!({"metadata": meta("kubernetes"), "spec": {"cidrs": ["10.96.0.0/12", "fd00::/108"]}});
        assert_eq!(
            row("networking.k8s.io", "servicecidrs", cidr)[1],
            "10.96.0.0/12,fd00::/108"
        );
        let ip = json!({"metadata": meta("10.96.0.1"), "spec": {"parentRef": {"group": "", "resource": "services",
            "namespace": "default", "name": "kubernetes"}}});
        let r = row("networking.k8s.io", "ipaddresses", ip);
        assert_eq!(
            r,
            [
                json!("10.96.0.1"),
                json!("services/default/kubernetes"),
                json!("10m")
            ]
        );
        let ip = json!({"metadata": meta("x"), "spec": {"parentRef": {"group": "Example.COM", "resource": "Gateways", "name": "gw"}}});
        assert_eq!(
            row("networking.k8s.io", "ipaddresses", ip)[1],
            "gateways.example.com/gw"
        );

        let cap = json!({"metadata": meta("csisc-1"), "storageClassName": "standard", "capacity": "100Gi"});
        assert_eq!(
            row("storage.k8s.io", "csistoragecapacities", cap),
            [json!("csisc-1"), json!("standard"), json!("100Gi")]
        );
        let cap = json!({"metadata": meta("csisc-2"), "storageClassName": "standard"});
        assert_eq!(
            row("storage.k8s.io", "csistoragecapacities", cap)[2],
            "<unset>"
        );

        let claim = |status: Value, deleted: bool| {
            let mut m = meta("c");
            if deleted {
                m["deletionTimestamp"] = json!("2026-01-01T00:05:00Z");
            }
            row(
                "resource.k8s.io",
                "resourceclaims",
                json!({"metadata": m, "status": status}),
            )[1]
            .clone()
        };
        assert_eq!(claim(json!({}), false), "pending");
        assert_eq!(claim(json!({}), true), "deleted");
        assert_eq!(claim(json!({"allocation": {}}), false), "allocated");
        assert_eq!(
            claim(
                json!({"allocation": {}, "reservedFor": [{"name": "p"}]}),
                true
            ),
            "deleted,allocated,reserved"
        );
        let slice = json!({"metadata": meta("node-1-gpu"), "spec": {"nodeName": "node-1", "driver": "gpu.example.com",
            "pool": {"name": "node-1", "generation": 1, "resourceSliceCount": 1}}});
        assert_eq!(
            row("resource.k8s.io", "resourceslices", slice)[1..4],
            [json!("node-1"), json!("gpu.example.com"), json!("node-1")]
        );
        assert_eq!(
            row(
                "resource.k8s.io",
                "deviceclasses",
                json!({"metadata": meta("gpu")})
            ),
            [json!("gpu"), json!("10m")]
        );
    }
}
