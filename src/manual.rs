//! Shell completion scripts and the man page, generated from the clap definitions in
//! [`crate::cli`] so that they can never disagree with the arguments `sporen` accepts.
//! Writes to the writer it is given only; never touches the evidence.

use crate::cli::Cli;
use clap::CommandFactory;
use std::io::{self, Write};

/// A shell `sporen completions` writes a script for.
pub(crate) type Shell = clap_complete::Shell;

/// Writes the completion script for `shell` (bash, zsh, fish, powershell or elvish).
pub(crate) fn write_completions(shell: Shell, out: &mut dyn Write) -> io::Result<()> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "sporen", &mut buf);
    out.write_all(&buf)
}

/// Writes the man page (roff, section 1) of `sporen` and every subcommand, one after the
/// other: `sporen man | man -l -` reads it, `sporen man > sporen.1` installs it.
pub(crate) fn write_man(out: &mut dyn Write) -> io::Result<()> {
    let cmd = Cli::command();
    clap_mangen::Man::new(cmd.clone()).render(out)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_sub_man(cmd.get_name(), sub, out)?;
    }
    Ok(())
}

/// The page of one subcommand (and of its own subcommands, `rules check` ...), titled
/// `sporen-scan` as `git` names its pages.
fn write_sub_man(parent: &str, sub: &clap::Command, out: &mut dyn Write) -> io::Result<()> {
    let title = format!("{parent}-{}", sub.get_name());
    let page = sub
        .clone()
        .bin_name(title.replace('-', " "))
        .version(env!("CARGO_PKG_VERSION"));
    clap_mangen::Man::new(page)
        .title(title.clone())
        .render(out)?;
    for nested in sub.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_sub_man(&title, nested, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completions(shell: Shell) -> String {
        let mut buf = Vec::new();
        write_completions(shell, &mut buf).expect("writes to memory");
        String::from_utf8(buf).expect("utf-8")
    }

    #[test]
    fn every_shell_gets_a_script_naming_the_options() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::PowerShell,
            Shell::Elvish,
        ] {
            let s = completions(shell);
            for word in [
                "sporen",
                "scan",
                "min-severity",
                "format",
                "quiet",
                "explain",
            ] {
                assert!(s.contains(word), "{shell}: `{word}` missing");
            }
        }
    }

    #[test]
    fn man_page_is_roff_with_every_subcommand() {
        let mut buf = Vec::new();
        write_man(&mut buf).expect("writes to memory");
        let page = String::from_utf8(buf).expect("utf-8");
        assert!(page.starts_with(".ie \\n(.g .ds Aq"), "{}", &page[..80]);
        for title in [
            ".TH sporen 1",
            ".TH sporen-scan 1",
            ".TH sporen-rules-check 1",
        ] {
            assert!(page.contains(title), "`{title}` missing");
        }
        assert!(page.contains("\\-\\-fail\\-on\\-vulnerable"));
    }
}
