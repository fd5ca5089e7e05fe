//! CPE names: the CPE 2.3 formatted string (`cpe:2.3:a:openssl:openssl:0.9.8g:*:*:*:*:*:*:*`)
//! and the older 2.2 URI (`cpe:/a:openssl:openssl:0.9.8g`), read into eleven attributes.
//!
//! Values are compared unescaped and in lower case. `*` is ANY and `-` is NA (not applicable).
//! Matching ([`Value::admits`]) follows NVD's use of a criteria CPE as a pattern: ANY in the
//! criteria admits every value; a component CPE that leaves an attribute ANY is taken as "not
//! stated", which the criteria admits, because an SBOM rarely states a target platform; NA
//! admits only NA. Versions are not compared here: [`crate::matching`] compares them with
//! [`crate::version::Version`], which knows release styles that text equality does not.

use std::fmt;

/// One attribute value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// `*`: any value.
    Any,
    /// `-`: no value applies.
    Na,
    /// A value, unescaped, in lower case.
    Text(String),
}

impl Value {
    fn read(raw: &str) -> Self {
        match raw {
            "*" | "" => Self::Any,
            "-" => Self::Na,
            other => Self::Text(unescape(other).to_lowercase()),
        }
    }

    /// The text, when the value is one.
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            _ => None,
        }
    }

    /// True when this criteria value admits `target`'s value.
    pub fn admits(&self, target: &Value) -> bool {
        match (self, target) {
            (Self::Any, _) | (_, Self::Any) | (Self::Na, Self::Na) => true,
            (Self::Text(pattern), Self::Text(value)) => glob(pattern, value),
            _ => false,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("*"),
            Self::Na => f.write_str("-"),
            Self::Text(text) => f.write_str(text),
        }
    }
}

/// A value with an unescaped `*` at either end matches as a prefix or suffix pattern (CPE 2.3
/// allows these wildcards inside criteria); otherwise values must be equal.
fn glob(pattern: &str, value: &str) -> bool {
    if pattern == value {
        return true;
    }
    match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
        (Some(rest), _) if !rest.is_empty() && !rest.contains('*') => value.ends_with(rest),
        (_, Some(rest)) if !rest.is_empty() && !rest.contains('*') => value.starts_with(rest),
        _ => false,
    }
}

fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A CPE name split into its attributes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Cpe {
    /// `a` application, `o` operating system, `h` hardware.
    pub part: Value,
    /// Vendor (`openssl`, `linux`, `thekelleys`).
    pub vendor: Value,
    /// Product (`openssl`, `linux_kernel`, `dnsmasq`).
    pub product: Value,
    /// Version (`0.9.8g`).
    pub version: Value,
    /// Update (`beta1`, `rc2`, `sp1`).
    pub update: Value,
    /// The other six attributes: edition, language, `sw_edition`, `target_sw`, `target_hw`, other.
    pub rest: [Value; 6],
}

/// `vendor:product` pairs under which NVD files records of one and the same product, both in use:
/// a record under either applies to a component named by the other. Each pair was seen in NVD's
/// records (curl's library under `haxx:libcurl`: 11 of the 29 curl records in the shared test data
/// name only it) or in the vendor:product pairs another scanner records for the product.
const SAME_PRODUCT: &[(&str, &str)] = &[
    ("haxx:curl", "haxx:libcurl"),
    (
        "samba:ppp",
        "point-to-point_protocol_project:point-to-point_protocol",
    ),
    ("systemd_project:systemd", "freedesktop:systemd"),
    ("litech:radvd", "litech:router_advertisement_daemon"),
    ("es:iperf3", "iperf3_project:iperf3"),
    ("gnupg:libksba", "libksba_project:libksba"),
    ("pcsc-lite_project:pcsc-lite", "muscle:pcsc-lite"),
    ("varnish-cache:varnish_cache", "varnish-cache:varnish"),
    (
        "squashfs-tools_project:squashfs-tools",
        "squashfs_project:squashfs",
    ),
    ("cronie_project:cronie", "fedorahosted:cronie"),
];

/// Why a text is not a CPE name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpeError(pub &'static str);

impl fmt::Display for CpeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Splits on `:` not escaped by a backslash.
fn split_fields(text: &str) -> Vec<&str> {
    let mut out = Vec::with_capacity(13);
    let mut start = 0;
    let mut escaped = false;
    for (idx, byte) in text.bytes().enumerate() {
        if escaped {
            escaped = false;
        } else if byte == b'\\' {
            escaped = true;
        } else if byte == b':' {
            out.push(&text[start..idx]);
            start = idx + 1;
        }
    }
    out.push(&text[start..]);
    out
}

impl Cpe {
    /// Reads a CPE 2.3 formatted string or a CPE 2.2 URI.
    pub fn parse(text: &str) -> Result<Self, CpeError> {
        if text.len() > 1024 {
            return Err(CpeError("longer than 1024 bytes"));
        }
        if let Some(body) = text.strip_prefix("cpe:2.3:") {
            let fields = split_fields(body);
            if fields.len() != 11 {
                return Err(CpeError(
                    "a CPE 2.3 name has 11 attributes after `cpe:2.3:`",
                ));
            }
            let mut values = fields.into_iter().map(Value::read);
            let mut next = || values.next().unwrap_or(Value::Any);
            let cpe = Self {
                part: next(),
                vendor: next(),
                product: next(),
                version: next(),
                update: next(),
                rest: [next(), next(), next(), next(), next(), next()],
            };
            cpe.check()?;
            Ok(cpe)
        } else if let Some(body) = text.strip_prefix("cpe:/") {
            let fields = split_fields(body);
            if fields.len() > 7 {
                return Err(CpeError("a CPE 2.2 URI has at most 7 components"));
            }
            let mut values = fields
                .into_iter()
                .map(|raw| Value::read(&crate::purl::percent_decode(raw)));
            let mut next = || values.next().unwrap_or(Value::Any);
            let part = next();
            let vendor = next();
            let product = next();
            let version = next();
            let update = next();
            let edition = next();
            let language = next();
            let cpe = Self {
                part,
                vendor,
                product,
                version,
                update,
                rest: [
                    edition,
                    language,
                    Value::Any,
                    Value::Any,
                    Value::Any,
                    Value::Any,
                ],
            };
            cpe.check()?;
            Ok(cpe)
        } else {
            Err(CpeError("a CPE name starts with `cpe:2.3:` or `cpe:/`"))
        }
    }

    fn check(&self) -> Result<(), CpeError> {
        match &self.part {
            Value::Text(part) if matches!(part.as_str(), "a" | "o" | "h") => {}
            Value::Any => {}
            _ => return Err(CpeError("the part is `a`, `o`, `h` or `*`")),
        }
        Ok(())
    }

    /// `vendor:product`, lower case, when both are stated: the key records are looked up by.
    pub fn vendor_product(&self) -> Option<String> {
        Some(format!("{}:{}", self.vendor.text()?, self.product.text()?))
    }

    /// This CPE under each other `vendor:product` NVD files the same product under (see
    /// [`SAME_PRODUCT`]); none for most products.
    pub fn other_names(&self) -> Vec<Cpe> {
        let Some(key) = self.vendor_product() else {
            return Vec::new();
        };
        SAME_PRODUCT
            .iter()
            .filter_map(|&(a, b)| match key.as_str() {
                k if k == a => Some(b),
                k if k == b => Some(a),
                _ => None,
            })
            .filter_map(|other| {
                let (vendor, product) = other.split_once(':')?;
                let mut renamed = self.clone();
                renamed.vendor = Value::Text(vendor.to_owned());
                renamed.product = Value::Text(product.to_owned());
                Some(renamed)
            })
            .collect()
    }

    /// True when this criteria admits `target` in every attribute but version and update,
    /// which [`crate::matching`] compares as versions.
    pub fn admits_product(&self, target: &Cpe) -> bool {
        self.part.admits(&target.part)
            && self.vendor.admits(&target.vendor)
            && self.product.admits(&target.product)
            && self
                .rest
                .iter()
                .zip(&target.rest)
                .all(|(criteria, value)| criteria.admits(value))
    }

    /// The version and update as one version text (`1.0.2` + `beta1` = `1.0.2-beta1`), `None`
    /// when the version is ANY or NA.
    pub fn version_text(&self) -> Option<String> {
        let version = self.version.text()?;
        Some(match self.update.text() {
            Some(update) => format!("{version}-{update}"),
            None => version.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_syntaxes() {
        let cpe = Cpe::parse("cpe:2.3:a:openssl:openssl:1.0.2:beta1:*:*:*:*:*:*").unwrap();
        assert_eq!(cpe.vendor_product().as_deref(), Some("openssl:openssl"));
        assert_eq!(cpe.version_text().as_deref(), Some("1.0.2-beta1"));
        let uri = Cpe::parse("cpe:/o:linux:linux_kernel:2.6.33.2").unwrap();
        assert_eq!(uri.vendor_product().as_deref(), Some("linux:linux_kernel"));
        assert_eq!(uri.version_text().as_deref(), Some("2.6.33.2"));
        // Escapes, as NVD writes them (the README's selection rule removes them too).
        let escaped = Cpe::parse(r"cpe:2.3:a:w1.fi:hostapd:2.6\:rc1:*:*:*:*:*:*:*").unwrap();
        assert_eq!(escaped.version.text(), Some("2.6:rc1"));
        let any = Cpe::parse("cpe:2.3:a:haxx:curl:*:*:*:*:*:*:*:*").unwrap();
        assert_eq!(any.version_text(), None);
    }

    #[test]
    fn rejects_what_is_not_a_cpe() {
        for text in [
            "cpe:2.3:a:openssl",
            "cpe:2.3:x:a:b:*:*:*:*:*:*:*:*",
            "pkg:generic/openssl",
            "cpe:/a:1:2:3:4:5:6:7:8",
        ] {
            assert!(Cpe::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn criteria_admit_targets() {
        let criteria = Cpe::parse("cpe:2.3:a:haxx:curl:*:*:*:*:*:*:*:*").unwrap();
        let target = Cpe::parse("cpe:2.3:a:haxx:curl:7.50.0:*:*:*:*:*:*:*").unwrap();
        assert!(criteria.admits_product(&target));
        let android = Cpe::parse("cpe:2.3:a:haxx:curl:*:*:*:*:*:android:*:*").unwrap();
        assert!(android.admits_product(&target), "target_sw not stated");
        let ios_target = Cpe::parse("cpe:2.3:a:haxx:curl:7.50.0:*:*:*:*:iphone_os:*:*").unwrap();
        assert!(!android.admits_product(&ios_target));
        let other = Cpe::parse("cpe:2.3:a:haxx:libcurl:*:*:*:*:*:*:*:*").unwrap();
        assert!(!other.admits_product(&target));
        let os = Cpe::parse("cpe:2.3:o:haxx:curl:*:*:*:*:*:*:*:*").unwrap();
        assert!(!os.admits_product(&target));
        assert!(Value::Text("*_firmware".into()).admits(&Value::Text("dir-300_firmware".into())));
    }
}
