//! Journeys that reach deep: a valid seed journey (the examples, the documentation's, the
//! transcript tests') with a few edits made from the fuzz bytes (a value replaced, a key
//! removed or renamed, an item copied, a condition wrapped, steps swapped), validated; when
//! still valid, a few people stepped through it with events, timers, API entries and sweeps.
//!
//! Checks what the `journey` target checks, on documents that are mostly valid.

#![no_main]

use arbitrary::Unstructured;
use domain::journey::Journey;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wayfarer_fuzz::{Driver, Gen, edit};

/// The seed journeys, all valid (`fuzz/seeds/journey`).
const SEEDS: &[&str] = &[
    include_str!("../seeds/journey/consultation.json"),
    include_str!("../seeds/journey/every-kind-of-object.json"),
    include_str!("../seeds/journey/welcome.json"),
    include_str!("../seeds/journey/upgrade.json"),
    include_str!("../seeds/journey/loyalty.json"),
    include_str!("../seeds/journey/subject-test.json"),
    include_str!("../seeds/journey/morning.json"),
    include_str!("../seeds/journey/renewal.json"),
    include_str!("../seeds/journey/big-spender.json"),
    include_str!("../seeds/journey/digest.json"),
    include_str!("../seeds/journey/date-entry.json"),
    include_str!("../seeds/journey/manual.json"),
    include_str!("../seeds/journey/upgraded.json"),
    include_str!("../seeds/journey/abandoned-cart.json"),
    include_str!("../seeds/journey/trial-onboarding.json"),
    include_str!("../seeds/journey/win-back.json"),
];

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(seed) = u.choose(SEEDS) else { return };
    let mut doc: Value = serde_json::from_str(seed).expect("a seed is JSON");
    let words = Gen::for_doc(&doc);
    let Ok(edits) = u.int_in_range(0..=6) else { return };
    for _ in 0..edits {
        if edit(&mut doc, &words, &mut u).is_err() {
            break;
        }
    }
    match Journey::parse(&doc) {
        Err(diags) => {
            assert!(!diags.is_empty(), "a refused document says why");
            for d in &diags {
                assert!(d.is_error() && (d.path.is_empty() || d.path.starts_with('/')), "{d:?}");
            }
        }
        Ok(j) => {
            let _ = (j.names(), j.unseen(&Default::default(), &Default::default()));
            let stored = serde_json::to_string(&doc).expect("serializes");
            let back: Value = serde_json::from_str(&stored).expect("reads back");
            assert!(Journey::parse(&back).is_ok(), "a valid document is still valid when read back from the store");
            let mut driver = Driver::new(&j);
            let _ = driver.script(&words, &mut u);
        }
    }
});
