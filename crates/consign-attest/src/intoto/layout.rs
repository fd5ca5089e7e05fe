//! The in-toto v0.9 layout: the project owner's signed description of the supply chain.
//!
//! ```json
//! {"_type": "layout", "expires": "2030-01-01T00:00:00Z", "readme": "",
//!  "keys": {"<keyid>": {…key dict…}},
//!  "steps": [{"_type": "step", "name": "build", "threshold": 1, "pubkeys": ["<keyid>"],
//!             "expected_command": ["make"], "expected_materials": [["ALLOW", "*"]],
//!             "expected_products": [["CREATE", "*"]]}],
//!  "inspect": [{"_type": "inspection", "name": "check", "run": ["true"],
//!               "expected_materials": [], "expected_products": []}]}
//! ```
//! [`Layout::from_value`] reads and checks it (fail closed: unknown fields are refused);
//! [`Layout::from_template`] fills in the defaults the reference fills in, for `layout create`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value, json};

use crate::AttestError;
use crate::intoto::key::IntotoKey;
use crate::intoto::link::string_list;
use crate::intoto::rules::ArtifactRule;

const DOC: &str = "in-toto layout";

/// The most steps plus inspections a layout may have.
pub const MAX_ITEMS: usize = 10_000;

/// A UTC time to the second, as in-toto writes `expires`: `YYYY-MM-DDTHH:MM:SSZ`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct UtcTime {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
}

impl UtcTime {
    /// Parses `YYYY-MM-DDTHH:MM:SSZ`, checking that the date exists.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bytes = text.as_bytes();
        let shape_ok = bytes.len() == 20
            && bytes.iter().enumerate().all(|(index, byte)| match index {
                4 | 7 => *byte == b'-',
                10 => *byte == b'T',
                13 | 16 => *byte == b':',
                19 => *byte == b'Z',
                _ => byte.is_ascii_digit(),
            });
        if !shape_ok {
            return Err(format!(
                "`{text}` is not a UTC time of the form `2030-01-31T23:59:59Z`"
            ));
        }
        let number = |range: std::ops::Range<usize>| -> u16 {
            text.get(range)
                .and_then(|digits| digits.parse().ok())
                .unwrap_or(0)
        };
        let time = Self {
            year: number(0..4),
            month: number(5..7) as u8,
            day: number(8..10) as u8,
            hour: number(11..13) as u8,
            minute: number(14..16) as u8,
            second: number(17..19) as u8,
        };
        let leap = time.year.is_multiple_of(4)
            && (!time.year.is_multiple_of(100) || time.year.is_multiple_of(400));
        let days_in_month = match time.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => 0,
        };
        if time.day == 0
            || time.day > days_in_month
            || time.hour > 23
            || time.minute > 59
            || time.second > 59
        {
            return Err(format!("`{text}` is not a valid date and time"));
        }
        Ok(time)
    }

    /// The time `seconds` after 1970-01-01T00:00:00Z (for callers holding a Unix time).
    pub fn from_unix_seconds(seconds: u64) -> Self {
        // Civil-from-days (proleptic Gregorian), on days since the epoch.
        let days = seconds / 86_400;
        let rem = seconds % 86_400;
        let z = days + 719_468;
        let era = z / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + u64::from(month <= 2);
        Self {
            year: year.min(9999) as u16,
            month: month as u8,
            day: day as u8,
            hour: (rem / 3600) as u8,
            minute: (rem % 3600 / 60) as u8,
            second: (rem % 60) as u8,
        }
    }
}

impl fmt::Display for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// A step of the supply chain.
#[derive(Clone, Debug)]
pub struct Step {
    /// The step name (link files are named after it).
    pub name: String,
    /// How many distinct functionaries must have performed it, agreeing on the artifacts.
    pub threshold: usize,
    /// The keyids allowed to sign its links.
    pub pubkeys: Vec<String>,
    /// The command the owner expects (a mismatch is only a warning, as in the reference).
    pub expected_command: Vec<String>,
    /// Rules for the link's materials.
    pub expected_materials: Vec<ArtifactRule>,
    /// Rules for the link's products.
    pub expected_products: Vec<ArtifactRule>,
}

/// An inspection: a command the verifier runs (only when allowed) and whose artifacts are checked.
#[derive(Clone, Debug)]
pub struct Inspection {
    /// The inspection name.
    pub name: String,
    /// The command to run.
    pub run: Vec<String>,
    /// Rules for the inspection's materials.
    pub expected_materials: Vec<ArtifactRule>,
    /// Rules for the inspection's products.
    pub expected_products: Vec<ArtifactRule>,
}

/// A checked layout.
#[derive(Clone, Debug)]
pub struct Layout {
    /// When the layout stops being valid.
    pub expires: UtcTime,
    /// Free text.
    pub readme: String,
    /// The functionary keys, by keyid.
    pub keys: BTreeMap<String, IntotoKey>,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The inspections, in order.
    pub inspect: Vec<Inspection>,
}

fn check_fields(
    object: &Map<String, Value>,
    allowed: &[&str],
    at: &str,
) -> Result<(), AttestError> {
    for key in object.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(AttestError::field(
                DOC,
                format!("{at}{key}"),
                "no such field in an in-toto v0.9 layout (unknown fields are refused; sublayout parameters are not supported)",
            ));
        }
    }
    Ok(())
}

fn rules(value: Option<&Value>, field: &str) -> Result<Vec<ArtifactRule>, AttestError> {
    let list = value.and_then(Value::as_array).ok_or_else(|| {
        AttestError::field(DOC, field, "a list of rules (each a list of strings)")
    })?;
    list.iter()
        .enumerate()
        .map(|(index, rule)| {
            let words = string_list(Some(rule), DOC, &format!("{field}[{index}]"))?;
            ArtifactRule::parse(&words)
                .map_err(|reason| AttestError::field(DOC, format!("{field}[{index}]"), reason))
        })
        .collect()
}

fn name_of(object: &Map<String, Value>, at: &str) -> Result<String, AttestError> {
    let name = object
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| AttestError::field(DOC, format!("{at}name"), "a string"))?;
    // The name becomes part of a file name: keep it to one path component.
    if name.is_empty() || name.contains('/') || name.contains('\\') || name == "." || name == ".." {
        return Err(AttestError::field(
            DOC,
            format!("{at}name"),
            format!("a non-empty name without `/` or `\\`, found `{name}`"),
        ));
    }
    Ok(name.to_owned())
}

impl Layout {
    /// Reads a layout from its signed JSON value.
    pub fn from_value(value: &Value) -> Result<Self, AttestError> {
        let object = value
            .as_object()
            .ok_or_else(|| AttestError::field(DOC, "$", "an object"))?;
        check_fields(
            object,
            &["_type", "expires", "readme", "keys", "steps", "inspect"],
            "",
        )?;
        if object.get("_type").and_then(Value::as_str) != Some("layout") {
            return Err(AttestError::field(DOC, "_type", "`layout`"));
        }
        let expires_text = object
            .get("expires")
            .and_then(Value::as_str)
            .ok_or_else(|| AttestError::field(DOC, "expires", "a string"))?;
        let expires = UtcTime::parse(expires_text)
            .map_err(|reason| AttestError::field(DOC, "expires", reason))?;
        let readme = object
            .get("readme")
            .and_then(Value::as_str)
            .ok_or_else(|| AttestError::field(DOC, "readme", "a string"))?
            .to_owned();
        let key_map = object
            .get("keys")
            .and_then(Value::as_object)
            .ok_or_else(|| AttestError::field(DOC, "keys", "an object of keyid → key"))?;
        let mut keys = BTreeMap::new();
        for (keyid, dict) in key_map {
            keys.insert(
                keyid.clone(),
                IntotoKey::from_dict(keyid, dict, &format!("keys.{keyid}"))?,
            );
        }
        let step_list = object
            .get("steps")
            .and_then(Value::as_array)
            .ok_or_else(|| AttestError::field(DOC, "steps", "a list"))?;
        let inspect_list = object
            .get("inspect")
            .and_then(Value::as_array)
            .ok_or_else(|| AttestError::field(DOC, "inspect", "a list"))?;
        if step_list.len() + inspect_list.len() > MAX_ITEMS {
            return Err(AttestError::field(
                DOC,
                "steps",
                format!("at most {MAX_ITEMS} steps and inspections"),
            ));
        }
        let mut names = BTreeSet::new();
        let mut steps = Vec::with_capacity(step_list.len());
        for (index, step) in step_list.iter().enumerate() {
            let at = format!("steps[{index}].");
            let step = step
                .as_object()
                .ok_or_else(|| AttestError::field(DOC, format!("steps[{index}]"), "an object"))?;
            check_fields(
                step,
                &[
                    "_type",
                    "name",
                    "threshold",
                    "pubkeys",
                    "expected_command",
                    "expected_materials",
                    "expected_products",
                ],
                &at,
            )?;
            if step.get("_type").and_then(Value::as_str) != Some("step") {
                return Err(AttestError::field(DOC, format!("{at}_type"), "`step`"));
            }
            let name = name_of(step, &at)?;
            let threshold = step
                .get("threshold")
                .and_then(Value::as_u64)
                .filter(|threshold| *threshold >= 1)
                .ok_or_else(|| {
                    AttestError::field(DOC, format!("{at}threshold"), "an integer of at least 1")
                })?;
            let pubkeys = string_list(step.get("pubkeys"), DOC, &format!("{at}pubkeys"))?;
            for (key_index, keyid) in pubkeys.iter().enumerate() {
                if !keys.contains_key(keyid) {
                    return Err(AttestError::field(
                        DOC,
                        format!("{at}pubkeys[{key_index}]"),
                        format!("a keyid listed in `keys`, found `{keyid}`"),
                    ));
                }
            }
            let step = Step {
                threshold: usize::try_from(threshold).unwrap_or(usize::MAX),
                pubkeys,
                expected_command: string_list(
                    step.get("expected_command"),
                    DOC,
                    &format!("{at}expected_command"),
                )?,
                expected_materials: rules(
                    step.get("expected_materials"),
                    &format!("{at}expected_materials"),
                )?,
                expected_products: rules(
                    step.get("expected_products"),
                    &format!("{at}expected_products"),
                )?,
                name,
            };
            if !names.insert(step.name.clone()) {
                return Err(AttestError::field(
                    DOC,
                    format!("{at}name"),
                    format!("a name used once, `{}` repeats", step.name),
                ));
            }
            steps.push(step);
        }
        let mut inspect = Vec::with_capacity(inspect_list.len());
        for (index, inspection) in inspect_list.iter().enumerate() {
            let at = format!("inspect[{index}].");
            let inspection = inspection
                .as_object()
                .ok_or_else(|| AttestError::field(DOC, format!("inspect[{index}]"), "an object"))?;
            check_fields(
                inspection,
                &[
                    "_type",
                    "name",
                    "run",
                    "expected_materials",
                    "expected_products",
                ],
                &at,
            )?;
            if inspection.get("_type").and_then(Value::as_str) != Some("inspection") {
                return Err(AttestError::field(
                    DOC,
                    format!("{at}_type"),
                    "`inspection`",
                ));
            }
            let inspection = Inspection {
                name: name_of(inspection, &at)?,
                run: string_list(inspection.get("run"), DOC, &format!("{at}run"))?,
                expected_materials: rules(
                    inspection.get("expected_materials"),
                    &format!("{at}expected_materials"),
                )?,
                expected_products: rules(
                    inspection.get("expected_products"),
                    &format!("{at}expected_products"),
                )?,
            };
            if !names.insert(inspection.name.clone()) {
                return Err(AttestError::field(
                    DOC,
                    format!("{at}name"),
                    format!("a name used once, `{}` repeats", inspection.name),
                ));
            }
            inspect.push(inspection);
        }
        Ok(Self {
            expires,
            readme,
            keys,
            steps,
            inspect,
        })
    }

    /// Completes a layout template into the full signed value the reference writes, then checks it.
    ///
    /// The template may leave out `_type`s, `readme` (""), `keys` ({}), `inspect` ([]), a step's
    /// `threshold` (1), `pubkeys`, `expected_command` and rule lists ([]). Each `pubkeys` entry
    /// that is not a keyid in `keys` is handed to `resolve_key` (the CLI reads it as a public key
    /// file); the key is added to `keys` and the entry replaced by its keyid.
    pub fn from_template(
        template: &Value,
        resolve_key: &mut dyn FnMut(&str) -> Result<IntotoKey, AttestError>,
    ) -> Result<Value, AttestError> {
        let mut layout = template
            .as_object()
            .cloned()
            .ok_or_else(|| AttestError::field(DOC, "$", "an object (the layout template)"))?;
        layout.insert("_type".to_owned(), json!("layout"));
        layout.entry("readme").or_insert_with(|| json!(""));
        layout.entry("keys").or_insert_with(|| json!({}));
        layout.entry("inspect").or_insert_with(|| json!([]));
        layout.entry("steps").or_insert_with(|| json!([]));
        let mut new_keys = Vec::new();
        let known_keys: BTreeSet<String> = layout
            .get("keys")
            .and_then(Value::as_object)
            .map(|keys| keys.keys().cloned().collect())
            .unwrap_or_default();
        if let Some(steps) = layout.get_mut("steps").and_then(Value::as_array_mut) {
            for step in steps.iter_mut().filter_map(Value::as_object_mut) {
                step.insert("_type".to_owned(), json!("step"));
                step.entry("threshold").or_insert_with(|| json!(1));
                for field in [
                    "pubkeys",
                    "expected_command",
                    "expected_materials",
                    "expected_products",
                ] {
                    step.entry(field).or_insert_with(|| json!([]));
                }
                if let Some(pubkeys) = step.get_mut("pubkeys").and_then(Value::as_array_mut) {
                    for entry in pubkeys.iter_mut() {
                        let Some(text) = entry.as_str() else { continue };
                        if known_keys.contains(text) {
                            continue;
                        }
                        let key = resolve_key(text)?;
                        *entry = json!(key.keyid());
                        new_keys.push(key);
                    }
                }
            }
        }
        if let Some(inspections) = layout.get_mut("inspect").and_then(Value::as_array_mut) {
            for inspection in inspections.iter_mut().filter_map(Value::as_object_mut) {
                inspection.insert("_type".to_owned(), json!("inspection"));
                for field in ["run", "expected_materials", "expected_products"] {
                    inspection.entry(field).or_insert_with(|| json!([]));
                }
            }
        }
        if let Some(keys) = layout.get_mut("keys").and_then(Value::as_object_mut) {
            for key in new_keys {
                keys.insert(key.keyid().to_owned(), key.to_dict());
            }
        }
        let value = Value::Object(layout);
        Self::from_value(&value)?;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyAlgorithm, PrivateKey, Signer as _};

    #[test]
    fn utc_time_parses_and_orders() {
        let early = UtcTime::parse("2024-02-29T23:59:59Z").unwrap();
        let late = UtcTime::parse("2024-03-01T00:00:00Z").unwrap();
        assert!(early < late);
        assert_eq!(late.to_string(), "2024-03-01T00:00:00Z");
        for bad in [
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:00+00:00",
            "",
            "2024-01-01T24:00:00Z",
        ] {
            assert!(UtcTime::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            UtcTime::from_unix_seconds(0).to_string(),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            UtcTime::from_unix_seconds(1_709_251_199).to_string(),
            "2024-02-29T23:59:59Z"
        );
        assert_eq!(
            UtcTime::from_unix_seconds(951_782_400).to_string(),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn template_is_completed_and_checked() {
        let key = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let intoto_key = IntotoKey::from_public_key(&key.public_key());
        let template = json!({"expires": "2030-01-01T00:00:00Z",
            "steps": [{"name": "build", "pubkeys": ["alice.pub"], "expected_products": [["CREATE", "*"]]}],
            "inspect": [{"name": "check", "run": ["true"]}]});
        let mut resolve = |path: &str| {
            assert_eq!(path, "alice.pub");
            Ok(intoto_key.clone())
        };
        let value = Layout::from_template(&template, &mut resolve).unwrap();
        assert_eq!(value["steps"][0]["pubkeys"][0], json!(intoto_key.keyid()));
        assert_eq!(value["steps"][0]["threshold"], json!(1));
        let layout = Layout::from_value(&value).unwrap();
        assert_eq!(layout.steps[0].expected_products.len(), 1);
        assert_eq!(layout.inspect[0].run, ["true"]);
    }

    #[test]
    fn malformed_layouts_are_refused() {
        let base = json!({"_type": "layout", "expires": "2030-01-01T00:00:00Z", "readme": "", "keys": {},
            "steps": [{"_type": "step", "name": "a", "threshold": 1, "pubkeys": [], "expected_command": [],
                       "expected_materials": [], "expected_products": []}], "inspect": []});
        Layout::from_value(&base).unwrap();
        let cases: Vec<(&str, Value, &str)> = vec![
            (
                "/expires",
                json!("tomorrow"),
                "in-toto layout: field `expires`: expected `tomorrow` is not a UTC time of the form `2030-01-31T23:59:59Z`",
            ),
            (
                "/steps/0/threshold",
                json!(0),
                "in-toto layout: field `steps[0].threshold`: expected an integer of at least 1",
            ),
            (
                "/steps/0/pubkeys",
                json!(["abc"]),
                "in-toto layout: field `steps[0].pubkeys[0]`: expected a keyid listed in `keys`, found `abc`",
            ),
            (
                "/steps/0/name",
                json!("../x"),
                "in-toto layout: field `steps[0].name`: expected a non-empty name without `/` or `\\`, found `../x`",
            ),
            (
                "/steps/0/expected_products",
                json!([["MATCH", "*"]]),
                "in-toto layout: field `steps[0].expected_products[0]`: expected expected `MATCH <pattern> [IN <prefix>] WITH (MATERIALS|PRODUCTS) [IN <prefix>] FROM <step>`",
            ),
            (
                "/inspect",
                json!([{"_type": "inspection", "name": "a", "run": [], "expected_materials": [], "expected_products": []}]),
                "in-toto layout: field `inspect[0].name`: expected a name used once, `a` repeats",
            ),
        ];
        for (pointer, value, expect) in cases {
            let mut doc = base.clone();
            *doc.pointer_mut(pointer).unwrap() = value;
            assert_eq!(Layout::from_value(&doc).unwrap_err().to_string(), expect);
        }
    }
}
