//! `cargo xtask fixtures [--check]`: the small test inputs under `fixtures/` and their recipes.
//!
//! Every fixture is either made by a recipe (a script beside it that runs real tools over content
//! the script writes) and recorded in a `SHA256SUMS`, or written by hand and described, file by
//! file, in a `README.md` of its folder. Three levels of checking:
//!
//! - [`check_manifests`] (a unit test, so plain `cargo test` runs it with no tools): every file is
//!   accounted for, every recorded sha256 matches, every `SHA256SUMS` folder has its recipe.
//! - `cargo xtask fixtures --check` (run by `cargo xtask ci` once the tools are installed): runs
//!   every recipe in a copy of `fixtures/` and compares what it makes with what is committed:
//!   byte for byte where the recipe is reproducible, by file list where it cannot be (the reason
//!   is recorded in [`RECIPES`]).
//! - `cargo xtask fixtures`: runs every recipe in place; review and commit the diff.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::root;
use crate::{manifest, tools};

/// How a recipe is run.
#[derive(Clone, Copy)]
enum Runner {
    /// `sh SCRIPT`.
    Shell,
    /// The interop virtual environment's Python (`target/interop/venv`), run in the script's folder.
    InteropPython,
}

/// One recipe and what it makes.
struct Recipe {
    /// The script, relative to `fixtures/`.
    script: &'static str,
    runner: Runner,
    /// The folders (relative to `fixtures/`) whose `SHA256SUMS` the recipe writes.
    outputs: &'static [&'static str],
    /// Debian packages it runs: (package, a file that shows it is installed).
    debian: &'static [(&'static str, &'static str)],
    /// `None` when a rebuild gives the committed bytes; otherwise why it cannot.
    not_reproducible: Option<&'static str>,
}

const MTD_UTILS: (&str, &str) = ("mtd-utils", "/usr/sbin/mkfs.jffs2");

/// Every recipe under `fixtures/`. A new fixture folder with a `SHA256SUMS` must be listed here.
const RECIPES: &[Recipe] = &[
    Recipe {
        script: "unpack/recipe/make.sh",
        runner: Runner::Shell,
        outputs: &["unpack/zip", "unpack/cpio", "unpack/tar", "unpack/uimage"],
        debian: &[
            ("zip", "/usr/bin/zip"),
            ("cpio", "/usr/bin/cpio"),
            ("u-boot-tools", "/usr/bin/mkimage"),
        ],
        not_reproducible: None,
    },
    Recipe {
        script: "unpack/cramfs/recipe.sh",
        runner: Runner::Shell,
        outputs: &["unpack/cramfs"],
        debian: &[("util-linux", "/usr/sbin/mkfs.cramfs")],
        not_reproducible: None,
    },
    Recipe {
        script: "unpack/ext/recipe.sh",
        runner: Runner::Shell,
        outputs: &["unpack/ext"],
        debian: &[("e2fsprogs", "/usr/sbin/debugfs")],
        not_reproducible: None,
    },
    Recipe {
        script: "unpack/erofs/recipe.sh",
        runner: Runner::Shell,
        outputs: &["unpack/erofs"],
        debian: &[
            ("dpkg", "/usr/bin/dpkg-deb"),
            ("apt", "/usr/lib/apt/apt-helper"),
            ("python3", "/usr/bin/python3"),
        ],
        not_reproducible: None,
    },
    Recipe {
        script: "unpack/fat/recipe.sh",
        runner: Runner::Shell,
        outputs: &["unpack/fat"],
        debian: &[
            ("dosfstools", "/usr/sbin/mkfs.fat"),
            ("mtools", "/usr/bin/mcopy"),
        ],
        not_reproducible: None,
    },
    Recipe {
        script: "unpack/ufs/recipe.sh",
        runner: Runner::Shell,
        outputs: &["unpack/ufs"],
        debian: &[
            ("makefs", "/usr/sbin/makefs"),
            ("python3", "/usr/bin/python3"),
        ],
        not_reproducible: None,
    },
    Recipe {
        script: "unpack/iso9660/recipe.sh",
        runner: Runner::Shell,
        outputs: &["unpack/iso9660"],
        debian: &[("xorriso", "/usr/bin/xorriso")],
        not_reproducible: None,
    },
    Recipe {
        script: "unpack/jffs2/recipe.sh",
        runner: Runner::Shell,
        outputs: &["unpack/jffs2"],
        debian: &[MTD_UTILS],
        not_reproducible: None,
    },
    Recipe {
        script: "unpack/romfs/recipe.sh",
        runner: Runner::Shell,
        outputs: &["unpack/romfs"],
        debian: &[("genromfs", "/usr/bin/genromfs")],
        not_reproducible: None,
    },
    Recipe {
        script: "unpack/squashfs/recipe.sh",
        runner: Runner::Shell,
        outputs: &["unpack/squashfs"],
        debian: &[("squashfs-tools", "/usr/bin/mksquashfs")],
        not_reproducible: None,
    },
    Recipe {
        script: "unpack/ubi/recipe.sh",
        runner: Runner::Shell,
        outputs: &["unpack/ubi"],
        debian: &[MTD_UTILS],
        not_reproducible: Some(
            "mkfs.ubifs writes a random UUID into the superblock and has no flag to fix it",
        ),
    },
    Recipe {
        script: "unpack/android/recipe.sh",
        runner: Runner::Shell,
        outputs: &["unpack/android"],
        debian: &[
            ("cpio", "/usr/bin/cpio"),
            ("dpkg", "/usr/bin/dpkg-deb"),
            ("apt", "/usr/lib/apt/apt-helper"),
        ],
        not_reproducible: None,
    },
    Recipe {
        script: "unpack/mcu/recipe.sh",
        runner: Runner::Shell,
        outputs: &["unpack/mcu"],
        debian: &[
            ("binutils", "/usr/bin/objcopy"),
            ("dpkg", "/usr/bin/dpkg-deb"),
            ("apt", "/usr/lib/apt/apt-helper"),
        ],
        not_reproducible: None,
    },
    Recipe {
        script: "sbom/releases/recipe.sh",
        runner: Runner::Shell,
        outputs: &["sbom/releases"],
        debian: &[
            ("squashfs-tools", "/usr/bin/mksquashfs"),
            ("dpkg", "/usr/bin/dpkg-deb"),
            ("apt", "/usr/lib/apt/apt-helper"),
        ],
        // The images are checked by the recipe against images.sha256; the SBOMs are this
        // commit's consign output, so a change to detection means rerunning the recipe.
        not_reproducible: None,
    },
    Recipe {
        script: "detect/freebsd/make_local_sqlite.py",
        runner: Runner::InteropPython,
        outputs: &["detect/freebsd"],
        debian: &[],
        not_reproducible: Some(
            "the file's header records the version of the SQLite library that wrote it",
        ),
    },
    Recipe {
        script: "unpack/littlefs/make_images.py",
        runner: Runner::InteropPython,
        outputs: &["unpack/littlefs"],
        debian: &[],
        not_reproducible: None,
    },
    Recipe {
        script: "unpack/esp/make_flash.py",
        runner: Runner::InteropPython,
        outputs: &["unpack/esp"],
        debian: &[],
        not_reproducible: None,
    },
    Recipe {
        script: "unpack/android-ota/make_payload.py",
        runner: Runner::InteropPython,
        outputs: &["unpack/android-ota"],
        debian: &[("e2fsprogs", "/usr/sbin/mke2fs")],
        not_reproducible: None,
    },
    Recipe {
        script: "intoto/make_reference_chain.py",
        runner: Runner::InteropPython,
        outputs: &["intoto"],
        debian: &[],
        not_reproducible: Some(
            "ECDSA P-256 signatures made by the in-toto reference are randomised",
        ),
    },
];

/// What to do.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    match args {
        [] => rebuild_in_place(),
        [flag] if flag == "--check" => check(None),
        [other, ..] => Err(format!(
            "`cargo xtask fixtures` takes only `--check`, got `{other}`"
        )),
    }
}

/// `cargo xtask fixtures --check`: the manifests, then every recipe rebuilt in a copy.
/// `consign`: the binary the recipes that scan run (their `CONSIGN`); without it they build one
/// with `cargo run -p consign-cli`.
pub(crate) fn check(consign: Option<&Path>) -> Result<(), String> {
    check_manifests(&root().join("fixtures"))?;
    let scratch = root().join("target/fixtures-check");
    let _ = std::fs::remove_dir_all(&scratch);
    let copy = scratch.join("fixtures");
    copy_tree(&root().join("fixtures"), &copy)?;
    let mut problems = String::new();
    for recipe in RECIPES {
        run_recipe(recipe, &copy, consign)?;
        for output in recipe.outputs {
            compare(
                recipe,
                &root().join("fixtures").join(output),
                &copy.join(output),
                &mut problems,
            )?;
        }
    }
    if problems.is_empty() {
        eprintln!(
            "fixtures: {} recipes rebuilt; every reproducible one gave the committed bytes",
            RECIPES.len()
        );
        Ok(())
    } else {
        Err(format!(
            "rebuilding fixtures/ from its recipes does not give what is committed:\n{problems}\nhint: run `cargo xtask fixtures`, review `git diff fixtures/` and commit it"
        ))
    }
}

/// `cargo xtask fixtures`: every recipe run in place.
fn rebuild_in_place() -> Result<(), String> {
    let fixtures = root().join("fixtures");
    for recipe in RECIPES {
        run_recipe(recipe, &fixtures, None)?;
    }
    check_manifests(&fixtures)?;
    eprintln!("fixtures: rebuilt; review `git diff --stat fixtures/` and commit what changed");
    Ok(())
}

/// Runs one recipe over the fixtures tree at `fixtures` (the real one or a copy), installing its
/// tools first.
fn run_recipe(recipe: &Recipe, fixtures: &Path, consign: Option<&Path>) -> Result<(), String> {
    tools::install_apt(
        recipe.debian,
        &format!("the fixture recipe {}", recipe.script),
    )?;
    let script = fixtures.join(recipe.script);
    let folder = script.parent().unwrap_or(fixtures);
    let mut command = match recipe.runner {
        Runner::Shell => {
            let mut command = Command::new("sh");
            command.arg(&script);
            command
        }
        Runner::InteropPython => {
            let python = tools::install()?.venv_bin.join("python");
            let mut command = Command::new(python);
            command.arg(&script);
            command
        }
    };
    if let Some(consign) = consign {
        command.env("CONSIGN", consign);
    }
    eprintln!("$ {}", recipe.script);
    let output = command
        .current_dir(folder)
        .env("LC_ALL", "C")
        .env("TZ", "UTC")
        .output()
        .map_err(|err| format!("could not run the recipe {}: {err}", recipe.script))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "the recipe {} failed ({}):\n{}",
            recipe.script,
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Compares one output folder of a rebuilt copy with the committed one.
fn compare(
    recipe: &Recipe,
    committed: &Path,
    rebuilt: &Path,
    problems: &mut String,
) -> Result<(), String> {
    let committed_files = manifest::entries(&committed.join("SHA256SUMS"))?;
    let rebuilt_files = manifest::entries(&rebuilt.join("SHA256SUMS"))?;
    let names = |entries: &[(String, String)]| -> BTreeSet<String> {
        entries.iter().map(|(_, name)| name.clone()).collect()
    };
    if names(&committed_files) != names(&rebuilt_files) {
        let _ = writeln!(
            problems,
            "{}: the recipe makes {:?}, the committed SHA256SUMS lists {:?}",
            committed.display(),
            names(&rebuilt_files),
            names(&committed_files)
        );
        return Ok(());
    }
    if recipe.not_reproducible.is_some() {
        return Ok(());
    }
    for ((want, name), (got, _)) in committed_files.iter().zip(&rebuilt_files) {
        if want != got {
            let _ = writeln!(
                problems,
                "{}: rebuilt with sha256 {got}, committed {want}",
                committed.join(name).display()
            );
        }
    }
    Ok(())
}

/// Files that describe rather than are fixtures.
fn is_documentation(name: &str) -> bool {
    name == "SHA256SUMS"
        || Path::new(name)
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("md"))
}

/// Every file under `fixtures` is accounted for: listed with a matching sha256 in a `SHA256SUMS` of
/// its folder or a parent (whose folder is a recipe's output), a recipe script, or named in the
/// `README.md` of its folder or a parent.
pub(crate) fn check_manifests(fixtures: &Path) -> Result<(), String> {
    let mut files = Vec::new();
    walk(fixtures, &mut files)?;
    let scripts: BTreeSet<PathBuf> = RECIPES.iter().map(|r| fixtures.join(r.script)).collect();
    let mut covered = BTreeSet::new();
    let mut problems = String::new();
    for manifest in files.iter().filter(|f| f.ends_with("SHA256SUMS")) {
        let folder = manifest.parent().unwrap_or(fixtures);
        let relative = folder
            .strip_prefix(fixtures)
            .unwrap_or(folder)
            .to_string_lossy()
            .into_owned();
        if !RECIPES
            .iter()
            .any(|r| r.outputs.contains(&relative.as_str()))
        {
            let _ = writeln!(
                problems,
                "{}: no recipe in xtask/src/fixtures.rs (RECIPES) makes this folder",
                manifest.display()
            );
        }
        covered.extend(manifest::check(manifest, &mut problems)?);
    }
    for file in &files {
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        if covered.contains(file) || scripts.contains(file) || is_documentation(&name) {
            continue;
        }
        if !named_in_a_readme(fixtures, file, &name) {
            let _ = writeln!(
                problems,
                "{}: not in any SHA256SUMS and not described in a README.md of its folder",
                file.display()
            );
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fixtures/ does not match its manifests:\n{problems}\nhint: run `cargo xtask fixtures` to rebuild from the recipes (or describe a hand-written fixture in its folder's README.md), then commit"
        ))
    }
}

/// Whether a `README.md` in the file's folder or one of its parents (up to `fixtures`) names it.
fn named_in_a_readme(fixtures: &Path, file: &Path, name: &str) -> bool {
    file.ancestors()
        .skip(1)
        .take_while(|dir| dir.starts_with(fixtures))
        .any(|dir| {
            std::fs::read_to_string(dir.join("README.md")).is_ok_and(|text| text.contains(name))
        })
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|err| format!("reading {}: {err}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|err| format!("reading {}: {err}", dir.display()))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|err| format!("reading {}: {err}", path.display()))?;
        if kind.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    out.sort();
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|err| format!("creating {}: {err}", to.display()))?;
    let entries =
        std::fs::read_dir(from).map_err(|err| format!("reading {}: {err}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|err| format!("reading {}: {err}", from.display()))?;
        let target = to.join(entry.file_name());
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .map_err(|err| format!("copying to {}: {err}", target.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check mode the issue asks for in the tests: no tools needed, and the failure names the
    /// command that fixes it.
    #[test]
    fn fixtures_match_their_manifests() {
        if let Err(problems) = check_manifests(&root().join("fixtures")) {
            panic!("{problems}");
        }
    }

    #[test]
    fn a_changed_or_unlisted_fixture_is_caught() {
        let scratch = std::env::temp_dir().join(format!("consign-fixtures-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&scratch);
        copy_tree(&root().join("fixtures"), &scratch).unwrap();
        let romfs = scratch.join("unpack/romfs/romfs.img");
        let mut bytes = std::fs::read(&romfs).unwrap();
        bytes[100] ^= 1;
        std::fs::write(&romfs, bytes).unwrap();
        std::fs::write(scratch.join("unpack/romfs/stray.bin"), b"no recipe").unwrap();
        let err = check_manifests(&scratch).unwrap_err();
        let _ = std::fs::remove_dir_all(&scratch);
        assert!(err.contains("romfs.img: sha256"), "{err}");
        assert!(err.contains("stray.bin: not in any SHA256SUMS"), "{err}");
        assert!(err.contains("cargo xtask fixtures"), "{err}");
    }

    #[test]
    fn every_recipe_exists_and_its_outputs_have_manifests() {
        let fixtures = root().join("fixtures");
        for recipe in RECIPES {
            assert!(fixtures.join(recipe.script).is_file(), "{}", recipe.script);
            for output in recipe.outputs {
                assert!(
                    fixtures.join(output).join("SHA256SUMS").is_file(),
                    "{output}/SHA256SUMS"
                );
            }
        }
    }
}
