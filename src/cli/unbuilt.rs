//! Subcommands whose issue has not landed yet. They say so and exit non-zero; nothing fake.

/// (Not built yet: accepts any arguments and reports that.)
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub rest: Vec<String>,
}

pub fn exec(name: &'static str) -> crate::Result<u8> {
    Err(crate::Error::NotImplemented(name))
}
