//! Sends one hub request with `fetch` and an `AbortSignal` timeout, so a hung hub never blocks the next poll.
//! Decides nothing: the status and body go back to the core as they came.
//!
//! Straight on web-sys rather than through gloo-net: gloo-net's request builder (the `http` crate's methods,
//! `URL`, `URLSearchParams`, `Headers`, its error conversions) cost the hidden app some 10 KB of wasm and
//! glue for the four calls used here.

use std::cell::Cell;
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, RequestInit, Response};

use crate::hub::{HubRequest, Method, Outcome as HttpOutcome};

#[wasm_bindgen]
extern "C" {
    /// The global `fetch(url, init)`, as gloo-net binds it: no `web_sys::window()` lookup needed.
    #[wasm_bindgen(js_name = fetch)]
    fn fetch_with_init(url: &str, init: &RequestInit) -> Promise;
}

/// Sends `req`, giving up after `timeout_ms`.
pub async fn send(req: &HubRequest, timeout_ms: u32) -> HttpOutcome {
    let Ok(controller) = AbortController::new() else {
        return HttpOutcome::Network;
    };
    let init = RequestInit::new();
    init.set_signal(Some(&controller.signal()));
    match req.method {
        Method::Get => init.set_method("GET"),
        Method::Post => init.set_method("POST"),
    }
    // A string body is sent as `text/plain;charset=UTF-8` (the Fetch standard's content type for a string,
    // `hub::POST_CONTENT_TYPE`): the POST stays a CORS simple request, no preflight the hub might not answer.
    init.set_body_opt_str(req.body.as_deref());
    let timed_out = Rc::new(Cell::new(false));
    let flag = timed_out.clone();
    // Dropping the Timeout (when the answer comes first) cancels it.
    let _timer = Timeout::new(timeout_ms, move || {
        flag.set(true);
        controller.abort();
    });
    let outcome = match JsFuture::from(fetch_with_init(&req.url, &init)).await {
        Ok(resp) => {
            // `fetch` resolves to a `Response` and nothing else.
            let resp = resp.unchecked_into::<Response>();
            body(&resp)
                .await
                .map_or(HttpOutcome::Network, |body| HttpOutcome::Answer {
                    status: resp.status(),
                    body,
                })
        }
        Err(_) => HttpOutcome::Network,
    };
    if timed_out.get() {
        HttpOutcome::Timeout
    } else {
        outcome
    }
}

async fn body(resp: &Response) -> Option<Vec<u8>> {
    let buf = JsFuture::from(resp.array_buffer().ok()?).await.ok()?;
    Some(Uint8Array::new(&buf).to_vec())
}
