//! Writing signature files: TOML text for new ones, small additive edits to existing ones (the
//! hand-written parts, comments and patterns stay as they are).

use std::fmt::Write as _;

use super::locate::Candidate;
use super::products::Product;

/// A signature file's text escaping: printable ASCII as is, except `\` (`\\`) and `'` (`\x27`);
/// everything else as `\xNN` (the escapes the signature loader reads).
pub(crate) fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        match byte {
            b'\\' => out.push_str("\\\\"),
            b'\'' => out.push_str("\\x27"),
            0x20..=0x7e => out.push(byte as char),
            _ => {
                let _ = write!(out, "\\x{byte:02x}");
            }
        }
    }
    out
}

/// A test case to write.
#[derive(Clone, Debug)]
pub(crate) struct TestCase {
    pub(crate) positive: bool,
    pub(crate) excerpt: Vec<u8>,
    pub(crate) version: Option<String>,
    pub(crate) file: Option<String>,
    pub(crate) origin: String,
    pub(crate) heldout: bool,
}

impl TestCase {
    pub(crate) fn render(&self) -> String {
        let mut out = String::from("\n[[test]]\n");
        let expect = if self.positive {
            "positive"
        } else {
            "negative"
        };
        let _ = writeln!(out, "expect = \"{expect}\"");
        let _ = writeln!(out, "excerpt = '''{}'''", escape(&self.excerpt));
        if let Some(version) = &self.version {
            let _ = writeln!(out, "version = \"{version}\"");
        }
        if let Some(file) = &self.file {
            let _ = writeln!(out, "file = \"{}\"", basic(file));
        }
        let _ = writeln!(out, "origin = \"{}\"", basic(&self.origin));
        if self.heldout {
            out.push_str("heldout = true\n");
        }
        out
    }
}

/// Text for a TOML basic string (quotes and backslashes escaped).
pub(crate) fn basic(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("\"{}\"", basic(i))).collect();
    format!("[{}]", quoted.join(", "))
}

/// The lines of a signature's facts that come from the product list.
pub(crate) fn facts(product: &Product) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some((vendor, name)) = product.cpe_parts() {
        out.push(("cpe_vendor", format!("\"{}\"", basic(vendor))));
        out.push(("cpe_product", format!("\"{}\"", basic(name))));
    }
    out.push(("purl", format!("\"{}\"", basic(&product.purl))));
    out.push(("homepage", format!("\"{}\"", basic(&product.homepage))));
    out.push(("license", format!("\"{}\"", basic(&product.license))));
    out
}

/// One `[[pattern]]` table.
pub(crate) fn render_pattern(pattern: &Candidate) -> String {
    if pattern.bare.is_some() {
        return format!("\n[[bare]]\nregex = '{}'\n", pattern.regex);
    }
    let mut out = String::from("\n[[pattern]]\n");
    let _ = writeln!(out, "anchor = '{}'", escape(&pattern.anchor));
    let _ = writeln!(out, "regex = '{}'", pattern.regex);
    if !pattern.only_in.is_empty() {
        let _ = writeln!(out, "only_in = {}", list(&pattern.only_in));
    }
    out
}

/// A new signature file.
pub(crate) struct NewSignature<'a> {
    pub(crate) product: &'a Product,
    pub(crate) comment: String,
    pub(crate) packages: Vec<String>,
    pub(crate) sonames: Vec<String>,
    pub(crate) cut_from: Vec<String>,
    pub(crate) patterns: Vec<Candidate>,
    pub(crate) one_release: Option<String>,
    pub(crate) tests: Vec<TestCase>,
}

impl NewSignature<'_> {
    pub(crate) fn render(&self) -> String {
        let product = self.product;
        let mut out = String::new();
        for line in self.comment.lines() {
            let _ = writeln!(out, "# {line}");
        }
        let _ = writeln!(out, "name = \"{}\"", basic(&product.name));
        let _ = writeln!(out, "kind = \"{}\"", basic(&product.kind));
        for (key, value) in facts(product) {
            let _ = writeln!(out, "{key} = {value}");
        }
        let _ = writeln!(out, "packages = {}", list(&self.packages));
        if !self.sonames.is_empty() {
            let _ = writeln!(out, "sonames = {}", list(&self.sonames));
        }
        let _ = writeln!(out, "cut_from = {}", list(&self.cut_from));
        if let Some(reason) = &self.one_release {
            let _ = writeln!(out, "one_release = \"{}\"", basic(reason));
        }
        for pattern in &self.patterns {
            out.push_str(&render_pattern(pattern));
        }
        for test in &self.tests {
            out.push_str(&test.render());
        }
        out
    }
}

/// Sets top-level keys of an existing signature file (replacing a line that sets the key, or
/// adding one after `after` or before the first table), leaving everything else as it is.
pub(crate) fn set_keys(text: &str, keys: &[(&str, String)]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let first_table = |lines: &[String]| {
        lines
            .iter()
            .position(|l| l.starts_with('['))
            .unwrap_or(lines.len())
    };
    for (key, value) in keys {
        let line = format!("{key} = {value}");
        let prefix = format!("{key} = ");
        let limit = first_table(&lines);
        if let Some(at) = lines
            .iter()
            .take(limit)
            .position(|l| l.starts_with(&prefix))
        {
            if let Some(slot) = lines.get_mut(at) {
                *slot = line;
            }
            continue;
        }
        // After the last top-level key that precedes it in the usual order.
        let order = [
            "name",
            "kind",
            "cpe_vendor",
            "cpe_product",
            "purl",
            "homepage",
            "license",
            "packages",
            "sonames",
            "soname_release",
            "version_from_comment",
            "files",
            "note",
            "cut_from",
            "one_release",
        ];
        let rank = order.iter().position(|k| k == key).unwrap_or(order.len());
        let mut insert = None;
        for (at, existing) in lines.iter().take(limit).enumerate() {
            let Some((name, _)) = existing.split_once(" = ") else {
                continue;
            };
            let existing_rank = order.iter().position(|k| *k == name).unwrap_or(order.len());
            if existing_rank <= rank {
                insert = Some(at + 1);
            }
        }
        let mut at = insert.unwrap_or(limit);
        // A multi-line value (`note = """...`) ends further down.
        while at < limit
            && lines
                .get(at)
                .is_some_and(|l| !l.contains(" = ") && !l.is_empty() && !l.starts_with('#'))
        {
            at += 1;
        }
        lines.insert(at, line);
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// Sets `key = value` in the `index`th `[[pattern]]` table (from 0): the line that sets it there,
/// or a new line after the table's `regex` line; `None` when there is no such table or it has no
/// `regex` line. Everything else stays as it is.
pub(crate) fn set_pattern_key(text: &str, index: usize, key: &str, value: &str) -> Option<String> {
    let mut lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.trim_end() == "[[pattern]]")
        .nth(index)?
        .0;
    let end = lines
        .iter()
        .enumerate()
        .skip(start + 1)
        .find(|(_, line)| line.starts_with('['))
        .map_or(lines.len(), |(at, _)| at);
    let line = format!("{key} = {value}");
    let prefix = format!("{key} = ");
    if let Some(at) = (start..end).find(|&at| lines.get(at).is_some_and(|l| l.starts_with(&prefix)))
    {
        lines[at] = &line;
    } else {
        let regex =
            (start..end).find(|&at| lines.get(at).is_some_and(|l| l.starts_with("regex = ")))?;
        lines.insert(regex + 1, &line);
    }
    let mut out = lines.join("\n");
    out.push('\n');
    Some(out)
}

/// The text without the `[[test]]` tables whose `origin` `drop` refuses, and how many went.
/// A table runs from its header to the next table header (or the end); other text is kept.
pub(crate) fn drop_tests(text: &str, drop: impl Fn(&str) -> bool) -> (String, usize) {
    drop_tables(text, |header, table| {
        header == "[[test]]"
            && toml::from_str::<toml::Table>(table.trim_start_matches("[[test]]\n"))
                .ok()
                .and_then(|t| t.get("origin").and_then(|o| o.as_str()).map(str::to_owned))
                .as_deref()
                .is_some_and(&drop)
    })
}

/// The text without the tables `drop` refuses (given the header line and the table's text), and
/// how many went. A table runs from its header to the next table header (or the end); the blank
/// line after it (before the next table) goes with it; other text is kept.
pub(crate) fn drop_tables(text: &str, drop: impl Fn(&str, &str) -> bool) -> (String, usize) {
    let mut out = String::with_capacity(text.len());
    let mut dropped = 0;
    let mut block: Option<(String, String)> = None;
    let flush = |block: &mut Option<(String, String)>, out: &mut String, dropped: &mut usize| {
        if let Some((header, table)) = block.take() {
            if drop(&header, &table) {
                *dropped += 1;
            } else {
                out.push_str(&table);
            }
        }
    };
    for line in text.split_inclusive('\n') {
        let header = line.trim_end();
        if header.starts_with('[') && header.ends_with(']') {
            flush(&mut block, &mut out, &mut dropped);
            block = Some((header.to_owned(), String::new()));
        }
        match block.as_mut() {
            Some((_, table)) => table.push_str(line),
            None => out.push_str(line),
        }
    }
    flush(&mut block, &mut out, &mut dropped);
    (out, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_round_trip_through_the_loader_rules() {
        assert_eq!(escape(b"a'b\\c\0\xff\n"), "a\\x27b\\\\c\\x00\\xff\\x0a");
    }

    #[test]
    fn keys_are_set_in_place_or_added() {
        let text = "# x\nname = \"x\"\nkind = \"library\"\npurl = \"pkg:generic/x\"\npackages = [\"x\"]\n\n[[pattern]]\nanchor = 'x v'\n";
        let out = set_keys(
            text,
            &[
                ("license", "\"MIT\"".into()),
                ("purl", "\"pkg:generic/y\"".into()),
                ("cut_from", "[\"bookworm\"]".into()),
            ],
        );
        assert_eq!(
            out,
            "# x\nname = \"x\"\nkind = \"library\"\npurl = \"pkg:generic/y\"\nlicense = \"MIT\"\npackages = [\"x\"]\ncut_from = [\"bookworm\"]\n\n[[pattern]]\nanchor = 'x v'\n"
        );
    }

    #[test]
    fn pattern_keys_are_set_in_their_table() {
        let text = "name = \"x\"\n\n[[pattern]]\nanchor = 'a'\nregex = 'r'\n\n# b\n[[pattern]]\nanchor = 'b'\nregex = 'q'\nonly_in = [\"x\"]\n\n[[test]]\nregex = 't'\n";
        let once = set_pattern_key(text, 1, "no_mirror", "\"why\"").unwrap();
        assert_eq!(
            once,
            "name = \"x\"\n\n[[pattern]]\nanchor = 'a'\nregex = 'r'\n\n# b\n[[pattern]]\nanchor = 'b'\nregex = 'q'\nno_mirror = \"why\"\nonly_in = [\"x\"]\n\n[[test]]\nregex = 't'\n"
        );
        let twice = set_pattern_key(&once, 1, "no_mirror", "\"because\"").unwrap();
        assert_eq!(twice, once.replace("\"why\"", "\"because\""));
        assert_eq!(set_pattern_key(text, 2, "no_mirror", "\"why\""), None);
        assert_eq!(
            set_pattern_key("[[pattern]]\nanchor = 'a'\n", 0, "k", "1"),
            None
        );
    }

    #[test]
    fn tests_are_dropped_by_origin() {
        let text = "name = \"x\"\n\n[[test]]\nexpect = \"positive\"\norigin = \"Debian bullseye x 1-1 (armhf), x, offset 0\"\n\n[[pattern]]\nanchor = 'a'\n\n[[test]]\nexpect = \"negative\"\norigin = \"keep\"\n";
        let (kept, dropped) = drop_tests(text, |origin| origin.contains("(armhf)"));
        assert_eq!(dropped, 1);
        assert_eq!(
            kept,
            "name = \"x\"\n\n[[pattern]]\nanchor = 'a'\n\n[[test]]\nexpect = \"negative\"\norigin = \"keep\"\n"
        );
        assert_eq!(drop_tests(text, |_| false), (text.to_owned(), 0));
    }
}
