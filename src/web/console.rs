//! Trace output: one line per call, the lines the core produced (already prefixed and redacted there).
//!
//! Inside myApps an app's console is the launcher's: innovaphone's lib1 hands the app the parent's console
//! when the user agent contains "myApps" and the parent offers `console.custom`, and the myApps apps for
//! Windows/macOS/iOS take console lines through `webkit.messageHandlers.console_message_`
//! (docs/platform-facts.md §3.6). So the concept's "trace output in the browser console, or in
//! the myApps log" holds. Every probe is guarded (`catch`): touching a cross-origin parent throws, and then the
//! app writes to its own console.
//!
//! Four imports only (`Reflect.get`, `Function.call`, `String.includes` and the console), and no Rust string
//! search: the hidden app's size budget.

use js_sys::{Function, JsString, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// `obj[key]`, or `undefined` when `obj` is not an object or the access throws (cross-origin).
fn get(obj: &JsValue, key: &str) -> JsValue {
    if !obj.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// `obj[method](arg)`; false when it is not a function or throws.
fn call(obj: &JsValue, method: &str, arg: &JsValue) -> bool {
    let f = get(obj, method);
    f.is_function() && f.unchecked_ref::<Function>().call1(obj, arg).is_ok()
}

/// Where trace lines go.
pub enum Target {
    /// The app window's own console.
    Own,
    /// The parent's console (`window.parent.console`, which has `custom`).
    Parent(JsValue),
    /// `window.parent.webkit.messageHandlers.console_message_` (its `postMessage`).
    Webkit(JsValue),
}

impl Target {
    /// Picks the target for `window` (any object shaped like one: the browser tests pass fakes).
    pub fn detect(window: &JsValue) -> Target {
        let ua = get(&get(window, "navigator"), "userAgent");
        let myapps = ua.is_string() && ua.unchecked_ref::<JsString>().includes("myApps", 0);
        if !myapps {
            return Target::Own;
        }
        let parent = get(window, "parent");
        let console = get(&parent, "console");
        if get(&console, "custom").is_truthy() {
            return Target::Parent(console);
        }
        let handler = get(
            &get(&get(&parent, "webkit"), "messageHandlers"),
            "console_message_",
        );
        if handler.is_object() {
            Target::Webkit(handler)
        } else {
            Target::Own
        }
    }

    /// Writes one line; if the chosen target fails, to `own` (the app's console object).
    pub fn write(&self, line: &str, own: &JsValue) {
        let line = JsValue::from_str(line);
        let ok = match self {
            Target::Own => false,
            Target::Parent(c) => call(c, "log", &line),
            Target::Webkit(h) => call(h, "postMessage", &line),
        };
        if !ok {
            call(own, "log", &line);
        }
    }
}

thread_local! {
    static TARGET: Target = match web_sys::window() {
        Some(w) => Target::detect(&w.into()),
        None => Target::Own,
    };
}

pub fn log(line: &str) {
    TARGET.with(|t| match t {
        Target::Own => web_sys::console::log_1(&line.into()),
        other => {
            let own = web_sys::window().map_or(JsValue::UNDEFINED, |w| get(&w.into(), "console"));
            other.write(line, &own);
        }
    });
}
