//! Rules written in YAML, by operator developers or built in (analyzers/builtin.rules.yaml).
//!
//! A rules file holds a list of rules; each names the bundle files it reads with globs and one
//! check:
//! - `regex`: lines matching it, per file, counted with first and last time and example lines;
//!   a finding when the count reaches `minCount` (default 1);
//! - `path`: a JSON pointer (or dotted path) into a YAML/JSON file, compared with `value` by `op`;
//! - `count`: how many items under a list path satisfy `where`, compared with `value` by `op`.
//!
//! Texts may use `{file}`, `{pod}`, `{container}`, `{count}`, `{first}`, `{last}`, `{value}`,
//! `{instance}` and `{namespace}`. The format is documented in docs/analyzers.md.

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use super::context::Ctx;
use super::links::{Link, LinkSpec};
use super::model::{Evidence, Line, ObjectRef, Severity};
use super::source::clip;

/// The built-in YAML rules (application health, known log patterns).
pub const BUILTIN_RULES: &str = include_str!("../../analyzers/builtin.rules.yaml");

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RulesFile {
    #[serde(default)]
    pub api_version: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    pub rules: Vec<RuleSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleSpec {
    pub name: String,
    pub severity: Severity,
    /// Globs over bundle paths: `*` within a path segment, `**` across segments.
    pub files: Vec<String>,
    /// Only for instances of these operators (empty: all).
    #[serde(default)]
    pub operators: Vec<String>,
    #[serde(default)]
    pub regex: Option<String>,
    #[serde(default)]
    pub min_count: Option<u64>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub count: Option<CountSpec>,
    #[serde(default)]
    pub op: Option<Op>,
    #[serde(default)]
    pub value: Option<Value>,
    pub title: String,
    pub explanation: String,
    pub next_step: String,
    /// The findings this rule's findings may follow from (`super::links`).
    #[serde(default)]
    pub caused_by: Vec<LinkSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CountSpec {
    /// The list to count in (default `/items`).
    #[serde(default)]
    pub items: Option<String>,
    #[serde(default, rename = "where")]
    pub filter: Option<WhereSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhereSpec {
    pub path: String,
    pub op: Op,
    pub value: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Contains,
    Matches,
    Exists,
}

/// A checked, compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub spec: RuleSpec,
    globs: Vec<Regex>,
    regex: Option<Regex>,
    matches: Option<Regex>,
    /// The checked `causedBy` links.
    pub links: Vec<Link>,
}

impl Rule {
    /// Whether the rule reads the bundle file at `path` (one of its `files` globs matches).
    pub fn reads(&self, path: &str) -> bool {
        self.globs.iter().any(|g| g.is_match(path))
    }
}

/// Parses and checks a rules file; every problem is reported, named by file and rule.
pub fn parse_rules(source: &str, text: &str) -> Result<Vec<Rule>, String> {
    let file: RulesFile = crate::yaml::from_str(text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(" (line {}, column {})", l.line(), l.column()))
            .unwrap_or_default();
        format!("{source}{at}: not a valid rules file: {e}; see docs/analyzers.md for the format")
    })?;
    let mut problems = Vec::new();
    let mut out = Vec::new();
    for (i, spec) in file.rules.into_iter().enumerate() {
        let who = format!("{source}: rule {} ({})", i + 1, spec.name);
        let checks = [
            spec.regex.is_some(),
            spec.path.is_some(),
            spec.count.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if checks != 1 {
            problems.push(format!(
                "{who}: give exactly one of `regex`, `path` or `count`"
            ));
            continue;
        }
        if spec.files.is_empty() {
            problems.push(format!(
                "{who}: `files` is empty; name the bundle files it reads (globs)"
            ));
        }
        if (spec.path.is_some() || spec.count.is_some()) && spec.op.is_none() {
            problems.push(format!("{who}: `op` is required with `path` and `count` (eq, ne, gt, ge, lt, le, contains, matches, exists)"));
        }
        if let (Some(op), None) = (spec.op, &spec.value) {
            if op != Op::Exists {
                problems.push(format!("{who}: `value` is required with op {op:?}"));
            }
        }
        let regex = match &spec.regex {
            Some(r) => match Regex::new(r) {
                Ok(r) => Some(r),
                Err(e) => {
                    problems.push(format!("{who}: bad regex: {e}"));
                    continue;
                }
            },
            None => None,
        };
        let matches = if spec.op == Some(Op::Matches) {
            match spec.value.as_ref().and_then(Value::as_str).map(Regex::new) {
                Some(Ok(r)) => Some(r),
                _ => {
                    problems.push(format!(
                        "{who}: op matches needs `value` to be a valid regex string"
                    ));
                    continue;
                }
            }
        } else {
            None
        };
        let mut links = Vec::new();
        for l in &spec.caused_by {
            match Link::from_spec(&spec.name, l) {
                Ok(l) => links.push(l),
                Err(e) => problems.push(format!("{who}: {e}")),
            }
        }
        let globs = spec.files.iter().map(|g| glob_regex(g)).collect();
        out.push(Rule {
            spec,
            globs,
            regex,
            matches,
            links,
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems.join("\n"))
    }
}

/// A glob as an anchored regex: `**` any path, `*` within a segment, `?` one character.
pub fn glob_regex(glob: &str) -> Regex {
    let mut r = String::from("^");
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                if chars.peek() == Some(&'/') {
                    chars.next();
                    r.push_str("(?:.*/)?");
                } else {
                    r.push_str(".*");
                }
            }
            '*' => r.push_str("[^/]*"),
            '?' => r.push_str("[^/]"),
            c => r.push_str(&regex::escape(&c.to_string())),
        }
    }
    r.push('$');
    Regex::new(&r).expect("an escaped glob is a valid regex")
}

/// A JSON pointer, or a dotted path (`a.b.0.c`) turned into one.
fn pointer(p: &str) -> String {
    if p.starts_with('/') || p.is_empty() {
        p.to_string()
    } else {
        format!("/{}", p.replace('.', "/"))
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Compares `got` with `want` by `op`.
pub fn compare(op: Op, got: Option<&Value>, want: Option<&Value>, re: Option<&Regex>) -> bool {
    let Some(got) = got else { return false };
    if op == Op::Exists {
        return !got.is_null();
    }
    let Some(want) = want else { return false };
    match op {
        Op::Eq | Op::Ne => {
            let eq = match (as_f64(got), as_f64(want)) {
                (Some(a), Some(b)) if !matches!(want, Value::String(_)) => a == b,
                _ => text_of(got) == text_of(want),
            };
            eq == (op == Op::Eq)
        }
        Op::Gt | Op::Ge | Op::Lt | Op::Le => match (as_f64(got), as_f64(want)) {
            (Some(a), Some(b)) => match op {
                Op::Gt => a > b,
                Op::Ge => a >= b,
                Op::Lt => a < b,
                _ => a <= b,
            },
            _ => false,
        },
        Op::Contains => match got {
            Value::Array(a) => a.iter().any(|x| text_of(x) == text_of(want)),
            other => text_of(other).contains(&text_of(want)),
        },
        Op::Matches => re.is_some_and(|r| r.is_match(&text_of(got))),
        Op::Exists => unreachable!(),
    }
}

/// The pod and container a bundle path is about, when it says.
fn pod_container(path: &str) -> (String, String) {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["pods", pod, "logs", file] | ["kudo", "pods", pod, "logs", file] => (
            pod.to_string(),
            file.trim_end_matches(".log")
                .trim_end_matches(".previous")
                .to_string(),
        ),
        ["apps", _, pod, ..] if parts.len() > 3 => (pod.to_string(), String::new()),
        _ => (String::new(), String::new()),
    }
}

/// The first timestamp in a log line (ISO date and time), for first/last times.
fn line_time(re: &Regex, l: &str) -> Option<String> {
    re.find(l)
        .map(|m| m.as_str().replace('T', " ").replace(',', "."))
}

/// Runs the YAML rules against the bundle. Value and count rules read small YAML/JSON files
/// (cached); regex rules are applied file by file, every rule that reads a file at once, so a
/// log is decompressed once and not kept in memory.
pub fn run(ctx: &mut Ctx, rules: &[Rule]) {
    let paths = ctx.src.paths();
    let time_re =
        Regex::new(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?").expect("static regex");
    let active: Vec<&Rule> = rules
        .iter()
        .filter(|r| r.spec.operators.is_empty() || r.spec.operators.contains(&ctx.operator))
        .collect();
    for r in &active {
        ctx.ran(&r.spec.name);
    }
    let reads = |r: &Rule, p: &str| r.globs.iter().any(|g| g.is_match(p));
    for rule in active.iter().filter(|r| r.regex.is_none()) {
        for path in paths.iter().filter(|p| reads(rule, p)) {
            if let Some((vars, ev)) = value_check(ctx, rule, path) {
                emit(ctx, rule, path, vars, ev);
            }
        }
    }
    for path in &paths {
        let regex_rules: Vec<&Rule> = active
            .iter()
            .filter(|r| r.regex.is_some() && reads(r, path))
            .copied()
            .collect();
        if regex_rules.is_empty() {
            continue;
        }
        let Some(text) = ctx.src.text_uncached(path) else {
            continue;
        };
        for rule in regex_rules {
            if let Some((vars, ev)) = regex_check(rule, path, &text, &time_re) {
                emit(ctx, rule, path, vars, ev);
            }
        }
    }
}

type Vars = Vec<(&'static str, String)>;

/// Counts a regex rule's lines in one file: the placeholders and the evidence, or None when
/// there are fewer than `minCount`.
fn regex_check(rule: &Rule, path: &str, text: &str, time_re: &Regex) -> Option<(Vars, Evidence)> {
    let re = rule.regex.as_ref()?;
    let mut count = 0u64;
    let mut examples = Vec::new();
    let (mut first, mut last) = (None::<String>, None::<String>);
    // Lines without a time of their own (stack traces, continuation lines) take the time of the
    // last line before them that had one.
    let mut seen_time: Option<String> = None;
    for (i, l) in text.lines().enumerate() {
        if let Some(ts) = line_time(time_re, l) {
            seen_time = Some(ts);
        }
        if !re.is_match(l) {
            continue;
        }
        count += 1;
        if examples.len() < 3 {
            examples.push(Line {
                line: i + 1,
                text: clip(l),
            });
        }
        if let Some(ts) = &seen_time {
            if first.is_none() {
                first = Some(ts.clone());
            }
            last = Some(ts.clone());
        }
    }
    if count < rule.spec.min_count.unwrap_or(1) {
        return None;
    }
    let note = match (&first, &last) {
        (Some(f), Some(l)) => format!("{count} matching lines, first at {f}, last at {l}"),
        _ => format!("{count} matching lines"),
    };
    let unknown = || "an unknown time".to_string();
    let vars = vec![
        ("count", count.to_string()),
        ("first", first.unwrap_or_else(unknown)),
        ("last", last.unwrap_or_else(unknown)),
    ];
    let ev = Evidence {
        path: path.to_string(),
        lines: examples,
        note: Some(note),
    };
    Some((vars, ev))
}

/// Checks a path or count rule against one YAML/JSON file.
fn value_check(ctx: &mut Ctx, rule: &Rule, path: &str) -> Option<(Vars, Evidence)> {
    let spec = &rule.spec;
    let doc = ctx.src.yaml(path)?;
    let op = spec.op.expect("checked when parsed");
    let last_key = |p: &str| pointer(p).rsplit('/').next().unwrap_or("").to_string();
    let (got, line_key) = if let Some(p) = &spec.path {
        (doc.pointer(&pointer(p)).cloned(), last_key(p))
    } else {
        let c = spec.count.as_ref().expect("one check");
        let list = doc
            .pointer(&pointer(c.items.as_deref().unwrap_or("/items")))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let re = c
            .filter
            .as_ref()
            .filter(|w| w.op == Op::Matches)
            .and_then(|w| w.value.as_str().and_then(|s| Regex::new(s).ok()));
        let n = list
            .iter()
            .filter(|it| match &c.filter {
                None => true,
                Some(w) => compare(
                    w.op,
                    it.pointer(&pointer(&w.path)),
                    Some(&w.value),
                    re.as_ref(),
                ),
            })
            .count();
        let key = c
            .filter
            .as_ref()
            .map(|w| last_key(&w.path))
            .unwrap_or_default();
        (Some(Value::from(n as u64)), key)
    };
    if !compare(op, got.as_ref(), spec.value.as_ref(), rule.matches.as_ref()) {
        return None;
    }
    let shown = got.as_ref().map(text_of).unwrap_or_default();
    let lines = ctx
        .src
        .text(path)
        .map(|t| super::source::find_lines(&t, None, &line_key, 3))
        .unwrap_or_default();
    let ev = Evidence {
        path: path.to_string(),
        lines,
        note: None,
    };
    Some((vec![("value", shown.clone()), ("count", shown)], ev))
}

/// Makes (or extends) the finding of `rule` for `path`.
fn emit(ctx: &mut Ctx, rule: &Rule, path: &str, mut vars: Vars, evidence: Evidence) {
    let spec = &rule.spec;
    let (pod, container) = pod_container(path);
    vars.extend([
        ("file", path.to_string()),
        ("pod", pod.clone()),
        ("container", container.clone()),
        ("instance", ctx.instance.clone()),
        ("namespace", ctx.namespace.clone()),
    ]);
    let fill = |s: &str| {
        let mut s = s.to_string();
        for (k, v) in &vars {
            s = s.replace(&format!("{{{k}}}"), v);
        }
        s
    };
    let object = if pod.is_empty() {
        ObjectRef::new("File", "", path)
    } else {
        let ns = if path.starts_with("kudo/") {
            "kudo-system".to_string()
        } else {
            ctx.namespace.clone()
        };
        ObjectRef::new("Pod", &ns, &pod)
    };
    // The current and previous logs of one container are one finding with two pieces of
    // evidence (the previous log often repeats what the current one shows).
    if !container.is_empty() {
        if let Some(f) = ctx.findings.iter_mut().find(|f| {
            f.rule == spec.name
                && f.object == object
                && f.evidence
                    .iter()
                    .any(|e| pod_container(&e.path).1 == container)
        }) {
            f.evidence.push(evidence);
            return;
        }
    }
    let (mut title, explanation, next) = (
        fill(&spec.title),
        fill(&spec.explanation),
        fill(&spec.next_step),
    );
    // Log lines that stopped longer ago than an hour before the collection are history.
    let mut severity = spec.severity;
    let last = vars
        .iter()
        .find(|(k, _)| *k == "last")
        .map(|(_, v)| v.as_str());
    if let Some(h) = last.and_then(|t| ctx.hours_ago_if_old(t)) {
        severity = Severity::Info;
        title.push_str(&format!(" (the last {h} h before the collection)"));
    }
    ctx.add(
        &spec.name,
        severity,
        object,
        title,
        explanation,
        next,
        vec![evidence],
    );
}
