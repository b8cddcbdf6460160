//! `kudo-diag diff OLD.zip NEW.zip`: what changed between two collections of the same instance,
//! as text, JSON or HTML; `--latest N DIR` compares the newest N bundles of a folder (cron runs
//! name bundles so that they sort by time), each with the one before it.

use std::io::Write;
use std::path::PathBuf;

use crate::analyze::diff;
use crate::{exit, Error};

use super::analyze::Format;
use super::output::{self, FormatOrFile, FormatOrFileParser};

/// Show what changed between two bundles of the same instance.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  kudo-diag diff monday.zip tuesday.zip                 what changed, on the terminal
  kudo-diag diff --latest 2 /var/lib/kudo-diag          the newest two bundles of a cron folder
  kudo-diag diff old.zip new.zip -o html --report d.html

Exit codes: 0 the diff was written; 1 a bundle could not be read or analyzed, the bundles are
of different instances, or the folder holds too few bundles; 2 bad command line.")]
pub struct Args {
    /// OLD.zip NEW.zip, or with --latest the folder of bundles.
    #[arg(value_name = "BUNDLE|DIR", num_args = 1..=2, required = true)]
    pub paths: Vec<PathBuf>,
    /// Compare the newest N bundles in DIR (by the time in their names), each with the one
    /// before it.
    #[arg(long, value_name = "N")]
    pub latest: Option<usize>,
    /// Output format (default: text).
    #[arg(short = 'o', long = "output", value_name = "FORMAT",
          value_parser = FormatOrFileParser::<Format>::new())]
    pub output: Option<FormatOrFile<Format>>,
    /// Write the diff to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// The old spelling of -o/--output FORMAT.
    #[arg(long, value_enum, hide = true)]
    pub format: Option<Format>,
}

/// The pairs to compare, oldest first.
fn pairs(args: &Args) -> crate::Result<Vec<(PathBuf, PathBuf)>> {
    match (args.latest, args.paths.as_slice()) {
        (Some(n), [dir]) => {
            if n < 2 {
                return Err(Error::Usage(format!(
                    "--latest {n}: give at least 2 (the newest two bundles are compared)"
                )));
            }
            let v = diff::latest(dir, n)?;
            Ok(v.windows(2).map(|w| (w[0].clone(), w[1].clone())).collect())
        }
        (Some(_), _) => Err(Error::Usage(
            "--latest N takes one folder: `kudo-diag diff --latest 2 DIR`".into(),
        )),
        (None, [old, new]) => Ok(vec![(old.clone(), new.clone())]),
        (None, _) => Err(Error::Usage(
            "give two bundles (`kudo-diag diff OLD.zip NEW.zip`) or a folder with --latest N"
                .into(),
        )),
    }
}

pub fn exec(args: Args) -> crate::Result<u8> {
    let pairs = pairs(&args)?;
    let (format, report_file) =
        output::format_and_report(args.output, args.format, args.report, Format::Text)?;
    let mut out = String::new();
    let mut all = Vec::new();
    for (old, new) in pairs {
        let d = diff::diff_bundles(&old, &new)?;
        match format {
            Format::Text => out.push_str(&diff::render_text(&d)),
            Format::Html => out.push_str(&diff::render_html(&d)),
            Format::Json => {}
        }
        all.push(d);
    }
    if format == Format::Json {
        out = if all.len() == 1 {
            diff::render_json(&all[0])
        } else {
            let mut s = serde_json::to_string_pretty(&all).expect("diffs serialize");
            s.push('\n');
            s
        };
    }
    match &report_file {
        Some(p) => {
            let tmp = p.with_extension("kudo-diag-tmp");
            std::fs::write(&tmp, out.as_bytes()).map_err(|e| Error::io(&tmp, e))?;
            std::fs::rename(&tmp, p).map_err(|e| Error::io(p, e))?;
            eprintln!("wrote {}", p.display());
        }
        None => {
            let mut so = std::io::stdout().lock();
            let _ = so.write_all(out.as_bytes());
            let _ = so.flush();
        }
    }
    Ok(exit::OK)
}
