//! The tree of `csa session list --tree`: the guides drawn before each
//! short id (`├─ `, `└─ `, `│  `) and the note a session with a parent at
//! the top level starts its DESCRIPTION with ([`TreeNote`]). The order of
//! the rows is `csa_session::genealogy`'s; this is only how it is drawn.

use csa_session::genealogy::Node;

/// Deeper levels than this are drawn at this level, after a `…` (a hostile
/// chain of parents must not make every line thousands of columns wide).
const MAX_DRAWN_DEPTH: usize = 16;

/// Where a row sits in the tree of sessions.
#[derive(Debug, Default)]
pub struct TreeMark<'r> {
    /// Drawn before the short id: `│  ├─ ` (empty at the top level).
    pub guides: String,
    /// Why a session with a parent is at the top level.
    pub note: Option<TreeNote<'r>>,
}

/// Why a session with a parent is drawn at the top level, shown at the start
/// of its DESCRIPTION.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeNote<'r> {
    /// `(parent 01KAZ9X3 filtered out)`: the parent is a session of the
    /// listed scope that the filters left out (its short id).
    FilteredOut(&'r str),
    /// `(parent 01KAZ9X3 not in this project)`: the parent (cut where no
    /// listed id shares its prefix) is not a session
    /// of this project (deleted, or in another one).
    NotInProject(&'r str),
    /// `(parent 01KAZ9X3 gone)`: with `--all-projects`, no session anywhere.
    Gone(&'r str),
    /// `(parent cycle)`: its chain of parents comes back to it.
    Cycle,
}

impl TreeNote<'_> {
    /// The note, not escaped yet.
    pub(crate) fn text(self) -> String {
        // The parent id is what the file says, cut by the caller where no
        // listed id shares it (`ShortIds::outside`); a string that is no id
        // is cut by characters at a ULID's length.
        let short = |id: &str| -> String { id.chars().take(csa_session::id::ULID_LEN).collect() };
        match self {
            TreeNote::FilteredOut(id) => format!("(parent {id} filtered out)"),
            TreeNote::NotInProject(id) => format!("(parent {} not in this project)", short(id)),
            TreeNote::Gone(id) => format!("(parent {} gone)", short(id)),
            TreeNote::Cycle => "(parent cycle)".to_owned(),
        }
    }
}

/// The guides of each node, in the tree's order: `├─ ` before a node with
/// a later sibling, `└─ ` before the last one, and for each level above,
/// `│  ` while that level has siblings still to come, else three spaces.
pub fn tree_guides(nodes: &[Node]) -> Vec<String> {
    // more[k]: the node last drawn at depth k + 1 has siblings still to come.
    let mut more: Vec<bool> = Vec::new();
    nodes
        .iter()
        .map(|node| {
            let Some(above) = node.depth.checked_sub(1) else {
                more.clear();
                return String::new();
            };
            more.truncate(above);
            let drawn = above.min(MAX_DRAWN_DEPTH - 1);
            let mut guides = String::with_capacity(4 * (drawn + 2));
            for &level in &more[..drawn.min(more.len())] {
                guides.push_str(if level { "│  " } else { "   " });
            }
            if drawn < above {
                guides.push_str("… ");
            }
            guides.push_str(if node.last { "└─ " } else { "├─ " });
            more.push(!node.last);
            guides
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::term;

    fn node(depth: usize, last: bool) -> Node {
        Node {
            index: 0,
            depth,
            link: csa_session::genealogy::Link::Child,
            last,
        }
    }

    #[test]
    fn tree_guides_draw_branches_and_the_levels_still_open_above() {
        let nodes = [
            node(0, false),
            node(1, false),
            node(2, false),
            node(3, true),
            node(2, true),
            node(1, true),
            node(2, true),
            node(0, true),
        ];
        assert_eq!(
            tree_guides(&nodes),
            [
                "",
                "├─ ",
                "│  ├─ ",
                "│  │  └─ ",
                "│  └─ ",
                "└─ ",
                "   └─ ",
                "",
            ]
        );
    }

    #[test]
    fn a_very_deep_chain_is_drawn_no_wider_than_the_cap() {
        let nodes: Vec<Node> = (0..1000).map(|depth| node(depth, true)).collect();
        let guides = tree_guides(&nodes);
        let widest = guides.iter().map(|g| term::display_width(g)).max();
        assert_eq!(widest, Some(3 * MAX_DRAWN_DEPTH + 2));
        assert!(guides[999].ends_with("… └─ "), "{}", guides[999]);
        assert!(!guides[MAX_DRAWN_DEPTH].contains('…'));
    }

    #[test]
    fn notes_name_the_parent_cut_to_an_id_length() {
        let notes = [
            (
                TreeNote::FilteredOut("01KAZ9X3M"),
                "(parent 01KAZ9X3M filtered out)",
            ),
            (TreeNote::Gone("01KAZ8ZZZ"), "(parent 01KAZ8ZZZ gone)"),
            (TreeNote::Gone("x"), "(parent x gone)"),
            (
                TreeNote::Gone("éééééééééééééééééééééééééééé\u{1b}"),
                "(parent éééééééééééééééééééééééééé gone)",
            ),
            (TreeNote::Cycle, "(parent cycle)"),
        ];
        for (note, text) in notes {
            assert_eq!(note.text(), text);
        }
    }
}
