//! wasm32 drivers: the only code that touches the browser. A driver decides nothing; it moves bytes
//! between the browser and the sans-IO core.

pub mod clock;
#[cfg(feature = "config-ui")]
mod config_main;
#[cfg(feature = "config-ui")]
mod config_ui;
#[cfg(feature = "connector")]
mod connector_main;
pub mod console;
pub mod http;
pub mod parent;
pub mod socket;
pub mod timer;

use wasm_bindgen::prelude::*;

use crate::mapping::{self, Transform};

/// Installs the panic hook so that a bug shows as a readable console error instead of `unreachable`.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// The transform table through wasm: returns the myApps state name, `own`, `unknown-application` or
/// `unknown-event`. Used by the browser tests to prove the pipeline end to end.
#[wasm_bindgen(js_name = transform)]
pub fn transform_js(platform: &str, event: &str) -> String {
    match mapping::transform(platform, event) {
        Transform::State(s) => s.to_string(),
        Transform::Own => "own".into(),
        Transform::UnknownApplication => "unknown-application".into(),
        Transform::UnknownEvent => "unknown-event".into(),
    }
}
