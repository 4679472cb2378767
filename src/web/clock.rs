//! Time for the core: milliseconds from `performance.now()` (monotonic, unlike `Date.now()`, so a clock
//! change on the PC never makes the engine think hours passed), and jitter from `Math.random()`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The global `performance.now()`. Bound directly rather than through `web_sys::window()`, whose lookup
    /// of the global object adds glue to the always-running app for nothing.
    #[wasm_bindgen(catch, js_namespace = performance, js_name = now)]
    fn performance_now() -> Result<f64, JsValue>;
}

/// Monotonic milliseconds since the page loaded.
pub fn now_ms() -> u64 {
    let ms = performance_now().unwrap_or_else(|_| js_sys::Date::now());
    if ms.is_finite() && ms > 0.0 {
        ms as u64
    } else {
        0
    }
}

/// A random 32-bit value for back-off jitter.
pub fn jitter() -> u32 {
    (js_sys::Math::random() * f64::from(u32::MAX)) as u32
}
