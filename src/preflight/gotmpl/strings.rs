//! sprig's string functions, with the argument order sprig gives them (the string last, so it
//! can be piped).

use super::funcs::{arity, to_i64, Func};
use super::value::{to_string, Value};

pub(super) const FUNCTIONS: &[(&str, Func)] = &[
    ("toString", |a| one(a, |s| s)),
    ("trim", |a| one(a, |s| s.trim().to_string())),
    ("upper", |a| one(a, |s| s.to_uppercase())),
    ("lower", |a| one(a, |s| s.to_lowercase())),
    ("title", |a| one(a, |s| title(&s))),
    ("quote", |a| Ok(quote(a, |s| format!("{s:?}")))),
    ("squote", |a| Ok(quote(a, |s| format!("'{s}'")))),
    ("indent", |a| indent(a, "")),
    ("nindent", |a| indent(a, "\n")),
    ("trimSuffix", |a| {
        two(a, |x, s| {
            Value::Str(s.strip_suffix(x.as_str()).unwrap_or(&s).to_string())
        })
    }),
    ("trimPrefix", |a| {
        two(a, |x, s| {
            Value::Str(s.strip_prefix(x.as_str()).unwrap_or(&s).to_string())
        })
    }),
    ("contains", |a| two(a, |x, s| Value::Bool(s.contains(&x)))),
    ("hasPrefix", |a| {
        two(a, |x, s| Value::Bool(s.starts_with(&x)))
    }),
    ("hasSuffix", |a| two(a, |x, s| Value::Bool(s.ends_with(&x)))),
    ("split", |a| two(a, |sep, s| split(&sep, &s))),
    ("splitList", |a| {
        two(a, |sep, s| {
            Value::List(
                s.split(sep.as_str())
                    .map(|p| Value::Str(p.to_string()))
                    .collect(),
            )
        })
    }),
    ("replace", replace),
    ("join", join),
    ("repeat", |a| {
        arity(a, 2)?;
        Ok(Value::Str(
            to_string(&a[1]).repeat(to_i64(&a[0]).max(0) as usize),
        ))
    }),
];

/// A function of one string.
fn one(a: &[Value], f: impl Fn(String) -> String) -> Result<Value, String> {
    arity(a, 1)?;
    Ok(Value::Str(f(to_string(&a[0]))))
}

/// A function of two strings: the argument, then the (piped) string it works on.
fn two(a: &[Value], f: impl Fn(String, String) -> Value) -> Result<Value, String> {
    arity(a, 2)?;
    Ok(f(to_string(&a[0]), to_string(&a[1])))
}

/// Every word's first letter in upper case.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = c.is_whitespace();
    }
    out
}

/// `quote`/`squote`: each non-nil argument quoted, joined by spaces.
fn quote(a: &[Value], q: fn(String) -> String) -> Value {
    Value::Str(
        a.iter()
            .filter(|v| **v != Value::Nil)
            .map(|v| q(to_string(v)))
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// `indent N S` (and `nindent`, which starts with a newline): every line of S indented by N.
fn indent(a: &[Value], lead: &str) -> Result<Value, String> {
    arity(a, 2)?;
    let pad = " ".repeat(to_i64(&a[0]).max(0) as usize);
    let s = to_string(&a[1]);
    Ok(Value::Str(format!(
        "{lead}{pad}{}",
        s.replace('\n', &format!("\n{pad}"))
    )))
}

/// sprig's `split`: a map `_0`, `_1`... of the parts.
fn split(sep: &str, s: &str) -> Value {
    Value::Map(
        s.split(sep)
            .enumerate()
            .map(|(i, p)| (format!("_{i}"), Value::Str(p.to_string())))
            .collect(),
    )
}

/// `replace OLD NEW S`.
fn replace(a: &[Value]) -> Result<Value, String> {
    arity(a, 3)?;
    Ok(Value::Str(
        to_string(&a[2]).replace(&to_string(&a[0]), &to_string(&a[1])),
    ))
}

/// `join SEP LIST`; a value that is not a list prints as itself.
fn join(a: &[Value]) -> Result<Value, String> {
    arity(a, 2)?;
    let sep = to_string(&a[0]);
    Ok(Value::Str(match &a[1] {
        Value::List(l) => l.iter().map(to_string).collect::<Vec<_>>().join(&sep),
        other => to_string(other),
    }))
}
