//! Journey documents as JSON text: `Journey::parse` (validation) on anything.
//!
//! Checks: a refused document gets at least one diagnostic, each an error with a JSON
//! pointer; an accepted one lists its names and warnings without panicking, finds each of
//! its steps, reads back from the store (JSON text) as valid, and a few people stepped
//! through it keep every transition's invariants (`wayfarer_fuzz::check_transition`).

#![no_main]

use std::collections::BTreeSet;

use arbitrary::Unstructured;
use domain::journey::Journey;
use libfuzzer_sys::fuzz_target;
use wayfarer_fuzz::{Driver, Gen, json};

fuzz_target!(|data: &[u8]| {
    // The document is the JSON text up to the first NUL byte; what follows drives a script.
    let (text, rest) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Some(doc) = json(text) else { return };
    match Journey::parse(&doc) {
        Err(diags) => {
            assert!(!diags.is_empty(), "a refused document says why");
            for d in &diags {
                assert!(d.is_error(), "parse reports errors only: {d:?}");
                assert!(d.path.is_empty() || d.path.starts_with('/'), "a diagnostic's path is a JSON pointer: {d:?}");
            }
        }
        Ok(j) => {
            for s in &j.steps {
                assert!(j.get(&s.id).is_some(), "every step is found by its id");
            }
            let _ = (j.names(), j.entry_event(), j.entry_trait(), j.swept(), j.templates().count());
            let mut seen = BTreeSet::new();
            seen.insert("Page Viewed".to_owned());
            assert!(j.unseen(&BTreeSet::new(), &BTreeSet::new()).iter().chain(j.unseen(&seen, &seen).iter()).all(|d| !d.is_error()));
            for q in &j.history {
                let _ = q.to_string();
            }
            let stored = serde_json::to_string(&doc).expect("serializes");
            let back: serde_json::Value = serde_json::from_str(&stored).expect("reads back");
            assert!(Journey::parse(&back).is_ok(), "a valid document is still valid when read back from the store");
            let words = Gen::for_doc(&doc);
            let mut driver = Driver::new(&j);
            let _ = driver.script(&words, &mut Unstructured::new(rest));
        }
    }
});
