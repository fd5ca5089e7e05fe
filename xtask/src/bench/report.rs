//! The bench's results: one section per benchmark, each a table plus headline figures, printed on
//! stdout as it completes and written to `target/bench/report.md` and `report.json`.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

/// One benchmark's results.
#[derive(Debug, Clone, Default)]
pub(crate) struct Section {
    pub(crate) title: String,
    /// What it compares and how, in one or two sentences.
    pub(crate) what: String,
    pub(crate) header: Vec<String>,
    pub(crate) rows: Vec<Vec<String>>,
    /// The figures the issues ask for, each with its goal and whether it was met.
    pub(crate) headlines: Vec<Headline>,
    /// Things a reader of the figures should know (a tool that failed, where time goes).
    pub(crate) notes: Vec<String>,
    /// The raw figures, for machines.
    pub(crate) data: Value,
}

/// A figure with its goal.
#[derive(Debug, Clone)]
pub(crate) struct Headline {
    pub(crate) name: String,
    pub(crate) value: String,
    pub(crate) goal: String,
    /// `None` when the goal cannot be judged (a peer tool did not run).
    pub(crate) met: Option<bool>,
}

impl Section {
    pub(crate) fn new(title: &str, what: &str, header: &[&str]) -> Self {
        Self {
            title: title.to_owned(),
            what: what.to_owned(),
            header: header.iter().map(|&cell| cell.to_owned()).collect(),
            ..Self::default()
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        // A row that does not match its header is a bug in the bench, and a misleading table.
        assert_eq!(
            cells.len(),
            self.header.len(),
            "row {cells:?} of `{}` does not match the header",
            self.title
        );
        self.rows.push(cells);
    }

    pub(crate) fn headline(&mut self, name: &str, value: String, goal: &str, met: Option<bool>) {
        self.headlines.push(Headline {
            name: name.to_owned(),
            value,
            goal: goal.to_owned(),
            met,
        });
    }

    pub(crate) fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    /// The section as Markdown: a heading, the description, the table, headlines, notes.
    pub(crate) fn markdown(&self) -> String {
        let mut text = format!("## {}\n\n{}\n\n", self.title, self.what);
        if !self.rows.is_empty() {
            let _ = writeln!(text, "| {} |", self.header.join(" | "));
            let align: Vec<&str> = (0..self.header.len())
                .map(|idx| if idx == 0 { "---" } else { "---:" })
                .collect();
            let _ = writeln!(text, "|{}|", align.join("|"));
            for row in &self.rows {
                let _ = writeln!(text, "| {} |", row.join(" | "));
            }
            text.push('\n');
        }
        for headline in &self.headlines {
            let _ = writeln!(
                text,
                "- **{}: {}** (goal: {}) {}",
                headline.name,
                headline.value,
                headline.goal,
                verdict(headline.met)
            );
        }
        if !self.headlines.is_empty() {
            text.push('\n');
        }
        for note in &self.notes {
            let _ = writeln!(text, "- {note}");
        }
        if !self.notes.is_empty() {
            text.push('\n');
        }
        text
    }

    /// The section as plain text for the terminal: the table with aligned columns.
    pub(crate) fn text(&self) -> String {
        let mut text = format!("\n== {} ==\n{}\n\n", self.title, self.what);
        if !self.rows.is_empty() {
            let widths: Vec<usize> = (0..self.header.len())
                .map(|col| {
                    std::iter::once(&self.header)
                        .chain(&self.rows)
                        .filter_map(|row| row.get(col))
                        .map(|cell| cell.chars().count())
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            for row in std::iter::once(&self.header).chain(&self.rows) {
                let mut line = String::new();
                for (col, cell) in row.iter().enumerate() {
                    let width = widths.get(col).copied().unwrap_or(0);
                    if col == 0 {
                        let _ = write!(line, "{cell:<width$}");
                    } else {
                        let _ = write!(line, "  {cell:>width$}");
                    }
                }
                let _ = writeln!(text, "{}", line.trim_end());
            }
            text.push('\n');
        }
        for headline in &self.headlines {
            let _ = writeln!(
                text,
                "{}: {} (goal: {}) {}",
                headline.name,
                headline.value,
                headline.goal,
                verdict(headline.met)
            );
        }
        for note in &self.notes {
            let _ = writeln!(text, "note: {note}");
        }
        text
    }

    pub(crate) fn json(&self) -> Value {
        json!({
            "title": self.title,
            "what": self.what,
            "header": self.header,
            "rows": self.rows,
            "headlines": self.headlines.iter().map(|headline| json!({
                "name": headline.name,
                "value": headline.value,
                "goal": headline.goal,
                "met": headline.met,
            })).collect::<Vec<_>>(),
            "notes": self.notes,
            "data": self.data,
        })
    }
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "MET",
        Some(false) => "MISSED",
        None => "NOT JUDGED",
    }
}

/// Writes `report.md` and `report.json` into `dir` with every section so far, so a bench that
/// stops half-way still leaves what it measured.
pub(crate) fn write(dir: &Path, preamble: &str, sections: &[Section]) -> Result<(), String> {
    let mut markdown = format!("# consign benchmarks\n\n{preamble}\n\n");
    for section in sections {
        markdown.push_str(&section.markdown());
    }
    let json = json!({
        "preamble": preamble,
        "sections": sections.iter().map(Section::json).collect::<Vec<_>>(),
    });
    let md_path = dir.join("report.md");
    std::fs::write(&md_path, markdown)
        .map_err(|err| format!("writing {}: {err}", md_path.display()))?;
    let json_path = dir.join("report.json");
    let text = serde_json::to_string_pretty(&json).map_err(|err| format!("report json: {err}"))?;
    std::fs::write(&json_path, text + "\n")
        .map_err(|err| format!("writing {}: {err}", json_path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_renders_as_markdown_and_text() {
        let mut section = Section::new("unpack", "consign vs a peer.", &["image", "ratio"]);
        section.row(vec!["a.bin".into(), "2.00x".into()]);
        section.headline("total", "2.00x".into(), ">= 3x", Some(false));
        section.note("binwalk skipped nothing");
        assert_eq!(
            section.markdown(),
            "## unpack\n\nconsign vs a peer.\n\n| image | ratio |\n|---|---:|\n| a.bin | 2.00x |\n\n- **total: 2.00x** (goal: >= 3x) MISSED\n\n- binwalk skipped nothing\n\n"
        );
        assert_eq!(
            section.text(),
            "\n== unpack ==\nconsign vs a peer.\n\nimage  ratio\na.bin  2.00x\n\ntotal: 2.00x (goal: >= 3x) MISSED\nnote: binwalk skipped nothing\n"
        );
    }
}
