//! Shipping (issue 7): `version`, completions and man pages, `cron manifest` judged by the real
//! kubectl against the simulated cluster, uploads to a real S3 server (moto) on loopback
//! (upload + verify, resume after a kill, wrong credentials, nothing half-written under the final
//! key), `run --upload --keep`, and a collection inside a network namespace with only loopback.
//!
//! The S3 tests start `moto_server` (PyPI `moto[server]`) themselves and skip loudly when it is
//! missing, unless `KUDO_DIAG_REQUIRE_S3=1` (set by .ci/run after installing it).

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{bin, run_in, stderr, stdout, Collection, RunArgs, Sim};

// ---------------------------------------------------------------------------------------------
// version, completions, man, NO_COLOR

#[test]
fn version_prints_semver_commit_target_and_format_versions() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(dir.path(), &["version"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let first = text.lines().next().unwrap();
    let v = first.strip_prefix("kudo-diag ").unwrap();
    let parts: Vec<&str> = v.split(['.', '-', '+']).collect();
    assert!(
        parts.len() >= 3 && parts[..3].iter().all(|p| p.parse::<u64>().is_ok()),
        "not SemVer: {v}"
    );
    let bundle_format = format!(
        "bundle format: {}",
        kudo_diag::bundle::writer::BUNDLE_FORMAT_VERSION
    );
    let journal_format = format!(
        "journal format: {}",
        kudo_diag::engine::JOURNAL_FORMAT_VERSION
    );
    for field in [
        "commit: ",
        "target: x86_64-",
        bundle_format.as_str(),
        journal_format.as_str(),
    ] {
        assert!(text.contains(field), "{field} missing from:\n{text}");
    }
    let o = run_in(dir.path(), &["version", "-o", "json"]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        j["bundleFormat"],
        kudo_diag::bundle::writer::BUNDLE_FORMAT_VERSION
    );
    assert_eq!(
        j["journalFormat"],
        kudo_diag::engine::JOURNAL_FORMAT_VERSION
    );
}

#[test]
fn completions_generate_for_bash_zsh_and_fish() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef kudo-diag"),
        ("fish", "complete -c kudo-diag"),
    ] {
        let o = run_in(dir.path(), &["completions", shell]);
        assert!(o.status.success(), "{shell}: {}", stderr(&o));
        let s = stdout(&o);
        assert!(s.contains(marker), "{shell} script lacks {marker:?}");
        assert!(
            s.contains("cron") && s.contains("upload"),
            "{shell}: subcommands missing"
        );
    }
}

#[test]
fn man_pages_render_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(dir.path(), &["man"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let page = stdout(&o);
    assert!(
        page.starts_with(".ie") || page.contains(".TH kudo-diag"),
        "{page}"
    );
    assert!(page.contains("cron"));
    let o = run_in(dir.path(), &["man", "--dir", "man"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let run_page = std::fs::read_to_string(dir.path().join("man/kudo-diag-run.1")).unwrap();
    assert!(run_page.contains("upload"), "run's page lists --upload");
    assert!(dir.path().join("man/kudo-diag-cron-manifest.1").exists());
    // Hidden: not in the help a user reads.
    let help = stdout(&run_in(dir.path(), &["--help"]));
    assert!(!help.contains("\n  man "), "{help}");
}

#[test]
fn no_color_keeps_escape_codes_out_of_logs_and_results() {
    let dir = tempfile::tempdir().unwrap();
    let o = bin()
        .args(["-vv", "cron", "manifest", "--instance", "a", "-n", "ns"])
        .args(["--schedule", "@hourly", "--keep", "2"])
        .env("NO_COLOR", "1")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // The --keep-without-claim warning is a log: on stderr, not in the manifest on stdout.
    assert!(stderr(&o).contains("--volume-claim"), "{}", stderr(&o));
    assert!(!stdout(&o).contains("--volume-claim"));
    assert!(!o.stderr.contains(&0x1b) && !o.stdout.contains(&0x1b));
}

// ---------------------------------------------------------------------------------------------
// cron manifest, judged by kubectl against the simulated cluster

fn kubectl() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("kubectl"))
            .find(|k| k.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("KUDO_DIAG_REQUIRE_KUBECTL").as_deref() != Ok("1"),
            "kubectl is required (KUDO_DIAG_REQUIRE_KUBECTL=1) but not on PATH"
        );
        eprintln!("SKIPPED: kubectl not on PATH");
    }
    found
}

const SCENARIO: &str = include_str!("../data/collect/cassandra-scenario.yaml");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cron_manifest_is_accepted_by_kubectl_and_grants_only_reads() {
    let Some(kubectl) = kubectl() else { return };
    let sc: kudo_diag::sim::scenario::Scenario = kudo_diag::yaml::from_str(SCENARIO).unwrap();
    let (_sim, dir, kubeconfig) = Sim::new(sc).cluster().await;
    let o = run_in(
        dir.path(),
        &[
            "cron",
            "manifest",
            "--instance",
            "cassandra",
            "-n",
            "prod",
            "--pipeline",
            "cassandra",
            "--schedule",
            "0 * * * *",
            "--upload",
            "s3://bundles/prod",
            "--keep",
            "3",
            "--volume-claim",
            "diag",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let manifest = stdout(&o);
    let docs: Vec<serde_json::Value> = kudo_diag::yaml::from_multiple(&manifest).unwrap();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "ServiceAccount",
            "Role",
            "RoleBinding",
            "Role",
            "RoleBinding",
            "ClusterRole",
            "ClusterRoleBinding",
            "CronJob"
        ]
    );
    // Read-only, but for exec's create (cassandra runs nodetool).
    for d in &docs {
        for rule in d["rules"].as_array().into_iter().flatten() {
            for verb in rule["verbs"].as_array().unwrap() {
                let res: Vec<&str> = rule["resources"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap())
                    .collect();
                match verb.as_str().unwrap() {
                    "get" | "list" => {}
                    "create" => assert_eq!(res, ["pods/exec"]),
                    v => panic!("verb {v} on {res:?} is not read-only"),
                }
            }
        }
    }
    // Schema check: every object decodes into its k8s-openapi type and serializes back to the
    // same JSON (a misspelt or misplaced field would be dropped and show up as a difference).
    for d in &docs {
        let back = roundtrip(d);
        assert_eq!(&back, d, "{} does not match its schema", d["kind"]);
    }
    // -o json: the same objects as one v1 List.
    let mut args_json: Vec<&str> =
        vec!["cron", "manifest", "--instance", "cassandra", "-n", "prod"];
    args_json.extend([
        "--pipeline",
        "cassandra",
        "--schedule",
        "0 * * * *",
        "-o",
        "json",
    ]);
    let o = run_in(dir.path(), &args_json);
    assert!(o.status.success(), "{}", stderr(&o));
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().unwrap().len(), docs.len());
    let mut child = Command::new(&kubectl)
        .args(["--kubeconfig"])
        .arg(&kubeconfig)
        // The simulated cluster serves no OpenAPI documents, so kubectl's schema validation is
        // off here; kubectl still maps every kind through the cluster's discovery and decodes
        // each object, and the typed round trip above checks the schema.
        .args(["create", "--dry-run=client", "--validate=false"])
        .args(["-o", "name", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(manifest.as_bytes())
        .unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl refused the manifest: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names = String::from_utf8_lossy(&out.stdout).into_owned();
    for want in [
        "serviceaccount/kudo-diag-cassandra",
        "clusterrole.rbac.authorization.k8s.io/kudo-diag-prod-cassandra",
        "cronjob.batch/kudo-diag-cassandra",
    ] {
        assert!(
            names.contains(want),
            "{want} missing from kubectl's output:\n{names}"
        );
    }
}

fn roundtrip(d: &serde_json::Value) -> serde_json::Value {
    use k8s_openapi::api::{batch::v1::CronJob, core::v1::ServiceAccount, rbac::v1 as rbac};
    fn via<T: serde::de::DeserializeOwned + serde::Serialize>(
        d: &serde_json::Value,
    ) -> serde_json::Value {
        let t: T = serde_json::from_value(d.clone()).expect("decodes into its type");
        serde_json::to_value(t).unwrap()
    }
    match d["kind"].as_str().unwrap() {
        "ServiceAccount" => via::<ServiceAccount>(d),
        "Role" => via::<rbac::Role>(d),
        "RoleBinding" => via::<rbac::RoleBinding>(d),
        "ClusterRole" => via::<rbac::ClusterRole>(d),
        "ClusterRoleBinding" => via::<rbac::ClusterRoleBinding>(d),
        "CronJob" => via::<CronJob>(d),
        k => panic!("unexpected kind {k}"),
    }
}

// ---------------------------------------------------------------------------------------------
// S3 upload against moto on loopback

struct Moto {
    child: Child,
    endpoint: String,
    key_id: String,
    secret: String,
    bucket: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts moto with authentication enforced and a bucket; None (with a loud note) without moto.
fn moto() -> Option<Moto> {
    let required = std::env::var("KUDO_DIAG_REQUIRE_S3").as_deref() == Ok("1");
    let port = free_port();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("INITIAL_NO_AUTH_ACTION_COUNT", "3")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => {
            assert!(
                !required,
                "KUDO_DIAG_REQUIRE_S3=1 but moto_server cannot start ({e}): pip install 'moto[server]'"
            );
            eprintln!("SKIPPED: moto_server not found ({e}); pip install 'moto[server]' to run the S3 tests");
            return None;
        }
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut m = Moto {
        child,
        endpoint,
        key_id: String::new(),
        secret: String::new(),
        bucket: "kudo-diag-test".into(),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not listen on {port} in 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/s3-bootstrap.py");
    let o = Command::new("python3")
        .arg(script)
        .args([&m.endpoint, &m.bucket])
        .output()
        .expect("python3 runs the bootstrap");
    assert!(
        o.status.success(),
        "moto bootstrap failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let mut it = out.split_whitespace();
    m.key_id = it.next().unwrap().to_string();
    m.secret = it.next().unwrap().to_string();
    Some(m)
}

impl Moto {
    fn cmd(&self, dir: &Path) -> Command {
        let mut c = bin();
        c.current_dir(dir)
            .env_remove("KUBECONFIG")
            .env("HOME", dir)
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", &self.key_id)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret)
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN");
        c
    }

    fn store(&self) -> object_store::aws::AmazonS3 {
        kudo_diag::ship::upload::use_ring_for_tls();
        object_store::aws::AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_bucket_name(&self.bucket)
            .with_access_key_id(&self.key_id)
            .with_secret_access_key(&self.secret)
            .build()
            .unwrap()
    }

    async fn keys(&self) -> Vec<String> {
        use futures::TryStreamExt;
        use object_store::ObjectStore;
        let store = self.store();
        let mut keys: Vec<String> = store
            .list(None)
            .map_ok(|m| m.location.to_string())
            .try_collect()
            .await
            .unwrap();
        keys.sort();
        keys
    }

    async fn metadata(&self, key: &str) -> (u64, Option<String>, Option<String>) {
        use object_store::{Attribute, GetOptions, ObjectStore};
        let r = self
            .store()
            .get_opts(
                &object_store::path::Path::from(key),
                GetOptions {
                    head: true,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let m = |k: &'static str| {
            r.attributes
                .get(&Attribute::Metadata(k.into()))
                .map(|v| v.as_ref().to_string())
        };
        (r.meta.size, m("kudo-diag-blake3"), m("kudo-diag-size"))
    }
}

/// A file of `n` bytes that does not compress (so sizes on the wire are real).
fn bundle_file(dir: &Path, name: &str, n: usize) -> (PathBuf, String) {
    let mut data = vec![0u8; n];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for b in data.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let p = dir.join(name);
    std::fs::write(&p, &data).unwrap();
    (p, blake3::hash(&data).to_hex().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_goes_up_in_parts_with_its_hash_as_metadata_and_is_verified() {
    let Some(s3) = moto() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (file, hash) = bundle_file(dir.path(), "b.zip", 12 * 1024 * 1024 + 5);
    let dest = format!("s3://{}/support/prod", s3.bucket);
    let o = s3
        .cmd(dir.path())
        .args(["bundle", "upload", "b.zip", &dest, "--s3-part-size", "5MiB"])
        .args(["-o", "json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["parts"], 3, "{j}");
    assert_eq!(j["blake3"], hash.as_str());
    assert_eq!(j["verified_by_get"], true);
    assert_eq!(
        s3.keys().await,
        ["support/prod/b.zip"],
        "no temporary key is left"
    );
    let (size, b3, sz) = s3.metadata("support/prod/b.zip").await;
    assert_eq!(size, 12 * 1024 * 1024 + 5);
    assert_eq!(b3.as_deref(), Some(hash.as_str()));
    assert_eq!(sz, Some(size.to_string()));
    assert!(!file.with_file_name("b.zip.upload.json").exists());

    // Again: recognised by its metadata, nothing sent.
    let o = s3
        .cmd(dir.path())
        .args(["bundle", "upload", "b.zip", &dest])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("already there"), "{}", stdout(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_fail_clearly_and_leave_nothing() {
    let Some(s3) = moto() else { return };
    let dir = tempfile::tempdir().unwrap();
    bundle_file(dir.path(), "b.zip", 1000);
    let o = s3
        .cmd(dir.path())
        .env("AWS_SECRET_ACCESS_KEY", "not-the-secret")
        .args(["bundle", "upload", "b.zip"])
        .arg(format!("s3://{}/x", s3.bucket))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("refused the credentials") && err.contains("AWS_SECRET_ACCESS_KEY"),
        "{err}"
    );
    assert!(!err.contains(&s3.secret), "the secret is never printed");
    assert!(s3.keys().await.is_empty());
    // A bucket that does not exist says so.
    let o = s3
        .cmd(dir.path())
        .args(["bundle", "upload", "b.zip", "s3://no-such-bucket/x"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("was not found"), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_upload_leaves_nothing_under_the_final_key_and_continue_completes_it() {
    let Some(s3) = moto() else { return };
    let dir = tempfile::tempdir().unwrap();
    let n = 96 * 1024 * 1024;
    let (file, hash) = bundle_file(dir.path(), "big.zip", n);
    let dest = format!("s3://{}/p", s3.bucket);
    let state = file.with_file_name("big.zip.upload.json");
    let mut child = s3
        .cmd(dir.path())
        .args([
            "bundle",
            "upload",
            "big.zip",
            &dest,
            "--s3-part-size",
            "5MiB",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once it is sending (the state file is written just before the first part).
    let deadline = Instant::now() + Duration::from_secs(60);
    while !state.exists() {
        assert!(Instant::now() < deadline, "the upload never started");
        std::thread::sleep(Duration::from_millis(2));
    }
    std::thread::sleep(Duration::from_millis(150));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(status.code().is_none(), "killed before it finished");
    assert!(
        !s3.keys().await.contains(&"p/big.zip".to_string()),
        "nothing under the final key"
    );

    // Without --continue it refuses, saying how to go on.
    let o = s3
        .cmd(dir.path())
        .args(["bundle", "upload", "big.zip", &dest])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--continue"), "{}", stderr(&o));

    let o = s3
        .cmd(dir.path())
        .args([
            "bundle",
            "upload",
            "big.zip",
            &dest,
            "--continue",
            "-o",
            "json",
        ])
        .args(["--s3-part-size", "16MiB"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["blake3"], hash.as_str());
    assert_eq!(s3.keys().await, ["p/big.zip"]);
    let (size, b3, _) = s3.metadata("p/big.zip").await;
    assert_eq!((size, b3.as_deref()), (n as u64, Some(hash.as_str())));
    assert!(!state.exists());
}

/// Older bundles of the instance, one unfinished (must survive), for `--keep`.
fn old_bundles(dir: &Path) -> (Vec<PathBuf>, PathBuf) {
    let old: Vec<PathBuf> = ["20200101T000000Z", "20200102T000000Z"]
        .iter()
        .map(|t| {
            let p = dir.join(format!("kudo-diag_default_selftest_{t}.zip"));
            std::fs::write(&p, b"old").unwrap();
            p
        })
        .collect();
    let unfinished = dir.join("kudo-diag_default_selftest_20191231T000000Z.zip");
    std::fs::write(&unfinished, b"partial").unwrap();
    std::fs::create_dir(dir.join("kudo-diag_default_selftest_20191231T000000Z.zip.partial"))
        .unwrap();
    (old, unfinished)
}

fn selftest_pipeline() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/selftest.yaml")
}

#[test]
fn run_keep_prunes_old_bundles_only_after_the_new_one_is_complete() {
    let dir = tempfile::tempdir().unwrap();
    let (old, unfinished) = old_bundles(dir.path());
    let p = selftest_pipeline();
    let o = RunArgs::new()
        .pipeline(p.to_str().unwrap())
        .args(&["--bundle-dir", ".", "--keep", "2"])
        .progress("plain")
        .run_in(dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!old[0].exists(), "the oldest finished bundle goes");
    assert!(
        old[1].exists(),
        "the newest two stay: this one and the new one"
    );
    assert!(
        unfinished.exists(),
        "an unfinished collection is never touched"
    );
    let finished =
        kudo_diag::ship::retention::bundles_of(dir.path(), "default", "selftest").unwrap();
    assert_eq!(finished.len(), 2);
    assert!(stderr(&o).contains("removed old bundle"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_upload_sends_the_finished_bundle() {
    let Some(s3) = moto() else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = selftest_pipeline();
    let o = s3
        .cmd(dir.path())
        .args([
            "run",
            "--pipeline",
            p.to_str().unwrap(),
            "--bundle",
            "self.zip",
        ])
        .args(["--progress", "plain", "--upload"])
        .arg(format!("s3://{}/runs", s3.bucket))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("uploaded s3://"), "{}", stdout(&o));
    let local = std::fs::read(dir.path().join("self.zip")).unwrap();
    let (size, b3, _) = s3.metadata("runs/self.zip").await;
    assert_eq!(size, local.len() as u64);
    assert_eq!(b3.unwrap(), blake3::hash(&local).to_hex().to_string());
    // A bad destination is refused before anything is collected.
    let o = s3
        .cmd(dir.path())
        .args([
            "run",
            "--pipeline",
            p.to_str().unwrap(),
            "--bundle",
            "two.zip",
        ])
        .args(["--upload", "gs://elsewhere"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("s3://BUCKET"), "{}", stderr(&o));
    assert!(!dir.path().join("two.zip").exists());
}

// ---------------------------------------------------------------------------------------------
// airgapped: a network namespace with only loopback

/// Runs the inner test below inside `unshare -rn` (a user + network namespace: no interface
/// but loopback). Skips loudly where unprivileged namespaces are not permitted.
#[test]
fn collection_works_in_a_network_namespace_with_only_loopback() {
    let probe = Command::new("unshare")
        .args(["-rn", "ip", "link", "set", "lo", "up"])
        .output();
    match probe {
        Ok(o) if o.status.success() => {}
        other => {
            assert!(
                std::env::var("KUDO_DIAG_REQUIRE_NETNS").as_deref() != Ok("1"),
                "KUDO_DIAG_REQUIRE_NETNS=1 but `unshare -rn` is not permitted: {other:?}"
            );
            eprintln!("SKIPPED: cannot create a network namespace (`unshare -rn`): {other:?}");
            return;
        }
    }
    let me = std::env::current_exe().unwrap();
    let o = Command::new("unshare")
        .args(["-rn", "sh", "-c", "ip link set lo up && exec \"$@\"", "sh"])
        .arg(me)
        .args([
            "--exact",
            "ship::airgapped_inner",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("KUDO_DIAG_AIRGAPPED_INNER", "1")
        .env("KUDO_DIAG_BIN", env!("CARGO_BIN_EXE_kudo-diag"))
        .output()
        .unwrap();
    let out = format!("{}\n{}", stdout(&o), stderr(&o));
    assert!(o.status.success(), "inner test failed:\n{out}");
    assert!(out.contains("1 passed"), "the inner test ran:\n{out}");
}

/// Inside the namespace: no route anywhere but loopback; the simulated cluster on 127.0.0.1;
/// the built-in kudo + cassandra pipelines (embedded) collected through the engine; the binary
/// runs a collection and verifies its bundle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run inside a network namespace by collection_works_in_a_network_namespace_with_only_loopback"]
async fn airgapped_inner() {
    if std::env::var("KUDO_DIAG_AIRGAPPED_INNER").as_deref() != Ok("1") {
        return;
    }
    // Proof we are cut off: a public address is unreachable.
    let outside = std::net::TcpStream::connect_timeout(
        &"1.1.1.1:443".parse().unwrap(),
        Duration::from_secs(2),
    );
    assert!(outside.is_err(), "this namespace reaches the network");

    use kudo_diag::engine;
    let sc: kudo_diag::sim::scenario::Scenario = kudo_diag::yaml::from_str(SCENARIO).unwrap();
    let sim = Sim::new(sc).start().await;
    let dir = tempfile::tempdir().unwrap();
    let reg = kudo_diag::registry::default_registry();
    // The embedded texts, not files: what the binary carries.
    let base = kudo_diag::pipeline::builtin::get("kudo").unwrap().text;
    let app = kudo_diag::pipeline::builtin::get("cassandra").unwrap().text;
    let mut doc: kudo_diag::pipeline::PipelineDoc = kudo_diag::yaml::from_str(app).unwrap();
    doc.spec.extends = None;
    std::fs::write(dir.path().join("kudo.yaml"), base).unwrap();
    std::fs::write(
        dir.path().join("cassandra.yaml"),
        kudo_diag::yaml::to_string(&doc).unwrap(),
    )
    .unwrap();
    let specs = [
        dir.path().join("kudo.yaml").display().to_string(),
        dir.path().join("cassandra.yaml").display().to_string(),
    ];
    let pipeline = kudo_diag::pipeline::load::resolve(&specs, &reg).unwrap();
    let out = dir.path().join("airgapped.zip");
    let summary = Collection::new(&sim, pipeline, "prod", "cassandra")
        .output(&out)
        .run(&engine::Silent)
        .await;
    assert!(summary.bundle.is_some(), "a bundle is written");
    assert!(
        summary.counts.done > 20,
        "tasks were collected: {:?}",
        summary.counts
    );
    let mut r = kudo_diag::bundle::reader::BundleReader::open(
        &out,
        kudo_diag::bundle::reader::Limits::default(),
    )
    .unwrap();
    assert!(r.verify().is_clean());
    assert!(r.read("instance/instance.yaml").is_ok());

    // The binary too: a collection and a verify with nothing but loopback.
    let kd = std::env::var("KUDO_DIAG_BIN").unwrap();
    let p = selftest_pipeline();
    let o = Command::new(&kd)
        .args(["run", "--pipeline", p.to_str().unwrap(), "--bundle"])
        .arg(dir.path().join("self.zip"))
        .args(["--progress", "plain"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = Command::new(&kd)
        .args(["bundle", "verify"])
        .arg(dir.path().join("self.zip"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

// ---------------------------------------------------------------------------------------------
// in-cluster configuration: the CronJob's own command line, run as its pod would run it

/// Builds, inside a user + mount namespace, a root file system shaped like the CronJob's pod and
/// runs `kudo-diag "$@"` in it: the host's /usr, /etc, /dev, /proc and /sys (the debug binary is
/// dynamically linked), the binary at /usr/local/bin/kudo-diag (where the image puts it), an
/// empty tmpfs at /tmp (the `tmp` emptyDir), $BUNDLES at /bundles (the `bundles` volume), the
/// service-account files bind-mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount
/// (where the kubelet puts them; /var/run links to /run as on the nodes), and everything else
/// read-only, as `readOnlyRootFilesystem: true` makes it. Nothing on the host changes.
const POD_ROOT: &str = r#"set -eu
R=$POD_ROOT
mount -t tmpfs -o mode=0755 pod-root "$R"
for d in usr etc dev proc sys; do mkdir "$R/$d"; mount --rbind "/$d" "$R/$d"; done
for l in bin sbin lib lib64; do
  if [ -L "/$l" ]; then cp -P "/$l" "$R/$l"
  elif [ -d "/$l" ]; then mkdir "$R/$l"; mount --rbind "/$l" "$R/$l"; fi
done
mkdir -p "$R/tmp" "$R/bundles" "$R/run/secrets/kubernetes.io/serviceaccount" "$R/var"
ln -s /run "$R/var/run"
mount -t tmpfs -o mode=1777 tmp "$R/tmp"
mount --bind "$BUNDLES" "$R/bundles"
mount --bind "$SA" "$R/run/secrets/kubernetes.io/serviceaccount"
mount -o remount,bind,ro "$R/run/secrets/kubernetes.io/serviceaccount"
mount -t tmpfs bin "$R/usr/local/bin"
touch "$R/usr/local/bin/kudo-diag"
mount --bind "$KUDO_DIAG" "$R/usr/local/bin/kudo-diag"
mount -o remount,ro "$R"
unset SA BUNDLES KUDO_DIAG POD_ROOT
exec chroot "$R" /bin/sh -c 'cd /bundles && exec /usr/local/bin/kudo-diag "$@"' sh "$@"
"#;

/// Whether `unshare -rm` may mount and chroot here; else skips loudly, or fails under
/// KUDO_DIAG_REQUIRE_NETNS=1 (set by .ci/run where namespaces work).
fn can_build_pod_root() -> bool {
    let dir = tempfile::tempdir().unwrap();
    let probe = Command::new("unshare")
        .args(["-rm", "sh", "-c"])
        .arg("mount -t tmpfs probe \"$1\" && chroot / true")
        .arg("sh")
        .arg(dir.path())
        .env("PATH", pod_path())
        .output();
    match probe {
        Ok(o) if o.status.success() => true,
        other => {
            assert!(
                std::env::var("KUDO_DIAG_REQUIRE_NETNS").as_deref() != Ok("1"),
                "KUDO_DIAG_REQUIRE_NETNS=1 but `unshare -rm` cannot mount and chroot: {other:?}"
            );
            eprintln!("SKIPPED: cannot mount and chroot in a namespace (`unshare -rm`): {other:?}");
            false
        }
    }
}

/// The host's PATH with the sbin folders (chroot lives there) that a non-login PATH may lack.
fn pod_path() -> String {
    let host = std::env::var("PATH").unwrap_or_default();
    format!("{host}:/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin")
}

/// What the CronJob's pod gets from the kubelet: the service-account files and the API server's
/// address in KUBERNETES_SERVICE_HOST/PORT. No kubeconfig anywhere.
struct Pod<'a> {
    sim: &'a kudo_diag::sim::SimHandle,
    /// An empty folder the pod's root is mounted on (in the namespace only).
    root: PathBuf,
    sa: PathBuf,
    bundles: PathBuf,
    env: Vec<(String, String)>,
}

impl Pod<'_> {
    /// Runs `kudo-diag ARGS` in the pod's root with only the container's environment.
    async fn run(&self, args: &[String]) -> std::process::Output {
        let mut cmd = tokio::process::Command::new("unshare");
        cmd.args(["-rm", "sh", "-c", POD_ROOT, "sh"])
            .args(args)
            .env_clear()
            .env("PATH", pod_path())
            .env("POD_ROOT", &self.root)
            .env("SA", &self.sa)
            .env("BUNDLES", &self.bundles)
            .env("KUDO_DIAG", env!("CARGO_BIN_EXE_kudo-diag"))
            .env("KUBERNETES_SERVICE_HOST", self.sim.addr().ip().to_string())
            .env(
                "KUBERNETES_SERVICE_PORT",
                self.sim.addr().port().to_string(),
            )
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        cmd.output().await.expect("unshare runs")
    }
}

/// Opens a bundle, checks it verifies clean and holds the instance, and returns its target.
fn verified_target(path: &Path) -> serde_json::Value {
    use kudo_diag::bundle::reader::{BundleReader, Limits};
    let mut r = BundleReader::open(path, Limits::default()).unwrap();
    let report = r.verify();
    assert!(report.is_clean(), "{:?}", report.problems());
    assert!(r.contains("instance/instance.yaml"), "instance collected");
    assert!(r.errors().is_empty(), "tasks failed: {:?}", r.errors());
    r.manifest().meta.target.clone()
}

/// The CronJob's pod, reproduced: `cron manifest` gives the container's arguments, environment
/// and mounts; the binary runs those exact arguments in a pod-shaped root (see POD_ROOT) with
/// the simulated cluster's token, CA and namespace where the kubelet puts them and its address
/// in KUBERNETES_SERVICE_HOST/PORT, no KUBECONFIG and no ~/.kube. First a run without -n (the
/// namespace comes from the service-account file) leaves an older bundle on the volume, then
/// the manifest's run with `--keep 1` replaces it: both bundles verify and name the sim and
/// namespace `prod`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_cluster_run_of_the_cronjob_command_line_collects_from_the_simulated_cluster() {
    if !can_build_pod_root() {
        return;
    }
    let sc: kudo_diag::sim::scenario::Scenario = kudo_diag::yaml::from_str(SCENARIO).unwrap();
    let sim = Sim::new(sc).start().await;
    let work = tempfile::tempdir().unwrap();
    let sa = work.path().join("serviceaccount");
    let bundles = work.path().join("bundles");
    std::fs::create_dir_all(&sa).unwrap();
    std::fs::create_dir_all(&bundles).unwrap();
    std::fs::write(sa.join("token"), sim.token()).unwrap();
    std::fs::write(sa.join("ca.crt"), sim.ca_pem()).unwrap();
    std::fs::write(sa.join("namespace"), "prod").unwrap();

    // The container as the manifest describes it.
    let o = run_in(
        work.path(),
        &[
            "cron",
            "manifest",
            "--instance",
            "cassandra",
            "-n",
            "prod",
            "--pipeline",
            "cassandra",
            "--schedule",
            "0 * * * *",
            "--keep",
            "1",
            "--volume-claim",
            "diag",
            "-o",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let cron = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "CronJob")
        .expect("a CronJob");
    let c = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
    assert!(c["command"].is_null(), "the image's entrypoint runs");
    let args: Vec<String> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    let env: Vec<(String, String)> = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut mounts: Vec<&str> = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mountPath"].as_str().unwrap())
        .collect();
    mounts.sort();
    // The pod root provides exactly these; a new mount in the manifest must be added there.
    assert_eq!(mounts, ["/bundles", "/tmp"]);
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    let root = work.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let pod = Pod {
        sim: &sim,
        root,
        sa: sa.clone(),
        bundles: bundles.clone(),
        env,
    };

    // Without -n: the namespace is the service account's (a name in the past, so the
    // scheduled run below counts it as an older bundle of this instance).
    let older = "kudo-diag_prod_cassandra_20200101T000000Z.zip";
    let o = pod
        .run(&[
            "run".into(),
            "--instance".into(),
            "cassandra".into(),
            "--bundle".into(),
            format!("/bundles/{older}"),
            "--progress".into(),
            "plain".into(),
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let target = verified_target(&bundles.join(older));
    assert_eq!(target["namespace"], "prod");
    assert_eq!(target["instance"], "cassandra");
    assert_eq!(
        target["cluster"].as_str().unwrap().trim_end_matches('/'),
        sim.base_url(),
        "the in-cluster server was used"
    );

    // The CronJob's command line, unchanged.
    let o = pod.run(&args).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The summary is a result (stdout); progress and pruning notes are logs (stderr).
    assert!(stdout(&o).contains("collection complete"), "{}", stdout(&o));
    assert!(
        stderr(&o)
            .contains("removed old bundle /bundles/kudo-diag_prod_cassandra_20200101T000000Z.zip"),
        "{}",
        stderr(&o)
    );
    let left: Vec<String> = std::fs::read_dir(&bundles)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left.len(),
        1,
        "--keep 1 leaves the new bundle only: {left:?}"
    );
    assert_ne!(left[0], older);
    assert!(
        kudo_diag::ship::retention::is_bundle_of(&left[0], "prod", "cassandra"),
        "{left:?}"
    );
    let target = verified_target(&bundles.join(&left[0]));
    assert_eq!(target["namespace"], "prod");
    assert_eq!(target["instance"], "cassandra");

    // The service account's namespace really is what a run without -n uses.
    std::fs::write(sa.join("namespace"), "elsewhere").unwrap();
    let o = pod
        .run(&["run".into(), "--instance".into(), "cassandra".into()])
        .await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("namespace \"elsewhere\""),
        "{}",
        stderr(&o)
    );

    // A token the API server refuses (rotated, revoked) is a credentials problem in the pod too.
    std::fs::write(sa.join("namespace"), "prod").unwrap();
    std::fs::write(sa.join("token"), "revoked-token").unwrap();
    let o = pod.run(&args).await;
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("rejected the credentials (401"), "{err}");
    assert!(err.contains("kubectl config view"), "{err}");
    assert!(!err.contains("cannot reach"), "{err}");
    assert!(!err.contains("revoked-token"), "{err}");
}

// ---------------------------------------------------------------------------------------------

/// No AWS_* credentials or endpoint in the environment: a named profile of the shared files
/// gives them (keys from `credentials`, region and endpoint_url from `config`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_region_and_endpoint_come_from_a_named_profile() {
    let Some(s3) = moto() else { return };
    let dir = tempfile::tempdir().unwrap();
    bundle_file(dir.path(), "p.zip", 2048);
    std::fs::write(
        dir.path().join("credentials"),
        format!(
            "[default]\naws_access_key_id = nobody\naws_secret_access_key = nothing\n\n[diag]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            s3.key_id, s3.secret
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("config"),
        format!(
            "[profile diag]\nregion = us-east-1\nendpoint_url = {}\n",
            s3.endpoint
        ),
    )
    .unwrap();
    let o = bin()
        .current_dir(dir.path())
        .env_remove("KUBECONFIG")
        .env("HOME", dir.path())
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_REGION")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.path().join("credentials"),
        )
        .env("AWS_CONFIG_FILE", dir.path().join("config"))
        .env("AWS_PROFILE", "diag")
        .args(["bundle", "upload", "p.zip"])
        .arg(format!("s3://{}/profiles", s3.bucket))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(s3.keys().await, ["profiles/p.zip"]);
    // A profile that does not exist is named in the error.
    let o = bin()
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.path().join("credentials"),
        )
        .env("AWS_CONFIG_FILE", dir.path().join("config"))
        .args(["bundle", "upload", "p.zip", "s3://any-bucket/x"])
        .args(["--s3-profile", "nosuch"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("\"nosuch\""), "{}", stderr(&o));
}

/// The static binary's checks (.ci/static-test.sh): a classic static executable (ldd: "not a
/// dynamic executable"), no OpenSSL, `version`, the simulated cluster served over TLS to kubectl,
/// a collection and its verification, an upload through a host name, and the FROM scratch image
/// built with buildah running `version` and an in-cluster collection (when buildah is there).
/// Ignored by default because `make static` is a release musl build (21 to 48 min cold on a
/// loaded 2-core machine); `.ci/run` runs `make static-test`, or run this test with `--ignored`
/// after `make static`.
#[test]
#[ignore = "needs `make static` first (a slow release musl build)"]
fn static_binary_passes_its_checks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = root.join("target/x86_64-unknown-linux-musl/release/kudo-diag");
    assert!(
        bin.is_file(),
        "run `make static` first: {} is missing",
        bin.display()
    );
    let o = Command::new("bash")
        .arg(root.join(".ci/static-test.sh"))
        .arg(&bin)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("static binary OK"));
}
