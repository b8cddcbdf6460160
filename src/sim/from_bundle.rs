//! A collected bundle turned back into a [`Scenario`], so that `kudo-diag serve` can answer
//! kubectl from it through the simulated API server (read-only, see `SimOptions::read_only`).
//!
//! The bundle is opened through the hostile-input reader (`crate::bundle::reader`) and every
//! hash in its manifest is checked before anything is served: a served bundle must show what
//! was collected, not what someone changed afterwards.
//!
//! The mapping is by content, not by a list of paths, so that every pipeline's output (the
//! built-in ones and a user's) is served:
//! - every `.yaml`/`.yml`/`.json` artifact that parses as one Kubernetes object (apiVersion,
//!   kind, metadata.name) or as a list of them (`kind: List`, `PodList`, ...) contributes its
//!   objects; the same object found in several files (`workload/pods.yaml` and
//!   `pods/POD/pod.yaml`) is served once; objects of kinds the simulated API does not serve are
//!   left out and counted in the [`Summary`];
//! - `…pods/POD/logs/CONTAINER.log` is the container's log and `CONTAINER.previous.log` the log
//!   of its previous instance (or, when the manifest's `identicalLogs` says they were the same
//!   bytes, the current log's); the pod's namespace comes from `…pods/POD/pod.yaml` next to it
//!   (a dependency's, under `dependencies/NAMESPACE/INSTANCE/pods/`, is served the same way:
//!   its objects are the same cluster's);
//! - `cluster/version.yaml` is what `/version` answers;
//! - `cluster/node-pods.json`, the node context, adds the other pods on the instance's nodes
//!   as Pods holding only its columns (`bundle::nodepods`), so `kubectl describe node` sums
//!   every pod on the node; a pod the bundle also holds whole is served whole;
//! - `cluster/discovery.yaml` (when collected) is the discovery served, as recorded.
//!
//! Values the collection redacted stay redacted: the bundle never holds them, and nothing here
//! tries to restore them. A Secret's `data` is bytes in base64 on a real API server, and kubectl
//! decodes it (`describe secret` fails on anything else), so a redacted value (`**REDACTED**`,
//! not base64) is served as the base64 of the marker itself: decoded, it still reads
//! `**REDACTED**`. Objects are held in memory, up to [`MAX_IN_MEMORY`]; logs are streamed out
//! of the zip into a [`Spool`] folder and served from there, a window at a time.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use serde_json::Value;

use super::resources::Registry;
use super::scenario::{LogSource, LogSpec, Scenario, ServerVersion};
use crate::bundle::nodepods::NodePods;
use crate::bundle::reader::{BundleReader, Limits};
use crate::bundle::writer::Manifest;
use crate::Error;

/// A bundle as a scenario, with what was made of it.
#[derive(Debug, Clone)]
pub struct BundleScenario {
    pub scenario: Scenario,
    pub summary: Summary,
}

/// A private folder of logs extracted from a bundle, deleted on drop (the scenario holds it,
/// see `Scenario::keep_alive`). Logs are served from it
/// the way a scenario's log files are, a window at a time, so a multi-GiB log costs disk, not
/// memory.
#[derive(Debug)]
pub struct Spool {
    dir: std::path::PathBuf,
}

impl Spool {
    fn create() -> crate::Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "kudo-diag-serve-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir(&dir)
            .map_err(|e| Error::Other(format!("cannot create {}: {e}", dir.display())))?;
        Ok(Spool { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What the bundle held, for the person starting the server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Objects served.
    pub objects: usize,
    /// Container logs served (current ones).
    pub logs: usize,
    /// Logs of previous container instances served.
    pub previous_logs: usize,
    /// Objects left out because the simulated API does not serve their kind:
    /// `"Kind (apiVersion)"` → how many.
    pub unserved: BTreeMap<String, usize>,
    /// Log files whose pod is not in the bundle (they cannot be asked for), by path.
    pub orphan_logs: Vec<String>,
    /// Pods served from the node context table (`cluster/node-pods.json`) only: other pods on
    /// the instance's nodes, with their requests, limits, phase and states.
    pub node_context_pods: usize,
}

impl Summary {
    /// One line for stderr, plus one per thing left out.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "{} objects, {} container logs, {} previous logs",
            self.objects, self.logs, self.previous_logs
        )];
        if self.node_context_pods > 0 {
            out.push(format!(
                "{} other pods on the instance's nodes, from the node context (requests, limits, phase and states only)",
                self.node_context_pods
            ));
        }
        if !self.unserved.is_empty() {
            let kinds: Vec<String> = self
                .unserved
                .iter()
                .map(|(k, n)| format!("{k} x{n}"))
                .collect();
            out.push(format!(
                "not served (the simulated API does not serve these kinds): {}",
                kinds.join(", ")
            ));
        }
        if !self.orphan_logs.is_empty() {
            out.push(format!(
                "not served (no pod object in the bundle for them): {}",
                self.orphan_logs.join(", ")
            ));
        }
        out
    }
}

/// Loads the bundle at `path` with the reader's default limits.
pub fn load(path: &Path) -> crate::Result<BundleScenario> {
    load_with(path, Limits::default())
}

/// Loads the bundle at `path` (a troubleshoot support bundle goes to `sim::troubleshoot`):
/// checks it is a zip, opens it through the hostile-input reader
/// (safe paths, caps, a manifest of a format this version understands), verifies every hash,
/// then maps its artifacts to a scenario (see the module doc).
pub fn load_with(path: &Path, limits: Limits) -> crate::Result<BundleScenario> {
    load_capped(path, limits, MAX_IN_MEMORY)
}

/// Most bytes of objects kept in memory to serve (the reader's caps are about what a
/// bundle may make us inflate; this is about what we keep).
pub const MAX_IN_MEMORY: u64 = 4 << 30;

fn load_capped(path: &Path, limits: Limits, max_in_memory: u64) -> crate::Result<BundleScenario> {
    // A troubleshoot.sh support bundle (`.tar.gz` or its folder) is read by its own loader.
    if super::troubleshoot::is_troubleshoot(path) {
        return super::troubleshoot::load(path, &limits);
    }
    check_zip_magic(path)?;
    let mut reader = BundleReader::open(path, limits)?;
    let report = reader.verify();
    if !report.is_clean() {
        let problems = report.problems();
        let shown: Vec<&str> = problems.iter().take(5).map(String::as_str).collect();
        return Err(Error::Usage(format!(
            "bundle {} does not match its manifest ({} problem{}), so it cannot be served as collected:\n  {}{}\nit was changed or damaged after collection; collect it again, or run `kudo-diag bundle verify {}` for the full list",
            path.display(),
            problems.len(),
            if problems.len() == 1 { "" } else { "s" },
            shown.join("\n  "),
            if problems.len() > shown.len() {
                format!("\n  ... and {} more", problems.len() - shown.len())
            } else {
                String::new()
            },
            path.display()
        )));
    }
    let manifest = reader.manifest().clone();
    let wanted: Vec<&str> = manifest
        .files
        .iter()
        .filter(|f| is_object_file(&f.path) || log_path(&f.path).is_some())
        .map(|f| f.path.as_str())
        .collect();
    // The sizes are the manifest's, which verification just confirmed. Logs are streamed to
    // the spool, not held: only objects count.
    let total: u64 = manifest
        .files
        .iter()
        .filter(|f| wanted.contains(&f.path.as_str()) && log_path(&f.path).is_none())
        .map(|f| f.bytes)
        .sum();
    if total > max_in_memory {
        return Err(Error::Usage(format!(
            "bundle {} holds {} MiB of objects, more than the {} MiB serve keeps in memory; collect a smaller bundle, or read it with `kudo-diag analyze` and unzip",
            path.display(),
            total >> 20,
            max_in_memory >> 20
        )));
    }
    let spool = Spool::create()?;
    let mut files = Vec::new();
    let mut logs = Vec::new();
    for (i, p) in wanted.into_iter().enumerate() {
        if log_path(p).is_some() {
            let file = spool.dir().join(format!("{i}.log"));
            let written = std::fs::File::create(&file).and_then(|mut out| {
                let mut r = reader
                    .reader(p)
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                std::io::copy(&mut r, &mut out)
            });
            written.map_err(|e| Error::Other(crate::bundle::storage::describe(&file, &e, None)))?;
            logs.push((p.to_string(), LogSource::File(file)));
        } else {
            files.push((p.to_string(), reader.read(p)?));
        }
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let mut loaded = from_parts(&name, &manifest, files, logs)?;
    loaded.scenario.keep_alive = Some(std::sync::Arc::new(spool));
    Ok(loaded)
}

/// A bundle starts with a zip local header (`PK\x03\x04`), or is an empty zip (`PK\x05\x06`).
/// Anything else gets a message about what it is not, rather than the zip library's.
fn check_zip_magic(path: &Path) -> crate::Result<()> {
    let mut head = [0u8; 4];
    let mut f = std::fs::File::open(path).map_err(|e| {
        Error::Usage(format!(
            "cannot open bundle {}: {e}; pass the .zip that `kudo-diag run` wrote",
            path.display()
        ))
    })?;
    let n = f.read(&mut head).map_err(|e| Error::io(path, e))?;
    if n < 4 || !(head == *b"PK\x03\x04" || head == *b"PK\x05\x06") {
        return Err(Error::Usage(format!(
            "{} is not a zip file, so it is not a kudo-diag bundle; pass the .zip that `kudo-diag run` wrote",
            path.display()
        )));
    }
    Ok(())
}

/// Whether an artifact may hold Kubernetes objects.
fn is_object_file(path: &str) -> bool {
    [".yaml", ".yml", ".json"].iter().any(|e| path.ends_with(e))
}

/// A log artifact: (directory of its pod, `…pods/POD`), pod, container, previous.
fn log_path(path: &str) -> Option<(&str, &str, &str, bool)> {
    let file = path.strip_suffix(".log")?;
    let (logs_dir, container) = file.rsplit_once('/')?;
    let pod_dir = logs_dir.strip_suffix("/logs")?;
    let (parent, pod) = match pod_dir.rsplit_once('/') {
        Some((parent, pod)) => (parent, pod),
        None => return None,
    };
    if !(parent == "pods" || parent.ends_with("/pods")) || pod.is_empty() {
        return None;
    }
    let (container, previous) = match container.strip_suffix(".previous") {
        Some(c) => (c, true),
        None => (container, false),
    };
    (!container.is_empty()).then_some((pod_dir, pod, container, previous))
}

/// The Kubernetes objects a parsed file holds: itself, or the items of a list.
fn objects_in(doc: Value) -> Vec<Value> {
    let is_object = |v: &Value| {
        v["apiVersion"].as_str().is_some_and(|s| !s.is_empty())
            && v["kind"].as_str().is_some_and(|s| !s.is_empty())
            && v["metadata"]["name"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
    };
    let kind = doc["kind"].as_str().unwrap_or_default().to_string();
    if kind.ends_with("List") {
        if let Some(Value::Array(items)) = doc.get("items") {
            // `kubectl get -o yaml` lists name each item's kind; typed lists (`PodList`) may not.
            let item_kind = kind.strip_suffix("List").unwrap_or_default().to_string();
            let api_version = doc["apiVersion"].clone();
            return items
                .iter()
                .cloned()
                .map(|mut it| {
                    if !item_kind.is_empty() && it.is_object() {
                        if it["kind"].is_null() {
                            it["kind"] = Value::from(item_kind.clone());
                        }
                        if it["apiVersion"].is_null() {
                            it["apiVersion"] = api_version.clone();
                        }
                    }
                    it
                })
                .filter(is_object)
                .collect();
        }
    }
    if is_object(&doc) {
        vec![doc]
    } else {
        Vec::new()
    }
}

/// The logs, plus each previous log the manifest records as identical to its current log,
/// served from the same content.
fn with_identical_logs(
    manifest: &Manifest,
    mut logs: Vec<(String, LogSource)>,
) -> Vec<(String, LogSource)> {
    for same in &manifest.identical_logs {
        let src = logs
            .iter()
            .find(|(p, _)| *p == same.same_as)
            .map(|(_, s)| s.clone());
        if let Some(src) = src {
            logs.push((same.path.clone(), src));
        }
    }
    logs
}

/// What makes an object one: apiVersion, kind, namespace, name.
fn object_key(o: &Value) -> (String, String, String, String) {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    (
        s(&o["apiVersion"]),
        s(&o["kind"]),
        s(&o["metadata"]["namespace"]),
        s(&o["metadata"]["name"]),
    )
}

/// Builds the scenario from a bundle's artifacts (path, content), in manifest order. `name`
/// names the bundle in messages.
pub fn from_files(
    name: &str,
    manifest: &Manifest,
    files: Vec<(String, Vec<u8>)>,
) -> crate::Result<BundleScenario> {
    let (logs, files): (Vec<_>, Vec<_>) =
        files.into_iter().partition(|(p, _)| log_path(p).is_some());
    let logs = logs
        .into_iter()
        .map(|(p, b)| {
            (
                p,
                LogSource::Inline(String::from_utf8_lossy(&b).into_owned()),
            )
        })
        .collect();
    from_parts(name, manifest, files, logs)
}

/// [`from_files`] with the logs given apart, each as a [`LogSource`] (inline text, or a file
/// the server reads a window at a time).
fn from_parts(
    name: &str,
    manifest: &Manifest,
    files: Vec<(String, Vec<u8>)>,
    logs: Vec<(String, LogSource)>,
) -> crate::Result<BundleScenario> {
    let mut objects: Vec<Value> = Vec::new();
    let mut seen: HashSet<(String, String, String, String)> = HashSet::new();
    // `…pods/POD` → the namespace of the pod in `…pods/POD/pod.yaml`.
    let mut pod_dirs: HashMap<String, String> = HashMap::new();
    let mut server_version = ServerVersion::default();
    let mut node_context: Vec<Value> = Vec::new();
    let mut summary_node_pods = 0;
    let mut discovery = None;
    for (path, bytes) in &files {
        if !is_object_file(path) {
            continue;
        }
        if path == crate::bundle::layout::NODE_PODS {
            // Served after the bundle's own objects, which hold more of the same pods.
            let text = String::from_utf8_lossy(bytes);
            let table = NodePods::parse(&text)
                .map_err(|e| {
                    Error::Usage(format!(
                        "bundle {name}: {path} is {e}; it was not written by this kudo-diag's k8s.nodepods: collect the bundle again"
                    ))
                })?;
            node_context = table.pods();
            continue;
        }
        // Not every YAML artifact is an object (versions.yaml, an application's config file);
        // those that do not parse are simply not objects.
        let Ok(doc) = crate::yaml::from_slice::<Value>(bytes) else {
            continue;
        };
        if path == crate::bundle::layout::CLUSTER_VERSION {
            if let Some(v) = server_version_of(&doc) {
                server_version = v;
            }
            continue;
        }
        if path == crate::bundle::layout::DISCOVERY {
            discovery = recorded_discovery(doc);
            continue;
        }
        for o in objects_in(doc) {
            let key = object_key(&o);
            if key.1 == "Pod" && key.0 == "v1" {
                if let Some(dir) = path.strip_suffix("/pod.yaml") {
                    pod_dirs.insert(dir.to_string(), key.2.clone());
                }
            }
            if seen.insert(key) {
                objects.push(encode_redacted_secret_data(o));
            }
        }
    }
    for pod in node_context {
        if seen.insert(object_key(&pod)) {
            summary_node_pods += 1;
            objects.push(pod);
        }
    }

    // Only what the simulated API serves: the recorded discovery, or the built-ins of the
    // server's minor (CRDs in the bundle add their kinds).
    let registry = match &discovery {
        Some(d) => Registry::from_recorded(d, &objects),
        None => Registry::new(&objects, server_version.minor_number().unwrap_or(32)),
    };
    let mut summary = Summary {
        node_context_pods: summary_node_pods,
        ..Summary::default()
    };
    keep_served(&mut objects, &registry, &mut summary);
    if objects.is_empty() {
        return Err(nothing_to_serve(name, manifest));
    }

    let target_ns = manifest.meta.target["namespace"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let namespace = target_ns
        .clone()
        .unwrap_or_else(|| main_namespace(&objects));

    let specs = bundle_logs(
        &objects,
        with_identical_logs(manifest, logs),
        &pod_dirs,
        target_ns.as_deref(),
        &mut summary,
    );
    let description = description(name, &namespace, manifest);
    Ok(BundleScenario {
        scenario: Scenario {
            name: format!("bundle {name}"),
            description,
            namespace,
            server_version,
            objects,
            logs: specs,
            discovery,
            ..Scenario::default()
        },
        summary,
    })
}

/// Why a bundle without objects cannot be served, and what to serve instead.
fn nothing_to_serve(name: &str, manifest: &Manifest) -> Error {
    let pipeline = &manifest.meta.pipeline;
    let why = if pipeline == "selftest" {
        " (a selftest bundle holds synthetic files only)".to_string()
    } else if pipeline.is_empty() {
        String::new()
    } else {
        format!(" (pipeline {pipeline})")
    };
    Error::Usage(format!(
        "bundle {name} holds no Kubernetes objects{why}, so there is nothing to serve; serve a bundle collected from a cluster with `kudo-diag run --instance NAME -n NAMESPACE`"
    ))
}

/// The namespace of a bundle that does not name its target: its Instance's, else the first
/// namespaced object's, else `default`.
fn main_namespace(objects: &[Value]) -> String {
    objects
        .iter()
        .find(|o| o["kind"] == "Instance")
        .or_else(|| {
            objects
                .iter()
                .find(|o| o["metadata"]["namespace"].is_string())
        })
        .and_then(|o| o["metadata"]["namespace"].as_str())
        .unwrap_or("default")
        .to_string()
}

/// The resource lists of a recorded discovery (`cluster/discovery.yaml`, written by
/// `k8s.discovery`), in the form `Scenario::discovery` holds; None when it has none.
fn recorded_discovery(mut doc: Value) -> Option<Value> {
    match doc["resources"].take() {
        Value::Array(lists) if !lists.is_empty() => Some(Value::Array(lists)),
        _ => None,
    }
}

/// The logs of pods the bundle holds, each in its pod's namespace (from `pod.yaml` next to
/// it, else the pod of that name); the others are named as orphans in `summary`.
fn bundle_logs(
    objects: &[Value],
    logs: Vec<(String, LogSource)>,
    pod_dirs: &HashMap<String, String>,
    target_ns: Option<&str>,
    summary: &mut Summary,
) -> Vec<LogSpec> {
    // Pods by name, for logs without a pod.yaml next to them.
    let mut pods_by_name: HashMap<&str, Vec<&str>> = HashMap::new();
    for o in objects {
        if o["kind"] == "Pod" && o["apiVersion"] == "v1" {
            if let (Some(n), Some(ns)) = (
                o["metadata"]["name"].as_str(),
                o["metadata"]["namespace"].as_str(),
            ) {
                pods_by_name.entry(n).or_default().push(ns);
            }
        }
    }
    let mut specs = Vec::new();
    for (path, source) in logs {
        let Some((pod_dir, pod, container, previous)) = log_path(&path) else {
            continue;
        };
        let ns = pod_dirs.get(pod_dir).cloned().or_else(|| {
            let candidates = pods_by_name.get(pod)?;
            let ours = target_ns.filter(|t| candidates.contains(t));
            // Logs under `pods/` are the instance's; elsewhere (`kudo/pods/`) another
            // namespace's pod of the same name is the better guess.
            match (pod_dir == format!("pods/{pod}"), ours) {
                (true, Some(t)) => Some(t.to_string()),
                _ => candidates
                    .iter()
                    .find(|c| Some(**c) != target_ns)
                    .or(candidates.first())
                    .map(|c| c.to_string()),
            }
        });
        let Some(ns) = ns else {
            summary.orphan_logs.push(path.clone());
            continue;
        };
        if previous {
            summary.previous_logs += 1;
        } else {
            summary.logs += 1;
        }
        specs.push(LogSpec {
            namespace: Some(ns),
            pod: pod.to_string(),
            container: container.to_string(),
            previous,
            source,
        });
    }

    specs
}

/// Keeps the objects the simulated API serves under `registry`, counting the others (by
/// kind and apiVersion) and the kept ones in `summary`.
pub fn keep_served(objects: &mut Vec<Value>, registry: &Registry, summary: &mut Summary) {
    objects.retain(|o| {
        let api_version = o["apiVersion"].as_str().unwrap_or_default();
        let kind = o["kind"].as_str().unwrap_or_default();
        let served = registry.by_kind(api_version, kind).is_some();
        if !served {
            *summary
                .unserved
                .entry(format!("{kind} ({api_version})"))
                .or_default() += 1;
        }
        served
    });
    summary.objects = objects.len();
}

/// The scenario description of a bundle: pipeline, instance, when and by what it was collected.
fn description(name: &str, namespace: &str, manifest: &Manifest) -> String {
    let meta = &manifest.meta;
    let instance = meta.target["instance"].as_str().unwrap_or_default();
    format!(
        "bundle {name}: pipeline {}, instance {namespace}/{instance}, collected {} by kudo-diag {}",
        if meta.pipeline.is_empty() {
            "?"
        } else {
            &meta.pipeline
        },
        if meta.finished.is_empty() {
            "?"
        } else {
            &meta.finished
        },
        if meta.tool_version.is_empty() {
            "?"
        } else {
            &meta.tool_version
        },
    )
}

/// A Secret's `data` values that are not base64 (the redaction marker) encoded as base64, so
/// that they decode, as every value of a real Secret does, to what the bundle holds.
fn encode_redacted_secret_data(mut o: Value) -> Value {
    use base64::Engine;
    if o["kind"] != "Secret" || o["apiVersion"] != "v1" {
        return o;
    }
    let b64 = &base64::engine::general_purpose::STANDARD;
    if let Some(data) = o.get_mut("data").and_then(Value::as_object_mut) {
        for v in data.values_mut() {
            if let Some(text) = v.as_str() {
                if b64.decode(text).is_err() {
                    *v = Value::from(b64.encode(text));
                }
            }
        }
    }
    o
}

/// `/version` as collected (`cluster/version.yaml`), when it has major, minor and gitVersion;
/// its other fields are kept to be served as recorded.
pub fn server_version_of(doc: &Value) -> Option<ServerVersion> {
    let s = |k: &str| doc[k].as_str().map(str::to_string);
    let recorded = doc
        .as_object()?
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "major" | "minor" | "gitVersion"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Some(ServerVersion {
        major: s("major")?,
        minor: s("minor")?,
        git_version: s("gitVersion")?,
        recorded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::writer::{BundleMeta, ManifestEntry, BUNDLE_FORMAT_VERSION};
    use std::io::Write;
    use std::path::PathBuf;

    fn manifest(pipeline: &str, files: &[(&str, &str)]) -> Manifest {
        Manifest {
            meta: BundleMeta {
                format_version: BUNDLE_FORMAT_VERSION,
                tool: "kudo-diag".into(),
                tool_version: "0.1.0".into(),
                pipeline: pipeline.into(),
                target: serde_json::json!({"namespace": "prod", "instance": "cass"}),
                finished: "2026-11-27T13:11:02Z".into(),
                ..BundleMeta::default()
            },
            files: files
                .iter()
                .map(|(p, c)| ManifestEntry {
                    path: p.to_string(),
                    bytes: c.len() as u64,
                    blake3: blake3::hash(c.as_bytes()).to_hex().to_string(),
                    task: "t".into(),
                    redactions: 0,
                })
                .collect(),
            bundle_files: vec![],
            empty_lists: vec![],
            identical_logs: vec![],
        }
    }

    /// A bundle zip of `files` with a manifest, written in `dir`.
    fn bundle(dir: &Path, pipeline: &str, files: &[(&str, &str)]) -> PathBuf {
        zip_with_manifest(dir, files, &manifest(pipeline, files))
    }

    fn zip_with_manifest(dir: &Path, files: &[(&str, &str)], m: &Manifest) -> PathBuf {
        let p = dir.join(format!("b{}.zip", rand::random::<u32>()));
        let mut z = zip::ZipWriter::new(std::fs::File::create(&p).unwrap());
        let o = zip::write::SimpleFileOptions::default();
        for (n, c) in files {
            z.start_file(*n, o).unwrap();
            z.write_all(c.as_bytes()).unwrap();
        }
        z.start_file("manifest.json", o).unwrap();
        z.write_all(&serde_json::to_vec(m).unwrap()).unwrap();
        z.finish().unwrap();
        p
    }

    const PODS: &str = "apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: cass-0, namespace: prod}
  spec: {nodeName: n1, containers: [{name: cassandra}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: cass-1, namespace: prod}
  spec: {nodeName: n1, containers: [{name: cassandra}]}
";
    const POD0: &str = "apiVersion: v1
kind: Pod
metadata: {name: cass-0, namespace: prod}
spec: {nodeName: n1, containers: [{name: cassandra}]}
";
    const MANAGER: &str = "apiVersion: v1
kind: Pod
metadata: {name: kudo-controller-manager-0, namespace: kudo-system}
spec: {nodeName: n1, containers: [{name: manager}]}
";

    fn files() -> Vec<(&'static str, &'static str)> {
        vec![
            ("cluster/version.yaml", "major: '1'\nminor: '29'\ngitVersion: v1.29.3\nplatform: linux/amd64\n"),
            ("instance/instance.yaml", "apiVersion: kudo.dev/v1beta1\nkind: Instance\nmetadata: {name: cass, namespace: prod}\nspec: {}\n"),
            ("kudo/pods/kudo-controller-manager-0/logs/manager.log", "m1\nm2\n"),
            ("kudo/pods/kudo-controller-manager-0/pod.yaml", MANAGER),
            ("pods/cass-0/logs/cassandra.log", "a\nb\nc\n"),
            ("pods/cass-0/logs/cassandra.previous.log", "old\n"),
            ("pods/cass-0/pod.yaml", POD0),
            ("pods/ghost/logs/x.log", "boo\n"),
            ("versions.yaml", "collector: {version: 0.1.0}\n"),
            ("apps/cassandra/cass-0/conf/cassandra.yaml", "cluster_name: x\nnum_tokens: 256\n"),
            ("workload/pods.yaml", PODS),
            ("workload/secrets.yaml", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: s, namespace: prod}\n  data: {password: '**REDACTED**', user: YWRtaW4=}\n"),
            ("workload/widgets.yaml", "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: example.com/v1, kind: Widget, metadata: {name: w}}\n"),
            ("workload/cronjobs.yaml", "apiVersion: v1\nkind: List\nitems: []\n"),
        ]
    }

    #[test]
    fn a_previous_log_recorded_identical_is_served_from_the_current_one() {
        let files: Vec<(&str, &str)> = files()
            .into_iter()
            .filter(|(p, _)| !p.ends_with(".previous.log"))
            .collect();
        let mut m = manifest("cassandra", &files);
        m.identical_logs = vec![crate::bundle::writer::IdenticalLog {
            path: "pods/cass-0/logs/cassandra.previous.log".into(),
            same_as: "pods/cass-0/logs/cassandra.log".into(),
            task: "pod-logs-previous".into(),
        }];
        let owned = files
            .iter()
            .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
            .collect();
        let b = from_files("b.zip", &m, owned).unwrap();
        let prev = b
            .scenario
            .logs
            .iter()
            .find(|l| l.pod == "cass-0" && l.previous)
            .expect("the previous log is served");
        assert!(matches!(&prev.source, LogSource::Inline(t) if t == "a\nb\nc\n"));
        assert_eq!(b.summary.previous_logs, 1);
    }

    #[test]
    fn maps_objects_logs_and_version() {
        let d = tempfile::tempdir().unwrap();
        let p = bundle(d.path(), "cassandra", &files());
        let b = load(&p).unwrap();
        let sc = &b.scenario;
        assert_eq!(sc.namespace, "prod");
        assert_eq!(sc.server_version.git_version, "v1.29.3");
        let names: Vec<String> = sc
            .objects
            .iter()
            .map(|o| {
                format!(
                    "{}/{}",
                    o["kind"].as_str().unwrap(),
                    o["metadata"]["name"].as_str().unwrap()
                )
            })
            .collect();
        // cass-0 is in two files and served once; the Widget's kind is not served.
        assert_eq!(
            names,
            [
                "Instance/cass",
                "Pod/kudo-controller-manager-0",
                "Pod/cass-0",
                "Pod/cass-1",
                "Secret/s"
            ]
        );
        assert_eq!(
            b.summary.unserved,
            BTreeMap::from([("Widget (example.com/v1)".to_string(), 1)])
        );
        assert_eq!(b.summary.orphan_logs, ["pods/ghost/logs/x.log"]);
        assert_eq!((b.summary.logs, b.summary.previous_logs), (2, 1));
        let log = |pod: &str, prev: bool| {
            let l = sc
                .logs
                .iter()
                .find(|l| l.pod == pod && l.previous == prev)
                .unwrap();
            let t = match &l.source {
                LogSource::Inline(t) => t.clone(),
                LogSource::File(f) => std::fs::read_to_string(f).unwrap(),
                other => panic!("{other:?}"),
            };
            (l.namespace.clone().unwrap(), l.container.clone(), t)
        };
        assert_eq!(
            log("cass-0", false),
            ("prod".into(), "cassandra".into(), "a\nb\nc\n".into())
        );
        assert_eq!(log("cass-0", true).2, "old\n");
        assert_eq!(
            log("kudo-controller-manager-0", false),
            ("kudo-system".into(), "manager".into(), "m1\nm2\n".into())
        );
        // Redacted values stay redacted, encoded as a Secret's bytes are; valid base64 is kept.
        let secret = sc.objects.iter().find(|o| o["kind"] == "Secret").unwrap();
        assert_eq!(secret["data"]["password"], "KipSRURBQ1RFRCoq");
        assert_eq!(secret["data"]["user"], "YWRtaW4=");
        // The whole thing is servable.
        crate::sim::SimState::new(sc.clone(), None).unwrap();
    }

    #[test]
    fn log_paths_are_recognised_only_under_pods() {
        assert_eq!(
            log_path("pods/p/logs/c.log"),
            Some(("pods/p", "p", "c", false))
        );
        assert_eq!(
            log_path("kudo/pods/p/logs/c.previous.log"),
            Some(("kudo/pods/p", "p", "c", true))
        );
        assert_eq!(log_path("kudo-diag/collection.log"), None);
        assert_eq!(log_path("apps/x/logs/c.log"), None);
        assert_eq!(log_path("pods/p/logs/.log"), None);
    }

    #[test]
    fn typed_lists_name_their_items_kind() {
        let doc: Value = crate::yaml::from_str(
            "apiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: a}\n- {kind: Pod}\n",
        )
        .unwrap();
        let objs = objects_in(doc);
        assert_eq!(objs.len(), 1);
        assert_eq!(
            (objs[0]["kind"].as_str(), objs[0]["apiVersion"].as_str()),
            (Some("Pod"), Some("v1"))
        );
    }

    fn load_err(p: &Path) -> String {
        load(p).unwrap_err().to_string()
    }

    #[test]
    fn a_file_that_is_not_a_zip_is_named_as_such() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("bundle.zip");
        std::fs::write(&p, "apiVersion: v1\nkind: Pod\n").unwrap();
        let e = load_err(&p);
        assert!(
            e.contains("is not a zip file")
                && e.contains("pass the .zip that `kudo-diag run` wrote"),
            "{e}"
        );
        let e = load_err(&d.path().join("missing.zip"));
        assert!(
            e.contains("cannot open bundle") && e.contains("missing.zip"),
            "{e}"
        );
    }

    #[test]
    fn a_truncated_bundle_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = bundle(d.path(), "cassandra", &files());
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() * 2 / 3]).unwrap();
        let e = load_err(&p);
        assert!(
            e.contains("truncated or corrupt") && e.contains("collect it again"),
            "{e}"
        );
    }

    #[test]
    fn a_bundle_of_a_newer_format_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let f = files();
        let mut m = manifest("cassandra", &f);
        m.meta.format_version = BUNDLE_FORMAT_VERSION + 1;
        let e = load_err(&zip_with_manifest(d.path(), &f, &m));
        assert!(
            e.contains("newer than this kudo-diag understands") && e.contains("upgrade kudo-diag"),
            "{e}"
        );
    }

    #[test]
    fn a_synthetic_bundle_has_nothing_to_serve() {
        let d = tempfile::tempdir().unwrap();
        let p = bundle(
            d.path(),
            "selftest",
            &[
                ("selftest/hello.bin", "xyz"),
                ("selftest/summary.json", "{\"n\": 1}"),
            ],
        );
        let e = load_err(&p);
        assert!(
            e.contains(
                "holds no Kubernetes objects (a selftest bundle holds synthetic files only)"
            ) && e.contains("kudo-diag run --instance NAME"),
            "{e}"
        );
    }

    #[test]
    fn a_bundle_too_big_to_hold_is_refused_before_reading() {
        let d = tempfile::tempdir().unwrap();
        let p = bundle(d.path(), "cassandra", &files());
        let e = load_capped(&p, Limits::default(), 64)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("more than the 0 MiB serve keeps in memory")
                && e.contains("collect a smaller bundle"),
            "{e}"
        );
    }

    /// Issue 14: logs are streamed out of the zip into a spool folder and served from there:
    /// they do not count against (or take) memory, and the folder goes with the server.
    #[test]
    fn logs_are_spooled_to_disk_not_held() {
        let d = tempfile::tempdir().unwrap();
        let big = "a log line of about sixty bytes, repeated many times over\n".repeat(200_000);
        let mut f = files();
        let at = f
            .iter()
            .position(|(p, _)| *p == "pods/cass-0/logs/cassandra.log")
            .unwrap();
        f[at].1 = Box::leak(big.clone().into_boxed_str());
        let p = bundle(d.path(), "cassandra", &f);
        let objects: u64 = f
            .iter()
            .filter(|(p, _)| log_path(p).is_none())
            .map(|(_, c)| c.len() as u64)
            .sum();
        // A cap below the log's size but above the objects' lets the bundle through.
        assert!((big.len() as u64) > objects * 10);
        let loaded = load_capped(&p, Limits::default(), objects + 1).unwrap();
        let spool = loaded
            .scenario
            .keep_alive
            .as_ref()
            .unwrap()
            .dir()
            .to_path_buf();
        let log = loaded
            .scenario
            .logs
            .iter()
            .find(|l| l.pod == "cass-0" && !l.previous)
            .unwrap();
        let LogSource::File(file) = &log.source else {
            panic!("the log is held in memory: {:?}", log.source);
        };
        assert!(file.starts_with(&spool));
        assert_eq!(std::fs::read_to_string(file).unwrap(), big);
        drop(loaded);
        assert!(!spool.exists(), "the spool outlived the server");
    }

    #[test]
    fn a_changed_bundle_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let f = files();
        let m = manifest("cassandra", &f);
        let mut changed = f.clone();
        changed[4].1 = "a\nb\nforged\n";
        let e = load_err(&zip_with_manifest(d.path(), &changed, &m));
        assert!(
            e.contains("does not match its manifest (1 problem)")
                && e.contains("pods/cass-0/logs/cassandra.log")
                && e.contains("collect it again"),
            "{e}"
        );
    }
}
