//! What happens to every Kubernetes object before it reaches the bundle or a fan-out item:
//! `managedFields` go (noise that can triple an object's size), and the bundle's object
//! redaction (`bundle::redact::redact_k8s_object`: Secret values, secret-looking env values, the
//! `last-applied-configuration` copy of both) is applied here too, so that the items a list
//! returns, which the engine journals on disk, never hold a secret either. The sink redacts
//! text again as it is written; applying the object rules first keeps the key names readable.

use serde_json::Value;

use crate::bundle::redact::redact_k8s_object;

/// Trims and redacts one object in place.
pub fn sanitize(obj: &mut Value) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    redact_k8s_object(obj);
}

/// An object as YAML (one document, no leading `---`).
pub fn to_yaml(obj: &Value) -> Vec<u8> {
    crate::yaml::to_string(obj)
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
        let mut o =
            json!({"kind": "Pod", "metadata": {"name": "p", "managedFields": [{"manager": "x"}]}});
        sanitize(&mut o);
        assert_eq!(o, json!({"kind": "Pod", "metadata": {"name": "p"}}));
    }

    #[test]
    fn secrets_keep_key_names_but_no_values() {
        let mut o = json!({
            "kind": "Secret",
            "metadata": {"name": "s", "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{\"kind\":\"Secret\",\"data\":{\"password\":\"aHVudGVyMg==\"}}",
                "team": "db"}},
            "data": {"password": "aHVudGVyMg=="},
            "stringData": {"token": "hunter2"}
        });
        sanitize(&mut o);
        let text = String::from_utf8(to_yaml(&o)).unwrap();
        assert!(!text.contains("aHVudGVyMg=="), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        let back: Value = crate::yaml::from_str(&text).unwrap();
        assert_eq!(back["data"]["password"], "**REDACTED**", "{text}");
        assert!(text.contains("team: db"));
    }
}
