//! The analysis context every rule reads from and writes to: the bundle's files, the objects
//! most rules need (the instance's pods and events) parsed once, the findings so far and the
//! timeline items.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::model::{Evidence, Finding, ObjectRef, Severity, TimelineItem};
use super::source::{line_in_object, s, Source};
use crate::bundle::layout;

pub struct Ctx {
    pub src: Source,
    pub namespace: String,
    pub instance: String,
    /// The operator's name (from versions.yaml or the instance's labels), for rules that apply
    /// to one application only.
    pub operator: String,
    pub pods: Vec<Value>,
    pub events: Vec<Value>,
    /// When the collection started.
    pub collected_at: Option<DateTime<Utc>>,
    /// "Now" for the age of what the bundle shows: the collection's start, or the newest time
    /// the cluster itself recorded (node heartbeats, events, container starts and ends) when
    /// that is older (a bundle served from a snapshot, or a simulated cluster whose clock
    /// stopped). A live cluster's nodes beat every few minutes, so there the two agree.
    pub as_of: Option<DateTime<Utc>>,
    pub findings: Vec<Finding>,
    pub timeline: Vec<TimelineItem>,
    /// (pod, container) pairs a specific finding already explains, so that broader rules
    /// (not ready, high restarts) do not repeat it.
    pub explained: BTreeSet<(String, String)>,
    pub rules_run: Vec<String>,
    /// Pod -> the workload that owns it (StatefulSet, DaemonSet, or the Deployment of its
    /// ReplicaSet), for links scoped to one workload.
    pub owners: std::collections::BTreeMap<String, String>,
}

impl Ctx {
    pub fn new(mut src: Source) -> Self {
        let target = src.manifest().meta.target.clone();
        let mut namespace = s(&target, "/namespace").to_string();
        let mut instance = s(&target, "/instance").to_string();
        let inst = src.yaml(layout::INSTANCE).unwrap_or(Value::Null);
        if let Some(rest) = src.view().strip_prefix(layout::DEPENDENCIES_DIR) {
            // A dependency (`dependencies/NAMESPACE/INSTANCE/`): the manifest names the
            // instance the bundle was collected for.
            let mut parts = rest.split('/');
            namespace = parts.next().unwrap_or_default().to_string();
            instance = parts.next().unwrap_or_default().to_string();
        }
        if instance.is_empty() {
            instance = s(&inst, "/metadata/name").to_string();
        }
        if namespace.is_empty() {
            namespace = s(&inst, "/metadata/namespace").to_string();
        }
        let versions = src.yaml(layout::VERSIONS).unwrap_or(Value::Null);
        let mut operator = s(&versions, "/operator/name").to_string();
        if operator.is_empty() {
            operator = s(&inst, "/metadata/labels/kudo.dev~1operator").to_string();
        }
        let pods = src.items(layout::PODS);
        let mut events = src.items(layout::EVENTS);
        events.extend(src.items(layout::KUDO_EVENTS));
        let collected_at = parse_time(&src.manifest().meta.started);
        let nodes = src.items(layout::NODES);
        let newest = cluster_times(&nodes, &pods, &events).max();
        let as_of = match (collected_at, newest) {
            (Some(c), Some(n)) => Some(c.min(n)),
            (c, n) => c.or(n),
        };
        let owners = pods.iter().filter_map(owner).collect();
        Ctx {
            src,
            namespace,
            instance,
            operator,
            pods,
            events,
            collected_at,
            as_of,
            findings: Vec::new(),
            timeline: Vec::new(),
            explained: BTreeSet::new(),
            rules_run: Vec::new(),
            owners,
        }
    }

    /// Whole hours between `t` and [`Ctx::as_of`] when `t` is older than [`RECENT_HOURS`]:
    /// history, not what is happening.
    pub fn hours_ago_if_old(&self, t: &str) -> Option<i64> {
        let h = (self.as_of? - parse_time(t)?).num_hours();
        (h >= RECENT_HOURS).then_some(h)
    }

    pub fn ran(&mut self, rule: &str) {
        if !self.rules_run.iter().any(|r| r == rule) {
            self.rules_run.push(rule.to_string());
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "a finding has that many parts; a builder would only move them"
    )]
    pub fn add(
        &mut self,
        rule: &str,
        severity: Severity,
        object: ObjectRef,
        title: String,
        explanation: String,
        next_step: String,
        evidence: Vec<Evidence>,
    ) {
        self.findings.push(Finding {
            rule: rule.to_string(),
            severity,
            title,
            object,
            explanation,
            next_step,
            evidence,
            id: String::new(),
            causes: Vec::new(),
            caused_by: Vec::new(),
            fix: None,
            instance: String::new(),
        });
    }

    /// Where a pod's object is: its own file when the collection wrote one, else the list.
    pub fn pod_file(&self, pod: &str) -> String {
        let own = format!("pods/{pod}/pod.yaml");
        if self.src.contains(&own) {
            own
        } else {
            layout::PODS.to_string()
        }
    }

    /// Evidence in a pod's YAML: the first line containing each needle (after the pod's name
    /// in the list file).
    pub fn pod_evidence(&mut self, pod: &str, needles: &[&str]) -> Evidence {
        let path = self.pod_file(pod);
        self.object_evidence(&path, pod, needles)
    }

    /// Evidence in an object list (or single-object) file.
    pub fn object_evidence(&mut self, path: &str, name: &str, needles: &[&str]) -> Evidence {
        let mut lines = Vec::new();
        if let Some(t) = self.src.text(path) {
            for n in needles {
                for l in line_in_object(&t, name, n) {
                    if !lines.contains(&l) {
                        lines.push(l);
                    }
                }
            }
        }
        lines.sort_by_key(|l| l.line);
        Evidence {
            path: path.to_string(),
            lines,
            note: None,
        }
    }

    /// The events about one object (kind and name), oldest first.
    pub fn events_for(&self, kind: &str, name: &str) -> Vec<&Value> {
        let mut v: Vec<&Value> = self
            .events
            .iter()
            .filter(|e| {
                s(e, "/involvedObject/kind") == kind && s(e, "/involvedObject/name") == name
            })
            .collect();
        v.sort_by_key(|e| event_last(e).to_string());
        v
    }

    /// The file an event is in (workload or kudo events).
    pub fn event_file(&self, e: &Value) -> &'static str {
        if s(e, "/metadata/namespace") == "kudo-system" && self.namespace != "kudo-system" {
            layout::KUDO_EVENTS
        } else {
            layout::EVENTS
        }
    }

    /// Evidence for one event: its message line in the events file. The line is looked for
    /// within the event's own list item, since an API server writes `message` before
    /// `metadata` (so the line after the event's name is the next event's).
    pub fn event_evidence(&mut self, e: &Value) -> Evidence {
        let path = self.event_file(e);
        let name = s(e, "/metadata/name").to_string();
        if let Some(t) = self.src.text(path) {
            if let Some(line) = item_line(&t, &format!("name: {name}"), "message:") {
                return Evidence {
                    path: path.to_string(),
                    lines: vec![line],
                    note: None,
                };
            }
        }
        let msg = s(e, "/message");
        let first = msg
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(60)
            .collect::<String>();
        self.object_evidence(path, &name, &["message: ", &first])
            .dedup_message(&first)
    }
}

/// The first line containing `needle` in the YAML list item (`- ` at the list's indentation)
/// that holds the line `anchor`.
fn item_line(text: &str, anchor: &str, needle: &str) -> Option<super::model::Line> {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|l| l.trim() == anchor)?;
    let start = (0..=at).rev().find(|&i| lines[i].starts_with("- "))?;
    let end = (at + 1..lines.len())
        .find(|&i| lines[i].starts_with("- ") || !lines[i].starts_with(' '))
        .unwrap_or(lines.len());
    (start..end)
        .find(|&i| lines[i].trim_start().starts_with(needle))
        .map(|i| super::model::Line {
            line: i + 1,
            text: super::source::clip(lines[i].trim_end()),
        })
}

/// What happened longer ago than this before the collection is history: a restart, a probe
/// failure or a log line that stopped is reported as a note, not as a warning.
pub const RECENT_HOURS: i64 = 1;

/// The times the cluster itself recorded: node heartbeats, event times, container starts and
/// ends.
fn cluster_times<'a>(
    nodes: &'a [Value],
    pods: &'a [Value],
    events: &'a [Value],
) -> impl Iterator<Item = DateTime<Utc>> + 'a {
    let beats = nodes.iter().flat_map(|n| {
        n.pointer("/status/conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| s(c, "/lastHeartbeatTime"))
    });
    let containers = pods.iter().flat_map(|p| {
        p.pointer("/status/containerStatuses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .flat_map(|c| {
                [
                    s(c, "/state/running/startedAt"),
                    s(c, "/lastState/terminated/finishedAt"),
                ]
            })
    });
    beats
        .chain(containers)
        .chain(events.iter().map(event_last))
        .filter_map(parse_time)
}

/// (pod, workload) from a pod's controller: a ReplicaSet stands for its Deployment (its name
/// less the pod-template-hash).
fn owner(pod: &Value) -> Option<(String, String)> {
    let refs = pod.pointer("/metadata/ownerReferences")?.as_array()?;
    let r = refs
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .or_else(|| refs.first())?;
    let mut name = s(r, "/name").to_string();
    if s(r, "/kind") == "ReplicaSet" {
        let hash = s(pod, "/metadata/labels/pod-template-hash");
        if let Some(d) = name
            .strip_suffix(&format!("-{hash}"))
            .filter(|_| !hash.is_empty())
        {
            name = d.to_string();
        }
    }
    Some((s(pod, "/metadata/name").to_string(), name))
}

impl Evidence {
    /// Keeps the line with the message when both the key and the text matched it.
    fn dedup_message(mut self, first: &str) -> Self {
        if self.lines.iter().any(|l| l.text.contains(first)) {
            self.lines
                .retain(|l| l.text.contains(first) || !l.text.contains("message:"));
        }
        self
    }
}

/// The latest time of an event (lastTimestamp, eventTime, firstTimestamp, creation).
pub fn event_last(e: &Value) -> &str {
    for p in [
        "/lastTimestamp",
        "/eventTime",
        "/firstTimestamp",
        "/metadata/creationTimestamp",
    ] {
        let v = s(e, p);
        if !v.is_empty() {
            return v;
        }
    }
    ""
}

/// The earliest time of an event.
pub fn event_first(e: &Value) -> &str {
    for p in [
        "/firstTimestamp",
        "/eventTime",
        "/lastTimestamp",
        "/metadata/creationTimestamp",
    ] {
        let v = s(e, p);
        if !v.is_empty() {
            return v;
        }
    }
    ""
}

/// Parses RFC 3339 (and `YYYY-MM-DD HH:MM:SS[,mmm]`, taken as UTC).
pub fn parse_time(t: &str) -> Option<DateTime<Utc>> {
    let t = t.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d.with_timezone(&Utc));
    }
    let t2 = t.replace(',', ".");
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(d) = chrono::NaiveDateTime::parse_from_str(&t2, f) {
            return Some(d.and_utc());
        }
    }
    None
}
