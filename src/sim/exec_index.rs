//! The scenario's exec handlers and files, indexed for the exec endpoint, so that the cost of
//! an exec does not grow with the scenario.
//!
//! - Handlers and files that name their pod plainly (`cassandra-7`) are found by a hash lookup
//!   on the pod's name; only those with no pod or a pod regex are checked against every pod. A
//!   generated instance has a handful per pod (its `nodetool info`, its `cassandra.yaml`), so a
//!   300-pod one has thousands, which an exec used to scan one by one.
//! - Every regex (a pod pattern, matched whole, or an argv pattern) is compiled once per
//!   distinct pattern, on first use, and shared by every request after it. Compiling them per
//!   exec was most of the simulated cluster's CPU on a collection (see docs/PERFORMANCE.md, "The
//!   emulator's CPU per request"). The patterns come from the scenario only, so the cache holds
//!   at most as many regexes as the scenario has distinct patterns.
//!
//! An [`ExecIndex`] holds positions into the scenario it was built from and is used with that
//! scenario only (`SimState` keeps the two together).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use regex::Regex;

use super::scenario::{ExecHandler, ExecMatch, FileSpec, Scenario};

/// Positions (in scenario order) of the entries a pod may see.
#[derive(Debug, Default)]
struct Positions {
    /// Entries whose pod is a plain name, by that name.
    by_pod: HashMap<String, Vec<usize>>,
    /// Entries for any pod, or for the pods a regex names.
    other: Vec<usize>,
}

impl Positions {
    fn new<'a>(pods: impl Iterator<Item = Option<&'a str>>) -> Self {
        let mut p = Positions::default();
        for (i, pod) in pods.enumerate() {
            match pod {
                Some(name) if plain_name(name) => {
                    p.by_pod.entry(name.to_string()).or_default().push(i)
                }
                _ => p.other.push(i),
            }
        }
        p
    }

    /// The entries that may apply to `pod`, in scenario order (the first match wins).
    fn for_pod(&self, pod: &str) -> Vec<usize> {
        let own = self.by_pod.get(pod).map(Vec::as_slice).unwrap_or_default();
        let mut v: Vec<usize> = own.iter().chain(&self.other).copied().collect();
        v.sort_unstable();
        v
    }
}

/// A name without regex syntax: it matches itself only.
fn plain_name(pattern: &str) -> bool {
    pattern
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Compiled patterns by (matched whole, pattern).
type Compiled = HashMap<(bool, String), Option<Arc<Regex>>>;

/// The exec handlers and files of one scenario, indexed by pod, with a cache of compiled
/// regexes.
#[derive(Debug, Default)]
pub struct ExecIndex {
    handlers: Positions,
    files: Positions,
    /// Compiled patterns by (matched whole, pattern); `None` for one that does not compile,
    /// which matches nothing.
    regexes: RwLock<Compiled>,
}

impl ExecIndex {
    pub fn new(sc: &Scenario) -> Self {
        ExecIndex {
            handlers: Positions::new(sc.exec.iter().map(|h| h.pod.as_deref())),
            files: Positions::new(sc.files.iter().map(|f| f.pod.as_deref())),
            regexes: RwLock::default(),
        }
    }

    /// `pattern` compiled (anchored at both ends when `whole`), from the cache.
    fn regex(&self, pattern: &str, whole: bool) -> Option<Arc<Regex>> {
        let key = (whole, pattern.to_string());
        if let Some(r) = self.regexes.read().expect("regex cache lock").get(&key) {
            return r.clone();
        }
        let source = if whole {
            format!("^(?:{pattern})$")
        } else {
            pattern.to_string()
        };
        let compiled = Regex::new(&source).ok().map(Arc::new);
        self.regexes
            .write()
            .expect("regex cache lock")
            .entry(key)
            .or_insert(compiled)
            .clone()
    }

    /// Whether `pattern` (a name or a regex) names `value`; the regex must match all of it.
    pub fn name_matches(&self, pattern: &str, value: &str) -> bool {
        pattern == value
            || (!plain_name(pattern)
                && self
                    .regex(pattern, true)
                    .is_some_and(|re| re.is_match(value)))
    }

    fn handler_applies(&self, h: &ExecHandler, pod: &str, container: &str) -> bool {
        h.pod.as_deref().is_none_or(|p| self.name_matches(p, pod))
            && h.container.as_deref().is_none_or(|c| c == container)
    }

    fn argv_matches(&self, m: &ExecMatch, argv: &[String]) -> bool {
        match m {
            ExecMatch::Exact(want) => want == argv,
            ExecMatch::Prefix(want) => argv.len() >= want.len() && want[..] == argv[..want.len()],
            ExecMatch::Regex(re) => self
                .regex(re, false)
                .is_some_and(|re| re.is_match(&argv.join(" "))),
        }
    }

    /// The handlers that apply in this pod and container, in scenario order.
    pub fn handlers<'a>(
        &'a self,
        sc: &'a Scenario,
        pod: &'a str,
        container: &'a str,
    ) -> impl Iterator<Item = &'a ExecHandler> + 'a {
        self.handlers
            .for_pod(pod)
            .into_iter()
            .filter_map(|i| sc.exec.get(i))
            .filter(move |h| self.handler_applies(h, pod, container))
    }

    /// The first handler (in scenario order) that answers `argv` in this pod and container.
    pub fn find_handler<'a>(
        &'a self,
        sc: &'a Scenario,
        pod: &'a str,
        container: &'a str,
        argv: &[String],
    ) -> Option<&'a ExecHandler> {
        self.handlers(sc, pod, container)
            .find(|h| self.argv_matches(&h.matcher, argv))
    }

    /// The files of this pod and container, in scenario order.
    pub fn files<'a>(
        &'a self,
        sc: &'a Scenario,
        pod: &'a str,
        container: &'a str,
    ) -> impl Iterator<Item = &'a FileSpec> + 'a {
        self.files
            .for_pod(pod)
            .into_iter()
            .filter_map(|i| sc.files.get(i))
            .filter(move |f| {
                f.pod.as_deref().is_none_or(|p| self.name_matches(p, pod))
                    && f.container.as_deref().is_none_or(|c| c == container)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handler(pod: Option<&str>, m: ExecMatch, out: &str) -> ExecHandler {
        ExecHandler {
            pod: pod.map(str::to_string),
            container: None,
            matcher: m,
            stdout: out.into(),
            stderr: String::new(),
            exit_code: 0,
        }
    }

    fn argv(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    fn scenario() -> Scenario {
        Scenario {
            exec: vec![
                handler(Some("db-1"), ExecMatch::Regex("^status$".into()), "own 1"),
                handler(
                    Some("db-[0-9]+"),
                    ExecMatch::Regex("^status$".into()),
                    "any db",
                ),
                handler(Some("db-2"), ExecMatch::Regex("^status$".into()), "own 2"),
                handler(None, ExecMatch::Prefix(argv("status")), "fallback"),
                handler(Some("db-("), ExecMatch::Regex("^status$".into()), "bad"),
            ],
            ..Scenario::default()
        }
    }

    fn answer(sc: &Scenario, ix: &ExecIndex, pod: &str) -> Option<String> {
        ix.find_handler(sc, pod, "c", &argv("status"))
            .map(|h| h.stdout.clone())
    }

    #[test]
    fn a_pod_sees_its_own_and_the_shared_entries_in_scenario_order() {
        let sc = scenario();
        let ix = ExecIndex::new(&sc);
        assert_eq!(answer(&sc, &ix, "db-1").as_deref(), Some("own 1"));
        // db-2's own handler comes after the regex one: scenario order decides.
        assert_eq!(answer(&sc, &ix, "db-2").as_deref(), Some("any db"));
        assert_eq!(answer(&sc, &ix, "web-0").as_deref(), Some("fallback"));
        let seen: Vec<&str> = ix
            .handlers(&sc, "db-2", "c")
            .map(|h| h.stdout.as_str())
            .collect();
        assert_eq!(seen, ["any db", "own 2", "fallback"]);
        // The pod regex is matched whole, an invalid one matches nothing.
        assert!(!ix.name_matches("db-[0-9]+", "old-db-1"));
        assert!(!ix.name_matches("db-(", "db-1"));
    }

    #[test]
    fn each_distinct_pattern_is_compiled_once() {
        let sc = scenario();
        let ix = ExecIndex::new(&sc);
        for _ in 0..3 {
            for pod in ["db-1", "db-2", "db-3"] {
                answer(&sc, &ix, pod);
            }
        }
        let cache = ix.regexes.read().unwrap();
        // `^status$` (argv) and `db-[0-9]+` (a whole pod name); plain names need no regex.
        assert_eq!(cache.len(), 2, "{:?}", cache.keys().collect::<Vec<_>>());
    }
}
