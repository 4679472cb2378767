//! Reads the browser's Local Network Access permission (see [`crate::lna`]) and reports its state, then every
//! change. Decides nothing: the first name in `names` the browser knows gives the state; no Permissions
//! API, names it does not know (a rejected or throwing `query`) or anything unexpected is `"unknown"`.
//!
//! `navigator.permissions.query` is bound by hand: web-sys' `PermissionDescriptor` only knows the names its
//! enum lists, not these. A change re-reads the state.

use std::rc::Rc;

use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    /// A `PermissionStatus`, or whatever a promise settled with.
    #[derive(Clone)]
    type Status;

    #[wasm_bindgen(method, getter)]
    fn state(this: &Status) -> JsValue;

    #[wasm_bindgen(method, setter)]
    fn set_onchange(this: &Status, f: &JsValue);

    /// `navigator.permissions.query(descriptor)`; throws without a Permissions API.
    #[wasm_bindgen(catch, js_namespace = ["navigator", "permissions"], js_name = query)]
    fn query(descriptor: &JsValue) -> Result<JsValue, JsValue>;
}

/// Calls `on(state)` with the current state (`granted`, `denied`, `prompt` or `unknown`), and again after
/// every change the browser reports.
pub fn watch(names: &'static [&'static str], on: Rc<dyn Fn(&str)>) {
    wasm_bindgen_futures::spawn_local(async move {
        for name in names {
            let Some(status) = query_state(name).await else {
                continue;
            };
            let Some(state) = status.state().as_string() else {
                continue;
            };
            on(&state);
            let again = on.clone();
            let seen = status.clone();
            let changed = Closure::once_into_js(move |_: JsValue| {
                // This status object is done with; the new query's object reports the next change.
                seen.set_onchange(&JsValue::NULL);
                watch(names, again);
            });
            status.set_onchange(&changed);
            return;
        }
        on("unknown");
    });
}

/// The browser's status for permission `name`; `None` without a Permissions API, or when the browser throws
/// for or rejects a name it does not know.
async fn query_state(name: &str) -> Option<Status> {
    let descriptor = Object::new();
    Reflect::set(&descriptor, &"name".into(), &name.into()).ok()?;
    let promise = query(&descriptor).ok()?.dyn_into::<Promise>().ok()?;
    Some(
        JsFuture::from(promise)
            .await
            .ok()?
            .unchecked_into::<Status>(),
    )
}
