//! The command line as users see it: the one clap definition (`cli`) without
//! its hidden internal commands (`csa daemon`).
//!
//! Shell completions (`csa completions`) and manual pages (`csa man`) are
//! generated from it: `clap_complete` offers hidden subcommands, and clap has
//! no way to remove one, so the commands that hold a hidden subcommand are
//! assembled again from their own parts. The unit tests check that nothing
//! users see (help texts, version) differs from the full definition.

use clap::builder::StyledStr;
use clap::{Command, CommandFactory};

use crate::cli::Cli;

/// `csa` as users see it: every visible command, none of the hidden ones.
pub fn public_command() -> Command {
    without_hidden(&Cli::command())
}

/// `cmd` with its hidden subcommands left out, at any depth.
fn without_hidden(cmd: &Command) -> Command {
    if !has_hidden(cmd) {
        return cmd.clone();
    }
    let visible: Vec<Command> = cmd
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set())
        .map(without_hidden)
        .collect();
    let mut out = Command::new(cmd.get_name().to_owned())
        .propagate_version(cmd.is_propagate_version_set())
        .subcommand_required(cmd.is_subcommand_required_set())
        .arg_required_else_help(cmd.is_arg_required_else_help_set())
        .disable_help_subcommand(cmd.is_disable_help_subcommand_set())
        .args(cmd.get_arguments().cloned())
        .groups(cmd.get_groups().cloned())
        .subcommands(visible);
    if let Some(version) = cmd.get_version() {
        out = out.version(version.to_owned());
    }
    if let Some(version) = cmd.get_long_version() {
        out = out.long_version(version.to_owned());
    }
    if let Some(author) = cmd.get_author() {
        out = out.author(author.to_owned());
    }
    let texts = [
        (
            cmd.get_about(),
            Command::about as fn(Command, StyledStr) -> Command,
        ),
        (cmd.get_long_about(), Command::long_about),
        (cmd.get_before_help(), Command::before_help),
        (cmd.get_before_long_help(), Command::before_long_help),
        (cmd.get_after_help(), Command::after_help),
        (cmd.get_after_long_help(), Command::after_long_help),
    ];
    for (text, set) in texts {
        if let Some(text) = text {
            out = set(out, text.clone());
        }
    }
    out
}

fn has_hidden(cmd: &Command) -> bool {
    cmd.get_subcommands()
        .any(|sub| sub.is_hide_set() || has_hidden(sub))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command's help, by its path (`csa session list`).
    fn helps(cmd: &mut Command, path: &str, out: &mut Vec<(String, String)>) {
        out.push((path.to_owned(), cmd.render_long_help().to_string()));
        out.push((format!("{path} (short)"), cmd.render_help().to_string()));
        out.push((format!("{path} (usage)"), cmd.render_usage().to_string()));
        for sub in cmd.get_subcommands_mut().filter(|sub| !sub.is_hide_set()) {
            let path = format!("{path} {}", sub.get_name());
            helps(sub, &path, out);
        }
    }

    #[test]
    fn users_see_the_same_commands_help_and_version() {
        let mut full = Cli::command();
        let mut public = public_command();
        full.build();
        public.build();
        let (mut want, mut got) = (Vec::new(), Vec::new());
        helps(&mut full, "csa", &mut want);
        helps(&mut public, "csa", &mut got);
        assert_eq!(got, want);
        assert_eq!(public.render_long_version(), full.render_long_version());
        public.debug_assert();
    }

    #[test]
    fn hidden_commands_are_left_out() {
        let public = public_command();
        assert!(Cli::command().find_subcommand("daemon").is_some());
        assert!(public.find_subcommand("daemon").is_none());
        assert!(public.find_subcommand("session").is_some());
        assert!(!has_hidden(&public));
    }
}
