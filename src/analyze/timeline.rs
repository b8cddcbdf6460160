//! The timeline: events, container starts and terminations, and plan updates, as items with a
//! start (and for spans an end) time on a lane per object. The HTML report draws it as SVG.

use serde_json::Value;

use super::context::{event_first, event_last, Ctx};
use super::model::{Severity, TimelineItem};
use super::source::{n, s};

/// Most events drawn (the newest kept): a picture with thousands of marks helps nobody.
pub const MAX_EVENTS: usize = 400;

pub fn build(ctx: &mut Ctx) {
    let mut items = Vec::new();
    event_items(ctx, &mut items);
    container_items(ctx, &mut items);
    plan_items(ctx, &mut items);
    ctx.timeline = items;
}

/// The newest [`MAX_EVENTS`] events, each a mark (or a span from its first to its last time).
fn event_items(ctx: &Ctx, items: &mut Vec<TimelineItem>) {
    let mut events: Vec<&Value> = ctx.events.iter().collect();
    events.sort_by_key(|e| event_last(e).to_string());
    let skip = events.len().saturating_sub(MAX_EVENTS);
    for e in events.into_iter().skip(skip) {
        let first = event_first(e).to_string();
        let last = event_last(e).to_string();
        if first.is_empty() {
            continue;
        }
        let count = n(e, "/count").unwrap_or(1);
        let warning = s(e, "/type") == "Warning";
        items.push(TimelineItem {
            kind: "event".into(),
            lane: format!(
                "{} {}",
                s(e, "/involvedObject/kind"),
                s(e, "/involvedObject/name")
            ),
            end: (last != first && !last.is_empty()).then_some(last),
            start: first,
            label: format!(
                "{}{}: {}",
                s(e, "/reason"),
                if count > 1 {
                    format!(" ×{count}")
                } else {
                    String::new()
                },
                s(e, "/message").chars().take(160).collect::<String>()
            ),
            severity: if warning {
                Severity::Warning
            } else {
                Severity::Info
            },
        });
    }
}

/// Each container's last termination (a span when its start is known) and its current start.
fn container_items(ctx: &Ctx, items: &mut Vec<TimelineItem>) {
    for pod in &ctx.pods {
        let name = s(pod, "/metadata/name");
        for key in ["/status/initContainerStatuses", "/status/containerStatuses"] {
            let Some(Value::Array(cs)) = pod.pointer(key) else {
                continue;
            };
            for c in cs {
                let cname = s(c, "/name");
                let lane = format!("Pod {name}");
                let t0 = s(c, "/lastState/terminated/startedAt");
                let t1 = s(c, "/lastState/terminated/finishedAt");
                if !t1.is_empty() {
                    let reason = s(c, "/lastState/terminated/reason");
                    items.push(TimelineItem {
                        kind: "restart".into(),
                        lane: lane.clone(),
                        start: if t0.is_empty() {
                            t1.to_string()
                        } else {
                            t0.to_string()
                        },
                        end: (!t0.is_empty()).then(|| t1.to_string()),
                        label: format!(
                            "{cname} terminated: {reason} (exit {}), {} restarts",
                            n(c, "/lastState/terminated/exitCode").unwrap_or(0),
                            n(c, "/restartCount").unwrap_or(0)
                        ),
                        severity: if reason == "Completed" {
                            Severity::Info
                        } else {
                            Severity::Error
                        },
                    });
                }
                let started = s(c, "/state/running/startedAt");
                if !started.is_empty() {
                    items.push(TimelineItem {
                        kind: "container".into(),
                        lane,
                        start: started.to_string(),
                        end: None,
                        label: format!("{cname} running since {started}"),
                        severity: Severity::Info,
                    });
                }
            }
        }
    }
}

/// Each plan's last update, with its phases.
fn plan_items(ctx: &mut Ctx, items: &mut Vec<TimelineItem>) {
    if let Some(inst) = ctx.src.yaml(crate::bundle::layout::INSTANCE) {
        if let Some(Value::Object(plans)) = inst.pointer("/status/planStatus") {
            for (plan, p) in plans {
                let t = s(p, "/lastUpdatedTimestamp");
                if t.is_empty() {
                    continue;
                }
                let st = s(p, "/status");
                let phases: Vec<String> = p
                    .pointer("/phases")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .map(|ph| format!("{} {}", s(ph, "/name"), s(ph, "/status")))
                            .collect()
                    })
                    .unwrap_or_default();
                items.push(TimelineItem {
                    kind: "plan".into(),
                    lane: format!("Instance {}", ctx.instance),
                    start: t.to_string(),
                    end: None,
                    label: format!("plan {plan} {st} (phases: {})", phases.join(", ")),
                    severity: match st {
                        "ERROR" | "FATAL_ERROR" => Severity::Error,
                        "IN_PROGRESS" | "PENDING" => Severity::Warning,
                        _ => Severity::Info,
                    },
                });
            }
        }
    }
}
