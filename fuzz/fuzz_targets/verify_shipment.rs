//! Fuzz target: reading a shipment archive (ustar and `shipment.json`) and verifying it against
//! a built-in policy and a fixed trust store, with the firmware re-scan on, as `consign verify`
//! does: no panic, hang or unbounded allocation, what was read within the shipment limits, and
//! every report rendering of the verdict.
#![no_main]

use std::sync::OnceLock;

use consign_fuzz::LIMITS;
use consign_verify::backend::{AttestSignatures, FirmwareRescan, standard_engines};
use consign_verify::shipment::{ShipmentLimits, check_path, from_tar};
use consign_verify::{Date, Policy, TrustStore, report};

/// Small enough that each run is quick, large enough for the seed shipments.
const SHIPMENT: ShipmentLimits = ShipmentLimits {
    max_artifacts: 64,
    max_file_bytes: 1 << 20,
    max_total_bytes: 2 << 20,
    max_manifest_bytes: 256 << 10,
};

struct Fixed {
    policy: Policy,
    trust: TrustStore,
    signatures: AttestSignatures,
    rescan: FirmwareRescan,
}

fn fixed() -> &'static Fixed {
    static FIXED: OnceLock<Fixed> = OnceLock::new();
    FIXED.get_or_init(|| {
        // The trust store of the seed shipments (`consign demo`), so signatures can verify.
        let trust = TrustStore::from_toml("trust.toml", include_str!("../seeds/trust.toml"))
            .expect("the seed trust store parses");
        Fixed {
            policy: Policy::builtin("eu-cra-import").expect("a built-in profile"),
            signatures: AttestSignatures::new(&trust).expect("the seed keys load"),
            trust,
            rescan: FirmwareRescan { limits: LIMITS },
        }
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(shipment) = from_tar("fuzz.tar", data, &SHIPMENT) else {
        return;
    };
    assert!(shipment.artifacts.len() <= SHIPMENT.max_artifacts);
    let mut total = 0u64;
    for artifact in &shipment.artifacts {
        assert!(
            check_path(&artifact.entry.path).is_ok(),
            "{}",
            artifact.entry.path
        );
        let len = artifact.data.as_ref().map_or(0, |d| d.len() as u64);
        assert!(
            len <= SHIPMENT.max_file_bytes,
            "{} over the file limit",
            artifact.entry.path
        );
        total += len;
    }
    assert!(
        total <= SHIPMENT.max_total_bytes,
        "{total} bytes over the total limit"
    );
    for path in &shipment.unlisted {
        assert!(check_path(path).is_ok(), "unlisted {path}");
    }
    let fixed = fixed();
    let engines = standard_engines(&fixed.signatures, Some(&fixed.rescan));
    let date = Date::constant(2026, 1, 1);
    let verdict =
        consign_verify::verify(&shipment, &fixed.policy, &fixed.trust, date, &[], engines);
    let _ = report::one_line(&verdict);
    let _ = report::text(&verdict);
    let _ = report::json(&verdict);
    let _ = report::markdown(&verdict);
    let _ = report::html(&verdict);
});
