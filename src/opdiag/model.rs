//! The `diagnostics` key of an operator package's operator.yaml, as KUDO's revision of KEP-22
//! defines it:
//!
//! ```yaml
//! diagnostics:
//!   bundle:
//!     resources:
//!       - name: zookeeper-conf
//!         kind: Copy                       # Copy | Command | Request
//!         spec: {path: /conf/zoo.cfg, selector: {matchLabels: {app: zookeeper}}}
//!     redact:
//!       - spec: {regex: "secret=\\S+"}
//!       - spec: {objectRef: {kind: ConfigMap, name: x}, jsonPath: "{.data.password}"}
//!   redactSecrets: true                    # default
//! ```
//!
//! Entries keep their `spec` as JSON: a bad entry is reported (by `plan`) without making the
//! whole key unreadable.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnostics {
    #[serde(default)]
    pub bundle: BundleSpec,
    /// Every value of the instance's Secrets is redacted wherever it appears.
    #[serde(default = "yes")]
    pub redact_secrets: bool,
}

impl Default for Diagnostics {
    fn default() -> Self {
        Diagnostics {
            bundle: BundleSpec::default(),
            redact_secrets: true,
        }
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleSpec {
    #[serde(default)]
    pub resources: Vec<ResourceEntry>,
    #[serde(default)]
    pub redact: Vec<RedactEntry>,
}

/// One artifact to collect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceEntry {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `Copy`, `Command` or `Request`.
    pub kind: String,
    #[serde(default)]
    pub spec: Value,
}

/// One redaction filter: `spec.regex`, or `spec.objectRef` plus `spec.jsonPath`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedactEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub spec: Value,
}

/// The `diagnostics` key of an operator.yaml text: `Ok(None)` when it has none.
pub fn from_operator_yaml(text: &str) -> Result<Option<Diagnostics>, String> {
    let doc: Value =
        crate::yaml::from_str(text).map_err(|e| format!("operator.yaml is not valid YAML: {e}"))?;
    match doc.get("diagnostics") {
        None | Some(Value::Null) => Ok(None),
        Some(d) => from_value(d).map(Some),
    }
}

/// The key's value (what follows `diagnostics:`), as JSON.
pub fn from_value(v: &Value) -> Result<Diagnostics, String> {
    serde_json::from_value(v.clone()).map_err(|e| {
        format!("the `diagnostics` key does not have the expected shape: {e}; see docs/operator-developers.md")
    })
}

/// The key's value as a YAML text (an annotation's or a ConfigMap's value); a text with a
/// top-level `diagnostics:` is accepted too.
pub fn from_yaml(text: &str) -> Result<Diagnostics, String> {
    let v: Value = crate::yaml::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
    match v.get("diagnostics") {
        Some(inner) => from_value(inner),
        None => from_value(&v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_key_with_defaults() {
        let d = from_operator_yaml(
            "name: zookeeper\ndiagnostics:\n  bundle:\n    resources:\n    - {name: a, kind: Copy, spec: {path: /x}}\n",
        )
        .unwrap()
        .unwrap();
        assert!(d.redact_secrets);
        assert_eq!(d.bundle.resources[0].kind, "Copy");
        assert!(from_operator_yaml("name: x\n").unwrap().is_none());
        let off = from_yaml("redactSecrets: false\n").unwrap();
        assert!(!off.redact_secrets);
        let err = from_operator_yaml("diagnostics:\n  bundle:\n    resources: 3\n").unwrap_err();
        assert!(err.contains("expected shape"), "{err}");
    }
}
