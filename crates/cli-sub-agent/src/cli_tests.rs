//! Unit tests of the command-line definition (`cli.rs`).

use super::*;
use clap::CommandFactory;

#[test]
fn a_command_without_double_dash_gets_a_tip_with_it_added() {
    let parse = |line: &[&str]| {
        let args: Vec<String> = line.iter().map(|a| (*a).to_owned()).collect();
        let err = Cli::try_parse_from(&args).expect_err("a usage error");
        hint_double_dash(err, &args).render().to_string()
    };
    let text = parse(&["csa", "run", "--tool", "codex", "make", "test"]);
    assert!(
        text.contains("tip: put the command after `--`: csa run --tool codex -- make test"),
        "{text}"
    );
    let text = parse(&[
        "csa", "--color", "never", "run", "--tool", "x", "sleep", "1",
    ]);
    assert!(
        text.contains("csa --color never run --tool x -- sleep 1"),
        "{text}"
    );
    // Other mistakes get no such tip.
    let text = parse(&["csa", "session", "list", "extra"]);
    assert!(!text.contains("after `--`"), "{text}");
    let text = parse(&["csa", "run", "--tool", "x", "--bogus", "--", "ls"]);
    assert!(!text.contains("after `--`"), "{text}");
}

#[test]
fn clap_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn color_is_found_before_clap_parses() {
    let table: &[(&[&str], Option<ColorWhen>)] = &[
        (&["csa", "session", "list"], None),
        (
            &["csa", "--color", "never", "session"],
            Some(ColorWhen::Never),
        ),
        (
            &["csa", "session", "list", "--color=always"],
            Some(ColorWhen::Always),
        ),
        (
            &["csa", "--color=never", "--color", "auto"],
            Some(ColorWhen::Auto),
        ),
        (&["csa", "--color", "purple"], None),
        (&["csa", "--color"], None),
        (&["csa", "run", "--", "ls", "--color=never"], None),
        (&["--color=never"], None),
    ];
    for (args, expected) in table {
        assert_eq!(ColorWhen::from_args(args.iter()), *expected, "{args:?}");
    }
}
