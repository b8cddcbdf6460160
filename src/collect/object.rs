//! What happens to every Kubernetes object before it reaches the bundle or a fan-out item:
//! `managedFields` go (noise that can triple an object's size), and a Secret keeps its key names
//! but never its values, not even inside the `last-applied-configuration` annotation that
//! `kubectl apply` leaves with the whole Secret in it.

use serde_json::Value;

/// The annotation `kubectl apply` writes with the full object, values included.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Trims and redacts one object in place.
pub fn sanitize(obj: &mut Value) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    if obj.get("kind").and_then(Value::as_str) == Some("Secret") {
        redact_secret(obj);
    }
}

/// Replaces every value of a Secret's `data` and `stringData` with a marker that keeps only
/// the value's size, and drops the last-applied annotation.
pub fn redact_secret(obj: &mut Value) {
    for field in ["data", "stringData"] {
        if let Some(map) = obj.get_mut(field).and_then(Value::as_object_mut) {
            for v in map.values_mut() {
                let len = v.as_str().map(str::len).unwrap_or(0);
                *v = Value::String(format!("<redacted by kudo-diag: {len} bytes>"));
            }
        }
    }
    if let Some(ann) = obj
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        if ann.remove(LAST_APPLIED).is_some() {
            ann.insert(
                LAST_APPLIED.to_string(),
                Value::String("<redacted by kudo-diag>".into()),
            );
        }
    }
}

/// An object as YAML (one document, no leading `---`).
pub fn to_yaml(obj: &Value) -> Vec<u8> {
    serde_yaml::to_string(obj)
        .expect("a JSON value serializes to YAML")
        .into_bytes()
}

/// Name and namespace of an object, for messages and per-object paths.
pub fn name_of(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

pub fn namespace_of(obj: &Value) -> &str {
    obj.pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn trims_managed_fields() {
        let mut o = json!({"kind": "Pod", "metadata": {"name": "p", "managedFields": [{"manager": "x"}]}});
        sanitize(&mut o);
        assert_eq!(o, json!({"kind": "Pod", "metadata": {"name": "p"}}));
    }

    #[test]
    fn secrets_keep_key_names_but_no_values() {
        let mut o = json!({
            "kind": "Secret",
            "metadata": {"name": "s", "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"password\":\"aHVudGVyMg==\"}}",
                "team": "db"}},
            "data": {"password": "aHVudGVyMg=="},
            "stringData": {"token": "hunter2"}
        });
        sanitize(&mut o);
        let text = String::from_utf8(to_yaml(&o)).unwrap();
        assert!(!text.contains("aHVudGVyMg=="), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("password: '<redacted by kudo-diag: 12 bytes>'"), "{text}");
        assert!(text.contains("team: db"));
    }
}
