//! Trees of sessions: `csa session list --tree`, and the genealogy in
//! `--json`.

use csa_test_support::*;

/// Record `parent` (and `depth`) in the session's `[genealogy]`, and set its
/// `last_accessed` to `2026-01-01T00:<minute>:05Z`.
fn place(s: &Session, parent: Option<&str>, depth: u32, minute: u32) {
    let mut genealogy = format!("[genealogy]\ndepth = {depth}\n");
    if let Some(parent) = parent {
        genealogy.push_str(&format!("parent_session_id = \"{parent}\"\n"));
    }
    let text = s
        .read("state.toml")
        .replace("[genealogy]\ndepth = 0\n", &genealogy)
        .replace(
            "last_accessed = \"2026-01-01T00:00:05Z\"",
            &format!("last_accessed = \"2026-01-01T00:{minute:02}:05Z\""),
        );
    s.write("state.toml", &text);
}

fn list(env: &Env, args: &[&str]) -> std::process::Output {
    let out = env
        .csa()
        .args(["session", "list"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    out
}

/// The SESSION cells of a table, guides included (the text before the
/// STARTED column).
fn session_column(text: &str) -> Vec<String> {
    let header = text.lines().next().unwrap();
    let width = header.find("STARTED").unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            let cut: String = line.chars().take(width).collect();
            cut.trim_end().to_owned()
        })
        .collect()
}

#[test]
fn list_tree_puts_three_levels_under_their_parents_newest_first_and_orphans_on_top() {
    let env = Env::new();
    let root = env.session("retired");
    let older_child = env.session("retired");
    let newer_child = env.session("retired");
    let grandchild = env.session("retired");
    let orphan = env.session("retired");
    let lone = env.session("retired");
    let gone = "01KAZ9X3M2QAAAAAAAAAAAAAAA";
    place(&root, None, 0, 10);
    place(&older_child, Some(&root.id), 1, 11);
    place(&newer_child, Some(&root.id.to_lowercase()), 1, 12);
    place(&grandchild, Some(&older_child.id), 2, 13);
    place(&orphan, Some(gone), 1, 5);
    place(&lone, None, 0, 1);

    let text = stdout_of(&list(&env, &["--tree"]));
    let short = |s: &Session| list_line(&text, &s.id).map(session_cell).unwrap();
    let column = session_column(&text);
    assert_eq!(
        column,
        [
            short(&root).to_owned(),
            format!("├─ {}", short(&newer_child)),
            format!("└─ {}", short(&older_child)),
            format!("   └─ {}", short(&grandchild)),
            short(&orphan).to_owned(),
            short(&lone).to_owned(),
        ],
        "{text}"
    );
    let orphan_line = list_line(&text, &orphan.id).unwrap();
    assert!(
        orphan_line.contains("(parent 01KAZ9X3 not in this project)"),
        "{text}"
    );
    assert!(!list_line(&text, &lone.id).unwrap().contains("(parent"));

    // Without --tree: newest first, flat, no guides.
    let flat = stdout_of(&list(&env, &[]));
    let column = session_column(&flat);
    assert_eq!(column.len(), 6);
    assert!(grandchild.id.starts_with(&column[0]), "{flat}");
    assert!(!flat.contains('─'), "{flat}");
}

#[test]
fn a_child_whose_parent_is_filtered_out_names_it() {
    let env = Env::new();
    let parent = env.session("retired");
    parent.write("result.toml", &result_toml("success", 0, "ok"));
    let child = env.session("retired");
    child.write("result.toml", &result_toml("failure", 1, "broke"));
    place(&child, Some(&parent.id), 1, 2);
    let text = stdout_of(&list(&env, &["--tree", "--status", "failed"]));
    assert_eq!(text.lines().count(), 2, "{text}");
    let line = list_line(&text, &child.id).unwrap();
    // The parent's short id among every session of the project, so it resolves.
    let all = stdout_of(&list(&env, &[]));
    let parent_short = list_line(&all, &parent.id).map(session_cell).unwrap();
    assert!(
        line.contains(&format!("(parent {parent_short} filtered out)")),
        "{text}"
    );
}

#[test]
fn json_rows_carry_the_genealogy_and_tree_json_adds_tree_depth_in_tree_order() {
    let env = Env::new();
    let parent = env.session("retired");
    let child = env.session("retired");
    let newest = env.session("retired");
    place(&parent, None, 0, 1);
    place(&child, Some(&parent.id.to_lowercase()), 1, 2);
    place(&newest, None, 0, 3);

    let rows: serde_json::Value = serde_json::from_slice(&list(&env, &["--json"]).stdout).unwrap();
    let rows = rows.as_array().unwrap();
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r["session_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [&newest.id, &child.id, &parent.id]);
    assert_eq!(rows[1]["parent_session_id"], parent.id.as_str());
    assert_eq!(rows[1]["depth"], 1);
    assert!(rows[0]["parent_session_id"].is_null());
    assert_eq!(rows[0]["depth"], 0);
    assert!(rows.iter().all(|r| r.get("tree_depth").is_none()));

    // A second list serves the rows from the cache: the same genealogy.
    let cached: serde_json::Value =
        serde_json::from_slice(&list(&env, &["--json"]).stdout).unwrap();
    assert_eq!(cached[1]["parent_session_id"], parent.id.as_str());

    let tree: serde_json::Value =
        serde_json::from_slice(&list(&env, &["--tree", "--json"]).stdout).unwrap();
    let tree = tree.as_array().unwrap();
    let placed: Vec<(&str, u64)> = tree
        .iter()
        .map(|r| {
            (
                r["session_id"].as_str().unwrap(),
                r["tree_depth"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        placed,
        [
            (newest.id.as_str(), 0),
            (parent.id.as_str(), 0),
            (child.id.as_str(), 1)
        ]
    );
    assert_eq!(tree[2]["parent_session_id"], parent.id.as_str());
}
