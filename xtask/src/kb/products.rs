//! The product list (`crates/consign-detect/kb/products.toml`): what the knowledge base covers and
//! the facts it states about each product.

use std::path::PathBuf;

use serde::Deserialize;

/// Where the product lists live, relative to the repository root: `products.toml` and any other
/// `*.toml` there (one file per batch keeps parallel work mergeable).
pub(crate) const PRODUCTS: &str = "crates/consign-detect/kb";
/// Where the signature files live, relative to the repository root.
pub(crate) const SIGNATURES: &str = "crates/consign-detect/signatures";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductList {
    product: Vec<Product>,
}

/// One product of the list.
#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub(crate) struct Product {
    /// The canonical upstream name, lower case; also the signature's `name`.
    pub(crate) name: String,
    /// The signature file's stem when it is not `name`.
    pub(crate) file: Option<String>,
    /// `library`, `application`, `operating-system`, `firmware` or `framework`.
    pub(crate) kind: String,
    /// Debian source packages that build it (empty when Debian does not ship it).
    #[serde(default)]
    pub(crate) debian: Vec<String>,
    /// The binary packages to read, when not every useful binary of the sources.
    #[serde(default)]
    pub(crate) binaries: Vec<String>,
    /// Debian binary packages that only link it: read for negative evidence, never for positives.
    #[serde(default)]
    pub(crate) users: Vec<String>,
    /// CPE `vendor:product` as NVD spells them.
    pub(crate) cpe: Option<String>,
    /// The package URL (without a version).
    pub(crate) purl: String,
    /// The upstream project's home page.
    pub(crate) homepage: String,
    /// The licence upstream declares, as an SPDX expression.
    pub(crate) license: String,
    /// Which embedded package sets ship it (`openwrt`, `buildroot`, `yocto`, `rtos`, ...): why it
    /// is in the list.
    #[serde(default)]
    pub(crate) sets: Vec<String>,
}

impl Product {
    /// The signature file of this product.
    pub(crate) fn signature_path(&self) -> PathBuf {
        crate::util::root().join(SIGNATURES).join(format!(
            "{}.toml",
            self.file.as_deref().unwrap_or(&self.name)
        ))
    }

    /// CPE vendor and product.
    pub(crate) fn cpe_parts(&self) -> Option<(&str, &str)> {
        self.cpe.as_deref()?.split_once(':')
    }
}

/// Reads and checks every product list.
pub(crate) fn load() -> Result<Vec<Product>, String> {
    let folder = crate::util::root().join(PRODUCTS);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&folder)
        .map_err(|err| format!("cannot list {}: {err}", folder.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    let mut text = String::new();
    for path in &paths {
        let part = std::fs::read_to_string(path)
            .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        // Each file must be valid on its own, so an error names the right one.
        parse(&part).map_err(|err| format!("{}: {err}", path.display()))?;
        text.push_str(&part);
        text.push('\n');
    }
    parse(&text).map_err(|err| format!("{}: {err}", folder.display()))
}

/// Parses the product list and checks what the parser alone cannot.
pub(crate) fn parse(text: &str) -> Result<Vec<Product>, String> {
    let list: ProductList = toml::from_str(text).map_err(|err| err.to_string())?;
    let mut names = std::collections::BTreeSet::new();
    for product in &list.product {
        if !names.insert(product.name.as_str()) {
            return Err(format!("product `{}` is listed twice", product.name));
        }
        if product.name != product.name.to_lowercase() {
            return Err(format!(
                "product `{}`: the name must be lower case",
                product.name
            ));
        }
        if let Some(cpe) = &product.cpe
            && cpe.split(':').count() != 2
        {
            return Err(format!(
                "product `{}`: cpe `{cpe}` must be `vendor:product`",
                product.name
            ));
        }
        if !product.purl.starts_with("pkg:") || product.purl.contains('@') {
            return Err(format!(
                "product `{}`: purl `{}` must be a package URL without a version",
                product.name, product.purl
            ));
        }
    }
    Ok(list.product)
}

/// The products named on the command line (all when none is named).
pub(crate) fn select<'a>(
    products: &'a [Product],
    names: &[String],
) -> Result<Vec<&'a Product>, String> {
    if names.is_empty() {
        return Ok(products.iter().collect());
    }
    names
        .iter()
        .map(|name| {
            products
                .iter()
                .find(|product| product.name == *name)
                .ok_or_else(|| format!("no product `{name}` in {PRODUCTS}; add it there first"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_product_list_parses() {
        let products = load().unwrap();
        assert!(products.len() >= 20, "{}", products.len());
    }

    #[test]
    fn bad_entries_are_refused() {
        let entry = |extra: &str| {
            format!(
                "[[product]]\nname = \"x\"\nkind = \"library\"\npurl = \"pkg:generic/x\"\nhomepage = \"https://x.org/\"\nlicense = \"MIT\"\n{extra}"
            )
        };
        assert!(parse(&entry("")).is_ok());
        assert!(
            parse(&entry("cpe = \"x\""))
                .unwrap_err()
                .contains("vendor:product")
        );
        assert!(
            parse(&entry("colour = 1"))
                .unwrap_err()
                .contains("unknown field")
        );
        assert!(
            parse(&format!("{}\n{}", entry(""), entry("")))
                .unwrap_err()
                .contains("twice")
        );
    }
}
