//! Parameters: the package's defaults, then (for an existing instance) the instance's values,
//! then `--params-file`, then `-p NAME=VALUE`, validated the way KUDO validates them. Every
//! problem is collected, not only the first, so one run shows all the fixes.
//!
//! KUDO keeps every parameter value as a string; array and map parameters hold YAML text that
//! is unmarshalled before rendering. `Params` keeps that wire form and converts once for the
//! templates.

use std::collections::BTreeMap;

use serde_json::Value as Yaml;

use super::gotmpl::Value;
use super::package::{Package, ParamSpec, ParamType};

/// Where a parameter's value came from (shown in the report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    Default,
    Instance,
    ParamsFile,
    CommandLine,
    Unset,
}

/// One problem with the given parameters, with its fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamError {
    #[error("-p {0:?} is not NAME=VALUE; write it as -p NAME=VALUE")]
    Syntax(String),
    #[error("unknown parameter {name}{}; the package {package} does not declare it (see its params.yaml)", closest.as_ref().map(|c| format!(" (did you mean {c}?)")).unwrap_or_default())]
    Unknown {
        name: String,
        closest: Option<String>,
        package: String,
    },
    #[error("parameter {0} is required and has no default; give it with -p {0}=VALUE or in --params-file")]
    Required(String),
    #[error("parameter {name} is of type {typ} but {value:?} {why}; give a valid {typ}")]
    WrongType {
        name: String,
        typ: &'static str,
        value: String,
        why: String,
    },
    #[error("parameter {name} must be one of [{}] but is {value:?}; choose one of those", allowed.join(", "))]
    NotInEnum {
        name: String,
        value: String,
        allowed: Vec<String>,
    },
    #[error("parameter {name} is immutable and instance {instance} has {old:?}, not {new:?}; drop the override, or install a new instance to change it")]
    Immutable {
        name: String,
        instance: String,
        old: String,
        new: String,
    },
}

/// The resolved parameters.
#[derive(Debug, Clone, Default)]
pub struct Params {
    /// Name -> KUDO wire value (None: no default and not given).
    pub values: BTreeMap<String, Option<String>>,
    pub sources: BTreeMap<String, Source>,
    types: BTreeMap<String, ParamType>,
}

/// What the user gave.
#[derive(Debug, Clone, Default)]
pub struct ParamInputs {
    /// `-p NAME=VALUE` as written.
    pub cli: Vec<String>,
    /// The parsed `--params-file` (a YAML map of name to value).
    pub file: BTreeMap<String, Yaml>,
    /// An existing instance's name and its `spec.parameters`.
    pub instance: Option<(String, BTreeMap<String, String>)>,
}

/// KUDO's string form of a YAML value: scalars as text, lists and maps as YAML.
pub fn wire_form(v: &Yaml) -> Option<String> {
    match v {
        Yaml::Null => None,
        Yaml::String(s) => Some(s.clone()),
        Yaml::Bool(b) => Some(b.to_string()),
        Yaml::Number(n) => Some(n.to_string()),
        other => crate::yaml::to_string(other).ok(),
    }
}

fn closest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<String> {
    let lower = name.to_lowercase();
    known
        .map(|k| (strsim::jaro_winkler(&lower, &k.to_lowercase()), k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k.to_string())
}

/// Go's `strconv.ParseBool`, which KUDO uses.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn check_type(spec: &ParamSpec, value: &str) -> Result<(), ParamError> {
    let wrong = |why: &str| ParamError::WrongType {
        name: spec.name.clone(),
        typ: spec.typ.as_str(),
        value: value.to_string(),
        why: why.to_string(),
    };
    match spec.typ {
        ParamType::String => Ok(()),
        ParamType::Integer => value
            .trim()
            .parse::<i64>()
            .map(drop)
            .map_err(|_| wrong("is not a whole number")),
        ParamType::Number => value
            .trim()
            .parse::<f64>()
            .map(drop)
            .map_err(|_| wrong("is not a number")),
        ParamType::Boolean => parse_bool(value.trim())
            .map(drop)
            .ok_or_else(|| wrong("is not true or false")),
        ParamType::Array => match crate::yaml::from_str::<Yaml>(value) {
            Ok(Yaml::Array(_)) => Ok(()),
            Ok(_) => Err(wrong("is not a YAML list")),
            Err(e) => Err(wrong(&format!("is not valid YAML ({e})"))),
        },
        ParamType::Map => match crate::yaml::from_str::<Yaml>(value) {
            Ok(Yaml::Object(_)) => Ok(()),
            Ok(_) => Err(wrong("is not a YAML map")),
            Err(e) => Err(wrong(&format!("is not valid YAML ({e})"))),
        },
    }
}

impl Params {
    /// Resolves and validates; returns every problem found.
    pub fn resolve(pkg: &Package, input: &ParamInputs) -> Result<Params, Vec<ParamError>> {
        let mut errors = Vec::new();
        let specs: BTreeMap<&str, &ParamSpec> = pkg
            .parameters
            .iter()
            .map(|s| (s.name.as_str(), s))
            .collect();
        let mut p = Params::defaults(pkg);
        // The instance's values are where an update starts from.
        let mut before: BTreeMap<String, Option<String>> = p.values.clone();
        if let Some((_, iv)) = &input.instance {
            for (k, v) in iv {
                if specs.contains_key(k.as_str()) {
                    p.values.insert(k.clone(), Some(v.clone()));
                    p.sources.insert(k.clone(), Source::Instance);
                    before.insert(k.clone(), Some(v.clone()));
                }
            }
        }
        for (k, v, src) in given(input, &mut errors) {
            if !specs.contains_key(k.as_str()) {
                errors.push(ParamError::Unknown {
                    closest: closest(&k, specs.keys().copied()),
                    name: k,
                    package: pkg.name.clone(),
                });
                continue;
            }
            p.values.insert(k.clone(), v);
            p.sources.insert(k, src);
        }
        for s in &pkg.parameters {
            let Some(v) = p.values.get(&s.name).cloned().flatten() else {
                if s.required == Some(true) {
                    errors.push(ParamError::Required(s.name.clone()));
                }
                continue;
            };
            // An immutable parameter of an existing instance may not change on the command
            // line or in a file.
            let overridden = matches!(
                p.sources.get(&s.name),
                Some(Source::ParamsFile | Source::CommandLine)
            );
            let was = match &input.instance {
                Some((inst, _)) if overridden => Some((
                    inst.as_str(),
                    before.get(&s.name).cloned().flatten().unwrap_or_default(),
                )),
                _ => None,
            };
            value_errors(s, v, was, &mut errors);
        }
        if errors.is_empty() {
            Ok(p)
        } else {
            Err(errors)
        }
    }

    /// Every parameter of the package at its default (unset when it has none).
    fn defaults(pkg: &Package) -> Params {
        let mut p = Params::default();
        for s in &pkg.parameters {
            let v = s.default.as_ref().and_then(wire_form);
            let src = if v.is_some() {
                Source::Default
            } else {
                Source::Unset
            };
            p.values.insert(s.name.clone(), v);
            p.sources.insert(s.name.clone(), src);
            p.types.insert(s.name.clone(), s.typ);
        }
        p
    }

    /// The value as templates see it: strings, or the parsed YAML of array and map parameters;
    /// nil when unset.
    pub fn template_value(&self, name: &str) -> Value {
        let Some(Some(v)) = self.values.get(name) else {
            return Value::Nil;
        };
        match self.types.get(name) {
            Some(ParamType::Array | ParamType::Map) => crate::yaml::from_str::<Yaml>(v)
                .map(|y| Value::from_yaml(&y))
                .unwrap_or(Value::Str(v.clone())),
            _ => Value::Str(v.clone()),
        }
    }

    /// All parameters as the `.Params` map.
    pub fn template_map(&self) -> Value {
        Value::Map(
            self.values
                .keys()
                .map(|k| (k.clone(), self.template_value(k)))
                .collect(),
        )
    }

    /// Whether a (Toggle) parameter is true.
    pub fn is_true(&self, name: &str) -> bool {
        self.values
            .get(name)
            .cloned()
            .flatten()
            .and_then(|v| parse_bool(v.trim()))
            .unwrap_or(false)
    }
}

/// The values given in `--params-file` and then `-p` (a later one wins), with where each comes
/// from; a `-p` that is not NAME=VALUE is an error.
fn given(
    input: &ParamInputs,
    errors: &mut Vec<ParamError>,
) -> Vec<(String, Option<String>, Source)> {
    let mut given: Vec<(String, Option<String>, Source)> = input
        .file
        .iter()
        .map(|(k, v)| (k.clone(), wire_form(v), Source::ParamsFile))
        .collect();
    for raw in &input.cli {
        match raw.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => given.push((
                k.trim().to_string(),
                Some(v.to_string()),
                Source::CommandLine,
            )),
            _ => errors.push(ParamError::Syntax(raw.clone())),
        }
    }
    given
}

/// What is wrong with value `v` of parameter `s`: its type, else its enum and, when `was` gives
/// an existing instance and its value, a change to an immutable parameter.
fn value_errors(
    s: &ParamSpec,
    v: String,
    was: Option<(&str, String)>,
    errors: &mut Vec<ParamError>,
) {
    if let Err(e) = check_type(s, &v) {
        errors.push(e);
        return;
    }
    if let Some(allowed) = &s.enum_values {
        let allowed: Vec<String> = allowed.iter().filter_map(wire_form).collect();
        if !allowed.is_empty() && !allowed.contains(&v) {
            errors.push(ParamError::NotInEnum {
                name: s.name.clone(),
                value: v.clone(),
                allowed,
            });
        }
    }
    if let (Some(true), Some((inst, old))) = (s.immutable, was) {
        if old != v {
            errors.push(ParamError::Immutable {
                name: s.name.clone(),
                instance: inst.to_string(),
                old,
                new: v,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg() -> Package {
        let params = r#"
parameters:
  - name: NODE_COUNT
    type: integer
    default: "3"
  - name: NODE_MEM_MIB
    type: integer
    default: 4096
  - name: TLS_ENABLED
    type: boolean
    default: "false"
  - name: TOPOLOGY
    type: array
  - name: LABELS
    type: map
    default:
      a: b
  - name: CLUSTER_NAME
    immutable: true
    default: "c1"
  - name: PASSWORD
    required: true
  - name: POLICY
    default: OrderedReady
    enum: [OrderedReady, Parallel]
"#;
        let mut files = BTreeMap::new();
        files.insert("operator.yaml".to_string(), "name: op\n".to_string());
        files.insert("params.yaml".to_string(), params.to_string());
        Package::from_files("test", &files).unwrap()
    }

    fn inputs(cli: &[&str]) -> ParamInputs {
        ParamInputs {
            cli: cli.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_and_overrides_in_order() {
        let mut i = inputs(&["PASSWORD=x", "NODE_COUNT=5"]);
        i.file.insert("NODE_COUNT".into(), Yaml::from(4));
        i.file.insert(
            "TOPOLOGY".into(),
            crate::yaml::from_str("[{dc: a}]").unwrap(),
        );
        let p = Params::resolve(&pkg(), &i).unwrap();
        assert_eq!(p.template_value("NODE_COUNT"), Value::Str("5".into()));
        assert_eq!(p.sources["NODE_COUNT"], Source::CommandLine);
        assert_eq!(p.template_value("NODE_MEM_MIB"), Value::Str("4096".into()));
        assert!(matches!(p.template_value("TOPOLOGY"), Value::List(l) if l.len() == 1));
        assert!(matches!(p.template_value("LABELS"), Value::Map(_)));
        assert!(!p.is_true("TLS_ENABLED"));
    }

    #[test]
    fn every_problem_is_reported_with_its_fix() {
        let errs = Params::resolve(
            &pkg(),
            &inputs(&[
                "NODE_CONT=3",
                "NODE_MEM_MIB=lots",
                "TLS_ENABLED=yes",
                "TOPOLOGY=a: b",
                "POLICY=Random",
                "oops",
            ]),
        )
        .unwrap_err();
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        let all = text.join("\n");
        assert!(
            all.contains("unknown parameter NODE_CONT (did you mean NODE_COUNT?)"),
            "{all}"
        );
        assert!(
            all.contains("NODE_MEM_MIB is of type integer but \"lots\" is not a whole number"),
            "{all}"
        );
        assert!(all.contains("TLS_ENABLED is of type boolean"), "{all}");
        assert!(
            all.contains("TOPOLOGY is of type array but \"a: b\" is not a YAML list"),
            "{all}"
        );
        assert!(
            all.contains(
                "parameter PASSWORD is required and has no default; give it with -p PASSWORD=VALUE"
            ),
            "{all}"
        );
        assert!(
            all.contains("must be one of [OrderedReady, Parallel]"),
            "{all}"
        );
        assert!(all.contains("-p \"oops\" is not NAME=VALUE"), "{all}");
        assert_eq!(errs.len(), 7, "{all}");
    }

    #[test]
    fn immutable_parameters_cannot_change_on_an_existing_instance() {
        let mut existing = BTreeMap::new();
        existing.insert("CLUSTER_NAME".to_string(), "prod".to_string());
        existing.insert("PASSWORD".to_string(), "x".to_string());
        let mut i = inputs(&["CLUSTER_NAME=other"]);
        i.instance = Some(("cass".into(), existing.clone()));
        let errs = Params::resolve(&pkg(), &i).unwrap_err();
        assert_eq!(
            errs[0].to_string(),
            "parameter CLUSTER_NAME is immutable and instance cass has \"prod\", not \"other\"; drop the override, or install a new instance to change it"
        );
        // Not overriding keeps the instance's value: no error.
        let mut i = inputs(&[]);
        i.instance = Some(("cass".into(), existing));
        let p = Params::resolve(&pkg(), &i).unwrap();
        assert_eq!(p.template_value("CLUSTER_NAME"), Value::Str("prod".into()));
        assert_eq!(p.sources["CLUSTER_NAME"], Source::Instance);
    }
}
