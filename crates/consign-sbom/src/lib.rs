//! consign-sbom (being built).
