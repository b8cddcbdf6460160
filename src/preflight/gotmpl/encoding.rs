//! sprig's encoders: `toYaml`, `toJson`, `b64enc`, `b64dec`.

use base64::Engine;

use super::funcs::{arity, Func};
use super::value::{to_string, Value};

pub(super) const FUNCTIONS: &[(&str, Func)] = &[
    ("toYaml", |a| {
        arity(a, 1)?;
        Ok(Value::Str(yaml_text(&a[0])?))
    }),
    ("toJson", |a| {
        arity(a, 1)?;
        let json = serde_json::to_value(a[0].to_yaml()).unwrap_or(serde_json::Value::Null);
        Ok(Value::Str(json.to_string()))
    }),
    ("b64enc", |a| {
        arity(a, 1)?;
        Ok(Value::Str(
            base64::engine::general_purpose::STANDARD.encode(to_string(&a[0])),
        ))
    }),
    ("b64dec", b64dec),
];

/// YAML without the trailing newline (templates indent it themselves).
fn yaml_text(v: &Value) -> Result<String, String> {
    let s = crate::yaml::to_string(&v.to_yaml()).map_err(|e| e.to_string())?;
    Ok(s.strip_suffix('\n').unwrap_or(&s).to_string())
}

fn b64dec(a: &[Value]) -> Result<Value, String> {
    arity(a, 1)?;
    // sprig returns the decoder's error text instead of failing the template.
    Ok(Value::Str(
        match base64::engine::general_purpose::STANDARD.decode(to_string(&a[0]).trim()) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => e.to_string(),
        },
    ))
}
