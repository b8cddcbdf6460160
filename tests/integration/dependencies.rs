//! Dependencies in the same bundle: a collection of an instance collects the instances it
//! depends on (its KUDO children, the instances behind the Services its parameters name)
//! under `dependencies/NAMESPACE/INSTANCE/`, with their own pipelines, in one run.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use kudo_diag::analyze::{self, Finding};
use kudo_diag::bundle::reader::{BundleReader, Limits as ReaderLimits};
use kudo_diag::collect::connect;
use kudo_diag::collect::dependencies::{self, Found};
use kudo_diag::engine::{Ending, Event, EventLog, Reporter, ResumeMode, Summary};
use kudo_diag::registry::default_registry;
use kudo_diag::session::{Output, Request, Session};
use kudo_diag::sim::from_bundle;
use kudo_diag::sim::scenario::AccessRule;
use tokio_util::sync::CancellationToken;

use crate::run::entries;
use crate::support::{have_kubectl, Kubectl, Sim};

const ZK: &str = "dependencies/kafka/kafka-zookeeper/";

/// Collects instance `kafka` of the kafka scenario through a session, as `kudo-diag run` does;
/// returns the session's notes as text.
async fn collect_kafka(out: &Path, kubeconfig: &Path, dependencies: bool) -> Vec<String> {
    let (notes, _) = collect_kafka_with(
        request(out, kubeconfig, dependencies),
        &EventLog::new(),
        CancellationToken::new(),
    )
    .await;
    notes
}

fn request(out: &Path, kubeconfig: &Path, dependencies: bool) -> Request {
    let mut req = Request {
        namespace: Some("kafka".into()),
        output: Output::File(out.to_path_buf()),
        dependencies,
        ..Request::new("kafka")
    };
    req.connection.kubeconfig = Some(kubeconfig.to_path_buf());
    req.logs.tail = Some(200);
    req
}

async fn collect_kafka_with(
    req: Request,
    reporter: &dyn Reporter,
    cancel: CancellationToken,
) -> (Vec<String>, Summary) {
    let registry = default_registry();
    let session = Session::open(req, &registry)
        .await
        .expect("the session opens");
    let notes = session.notes.iter().map(|n| n.to_string()).collect();
    let summary = session
        .run(&registry, reporter, cancel)
        .await
        .expect("the collection runs");
    (notes, summary)
}

/// Cancels the run once `after` nodes of the dependency have finished.
struct CancelInDependency {
    cancel: CancellationToken,
    after: usize,
    seen: Mutex<usize>,
}

impl Reporter for CancelInDependency {
    fn event(&self, e: &Event) {
        if let Event::Finished { node, .. } = e {
            if node.starts_with(ZK) {
                let mut n = self.seen.lock().unwrap();
                *n += 1;
                if *n == self.after {
                    self.cancel.cancel();
                }
            }
        }
    }
}

/// A run interrupted while it collects the dependency resumes it with `--continue`: the same
/// journal holds the dependency's nodes, and what was done is not collected again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_resumes_its_dependencies() {
    let (sim, dir, kubeconfig) = Sim::builtin("kafka").cluster().await;
    let out = dir.path().join("kafka.zip");
    let cancel = CancellationToken::new();
    let stop = CancelInDependency {
        cancel: cancel.clone(),
        after: 3,
        seen: Mutex::new(0),
    };
    let (_, first) = collect_kafka_with(request(&out, &kubeconfig, true), &stop, cancel).await;
    assert_eq!(first.ending, Ending::Interrupted);
    assert!(!out.exists());
    let mut again = request(&out, &kubeconfig, true);
    again.resume = ResumeMode::Continue;
    let events = EventLog::new();
    let (_, second) = collect_kafka_with(again, &events, CancellationToken::new()).await;
    sim.shutdown().await;
    assert_eq!(second.ending, Ending::Complete);
    let reused: Vec<String> = events
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Reused { node, .. } if node.starts_with(ZK) => Some(node),
            _ => None,
        })
        .collect();
    assert!(reused.len() >= 3, "{reused:?}");
    let e = entries(&out);
    assert!(e.contains_key(&format!(
        "{ZK}apps/zookeeper/kafka-zookeeper-zookeeper-2/srvr.txt"
    )));
    assert!(e.contains_key("apps/kafka/topics.txt"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kafka_bundle_holds_its_zookeepers_pods_logs_and_four_letter_words() {
    let (sim, dir, kubeconfig) = Sim::builtin("kafka").cluster().await;
    let out = dir.path().join("kafka.zip");
    let notes = collect_kafka(&out, &kubeconfig, true).await;
    sim.shutdown().await;
    assert!(
        notes
            .iter()
            .any(|n| n.contains("kafka/kafka-zookeeper") && n.contains(ZK)),
        "{notes:?}"
    );
    let e = entries(&out);
    let text =
        |p: &str| String::from_utf8(e.get(p).unwrap_or_else(|| panic!("no {p}")).clone()).unwrap();
    // The root's own layout is unchanged.
    assert!(text("instance/instance.yaml").contains("name: kafka\n"));
    assert!(text("apps/kafka/topics.txt").len() > 10);
    // The ZooKeeper child: its own instance, pods, logs, and the answers of its servers.
    assert!(text(&format!("{ZK}instance/instance.yaml")).contains("name: kafka-zookeeper"));
    assert!(text(&format!("{ZK}instance/parent-instances.yaml")).contains("name: kafka\n"));
    for i in 0..3 {
        let pod = format!("kafka-zookeeper-zookeeper-{i}");
        assert!(text(&format!("{ZK}pods/{pod}/pod.yaml")).contains(&pod));
        assert!(!text(&format!("{ZK}pods/{pod}/logs/kubernetes-zookeeper.log")).is_empty());
        assert!(text(&format!("{ZK}apps/zookeeper/{pod}/srvr.txt")).contains("Zookeeper version"));
        assert!(text(&format!("{ZK}apps/zookeeper/{pod}/zoo.cfg")).contains("server.1="));
    }
    // What is the same for every instance is collected once, for the root.
    assert!(e.contains_key("cluster/nodes.yaml"));
    assert!(
        !e.keys().any(
            |k| k.starts_with(&format!("{ZK}kudo/")) || k.starts_with(&format!("{ZK}cluster/"))
        ),
        "a dependency repeats the shared parts"
    );
    // Each once: the ZooKeeper's parent is the root, which is not collected again.
    assert!(!e.keys().any(|k| k.starts_with("dependencies/kafka/kafka/")));
    // The dependency's failures say whose they are, and the bundle verifies.
    let bundle = BundleReader::open(&out, ReaderLimits::default()).unwrap();
    let refused: Vec<&str> = bundle
        .errors()
        .iter()
        .filter(|e| e.reason.starts_with("refused"))
        .map(|e| e.node.as_str())
        .collect();
    assert!(!refused.is_empty());
    assert!(refused.iter().all(|n| n.starts_with(ZK)), "{refused:?}");

    // analyze runs its rules on the ZooKeeper too: its findings name their instance and quote
    // the bundle's paths.
    let path = out.clone();
    let report = tokio::task::spawn_blocking(move || analyze::analyze_bundle(&path))
        .await
        .unwrap()
        .unwrap();
    let zk: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.instance == "kafka/kafka-zookeeper")
        .collect();
    assert!(!zk.is_empty(), "no finding about the ZooKeeper");
    for f in &zk {
        for e in &f.evidence {
            assert!(
                e.path.starts_with(ZK)
                    || e.path.starts_with("cluster/")
                    || e.path.starts_with("kudo/"),
                "{}: {}",
                f.id,
                e.path
            );
        }
    }
    assert!(analyze::render_text(&report, false)
        .contains("(dependency: instance kafka/kafka-zookeeper)"));

    // serve answers for the dependencies' objects too: they are objects of the same cluster.
    if !have_kubectl() {
        return;
    }
    let b = from_bundle::load(&out).unwrap();
    let h = Sim::new(b.scenario).read_only().start().await;
    let k = Kubectl::new(&h);
    let pods = k.ok(&["get", "pods", "-A", "-o", "name"]).await;
    for p in ["kafka-kafka-0", "kafka-zookeeper-zookeeper-2"] {
        assert!(pods.contains(&format!("pod/{p}\n")), "{pods}");
    }
    let log = k
        .ok(&[
            "logs",
            "-n",
            "kafka",
            "kafka-zookeeper-zookeeper-1",
            "--tail",
            "1",
        ])
        .await;
    assert!(!log.is_empty());
    h.shutdown().await;
}

/// Kafka losing its ZooKeeper (scenario kafka-zookeeper-down): the ZooKeeper servers were
/// OOMKilled at 08:45, the brokers' sessions expired at 08:46. The report leads with the
/// ZooKeeper's fault, in the dependency, and folds Kafka's findings beneath it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_losing_its_zookeeper_is_diagnosed_at_the_zookeeper() {
    let (sim, dir, kubeconfig) = Sim::builtin("kafka-zookeeper-down").cluster().await;
    let out = dir.path().join("kafka.zip");
    collect_kafka(&out, &kubeconfig, true).await;
    sim.shutdown().await;
    let report = tokio::task::spawn_blocking(move || analyze::analyze_bundle(&out))
        .await
        .unwrap()
        .unwrap();
    let first = report.get(&report.root_causes[0]).unwrap();
    assert_eq!(first.instance, "kafka/kafka-zookeeper", "{}", first.title);
    // Its advice names the dependency's own files, where the bundle holds them.
    assert!(
        first
            .next_step
            .contains(&format!("{ZK}pods/{}/logs/", first.object.name)),
        "{}",
        first.next_step
    );
    assert!(
        first.object.name.starts_with("kafka-zookeeper-zookeeper-")
            && first.title.contains("OOMKilled"),
        "{}",
        first.title
    );
    // Every root cause is the ZooKeeper's: nothing in Kafka is a problem of its own.
    for id in &report.root_causes {
        let f = report.get(id).unwrap();
        assert_eq!(
            f.instance, "kafka/kafka-zookeeper",
            "{} [{}]",
            f.title, f.rule
        );
    }
    // Each broker lost its ZooKeeper, and that follows from the ZooKeeper's pods.
    let lost: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.rule == "kafka.log-zookeeper-unreachable")
        .collect();
    assert_eq!(lost.len(), 3);
    for f in lost {
        assert!(f.instance.is_empty());
        assert!(!f.caused_by.is_empty(), "{}", f.title);
        for c in &f.caused_by {
            assert_eq!(report.get(c).unwrap().instance, "kafka/kafka-zookeeper");
        }
        assert!(
            f.next_step.contains("follows from the root cause"),
            "{}",
            f.next_step
        );
    }
    // The brokers' session expiries follow from their lost ZooKeeper, on the same timeline.
    let expired = report
        .findings
        .iter()
        .find(|f| f.rule == "zookeeper.log-session-expired" && f.instance.is_empty())
        .unwrap();
    assert!(expired
        .caused_by
        .iter()
        .any(|c| c.starts_with("kafka.log-zookeeper-unreachable:")));
    let lanes: Vec<&str> = report.timeline.iter().map(|t| t.lane.as_str()).collect();
    assert!(
        lanes
            .iter()
            .any(|l| l.contains("kafka-zookeeper-zookeeper-0")),
        "{lanes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_dependencies_collects_the_instance_alone() {
    let (sim, dir, kubeconfig) = Sim::builtin("kafka").cluster().await;
    let out = dir.path().join("kafka.zip");
    collect_kafka(&out, &kubeconfig, false).await;
    sim.shutdown().await;
    let e = entries(&out);
    assert!(e.contains_key("instance/instance.yaml"));
    assert!(!e.keys().any(|k| k.starts_with("dependencies/")));
}

/// The kafka scenario without the ownerReference that makes the ZooKeeper Kafka's child, and
/// with `deny` rules: what `collect::dependencies::resolve` finds for instance kafka.
async fn resolve_unowned(deny: Vec<AccessRule>) -> Found {
    let mut sc = kudo_diag::sim::scenarios::load("kafka").unwrap();
    for o in &mut sc.objects {
        if o["kind"] == "Instance" {
            if let Some(m) = o["metadata"].as_object_mut() {
                m.remove("ownerReferences");
            }
        }
    }
    sc.permissions.deny = deny;
    let (sim, _dir, kubeconfig) = Sim::new(sc).cluster().await;
    let cluster = connect::connect(&connect::Connection {
        kubeconfig: Some(kubeconfig),
        ..Default::default()
    })
    .await
    .unwrap();
    let found =
        dependencies::resolve(&cluster.client, "kafka", "kafka", Duration::from_secs(10)).await;
    sim.shutdown().await;
    found
}

/// Without the ownerReference, Kafka's ZooKeeper connection string still leads to it: host
/// `kafka-zookeeper-zookeeper-0.kafka-zookeeper-hs` is a pod of Service kafka-zookeeper-hs,
/// whose pods a StatefulSet of instance kafka-zookeeper owns. When the Service cannot be read,
/// a note says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parameter_that_names_another_instances_service_makes_it_a_dependency() {
    let found = resolve_unowned(Vec::new()).await;
    assert_eq!(found.notes, Vec::<String>::new());
    let deps: Vec<(&str, &str, &str)> = found
        .dependencies
        .iter()
        .map(|d| (d.namespace.as_str(), d.instance.as_str(), d.why.as_str()))
        .collect();
    assert_eq!(
        deps,
        [(
            "kafka",
            "kafka-zookeeper",
            "parameter ZOOKEEPER_URI of kafka/kafka names Service kafka/kafka-zookeeper-hs"
        )]
    );

    let found = resolve_unowned(vec![AccessRule {
        verbs: vec!["get".into()],
        resources: vec!["services".into()],
        namespaces: vec![],
        api_groups: vec![],
    }])
    .await;
    assert!(found.dependencies.is_empty());
    assert!(
        found.notes.iter().any(
            |n| n.contains("could not follow Service kafka/kafka-zookeeper-hs")
                && n.contains("403")
        ),
        "{:?}",
        found.notes
    );
}
