//! sprig's lists, dicts and defaults: `list`, `dict`, `hasKey`, `default`, `empty`,
//! `coalesce`, `ternary`.

use std::collections::BTreeMap;

use super::funcs::{arity, Func};
use super::value::{to_string, Value};

pub(super) const FUNCTIONS: &[(&str, Func)] = &[
    ("list", |a| Ok(Value::List(a.to_vec()))),
    ("dict", dict),
    ("hasKey", |a| {
        arity(a, 2)?;
        Ok(Value::Bool(match &a[0] {
            Value::Map(m) => m.contains_key(&to_string(&a[1])),
            _ => false,
        }))
    }),
    ("default", default),
    ("empty", |a| {
        arity(a, 1)?;
        Ok(Value::Bool(empty(&a[0])))
    }),
    ("coalesce", |a| {
        Ok(a.iter().find(|v| !empty(v)).cloned().unwrap_or(Value::Nil))
    }),
    ("ternary", |a| {
        arity(a, 3)?;
        Ok(if a[2].truthy() { &a[0] } else { &a[1] }.clone())
    }),
];

/// sprig's emptiness is Go's falseness.
fn empty(v: &Value) -> bool {
    !v.truthy()
}

/// `dict K1 V1 K2 V2...`; a key without a value maps to "".
fn dict(a: &[Value]) -> Result<Value, String> {
    let mut m = BTreeMap::new();
    for pair in a.chunks(2) {
        let v = pair.get(1).cloned().unwrap_or(Value::Str(String::new()));
        m.insert(to_string(&pair[0]), v);
    }
    Ok(Value::Map(m))
}

/// sprig: `default DEFAULT VALUE`; VALUE is absent when piped nothing.
fn default(a: &[Value]) -> Result<Value, String> {
    Ok(match a.len() {
        1 => a[0].clone(),
        2 if empty(&a[1]) => a[0].clone(),
        2 => a[1].clone(),
        n => return Err(format!("wrong number of args: want 1 or 2, got {n}")),
    })
}
