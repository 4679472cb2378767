//! wasm32 drivers: the only code that touches the browser. A driver decides nothing; it moves bytes
//! between the browser and the sans-IO core.

#[cfg(feature = "config-ui")]
mod clipboard;
pub mod clock;
#[cfg(feature = "config-ui")]
mod config_main;
#[cfg(feature = "config-ui")]
mod config_ui;
#[cfg(feature = "connector")]
mod connector_main;
pub mod console;
pub mod http;
pub mod link;
pub mod lna;
pub mod parent;
pub mod socket;
pub mod timer;

use wasm_bindgen::prelude::*;

use crate::mapping::{self, Transform};

/// Installs the panic hook in the config app so that a bug shows as a readable console error instead of
/// `unreachable`. Not in the hidden app: the hook pulls in the formatting machinery (several KB of the
/// always-loaded wasm), and the core never panics on input (proptests); a trap there still shows in the console
/// with its stack.
#[wasm_bindgen(start)]
pub fn start() {
    #[cfg(feature = "config-ui")]
    console_error_panic_hook::set_once();
}

/// The transform table as text: the myApps state name, `own`, `unknown-application` or `unknown-event`. Used
/// by the browser tests to prove the pipeline end to end. Not exported to JavaScript: no page calls it, and
/// every export adds glue to both apps.
pub fn transform_js(platform: &str, event: &str) -> String {
    match mapping::transform(platform, event) {
        Transform::State(s) => s.to_string(),
        Transform::Own => "own".into(),
        Transform::UnknownApplication => "unknown-application".into(),
        Transform::UnknownEvent => "unknown-event".into(),
    }
}
