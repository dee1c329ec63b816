//! The fleet a live view shows, against real session dirs: an ended session
//! is read once and kept, an active one is read again at every refresh, a
//! removed one goes, and the order puts what runs first.

use std::collections::HashMap;

use csa_session::fleet::{Fleet, FleetJson, Totals, TreeFigures};
use csa_session::{SessionId, SessionStatus, SessionsDir};
use csa_test_support::*;

fn fleet_of(env: &Env) -> Fleet {
    Fleet::new(vec![SessionsDir {
        path: env.sessions_dir(),
        legacy: false,
    }])
}

fn id_of(session: &Session) -> SessionId {
    SessionId::parse(&session.id).unwrap()
}

#[test]
fn ended_sessions_are_read_once_and_active_ones_at_every_refresh() {
    let env = Env::new();
    let ended = env.session("retired");
    ended.write("result.toml", &result_toml("success", 0, "done"));
    let active = env.session("active");
    let mut fleet = fleet_of(&env);
    fleet.refresh();
    let ids: Vec<String> = fleet
        .ordered()
        .iter()
        .map(|r| r.loc.id.to_string())
        .collect();
    assert_eq!(ids, [active.id.clone(), ended.id.clone()], "active first");
    assert_eq!(fleet.get(&id_of(&ended)).unwrap().outcome_text(), "0");

    // Both change on disk: only the active one is read again.
    ended.write("result.toml", &result_toml("failure", 7, "rewritten"));
    active.write("output.log", "working\n");
    fleet.refresh();
    assert_eq!(
        fleet.get(&id_of(&ended)).unwrap().exit_code,
        Some(0),
        "kept"
    );
    assert_eq!(fleet.get(&id_of(&active)).unwrap().last_line, "working");

    fs_err::remove_dir_all(&ended.dir).unwrap();
    fleet.refresh();
    assert!(
        fleet.get(&id_of(&ended)).is_none(),
        "a removed session goes"
    );
}

#[test]
fn a_reconcile_that_changed_a_session_makes_it_read_again_with_its_figures_kept_apart() {
    let env = Env::new();
    let active = env.session("active");
    let mut fleet = fleet_of(&env);
    fleet.refresh();
    let figures = TreeFigures {
        cpu_percent: Some(12.5),
        memory_bytes: 4096,
    };
    fleet.set_figures(HashMap::from([(id_of(&active), figures)]));
    let totals = Totals::of(fleet.ordered());
    assert_eq!((totals.active, totals.memory_bytes), (1, 4096));

    // What a reconcile does to a dead session: a result, then retired.
    let mut asked = Vec::new();
    fleet.reconcile(|loc| {
        asked.push(loc.id.to_string());
        let session = env.session_of(loc.id.as_str());
        session.write("result.toml", &result_toml("failure", 1, "died"));
        session.write(
            "state.toml",
            &state_toml(loc.id.as_str(), &env.project, "retired"),
        );
        true
    });
    assert_eq!(asked, std::slice::from_ref(&active.id));
    let row = fleet.get(&id_of(&active)).unwrap();
    assert_eq!(row.status, SessionStatus::Failed);
    let json = FleetJson::of(row, chrono::Utc::now());
    let back: FleetJson = serde_json::from_str(&serde_json::to_string(&json).unwrap()).unwrap();
    assert_eq!(back, json, "the JSON row reads back as it was");
    assert_eq!(back.exit_code, Some(1));
}
