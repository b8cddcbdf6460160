//! The man page, rendered from the clap definitions so it never drifts from `--help`:
//! `kudo-diag man` prints kudo-diag(1), `kudo-diag man --dir DIR` writes one page per
//! subcommand as well (kudo-diag-run(1), ...), which `make man` uses.

use std::path::{Path, PathBuf};

/// Renders the page of `cmd` (roff).
pub fn render(cmd: clap::Command) -> Vec<u8> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut out)
        .expect("writing to a Vec cannot fail");
    out
}

/// Writes `kudo-diag.1` and a page per visible subcommand into `dir`; returns the files.
pub fn write_all(cmd: clap::Command, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let mut cmd = cmd;
    cmd.build();
    write_tree(&cmd, "kudo-diag", dir, &mut written)?;
    Ok(written)
}

fn write_tree(
    cmd: &clap::Command,
    name: &str,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    let page = dir.join(format!("{name}.1"));
    // clap names are &'static str without its `string` feature; a few short names leaked once
    // per `man --dir` run (a process that then exits) cost nothing.
    std::fs::write(
        &page,
        render(cmd.clone().name(name.to_string().leak() as &'static str)),
    )?;
    written.push(page);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() == "help" {
            continue;
        }
        write_tree(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}
