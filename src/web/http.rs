//! Sends one hub request with `fetch` and an `AbortSignal` timeout, so a hung hub never blocks the next poll.
//! Decides nothing: the status and body go back to the core as they came.
//!
//! Straight on web-sys rather than through gloo-net: gloo-net's request builder (the `http` crate's methods,
//! `URL`, `URLSearchParams`, `Headers`, its error conversions) cost the hidden app some 10 KB of wasm and
//! glue for the four calls used here. And with promise callbacks rather than `async`: the futures executor
//! (task queue, wakers, `JsFuture`) was another 4 KB of the hidden app for the two promises of a request.

use std::cell::Cell;
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use js_sys::{ArrayBuffer, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{AbortController, RequestInit, Response};

use crate::hub::{HubRequest, Method, Outcome as HttpOutcome};

#[wasm_bindgen]
extern "C" {
    /// The global `fetch(url, init)`, as gloo-net binds it: no `web_sys::window()` lookup needed.
    #[wasm_bindgen(js_name = fetch)]
    fn fetch_with_init(url: &str, init: &RequestInit) -> Thenable;

    /// A promise, as this driver uses it: only `then`, with plain functions (also used by `lna.rs`).
    pub(crate) type Thenable;

    /// `promise.then(onFulfilled, onRejected)`.
    #[wasm_bindgen(method, js_name = then)]
    pub(crate) fn then_either(this: &Thenable, on_fulfilled: &JsValue, on_rejected: &JsValue);
}

/// Sends `req`, giving up after `timeout_ms`, and calls `done` with what became of it: always exactly once,
/// and never before `send` has returned (the caller may still hold what `done` needs).
pub fn send(req: &HubRequest, timeout_ms: u32, done: impl FnOnce(HttpOutcome) + 'static) {
    let init = RequestInit::new();
    match req.method {
        Method::Get => init.set_method("GET"),
        Method::Post => init.set_method("POST"),
    }
    // A string body is sent as `text/plain;charset=UTF-8` (the Fetch standard's content type for a string,
    // `hub::POST_CONTENT_TYPE`): the POST stays a CORS simple request, no preflight the hub might not answer.
    init.set_body_opt_str(req.body.as_deref());
    let timed_out = Rc::new(Cell::new(false));
    let (sent, timer) = match AbortController::new() {
        Ok(controller) => {
            init.set_signal(Some(&controller.signal()));
            let flag = timed_out.clone();
            let timer = Timeout::new(timeout_ms, move || {
                flag.set(true);
                controller.abort();
            });
            (fetch_with_init(&req.url, &init), Some(timer))
        }
        // Without a controller there is no timeout: answered as a network failure, later, like any other.
        Err(_) => (
            Promise::resolve(&JsValue::UNDEFINED).unchecked_into::<Thenable>(),
            None,
        ),
    };
    let finish = move |outcome: HttpOutcome| {
        // Dropping the timer (when the answer comes first) cancels it.
        drop(timer);
        done(if timed_out.get() {
            HttpOutcome::Timeout
        } else {
            outcome
        });
    };
    // Each promise settles once, fulfilled or rejected, and both paths go to the same function: it is called
    // exactly once and then freed (`once_into_js`), so nothing leaks per request. A fulfilled value is told
    // from a rejection by its type.
    let on_response = Closure::once_into_js(move |v: JsValue| {
        let Some((status, body)) = v
            .dyn_into::<Response>()
            .ok()
            .and_then(|resp| Some((resp.status(), resp.array_buffer().ok()?)))
        else {
            return finish(HttpOutcome::Network);
        };
        let on_body = Closure::once_into_js(move |b: JsValue| {
            finish(match b.dyn_ref::<ArrayBuffer>() {
                Some(buf) => HttpOutcome::Answer {
                    status,
                    body: Uint8Array::new(buf).to_vec(),
                },
                None => HttpOutcome::Network,
            })
        });
        body.unchecked_ref::<Thenable>()
            .then_either(&on_body, &on_body);
    });
    sent.then_either(&on_response, &on_response);
}
