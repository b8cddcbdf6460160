//! Dependencies in the same bundle: a collection of an instance collects the instances it
//! depends on (its KUDO children, the instances behind the Services its parameters name)
//! under `dependencies/NAMESPACE/INSTANCE/`, with their own pipelines, in one run.

use std::path::Path;

use kudo_diag::bundle::reader::{BundleReader, Limits as ReaderLimits};
use kudo_diag::engine::EventLog;
use kudo_diag::registry::default_registry;
use kudo_diag::session::{Output, Request, Session};
use tokio_util::sync::CancellationToken;

use crate::run::entries;
use crate::support::Sim;

const ZK: &str = "dependencies/kafka/kafka-zookeeper/";

/// Collects instance `kafka` of the kafka scenario through a session, as `kudo-diag run` does;
/// returns the session's notes as text.
async fn collect_kafka(out: &Path, kubeconfig: &Path, dependencies: bool) -> Vec<String> {
    let mut req = Request {
        namespace: Some("kafka".into()),
        output: Output::File(out.to_path_buf()),
        dependencies,
        ..Request::new("kafka")
    };
    req.connection.kubeconfig = Some(kubeconfig.to_path_buf());
    req.logs.tail = Some(200);
    let registry = default_registry();
    let session = Session::open(req, &registry)
        .await
        .expect("the session opens");
    let notes = session.notes.iter().map(|n| n.to_string()).collect();
    session
        .run(&registry, &EventLog::new(), CancellationToken::new())
        .await
        .expect("the collection runs");
    notes
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

/// Without the ownerReference that makes the ZooKeeper Kafka's child, Kafka's ZooKeeper
/// connection string still leads to it: host `kafka-zookeeper-zookeeper-0.kafka-zookeeper-hs`
/// is a pod of Service kafka-zookeeper-hs, whose pods a StatefulSet of instance
/// kafka-zookeeper owns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parameter_that_names_another_instances_service_makes_it_a_dependency() {
    let mut sc = kudo_diag::sim::scenarios::load("kafka").unwrap();
    for o in &mut sc.objects {
        if o["kind"] == "Instance" {
            if let Some(m) = o["metadata"].as_object_mut() {
                m.remove("ownerReferences");
            }
        }
    }
    let (sim, _dir, kubeconfig) = Sim::new(sc).cluster().await;
    let cluster = kudo_diag::collect::connect::connect(&kudo_diag::collect::connect::Connection {
        kubeconfig: Some(kubeconfig),
        ..Default::default()
    })
    .await
    .unwrap();
    let found = kudo_diag::collect::dependencies::resolve(
        &cluster.client,
        "kafka",
        "kafka",
        std::time::Duration::from_secs(10),
    )
    .await;
    sim.shutdown().await;
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
}
