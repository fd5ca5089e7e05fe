//! consign-detect (being built).
