//! Go's own template functions: comparison, logic, `len`, `index` and the `print` family.

use super::funcs::{arity, at_least_one, to_f64, to_i64, Func};
use super::value::{print, to_string, Value};
use std::fmt::Write as _;

pub(super) const FUNCTIONS: &[(&str, Func)] = &[
    ("eq", eq),
    ("ne", ne),
    ("lt", |a| ordered(a, std::cmp::Ordering::is_lt)),
    ("gt", |a| ordered(a, std::cmp::Ordering::is_gt)),
    ("le", |a| ordered(a, std::cmp::Ordering::is_le)),
    ("ge", |a| ordered(a, std::cmp::Ordering::is_ge)),
    ("and", and),
    ("or", or),
    ("not", not),
    ("len", len),
    ("index", index),
    ("print", |a| {
        Ok(Value::Str(
            a.iter().map(to_string).collect::<Vec<_>>().join(""),
        ))
    }),
    ("println", |a| {
        Ok(Value::Str(format!(
            "{}\n",
            a.iter().map(to_string).collect::<Vec<_>>().join(" ")
        )))
    }),
    ("printf", |a| {
        let f = at_least_one(a)?;
        Ok(Value::Str(sprintf(&to_string(f), &a[1..])))
    }),
];

/// True when the first argument equals any of the others.
fn eq(a: &[Value]) -> Result<Value, String> {
    if a.len() < 2 {
        return Err("missing argument for comparison".into());
    }
    let mut any = false;
    for b in &a[1..] {
        any |= equal(&a[0], b)?;
    }
    Ok(Value::Bool(any))
}

fn ne(a: &[Value]) -> Result<Value, String> {
    arity(a, 2)?;
    Ok(Value::Bool(!equal(&a[0], &a[1])?))
}

/// `lt`, `gt`, `le`, `ge`: `holds` says which orderings are true.
fn ordered(a: &[Value], holds: fn(std::cmp::Ordering) -> bool) -> Result<Value, String> {
    arity(a, 2)?;
    Ok(Value::Bool(holds(compare(&a[0], &a[1])?)))
}

/// The first false argument, else the last.
fn and(a: &[Value]) -> Result<Value, String> {
    let last = a.last().ok_or("wrong number of args: want at least 1")?;
    Ok(a.iter().find(|v| !v.truthy()).unwrap_or(last).clone())
}

/// The first true argument, else the last.
fn or(a: &[Value]) -> Result<Value, String> {
    let last = a.last().ok_or("wrong number of args: want at least 1")?;
    Ok(a.iter().find(|v| v.truthy()).unwrap_or(last).clone())
}

fn not(a: &[Value]) -> Result<Value, String> {
    arity(a, 1)?;
    Ok(Value::Bool(!a[0].truthy()))
}

fn len(a: &[Value]) -> Result<Value, String> {
    arity(a, 1)?;
    Ok(Value::Int(match &a[0] {
        Value::Str(s) => s.len() as i64,
        Value::List(l) => l.len() as i64,
        Value::Map(m) => m.len() as i64,
        Value::Nil => 0,
        other => return Err(format!("len of type {}", other.kind())),
    }))
}

/// `index X K1 K2...`: X[K1][K2]...
fn index(a: &[Value]) -> Result<Value, String> {
    use Value::*;
    let mut v = at_least_one(a)?.clone();
    for k in &a[1..] {
        v = match (v, k) {
            (List(l), _) => {
                let i = to_i64(k);
                if i < 0 || i as usize >= l.len() {
                    return Err(format!("index out of range: {i}"));
                }
                l[i as usize].clone()
            }
            (Map(m), _) => m.get(&to_string(k)).cloned().unwrap_or(Nil),
            (Nil, _) => return Err("index of untyped nil".into()),
            (Unknown(u), _) => Unknown(format!("{u}[{}]", to_string(k))),
            (other, _) => return Err(format!("can't index item of type {}", other.kind())),
        };
    }
    Ok(v)
}

fn compare(a: &Value, b: &Value) -> Result<std::cmp::Ordering, String> {
    use Value::*;
    match (a, b) {
        (Int(x), Int(y)) => Ok(x.cmp(y)),
        (Int(_) | Float(_), Int(_) | Float(_)) => to_f64(a)
            .partial_cmp(&to_f64(b))
            .ok_or_else(|| "NaN is not comparable".to_string()),
        (Str(x), Str(y)) => Ok(x.cmp(y)),
        (Bool(x), Bool(y)) => Ok(x.cmp(y)),
        _ => Err(format!(
            "incompatible types for comparison: {} and {}",
            a.kind(),
            b.kind()
        )),
    }
}
fn equal(a: &Value, b: &Value) -> Result<bool, String> {
    match (a, b) {
        (Value::Nil, Value::Nil) => Ok(true),
        // An unset parameter compared with a literal: false (Go would print an error that KUDO
        // users never see because KUDO's own defaults make parameters strings).
        (Value::Nil, _) | (_, Value::Nil) => Ok(false),
        (Value::Unknown(_), _) | (_, Value::Unknown(_)) => Ok(false),
        _ => Ok(compare(a, b)? == std::cmp::Ordering::Equal),
    }
}

fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        // Flags and width are accepted and ignored except for zero-padded integers.
        let mut spec = String::new();
        while let Some(&d) = chars.peek() {
            if d.is_ascii_digit() || d == '-' || d == '+' || d == '.' || d == ' ' || d == '#' {
                spec.push(d);
                chars.next();
            } else {
                break;
            }
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(a) = args.next() else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        match verb {
            'd' => {
                let n = to_i64(a);
                let width: usize = spec.trim_start_matches('0').parse().unwrap_or(0);
                if spec.starts_with('0') {
                    let _ = write!(out, "{n:0width$}");
                } else {
                    let _ = write!(out, "{n:width$}");
                }
            }
            'q' => {
                let _ = write!(out, "{:?}", to_string(a));
            }
            'f' => {
                let prec: usize = spec
                    .split('.')
                    .nth(1)
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(6);
                let _ = write!(out, "{:.prec$}", to_f64(a));
            }
            'x' => {
                let _ = write!(out, "{:x}", to_i64(a));
            }
            _ => print(a, &mut out),
        }
    }
    out
}
