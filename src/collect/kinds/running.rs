//! Whether a container can answer, decided from the Pod object the collection already holds,
//! before any request: an exec needs a running container, a log needs one that has started.
//!
//! A container that is not running is the cluster's state (the Pod's YAML shows it), not a
//! failure of the collection: the task is skipped with the reason as its item
//! (`{"skipped": true, "notRunning": "NS/POD/CONTAINER", "note": ...}`), the engine counts it
//! apart (`engine::notrunning`), and the run's summary says it once ("12 commands skipped: 2
//! containers not running") instead of failing each command with the API server's 400.
//!
//! The rules are the kubelet's: exec is refused unless `state.running`; `kubectl logs` of a
//! container that never started answers 400 "is waiting to start"; a container waiting to be
//! restarted (CrashLoopBackOff) answers with the log of its last run, which is also its
//! `--previous` log, so the current one is noted and not stored a second time.

use serde_json::{json, Value};

use crate::engine::TaskOutput;

/// Why a container cannot take a command or give a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotRunning {
    pub container: String,
    pub note: String,
}

/// The container a request without `container` goes to: kubectl's default-container annotation,
/// else the first container.
fn default_container(pod: &Value) -> Option<&str> {
    pod.pointer("/metadata/annotations/kubectl.kubernetes.io~1default-container")
        .and_then(Value::as_str)
        .or_else(|| {
            pod.pointer("/spec/containers/0/name")
                .and_then(Value::as_str)
        })
}

/// The pod's name (`?` when absent) and phase (empty when absent), for the notes.
fn name_and_phase(pod: &Value) -> (&str, &str) {
    let field = |p: &str| pod.pointer(p).and_then(Value::as_str);
    (
        field("/metadata/name").unwrap_or("?"),
        field("/status/phase").unwrap_or(""),
    )
}

fn status_of<'a>(pod: &'a Value, container: &str) -> Option<&'a Value> {
    ["containerStatuses", "initContainerStatuses"]
        .iter()
        .filter_map(|f| {
            pod.pointer(&format!("/status/{f}"))
                .and_then(Value::as_array)
        })
        .flatten()
        .find(|s| s.get("name").and_then(Value::as_str) == Some(container))
}

fn waiting_reason(status: &Value) -> String {
    status
        .pointer("/state/waiting/reason")
        .and_then(Value::as_str)
        .unwrap_or("waiting")
        .to_string()
}

/// Why nothing can run in `container` of `pod`, or `None` when it is running (or the object
/// does not say: then the request decides).
pub fn not_running_for_exec(pod: &Value, container: Option<&str>) -> Option<NotRunning> {
    let name = container.or_else(|| default_container(pod))?;
    let (pod_name, phase) = name_and_phase(pod);
    let note = match status_of(pod, name) {
        Some(s) if s.pointer("/state/running").is_some() => return None,
        Some(s) if s.pointer("/state/terminated").is_some() => {
            let reason = s
                .pointer("/state/terminated/reason")
                .and_then(Value::as_str)
                .unwrap_or("terminated");
            format!("container {name} of pod {pod_name} has terminated ({reason})")
        }
        Some(s) => format!(
            "container {name} of pod {pod_name} is not running ({})",
            waiting_reason(s)
        ),
        None if phase == "Pending" => {
            format!("container {name} of pod {pod_name} has not started (the pod is Pending)")
        }
        None => return None,
    };
    Some(NotRunning {
        container: name.to_string(),
        note,
    })
}

/// Why there is no current log of `container` to fetch: it never started, or it waits to be
/// restarted and its last log is the previous one.
pub fn no_current_log(pod: &Value, container: &str) -> Option<NotRunning> {
    let (pod_name, phase) = name_and_phase(pod);
    let note = match status_of(pod, container) {
        Some(s) if s.pointer("/state/waiting").is_none() => return None,
        Some(s) if s.pointer("/lastState/terminated").is_some() => format!(
            "container {container} of pod {pod_name} is waiting to restart ({}): its last log is its previous log, {container}.previous.log",
            waiting_reason(s)
        ),
        Some(s) => format!(
            "container {container} of pod {pod_name} has not started ({})",
            waiting_reason(s)
        ),
        None if phase == "Pending" => format!(
            "container {container} of pod {pod_name} has not started (the pod is Pending)"
        ),
        None => return None,
    };
    Some(NotRunning {
        container: container.to_string(),
        note,
    })
}

/// The task's answer for a container that is not running.
pub fn skipped(pod: &Value, why: NotRunning) -> TaskOutput {
    let ns = pod
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let name = pod
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    tracing::info!("skipped: {}", why.note);
    TaskOutput {
        items: vec![json!({
            "skipped": true,
            "notRunning": format!("{ns}/{name}/{}", why.container),
            "note": why.note,
        })]
        .into(),
    }
}

/// For an exec-like task: the skip when the Pod object shows the container is not running.
pub fn skip_if_not_running(pod: Option<&Value>, container: Option<&str>) -> Option<TaskOutput> {
    let pod = pod?;
    not_running_for_exec(pod, container).map(|why| skipped(pod, why))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(phase: &str, statuses: Value) -> Value {
        json!({"metadata": {"name": "p", "namespace": "n"},
               "spec": {"containers": [{"name": "app"}, {"name": "side"}]},
               "status": {"phase": phase, "containerStatuses": statuses}})
    }

    #[test]
    fn exec_needs_a_running_container() {
        let running = pod(
            "Running",
            json!([{"name": "app", "state": {"running": {}}}]),
        );
        assert_eq!(not_running_for_exec(&running, Some("app")), None);
        // No container named: the first one (kubectl's default).
        assert_eq!(not_running_for_exec(&running, None), None);
        let looping = pod(
            "Running",
            json!([{"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                    "lastState": {"terminated": {"reason": "OOMKilled"}}}]),
        );
        let why = not_running_for_exec(&looping, Some("app")).unwrap();
        assert_eq!(
            why.note,
            "container app of pod p is not running (CrashLoopBackOff)"
        );
        let pending = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "app"}]},
                             "status": {"phase": "Pending"}});
        assert!(not_running_for_exec(&pending, Some("app"))
            .unwrap()
            .note
            .contains("the pod is Pending"));
        let done = pod(
            "Succeeded",
            json!([{"name": "app", "state": {"terminated": {"reason": "Completed"}}}]),
        );
        assert!(not_running_for_exec(&done, Some("app"))
            .unwrap()
            .note
            .contains("terminated (Completed)"));
        // A pod object without statuses in a Running phase: let the request decide.
        assert_eq!(not_running_for_exec(&pod("Running", json!([])), None), None);
    }

    #[test]
    fn logs_need_a_container_that_started() {
        let waiting_first = pod(
            "Pending",
            json!([{"name": "app", "state": {"waiting": {"reason": "ContainerCreating"}}}]),
        );
        assert!(no_current_log(&waiting_first, "app")
            .unwrap()
            .note
            .contains("has not started (ContainerCreating)"));
        let looping = pod(
            "Running",
            json!([{"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                    "lastState": {"terminated": {"reason": "Error"}}}]),
        );
        assert!(no_current_log(&looping, "app")
            .unwrap()
            .note
            .contains("app.previous.log"));
        // A terminated container still has its log.
        let done = pod(
            "Running",
            json!([{"name": "app", "state": {"terminated": {"reason": "Completed"}}}]),
        );
        assert_eq!(no_current_log(&done, "app"), None);
        let pending = json!({"metadata": {"name": "p"}, "status": {"phase": "Pending"}});
        assert!(no_current_log(&pending, "app").is_some());
    }

    #[test]
    fn the_engine_finds_the_skipped_container_in_the_items() {
        let p = pod(
            "Running",
            json!([{"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]),
        );
        let out = skip_if_not_running(Some(&p), Some("app")).unwrap();
        assert_eq!(
            crate::engine::notrunning::not_running_of(&out.items).as_deref(),
            Some("n/p/app")
        );
    }
}
