//! Running the analysis: open the bundle through the hostile-input reader, verify every hash
//! in its manifest, run the built-in and YAML rules, and assemble the report with its header.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::context::Ctx;
use super::custom::{self, Rule};
use super::links::{self, Link};
use super::model::{
    Completeness, Finding, Header, Report, TimelineItem, EMBED_FILE_BYTES, REPORT_SCHEMA_VERSION,
};
use super::rules;
use super::source::{s, Source};
use crate::bundle::layout;
use crate::bundle::reader::{BundleReader, Limits};
use crate::Error;

/// Options of one analysis.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Extra YAML rules (operator developers'), already parsed.
    pub extra_rules: Vec<Rule>,
    /// Reader caps (default: `Limits::default()`).
    pub limits: Option<Limits>,
}

/// Analyzes the bundle at `path` with the built-in rules.
pub fn analyze_bundle(path: &Path) -> crate::Result<Report> {
    analyze_bundle_with(path, &Options::default())
}

/// Analyzes the bundle at `path`: rejects hostile or damaged bundles (unsafe paths, bombs,
/// truncation, a bad manifest, hashes that do not match) with an error that says so. A
/// troubleshoot.sh support bundle (`.tar.gz` or its folder) is analyzed by
/// [`super::troubleshoot`].
pub fn analyze_bundle_with(path: &Path, opts: &Options) -> crate::Result<Report> {
    if crate::bundle::troubleshoot::is_troubleshoot(path) {
        return super::troubleshoot::analyze(path, opts);
    }
    let mut reader = BundleReader::open(path, opts.limits.unwrap_or_default())?;
    let rep = reader.verify();
    if !rep.is_clean() {
        let problems = rep.problems();
        let shown: Vec<&String> = problems.iter().take(10).collect();
        return Err(Error::Usage(format!(
            "bundle {} does not match its manifest ({} problem{}), so its evidence cannot be trusted:\n  {}{}\nit was changed or damaged after collection; collect it again, or run `kudo-diag bundle verify {}` for the full list",
            path.display(),
            problems.len(),
            if problems.len() == 1 { "" } else { "s" },
            shown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n  "),
            if problems.len() > shown.len() { format!("\n  ... and {} more", problems.len() - shown.len()) } else { String::new() },
            path.display()
        )));
    }
    let mut report = analyze_source(Source::from_reader(reader), &opts.extra_rules)?;
    report.header.bundle = path.display().to_string();
    Ok(report)
}

/// Which rules a bundle can feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A kudo-diag bundle: every rule.
    Instance,
    /// A bundle of the whole cluster without a KUDO instance (a troubleshoot support bundle):
    /// the Kubernetes-level rules (pods, workloads, storage, nodes, capacity, logs, the
    /// collection); the KUDO and application rules are not run.
    Kubernetes,
}

/// The built-in YAML rules.
pub fn builtin_rules() -> crate::Result<Vec<Rule>> {
    custom::parse_rules("analyzers/builtin.rules.yaml", custom::BUILTIN_RULES)
        .map_err(|e| Error::Other(format!("the built-in rules are invalid (a bug): {e}")))
}

/// Analyzes already opened files (a bundle or hand-made inputs) with every rule.
pub fn analyze_source(src: Source, extra_rules: &[Rule]) -> crate::Result<Report> {
    analyze_scoped(src, extra_rules, Scope::Instance)
}

/// Analyzes already opened files with the rules of `scope`: the instance the bundle was
/// collected for, then each dependency it holds (`dependencies/NAMESPACE/INSTANCE/`) with the
/// same rules, and links the findings of all of them on one graph and one timeline, so a
/// dependency's fault can be the root cause of the instance's findings.
pub fn analyze_scoped(
    mut src: Source,
    extra_rules: &[Rule],
    scope: Scope,
) -> crate::Result<Report> {
    let builtin = builtin_rules()?;
    let views: Vec<String> = std::iter::once(String::new())
        .chain(src.dependencies())
        .collect();
    let mut all = Gathered::default();
    for view in &views {
        src.set_view(view);
        let mut ctx = Ctx::new(src);
        rules::pods::run(&mut ctx);
        rules::workload::run(&mut ctx);
        rules::storage::run(&mut ctx);
        rules::capacity::run(&mut ctx);
        if scope == Scope::Instance {
            rules::kudo::run(&mut ctx);
            rules::apps::run(&mut ctx);
        }
        custom::run(&mut ctx, &builtin);
        custom::run(&mut ctx, extra_rules);
        rules::collection::run(&mut ctx);
        super::timeline::build(&mut ctx);
        all.take(&mut ctx);
        src = ctx.src;
    }
    src.set_view("");
    let mut ctx = Ctx::new(src);
    let links: Vec<Link> = links::builtin()
        .into_iter()
        .chain(
            builtin
                .iter()
                .chain(extra_rules)
                .flat_map(|r| r.links.clone()),
        )
        .collect();
    links::link(&mut all.findings, &links, &all.owners);
    ctx.findings = all.findings;
    ctx.timeline = all.timeline;
    ctx.rules_run = all.rules_run;
    let header = header(&mut ctx);
    let mut report = Report {
        schema_version: REPORT_SCHEMA_VERSION,
        header,
        counts: Default::default(),
        findings: std::mem::take(&mut ctx.findings),
        root_causes: Vec::new(),
        timeline: std::mem::take(&mut ctx.timeline),
        rules_run: std::mem::take(&mut ctx.rules_run),
        rules_not_run: Vec::new(),
        files: Default::default(),
    };
    report.files = evidence_files(&mut ctx, &report);
    report.finish();
    Ok(report)
}

/// What the analysis of each instance of a bundle found, gathered for one report.
#[derive(Default)]
struct Gathered {
    findings: Vec<Finding>,
    timeline: Vec<TimelineItem>,
    rules_run: Vec<String>,
    owners: BTreeMap<String, String>,
}

impl Gathered {
    /// Takes one instance's findings (a dependency's name their instance and quote the
    /// bundle's paths; one about a shared object the collected instance already reported is
    /// left out), timeline items (each once), rules and pod owners.
    fn take(&mut self, ctx: &mut Ctx) {
        let view = ctx.src.view().to_string();
        let instance = if view.is_empty() {
            String::new()
        } else {
            format!("{}/{}", ctx.namespace, ctx.instance)
        };
        for mut f in ctx.findings.drain(..) {
            if !view.is_empty() {
                let repeated = self
                    .findings
                    .iter()
                    .any(|g| g.rule == f.rule && g.object == f.object);
                if repeated {
                    continue;
                }
                for e in &mut f.evidence {
                    let full = ctx.src.bundle_path(&e.path);
                    // The texts name the file the way the rule read it: name it as the
                    // bundle holds it.
                    for text in [&mut f.explanation, &mut f.next_step] {
                        if !text.contains(&full) {
                            *text = text.replace(&e.path, &full);
                        }
                    }
                    e.path = full;
                }
                f.instance = instance.clone();
            }
            self.findings.push(f);
        }
        for t in ctx.timeline.drain(..) {
            if !self.timeline.contains(&t) {
                self.timeline.push(t);
            }
        }
        for r in ctx.rules_run.drain(..) {
            if !self.rules_run.contains(&r) {
                self.rules_run.push(r);
            }
        }
        self.owners.append(&mut ctx.owners);
    }
}

/// The files the findings quote, whole or up to `EMBED_FILE_BYTES` (cut at a line end).
fn evidence_files(ctx: &mut Ctx, report: &Report) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in report.findings.iter().flat_map(|f| &f.evidence) {
        if out.contains_key(&e.path) {
            continue;
        }
        let Some(t) = ctx.src.text_uncached(&e.path) else {
            continue;
        };
        let mut t = t.to_string();
        if t.len() > EMBED_FILE_BYTES {
            let mut end = EMBED_FILE_BYTES;
            while !t.is_char_boundary(end) {
                end -= 1;
            }
            let end = t[..end].rfind('\n').map_or(end, |i| i + 1);
            t.truncate(end);
        }
        out.insert(e.path.clone(), t);
    }
    out
}

fn header(ctx: &mut Ctx) -> Header {
    let v = ctx.src.yaml(layout::VERSIONS).unwrap_or(Value::Null);
    let meta = ctx.src.manifest().meta.clone();
    let or_unknown = |x: &str| {
        if x.is_empty() {
            "unknown".to_string()
        } else {
            x.to_string()
        }
    };
    let errors = ctx.src.all_errors();
    let failed_required = errors
        .iter()
        .filter(|e| e.status == "failed" && !e.optional)
        .count();
    let failed_optional = errors
        .iter()
        .filter(|e| e.status == "failed" && e.optional)
        .count();
    let skipped = errors.iter().filter(|e| e.status != "failed").count();
    let files = ctx.src.manifest().files.len();
    Header {
        bundle: String::new(),
        instance: or_unknown(&ctx.instance),
        namespace: or_unknown(&ctx.namespace),
        operator: or_unknown(s(&v, "/operator/name")),
        operator_version: or_unknown(s(&v, "/operator/version")),
        app_name: or_unknown(s(&v, "/application/name")),
        app_version: or_unknown(s(&v, "/application/version")),
        kudo_version: or_unknown(s(&v, "/kudo/version")),
        kubernetes_version: or_unknown(s(&v, "/kubernetes/version")),
        collected_started: or_unknown(&meta.started),
        collected_finished: or_unknown(&meta.finished),
        collector_version: or_unknown(&meta.tool_version),
        collector: match meta.tool.as_str() {
            "" | "kudo-diag" => String::new(),
            other => other.to_string(),
        },
        completeness: Completeness {
            files,
            failed_required,
            failed_optional,
            skipped,
            status: if failed_required + skipped == 0 {
                "complete"
            } else {
                "partial"
            }
            .to_string(),
        },
    }
}
