//! The output flags, spelled as kubectl spells them: `-o/--output` is the format in every
//! command that has one, reports go to `--report FILE`, bundles to `--bundle FILE.zip` or
//! `--bundle-dir DIR`. Each old spelling still works and says what replaced it; and every
//! command that prints ends quietly when its reader has gone.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use clap::CommandFactory;

use crate::support::{run_in, stderr, stdout};

/// A bundle of the engine's own selftest pipeline (no cluster), written with `--bundle`.
fn selftest_bundle(dir: &Path, name: &str) -> PathBuf {
    let o = run_in(
        dir,
        &[
            "run",
            "--pipeline",
            "selftest",
            "--bundle",
            name,
            "--progress",
            "none",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("deprecated"), "{}", stderr(&o));
    dir.join(name)
}

fn preflight_package() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/preflight/operators/zookeeper")
        .display()
        .to_string()
}

/// The one note an old spelling prints, naming its replacement.
fn assert_note(o: &Output, old: &str, new: &str) {
    let err = stderr(o);
    let notes: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("note: ") && l.contains("deprecated"))
        .collect();
    assert_eq!(notes.len(), 1, "{err}");
    assert!(notes[0].contains(old), "{err}");
    assert!(notes[0].contains(&format!("use {new}")), "{err}");
}

#[test]
fn every_format_is_dash_o_output_and_no_old_spelling_shows_in_help() {
    fn walk(cmd: &clap::Command, path: &str, formats: &mut Vec<String>) {
        for a in cmd.get_arguments() {
            let long = a.get_long().unwrap_or_default();
            if a.is_hide_set() {
                continue;
            }
            assert_ne!(long, "format", "{path}: --format is the old spelling of -o");
            assert_ne!(
                long, "output-dir",
                "{path}: --output-dir is now --bundle-dir"
            );
            if long == "output" {
                assert_eq!(a.get_short(), Some('o'), "{path}");
                let names: Vec<_> = a.get_value_names().unwrap_or_default().to_vec();
                assert_eq!(names, ["FORMAT"], "{path}: -o/--output is the format");
                assert!(!a.get_possible_values().is_empty(), "{path}");
                formats.push(path.to_string());
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, &format!("{path} {}", sub.get_name()), formats);
        }
    }
    let mut formats = Vec::new();
    walk(&kudo_diag::cli::Cli::command(), "kudo-diag", &mut formats);
    for cmd in [
        "kudo-diag analyze",
        "kudo-diag diff",
        "kudo-diag preflight",
        "kudo-diag version",
        "kudo-diag bundle verify",
        "kudo-diag bundle ls",
        "kudo-diag bundle upload",
        "kudo-diag cron manifest",
    ] {
        assert!(formats.iter().any(|f| f == cmd), "{cmd}: {formats:?}");
    }
    let dir = tempfile::tempdir().unwrap();
    let help = stdout(&run_in(dir.path(), &["run", "--help"]));
    assert!(help.contains("--bundle <FILE.zip>"), "{help}");
    assert!(help.contains("--bundle-dir <DIR>"), "{help}");
    assert!(!help.contains("-o, --output"), "{help}");
}

#[test]
fn new_spellings_print_no_note_and_a_format_name_is_never_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let b = selftest_bundle(dir.path(), "b.zip");
    let b = b.to_str().unwrap();
    let o = run_in(
        dir.path(),
        &["analyze", b, "-o", "json", "--report", "r.json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("note:"), "{}", stderr(&o));
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    assert!(r["schemaVersion"].is_number());
    // `-o json` alone is the format on stdout, never a file named json.
    let o = run_in(dir.path(), &["analyze", b, "--output", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    serde_json::from_str::<serde_json::Value>(&stdout(&o)).unwrap();
    assert!(!dir.path().join("json").exists());
    let o = run_in(
        dir.path(),
        &["diff", b, b, "-o", "html", "--report", "d.html"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("note:"), "{}", stderr(&o));
    assert!(std::fs::read_to_string(dir.path().join("d.html"))
        .unwrap()
        .contains("<html"));
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let o = run_in(
        dir.path(),
        &[
            "run",
            "--pipeline",
            "selftest",
            "--bundle-dir",
            "out",
            "--progress",
            "none",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("note:"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_dir(dir.path().join("out")).unwrap().count(),
        1
    );
    // Two spellings of one thing are a usage error, not a silent choice.
    let o = run_in(
        dir.path(),
        &["analyze", b, "-o", "json", "--format", "text"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("give the format once"),
        "{}",
        stderr(&o)
    );
    let o = run_in(
        dir.path(),
        &[
            "run",
            "--pipeline",
            "selftest",
            "--bundle",
            "x.zip",
            "-o",
            "y.zip",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
}

#[test]
fn run_dash_o_file_still_writes_the_bundle_and_names_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(
        dir.path(),
        &[
            "run",
            "--pipeline",
            "selftest",
            "-o",
            "old.zip",
            "--progress",
            "none",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_note(&o, "-o/--output FILE.zip", "--bundle FILE.zip");
    assert!(dir.path().join("old.zip").is_file());
}

#[test]
fn run_output_dir_still_names_the_bundle_in_the_folder_and_names_bundle_dir() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let o = run_in(
        dir.path(),
        &[
            "run",
            "--pipeline",
            "selftest",
            "--output-dir",
            "out",
            "--progress",
            "none",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_note(&o, "--output-dir DIR", "--bundle-dir DIR");
    let names: Vec<String> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].starts_with("kudo-diag_") && names[0].ends_with(".zip"));
}

#[test]
fn analyze_format_still_picks_the_format_and_names_dash_o() {
    let dir = tempfile::tempdir().unwrap();
    let b = selftest_bundle(dir.path(), "b.zip");
    let o = run_in(
        dir.path(),
        &["analyze", b.to_str().unwrap(), "--format", "json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_note(&o, "--format", "-o/--output");
    serde_json::from_str::<serde_json::Value>(&stdout(&o)).unwrap();
}

#[test]
fn analyze_dash_o_file_still_writes_the_report_and_names_report() {
    let dir = tempfile::tempdir().unwrap();
    let b = selftest_bundle(dir.path(), "b.zip");
    let o = run_in(dir.path(), &["analyze", b.to_str().unwrap(), "-o", "r.txt"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_note(&o, "-o/--output FILE (r.txt)", "--report FILE");
    let text = std::fs::read_to_string(dir.path().join("r.txt")).unwrap();
    assert!(text.starts_with("kudo-diag analysis"), "{text}");
}

#[test]
fn diff_format_still_picks_the_format_and_names_dash_o() {
    let dir = tempfile::tempdir().unwrap();
    let b = selftest_bundle(dir.path(), "b.zip");
    let b = b.to_str().unwrap();
    let o = run_in(dir.path(), &["diff", b, b, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_note(&o, "--format", "-o/--output");
    serde_json::from_str::<serde_json::Value>(&stdout(&o)).unwrap();
}

#[test]
fn diff_dash_o_file_still_writes_the_diff_and_names_report() {
    let dir = tempfile::tempdir().unwrap();
    let b = selftest_bundle(dir.path(), "b.zip");
    let b = b.to_str().unwrap();
    let o = run_in(dir.path(), &["diff", b, b, "-o", "d.txt"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_note(&o, "-o/--output FILE (d.txt)", "--report FILE");
    assert!(dir.path().join("d.txt").is_file());
}

#[test]
fn preflight_format_still_picks_the_format_and_names_dash_o() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = preflight_package();
    let o = run_in(
        dir.path(),
        &["preflight", &pkg, "--no-cluster", "--format", "json"],
    );
    assert_note(&o, "--format", "-o/--output");
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v.to_string().contains("kudo-diag.preflight/v1"), "{v}");
    let new = run_in(
        dir.path(),
        &["preflight", &pkg, "--no-cluster", "-o", "json"],
    );
    assert!(!stderr(&new).contains("note:"), "{}", stderr(&new));
    assert_eq!(new.status.code(), o.status.code());
}

#[test]
fn demo_output_dir_still_works_and_names_bundle_dir() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("d")).unwrap();
    let o = run_in(
        dir.path(),
        &["demo", "--output-dir", "d", "--progress", "none"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_note(&o, "--output-dir DIR", "--bundle-dir DIR");
    assert_eq!(std::fs::read_dir(dir.path().join("d")).unwrap().count(), 1);
    // The demo's next steps use the new spellings.
    assert!(
        stdout(&o).contains("-o html --report report.html"),
        "{}",
        stdout(&o)
    );
}

/// Runs `kudo-diag ARGS` in `dir` with a standard output whose reader is already closed, so
/// every write to it fails as `... | head -0` makes it fail.
fn with_closed_stdout(dir: &Path, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    crate::support::bin()
        .args(args)
        .current_dir(dir)
        .env_remove("KUBECONFIG")
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn every_command_that_prints_ends_quietly_on_a_closed_stdout() {
    // `sim` and `serve` are servers (they run until interrupted) and `bundle upload` needs an
    // object store (tests/integration/ship.rs); every other command is here.
    let dir = tempfile::tempdir().unwrap();
    let b = selftest_bundle(dir.path(), "b.zip");
    let b = b.to_str().unwrap();
    let pkg = preflight_package();
    let cron = [
        "cron",
        "manifest",
        "--instance",
        "c",
        "-n",
        "p",
        "--pipeline",
        "cassandra",
        "--schedule",
        "@daily",
    ];
    let cron_json: Vec<&str> = cron.iter().copied().chain(["-o", "json"]).collect();
    let runs: Vec<Vec<&str>> = vec![
        vec!["--help"],
        vec!["run", "--help"],
        vec!["version"],
        vec!["version", "-o", "json"],
        vec!["version", "-o", "yaml"],
        vec!["completions", "bash"],
        vec!["man"],
        vec!["pipelines", "list"],
        vec!["pipelines", "show", "selftest"],
        vec!["pipelines", "validate", "selftest"],
        vec!["pipelines", "graph", "selftest"],
        vec!["pipelines", "kinds"],
        vec!["sim", "list"],
        vec!["bundle", "ls", b],
        vec!["bundle", "ls", b, "-o", "json"],
        vec!["bundle", "verify", b],
        vec!["bundle", "verify", b, "-o", "json"],
        vec!["bundle", "cat", b, "manifest.json"],
        vec!["analyze", b],
        vec!["analyze", b, "-o", "json"],
        vec!["analyze", b, "-o", "html"],
        vec!["diff", b, b],
        vec!["diff", b, b, "-o", "json"],
        vec!["preflight", &pkg, "--no-cluster"],
        vec!["preflight", &pkg, "--no-cluster", "-o", "json"],
        cron.to_vec(),
        cron_json,
        vec![
            "run",
            "--pipeline",
            "selftest",
            "--bundle",
            "closed.zip",
            "--progress",
            "none",
        ],
        vec!["demo", "--bundle-dir", "demo", "--progress", "none"],
    ];
    std::fs::create_dir(dir.path().join("demo")).unwrap();
    let mut seen = Vec::new();
    for args in &runs {
        let o = with_closed_stdout(dir.path(), args);
        let err = stderr(&o);
        assert!(
            matches!(o.status.code(), Some(0) | Some(141)),
            "{args:?}: {:?} {err}",
            o.status
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
        seen.push(args[0]);
    }
    // Every subcommand but the servers and the upload was tried.
    for sub in kudo_diag::cli::Cli::command().get_subcommands() {
        let name = sub.get_name();
        if !["sim", "serve", "help"].contains(&name) {
            assert!(
                seen.contains(&name),
                "{name} is not tried with a closed stdout"
            );
        }
    }
}
