//! Analysis end to end: every built-in scenario of the simulated cluster is collected once per
//! test run (in-process sim + engine + the collect kinds, as collect.rs does) and analyzed.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kudo_diag::engine::{self, Registry, TaskEnv};
use kudo_diag::pipeline::{self, Pipeline, PipelineDoc};
use kudo_diag::sim::{SimOptions, SimServer};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// (scenario, pipeline, instance, namespace)
const SCENARIOS: &[(&str, &str, &str, &str)] = &[
    (
        "cassandra",
        "cassandra",
        "analytics-cassandra",
        "production",
    ),
    (
        "broken-cassandra",
        "cassandra",
        "analytics-cassandra",
        "production",
    ),
    (
        "zookeeper",
        "zookeeper",
        "zookeeper-instance",
        "my-namespace",
    ),
    ("kafka", "kafka", "kafka", "kafka"),
];

fn registry() -> Registry {
    let mut r = Registry::new();
    kudo_diag::collect::register(&mut r);
    r
}

/// The built-in pipeline `name` merged over `kudo` through the pipeline loader (the loader's
/// table of built-ins does not list the application pipelines yet, as in collect.rs).
fn builtin_pipeline(name: &str, dir: &Path, registry: &Registry) -> Pipeline {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines");
    let text = std::fs::read_to_string(root.join(format!("{name}.yaml"))).unwrap();
    let mut doc: PipelineDoc = serde_yaml::from_str(&text).unwrap();
    doc.spec.extends = None;
    let flat = dir.join(format!("{name}.yaml"));
    std::fs::write(&flat, serde_yaml::to_string(&doc).unwrap()).unwrap();
    let specs = [
        root.join("kudo.yaml").display().to_string(),
        flat.display().to_string(),
    ];
    pipeline::load::resolve(&specs, registry).unwrap_or_else(|e| panic!("{e}"))
}

async fn collect_one(scenario: &str, pipe: &str, instance: &str, ns: &str, dir: &Path) -> PathBuf {
    let mut sc = kudo_diag::sim::scenarios::load(scenario).unwrap();
    // The simulated cluster does not serve admissionregistration.k8s.io yet, and refuses to
    // start with such objects; drop them (the optional `kudo-webhooks` task then fails, which
    // the analysis must report as missing evidence, not as a fault).
    sc.objects
        .retain(|o| o["apiVersion"].as_str() != Some("admissionregistration.k8s.io/v1"));
    let sim = SimServer::start(sc, SimOptions::default()).await.unwrap();
    let reg = registry();
    let pipeline = builtin_pipeline(pipe, dir, &reg);
    let out = dir.join(format!("{scenario}.zip"));
    let globals = json!({"instance": instance, "namespace": ns, "kudoNamespace": "kudo-system"});
    let target = json!({"server": sim.base_url(), "namespace": ns, "instance": instance});
    let mut config = engine::RunConfig::new(pipeline, target, globals, out.clone());
    config.env = TaskEnv {
        kube: Some(sim.kube_client().unwrap()),
        settings: json!({"logTail": 10000}).as_object().cloned().unwrap(),
    };
    let events = engine::EventLog::new();
    engine::run(config, &reg, &events, CancellationToken::new())
        .await
        .expect("the run completes");
    sim.shutdown().await;
    out
}

/// Every scenario's bundle, collected once per test binary run.
fn bundles() -> &'static Vec<(String, PathBuf)> {
    static B: OnceLock<(tempfile::TempDir, Vec<(String, PathBuf)>)> = OnceLock::new();
    &B.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut out = Vec::new();
        for (sc, p, i, ns) in SCENARIOS {
            let b = rt.block_on(collect_one(sc, p, i, ns, dir.path()));
            out.push((sc.to_string(), b));
        }
        (dir, out)
    })
    .1
}

fn bundle(name: &str) -> &'static Path {
    &bundles().iter().find(|(n, _)| n == name).unwrap().1
}

#[test]
fn dump_bundles_for_inspection() {
    if let Ok(d) = std::env::var("KUDO_DIAG_DUMP") {
        for (n, p) in bundles() {
            std::fs::copy(p, Path::new(&d).join(format!("{n}.zip"))).unwrap();
        }
    }
    assert!(bundle("broken-cassandra").exists());
}
