//! What a waiting container's trouble points at, computed from the bundle: for an image that
//! cannot be pulled, the registry's own answer (the kubelet's `Failed to pull image` event), the
//! operator parameter whose value is that image and the image the workload's other pods still
//! run; for a container whose configuration cannot be made (`secret "X" not found`,
//! `configmap "X" not found`, `couldn't find key K in Secret NS/X`), the object, the keys the
//! pod reads from it and the parameter that names it.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::analyze::advice;
use crate::analyze::context::Ctx;
use crate::analyze::model::Evidence;
use crate::analyze::source::s;

/// The kubelet's messages for a missing referenced object or key (pkg/kubelet/kubelet_pods.go
/// and the API server's NotFound text).
static MISSING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b(secret|configmap)s? "([^"]+)" not found|couldn't find key (\S+) in (Secret|ConfigMap) [^/\s]+/(\S+)"#)
        .expect("static regex")
});

/// The newest kubelet event of this pod whose reason is `reason` and whose message contains
/// `needle`.
fn pod_event(ctx: &Ctx, pod: &str, reason: &str, needle: &str) -> Option<Value> {
    ctx.events_for("Pod", pod)
        .into_iter()
        .rev()
        .find(|e| s(e, "/reason") == reason && s(e, "/message").contains(needle))
        .cloned()
}

/// Other pods of the same workload running a different image in the container `container`:
/// (pod, image).
fn others_images(ctx: &Ctx, pod: &Value, container: &str, image: &str) -> Vec<(String, String)> {
    let name = s(pod, "/metadata/name");
    let Some(owner) = ctx.owners.get(name) else {
        return Vec::new();
    };
    ctx.pods
        .iter()
        .filter(|p| {
            let n = s(p, "/metadata/name");
            n != name && ctx.owners.get(n) == Some(owner)
        })
        .filter_map(|p| {
            // Init containers too: a pod's first container to pull is often one.
            let img = ["/status/initContainerStatuses", "/status/containerStatuses"]
                .iter()
                .filter_map(|k| p.pointer(k).and_then(Value::as_array))
                .flatten()
                .find(|c| s(c, "/name") == container && c.pointer("/state/waiting").is_none())
                .map(|c| s(c, "/image").to_string())?;
            (img != image && !img.is_empty()).then(|| (s(p, "/metadata/name").to_string(), img))
        })
        .collect()
}

/// For an image that cannot be pulled: (what the registry said, the next step, evidence).
pub fn image_pull(
    ctx: &mut Ctx,
    pod: &Value,
    container: &str,
    image: &str,
) -> (String, String, Vec<Evidence>) {
    let name = s(pod, "/metadata/name").to_string();
    let failed = pod_event(ctx, &name, "Failed", "Failed to pull image");
    let mut evidence = Vec::new();
    let said = failed
        .as_ref()
        .map(|e| {
            let m = s(e, "/message");
            let why = m
                .split_once(&format!("\"{image}\": "))
                .map_or(m, |(_, w)| w);
            format!(" The registry answered: {why}")
        })
        .unwrap_or_default();
    if let Some(e) = &failed {
        evidence.push(ctx.event_evidence(e));
    }
    let param = advice::params(ctx)
        .into_iter()
        .find(|p| !image.is_empty() && p.value == image);
    let others = others_images(ctx, pod, container, image);
    let old = others.first().map(|(_, i)| i.clone());
    let running = others
        .iter()
        .map(|(p, _)| p.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let next = match (&param, &old) {
        (Some(p), Some(old)) => format!(
            "The image comes from the operator parameter {} (now {image}); pods {running} still run {old}. Set {} to a tag the registry has, or go back to the one that runs: `kubectl kudo update --instance {} -n {} -p {}={old}`.",
            p.name, p.name, ctx.instance, ctx.namespace, p.name
        ),
        (Some(p), None) => format!(
            "The image comes from the operator parameter {} (now {image}): set it to an image the registry has (`kubectl kudo update --instance {} -n {} -p {}=IMAGE`), or give the nodes access to the registry.",
            p.name, ctx.instance, ctx.namespace, p.name
        ),
        (None, _) => "Check that the image name and tag exist, that the node can reach the registry (airgapped clusters need a mirror), and that imagePullSecrets are set if the registry needs credentials.".into(),
    };
    (said, next, evidence)
}

/// The keys a pod's container reads from a Secret or ConfigMap (env `valueFrom`, not optional).
fn keys_read(pod: &Value, container: &str, kind: &str, object: &str) -> Vec<String> {
    let field = if kind.eq_ignore_ascii_case("secret") {
        "/valueFrom/secretKeyRef"
    } else {
        "/valueFrom/configMapKeyRef"
    };
    pod.pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain(
            pod.pointer("/spec/initContainers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        )
        .filter(|c| s(c, "/name") == container)
        .flat_map(|c| {
            c.pointer("/env")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|e| {
            let r = e.pointer(field)?;
            let optional = r.get("optional").and_then(Value::as_bool) == Some(true);
            (s(r, "/name") == object && !optional).then(|| s(r, "/key").to_string())
        })
        .collect()
}

/// The operator parameter that names a Secret or ConfigMap: the one whose value is its name,
/// else the only one about that kind whose value the bundle redacted (a parameter with
/// "secret" in its name is redacted, although it holds a name); `true` when redacted.
fn naming_param(ctx: &mut Ctx, kind: &str, object: &str) -> Option<(advice::Param, bool)> {
    let params = advice::params(ctx);
    if let Some(p) = params.iter().find(|p| p.value == object) {
        return Some((p.clone(), false));
    }
    let mut redacted = params.into_iter().filter(|p| {
        p.value == crate::bundle::redact::REDACTED
            && format!("{} {}", p.name, p.description)
                .to_ascii_lowercase()
                .contains(kind)
    });
    match (redacted.next(), redacted.next()) {
        (Some(p), None) => Some((p, true)),
        _ => None,
    }
}

/// For a container whose configuration cannot be made because an object or key is missing:
/// (the next step, evidence); None when the message names no Secret or ConfigMap.
pub fn missing_object(
    ctx: &mut Ctx,
    pod: &Value,
    container: &str,
    message: &str,
) -> Option<(String, Vec<Evidence>)> {
    let c = MISSING.captures(message)?;
    let (kind, object, key) = match (c.get(1), c.get(2)) {
        (Some(k), Some(o)) => (
            k.as_str().to_ascii_lowercase(),
            o.as_str().to_string(),
            None,
        ),
        _ => (
            c[4].to_ascii_lowercase(),
            c[5].to_string(),
            Some(c[3].to_string()),
        ),
    };
    let name = s(pod, "/metadata/name").to_string();
    let ns = ctx.namespace.clone();
    let mut evidence = Vec::new();
    if let Some(e) = pod_event(ctx, &name, "Failed", &object) {
        evidence.push(ctx.event_evidence(&e));
    }
    let keys = keys_read(pod, container, &kind, &object);
    let param = naming_param(ctx, &kind, &object);
    let kind_word = if kind == "secret" {
        "Secret"
    } else {
        "ConfigMap"
    };
    let create = if kind == "secret" {
        "secret generic"
    } else {
        "configmap"
    };
    let literals: String = keys
        .iter()
        .map(|k| format!(" --from-literal={k}=..."))
        .collect();
    let what = match &key {
        Some(k) => format!("{kind_word} {object} exists but has no key {k}: add it"),
        None => format!(
            "Create {kind_word} {object} in namespace {ns}{}: `kubectl create {create} {object} -n {ns}{literals}`",
            if keys.is_empty() { String::new() } else { format!(" with the keys container {container} reads ({})", keys.join(", ")) }
        ),
    };
    let alt = param
        .map(|(p, redacted)| {
            let now = if redacted {
                "its value is redacted in the bundle".to_string()
            } else {
                format!("now {object}")
            };
            format!(", or point the operator parameter {} ({now}) at an existing {kind_word} with those keys", p.name)
        })
        .unwrap_or_default();
    Some((
        format!("{what}{alt}. The kubelet retries by itself and starts the container once it can."),
        evidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::MISSING;

    #[test]
    fn the_kubelets_missing_object_messages_are_recognised() {
        let c = MISSING
            .captures(r#"secret "backup-aws" not found"#)
            .unwrap();
        assert_eq!((&c[1], &c[2]), ("secret", "backup-aws"));
        let c = MISSING
            .captures(r#"configmap "app-config" not found"#)
            .unwrap();
        assert_eq!(&c[2], "app-config");
        let c = MISSING
            .captures("couldn't find key password in Secret prod/db-creds")
            .unwrap();
        assert_eq!((&c[3], &c[5]), ("password", "db-creds"));
        assert!(MISSING
            .captures("failed to reserve container name")
            .is_none());
    }
}
