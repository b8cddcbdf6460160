//! Application rules that need parsing beyond a regex or a path (the rest are YAML rules in
//! analyzers/builtin.rules.yaml): Cassandra nodes not UN in `nodetool status`, schema
//! disagreement in `nodetool describecluster`, dropped messages in `nodetool tpstats`;
//! ZooKeeper without a leader or without a quorum (`srvr`/`stat`, zoo.cfg, the survivors' logs);
//! Kafka under-replicated and offline partitions
//! (`kafka-topics --describe`).

use std::collections::BTreeMap;

use regex::Regex;

use crate::analyze::context::Ctx;
use crate::analyze::model::{Evidence, Line, ObjectRef, Severity};
use crate::analyze::source::{clip, s};
use crate::bundle::layout;

/// The rules of this module; each runs when the bundle holds its application's command output.
pub const RULES: &[&str] = &[
    "cassandra.node-down",
    "cassandra.schema-disagreement",
    "cassandra.dropped-messages",
    "zookeeper.no-leader",
    "kafka.offline-partitions",
    "kafka.under-replicated-partitions",
];

pub fn run(ctx: &mut Ctx) {
    cassandra(ctx);
    zookeeper(ctx);
    kafka(ctx);
}

fn files(ctx: &Ctx, prefix: &str, suffix: &str) -> Vec<String> {
    ctx.src
        .paths()
        .into_iter()
        .filter(|p| p.starts_with(prefix) && p.ends_with(suffix))
        .collect()
}

/// The pod of `apps/<app>/<pod>/<file>`.
fn pod_of(path: &str) -> &str {
    path.split('/').nth(2).unwrap_or("")
}

/// Parsed `nodetool status`: (state, address, line number, line).
pub fn parse_nodetool_status(text: &str) -> Vec<(String, String, usize, String)> {
    let re = Regex::new(r"^([UD][NLJM])\s+(\S+)\s").expect("static regex");
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            re.captures(l)
                .map(|c| (c[1].to_string(), c[2].to_string(), i + 1, l.to_string()))
        })
        .collect()
}

/// Schema versions in `nodetool describecluster`: (version, hosts).
pub fn parse_schema_versions(text: &str) -> Vec<(String, String, usize)> {
    let re =
        Regex::new(r"^\s*([0-9a-fA-F]{8}-[0-9a-fA-F-]{27}):\s*\[(.*)\]").expect("static regex");
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            re.captures(l)
                .map(|c| (c[1].to_string(), c[2].to_string(), i + 1))
        })
        .collect()
}

/// Dropped message counts in `nodetool tpstats`: (message type, count, line).
pub fn parse_dropped(text: &str) -> Vec<(String, u64, usize)> {
    let mut in_dropped = false;
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let t = l.trim();
        if t.starts_with("Message type") && t.contains("Dropped") {
            in_dropped = true;
            continue;
        }
        if !in_dropped || t.is_empty() {
            continue;
        }
        let parts: Vec<&str> = t.split_whitespace().collect();
        if parts.len() >= 2 {
            if let Ok(n) = parts[1].parse::<u64>() {
                out.push((parts[0].to_string(), n, i + 1));
            }
        }
    }
    out
}

fn cassandra(ctx: &mut Ctx) {
    let status_files = files(ctx, "apps/cassandra/", "/nodetool-status.txt");
    if status_files.is_empty() {
        return;
    }
    for r in [
        "cassandra.node-down",
        "cassandra.schema-disagreement",
        "cassandra.dropped-messages",
    ] {
        ctx.ran(r);
    }
    ring_down(ctx, &status_files);
    schema_disagreement(ctx);
    dropped_messages(ctx);
}

/// Nodes that `nodetool status` shows other than Up/Normal, from every node's view.
fn ring_down(ctx: &mut Ctx, status_files: &[String]) {
    // Address -> pod, from the pods' IPs.
    let ip_pod: BTreeMap<String, String> = ctx
        .pods
        .iter()
        .filter(|p| !s(p, "/status/podIP").is_empty())
        .map(|p| {
            (
                s(p, "/status/podIP").to_string(),
                s(p, "/metadata/name").to_string(),
            )
        })
        .collect();
    // Address -> (state, seen by pods), evidence per file.
    let mut down: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    let mut ev = Vec::new();
    for f in status_files {
        let Some(t) = ctx.src.text(f) else { continue };
        let mut lines = Vec::new();
        for (st, addr, ln, line) in parse_nodetool_status(&t) {
            if st != "UN" {
                let e = down.entry(addr).or_insert_with(|| (st.clone(), Vec::new()));
                e.1.push(pod_of(f).to_string());
                lines.push(Line {
                    line: ln,
                    text: clip(&line),
                });
            }
        }
        if !lines.is_empty() {
            ev.push(Evidence {
                path: f.clone(),
                lines,
                note: None,
            });
        }
    }
    if !down.is_empty() {
        let nodes: Vec<String> = down
            .iter()
            .map(|(a, (st, _))| match ip_pod.get(a) {
                Some(p) => format!("{a} ({p}) {st}"),
                None => format!("{a} {st}"),
            })
            .collect();
        let dn = down.values().filter(|(st, _)| st.starts_with('D')).count();
        ctx.add(
            "cassandra.node-down",
            Severity::Error,
            ObjectRef::new("CassandraRing", &ctx.namespace.clone(), &ctx.instance.clone()),
            format!("{} Cassandra node{} not Up/Normal: {}", down.len(), if down.len() == 1 { " is" } else { "s are" }, nodes.join(", ")),
            format!(
                "nodetool status shows {dn} node{} Down (D*){}. Queries at QUORUM fail when a replica set loses its majority; writes for the down nodes pile up as hints.",
                if dn == 1 { "" } else { "s" },
                match down.len() - dn {
                    0 => String::new(),
                    k => format!(" and {k} Up but not Normal (joining, leaving or moving)"),
                }
            ),
            "Bring the down nodes back (see the findings about their pods); once they run, `nodetool status` should show UN for all. If a node is gone for good, replace it (`nodetool removenode` / replace_address) instead of waiting.".into(),
            ev,
        );
    }
}

/// More than one schema version in `nodetool describecluster` (one view is enough).
fn schema_disagreement(ctx: &mut Ctx) {
    for f in files(ctx, "apps/cassandra/", "/nodetool-describecluster.txt") {
        let Some(t) = ctx.src.text(&f) else { continue };
        let versions = parse_schema_versions(&t);
        let real: Vec<_> = versions.iter().filter(|(v, _, _)| !v.is_empty()).collect();
        if real.len() > 1 {
            let lines = real
                .iter()
                .map(|(v, h, ln)| Line {
                    line: *ln,
                    text: format!("{v}: [{h}]"),
                })
                .collect();
            ctx.add(
                "cassandra.schema-disagreement",
                Severity::Warning,
                ObjectRef::new("Pod", &ctx.namespace.clone(), pod_of(&f)),
                format!("Cassandra schema disagreement: {} schema versions seen from {}", real.len(), pod_of(&f)),
                "Nodes disagree on the schema: schema changes may be lost and queries on changed tables fail on some nodes.".into(),
                "Wait for schema agreement after changes; if it persists, `nodetool resetlocalschema` on the nodes in the minority (one at a time).".into(),
                vec![Evidence { path: f.clone(), lines, note: None }],
            );
            break; // One view is enough; every node reports the same split.
        }
    }
}

/// Messages a node dropped, from its `nodetool tpstats`.
fn dropped_messages(ctx: &mut Ctx) {
    for f in files(ctx, "apps/cassandra/", "/nodetool-tpstats.txt") {
        let Some(t) = ctx.src.text(&f) else { continue };
        let dropped: Vec<_> = parse_dropped(&t)
            .into_iter()
            .filter(|(_, n, _)| *n > 0)
            .collect();
        if dropped.is_empty() {
            continue;
        }
        let total: u64 = dropped.iter().map(|(_, n, _)| n).sum();
        let kinds: Vec<String> = dropped.iter().map(|(k, n, _)| format!("{k} {n}")).collect();
        let lines = dropped
            .iter()
            .map(|(k, n, ln)| Line {
                line: *ln,
                text: format!("{k} {n}"),
            })
            .collect();
        ctx.add(
            "cassandra.dropped-messages",
            Severity::Warning,
            ObjectRef::new("Pod", &ctx.namespace.clone(), pod_of(&f)),
            format!("Cassandra node {} dropped {total} messages ({})", pod_of(&f), kinds.join(", ")),
            "Dropped messages are requests the node gave up on because they waited longer than their timeout: the node is overloaded (CPU, GC pauses, disk).".into(),
            "Look at GC pauses in its log and at pending tasks in tpstats; add capacity or reduce load.".into(),
            vec![Evidence { path: f.clone(), lines, note: None }],
        );
    }
}

fn zookeeper(ctx: &mut Ctx) {
    let mut fs = files(ctx, "apps/zookeeper/", "/srvr.txt");
    fs.extend(files(ctx, "apps/zookeeper/", "/stat.txt"));
    if fs.is_empty() {
        return;
    }
    ctx.ran("zookeeper.no-leader");
    ctx.ran("zookeeper.quorum-lost");
    if quorum_lost(ctx, &fs) {
        return;
    }
    let mut modes: BTreeMap<String, (String, String, usize)> = BTreeMap::new();
    for f in &fs {
        let Some(t) = ctx.src.text(f) else { continue };
        for (i, l) in t.lines().enumerate() {
            if let Some(m) = l.trim().strip_prefix("Mode:") {
                modes.entry(pod_of(f).to_string()).or_insert((
                    m.trim().to_string(),
                    f.clone(),
                    i + 1,
                ));
            }
        }
    }
    if modes.is_empty() {
        return;
    }
    if modes
        .values()
        .any(|(m, _, _)| m == "leader" || m == "standalone")
    {
        return;
    }
    let ev = modes
        .values()
        .map(|(m, f, ln)| Evidence {
            path: f.clone(),
            lines: vec![Line {
                line: *ln,
                text: format!("Mode: {m}"),
            }],
            note: None,
        })
        .collect();
    let desc: Vec<String> = modes
        .iter()
        .map(|(p, (m, _, _))| format!("{p}: {m}"))
        .collect();
    ctx.add(
        "zookeeper.no-leader",
        Severity::Error,
        ObjectRef::new("ZooKeeperEnsemble", &ctx.namespace.clone(), &ctx.instance.clone()),
        format!("ZooKeeper has no leader ({})", desc.join(", ")),
        "Without a leader the ensemble has no quorum: it serves no writes, and clients such as Kafka lose their sessions.".into(),
        "Check that a majority of servers run and can reach each other on the quorum and election ports (2888/3888); read their logs for election errors.".into(),
        ev,
    );
}

/// What a ZooKeeper server answers to `srvr`/`stat` when it is not part of a quorum that
/// serves (ZooKeeper's `ZK_NOT_SERVING`).
const ZK_NOT_SERVING: &str = "not currently serving requests";

/// The ensemble's servers from any collected zoo.cfg (`server.N=HOST:2888:3888`): (id, the
/// host's first label, which is the pod's name for a StatefulSet's headless service).
fn zk_servers(ctx: &mut Ctx) -> Vec<(String, String)> {
    let re = Regex::new(r"^server\.(\d+)=([^:.\s]+)").expect("static regex");
    let mut out: Vec<(String, String)> = Vec::new();
    for f in files(ctx, "apps/zookeeper/", "/zoo.cfg") {
        let Some(t) = ctx.src.text(&f) else { continue };
        for l in t.lines() {
            if let Some(c) = re.captures(l.trim()) {
                let s = (c[1].to_string(), c[2].to_string());
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
    }
    out
}

/// Servers answering that they do not serve: the ensemble has no quorum. Reports it with the
/// servers that are down (in zoo.cfg, answering neither a mode nor "not serving") and the
/// survivors' logs; returns whether it did.
fn quorum_lost(ctx: &mut Ctx, fs: &[String]) -> bool {
    let mut not_serving = Vec::new();
    let mut serving = Vec::new();
    for f in fs {
        let Some(t) = ctx.src.text(f) else { continue };
        if let Some((i, l)) = t
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains(ZK_NOT_SERVING))
        {
            not_serving.push((pod_of(f).to_string(), f.clone(), i + 1, l.to_string()));
        } else if t.lines().any(|l| l.trim().starts_with("Mode:")) {
            serving.push(pod_of(f).to_string());
        }
    }
    if not_serving.is_empty() {
        return false;
    }
    let servers = zk_servers(ctx);
    let size = servers.len().max(not_serving.len() + serving.len());
    let up: Vec<&str> = not_serving
        .iter()
        .map(|(p, ..)| p.as_str())
        .chain(serving.iter().map(String::as_str))
        .collect();
    let down: Vec<&str> = servers
        .iter()
        .map(|(_, p)| p.as_str())
        .filter(|p| !up.contains(p))
        .collect();
    let mut ev: Vec<Evidence> = not_serving
        .iter()
        .map(|(_, f, ln, l)| Evidence {
            path: f.clone(),
            lines: vec![Line {
                line: *ln,
                text: clip(l),
            }],
            note: None,
        })
        .collect();
    let log_re = Regex::new(
        r"Cannot open channel to|ZooKeeperServer not running|- LOOKING|Not sufficient followers",
    )
    .expect("static regex");
    for (p, ..) in &not_serving {
        let path = format!("apps/zookeeper/{p}/logs/zookeeper.log");
        let Some(t) = ctx.src.text(&path) else {
            continue;
        };
        // The newest: an ensemble also elects (LOOKING, "not running") when it starts.
        let all: Vec<Line> = t
            .lines()
            .enumerate()
            .filter(|(_, l)| log_re.is_match(l))
            .map(|(i, l)| Line {
                line: i + 1,
                text: clip(l),
            })
            .collect();
        let lines = all[all.len().saturating_sub(4)..].to_vec();
        if !lines.is_empty() {
            ev.push(Evidence {
                path,
                lines,
                note: Some(
                    "the survivor's log: it cannot reach the others and keeps electing".into(),
                ),
            });
        }
    }
    let need = size / 2 + 1;
    let down_txt = if down.is_empty() {
        String::new()
    } else {
        format!("; down: {}", down.join(", "))
    };
    ctx.add(
        "zookeeper.quorum-lost",
        Severity::Error,
        ObjectRef::new("ZooKeeperEnsemble", &ctx.namespace.clone(), &ctx.instance.clone()),
        format!("ZooKeeper lost its quorum: {} of {size} servers serve, {need} needed{down_txt}", serving.len()),
        format!(
            "{} answer{} \"This ZooKeeper instance is not currently serving requests\": a server serves only while a majority of the ensemble ({need} of {size}) runs and follows one leader. Until then the ensemble accepts no reads or writes and clients such as Kafka lose their sessions. (`ruok` still answers imok, so a probe built on it passes.)",
            not_serving.iter().map(|(p, ..)| p.as_str()).collect::<Vec<_>>().join(", "),
            if not_serving.len() == 1 { "s" } else { "" }
        ),
        format!(
            "Bring back the servers that are down{}: see their own findings for why they do not run; the survivors rejoin by themselves once {need} can reach each other on the quorum and election ports (2888/3888).",
            if down.is_empty() { String::new() } else { format!(" ({})", down.join(", ")) }
        ),
        ev,
    );
    true
}

/// One partition line of `kafka-topics --describe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub topic: String,
    pub partition: String,
    pub leader: String,
    pub replicas: Vec<String>,
    pub isr: Vec<String>,
}

pub fn parse_partition(line: &str) -> Option<Partition> {
    let re = Regex::new(
        r"Topic:\s*(\S+)\s+Partition:\s*(\d+)\s+Leader:\s*(\S+)\s+Replicas:\s*(\S*)\s+Isr:\s*(\S*)",
    )
    .expect("static regex");
    let c = re.captures(line)?;
    let list = |s: &str| {
        s.split(',')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    Some(Partition {
        topic: c[1].to_string(),
        partition: c[2].to_string(),
        leader: c[3].to_string(),
        replicas: list(&c[4]),
        isr: list(&c[5]),
    })
}

fn kafka(ctx: &mut Ctx) {
    let f = layout::KAFKA_TOPICS;
    let Some(t) = ctx.src.text(f) else { return };
    ctx.ran("kafka.offline-partitions");
    ctx.ran("kafka.under-replicated-partitions");
    let mut offline: BTreeMap<String, Vec<(String, usize, String)>> = BTreeMap::new();
    let mut under: BTreeMap<String, Vec<(String, usize, String)>> = BTreeMap::new();
    for (i, l) in t.lines().enumerate() {
        let Some(p) = parse_partition(l) else {
            continue;
        };
        let entry = (p.partition, i + 1, l.trim().to_string());
        if p.leader == "-1" || p.leader.eq_ignore_ascii_case("none") {
            offline.entry(p.topic).or_default().push(entry);
        } else if p.isr.len() < p.replicas.len() {
            under.entry(p.topic).or_default().push(entry);
        }
    }
    for (rule, sev, map, what, expl, next) in [
        ("kafka.offline-partitions", Severity::Error, offline, "offline (no leader)", "Partitions without a leader cannot be read or written: producers to them fail.", "Bring back the brokers holding their replicas; if none can come back, consider unclean leader election (data loss) only as a last resort."),
        ("kafka.under-replicated-partitions", Severity::Warning, under, "under-replicated", "Some replicas are out of sync: a further broker failure may make these partitions unavailable or lose acknowledged writes.", "Find the broker missing from the ISR (a down or slow broker) and fix it; replicas catch up on their own once it runs."),
    ] {
        for (topic, parts) in map {
            let names: Vec<&str> = parts.iter().map(|(p, _, _)| p.as_str()).collect();
            let lines = parts.iter().take(5).map(|(_, ln, l)| Line { line: *ln, text: clip(l) }).collect();
            ctx.add(
                rule,
                sev,
                ObjectRef::new("KafkaTopic", &ctx.namespace.clone(), &topic),
                format!("Kafka topic {topic}: {} partition(s) {what}: {}", parts.len(), names.join(", ")),
                expl.into(),
                next.into(),
                vec![Evidence { path: f.into(), lines, note: None }],
            );
        }
    }
}
