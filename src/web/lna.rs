//! Reads the browser's Local Network Access permission (see [`crate::lna`]) and reports its state, then every
//! change. Decides nothing: the first name in `names` the browser knows gives the state; no Permissions
//! API, names it does not know (a rejected or throwing `query`) or anything unexpected is `"unknown"`.
//! Bound through `js_sys::Reflect` rather than web-sys's `Permissions` types, whose descriptor enum does not
//! know these names.

use std::rc::Rc;

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    type Thenable;

    #[wasm_bindgen(method, js_name = then)]
    fn then_either(this: &Thenable, on_fulfilled: &JsValue, on_rejected: &JsValue);
}

/// Calls `on(state)` once with the current state (`granted`, `denied`, `prompt` or `unknown`) and again on
/// every change the browser reports. The change handler lives as long as the page (one per page).
pub fn watch(global: &JsValue, names: &'static [&'static str], on: Rc<dyn Fn(&str)>) {
    let permissions = Reflect::get(global, &"navigator".into())
        .and_then(|n| Reflect::get(&n, &"permissions".into()))
        .unwrap_or(JsValue::UNDEFINED);
    let query = Reflect::get(&permissions, &"query".into())
        .ok()
        .and_then(|q| q.dyn_into::<Function>().ok());
    match query {
        Some(q) if permissions.is_object() => ask(permissions, q, names, on),
        _ => on("unknown"),
    }
}

fn ask(
    permissions: JsValue,
    query: Function,
    names: &'static [&'static str],
    on: Rc<dyn Fn(&str)>,
) {
    let Some((name, rest)) = names.split_first() else {
        return on("unknown");
    };
    let descriptor = Object::new();
    let _ = Reflect::set(&descriptor, &"name".into(), &(*name).into());
    let promise = match query.call1(&permissions, &descriptor) {
        Ok(p) if p.is_object() => p.unchecked_into::<Thenable>(),
        // A browser that throws for an unknown name instead of rejecting.
        _ => return ask(permissions, query, rest, on),
    };
    // Both settle paths share one once-closure (as in `http.rs`); a status is told from an error by its
    // `state` string.
    let settled = Closure::once_into_js(move |v: JsValue| {
        let state = Reflect::get(&v, &"state".into())
            .ok()
            .and_then(|s| s.as_string());
        let Some(state) = state else {
            return ask(permissions, query, rest, on);
        };
        on(&state);
        let status = v;
        let s2 = status.clone();
        let changed = Closure::<dyn FnMut()>::new(move || {
            let state = Reflect::get(&s2, &"state".into())
                .ok()
                .and_then(|s| s.as_string())
                .unwrap_or_default();
            on(&state);
        });
        let _ = Reflect::set(&status, &"onchange".into(), changed.as_ref());
        changed.forget();
    });
    promise.then_either(&settled, &settled);
}
