//! The anchor finder: every occurrence of every signature anchor in a file.
//!
//! Every anchor is at least [`MIN_ANCHOR`] bytes long, so each holds a 4-byte window (a gram).
//! Most anchors are at least [`LONG_ANCHOR`] bytes long: for those, the finder reads the gram at
//! every [`STRIDE`]-th position of a file only, and keys each anchor on [`STRIDE`] consecutive
//! grams (the run whose bytes are rarest in firmware, by the frequencies in [`COMMONNESS`]), one of
//! which sits at such a position wherever the anchor occurs. A read tests one bit of a small filter
//! that stays in the first-level cache, and only where the bit is set does the finder look the gram
//! up and compare the anchors that hold it. The few shorter anchors are found by a vectorised
//! search for a handful of literals (Teddy, from `aho-corasick`, already built for `regex`), or,
//! where that cannot be built, by the same gram index read at every position. Reading a quarter of
//! the positions is what makes the finder several times faster than reading them all, which was
//! itself several times faster than the Aho-Corasick DFA it replaced.
//!
//! It finds exactly what an overlapping Aho-Corasick search finds (every occurrence of every anchor,
//! overlapping ones included) in the same order: by end offset, then longest first, then anchor
//! order; a test compares the two. At most `max_hits` occurrences are kept per file (a bound the
//! caller makes proportional to the file's size), plus the first occurrence of every anchor
//! whatever that bound, so a file full of anchors costs memory in proportion to its size, and a
//! flood of one anchor does not hide the others; how many were not kept is counted.

/// The shortest anchor the finder accepts (the signature format's minimum).
pub(crate) const MIN_ANCHOR: usize = 4;

/// Bits of a gram's hash that index the filter: 2^18 bits, 32 KiB.
const FILTER_BITS: u32 = 18;
/// 64-bit words of the filter.
const FILTER_WORDS: usize = 1 << (FILTER_BITS - 6);
/// Odd multipliers for the filter's hash and the gram table's (Knuth's multiplicative hashing).
const FILTER_MULTIPLIER: u32 = 0x9E37_79B1;
const TABLE_MULTIPLIER: u32 = 0x85EB_CA77;

/// How common each byte value is in firmware, as a scaled log of its frequency: 255 for `0x00`,
/// 0 for the rarest. Measured over every file of the 13 shared corpus images, unpacked (297 MB);
/// it only steers which gram of an anchor the finder keys on, never what it finds.
const COMMONNESS: [u8; 256] = [
    255, 118, 116, 118, 103, 69, 63, 56, 84, 58, 59, 52, 76, 49, 97, 63, //
    105, 44, 47, 43, 69, 29, 30, 46, 63, 21, 31, 22, 54, 23, 20, 46, //
    115, 53, 35, 33, 100, 79, 38, 44, 62, 32, 36, 28, 45, 40, 24, 22, //
    76, 41, 30, 26, 45, 27, 22, 19, 48, 33, 20, 10, 43, 20, 10, 30, //
    96, 71, 65, 55, 74, 43, 56, 30, 47, 24, 19, 22, 55, 47, 32, 30, //
    57, 15, 48, 45, 58, 22, 19, 15, 30, 8, 8, 23, 41, 42, 26, 68, //
    59, 58, 37, 55, 55, 74, 39, 36, 48, 54, 22, 27, 57, 40, 55, 60, //
    54, 22, 54, 60, 77, 39, 21, 13, 37, 25, 11, 26, 41, 22, 13, 24, //
    101, 30, 32, 70, 45, 45, 18, 14, 27, 56, 3, 65, 39, 52, 33, 78, //
    49, 54, 14, 27, 37, 13, 10, 45, 22, 44, 11, 10, 25, 21, 14, 15, //
    70, 8, 31, 19, 19, 16, 4, 3, 28, 45, 56, 0, 24, 10, 16, 50, //
    46, 21, 14, 14, 38, 17, 16, 6, 24, 31, 3, 0, 42, 40, 13, 36, //
    69, 30, 21, 30, 38, 8, 22, 23, 20, 5, 5, 4, 15, 14, 3, 3, //
    37, 18, 49, 23, 20, 22, 28, 9, 22, 10, 7, 8, 23, 31, 21, 43, //
    74, 56, 42, 55, 32, 53, 9, 23, 52, 31, 22, 44, 36, 12, 14, 12, //
    54, 21, 12, 32, 25, 29, 19, 43, 65, 66, 23, 26, 40, 48, 42, 165, //
];

/// One occurrence of an anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    /// The anchor's index in the list the finder was built from.
    pub(crate) anchor: usize,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// Positions between two reads of the long anchors' gram index: an anchor of at least
/// `STRIDE + 3` bytes holds a gram at a multiple of `STRIDE` wherever it sits.
const STRIDE: usize = 4;
/// The shortest anchor the strided pass finds; shorter ones go to [`Short`].
const LONG_ANCHOR: usize = STRIDE + MIN_ANCHOR - 1;
// The strided pass reads each gram as the first bytes of a `STRIDE`-byte chunk.
const _: () = assert!(STRIDE >= MIN_ANCHOR);

/// A slot of the gram table: the anchors keyed on `gram` are `entries[start..end]`.
#[derive(Clone, Copy, Default)]
struct Slot {
    gram: u32,
    start: u32,
    /// Zero for an empty slot (a used slot holds at least one entry).
    end: u32,
}

/// An anchor keyed on a gram: its index and the gram's offset inside it.
#[derive(Clone, Copy)]
struct Entry {
    anchor: u32,
    offset: u32,
}

/// The anchors of every signature, ready to be found in files.
pub(crate) struct Anchors {
    /// The anchors' bytes, by index.
    texts: Vec<Box<[u8]>>,
    /// The anchors of at least [`LONG_ANCHOR`] bytes, read every [`STRIDE`] positions.
    long: GramIndex,
    /// The shorter ones.
    short: Short,
}

/// How the anchors too short for the strided pass are found.
enum Short {
    /// There are none: no pass at all.
    None,
    /// A vectorised search for a few literals (Teddy, from `aho-corasick`): for each leftmost
    /// match the finder compares every short anchor there, then searches on from the next byte,
    /// so overlapping occurrences are found too.
    Packed {
        searcher: aho_corasick::packed::Searcher,
        anchors: Vec<usize>,
    },
    /// Where no vectorised searcher can be built (too many short anchors, or a processor
    /// without the instructions): a gram index read at every position.
    Grams(GramIndex),
}

impl Anchors {
    /// Indexes `anchors`; the error is the index of one shorter than [`MIN_ANCHOR`].
    pub(crate) fn new(anchors: &[&[u8]]) -> Result<Self, usize> {
        Self::build(anchors, true)
    }

    /// [`Anchors::new`], with the vectorised search of short anchors only when `packed` is true
    /// (tests compare both ways).
    fn build(anchors: &[&[u8]], packed: bool) -> Result<Self, usize> {
        if let Some(short) = anchors.iter().position(|a| a.len() < MIN_ANCHOR) {
            return Err(short);
        }
        let (long, short): (Vec<usize>, Vec<usize>) =
            (0..anchors.len()).partition(|&index| anchors[index].len() >= LONG_ANCHOR);
        let searcher = (packed && !short.is_empty())
            .then(|| {
                let mut builder = aho_corasick::packed::Config::new().builder();
                for &index in &short {
                    builder.add(anchors[index]);
                }
                builder.build()
            })
            .flatten();
        let short = match searcher {
            _ if short.is_empty() => Short::None,
            Some(searcher) => Short::Packed {
                searcher,
                anchors: short,
            },
            None => Short::Grams(GramIndex::new(anchors, &short, 1)?),
        };
        let long = GramIndex::new(anchors, &long, STRIDE)?;
        Ok(Self {
            texts: anchors.iter().map(|a| Box::from(*a)).collect(),
            long,
            short,
        })
    }

    /// Every occurrence in `data` of every anchor, ordered by end offset, then start offset, then
    /// anchor index; at most `max_hits` of them, plus the first of each anchor (see [`Hits`]).
    pub(crate) fn find(&self, data: &[u8], max_hits: usize) -> Hits {
        let mut found = Found {
            texts: &self.texts,
            data,
            max_hits,
            seen: vec![false; self.texts.len()],
            hits: Vec::new(),
            dropped: 0,
            first_dropped: usize::MAX,
        };
        // Positions that are multiples of the stride: the chunks' starts.
        let grams = data.chunks_exact(STRIDE).enumerate().map(|(index, chunk)| {
            (
                index * STRIDE,
                u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]),
            )
        });
        self.long.pass(grams, &mut found);
        match &self.short {
            Short::None => {}
            Short::Packed { searcher, anchors } => {
                let mut at = 0;
                while let Some(first) =
                    searcher.find_in(data, aho_corasick::Span::from(at..data.len()))
                {
                    let start = first.start();
                    for &anchor in anchors {
                        found.check(anchor, start);
                    }
                    at = start + 1;
                }
            }
            Short::Grams(index) => {
                let grams = data
                    .windows(MIN_ANCHOR)
                    .enumerate()
                    .map(|(position, w)| (position, u32::from_le_bytes([w[0], w[1], w[2], w[3]])));
                index.pass(grams, &mut found);
            }
        }
        let mut hits = found.hits;
        hits.sort_unstable_by_key(|hit| (hit.end, hit.start, hit.anchor));
        Hits {
            kept: hits,
            dropped: found.dropped,
            first_dropped: (found.dropped > 0).then_some(found.first_dropped),
        }
    }
}

/// The occurrences of anchors in one file that the finder kept.
#[derive(Debug, Default)]
pub(crate) struct Hits {
    /// By end offset, then start offset, then anchor index.
    pub(crate) kept: Vec<Hit>,
    /// Occurrences not kept: the file held more than `max_hits`, and each was not its anchor's
    /// first. Which ones depends on the order of the finder's passes (long anchors first), not
    /// only on the file's order.
    pub(crate) dropped: usize,
    /// The smallest start offset of an occurrence not kept.
    pub(crate) first_dropped: Option<usize>,
}

/// The occurrences found so far in one file.
struct Found<'a> {
    texts: &'a [Box<[u8]>],
    data: &'a [u8],
    max_hits: usize,
    /// Whether each anchor was kept at least once.
    seen: Vec<bool>,
    hits: Vec<Hit>,
    dropped: usize,
    first_dropped: usize,
}

impl Found<'_> {
    /// Keeps `anchor` at `start` if it is there, and fewer than `max_hits` were kept or it is the
    /// anchor's first occurrence (a pass meets one anchor's occurrences in order of their start).
    fn check(&mut self, anchor: usize, start: usize) {
        let Some(text) = self.texts.get(anchor) else {
            return;
        };
        let end = start + text.len();
        if self.data.get(start..end) != Some(&text[..]) {
            return;
        }
        let Some(seen) = self.seen.get_mut(anchor) else {
            return;
        };
        if self.hits.len() < self.max_hits || !*seen {
            *seen = true;
            self.hits.push(Hit { anchor, start, end });
        } else {
            self.dropped += 1;
            self.first_dropped = self.first_dropped.min(start);
        }
    }
}

/// Anchors keyed on 4-byte grams, for a pass that reads the gram at every `stride`-th position.
///
/// Each anchor is keyed on `stride` grams at consecutive offsets, so whichever position an
/// occurrence starts at, exactly one of them sits at a multiple of the stride: every occurrence
/// is met once. A read tests one bit of a small filter (the grams' hashes, which stays in the
/// first-level cache); only where the bit is set does the pass look the gram up and compare the
/// anchors that hold it.
struct GramIndex {
    filter: Box<[u64; FILTER_WORDS]>,
    slots: Vec<Slot>,
    slot_bits: u32,
    entries: Vec<Entry>,
}

impl GramIndex {
    /// Indexes `anchors[index]` for each of `indices`, each on its `stride` rarest consecutive
    /// grams; the error is an anchor index that does not fit.
    fn new(anchors: &[&[u8]], indices: &[usize], stride: usize) -> Result<Self, usize> {
        let mut keyed: Vec<(u32, Entry)> = Vec::with_capacity(indices.len() * stride);
        for &index in indices {
            let anchor = anchors[index];
            let first = rarest_grams(anchor, stride);
            for offset in first..first + stride {
                keyed.push((
                    gram_at(anchor, offset),
                    Entry {
                        anchor: u32::try_from(index).map_err(|_| index)?,
                        offset: u32::try_from(offset).map_err(|_| index)?,
                    },
                ));
            }
        }
        // Grouped by gram; inside a group by anchor, and one anchor's later offsets first, so a
        // pass meets its occurrences in order of their start.
        keyed.sort_by_key(|(gram, entry)| (*gram, entry.anchor, std::cmp::Reverse(entry.offset)));
        #[allow(
            clippy::large_stack_arrays,
            reason = "a fixed-size filter lets the pass index it without a bounds check per byte; \
                      a zeroed box is allocated zeroed, not built on the stack, in release builds"
        )]
        let mut filter = Box::new([0u64; FILTER_WORDS]);
        let grams = keyed.windows(2).filter(|w| w[0].0 != w[1].0).count() + 1;
        // At most half full, so a lookup ends after a probe or two.
        let slot_bits = (grams * 2).next_power_of_two().trailing_zeros().max(4);
        let mut slots = vec![Slot::default(); 1 << slot_bits];
        let mut entries = Vec::with_capacity(keyed.len());
        let mut group_start = 0;
        while group_start < keyed.len() {
            let gram = keyed[group_start].0;
            let group_end = keyed[group_start..]
                .iter()
                .position(|(other, _)| *other != gram)
                .map_or(keyed.len(), |len| group_start + len);
            let start = entries.len();
            entries.extend(keyed[group_start..group_end].iter().map(|(_, e)| *e));
            let bit = filter_index(gram);
            filter[bit >> 6] |= 1 << (bit & 63);
            let mut slot = table_index(gram, slot_bits);
            while slots[slot].end != 0 {
                slot = (slot + 1) & (slots.len() - 1);
            }
            slots[slot] = Slot {
                gram,
                start: u32::try_from(start).map_err(|_| group_start)?,
                end: u32::try_from(entries.len()).map_err(|_| group_start)?,
            };
            group_start = group_end;
        }
        Ok(Self {
            filter,
            slots,
            slot_bits,
            entries,
        })
    }

    /// Compares the anchors keyed on each (position, gram) with the bytes there. The pass does
    /// no work per read that depends on the previous read, so the processor overlaps them, which
    /// an automaton walking its states cannot.
    fn pass(&self, grams: impl Iterator<Item = (usize, u32)>, found: &mut Found<'_>) {
        for (position, gram) in grams {
            let bit = filter_index(gram);
            if self.filter[bit >> 6] & (1 << (bit & 63)) == 0 {
                continue;
            }
            for entry in self.keyed_on(gram) {
                if let Some(start) = position.checked_sub(entry.offset as usize) {
                    found.check(entry.anchor as usize, start);
                }
            }
        }
    }

    /// The anchors keyed on `gram`.
    fn keyed_on(&self, gram: u32) -> &[Entry] {
        let mask = self.slots.len() - 1;
        let mut slot = table_index(gram, self.slot_bits);
        loop {
            let candidate = self.slots[slot];
            if candidate.end == 0 {
                return &[];
            }
            if candidate.gram == gram {
                return self
                    .entries
                    .get(candidate.start as usize..candidate.end as usize)
                    .unwrap_or_default();
            }
            slot = (slot + 1) & mask;
        }
    }
}

/// The first offset of the `count` consecutive grams of `anchor` made of the least common bytes
/// (the first of equals); the caller makes sure the anchor holds `count` grams.
fn rarest_grams(anchor: &[u8], count: usize) -> usize {
    let grams = anchor.len() + 1 - MIN_ANCHOR;
    let commonness = |offset: usize| -> u32 {
        anchor[offset..offset + MIN_ANCHOR]
            .iter()
            .map(|&byte| u32::from(COMMONNESS[usize::from(byte)]))
            .sum()
    };
    (0..=grams - count)
        .min_by_key(|&first| ((first..first + count).map(commonness).sum::<u32>(), first))
        .unwrap_or(0)
}

fn gram_at(anchor: &[u8], offset: usize) -> u32 {
    let mut bytes = [0u8; 4];
    bytes.copy_from_slice(&anchor[offset..offset + 4]);
    u32::from_le_bytes(bytes)
}

fn filter_index(gram: u32) -> usize {
    (gram.wrapping_mul(FILTER_MULTIPLIER) >> (32 - FILTER_BITS)) as usize
}

fn table_index(gram: u32, bits: u32) -> usize {
    (gram.wrapping_mul(TABLE_MULTIPLIER) >> (32 - bits)) as usize
}

#[cfg(test)]
mod tests {
    use aho_corasick::{AhoCorasickBuilder, AhoCorasickKind, MatchKind};

    use super::*;

    /// What an overlapping Aho-Corasick search gives.
    fn reference(anchors: &[&[u8]], data: &[u8]) -> Vec<Hit> {
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(anchors)
            .unwrap();
        automaton
            .find_overlapping_iter(data)
            .map(|hit| Hit {
                anchor: hit.pattern().as_usize(),
                start: hit.start(),
                end: hit.end(),
            })
            .collect()
    }

    /// What the finder keeps of `all` (every occurrence) with `max_hits`, checked against it:
    /// only occurrences that are there, in the same order, at most `max_hits` beyond each
    /// anchor's first (which is always kept), and the rest counted.
    #[track_caller]
    fn check_bounded(found: &Hits, all: &[Hit], max_hits: usize) {
        let mut rest = all.iter();
        for hit in &found.kept {
            assert!(
                rest.any(|other| other == hit),
                "{hit:?} not found, or out of order"
            );
        }
        let anchors: std::collections::BTreeSet<usize> = all.iter().map(|hit| hit.anchor).collect();
        for anchor in &anchors {
            let first = all.iter().find(|hit| hit.anchor == *anchor);
            assert!(
                found.kept.iter().any(|hit| Some(hit) == first),
                "anchor {anchor}"
            );
        }
        assert!(found.kept.len() <= max_hits + anchors.len());
        assert_eq!(found.kept.len() + found.dropped, all.len());
        if all.len() <= max_hits {
            assert_eq!(found.dropped, 0);
        }
        let first_dropped = all
            .iter()
            .filter(|hit| !found.kept.contains(hit))
            .map(|hit| hit.start)
            .min();
        assert_eq!(found.first_dropped, first_dropped);
    }

    /// A small deterministic generator (xorshift), so the test needs no crate for randomness.
    struct Noise(u64);

    impl Noise {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn finds_what_aho_corasick_finds_in_its_order() {
        // Suffixes, prefixes, duplicates, self-overlap, NULs and grams shared by several anchors.
        let anchors: Vec<&[u8]> = vec![
            b"BusyBox v",
            b"Box v",
            b"BusyBox v",
            b"aaaa",
            b"aaaaaa",
            b"\0\0\0\0",
            b"\0iPXE\0",
            b"OpenSSL ",
            b"SSL 1",
            b"OpenSSL 1.1",
            b"abcdabcd",
            b"bcdab",
            b"zlib",
            b"aaaaaaaaa",
            b"abababab",
            b"\0\0\0\0\0\0\0",
            b"1.1 OpenSSL",
        ];
        // The short anchors both ways: vectorised, and by the gram index at every position.
        for packed in [true, false] {
            let finder = Anchors::build(&anchors, packed).unwrap();
            assert_eq!(matches!(finder.short, Short::Packed { .. }), packed);
            same_as_aho_corasick(&finder, &anchors);
        }
    }

    /// Random files made of the anchors, pieces of them and a few other bytes give what an
    /// overlapping Aho-Corasick search gives, with a large and a small cap.
    fn same_as_aho_corasick(finder: &Anchors, anchors: &[&[u8]]) {
        let mut noise = Noise(0x1234_5678_9abc_def1);
        for round in 0..400 {
            let mut data = Vec::new();
            let len = (noise.next() % 4000) as usize;
            while data.len() < len {
                let pick = noise.next();
                if pick.is_multiple_of(3) {
                    let anchor = anchors[(pick >> 8) as usize % anchors.len()];
                    // Whole anchors and pieces of them, so partial matches occur too.
                    let cut = 1 + (pick >> 20) as usize % anchor.len();
                    data.extend_from_slice(if pick.is_multiple_of(2) {
                        anchor
                    } else {
                        &anchor[..cut]
                    });
                } else {
                    data.push(b"aAbcdz\0 OpenSLBusyox1."[(pick >> 4) as usize % 22]);
                }
            }
            let all = reference(anchors, &data);
            let found = finder.find(&data, usize::MAX);
            assert_eq!(found.kept, all, "round {round}");
            assert_eq!((found.dropped, found.first_dropped), (0, None));
            for max_hits in [0, 3, 64] {
                check_bounded(&finder.find(&data, max_hits), &all, max_hits);
            }
        }
    }

    #[test]
    fn every_embedded_anchor_is_found_as_aho_corasick_finds_it() {
        let catalog = &*crate::signature::TESTED;
        let anchors: Vec<&[u8]> = catalog
            .signatures
            .iter()
            .flat_map(|signature| signature.patterns.iter().map(|p| p.anchor.as_slice()))
            .collect();
        // Every test excerpt of every signature, one after the other, and then all anchors.
        let mut data: Vec<u8> = Vec::new();
        for signature in &catalog.signatures {
            for test in &signature.tests {
                data.extend_from_slice(&test.excerpt);
            }
        }
        for anchor in &anchors {
            data.extend_from_slice(anchor);
        }
        for packed in [true, false] {
            let finder = Anchors::build(&anchors, packed).unwrap();
            let found = finder.find(&data, usize::MAX).kept;
            assert!(found.len() >= anchors.len());
            assert_eq!(found, reference(&anchors, &data));
        }
    }

    #[test]
    fn short_anchors_are_refused() {
        let anchors: Vec<&[u8]> = vec![b"long enough", b"abc"];
        assert_eq!(Anchors::new(&anchors).err(), Some(1));
        assert!(
            Anchors::new(&[])
                .unwrap()
                .find(b"anything", 64)
                .kept
                .is_empty()
        );
        let finder = Anchors::new(&[b"abcd".as_slice()]).unwrap();
        assert!(finder.find(b"abc", 64).kept.is_empty());
        assert_eq!(finder.find(b"abcd", 64).kept.len(), 1);
        // Long anchors only: no pass for short ones.
        let finder = Anchors::new(&[b"long enough".as_slice()]).unwrap();
        assert!(matches!(finder.short, Short::None));
        assert_eq!(finder.find(b"xx long enough", 64).kept.len(), 1);
    }
}
