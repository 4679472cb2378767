//! Sends one hub request with gloo-net's `fetch` and an `AbortSignal` timeout, so a hung hub never blocks the
//! next poll. Decides nothing: the status and body go back to the core as they came.

use std::cell::Cell;
use std::rc::Rc;

use gloo_net::http::{Method as HttpMethod, RequestBuilder};
use gloo_timers::callback::Timeout;
use web_sys::AbortController;

use crate::hub::{HubOutcome, HubRequest, Method, TOKEN_HEADER};

/// Sends `req`, giving up after `timeout_ms`, and calls `done` with what became of it: always exactly once,
/// and never before `send` has returned (the caller may still hold what `done` needs; `spawn_local` first
/// polls the request on a later microtask).
pub fn send(req: &HubRequest, timeout_ms: u32, done: impl FnOnce(HubOutcome) + 'static) {
    let url = req.url.clone();
    let method = match req.method {
        Method::Get => HttpMethod::GET,
        Method::Post => HttpMethod::POST,
    };
    let body = req.body.clone();
    let token = req.token_header.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let timed_out = Rc::new(Cell::new(false));
        // Without a controller there is no timeout: the request is still sent and answered as it comes.
        let controller = AbortController::new().ok();
        let _timer = controller.clone().map(|c| {
            let flag = timed_out.clone();
            // Dropped (cancelled) when the answer comes first.
            Timeout::new(timeout_ms, move || {
                flag.set(true);
                c.abort();
            })
        });
        let signal = controller.as_ref().map(|c| c.signal());
        let mut builder = RequestBuilder::new(&url)
            .method(method)
            .abort_signal(signal.as_ref());
        // The core decided where the token goes; with the header the browser sends a CORS preflight first.
        if let Some(token) = &token {
            builder = builder.header(TOKEN_HEADER, token);
        }
        // A string body is sent as `text/plain;charset=UTF-8` (the Fetch standard's content type for a string,
        // `hub::POST_CONTENT_TYPE`): without the token header the POST stays a CORS simple request.
        let request = match body {
            Some(text) => builder.body(text),
            None => builder.build(),
        };
        let outcome = answer(request).await.unwrap_or(HubOutcome::Network);
        done(if timed_out.get() {
            HubOutcome::Timeout
        } else {
            outcome
        });
    });
}

/// The hub's answer, status and body as they came; any failure on the way is a network failure to the core.
async fn answer(
    request: Result<gloo_net::http::Request, gloo_net::Error>,
) -> Result<HubOutcome, gloo_net::Error> {
    let response = request?.send().await?;
    Ok(HubOutcome::Answer {
        status: response.status(),
        body: response.binary().await?,
    })
}
