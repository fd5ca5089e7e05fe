//! Fuzz target: reading SBOMs someone else wrote: consign-sbom's bounded JSON reader, supplier
//! SBOM reading, schema validation, the BSI/NTIA/CISA profile checks, the diff and the licence
//! report, and the verifier's own
//! CycloneDX readers: clear errors, never a panic, a hang or a stack overflow.
#![no_main]

use consign_sbom::supplier::read_supplier_bom;
use consign_sbom::{
    Profile, ReadLimits, check_profile, diff, licence_report, parse_json, validate_schema,
};
use consign_verify::backend::SbomCrate;
use consign_verify::evidence::SbomInspector;
use consign_verify::readers::CycloneDxReader;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(json) = parse_json(data, &ReadLimits::default()) {
        let _ = read_supplier_bom(&json);
        let _ = validate_schema(&json);
        let _ = check_profile(&json, Profile::BsiTr031832);
        let _ = check_profile(&json, Profile::Ntia);
        let _ = check_profile(&json, Profile::Cisa2025);
        let _ = diff(&json, &serde_json::Value::Null);
        let _ = diff(&json, &json);
        let _ = licence_report(&json);
    }
    let _ = CycloneDxReader.inspect(data);
    let _ = SbomCrate.inspect(data);
});
