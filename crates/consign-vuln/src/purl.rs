//! Package URLs (`pkg:type/namespace/name@version?qualifiers#subpath`), read far enough to match
//! them: type, namespace, name and version, percent-decoded. Qualifiers and subpath are kept as
//! written and never take part in matching.

use std::fmt;

/// A parsed package URL.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Purl {
    /// The type, lower case (`generic`, `github`, `deb`, `npm`).
    pub kind: String,
    /// The namespace, when there is one (`espressif`, `debian`).
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
    /// The version, when stated.
    pub version: Option<String>,
}

/// Why a text is not a package URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PurlError(pub &'static str);

impl fmt::Display for PurlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// RFC 3986 percent-decoding, as purls and CPE 2.3 URI bindings encode their fields; a `%` not
/// followed by two hex digits stays as it is.
pub(crate) fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut idx = 0;
    while idx < bytes.len() {
        if bytes[idx] == b'%'
            && let Some(hex) = raw.get(idx + 1..idx + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            idx += 3;
            continue;
        }
        out.push(bytes[idx]);
        idx += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Types whose names compare without case (purl-spec: these types lower-case their names).
const CASE_INSENSITIVE: &[&str] = &[
    "generic",
    "github",
    "bitbucket",
    "deb",
    "apk",
    "pypi",
    "npm",
];

impl Purl {
    /// Reads a package URL.
    pub fn parse(text: &str) -> Result<Self, PurlError> {
        if text.len() > 4096 {
            return Err(PurlError("longer than 4096 bytes"));
        }
        let body = text
            .strip_prefix("pkg:")
            .ok_or(PurlError("a package URL starts with `pkg:`"))?
            .trim_start_matches('/');
        let body = body.split('#').next().unwrap_or_default();
        let body = body.split('?').next().unwrap_or_default();
        let (path, version) = match body.rsplit_once('@') {
            // An `@` inside the namespace (npm scopes are written `%40`) is not a version.
            Some((path, version)) if !version.contains('/') => {
                (path, Some(percent_decode(version)))
            }
            _ => (body, None),
        };
        let mut segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if segments.len() < 2 {
            return Err(PurlError("a package URL has a type and a name"));
        }
        let kind = segments.remove(0).to_ascii_lowercase();
        if kind.is_empty()
            || !kind
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(PurlError("the type is letters, digits, `+`, `-` or `.`"));
        }
        let name_raw = segments.pop().unwrap_or_default();
        let fold = CASE_INSENSITIVE.contains(&kind.as_str());
        let norm = |text: String| if fold { text.to_lowercase() } else { text };
        let name = norm(percent_decode(name_raw));
        let namespace = if segments.is_empty() {
            None
        } else {
            Some(norm(
                segments
                    .iter()
                    .map(|s| percent_decode(s))
                    .collect::<Vec<_>>()
                    .join("/"),
            ))
        };
        if name.is_empty() {
            return Err(PurlError("the name is empty"));
        }
        Ok(Self {
            kind,
            namespace,
            name,
            version: version.filter(|v| !v.is_empty()),
        })
    }

    /// `type/namespace/name` (or `type/name`): the package without its version.
    pub fn package(&self) -> String {
        match &self.namespace {
            Some(namespace) => format!("{}/{namespace}/{}", self.kind, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }

    /// True when both name the same package (versions aside).
    pub fn same_package(&self, other: &Purl) -> bool {
        self.kind == other.kind && self.namespace == other.namespace && self.name == other.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_purls() {
        let purl = Purl::parse("pkg:generic/openssl@0.9.8g").unwrap();
        assert_eq!(purl.package(), "generic/openssl");
        assert_eq!(purl.version.as_deref(), Some("0.9.8g"));
        let purl = Purl::parse("pkg:github/espressif/esp-idf@5.0-beta1").unwrap();
        assert_eq!(purl.namespace.as_deref(), Some("espressif"));
        let purl = Purl::parse("pkg:apk/alpine/libssl3@3.0.8-r3?arch=x86_64").unwrap();
        assert_eq!(purl.version.as_deref(), Some("3.0.8-r3"));
        let purl = Purl::parse("pkg:npm/%40angular/core@1.0").unwrap();
        assert_eq!(purl.namespace.as_deref(), Some("@angular"));
        let purl = Purl::parse("pkg:oci/alpine@sha256%3A124c").unwrap();
        assert_eq!(purl.version.as_deref(), Some("sha256:124c"));
        let purl = Purl::parse("pkg:generic/busybox").unwrap();
        assert_eq!(purl.version, None);
        assert!(purl.same_package(&Purl::parse("pkg:generic/BusyBox@1.0").unwrap()));
    }

    #[test]
    fn rejects_non_purls() {
        for text in [
            "openssl",
            "pkg:",
            "pkg:generic",
            "pkg:ge neric/x",
            "cpe:2.3:a:x:y",
        ] {
            assert!(Purl::parse(text).is_err(), "{text}");
        }
    }
}
