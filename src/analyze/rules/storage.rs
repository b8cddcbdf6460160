//! Storage rules: a pod's volume that is full (the operating system's ENOSPC message, "No space
//! left on device", in its logs, mapped through the path it names to the volume mount, the
//! PersistentVolumeClaim and its capacity), and why a PersistentVolumeClaim is Pending when the
//! StorageClass it names does not exist (the claim's own class against the cluster's classes
//! and the provisioner's `storageclass.storage.k8s.io "X" not found` events).

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::analyze::advice;
use crate::analyze::context::Ctx;
use crate::analyze::model::{Evidence, Line, ObjectRef, Severity};
use crate::analyze::source::{clip, s};
use crate::bundle::layout;

/// The bundle file of the cluster's StorageClasses (the `kudo` pipeline's `storageclasses`).
pub const STORAGE_CLASSES: &str = "cluster/storageclasses.yaml";

/// ENOSPC as the C library words it; every application on Linux reports a full disk with it.
static ENOSPC: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)no space left on device").expect("static regex"));
static PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(/[A-Za-z0-9._\-]+)+/?").expect("static regex"));
static TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?Z?").expect("static regex")
});
/// How many lines before an ENOSPC line may name the file being written (a stack trace's
/// message line, a "Writing ... to PATH" line).
const LOOK_BACK: usize = 8;

pub fn run(ctx: &mut Ctx) {
    ctx.ran("pod.volume-full");
    let pods = ctx.pods.clone();
    // Only pods in trouble: reading every log of a large instance twice (the YAML rule
    // `logs.no-space-left` reads them too) doubles the time of an analysis, and a pod that runs
    // Ready without restarts is not failing for its full volume (the YAML rule still reports
    // the lines).
    for pod in pods.iter().filter(|p| in_trouble(p)) {
        volume_full(ctx, pod);
    }
}

/// Not Running, or a container that is not ready, waiting or has restarted (init containers:
/// waiting or restarted; a finished one is not ready by design).
fn in_trouble(pod: &Value) -> bool {
    let statuses = |k: &str| {
        pod.pointer(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let troubled = |c: &Value, need_ready: bool| {
        (need_ready && c.get("ready").and_then(Value::as_bool) != Some(true))
            || c.pointer("/state/waiting").is_some()
            || c.get("restartCount").and_then(Value::as_i64).unwrap_or(0) > 0
    };
    s(pod, "/status/phase") != "Running"
        || statuses("/status/initContainerStatuses")
            .iter()
            .any(|c| troubled(c, false))
        || statuses("/status/containerStatuses")
            .iter()
            .any(|c| troubled(c, true))
}

/// One container's ENOSPC lines: the files they are in, the lines, a path they name, the
/// newest time.
#[derive(Default)]
struct Hits {
    evidence: Vec<Evidence>,
    paths: Vec<String>,
    last: Option<String>,
    count: usize,
}

fn scan(ctx: &mut Ctx, files: &[String]) -> Hits {
    let mut h = Hits::default();
    for f in files {
        let Some(text) = ctx.src.text_uncached(f) else {
            continue;
        };
        // One pass over the whole text first: nearly every log has no ENOSPC at all.
        if !ENOSPC.is_match(&text) {
            continue;
        }
        let lines: Vec<&str> = text.lines().collect();
        let mut shown = Vec::new();
        let mut time = None;
        for (i, l) in lines.iter().enumerate() {
            if let Some(t) = TIME.find(l) {
                time = Some(t.as_str().replace(',', "."));
            }
            if !ENOSPC.is_match(l) {
                continue;
            }
            h.count += 1;
            if let Some(t) = &time {
                h.last = Some(t.clone());
            }
            for back in lines[i.saturating_sub(LOOK_BACK)..=i].iter().rev() {
                h.paths
                    .extend(PATH.find_iter(back).map(|m| m.as_str().to_string()));
            }
            if shown.len() < 3 {
                shown.push(Line {
                    line: i + 1,
                    text: clip(l.trim_end()),
                });
            }
        }
        if !shown.is_empty() {
            h.evidence.push(Evidence {
                path: f.clone(),
                lines: shown,
                note: None,
            });
        }
    }
    h
}

/// The container's mounts backed by a PersistentVolumeClaim: (mount path, volume, claim).
fn claim_mounts(pod: &Value, container: &Value) -> Vec<(String, String, String)> {
    let vols = pod.pointer("/spec/volumes").and_then(Value::as_array);
    let claim_of = |vol: &str| {
        vols.into_iter()
            .flatten()
            .find(|v| s(v, "/name") == vol)
            .map(|v| s(v, "/persistentVolumeClaim/claimName").to_string())
            .filter(|c| !c.is_empty())
    };
    container
        .pointer("/volumeMounts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| {
            let vol = s(m, "/name");
            claim_of(vol).map(|c| (s(m, "/mountPath").to_string(), vol.to_string(), c))
        })
        .collect()
}

/// The mount a path is under (the longest mount path that prefixes it).
/// The first path that is on a mount, with that mount (the longest mount path that prefixes it).
fn mount_for<'a>(
    mounts: &'a [(String, String, String)],
    paths: &[String],
) -> Option<(String, &'a (String, String, String))> {
    paths.iter().find_map(|p| {
        mounts
            .iter()
            .filter(|(m, _, _)| {
                let m = m.trim_end_matches('/');
                p == m || p.starts_with(&format!("{m}/"))
            })
            .max_by_key(|(m, _, _)| m.len())
            .map(|m| (p.clone(), m))
    })
}

/// Whether one of the paths is under one of the container's mounts (whatever backs it).
fn on_other_mount(container: &Value, paths: &[String]) -> bool {
    container
        .pointer("/volumeMounts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|m| s(m, "/mountPath").trim_end_matches('/').to_string())
        .any(|m| {
            !m.is_empty()
                && paths
                    .iter()
                    .any(|p| p == &m || p.starts_with(&format!("{m}/")))
        })
}

fn container_files(ctx: &Ctx, pod: &str, container: &str) -> Vec<String> {
    let mut v: Vec<String> = [
        format!("pods/{pod}/logs/{container}.log"),
        format!("pods/{pod}/logs/{container}.previous.log"),
    ]
    .into_iter()
    .filter(|p| ctx.src.contains(p))
    .collect();
    // The application's own log files copied from the pod (`apps/<app>/<pod>/...`).
    v.extend(ctx.src.paths().into_iter().filter(|p| {
        p.starts_with("apps/")
            && p.split('/').nth(2) == Some(pod)
            && (p.ends_with(".log") || p.contains("/logs/"))
    }));
    v
}

fn volume_full(ctx: &mut Ctx, pod: &Value) {
    let name = s(pod, "/metadata/name").to_string();
    let ns = ctx.namespace.clone();
    let containers: Vec<Value> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut seen_apps = false;
    for c in &containers {
        let cname = s(c, "/name").to_string();
        let mut files = container_files(ctx, &name, &cname);
        if seen_apps {
            files.retain(|f| f.starts_with("pods/"));
        }
        seen_apps = true;
        let hits = scan(ctx, &files);
        if hits.count == 0 {
            continue;
        }
        let mounts = claim_mounts(pod, c);
        let (mount, likely) = match mount_for(&mounts, &hits.paths) {
            Some((path, (_, vol, claim))) => (Some((path, vol.clone(), claim.clone())), false),
            // The log names no path on a claim: the container's only claim is the likely one,
            // unless the path it names is on another mount (an emptyDir, a hostPath).
            None if mounts.len() == 1 && !on_other_mount(c, &hits.paths) => {
                (Some(mounts[0].clone()), true)
            }
            None => (None, false),
        };
        report(ctx, pod, &cname, &ns, hits, mount, likely);
    }
}

/// What the bundle says about a claim: (capacity, storage class, allows expansion).
fn claim_facts(ctx: &mut Ctx, claim: &str) -> (String, String, bool) {
    let pvc = ctx
        .src
        .items(layout::PERSISTENT_VOLUME_CLAIMS)
        .into_iter()
        .find(|o| s(o, "/metadata/name") == claim)
        .unwrap_or(Value::Null);
    let cap = match s(&pvc, "/status/capacity/storage") {
        "" => s(&pvc, "/spec/resources/requests/storage"),
        c => c,
    }
    .to_string();
    let class = s(&pvc, "/spec/storageClassName").to_string();
    let expands = ctx
        .src
        .items(STORAGE_CLASSES)
        .iter()
        .find(|o| s(o, "/metadata/name") == class)
        .and_then(|o| o.get("allowVolumeExpansion"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    (cap, class, expands)
}

/// Twice a quantity, in the same unit (`20Gi` -> `40Gi`).
fn doubled(q: &str) -> Option<String> {
    let i = q.find(|c: char| !c.is_ascii_digit())?;
    let n: u64 = q[..i].parse().ok()?;
    Some(format!("{}{}", n * 2, &q[i..]))
}

fn report(
    ctx: &mut Ctx,
    pod: &Value,
    container: &str,
    ns: &str,
    hits: Hits,
    mount: Option<(String, String, String)>,
    likely: bool,
) {
    let name = s(pod, "/metadata/name").to_string();
    let old = hits.last.as_deref().and_then(|t| ctx.hours_ago_if_old(t));
    let (sev, when) = match old {
        Some(h) => (
            Severity::Info,
            format!(", the last time {h} h before the collection"),
        ),
        None => (Severity::Error, String::new()),
    };
    let mut evidence = hits.evidence;
    let Some((path, vol, claim)) = mount else {
        ctx.add(
            "pod.volume-full",
            sev,
            ObjectRef::new("Pod", ns, &name),
            format!("a disk of container {container} in pod {name} is full: \"No space left on device\" {} times{when}", hits.count),
            "The container's writes fail with ENOSPC; the path in its log is on no PersistentVolumeClaim of the pod, so the full disk is the container's own filesystem or an emptyDir (the node's disk).".into(),
            format!("Find the full filesystem (`kubectl exec {name} -c {container} -n {ns} -- df -h`) and free space or move the data to a volume."),
            evidence,
        );
        return;
    };
    let (cap, class, expands) = claim_facts(ctx, &claim);
    evidence.push(ctx.object_evidence(layout::PERSISTENT_VOLUME_CLAIMS, &claim, &["storage: "]));
    let size_param = advice::params(ctx).into_iter().find(|p| {
        let t = format!("{} {}", p.name, p.description).to_ascii_lowercase();
        (t.contains("disk") || t.contains("storage") || t.contains("volume"))
            && t.contains("size")
            && !p.value.is_empty()
            && cap.starts_with(&p.value)
    });
    let grow = match (expands, doubled(&cap)) {
        (true, Some(to)) => format!(
            "Expand the claim (StorageClass {class} allows it): `kubectl patch pvc {claim} -n {ns} -p '{{\"spec\":{{\"resources\":{{\"requests\":{{\"storage\":\"{to}\"}}}}}}}}'`; the file system grows when the pod restarts. "
        ),
        _ => format!("StorageClass {} does not allow expansion: move the data to a larger claim, or free space on this one. ", if class.is_empty() { "(none)" } else { &class }),
    };
    let param = size_param
        .map(|p| format!("The operator's {} ({}) sizes the claims of new pods; a StatefulSet keeps the size its claims were made with. ", p.name, p.value))
        .unwrap_or_default();
    ctx.add(
        "pod.volume-full",
        sev,
        ObjectRef::new("Pod", ns, &name),
        format!("volume {vol} of pod {name} is full: PersistentVolumeClaim {claim} ({cap}) answers \"No space left on device\"{when}"),
        format!(
            "Container {container} wrote to {path}, on PersistentVolumeClaim {claim} of {cap}{}, and the write failed with ENOSPC ({} log lines): the application cannot flush or start while the volume stays full.",
            if likely { " (the container's only claim: its log names no path on a mount)" } else { "" },
            hits.count
        ),
        format!("{grow}{param}Then free space the application no longer needs (old snapshots, backups) and watch the volume's use."),
        evidence,
    );
}

/// Why a Pending claim is not bound when its StorageClass does not exist: (title suffix, why,
/// next step, evidence); None when the class exists or the bundle cannot tell.
pub fn missing_class(
    ctx: &mut Ctx,
    pvc: &Value,
) -> Option<(String, String, String, Vec<Evidence>)> {
    let claim = s(pvc, "/metadata/name").to_string();
    let class = s(pvc, "/spec/storageClassName").to_string();
    let ns = match s(pvc, "/metadata/namespace") {
        "" => ctx.namespace.clone(),
        x => x.to_string(),
    };
    let events: Vec<Value> = ctx
        .events_for("PersistentVolumeClaim", &claim)
        .into_iter()
        .filter(|e| s(e, "/reason") == "ProvisioningFailed")
        .cloned()
        .collect();
    let said = events
        .iter()
        .rev()
        .find(|e| {
            let m = s(e, "/message");
            m.contains("storageclass.storage.k8s.io") && m.contains("not found")
        })
        .cloned();
    let classes = ctx.src.items(STORAGE_CLASSES);
    let listed = ctx.src.contains(STORAGE_CLASSES);
    let exists = classes.iter().any(|c| s(c, "/metadata/name") == class);
    if class.is_empty() || exists || (said.is_none() && !listed) {
        return None;
    }
    let default = classes
        .iter()
        .find(|c| {
            s(
                c,
                "/metadata/annotations/storageclass.kubernetes.io~1is-default-class",
            ) == "true"
        })
        .map(|c| s(c, "/metadata/name").to_string());
    let names: Vec<String> = classes
        .iter()
        .map(|c| {
            let n = s(c, "/metadata/name");
            if Some(n) == default.as_deref() {
                format!("{n} (default)")
            } else {
                n.to_string()
            }
        })
        .collect();
    let mut evidence = vec![ctx.object_evidence(
        layout::PERSISTENT_VOLUME_CLAIMS,
        &claim,
        &["storageClassName", "phase: "],
    )];
    if let Some(e) = &said {
        evidence.push(ctx.event_evidence(e));
    }
    let param = advice::params(ctx)
        .into_iter()
        .find(|p| p.value == class && !class.is_empty());
    let instead = default
        .clone()
        .unwrap_or_else(|| "an existing class".into());
    let via = match &param {
        Some(p) => format!(
            "or install the instance again with {}={instead} (`kubectl kudo install ... -p {}={instead}`): a StatefulSet's claim template cannot be changed in place, and no pod ever ran, so nothing is lost",
            p.name, p.name
        ),
        None => format!("or re-create the claim with storageClassName {instead}"),
    };
    let why = format!(
        "The claim asks for StorageClass {class}, which the cluster does not have{}, so no provisioner will ever make its volume; the pods that mount it cannot be scheduled.",
        if names.is_empty() { String::new() } else { format!(" (it has: {})", names.join(", ")) }
    );
    let next = format!(
        "Create StorageClass {class} (the one the instance was configured with), {via}. Then delete the Pending claim `kubectl delete pvc {claim} -n {ns}` so it is made again."
    );
    Some((
        format!(": StorageClass {class} does not exist"),
        why,
        next,
        evidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_paths_map_to_the_longest_mount() {
        let mounts = vec![
            (
                "/var/lib/cassandra/".to_string(),
                "data".to_string(),
                "pvc-a".to_string(),
            ),
            (
                "/var/lib".to_string(),
                "lib".to_string(),
                "pvc-b".to_string(),
            ),
        ];
        let paths = vec!["/var/lib/cassandra/commitlog/CommitLog-6-1.log".to_string()];
        let (path, m) = mount_for(&mounts, &paths).unwrap();
        assert_eq!((path.as_str(), m.2.as_str()), (paths[0].as_str(), "pvc-a"));
        assert!(mount_for(&mounts, &["/tmp/x".to_string()]).is_none());
        assert_eq!(doubled("20Gi").as_deref(), Some("40Gi"));
        let t = TIME.find("ERROR [x] 2026-11-27 08:50:06,911 - y").unwrap();
        assert!(crate::analyze::context::parse_time(t.as_str()).is_some());
    }
}
