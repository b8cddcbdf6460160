//! Reading a troubleshoot.sh support bundle (what `kubectl support-bundle` writes: a
//! `.tar.gz`, or the folder it unpacks to): the one reader `serve` (`sim::troubleshoot`, which
//! turns it into a scenario) and `analyze` (`analyze::troubleshoot`, which lays it out as the
//! analyzers read a bundle) share.
//!
//! What is read, by the layout troubleshoot writes:
//! - `cluster-resources/**.json|yaml`: every object, from typed lists (`PodList`, ...), plain
//!   lists and YAML sequences (custom resources); CRDs (`custom-resource-definitions.json`)
//!   are written without kind and apiVersion, which are filled back;
//! - `cluster-resources/pods/logs/NS/POD/CONTAINER.log` and `CONTAINER-previous.log`;
//! - `cluster-info/cluster_version.json` (`info`): the API server's `/version`, as recorded;
//! - `cluster-resources/resources.json`: the cluster's discovery (a list of
//!   `APIResourceList`);
//! - `cluster-resources/auth-cani-list/NS.json`: what `kubectl auth can-i --list` answered;
//! - `version.yaml`: the version of troubleshoot that collected it.
//!
//! The archive is hostile input: entries are read only when regular files with relative paths
//! free of `..`, and the entry count, each entry's size and the total are capped
//! ([`crate::bundle::reader::Limits`]); links are skipped.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Component, Path};

use serde_json::Value;

use crate::bundle::reader::Limits;
use crate::Error;

/// One container log of the bundle.
#[derive(Debug, Clone)]
pub struct PodLog {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    /// The log of the run before the last restart (`CONTAINER-previous.log`).
    pub previous: bool,
    pub text: Vec<u8>,
}

/// What a troubleshoot support bundle holds, parsed.
#[derive(Debug, Clone, Default)]
pub struct Troubleshoot {
    /// The bundle's file or folder name.
    pub name: String,
    /// Every object once (by apiVersion, kind, namespace and name), in the bundle's order.
    pub objects: Vec<Value>,
    pub logs: Vec<PodLog>,
    /// `cluster_version.json`'s `info`: the API server's `/version` answer.
    pub version: Option<Value>,
    /// `resources.json`: the cluster's discovery, as recorded.
    pub discovery: Option<Value>,
    /// `auth-cani-list/NS.json`: the rules `kubectl auth can-i --list` showed, by namespace.
    pub auth_rules: BTreeMap<String, Vec<Value>>,
    /// The troubleshoot version that collected the bundle (`version.yaml`).
    pub collector_version: Option<String>,
    /// Files (entries) the bundle has, read or not.
    pub entries: usize,
}

/// Whether `path` looks like a troubleshoot bundle: a folder, or a gzip file (a kudo-diag
/// bundle is a zip).
pub fn is_troubleshoot(path: &Path) -> bool {
    if path.is_dir() {
        return true;
    }
    let mut head = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|_| head == [0x1f, 0x8b])
}

/// Reads a troubleshoot bundle (`.tar.gz` or folder) within `limits`, keeping at most
/// `keep_at_most` bytes of its files in memory.
pub fn load(path: &Path, limits: &Limits, keep_at_most: u64) -> crate::Result<Troubleshoot> {
    let mut budget = Budget {
        limits,
        keep_at_most,
        entries: 0,
        total: 0,
        source: path,
    };
    let mut files = if path.is_dir() {
        read_dir(path, &mut budget)?
    } else {
        read_tar_gz(path, &mut budget)?
    };
    // By path, so the archive and its unpacked folder give the same objects in the same order.
    files.sort_by(|a, b| a.0.cmp(&b.0));
    if !files
        .iter()
        .any(|(p, _)| p.starts_with("cluster-resources/"))
    {
        return Err(Error::Usage(format!(
            "{} holds no cluster-resources/ folder, so it is not a troubleshoot support bundle; pass the .tar.gz `kubectl support-bundle` wrote (or its unpacked folder), or a kudo-diag bundle .zip",
            path.display()
        )));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let mut ts = parse_files(&name, files);
    ts.entries = budget.entries;
    Ok(ts)
}

/// A bundle path as troubleshoot lays it out, without the archive's top folder
/// (`support-bundle-2024-01-01T00_00_00/`).
fn relative(path: &str) -> Option<String> {
    let p = Path::new(path);
    let mut parts = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            Component::CurDir => {}
            // `..`, a root or a prefix: never followed.
            _ => return None,
        }
    }
    let known = [
        "cluster-resources",
        "cluster-info",
        "version.yaml",
        "all-logs",
    ];
    if parts.len() > 1 && !known.contains(&parts[0].as_str()) {
        parts.remove(0);
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Whether a file is one this reader parses (everything else is not kept in memory).
fn wanted(rel: &str) -> bool {
    rel.starts_with("cluster-resources/")
        || rel == "cluster-info/cluster_version.json"
        || rel == "version.yaml"
}

struct Budget<'a> {
    limits: &'a Limits,
    keep_at_most: u64,
    entries: usize,
    total: u64,
    source: &'a Path,
}

impl Budget<'_> {
    fn take(&mut self, rel: &str, size: u64) -> crate::Result<()> {
        self.entries += 1;
        self.total += size;
        let too = |what: String| {
            Err(Error::Usage(format!(
                "troubleshoot bundle {} {what}, over the limit of what kudo-diag reads; it may be damaged or hostile",
                self.source.display()
            )))
        };
        if self.entries > self.limits.max_entries {
            return too(format!("has more than {} entries", self.limits.max_entries));
        }
        if size > self.limits.max_entry_bytes {
            return too(format!("has an entry {rel} of {size} bytes"));
        }
        if self.total > self.limits.max_total_bytes.min(self.keep_at_most) {
            return too(format!("holds more than {} bytes", self.total));
        }
        Ok(())
    }
}

fn read_tar_gz(path: &Path, budget: &mut Budget<'_>) -> crate::Result<Vec<(String, Vec<u8>)>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let bad = |e: std::io::Error| {
        Error::Usage(format!(
            "{} is not a readable .tar.gz support bundle: {e}",
            path.display()
        ))
    };
    let mut out = Vec::new();
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let raw = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        let Some(rel) = relative(&raw) else {
            continue;
        };
        budget.take(&rel, entry.size())?;
        if !wanted(&rel) {
            continue;
        }
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        // Read no more than the header declared, whatever the stream holds.
        (&mut entry)
            .take(budget.limits.max_entry_bytes)
            .read_to_end(&mut bytes)
            .map_err(bad)?;
        out.push((rel, bytes));
    }
    Ok(out)
}

fn read_dir(root: &Path, budget: &mut Budget<'_>) -> crate::Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| Error::io(dir.clone(), e))?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            // Links are not followed: a bundle folder is as untrusted as its archive.
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(e.path());
                continue;
            }
            if !ft.is_file() {
                continue;
            }
            let Ok(inner) = e.path().strip_prefix(root).map(Path::to_path_buf) else {
                continue;
            };
            let Some(rel) = relative(&inner.to_string_lossy()) else {
                continue;
            };
            let size = e.metadata().map(|m| m.len()).unwrap_or(0);
            budget.take(&rel, size)?;
            if wanted(&rel) {
                let bytes = std::fs::read(e.path()).map_err(|err| Error::io(e.path(), err))?;
                out.push((rel, bytes));
            }
        }
    }
    Ok(out)
}

/// A log file's (namespace, pod, container, previous).
fn log_of(rel: &str) -> Option<(&str, &str, &str, bool)> {
    let rest = rel.strip_prefix("cluster-resources/pods/logs/")?;
    let file = rest.strip_suffix(".log")?;
    let mut parts = file.split('/');
    let (ns, pod, container) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    Some(match container.strip_suffix("-previous") {
        Some(c) => (ns, pod, c, true),
        None => (ns, pod, container, false),
    })
}

/// The objects of one parsed file (typed list, list, or sequence).
fn objects_of(rel: &str, doc: Value) -> Vec<Value> {
    let items = match doc {
        Value::Array(a) => a,
        Value::Object(mut m) => match m.remove("items") {
            Some(Value::Array(a)) => a,
            _ => vec![Value::Object(m)],
        },
        _ => Vec::new(),
    };
    let crds = rel == "cluster-resources/custom-resource-definitions.json";
    items
        .into_iter()
        .filter_map(|mut o| {
            if crds && o["kind"].is_null() {
                // troubleshoot marshals the typed CRD list, whose items lose their type meta.
                o["apiVersion"] = Value::from("apiextensions.k8s.io/v1");
                o["kind"] = Value::from("CustomResourceDefinition");
            }
            let ok = o["apiVersion"].is_string()
                && o["kind"].is_string()
                && o["metadata"]["name"].is_string();
            ok.then_some(o)
        })
        .collect()
}

fn parse(rel: &str, bytes: &[u8]) -> Option<Value> {
    if rel.ends_with(".json") {
        serde_json::from_slice(bytes).ok()
    } else if rel.ends_with(".yaml") || rel.ends_with(".yml") {
        crate::yaml::from_slice(bytes).ok()
    } else {
        None
    }
}

/// The identity of an object: (apiVersion, kind, namespace, name).
fn key_of(o: &Value) -> [String; 4] {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    [
        s(&o["apiVersion"]),
        s(&o["kind"]),
        s(&o["metadata"]["namespace"]),
        s(&o["metadata"]["name"]),
    ]
}

/// Parses the bundle's files (paths relative to its top folder).
pub fn parse_files(name: &str, files: Vec<(String, Vec<u8>)>) -> Troubleshoot {
    let mut ts = Troubleshoot {
        name: name.to_string(),
        entries: files.len(),
        ..Troubleshoot::default()
    };
    let mut seen = HashSet::new();
    for (rel, bytes) in files {
        if let Some((ns, pod, container, previous)) = log_of(&rel) {
            ts.logs.push(PodLog {
                namespace: ns.to_string(),
                pod: pod.to_string(),
                container: container.to_string(),
                previous,
                text: bytes,
            });
            continue;
        }
        if let Some(ns) = rel
            .strip_prefix("cluster-resources/auth-cani-list/")
            .and_then(|f| f.strip_suffix(".json"))
        {
            if let Ok(Value::Array(rules)) = serde_json::from_slice(&bytes) {
                ts.auth_rules.insert(ns.to_string(), rules);
            }
            continue;
        }
        // groups.json repeats resources.json by group; the latter is what is served.
        if rel.ends_with("/groups.json") {
            continue;
        }
        let Some(doc) = parse(&rel, &bytes) else {
            continue;
        };
        match rel.as_str() {
            "cluster-resources/resources.json" => ts.discovery = Some(doc),
            "cluster-info/cluster_version.json" => ts.version = Some(doc["info"].clone()),
            "version.yaml" => {
                ts.collector_version = doc["spec"]["versionNumber"].as_str().map(str::to_string)
            }
            _ => {
                for o in objects_of(&rel, doc) {
                    if seen.insert(key_of(&o)) {
                        ts.objects.push(o);
                    }
                }
            }
        }
    }
    ts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_lose_the_top_folder_and_never_climb() {
        assert_eq!(
            relative("support-bundle/cluster-resources/pods/default.json").as_deref(),
            Some("cluster-resources/pods/default.json")
        );
        assert_eq!(
            relative("cluster-info/cluster_version.json").as_deref(),
            Some("cluster-info/cluster_version.json")
        );
        assert_eq!(relative("../etc/passwd"), None);
        assert_eq!(relative("/etc/passwd"), None);
    }

    #[test]
    fn logs_name_namespace_pod_container_and_previous() {
        assert_eq!(
            log_of("cluster-resources/pods/logs/kube-system/coredns-1/coredns-previous.log"),
            Some(("kube-system", "coredns-1", "coredns", true))
        );
        assert_eq!(
            log_of("cluster-resources/pods/logs/ns/p/c.log"),
            Some(("ns", "p", "c", false))
        );
        assert_eq!(log_of("cluster-resources/pods/default.json"), None);
    }

    #[test]
    fn the_k3s_bundle_reads_with_its_objects_logs_version_and_collector() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/troubleshoot-k3s/support-bundle.tar.gz");
        assert!(is_troubleshoot(&path));
        let ts = load(&path, &Limits::default(), u64::MAX).unwrap();
        assert_eq!(ts.version.as_ref().unwrap()["gitVersion"], "v1.24.4+k3s1");
        assert_eq!(
            ts.collector_version.as_deref(),
            Some("v0.50.0-13-gd9e2465-dirty")
        );
        assert!(ts.discovery.is_some());
        assert!(ts
            .logs
            .iter()
            .any(|l| l.previous && l.pod.starts_with("coredns-")));
        // Each object once, CRDs with their type meta filled back.
        let keys: HashSet<_> = ts.objects.iter().map(key_of).collect();
        assert_eq!(keys.len(), ts.objects.len());
        assert!(ts
            .objects
            .iter()
            .any(|o| o["kind"] == "CustomResourceDefinition"));
        assert!(ts.entries > ts.logs.len());
    }

    #[test]
    fn a_folder_without_cluster_resources_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let e = load(dir.path(), &Limits::default(), u64::MAX)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a troubleshoot support bundle"), "{e}");
        let tight = Limits {
            max_entries: 1,
            ..Limits::default()
        };
        std::fs::write(dir.path().join("more.txt"), "y").unwrap();
        let e = load(dir.path(), &tight, u64::MAX).unwrap_err().to_string();
        assert!(e.contains("more than 1 entries"), "{e}");
    }
}
