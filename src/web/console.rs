//! Trace output: one line per call, the lines the core produced (already prefixed and redacted there).
//!
//! Inside myApps an app's console is the launcher's: innovaphone's lib1 hands the app the parent's console
//! when the user agent contains "myApps" and the parent offers `console.custom`, and the myApps apps for
//! Windows/macOS/iOS take console lines through `webkit.messageHandlers.console_message_`
//! (shared/spec/appplatform-deployment.md §5.2). So the concept's "trace output in the browser console, or in
//! the myApps log" holds. Every probe is guarded: touching a cross-origin parent throws, and then the app
//! writes to its own console.

use js_sys::{Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// Where trace lines go.
#[derive(Clone)]
pub enum Target {
    /// The app window's own console.
    Own(JsValue),
    /// The parent's console (`window.parent.console`, which has `custom`).
    Parent(JsValue),
    /// `window.parent.webkit.messageHandlers.console_message_` (its `postMessage`).
    Webkit(JsValue),
}

fn get(obj: &JsValue, key: &str) -> Option<JsValue> {
    if obj.is_undefined() || obj.is_null() {
        return None;
    }
    // A cross-origin object throws on access: that is "not there".
    Reflect::get(obj, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

impl Target {
    /// Picks the target for `window` (any object shaped like one: the browser tests pass fakes).
    pub fn detect(window: &JsValue) -> Target {
        let own = get(window, "console").unwrap_or(JsValue::UNDEFINED);
        let ua = get(window, "navigator")
            .and_then(|n| get(&n, "userAgent"))
            .and_then(|u| u.as_string())
            .unwrap_or_default();
        if !ua.contains("myApps") {
            return Target::Own(own);
        }
        let parent = get(window, "parent").unwrap_or(JsValue::UNDEFINED);
        if let Some(console) = get(&parent, "console") {
            if get(&console, "custom").is_some_and(|c| c.is_truthy()) {
                return Target::Parent(console);
            }
        }
        let handler = get(&parent, "webkit")
            .and_then(|w| get(&w, "messageHandlers"))
            .and_then(|h| get(&h, "console_message_"));
        match handler {
            Some(h) => Target::Webkit(h),
            None => Target::Own(own),
        }
    }

    /// Writes one line; if the chosen target fails, to `fallback` (the own console).
    pub fn write(&self, line: &str, fallback: &JsValue) {
        let line = JsValue::from_str(line);
        let ok = match self {
            Target::Own(c) | Target::Parent(c) => call(c, "log", &line),
            Target::Webkit(h) => call(h, "postMessage", &line),
        };
        if !ok {
            call(fallback, "log", &line);
        }
    }
}

fn call(obj: &JsValue, method: &str, arg: &JsValue) -> bool {
    get(obj, method)
        .and_then(|f| f.dyn_into::<Function>().ok())
        .is_some_and(|f| f.call1(obj, arg).is_ok())
}

thread_local! {
    static TARGET: Target = {
        let w = web_sys::window().map(JsValue::from).unwrap_or(JsValue::UNDEFINED);
        Target::detect(&w)
    };
}

pub fn log(line: &str) {
    TARGET.with(|t| match t {
        Target::Own(_) => web_sys::console::log_1(&line.into()),
        other => {
            let own = web_sys::window()
                .and_then(|w| get(&w.into(), "console"))
                .unwrap_or(JsValue::UNDEFINED);
            other.write(line, &own);
        }
    });
}
