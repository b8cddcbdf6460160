//! Template values, how Go prints them, and the template error.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A template value: what Go templates see after KUDO converted the parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    /// Not known before install (named by what it stands for, e.g. `.Pipes.certificate`).
    Unknown(String),
}

impl Value {
    /// Go's truth: false, 0, nil, empty string, list or map are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Unknown(_) => true,
        }
    }

    /// Converts parsed YAML (or JSON) into a template value.
    pub fn from_yaml(v: &serde_json::Value) -> Value {
        use serde_json::Value as Y;
        match v {
            Y::Null => Value::Nil,
            Y::Bool(b) => Value::Bool(*b),
            Y::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(0.0)),
            },
            Y::String(s) => Value::Str(s.clone()),
            Y::Array(s) => Value::List(s.iter().map(Value::from_yaml).collect()),
            Y::Object(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), Value::from_yaml(v)))
                    .collect(),
            ),
        }
    }

    pub(super) fn to_yaml(&self) -> serde_json::Value {
        use serde_json::Value as Y;
        match self {
            Value::Nil => Y::Null,
            Value::Bool(b) => Y::Bool(*b),
            Value::Int(i) => Y::Number((*i).into()),
            // JSON has no NaN or infinity; such a float is nil, as it has no YAML form either.
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Y::Null, Y::Number),
            Value::Str(s) => Y::String(s.clone()),
            Value::Unknown(s) => Y::String(unknown_text(s)),
            Value::List(l) => Y::Array(l.iter().map(Value::to_yaml).collect()),
            Value::Map(m) => Y::Object(m.iter().map(|(k, v)| (k.clone(), v.to_yaml())).collect()),
        }
    }

    pub(super) fn kind(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Unknown(_) => "unknown",
        }
    }
}

/// How an unknown value prints in rendered output: visible and valid inside YAML.
pub fn unknown_text(what: &str) -> String {
    format!("UNKNOWN({what})")
}

/// Go's `fmt` `%v` for template output.
pub(super) fn print(v: &Value, out: &mut String) {
    match v {
        Value::Nil => out.push_str("<no value>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e21 {
                let _ = write!(out, "{}", *f as i64);
            } else {
                let _ = write!(out, "{f}");
            }
        }
        Value::Str(s) => out.push_str(s),
        Value::Unknown(s) => out.push_str(&unknown_text(s)),
        Value::List(l) => {
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                print(x, out);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                print(x, out);
            }
            out.push(']');
        }
    }
}

pub(super) fn to_string(v: &Value) -> String {
    let mut s = String::new();
    match v {
        Value::Nil => {}
        other => print(other, &mut s),
    }
    s
}

/// A template error: the template's name, the line, and what went wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{template}:{line}: {message}")]
pub struct TemplateError {
    pub template: String,
    pub line: usize,
    pub message: String,
}
