//! The functions templates can call: one table from name to implementation, made of the
//! families' tables, so that the parser's "is this a function" and the call cannot disagree.

use super::value::Value;
use super::{builtins, collections, encoding, math, strings};

/// A template function: its arguments (a piped value comes last) to its result or an error.
pub(super) type Func = fn(&[Value]) -> Result<Value, String>;

/// Every family's table: Go's builtins, then the sprig functions the packages use.
const FAMILIES: &[&[(&str, Func)]] = &[
    builtins::FUNCTIONS,
    strings::FUNCTIONS,
    math::FUNCTIONS,
    collections::FUNCTIONS,
    encoding::FUNCTIONS,
];

fn lookup(name: &str) -> Option<Func> {
    FAMILIES
        .iter()
        .flat_map(|f| f.iter())
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
}

pub(super) fn is_function(name: &str) -> bool {
    lookup(name).is_some()
}

pub(super) fn call(name: &str, args: Vec<Value>) -> Result<Value, String> {
    match lookup(name) {
        Some(f) => f(&args),
        None => Err(format!("function {name:?} not defined")),
    }
}

pub(super) fn arity(args: &[Value], n: usize) -> Result<(), String> {
    if args.len() == n {
        Ok(())
    } else {
        Err(format!(
            "wrong number of args: want {n}, got {}",
            args.len()
        ))
    }
}

/// For functions that take one or more arguments.
pub(super) fn at_least_one(args: &[Value]) -> Result<&Value, String> {
    args.first()
        .ok_or_else(|| "wrong number of args: want at least 1".to_string())
}

/// sprig's `toInt64` (via spf13/cast): numbers truncate, numeric strings parse, the rest is 0.
pub(super) fn to_i64(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::Str(s) => {
            let s = s.trim();
            s.parse::<i64>()
                .ok()
                .or_else(|| s.parse::<f64>().ok().map(|f| f as i64))
                .unwrap_or(0)
        }
        _ => 0,
    }
}

pub(super) fn to_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Str(s) => s.trim().parse().unwrap_or(0.0),
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_name_is_in_one_family_once() {
        let mut names: Vec<&str> = FAMILIES
            .iter()
            .flat_map(|f| f.iter().map(|(n, _)| *n))
            .collect();
        let all = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all, "a function name is defined twice");
        // The names KUDO's packages use, across the families.
        for n in ["eq", "printf", "indent", "add", "dict", "toYaml", "b64dec"] {
            assert!(is_function(n), "{n}");
        }
        assert!(!is_function("frob"));
        assert_eq!(
            call("frob", vec![]).unwrap_err(),
            "function \"frob\" not defined"
        );
    }
}
