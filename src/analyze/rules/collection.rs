//! The collection itself: tasks that failed or were skipped (errors.json) and files that could
//! not be read, each with what that hides from the analysis. Never above warning: a gap in the
//! evidence is not a fault of the instance, but the reader must know what was not checked.

use std::collections::BTreeMap;

use crate::analyze::context::Ctx;
use crate::analyze::model::{Evidence, Line, ObjectRef, Severity};
use crate::bundle::layout;
use crate::bundle::writer::ErrorEntry;
use crate::failure::ErrorKind;

/// Tasks by (task, status, optional): their (target, reason) pairs.
type Groups = BTreeMap<(String, String, bool), Vec<(String, String)>>;

pub fn run(ctx: &mut Ctx) {
    ctx.ran("collection.task-failed");
    ctx.ran("collection.unreadable");
    ctx.ran("collection.refused");
    let errors_text = ctx.src.text(layout::ERRORS);
    let lines_for = |task: &str| -> Vec<Line> {
        errors_text
            .as_deref()
            .map(|t| {
                t.lines()
                    .enumerate()
                    .filter(|(_, l)| l.contains(&format!("\"node\": \"{task}")))
                    .take(5)
                    .map(|(i, l)| Line {
                        line: i + 1,
                        text: l.trim().to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    refusals(ctx, &lines_for);
    // Gaps that follow from pods already found broken (nothing can be executed in a pod that
    // does not run) are gathered in one note, so they do not bury the faults themselves.
    let mut follows: Vec<(String, Vec<String>)> = Vec::new();
    for ((task, status, optional), items) in groups(ctx) {
        // Targets are `namespace/pod` or `namespace/pod/container`: shown without the
        // namespace; the pod is what is compared with the broken pods.
        let targets: Vec<String> = items
            .iter()
            .map(|(t, _)| t.split_once('/').map(|(_, r)| r).unwrap_or(t).to_string())
            .filter(|t| !t.is_empty())
            .collect();
        let broken_pod = |t: &String| {
            let pod = t.split('/').next().unwrap_or(t);
            ctx.explained.iter().any(|(x, _)| x == pod)
        };
        if !targets.is_empty() && targets.iter().all(broken_pod) {
            follows.push((task, targets));
            continue;
        }
        task_failed(
            ctx,
            &task,
            &status,
            optional,
            &items,
            &targets,
            lines_for(&task),
        );
    }
    if !follows.is_empty() {
        let lines = follows
            .iter()
            .flat_map(|(t, _)| lines_for(t))
            .take(10)
            .collect();
        not_running(ctx, &follows, lines);
    }
    unreadable(ctx);
}

/// The failed and skipped tasks of errors.json, grouped; refusals are left to [`refusals`].
fn groups(ctx: &Ctx) -> Groups {
    let mut groups = Groups::new();
    for e in ctx.src.errors() {
        if refusal(e).is_some() {
            continue;
        }
        let target = e
            .node
            .split_once('[')
            .map(|(_, t)| t.trim_end_matches(']').to_string())
            .unwrap_or_default();
        groups
            .entry((e.task.clone(), e.status.clone(), e.optional))
            .or_default()
            .push((target, e.reason.clone()));
    }
    groups
}

/// The reason and the fix of an entry the application refused (not a failure to collect).
fn refusal(e: &ErrorEntry) -> Option<(&str, &str)> {
    match &e.error_kind {
        Some(ErrorKind::Refused { reason, fix, .. }) => Some((reason, fix)),
        _ => None,
    }
}

/// Answers the applications refused (a four-letter word outside ZooKeeper's whitelist, JMX
/// refusing nodetool, an authorization error): one finding for all of them, each reason and
/// each fix listed once. A note, not a warning: the instance may be healthy; what its
/// configuration hides was not checked.
fn refusals(ctx: &mut Ctx, lines_for: &dyn Fn(&str) -> Vec<Line>) {
    let (mut tasks, mut reasons, mut fixes) = (Vec::new(), Vec::new(), Vec::new());
    // Refused answers a fallback gave in their place (ZooKeeper's AdminServer), and how many
    // were refused in all.
    let (mut fallbacks, mut refused) = (Vec::new(), 0);
    for e in ctx.src.errors() {
        if let Some(ErrorKind::Refused {
            fallback: Some(path),
            ..
        }) = &e.error_kind
        {
            fallbacks.push(path.clone());
        }
        if let Some((reason, fix)) = refusal(e) {
            refused += 1;
            for (list, v) in [
                (&mut tasks, &e.task),
                (&mut reasons, &reason.to_string()),
                (&mut fixes, &fix.to_string()),
            ] {
                if !list.contains(v) {
                    list.push(v.clone());
                }
            }
        }
    }
    if tasks.is_empty() {
        return;
    }
    let hidden: Vec<String> = tasks.iter().map(|t| hides(t)).collect();
    let lines = tasks.iter().flat_map(|t| lines_for(t)).take(10).collect();
    let (title_end, consequence) = match fallbacks.len() {
        0 => (
            "its configuration hides them".to_string(),
            format!("so {} is missing from the bundle and was not checked", hidden.join("; ")),
        ),
        n if n == refused => (
            "its configuration hides them; the fallback answered each in their place".to_string(),
            format!(
                "and the fallback answered each instead, so the bundle holds the same data there: {}",
                fallbacks.join(", ")
            ),
        ),
        n => (
            format!("its configuration hides them; the fallback answered {n} of {refused}"),
            format!(
                "and the fallback answered {n} of the {refused} ({}); the rest of {} is missing from the bundle and was not checked",
                fallbacks.join(", "),
                hidden.join("; ")
            ),
        ),
    };
    let mut evidence = vec![Evidence {
        path: layout::ERRORS.into(),
        lines,
        note: None,
    }];
    evidence.extend(fallbacks.iter().take(10).map(|p| Evidence {
        path: p.clone(),
        lines: vec![],
        note: Some("the fallback's answer".into()),
    }));
    ctx.add(
        "collection.refused",
        Severity::Info,
        ObjectRef::new("Task", "", &tasks.join(",")),
        format!(
            "the application refused {} of the collector's commands ({}): {title_end}",
            tasks.len(),
            tasks.join(", ")
        ),
        format!(
            "The application answered but declined ({}), {consequence}. Asking again gets the same answer until its configuration changes.",
            reasons.join(" "),
        ),
        format!("{}; then collect again.", fixes.join("; ")),
        evidence,
    );
}

/// One task that failed or was skipped for reasons of its own.
fn task_failed(
    ctx: &mut Ctx,
    task: &str,
    status: &str,
    optional: bool,
    items: &[(String, String)],
    targets: &[String],
    lines: Vec<Line>,
) {
    let on = if targets.is_empty() {
        String::new()
    } else {
        format!(" for {}", targets.join(", "))
    };
    let hides = hides(task);
    let mut explanation = format!(
        "{hides} is missing from the bundle, so it was not checked. The collector says: {}",
        items[0].1
    );
    if items.len() > 1 && items.iter().any(|(_, r)| *r != items[0].1) {
        explanation.push_str(&format!(" (and {} more, see errors.json)", items.len() - 1));
    }
    let sev = if optional && status == "failed" {
        Severity::Info
    } else {
        Severity::Warning
    };
    ctx.add(
        "collection.task-failed",
        sev,
        ObjectRef::new("Task", "", task),
        format!(
            "collection task {task} {status}{on}{}: {hides} is missing",
            if optional { " (optional)" } else { "" }
        ),
        explanation,
        "Fix what the collector's error says (permissions, a missing tool in the image, a timeout) and collect again to fill the gap.".into(),
        vec![Evidence { path: layout::ERRORS.into(), lines, note: None }],
    );
}

/// The tasks that could not run because their pods do not run: one note.
fn not_running(ctx: &mut Ctx, follows: &[(String, Vec<String>)], lines: Vec<Line>) {
    let mut pods: Vec<String> = follows
        .iter()
        .flat_map(|(_, t)| {
            t.iter()
                .map(|x| x.split('/').next().unwrap_or(x).to_string())
        })
        .collect();
    pods.sort();
    pods.dedup();
    let tasks: Vec<&str> = follows.iter().map(|(t, _)| t.as_str()).collect();
    let one = pods.len() == 1;
    let mut hidden: Vec<String> = Vec::new();
    for (t, _) in follows {
        let h = hides(t);
        if !hidden.contains(&h) {
            hidden.push(h);
        }
    }
    ctx.add(
        "collection.task-failed",
        Severity::Info,
        ObjectRef::new("Task", "", &tasks.join(",")),
        format!(
            "{} collection task{} could not run in {} {} (not running), so {} output is missing: {}",
            tasks.len(),
            if tasks.len() == 1 { "" } else { "s" },
            if pods.len() == 1 { "pod" } else { "pods" },
            pods.join(", "),
            if tasks.len() == 1 { "its" } else { "their" },
            tasks.join(", ")
        ),
        format!(
            "{} {} {} broken (see {} findings), so commands could not be executed in {}; what those tasks show ({}) is missing for {}.",
            if one { "Pod" } else { "Pods" },
            pods.join(", "),
            if one { "is" } else { "are" },
            if one { "its" } else { "their" },
            if one { "it" } else { "them" },
            hidden.join("; "),
            if one { "it" } else { "them" },
        ),
        "Fix the pods first; a later collection will then include this evidence.".into(),
        vec![Evidence { path: layout::ERRORS.into(), lines, note: None }],
    );
}

/// Bundle files the analysis could not read.
fn unreadable(ctx: &mut Ctx) {
    let unreadable = std::mem::take(&mut ctx.src.unreadable);
    for (path, why) in &unreadable {
        ctx.add(
            "collection.unreadable",
            Severity::Warning,
            ObjectRef::new("File", "", path),
            format!("bundle file {path} could not be read"),
            format!("The analyzers skipped it: {why}."),
            "Collect again; if it repeats, report it with the bundle.".into(),
            vec![Evidence {
                path: path.clone(),
                lines: Vec::new(),
                note: Some(why.clone()),
            }],
        );
    }
    ctx.src.unreadable = unreadable;
}

/// What a failed task's output would have shown.
pub fn hides(task: &str) -> String {
    let t = task;
    if let Some(cmd) = t.strip_prefix("nodetool-") {
        return format!("Cassandra's own view (`nodetool {cmd}`) from those nodes");
    }
    if t.starts_with("zk-") {
        return format!(
            "ZooKeeper's own state (`{}`) from those servers",
            t.trim_start_matches("zk-")
        );
    }
    if t.starts_with("kafka-") {
        return "Kafka's own view (topics, consumer groups, broker configuration)".to_string();
    }
    if t.starts_with("cassandra-") {
        return "the Cassandra configuration file".to_string();
    }
    match t {
        "instance" => {
            "the instance object (plans, parameters): the KUDO plan rules could not run".into()
        }
        "plan-status" => "the plan status summary".into(),
        "operatorversion" => {
            "the OperatorVersion (plans, tasks, parameters of the operator)".into()
        }
        "operator" => "the Operator object".into(),
        "pods" => "the list of the instance's pods: the pod rules could not run".into(),
        "pod-logs" | "pod-logs-previous" => "container logs".into(),
        "events" | "kudo-events" => "events: scheduling failures, probe failures and kills".into(),
        "nodes" => "the cluster's nodes: node conditions were not checked".into(),
        "kudo-pods" | "kudo-logs" => "the KUDO manager's pods or logs".into(),
        "kudo-webhooks" => "KUDO's admission webhook configuration".into(),
        "versions" => "versions.yaml (component versions)".into(),
        _ => format!("the output of task {t}"),
    }
}
