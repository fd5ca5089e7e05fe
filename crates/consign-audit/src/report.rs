//! Reports for people: plain text for a terminal and Markdown, from an [`Audit`]. JSON is the
//! [`Audit`]'s own serde form.

use std::fmt::Write as _;

use crate::{Audit, Category, Severity};

/// One line a finding: severity, rule, place, message; the evidence indented under it.
pub fn text(audit: &Audit, image: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "audit of {image}: {}", counts(audit));
    for finding in &audit.findings {
        let _ = writeln!(
            out,
            "{:<8} {:<28} {}\n         {}\n         evidence: {}",
            finding.severity.name(),
            finding.rule.id(),
            finding.place(),
            finding.message,
            finding.evidence
        );
        if let Some(fingerprint) = &finding.fingerprint {
            let _ = writeln!(out, "         fingerprint: {fingerprint}");
        }
        let _ = writeln!(
            out,
            "         provisions: {}",
            finding.provisions.join(", ")
        );
    }
    for diagnostic in &audit.diagnostics {
        let _ = writeln!(out, "note: {diagnostic}");
    }
    out
}

/// A Markdown report: a summary table, then one section per area with a table of findings.
pub fn markdown(audit: &Audit, image: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Secure-defaults audit of `{}`\n", cell(image));
    let _ = writeln!(
        out,
        "{} file system{} ({} with an operating system), {} files, {} ELF files checked{}.\n",
        audit.summary.filesystems,
        if audit.summary.filesystems == 1 {
            ""
        } else {
            "s"
        },
        audit.summary.os_roots,
        audit.summary.files,
        audit.summary.elf_checked,
        audit
            .summary
            .date
            .map(|date| format!("; certificates judged at {date}"))
            .unwrap_or_default()
    );
    out.push_str("| severity | findings |\n|---|---|\n");
    for (severity, count) in audit.counts() {
        let _ = writeln!(out, "| {} | {count} |", severity.name());
    }
    for category in [
        Category::Accounts,
        Category::Secrets,
        Category::Services,
        Category::Update,
        Category::Hygiene,
    ] {
        let findings: Vec<_> = audit
            .findings
            .iter()
            .filter(|f| f.rule.category() == category)
            .collect();
        if findings.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n## {}\n", category.name());
        out.push_str("| severity | rule | where | finding | evidence | provisions |\n");
        out.push_str("|---|---|---|---|---|---|\n");
        for finding in findings {
            let _ = writeln!(
                out,
                "| {} | `{}` | `{}` | {} | `{}` | {} |",
                finding.severity.name(),
                finding.rule.id(),
                cell(&finding.place()),
                cell(&finding.message),
                cell(&finding.evidence).replace('`', "'"),
                finding.provisions.join(", ")
            );
        }
    }
    if !audit.diagnostics.is_empty() {
        out.push_str("\n## Notes\n\n");
        for diagnostic in &audit.diagnostics {
            let _ = writeln!(out, "- {}", cell(&diagnostic.to_string()));
        }
    }
    out
}

/// `1 critical, 2 high, ...` (severities with findings only), or `no findings`.
pub fn counts(audit: &Audit) -> String {
    let parts: Vec<String> = audit
        .counts()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(severity, n)| format!("{n} {}", severity.name()))
        .collect();
    if parts.is_empty() {
        "no findings".to_owned()
    } else {
        parts.join(", ")
    }
}

/// Text made safe for one Markdown table cell: no line breaks, no column separators, no HTML.
fn cell(text: &str) -> String {
    text.replace(['\n', '\r', '\t'], " ")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Severity {
    /// The severity named `name` (`high`).
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Info,
            Self::Low,
            Self::Medium,
            Self::High,
            Self::Critical,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc<script>"), "a\\|b c&lt;script&gt;");
        assert_eq!(Severity::from_name("high"), Some(Severity::High));
        assert_eq!(Severity::from_name("nope"), None);
    }
}
