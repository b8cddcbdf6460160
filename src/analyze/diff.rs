//! `kudo-diag diff`: what changed between two collections of the same instance. Both bundles
//! are verified and analyzed as `analyze` does; the difference is taken section by section:
//! parameters and OperatorVersion, images, replica counts, restarts and container states, node
//! conditions, application state (Cassandra ring membership, ZooKeeper modes, Kafka partition
//! leaders and in-sync replicas), events that are
//! new, and findings that appeared or cleared. Text, JSON ([`DIFF_SCHEMA_VERSION`]) and HTML
//! are renderings of one [`Diff`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::analysis::{analyze_bundle_with, Options};
use super::context::event_last;
use super::model::Report;
use super::render::html::esc;
use super::rules::apps::{parse_nodetool_status, parse_partition};
use super::source::{n, s, Source};
use crate::bundle::layout;
use crate::bundle::reader::BundleReader;
use crate::Error;

/// Version of the JSON diff schema (docs/analyzers.md).
pub const DIFF_SCHEMA_VERSION: u32 = 1;

/// Most new events listed.
const MAX_EVENTS: usize = 50;

/// One side of the comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Side {
    pub bundle: String,
    pub collected: String,
}

/// One thing that changed: `old` empty when it appeared, `new` empty when it went away.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub what: String,
    pub old: String,
    pub new: String,
}

/// The changes of one area.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// `parameters`, `images`, `replicas`, `containers`, `nodes`, `application`, `events`,
    /// `findings`.
    pub name: String,
    pub changes: Vec<Change>,
}

/// What changed between two bundles of one instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Diff {
    pub schema_version: u32,
    pub instance: String,
    pub namespace: String,
    pub old: Side,
    pub new: Side,
    /// Only sections with changes, in the order above.
    pub sections: Vec<Section>,
}

impl Diff {
    /// Changes in all sections.
    pub fn len(&self) -> usize {
        self.sections.iter().map(|s| s.changes.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }
}

/// One bundle, analyzed, with its files open.
struct Loaded {
    report: Report,
    src: Source,
}

fn load(path: &Path) -> crate::Result<Loaded> {
    let report = analyze_bundle_with(path, &Options::default())?;
    let reader = BundleReader::open(path, Default::default())?;
    Ok(Loaded {
        report,
        src: Source::from_reader(reader),
    })
}

/// Compares two bundles of the same instance (`old` collected before `new`).
pub fn diff_bundles(old: &Path, new: &Path) -> crate::Result<Diff> {
    let mut a = load(old)?;
    let mut b = load(new)?;
    let (ha, hb) = (&a.report.header, &b.report.header);
    if (ha.instance.as_str(), ha.namespace.as_str())
        != (hb.instance.as_str(), hb.namespace.as_str())
    {
        return Err(Error::Usage(format!(
            "{} is of instance {}/{} and {} of {}/{}: diff compares two collections of the same instance",
            old.display(),
            ha.namespace,
            ha.instance,
            new.display(),
            hb.namespace,
            hb.instance
        )));
    }
    let mut d = Diff {
        schema_version: DIFF_SCHEMA_VERSION,
        instance: ha.instance.clone(),
        namespace: ha.namespace.clone(),
        old: Side {
            bundle: old.display().to_string(),
            collected: ha.collected_started.clone(),
        },
        new: Side {
            bundle: new.display().to_string(),
            collected: hb.collected_started.clone(),
        },
        sections: Vec::new(),
    };
    type Extract = fn(&mut Loaded) -> BTreeMap<String, String>;
    let keyed: [(&str, Extract); 6] = [
        ("parameters", parameters),
        ("images", images),
        ("replicas", replicas),
        ("containers", containers),
        ("nodes", nodes),
        ("application", application),
    ];
    for (name, f) in keyed {
        push(&mut d, name, compare(&f(&mut a), &f(&mut b)));
    }
    push(&mut d, "events", new_events(&mut a, &mut b));
    push(&mut d, "findings", findings(&a.report, &b.report));
    Ok(d)
}

fn push(d: &mut Diff, name: &str, changes: Vec<Change>) {
    if !changes.is_empty() {
        d.sections.push(Section {
            name: name.to_string(),
            changes,
        });
    }
}

/// Keys whose values differ, appeared or went away.
fn compare(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<Change> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter_map(|k| {
            let (x, y) = (a.get(k).cloned(), b.get(k).cloned());
            (x != y).then(|| Change {
                what: k.clone(),
                old: x.unwrap_or_default(),
                new: y.unwrap_or_default(),
            })
        })
        .collect()
}

fn text(v: &Value) -> String {
    match v {
        Value::String(x) => x.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn parameters(l: &mut Loaded) -> BTreeMap<String, String> {
    let inst = l.src.yaml(layout::INSTANCE).unwrap_or(Value::Null);
    let mut m = BTreeMap::new();
    let ov = s(&inst, "/spec/operatorVersion/name");
    if !ov.is_empty() {
        m.insert("OperatorVersion".to_string(), ov.to_string());
    }
    if let Some(Value::Object(ps)) = inst.pointer("/spec/parameters") {
        for (k, v) in ps {
            m.insert(k.clone(), text(v));
        }
    }
    m
}

fn workloads(l: &mut Loaded) -> Vec<Value> {
    let mut v = l.src.items(layout::STATEFULSETS);
    v.extend(l.src.items(layout::DEPLOYMENTS));
    v.extend(l.src.items("workload/daemonsets.yaml"));
    v
}

fn images(l: &mut Loaded) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for w in workloads(l) {
        let who = format!("{} {}", s(&w, "/kind"), s(&w, "/metadata/name"));
        for key in ["initContainers", "containers"] {
            let cs = w
                .pointer(&format!("/spec/template/spec/{key}"))
                .and_then(Value::as_array);
            for c in cs.into_iter().flatten() {
                m.insert(
                    format!("{who} / {}", s(c, "/name")),
                    s(c, "/image").to_string(),
                );
            }
        }
    }
    m
}

fn replicas(l: &mut Loaded) -> BTreeMap<String, String> {
    workloads(l)
        .iter()
        .filter(|w| s(w, "/kind") != "DaemonSet")
        .map(|w| {
            (
                format!("{} {}", s(w, "/kind"), s(w, "/metadata/name")),
                format!(
                    "{} of {} ready",
                    n(w, "/status/readyReplicas").unwrap_or(0),
                    n(w, "/spec/replicas").unwrap_or(1)
                ),
            )
        })
        .collect()
}

/// A container's state in a few words: `running`, `waiting: CrashLoopBackOff`, ...
fn state(cs: &Value) -> String {
    let st = cs.pointer("/state").and_then(Value::as_object);
    let Some((k, v)) = st.and_then(|m| m.iter().next()) else {
        return "unknown".into();
    };
    let reason = s(v, "/reason");
    let restarts = n(cs, "/restartCount").unwrap_or(0);
    let mut out = if reason.is_empty() {
        k.clone()
    } else {
        format!("{k}: {reason}")
    };
    let last = s(cs, "/lastState/terminated/reason");
    if !last.is_empty() {
        out.push_str(&format!(", last {last}"));
    }
    format!("{out}, {restarts} restarts")
}

fn containers(l: &mut Loaded) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for p in l.src.items(layout::PODS) {
        let pod = s(&p, "/metadata/name").to_string();
        let statuses = p
            .pointer("/status/containerStatuses")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if statuses.is_empty() {
            m.insert(format!("Pod {pod}"), s(&p, "/status/phase").to_string());
        }
        for cs in &statuses {
            m.insert(format!("Pod {pod} / {}", s(cs, "/name")), state(cs));
        }
    }
    m
}

fn nodes(l: &mut Loaded) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for node in l.src.items(layout::NODES) {
        let name = s(&node, "/metadata/name").to_string();
        let conds = node.pointer("/status/conditions").and_then(Value::as_array);
        let mut v: Vec<String> = conds
            .into_iter()
            .flatten()
            .map(|c| format!("{}={}", s(c, "/type"), s(c, "/status")))
            .collect();
        v.sort();
        m.insert(format!("Node {name}"), v.join(", "));
    }
    m
}

/// Cassandra ring membership (address -> state, merged over every node's view), ZooKeeper
/// modes (pod -> leader/follower) and Kafka's partitions (leader and in-sync replicas).
fn application(l: &mut Loaded) -> BTreeMap<String, String> {
    application_state(&mut l.src)
}

fn application_state(src: &mut Source) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for p in src.paths() {
        let parts: Vec<&str> = p.split('/').collect();
        if p.starts_with("apps/cassandra/") && p.ends_with("/nodetool-status.txt") {
            let Some(t) = src.text(&p) else { continue };
            for (st, addr, _, _) in parse_nodetool_status(&t) {
                m.insert(format!("Cassandra node {addr}"), st);
            }
        } else if p.starts_with("apps/zookeeper/")
            && (p.ends_with("/srvr.txt") || p.ends_with("/stat.txt"))
        {
            let Some(t) = src.text(&p) else { continue };
            if let Some(mode) = t.lines().find_map(|x| x.trim().strip_prefix("Mode:")) {
                let pod = parts.get(2).copied().unwrap_or_default();
                m.insert(format!("ZooKeeper {pod} mode"), mode.trim().to_string());
            }
        }
    }
    kafka_partitions(src, &mut m);
    m
}

/// Each partition of `kafka-topics --describe` as "leader L, in sync I of R" (so a new leader,
/// a replica dropping out of the ISR or coming back shows as a change), and how many are
/// under-replicated or offline (leader none or -1).
fn kafka_partitions(src: &mut Source, m: &mut BTreeMap<String, String>) {
    let Some(t) = src.text(layout::KAFKA_TOPICS) else {
        return;
    };
    let (mut under, mut offline) = (0usize, 0usize);
    for p in t.lines().filter_map(parse_partition) {
        let leaderless = matches!(p.leader.as_str(), "none" | "-1");
        offline += usize::from(leaderless);
        under += usize::from(p.isr.len() < p.replicas.len());
        let isr = if p.isr.is_empty() {
            "none".to_string()
        } else {
            p.isr.join(",")
        };
        m.insert(
            format!("Kafka partition {}-{}", p.topic, p.partition),
            format!(
                "leader {}, in sync {isr} of {}",
                p.leader,
                p.replicas.join(",")
            ),
        );
    }
    m.insert(
        "Kafka partitions under-replicated".to_string(),
        under.to_string(),
    );
    m.insert("Kafka partitions offline".to_string(), offline.to_string());
}

/// Events of the new bundle that the old one does not have (by object, reason and message),
/// newest first.
fn new_events(a: &mut Loaded, b: &mut Loaded) -> Vec<Change> {
    let key = |e: &Value| {
        format!(
            "{} {}: {} {}",
            s(e, "/involvedObject/kind"),
            s(e, "/involvedObject/name"),
            s(e, "/reason"),
            s(e, "/message")
        )
    };
    let all = |l: &mut Loaded| {
        let mut v = l.src.items(layout::EVENTS);
        v.extend(l.src.items(layout::KUDO_EVENTS));
        v
    };
    let old: BTreeSet<String> = all(a).iter().map(key).collect();
    let mut fresh: Vec<Value> = all(b)
        .into_iter()
        .filter(|e| !old.contains(&key(e)))
        .collect();
    fresh.sort_by(|x, y| event_last(y).cmp(event_last(x)));
    fresh
        .iter()
        .take(MAX_EVENTS)
        .map(|e| Change {
            what: format!(
                "{} {} {}",
                event_last(e),
                s(e, "/involvedObject/kind"),
                s(e, "/involvedObject/name")
            ),
            old: String::new(),
            new: format!(
                "{} {}: {}",
                s(e, "/type"),
                s(e, "/reason"),
                s(e, "/message")
            ),
        })
        .collect()
}

/// Findings (errors and warnings) that appeared or cleared, by id.
fn findings(a: &Report, b: &Report) -> Vec<Change> {
    let line = |f: &super::Finding| {
        format!(
            "{} {} [{}]",
            f.severity.as_str().to_uppercase(),
            f.title,
            f.rule
        )
    };
    let loud = |r: &Report| -> BTreeMap<String, String> {
        r.findings
            .iter()
            .filter(|f| f.severity > super::Severity::Info)
            .map(|f| (f.id.clone(), line(f)))
            .collect()
    };
    let (x, y) = (loud(a), loud(b));
    let mut out = Vec::new();
    for (id, l) in &y {
        if !x.contains_key(id) {
            out.push(Change {
                what: id.clone(),
                old: String::new(),
                new: l.clone(),
            });
        }
    }
    for (id, l) in &x {
        if !y.contains_key(id) {
            out.push(Change {
                what: id.clone(),
                old: l.clone(),
                new: String::new(),
            });
        }
    }
    out
}

/// The newest `count` bundles in `dir` by the time in their names (`kudo-diag run` and cron
/// name bundles `kudo-diag_NS_INSTANCE_YYYYMMDDTHHMMSSZ.zip`), oldest first.
pub fn latest(dir: &Path, count: usize) -> crate::Result<Vec<std::path::PathBuf>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut zips: Vec<std::path::PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "zip"))
        .collect();
    let stamp = |p: &std::path::PathBuf| {
        let stem = p
            .file_stem()
            .map(|x| x.to_string_lossy().to_string())
            .unwrap_or_default();
        stem.rsplit('_').next().unwrap_or_default().to_string()
    };
    zips.sort_by_key(|p| (stamp(p), p.clone()));
    if zips.len() < count.max(2) {
        return Err(Error::Usage(format!(
            "{} holds {} bundle{} (*.zip); --latest {count} needs at least {}",
            dir.display(),
            zips.len(),
            if zips.len() == 1 { "" } else { "s" },
            count.max(2)
        )));
    }
    Ok(zips.split_off(zips.len() - count))
}

/// The diff as text.
pub fn render_text(d: &Diff) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "kudo-diag diff of instance {} in namespace {}",
        d.instance, d.namespace
    );
    let _ = writeln!(o, "  old  {} (collected {})", d.old.bundle, d.old.collected);
    let _ = writeln!(o, "  new  {} (collected {})", d.new.bundle, d.new.collected);
    if d.is_empty() {
        let _ = writeln!(o, "\nNothing changed.");
    }
    for sec in &d.sections {
        let _ = writeln!(o, "\n{} ({})", sec.name, sec.changes.len());
        for c in &sec.changes {
            let line = match (c.old.is_empty(), c.new.is_empty()) {
                (true, _) => format!("+ {}  {}", c.what, c.new),
                (_, true) => format!("- {}  {}", c.what, c.old),
                _ => format!("~ {}  {} -> {}", c.what, c.old, c.new),
            };
            let _ = writeln!(o, "  {line}");
        }
    }
    o
}

/// The diff as pretty JSON.
pub fn render_json(d: &Diff) -> String {
    let mut s = serde_json::to_string_pretty(d).expect("a diff always serializes");
    s.push('\n');
    s
}

/// The diff as one self-contained HTML page (no scripts, no external resources).
pub fn render_html(d: &Diff) -> String {
    let mut o = String::from("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    let _ = write!(
        o,
        "<title>kudo-diag diff: {} in {}</title><style>body{{font-family:system-ui,sans-serif;margin:24px}}td{{padding:2px 10px;vertical-align:top}}.old{{color:#c62828}}.new{{color:#2e7d32}}</style></head><body>\n<h1>kudo-diag diff of instance {} in namespace {}</h1>\n<p>old: <code>{}</code> (collected {})<br>new: <code>{}</code> (collected {})</p>\n",
        esc(&d.instance),
        esc(&d.namespace),
        esc(&d.instance),
        esc(&d.namespace),
        esc(&d.old.bundle),
        esc(&d.old.collected),
        esc(&d.new.bundle),
        esc(&d.new.collected)
    );
    if d.is_empty() {
        o.push_str("<p>Nothing changed.</p>\n");
    }
    for sec in &d.sections {
        let _ = write!(
            o,
            "<h2>{} ({})</h2><table>",
            esc(&sec.name),
            sec.changes.len()
        );
        for c in &sec.changes {
            let _ = write!(
                o,
                "<tr><td>{}</td><td class=\"old\">{}</td><td class=\"new\">{}</td></tr>",
                esc(&c.what),
                esc(&c.old),
                esc(&c.new)
            );
        }
        o.push_str("</table>\n");
    }
    o.push_str("</body></html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics(lines: &str) -> Source {
        Source::from_files([(layout::KAFKA_TOPICS, lines)], vec![])
    }

    #[test]
    fn a_kafka_partition_losing_a_replica_and_its_leader_shows_in_the_application_state() {
        let before = "Topic: events\tTopicId: x\tPartitionCount: 2\tReplicationFactor: 3\n\
            \tTopic: events\tPartition: 0\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,2,3\n\
            \tTopic: events\tPartition: 1\tLeader: 2\tReplicas: 2,3,1\tIsr: 2,3,1\n";
        let after = "Topic: events\tTopicId: x\tPartitionCount: 2\tReplicationFactor: 3\n\
            \tTopic: events\tPartition: 0\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,3\n\
            \tTopic: events\tPartition: 1\tLeader: none\tReplicas: 2,3,1\tIsr: \n";
        let a = application_state(&mut topics(before));
        let b = application_state(&mut topics(after));
        assert_eq!(a["Kafka partitions under-replicated"], "0");
        assert_eq!(b["Kafka partitions under-replicated"], "2");
        assert_eq!(b["Kafka partitions offline"], "1");
        let changes = compare(&a, &b);
        let what: Vec<&str> = changes.iter().map(|c| c.what.as_str()).collect();
        assert!(what.contains(&"Kafka partition events-0"), "{what:?}");
        let p1 = changes
            .iter()
            .find(|c| c.what == "Kafka partition events-1")
            .unwrap();
        assert_eq!(p1.old, "leader 2, in sync 2,3,1 of 2,3,1");
        assert_eq!(p1.new, "leader none, in sync none of 2,3,1");
        // Unchanged state is not a change.
        assert!(compare(&a, &a).is_empty());
    }
}
