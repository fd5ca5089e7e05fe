//! Update: whether a signed-update mechanism is present, and its public keys.
//!
//! # What it detects
//!
//! - `SWUpdate` (`swupdate`), with the key it is given (`-k FILE` at boot, `public-key-file` in
//!   `/etc/swupdate.cfg`);
//! - RAUC (`rauc`), with the keyring named in `/etc/rauc/system.conf`;
//! - Mender (`mender`, `mender-update`), with `ArtifactVerifyKey` of `/etc/mender/mender.conf`;
//! - `OpenWrt` `sysupgrade` with `usign`, with the keys in `/etc/opkg/keys`;
//! - none of these in an operating system's root file system.
//!
//! # Evidence
//!
//! The program's path, the configuration line naming the key, and the key file.
//!
//! # Limits
//!
//! Vendor-specific update programs are not recognised: they are reported as "none found", which
//! says that consign did not recognise one, not that there is none. Whether the key is enforced
//! (`SWUpdate` built without `CONFIG_SIGNED_IMAGES`, `sysupgrade` with signature checks off) is not
//! judged.

use crate::Sink;
use crate::boot::Booted;
use crate::finding::{Finding, Rule, Severity};
use crate::text::{self, basename};
use crate::tree::FileSystem;

/// A configuration value `key = value` in a text file: the line and the value.
fn setting(data: &[u8], keys: &[&str]) -> Option<(u32, String, String)> {
    if !text::is_text(data) {
        return None;
    }
    text::lines(data).find_map(|(number, line)| {
        let trimmed = line.trim().to_owned();
        if trimmed.starts_with('#') {
            return None;
        }
        let (key, value) = trimmed.split_once(['=', ':'])?;
        let key = key.trim().trim_matches('"');
        keys.contains(&key).then(|| {
            let value = value
                .trim()
                .trim_end_matches([';', ','])
                .trim_matches('"')
                .to_owned();
            (number, value, trimmed.clone())
        })
    })
}

fn first_present<'a>(fs: &FileSystem<'_>, paths: &[&'a str]) -> Option<&'a str> {
    paths
        .iter()
        .copied()
        .find(|path| fs.resolve(path).is_some())
}

/// Audits the update mechanism of an operating system's root file system.
pub(crate) fn audit(fs: &FileSystem<'_>, booted: &Booted, sink: &mut Sink) {
    let mut found = false;
    let report = |program: &str,
                  what: &str,
                  key: Option<(String, u32, String)>,
                  sink: &mut Sink| {
        let Some(node) = fs.lookup(program) else {
            return;
        };
        let mut finding =
            Finding::new(Rule::SignedUpdate, Severity::Info, &node.path).file(program);
        let message = match &key {
            Some((file, _, _)) => {
                format!("{what} is present; its update signatures are checked with {file}")
            }
            None => format!("{what} is present, but no public key for it was found in the image"),
        };
        if let Some((file, _line, evidence)) = key {
            finding = finding.evidence(format!("{evidence} ({file})"));
            if let Some((_, key_node, _)) = fs.read(&file) {
                finding = finding.fingerprint(text::secret_digest(
                    key_node.data().map_or(&[][..], |d| d.as_ref()),
                ));
            }
        } else {
            finding = finding.evidence(program.to_owned());
        }
        sink.push(finding.message(message));
    };

    if let Some(program) = first_present(
        fs,
        &["/usr/bin/swupdate", "/usr/sbin/swupdate", "/bin/swupdate"],
    ) {
        found = true;
        let from_boot = booted.commands.iter().find_map(|c| {
            (basename(c.words.first()?) == "swupdate")
                .then(|| {
                    c.words
                        .windows(2)
                        .find(|w| w[0] == "-k")
                        .map(|w| (w[1].clone(), c.line, c.source.clone()))
                })
                .flatten()
        });
        let from_config = fs.read("/etc/swupdate.cfg").and_then(|(_, _, data)| {
            setting(data, &["public-key-file"])
                .map(|(line, value, evidence)| (value, line, evidence))
        });
        report(program, "SWUpdate", from_boot.or(from_config), sink);
    }
    if let Some(program) = first_present(fs, &["/usr/bin/rauc", "/usr/sbin/rauc", "/bin/rauc"]) {
        found = true;
        let key = fs.read("/etc/rauc/system.conf").and_then(|(_, _, data)| {
            setting(data, &["path"]).map(|(line, value, evidence)| {
                let value = if value.starts_with('/') {
                    value
                } else {
                    format!("/etc/rauc/{value}")
                };
                (value, line, evidence)
            })
        });
        report(program, "RAUC", key, sink);
    }
    if let Some(program) = first_present(
        fs,
        &[
            "/usr/bin/mender",
            "/usr/bin/mender-update",
            "/usr/sbin/mender",
        ],
    ) {
        found = true;
        let key = ["/etc/mender/mender.conf", "/data/mender/mender.conf"]
            .iter()
            .find_map(|conf| {
                fs.read(conf).and_then(|(_, _, data)| {
                    setting(data, &["ArtifactVerifyKey", "ArtifactVerifyKeys"]).map(
                        |(line, value, evidence)| {
                            (
                                value.trim_matches(['[', ']', '"']).to_owned(),
                                line,
                                evidence,
                            )
                        },
                    )
                })
            });
        report(program, "Mender", key, sink);
    }
    if let Some(program) = first_present(fs, &["/sbin/sysupgrade"])
        && first_present(fs, &["/usr/bin/usign", "/bin/usign", "/sbin/usign"]).is_some()
    {
        found = true;
        let keys: Vec<String> = fs
            .under("/etc/opkg/keys")
            .map(|(path, _)| path.clone())
            .collect();
        let key = keys.first().map(|first| {
            (
                first.clone(),
                1,
                format!("{} usign keys in /etc/opkg/keys", keys.len()),
            )
        });
        report(program, "OpenWrt sysupgrade with usign", key, sink);
    }
    if !found {
        let root = fs
            .lookup("/sbin/init")
            .or_else(|| fs.lookup("/etc/inittab"))
            .or_else(|| fs.entries.values().next().copied());
        if let Some(node) = root {
            let path = node
                .path
                .strip_suffix(node.inner_path().trim_start_matches('/'))
                .unwrap_or(&node.path);
            sink.push(
                Finding::new(Rule::NoSignedUpdate, Severity::Low, path.trim_end_matches('/'))
                    .message(format!(
                        "no signed-update mechanism that consign recognises (SWUpdate, RAUC, Mender, sysupgrade with usign) is in {}",
                        fs.root
                    ))
                    .evidence("none of /usr/bin/swupdate, /usr/bin/rauc, /usr/bin/mender, /sbin/sysupgrade + usign"),
            );
        }
    }
}
