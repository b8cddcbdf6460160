//! Property tests (proptest) of the parsers and the redactor on arbitrary and hostile input: no
//! panic, bounded time, and redaction that is idempotent and lets no planted secret through.
//! Each property runs `PROPTEST_CASES` cases (64 by default, so CI stays in seconds); set it
//! higher for a longer search, e.g. `PROPTEST_CASES=5000 cargo test --test integration fuzz`.

use std::io::Write;
use std::time::{Duration, Instant};

use kudo_diag::bundle::reader::{BundleReader, Limits};
use kudo_diag::bundle::redact::Redactor;
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64)
}

/// YAML-ish text: structure characters, keys the loaders know, template holes and noise.
fn yamlish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("apiVersion: kudo-diag.dev/v1\n".to_string()),
        Just("kind: Pipeline\n".to_string()),
        Just("metadata: {name: p}\n".to_string()),
        Just("spec:\n  tasks:\n".to_string()),
        Just("  - name: a\n    kind: synthetic.sleep\n    params: {ms: 1}\n".to_string()),
        Just("    forEach: {task: a, as: x}\n".to_string()),
        Just("    output: \"{{x.name}}/{{\"\n".to_string()),
        Just("  extends: ../../x.yaml\n".to_string()),
        Just("objects:\n- {apiVersion: v1, kind: Pod, metadata: {name: p}}\n".to_string()),
        Just("&a [*a, *a]\n".to_string()),
        Just("<<: *x\n".to_string()),
        "[\\[\\]{}:,'\"#&*!|>\\- \n\t]{0,40}",
        "[a-zA-Z0-9_.{}]{0,20}",
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

/// Text with secrets in the shapes the rules know, mixed with noise.
fn secretish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("password=hunter2 ".to_string()),
        Just("\"token\": \"abc def\", ".to_string()),
        Just("pass: x1\n".to_string()),
        Just("https://u:pw9@h/ ".to_string()),
        Just("Authorization: Bearer abcdefghijklmnopqrstu\n".to_string()),
        Just("-----BEGIN RSA PRIVATE KEY-----\n".to_string()),
        Just("-----END RSA PRIVATE KEY-----\n".to_string()),
        Just("key: |\n  body\n".to_string()),
        Just("\ncqlsh -u c -p Cq1 h\n".to_string()),
        Just("\nmysql -pS3cr3t\n".to_string()),
        Just("jdbc:oracle:thin:s/t1ger@//h:1/O\n".to_string()),
        Just("cGFzc3dvcmQ9aHVudGVyMg0KdXNlcj1hZG1pbg==\n".to_string()),
        Just("Pl4ntedLiteral ".to_string()),
        Just("**REDACTED**".to_string()),
        "[ -~\n]{0,30}",
    ];
    prop::collection::vec(piece, 0..20).prop_map(|v| v.concat())
}

fn timed<T>(what: &str, limit: Duration, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    assert!(start.elapsed() < limit, "{what} took {:?}", start.elapsed());
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_pipeline_parser_never_panics(text in yamlish()) {
        timed("parse", Duration::from_secs(2), || {
            let _ = kudo_diag::pipeline::parse::parse("fuzz.yaml", &text);
        });
    }

    #[test]
    fn the_scenario_loader_never_panics(text in yamlish()) {
        timed("scenario", Duration::from_secs(2), || {
            let _ = kudo_diag::sim::scenarios::parse_str(&text, "fuzz.yaml", std::path::Path::new("/nonexistent"));
        });
    }

    #[test]
    fn the_bundle_reader_never_panics_on_mutated_zips(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..16),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut zip = sample_bundle();
        for (at, b) in flips {
            let i = at.index(zip.len());
            zip[i] = b;
        }
        if truncate {
            zip.truncate(cut.index(zip.len()));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.zip");
        std::fs::File::create(&path).unwrap().write_all(&zip).unwrap();
        timed("reader", Duration::from_secs(2), || {
            if let Ok(mut r) = BundleReader::open(&path, Limits::default()) {
                let names: Vec<String> = r.entries().map(|e| e.path.clone()).collect();
                for n in names {
                    let _ = r.read(&n);
                }
                let _ = r.verify();
            }
        });
    }

    #[test]
    fn redaction_is_idempotent_and_hides_planted_values(text in secretish(), yaml in any::<bool>()) {
        let r = Redactor::new(&[], &["Pl4ntedLiteral".to_string()]).unwrap();
        let red = |t: &[u8]| if yaml { r.redact_yaml(t).0 } else { r.redact_text(t).0 };
        let once = timed("redact", Duration::from_secs(1), || red(text.as_bytes()));
        let twice = red(&once);
        prop_assert_eq!(String::from_utf8_lossy(&twice), String::from_utf8_lossy(&once));
        let out = String::from_utf8_lossy(&once);
        for planted in ["hunter2", "pw9@", "Pl4ntedLiteral", "S3cr3t", "t1ger"] {
            prop_assert!(!out.contains(planted), "{} survived in {:?}", planted, out);
        }
    }
}

/// A small valid bundle, written once per process.
fn sample_bundle() -> Vec<u8> {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let store =
                kudo_diag::bundle::sink::ArtifactStore::open(&dir.path().join("a")).unwrap();
            let sink = store.node_sink("n");
            let recs = vec![
                (
                    "n".to_string(),
                    sink.put("workload/pods.yaml", b"kind: List\nitems: []\n")
                        .unwrap(),
                ),
                (
                    "n".to_string(),
                    sink.put("pods/p/logs/c.log", b"line\n").unwrap(),
                ),
            ];
            let out = dir.path().join("b.zip");
            kudo_diag::bundle::writer::write_bundle(
                &store,
                &recs,
                &[],
                None,
                &kudo_diag::bundle::writer::BundleMeta::default(),
                &out,
            )
            .unwrap();
            std::fs::read(out).unwrap()
        })
        .clone()
}
