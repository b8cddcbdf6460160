//! The text report: header, counts, then the root causes ("fix this first"), each with its
//! object, explanation, next step, computed fix and evidence lines, and its consequences folded
//! beneath it. Info findings are listed one line each, so an
//! error is never lost among notes. Colour (ANSI) only when asked: the CLI asks on a TTY
//! without NO_COLOR.

use std::fmt::Write;

use crate::analyze::model::{Finding, Report, Severity};

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn sev(&self, sev: Severity) -> String {
        let (code, label) = match sev {
            Severity::Error => ("1;31", "ERROR"),
            Severity::Warning => ("1;33", "WARNING"),
            Severity::Info => ("1;34", "INFO"),
        };
        self.wrap(code, label)
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
}

/// Renders the report as text; `color` adds ANSI colours.
pub fn render_text(r: &Report, color: bool) -> String {
    let p = Paint { on: color };
    let h = &r.header;
    let mut o = String::new();
    let _ = writeln!(o, "{}", p.bold(&h.title()));
    if h.collector.is_empty() {
        let _ = writeln!(
            o,
            "  operator     {} {} (application {} {})",
            h.operator, h.operator_version, h.app_name, h.app_version
        );
    }
    let _ = writeln!(
        o,
        "  platform     KUDO {}, Kubernetes {}",
        h.kudo_version, h.kubernetes_version
    );
    let _ = writeln!(
        o,
        "  collected    {} to {} by {} {}",
        h.collected_started,
        h.collected_finished,
        h.collector_name(),
        h.collector_version
    );
    let c = &h.completeness;
    let _ = writeln!(
        o,
        "  collection   {}: {} files; {} required and {} optional tasks failed, {} skipped",
        c.status, c.files, c.failed_required, c.failed_optional, c.skipped
    );
    if !h.bundle.is_empty() {
        let _ = writeln!(o, "  bundle       {}", h.bundle);
    }
    let _ = writeln!(o);
    let summary = format!(
        "{} errors, {} warnings, {} info",
        r.counts.error, r.counts.warning, r.counts.info
    );
    if r.counts.error + r.counts.warning == 0 {
        let _ = writeln!(
            o,
            "{} — nothing wrong found by {} rules.",
            p.bold(&summary),
            r.rules_run.len()
        );
    } else {
        let _ = writeln!(o, "{}", p.bold(&summary));
    }
    for n in &r.rules_not_run {
        let _ = writeln!(o, "{} {}: {}", p.dim("not run:"), n.rules.join(", "), n.why);
    }
    let folded = r.folded();
    if !folded.is_empty() {
        let roots = r.root_causes.len();
        let _ = writeln!(
            o,
            "{}",
            p.bold(&format!(
                "Fix this first: {roots} root cause{}; {} other finding{} follow{} from {}",
                if roots == 1 { "" } else { "s" },
                folded.len() - roots,
                if folded.len() - roots == 1 { "" } else { "s" },
                if folded.len() - roots == 1 { "s" } else { "" },
                if roots == 1 { "it" } else { "them" }
            ))
        );
    }
    for (depth, f) in &folded {
        if *depth == 0 {
            finding(&mut o, &p, f);
        } else {
            consequence(&mut o, &p, f, *depth);
        }
    }
    // Errors and warnings no root reaches (only with links that would form a cycle).
    let shown: Vec<&str> = folded.iter().map(|(_, f)| f.id.as_str()).collect();
    let mut infos = Vec::new();
    for f in &r.findings {
        if shown.contains(&f.id.as_str()) {
            continue;
        }
        if f.severity == Severity::Info {
            infos.push(f);
            continue;
        }
        finding(&mut o, &p, f);
    }
    if !infos.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "{}", p.bold("Notes"));
        for f in infos {
            let _ = writeln!(
                o,
                "  {} {} {}{}",
                p.sev(f.severity),
                p.dim(&format!("[{}]", f.rule)),
                f.title,
                if f.instance.is_empty() {
                    String::new()
                } else {
                    format!(" (dependency: instance {})", f.instance)
                }
            );
        }
    }
    o
}

/// A consequence, folded beneath its cause: one line, the object and why, and the evidence.
fn consequence(o: &mut String, p: &Paint, f: &Finding, depth: usize) {
    let pad = "  ".repeat(depth);
    let _ = writeln!(
        o,
        "{pad}\u{21b3} {} {} {}",
        p.sev(f.severity),
        f.title,
        p.dim(&format!("[{}]", f.rule))
    );
    let _ = writeln!(o, "{pad}    object:   {}", f.subject());
    let _ = writeln!(o, "{pad}    why:      {}", f.explanation);
    for e in &f.evidence {
        let lines: Vec<String> = e.lines.iter().map(|l| l.line.to_string()).collect();
        let _ = writeln!(
            o,
            "{pad}    evidence: {}{}",
            e.path,
            if lines.is_empty() {
                String::new()
            } else {
                p.dim(&format!(" (lines {})", lines.join(", ")))
            }
        );
    }
}

fn finding(o: &mut String, p: &Paint, f: &Finding) {
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{} {} {}",
        p.sev(f.severity),
        p.bold(&f.title),
        p.dim(&format!("[{}]", f.rule))
    );
    let _ = writeln!(o, "  object:   {}", f.subject());
    let _ = writeln!(o, "  why:      {}", f.explanation);
    let _ = writeln!(o, "  next:     {}", f.next_step);
    if let Some(fix) = &f.fix {
        let _ = writeln!(o, "  fix:      {}", p.bold(&fix.command));
        for c in &fix.parameters {
            let _ = writeln!(
                o,
                "            {} {} -> {}  {}",
                c.name,
                if c.from.is_empty() {
                    "(unset)"
                } else {
                    &c.from
                },
                c.to,
                p.dim(&c.description)
            );
        }
        let _ = writeln!(o, "  checked:  {}", fix.verified);
    }
    for e in &f.evidence {
        let note = e
            .note
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        let _ = writeln!(o, "  evidence: {}{}", e.path, p.dim(&note));
        for l in &e.lines {
            let _ = writeln!(
                o,
                "  {} {}",
                p.dim(&format!("{:>8} |", l.line)),
                l.text.trim()
            );
        }
    }
}
