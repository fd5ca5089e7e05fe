//! Finding a known release in a package's files and proposing the pattern that reads it.
//!
//! The upstream release of a Debian package is known from its version. Its spellings are searched
//! in every file (bounded: not inside a longer number), and each occurrence gives candidate
//! patterns: the literal text just before it (the anchor), up to the first digit or unprintable
//! byte, which is what stays the same from release to release ("BusyBox v", "dnsmasq version "),
//! or, for a version at the start of a string, the text just after it (" Copyright 1995-").
//! The version itself becomes a regex of its shape (`\d+(?:\.\d+){1,3}`), so the pattern reads
//! other releases too.

use memchr::memmem;

use super::releases::PackageFile;

/// Most occurrences kept per file and in all.
const MAX_PER_FILE: usize = 16;
const MAX_OCCURRENCES: usize = 400;
/// Longest anchor proposed; longer literal context is cut at a word boundary.
const MAX_ANCHOR: usize = 32;
/// Shortest anchor proposed (the signature format's floor is 4 bytes).
const MIN_ANCHOR: usize = 5;
/// Anchors so common that they would fire in every file (checked without case).
const GENERIC: &[&str] = &[
    "version ",
    "version: ",
    "version=",
    " version ",
    "version",
    "ver ",
    "ver. ",
    "release ",
    "revision ",
    " (version ",
    "%s version ",
    "%s v",
    "%s %s",
    "copyright ",
    " copyright ",
    "library version ",
    "compiled with ",
    "built with ",
    "using ",
    "linked ",
    "runtime ",
    "expected ",
    "requires ",
    "header ",
    "headers ",
    "built against ",
    // Autoconf's variables: any configured script of any product holds them.
    "package_version=",
    "package_version ",
    "package_string=",
    "package_version=\"",
];

/// A release spelled in a file.
#[derive(Clone, Debug)]
pub(crate) struct Occurrence {
    /// Index into the files searched.
    pub(crate) file: usize,
    pub(crate) offset: usize,
    /// The spelling found.
    pub(crate) text: String,
}

/// A proposed pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Candidate {
    /// The literal anchor.
    pub(crate) anchor: Vec<u8>,
    /// The version regex (byte mode, with the anchor in it).
    pub(crate) regex: String,
    /// File-name prefixes the pattern is limited to (empty: any file).
    pub(crate) only_in: Vec<String>,
    /// True when the anchor is the text right before the version (not a neighbouring string).
    pub(crate) before: bool,
    /// For a lone version string in a library: the SONAME prefix (`libsqlite3.so`) that names
    /// the files a `[[bare]]` regex (`regex`, no anchor) may read.
    pub(crate) bare: Option<String>,
}

/// A `[[bare]]` candidate for a lone version string (`\03.40.1\0`) in a library that its
/// SONAME prefix identifies: read only where exactly one such string occurs.
pub(crate) fn bare_candidate(
    data: &[u8],
    occurrence: &Occurrence,
    prefix: &str,
) -> Option<Candidate> {
    let start = occurrence.offset;
    let end = start + occurrence.text.len();
    if data.get(end) != Some(&0) {
        return None;
    }
    // `\x001.2.3\x00`, or `\x00v1.2.3\x00` as libvpx and libplacebo keep theirs.
    let lead = match start.checked_sub(1).and_then(|i| data.get(i)) {
        Some(0) => "",
        Some(b'v') if start >= 2 && data.get(start - 2) == Some(&0) => "v",
        _ => return None,
    };
    Some(Candidate {
        anchor: Vec::new(),
        regex: format!("\\x00{lead}({})\\x00", shape(&occurrence.text)),
        only_in: Vec::new(),
        before: false,
        bare: Some(prefix.to_owned()),
    })
}

/// Text that says how a package was built, not what it is: different in every build.
const BUILD_NOISE: &[&str] = &[
    "/build/",
    ".dwz",
    "reproducible",
    "-linux-gnu",
    "/usr/lib/debug",
    "gcc",
    "GCC",
    "-O2",
    "-Wall",
    "-fstack",
    "_FORTIFY",
    "-D_",
    "debian",
    "Debian",
    "deb1",
    "ubuntu",
];
/// Shortest anchor taken from a neighbouring string (it must be rarer than text right before
/// the version).
const MIN_NEIGHBOUR_ANCHOR: usize = 12;

/// What may follow a release read after its anchor: the boundary [`find`] keeps (no digit or letter,
/// and no dot before a digit). A plain `[^0-9A-Za-z]` let the regex give back its last numbers
/// until a dot followed: `2.0.14a` read as `2.0`, `2.3.3op2` as `2.3`.
const AFTER_RELEASE: &str = r"(?:[^0-9A-Za-z.]|\.(?:[^0-9]|$)|$)";

fn noise(anchor: &[u8]) -> bool {
    let text = String::from_utf8_lossy(anchor);
    BUILD_NOISE.iter().any(|n| text.contains(n))
}

/// The spellings of an upstream release a binary may use, longest first: as Debian writes it,
/// with `~` as `-`, `.` or nothing (`2.0~rc1`), or as semver does (`4.1.0-beta.2` for
/// `4.1.0~beta2`); without a snapshot's `+suffix` (`30+20221128`, `2.1.0~beta3+git20220320`:
/// `2.1.0-beta3` too), `.gitDATE` (`0.7.git20120829`) or a `-stable` label (`2.1.12-stable`);
/// and a last letter without the dot Debian puts before it (`1.3.8c` for `1.3.8.c`).
pub(crate) fn variants(upstream: &str) -> Vec<String> {
    let mut bases = vec![upstream.to_owned()];
    if let Some((base, _)) = upstream.split_once('+') {
        bases.push(base.to_owned());
    }
    // libevent names its releases `2.1.12-stable`; the release is the number.
    if let Some(base) = upstream.strip_suffix("-stable") {
        bases.push(base.to_owned());
    }
    if let Some((base, snapshot)) = upstream.split_once(".git")
        && snapshot.starts_with(|c: char| c.is_ascii_digit())
    {
        bases.push(base.to_owned());
    }
    let mut out = Vec::new();
    for base in bases {
        out.push(base.clone());
        if let Some((release, pre)) = base.split_once('~') {
            for with in ["-", "", "."] {
                out.push(base.replace('~', with));
            }
            let word = pre.trim_end_matches(|c: char| c.is_ascii_digit());
            if let Some(digits) = pre.strip_prefix(word)
                && !word.is_empty()
                && !digits.is_empty()
                && word.bytes().all(|b| b.is_ascii_alphabetic())
            {
                out.push(format!("{release}-{word}.{digits}"));
            }
        }
        if let Some((head, letter)) = base.rsplit_once('.')
            && letter.len() == 1
            && letter.bytes().all(|b| b.is_ascii_lowercase())
            && head.ends_with(|c: char| c.is_ascii_digit())
        {
            out.push(format!("{head}{letter}"));
        }
    }
    out.retain(|v| v.len() >= 2 && v.starts_with(|c: char| c.is_ascii_digit()));
    out.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let mut seen = std::collections::HashSet::new();
    out.retain(|v| seen.insert(v.clone()));
    out
}

fn is_alnum(byte: Option<&u8>) -> bool {
    byte.is_some_and(u8::is_ascii_alphanumeric)
}

/// Every bounded occurrence of the spellings in the files: not preceded by a digit or a dot,
/// not followed by a digit, a letter or a dot and a digit.
pub(crate) fn find(files: &[PackageFile], spellings: &[String]) -> Vec<Occurrence> {
    let mut out = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let mut taken: Vec<(usize, usize)> = Vec::new();
        let mut in_file = 0;
        for spelling in spellings {
            let needle = spelling.as_bytes();
            for at in memmem::find_iter(&file.data, needle) {
                if in_file >= MAX_PER_FILE || out.len() >= MAX_OCCURRENCES {
                    break;
                }
                let end = at + needle.len();
                let before = at.checked_sub(1).and_then(|i| file.data.get(i));
                let after = file.data.get(end);
                let after2 = file.data.get(end + 1);
                if before.is_some_and(|b| b.is_ascii_digit() || *b == b'.')
                    || is_alnum(after)
                    || (after == Some(&b'.') && after2.is_some_and(u8::is_ascii_digit))
                    || taken.iter().any(|(s, e)| at < *e && *s < end)
                {
                    continue;
                }
                taken.push((at, end));
                in_file += 1;
                out.push(Occurrence {
                    file: index,
                    offset: at,
                    text: spelling.clone(),
                });
            }
        }
    }
    out
}

/// True for a printable ASCII byte (space included).
pub(crate) fn printable(byte: u8) -> bool {
    (0x20..0x7f).contains(&byte)
}

/// The regex for releases shaped like `version`: dotted numbers with the same optional tail.
pub(crate) fn shape(version: &str) -> String {
    let numeric_end = version
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(version.len());
    let (numbers, tail) = version.split_at(numeric_end);
    let parts = numbers.split('.').filter(|p| !p.is_empty()).count();
    let digits = if numbers.len() >= 8 && parts == 1 {
        // A date (20230523): its own length.
        format!("\\d{{{}}}", numbers.len())
    } else if parts <= 1 {
        "\\d+".to_owned()
    } else {
        "\\d+(?:\\.\\d+){1,3}".to_owned()
    };
    let tail = if tail.is_empty() {
        String::new()
    } else if tail
        .trim_start_matches(['-', '.', '~'])
        .starts_with(|c: char| c.is_ascii_alphabetic())
    {
        // `p1`, `a`, `-rc2`, `~beta1`: letters and digits, optional.
        "(?:[-.~]?[a-z]+\\d*)?".to_owned()
    } else {
        // `+20221128`, `-3`: keep the shape, optional.
        let mut out = String::from("(?:");
        for c in tail.chars() {
            if c.is_ascii_digit() {
                if !out.ends_with("\\d+") {
                    out.push_str("\\d+");
                }
            } else {
                out.push_str(&regex_escape(&c.to_string()));
            }
        }
        out.push_str(")?");
        out
    };
    format!("{digits}{tail}")
}

/// `regex::escape`, plus `'` as `\x27` so the text fits a TOML literal string.
pub(crate) fn regex_escape(text: &str) -> String {
    regex::escape(text).replace('\'', "\\x27")
}

fn letters(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| b.is_ascii_alphabetic()).count()
}

fn generic(anchor: &[u8]) -> bool {
    let text = String::from_utf8_lossy(anchor).to_ascii_lowercase();
    let stripped = text.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    GENERIC
        .iter()
        .any(|g| text == *g || stripped == g.trim_matches(|c: char| !c.is_ascii_alphanumeric()))
        || letters(anchor) < 3
}

/// Cuts `text` (literal context) to at most [`MAX_ANCHOR`] bytes, keeping its `keep_end` side
/// and cutting the other at a word boundary.
fn cut(text: &[u8], keep_end: bool) -> &[u8] {
    if text.len() <= MAX_ANCHOR {
        return text;
    }
    if keep_end {
        let start = text.len() - MAX_ANCHOR;
        let tail = text.get(start..).unwrap_or_default();
        match tail.iter().position(|b| !b.is_ascii_alphanumeric()) {
            Some(at) if at + 1 < tail.len() => tail.get(at + 1..).unwrap_or(tail),
            _ => tail,
        }
    } else {
        let head = text.get(..MAX_ANCHOR).unwrap_or(text);
        match head.iter().rposition(|b| !b.is_ascii_alphanumeric()) {
            Some(at) if at > 0 => head.get(..at).unwrap_or(head),
            _ => head,
        }
    }
}

/// The candidate patterns one occurrence gives.
pub(crate) fn candidates(data: &[u8], occurrence: &Occurrence) -> Vec<Candidate> {
    let mut out = Vec::new();
    let version = shape(&occurrence.text);
    let start = occurrence.offset;
    let end = start + occurrence.text.len();
    // Before: printable, no digits, starting at a word boundary.
    let mut from = start;
    while from > 0
        && start - from < 96
        && data
            .get(from - 1)
            .is_some_and(|b| printable(*b) && !b.is_ascii_digit())
    {
        from -= 1;
    }
    let mut before = data.get(from..start).unwrap_or_default();
    // The whole string the version sits in, to see whether it is a build path or flags.
    let mut run_start = from;
    while run_start > 0
        && from - run_start < 256
        && data.get(run_start - 1).is_some_and(|b| printable(*b))
    {
        run_start -= 1;
    }
    let in_build_text = noise(data.get(run_start..start).unwrap_or_default());
    // The run stopped at a digit inside a word (`zlib1.2`): start at the next word, if any.
    if from > 0 && data.get(from - 1).is_some_and(u8::is_ascii_digit) {
        before = match before.iter().position(|b| !b.is_ascii_alphanumeric()) {
            Some(at) => before.get(at..).unwrap_or_default(),
            None => &[],
        };
    }
    let before = cut(before, true);
    // An anchor is a phrase (a space or punctuation in it), not a fragment of a word.
    let phrase = before.iter().any(|b| !b.is_ascii_alphanumeric());
    if before.len() >= MIN_ANCHOR && phrase && !in_build_text && !generic(before) && !noise(before)
    {
        let anchor = String::from_utf8_lossy(before);
        out.push(Candidate {
            anchor: before.to_vec(),
            regex: format!("{}({version}){AFTER_RELEASE}", regex_escape(&anchor)),
            only_in: Vec::new(),
            before: true,
            bare: None,
        });
    }
    let starts_string = start == 0 || data.get(start - 1).is_some_and(|b| !printable(*b));
    let ends_string = data.get(end) == Some(&0);
    // A lone version string ("\01.7.4.4\0"): the end of a string before it, across the NUL
    // padding between the two (its length varies with the architecture's alignment); one short
    // string may sit between them (a build date another release puts there).
    if starts_string && ends_string && data.get(start.wrapping_sub(1)) == Some(&0) {
        let mut at = start;
        for _ in 0..2 {
            let mut nul = at;
            while nul > 0 && at - nul < 16 && data.get(nul - 1) == Some(&0) {
                nul -= 1;
            }
            if nul == at || nul == 0 {
                break;
            }
            let mut from = nul;
            while from > 0 && nul - from < 96 && data.get(from - 1).is_some_and(|b| printable(*b)) {
                from -= 1;
            }
            let whole = data.get(from..nul).unwrap_or_default();
            // The tail after its last digit, starting at a word.
            let tail_start = whole
                .iter()
                .rposition(u8::is_ascii_digit)
                .map_or(0, |digit| {
                    whole
                        .iter()
                        .skip(digit)
                        .position(|b| !b.is_ascii_alphanumeric())
                        .map_or(whole.len(), |p| digit + p)
                });
            let previous = cut(whole.get(tail_start..).unwrap_or_default(), true);
            if previous.len() >= MIN_NEIGHBOUR_ANCHOR && !generic(previous) && !noise(previous) {
                out.push(Candidate {
                    anchor: previous.to_vec(),
                    regex: format!(
                        "{}\\x00{{1,16}}(?:[\\x20-\\x7e]{{1,40}}\\x00{{1,8}})?({version})\\x00",
                        regex_escape(&String::from_utf8_lossy(previous))
                    ),
                    only_in: Vec::new(),
                    before: false,
                    bare: None,
                });
                break;
            }
            at = from;
            if whole.len() > 40 {
                break;
            }
        }
    }
    // A lone version string followed by another string ("3.8\0GNU grep\0"): that string's
    // start, across the padding, with room for one short string between them.
    if starts_string && ends_string && data.get(start.wrapping_sub(1)) == Some(&0) {
        let mut at = end;
        for _ in 0..2 {
            let mut text = at;
            while text < data.len() && text - at < 16 && data.get(text) == Some(&0) {
                text += 1;
            }
            if text == at {
                break;
            }
            let mut to = text;
            while to < data.len() && to - text < 96 && data.get(to).is_some_and(|b| printable(*b)) {
                to += 1;
            }
            let whole = data.get(text..to).unwrap_or_default();
            let head_end = whole
                .iter()
                .position(u8::is_ascii_digit)
                .unwrap_or(whole.len());
            let next = cut(whole.get(..head_end).unwrap_or_default(), false);
            let next = next.strip_suffix(b" ").unwrap_or(next);
            if (matches!(data.get(to), Some(0 | b'\n' | b'\r' | b'\t')) || to - text >= 96)
                && head_end > 0
                && next.len() >= MIN_NEIGHBOUR_ANCHOR
                && !generic(next)
                && !noise(next)
            {
                out.push(Candidate {
                    anchor: next.to_vec(),
                    regex: format!(
                        "\\x00({version})\\x00{{1,16}}(?:[\\x20-\\x7e]{{1,40}}\\x00{{1,8}})?{}",
                        regex_escape(&String::from_utf8_lossy(next))
                    ),
                    only_in: Vec::new(),
                    before: false,
                    bare: None,
                });
                break;
            }
            at = to;
            if whole.len() > 40 || data.get(to) != Some(&0) {
                break;
            }
        }
    }
    // A version string glued to the bytes before it (a constant pool's last bytes: `\xbb?4.33`,
    // `$tI4.33`, where another architecture puts a NUL) and followed, across the padding, by a
    // whole string (`4.33\x00libev\x00`): that string with its NUL as the anchor, the version
    // bounded by any byte that is not a digit or a dot.
    if ends_string && data.get(start.wrapping_sub(1)).is_some_and(|b| *b != 0) {
        let mut text = end;
        while text < data.len() && text - end < 16 && data.get(text) == Some(&0) {
            text += 1;
        }
        let mut to = text;
        while to < data.len() && to - text < 40 && data.get(to).is_some_and(|b| printable(*b)) {
            to += 1;
        }
        let whole = data.get(text..to).unwrap_or_default();
        if data.get(to) == Some(&0)
            && whole.len() >= MIN_ANCHOR
            && !whole.iter().any(u8::is_ascii_digit)
            && !generic(whole)
            && !noise(whole)
        {
            let mut anchor = whole.to_vec();
            anchor.push(0);
            out.push(Candidate {
                anchor,
                regex: format!(
                    "(?:^|[^0-9.])({version})\\x00{{1,16}}{}\\x00",
                    regex_escape(&String::from_utf8_lossy(whole))
                ),
                only_in: Vec::new(),
                before: false,
                bare: None,
            });
        }
    }
    // After: the version starts a string; the text after it, printable, no digits.
    if starts_string || out.is_empty() {
        let mut to = end;
        while to < data.len()
            && to - end < 96
            && data
                .get(to)
                .is_some_and(|b| printable(*b) && !b.is_ascii_digit())
        {
            to += 1;
        }
        let after = cut(data.get(end..to).unwrap_or_default(), false);
        let after = after.strip_suffix(b" ").unwrap_or(after);
        if after.len() >= MIN_ANCHOR + 2 && !generic(after) && !noise(after) {
            let anchor = String::from_utf8_lossy(after);
            out.push(Candidate {
                anchor: after.to_vec(),
                regex: format!("(?:^|[^0-9A-Za-z.])({version}){}", regex_escape(&anchor)),
                only_in: Vec::new(),
                before: false,
                bare: None,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_a_release() {
        assert_eq!(variants("1.35.0"), ["1.35.0"]);
        assert_eq!(variants("30+20221128"), ["30+20221128", "30"]);
        assert_eq!(
            variants("2.0~rc1"),
            ["2.0-rc.1", "2.0~rc1", "2.0-rc1", "2.0.rc1", "2.0rc1"]
        );
        assert!(variants("4.1.0~beta2").contains(&"4.1.0-beta.2".to_owned()));
        assert!(variants("2.1.0~beta3+git20220320").contains(&"2.1.0-beta3".to_owned()));
        assert!(variants("0.7.git20120829").contains(&"0.7".to_owned()));
        assert!(variants("1.3.8.c").contains(&"1.3.8c".to_owned()));
        assert!(variants("2.1.12-stable").contains(&"2.1.12".to_owned()));
        assert_eq!(variants("1.2.git"), ["1.2.git"]);
    }

    #[test]
    fn version_shapes() {
        let check = |version: &str, text: &str| {
            let regex = regex::bytes::RegexBuilder::new(&format!("^{}$", shape(version)))
                .unicode(false)
                .build()
                .unwrap();
            regex.is_match(text.as_bytes())
        };
        assert!(check("1.35.0", "1.36.1"));
        assert!(check("1.35.0", "1.4"));
        assert!(!check("1.35.0", "1"));
        assert!(check("9.2p1", "9.6p1"));
        assert!(check("9.2p1", "8.4"));
        assert!(check("30", "31"));
        assert!(check("20230523", "20240101"));
        assert!(!check("20230523", "2024"));
        assert!(check("2.0-rc1", "2.1-rc3"));
    }

    fn occurrence(data: &[u8], text: &str) -> Occurrence {
        Occurrence {
            file: 0,
            offset: memmem::find(data, text.as_bytes()).unwrap(),
            text: text.to_owned(),
        }
    }

    #[test]
    fn anchors_before_and_after() {
        let data = b"\0\0BusyBox v1.35.0 (Debian 1:1.35.0-4)\0";
        let found = candidates(data, &occurrence(data, "1.35.0"));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].anchor, b"BusyBox v");
        assert_eq!(
            found[0].regex,
            "BusyBox v(\\d+(?:\\.\\d+){1,3})(?:[^0-9A-Za-z.]|\\.(?:[^0-9]|$)|$)"
        );

        let data = b"\0\x001.2.13\0\0 inflate 1.2.13 Copyright 1995-2022 Mark Adler \0";
        let at = memmem::rfind(data, b"1.2.13").unwrap();
        let found = candidates(
            data,
            &Occurrence {
                file: 0,
                offset: at,
                text: "1.2.13".into(),
            },
        );
        assert_eq!(found[0].anchor, b" inflate ");

        let data = b"\0\x001.2.13\0";
        assert!(candidates(data, &occurrence(data, "1.2.13")).is_empty());

        // A lone version string: the end of the string before it.
        let data = b"see www.dest-unreach.org\x001.7.4.4\x0006 Nov 2022\0";
        let found = candidates(data, &occurrence(data, "1.7.4.4"));
        assert_eq!(found[0].anchor, b"see www.dest-unreach.org");
        // The string after it.
        let data = b"tty\0if-tty\0\0...\x003.8\0GNU grep utility\0\0\0\0Written by Mike\0";
        let found = candidates(data, &occurrence(data, "3.8"));
        assert_eq!(found.last().unwrap().anchor, b"GNU grep utility");
        // Build paths are no anchors, nor are fragments of a word.
        let data = b"/build/gdb-XgwUeX/gdb-13.1/gdb\0";
        assert!(candidates(data, &occurrence(data, "13.1")).is_empty());
        let data = b"/build/reproducible-path/wget-1.21.3=.\0";
        assert!(candidates(data, &occurrence(data, "1.21.3")).is_empty());
        let data = b"\x000123456789abcdef9.1\0";
        assert!(candidates(data, &occurrence(data, "9.1")).is_empty());
        let data = b"\0\0\0\0unknown\x001.4.7\x00\x00\x00Command line interface for the connection tracking system\0";
        let found = candidates(data, &occurrence(data, "1.4.7"));
        assert_eq!(
            found.last().unwrap().anchor,
            b"Command line interface for the"
        );
        // Past a build date to the string before it.
        let data = b"see www.dest-unreach.org\0\0\x0003 Sep 2026 20:58:48\0\x001.8.0.3\0debug\0";
        let found = candidates(data, &occurrence(data, "1.8.0.3"));
        assert_eq!(found[0].anchor, b"see www.dest-unreach.org");
        assert_eq!(
            found[0].regex,
            "see www\\.dest\\-unreach\\.org\\x00{1,16}(?:[\\x20-\\x7e]{1,40}\\x00{1,8})?(\\d+(?:\\.\\d+){1,3})\\x00"
        );

        // A generic word is no anchor.
        let data = b"\0version 2.3.4\0";
        assert!(candidates(data, &occurrence(data, "2.3.4")).is_empty());
    }

    #[test]
    fn occurrences_are_bounded() {
        let file = |data: &'static [u8]| {
            PackageFile {
            package: crate::debian::parse_packages(
                "Package: p\nVersion: 1\nFilename: p.deb\nSHA256: 0000000000000000000000000000000000000000000000000000000000000000\n",
                "bookworm",
            )
            .remove(0),
            path: "usr/bin/p".into(),
            data: bytes::Bytes::from_static(data),
        }
        };
        let files = [file(b"v1.2.3\0 11.2.3 1.2.34 1.2.3.4 1.2.3a (1.2.3)")];
        let found = find(&files, &["1.2.3".to_owned()]);
        let offsets: Vec<usize> = found.iter().map(|o| o.offset).collect();
        assert_eq!(offsets, [1, 38]);
    }
}
