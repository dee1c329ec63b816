//! `csa man [COMMAND]...`: the manual page of csa, or of one of its commands,
//! generated from the one clap definition (without hidden commands) and
//! printed as roff.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::ManArgs;
use crate::public_cli::public_command;
use crate::ui::Ui;

pub fn run(args: &ManArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    // `help` is not a page of its own: every page lists the commands under it.
    let mut cmd = public_command().disable_help_subcommand(true);
    cmd.build();
    let mut path = vec!["csa"];
    for name in &args.command {
        let sub = cmd
            .get_subcommands()
            .find(|sub| sub.get_name() == name.as_str())
            .cloned()
            .with_context(|| {
                format!(
                    "there is no command `{} {}`; `{} --help` lists the commands",
                    path.join(" "),
                    name,
                    path.join(" "),
                )
            })?;
        path.push(name);
        cmd = sub;
    }
    let version = cmd.get_version().unwrap_or_default().to_owned();
    let mut roff = Vec::new();
    clap_mangen::Man::new(cmd)
        .source(format!("csa {version}"))
        .manual("csa manual")
        .render(&mut roff)
        .context("cannot render the manual page")?;
    let mut page = String::from_utf8_lossy(&roff).into_owned();
    if args.command.is_empty() {
        page.push_str(&sections());
    }
    ui.stdout(&page)?;
    Ok(ExitCode::SUCCESS)
}

/// The sections clap does not write, for the page of `csa` itself: EXIT
/// STATUS, ENVIRONMENT, FILES and EXAMPLES (docs/cli.md says more).
fn sections() -> String {
    let mut roff = String::new();
    let mut section = |title: &str, items: &[(&str, &str)]| {
        roff.push_str(&format!(".SH \"{title}\"\n"));
        for (term, text) in items {
            roff.push_str(&format!(
                ".TP\n{}\n{}\n",
                escape_roff(term),
                escape_roff(text)
            ));
        }
    };
    section(
        "EXIT STATUS",
        &[
            (
                "0",
                "Success; is-alive: alive or unknown; wait (one session) and logs --follow: the session exited 0; several sessions: every one exited 0.",
            ),
            (
                "1",
                "An error (one line on stderr); is-alive: dead; delete: a session was kept; wait with several sessions: some did not exit 0.",
            ),
            ("2", "A command-line usage error."),
            (
                "1-255",
                "wait (one session) and logs --follow: the session's own exit code.",
            ),
            ("124", "wait: --timeout expired first."),
        ],
    );
    section(
        "ENVIRONMENT",
        &[
            (
                "XDG_STATE_HOME",
                "The state root is $XDG_STATE_HOME/cli-sub-agent when it is absolute.",
            ),
            (
                "HOME",
                "Else the state root is $HOME/.local/state/cli-sub-agent.",
            ),
            (
                "XDG_CACHE_HOME",
                "Where the list cache lives (when absolute).",
            ),
            (
                "CSA_PROJECT_ROOT",
                "Without --cd: the project to use (set for a session's command).",
            ),
            (
                "CSA_SESSION_ID, CSA_DEPTH",
                "csa run: the session it runs inside and its depth.",
            ),
            (
                "CSA_MAX_DEPTH",
                "csa run: the depth at which it refuses (default 5).",
            ),
            ("RUST_LOG", "Tracing filter when no -v is given."),
            (
                "COMPLETE",
                "A shell name (bash, zsh, fish, ...): print that shell's completion registration, or answer its request, instead of running a command.",
            ),
            (
                "NO_COLOR, CLICOLOR, CLICOLOR_FORCE",
                "Colour with --color auto.",
            ),
        ],
    );
    section(
        "FILES",
        &[
            (
                "<state root>/<project>/sessions/<ULID>/",
                "One session: state.toml, result.toml, daemon.pid, cmd.pid, locks/<tool>.lock, output.log, stderr.log.",
            ),
            (
                "~/.local/state/csa/",
                "The legacy root: listed and reconciled in place; new sessions are never created there.",
            ),
        ],
    );
    section(
        "EXAMPLES",
        &[
            (
                "csa run --tool codex --timeout 2h -- codex exec 'fix the tests'",
                "Start a session; prints its id.",
            ),
            (
                "csa session list",
                "The project's sessions, newest first (from any subdirectory).",
            ),
            (
                "csa session list --status failed,active --since 2h",
                "Failed and running sessions started in the last two hours.",
            ),
            (
                "csa session kill $(csa session list -q --status active --limit 3)",
                "Stop the three most recent active sessions.",
            ),
            (
                "csa session peek 01KAZ9",
                "Status, elapsed and idle time, result, last output lines.",
            ),
            (
                "csa session wait --all --timeout 1h",
                "Wait for every active session.",
            ),
            ("csa session logs -f 01KAZ9", "Follow a session's output."),
            (
                "csa session result --all --json",
                "Every result, as one JSON array.",
            ),
            (
                "source <(COMPLETE=bash csa)",
                "Complete commands, flags and session ids (with descriptions) in bash.",
            ),
            (
                "csa session clean --days 7 --dry-run",
                "What cleaning would remove.",
            ),
        ],
    );
    roff
}

/// `text` safe in a roff line: backslashes doubled, a leading `.` or `'`
/// kept from being read as a request.
fn escape_roff(text: &str) -> String {
    let text = text.replace('\\', "\\e").replace('-', "\\-");
    if text.starts_with(['.', '\'']) {
        format!("\\&{text}")
    } else {
        text
    }
}
