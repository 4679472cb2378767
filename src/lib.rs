//! Connector for kuando®: keeps a person's busy state in sync between the innovaphone PBX (their myApps
//! client) and Plenom's kuandoHUB.
//!
//! Everything outside `web` is a sans-IO core: plain deterministic Rust with no clock, no randomness and no
//! IO, tested natively. `web` holds the thin wasm32 drivers that connect the core to the browser.
//! See ARCHITECTURE.md for the map.

pub mod backoff;
pub mod config;
/// The config app and what only it uses (its texts, the live status panel, the diagnosis report). The hidden
/// app's wasm build (`--features connector`) never compiles them; native builds keep them for the tests.
#[cfg(any(feature = "config-ui", not(target_arch = "wasm32")))]
pub mod config_app;
pub mod connector_app;
pub mod engine;
pub mod fifo;
pub mod health;
pub mod hub;
pub mod json;
pub mod license;
pub mod lna;
pub mod mapping;
pub mod myapps;
pub mod proto;
pub mod ring;
pub mod state;
pub mod status;
pub mod trace;

#[cfg(target_arch = "wasm32")]
pub mod web;

/// The earlier of two optional deadlines (`None`: no deadline), for combining state machines' `poll_timeout`.
pub fn earliest(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
