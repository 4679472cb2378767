//! Time for the core: milliseconds from `performance.now()` (monotonic, unlike `Date.now()`, so a clock
//! change on the PC never makes the engine think hours passed), and jitter from `Math.random()`.

/// Monotonic milliseconds since the page loaded.
pub fn now_ms() -> u64 {
    let ms = web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now);
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
