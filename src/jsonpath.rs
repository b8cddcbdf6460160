//! Kubernetes' JSONPath dialect (client-go `util/jsonpath`, what kubectl `-o jsonpath`, CRD
//! `additionalPrinterColumns` and KUDO's redact entries use), evaluated with the maintained
//! `jsonpath-rust` crate.
//!
//! The dialect is a template: text, and actions in braces (`{.status.phase}`,
//! `{range .items[*]}{.metadata.name}{"\n"}{end}`, quoted literals `{"\t"}`). An action's path
//! starts at `.` (the current object), `$` or `@`, and uses the JSONPath steps the crate parses:
//! `.key`, `['key.with.dots']`, `[0]`, `[-1]`, `[1:3]`, `[*]`, `..key`, unions and filters
//! (`[?(@.type=="Ready")]`). The translation here only adds the root (`$`), turns `\.`-escaped
//! and non-identifier keys into bracket keys, and splits the template; every step is the
//! crate's.
//!
//! Results print as client-go prints them without JSON output (what the API server does for
//! `string` printer columns): strings as they are, other values in Go's `fmt` form
//! (`map[a:1 b:x]`, `[a b]`), several results of one action separated by a space.

use jsonpath_rust::{JsonPath, JsonPtr};
use serde_json::Value;

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Path(Box<JsonPath<Value>>),
    /// `{range PATH}...{end}`: the body once per result, with that result as `.`.
    Range(Box<JsonPath<Value>>, Vec<Part>),
}

impl Template {
    /// Parses a template (`{.status.phase}`); a bare path (`.status.phase`) is one action, as
    /// the API server wraps a printer column's `jsonPath` in braces.
    pub fn parse(text: &str) -> Result<Template, String> {
        let trimmed = text.trim();
        let wrapped;
        let src = if trimmed.contains('{') {
            text
        } else if trimmed.starts_with(['.', '$', '@', '[']) {
            wrapped = format!("{{{trimmed}}}");
            &wrapped
        } else {
            return Err(format!(
                "JSONPath {text:?} must start with . or $ or be a template in braces, like {{.status.phase}}"
            ));
        };
        let tokens = tokenize(src)?;
        let mut pos = 0;
        let parts = build(&tokens, &mut pos, text)?;
        if pos < tokens.len() {
            return Err(format!(
                "JSONPath {text:?} has an {{end}} without a {{range}}"
            ));
        }
        Ok(Template { parts })
    }

    /// Every value the template's actions name, in order (the text and range bodies' literals
    /// are left out): what `FindResults` gives, flattened.
    pub fn values<'a>(&'a self, obj: &'a Value) -> Vec<Value> {
        let mut out = Vec::new();
        collect_values(&self.parts, obj, &mut out);
        out
    }

    /// The first value the template names, if any (what a printer column's cell comes from).
    pub fn first(&self, obj: &Value) -> Option<Value> {
        self.values(obj).into_iter().next()
    }

    /// The template printed for `obj`, as `kubectl -o jsonpath` would without JSON output.
    pub fn render(&self, obj: &Value) -> String {
        let mut out = String::new();
        render_parts(&self.parts, obj, &mut out);
        out
    }
}

/// A value in Go's `fmt.Sprint` form, as client-go's JSONPath prints a non-string result.
pub fn go_text(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_text).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            // Go prints a map's keys sorted.
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .iter()
                .map(|k| format!("{k}:{}", go_text(&m[k.as_str()])))
                .collect();
            format!("map[{}]", inner.join(" "))
        }
    }
}

#[derive(Debug, PartialEq)]
enum Token {
    Text(String),
    Action(String),
}

/// Splits a template into text and the insides of `{...}` (quotes inside an action may hold
/// braces).
fn tokenize(src: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut chars = src.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '{' {
            text.push(c);
            continue;
        }
        if !text.is_empty() {
            out.push(Token::Text(std::mem::take(&mut text)));
        }
        let mut action = String::new();
        let mut quote: Option<char> = None;
        let mut closed = false;
        while let Some(c) = chars.next() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), '\\') => {
                    action.push(c);
                    if let Some(n) = chars.next() {
                        action.push(n);
                    }
                    continue;
                }
                (None, '"' | '\'') => quote = Some(c),
                (None, '}') => {
                    closed = true;
                    break;
                }
                _ => {}
            }
            action.push(c);
        }
        if !closed {
            return Err(format!("JSONPath {src:?} has an unclosed {{"));
        }
        out.push(Token::Action(action.trim().to_string()));
    }
    if !text.is_empty() {
        out.push(Token::Text(text));
    }
    Ok(out)
}

fn build(tokens: &[Token], pos: &mut usize, src: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    while *pos < tokens.len() {
        let tok = &tokens[*pos];
        *pos += 1;
        match tok {
            Token::Text(t) => parts.push(Part::Text(t.clone())),
            Token::Action(a) if a == "end" => {
                *pos -= 1;
                return Ok(parts);
            }
            Token::Action(a) => {
                if let Some(path) = a.strip_prefix("range ") {
                    let path = compile(path.trim(), src)?;
                    let body = build(tokens, pos, src)?;
                    if !matches!(tokens.get(*pos), Some(Token::Action(e)) if e == "end") {
                        return Err(format!(
                            "JSONPath {src:?} has a {{range}} without an {{end}}"
                        ));
                    }
                    *pos += 1;
                    parts.push(Part::Range(Box::new(path), body));
                } else if let Some(lit) = quoted(a) {
                    parts.push(Part::Text(lit));
                } else {
                    parts.push(Part::Path(Box::new(compile(a, src)?)));
                }
            }
        }
    }
    Ok(parts)
}

/// A quoted literal action (`{"\n"}`), unescaped.
fn quoted(a: &str) -> Option<String> {
    let q = a.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let inner = a.strip_prefix(q)?.strip_suffix(q)?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(o) => out.push(o),
            None => out.push('\\'),
        }
    }
    Some(out)
}

/// One action's path, in the crate's syntax.
fn compile(path: &str, src: &str) -> Result<JsonPath<Value>, String> {
    let translated = translate(path);
    JsonPath::try_from(translated.as_str())
        .map_err(|e| format!("JSONPath {src:?} is not valid ({path:?}: {e})"))
}

/// `.a.b` -> `$.a.b`; `@.a` -> `$.a` (the current object is the root the crate is given);
/// `.labels.app\.kubernetes\.io/name` and keys the crate would not read bare -> `['...']`.
fn translate(path: &str) -> String {
    let body = path
        .strip_prefix('$')
        .or_else(|| path.strip_prefix('@'))
        .unwrap_or(path);
    let mut out = String::from("$");
    let mut chars = body.chars().peekable();
    let mut depth = 0usize;
    while let Some(c) = chars.next() {
        if depth == 0 && c == '.' && chars.peek().is_some_and(|n| *n != '.' && *n != '[') {
            // A key: up to the next unescaped `.` or `[`.
            let mut key = String::new();
            while let Some(&n) = chars.peek() {
                if n == '.' || n == '[' {
                    break;
                }
                chars.next();
                if n == '\\' && chars.peek() == Some(&'.') {
                    key.push('.');
                    chars.next();
                    continue;
                }
                key.push(n);
            }
            if key == "*"
                || key
                    .chars()
                    .all(|k| k.is_ascii_alphanumeric() || "_-/#".contains(k))
            {
                out.push('.');
                out.push_str(&key);
            } else {
                out.push_str(&format!("['{}']", key.replace('\'', "\\'")));
            }
            continue;
        }
        if c == '[' && depth == 0 {
            // `[-2]`: client-go reads a negative index as a one-element slice; the crate
            // takes negative positions only in slices.
            let rest: String = chars.clone().take_while(|n| *n != ']').collect();
            if let Some(n) = rest.strip_prefix('-').and_then(|d| d.parse::<i64>().ok()) {
                let end = if n == 1 {
                    String::new()
                } else {
                    format!("-{}", n - 1)
                };
                out.push_str(&format!("[-{n}:{end}]"));
                for _ in 0..=rest.len() {
                    chars.next();
                }
                continue;
            }
        }
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        out.push(c);
    }
    out
}

fn found<'a>(path: &'a JsonPath<Value>, obj: &'a Value) -> Vec<Value> {
    path.find_slice_ptr(obj)
        .into_iter()
        .map(|p| match p {
            JsonPtr::Slice(v) => v.clone(),
            JsonPtr::NewValue(v) => v,
        })
        .collect()
}

fn collect_values(parts: &[Part], obj: &Value, out: &mut Vec<Value>) {
    for p in parts {
        match p {
            Part::Text(_) => {}
            Part::Path(path) => out.extend(found(path, obj)),
            Part::Range(path, body) => {
                for item in found(path, obj) {
                    collect_values(body, &item, out);
                }
            }
        }
    }
}

fn render_parts(parts: &[Part], obj: &Value, out: &mut String) {
    for p in parts {
        match p {
            Part::Text(t) => out.push_str(t),
            Part::Path(path) => {
                let texts: Vec<String> = found(path, obj).iter().map(go_text).collect();
                out.push_str(&texts.join(" "));
            }
            Part::Range(path, body) => {
                for item in found(path, obj) {
                    render_parts(body, &item, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn longhorn_volume() -> Value {
        json!({
            "metadata": {"name": "pvc-1", "labels": {"app.kubernetes.io/name": "longhorn"}},
            "status": {
                "state": "attached",
                "conditions": {
                    "scheduled": {"status": "True", "reason": ""},
                    "restore": {"status": "False", "reason": ""}
                },
                "list": [
                    {"type": "Ready", "status": "True"},
                    {"type": "Synced", "status": "False"}
                ]
            },
            "spec": {"size": "2147483648", "replicas": 3}
        })
    }

    #[test]
    fn bracket_keys_select_inside_maps() {
        let v = longhorn_volume();
        let t = Template::parse(".status.conditions['scheduled']['status']").unwrap();
        assert_eq!(t.first(&v), Some(json!("True")));
        let t = Template::parse("{.status.conditions.restore.status}").unwrap();
        assert_eq!(t.render(&v), "False");
    }

    #[test]
    fn filters_indexes_slices_and_wildcards() {
        let v = longhorn_volume();
        let ready = Template::parse(r#"{.status.list[?(@.type=="Ready")].status}"#).unwrap();
        assert_eq!(ready.render(&v), "True");
        assert_eq!(
            Template::parse("{.status.list[-1].type}")
                .unwrap()
                .render(&v),
            "Synced"
        );
        assert_eq!(
            Template::parse("{.status.list[*].type}")
                .unwrap()
                .render(&v),
            "Ready Synced"
        );
        assert_eq!(
            Template::parse("{.status.list[0:1].type}")
                .unwrap()
                .render(&v),
            "Ready"
        );
        assert_eq!(Template::parse("{..reason}").unwrap().values(&v).len(), 2);
    }

    #[test]
    fn escaped_dots_and_bracket_keys_name_label_keys() {
        let v = longhorn_volume();
        for p in [
            r"{.metadata.labels.app\.kubernetes\.io/name}",
            "{.metadata.labels['app.kubernetes.io/name']}",
        ] {
            assert_eq!(Template::parse(p).unwrap().render(&v), "longhorn", "{p}");
        }
    }

    #[test]
    fn templates_with_range_and_literals() {
        let list = json!({"items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}]});
        let t = Template::parse(r#"{range .items[*]}{.metadata.name}{"\n"}{end}"#).unwrap();
        assert_eq!(t.render(&list), "a\nb\n");
        let t = Template::parse("names: {.items[*].metadata.name}").unwrap();
        assert_eq!(t.render(&list), "names: a b");
    }

    #[test]
    fn non_strings_print_as_go_does() {
        let v = longhorn_volume();
        let t = Template::parse("{.status.conditions.scheduled}").unwrap();
        assert_eq!(t.render(&v), "map[reason: status:True]");
        assert_eq!(Template::parse("{.spec.replicas}").unwrap().render(&v), "3");
    }

    #[test]
    fn missing_keys_give_nothing_and_bad_paths_say_why() {
        let v = longhorn_volume();
        assert_eq!(Template::parse("{.status.nope}").unwrap().first(&v), None);
        let e = Template::parse("status").unwrap_err();
        assert!(e.contains("must start with ."), "{e}");
        assert!(Template::parse("{.a").unwrap_err().contains("unclosed"));
        assert!(Template::parse("{range .items[*]}{.a}")
            .unwrap_err()
            .contains("without an {end}"));
        assert!(Template::parse("{.a[?(}").is_err());
    }
}
