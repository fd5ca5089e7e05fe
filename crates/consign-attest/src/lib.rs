//! consign-attest (being built).
