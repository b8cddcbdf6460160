//! `kudo-diag completions SHELL`: completion scripts generated from the clap definitions.

use clap::CommandFactory;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to generate completions for.
    pub shell: clap_complete::Shell,
}

pub fn exec(args: Args) -> crate::Result<u8> {
    let mut cmd = super::Cli::command();
    // Generated into memory first: clap_complete panics on a failed write, and a closed stdout
    // (`| head`) is an ordinary end here (cli::terminal).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "kudo-diag", &mut script);
    std::io::Write::write_all(&mut std::io::stdout().lock(), &script)
        .map_err(|e| crate::Error::io("standard output", e))?;
    Ok(crate::exit::OK)
}
