//! Bundle throughput: zip + blake3 on 256 MiB of log-like text (64 artifacts of 4 MiB, like pod
//! logs), compressing in the sink while collecting and copying compressed entries at the end,
//! against the single-threaded deflate at the end that kudo-diag started with. Also the raw
//! deflate levels, and redaction throughput.
//!
//! `cargo bench --bench bundle`; results go to docs/PERFORMANCE.md (## Bundle).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rand::{Rng, SeedableRng};

use kudo_diag::bundle::redact::{RedactingWriter, Redactor};
use kudo_diag::bundle::sink::{ArtifactRecord, ArtifactStore};
use kudo_diag::bundle::writer::{write_bundle, BundleMeta, BUNDLE_FORMAT_VERSION};

const ARTIFACTS: usize = 64;
const ARTIFACT_BYTES: usize = 4 << 20;
const TOTAL: usize = ARTIFACTS * ARTIFACT_BYTES;

/// Deterministic log-like text: timestamps, levels, classes, ids and numbers, in the mix of a
/// Cassandra or Kafka log.
fn log_text(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let levels = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"];
    let classes = [
        "o.a.c.db.compaction.CompactionTask",
        "o.a.c.service.StorageService",
        "o.a.c.gms.Gossiper",
        "kafka.server.ReplicaFetcherThread",
        "o.a.z.server.NIOServerCnxn",
        "io.kudo.controller.instance",
    ];
    let msgs = [
        "Compacted (%) 4 sstables to [/var/lib/cassandra/data/ks/t-%/nb-%-big,] to level=0",
        "Node /10.0.%.% state jump to NORMAL",
        "GC for G1 Young Generation: % ms for 1 collections, % used; max is %",
        "[ReplicaFetcher replicaId=%, leaderId=%, fetcherId=0] Truncating partition topic-% to offset %",
        "Processing srvr command from /10.0.%.%:%",
        "plan deploy phase nodes step node-% status IN_PROGRESS after % ms",
    ];
    let mut out = Vec::with_capacity(len + 256);
    while out.len() < len {
        let msg = msgs[rng.random_range(0..msgs.len())];
        let mut line = format!(
            "{} 2026-11-27T{:02}:{:02}:{:02},{:03} [{}] {} - ",
            levels[rng.random_range(0..levels.len())],
            rng.random_range(0..24),
            rng.random_range(0..60),
            rng.random_range(0..60),
            rng.random_range(0..1000),
            [
                "main",
                "CompactionExecutor:1",
                "GossipStage:1",
                "Native-Transport-Requests-3"
            ][rng.random_range(0..4)],
            classes[rng.random_range(0..classes.len())],
        );
        for part in msg.split('%').enumerate() {
            if part.0 > 0 {
                line.push_str(&rng.random_range(0..100_000u32).to_string());
            }
            line.push_str(part.1);
        }
        line.push('\n');
        out.extend_from_slice(line.as_bytes());
    }
    out.truncate(len);
    out
}

fn meta() -> BundleMeta {
    BundleMeta {
        format_version: BUNDLE_FORMAT_VERSION,
        tool: "kudo-diag".into(),
        ..BundleMeta::default()
    }
}

/// Writes the artifacts through the sink, on `threads` threads (tasks collecting concurrently).
fn collect(
    store: &ArtifactStore,
    data: &[Vec<u8>],
    threads: usize,
) -> Vec<(String, ArtifactRecord)> {
    let per = data.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = data
            .chunks(per)
            .enumerate()
            .map(|(t, chunk)| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .enumerate()
                        .map(|(i, d)| {
                            let node = format!("logs-{t}-{i}");
                            let sink = store.node_sink(&node);
                            let mut w = sink.create(&format!("pods/p-{t}-{i}/logs/c.log")).unwrap();
                            for piece in d.chunks(64 << 10) {
                                w.write_all(piece).unwrap();
                            }
                            (node, w.finish().unwrap())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

/// The starting design: artifacts stored raw (hashed while written), deflated at level 6 one
/// after the other into the bundle at the end.
fn baseline_end_step(raw_dir: &Path, names: &[String], dest: &Path) {
    let f = File::create(dest).unwrap();
    let mut zip = zip::ZipWriter::new(io::BufWriter::new(f));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for n in names {
        zip.start_file(n.as_str(), opts).unwrap();
        io::copy(&mut File::open(raw_dir.join(n)).unwrap(), &mut zip).unwrap();
    }
    zip.finish().unwrap();
}

fn bench_bundle(c: &mut Criterion) {
    let data: Vec<Vec<u8>> = (0..ARTIFACTS)
        .map(|i| log_text(i as u64, ARTIFACT_BYTES))
        .collect();
    let tmp = tempfile::tempdir().unwrap();

    // Raw files for the baseline, written once (with their hashes, as the old sink did).
    let raw_dir = tmp.path().join("raw");
    fs::create_dir_all(&raw_dir).unwrap();
    let names: Vec<String> = (0..ARTIFACTS).map(|i| format!("a{i:03}.log")).collect();
    for (n, d) in names.iter().zip(&data) {
        fs::write(raw_dir.join(n), d).unwrap();
    }

    let mut g = c.benchmark_group("bundle_256MiB");
    g.sample_size(10);
    g.warm_up_time(std::time::Duration::from_millis(500));
    g.measurement_time(std::time::Duration::from_secs(5));
    g.throughput(Throughput::Bytes(TOTAL as u64));

    // What each approach pays at the end, when the user is waiting for the bundle.
    g.bench_function("end_step/baseline_deflate6_single_thread", |b| {
        let dest = tmp.path().join("baseline.zip");
        b.iter(|| baseline_end_step(&raw_dir, &names, &dest))
    });
    let store = ArtifactStore::open(&tmp.path().join("store")).unwrap();
    let arts = collect(&store, &data, 2);
    g.bench_function("end_step/raw_copy_of_sink_compressed", |b| {
        let dest = tmp.path().join("new.zip");
        b.iter(|| write_bundle(&store, &arts, &[], None, &meta(), &dest).unwrap())
    });

    // What the collection pays: blake3 only (old sink) vs blake3 + deflate-1 (new sink).
    g.bench_function("collect/old_sink_write_and_blake3", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |d| {
                for (n, x) in names.iter().zip(&data) {
                    let mut f = io::BufWriter::new(File::create(d.path().join(n)).unwrap());
                    let mut h = blake3::Hasher::new();
                    for piece in x.chunks(64 << 10) {
                        f.write_all(piece).unwrap();
                        h.update(piece);
                    }
                    f.into_inner().unwrap().sync_all().unwrap();
                }
                d
            },
            BatchSize::PerIteration,
        )
    });
    for threads in [1, 2] {
        g.bench_function(
            format!("collect/new_sink_deflate1_blake3_{threads}_threads"),
            |b| {
                b.iter_batched(
                    || {
                        let d = tempfile::tempdir().unwrap();
                        let s = ArtifactStore::open(d.path()).unwrap();
                        (d, s)
                    },
                    |(d, s)| {
                        collect(&s, &data, threads);
                        d
                    },
                    BatchSize::PerIteration,
                )
            },
        );
    }
    g.bench_function("collect/new_sink_redacted_deflate1_blake3_2_threads", |b| {
        b.iter_batched(
            || {
                let d = tempfile::tempdir().unwrap();
                let s = ArtifactStore::open_with(d.path(), Arc::new(Redactor::builtin())).unwrap();
                (d, s)
            },
            |(d, s)| {
                collect(&s, &data, 2);
                d
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("collect_and_bundle/new_2_threads", |b| {
        b.iter_batched(
            || {
                let d = tempfile::tempdir().unwrap();
                let s = ArtifactStore::open(&d.path().join("s")).unwrap();
                (d, s)
            },
            |(d, s)| {
                let arts = collect(&s, &data, 2);
                write_bundle(&s, &arts, &[], None, &meta(), &d.path().join("b.zip")).unwrap();
                d
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();

    // The deflate levels themselves, on 64 MiB, single thread.
    let sample: Vec<u8> = data[..16].concat();
    let mut g = c.benchmark_group("deflate_64MiB");
    g.sample_size(10);
    g.warm_up_time(std::time::Duration::from_millis(500));
    g.throughput(Throughput::Bytes(sample.len() as u64));
    for level in [1u32, 6] {
        g.bench_function(format!("level_{level}"), |b| {
            b.iter(|| {
                let mut e =
                    flate2::write::DeflateEncoder::new(io::sink(), flate2::Compression::new(level));
                e.write_all(&sample).unwrap();
                e.finish().unwrap();
            })
        });
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(level));
        e.write_all(&sample).unwrap();
        let n = e.finish().unwrap().len();
        eprintln!(
            "deflate level {level}: 64 MiB -> {:.1} MiB (ratio {:.2})",
            n as f64 / (1 << 20) as f64,
            sample.len() as f64 / n as f64
        );
    }
    g.finish();
}

fn bench_redact(c: &mut Criterion) {
    // 64 MiB of log text with a secret every ~1000 lines.
    let mut text = log_text(99, 64 << 20);
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for _ in 0..(text.len() / 100_000) {
        let at = rng.random_range(0..text.len() - 64);
        let at = at + text[at..].iter().position(|b| *b == b'\n').unwrap_or(0) + 1;
        let secret = b"password=hunter2hunter2 ";
        if at + secret.len() < text.len() {
            text[at..at + secret.len()].copy_from_slice(secret);
        }
    }
    let clean = log_text(99, 64 << 20);
    let lits: Vec<String> = (0..50).map(|i| format!("literal-secret-{i:04}")).collect();
    let mut g = c.benchmark_group("redact_64MiB");
    g.sample_size(10);
    g.warm_up_time(std::time::Duration::from_millis(500));
    g.throughput(Throughput::Bytes(text.len() as u64));
    for (name, r, input) in [
        ("builtin_no_secrets", Arc::new(Redactor::builtin()), &clean),
        (
            "builtin_secret_every_100KB",
            Arc::new(Redactor::builtin()),
            &text,
        ),
        (
            "builtin_plus_50_literals_secret_every_100KB",
            Arc::new(Redactor::new(&[], &lits).unwrap()),
            &text,
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut w = RedactingWriter::new(io::sink(), r.clone());
                for piece in input.chunks(64 << 10) {
                    w.write_all(piece).unwrap();
                }
                w.finish().unwrap().1
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_bundle, bench_redact);
criterion_main!(benches);
