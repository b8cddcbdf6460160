//! The command line. clap types stay in this module; each subcommand lives in its own file with
//! an `Args` struct and an `exec` function that hands validated settings to the library. `args`
//! holds the top-level command and global flags, `entry` the process's `main`, `output` the
//! output flags every subcommand spells alike (`-o/--output FORMAT`, `--report`, `--bundle`) and
//! their old spellings.

pub mod analyze;
mod args;
pub mod bundle;
pub mod cluster;
pub mod completions;
pub mod cron;
pub mod demo;
pub mod diff;
mod entry;
pub mod man;
pub mod output;
pub mod pipelines;
pub mod preflight;
pub mod progress;
pub mod run;
pub mod serve;
pub mod sim;
pub mod terminal;
pub mod upload;
pub mod version;

pub use args::{Cli, Command, Global};
pub use entry::main;
