//! `{{ var.path }}` templates in task parameters and output paths.
//!
//! Deliberately tiny: a template is text with `{{ dotted.path }}` holes, looked up in a JSON
//! object of variables. No logic, so that pipelines stay data and every variable can be checked
//! before a run (`variables` lists what a template refers to).

use serde_json::Value;

/// The run's global variables, available to every task's templates. The engine fills them in
/// from the target it collects (docs/pipelines.md, "Templates", describes each); a fan-out task
/// also sees its `forEach` bindings. Validation rejects any other variable root.
pub const GLOBALS: &[&str] = &[
    // The KUDO Instance being diagnosed and its namespace.
    "instance",
    "namespace",
    // The KUDO Operator and OperatorVersion of the instance (`cassandra`, `1.0.0`).
    "operator",
    "operatorVersion",
    // The application's version from the OperatorVersion (`appVersion`, e.g. `3.11.6`).
    "appVersion",
    // Where KUDO's manager runs (`kudo-system`) and its version.
    "kudoNamespace",
    "kudoVersion",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unclosed `{{{{` in template {template:?}")]
    Unclosed { template: String },
    #[error("empty `{{{{ }}}}` in template {template:?}")]
    Empty { template: String },
    #[error("unknown variable `{var}` in template {template:?}")]
    Unknown { var: String, template: String },
}

/// The variable paths a template refers to, in order (`{{pod.metadata.name}}` -> `pod.metadata.name`).
pub fn variables(template: &str) -> Result<Vec<String>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| TemplateError::Unclosed {
            template: template.to_string(),
        })?;
        let var = after[..end].trim();
        if var.is_empty() {
            return Err(TemplateError::Empty {
                template: template.to_string(),
            });
        }
        out.push(var.to_string());
        rest = &after[end + 2..];
    }
    Ok(out)
}

/// Looks a dotted path up in `vars`; numeric segments index arrays.
pub fn lookup<'a>(vars: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(vars, |v, seg| match v {
        Value::Object(m) => m.get(seg),
        Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

/// Renders one template string.
pub fn render(template: &str, vars: &Value) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| TemplateError::Unclosed {
            template: template.to_string(),
        })?;
        let var = after[..end].trim();
        let value = lookup(vars, var).ok_or_else(|| TemplateError::Unknown {
            var: var.to_string(),
            template: template.to_string(),
        })?;
        match value {
            Value::String(s) => out.push_str(s),
            Value::Null => {}
            other => out.push_str(&other.to_string()),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Renders every string inside a JSON value. A string that is exactly one `{{var}}` keeps the
/// variable's JSON type (so `replicas: "{{n}}"` can stay a number, a list stays a list).
pub fn render_value(value: &Value, vars: &Value) -> Result<Value, TemplateError> {
    Ok(match value {
        Value::String(s) => {
            let t = s.trim();
            if t.starts_with("{{") && t.ends_with("}}") && t.matches("{{").count() == 1 {
                let var = t[2..t.len() - 2].trim();
                lookup(vars, var)
                    .cloned()
                    .ok_or_else(|| TemplateError::Unknown {
                        var: var.to_string(),
                        template: s.clone(),
                    })?
            } else {
                Value::String(render(s, vars)?)
            }
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|v| render_value(v, vars))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| Ok((k.clone(), render_value(v, vars)?)))
                .collect::<Result<_, TemplateError>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_paths_and_keeps_types_for_whole_values() {
        let vars = json!({"pod": {"metadata": {"name": "c-0"}}, "n": 3, "l": [1, 2]});
        assert_eq!(
            render("pods/{{ pod.metadata.name }}/x", &vars).unwrap(),
            "pods/c-0/x"
        );
        assert_eq!(
            render_value(&json!({"a": "{{n}}", "b": "{{l}}", "c": "n={{n}}"}), &vars).unwrap(),
            json!({"a": 3, "b": [1, 2], "c": "n=3"})
        );
    }

    #[test]
    fn reports_unknown_and_unclosed() {
        let vars = json!({});
        assert!(matches!(
            render("{{nope}}", &vars),
            Err(TemplateError::Unknown { .. })
        ));
        assert!(matches!(
            variables("a {{b"),
            Err(TemplateError::Unclosed { .. })
        ));
        assert_eq!(variables("{{a}}-{{ b.c }}").unwrap(), vec!["a", "b.c"]);
    }
}
