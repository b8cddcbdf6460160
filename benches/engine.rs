//! Engine benchmarks (criterion): scheduling a 100,000-node DAG of no-op synthetic tasks end to
//! end (plan, scheduler, journal, empty bundle), and the journal's cost per node commit with a
//! group commit (the engine's default) and with an fsync per commit.
//!
//! Run: `cargo bench --bench engine`; numbers and the machine go in docs/PERFORMANCE.md.
//! Instruction counts, which other processes on a shared machine do not move:
//! `valgrind --tool=callgrind target/release/deps/engine-HASH --bench engine/schedule_100000
//! --profile-time 1` (one run of 100,000 nodes plus criterion's setup).

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use tokio_util::sync::CancellationToken;

use kudo_diag::engine::journal::{FlushPolicy, Journal, NodeRecord, NodeState, Status};
use kudo_diag::engine::{synthetic, Registry, Silent};
use kudo_diag::pipeline::{Pipeline, TaskSpec};
use kudo_diag::session::{Output, Pipelines, Request, Session};

/// One `synthetic.items` node fanning out into `n - 1` no-op `synthetic.sleep` nodes.
fn noop_pipeline(n: usize) -> Pipeline {
    let yaml = format!(
        r#"
- {{name: items, kind: synthetic.items, params: {{count: {}}}}}
- {{name: noop, kind: synthetic.sleep, params: {{ms: 0}}, forEach: {{task: items, as: it}}}}
"#,
        n - 1
    );
    let tasks: Vec<TaskSpec> = kudo_diag::yaml::from_str(&yaml).expect("bench pipeline parses");
    Pipeline::new("bench", vec!["bench".into()], tasks)
}

/// CPU time (user + system) this process has used so far, from /proc (Linux); the machine the
/// benchmarks run on is shared, so wall time alone overstates what the engine costs.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime), counted from the state field (3rd) here.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(Duration::from_millis(ticks * 10))
}

fn schedule(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut registry = Registry::new();
    synthetic::register(&mut registry);
    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for n in [10_000usize, 100_000] {
        let pipeline = noop_pipeline(n);
        group.bench_function(format!("schedule_{n}_noop_nodes"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let cpu_before = cpu_time();
                for _ in 0..iters {
                    let dir = tempfile::tempdir().unwrap();
                    // Set up as `kudo-diag run --pipeline FILE -o bench.zip` would: no cluster.
                    let request = Request {
                        pipelines: Pipelines::Loaded(pipeline.clone()),
                        output: Output::File(dir.path().join("bench.zip")),
                        ..Request::new("bench")
                    };
                    let session = rt.block_on(Session::open(request, &registry)).unwrap();
                    let start = Instant::now();
                    let summary = rt
                        .block_on(session.run(&registry, &Silent, CancellationToken::new()))
                        .unwrap();
                    total += start.elapsed();
                    assert_eq!(summary.counts.done, n);
                }
                if let (Some(a), Some(b)) = (cpu_before, cpu_time()) {
                    eprintln!(
                        "schedule_{n}: {iters} run(s), wall {:?}/run, cpu {:?}/run",
                        total / iters as u32,
                        (b - a) / iters as u32
                    );
                }
                total
            })
        });
    }
    group.finish();
}

fn journal_commit(c: &mut Criterion) {
    let mut group = c.benchmark_group("journal");
    group.sample_size(20);
    for (name, policy) in [
        ("commit_group_flushed", FlushPolicy::Batched),
        ("commit_fsync_each", FlushPolicy::EachCommit),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (journal, _) = Journal::open(&dir.path().join("journal"), policy).unwrap();
        let record = NodeRecord {
            task: "logs".into(),
            state: NodeState::Done,
            attempts: 1,
            error: None,
            error_kind: None,
            artifacts: vec![kudo_diag::bundle::sink::ArtifactRecord {
                path: "pods/cassandra-0/logs/cassandra.log".into(),
                bytes: 123_456,
                blake3: "0".repeat(64),
                file: "0".repeat(32) + ".art",
                ..Default::default()
            }],
            items: Default::default(),
            optional: false,
        };
        let mut i = 0u64;
        group.bench_function(name, |b| {
            b.iter(|| {
                i += 1;
                let Status::Pending(claim) = journal.status(format!("logs[ns/pod-{i}]")).unwrap()
                else {
                    unreachable!("fresh keys are pending")
                };
                claim.commit(&record).unwrap();
                // A small group commit (one batch of the record stream per flush):
                // flush every 8th commit, as a turn with 8 in flight might.
                if policy == FlushPolicy::Batched && i.is_multiple_of(8) {
                    journal.flush().unwrap();
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, schedule, journal_commit);
criterion_main!(benches);
