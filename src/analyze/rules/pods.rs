//! Pod rules: crash loops (with OOMKilled spelled out), image pulls, OOM kills, high restart
//! counts, Pending pods with the scheduler's reason explained, pods not Ready, failing probes and
//! evictions. Container-level findings are recorded in `Ctx::explained` so the broader "not
//! Ready" rule does not repeat them.

use serde_json::Value;

use crate::analyze::advice;
use crate::analyze::context::{event_first, event_last, Ctx};
use crate::analyze::model::{Evidence, Line, ObjectRef, Severity};
use crate::analyze::source::{clip, n, s};

/// Restarts at or above this are reported even when the container runs now.
pub const HIGH_RESTARTS: i64 = 5;

pub fn run(ctx: &mut Ctx) {
    for r in [
        "pod.crash-loop",
        "pod.image-pull",
        "pod.oom-killed",
        "pod.container-waiting",
        "pod.high-restarts",
        "pod.pending",
        "pod.evicted",
        "pod.probe-failing",
        "pod.not-ready",
    ] {
        ctx.ran(r);
    }
    let pods = ctx.pods.clone();
    for pod in &pods {
        containers(ctx, pod);
        pending(ctx, pod);
        evicted(ctx, pod);
    }
    probes(ctx);
    for pod in &pods {
        not_ready(ctx, pod);
    }
}

fn pod_ref(ctx: &Ctx, pod: &Value) -> ObjectRef {
    let ns = match s(pod, "/metadata/namespace") {
        "" => ctx.namespace.as_str(),
        x => x,
    };
    ObjectRef::new("Pod", ns, s(pod, "/metadata/name"))
}

fn memory_limit(pod: &Value, container: &str) -> Option<String> {
    pod.pointer("/spec/containers")?
        .as_array()?
        .iter()
        .find(|c| s(c, "/name") == container)
        .and_then(|c| {
            c.pointer("/resources/limits/memory")
                .or_else(|| c.pointer("/resources/requests/memory"))
        })
        .map(|v| match v {
            Value::String(x) => x.clone(),
            other => other.to_string(),
        })
}

/// The operator's parameters behind a container's memory, named as its OperatorVersion names
/// them (empty when the bundle has no OperatorVersion or no parameter matches).
fn memory_hint(ctx: &mut Ctx, pod: &Value, container: &str) -> String {
    let params = advice::params(ctx);
    let Some(c) = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| s(c, "/name") == container))
    else {
        return String::new();
    };
    let m = advice::memory_params(&params, c);
    let mut v = Vec::new();
    if let Some(p) = &m.limit {
        v.push(format!("the limit is {} (now {})", p.name, p.value));
    }
    if let Some(p) = &m.max_heap {
        let now = if p.value.is_empty() {
            "unset: derived from the memory".to_string()
        } else {
            format!("now {}", p.value)
        };
        v.push(format!("the heap is {} ({now})", p.name));
    }
    if v.is_empty() {
        String::new()
    } else {
        format!("; of the operator's parameters, {}", v.join(", "))
    }
}

/// How many of the last lines of a crashed run's log are quoted.
const LAST_LINES: usize = 4;
/// How many of the first error lines of a crashed run's log are quoted before them.
const FIRST_ERRORS: usize = 2;

/// A log line at level ERROR, FATAL or SEVERE (log4j, logback, java.util.logging, glog's `E`
/// is left out: too short to tell from text).
fn is_error_line(l: &str) -> bool {
    l.split_whitespace().take(8).any(|w| {
        matches!(
            w.trim_matches(|c| c == '[' || c == ']'),
            "ERROR" | "FATAL" | "SEVERE"
        )
    })
}

/// The log of the run before the last restart, with its last lines: what the process did (or
/// said) just before it died.
fn previous_log(ctx: &mut Ctx, pod: &str, container: &str) -> Option<Evidence> {
    let p = format!("pods/{pod}/logs/{container}.previous.log");
    if !ctx.src.contains(&p) {
        return None;
    }
    let lines = ctx
        .src
        .text_uncached(&p)
        .map(|t| {
            let all: Vec<(usize, &str)> = t
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
                .collect();
            let tail = all.len().saturating_sub(LAST_LINES);
            // The run's first errors say why it ended more often than its last lines (a
            // stack trace's tail, shutdown messages): quote them first.
            let errors = all[..tail]
                .iter()
                .filter(|(_, l)| is_error_line(l))
                .take(FIRST_ERRORS);
            errors
                .chain(&all[tail..])
                .map(|(i, l)| Line {
                    line: i + 1,
                    text: clip(l),
                })
                .collect()
        })
        .unwrap_or_default();
    Some(Evidence {
        path: p,
        lines,
        note: Some("the end of the container's log before its last restart".into()),
    })
}

/// A container in CrashLoopBackOff, with its last termination (OOMKilled spelled out, the
/// operator's memory parameters named) and the end of its previous log.
fn crash_loop(ctx: &mut Ctx, pod: &Value, cs: &Value, last_desc: &str) {
    let name = s(pod, "/metadata/name").to_string();
    let obj = pod_ref(ctx, pod);
    let c = s(cs, "/name").to_string();
    let last = s(cs, "/lastState/terminated/reason");
    let restarts = n(cs, "/restartCount").unwrap_or(0);
    let limit = memory_limit(pod, &c);
    let oom = last == "OOMKilled";
    let title = if oom {
        format!("container {c} of pod {name} is crash-looping: OOMKilled, {restarts} restarts")
    } else {
        format!("container {c} of pod {name} is crash-looping ({restarts} restarts)")
    };
    let mut explanation = format!(
        "The container keeps exiting and Kubernetes waits longer and longer before starting it again (CrashLoopBackOff); {}.",
        if last_desc.is_empty() { "the reason of the last exit was not recorded".to_string() } else { last_desc.to_string() }
    );
    let next = if oom {
        explanation.push_str(&format!(
            " OOMKilled means the container used more memory than its limit{} and the kernel killed it.",
            limit.as_deref().map(|l| format!(" ({l})")).unwrap_or_default()
        ));
        let hint = memory_hint(ctx, pod, &c);
        format!(
            "Make the process fit its memory limit: raise the container's memory limit, or lower what it uses (for a JVM, its heap){hint}, with `kubectl kudo update --instance {} -n {} -p NAME=VALUE`. The log before the crash is pods/{name}/logs/{c}.previous.log.",
            ctx.instance, ctx.namespace
        )
    } else {
        format!("Read the log of the crashed run (pods/{name}/logs/{c}.previous.log, or `kubectl logs {name} -c {c} --previous`) for why it exits, and fix that cause.")
    };
    let mut ev = vec![ctx.pod_evidence(
        &name,
        &[
            "reason: CrashLoopBackOff",
            &format!("reason: {last}"),
            "restartCount",
        ],
    )];
    ev.extend(previous_log(ctx, &name, &c));
    ctx.add(
        "pod.crash-loop",
        Severity::Error,
        obj.clone(),
        title,
        explanation,
        next,
        ev,
    );
    ctx.explained.insert((name.clone(), c.clone()));
}

fn containers(ctx: &mut Ctx, pod: &Value) {
    let name = s(pod, "/metadata/name").to_string();
    let obj = pod_ref(ctx, pod);
    let mut statuses: Vec<Value> = Vec::new();
    for key in ["/status/initContainerStatuses", "/status/containerStatuses"] {
        if let Some(Value::Array(a)) = pod.pointer(key) {
            statuses.extend(a.iter().cloned());
        }
    }
    for cs in &statuses {
        let c = s(cs, "/name").to_string();
        let waiting = s(cs, "/state/waiting/reason");
        let last = s(cs, "/lastState/terminated/reason");
        let exit = n(cs, "/lastState/terminated/exitCode");
        let finished = s(cs, "/lastState/terminated/finishedAt");
        let restarts = n(cs, "/restartCount").unwrap_or(0);
        let limit = memory_limit(pod, &c);
        let last_desc = if last.is_empty() {
            String::new()
        } else {
            format!(
                "it last terminated with {last}{}{}",
                exit.map(|e| format!(" (exit code {e})"))
                    .unwrap_or_default(),
                if finished.is_empty() {
                    String::new()
                } else {
                    format!(" at {finished}")
                }
            )
        };
        if waiting == "CrashLoopBackOff" {
            crash_loop(ctx, pod, cs, &last_desc);
        } else if matches!(
            waiting,
            "ImagePullBackOff" | "ErrImagePull" | "InvalidImageName" | "ErrImageNeverPull"
        ) {
            image_pull(ctx, pod, cs, waiting);
        } else if last == "OOMKilled" {
            let ev = vec![ctx.pod_evidence(&name, &["reason: OOMKilled", "restartCount"])];
            // Killed long ago and running since: worth knowing, not what is wrong now.
            let (sev, when) = match ctx.hours_ago_if_old(finished) {
                Some(h) => (Severity::Info, format!(", {h} h before the collection")),
                None => (Severity::Error, String::new()),
            };
            ctx.add(
                "pod.oom-killed",
                sev,
                obj.clone(),
                format!("container {c} of pod {name} was OOMKilled ({restarts} restarts){when}"),
                format!(
                    "The container used more memory than its limit{} and the kernel killed it; {last_desc}. It runs again now, but it will be killed again under the same load.",
                    limit.as_deref().map(|l| format!(" ({l})")).unwrap_or_default()
                ),
                "Raise the container's memory limit or lower what the process uses (JVM heap), then watch the restart count.".into(),
                ev,
            );
            ctx.explained.insert((name.clone(), c.clone()));
        } else if matches!(
            waiting,
            "CreateContainerConfigError" | "CreateContainerError" | "RunContainerError"
        ) {
            container_waiting(ctx, pod, cs, waiting);
        } else if restarts >= HIGH_RESTARTS && exit != Some(0) {
            // A last exit with code 0 is a clean stop (a rolling update, a node drain): no
            // fault. An old last restart is history: a note.
            let old = ctx.hours_ago_if_old(finished);
            let (sev, when) = match old {
                Some(h) => (
                    Severity::Info,
                    format!(", the last time {h} h before the collection"),
                ),
                None => (Severity::Warning, String::new()),
            };
            let ev = vec![ctx.pod_evidence(&name, &["restartCount", "finishedAt"])];
            ctx.add(
                "pod.high-restarts",
                sev,
                obj.clone(),
                format!("container {c} of pod {name} restarted {restarts} times{when}"),
                format!("The container runs now but has restarted often{}.", if last_desc.is_empty() { String::new() } else { format!("; {last_desc}") }),
                format!("Read pods/{name}/logs/{c}.previous.log (or `kubectl logs {name} -c {c} --previous`) for why it stopped."),
                ev,
            );
            ctx.explained.insert((name.clone(), c.clone()));
        }
    }
}

/// A container that cannot pull its image, with the registry's answer and the parameter behind
/// the image (`super::refs`).
fn image_pull(ctx: &mut Ctx, pod: &Value, cs: &Value, waiting: &str) {
    let name = s(pod, "/metadata/name").to_string();
    let obj = pod_ref(ctx, pod);
    let c = s(cs, "/name").to_string();
    let wait_msg = s(cs, "/state/waiting/message");
    let image = s(cs, "/image").to_string();
    let mut ev = vec![ctx.pod_evidence(&name, &[&format!("reason: {waiting}"), "message:"])];
    let (said, next, more) = super::refs::image_pull(ctx, pod, &c, &image);
    ev.extend(more);
    ctx.add(
        "pod.image-pull",
        Severity::Error,
        obj,
        format!("container {c} of pod {name} cannot pull its image {image} ({waiting})"),
        format!(
            "The kubelet cannot fetch the image: {}.{said}",
            if wait_msg.is_empty() {
                "no message recorded"
            } else {
                wait_msg.trim_end_matches('.')
            }
        ),
        next,
        ev,
    );
    ctx.explained.insert((name, c));
}

/// A container whose configuration cannot be made (a missing Secret, ConfigMap or key), with
/// what to create (`super::refs`).
fn container_waiting(ctx: &mut Ctx, pod: &Value, cs: &Value, waiting: &str) {
    let name = s(pod, "/metadata/name").to_string();
    let obj = pod_ref(ctx, pod);
    let c = s(cs, "/name").to_string();
    let wait_msg = s(cs, "/state/waiting/message");
    let mut ev = vec![ctx.pod_evidence(&name, &[&format!("reason: {waiting}"), "message:"])];
    let next = match super::refs::missing_object(ctx, pod, &c, wait_msg) {
        Some((next, more)) => {
            ev.extend(more);
            next
        }
        None => "A missing ConfigMap, Secret or key is the usual cause: check the names the pod references.".into(),
    };
    ctx.add(
        "pod.container-waiting",
        Severity::Error,
        obj.clone(),
        format!(
            "container {c} of pod {name} cannot start ({waiting}): {}",
            if wait_msg.is_empty() {
                "no message recorded"
            } else {
                wait_msg
            }
        ),
        format!(
            "The kubelet cannot create or start the container: {}",
            if wait_msg.is_empty() {
                "no message recorded"
            } else {
                wait_msg
            }
        ),
        next,
        ev,
    );
    ctx.explained.insert((name, c));
}

/// What a FailedScheduling message means, in plain words, and what to do.
pub fn explain_scheduling(msg: &str, pod: &Value) -> (String, String) {
    let lower = msg.to_ascii_lowercase();
    let requests = |res: &str| -> String {
        let mut v = Vec::new();
        if let Some(Value::Array(cs)) = pod.pointer("/spec/containers") {
            for c in cs {
                if let Some(q) = c
                    .pointer(&format!("/resources/requests/{res}"))
                    .and_then(Value::as_str)
                {
                    v.push(format!("{} requests {q}", s(c, "/name")));
                }
            }
        }
        if v.is_empty() {
            String::new()
        } else {
            format!(" ({})", v.join(", "))
        }
    };
    let mut why = Vec::new();
    let mut next = Vec::new();
    if lower.contains("insufficient memory") {
        why.push(format!(
            "no node has enough unreserved memory for the pod's memory request{}",
            requests("memory")
        ));
        next.push("lower the memory request (the operator parameter that sets it) or add nodes with more memory; `kubectl describe nodes` shows allocatable and allocated memory".to_string());
    }
    if lower.contains("insufficient cpu") {
        why.push(format!(
            "no node has enough unreserved CPU for the pod's CPU request{}",
            requests("cpu")
        ));
        next.push(
            "lower the CPU request (for KUDO operators usually a *_CPU_MC parameter) or add nodes"
                .to_string(),
        );
    }
    if lower.contains("unbound") && lower.contains("persistentvolumeclaim") {
        why.push("a PersistentVolumeClaim the pod needs is not bound to a volume".to_string());
        next.push("check the PVC (`kubectl describe pvc`) and its StorageClass: does a provisioner exist, is there capacity in the zone?".to_string());
    }
    if lower.contains("node affinity")
        || lower.contains("node selector")
        || lower.contains("nodeselector")
    {
        why.push("no node matches the pod's node affinity or node selector".to_string());
        next.push("compare the pod's nodeSelector/affinity with the nodes' labels (`kubectl get nodes --show-labels`)".to_string());
    }
    if lower.contains("taint") {
        why.push("the nodes have taints the pod does not tolerate".to_string());
        next.push("add a toleration for the taint to the pod, or remove the taint from nodes meant for it".to_string());
    }
    if lower.contains("anti-affinity") || lower.contains("affinity/anti-affinity") {
        why.push("pod (anti-)affinity rules leave no node: e.g. one node per replica but fewer nodes than replicas".to_string());
        next.push("add nodes or relax the anti-affinity".to_string());
    }
    if why.is_empty() {
        return (
            format!("The scheduler says: {msg}"),
            "Read the scheduler's message and `kubectl describe pod` for the constraint that cannot be met.".to_string(),
        );
    }
    let mut w = why.join("; ");
    if let Some(f) = w.get(..1) {
        w = f.to_uppercase() + &w[1..];
    }
    let mut nx = next.join("; ");
    if let Some(f) = nx.get(..1) {
        nx = f.to_uppercase() + &nx[1..];
    }
    (format!("{w}. The scheduler says: {msg}"), format!("{nx}."))
}

fn pending(ctx: &mut Ctx, pod: &Value) {
    if s(pod, "/status/phase") != "Pending" {
        return;
    }
    let name = s(pod, "/metadata/name").to_string();
    let obj = pod_ref(ctx, pod);
    let cond_msg = pod
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| s(c, "/type") == "PodScheduled" && s(c, "/status") == "False")
        })
        .map(|c| s(c, "/message").to_string());
    let events: Vec<Value> = ctx
        .events_for("Pod", &name)
        .into_iter()
        .filter(|e| s(e, "/reason") == "FailedScheduling")
        .cloned()
        .collect();
    let last_event = events.last();
    let msg = cond_msg
        .filter(|m| !m.is_empty())
        .or_else(|| last_event.map(|e| s(e, "/message").to_string()));
    let Some(msg) = msg else {
        // Scheduled but not started: the containers' own findings (image pulls, volumes) say why.
        if !ctx.explained.iter().any(|(p, _)| p == &name) {
            let ev = vec![ctx.pod_evidence(&name, &["phase: Pending"])];
            ctx.add(
                "pod.pending",
                Severity::Warning,
                obj,
                format!("pod {name} is Pending"),
                "The pod was accepted but its containers have not started.".into(),
                format!("Run `kubectl describe pod {name} -n {}` and read its events (volumes being attached, images being pulled).", ctx.namespace),
                ev,
            );
        }
        return;
    };
    let (why, next) = explain_scheduling(&msg, pod);
    let short = msg
        .split(". preemption")
        .next()
        .unwrap_or(&msg)
        .trim_end_matches('.');
    let mut ev = vec![ctx.pod_evidence(&name, &["reason: Unschedulable", "message: "])];
    let mut count = 0;
    if let Some(e) = last_event {
        count = events
            .iter()
            .map(|e| n(e, "/count").unwrap_or(1))
            .sum::<i64>();
        ev.push(ctx.event_evidence(e));
    }
    let since = events.first().map(event_first).unwrap_or("").to_string();
    let explanation = if count > 0 {
        format!("{why} The scheduler has failed to place it {count} times since {since}.")
    } else {
        why
    };
    ctx.add(
        "pod.pending",
        Severity::Error,
        obj,
        format!("pod {name} cannot be scheduled: {short}"),
        explanation,
        next,
        ev,
    );
    ctx.explained.insert((name, String::new()));
}

fn evicted(ctx: &mut Ctx, pod: &Value) {
    if s(pod, "/status/reason") != "Evicted" {
        return;
    }
    let name = s(pod, "/metadata/name").to_string();
    let obj = pod_ref(ctx, pod);
    let msg = s(pod, "/status/message").to_string();
    let ev = vec![ctx.pod_evidence(&name, &["reason: Evicted", "message:"])];
    ctx.add(
        "pod.evicted",
        Severity::Warning,
        obj,
        format!("pod {name} was evicted"),
        format!("The kubelet evicted the pod to protect its node: {msg}"),
        "Look at the node's pressure conditions (memory, disk) and at the pod's requests: pods using more than they request are evicted first.".into(),
        ev,
    );
    ctx.explained.insert((name, String::new()));
}

fn probes(ctx: &mut Ctx) {
    let mut per_pod: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    for e in &ctx.events {
        let reason = s(e, "/reason");
        let msg = s(e, "/message");
        let probe = (reason == "Unhealthy" && msg.contains("probe failed"))
            || (reason == "Killing" && msg.contains("failed") && msg.contains("probe"));
        if probe && s(e, "/involvedObject/kind") == "Pod" {
            per_pod
                .entry(s(e, "/involvedObject/name").to_string())
                .or_default()
                .push(e.clone());
        }
        if reason == "Evicted" && s(e, "/involvedObject/kind") == "Pod" {
            let name = s(e, "/involvedObject/name").to_string();
            if !ctx
                .findings
                .iter()
                .any(|f| f.rule == "pod.evicted" && f.object.name == name)
            {
                // Handled below, once per pod.
                per_pod
                    .entry(format!("\0evicted\0{name}"))
                    .or_default()
                    .push(e.clone());
            }
        }
    }
    for (key, evs) in per_pod {
        let count: i64 = evs.iter().map(|e| n(e, "/count").unwrap_or(1)).sum();
        let first = evs.iter().map(event_first).min().unwrap_or("").to_string();
        let last = evs.iter().map(event_last).max().unwrap_or("").to_string();
        let evidence: Vec<Evidence> = evs.iter().take(3).map(|e| ctx.event_evidence(e)).collect();
        // Events that stopped longer ago than an hour before the collection are history.
        let (sev, stopped) = match ctx.hours_ago_if_old(&last) {
            Some(h) => (
                Severity::Info,
                format!(" (stopped {h} h before the collection)"),
            ),
            None => (Severity::Warning, String::new()),
        };
        if let Some(name) = key.strip_prefix("\0evicted\0") {
            let msg = s(&evs[0], "/message").to_string();
            ctx.add(
                "pod.evicted",
                sev,
                ObjectRef::new("Pod", &ctx.namespace.clone(), name),
                format!("pod {name} was evicted{stopped}"),
                format!("The kubelet evicted the pod: {msg}"),
                "Look at the node's pressure conditions and at the pod's requests.".into(),
                evidence,
            );
            continue;
        }
        let kinds: Vec<&str> = ["Liveness", "Readiness", "Startup"]
            .into_iter()
            .filter(|k| {
                evs.iter().any(|e| {
                    s(e, "/message")
                        .to_ascii_lowercase()
                        .contains(&k.to_ascii_lowercase())
                })
            })
            .collect();
        let what = if kinds.is_empty() {
            "health".to_string()
        } else {
            kinds.join("/").to_lowercase()
        };
        ctx.add(
            "pod.probe-failing",
            sev,
            ObjectRef::new("Pod", &ctx.namespace.clone(), &key),
            format!("pod {key}: {what} probe failed {count} times{stopped}"),
            format!("Between {first} and {last} the kubelet's {what} probe failed; a failed liveness probe restarts the container, a failed readiness probe takes the pod out of its Service."),
            "Check whether the application is overloaded or still starting (probe timeouts and initial delays may be too short), and read its log around those times.".into(),
            evidence,
        );
    }
}

fn not_ready(ctx: &mut Ctx, pod: &Value) {
    let name = s(pod, "/metadata/name").to_string();
    if s(pod, "/status/phase") != "Running" || ctx.explained.iter().any(|(p, _)| *p == name) {
        return;
    }
    let ready = pod
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| s(c, "/type") == "Ready"))
        .map(|c| (s(c, "/status").to_string(), s(c, "/message").to_string()));
    let Some((status, msg)) = ready else { return };
    if status == "True" {
        return;
    }
    let obj = pod_ref(ctx, pod);
    let ev = vec![ctx.pod_evidence(&name, &["type: Ready", "containers with unready status"])];
    ctx.add(
        "pod.not-ready",
        Severity::Warning,
        obj,
        format!("pod {name} is running but not Ready"),
        format!(
            "The pod receives no traffic from its Services while it is not Ready{}.",
            if msg.is_empty() {
                String::new()
            } else {
                format!(": {msg}")
            }
        ),
        format!(
            "Check its readiness probe and log (`kubectl describe pod {name} -n {}`).",
            ctx.namespace
        ),
        ev,
    );
}
