//! Sends one hub request with `fetch` (gloo-net) and an `AbortSignal` timeout, so a hung hub never blocks the
//! next poll. Decides nothing: the status and body go back to the core as they came.

use gloo_net::http::Request;
use gloo_timers::callback::Timeout;
use web_sys::AbortController;

use crate::hub::{HubRequest, Method, Outcome as HttpOutcome, POST_CONTENT_TYPE};

/// Sends `req`, giving up after `timeout_ms`.
pub async fn send(req: &HubRequest, timeout_ms: u32) -> HttpOutcome {
    let Ok(controller) = AbortController::new() else {
        return HttpOutcome::Network;
    };
    let signal = controller.signal();
    let timed_out = std::rc::Rc::new(std::cell::Cell::new(false));
    let flag = timed_out.clone();
    // Dropping the Timeout (when the answer comes first) cancels it.
    let _timer = Timeout::new(timeout_ms, move || {
        flag.set(true);
        controller.abort();
    });
    let builder = match req.method {
        Method::Get => Request::get(&req.url),
        // text/plain keeps the POST a CORS simple request: no preflight the hub might not answer.
        Method::Post => Request::post(&req.url).header("Content-Type", POST_CONTENT_TYPE),
    }
    .abort_signal(Some(&signal));
    let sent = match &req.body {
        Some(body) => match builder.body(body.as_str()) {
            Ok(r) => r.send().await,
            Err(_) => return HttpOutcome::Network,
        },
        None => builder.send().await,
    };
    let outcome = match sent {
        Ok(resp) => {
            let status = resp.status();
            match resp.binary().await {
                Ok(body) => HttpOutcome::Answer { status, body },
                Err(_) => HttpOutcome::Network,
            }
        }
        Err(_) => HttpOutcome::Network,
    };
    if timed_out.get() {
        HttpOutcome::Timeout
    } else {
        outcome
    }
}
