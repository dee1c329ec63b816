//! Short ids: the shortest prefix of each session id (at least
//! [`MIN_SHORT_ID_LEN`] characters) that no other id of a set shares.
//!
//! `csa session list` shows them in its `SESSION` column. The set is every
//! session of the listed scope, so a short id resolves to its session
//! ([`crate::resolve::resolve_prefix`] takes any unique prefix). Computed once
//! per list: sort the ids, compare neighbours, O(n log n).

use crate::id::ULID_LEN;

/// The shortest prefix shown. Ids made in the same millisecond share their
/// first 10 characters; 8 tell apart sessions about 9 hours apart.
pub const MIN_SHORT_ID_LEN: usize = 8;

/// For `sorted` ids (ascending, uppercase), the length of each one's
/// shortest unique prefix: one more than the longest prefix it shares with a
/// neighbour, at least [`MIN_SHORT_ID_LEN`] and at most the id's length. An id
/// listed twice (the same session under both state roots) keeps its full length.
pub fn unique_prefix_lens(sorted: &[&str]) -> Vec<usize> {
    let shared: Vec<usize> = sorted
        .windows(2)
        .map(|pair| common_prefix_len(pair[0], pair[1]))
        .collect();
    sorted
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let before = i.checked_sub(1).map_or(0, |j| shared[j]);
            let after = shared.get(i).copied().unwrap_or(0);
            (before.max(after) + 1)
                .max(MIN_SHORT_ID_LEN)
                .min(id.len())
                .min(ULID_LEN)
        })
        .collect()
}

fn common_prefix_len(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

/// The short ids of a set of sessions, looked up by id.
#[derive(Debug, Clone, Default)]
pub struct ShortIds<'a> {
    /// Sorted by id, with the length of its short id.
    sorted: Vec<(&'a str, usize)>,
}

impl<'a> ShortIds<'a> {
    /// The short ids of `ids` (uppercase, as [`crate::SessionId`] stores them).
    pub fn new(ids: impl IntoIterator<Item = &'a str>) -> ShortIds<'a> {
        let mut ids: Vec<&'a str> = ids.into_iter().collect();
        ids.sort_unstable();
        let lens = unique_prefix_lens(&ids);
        ShortIds {
            sorted: ids.into_iter().zip(lens).collect(),
        }
    }

    /// The short id of `id`: its shortest unique prefix in the set, or the
    /// whole id when it is not in the set.
    pub fn of<'i>(&self, id: &'i str) -> &'i str {
        let len = self.find(id).map_or(id.len(), |at| self.sorted[at].1);
        id.get(..len).unwrap_or(id)
    }

    /// Whether `id` is in the set.
    pub fn contains(&self, id: &str) -> bool {
        self.find(id).is_some()
    }

    fn find(&self, id: &str) -> Option<usize> {
        self.sorted
            .binary_search_by(|(probe, _)| (*probe).cmp(id))
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "01KAZ9X3M2QAAAAAAAAAAAAAAA";

    #[test]
    fn one_id_is_cut_to_the_minimum() {
        assert_eq!(unique_prefix_lens(&[A]), [MIN_SHORT_ID_LEN]);
        assert_eq!(ShortIds::new([A]).of(A), "01KAZ9X3");
    }

    #[test]
    fn ids_that_differ_early_still_show_the_minimum() {
        let ids = ["01AAAAAAAAAAAAAAAAAAAAAAAA", "01BBBBBBBBBBBBBBBBBBBBBBBB"];
        assert_eq!(unique_prefix_lens(&ids), [8, 8]);
    }

    #[test]
    fn the_minimum_is_exceeded_by_exactly_what_is_shared() {
        // Sharing 8 characters: 9 tell them apart; sharing 7: the minimum.
        let ids = ["01KAZ9X3A", "01KAZ9X3B", "01KAZ9XZ"];
        assert_eq!(unique_prefix_lens(&ids), [9, 9, 8]);
    }

    #[test]
    fn ids_sharing_13_characters_get_14_each_and_neighbours_matter_on_both_sides() {
        let ids = [
            "01KAZ9X3M2QAB0000000000000",
            "01KAZ9X3M2QAB1111111111111",
            "01KAZ9X3M2QAC0000000000000",
            "01KAZ9X3M2RZZZZZZZZZZZZZZZ",
        ];
        let lens = unique_prefix_lens(&ids);
        assert_eq!(lens, [14, 14, 13, 11]);
        let short = ShortIds::new(ids.iter().rev().copied());
        assert_eq!(short.of(ids[0]), "01KAZ9X3M2QAB0");
        assert_eq!(short.of(ids[1]), "01KAZ9X3M2QAB1");
        assert_ne!(short.of(ids[0]), short.of(ids[1]));
        // Every short id is a prefix of its id and of no other.
        for id in ids {
            let prefix = short.of(id);
            let matching = ids.iter().filter(|other| other.starts_with(prefix)).count();
            assert_eq!(matching, 1, "{prefix}");
        }
    }

    #[test]
    fn a_duplicate_keeps_its_full_length_and_an_unknown_id_is_shown_whole() {
        assert_eq!(unique_prefix_lens(&[A, A]), [26, 26]);
        assert_eq!(unique_prefix_lens(&[]), Vec::<usize>::new());
        let other = "01KAZ9X3M2QBBBBBBBBBBBBBBB";
        assert_eq!(ShortIds::new([A]).of(other), other);
    }
}
