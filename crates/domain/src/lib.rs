//! Wayfarer's pure core.
//!
//! Architecture Invariant: nothing in this crate performs I/O, reads a clock or draws
//! randomness. Time (`now`) and seeds are parameters. `journey::step` never panics on a
//! journey a user can write.

pub mod aggregate;
pub mod computed;
pub mod condition;
pub mod cron;
pub mod event;
pub mod identity;
pub mod ids;
pub mod journey;
pub mod lifecycle;
pub mod profile;
pub mod segment;
pub mod stats;
pub mod time;
pub mod trace;
pub mod zone;

/// A JSON object, as used for traits and properties.
pub type Map = serde_json::Map<String, serde_json::Value>;
