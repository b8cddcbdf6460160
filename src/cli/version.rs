//! `kudo-diag version`.

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn exec(_args: Args) -> crate::Result<u8> {
    println!("kudo-diag {}", crate::VERSION);
    println!("commit: {}", crate::GIT_COMMIT);
    println!("target: {}", env!("KUDO_DIAG_TARGET"));
    Ok(crate::exit::OK)
}
