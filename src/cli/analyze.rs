//! `kudo-diag analyze BUNDLE`: explain what is wrong, from a bundle, as text (colour on a
//! terminal unless NO_COLOR), JSON or HTML; the exit code says whether findings at or above
//! `--fail-on` were found, so scripts and cron can act on it.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::ValueEnum;

use crate::analyze::{self, custom, Severity};
use crate::{exit, Error};

use super::output::{self, FormatOrFile, FormatOrFileParser};

/// Explain what is wrong, from a bundle.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  kudo-diag analyze cassandra.zip                          report on the terminal
  kudo-diag analyze cassandra.zip -o html --report r.html  one self-contained HTML page
  kudo-diag analyze cassandra.zip -o json --fail-on never | jq .counts
  kudo-diag analyze cassandra.zip --rules myop.rules.yaml  add an operator's own rules
  kudo-diag analyze support-bundle.tar.gz                  a troubleshoot.sh bundle: Kubernetes-level rules

Exit codes: 0 no finding at or above --fail-on, 6 findings at or above it, 1 the bundle could
not be analyzed (unreadable, hostile, or its hashes do not match), 2 bad usage.")]
pub struct Args {
    /// The bundle (.zip) written by `kudo-diag run`, or a troubleshoot.sh support bundle
    /// (.tar.gz or its folder).
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
    /// Output format (default: text).
    #[arg(short = 'o', long = "output", value_name = "FORMAT",
          value_parser = FormatOrFileParser::<Format>::new())]
    pub output: Option<FormatOrFile<Format>>,
    /// Write the report to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// The old spelling of -o/--output FORMAT.
    #[arg(long, value_enum, hide = true)]
    pub format: Option<Format>,
    /// Exit with code 6 when a finding at or above this severity exists.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Extra analyzer rules in YAML (docs/analyzers.md); repeatable.
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Colour the text report: auto (on a terminal without NO_COLOR), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Html,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The exit code for a report under a `--fail-on` threshold.
pub fn exit_code(report: &analyze::Report, fail_on: FailOn) -> u8 {
    let min = match fail_on {
        FailOn::Error => Severity::Error,
        FailOn::Warning => Severity::Warning,
        FailOn::Never => return exit::OK,
    };
    if report.at_least(min) > 0 {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

pub fn exec(args: Args) -> crate::Result<u8> {
    let (format, report_file) =
        output::format_and_report(args.output, args.format, args.report, Format::Text)?;
    let mut extra = Vec::new();
    let mut problems = Vec::new();
    for f in &args.rules {
        let text = std::fs::read_to_string(f).map_err(|e| Error::io(f, e))?;
        match custom::parse_rules(&f.display().to_string(), &text) {
            Ok(r) => extra.extend(r),
            Err(e) => problems.push(e),
        }
    }
    if !problems.is_empty() {
        return Err(Error::Usage(problems.join("\n")));
    }
    let opts = analyze::Options {
        extra_rules: extra,
        limits: None,
    };
    let report = analyze::analyze_bundle_with(&args.bundle, &opts)?;
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            report_file.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let out = match format {
        Format::Text => analyze::render_text(&report, color),
        Format::Json => analyze::render_json(&report),
        Format::Html => analyze::render_html(&report),
    };
    match &report_file {
        Some(p) => {
            // Write beside the target and rename, so a reader never sees half a report.
            let tmp = p.with_extension("kudo-diag-tmp");
            std::fs::write(&tmp, out.as_bytes()).map_err(|e| Error::io(&tmp, e))?;
            std::fs::rename(&tmp, p).map_err(|e| Error::io(p, e))?;
            eprintln!(
                "wrote {} ({} errors, {} warnings, {} info)",
                p.display(),
                report.counts.error,
                report.counts.warning,
                report.counts.info
            );
        }
        None => {
            let mut so = std::io::stdout().lock();
            let _ = so.write_all(out.as_bytes());
            let _ = so.flush();
        }
    }
    Ok(exit_code(&report, args.fail_on))
}
