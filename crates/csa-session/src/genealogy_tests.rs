use proptest::prelude::*;

use super::*;

fn at(minute: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(1_800_000_000 + minute * 60, 0)
}

fn member<'a>(id: &'a str, parent: Option<&'a str>, minute: i64) -> Member<'a> {
    Member {
        id,
        parent,
        last_accessed: at(minute),
    }
}

/// `(id, depth, link)` in tree order.
fn drawn<'a>(members: &[Member<'a>]) -> Vec<(&'a str, usize, Link)> {
    Tree::build(members)
        .nodes()
        .iter()
        .map(|n| (members[n.index].id, n.depth, n.link))
        .collect()
}

#[test]
fn children_sit_under_parents_newest_first_at_every_level() {
    let members = [
        member("ROOT_OLD", None, 1),
        member("CHILD_A", Some("ROOT_NEW"), 5),
        member("ROOT_NEW", None, 9),
        member("GRAND", Some("CHILD_B"), 3),
        member("CHILD_B", Some("ROOT_NEW"), 7),
        member("KID", Some("ROOT_OLD"), 2),
    ];
    assert_eq!(
        drawn(&members),
        [
            ("ROOT_NEW", 0, Link::Root),
            ("CHILD_B", 1, Link::Child),
            ("GRAND", 2, Link::Child),
            ("CHILD_A", 1, Link::Child),
            ("ROOT_OLD", 0, Link::Root),
            ("KID", 1, Link::Child),
        ]
    );
    let tree = Tree::build(&members);
    let last: Vec<bool> = tree.nodes().iter().map(|n| n.last).collect();
    assert_eq!(last, [false, false, true, true, true, true]);
}

#[test]
fn ties_go_to_the_greater_id_and_unknown_times_come_last() {
    let members = [
        Member {
            id: "NO_TIME",
            parent: None,
            last_accessed: None,
        },
        member("A", None, 4),
        member("B", None, 4),
    ];
    let ids: Vec<&str> = drawn(&members).iter().map(|d| d.0).collect();
    assert_eq!(ids, ["B", "A", "NO_TIME"]);
}

#[test]
fn orphans_are_top_level_and_marked_and_keep_their_children() {
    let members = [
        member("ROOT", None, 1),
        member("ORPHAN", Some("GONE"), 9),
        member("UNDER_ORPHAN", Some("ORPHAN"), 8),
    ];
    assert_eq!(
        drawn(&members),
        [
            ("ORPHAN", 0, Link::Orphan),
            ("UNDER_ORPHAN", 1, Link::Child),
            ("ROOT", 0, Link::Root),
        ]
    );
}

#[test]
fn cycles_and_self_parents_become_roots_and_never_loop() {
    let members = [
        member("SELF", Some("SELF"), 1),
        member("A", Some("C"), 4),
        member("B", Some("A"), 3),
        member("C", Some("B"), 2),
        member("HANGER", Some("B"), 9),
    ];
    let drawn = drawn(&members);
    assert_eq!(drawn.len(), members.len(), "{drawn:?}");
    for (id, depth, link) in &drawn {
        match *id {
            "HANGER" => assert_eq!((*depth, *link), (1, Link::Child)),
            _ => assert_eq!((*depth, *link), (0, Link::Cycle), "{id}"),
        }
    }
    // HANGER hangs off B, which is on the cycle and so at the top level.
    let b = drawn.iter().position(|d| d.0 == "B").unwrap();
    assert_eq!(drawn[b + 1].0, "HANGER");
}

#[test]
fn a_duplicated_id_is_listed_twice_and_its_children_go_under_the_first() {
    let members = [
        member("DUP", None, 5),
        member("DUP", None, 1),
        member("KID", Some("DUP"), 3),
    ];
    assert_eq!(
        drawn(&members),
        [
            ("DUP", 0, Link::Root),
            ("KID", 1, Link::Child),
            ("DUP", 0, Link::Root),
        ]
    );
}

#[test]
fn a_long_chain_is_walked_without_recursion() {
    let ids: Vec<String> = (0..200_000).map(|i| format!("{i:07}")).collect();
    let members: Vec<Member<'_>> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| member(id, i.checked_sub(1).map(|p| ids[p].as_str()), 0))
        .collect();
    let tree = Tree::build(&members);
    assert_eq!(tree.nodes().last().map(|n| n.depth), Some(199_999));
    assert_eq!(tree.descendants(0).len(), 199_999);
}

#[test]
fn descendants_come_children_first() {
    let members = [
        member("ROOT", None, 1),
        member("A", Some("ROOT"), 2),
        member("A1", Some("A"), 3),
        member("A2", Some("A"), 4),
        member("B", Some("ROOT"), 5),
        member("OTHER", None, 6),
    ];
    let tree = Tree::build(&members);
    let ids: Vec<&str> = tree.descendants(0).iter().map(|&i| members[i].id).collect();
    assert_eq!(ids.len(), 4, "{ids:?}");
    let pos = |id: &str| ids.iter().position(|x| *x == id).unwrap();
    assert!(pos("A1") < pos("A") && pos("A2") < pos("A"), "{ids:?}");
    assert!(tree.descendants(5).is_empty());
    assert_eq!(tree.children(0), [4, 1]);
}

const ROOT: &str = "01KAZ9X3M2QAAAAAAAAAAAAAAA";
const CHILD: &str = "01KAZ9X3M2QBBBBBBBBBBBBBBB";
const GRAND: &str = "01KAZ9X3M2QCCCCCCCCCCCCCCC";
const OTHER: &str = "01KAZ9X3M2QDDDDDDDDDDDDDDD";

fn kin(id: &str, parent: Option<&str>, minute: i64) -> Kin {
    Kin {
        id: SessionId::parse(id).unwrap(),
        parent: parent.map(parent_id),
        last_accessed: at(minute),
    }
}

#[test]
fn family_answers_children_and_descendants_by_id() {
    let family = Family::new(vec![
        kin(ROOT, None, 1),
        // Written in lower case by some other install: still the same parent.
        kin(CHILD, Some(&ROOT.to_lowercase()), 2),
        kin(GRAND, Some(CHILD), 3),
        kin(OTHER, Some(ROOT), 4),
    ]);
    let id = |s: &str| SessionId::parse(s).unwrap();
    let strs = |ids: Vec<&SessionId>| {
        ids.iter()
            .map(|i| i.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(strs(family.children(&id(ROOT))), [OTHER, CHILD]);
    assert_eq!(strs(family.children(&id(CHILD))), [GRAND]);
    let all = strs(family.descendants(&id(ROOT)));
    assert_eq!(all.len(), 3);
    let pos = |s: &str| all.iter().position(|x| x == s).unwrap();
    assert!(pos(GRAND) < pos(CHILD), "{all:?}");
    assert!(
        family
            .children(&id("7ZZZZZZZZZZZZZZZZZZZZZZZZZ"))
            .is_empty()
    );
}

#[test]
fn levels_below_put_children_before_their_parents() {
    let family = Family::new(vec![
        kin(ROOT, None, 1),
        kin(CHILD, Some(ROOT), 2),
        kin(GRAND, Some(CHILD), 3),
        kin(OTHER, Some(ROOT), 4),
    ]);
    let id = |s: &str| SessionId::parse(s).unwrap();
    let levels: Vec<Vec<String>> = family
        .levels_below(&id(ROOT))
        .into_iter()
        .map(|level| {
            let mut names: Vec<String> = level.iter().map(|i| i.to_string()).collect();
            names.sort();
            names
        })
        .collect();
    assert_eq!(
        levels,
        [
            vec![GRAND.to_owned()],
            vec![CHILD.to_owned(), OTHER.to_owned()],
            vec![ROOT.to_owned()]
        ]
    );
    let below_child: Vec<usize> = family
        .levels_below(&id(CHILD))
        .iter()
        .map(Vec::len)
        .collect();
    assert_eq!(below_child, [1, 1]);
    assert!(
        family
            .levels_below(&id("7ZZZZZZZZZZZZZZZZZZZZZZZZZ"))
            .is_empty()
    );
}

#[test]
fn kin_reads_the_genealogy_of_a_state() {
    let text = format!(
        "meta_session_id = \"{CHILD}\"\nproject_path = \"/p\"\n\
         created_at = \"2026-01-01T00:00:00Z\"\nlast_accessed = \"2026-01-01T00:00:05Z\"\n\
         [genealogy]\ndepth = 1\nparent_session_id = \"{}\"\n",
        ROOT.to_lowercase()
    );
    let state = SessionState::parse(&text, std::path::Path::new("state.toml")).unwrap();
    let kin = Kin::of(SessionId::parse(CHILD).unwrap(), &state);
    assert_eq!(kin.parent.as_deref(), Some(ROOT));
    assert_eq!(parent_id("not-a-ulid"), "not-a-ulid");
}

proptest! {
    /// Whatever the parents say: every member exactly once, each child
    /// right below a node one level up, top-level nodes at depth 0.
    #[test]
    fn every_member_is_placed_once_under_its_parent(
        parents in proptest::collection::vec(proptest::option::of(0usize..40), 0..40),
        times in proptest::collection::vec(0i64..5, 40),
    ) {
        let ids: Vec<String> = (0..40).map(|i| format!("S{i:02}")).collect();
        let members: Vec<Member<'_>> = parents
            .iter()
            .enumerate()
            .map(|(i, p)| member(&ids[i], p.map(|p| ids[p].as_str()), times[i]))
            .collect();
        let tree = Tree::build(&members);
        let mut seen = vec![0; members.len()];
        let mut path: Vec<usize> = Vec::new();
        for node in tree.nodes() {
            seen[node.index] += 1;
            path.truncate(node.depth);
            prop_assert_eq!(path.len(), node.depth);
            match node.link {
                Link::Child => {
                    let parent = *path.last().expect("a child has a parent above it");
                    prop_assert_eq!(members[node.index].parent, Some(members[parent].id));
                }
                _ => prop_assert_eq!(node.depth, 0),
            }
            path.push(node.index);
        }
        prop_assert!(seen.iter().all(|&c| c == 1), "{:?}", seen);
    }
}

#[test]
fn a_parent_cycle_ends_the_walk_with_every_member_once() {
    // Written by hand: ROOT's parent is CHILD, CHILD's parent is ROOT, and
    // GRAND hangs below CHILD.
    let family = Family::new(vec![
        kin(ROOT, Some(CHILD), 1),
        kin(CHILD, Some(ROOT), 2),
        kin(GRAND, Some(CHILD), 3),
        kin(OTHER, None, 4),
    ]);
    let id = |s: &str| SessionId::parse(s).unwrap();
    let names = |ids: Vec<&SessionId>| ids.iter().map(|i| i.to_string()).collect::<Vec<_>>();
    let levels: Vec<Vec<String>> = family
        .levels_below(&id(ROOT))
        .into_iter()
        .map(names)
        .collect();
    assert_eq!(levels, [vec![GRAND], vec![CHILD], vec![ROOT]]);
    assert_eq!(names(family.descendants(&id(ROOT))), [GRAND, CHILD]);
    let from_child: Vec<Vec<String>> = family
        .levels_below(&id(CHILD))
        .into_iter()
        .map(names)
        .collect();
    let mut last_two = from_child[0].clone();
    last_two.sort();
    assert_eq!(last_two, [ROOT, GRAND]);
    assert_eq!(from_child[1], [CHILD]);
    // A session that is its own parent is its tree's only member.
    let selfish = Family::new(vec![kin(OTHER, Some(OTHER), 1)]);
    assert_eq!(selfish.levels_below(&id(OTHER)).len(), 1);
    assert!(selfish.descendants(&id(OTHER)).is_empty());
}

/// A session dir under `sessions` whose state names `parent`.
fn session_with_parent(sessions: &std::path::Path, id: &str, parent: Option<&str>) {
    let dir = sessions.join(id);
    fs_err::create_dir_all(&dir).unwrap();
    let genealogy = match parent {
        Some(parent) => format!("[genealogy]\nparent_session_id = \"{parent}\"\ndepth = 1\n"),
        None => "[genealogy]\ndepth = 0\n".to_owned(),
    };
    let state = format!(
        "meta_session_id = \"{id}\"\nproject_path = \"/p\"\n\
         created_at = \"2026-01-01T00:00:00Z\"\nlast_accessed = \"2026-01-01T00:00:00Z\"\n\
         {genealogy}"
    );
    fs_err::write(dir.join("state.toml"), state).unwrap();
}

#[test]
fn a_lineage_climbs_parents_and_stops_at_a_missing_one_or_a_cycle() {
    const ROOT: &str = "01KAAAAAAAAAAAAAAAAAAAAAAA";
    const MID: &str = "01KBBBBBBBBBBBBBBBBBBBBBBB";
    const LEAF: &str = "01KCCCCCCCCCCCCCCCCCCCCCCC";
    const GONE: &str = "01KDDDDDDDDDDDDDDDDDDDDDDD";
    let tmp = tempfile::tempdir().unwrap();
    let sessions = tmp.path();
    let locate = |id: &SessionId| {
        let dir = sessions.join(id.as_str());
        dir.is_dir().then(|| SessionLocation {
            id: id.clone(),
            dir: crate::SessionDir::new(dir),
            legacy: false,
        })
    };
    let ids =
        |line: Vec<SessionId>| -> Vec<String> { line.into_iter().map(String::from).collect() };
    let id = |text: &str| SessionId::parse(text).unwrap();

    session_with_parent(sessions, ROOT, None);
    // Parent ids are case-insensitive.
    session_with_parent(sessions, MID, Some(&ROOT.to_ascii_lowercase()));
    session_with_parent(sessions, LEAF, Some(MID));
    assert_eq!(ids(lineage(&id(LEAF), locate)), [LEAF, MID, ROOT]);
    assert_eq!(ids(lineage(&id(ROOT), locate)), [ROOT]);

    // A parent that cannot be found is still named; the walk ends there.
    session_with_parent(sessions, ROOT, Some(GONE));
    assert_eq!(ids(lineage(&id(LEAF), locate)), [LEAF, MID, ROOT, GONE]);

    // A cycle written by hand ends the walk, every member once.
    session_with_parent(sessions, ROOT, Some(LEAF));
    assert_eq!(ids(lineage(&id(LEAF), locate)), [LEAF, MID, ROOT]);

    // An id that is not a session has no known parent.
    assert_eq!(ids(lineage(&id(GONE), locate)), [GONE]);
}
