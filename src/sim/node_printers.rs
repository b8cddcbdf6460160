//! Server-side table printers of the kinds that describe nodes, storage attachment and
//! ingress plumbing: IngressClasses, RuntimeClasses, CSINodes, VolumeAttachments and
//! PodTemplates (the rest of the built-in printers are in `tables` and `printers`).
//!
//! Columns (name, type, priority) and cells follow the API server's printers (kubernetes
//! `pkg/printers/internalversion/printers.go`: the column definitions in `AddHandlers` and
//! `printIngressClass`, `printRuntimeClass`, `printCSINode`, `printVolumeAttachment`,
//! `printPodTemplate`); none of these columns changed between 1.19 and 1.33.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::printers::Printer;
use super::tables::{
    age, arr, containers_images_of, name_cell, s, selector_string, Col, AGE, NAME,
};

/// The printer of one of these kinds, by group and plural.
pub fn printer(group: &str, plural: &str) -> Option<Printer> {
    let p: Printer = match (group, plural) {
        ("networking.k8s.io", "ingressclasses") => (
            &[
                NAME,
                Col("Controller", "string", 0),
                Col("Parameters", "string", 0),
                AGE,
            ],
            ingressclass_row,
        ),
        ("node.k8s.io", "runtimeclasses") => {
            (&[NAME, Col("Handler", "string", 0), AGE], runtimeclass_row)
        }
        ("storage.k8s.io", "csinodes") => (&[NAME, Col("Drivers", "integer", 0), AGE], csinode_row),
        ("storage.k8s.io", "volumeattachments") => (
            &[
                NAME,
                Col("Attacher", "string", 0),
                Col("PV", "string", 0),
                Col("Node", "string", 0),
                Col("Attached", "boolean", 0),
                AGE,
            ],
            volumeattachment_row,
        ),
        // No Age column: the pod template printer never had one.
        ("", "podtemplates") => (
            &[
                NAME,
                Col("Containers", "string", 0),
                Col("Images", "string", 0),
                Col("Pod Labels", "string", 0),
            ],
            podtemplate_row,
        ),
        _ => return None,
    };
    Some(p)
}

/// PARAMETERS: `Kind[.apiGroup]/name` of `spec.parameters`, `<none>` without.
fn ingressclass_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let p = &o["spec"]["parameters"];
    let parameters = if p.is_object() {
        let group = match s(&p["apiGroup"]) {
            "" => String::new(),
            g => format!(".{g}"),
        };
        format!("{}{group}/{}", s(&p["kind"]), s(&p["name"]))
    } else {
        "<none>".into()
    };
    vec![
        name_cell(o),
        json!(s(&o["spec"]["controller"])),
        json!(parameters),
        age(o, now),
    ]
}

fn runtimeclass_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![name_cell(o), json!(s(&o["handler"])), age(o, now)]
}

/// DRIVERS: how many CSI drivers the node has registered.
fn csinode_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name_cell(o),
        json!(arr(&o["spec"]["drivers"]).len()),
        age(o, now),
    ]
}

/// PV: the attached PersistentVolume's name (empty for an inline volume); ATTACHED: the
/// attacher's report, false until it made one.
fn volumeattachment_row(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name_cell(o),
        json!(s(&o["spec"]["attacher"])),
        json!(s(&o["spec"]["source"]["persistentVolumeName"])),
        json!(s(&o["spec"]["nodeName"])),
        json!(o["status"]["attached"].as_bool().unwrap_or(false)),
        age(o, now),
    ]
}

/// CONTAINERS and IMAGES of the template, POD LABELS its labels (`<none>` without).
fn podtemplate_row(o: &Value, _now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) = containers_images_of(&o["template"]);
    vec![
        name_cell(o),
        json!(names),
        json!(images),
        json!(selector_string(&o["template"]["metadata"]["labels"])),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T01:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    const CREATED: &str = "2026-01-01T00:00:00Z";

    #[test]
    fn ingress_classes_name_their_parameters_with_the_group() {
        let with = json!({"metadata": {"name": "nginx", "creationTimestamp": CREATED},
            "spec": {"controller": "k8s.io/ingress-nginx",
                     "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "external-lb"}}});
        assert_eq!(
            ingressclass_row(&with, now()),
            [
                json!("nginx"),
                json!("k8s.io/ingress-nginx"),
                json!("IngressParameters.k8s.example.com/external-lb"),
                json!("60m")
            ]
        );
        let core = json!({"metadata": {"name": "c"}, "spec": {"controller": "x",
            "parameters": {"kind": "ConfigMap", "name": "cfg"}}});
        assert_eq!(ingressclass_row(&core, now())[2], "ConfigMap/cfg");
        let none = json!({"metadata": {"name": "t"}, "spec": {"controller": "traefik.io/ingress-controller"}});
        assert_eq!(ingressclass_row(&none, now())[2], "<none>");
    }

    #[test]
    fn volume_attachments_csinodes_runtimeclasses_and_pod_templates() {
        let va = json!({"metadata": {"name": "csi-1", "creationTimestamp": CREATED},
            "spec": {"attacher": "ebs.csi.aws.com", "nodeName": "n1",
                     "source": {"persistentVolumeName": "pv-1"}},
            "status": {"attached": true}});
        assert_eq!(
            volumeattachment_row(&va, now()),
            [
                json!("csi-1"),
                json!("ebs.csi.aws.com"),
                json!("pv-1"),
                json!("n1"),
                json!(true),
                json!("60m")
            ]
        );
        let pending = json!({"metadata": {"name": "p"}, "spec": {"attacher": "a", "nodeName": "n",
            "source": {"inlineVolumeSpec": {}}}});
        let row = volumeattachment_row(&pending, now());
        assert_eq!((&row[2], &row[4]), (&json!(""), &json!(false)));

        let node = json!({"metadata": {"name": "n1"}, "spec": {"drivers": [{"name": "a"}, {"name": "b"}]}});
        assert_eq!(csinode_row(&node, now())[1], 2);
        let bare = json!({"metadata": {"name": "n2"}, "spec": {}});
        assert_eq!(csinode_row(&bare, now())[1], 0);

        let rc = json!({"metadata": {"name": "gvisor"}, "handler": "runsc"});
        assert_eq!(runtimeclass_row(&rc, now())[1], "runsc");

        let pt = json!({"metadata": {"name": "t"}, "template": {
            "metadata": {"labels": {"b": "2", "a": "1"}},
            "spec": {"containers": [{"name": "c1", "image": "i1"}, {"name": "c2", "image": "i2"}]}}});
        assert_eq!(
            podtemplate_row(&pt, now()),
            [json!("t"), json!("c1,c2"), json!("i1,i2"), json!("a=1,b=2")]
        );
    }
}
