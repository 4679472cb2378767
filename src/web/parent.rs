//! postMessage to and from myApps (the parent window). Messages are JSON strings, as the launcher sends them.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Event, MessageEvent, Window};

/// Posts `text` to the parent window (myApps), target origin `*` as the myApps protocol does.
pub fn post(window: &Window, text: &str) {
    if let Ok(Some(parent)) = window.parent() {
        let _ = parent.post_message(&text.into(), "*");
    }
}

/// Calls `on_text` for every string message that comes from the parent window. Messages from other windows
/// (or non-string data) are ignored: only myApps may drive the app.
///
/// The closure takes an `Event` (a `message` event is always a `MessageEvent`): every closure of the apps has
/// this one signature, because wasm-bindgen writes glue for each distinct one.
pub fn listen(
    window: &Window,
    mut on_text: impl FnMut(String) + 'static,
) -> Closure<dyn FnMut(Event)> {
    let parent = window.parent().ok().flatten();
    let cb = Closure::<dyn FnMut(Event)>::new(move |ev: Event| {
        let ev = ev.unchecked_ref::<MessageEvent>();
        // Compared as plain JS values (`===`): an `instanceof Window` check (`dyn_ref`) is false for the
        // parent's window, whose `Window` belongs to another realm.
        let from_parent = match (&parent, ev.source()) {
            (Some(p), Some(src)) => JsValue::from(src) == JsValue::from(p),
            _ => false,
        };
        if !from_parent {
            return;
        }
        if let Some(text) = ev.data().as_string() {
            on_text(text);
        }
    });
    let _ = window.add_event_listener_with_callback("message", cb.as_ref().unchecked_ref());
    cb
}
