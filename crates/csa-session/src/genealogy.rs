//! The tree of sessions: which session started which, from each state's
//! `[genealogy] parent_session_id`.
//!
//! [`Tree::build`] is pure: given each session's id, its parent's id and when
//! it was last accessed, it puts every session under its parent, newest first
//! within a level, and says how each one got its place. A session whose
//! parent is not in the set (deleted, in another project, left out by a
//! filter) is an orphan at the top level; a session whose parent chain loops
//! (a cycle, or a session that is its own parent) is cut loose at the top
//! level, so nothing ever walks forever. Building costs O(n log n).
//!
//! `csa session list --tree` draws [`Tree::nodes`]; [`Family`] answers "the
//! children of X" (for `show`) and "X's descendants, children first" (for
//! `kill --tree`, `wait --tree`) over a project's sessions.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::consts::MAX_LINEAGE;
use crate::id::SessionId;
use crate::resolve::SessionLocation;
use crate::state::SessionState;

/// One session as the tree sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member<'a> {
    /// Its id, uppercase (as [`SessionId`] stores it).
    pub id: &'a str,
    /// Its parent's id, uppercase when it is a ULID (see [`parent_id`]).
    pub parent: Option<&'a str>,
    /// Newer sessions come first among siblings; `None` comes last.
    pub last_accessed: Option<DateTime<Utc>>,
}

/// How a node got its place in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// It has no parent: top level.
    Root,
    /// Under its parent.
    Child,
    /// Its parent is not in the set: top level.
    Orphan,
    /// Its parent chain comes back to it (or it is its own parent): top level.
    Cycle,
}

/// One session's place, in tree order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    /// Its index in the members given to [`Tree::build`].
    pub index: usize,
    /// 0 at the top level, its parent's depth + 1 below it.
    pub depth: usize,
    pub link: Link,
    /// No sibling comes after it (drawn `└─` rather than `├─`).
    pub last: bool,
}

/// Sessions under their parents.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    /// Every member once, parents before their children (pre-order).
    nodes: Vec<Node>,
    /// `children[child_start[i]..child_start[i + 1]]`: member `i`'s children, newest first.
    child_start: Vec<usize>,
    children: Vec<usize>,
}

impl Tree {
    /// Put each member under its parent. A parent id that several members
    /// carry (the same session under both state roots) means the first of them.
    pub fn build(members: &[Member<'_>]) -> Tree {
        let n = members.len();
        let mut by_id: HashMap<&str, usize> = HashMap::with_capacity(n);
        for (i, member) in members.iter().enumerate() {
            by_id.entry(member.id).or_insert(i);
        }
        let mut parent: Vec<Option<usize>> = members
            .iter()
            .map(|m| m.parent.and_then(|p| by_id.get(p).copied()))
            .collect();
        let mut link: Vec<Link> = members
            .iter()
            .zip(&parent)
            .map(|(m, p)| match (m.parent, p) {
                (None, _) => Link::Root,
                (Some(_), None) => Link::Orphan,
                (Some(_), Some(_)) => Link::Child,
            })
            .collect();
        for i in on_cycles(&parent) {
            parent[i] = None;
            link[i] = Link::Cycle;
        }

        // Children grouped by parent (counting sort), then each group sorted.
        let mut child_start = vec![0; n + 1];
        for p in parent.iter().flatten() {
            child_start[p + 1] += 1;
        }
        for i in 0..n {
            child_start[i + 1] += child_start[i];
        }
        let mut fill = child_start.clone();
        let mut children = vec![0; child_start[n]];
        let mut roots = Vec::new();
        for (i, p) in parent.iter().enumerate() {
            match p {
                Some(p) => {
                    children[fill[*p]] = i;
                    fill[*p] += 1;
                }
                None => roots.push(i),
            }
        }
        let newest_first = |a: &usize, b: &usize| newest_first(&members[*a], &members[*b]);
        roots.sort_unstable_by(newest_first);
        for i in 0..n {
            children[child_start[i]..child_start[i + 1]].sort_unstable_by(newest_first);
        }

        // Pre-order, with an explicit stack: a long chain needs no deep recursion.
        let mut nodes = Vec::with_capacity(n);
        let mut stack: Vec<(usize, usize, bool)> = Vec::new();
        push_reversed(&mut stack, &roots, 0);
        while let Some((index, depth, last)) = stack.pop() {
            nodes.push(Node {
                index,
                depth,
                link: link[index],
                last,
            });
            let kids = &children[child_start[index]..child_start[index + 1]];
            push_reversed(&mut stack, kids, depth + 1);
        }
        Tree {
            nodes,
            child_start,
            children,
        }
    }

    /// Every member once, in tree order: each parent, then its children
    /// (newest first) with their own children, depth first.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The children of member `index`, newest first.
    pub fn children(&self, index: usize) -> &[usize] {
        match (self.child_start.get(index), self.child_start.get(index + 1)) {
            (Some(&start), Some(&end)) => &self.children[start..end],
            _ => &[],
        }
    }

    /// The descendants of member `index` (not itself), each after all of its
    /// own descendants: stopping them in this order stops children first.
    pub fn descendants(&self, index: usize) -> Vec<usize> {
        // Reverse pre-order (children taken in reverse) is a post-order.
        let mut out = Vec::new();
        let mut stack: Vec<usize> = self.children(index).to_vec();
        while let Some(node) = stack.pop() {
            out.push(node);
            stack.extend_from_slice(self.children(node));
        }
        out.reverse();
        out
    }
}

fn newest_first(a: &Member<'_>, b: &Member<'_>) -> Ordering {
    b.last_accessed
        .cmp(&a.last_accessed)
        .then_with(|| b.id.cmp(a.id))
}

/// Push `indices` so that the first of them is popped first.
fn push_reversed(stack: &mut Vec<(usize, usize, bool)>, indices: &[usize], depth: usize) {
    let count = indices.len();
    for (k, &i) in indices.iter().enumerate().rev() {
        stack.push((i, depth, k + 1 == count));
    }
}

/// The members whose parent chain comes back to them. Each member is walked
/// once: a walk stops at a member already settled.
fn on_cycles(parent: &[Option<usize>]) -> Vec<usize> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Unseen,
        /// On the current walk, at this position of `path`.
        OnPath(usize),
        Settled,
    }
    let mut mark = vec![Mark::Unseen; parent.len()];
    let mut cycles = Vec::new();
    let mut path = Vec::new();
    for start in 0..parent.len() {
        path.clear();
        let mut current = Some(start);
        while let Some(i) = current {
            match mark[i] {
                Mark::Settled => break,
                Mark::OnPath(at) => {
                    cycles.extend_from_slice(&path[at..]);
                    break;
                }
                Mark::Unseen => {
                    mark[i] = Mark::OnPath(path.len());
                    path.push(i);
                    current = parent[i];
                }
            }
        }
        for &i in &path {
            mark[i] = Mark::Settled;
        }
    }
    cycles
}

/// A parent id as the tree compares it: uppercase when it is a ULID (ids are
/// case-insensitive), else the text as written (it then matches no session).
pub fn parent_id(text: &str) -> String {
    match SessionId::parse(text) {
        Ok(id) => id.into(),
        Err(_) => text.to_owned(),
    }
}

/// One session's place in its family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kin {
    pub id: SessionId,
    /// `[genealogy] parent_session_id` (see [`parent_id`]).
    pub parent: Option<String>,
    pub last_accessed: Option<DateTime<Utc>>,
}

impl Kin {
    /// The session `id` whose state is `state`.
    pub fn of(id: SessionId, state: &SessionState) -> Kin {
        Kin {
            id,
            parent: state
                .genealogy()
                .parent_session_id
                .as_deref()
                .map(parent_id),
            last_accessed: Some(state.last_accessed()),
        }
    }

    /// The session at `loc`, from its `state.toml`. A state that cannot be
    /// read names no parent.
    pub fn read(loc: &SessionLocation) -> Kin {
        match crate::load::load_state(&loc.dir) {
            Ok(loaded) => Kin::of(loc.id.clone(), &loaded.value),
            Err(_) => Kin {
                id: loc.id.clone(),
                parent: None,
                last_accessed: None,
            },
        }
    }

    pub fn member(&self) -> Member<'_> {
        Member {
            id: self.id.as_str(),
            parent: self.parent.as_deref(),
            last_accessed: self.last_accessed,
        }
    }
}

/// `id` and its ancestors, nearest first, by `[genealogy]
/// parent_session_id`: each session on the way is found by `locate` and read
/// for its parent. A parent is listed even when it cannot be found (it is
/// still named); the walk stops there, at a parent already listed (a cycle
/// written by hand), or after [`MAX_LINEAGE`] sessions. What a `wait` run
/// inside a session must never wait for.
pub fn lineage(
    id: &SessionId,
    mut locate: impl FnMut(&SessionId) -> Option<SessionLocation>,
) -> Vec<SessionId> {
    let mut line = vec![id.clone()];
    while line.len() < MAX_LINEAGE {
        let Some(loc) = line.last().and_then(&mut locate) else {
            break;
        };
        let parent = Kin::read(&loc)
            .parent
            .and_then(|text| SessionId::parse(&text).ok());
        match parent {
            Some(parent) if !line.contains(&parent) => line.push(parent),
            _ => break,
        }
    }
    line
}

/// A set of sessions (usually a project's) and their tree: what `show`,
/// `kill --tree` and `wait --tree` ask about one session's relatives.
#[derive(Debug, Clone, Default)]
pub struct Family {
    kin: Vec<Kin>,
    tree: Tree,
}

impl Family {
    pub fn new(kin: Vec<Kin>) -> Family {
        let members: Vec<Member<'_>> = kin.iter().map(Kin::member).collect();
        let tree = Tree::build(&members);
        Family { kin, tree }
    }

    /// The family of these sessions, each read from its `state.toml`
    /// (one bounded read per session).
    pub fn read(sessions: &[SessionLocation]) -> Family {
        Family::new(sessions.iter().map(Kin::read).collect())
    }

    /// Every session, in the order given.
    pub fn kin(&self) -> &[Kin] {
        &self.kin
    }

    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// The children of `id`, newest first (none when `id` is not in the family).
    pub fn children(&self, id: &SessionId) -> Vec<&SessionId> {
        self.position(id)
            .map(|i| self.ids(self.tree.children(i)))
            .unwrap_or_default()
    }

    /// Every descendant of `id` (not `id` itself), each after all of its own
    /// descendants: stopping them in this order, then `id`, stops children
    /// before their parents (`kill --tree`). Members of a parent cycle
    /// written by hand (A's parent B, B's parent A) are descendants of each
    /// other: each is in the answer once.
    pub fn descendants(&self, id: &SessionId) -> Vec<&SessionId> {
        let mut levels = self.levels_below(id);
        levels.pop();
        levels.into_iter().flatten().collect()
    }

    /// `id` and its descendants in levels, deepest first: every session of a
    /// level may be stopped at once, and each level only after the one before
    /// it, so children always stop before their parents (`kill --tree`,
    /// `wait --tree`). The walk follows each session's recorded parent, and
    /// stops at sessions already visited, so a parent cycle ends it and every
    /// member is in one level only.
    pub fn levels_below(&self, id: &SessionId) -> Vec<Vec<&SessionId>> {
        let Some(root) = self.position(id) else {
            return Vec::new();
        };
        let mut children: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, kin) in self.kin.iter().enumerate() {
            if let Some(parent) = kin.parent.as_deref() {
                children.entry(parent).or_default().push(i);
            }
        }
        let mut visited: HashSet<&str> = HashSet::from([self.kin[root].id.as_str()]);
        let mut levels: Vec<Vec<&SessionId>> = vec![vec![&self.kin[root].id]];
        let mut frontier = vec![root];
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for parent in frontier {
                let kids = children.get(self.kin[parent].id.as_str());
                for &child in kids.into_iter().flatten() {
                    if visited.insert(self.kin[child].id.as_str()) {
                        next.push(child);
                    }
                }
            }
            if !next.is_empty() {
                levels.push(next.iter().map(|&i| &self.kin[i].id).collect());
            }
            frontier = next;
        }
        levels.reverse();
        levels
    }

    fn position(&self, id: &SessionId) -> Option<usize> {
        self.kin.iter().position(|k| &k.id == id)
    }

    fn ids(&self, indices: &[usize]) -> Vec<&SessionId> {
        indices.iter().map(|&i| &self.kin[i].id).collect()
    }
}

#[cfg(test)]
#[path = "genealogy_tests.rs"]
mod tests;
