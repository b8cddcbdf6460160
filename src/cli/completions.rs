//! `kudo-diag completions SHELL`: completion scripts generated from the clap definitions.

use clap::CommandFactory;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to generate completions for.
    pub shell: clap_complete::Shell,
}

pub fn exec(args: Args) -> crate::Result<u8> {
    let mut cmd = super::Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "kudo-diag", &mut std::io::stdout());
    Ok(crate::exit::OK)
}
