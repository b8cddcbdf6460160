//! What loading fills in as an API server would: namespaces, stable uids, owner uids.

use serde_json::Value;

use crate::sim::scenario::Scenario;

/// Kinds that live outside namespaces.
pub fn cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "Node"
            | "PersistentVolume"
            | "StorageClass"
            | "Namespace"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "CustomResourceDefinition"
            | "MutatingWebhookConfiguration"
            | "ValidatingWebhookConfiguration"
            | "PriorityClass"
            | "APIService"
            | "CSIDriver"
            | "VolumeAttachment"
    )
}

/// A stable uid for an object, so reloading a scenario gives the same uids.
pub fn stable_uid(kind: &str, namespace: &str, name: &str) -> String {
    let mut hasher = blake3::Hasher::new();
    for (i, part) in [kind, namespace, name].iter().enumerate() {
        if i > 0 {
            hasher.update(b"/");
        }
        hasher.update(part.as_bytes());
    }
    // Written digit by digit: this runs once per object, thousands of times for a generated
    // scenario, and `format!` per byte showed in its profile.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = [0u8; 32];
    for (i, b) in hasher.finalize().as_bytes()[..16].iter().enumerate() {
        hex[2 * i] = HEX[(b >> 4) as usize];
        hex[2 * i + 1] = HEX[(b & 15) as usize];
    }
    // A version-4-shaped UUID, like the ones an API server assigns.
    hex[12] = b'4';
    hex[16] = b'a';
    let h = std::str::from_utf8(&hex).unwrap_or_default();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Fills what an API server would: namespaces, uids, owner uids.
pub fn normalize(sc: &mut Scenario) {
    for o in &mut sc.objects {
        let kind = o["kind"].as_str().unwrap_or_default().to_string();
        if !cluster_scoped(&kind) && !o["metadata"]["namespace"].is_string() {
            o["metadata"]["namespace"] = Value::String(sc.namespace.clone());
        }
        if !o["metadata"]["uid"].is_string() {
            let ns = o["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let name = o["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            o["metadata"]["uid"] = Value::String(stable_uid(&kind, &ns, &name));
        }
    }
    let index: std::collections::HashMap<(String, String, String), String> = sc
        .objects
        .iter()
        .map(|o| {
            (
                (
                    o["kind"].as_str().unwrap_or_default().to_string(),
                    o["metadata"]["namespace"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    o["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ),
                o["metadata"]["uid"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    for o in &mut sc.objects {
        let ns = o["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        // `get_mut`, not indexing: indexing a missing key mutably inserts it (as null), and an
        // object is served with the fields it was stored with, no more.
        let refs = o
            .get_mut("metadata")
            .and_then(|m| m.get_mut("ownerReferences"))
            .and_then(Value::as_array_mut);
        if let Some(refs) = refs {
            for r in refs {
                if r["uid"].is_string() {
                    continue;
                }
                let kind = r["kind"].as_str().unwrap_or_default().to_string();
                let key_ns = if cluster_scoped(&kind) {
                    String::new()
                } else {
                    ns.clone()
                };
                let name = r["name"].as_str().unwrap_or_default().to_string();
                if let Some(uid) = index.get(&(kind, key_ns, name)) {
                    r["uid"] = Value::String(uid.clone());
                }
            }
        }
    }
}
