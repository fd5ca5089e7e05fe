//! Hygiene: file permissions and the exploit mitigations of programs.
//!
//! # What it detects
//!
//! - set-user-ID and set-group-ID files; files and folders anyone may write (folders with the
//!   sticky bit, such as `/tmp`, excepted), from the modes the containers record;
//! - Linux programs and libraries (ELF files inside a file system, or with an interpreter) without:
//!   NX (no `PT_GNU_STACK`, or one that is executable), RELRO (`PT_GNU_RELRO`), PIE (programs
//!   of type `ET_EXEC`), or a stack protector (no `__stack_chk_fail`/`__stack_chk_guard` although the
//!   program calls copying functions that need one: `strcpy`, `sprintf`, `gets`, ...).
//!
//! # Evidence
//!
//! The file, its mode (octal), and the mitigations it lacks.
//!
//! # Limits
//!
//! Containers that do not record modes (zip, most raw carvings) give no permission findings.
//! Stack protection is judged from symbols: a program built with `-fstack-protector-strong` that
//! needed no canary, or a stripped static program, is not reported. Kernel modules and
//! bare-metal ELF images (no interpreter, outside any file system) are not judged.

use consign_model::{NodeKind, Vfs, VfsNode};
use goblin::elf::{Elf, header, program_header};

use crate::Sink;
use crate::finding::{Finding, Rule, Severity};

/// Copying functions whose callers need a stack canary.
const UNSAFE_CALLS: &[&str] = &[
    "strcpy", "strcat", "sprintf", "vsprintf", "gets", "scanf", "sscanf", "fscanf",
];

/// Judges one ELF file.
pub(crate) fn audit_file(node: &VfsNode, data: &[u8], sink: &mut Sink) {
    if !data.starts_with(b"\x7fELF") {
        return;
    }
    let Ok(elf) = Elf::parse(data) else {
        return;
    };
    let in_fs = node.provenance.last().and_then(|p| p.path.as_deref());
    let interpreter = elf.interpreter.is_some();
    let kind = elf.header.e_type;
    if !(kind == header::ET_EXEC || kind == header::ET_DYN) || (in_fs.is_none() && !interpreter) {
        return;
    }
    // A shared object with an interpreter is a PIE program.
    let program = kind == header::ET_EXEC || interpreter;
    if !program && elf.dynamic.is_none() {
        return;
    }
    sink.elf_checked += 1;
    let mut missing = Vec::new();
    match elf
        .program_headers
        .iter()
        .find(|ph| ph.p_type == program_header::PT_GNU_STACK)
    {
        None => missing.push("NX (no PT_GNU_STACK: the stack is executable)"),
        Some(ph) if ph.p_flags & program_header::PF_X != 0 => {
            missing.push(
                "NX (PT_GNU_STACK asks for an executable stack, as MIPS toolchains did by default)",
            );
        }
        Some(_) => {}
    }
    if elf.dynamic.is_some()
        && !elf
            .program_headers
            .iter()
            .any(|ph| ph.p_type == program_header::PT_GNU_RELRO)
    {
        missing.push("RELRO");
    }
    if kind == header::ET_EXEC && elf.dynamic.is_some() {
        missing.push("PIE");
    }
    let imports: Vec<&str> = elf
        .dynsyms
        .iter()
        .filter(goblin::elf::Sym::is_import)
        .filter_map(|sym| elf.dynstrtab.get_at(sym.st_name))
        .collect();
    let canary = imports
        .iter()
        .chain(
            elf.syms
                .iter()
                .filter_map(|s| elf.strtab.get_at(s.st_name))
                .collect::<Vec<_>>()
                .iter(),
        )
        .any(|name| name.starts_with("__stack_chk_"));
    let risky: Vec<&str> = imports
        .iter()
        .copied()
        .filter(|name| UNSAFE_CALLS.contains(name))
        .collect();
    if program && !canary && !risky.is_empty() {
        missing.push("stack protector");
    }
    if missing.is_empty() {
        return;
    }
    let what = if program { "program" } else { "library" };
    let file = in_fs.map(crate::tree::normalise);
    let mut finding = Finding::new(Rule::BinaryHardening, Severity::Low, &node.path)
        .message(format!("the {what} lacks {}", missing.join(", ")))
        .evidence(format!(
            "ELF {}{}{}",
            if kind == header::ET_EXEC {
                "ET_EXEC"
            } else {
                "ET_DYN"
            },
            if interpreter {
                ", dynamically linked"
            } else {
                ", no interpreter"
            },
            if risky.is_empty() {
                String::new()
            } else {
                format!(", calls {} without __stack_chk_fail", risky.join(", "))
            }
        ));
    if let Some(file) = file {
        finding = finding.file(&file);
    }
    sink.push(finding);
}

/// Set-user-ID and world-writable entries.
pub(crate) fn audit_modes(vfs: &Vfs, sink: &mut Sink) {
    for node in &vfs.nodes {
        let Some(mode) = node.mode else { continue };
        let Some(inner) = node.provenance.last().and_then(|p| p.path.as_deref()) else {
            continue;
        };
        let file = crate::tree::normalise(inner);
        let is_dir = matches!(node.kind, NodeKind::Dir);
        let is_file = matches!(node.kind, NodeKind::File { .. });
        if is_file && mode & 0o6000 != 0 {
            let bits = match (mode & 0o4000 != 0, mode & 0o2000 != 0) {
                (true, true) => "set-user-ID and set-group-ID",
                (true, false) => "set-user-ID",
                _ => "set-group-ID",
            };
            sink.push(
                Finding::new(Rule::Setuid, Severity::Low, &node.path)
                    .file(&file)
                    .message(format!("{file} is {bits}: it runs with its owner's rights (usually root) whoever starts it"))
                    .evidence(format!("mode {:04o}", mode & 0o7777)),
            );
        }
        if (is_file || is_dir) && mode & 0o002 != 0 && !(is_dir && mode & 0o1000 != 0) {
            let (what, severity) = if is_dir {
                ("folder", Severity::Low)
            } else {
                ("file", Severity::Medium)
            };
            sink.push(
                Finding::new(Rule::WorldWritable, severity, &node.path)
                    .file(&file)
                    .message(format!("the {what} {file} may be written by any user"))
                    .evidence(format!("mode {:04o}", mode & 0o7777)),
            );
        }
    }
}
