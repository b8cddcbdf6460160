//! Label and field selectors as the API server parses them (`app=x,tier!=db`,
//! `env in (a,b)`, `!canary`, `status.phase=Running`), with its error messages.

use std::borrow::Cow;

use serde_json::Value;

use super::status::ApiStatus;

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelReq {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector: every requirement must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector(pub Vec<LabelReq>);

impl LabelSelector {
    /// Parses the `labelSelector` query parameter.
    pub fn parse(s: &str) -> Result<LabelSelector, ApiStatus> {
        let bad = |why: &str| {
            ApiStatus::bad_request(format!(
                "unable to parse requirement: {why} in label selector {s:?}"
            ))
        };
        let mut reqs = Vec::new();
        for part in split_top_level(s) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            if let Some(key) = part.strip_prefix('!') {
                reqs.push(LabelReq::NotExists(
                    check_key(key.trim()).map_err(|w| bad(&w))?,
                ));
                continue;
            }
            if let Some((k, v)) = part.split_once("!=") {
                reqs.push(LabelReq::NotEq(
                    check_key(k.trim()).map_err(|w| bad(&w))?,
                    v.trim().into(),
                ));
                continue;
            }
            if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                reqs.push(LabelReq::Eq(
                    check_key(k.trim()).map_err(|w| bad(&w))?,
                    v.trim().into(),
                ));
                continue;
            }
            let words: Vec<&str> = part.splitn(2, char::is_whitespace).collect();
            if words.len() == 2 {
                let key = check_key(words[0]).map_err(|w| bad(&w))?;
                let rest = words[1].trim();
                let (op, set) = if let Some(r) = rest.strip_prefix("notin") {
                    ("notin", r)
                } else if let Some(r) = rest.strip_prefix("in") {
                    ("in", r)
                } else {
                    return Err(bad(&format!("unknown operator in {part:?}")));
                };
                let set = set.trim();
                let inner = set
                    .strip_prefix('(')
                    .and_then(|x| x.strip_suffix(')'))
                    .ok_or_else(|| bad(&format!("expected a (value, ...) set in {part:?}")))?;
                let values: Vec<String> = inner
                    .split(',')
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty())
                    .collect();
                reqs.push(if op == "in" {
                    LabelReq::In(key, values)
                } else {
                    LabelReq::NotIn(key, values)
                });
                continue;
            }
            if part.contains(['<', '>', '(', ')', ' ']) {
                return Err(bad(&format!("unsupported requirement {part:?}")));
            }
            reqs.push(LabelReq::Exists(check_key(part).map_err(|w| bad(&w))?));
        }
        Ok(LabelSelector(reqs))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether an object's `metadata.labels` satisfy every requirement.
    pub fn matches(&self, obj: &Value) -> bool {
        let labels = &obj["metadata"]["labels"];
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            LabelReq::Eq(k, v) => get(k) == Some(v.as_str()),
            LabelReq::NotEq(k, v) => get(k) != Some(v.as_str()),
            LabelReq::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            LabelReq::NotIn(k, vs) => !get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            LabelReq::Exists(k) => get(k).is_some(),
            LabelReq::NotExists(k) => get(k).is_none(),
        })
    }
}

/// Splits on commas outside parentheses (`a in (x,y),b` -> `a in (x,y)`, `b`).
fn split_top_level(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn check_key(k: &str) -> Result<String, String> {
    let ok = !k.is_empty()
        && k.len() <= 316
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if ok {
        Ok(k.to_string())
    } else {
        Err(format!("invalid label key {k:?}"))
    }
}

/// One requirement of a field selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldReq {
    pub field: String,
    pub value: String,
    pub negated: bool,
}

/// A parsed field selector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector(pub Vec<FieldReq>);

/// Fields every resource can be selected by.
const COMMON_FIELDS: &[&str] = &["metadata.name", "metadata.namespace"];

/// Extra selectable fields of a resource (by plural), as the real server registers them.
fn extra_fields(plural: &str) -> &'static [&'static str] {
    match plural {
        "pods" => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        "events" => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        "nodes" => &["spec.unschedulable"],
        "secrets" => &["type"],
        "namespaces" => &["status.phase"],
        "replicasets" | "replicationcontrollers" => &["status.replicas"],
        "jobs" => &["status.successful"],
        _ => &[],
    }
}

impl FieldSelector {
    /// Parses the `fieldSelector` query parameter, checking the fields against what `plural`
    /// supports.
    pub fn parse(s: &str, plural: &str) -> Result<FieldSelector, ApiStatus> {
        let mut reqs = Vec::new();
        for part in s.split(',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (field, value, negated) = if let Some((f, v)) = part.split_once("!=") {
                (f, v, true)
            } else if let Some((f, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                (f, v, false)
            } else {
                return Err(ApiStatus::bad_request(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            let field = field.trim();
            if !COMMON_FIELDS.contains(&field) && !extra_fields(plural).contains(&field) {
                return Err(ApiStatus::bad_request(format!(
                    "field label not supported: {field}"
                )));
            }
            reqs.push(FieldReq {
                field: field.into(),
                value: value.trim().into(),
                negated,
            });
        }
        Ok(FieldSelector(reqs))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|r| {
            let actual = field_value(obj, &r.field);
            (actual == r.value.as_str()) != r.negated
        })
    }
}

/// The string value of a selectable field (`""` when absent, as the server indexes it), read
/// in place: a list filters every object of its kind with it.
fn field_value<'a>(obj: &'a Value, field: &str) -> Cow<'a, str> {
    let v = if field == "source" {
        // Events index `source` as the reporting component, falling back to source.component.
        let rc = &obj["reportingComponent"];
        if rc.as_str().is_some_and(|s| !s.is_empty()) {
            rc
        } else {
            &obj["source"]["component"]
        }
    } else {
        field.split('.').fold(obj, |cur, key| &cur[key])
    };
    match v {
        Value::String(s) => Cow::Borrowed(s),
        Value::Bool(b) => Cow::Owned(b.to_string()),
        Value::Number(n) => Cow::Owned(n.to_string()),
        Value::Null => {
            if field == "spec.unschedulable" || field == "spec.hostNetwork" {
                Cow::Borrowed("false")
            } else {
                Cow::Borrowed("")
            }
        }
        other => Cow::Owned(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(labels: Value) -> Value {
        json!({"metadata": {"name": "p", "namespace": "ns", "labels": labels},
               "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}})
    }

    #[test]
    fn label_selector_operators() {
        let p = pod(json!({"app": "x", "tier": "web"}));
        let m = |s: &str| LabelSelector::parse(s).unwrap().matches(&p);
        assert!(m("app=x"));
        assert!(m("app==x"));
        assert!(!m("app!=x"));
        assert!(m("app in (x, y),tier"));
        assert!(!m("app notin (x,y)"));
        assert!(m("tier notin (db)"));
        assert!(m("!canary"));
        assert!(!m("!app"));
        assert!(!m("canary"));
        assert!(m(""));
        assert!(LabelSelector::parse("app in x").is_err());
        assert!(LabelSelector::parse("a b c").is_err());
    }

    #[test]
    fn field_selector_checks_supported_fields() {
        let p = pod(json!({}));
        let m = |s: &str| FieldSelector::parse(s, "pods").unwrap().matches(&p);
        assert!(m("status.phase=Running,spec.nodeName=n1"));
        assert!(!m("status.phase!=Running"));
        assert!(m("metadata.name=p,metadata.namespace==ns"));
        let e = FieldSelector::parse("spec.foo=1", "pods").unwrap_err();
        assert_eq!(e.code, 400);
        assert!(e.message.contains("field label not supported: spec.foo"));
        assert!(FieldSelector::parse("status.phase=Running", "services").is_err());
        let ev = json!({"involvedObject": {"kind": "Pod", "name": "p"}});
        assert!(
            FieldSelector::parse("involvedObject.kind=Pod,involvedObject.name=p", "events")
                .unwrap()
                .matches(&ev)
        );
    }
}
