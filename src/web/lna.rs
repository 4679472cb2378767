//! Reads the browser's Local Network Access permission (see [`crate::lna`]) and reports its state, then every
//! change. Decides nothing: the first name in `names` the browser knows gives the state; no Permissions
//! API, names it does not know (a rejected or throwing `query`) or anything unexpected is `"unknown"`.
//!
//! Bound by hand (no `Reflect`, no web-sys `Permissions`, whose descriptor enum does not know these names),
//! and with once-closures of the same shape as `http.rs`'s only: every extra closure type or import adds
//! glue to the always-loaded hidden app. A change re-reads the state (a new once-closure each time).

use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::http::Thenable;
use crate::text::cat;

#[wasm_bindgen]
extern "C" {
    /// A `PermissionStatus`, or whatever a promise settled with.
    type Status;

    #[wasm_bindgen(method, getter)]
    fn state(this: &Status) -> JsValue;

    #[wasm_bindgen(method, setter)]
    fn set_onchange(this: &Status, f: &JsValue);

    /// `navigator.permissions.query(descriptor)`; throws without a Permissions API.
    #[wasm_bindgen(catch, js_namespace = ["navigator", "permissions"], js_name = query)]
    fn query(descriptor: &JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(catch, js_namespace = JSON, js_name = parse)]
    fn json_parse(text: &str) -> Result<JsValue, JsValue>;
}

/// Calls `on(state)` with the current state (`granted`, `denied`, `prompt` or `unknown`), and again after
/// every change the browser reports.
pub fn watch(names: &'static [&'static str], on: Rc<dyn Fn(&str)>) {
    let Some((name, rest)) = names.split_first() else {
        return on("unknown");
    };
    let descriptor = json_parse(&cat(&["{\"name\":\"", name, "\"}"])).unwrap_or(JsValue::NULL);
    let promise = match query(&descriptor) {
        Ok(p) if p.is_object() => p.unchecked_into::<Thenable>(),
        // No Permissions API, or a browser that throws for an unknown name instead of rejecting.
        _ => return watch(rest, on),
    };
    // Both settle paths share one once-closure (as in `http.rs`); a status is told from an error by its
    // `state` string.
    let settled = Closure::once_into_js(move |v: JsValue| {
        let st = v.clone().unchecked_into::<Status>();
        let status = v.unchecked_into::<Status>();
        let Some(state) = status.state().as_string() else {
            return watch(rest, on);
        };
        on(&state);
        let all = names;
        let again = on.clone();
        let changed = Closure::once_into_js(move |_: JsValue| {
            // This status object is done with; the new query's object reports the next change.
            st.set_onchange(&JsValue::NULL);
            watch(all, again);
        });
        status.set_onchange(&changed);
    });
    promise.then_either(&settled, &settled);
}
