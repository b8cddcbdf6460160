//! A troubleshoot.sh support bundle (what `kubectl support-bundle` writes: a `.tar.gz`, or
//! the folder it unpacks to) turned into a [`Scenario`], so `kudo-diag serve` answers kubectl
//! from it as the cluster did.
//!
//! What is read, by the layout troubleshoot writes:
//! - `cluster-resources/**.json|yaml`: every object, from typed lists (`PodList`, ...), plain
//!   lists and YAML sequences (custom resources); CRDs (`custom-resource-definitions.json`)
//!   are written without kind and apiVersion, which are filled back;
//! - `cluster-resources/pods/logs/NS/POD/CONTAINER.log` and `CONTAINER-previous.log`;
//! - `cluster-info/cluster_version.json` (`info`): what `/version` answers, as recorded;
//! - `cluster-resources/resources.json`: the cluster's discovery, served exactly as recorded
//!   (`Scenario::discovery`);
//! - `cluster-resources/auth-cani-list/NS.json`: what `kubectl auth can-i --list` answered
//!   (`Scenario::recorded_rules`).
//!
//! The archive is hostile input: entries are read only when regular files with relative paths
//! free of `..`, and the entry count, each entry's size and the total are capped
//! ([`crate::bundle::reader::Limits`]); links are skipped.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Component, Path};

use serde_json::Value;

use super::from_bundle::{server_version_of, BundleScenario, Summary};
use super::resources::Registry;
use super::scenario::{LogSource, LogSpec, Scenario};
use crate::bundle::reader::Limits;
use crate::Error;

/// Whether `path` looks like a troubleshoot bundle: a folder, or a gzip file.
pub fn is_troubleshoot(path: &Path) -> bool {
    if path.is_dir() {
        return true;
    }
    let mut head = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|_| head == [0x1f, 0x8b])
}

/// Loads a troubleshoot bundle (`.tar.gz` or folder) with `limits`.
pub fn load(path: &Path, limits: &Limits) -> crate::Result<BundleScenario> {
    let files = if path.is_dir() {
        read_dir(path, limits)?
    } else {
        read_tar_gz(path, limits)?
    };
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
    Ok(from_files(&name, files))
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

/// Whether a file is one this loader reads (everything else is not kept in memory).
fn wanted(rel: &str) -> bool {
    rel.starts_with("cluster-resources/") || rel == "cluster-info/cluster_version.json"
}

struct Budget<'a> {
    limits: &'a Limits,
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
                "troubleshoot bundle {} {what}, over the limit of what serve reads; it may be damaged or hostile",
                self.source.display()
            )))
        };
        if self.entries > self.limits.max_entries {
            return too(format!("has more than {} entries", self.limits.max_entries));
        }
        if size > self.limits.max_entry_bytes {
            return too(format!("has an entry {rel} of {size} bytes"));
        }
        if self.total
            > self
                .limits
                .max_total_bytes
                .min(super::from_bundle::MAX_IN_MEMORY)
        {
            return too(format!("holds more than {} bytes", self.total));
        }
        Ok(())
    }
}

fn read_tar_gz(path: &Path, limits: &Limits) -> crate::Result<Vec<(String, Vec<u8>)>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let bad = |e: std::io::Error| {
        Error::Usage(format!(
            "{} is not a readable .tar.gz support bundle: {e}",
            path.display()
        ))
    };
    let mut budget = Budget {
        limits,
        entries: 0,
        total: 0,
        source: path,
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
            .take(limits.max_entry_bytes)
            .read_to_end(&mut bytes)
            .map_err(bad)?;
        out.push((rel, bytes));
    }
    Ok(out)
}

fn read_dir(root: &Path, limits: &Limits) -> crate::Result<Vec<(String, Vec<u8>)>> {
    let mut budget = Budget {
        limits,
        entries: 0,
        total: 0,
        source: root,
    };
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
type LogKey<'a> = (&'a str, &'a str, &'a str, bool);

/// A log file: (namespace, pod, container, previous).
fn log_of(rel: &str) -> Option<LogKey<'_>> {
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

/// Builds the scenario from the bundle's files (relative paths).
pub fn from_files(name: &str, files: Vec<(String, Vec<u8>)>) -> BundleScenario {
    let mut objects = Vec::new();
    let mut seen = HashSet::new();
    let mut discovery = None;
    let mut server_version = None;
    let mut logs = Vec::new();
    let mut recorded_rules = std::collections::BTreeMap::new();
    for (rel, bytes) in &files {
        if let Some(l) = log_of(rel) {
            logs.push((l, bytes));
            continue;
        }
        if let Some(ns) = rel
            .strip_prefix("cluster-resources/auth-cani-list/")
            .and_then(|f| f.strip_suffix(".json"))
        {
            if let Ok(Value::Array(rules)) = serde_json::from_slice(bytes) {
                recorded_rules.insert(ns.to_string(), rules);
            }
            continue;
        }
        let skip = rel.ends_with("/groups.json");
        let Some(doc) = parse(rel, bytes).filter(|_| !skip) else {
            continue;
        };
        if rel == "cluster-resources/resources.json" {
            discovery = Some(doc);
            continue;
        }
        if rel == "cluster-info/cluster_version.json" {
            server_version = server_version_of(&doc["info"]);
            continue;
        }
        for o in objects_of(rel, doc) {
            let key = (
                o["apiVersion"].as_str().unwrap_or_default().to_string(),
                o["kind"].as_str().unwrap_or_default().to_string(),
                o["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                o["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
            if seen.insert(key) {
                objects.push(o);
            }
        }
    }
    let server_version = server_version.unwrap_or_default();
    let minor = server_version.minor_number().unwrap_or(32);
    let registry = match &discovery {
        Some(d) => Registry::from_recorded(d, &objects),
        None => Registry::new(&objects, minor),
    };
    let mut summary = Summary::default();
    super::from_bundle::keep_served(&mut objects, &registry, &mut summary);
    let specs = log_specs(&objects, logs, &mut summary);
    BundleScenario {
        scenario: Scenario {
            name: format!("troubleshoot bundle {name}"),
            description: format!(
                "troubleshoot support bundle {name}, cluster {}",
                server_version.git_version
            ),
            namespace: "default".into(),
            server_version,
            objects,
            logs: specs,
            discovery,
            recorded_rules,
            ..Scenario::default()
        },
        summary,
    }
}

/// The logs of pods the bundle holds, counted in `summary`; the others are named as orphans.
fn log_specs(
    objects: &[Value],
    logs: Vec<(LogKey<'_>, &Vec<u8>)>,
    summary: &mut Summary,
) -> Vec<LogSpec> {
    let pods: HashSet<(&str, &str)> = objects
        .iter()
        .filter(|o| o["kind"] == "Pod")
        .filter_map(|o| {
            Some((
                o["metadata"]["namespace"].as_str()?,
                o["metadata"]["name"].as_str()?,
            ))
        })
        .collect();
    let mut specs = Vec::new();
    for ((ns, pod, container, previous), bytes) in logs {
        if !pods.contains(&(ns, pod)) {
            summary.orphan_logs.push(format!(
                "cluster-resources/pods/logs/{ns}/{pod}/{container}"
            ));
            continue;
        }
        if previous {
            summary.previous_logs += 1;
        } else {
            summary.logs += 1;
        }
        specs.push(LogSpec {
            namespace: Some(ns.to_string()),
            pod: pod.to_string(),
            container: container.to_string(),
            previous,
            source: LogSource::Inline(String::from_utf8_lossy(bytes).into_owned()),
        });
    }
    specs
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
    fn the_k3s_bundle_loads_with_its_discovery_version_and_logs() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/troubleshoot-k3s/support-bundle.tar.gz");
        assert!(is_troubleshoot(&path));
        let b = load(&path, &Limits::default()).unwrap();
        let sc = &b.scenario;
        assert_eq!(sc.server_version.git_version, "v1.24.4+k3s1");
        assert_eq!(sc.server_version.recorded["platform"], "linux/arm64");
        assert!(sc.discovery.is_some());
        assert!(sc.recorded_rules["kube-system"].len() > 1);
        assert!(b.summary.objects > 100, "{:?}", b.summary);
        assert!(b.summary.previous_logs > 0, "{:?}", b.summary);
        assert!(sc
            .objects
            .iter()
            .any(|o| o["kind"] == "CustomResourceDefinition"));
        assert!(sc.objects.iter().any(|o| o["kind"] == "Addon"));
        // A server can be built on it.
        let st = crate::sim::SimState::new(sc.clone(), None).unwrap();
        assert!(st
            .store
            .registry
            .find("traefik.containo.us", "v1alpha1", "ingressroutes")
            .is_some());
        assert!(st
            .store
            .registry
            .find("kudo.dev", "v1beta1", "instances")
            .is_none());
    }

    #[test]
    fn a_tarball_without_cluster_resources_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let e = load(dir.path(), &Limits::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a troubleshoot support bundle"), "{e}");
        let tight = Limits {
            max_entries: 1,
            ..Limits::default()
        };
        std::fs::write(dir.path().join("more.txt"), "y").unwrap();
        let e = load(dir.path(), &tight).unwrap_err().to_string();
        assert!(e.contains("more than 1 entries"), "{e}");
    }
}
