//! Loading scenarios: a built-in name (embedded YAML, so `kudo-diag sim` works airgapped) or a
//! YAML file, plus the multi-document object files it lists (`objectFiles`). The format is
//! documented in docs/scenarios.md.
//!
//! Loading also normalizes what a real API server would have filled in, so scenario files stay
//! short and readable: namespaced objects without a namespace get the scenario's, objects get a
//! stable `uid` derived from their kind and name, and an `ownerReference` written without a uid
//! gets the uid of the object it names. `List` documents (`kind: PodList`, ...) are flattened.
//! Errors name the file and the line.

use std::path::Path;

use serde_json::Value;

use super::scenario::{LogSource, Scenario};
use super::SimError;

/// Embedded files: built-in scenarios and the object files they share.
const EMBEDDED: &[(&str, &str)] = &[
    ("cassandra.yaml", include_str!("cassandra.yaml")),
    (
        "broken-cassandra.yaml",
        include_str!("broken-cassandra.yaml"),
    ),
    (
        "broken-cassandra-objects.yaml",
        include_str!("broken-cassandra-objects.yaml"),
    ),
    ("zookeeper.yaml", include_str!("zookeeper.yaml")),
    ("kafka.yaml", include_str!("kafka.yaml")),
    ("kudo-crds.yaml", include_str!("kudo-crds.yaml")),
    ("kudo-system.yaml", include_str!("kudo-system.yaml")),
    ("cluster.yaml", include_str!("cluster.yaml")),
    (
        "cassandra-operator.yaml",
        include_str!("cassandra-operator.yaml"),
    ),
    (
        "cassandra-objects.yaml",
        include_str!("cassandra-objects.yaml"),
    ),
    (
        "zookeeper-operator.yaml",
        include_str!("zookeeper-operator.yaml"),
    ),
    (
        "zookeeper-objects.yaml",
        include_str!("zookeeper-objects.yaml"),
    ),
    ("kafka-operator.yaml", include_str!("kafka-operator.yaml")),
    ("kafka-objects.yaml", include_str!("kafka-objects.yaml")),
];

const BUILTINS: &[(&str, &str)] = &[
    ("cassandra", "a healthy KUDO Cassandra instance with 3 nodes, the KUDO manager and nodetool outputs"),
    ("broken-cassandra", "Cassandra with an OOMKilled node in CrashLoopBackOff, a pod Pending for memory, a failed deploy plan and a DN node"),
    ("zookeeper", "a KUDO ZooKeeper ensemble of 3 with its four-letter-word outputs"),
    ("kafka", "a KUDO Kafka instance with 3 brokers and its ZooKeeper child instance, with the Kafka tools' outputs"),
];

/// The built-in scenarios: (name, description).
pub fn builtin_names() -> &'static [(&'static str, &'static str)] {
    BUILTINS
}

/// The text `kudo-diag sim list` prints: one scenario per line, name then description.
pub fn list_text() -> String {
    let width = BUILTINS.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    BUILTINS
        .iter()
        .map(|(n, d)| format!("{n:width$}  {d}\n"))
        .collect()
}

/// An embedded file of the built-in scenarios (e.g. `kudo-crds.yaml`), for the generator.
pub fn embedded_file(name: &str) -> Option<&'static str> {
    embedded(name)
}

fn embedded(name: &str) -> Option<&'static str> {
    EMBEDDED.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

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
            SimError::Message(format!(
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
        return Err(SimError::Message(format!(
            "no built-in scenario or file named {name_or_path:?}{hint}; built-in scenarios are {} (see `kudo-diag sim list`), or give the path of a scenario YAML file",
            names.join(", ")
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        SimError::Message(format!("cannot read scenario file {}: {e}", path.display()))
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
        Some(loc) => SimError::Message(format!(
            "{file}: line {} column {}: {}",
            loc.line(),
            loc.column(),
            plain
                .strip_suffix(&format!(" at line {}, column {}", loc.line(), loc.column()))
                .unwrap_or(&plain)
        )),
        None => SimError::Message(format!("{file}: {plain}")),
    }
}

fn parse(text: &str, file: &str, origin: Origin) -> Result<Scenario, SimError> {
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
                    SimError::Message(format!("{file}: object file {n} is not embedded"))
                })?;
                (n, t.to_string())
            }
            Origin::Dir(dir) => {
                let p = dir.join(&of);
                let t = std::fs::read_to_string(&p).map_err(|e| {
                    SimError::Message(format!("{file}: cannot read object file {}: {e}; paths are relative to the scenario file", p.display()))
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
            return Err(SimError::Message(at(&format!(
                "the object has no {field}; every object needs apiVersion, kind and metadata.name"
            ))));
        }
    }
    if !v["metadata"]["name"].is_string() {
        return Err(SimError::Message(at(&format!(
            "the {kind} has no metadata.name; every object needs one"
        ))));
    }
    out.push(v);
    Ok(())
}

/// Kinds that live outside namespaces.
pub fn cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "Node"
            | "PersistentVolume"
            | "StorageClass"
            | "Namespace"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "CustomResourceDefinition"
            | "MutatingWebhookConfiguration"
            | "ValidatingWebhookConfiguration"
            | "PriorityClass"
            | "APIService"
            | "CSIDriver"
            | "VolumeAttachment"
    )
}

/// A stable uid for an object, so reloading a scenario gives the same uids.
pub fn stable_uid(kind: &str, namespace: &str, name: &str) -> String {
    let mut hasher = blake3::Hasher::new();
    for (i, part) in [kind, namespace, name].iter().enumerate() {
        if i > 0 {
            hasher.update(b"/");
        }
        hasher.update(part.as_bytes());
    }
    // Written digit by digit: this runs once per object, thousands of times for a generated
    // scenario, and `format!` per byte showed in its profile.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = [0u8; 32];
    for (i, b) in hasher.finalize().as_bytes()[..16].iter().enumerate() {
        hex[2 * i] = HEX[(b >> 4) as usize];
        hex[2 * i + 1] = HEX[(b & 15) as usize];
    }
    // A version-4-shaped UUID, like the ones an API server assigns.
    hex[12] = b'4';
    hex[16] = b'a';
    let h = std::str::from_utf8(&hex).unwrap_or_default();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Fills what an API server would: namespaces, uids, owner uids.
pub fn normalize(sc: &mut Scenario) {
    for o in &mut sc.objects {
        let kind = o["kind"].as_str().unwrap_or_default().to_string();
        if !cluster_scoped(&kind) && !o["metadata"]["namespace"].is_string() {
            o["metadata"]["namespace"] = Value::String(sc.namespace.clone());
        }
        if !o["metadata"]["uid"].is_string() {
            let ns = o["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let name = o["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            o["metadata"]["uid"] = Value::String(stable_uid(&kind, &ns, &name));
        }
    }
    let index: std::collections::HashMap<(String, String, String), String> = sc
        .objects
        .iter()
        .map(|o| {
            (
                (
                    o["kind"].as_str().unwrap_or_default().to_string(),
                    o["metadata"]["namespace"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    o["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ),
                o["metadata"]["uid"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    for o in &mut sc.objects {
        let ns = o["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if let Some(refs) = o["metadata"]["ownerReferences"].as_array_mut() {
            for r in refs {
                if r["uid"].is_string() {
                    continue;
                }
                let kind = r["kind"].as_str().unwrap_or_default().to_string();
                let key_ns = if cluster_scoped(&kind) {
                    String::new()
                } else {
                    ns.clone()
                };
                let name = r["name"].as_str().unwrap_or_default().to_string();
                if let Some(uid) = index.get(&(kind, key_ns, name)) {
                    r["uid"] = Value::String(uid.clone());
                }
            }
        }
    }
}

/// Internal consistency problems of a scenario (empty when consistent): owners that do not
/// exist, logs and exec handlers for pods or containers that do not exist, KUDO pods whose
/// labels name no instance.
pub fn problems(sc: &Scenario) -> Vec<String> {
    let mut out = Vec::new();
    let uids: std::collections::HashSet<&str> = sc
        .objects
        .iter()
        .filter_map(|o| o["metadata"]["uid"].as_str())
        .collect();
    let find = |kind: &str, ns: &str, name: &str| {
        sc.objects.iter().find(|o| {
            o["kind"] == kind
                && o["metadata"]["name"] == name
                && o["metadata"]["namespace"].as_str().unwrap_or_default() == ns
        })
    };
    for o in &sc.objects {
        let id = format!(
            "{} {}/{}",
            o["kind"].as_str().unwrap_or_default(),
            o["metadata"]["namespace"].as_str().unwrap_or_default(),
            o["metadata"]["name"].as_str().unwrap_or_default()
        );
        for r in o["metadata"]["ownerReferences"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if !r["uid"].as_str().is_some_and(|u| uids.contains(u)) {
                out.push(format!(
                    "{id}: owner {} {} does not exist",
                    r["kind"], r["name"]
                ));
            }
        }
        if o["kind"] == "Pod" {
            if let Some(node) = o["spec"]["nodeName"].as_str() {
                if find("Node", "", node).is_none() {
                    out.push(format!("{id}: runs on node {node}, which does not exist"));
                }
            }
            let ns = o["metadata"]["namespace"].as_str().unwrap_or_default();
            if let Some(inst) = o["metadata"]["labels"]["kudo.dev/instance"].as_str() {
                match find("Instance", ns, inst) {
                    None => out.push(format!(
                        "{id}: label kudo.dev/instance={inst} names no Instance"
                    )),
                    Some(i) => {
                        let op = o["metadata"]["labels"]["kudo.dev/operator"]
                            .as_str()
                            .unwrap_or_default();
                        if i["metadata"]["labels"]["kudo.dev/operator"].as_str() != Some(op) {
                            out.push(format!(
                                "{id}: label kudo.dev/operator={op} differs from its Instance's"
                            ));
                        }
                    }
                }
            }
        }
    }
    for l in &sc.logs {
        let ns = l.namespace.as_deref().unwrap_or(&sc.namespace);
        match find("Pod", ns, &l.pod) {
            None => out.push(format!("log for pod {ns}/{}: no such pod", l.pod)),
            Some(p) => {
                let (c, i) = super::logs::container_names(p);
                if !c.contains(&l.container) && !i.contains(&l.container) {
                    out.push(format!(
                        "log for pod {ns}/{}: no container {}",
                        l.pod, l.container
                    ));
                }
            }
        }
    }
    let pod_names: Vec<&str> = sc
        .objects
        .iter()
        .filter(|o| o["kind"] == "Pod")
        .filter_map(|o| o["metadata"]["name"].as_str())
        .collect();
    let patterns = sc
        .exec
        .iter()
        .map(|h| ("exec", &h.pod))
        .chain(sc.files.iter().map(|f| ("files", &f.pod)));
    let mut counts = std::collections::HashMap::new();
    for (section, pod) in patterns {
        let i = counts.entry(section).or_insert(0usize);
        if let Some(p) = pod {
            match regex::Regex::new(&format!("^(?:{p})$")) {
                Err(_) => out.push(format!(
                    "{section}[{i}]: pod pattern {p:?} is not a valid regex"
                )),
                Ok(re) if !pod_names.iter().any(|n| re.is_match(n)) => {
                    out.push(format!("{section}[{i}]: pod pattern {p:?} matches no pod"))
                }
                Ok(_) => {}
            }
        }
        *i += 1;
    }
    for (i, h) in sc.exec.iter().enumerate() {
        if let super::scenario::ExecMatch::Regex(r) = &h.matcher {
            if regex::Regex::new(r).is_err() {
                out.push(format!("exec[{i}]: regex {r:?} is not valid"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
