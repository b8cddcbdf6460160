//! `kudo-diag version`: SemVer, git commit, build target and the on-disk format versions, so a
//! support engineer can tell which bundles and journals a binary reads and writes.

use crate::bundle::writer::BUNDLE_FORMAT_VERSION;
use crate::engine::JOURNAL_FORMAT_VERSION;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Yaml,
}

/// What `version` reports.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionInfo {
    pub version: &'static str,
    pub commit: &'static str,
    pub target: &'static str,
    pub bundle_format: u32,
    pub journal_format: u32,
}

pub fn info() -> VersionInfo {
    VersionInfo {
        version: crate::VERSION,
        commit: crate::GIT_COMMIT,
        target: env!("KUDO_DIAG_TARGET"),
        bundle_format: BUNDLE_FORMAT_VERSION,
        journal_format: JOURNAL_FORMAT_VERSION,
    }
}

pub fn exec(args: Args) -> crate::Result<u8> {
    let i = info();
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&i).expect("version serializes")
        ),
        Format::Yaml => print!(
            "{}",
            crate::yaml::to_string(&i).expect("version serializes")
        ),
        Format::Text => {
            println!("kudo-diag {}", i.version);
            println!("commit: {}", i.commit);
            println!("target: {}", i.target);
            println!("bundle format: {}", i.bundle_format);
            println!("journal format: {}", i.journal_format);
        }
    }
    Ok(crate::exit::OK)
}
