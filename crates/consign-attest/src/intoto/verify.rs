//! The in-toto v0.9 verification algorithm, following the specification and the reference
//! `verifylib.in_toto_verify`, in its order:
//!
//! 1. the layout carries a valid signature by *every* layout key the verifier gives;
//! 2. the layout has not expired at the caller's check date (`expires <= at` is expired);
//! 3. per step, link files `<step>.<keyid[..8]>.link` are found for at least `threshold` of the
//!    authorized keys;
//! 4. per step, at least `threshold` distinct authorized functionaries signed a valid link,
//!    counted by key material: a key listed twice, or under two keyids, counts once;
//! 5. each link's command is compared with `expected_command` (a mismatch is a warning only);
//! 6. for steps with `threshold > 1`, all counted links report the same materials and products;
//! 7. one link per step is kept; inspections are run, but only through an [`InspectionRunner`]
//!    the caller hands in: the default, [`RefuseInspections`], refuses, so nothing runs unless
//!    the user explicitly asked;
//! 8. every step's and inspection's artifact rules are applied (see [`crate::intoto::rules`]).
//!
//! Every failure is an [`AttestError`] that names the step, rule and artifact. The library does
//! not read the clock or the file system: the check date and the link files' bytes come in.
//! Sublayouts (a link file holding a layout) are not supported and are refused by name.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::AttestError;
use crate::intoto::key::IntotoKey;
use crate::intoto::layout::{Inspection, Layout, UtcTime};
use crate::intoto::link::Link;
use crate::intoto::metadata::{Metadata, MetadataKind};
use crate::intoto::rules::{ArtifactSet, apply_rules};

/// Runs an inspection and returns the link it produced (materials, products, byproducts).
pub trait InspectionRunner {
    /// Runs `inspection.run`; an error stops verification.
    fn run(&self, inspection: &Inspection) -> Result<Link, AttestError>;
}

/// The default runner: runs nothing and reports which inspection was refused.
#[derive(Clone, Copy, Debug, Default)]
pub struct RefuseInspections;

impl InspectionRunner for RefuseInspections {
    fn run(&self, inspection: &Inspection) -> Result<Link, AttestError> {
        Err(AttestError::IntotoInspectionNotRun {
            inspection: inspection.name.clone(),
            command: inspection.run.join(" "),
        })
    }
}

/// What the verifier needs besides the documents.
pub struct VerifyOptions<'a> {
    /// The check date: the layout must expire after it.
    pub at: UtcTime,
    /// Who runs inspections; [`RefuseInspections`] unless the user allowed running commands.
    pub inspections: &'a dyn InspectionRunner,
}

/// One verified step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedStep {
    /// The step name.
    pub name: String,
    /// The keyids of the functionaries whose valid links counted.
    pub keyids: Vec<String>,
}

/// The result of a successful verification.
#[derive(Clone, Debug)]
pub struct VerifySummary {
    /// The verified layout.
    pub layout: Layout,
    /// The verified steps, in layout order.
    pub steps: Vec<VerifiedStep>,
    /// The inspections that ran, in layout order.
    pub inspections: Vec<String>,
    /// Things the reference only warns about (command mismatches, skipped links).
    pub warnings: Vec<String>,
}

/// Verifies `layout` (signed by every key in `layout_keys`) with the link files in `link_files`
/// (file name → bytes, as found in the link directory).
pub fn verify(
    layout: &Metadata,
    layout_keys: &[IntotoKey],
    link_files: &BTreeMap<String, Vec<u8>>,
    options: &VerifyOptions<'_>,
) -> Result<VerifySummary, AttestError> {
    if layout.kind() != MetadataKind::Layout {
        return Err(AttestError::field(
            "in-toto layout",
            "_type",
            "`layout`, found a link (pass the root layout with `--layout`)",
        ));
    }
    if layout_keys.is_empty() {
        return Err(AttestError::field(
            "in-toto verification",
            "layout keys",
            "at least one layout key (`--layout-key`)",
        ));
    }
    for key in layout_keys {
        layout
            .verify_signature(key)
            .map_err(|err| AttestError::IntotoLayoutSignature {
                keyid: key.keyid().to_owned(),
                reason: err.to_string(),
            })?;
    }
    let parsed = Layout::from_value(layout.signed())?;
    if parsed.expires <= options.at {
        return Err(AttestError::IntotoLayoutExpired {
            expires: parsed.expires.to_string(),
            at: options.at.to_string(),
        });
    }

    let mut warnings = Vec::new();
    let mut verified_steps = Vec::new();
    let mut reduced: BTreeMap<String, Link> = BTreeMap::new();
    for step in &parsed.steps {
        // 3. Find the link files.
        let mut found: Vec<(&str, &Vec<u8>)> = Vec::new();
        let mut looked_for = Vec::new();
        for keyid in &step.pubkeys {
            let file_name = Link::file_name(&step.name, keyid);
            if let Some(bytes) = link_files.get(&file_name) {
                found.push((keyid, bytes));
            }
            looked_for.push(file_name);
        }
        if found.len() < step.threshold {
            return Err(AttestError::IntotoLinksMissing {
                step: step.name.clone(),
                threshold: step.threshold,
                found: found.len(),
                looked_for: looked_for.join(", "),
            });
        }
        // 4. Count valid links by distinct authorized keys: distinct key material, not keyids,
        // since a layout may list one key twice or under two keyids.
        let mut valid: Vec<(String, Link)> = Vec::new();
        let mut counted: Vec<&crate::keys::PublicKey> = Vec::new();
        let mut skipped = Vec::new();
        for (keyid, bytes) in found {
            let file_name = Link::file_name(&step.name, keyid);
            let metadata = Metadata::from_json(bytes, "in-toto link file").map_err(|err| {
                AttestError::field(
                    "in-toto link file",
                    file_name.clone(),
                    format!("a readable link ({err})"),
                )
            })?;
            if metadata.kind() == MetadataKind::Layout {
                return Err(AttestError::IntotoUnsupported {
                    what: format!("the sublayout `{file_name}` for step `{}`", step.name),
                });
            }
            let Some(key) = parsed.keys.get(keyid) else {
                skipped.push(format!("{file_name}: key {keyid} is not in the layout"));
                continue;
            };
            if let Err(err) = metadata.verify_signature(key) {
                skipped.push(format!("{file_name}: {err}"));
                continue;
            }
            if counted.contains(&key.public_key()) {
                skipped.push(format!(
                    "{file_name}: signed by a key already counted for this step (one functionary counts once, whatever its keyids)"
                ));
                continue;
            }
            let link = Link::from_value(metadata.signed())?;
            if link.name != step.name {
                skipped.push(format!(
                    "{file_name}: the link is for step `{}`, not `{}`",
                    link.name, step.name
                ));
                continue;
            }
            counted.push(key.public_key());
            valid.push((keyid.to_owned(), link));
        }
        for reason in &skipped {
            warnings.push(format!("step `{}`: skipped {reason}", step.name));
        }
        if valid.len() < step.threshold {
            return Err(AttestError::IntotoThreshold {
                step: step.name.clone(),
                threshold: step.threshold,
                valid: valid.len(),
                detail: if skipped.is_empty() {
                    String::new()
                } else {
                    format!(": {}", skipped.join("; "))
                },
            });
        }
        // 5. Command alignment: a warning, as in the reference.
        for (keyid, link) in &valid {
            if link.command != step.expected_command {
                warnings.push(format!(
                    "step `{}`: the link signed by {keyid} ran `{}`, the layout expects `{}`",
                    step.name,
                    link.command.join(" "),
                    step.expected_command.join(" ")
                ));
            }
        }
        // 6. Links of a multi-party step must agree.
        if step.threshold > 1
            && let Some((reference_keyid, reference)) = valid.first()
        {
            for (keyid, link) in valid.iter().skip(1) {
                let artifacts = if link.materials != reference.materials {
                    "materials"
                } else if link.products != reference.products {
                    "products"
                } else {
                    continue;
                };
                return Err(AttestError::IntotoLinksDisagree {
                    step: step.name.clone(),
                    artifacts,
                    keyid: keyid.clone(),
                    reference: reference_keyid.clone(),
                });
            }
        }
        verified_steps.push(VerifiedStep {
            name: step.name.clone(),
            keyids: valid.iter().map(|(keyid, _)| keyid.clone()).collect(),
        });
        // 7. Keep one link per step.
        if let Some((_, link)) = valid.into_iter().next() {
            reduced.insert(step.name.clone(), link);
        }
    }

    let mut inspections = Vec::new();
    for inspection in &parsed.inspect {
        let link = options.inspections.run(inspection)?;
        let return_value = link.byproducts.get("return-value").and_then(Value::as_i64);
        if return_value != Some(0) {
            return Err(AttestError::IntotoRule {
                item: format!("inspection `{}`", inspection.name),
                artifacts: "products",
                rule: inspection.run.join(" "),
                artifact: String::new(),
                reason: format!(
                    "the command exited with {}",
                    return_value.map_or_else(|| "no status".to_owned(), |code| code.to_string())
                ),
            });
        }
        reduced.insert(inspection.name.clone(), link);
        inspections.push(inspection.name.clone());
    }

    // 8. Artifact rules, steps first, then inspections.
    for step in &parsed.steps {
        let item = format!("step `{}`", step.name);
        apply_rules(
            &item,
            &step.name,
            ArtifactSet::Materials,
            &step.expected_materials,
            &reduced,
        )?;
        apply_rules(
            &item,
            &step.name,
            ArtifactSet::Products,
            &step.expected_products,
            &reduced,
        )?;
    }
    for inspection in &parsed.inspect {
        let item = format!("inspection `{}`", inspection.name);
        apply_rules(
            &item,
            &inspection.name,
            ArtifactSet::Materials,
            &inspection.expected_materials,
            &reduced,
        )?;
        apply_rules(
            &item,
            &inspection.name,
            ArtifactSet::Products,
            &inspection.expected_products,
            &reduced,
        )?;
    }

    Ok(VerifySummary {
        layout: parsed,
        steps: verified_steps,
        inspections,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::intoto::metadata::Wrapping;
    use crate::keys::{KeyAlgorithm, PrivateKey, Signer as _};

    struct Chain {
        owner: PrivateKey,
        alice: PrivateKey,
        bob: PrivateKey,
    }

    impl Chain {
        fn new() -> Self {
            Self {
                owner: PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap(),
                alice: PrivateKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap(),
                bob: PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap(),
            }
        }

        fn id(key: &PrivateKey) -> String {
            IntotoKey::from_public_key(&key.public_key())
                .keyid()
                .to_owned()
        }

        fn layout(&self, expires: &str, threshold: u64) -> Value {
            let keys: serde_json::Map<String, Value> = [&self.alice, &self.bob]
                .iter()
                .map(|key| {
                    let intoto = IntotoKey::from_public_key(&key.public_key());
                    (intoto.keyid().to_owned(), intoto.to_dict())
                })
                .collect();
            json!({"_type": "layout", "expires": expires, "readme": "", "keys": keys,
                "steps": [
                    {"_type": "step", "name": "write", "threshold": 1, "pubkeys": [Self::id(&self.alice)],
                     "expected_command": [], "expected_materials": [],
                     "expected_products": [["CREATE", "foo.py"], ["DISALLOW", "*"]]},
                    {"_type": "step", "name": "package", "threshold": threshold,
                     "pubkeys": [Self::id(&self.alice), Self::id(&self.bob)],
                     "expected_command": ["tar", "czf", "foo.tar.gz", "foo.py"],
                     "expected_materials": [["MATCH", "foo.py", "WITH", "PRODUCTS", "FROM", "write"], ["DISALLOW", "*"]],
                     "expected_products": [["CREATE", "foo.tar.gz"], ["ALLOW", "foo.py"], ["DISALLOW", "*"]]}],
                "inspect": []})
        }

        fn link(
            key: &PrivateKey,
            name: &str,
            materials: &Value,
            products: &Value,
        ) -> (String, Vec<u8>) {
            let value = json!({"_type": "link", "name": name, "command": ["tar", "czf", "foo.tar.gz", "foo.py"],
                "materials": materials, "products": products,
                "byproducts": {"stdout": "tab\there\rcr \\n é", "stderr": "", "return-value": 0},
                "environment": {}});
            let metadata = Metadata::sign(value, Wrapping::Metablock, &[key]).unwrap();
            (
                Link::file_name(name, &Self::id(key)),
                metadata.to_bytes().unwrap(),
            )
        }

        fn links(&self, foo: &str) -> BTreeMap<String, Vec<u8>> {
            let written = json!({"foo.py": {"sha256": "aa"}});
            let packaged = json!({"foo.py": {"sha256": foo}});
            let both = json!({"foo.py": {"sha256": foo}, "foo.tar.gz": {"sha256": "bb"}});
            [
                Self::link(&self.alice, "write", &json!({}), &written),
                Self::link(&self.alice, "package", &packaged, &both),
                Self::link(&self.bob, "package", &packaged, &both),
            ]
            .into_iter()
            .collect()
        }
    }

    #[track_caller]
    fn check(
        chain: &Chain,
        layout: Value,
        links: &BTreeMap<String, Vec<u8>>,
        at: &str,
        expect: Result<usize, &str>,
    ) {
        let signed = Metadata::sign(layout, Wrapping::Dsse, &[&chain.owner]).unwrap();
        let options = VerifyOptions {
            at: UtcTime::parse(at).unwrap(),
            inspections: &RefuseInspections,
        };
        let owner = IntotoKey::from_public_key(&chain.owner.public_key());
        let got = verify(&signed, &[owner], links, &options)
            .map(|summary| {
                summary
                    .steps
                    .iter()
                    .map(|step| step.keyids.len())
                    .sum::<usize>()
            })
            .map_err(|err| err.to_string());
        match (got, expect) {
            (Ok(got), Ok(expect)) => assert_eq!(got, expect),
            (Err(got), Err(expect)) => {
                assert!(got.contains(expect), "{got}\n  does not contain\n{expect}");
            }
            (got, expect) => panic!("got {got:?}, expected {expect:?}"),
        }
    }

    #[test]
    fn a_good_chain_with_a_two_of_two_step_verifies() {
        let chain = Chain::new();
        check(
            &chain,
            chain.layout("2030-01-01T00:00:00Z", 2),
            &chain.links("aa"),
            "2026-01-01T00:00:00Z",
            Ok(3),
        );
    }

    #[test]
    fn each_failure_is_caught_and_named() {
        let chain = Chain::new();
        let layout = chain.layout("2030-01-01T00:00:00Z", 2);
        // Expired (expiry at the check date counts as expired, as in the reference).
        check(
            &chain,
            layout.clone(),
            &chain.links("aa"),
            "2030-01-01T00:00:00Z",
            Err("the in-toto layout expired at 2030-01-01T00:00:00Z"),
        );
        // Missing link.
        let mut links = chain.links("aa");
        links.retain(|name, _| !name.starts_with("write."));
        check(
            &chain,
            layout.clone(),
            &links,
            "2026-01-01T00:00:00Z",
            Err("step `write` requires 1 link file(s), found 0"),
        );
        // Below threshold: bob's link is signed by the wrong key.
        let mut links = chain.links("aa");
        let bob_file = Link::file_name("package", &Chain::id(&chain.bob));
        let forged = Chain::link(
            &chain.alice,
            "package",
            &json!({"foo.py": {"sha256": "aa"}}),
            &json!({}),
        );
        links.insert(bob_file, forged.1);
        check(
            &chain,
            layout.clone(),
            &links,
            "2026-01-01T00:00:00Z",
            Err(
                "step `package` requires links validly signed by 2 different authorized functionaries, found 1",
            ),
        );
        // Tampered artifact: the packaged foo.py is not the written one.
        check(
            &chain,
            layout.clone(),
            &chain.links("cc"),
            "2026-01-01T00:00:00Z",
            Err("step `package`: materials rule `DISALLOW *` failed for artifact `foo.py`"),
        );
        // Wrong layout key.
        let signed = Metadata::sign(layout, Wrapping::Metablock, &[&chain.owner]).unwrap();
        let options = VerifyOptions {
            at: UtcTime::parse("2026-01-01T00:00:00Z").unwrap(),
            inspections: &RefuseInspections,
        };
        let err = verify(
            &signed,
            &[IntotoKey::from_public_key(&chain.bob.public_key())],
            &chain.links("aa"),
            &options,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the in-toto layout is not validly signed by layout key"),
            "{err}"
        );
    }

    /// Issue 13, item 4: a threshold counts distinct key material, not keyids. Bob's key listed
    /// twice in `pubkeys`, or stored under a second keyid, with his one link copied under each
    /// name, is one functionary and does not meet threshold 2.
    #[test]
    fn threshold_counts_distinct_keys_not_keyids() {
        let chain = Chain::new();
        let bob = Chain::id(&chain.bob);
        let (bob_file, bob_link) = chain
            .links("aa")
            .into_iter()
            .find(|(name, _)| name == &Link::file_name("package", &bob))
            .unwrap();
        // The same keyid twice.
        let mut layout = chain.layout("2030-01-01T00:00:00Z", 2);
        layout["steps"][1]["pubkeys"] = json!([bob, bob]);
        let mut links = chain.links("aa");
        links.insert(bob_file.clone(), bob_link.clone());
        check(
            &chain,
            layout,
            &links,
            "2026-01-01T00:00:00Z",
            Err(
                "step `package` requires links validly signed by 2 different authorized functionaries, found 1",
            ),
        );
        // The same key under a second keyid (the layout keeps the keyid it gives a key).
        let alias = "ab".repeat(32);
        let mut layout = chain.layout("2030-01-01T00:00:00Z", 2);
        let mut dict = layout["keys"][&bob].clone();
        dict["keyid"] = json!(alias);
        layout["keys"][&alias] = dict;
        layout["steps"][1]["pubkeys"] = json!([bob, alias]);
        let mut links = chain.links("aa");
        links.insert(Link::file_name("package", &alias), bob_link);
        check(
            &chain,
            layout,
            &links,
            "2026-01-01T00:00:00Z",
            Err(
                "step `package` requires links validly signed by 2 different authorized functionaries, found 1",
            ),
        );
    }

    #[test]
    fn disagreeing_links_and_refused_inspections() {
        let chain = Chain::new();
        let mut links = chain.links("aa");
        let bob = Chain::link(
            &chain.bob,
            "package",
            &json!({"foo.py": {"sha256": "aa"}}),
            &json!({"foo.tar.gz": {"sha256": "bb"}}),
        );
        links.insert(bob.0, bob.1);
        check(
            &chain,
            chain.layout("2030-01-01T00:00:00Z", 2),
            &links,
            "2026-01-01T00:00:00Z",
            Err("step `package`: the link signed by"),
        );
        let mut layout = chain.layout("2030-01-01T00:00:00Z", 1);
        layout["inspect"] = json!([{"_type": "inspection", "name": "untar", "run": ["tar", "xf", "foo.tar.gz"],
            "expected_materials": [], "expected_products": []}]);
        check(
            &chain,
            layout,
            &chain.links("aa"),
            "2026-01-01T00:00:00Z",
            Err(
                "inspection `untar` was not run: consign does not run the layout's commands (`tar xf foo.tar.gz`) unless asked",
            ),
        );
    }

    /// The chain in `fixtures/intoto/`, made by the Python reference (see its recipe there).
    fn reference_chain(wrap: &str) -> (Metadata, BTreeMap<String, Vec<u8>>) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/intoto")
            .join(wrap);
        let layout =
            Metadata::from_json(&fs_err::read(dir.join("root.layout")).unwrap(), "layout").unwrap();
        let links = crate::intoto::fs::read_link_dir(&dir).unwrap();
        (layout, links)
    }

    fn fixture_key(name: &str) -> IntotoKey {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../../fixtures/intoto/{name}.pub"));
        IntotoKey::from_public_key(
            &crate::keys::PublicKey::from_pem(&fs_err::read_to_string(path).unwrap()).unwrap(),
        )
    }

    #[test]
    fn verifies_what_the_reference_signed() {
        for wrap in ["metablock", "dsse"] {
            let (layout, links) = reference_chain(wrap);
            assert_eq!(
                layout.wrapping(),
                if wrap == "dsse" {
                    Wrapping::Dsse
                } else {
                    Wrapping::Metablock
                }
            );
            let options = |at: &str| VerifyOptions {
                at: UtcTime::parse(at).unwrap(),
                inspections: &RefuseInspections,
            };
            let summary = verify(
                &layout,
                &[fixture_key("owner")],
                &links,
                &options("2026-06-01T00:00:00Z"),
            )
            .unwrap();
            assert_eq!(
                summary
                    .steps
                    .iter()
                    .map(|step| step.keyids.len())
                    .collect::<Vec<_>>(),
                [1, 2],
                "{wrap}"
            );
            let err = verify(
                &layout,
                &[fixture_key("owner")],
                &links,
                &options("2099-01-01T00:00:00Z"),
            )
            .unwrap_err();
            assert!(
                matches!(err, AttestError::IntotoLayoutExpired { .. }),
                "{wrap}: {err}"
            );
            let err = verify(
                &layout,
                &[fixture_key("alice")],
                &links,
                &options("2026-06-01T00:00:00Z"),
            )
            .unwrap_err();
            assert!(
                matches!(err, AttestError::IntotoLayoutSignature { .. }),
                "{wrap}: {err}"
            );
            // The recorded stdout with TAB, CR, backslash-n and non-ASCII text verified byte for byte.
            let alice_package = links
                .iter()
                .find(|(name, _)| name.starts_with("package.957a6be9"))
                .unwrap()
                .1;
            let link = Metadata::from_json(alice_package, "link").unwrap();
            assert_eq!(
                link.signed()["byproducts"]["stdout"],
                json!("tab\there\rcr \\n caf\u{e9} \u{65e5}\u{672c}\n")
            );
        }
    }
}
