//! KUDO rules: plans in ERROR or FATAL_ERROR (with the failing phase, step and message), plans
//! IN_PROGRESS for too long, the instance's OperatorVersion missing, the KUDO manager not running
//! or not ready, and child instances that are unhealthy.

use serde_json::Value;

use crate::analyze::context::{parse_time, Ctx};
use crate::analyze::model::{Evidence, ObjectRef, Severity};
use crate::analyze::source::{find_lines, s};
use crate::bundle::layout;

/// A plan IN_PROGRESS for longer than this (before the collection) is reported.
pub const PLAN_STUCK_MINUTES: i64 = 30;

/// The rules of this module.
pub const RULES: &[&str] = &[
    "kudo.plan-failed",
    "kudo.plan-stuck",
    "kudo.operatorversion-missing",
    "kudo.manager",
    "kudo.child-instance",
];

pub fn run(ctx: &mut Ctx) {
    for r in RULES {
        ctx.ran(r);
    }
    if let Some(inst) = ctx.src.yaml(layout::INSTANCE) {
        plans(ctx, &inst, layout::INSTANCE);
        operator_version(ctx, &inst);
    }
    manager(ctx);
    children(ctx);
}

fn is_failed(st: &str) -> bool {
    st == "ERROR" || st == "FATAL_ERROR"
}

/// A plan in ERROR or FATAL_ERROR: where (phases and steps) and what their messages say.
fn plan_failed(ctx: &mut Ctx, plan: &str, p: &Value, path: &str) {
    let inst = ctx.src.yaml(path).unwrap_or(Value::Null);
    let name = s(&inst, "/metadata/name").to_string();
    let ns = s(&inst, "/metadata/namespace").to_string();
    let st = s(p, "/status");
    let mut where_ = Vec::new();
    let mut messages = Vec::new();
    if let Some(Value::Array(phases)) = p.pointer("/phases") {
        for ph in phases {
            if !is_failed(s(ph, "/status")) {
                continue;
            }
            let mut steps = Vec::new();
            if let Some(Value::Array(ss)) = ph.pointer("/steps") {
                for stp in ss {
                    if is_failed(s(stp, "/status")) {
                        steps.push(s(stp, "/name").to_string());
                        let m = s(stp, "/message");
                        if !m.is_empty() {
                            messages.push(m.to_string());
                        }
                    }
                }
            }
            if steps.is_empty() {
                where_.push(format!("phase {}", s(ph, "/name")));
            } else {
                where_.push(format!(
                    "phase {}, step {}",
                    s(ph, "/name"),
                    steps.join(", ")
                ));
            }
            let m = s(ph, "/message");
            if !m.is_empty() {
                messages.push(m.to_string());
            }
        }
    }
    let m = s(p, "/message");
    if messages.is_empty() && !m.is_empty() {
        messages.push(m.to_string());
    }
    let at = if where_.is_empty() {
        String::new()
    } else {
        format!(" at {}", where_.join("; "))
    };
    let title = format!("plan {plan} of instance {name} is {st}{at}");
    let fatal = st == "FATAL_ERROR";
    let explanation = format!(
        "{} {}",
        if fatal {
            "KUDO stopped the plan and will not retry it (FATAL_ERROR)."
        } else {
            "The plan hit an error; KUDO retries it, but it keeps failing (ERROR)."
        },
        if messages.is_empty() {
            "No message was recorded.".to_string()
        } else {
            format!("The step says: {}", messages.join(" | "))
        }
    );
    let next = format!(
        "Fix the cause the message names (see the other findings), then {}: `kubectl kudo plan status --instance {name} -n {ns}` shows progress.",
        if fatal {
            format!("start the plan again (`kubectl kudo plan trigger --name {plan} --instance {name} -n {ns}`) or `kubectl kudo update` the parameter that caused it")
        } else {
            "KUDO will retry it".to_string()
        }
    );
    let mut ev = Vec::new();
    if let Some(t) = ctx.src.text(path) {
        let mut lines = find_lines(&t, Some(&format!("{plan}:")), &format!("status: {st}"), 3);
        lines.extend(find_lines(&t, Some(&format!("{plan}:")), "message: ", 1));
        lines.sort_by_key(|l| l.line);
        lines.dedup();
        ev.push(Evidence {
            path: path.into(),
            lines,
            note: None,
        });
    }
    if let Some(t) = ctx.src.text(layout::PLAN_STATUS) {
        let lines = find_lines(&t, Some(&format!("Plan {plan} ")), &format!("[{st}]"), 3);
        ev.push(Evidence {
            path: layout::PLAN_STATUS.into(),
            lines,
            note: None,
        });
    }
    ctx.add(
        "kudo.plan-failed",
        Severity::Error,
        ObjectRef::new("Instance", &ns, &name),
        title,
        explanation,
        next,
        ev,
    );
}

fn plans(ctx: &mut Ctx, inst: &Value, path: &str) {
    let name = s(inst, "/metadata/name").to_string();
    let ns = s(inst, "/metadata/namespace").to_string();
    let Some(Value::Object(plans)) = inst.pointer("/status/planStatus") else {
        return;
    };
    for (plan, p) in plans {
        let st = s(p, "/status");
        let updated = s(p, "/lastUpdatedTimestamp").to_string();
        if is_failed(st) {
            plan_failed(ctx, plan, p, path);
        } else if st == "IN_PROGRESS" || st == "PENDING" {
            // Against the cluster's own latest time: a bundle served later, or a simulated
            // cluster whose clock stopped, does not make every running plan look stuck.
            let (Some(now), Some(t)) = (ctx.as_of, parse_time(&updated)) else {
                continue;
            };
            let mins = (now - t).num_minutes();
            if mins < PLAN_STUCK_MINUTES {
                continue;
            }
            let mut ev = Vec::new();
            if let Some(text) = ctx.src.text(path) {
                ev.push(Evidence {
                    path: path.into(),
                    lines: find_lines(&text, Some(&format!("{plan}:")), "lastUpdatedTimestamp", 1),
                    note: None,
                });
            }
            ctx.add(
                "kudo.plan-stuck",
                Severity::Warning,
                ObjectRef::new("Instance", &ns, &name),
                format!("plan {plan} of instance {name} has been {st} for {mins} minutes"),
                format!("The plan last changed at {updated}, {mins} minutes before the collection: a step is waiting for something that does not happen (pods not becoming healthy, a job not finishing)."),
                format!("Look at the step in progress (`kubectl kudo plan status --instance {name} -n {ns}`) and at the pods it waits for."),
                ev,
            );
        }
    }
}

fn operator_version(ctx: &mut Ctx, inst: &Value) {
    if ctx.src.contains(layout::OPERATOR_VERSION) {
        return;
    }
    let ov = s(inst, "/spec/operatorVersion/name").to_string();
    let Some(err) = ctx
        .src
        .errors()
        .iter()
        .find(|e| e.task == "operatorversion")
    else {
        return;
    };
    // The API's 404, from the entry's kind; a bundle written before errors.json kept kinds
    // has only the message to go by.
    let missing = match &err.error_kind {
        Some(kind) => kind.status() == Some(404),
        None => {
            let lower = err.reason.to_ascii_lowercase();
            lower.contains("404") || lower.contains("not found")
        }
    };
    if !missing {
        return; // Not known to be missing: the collection rule reports the failed read.
    }
    let reason = err.reason.clone();
    let name = s(inst, "/metadata/name").to_string();
    let ns = s(inst, "/metadata/namespace").to_string();
    let mut ev = Vec::new();
    if let Some(t) = ctx.src.text(layout::INSTANCE) {
        ev.push(Evidence {
            path: layout::INSTANCE.into(),
            lines: find_lines(&t, Some("operatorVersion:"), "name: ", 1),
            note: None,
        });
    }
    ev.push(Evidence {
        path: layout::ERRORS.into(),
        lines: Vec::new(),
        note: Some(format!("operatorversion: {reason}")),
    });
    ctx.add(
        "kudo.operatorversion-missing",
        Severity::Error,
        ObjectRef::new("OperatorVersion", &ns, &ov),
        format!("OperatorVersion {ov} of instance {name} does not exist"),
        "The instance names an OperatorVersion that is not in its namespace: KUDO cannot run any plan of it.".into(),
        format!("Install the operator version again (`kubectl kudo install <operator> --operator-version <version> -n {ns}` installs the package without a new instance when it exists) or point the instance at an installed version."),
        ev,
    );
}

fn manager(ctx: &mut Ctx) {
    let path = layout::KUDO_PODS;
    if !ctx.src.contains(path) {
        return;
    }
    let pods = ctx.src.items(path);
    let managers: Vec<&Value> = pods
        .iter()
        .filter(|p| {
            s(p, "/metadata/name").starts_with("kudo-controller-manager")
                || s(p, "/metadata/labels/control-plane") == "controller-manager"
                || s(p, "/metadata/labels/app") == "kudo-manager"
        })
        .collect();
    if managers.is_empty() {
        ctx.add(
            "kudo.manager",
            Severity::Error,
            ObjectRef::new("Pod", "kudo-system", "kudo-controller-manager"),
            "the KUDO manager is not running: no kudo-controller-manager pod".into(),
            "Without its manager KUDO runs no plans: instances do not deploy, update or recover.".into(),
            "Check the kudo-system namespace (`kubectl get statefulset,pods -n kudo-system`); reinstall with `kubectl kudo init` if it is gone.".into(),
            vec![Evidence { path: path.into(), lines: Vec::new(), note: Some("no manager pod listed".into()) }],
        );
        return;
    }
    for p in managers {
        let name = s(p, "/metadata/name").to_string();
        let phase = s(p, "/status/phase");
        let ready = p
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|cs| cs.iter().find(|c| s(c, "/type") == "Ready"))
            .map(|c| s(c, "/status") == "True")
            .unwrap_or(false);
        if phase == "Running" && ready {
            continue;
        }
        let own = format!("kudo/pods/{name}/pod.yaml");
        let file = if ctx.src.contains(&own) {
            own
        } else {
            path.to_string()
        };
        let ev = vec![ctx.object_evidence(&file, &name, &["phase: ", "type: Ready"])];
        ctx.add(
            "kudo.manager",
            Severity::Error,
            ObjectRef::new("Pod", s(p, "/metadata/namespace"), &name),
            format!("the KUDO manager pod {name} is {} and {}", if phase.is_empty() { "in no phase" } else { phase }, if ready { "ready" } else { "not ready" }),
            "While its manager is not running and ready, KUDO runs no plans.".into(),
            format!("Read the manager's log (kudo/pods/{name}/logs/) and `kubectl describe pod {name} -n kudo-system`."),
            ev,
        );
    }
}

fn children(ctx: &mut Ctx) {
    let path = layout::CHILD_INSTANCES;
    for c in ctx.src.items(path) {
        let st = s(&c, "/status/aggregatedStatus/status");
        if !is_failed(st) {
            continue;
        }
        let name = s(&c, "/metadata/name").to_string();
        let ns = s(&c, "/metadata/namespace").to_string();
        let plan = s(&c, "/status/aggregatedStatus/activePlanName").to_string();
        let ev = vec![ctx.object_evidence(path, &name, &[&format!("status: {st}")])];
        let held = layout::dependency_prefix(&ns, &name);
        let next = if ctx.src.dependencies().contains(&held) {
            format!("The bundle holds it ({held}): its own findings in this report say what is wrong there; fix that first.")
        } else {
            format!("Collect and analyze the child: `kudo-diag run --instance {name} -n {ns}`, then fix it first.")
        };
        ctx.add(
            "kudo.child-instance",
            Severity::Error,
            ObjectRef::new("Instance", &ns, &name),
            format!("child instance {name} is {st} (plan {plan})"),
            format!("The instance depends on {name}, whose plan {plan} failed: the parent cannot be healthy until it is."),
            next,
            ev,
        );
    }
}
