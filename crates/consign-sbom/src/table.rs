//! A plain-text table of what a scan found, for `consign scan --format table`.

use std::fmt::Write as _;

use crate::cyclonedx::Bom;

/// One row per detected component: name, version, purl, confidence, and where it was found (the
/// first location, and how many more). Columns are padded to line up; the text ends with a newline.
pub fn scan_summary_table(bom: &Bom) -> String {
    let header = ["NAME", "VERSION", "PURL", "CONFIDENCE", "FOUND IN"];
    let mut rows: Vec<[String; 5]> = Vec::new();
    for component in &bom.components {
        let evidence = component.evidence.as_ref();
        let confidence = evidence
            .and_then(|e| e.identity.first())
            .and_then(|i| i.confidence)
            .map_or_else(|| "-".to_owned(), |c| format!("{c:.2}"));
        let found = evidence.map_or_else(
            || "-".to_owned(),
            |e| {
                let mut locations: Vec<&str> =
                    e.occurrences.iter().map(|o| o.location.as_str()).collect();
                locations.dedup();
                match locations.as_slice() {
                    [] => "-".to_owned(),
                    [one] => (*one).to_owned(),
                    [first, rest @ ..] => format!("{first} (+{} more)", rest.len()),
                }
            },
        );
        rows.push([
            component.name.clone(),
            component
                .version
                .clone()
                .unwrap_or_else(|| "unknown".to_owned()),
            component.purl.clone().unwrap_or_else(|| "-".to_owned()),
            confidence,
            found,
        ]);
    }
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut text = String::new();
        for (idx, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if idx + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<width$}  ");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&header);
    for row in &rows {
        line(&row.each_ref().map(String::as_str));
    }
    let _ = writeln!(out, "{} components", rows.len());
    out
}
