//! `kudo-diag pipelines`.

/// (Not built yet.)
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub rest: Vec<String>,
}

pub async fn exec(_args: Args, _g: &super::Global) -> crate::Result<u8> {
    Err(crate::Error::NotImplemented("pipelines"))
}
