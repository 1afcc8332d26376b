//! The man pages (clap_mangen): `kling.1`, and one page per subcommand named as git
//! and cargo name theirs (`kling-jobs-wait.1`), each from the same `clap::Command` as
//! `--help`, so they never disagree with it. `cargo xtask man` runs the hidden
//! `kling __man-pages DIR`.

use std::path::Path;

use anyhow::Context as _;

/// Writes every page into `dir` (made if missing) and prints each path.
pub(crate) fn write(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut command = crate::cli::command();
    // Global flags reach the subcommands' pages too.
    command.build();
    write_page(dir, &command, "kling")
}

fn write_page(dir: &Path, command: &clap::Command, name: &str) -> anyhow::Result<()> {
    let page = command
        .clone()
        .name(name.to_owned())
        .display_name(name.to_owned())
        .bin_name(name.replace('-', " "));
    let mut roff = Vec::new();
    clap_mangen::Man::new(page).render(&mut roff)?;
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, roff).with_context(|| format!("cannot write {}", path.display()))?;
    crate::output::Output::new(false, false).result(&path.display().to_string())?;
    for sub in command
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set() && sub.get_name() != "help")
    {
        write_page(dir, sub, &format!("{name}-{}", sub.get_name()))?;
    }
    Ok(())
}
