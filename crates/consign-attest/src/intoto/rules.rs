//! in-toto artifact rules: parsing the rule lists of a layout and applying them to a link's
//! materials or products, with the semantics of the reference `verifylib`/`rulelib`.
//!
//! Rules are applied in order to a queue holding every artifact path of the link. `MATCH`,
//! `CREATE`, `DELETE`, `MODIFY` and `ALLOW` consume the paths they match; `DISALLOW` fails if any
//! path still in the queue matches; `REQUIRE` fails if its (literal) path is not in the queue.
//! Paths left in the queue at the end are implicitly allowed, as in the reference.
//! Patterns are Python `fnmatch` patterns: `*` also matches `/`, `?` one character,
//! `[seq]`/`[!seq]` a set.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::AttestError;
use crate::intoto::link::{ArtifactMap, Link};

/// Which artifacts of a link a rule list applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArtifactSet {
    /// The artifacts before the step.
    Materials,
    /// The artifacts after the step.
    Products,
}

impl ArtifactSet {
    /// `materials` or `products`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Materials => "materials",
            Self::Products => "products",
        }
    }

    fn of(self, link: &Link) -> &ArtifactMap {
        match self {
            Self::Materials => &link.materials,
            Self::Products => &link.products,
        }
    }
}

/// What a rule does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleKind {
    /// `MATCH pattern [IN prefix] WITH (MATERIALS|PRODUCTS) [IN prefix] FROM step`.
    Match {
        /// The prefix of the source paths (`IN` after the pattern).
        source_prefix: Option<String>,
        /// The destination step's materials or products.
        dest_set: ArtifactSet,
        /// The prefix of the destination paths.
        dest_prefix: Option<String>,
        /// The destination step or inspection name.
        dest_name: String,
    },
    /// `CREATE pattern`: in products, not in materials.
    Create,
    /// `DELETE pattern`: in materials, not in products.
    Delete,
    /// `MODIFY pattern`: in both, with different hashes.
    Modify,
    /// `ALLOW pattern`.
    Allow,
    /// `DISALLOW pattern`.
    Disallow,
    /// `REQUIRE path`.
    Require,
}

/// One parsed artifact rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArtifactRule {
    /// What the rule does.
    pub kind: RuleKind,
    /// The path pattern (a literal path for `REQUIRE`).
    pub pattern: String,
    /// The rule as written in the layout.
    pub text: Vec<String>,
}

impl fmt::Display for ArtifactRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text.join(" "))
    }
}

impl ArtifactRule {
    /// Parses a rule list such as `["MATCH", "*", "WITH", "PRODUCTS", "FROM", "build"]`.
    /// Keywords are case-insensitive, as in the reference. The error says what is wrong.
    pub fn parse(words: &[String]) -> Result<Self, String> {
        let keyword = |index: usize| words.get(index).map(|word| word.to_ascii_lowercase());
        let text = words.to_vec();
        let first = keyword(0).ok_or("an empty rule")?;
        let simple = |kind: RuleKind| -> Result<Self, String> {
            match words {
                [_, pattern] => Ok(Self {
                    kind,
                    pattern: pattern.clone(),
                    text: text.clone(),
                }),
                _ => Err(format!(
                    "`{}` takes exactly one pattern, as in `[\"{}\", \"*.c\"]`",
                    first.to_ascii_uppercase(),
                    first.to_ascii_uppercase()
                )),
            }
        };
        match first.as_str() {
            "create" => simple(RuleKind::Create),
            "delete" => simple(RuleKind::Delete),
            "modify" => simple(RuleKind::Modify),
            "allow" => simple(RuleKind::Allow),
            "disallow" => simple(RuleKind::Disallow),
            "require" => simple(RuleKind::Require),
            "match" => Self::parse_match(words),
            other => Err(format!(
                "unknown rule `{other}`; expected one of MATCH, CREATE, DELETE, MODIFY, ALLOW, DISALLOW, REQUIRE"
            )),
        }
    }

    fn parse_match(words: &[String]) -> Result<Self, String> {
        const SHAPE: &str = "expected `MATCH <pattern> [IN <prefix>] WITH (MATERIALS|PRODUCTS) [IN <prefix>] FROM <step>`";
        let lower: Vec<String> = words.iter().map(|word| word.to_ascii_lowercase()).collect();
        let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
        let word = |index: usize| words.get(index).cloned().unwrap_or_default();
        let (source_prefix, dest_set, dest_prefix, dest_name) = match lower.as_slice() {
            [_, _, "with", set, "from", _] => (None, *set, None, word(5)),
            [_, _, "in", _, "with", set, "from", _] => (Some(word(3)), *set, None, word(7)),
            [_, _, "with", set, "in", _, "from", _] => (None, *set, Some(word(5)), word(7)),
            [_, _, "in", _, "with", set, "in", _, "from", _] => {
                (Some(word(3)), *set, Some(word(7)), word(9))
            }
            _ => return Err(SHAPE.to_owned()),
        };
        let dest_set = match dest_set {
            "materials" => ArtifactSet::Materials,
            "products" => ArtifactSet::Products,
            _ => return Err(format!("{SHAPE}; found `{dest_set}` after `WITH`")),
        };
        Ok(Self {
            kind: RuleKind::Match {
                source_prefix,
                dest_set,
                dest_prefix,
                dest_name,
            },
            pattern: word(1),
            text: words.to_vec(),
        })
    }
}

/// Applies `rules` to the `set` artifacts of the link `name`; `links` holds one link per step
/// and inspection (for `MATCH ... FROM`). `item` names the step or inspection in errors.
pub fn apply_rules(
    item: &str,
    name: &str,
    set: ArtifactSet,
    rules: &[ArtifactRule],
    links: &BTreeMap<String, Link>,
) -> Result<(), AttestError> {
    let Some(link) = links.get(name) else {
        return Err(AttestError::IntotoRule {
            item: item.to_owned(),
            artifacts: set.name(),
            rule: String::new(),
            artifact: String::new(),
            reason: format!("there is no link for `{name}`"),
        });
    };
    let artifacts = set.of(link);
    let mut queue: BTreeSet<&str> = artifacts.keys().map(String::as_str).collect();
    for rule in rules {
        let fail = |artifact: &str, reason: String| AttestError::IntotoRule {
            item: item.to_owned(),
            artifacts: set.name(),
            rule: rule.to_string(),
            artifact: artifact.to_owned(),
            reason,
        };
        let matching = |queue: &BTreeSet<&str>| -> Vec<String> {
            queue
                .iter()
                .filter(|path| fnmatch(path, &rule.pattern))
                .map(|path| (*path).to_owned())
                .collect()
        };
        let consumed: Vec<String> = match &rule.kind {
            RuleKind::Match {
                source_prefix,
                dest_set,
                dest_prefix,
                dest_name,
            } => match_rule(
                &queue,
                artifacts,
                &rule.pattern,
                source_prefix.as_deref(),
                dest_prefix.as_deref(),
                links.get(dest_name).map(|dest| dest_set.of(dest)),
            ),
            RuleKind::Create => matching(&queue)
                .into_iter()
                .filter(|path| {
                    link.products.contains_key(path) && !link.materials.contains_key(path)
                })
                .collect(),
            RuleKind::Delete => matching(&queue)
                .into_iter()
                .filter(|path| {
                    link.materials.contains_key(path) && !link.products.contains_key(path)
                })
                .collect(),
            RuleKind::Modify => matching(&queue)
                .into_iter()
                .filter(
                    |path| match (link.materials.get(path), link.products.get(path)) {
                        (Some(before), Some(after)) => before != after,
                        _ => false,
                    },
                )
                .collect(),
            RuleKind::Allow => matching(&queue),
            RuleKind::Disallow => {
                if let Some(path) = matching(&queue).first() {
                    return Err(fail(
                        path,
                        "disallowed: no earlier rule of the list accounted for it".to_owned(),
                    ));
                }
                Vec::new()
            }
            RuleKind::Require => {
                if !queue.contains(rule.pattern.as_str()) {
                    return Err(fail(
                        &rule.pattern,
                        "required but not among the remaining artifacts".to_owned(),
                    ));
                }
                Vec::new()
            }
        };
        for path in &consumed {
            queue.remove(path.as_str());
        }
    }
    Ok(())
}

fn join_prefix(prefix: &str, path: &str) -> String {
    // `os.path.join(prefix, path)` on POSIX, for relative `path`.
    if prefix.is_empty() || prefix.ends_with('/') {
        format!("{prefix}{path}")
    } else {
        format!("{prefix}/{path}")
    }
}

fn match_rule(
    queue: &BTreeSet<&str>,
    source: &ArtifactMap,
    pattern: &str,
    source_prefix: Option<&str>,
    dest_prefix: Option<&str>,
    dest: Option<&ArtifactMap>,
) -> Vec<String> {
    // A rule that points at a step without a link consumes nothing (the reference does the same).
    let Some(dest) = dest else {
        return Vec::new();
    };
    let source_prefix = source_prefix.filter(|prefix| !prefix.is_empty());
    let dest_prefix = dest_prefix.filter(|prefix| !prefix.is_empty());
    let normalized_prefix = source_prefix.map(|prefix| join_prefix(prefix, ""));
    let mut consumed = Vec::new();
    for path in queue {
        // Strip the prefix before globbing so the pattern never globs over the prefix.
        let stripped = match &normalized_prefix {
            Some(prefix) => match path.strip_prefix(prefix.as_str()) {
                Some(rest) => rest,
                None => continue,
            },
            None => path,
        };
        if !fnmatch(stripped, pattern) {
            continue;
        }
        let full_source = source_prefix.map_or_else(
            || stripped.to_owned(),
            |prefix| join_prefix(prefix, stripped),
        );
        let full_dest = dest_prefix.map_or_else(
            || stripped.to_owned(),
            |prefix| join_prefix(prefix, stripped),
        );
        if let (Some(source_hashes), Some(dest_hashes)) =
            (source.get(&full_source), dest.get(&full_dest))
            && source_hashes == dest_hashes
        {
            consumed.push(full_source);
        }
    }
    consumed
}

enum Token {
    Literal(char),
    AnyOne,
    AnyMany,
    Set {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

fn tokenize(pattern: &str) -> Vec<Token> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while let Some(&ch) = chars.get(index) {
        index += 1;
        match ch {
            '*' => {
                if !matches!(tokens.last(), Some(Token::AnyMany)) {
                    tokens.push(Token::AnyMany);
                }
            }
            '?' => tokens.push(Token::AnyOne),
            '[' => {
                // Find the closing `]`; a `]` right after `[` or `[!` is a literal member.
                let mut end = index;
                if chars.get(end) == Some(&'!') {
                    end += 1;
                }
                if chars.get(end) == Some(&']') {
                    end += 1;
                }
                while chars.get(end).is_some_and(|c| *c != ']') {
                    end += 1;
                }
                if chars.get(end).is_none() {
                    tokens.push(Token::Literal('['));
                    continue;
                }
                let mut body = chars.get(index..end).unwrap_or_default();
                let negated = body.first() == Some(&'!');
                if negated {
                    body = body.get(1..).unwrap_or_default();
                }
                let mut ranges = Vec::new();
                let mut at = 0;
                while let Some(&start) = body.get(at) {
                    if body.get(at + 1) == Some(&'-')
                        && let Some(&stop) = body.get(at + 2)
                    {
                        // Python drops reversed ranges such as `z-a`.
                        if start <= stop {
                            ranges.push((start, stop));
                        }
                        at += 3;
                        continue;
                    }
                    ranges.push((start, start));
                    at += 1;
                }
                tokens.push(Token::Set { negated, ranges });
                index = end + 1;
            }
            other => tokens.push(Token::Literal(other)),
        }
    }
    tokens
}

fn token_matches(token: &Token, ch: char) -> bool {
    match token {
        Token::Literal(literal) => *literal == ch,
        Token::AnyOne => true,
        Token::AnyMany => false,
        Token::Set { negated, ranges } => {
            ranges
                .iter()
                .any(|(start, stop)| (*start..=*stop).contains(&ch))
                != *negated
        }
    }
}

/// Python's `fnmatch.fnmatchcase` on POSIX: the whole `name` must match `pattern`.
///
/// Runs in O(len(name) × len(pattern)) with the usual single-backtrack-point algorithm, so a
/// hostile pattern cannot make it explode.
pub fn fnmatch(name: &str, pattern: &str) -> bool {
    let tokens = tokenize(pattern);
    let chars: Vec<char> = name.chars().collect();
    let (mut token_at, mut char_at) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None;
    loop {
        match tokens.get(token_at) {
            Some(Token::AnyMany) => {
                backtrack = Some((token_at, char_at));
                token_at += 1;
                continue;
            }
            Some(token) => {
                if let Some(&ch) = chars.get(char_at)
                    && token_matches(token, ch)
                {
                    token_at += 1;
                    char_at += 1;
                    continue;
                }
            }
            None => {
                if char_at == chars.len() {
                    return true;
                }
            }
        }
        // Mismatch: let the last `*` swallow one more character, or fail.
        match backtrack {
            Some((star, start)) if start < chars.len() => {
                backtrack = Some((star, start + 1));
                token_at = star + 1;
                char_at = start + 1;
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fnmatch_like_python() {
        let cases = [
            ("foo.c", "*.c", true),
            ("dir/foo.c", "*.c", true),
            ("dir/foo.c", "dir/*", true),
            ("foo.h", "*.c", false),
            ("a", "?", true),
            ("ab", "?", false),
            ("b", "[abc]", true),
            ("d", "[!abc]", true),
            ("a", "[!abc]", false),
            ("m", "[a-z]", true),
            ("[", "[", true),
            ("]", "[]]", true),
            ("x", "", false),
            ("", "*", true),
            (
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
                "*a*a*a*a*a*a*a*a*a*c",
                false,
            ),
            ("é.txt", "?.txt", true),
        ];
        for (name, pattern, expect) in cases {
            assert_eq!(fnmatch(name, pattern), expect, "{name} ~ {pattern}");
        }
    }

    fn rule(words: &[&str]) -> ArtifactRule {
        ArtifactRule::parse(&words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn parse_errors_say_what_is_wrong() {
        let err = |words: &[&str]| {
            ArtifactRule::parse(&words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>())
                .unwrap_err()
        };
        assert_eq!(err(&[]), "an empty rule");
        assert_eq!(
            err(&["CREATE"]),
            "`CREATE` takes exactly one pattern, as in `[\"CREATE\", \"*.c\"]`"
        );
        assert!(err(&["FOO", "x"]).starts_with("unknown rule `foo`"));
        assert!(
            err(&["MATCH", "*", "WITH", "THINGS", "FROM", "a"])
                .ends_with("found `things` after `WITH`")
        );
        assert!(err(&["MATCH", "*", "FROM", "a"]).starts_with("expected `MATCH"));
        let parsed = rule(&[
            "match", "*", "in", "src", "with", "products", "in", "out", "from", "build",
        ]);
        assert_eq!(
            parsed.kind,
            RuleKind::Match {
                source_prefix: Some("src".into()),
                dest_set: ArtifactSet::Products,
                dest_prefix: Some("out".into()),
                dest_name: "build".into()
            }
        );
    }

    fn link(name: &str, materials: &serde_json::Value, products: &serde_json::Value) -> Link {
        Link::from_value(
            &json!({"_type": "link", "name": name, "command": [], "materials": materials,
            "products": products, "byproducts": {}, "environment": {}}),
        )
        .unwrap()
    }

    #[track_caller]
    fn check(rules: &[&[&str]], set: ArtifactSet, expect: Result<(), &str>) {
        let links: BTreeMap<String, Link> = [
            link("build",
                &json!({"src/a.c": {"sha256": "11"}, "old.txt": {"sha256": "22"}, "same": {"sha256": "33"}}),
                &json!({"out/a.o": {"sha256": "44"}, "same": {"sha256": "34"}, "new.bin": {"sha256": "55"}})),
            link("fetch", &json!({}), &json!({"a.c": {"sha256": "11"}, "old.txt": {"sha256": "99"}})),
        ].into_iter().map(|link| (link.name.clone(), link)).collect();
        let rules: Vec<ArtifactRule> = rules.iter().map(|words| rule(words)).collect();
        let got = apply_rules("step `build`", "build", set, &rules, &links)
            .map_err(|err| err.to_string());
        assert_eq!(got.as_ref().copied().map_err(String::as_str), expect);
    }

    #[test]
    fn rules_consume_and_fail_like_the_reference() {
        use ArtifactSet::{Materials, Products};
        // MATCH with a source prefix consumes src/a.c; old.txt has another hash in fetch.
        check(
            &[
                &[
                    "MATCH", "*", "IN", "src", "WITH", "PRODUCTS", "FROM", "fetch",
                ],
                &["ALLOW", "same"],
                &["DISALLOW", "*"],
            ],
            Materials,
            Err(
                "step `build`: materials rule `DISALLOW *` failed for artifact `old.txt`: disallowed: no earlier rule of the list accounted for it",
            ),
        );
        check(
            &[
                &[
                    "MATCH", "*", "IN", "src", "WITH", "PRODUCTS", "FROM", "fetch",
                ],
                &["DELETE", "old.txt"],
                &["ALLOW", "same"],
                &["DISALLOW", "*"],
            ],
            Materials,
            Ok(()),
        );
        check(
            &[&["CREATE", "*"], &["DISALLOW", "same"]],
            Products,
            Err(
                "step `build`: products rule `DISALLOW same` failed for artifact `same`: disallowed: no earlier rule of the list accounted for it",
            ),
        );
        check(
            &[&["CREATE", "*"], &["MODIFY", "same"], &["DISALLOW", "*"]],
            Products,
            Ok(()),
        );
        check(&[&["REQUIRE", "new.bin"]], Products, Ok(()));
        check(
            &[&["REQUIRE", "missing.bin"]],
            Products,
            Err(
                "step `build`: products rule `REQUIRE missing.bin` failed for artifact `missing.bin`: required but not among the remaining artifacts",
            ),
        );
        // A MATCH against a step without a link consumes nothing.
        check(
            &[
                &["MATCH", "*", "WITH", "PRODUCTS", "FROM", "nowhere"],
                &["DISALLOW", "*.o"],
            ],
            Products,
            Err(
                "step `build`: products rule `DISALLOW *.o` failed for artifact `out/a.o`: disallowed: no earlier rule of the list accounted for it",
            ),
        );
        check(
            &[&[
                "MATCH",
                "*",
                "IN",
                "out",
                "WITH",
                "MATERIALS",
                "IN",
                "src",
                "FROM",
                "build",
            ]],
            Products,
            Ok(()),
        );
    }
}
