//! Reading scenario YAML: a built-in name or a file, the object files it lists, `List`
//! documents flattened, errors naming the file and the line.

use std::path::Path;

use serde_json::Value;

use super::builtin::{embedded, BUILTINS};
use super::normalize::normalize;
use crate::sim::scenario::{LogSource, Scenario};
use crate::sim::SimError;

/// Where a scenario's files come from.
enum Origin<'a> {
    Embedded,
    Dir(&'a Path),
}

/// Loads a built-in scenario by name, or a scenario file by path.
pub fn load(name_or_path: &str) -> Result<Scenario, SimError> {
    if BUILTINS.iter().any(|(n, _)| *n == name_or_path) {
        let file = format!("{name_or_path}.yaml");
        let text = embedded(&file).ok_or_else(|| {
            SimError::Scenario(format!(
                "built-in scenario {name_or_path} is missing its file {file}"
            ))
        })?;
        return parse(
            text,
            &format!("built-in scenario {name_or_path}"),
            Origin::Embedded,
        );
    }
    let path = Path::new(name_or_path);
    if !path.exists() {
        let names: Vec<&str> = BUILTINS.iter().map(|(n, _)| *n).collect();
        let hint = names
            .iter()
            .map(|n| (strsim::jaro_winkler(n, name_or_path), n))
            .filter(|(s, _)| *s > 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, n)| format!(" (did you mean {n}?)"))
            .unwrap_or_default();
        return Err(SimError::Scenario(format!(
            "no built-in scenario or file named {name_or_path:?}{hint}; built-in scenarios are {} (see `kudo-diag sim list`), or give the path of a scenario YAML file",
            names.join(", ")
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        SimError::Scenario(format!("cannot read scenario file {}: {e}", path.display()))
    })?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    parse(&text, &path.display().to_string(), Origin::Dir(&dir))
}

/// Parses scenario YAML text; `origin_name` names it in errors.
pub fn parse_str(text: &str, origin_name: &str, base_dir: &Path) -> Result<Scenario, SimError> {
    parse(text, origin_name, Origin::Dir(base_dir))
}

fn yaml_error(file: &str, e: &crate::yaml::Error) -> SimError {
    // The location leads; serde-saphyr's own " at line L, column C" suffix would repeat it.
    let plain = e.without_snippet().to_string();
    match e.location() {
        Some(loc) => SimError::Scenario(format!(
            "{file}: line {} column {}: {}",
            loc.line(),
            loc.column(),
            plain
                .strip_suffix(&format!(" at line {}, column {}", loc.line(), loc.column()))
                .unwrap_or(&plain)
        )),
        None => SimError::Scenario(format!("{file}: {plain}")),
    }
}

fn parse(text: &str, file: &str, origin: Origin) -> Result<Scenario, SimError> {
    crate::bundle::nesting::check(text.as_bytes(), crate::bundle::nesting::MAX_DEPTH)
        .map_err(|e| SimError::Scenario(format!("{file}: {e}")))?;
    let mut sc: Scenario = crate::yaml::from_str(text).map_err(|e| yaml_error(file, &e))?;
    let inline = std::mem::take(&mut sc.objects);
    let mut objects = Vec::new();
    for (i, o) in inline.into_iter().enumerate() {
        flatten_into(o, &mut objects, &|why| {
            format!("{file}: objects[{i}]: {why}")
        })?;
    }
    for of in std::mem::take(&mut sc.object_files) {
        let (name, content) = match origin {
            Origin::Embedded => {
                let n = of.display().to_string();
                let t = embedded(&n).ok_or_else(|| {
                    SimError::Scenario(format!("{file}: object file {n} is not embedded"))
                })?;
                (n, t.to_string())
            }
            Origin::Dir(dir) => {
                let p = dir.join(&of);
                let t = std::fs::read_to_string(&p).map_err(|e| {
                    SimError::Scenario(format!("{file}: cannot read object file {}: {e}; paths are relative to the scenario file", p.display()))
                })?;
                (p.display().to_string(), t)
            }
        };
        read_documents(&content, &name, &mut objects)?;
    }
    sc.objects = objects;
    if let Origin::Dir(dir) = origin {
        for l in &mut sc.logs {
            if let LogSource::File(p) = &mut l.source {
                if p.is_relative() {
                    *p = dir.join(&*p);
                }
            }
        }
    }
    normalize(&mut sc);
    Ok(sc)
}

/// Reads the objects of a multi-document YAML file.
pub fn read_documents(text: &str, file: &str, out: &mut Vec<Value>) -> Result<(), SimError> {
    let starts = document_lines(text);
    let docs: Vec<Value> = crate::yaml::from_multiple(text).map_err(|e| yaml_error(file, &e))?;
    for (i, v) in docs.into_iter().enumerate() {
        let line = starts.get(i).copied().unwrap_or(1);
        if v.is_null() {
            continue;
        }
        flatten_into(v, out, &|why| {
            format!("{file}: document starting at line {line}: {why}")
        })?;
    }
    Ok(())
}

/// Line numbers (1-based) where each YAML document starts.
fn document_lines(text: &str) -> Vec<usize> {
    let mut starts = vec![1];
    for (i, l) in text.lines().enumerate() {
        if l.trim_end() == "---" || l.starts_with("--- ") {
            if i == 0
                || text
                    .lines()
                    .take(i)
                    .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
            {
                // A leading separator does not start a second document.
                starts[0] = i + 2;
            } else {
                starts.push(i + 2);
            }
        }
    }
    starts
}

fn flatten_into(
    v: Value,
    out: &mut Vec<Value>,
    at: &dyn Fn(&str) -> String,
) -> Result<(), SimError> {
    let kind = v["kind"].as_str().unwrap_or_default();
    if kind.ends_with("List") && v["items"].is_array() {
        let api = v["apiVersion"].clone();
        for mut item in v["items"].as_array().cloned().unwrap_or_default() {
            if item["apiVersion"].is_null() {
                item["apiVersion"] = api.clone();
            }
            flatten_into(item, out, at)?;
        }
        return Ok(());
    }
    for field in ["apiVersion", "kind"] {
        if !v[field].is_string() {
            return Err(SimError::Scenario(at(&format!(
                "the object has no {field}; every object needs apiVersion, kind and metadata.name"
            ))));
        }
    }
    if !v["metadata"]["name"].is_string() {
        return Err(SimError::Scenario(at(&format!(
            "the {kind} has no metadata.name; every object needs one"
        ))));
    }
    out.push(v);
    Ok(())
}
