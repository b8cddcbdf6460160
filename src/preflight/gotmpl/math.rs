//! sprig's integer arithmetic, number conversions and integer sequences (`until`,
//! `untilStep`). Arithmetic is on int64, as sprig's is: arguments convert like `toInt64`.

use super::funcs::{arity, at_least_one, to_f64, to_i64, Func};
use super::value::Value;

pub(super) const FUNCTIONS: &[(&str, Func)] = &[
    ("int", to_int),
    ("int64", to_int),
    ("atoi", to_int),
    ("float64", |a| {
        arity(a, 1)?;
        Ok(Value::Float(to_f64(&a[0])))
    }),
    ("add", |a| Ok(Value::Int(a.iter().map(to_i64).sum()))),
    ("mul", |a| Ok(Value::Int(a.iter().map(to_i64).product()))),
    ("add1", |a| {
        arity(a, 1)?;
        Ok(Value::Int(to_i64(&a[0]) + 1))
    }),
    ("sub", |a| {
        arity(a, 2)?;
        Ok(Value::Int(to_i64(&a[0]) - to_i64(&a[1])))
    }),
    ("div", |a| divide(a, |x, d| x / d)),
    ("mod", |a| divide(a, |x, d| x % d)),
    ("max", |a| fold(a, i64::max)),
    ("min", |a| fold(a, i64::min)),
    ("until", |a| {
        arity(a, 1)?;
        let n = to_i64(&a[0]);
        let step = if n < 0 { -1 } else { 1 };
        Ok(Value::List(range_step(0, n, step)))
    }),
    ("untilStep", |a| {
        arity(a, 3)?;
        Ok(Value::List(range_step(
            to_i64(&a[0]),
            to_i64(&a[1]),
            to_i64(&a[2]),
        )))
    }),
];

fn to_int(a: &[Value]) -> Result<Value, String> {
    arity(a, 1)?;
    Ok(Value::Int(to_i64(&a[0])))
}

/// `div` and `mod`: an error on a zero divisor, as Go panics.
fn divide(a: &[Value], op: fn(i64, i64) -> i64) -> Result<Value, String> {
    arity(a, 2)?;
    let d = to_i64(&a[1]);
    if d == 0 {
        return Err("integer divide by zero".into());
    }
    Ok(Value::Int(op(to_i64(&a[0]), d)))
}

/// `max` and `min` of one or more numbers.
fn fold(a: &[Value], pick: fn(i64, i64) -> i64) -> Result<Value, String> {
    let first = to_i64(at_least_one(a)?);
    Ok(Value::Int(a[1..].iter().map(to_i64).fold(first, pick)))
}

/// sprig's `untilStep`: from `start` towards `stop` (exclusive) by `step`; empty if it would
/// never get there.
fn range_step(start: i64, stop: i64, step: i64) -> Vec<Value> {
    let mut out = Vec::new();
    if step == 0 || (step > 0 && start >= stop) || (step < 0 && start <= stop) {
        return out;
    }
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(Value::Int(i));
        i += step;
    }
    out
}
