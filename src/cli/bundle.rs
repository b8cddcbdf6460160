//! `kudo-diag bundle`: verify and inspect a bundle without unpacking it. Every subcommand goes
//! through `BundleReader`, so a hostile bundle is rejected the same way everywhere.

use std::io::Write;
use std::path::PathBuf;

use crate::bundle::reader::{BundleReader, Limits};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  kudo-diag bundle verify cassandra.zip           recompute every hash (exit 1 on any mismatch)\n  kudo-diag bundle ls cassandra.zip -o json       list files with sizes and producing tasks\n  kudo-diag bundle cat cassandra.zip manifest.json"
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Recompute the blake3 of every file in the manifest; exit 1 listing every problem.
    Verify {
        /// The bundle (.zip).
        file: PathBuf,
        /// Output format.
        #[arg(
            short = 'o',
            long = "output",
            value_name = "FORMAT",
            value_enum,
            default_value = "text"
        )]
        format: Format,
    },
    /// List the files of a bundle: path, size and the task that produced it.
    Ls {
        /// The bundle (.zip).
        file: PathBuf,
        /// Output format.
        #[arg(
            short = 'o',
            long = "output",
            value_name = "FORMAT",
            value_enum,
            default_value = "text"
        )]
        format: Format,
    },
    /// Print one file of a bundle to stdout.
    Cat {
        /// The bundle (.zip).
        file: PathBuf,
        /// Path of the file inside the bundle (see `bundle ls`).
        path: String,
    },
    /// Upload a bundle to S3-compatible object storage and verify it.
    Upload(super::upload::Args),
}

pub async fn exec(args: Args, _g: &super::Global) -> crate::Result<u8> {
    match args.command {
        Command::Verify { file, format } => verify(file, format),
        Command::Ls { file, format } => ls(file, format),
        Command::Cat { file, path } => cat(file, &path),
        Command::Upload(a) => super::upload::exec(a).await,
    }
}

fn verify(file: PathBuf, format: Format) -> crate::Result<u8> {
    let mut r = BundleReader::open(&file, Limits::default())?;
    let rep = r.verify();
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&rep).expect("report serializes")
        ),
        Format::Text => {
            if rep.is_clean() {
                println!(
                    "{}: ok, {} files ({} bytes) match their manifest hashes",
                    file.display(),
                    rep.checked,
                    rep.bytes
                );
            } else {
                for p in rep.problems() {
                    println!("{p}");
                }
            }
        }
    }
    if rep.is_clean() {
        Ok(crate::exit::OK)
    } else {
        if format == Format::Text {
            eprintln!(
                "error: bundle {} failed verification: {} problem(s); it was altered or damaged after it was written, collect it again",
                file.display(),
                rep.problems().len()
            );
        }
        Ok(crate::exit::ERROR)
    }
}

#[derive(serde::Serialize)]
struct LsRow<'a> {
    path: &'a str,
    bytes: u64,
    #[serde(rename = "compressedBytes")]
    compressed_bytes: u64,
    task: &'a str,
}

fn ls(file: PathBuf, format: Format) -> crate::Result<u8> {
    let r = BundleReader::open(&file, Limits::default())?;
    let rows: Vec<LsRow<'_>> = r
        .entries()
        .map(|e| LsRow {
            path: &e.path,
            bytes: e.bytes,
            compressed_bytes: e.compressed_bytes,
            task: r
                .manifest_entry(&e.path)
                .map(|m| m.task.as_str())
                .unwrap_or(if e.path == crate::bundle::layout::MANIFEST {
                    "kudo-diag"
                } else {
                    "-"
                }),
        })
        .collect();
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&rows).expect("rows serialize")
        ),
        Format::Text => {
            let tw = rows.iter().map(|r| r.task.len()).max().unwrap_or(4).max(4);
            println!("{:>12}  {:<tw$}  PATH", "BYTES", "TASK");
            for row in &rows {
                println!("{:>12}  {:<tw$}  {}", row.bytes, row.task, row.path);
            }
        }
    }
    Ok(crate::exit::OK)
}

fn cat(file: PathBuf, path: &str) -> crate::Result<u8> {
    let mut r = BundleReader::open(&file, Limits::default())?;
    let mut entry = r.reader(path)?;
    let mut out = std::io::stdout().lock();
    std::io::copy(&mut entry, &mut out)
        .and_then(|_| out.flush())
        .map_err(|e| match e.kind() {
            // The reader of stdout has gone: `main` ends quietly on this error.
            std::io::ErrorKind::BrokenPipe => crate::Error::io("standard output", e),
            _ => crate::Error::Other(format!("reading {path} from {}: {e}", file.display())),
        })?;
    Ok(crate::exit::OK)
}
