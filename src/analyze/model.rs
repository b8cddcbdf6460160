//! The report: what `kudo-diag analyze` found in a bundle, as data. Text, JSON and HTML are
//! renderings of this one structure; the JSON form is its serde serialization, versioned by
//! [`REPORT_SCHEMA_VERSION`] and documented in docs/analyzers.md.

use serde::{Deserialize, Serialize};

/// Version of the JSON report schema (docs/analyzers.md). Bumped on any incompatible change;
/// fields are only added (with defaults) within one version.
pub const REPORT_SCHEMA_VERSION: u32 = 2;

/// How bad a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Kubernetes (or application) object a finding is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectRef {
    /// `Pod`, `StatefulSet`, `Instance`, `Node`, `CassandraNode`, `File`, `Task`, ...
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    pub name: String,
}

impl ObjectRef {
    pub fn new(kind: &str, namespace: &str, name: &str) -> Self {
        ObjectRef {
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// One line of a bundle file, quoted as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// 1-based line number in the file.
    pub line: usize,
    pub text: String,
}

/// Where in the bundle a finding's evidence is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Path of the file inside the bundle.
    pub path: String,
    /// The lines that show it (may be empty when the whole file is the evidence, or the file
    /// is missing and `note` says why).
    #[serde(default)]
    pub lines: Vec<Line>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One thing that is wrong (or worth knowing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The rule that found it, e.g. `pod.crash-loop`, `cassandra.node-down`.
    pub rule: String,
    pub severity: Severity,
    /// One line: what is wrong.
    pub title: String,
    pub object: ObjectRef,
    /// Plain words: what it means and why it matters.
    pub explanation: String,
    /// What to do next.
    pub next_step: String,
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// Stable within a bundle and across bundles of one instance: `rule:Kind/namespace/name`,
    /// with `#2`, `#3` for further findings of one rule about one object.
    #[serde(default)]
    pub id: String,
    /// Ids of the findings this one causes (direct links only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<String>,
    /// Ids of the findings that cause this one (direct links only); empty for a root cause.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caused_by: Vec<String>,
    /// A fix computed from the bundle: the operator's parameters to change, the command, and
    /// what the placement simulation says about the new values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
    /// The dependency it is about (`namespace/instance`, an instance collected under
    /// `dependencies/`); absent for the instance the bundle was collected for.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub instance: String,
}

impl Finding {
    /// Its object, and the dependency it is in when it is not the collected instance's.
    pub fn subject(&self) -> String {
        if self.instance.is_empty() {
            self.object.to_string()
        } else {
            format!("{} (dependency: instance {})", self.object, self.instance)
        }
    }
}

/// A fix computed from the bundle's evidence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fix {
    pub parameters: Vec<ParamChange>,
    /// The exact command that applies it.
    pub command: String,
    /// What the placement simulation says about the proposed values against the bundle's own
    /// nodes and pods.
    pub verified: String,
}

/// One operator parameter to change, as the bundle's OperatorVersion declares it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParamChange {
    pub name: String,
    /// The instance's value now (its default when the instance does not set it; empty when
    /// neither).
    pub from: String,
    pub to: String,
    /// The OperatorVersion's description of the parameter.
    pub description: String,
}

/// The report's header: what was analyzed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    pub bundle: String,
    pub instance: String,
    pub namespace: String,
    pub operator: String,
    pub operator_version: String,
    pub app_name: String,
    pub app_version: String,
    pub kudo_version: String,
    pub kubernetes_version: String,
    /// When the collection started and finished (RFC 3339, from the manifest).
    pub collected_started: String,
    pub collected_finished: String,
    pub collector_version: String,
    pub completeness: Completeness,
    /// The tool that collected the bundle when it is not kudo-diag (`troubleshoot` for a
    /// troubleshoot.sh support bundle, which covers the whole cluster and no KUDO instance).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub collector: String,
}

impl Header {
    /// The report's title: the instance analyzed, or the whole cluster for a bundle another
    /// tool collected.
    pub fn title(&self) -> String {
        if self.collector.is_empty() {
            format!(
                "kudo-diag analysis of instance {} in namespace {}",
                self.instance, self.namespace
            )
        } else {
            format!(
                "kudo-diag analysis of a {} support bundle (the whole cluster)",
                self.collector
            )
        }
    }

    /// The tool that collected the bundle.
    pub fn collector_name(&self) -> &str {
        if self.collector.is_empty() {
            "kudo-diag"
        } else {
            &self.collector
        }
    }
}

/// Rules that did not run because the bundle cannot feed them, with why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotRun {
    pub rules: Vec<String>,
    pub why: String,
}

/// How complete the collection was.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Completeness {
    /// Artifacts in the bundle.
    pub files: usize,
    /// Tasks that failed (required / optional) and were skipped.
    pub failed_required: usize,
    pub failed_optional: usize,
    pub skipped: usize,
    /// `complete` or `partial`.
    pub status: String,
}

/// A point or span on the timeline picture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineItem {
    /// `event`, `restart`, `container`, `plan`, `log`.
    pub kind: String,
    /// The row it is drawn on (an object name).
    pub lane: String,
    /// RFC 3339.
    pub start: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    pub label: String,
    pub severity: Severity,
}

/// Counts by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub error: usize,
    pub warning: usize,
    pub info: usize,
}

/// Where a rule sits, lowest first: within a severity, causes low in the stack (pods, nodes)
/// come before what they cause higher up (workloads, KUDO plans, the application), so a reader
/// meets the root cause first.
fn layer(rule: &str) -> u8 {
    match rule.split('.').next().unwrap_or("") {
        "pod" => 0,
        "node" => 1,
        "workload" => 2,
        "kudo" => 3,
        "logs" => 5,
        "collection" => 7,
        _ if rule.contains(".log-") => 5,
        "cassandra" | "zookeeper" | "kafka" | "elastic" => 4,
        _ => 6,
    }
}

/// The whole analysis of one bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub schema_version: u32,
    pub header: Header,
    pub counts: Counts,
    /// Sorted: errors first, then warnings, then info; within a severity root causes first,
    /// then from the bottom of the stack up (pods, nodes, workloads, KUDO, the application, logs, the collection), then by
    /// rule and object.
    pub findings: Vec<Finding>,
    /// Ids of the findings no other finding causes, errors and warnings only, most severe
    /// first: "fix this first". Every other error or warning follows from one of them.
    #[serde(default)]
    pub root_causes: Vec<String>,
    #[serde(default)]
    pub timeline: Vec<TimelineItem>,
    /// Rules that ran (built-in and YAML), so a reader knows what was checked.
    #[serde(default)]
    pub rules_run: Vec<String>,
    /// Rules that could not run on this bundle, with why (a troubleshoot support bundle holds
    /// no KUDO instance and no output of commands run in the application's pods).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules_not_run: Vec<NotRun>,
    /// The bundle files the evidence quotes, whole (up to [`EMBED_FILE_BYTES`] each), for the
    /// HTML report to embed; not part of the JSON schema.
    #[serde(skip)]
    pub files: std::collections::BTreeMap<String, String>,
}

/// Most bytes of one evidence file embedded in the HTML report (the rest is in the bundle).
pub const EMBED_FILE_BYTES: usize = 256 << 10;

impl Report {
    /// Sorts findings (most severe first) and recounts.
    pub fn finish(&mut self) {
        self.findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| (!a.caused_by.is_empty()).cmp(&!b.caused_by.is_empty()))
                .then_with(|| layer(&a.rule).cmp(&layer(&b.rule)))
                .then_with(|| a.rule.cmp(&b.rule))
                .then_with(|| a.object.cmp(&b.object))
                .then_with(|| a.title.cmp(&b.title))
        });
        self.counts = Counts::default();
        for f in &self.findings {
            match f.severity {
                Severity::Error => self.counts.error += 1,
                Severity::Warning => self.counts.warning += 1,
                Severity::Info => self.counts.info += 1,
            }
        }
        self.timeline
            .sort_by(|a, b| a.start.cmp(&b.start).then(a.lane.cmp(&b.lane)));
        self.root_causes = self
            .findings
            .iter()
            .filter(|f| f.caused_by.is_empty() && f.severity > Severity::Info)
            .map(|f| f.id.clone())
            .collect();
    }

    /// The finding with this id.
    pub fn get(&self, id: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.id == id)
    }

    /// The root causes, then each one's consequences depth first (each finding once, under
    /// the first root that reaches it), with their depth: the order a reader should meet them.
    /// Findings reached from no root (info notes) are not included.
    pub fn folded(&self) -> Vec<(usize, &Finding)> {
        let mut out = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for id in &self.root_causes {
            self.fold_into(id, 0, &mut seen, &mut out);
        }
        out
    }

    fn fold_into<'a>(
        &'a self,
        id: &str,
        depth: usize,
        seen: &mut std::collections::BTreeSet<String>,
        out: &mut Vec<(usize, &'a Finding)>,
    ) {
        let Some(f) = self.get(id) else { return };
        if !seen.insert(id.to_string()) {
            return;
        }
        out.push((depth, f));
        // Consequences in report order (most severe first).
        let mut next: Vec<&Finding> = self
            .findings
            .iter()
            .filter(|c| f.causes.contains(&c.id))
            .collect();
        next.sort_by_key(|c| std::cmp::Reverse(c.severity));
        for c in next {
            self.fold_into(&c.id, depth + 1, seen, out);
        }
    }

    /// Findings at or above `min`.
    pub fn at_least(&self, min: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity >= min).count()
    }
}
