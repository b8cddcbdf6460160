//! The preflight report: what was checked, with what, and the outcome of every check, as text
//! for people or as JSON (schema `kudo-diag.preflight/v1`, documented in docs/preflight.md).
//! Parameter values whose names look secret are never printed.

use std::fmt::Write as _;

use serde::Serialize;

use super::checks::{Check, Status};
use super::params::Source;
use super::placement::Placement;
use super::quantity::{fmt_bytes, fmt_cpu};
use super::render::{Requirements, Workload};

/// The JSON schema's name and version; bump the version on any incompatible change.
pub const SCHEMA: &str = "kudo-diag.preflight/v1";

#[derive(Debug, Clone, Serialize)]
pub struct OperatorInfo {
    pub name: String,
    pub version: Option<String>,
    pub app_version: Option<String>,
    pub kudo_version: Option<String>,
    pub kubernetes_version: Option<String>,
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParamRow {
    pub name: String,
    /// `None` when unset; `"<redacted>"` for names that look secret.
    pub value: Option<String>,
    pub source: Source,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Summary {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub operator: OperatorInfo,
    pub namespace: String,
    pub instance: String,
    /// Parameters given on the command line, in a file, or taken from an existing instance
    /// (defaults are left out: they are in the package).
    pub parameters: Vec<ParamRow>,
    pub requirements: Requirements,
    pub placement: Placement,
    pub checks: Vec<Check>,
    pub summary: Summary,
}

/// Names of parameters whose values are not printed.
pub fn looks_secret(name: &str) -> bool {
    const WORDS: [&str; 9] = [
        "PASSWORD",
        "PASSWD",
        "PASSPHRASE",
        "SECRET",
        "TOKEN",
        "KEY",
        "APIKEY",
        "CREDENTIAL",
        "CREDENTIALS",
    ];
    let upper = name.to_uppercase();
    upper
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| WORDS.contains(&w))
        || upper.contains("PASSWORD")
}

impl Report {
    pub fn summarize(checks: &[Check]) -> Summary {
        let mut s = Summary::default();
        for c in checks {
            match c.status {
                Status::Pass => s.pass += 1,
                Status::Warn => s.warn += 1,
                Status::Fail => s.fail += 1,
            }
        }
        s
    }

    /// The worst status.
    pub fn status(&self) -> Status {
        self.checks
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(Status::Pass)
    }

    /// 0 all passed, 4 warnings only, 5 a failure (src/exit.rs).
    pub fn exit_code(&self) -> u8 {
        match self.status() {
            Status::Pass => crate::exit::OK,
            Status::Warn => crate::exit::PREFLIGHT_WARN,
            Status::Fail => crate::exit::PREFLIGHT_FAIL,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The report for a terminal: the plan, then one line per check with its details and fix.
    pub fn to_text(&self, verbose: bool) -> String {
        let mut s = String::new();
        self.write_header(&mut s);
        let _ = writeln!(s, "\nwhat it will create:");
        for w in &self.requirements.workloads {
            write_workload(&mut s, w);
        }
        let kinds: Vec<&str> = self.requirements.kinds.iter().map(String::as_str).collect();
        let _ = writeln!(s, "  kinds: {}", kinds.join(", "));
        let ns: Vec<&str> = self
            .requirements
            .namespaces
            .iter()
            .map(String::as_str)
            .collect();
        let _ = writeln!(s, "  namespaces: {}", ns.join(", "));
        let _ = writeln!(s, "\nchecks:");
        for c in &self.checks {
            write_check(&mut s, c, verbose);
        }
        let _ = writeln!(
            s,
            "\n{}: {} passed, {} warnings, {} failed",
            self.status().as_str(),
            self.summary.pass,
            self.summary.warn,
            self.summary.fail
        );
        s
    }

    /// The operator, where it goes, and the parameters given.
    fn write_header(&self, s: &mut String) {
        let o = &self.operator;
        let _ = writeln!(
            s,
            "preflight: operator {} {} (app {}) as instance {} in namespace {}",
            o.name,
            o.version.as_deref().unwrap_or("?"),
            o.app_version.as_deref().unwrap_or("?"),
            self.instance,
            self.namespace
        );
        let _ = writeln!(s, "package: {}", o.source);
        for p in &self.parameters {
            let _ = writeln!(
                s,
                "  -p {}={}  ({})",
                p.name,
                p.value.as_deref().unwrap_or("<unset>"),
                serde_json::to_value(p.source)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            );
        }
    }
}

/// One workload: replicas, what each pod requests, its volumes and placement rules.
fn write_workload(s: &mut String, w: &Workload) {
    let replicas = w
        .replicas
        .map(|r| r.to_string())
        .unwrap_or_else(|| "?".into());
    let limits = if w.containers.iter().any(|c| !c.init && c.limits.is_some()) {
        format!(
            "limits {}, {}",
            fmt_cpu(w.pod_limits.cpu_milli),
            fmt_bytes(w.pod_limits.memory_bytes)
        )
    } else {
        "no limits".to_string()
    };
    let _ = writeln!(
        s,
        "  {} {} x{}: each pod requests {}, {} ({limits})",
        w.kind,
        w.name,
        replicas,
        fmt_cpu(w.pod_requests.cpu_milli),
        fmt_bytes(w.pod_requests.memory_bytes),
    );
    for c in &w.claims {
        let _ = writeln!(
            s,
            "    volume {} {} (storage class {})",
            c.name,
            c.size,
            c.storage_class.as_deref().unwrap_or("default")
        );
    }
    for a in &w.anti_affinity {
        let _ = writeln!(
            s,
            "    required anti-affinity on {}{}",
            a.topology_key,
            if a.selects_self {
                " (one replica per domain)"
            } else {
                ""
            }
        );
    }
    for t in &w.spread {
        let _ = writeln!(
            s,
            "    topology spread on {} (max skew {}, {})",
            t.topology_key,
            t.max_skew,
            if t.hard { "hard" } else { "soft" }
        );
    }
    if !w.node_selector.is_empty() {
        let sel: Vec<String> = w
            .node_selector
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(s, "    node selector {}", sel.join(","));
    }
}

/// One check: status, id and reason; details and fix unless it passed (all details with `verbose`).
fn write_check(s: &mut String, c: &Check, verbose: bool) {
    let _ = writeln!(
        s,
        "  {:<4}  {:<20}  {}",
        c.status.as_str().to_uppercase(),
        c.id,
        c.reason
    );
    let show_details = verbose || c.status != Status::Pass;
    if show_details {
        for d in c.details.iter().take(if verbose { usize::MAX } else { 12 }) {
            let _ = writeln!(s, "          - {d}");
        }
        if !verbose && c.details.len() > 12 {
            let _ = writeln!(
                s,
                "          ... {} more (-v shows all)",
                c.details.len() - 12
            );
        }
    }
    if let Some(f) = &c.fix {
        if c.status != Status::Pass {
            let _ = writeln!(s, "          fix: {f}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_looking_names_are_recognised() {
        assert!(looks_secret("AUTHENTICATION_SECRET_NAME"));
        assert!(looks_secret("db_password"));
        assert!(looks_secret("BACKUP_AWS_SECRET_ACCESS_KEY"));
        assert!(!looks_secret("NODE_COUNT"));
        assert!(!looks_secret("NUM_TOKENS"));
    }
}
