//! `kudo-diag man` (hidden): print the man page, or write every page into a directory
//! (`make man`). Generated from the clap definitions by `crate::ship::man`.

use clap::CommandFactory;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write kudo-diag.1 and one page per subcommand into DIR instead of printing kudo-diag.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<std::path::PathBuf>,
}

pub fn exec(args: Args) -> crate::Result<u8> {
    let cmd = super::Cli::command();
    match args.dir {
        Some(dir) => {
            let files =
                crate::ship::man::write_all(cmd, &dir).map_err(|e| crate::Error::io(&dir, e))?;
            for f in files {
                println!("{}", f.display());
            }
        }
        None => {
            use std::io::Write;
            let page = crate::ship::man::render(cmd);
            std::io::stdout()
                .write_all(&page)
                .map_err(|e| crate::Error::io("standard output", e))?;
        }
    }
    Ok(crate::exit::OK)
}
