//! Just enough of the POSIX shell language to find the commands a boot script runs: words with
//! quotes removed, the line each command starts on, what is piped or written into it (`echo
//! root:pw | chpasswd`, here-documents), and what simple variables hold (`pw=secret`,
//! ``pw=`cat /etc/pw` ``).
//!
//! # Limits
//!
//! No expansion beyond `$NAME`/`${NAME}` of variables assigned a literal or a `cat` of a file in
//! the same script; functions, loops and conditions are read as straight-line text (a command in
//! an `if` counts as run); commands inside `$(...)` and backquotes are not looked into.

use std::collections::HashMap;

/// What a variable holds, as far as a reader can tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    /// A literal string.
    Literal(String),
    /// The contents of a file in the image (``x=`cat /etc/x` ``).
    File(String),
    /// Something only known at run time.
    Unknown(String),
}

/// One word of a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Word {
    /// The text with quotes removed; `$x` and backquotes left as written.
    pub(crate) text: String,
    /// True when no part of it is expanded at run time.
    pub(crate) literal: bool,
}

/// One simple command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Command {
    /// The line it starts on, from 1.
    pub(crate) line: u32,
    /// Its words, assignments before the command name removed.
    pub(crate) words: Vec<Word>,
    /// The text fed to its standard input by a literal `echo`/`printf` before a pipe, or by a
    /// here-document.
    pub(crate) stdin: Option<String>,
    /// The source line, for evidence.
    pub(crate) source: String,
}

/// A parsed script.
#[derive(Debug, Default)]
pub(crate) struct Script {
    pub(crate) commands: Vec<Command>,
    pub(crate) vars: HashMap<String, Value>,
}

impl Script {
    /// What `$NAME`, `${NAME}` (the whole of `text`) stands for, or the literal text itself.
    pub(crate) fn value_of(&self, text: &str) -> Value {
        let name = text
            .strip_prefix("${")
            .and_then(|t| t.strip_suffix('}'))
            .or_else(|| text.strip_prefix('$'));
        match name {
            Some(name) if name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => self
                .vars
                .get(name)
                .cloned()
                .unwrap_or_else(|| Value::Unknown(text.to_owned())),
            _ if text.contains('$') || text.contains('`') => Value::Unknown(text.to_owned()),
            _ => Value::Literal(text.to_owned()),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Joint {
    /// `;`, `&`, `&&`, `||`, newline, brackets.
    Break,
    /// `|`.
    Pipe,
}

/// Splits one logical line into commands (words) and the joints between them.
fn split_line(line: &str) -> Vec<(Vec<Word>, Joint, Option<String>)> {
    let mut out = Vec::new();
    let mut words: Vec<Word> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut literal = true;
    let mut heredoc: Option<String> = None;
    let mut chars = line.chars().peekable();
    let finish_word =
        |words: &mut Vec<Word>, word: &mut String, in_word: &mut bool, literal: &mut bool| {
            if *in_word {
                words.push(Word {
                    text: std::mem::take(word),
                    literal: *literal,
                });
            }
            *in_word = false;
            *literal = true;
        };
    while let Some(c) = chars.next() {
        match c {
            '#' if !in_word => break,
            ' ' | '\t' => finish_word(&mut words, &mut word, &mut in_word, &mut literal),
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => {
                            if let Some(&n) = chars.peek()
                                && matches!(n, '"' | '\\' | '$' | '`')
                            {
                                word.push(n);
                                chars.next();
                            } else {
                                word.push('\\');
                            }
                        }
                        '$' | '`' => {
                            literal = false;
                            word.push(q);
                        }
                        _ => word.push(q),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    word.push(n);
                }
            }
            '`' => {
                in_word = true;
                literal = false;
                word.push('`');
                for q in chars.by_ref() {
                    word.push(q);
                    if q == '`' {
                        break;
                    }
                }
            }
            '$' => {
                in_word = true;
                literal = false;
                word.push('$');
                if chars.peek() == Some(&'(') {
                    let mut depth = 0usize;
                    for q in chars.by_ref() {
                        word.push(q);
                        match q {
                            '(' => depth += 1,
                            ')' => {
                                depth = depth.saturating_sub(1);
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
            '<' if chars.peek() == Some(&'<') => {
                finish_word(&mut words, &mut word, &mut in_word, &mut literal);
                chars.next();
                if chars.peek() == Some(&'-') {
                    chars.next();
                }
                while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
                    chars.next();
                }
                let mut delimiter = String::new();
                while let Some(&q) = chars.peek() {
                    if q.is_whitespace() || matches!(q, ';' | '|' | '&' | ')') {
                        break;
                    }
                    if q != '\'' && q != '"' {
                        delimiter.push(q);
                    }
                    chars.next();
                }
                if !delimiter.is_empty() {
                    heredoc = Some(delimiter);
                }
            }
            ';' | '&' | '|' | '(' | ')' => {
                finish_word(&mut words, &mut word, &mut in_word, &mut literal);
                let joint = if c == '|' && chars.peek() != Some(&'|') {
                    Joint::Pipe
                } else {
                    if matches!(chars.peek(), Some('|' | '&')) {
                        chars.next();
                    }
                    Joint::Break
                };
                out.push((std::mem::take(&mut words), joint, heredoc.take()));
            }
            _ => {
                in_word = true;
                word.push(c);
            }
        }
    }
    finish_word(&mut words, &mut word, &mut in_word, &mut literal);
    out.push((words, Joint::Break, heredoc.take()));
    out
}

/// Keywords and wrappers that come before the command that runs.
fn skip_prefix(words: &mut Vec<Word>) {
    let mut start = 0;
    while let Some(word) = words.get(start) {
        match word.text.as_str() {
            "then" | "else" | "do" | "if" | "elif" | "while" | "until" | "!" | "{" | "}"
            | "exec" | "nohup" | "time" | "command" => start += 1,
            _ => break,
        }
    }
    words.drain(..start);
}

fn is_assignment(word: &Word) -> Option<(&str, &str)> {
    let (name, value) = word.text.split_once('=')?;
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    valid.then_some((name, value))
}

fn classify(value: &str, literal: bool) -> Value {
    if literal {
        return Value::Literal(value.to_owned());
    }
    let inner = value
        .strip_prefix('`')
        .and_then(|v| v.strip_suffix('`'))
        .or_else(|| value.strip_prefix("$(").and_then(|v| v.strip_suffix(')')));
    if let Some(inner) = inner {
        let parts: Vec<&str> = inner.split_whitespace().collect();
        if let [cat, file] = parts.as_slice()
            && (*cat == "cat" || cat.ends_with("/cat"))
            && file.starts_with('/')
        {
            return Value::File((*file).to_owned());
        }
    }
    Value::Unknown(value.to_owned())
}

/// What `echo`/`printf` with literal arguments print.
fn printed(words: &[Word]) -> Option<String> {
    let name = crate::text::basename(&words.first()?.text);
    let mut args: Vec<&Word> = words.iter().skip(1).collect();
    if args.iter().any(|w| !w.literal) {
        return None;
    }
    match name {
        "echo" => {
            let mut escapes = false;
            while let Some(flag) = args.first() {
                match flag.text.as_str() {
                    "-e" | "-ne" | "-en" => escapes = true,
                    "-n" => {}
                    _ => break,
                }
                args.remove(0);
            }
            let text = args
                .iter()
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            Some(if escapes { unescape(&text) } else { text })
        }
        "printf" => {
            // The format alone, or `%s\n` and arguments.
            let format = args.first()?.text.clone();
            if args.len() == 1 {
                Some(unescape(&format))
            } else {
                let values: Vec<&str> = args[1..].iter().map(|w| w.text.as_str()).collect();
                Some(
                    values
                        .iter()
                        .map(|v| unescape(&format.replacen("%s", v, 1)))
                        .collect(),
                )
            }
        }
        _ => None,
    }
}

fn unescape(text: &str) -> String {
    text.replace("\\n", "\n").replace("\\t", "\t")
}

/// Parses a script. Never fails: what cannot be read is skipped.
pub(crate) fn parse(text: &str) -> Script {
    let mut script = Script::default();
    let lines: Vec<&str> = text.lines().collect();
    let mut index = 0;
    while index < lines.len() {
        let start = index;
        let mut logical = lines[index].trim_end_matches('\r').to_owned();
        while logical.ends_with('\\') && index + 1 < lines.len() {
            logical.pop();
            index += 1;
            logical.push(' ');
            logical.push_str(lines[index].trim_end_matches('\r'));
        }
        index += 1;
        let line_number = u32::try_from(start + 1).unwrap_or(u32::MAX);
        let mut previous: Option<(Vec<Word>, Joint)> = None;
        for (mut words, joint, heredoc) in split_line(&logical) {
            let mut stdin = None;
            if let Some(delimiter) = heredoc {
                let mut body = String::new();
                while index < lines.len() {
                    let line = lines[index].trim_end_matches('\r');
                    index += 1;
                    if line.trim() == delimiter {
                        break;
                    }
                    body.push_str(line);
                    body.push('\n');
                }
                stdin = Some(body);
            }
            if let Some((feeder, Joint::Pipe)) = &previous {
                stdin = stdin.or_else(|| printed(feeder));
            }
            skip_prefix(&mut words);
            let assignments = words
                .iter()
                .take_while(|w| is_assignment(w).is_some())
                .count();
            if assignments == words.len() {
                for word in &words {
                    if let Some((name, value)) = is_assignment(word) {
                        script
                            .vars
                            .insert(name.to_owned(), classify(value, word.literal));
                    }
                }
            } else {
                words.drain(..assignments);
                script.commands.push(Command {
                    line: line_number,
                    words: words.clone(),
                    stdin,
                    source: logical.trim().to_owned(),
                });
            }
            previous = Some((words, joint));
        }
    }
    script
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands(text: &str) -> Vec<(u32, Vec<String>, Option<String>)> {
        parse(text)
            .commands
            .into_iter()
            .map(|c| {
                (
                    c.line,
                    c.words.iter().map(|w| w.text.clone()).collect(),
                    c.stdin,
                )
            })
            .collect()
    }

    #[test]
    fn commands_keep_their_line_and_lose_their_quotes() {
        let got = commands(
            "#!/bin/sh\n# comment\nif [ \"$1\" = start ]; then\n\ttelnetd -l '/bin/sh' &\nfi\n",
        );
        assert_eq!(got[0].1, ["[", "$1", "=", "start", "]"]);
        assert_eq!(
            got[1],
            (
                4,
                vec!["telnetd".into(), "-l".into(), "/bin/sh".into()],
                None
            )
        );
    }

    #[test]
    fn pipes_and_heredocs_feed_standard_input() {
        let got = commands(
            "echo \"root:admin\" | chpasswd\nchpasswd <<EOF\nuser:pw\nEOF\necho -e 'a\\na' | passwd root\n",
        );
        assert_eq!(got[1].2.as_deref(), Some("root:admin"));
        assert_eq!(got[2].1, ["chpasswd"]);
        assert_eq!(got[2].2.as_deref(), Some("user:pw\n"));
        assert_eq!(got[4].2.as_deref(), Some("a\na"));
    }

    #[test]
    fn variables_are_literal_from_a_file_or_unknown() {
        let script = parse("a=x\nb=`cat /etc/config/image_sign`\nc=$(nvram get pw)\nd=\"$a\"\n");
        assert_eq!(script.value_of("$a"), Value::Literal("x".into()));
        assert_eq!(
            script.value_of("${b}"),
            Value::File("/etc/config/image_sign".into())
        );
        assert!(matches!(script.value_of("$c"), Value::Unknown(_)));
        assert!(matches!(script.value_of("$d"), Value::Unknown(_)));
        assert!(matches!(script.value_of("$nothing"), Value::Unknown(_)));
    }

    #[test]
    fn continuation_lines_join_and_hostile_text_does_not_panic() {
        let got = commands("telnetd \\\n  -p 23\n");
        assert_eq!(
            got[0],
            (1, vec!["telnetd".into(), "-p".into(), "23".into()], None)
        );
        for junk in ["\"unterminated", "'x", "$((((", "<<", "`", "a=b=c", "\\"] {
            let _ = parse(junk);
        }
    }
}
