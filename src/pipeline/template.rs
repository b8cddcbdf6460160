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
    render_with(template, vars, |s, out| out.push_str(s))
}

/// Renders a template that is a shell script (`command: [sh, -c, SCRIPT]`): every value is
/// substituted as one POSIX single-quoted word, so a value like `x; touch /tmp/y #` (a pod
/// annotation, an object's name from the API server) is data, never code.
pub fn render_shell(template: &str, vars: &Value) -> Result<String, TemplateError> {
    render_with(template, vars, |s, out| out.push_str(&shell_quote(s)))
}

/// `value` as one POSIX shell word: single-quoted, each `'` written as `'\''`.
pub fn shell_quote(value: &str) -> String {
    let mut q = String::with_capacity(value.len() + 2);
    q.push('\'');
    for c in value.chars() {
        if c == '\'' {
            q.push_str("'\\''");
        } else {
            q.push(c);
        }
    }
    q.push('\'');
    q
}

/// Where the script is in an argv that runs a shell on a script (`[sh, -c, SCRIPT, ...]`,
/// `[/bin/bash, -ec, SCRIPT]`): the index of SCRIPT, if the argv is one.
pub fn shell_script_index(argv: &[Value]) -> Option<usize> {
    const SHELLS: &[&str] = &["sh", "bash", "dash", "ash", "ksh", "zsh", "busybox"];
    let program = argv.first()?.as_str()?;
    let base = program.rsplit('/').next().unwrap_or(program);
    if !SHELLS.contains(&base) {
        return None;
    }
    let mut i = 1;
    // `busybox sh -c`: the applet name comes first.
    if base == "busybox" && argv.get(1).and_then(Value::as_str) == Some("sh") {
        i = 2;
    }
    while let Some(arg) = argv.get(i).and_then(Value::as_str) {
        if !arg.starts_with('-') || arg == "--" {
            return None;
        }
        if !arg.starts_with("--") && arg.contains('c') {
            return argv.get(i + 1).map(|_| i + 1);
        }
        i += 1;
    }
    None
}

fn render_with(
    template: &str,
    vars: &Value,
    substitute: impl Fn(&str, &mut String),
) -> Result<String, TemplateError> {
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
            Value::String(s) => substitute(s, &mut out),
            Value::Null => substitute("", &mut out),
            other => substitute(&other.to_string(), &mut out),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Renders every string inside a JSON value. A string that is exactly one `{{var}}` keeps the
/// variable's JSON type (so `replicas: "{{n}}"` can stay a number, a list stays a list). The
/// script of a shell argv (`[sh, -c, SCRIPT]`) is rendered with [`render_shell`].
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
        Value::Array(a) => {
            let script = shell_script_index(a);
            Value::Array(
                a.iter()
                    .enumerate()
                    .map(|(i, v)| match (Some(i) == script, v) {
                        (true, Value::String(s)) => Ok(Value::String(render_shell(s, vars)?)),
                        _ => render_value(v, vars),
                    })
                    .collect::<Result<_, _>>()?,
            )
        }
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

    /// Issue 14: a value substituted into an `sh -c` script is one quoted word, whatever it
    /// holds; the same value in an argv list is passed as it is.
    #[test]
    fn values_in_shell_scripts_are_quoted() {
        let vars = json!({"pod": {"note": "hello; touch /tmp/x #", "q": "it's"}});
        let params = json!({"command": ["sh", "-c", "echo {{pod.note}} && echo {{pod.q}}"],
                            "other": ["/bin/bash", "-ec", "printf %s {{pod.note}}"],
                            "argv": ["echo", "{{pod.note}}"]});
        let got = render_value(&params, &vars).unwrap();
        assert_eq!(
            got["command"][2],
            "echo 'hello; touch /tmp/x #' && echo 'it'\\''s'"
        );
        assert_eq!(got["other"][2], "printf %s 'hello; touch /tmp/x #'");
        assert_eq!(got["argv"][1], "hello; touch /tmp/x #");
        // Run the rendered script with a real shell when there is one: the value is printed,
        // the injected command does not run.
        let dir = std::env::temp_dir().join(format!("kudo-diag-quote-{}", std::process::id()));
        let marker = dir.join("x");
        let vars =
            json!({"v": format!("a; mkdir -p {} && touch {} #", dir.display(), marker.display())});
        let script = render_shell("echo {{v}}", &vars).unwrap();
        if let Ok(o) = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
        {
            assert!(!marker.exists(), "the injected command ran");
            assert!(String::from_utf8_lossy(&o.stdout).contains("a; mkdir"));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn shell_scripts_are_found_in_argvs() {
        let idx = |v: Value| shell_script_index(v.as_array().unwrap());
        assert_eq!(idx(json!(["sh", "-c", "x"])), Some(2));
        assert_eq!(idx(json!(["/bin/bash", "-e", "-c", "x"])), Some(3));
        assert_eq!(idx(json!(["busybox", "sh", "-c", "x"])), Some(3));
        assert_eq!(idx(json!(["nodetool", "-c", "x"])), None);
        assert_eq!(idx(json!(["sh", "script.sh"])), None);
        assert_eq!(idx(json!(["sh", "-c"])), None);
    }
}
