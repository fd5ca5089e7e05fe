//! Renders a [`Verdict`]: a terminal summary, JSON, Markdown and self-contained HTML for an
//! officer. Every function returns a string; the caller prints or writes it.

use std::fmt::Write as _;

use crate::VerifyError;
use crate::verdict::{Status, Verdict};

fn headline(verdict: &Verdict) -> &'static str {
    if verdict.accepted {
        "ACCEPTED"
    } else {
        "REJECTED"
    }
}

fn short_status(status: Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Fail => "FAIL",
        Status::Warn => "warn",
        Status::NotApplicable => "n/a",
    }
}

/// One line per shipment, for runs over many shipments.
pub fn one_line(verdict: &Verdict) -> String {
    let first_failure = verdict
        .failures()
        .next()
        .map(|r| format!(": {} {}", r.id, r.reason))
        .unwrap_or_default();
    let mut line = format!(
        "{} {} ({} pass, {} fail, {} warn){first_failure}",
        headline(verdict),
        verdict.shipment,
        verdict.counts.pass,
        verdict.counts.fail,
        verdict.counts.warn
    );
    if line.chars().count() > 240 {
        line = line.chars().take(239).collect();
        line.push('…');
    }
    line
}

/// The terminal summary: the verdict, then each check that did not simply pass with its reason
/// and fix, then the counts.
pub fn text(verdict: &Verdict) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: shipment `{}` under policy `{}` on {}",
        headline(verdict),
        verdict.shipment,
        verdict.policy,
        verdict.checked_at
    );
    if let Some(product) = &verdict.product {
        let _ = writeln!(
            out,
            "product: {} {} model {} firmware {}{}",
            product.manufacturer.as_deref().unwrap_or("?"),
            product.name.as_deref().unwrap_or("?"),
            product.model.as_deref().unwrap_or("?"),
            product.firmware_version.as_deref().unwrap_or("?"),
            verdict
                .support_end
                .as_deref()
                .map(|end| format!(", supported until {end}"))
                .unwrap_or_default()
        );
    }
    out.push('\n');
    for result in &verdict.results {
        let _ = writeln!(
            out,
            "{:<6} {:<26} {}",
            short_status(result.status),
            result.id,
            result.reason
        );
        if let Some(fix) = &result.fix
            && matches!(result.status, Status::Fail | Status::Warn)
        {
            let _ = writeln!(out, "{:34}fix: {fix}", "");
        }
    }
    let _ = writeln!(
        out,
        "\n{} checks: {} pass, {} fail, {} warn, {} not applicable",
        verdict.results.len(),
        verdict.counts.pass,
        verdict.counts.fail,
        verdict.counts.warn,
        verdict.counts.not_applicable
    );
    out
}

/// The verdict as pretty JSON.
pub fn json(verdict: &Verdict) -> Result<String, VerifyError> {
    let mut text = serde_json::to_string_pretty(verdict).map_err(VerifyError::Json)?;
    text.push('\n');
    Ok(text)
}

fn md_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '|' | '\\' | '*' | '_' | '[' | ']' | '<' | '>' | '#' => {
                out.push('\\');
                out.push(ch);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

/// A Markdown report to hand to an officer.
pub fn markdown(verdict: &Verdict) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Shipment verdict: {}\n", headline(verdict));
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| Shipment | {} |", md_escape(&verdict.shipment));
    let _ = writeln!(out, "| Manifest SHA-256 | `{}` |", verdict.shipment_sha256);
    let _ = writeln!(
        out,
        "| Policy | {} (`{}`) |",
        md_escape(&verdict.policy),
        verdict.policy_sha256
    );
    let _ = writeln!(out, "| Trust store SHA-256 | `{}` |", verdict.trust_sha256);
    let _ = writeln!(out, "| Check date | {} |", verdict.checked_at);
    if let Some(product) = &verdict.product {
        let _ = writeln!(
            out,
            "| Product | {} {} model {} firmware {} |",
            md_escape(product.manufacturer.as_deref().unwrap_or("?")),
            md_escape(product.name.as_deref().unwrap_or("?")),
            md_escape(product.model.as_deref().unwrap_or("?")),
            md_escape(product.firmware_version.as_deref().unwrap_or("?"))
        );
    }
    if let Some(end) = &verdict.support_end {
        let _ = writeln!(out, "| Support end | {end} |");
    }
    let _ = writeln!(
        out,
        "| Result | {} pass, {} fail, {} warn, {} not applicable |\n",
        verdict.counts.pass,
        verdict.counts.fail,
        verdict.counts.warn,
        verdict.counts.not_applicable
    );
    let _ = writeln!(out, "## Checks\n");
    let _ = writeln!(
        out,
        "| Status | Check | Reason | What would fix it | Requirements |\n|---|---|---|---|---|"
    );
    for result in &verdict.results {
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} | {} |",
            result.status.as_str(),
            result.id,
            md_escape(&result.reason),
            md_escape(result.fix.as_deref().unwrap_or("")),
            md_escape(&result.requirements.join(", "))
        );
    }
    let _ = writeln!(
        out,
        "\n## Evidence\n\n| Artifact | Role | SHA-256 |\n|---|---|---|"
    );
    for item in &verdict.evidence {
        let _ = writeln!(
            out,
            "| {} | {} | `{}` |",
            md_escape(&item.path),
            item.role,
            item.sha256
        );
    }
    out
}

fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// A self-contained HTML report (no scripts, no outside resources), every value escaped.
pub fn html(verdict: &Verdict) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Shipment verdict: {} {}</title>\n<style>body{{font-family:sans-serif;margin:2em;}}table{{border-collapse:collapse;}}td,th{{border:1px solid #999;padding:4px 8px;vertical-align:top;text-align:left;}}.pass{{background:#dfd;}}.fail{{background:#fdd;}}.warn{{background:#ffd;}}.not-applicable{{background:#eee;}}code{{font-size:90%;}}</style></head><body>\n",
        headline(verdict),
        html_escape(&verdict.shipment)
    );
    let _ = writeln!(out, "<h1>Shipment verdict: {}</h1>", headline(verdict));
    let _ = writeln!(out, "<table>");
    let mut row = |key: &str, value: String| {
        let _ = writeln!(out, "<tr><th>{key}</th><td>{value}</td></tr>");
    };
    row("Shipment", html_escape(&verdict.shipment));
    row(
        "Manifest SHA-256",
        format!("<code>{}</code>", verdict.shipment_sha256),
    );
    row(
        "Policy",
        format!(
            "{} (<code>{}</code>)",
            html_escape(&verdict.policy),
            verdict.policy_sha256
        ),
    );
    row(
        "Trust store SHA-256",
        format!("<code>{}</code>", verdict.trust_sha256),
    );
    row("Check date", html_escape(&verdict.checked_at));
    if let Some(product) = &verdict.product {
        row(
            "Product",
            html_escape(&format!(
                "{} {} model {} firmware {}",
                product.manufacturer.as_deref().unwrap_or("?"),
                product.name.as_deref().unwrap_or("?"),
                product.model.as_deref().unwrap_or("?"),
                product.firmware_version.as_deref().unwrap_or("?")
            )),
        );
    }
    if let Some(end) = &verdict.support_end {
        row("Support end", html_escape(end));
    }
    row(
        "Result",
        format!(
            "{} pass, {} fail, {} warn, {} not applicable",
            verdict.counts.pass,
            verdict.counts.fail,
            verdict.counts.warn,
            verdict.counts.not_applicable
        ),
    );
    let _ = writeln!(
        out,
        "</table>\n<h2>Checks</h2>\n<table><tr><th>Status</th><th>Check</th><th>Reason</th><th>What would fix it</th><th>Requirements</th></tr>"
    );
    for result in &verdict.results {
        let _ = writeln!(
            out,
            "<tr class=\"{}\"><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            result.status.as_str(),
            result.status.as_str(),
            html_escape(&result.id),
            html_escape(&result.reason),
            html_escape(result.fix.as_deref().unwrap_or("")),
            html_escape(&result.requirements.join(", "))
        );
    }
    let _ = writeln!(
        out,
        "</table>\n<h2>Evidence</h2>\n<table><tr><th>Artifact</th><th>Role</th><th>SHA-256</th></tr>"
    );
    for item in &verdict.evidence {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            html_escape(&item.path),
            html_escape(&item.role),
            html_escape(&item.sha256)
        );
    }
    out.push_str("</table>\n</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::{CheckResult, Counts, EvidenceItem};

    fn verdict() -> Verdict {
        Verdict {
            format: crate::verdict::FORMAT.to_owned(),
            shipment: "<script>alert(1)</script>|lot".to_owned(),
            shipment_sha256: "ab".repeat(32),
            policy: "eu-cra-import".to_owned(),
            policy_sha256: "cd".repeat(32),
            trust_sha256: "ef".repeat(32),
            checked_at: "2026-11-22".to_owned(),
            accepted: false,
            product: None,
            support_end: None,
            counts: Counts {
                pass: 0,
                fail: 1,
                warn: 0,
                not_applicable: 0,
            },
            results: vec![CheckResult {
                id: "support.not-expired".to_owned(),
                group: "support".to_owned(),
                title: "t".to_owned(),
                status: Status::Fail,
                reason: "support ended on 2020-01-01 & <b>".to_owned(),
                fix: Some("extend | it".to_owned()),
                requirements: vec!["cra:art13-8".to_owned()],
                evidence: Vec::new(),
            }],
            vulnerability_database: None,
            evidence: vec![EvidenceItem {
                path: "a\"b".to_owned(),
                role: "firmware".to_owned(),
                sha256: "00".repeat(32),
            }],
        }
    }

    #[test]
    fn html_escapes_everything() {
        let html = html(&verdict());
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("2020-01-01 &amp; &lt;b&gt;"));
        assert!(html.contains("a&quot;b"));
        assert!(
            !html.contains("http"),
            "self-contained: no outside resources"
        );
    }

    #[test]
    fn markdown_escapes_table_cells() {
        let md = markdown(&verdict());
        assert!(md.contains("extend \\| it"), "{md}");
        assert!(md.contains("\\<script\\>"), "{md}");
        assert!(md.starts_with("# Shipment verdict: REJECTED"));
    }

    #[test]
    fn text_and_one_line() {
        let v = verdict();
        let text = text(&v);
        assert!(text.starts_with("REJECTED: shipment"), "{text}");
        assert!(text.contains("fix: extend | it"), "{text}");
        assert!(one_line(&v).starts_with(
            "REJECTED <script>alert(1)</script>|lot (0 pass, 1 fail, 0 warn): support.not-expired"
        ));
        let json = json(&v).unwrap();
        let back: Verdict = serde_json::from_str(&json).unwrap();
        assert_eq!(back, v);
    }
}
