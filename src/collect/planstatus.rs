//! An Instance's plan status as a readable tree, the way `kubectl kudo plan status` shows it:
//! the instance, then each plan, its phases and their steps, each with its status, message and
//! (for plans) when it was last updated.
//!
//! `render` is a pure function of the Instance object and, optionally, its OperatorVersion: the
//! OperatorVersion adds each plan's and phase's strategy (serial/parallel) and the plans that
//! have never run, which the Instance's `status.planStatus` may not list. The task kind
//! `kudo.planstatus` fetches what it is not given and writes the tree to its `output`
//! (`instance/plan-status.txt` in the built-in pipeline).

use serde_json::{json, Map, Value};

use crate::bundle::layout;
use crate::collect::kinds::get;
use crate::collect::params;
use crate::engine::{ParamSpec, TaskContext, TaskError, TaskKind, TaskOutput};

/// Status shown for plans, phases and steps that have no status yet.
const NOT_ACTIVE: &str = "NOT ACTIVE";

struct Tree {
    label: String,
    children: Vec<Tree>,
}

impl Tree {
    fn leaf(label: String) -> Self {
        Tree {
            label,
            children: Vec::new(),
        }
    }

    fn draw(&self, prefix: &str, last: bool, out: &mut String) {
        out.push_str(prefix);
        out.push_str(if last { "└── " } else { "├── " });
        out.push_str(&self.label);
        out.push('\n');
        let child_prefix = format!("{prefix}{}", if last { "    " } else { "│   " });
        for (i, c) in self.children.iter().enumerate() {
            c.draw(&child_prefix, i + 1 == self.children.len(), out);
        }
    }
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn status_label(v: &Value) -> String {
    let st = s(v, "status");
    format!("[{}]", if st.is_empty() { NOT_ACTIVE } else { st })
}

/// `: message` when the status has a message.
fn message_suffix(v: &Value) -> String {
    let msg = s(v, "message").trim();
    if msg.is_empty() {
        String::new()
    } else {
        format!(": {msg}")
    }
}

fn strategy(v: Option<&Value>) -> String {
    match v.map(|v| s(v, "strategy")).filter(|s| !s.is_empty()) {
        Some(st) => format!(" ({st} strategy)"),
        None => String::new(),
    }
}

/// The plan the instance is executing, if any: `status.aggregatedStatus.activePlanName`
/// (KUDO >= 0.11), else `spec.planExecution.planName`, else a plan that is in progress.
pub fn active_plan(instance: &Value) -> Option<&str> {
    instance
        .pointer("/status/aggregatedStatus/activePlanName")
        .and_then(Value::as_str)
        .or_else(|| {
            instance
                .pointer("/spec/planExecution/planName")
                .and_then(Value::as_str)
        })
        .filter(|p| !p.is_empty())
        .or_else(|| {
            instance
                .pointer("/status/planStatus")
                .and_then(Value::as_object)?
                .iter()
                .find(|(_, p)| matches!(s(p, "status"), "IN_PROGRESS" | "PENDING"))
                .map(|(name, _)| name.as_str())
        })
}

/// Renders the plan status tree of `instance`; `operator_version` adds strategies and plans
/// that never ran.
pub fn render(instance: &Value, operator_version: Option<&Value>) -> String {
    let name = instance
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("<unnamed>");
    let ns = instance
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let ov_name = instance
        .pointer("/spec/operatorVersion/name")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let empty = Map::new();
    let statuses = instance
        .pointer("/status/planStatus")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let ov_plans = operator_version
        .and_then(|ov| ov.pointer("/spec/plans"))
        .and_then(Value::as_object)
        .unwrap_or(&empty);

    // Every plan either side knows, sorted by name (a map has no order of its own).
    let mut names: Vec<&String> = statuses.keys().chain(ov_plans.keys()).collect();
    names.sort();
    names.dedup();
    let plans = names
        .into_iter()
        .map(|plan| plan_tree(plan, statuses.get(plan), ov_plans.get(plan)))
        .collect();

    let mut head = format!("{name} (Operator-Version: \"{ov_name}\"");
    match active_plan(instance) {
        Some(p) => head.push_str(&format!(" Active-Plan: \"{p}\")")),
        None => head.push(')'),
    }
    let root = Tree {
        label: head,
        children: plans,
    };
    let mut out = if ns.is_empty() {
        format!("Plan(s) for \"{name}\":\n.\n")
    } else {
        format!("Plan(s) for \"{name}\" in namespace \"{ns}\":\n.\n")
    };
    root.draw("", true, &mut out);
    if root.children.is_empty() {
        out.push_str("\nNo plan has a status yet: the KUDO manager has not processed this instance (is it running?).\n");
    }
    write_conditions(instance, &mut out);
    out
}

/// One plan: its status `st` (absent when it never ran) and its definition `def` in the
/// OperatorVersion (absent without one).
fn plan_tree(plan: &str, st: Option<&Value>, def: Option<&Value>) -> Tree {
    let mut label = format!(
        "Plan {plan}{} {}",
        strategy(def),
        status_label(st.unwrap_or(&Value::Null))
    );
    if let Some(t) = st
        .map(|p| s(p, "lastUpdatedTimestamp"))
        .filter(|t| !t.is_empty())
    {
        label.push_str(&format!(
            ", last updated {}",
            t.replace('T', " ").trim_end_matches('Z')
        ));
    }
    label.push_str(&message_suffix(st.unwrap_or(&Value::Null)));
    let def_phases = def.and_then(|d| d.get("phases")).and_then(Value::as_array);
    let st_phases = st.and_then(|p| p.get("phases")).and_then(Value::as_array);
    // Phases as the status lists them, else as the OperatorVersion defines them.
    let phases = st_phases.filter(|p| !p.is_empty()).or(def_phases);
    let mut phase_nodes = Vec::new();
    for phase in phases.into_iter().flatten() {
        let pname = s(phase, "name");
        let pdef = def_phases.and_then(|d| d.iter().find(|p| s(p, "name") == pname));
        let from_status = st_phases.is_some_and(|sp| sp.iter().any(|p| std::ptr::eq(p, phase)));
        phase_nodes.push(phase_tree(phase, pdef, from_status));
    }
    Tree {
        label,
        children: phase_nodes,
    }
}

/// One phase and its steps; without a status (`from_status` false) they show as never run.
fn phase_tree(phase: &Value, pdef: Option<&Value>, from_status: bool) -> Tree {
    let pstatus = if from_status { phase } else { &Value::Null };
    let steps = phase.get("steps").and_then(Value::as_array);
    let step_nodes = steps
        .into_iter()
        .flatten()
        .map(|step| {
            let sst = if from_status { step } else { &Value::Null };
            Tree::leaf(format!(
                "Step {} {}{}",
                s(step, "name"),
                status_label(sst),
                message_suffix(sst)
            ))
        })
        .collect();
    Tree {
        label: format!(
            "Phase {}{} {}{}",
            s(phase, "name"),
            strategy(pdef),
            status_label(pstatus),
            message_suffix(pstatus)
        ),
        children: step_nodes,
    }
}

/// The instance's conditions, one per line, after the tree.
fn write_conditions(instance: &Value, out: &mut String) {
    let Some(conds) = instance
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
    else {
        return;
    };
    out.push_str("\nConditions:\n");
    for c in conds {
        out.push_str(&format!("  {}={}", s(c, "type"), s(c, "status")));
        let (reason, msg) = (s(c, "reason"), s(c, "message"));
        if !reason.is_empty() {
            out.push_str(&format!(" ({reason})"));
        }
        if !msg.is_empty() {
            out.push_str(&format!(": {msg}"));
        }
        out.push('\n');
    }
}

/// `kudo.planstatus`: renders an Instance's plan status to the task's output.
pub struct PlanStatus;

const PARAMS: &[ParamSpec] = &[
    ParamSpec::required("instance", "the Instance object (\"{{inst}}\") or its name"),
    ParamSpec::optional(
        "namespace",
        "the instance's namespace (default: the object's, else the run's)",
    ),
    ParamSpec::optional(
        "operatorVersion",
        "the OperatorVersion object; fetched when absent",
    ),
];

/// Fetches a KUDO object by name, turning "not there" and "not allowed" into `None` (the plan
/// status is still worth rendering without it); transient errors still fail the attempt.
async fn fetch_optional(
    ctx: &TaskContext,
    kind: &str,
    ns: &str,
    name: &str,
) -> Result<Result<Value, TaskError>, TaskError> {
    match get::get_named(ctx, "kudo.dev/v1beta1", kind, Some(ns), name).await {
        Ok(v) => Ok(Ok(v)),
        Err(e) if e.is_transient() => Err(e),
        Err(e) => Ok(Err(e)),
    }
}

#[async_trait::async_trait]
impl TaskKind for PlanStatus {
    fn name(&self) -> &'static str {
        "kudo.planstatus"
    }
    fn description(&self) -> &'static str {
        "an Instance's plans, phases and steps as a tree, like `kubectl kudo plan status`"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutput, TaskError> {
        let p = &ctx.params;
        let instance = match p.get("instance") {
            Some(obj @ Value::Object(_)) => obj.clone(),
            _ => {
                let name = params::str_req(p, "instance")?;
                let ns = params::namespace(p, &ctx.vars)?.ok_or_else(|| {
                    TaskError::failed("the instance's namespace is unknown: add `namespace` or run with --namespace")
                })?;
                get::get_named(ctx, "kudo.dev/v1beta1", "Instance", Some(ns), name).await?
            }
        };
        let ns = params::str_opt(p, "namespace")?
            .or(instance
                .pointer("/metadata/namespace")
                .and_then(Value::as_str))
            .or(params::namespace(p, &ctx.vars)?)
            .unwrap_or("default")
            .to_string();
        let mut note = None;
        let ov = match p.get("operatorVersion") {
            Some(ov @ Value::Object(_)) => Some(ov.clone()),
            _ => match instance
                .pointer("/spec/operatorVersion/name")
                .and_then(Value::as_str)
            {
                Some(ov_name) if ctx.env.kube.is_some() => {
                    match fetch_optional(ctx, "OperatorVersion", &ns, ov_name).await? {
                        Ok(ov) => Some(ov),
                        Err(why) => {
                            note = Some(format!(
                                "strategies and never-run plans are missing: {}",
                                why.message
                            ));
                            None
                        }
                    }
                }
                _ => None,
            },
        };
        let mut text = render(&instance, ov.as_ref());
        if let Some(n) = &note {
            text.push_str(&format!("\nNote: {n}\n"));
        }
        let out = ctx.output.as_deref().unwrap_or(layout::PLAN_STATUS);
        ctx.sink
            .put(out, text.as_bytes())
            .map_err(|e| TaskError::failed(e.to_string()))?;
        let summary: Map<String, Value> = instance
            .pointer("/status/planStatus")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), json!(s(v, "status"))))
                    .collect()
            })
            .unwrap_or_default();
        Ok(TaskOutput {
            items: vec![json!({"plans": summary, "activePlan": active_plan(&instance)})].into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Instance document of a (possibly multi-document) YAML file from tests/data.
    fn instance(text: &str) -> Value {
        crate::yaml::from_multiple::<Value>(text)
            .unwrap()
            .into_iter()
            .find(|v| v.get("kind").and_then(Value::as_str) == Some("Instance"))
            .expect("an Instance document")
    }

    const IN_PROGRESS: &str =
        include_str!("../../tests/data/planstatus/cassandra-deploy-in-progress.yaml");
    const OV: &str = include_str!("../../tests/data/planstatus/cassandra-operatorversion.yaml");

    #[test]
    fn renders_plans_phases_steps_with_strategies_and_never_run_plans() {
        let inst = instance(IN_PROGRESS);
        let ov: Value = crate::yaml::from_str(OV).unwrap();
        let got = render(&inst, Some(&ov));
        let want = r#"Plan(s) for "cassandra" in namespace "prod":
.
└── cassandra (Operator-Version: "cassandra-3.11.6-1.0.0" Active-Plan: "deploy")
    ├── Plan backup (serial strategy) [NOT ACTIVE]
    │   └── Phase backup (serial strategy) [NOT ACTIVE]
    │       ├── Step cleanup [NOT ACTIVE]
    │       └── Step backup [NOT ACTIVE]
    ├── Plan deploy (serial strategy) [IN_PROGRESS], last updated 2020-06-10 12:03:17
    │   └── Phase nodes (serial strategy) [IN_PROGRESS]
    │       ├── Step pre-node [COMPLETE]
    │       └── Step node [IN_PROGRESS]: waiting for statefulset prod/cassandra-node to be healthy: 2/3 replicas ready
    └── Plan repair (serial strategy) [FATAL_ERROR], last updated 2020-06-09 08:00:00: job cassandra-repair failed: BackoffLimitExceeded
        └── Phase repair (serial strategy) [FATAL_ERROR]
            └── Step repair [FATAL_ERROR]: job cassandra-repair failed: BackoffLimitExceeded

Conditions:
  Ready=False (PlanInProgress): plan deploy is running
"#;
        assert_eq!(got, want, "\n{got}");
    }

    #[test]
    fn renders_without_the_operator_version() {
        let got = render(&instance(IN_PROGRESS), None);
        assert!(
            got.contains("├── Plan deploy [IN_PROGRESS], last updated 2020-06-10 12:03:17\n"),
            "{got}"
        );
        assert!(!got.contains("backup"), "{got}");
        assert!(!got.contains("strategy"), "{got}");
    }

    #[test]
    fn renders_the_sparse_shapes_of_kudo_e2e_asserts() {
        let failed = instance(include_str!(
            "../../tests/data/planstatus/terminal-failed-job__01-assert.yaml"
        ));
        let got = render(&failed, None);
        assert!(got.starts_with("Plan(s) for \"<unnamed>\":\n"), "{got}");
        assert!(
            got.contains("(Operator-Version: \"job-timeout-operator-1.7.9-0.1.0\")"),
            "{got}"
        );
        assert!(got.contains("└── Plan deploy [FATAL_ERROR]\n"), "{got}");

        let two = instance(include_str!(
            "../../tests/data/planstatus/plan-trigger__01-assert.yaml"
        ));
        let got = render(&two, None);
        // Plans in name order, the last one drawn with the closing branch.
        assert!(
            got.contains("    ├── Plan custom [COMPLETE]\n    └── Plan deploy [COMPLETE]\n"),
            "{got}"
        );

        let ready = instance(include_str!(
            "../../tests/data/planstatus/readiness__00-assert.yaml"
        ));
        let got = render(&ready, None);
        assert!(
            got.contains("first-operator (Operator-Version: \"unknown\")"),
            "{got}"
        );
        assert!(got.ends_with("Conditions:\n  Ready=True\n"), "{got}");
    }

    #[test]
    fn an_instance_without_status_says_so() {
        let got = render(
            &serde_json::json!({"metadata": {"name": "x", "namespace": "y"}}),
            None,
        );
        assert!(got.contains("No plan has a status yet"), "{got}");
    }

    #[test]
    fn active_plan_prefers_the_aggregated_status() {
        let i = serde_json::json!({
            "spec": {"planExecution": {"planName": "deploy"}},
            "status": {"aggregatedStatus": {"activePlanName": "update"}}
        });
        assert_eq!(active_plan(&i), Some("update"));
        let i = serde_json::json!({"status": {"planStatus": {"deploy": {"status": "COMPLETE"}, "backup": {"status": "IN_PROGRESS"}}}});
        assert_eq!(active_plan(&i), Some("backup"));
    }
}
