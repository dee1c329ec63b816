//! `csa session list`'s columns and narrowing flags (contract §9.3):
//! STARTED, ELAPSED, STATUS, OUTCOME (exit code, `killed`, `timeout`, blank
//! while active), PROJECT with `--all-projects`; `-q`, `--limit`, `--since`
//! and several `--status` values.

use csa_test_support::*;

const COLUMNS: [&str; 8] = [
    "SESSION",
    "STARTED",
    "ELAPSED",
    "STATUS",
    "OUTCOME",
    "DESCRIPTION",
    "TOOLS",
    "BRANCH",
];

/// Each column's cell on the line of session `id`, by the header's columns
/// (cells are left-aligned under their header; the table here is ASCII).
fn cells(table: &str, id: &str) -> Vec<(String, String)> {
    let header = table.lines().next().unwrap();
    let starts: Vec<(usize, &str)> = header
        .split_whitespace()
        .map(|name| (header.find(name).unwrap(), name))
        .collect();
    let line = list_line(table, id).unwrap_or_else(|| panic!("no line for {id} in\n{table}"));
    starts
        .iter()
        .enumerate()
        .map(|(i, (start, name))| {
            let end = starts.get(i + 1).map_or(line.len(), |(end, _)| *end);
            let cell = line.get(*start..end.min(line.len())).unwrap_or("");
            ((*name).to_owned(), cell.trim().to_owned())
        })
        .collect()
}

fn cell(table: &str, id: &str, column: &str) -> String {
    cells(table, id)
        .into_iter()
        .find(|(name, _)| name == column)
        .map(|(_, cell)| cell)
        .unwrap_or_else(|| panic!("no {column} in\n{table}"))
}

fn list(env: &Env, args: &[&str]) -> String {
    let out = env
        .csa()
        .args(["session", "list"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    stdout_of(&out)
}

fn wait(env: &Env, s: &Session) {
    env.csa().args(["session", "wait", &s.id]).output().unwrap();
}

#[test]
fn outcome_shows_the_exit_code_killed_or_timeout_and_nothing_while_active() {
    let env = Env::new();
    let failed = env.run(&["sh", "-c", "exit 3"]);
    let timed_out = env.run_with(&["--timeout", "1"], &["sleep", "30"]);
    let killed = env.run(&["sleep", "30"]);
    let running = env.run(&["sleep", "30"]);
    let out = env
        .csa()
        .args(["session", "kill", "--grace", "1", &killed.id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    wait(&env, &failed);
    wait(&env, &timed_out);
    let table = list(&env, &[]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, COLUMNS, "{table}");
    assert_eq!(cell(&table, &failed.id, "OUTCOME"), "3", "{table}");
    assert_eq!(cell(&table, &failed.id, "STATUS"), "Failed", "{table}");
    assert_eq!(cell(&table, &timed_out.id, "OUTCOME"), "timeout", "{table}");
    assert_eq!(cell(&table, &killed.id, "OUTCOME"), "killed", "{table}");
    assert_eq!(cell(&table, &running.id, "STATUS"), "Active", "{table}");
    assert_eq!(cell(&table, &running.id, "OUTCOME"), "", "{table}");
    // Started just now; the timed-out run took its second and a bit.
    assert_eq!(cell(&table, &running.id, "STARTED"), "just now", "{table}");
    let took = cell(&table, &timed_out.id, "ELAPSED");
    assert!(took.ends_with(" s") && !took.ends_with("ms"), "{table}");
    let out = env
        .csa()
        .args(["session", "kill", "--grace", "1", &running.id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
}

#[test]
fn quiet_limit_since_and_several_statuses_narrow_the_list() {
    let env = Env::new();
    // Sessions made by hand started on 2026-01-01; `run` starts one now.
    let retired = env.session("retired");
    let available = env.session("available");
    let failed = env.session("retired");
    failed.write("result.toml", &result_toml("failure", 2, "exit 2"));
    let recent = env.run(&["true"]);
    wait(&env, &recent);
    let ids = |args: &[&str]| -> Vec<String> {
        list(&env, &[&["-q"], args].concat())
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let all = ids(&[]);
    assert_eq!(all.len(), 4, "{all:?}");
    // Full ids only, one a line, newest first.
    assert_eq!(all[0], recent.id);
    assert!(all.iter().all(|id| id.len() == 26), "{all:?}");
    assert_eq!(ids(&["--limit", "2"]), all[..2]);
    assert_eq!(ids(&["--since", "1h"]), vec![recent.id.clone()]);
    assert_eq!(ids(&["--since", "3650d"]).len(), 4);
    let mut statuses = ids(&["--status", "failed,available"]);
    statuses.sort();
    let mut expected = vec![available.id.clone(), failed.id.clone()];
    expected.sort();
    assert_eq!(statuses, expected);
    let mut repeated = ids(&["--status", "failed", "--status", "available"]);
    repeated.sort();
    assert_eq!(repeated, expected);
    assert!(!ids(&["--status", "retired"]).contains(&failed.id));
    assert!(ids(&["--status", "retired"]).contains(&retired.id));
    // The filters narrow --json alike, and an empty result says why.
    let out = env
        .csa()
        .args(["session", "list", "--since", "2m", "--status", "failed"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&out), "");
    assert_eq!(
        stderr_of(&out).trim_end(),
        format!(
            "no sessions match --status failed --since 2m (4 sessions in {})",
            env.project.display()
        )
    );
    for bad in [
        &["--limit", "0"][..],
        &["--since", "soon"],
        &["-q", "--json"],
    ] {
        let out = env
            .csa()
            .args(["session", "list"])
            .args(bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr_of(&out));
    }
}

#[test]
fn all_projects_adds_a_project_column() {
    let env = Env::new();
    let here = env.session("retired");
    let other_project = env.tmp.path().join("other");
    fs_err::create_dir_all(&other_project).unwrap();
    let out = env
        .csa()
        .args(["run", "--tool", "demo", "--cd"])
        .arg(&other_project)
        .args(["--", "true"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let there = stdout_of(&out).trim().to_owned();
    let table = list(&env, &["--all-projects"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, [&COLUMNS[..], &["PROJECT"]].concat(), "{table}");
    assert_eq!(
        cell(&table, &here.id, "PROJECT"),
        env.project.display().to_string()
    );
    let canonical = fs_err::canonicalize(&other_project).unwrap();
    assert_eq!(
        cell(&table, &there, "PROJECT"),
        canonical.display().to_string()
    );
    assert!(!list(&env, &[]).lines().next().unwrap().contains("PROJECT"));
}
