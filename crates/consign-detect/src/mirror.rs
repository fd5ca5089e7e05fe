//! The mirrored string layout: a pattern cut where a release sits on one side of a neighbouring
//! string, read where the compiler put the two the other way round.
//!
//! Most patterns `cargo xtask kb` cuts from Debian binaries do not find the release after text
//! that introduces it (`BusyBox v`), but as a lone string next to another string of the same
//! function, the neighbour, which is the anchor. Two shapes, and hand-written ones like them:
//!
//! - release first: `\x00(\d+(?:\.\d+){1,3})\x00{1,16}(?:[\x20-\x7e]{1,40}\x00{1,8})?Version: %s`;
//! - neighbour first: `Version: %s\x00{1,16}(?:[\x20-\x7e]{1,40}\x00{1,8})?(\d+(?:\.\d+){1,3})\x00`.
//!
//! Which side the release is on is the compiler's choice, not the program's. Measured here
//! (bookworm, x86-64, and clang's `-c` for mipsel, mips, arm, aarch64, powerpc, Android and
//! FreeBSD targets) on `printf("Version: %s\n\n", VERSION); printf("Compiled in settings:\n");`
//! and on ndisc6 1.0.5 built from its Debian source with `./configure CC=... CFLAGS=-O2`:
//!
//! - GCC 11.3 and 12.2 (`gcc -O0`/`-O1`/`-O2`/`-Os`/`-O3`, GNU ld or gold) emit a call's string
//!   arguments last to first: `2.19\0Version: %s\n\n\0Compiled in settings:`. Debian builds, and so
//!   the knowledge base's patterns, have this order.
//! - clang 14.0.6 and 19.1.7 (same options; GNU ld, gold, or lld with `-Wl,-O0`) emit them first to
//!   last, in source order: `Version: %s\n\n\02.19\0Compiled in settings:`; ndisc6's
//!   `"... userland tool %s (%s)\n"` is followed by `1.0.5\0$Rev$\0`.
//! - lld at its default `-O1` (and `-O2`) merges strings in hash-sharded order, so next to a string
//!   is no string in particular: neither layout can be relied on in an lld-linked binary.
//! - The 2003-2012 router toolchains (GCC 3.x and 4.x, uClibc) state the release after the format
//!   string that prints it, as clang does (radvd 1.8 and ndisc6 0.9.9 of a real router; not
//!   measured here, no such GCC is packaged).
//! - Debian's own GCC binaries show the mirrored layout here and there too (a merged literal sits
//!   where it is first used): libcryptsetup 2.3.7 (bullseye arm64), libgsmsd 1.45.0 (sid
//!   riscv64), drill 1.8.3 (bookworm armhf) and debugfs 1.47.0 (bookworm) hold the release on
//!   the other side of a pattern's neighbour.
//!
//! The commands (`v.c` is the two `printf`s above in `main`; the section is `.rodata.str1.1` in an
//! object file):
//!
//! ```text
//! gcc -O2 -o v v.c                              # also gcc-11, -O0 -O1 -Os -O3, -fuse-ld=gold
//! clang -O2 -o v v.c                            # also clang-19, -fuse-ld=gold, -fuse-ld=lld
//! clang -O2 -fuse-ld=lld -Wl,-O0 -o v v.c
//! clang --target=mipsel-linux-gnu -O2 -c -o v.o v.c   # and the other targets
//! objcopy -O binary --only-section=.rodata v ro && strings ro   # llvm-objcopy for the objects
//! CC=clang CFLAGS=-O2 ../ndisc6-1.0.5/configure --disable-nls && make
//! ```
//!
//! The statements of one function keep their order in both layouts; only a call's arguments are
//! mirrored. So a pattern whose neighbour is a string printed with the release (the usual case:
//! the neighbour is the format) reads the release in the mirrored layout by the same neighbour on
//! the other side, and one whose neighbour came from a following statement simply reads nothing
//! there (ndisc6's patterns: their neighbour, `Written by Remi Denis-Courmont`, is printed three
//! statements after the release). [`mirror`] derives that reading from the pattern's own regex:
//! one source of truth, no second copy of the pattern text in the signature files.
//!
//! # What is mirrored
//!
//! A regex whose top level is, in order, a NUL, the version (one capture group, optionally with
//! affixes that match no NUL: `(?:[a-z]+-|v)?`, `(?:-P\d+)?`), the padding between two strings
//! (`\x00{1,16}`, a repetition of NUL), optionally the one short string `kb` allows between them
//! ([`BETWEEN`]), then the neighbour, text that matches within one string (no NUL in it, but an
//! optional NUL that ends it); or the same the other way round (neighbour, optionally starting
//! with its NUL, padding, optionally [`BETWEEN`], the version, a NUL). Nothing else: a regex whose
//! anchor introduces the release (`Apache/(\d+...)`, `radvd version (\d+...)`), a lone release
//! without padding, a release glued to the bytes before it, a neighbour of two strings, or a
//! second capture group (`major`, `minor`, `patch`) gives none.
//!
//! # The derived regex
//!
//! The neighbour, the padding, [`BETWEEN`] and the version, in the other order. The neighbour a
//! release-first pattern spells is the start of its string, so the mirror lets up to 96 more
//! bytes of that string follow it ([`REST`]); a neighbour-first pattern's neighbour is the end of
//! its string, so up to 96 bytes may precede it. The window is the pattern's, as before.

use regex_syntax::ast::{self, Ast, GroupKind, RepetitionKind, RepetitionRange};

/// The one short string `kb` lets sit between the release and its neighbour (a build date, a
/// `$Rev$`), spelt as it writes it. Copied to the mirror as it is.
pub(crate) const BETWEEN: &str = r"(?:[\x20-\x7e]{1,40}\x00{1,8})?";

/// The part of the neighbour's string a pattern does not spell, in the mirrored layout.
pub(crate) const REST: &str = r"[^\x00]{0,96}";

/// The layout a regex reads, and so which one its mirror reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// The release, then its neighbour: GCC's order for a call's arguments.
    ReleaseFirst,
    /// The neighbour, then the release: clang's (and old GCC's) order.
    NeighbourFirst,
}

/// The regex that reads the release of a neighbour pattern `regex` in the other string layout,
/// and the layout `regex` itself reads; `None` when `regex` is not a neighbour pattern (see the
/// module docs for the shapes).
pub(crate) fn mirror(regex: &str) -> Option<(String, Layout)> {
    if !may_mirror(regex) {
        return None;
    }
    let parsed = ast::parse::Parser::new().parse(regex).ok()?;
    let Ast::Concat(concat) = &parsed else {
        return None;
    };
    let items = &concat.asts;
    let text = |range: std::ops::Range<usize>| -> Option<&str> {
        let first = items.get(range.start)?;
        let last = items.get(range.end.checked_sub(1)?)?;
        regex.get(first.span().start.offset..last.span().end.offset)
    };
    let version = items.iter().position(is_capture)?;
    let is_version = |item: &Ast| match item {
        Ast::Group(group) => match &group.kind {
            GroupKind::CaptureIndex(_) => true,
            GroupKind::CaptureName { name, .. } => name.name == "version",
            GroupKind::NonCapturing(_) => false,
        },
        _ => false,
    };
    if !items.get(version).is_some_and(is_version)
        || items.iter().enumerate().any(|(idx, item)| {
            if idx == version {
                has_capture_inside(item)
            } else {
                has_capture(item)
            }
        })
    {
        return None;
    }
    // The version with its affixes: the items around the group that match no NUL.
    let mut start = version;
    while start > 0 && items.get(start - 1).is_some_and(|item| !mentions_nul(item)) {
        start -= 1;
    }
    let mut end = version + 1;
    while items.get(end).is_some_and(|item| !mentions_nul(item)) {
        end += 1;
    }
    let release = text(start..end)?;
    if start == 1 && items.first().is_some_and(is_nul) {
        // Release first: NUL, release, padding, [between], neighbour.
        let pad = end;
        if !items.get(pad).is_some_and(is_padding) {
            return None;
        }
        let mut from = pad + 1;
        let between = if text(from..from + 1) == Some(BETWEEN) {
            from += 1;
            BETWEEN
        } else {
            ""
        };
        let (neighbour_end, closed) = if items.last().is_some_and(is_nul) {
            (items.len() - 1, true)
        } else {
            (items.len(), false)
        };
        let neighbour = items.get(from..neighbour_end)?;
        if !is_one_string(neighbour) {
            return None;
        }
        let rest = if closed { "" } else { REST };
        let mirrored = format!(
            "{}{rest}{}{between}{release}\\x00",
            text(from..neighbour_end)?,
            text(pad..pad + 1)?
        );
        return Some((mirrored, Layout::ReleaseFirst));
    }
    if end + 1 == items.len() && items.last().is_some_and(is_nul) {
        // Neighbour first: neighbour, padding, [between], release, NUL.
        let mut pad = start.checked_sub(1)?;
        let between = if text(pad..pad + 1) == Some(BETWEEN) {
            pad = pad.checked_sub(1)?;
            BETWEEN
        } else {
            ""
        };
        if !items.get(pad).is_some_and(is_padding) {
            return None;
        }
        let opened = items.first().is_some_and(is_nul);
        let neighbour_start = usize::from(opened);
        let neighbour = items.get(neighbour_start..pad)?;
        if !is_one_string(neighbour) {
            return None;
        }
        let rest = if opened { "" } else { REST };
        let mirrored = format!(
            "\\x00{release}{}{between}{rest}{}\\x00",
            text(pad..pad + 1)?,
            text(neighbour_start..pad)?
        );
        return Some((mirrored, Layout::NeighbourFirst));
    }
    None
}

/// False for a regex that cannot be a neighbour pattern (it spells no padding repetition), which
/// is most of them: a refusal that costs no parsing.
pub(crate) fn may_mirror(regex: &str) -> bool {
    regex.contains(r"\x00{")
}

/// Text within one string: at least one item, no NUL, no padding.
fn is_one_string(items: &[Ast]) -> bool {
    !items.is_empty() && !items.iter().any(mentions_nul)
}

fn is_nul(item: &Ast) -> bool {
    matches!(item, Ast::Literal(literal) if literal.c == '\0')
}

/// A repetition of NUL that needs at least one: the padding between two strings.
fn is_padding(item: &Ast) -> bool {
    let Ast::Repetition(repetition) = item else {
        return false;
    };
    let at_least_one = match &repetition.op.kind {
        RepetitionKind::OneOrMore => true,
        RepetitionKind::Range(
            RepetitionRange::Exactly(min)
            | RepetitionRange::AtLeast(min)
            | RepetitionRange::Bounded(min, _),
        ) => *min >= 1,
        RepetitionKind::ZeroOrOne | RepetitionKind::ZeroOrMore => false,
    };
    at_least_one && repetition.greedy && is_nul(&repetition.ast)
}

fn is_capture(item: &Ast) -> bool {
    matches!(item, Ast::Group(group) if group.capture_index().is_some())
}

/// True when `item` is or holds a capture group.
fn has_capture(item: &Ast) -> bool {
    is_capture(item) || has_capture_inside(item)
}

/// True when something inside `item` is a capture group.
fn has_capture_inside(item: &Ast) -> bool {
    match item {
        Ast::Group(group) => has_capture(&group.ast),
        Ast::Repetition(repetition) => has_capture(&repetition.ast),
        Ast::Alternation(alternation) => alternation.asts.iter().any(has_capture),
        Ast::Concat(concat) => concat.asts.iter().any(has_capture),
        _ => false,
    }
}

/// True when `item` spells a NUL byte anywhere (a literal, or one in a class range is not
/// counted: `[\x20-\x7e]` matches none, and a neighbour's `[^a]` is the pattern author's).
fn mentions_nul(item: &Ast) -> bool {
    match item {
        Ast::Literal(literal) => literal.c == '\0',
        Ast::Group(group) => mentions_nul(&group.ast),
        Ast::Repetition(repetition) => mentions_nul(&repetition.ast),
        Ast::Alternation(alternation) => alternation.asts.iter().any(mentions_nul),
        Ast::Concat(concat) => concat.asts.iter().any(mentions_nul),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(regex: &str, expect: Option<(&str, Layout)>) {
        let got = mirror(regex);
        assert_eq!(
            got.as_ref().map(|(text, layout)| (text.as_str(), *layout)),
            expect
        );
        // A mirror is itself a neighbour pattern, of the other layout.
        if let Some((text, layout)) = got {
            let (_, back) = mirror(&text).expect("a mirror is a neighbour pattern");
            assert_ne!(layout, back);
        }
    }

    #[test]
    fn release_first_shapes() {
        check(
            r"\x00(\d+(?:\.\d+){1,3})\x00{1,16}(?:[\x20-\x7e]{1,40}\x00{1,8})?Written by Remi Denis\-Courmont",
            Some((
                r"Written by Remi Denis\-Courmont[^\x00]{0,96}\x00{1,16}(?:[\x20-\x7e]{1,40}\x00{1,8})?(\d+(?:\.\d+){1,3})\x00",
                Layout::ReleaseFirst,
            )),
        );
        // radvd's, written by hand: the neighbour is a whole string, so nothing follows it.
        check(
            r"\x00(\d+\.\d+(?:\.\d+)?)\x00{1,8}Version: %s\n\n\x00",
            Some((
                r"Version: %s\n\n\x00{1,8}(\d+\.\d+(?:\.\d+)?)\x00",
                Layout::ReleaseFirst,
            )),
        );
        // Affixes of the release stay with it; a repeated group in the neighbour is copied.
        check(
            r"\x00(?:[a-z]+-|v)?(\d{4}\.\d+(?:\.\d+)?)(?:-[0-9A-Za-z.+~]+)*\x00{1,16}  \x22source_version\x22 : \x22%s\x22,",
            Some((
                r"  \x22source_version\x22 : \x22%s\x22,[^\x00]{0,96}\x00{1,16}(?:[a-z]+-|v)?(\d{4}\.\d+(?:\.\d+)?)(?:-[0-9A-Za-z.+~]+)*\x00",
                Layout::ReleaseFirst,
            )),
        );
        check(
            r"\x00(\d+(?:\.\d+){1,3})\x00{1,16}(?:[\x20-\x7e]{1,40}\x00{1,8})?(?:\.\./)+src/cairo\.c",
            Some((
                r"(?:\.\./)+src/cairo\.c[^\x00]{0,96}\x00{1,16}(?:[\x20-\x7e]{1,40}\x00{1,8})?(\d+(?:\.\d+){1,3})\x00",
                Layout::ReleaseFirst,
            )),
        );
    }

    #[test]
    fn neighbour_first_shapes() {
        check(
            r"see www\.dest\-unreach\.org\x00{1,16}(?:[\x20-\x7e]{1,40}\x00{1,8})?(\d+(?:\.\d+){1,3})\x00",
            Some((
                r"\x00(\d+(?:\.\d+){1,3})\x00{1,16}(?:[\x20-\x7e]{1,40}\x00{1,8})?[^\x00]{0,96}see www\.dest\-unreach\.org\x00",
                Layout::NeighbourFirst,
            )),
        );
        // A neighbour that starts its string keeps its start.
        check(
            r"\x00Usage: %s\n\x00{1,8}(?P<version>\d+\.\d+)\x00",
            Some((
                r"\x00(?P<version>\d+\.\d+)\x00{1,8}Usage: %s\n\x00",
                Layout::NeighbourFirst,
            )),
        );
    }

    #[test]
    fn other_patterns_are_not_mirrored() {
        for regex in [
            // The anchor introduces the release.
            r"Apache/(\d+\.\d+\.\d+)(?:[^0-9A-Za-z]|$)",
            r"radvd version (\d+\.\d+)\x00{1,8}",
            r"%s: version (\d+(?:\.\d+){1,3})(?:[^0-9A-Za-z]|$)",
            // A lone release with no padding repetition, and a `[[bare]]`-like one.
            r"\x00(\d+(?:\.\d+){1,3})\x00",
            r"\x00(\d+(?:\.\d+){1,3})\x00\x00Usage: %s",
            // A release glued to the bytes before it.
            r"(?:^|[^0-9.])(\d+\.\d+)\x00{1,16}libev\x00",
            // A neighbour of two strings.
            r"\x00(\d+\.\d+\.\d+)\x00{1,8}aria2\x00{1,8}%s %s\x00{1,8}Logging started\.",
            // Separate numbers.
            r"\x00(?P<major>\d+)\.(?P<minor>\d+)\x00{1,8}Version: %s",
            r"\x00(\d+)\.(\d+)\x00{1,8}Version: %s",
            // A group that is not the version.
            r"\x00(?P<build>\d+\.\d+)\x00{1,8}Version: %s",
            // Padding that may be empty, or lazy.
            r"\x00(\d+\.\d+)\x00{0,8}Version: %s",
            r"\x00(\d+\.\d+)\x00{1,8}?Version: %s",
            // No neighbour at all, or on both sides.
            r"\x00(\d+\.\d+)\x00{1,8}",
            r"Usage\x00{1,8}(\d+\.\d+)\x00{1,8}Version: %s",
            // Not a concatenation, or not a regex.
            r"\x00{1,8}|x",
            r"\x00(\d+\.\d+\x00{1,8}Version",
        ] {
            assert_eq!(mirror(regex), None, "{regex}");
        }
    }
}
