//! Tasks that found their container not running: a kind answers such a task with one item
//! `{"skipped": true, "notRunning": "NS/POD/CONTAINER", "note": ...}` (see
//! `collect::kinds::running`). The node is done (nothing was wrong with the collection), and the
//! run counts these apart so the summary says it once: "12 commands skipped: 2 containers not
//! running".

use std::collections::BTreeSet;

use super::task::Items;

/// The item key that marks a task skipped because its container was not running.
pub const NOT_RUNNING_KEY: &str = "notRunning";

/// The container (`NS/POD/CONTAINER`) a finished task skipped because it was not running.
pub fn not_running_of(items: &Items) -> Option<String> {
    if items.len() != 1 || !items.get(0).contains(NOT_RUNNING_KEY) {
        return None;
    }
    items.value(0)[NOT_RUNNING_KEY].as_str().map(str::to_string)
}

/// Tasks skipped because their container was not running, and those containers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotRunning {
    pub tasks: usize,
    pub containers: BTreeSet<String>,
}

impl NotRunning {
    /// Counts a finished task's items if they say its container was not running.
    pub fn note(&mut self, items: &Items) {
        if let Some(c) = not_running_of(items) {
            self.tasks += 1;
            self.containers.insert(c);
        }
    }

    /// "12 commands skipped: 2 containers not running", or nothing.
    pub fn line(&self) -> Option<String> {
        if self.tasks == 0 {
            return None;
        }
        let n = self.containers.len();
        Some(format!(
            "{} command{} skipped: {n} container{} not running ({})",
            self.tasks,
            if self.tasks == 1 { "" } else { "s" },
            if n == 1 { "" } else { "s" },
            self.containers
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn counts_tasks_and_distinct_containers() {
        let mut n = NotRunning::default();
        assert_eq!(n.line(), None);
        let skip = |c: &str| -> Items {
            vec![json!({"skipped": true, "notRunning": c, "note": "x"})].into()
        };
        n.note(&skip("ns/p-1/app"));
        n.note(&skip("ns/p-1/app"));
        n.note(&skip("ns/p-2/app"));
        n.note(&vec![json!({"exitCode": 0})].into());
        assert_eq!(
            n.line().unwrap(),
            "3 commands skipped: 2 containers not running (ns/p-1/app, ns/p-2/app)"
        );
    }
}
