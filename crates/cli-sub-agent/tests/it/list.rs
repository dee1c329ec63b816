//! `csa session list`: columns, statuses, filters, JSON, corrupt sessions.

use csa_test_support::*;

#[test]
fn list_reconciles_dead_sessions_and_shows_each_status() {
    let env = Env::new();
    let orphan = env.session("active").dead_pid();
    let done = env.session("active").dead_pid();
    done.write("result.toml", &result_toml("success", 0, "ok"));
    let failed = env.session("retired");
    failed.write("result.toml", &result_toml("success", 2, "exit 2"));
    let available = env.session("available");
    let out = env.csa().args(["session", "list"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    let header = text.lines().next().unwrap();
    for column in [
        "SESSION",
        "STARTED",
        "ELAPSED",
        "STATUS",
        "OUTCOME",
        "DESCRIPTION",
        "TOOLS",
        "BRANCH",
    ] {
        assert!(header.contains(column), "{header}");
    }
    // STARTED and ELAPSED are of several words: find STATUS by its column.
    let column = header.find("STATUS").unwrap();
    let status_of = |s: &Session| {
        let line = list_line(&text, &s.id).unwrap();
        line[column..].split_whitespace().next().unwrap().to_owned()
    };
    let context = format!("stdout:\n{text}\nstderr:\n{}", stderr_of(&out));
    assert_eq!(status_of(&orphan), "Failed", "{context}");
    assert_eq!(status_of(&done), "Retired", "{context}");
    assert_eq!(status_of(&failed), "Failed", "{context}");
    assert_eq!(status_of(&available), "Available", "{context}");
    assert_eq!(
        orphan.state()["termination_reason"].as_str(),
        Some("orphaned_process")
    );
    assert!(text.contains("test session") && text.contains("codex") && text.contains("main"));
}

#[test]
fn sessions_are_listed_newest_first() {
    let env = Env::new();
    let old = env.session("retired");
    let new = env.session("retired");
    let newer = new
        .read("state.toml")
        .replace("2026-01-01T00:00:05Z", "2026-03-01T00:00:05Z");
    new.write("state.toml", &newer);
    let text = stdout_of(&env.csa().args(["session", "list"]).output().unwrap());
    let shown: Vec<&str> = text.lines().skip(1).map(session_cell).collect();
    assert_eq!(shown.len(), 2, "{text}");
    assert!(
        new.id.starts_with(shown[0]) && old.id.starts_with(shown[1]),
        "{text}"
    );
}

#[test]
fn json_output_has_the_documented_keys() {
    let env = Env::new();
    let s = env.session("active").dead_pid();
    let out = env
        .csa()
        .args(["session", "list", "--json"])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = rows[0].as_object().unwrap();
    let mut keys: Vec<&str> = row.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        vec![
            "branch",
            "depth",
            "description",
            "elapsed",
            "elapsed_secs",
            "ended_at",
            "error",
            "exit_code",
            "last_accessed",
            "liveness",
            "outcome",
            "parent_session_id",
            "phase",
            "project_path",
            "run",
            "session_id",
            "started_at",
            "status",
            "termination_reason",
            "tools"
        ]
    );
    // Reconciled on the way: a synthetic failure, ended now.
    assert_eq!(row["outcome"], "failure");
    assert_eq!(row["exit_code"], 1);
    assert!(row["started_at"].is_string() && row["ended_at"].is_string());
    assert!(row["elapsed_secs"].as_f64().is_some_and(|secs| secs >= 0.0));
    assert_eq!(row["session_id"], s.id.as_str());
    assert_eq!(row["status"], "Failed");
    assert_eq!(row["phase"], "retired");
    assert_eq!(row["termination_reason"], "orphaned_process");
    assert_eq!(row["liveness"]["verdict"], "dead");
    assert_eq!(row["tools"][0], "codex");
}

#[test]
fn empty_list_says_so_on_stderr_and_json_prints_an_empty_array() {
    let env = Env::new();
    let out = env.csa().args(["session", "list"]).output().unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr_of(&out),
        format!("no sessions in {}\n", env.project.display())
    );
    let out = env
        .csa()
        .args(["session", "list", "--json"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&out).trim(), "[]");
}

#[test]
fn corrupt_state_is_listed_as_error_untouched_and_the_rest_still_print() {
    let env = Env::new();
    let good = env.session("retired");
    let broken = env.session("active").dead_pid();
    broken.write("state.toml", "meta_session_id = \"x\"\nphase = ");
    let bad_result = env.session("retired");
    bad_result.write("result.toml", "exit_code = ");
    let before = (broken.snapshot(), bad_result.snapshot());
    let out = env.csa().args(["session", "list"]).output().unwrap();
    assert!(out.status.success());
    let text = stdout_of(&out);
    let line = |s: &Session| list_line(&text, &s.id).unwrap().to_owned();
    assert!(
        line(&broken).contains("Error") && line(&broken).contains("state.toml"),
        "{text}"
    );
    assert!(
        line(&bad_result).contains("Error") && line(&bad_result).contains("result.toml"),
        "{text}"
    );
    assert!(line(&good).contains("Retired"));
    let after = (broken.snapshot(), bad_result.snapshot());
    assert_eq!(
        after,
        before,
        "stdout:\n{text}\nstderr:\n{}",
        stderr_of(&out)
    );
}

#[test]
fn filters_by_status_tool_and_branch() {
    let env = Env::new();
    let a = env.session("retired");
    let b = env.session("available");
    let text = b
        .read("state.toml")
        .replace("branch = \"main\"", "branch = \"dev\"")
        .replace("[tools.codex]", "[tools.gemini-cli]");
    b.write("state.toml", &text);
    let ids = |args: &[&str]| -> Vec<String> {
        let out = env
            .csa()
            .args(["session", "list", "--json"])
            .args(args)
            .output()
            .unwrap();
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| r["session_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&["--status", "retired"]), vec![a.id.clone()]);
    assert_eq!(ids(&["--status", "available"]), vec![b.id.clone()]);
    assert_eq!(
        ids(&["--tool", "gemini-cli,claude-code"]),
        vec![b.id.clone()]
    );
    assert_eq!(ids(&["--branch", "main"]), vec![a.id.clone()]);
    assert!(ids(&["--status", "failed"]).is_empty());
}

#[test]
fn no_reconcile_only_reads() {
    let env = Env::new();
    let s = env.session("active").dead_pid();
    let before = s.snapshot();
    let out = env
        .csa()
        .args(["session", "list", "--no-reconcile", "--json"])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["status"], "Active");
    assert_eq!(rows[0]["liveness"]["verdict"], "dead");
    assert_eq!(s.snapshot(), before);
}

#[test]
fn all_projects_lists_other_projects_too() {
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
    let json = |args: &[&str]| -> usize {
        let out = env
            .csa()
            .args(["session", "list", "--json"])
            .args(args)
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(json(&[]), 1);
    assert_eq!(json(&["--all-projects"]), 2);
    let _ = here;
}

/// The row cache (under the test's own `$XDG_CACHE_HOME`) never hides a
/// change to a settled session's files.
#[test]
fn the_row_cache_is_filled_for_settled_sessions_and_never_serves_stale_rows() {
    let env = Env::new();
    let s = env.session("retired");
    s.write("result.toml", &result_toml("success", 0, "ok"));
    // Files changed within the last 2 s are never cached (their ctime counts).
    std::thread::sleep(std::time::Duration::from_millis(2200));
    let status = |env: &Env| -> (String, String) {
        let out = env
            .csa()
            .args(["session", "list", "--json"])
            .output()
            .unwrap();
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (
            rows[0]["status"].as_str().unwrap().to_owned(),
            rows[0]["description"].as_str().unwrap_or("").to_owned(),
        )
    };
    assert_eq!(status(&env).0, "Retired");
    let cache_dir = env.cache_home.join("cli-sub-agent/list-cache");
    let cached: String = fs_err::read_dir(&cache_dir)
        .unwrap()
        .map(|e| fs_err::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(cached.contains(&s.id), "the settled session is cached");
    assert_eq!(status(&env).0, "Retired", "served from the cache");

    // Rows really come from the cache: an edit there shows while the files are unchanged.
    let cache_file = fs_err::read_dir(&cache_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let edited = cached.replace("=test session", "=edited in the cache");
    assert_ne!(edited, cached);
    fs_err::write(&cache_file, edited).unwrap();
    assert_eq!(status(&env).1, "edited in the cache");
    // A corrupt cache is ignored, and replaced by a good one.
    fs_err::write(&cache_file, b"csa list cache 4\n\xff\x00 not rows\n").unwrap();
    assert_eq!(
        status(&env),
        ("Retired".to_owned(), "test session".to_owned())
    );
    assert!(fs_err::read_to_string(&cache_file).unwrap().contains(&s.id));

    // An in-place rewrite of result.toml (not via rename) is noticed.
    fs_err::write(s.path("result.toml"), result_toml("success", 2, "ok")).unwrap();
    assert_eq!(status(&env).0, "Failed");
    fs_err::remove_file(s.path("result.toml")).unwrap();
    assert_eq!(status(&env).0, "Retired");
    let text = s.read("state.toml").replace("test session", "renamed here");
    fs_err::write(s.path("state.toml"), text).unwrap();
    assert_eq!(status(&env).1, "renamed here");
}

/// A list takes its sessions a few thousand at a time, in id order, beside
/// the cache file sorted the same way: every row is shown once whichever
/// part it is in, a steady list leaves the cache file alone, and sessions
/// removed from any part leave it.
#[test]
fn a_list_of_several_parts_shows_each_row_once_and_keeps_its_cache_sorted() {
    const SESSIONS: usize = 4_200;
    let env = Env::new();
    let sessions = env.sessions_dir();
    let ids: Vec<String> = (0..SESSIONS)
        .map(|i| format!("01KAZ9X3M2Q{i:015}"))
        .collect();
    for id in &ids {
        let dir = sessions.join(id);
        fs_err::create_dir_all(&dir).unwrap();
        fs_err::write(
            dir.join("state.toml"),
            state_toml(id, &env.project, "retired"),
        )
        .unwrap();
    }
    // Files changed within the last 2 s are never cached.
    std::thread::sleep(std::time::Duration::from_millis(2200));
    let listed = |env: &Env| -> Vec<String> {
        let out = env
            .csa()
            .args(["session", "list", "--json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        rows.iter()
            .map(|row| row["session_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let cache_file = || {
        let dir = env.cache_home.join("cli-sub-agent/list-cache");
        fs_err::read_dir(dir)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path()
    };
    let cached_ids = |path: &std::path::Path| -> Vec<String> {
        let text = fs_err::read_to_string(path).unwrap();
        text.lines()
            .skip(1)
            .map(|line| line[..26].to_owned())
            .collect()
    };
    // Same last_accessed: newest first is by id, descending.
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(listed(&env), newest_first);
    let path = cache_file();
    assert_eq!(cached_ids(&path), ids, "every row cached, sorted by id");
    let written = |path: &std::path::Path| fs_err::metadata(path).unwrap().modified().unwrap();
    let before = written(&path);
    assert_eq!(listed(&env), newest_first, "served from the cache");
    assert_eq!(written(&path), before, "a steady list writes no cache");
    // One session gone from the first part, one from the last.
    for gone in [&ids[10], &ids[SESSIONS - 10]] {
        fs_err::remove_dir_all(sessions.join(gone)).unwrap();
    }
    let left: Vec<String> = ids
        .iter()
        .filter(|id| **id != ids[10] && **id != ids[SESSIONS - 10])
        .cloned()
        .collect();
    let mut left_newest_first = left.clone();
    left_newest_first.reverse();
    assert_eq!(listed(&env), left_newest_first);
    assert_eq!(cached_ids(&cache_file()), left);
}
