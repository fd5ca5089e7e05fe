//! consign-verify (being built).
