//! Short ids: the shortest prefix of each session id (at least
//! [`MIN_SHORT_ID_LEN`] characters) that no other id of a set shares.
//!
//! `csa session list` shows them in its `SESSION` column. The set is every
//! session of the listed scope, so a short id resolves to its session
//! ([`crate::resolve::resolve_prefix`] takes any unique prefix). Computed once
//! per list: sort the ids, compare neighbours, O(n log n). An id is handled
//! as two 128-bit numbers made of its uppercase bytes (the Crockford
//! alphabet is in ASCII order, so they sort as the ids do), which keeps the
//! sort and the lookups of 10,000 ids to about a millisecond.

use crate::id::ULID_LEN;

/// The shortest prefix shown. Ids made in the same millisecond share their
/// first 10 characters; 8 tell apart sessions about 9 hours apart.
pub const MIN_SHORT_ID_LEN: usize = 8;

/// The short ids of a set of sessions, looked up by id.
#[derive(Debug, Clone, Default)]
pub struct ShortIds {
    /// Each id's key, sorted.
    sorted: Vec<Key>,
    /// The length of each one's short id (apart: a pair would be padded
    /// to 48 bytes, a third of it nothing, in a list of 100,000 ids).
    lens: Vec<u8>,
}

impl ShortIds {
    /// The short ids of `ids` (26 characters each, in either case; other
    /// strings are left out).
    pub fn new<'a>(ids: impl IntoIterator<Item = &'a str>) -> ShortIds {
        // Sized once and filled in place: a list of 100,000 ids holds no
        // second copy of them.
        let ids = ids.into_iter();
        let mut sorted = Vec::with_capacity(ids.size_hint().1.unwrap_or(0));
        sorted.extend(ids.filter_map(Key::of));
        sorted.sort_unstable();
        let lens = unique_prefix_lens(&sorted);
        ShortIds { sorted, lens }
    }

    /// The short id of `id`: its shortest unique prefix in the set, or the
    /// whole of `id` when it is not in the set.
    pub fn of<'i>(&self, id: &'i str) -> &'i str {
        let len = self
            .find(id)
            .map_or(id.len(), |at| usize::from(self.lens[at]));
        id.get(..len).unwrap_or(id)
    }

    /// For an `id` that is not in the set: its shortest prefix (at least
    /// [`MIN_SHORT_ID_LEN`] characters) that no id of the set starts with,
    /// so it never reads as one of them. An id of the set, or a string that
    /// is no id, is given whole.
    pub fn outside<'i>(&self, id: &'i str) -> &'i str {
        let Some(key) = Key::of(id) else {
            return id;
        };
        let at = match self.sorted.binary_search(&key) {
            Ok(_) => return id,
            Err(at) => at,
        };
        let shared = |i: Option<usize>| {
            i.and_then(|i| self.sorted.get(i))
                .map_or(0, |other| key.shared_chars(*other))
        };
        let len =
            (shared(at.checked_sub(1)).max(shared(Some(at))) + 1).clamp(MIN_SHORT_ID_LEN, ULID_LEN);
        id.get(..len).unwrap_or(id)
    }

    /// [`ShortIds::of`] for many ids at once, in their order. The ids are
    /// sorted and walked beside the set, so the cost is two sorts and one
    /// pass, not a binary search per id: at 10,000 ids each search is a
    /// chain of cache misses, and that was most of what the short ids cost
    /// a list.
    pub fn of_each<'i>(&self, ids: &[&'i str]) -> Vec<&'i str> {
        let mut order: Vec<(Key, usize)> = ids
            .iter()
            .enumerate()
            .filter_map(|(at, id)| Key::of(id).map(|key| (key, at)))
            .collect();
        order.sort_unstable();
        let mut lens: Vec<usize> = ids.iter().map(|id| id.len()).collect();
        let mut set = self.sorted.iter().zip(&self.lens).peekable();
        for (key, at) in order {
            while set.next_if(|(listed, _)| **listed < key).is_some() {}
            if let Some((listed, len)) = set.peek()
                && **listed == key
            {
                lens[at] = usize::from(**len);
            }
        }
        ids.iter()
            .zip(lens)
            .map(|(id, len)| id.get(..len).unwrap_or(id))
            .collect()
    }

    /// Whether `id` (in either case) is in the set.
    pub fn contains(&self, id: &str) -> bool {
        self.find(id).is_some()
    }

    fn find(&self, id: &str) -> Option<usize> {
        let key = Key::of(id)?;
        self.sorted.binary_search(&key).ok()
    }
}

/// An id's 26 uppercase bytes as two big-endian numbers (16 bytes, then the
/// last 10 and six zeros): comparing keys compares the ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key(u128, u128);

impl Key {
    fn of(id: &str) -> Option<Key> {
        let bytes: &[u8; ULID_LEN] = id.as_bytes().try_into().ok()?;
        let (head, rest) = bytes.split_first_chunk::<16>()?;
        let mut tail = [0u8; 16];
        tail[..rest.len()].copy_from_slice(rest);
        Some(Key(
            ascii_uppercase(u128::from_be_bytes(*head)),
            ascii_uppercase(u128::from_be_bytes(tail)),
        ))
    }

    /// How many leading characters the two ids share.
    fn shared_chars(self, other: Key) -> usize {
        let head = self.0 ^ other.0;
        if head != 0 {
            return head.leading_zeros() as usize / 8;
        }
        let tail = self.1 ^ other.1;
        if tail != 0 {
            return 16 + tail.leading_zeros() as usize / 8;
        }
        ULID_LEN
    }
}

/// Each byte of `x` that is an ASCII lowercase letter, made uppercase, all
/// 16 at once: a byte under 0x80 plus 0x1F reaches 0x80 from `a` on, plus 0x05
/// from `{` on, and never carries into the next byte.
fn ascii_uppercase(x: u128) -> u128 {
    const ONES: u128 = u128::MAX / 0xFF;
    const HIGH: u128 = ONES * 0x80;
    let ascii = x & !HIGH;
    let from_a = ascii + ONES * u128::from(0x80 - b'a');
    let past_z = ascii + ONES * u128::from(0x80 - b'z' - 1);
    let lower = from_a & !past_z & !x & HIGH;
    x ^ (lower >> 2)
}

/// For `sorted` keys, the length of each one's shortest unique prefix: one
/// character more than it shares with either neighbour, at least
/// [`MIN_SHORT_ID_LEN`], at most the whole id (an id listed twice, the same
/// session under both state roots, keeps its full length).
fn unique_prefix_lens(sorted: &[Key]) -> Vec<u8> {
    // How many characters each id shares with the one before it.
    let mut before = 0;
    let mut lens = Vec::with_capacity(sorted.len());
    for (i, key) in sorted.iter().enumerate() {
        let after = sorted.get(i + 1).map_or(0, |next| key.shared_chars(*next));
        let len = (before.max(after) + 1).clamp(MIN_SHORT_ID_LEN, ULID_LEN);
        lens.push(u8::try_from(len).unwrap_or(u8::MAX));
        before = after;
    }
    lens
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const A: &str = "01KAZ9X3M2QAAAAAAAAAAAAAAA";

    /// `prefix` padded with zeros to a full id.
    fn id(prefix: &str) -> String {
        format!("{prefix:0<26}")
    }

    #[test]
    fn an_id_outside_the_set_is_cut_where_no_listed_id_shares_it() {
        let listed = [id("01KAZ9X3M2QA"), id("01KAZ9X3M2QB"), id("01M8CFY5A")];
        let set = ShortIds::new(listed.iter().map(String::as_str));
        // Shares 11 characters with two listed ids: 12 tell them apart.
        let parent = id("01KAZ9X3M2QC");
        assert_eq!(set.outside(&parent), "01KAZ9X3M2QC");
        // Shares 8 with the orphan it heads: 9.
        let parent = id("01M8CFY5B");
        assert_eq!(set.outside(&parent), "01M8CFY5B");
        assert_eq!(set.outside(&id("7ZZ")), "7ZZ00000", "at least 8");
        assert_eq!(set.outside(&listed[0]), listed[0], "a listed id is whole");
        assert_eq!(set.outside("not an id"), "not an id");
    }

    fn shorts(ids: &[String]) -> Vec<String> {
        let set = ShortIds::new(ids.iter().map(String::as_str));
        ids.iter().map(|id| set.of(id).to_owned()).collect()
    }

    #[test]
    fn of_each_says_what_of_says_for_each_id() {
        let listed = [id("01KAZ9X3M2QA"), id("01KAZ9X3M2QB"), id("01M8CFY5A")];
        let set = ShortIds::new(listed.iter().map(String::as_str));
        let lower = listed[1].to_lowercase();
        let asked: Vec<&str> = vec![
            &listed[2],
            "not an id",
            &lower,
            &listed[0],
            &listed[2],
            "7ZZ00000000000000000000000",
        ];
        let each = set.of_each(&asked);
        let one_by_one: Vec<&str> = asked.iter().map(|id| set.of(id)).collect();
        assert_eq!(each, one_by_one);
        assert_eq!(each[0], "01M8CFY5");
        assert_eq!(each[2], "01kaz9x3m2qb");
    }

    #[test]
    fn one_id_is_cut_to_the_minimum() {
        assert_eq!(ShortIds::new([A]).of(A), "01KAZ9X3");
    }

    #[test]
    fn ids_that_differ_early_still_show_the_minimum() {
        assert_eq!(
            shorts(&[id("01AAAA"), id("01BBBB")]),
            ["01AAAA00", "01BBBB00"]
        );
    }

    #[test]
    fn the_minimum_is_exceeded_by_exactly_what_is_shared() {
        // Sharing 8 characters: 9 tell them apart; sharing 7: the minimum.
        assert_eq!(
            shorts(&[id("01KAZ9X3A"), id("01KAZ9X3B"), id("01KAZ9XZ")]),
            ["01KAZ9X3A", "01KAZ9X3B", "01KAZ9XZ"]
        );
    }

    #[test]
    fn ids_sharing_13_characters_get_14_each_and_neighbours_matter_on_both_sides() {
        let ids = [
            "01KAZ9X3M2QAB0000000000000",
            "01KAZ9X3M2QAB1111111111111",
            "01KAZ9X3M2QAC0000000000000",
            "01KAZ9X3M2RZZZZZZZZZZZZZZZ",
        ];
        let set = ShortIds::new(ids.iter().rev().copied());
        let shown: Vec<&str> = ids.iter().map(|id| set.of(id)).collect();
        assert_eq!(
            shown,
            [
                "01KAZ9X3M2QAB0",
                "01KAZ9X3M2QAB1",
                "01KAZ9X3M2QAC",
                "01KAZ9X3M2R"
            ]
        );
        // Either case finds the id, and the prefix keeps the case asked in.
        assert_eq!(set.of(&ids[0].to_lowercase()), "01kaz9x3m2qab0");
    }

    #[test]
    fn a_duplicate_keeps_its_full_length_and_an_unknown_id_is_shown_whole() {
        assert_eq!(ShortIds::new([A, A]).of(A), A);
        let other = "01KAZ9X3M2QBBBBBBBBBBBBBBB";
        let set = ShortIds::new([A, "not a ulid"]);
        assert_eq!(set.of(other), other);
        assert!(set.contains(A) && !set.contains(other) && !set.contains("not a ulid"));
        assert_eq!(ShortIds::new([]).of(A), A);
    }

    #[test]
    fn shared_characters_are_counted_across_both_halves_of_the_key() {
        let key = |s: &str| Key::of(s).expect("26 characters");
        let shared = |a: &str, b: &str| key(a).shared_chars(key(b));
        assert_eq!(shared(A, A), 26);
        assert_eq!(shared(A, &A.to_lowercase()), 26);
        assert_eq!(shared(&id("0"), &id("7")), 0);
        assert_eq!(shared(&id("01"), &id("02")), 1);
        assert_eq!(shared(&id("0123456789ABCDEF"), &id("0123456789ABCDEG")), 15);
        assert_eq!(
            shared(&id("0123456789ABCDEFG"), &id("0123456789ABCDEFH")),
            16
        );
        assert_eq!(shared(&id(""), &format!("{}1", "0".repeat(25))), 25);
        assert!(key(&id("0Z")) > key(&id("0A")) && key(&id("0A")) > key(&id("09")));
        assert!(Key::of("01ARZ3NDEK").is_none());
    }

    #[test]
    fn every_byte_is_uppercased_like_std_does() {
        for byte in 0..=u8::MAX {
            let mut bytes = [b'q'; 16];
            bytes[3] = byte;
            bytes[15] = byte;
            let mut expected = bytes;
            expected.make_ascii_uppercase();
            let got = ascii_uppercase(u128::from_be_bytes(bytes)).to_be_bytes();
            assert_eq!(got, expected, "byte {byte:#04x}");
        }
    }

    proptest! {
        /// Each short id is a prefix of its id and of no other, and is as
        /// short as that allows (but never under the minimum).
        #[test]
        fn short_ids_are_the_shortest_unique_prefixes(
            base in "0[0-9A-HJKMNP-TV-Z]{25}",
            variants in proptest::collection::vec((1usize..=26, "[0-9A-HJKMNP-TV-Z]{26}"), 1..30),
        ) {
            // Each id shares a random length of prefix with one base id, as
            // ids made close together do.
            let ids: Vec<String> = variants
                .iter()
                .map(|(keep, tail)| format!("{}{}", &base[..*keep], &tail[*keep..]))
                .collect();
            let set = ShortIds::new(ids.iter().map(String::as_str));
            for id in &ids {
                let short = set.of(id);
                prop_assert!(id.starts_with(short));
                prop_assert!(short.len() >= MIN_SHORT_ID_LEN);
                let same_id = ids.iter().filter(|other| *other == id).count();
                let matching = ids.iter().filter(|other| other.starts_with(short)).count();
                if same_id == 1 {
                    prop_assert_eq!(matching, 1, "{} for {}", short, id);
                }
                if short.len() > MIN_SHORT_ID_LEN {
                    let shorter = &short[..short.len() - 1];
                    let clash = ids.iter().filter(|other| other.starts_with(shorter)).count();
                    prop_assert!(clash > 1, "{} could be shorter", short);
                }
            }
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            let one_by_one: Vec<&str> = refs.iter().map(|id| set.of(id)).collect();
            prop_assert_eq!(set.of_each(&refs), one_by_one);
        }
    }
}
