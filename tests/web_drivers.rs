//! Browser tests of the wasm drivers in headless Chromium (`wasm-pack test --headless --chrome`): the hub client
//! (`web::http`) against the real hub simulator, the launcher driver (`web::parent`) against a parent window,
//! the wake-up timer (`web::timer`) and the clock (`web::clock`).
//!
//! The hub tests need a running `kuando-sim hub`; its URL is compiled in from `KUANDO_TEST_HUB`
//! (`./build.sh test` starts one and sets it). The test page is served by wasm-bindgen's runner on another
//! port than the hub, so every hub request here is a cross-origin request, as it is from myApps.
//!
//! wasm-bindgen-test runs the tests of this file one after another, so each hub test can reset the simulator
//! and set its own fault without disturbing another.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;
use js_sys::{Object, Promise, Reflect};
use kuando_connector::config::LampSlot;
use kuando_connector::hub::{self, Endpoint, HubError, HubOutcome, HubRequest, LampCommand, Rgb};
use kuando_connector::myapps::launcher;
use kuando_connector::web::{clock, http, parent, timer::Wakeup};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{Event, MessageEvent, Window};

wasm_bindgen_test_configure!(run_in_browser);

// ---------------------------------------------------------------------------------------------------------
// Helpers

/// The hub simulator's URL (`http://127.0.0.1:PORT/`). Missing, the hub tests fail rather than pass without
/// having tested anything.
fn hub_url() -> &'static str {
    match option_env!("KUANDO_TEST_HUB") {
        Some(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "KUANDO_TEST_HUB is not set: start `kuando-sim hub --hub-port 0` and build the browser tests with \
             KUANDO_TEST_HUB=http://127.0.0.1:PORT/ (./build.sh test does both)"
        ),
    }
}

fn endpoint(token: &str) -> Endpoint {
    Endpoint::new(hub_url(), token)
        .unwrap_or_else(|e| panic!("KUANDO_TEST_HUB={}: {e:?}", hub_url()))
}

/// The hub's timeout in these tests when the answer is expected: long enough for a slow CI machine.
const GENEROUS_MS: u32 = 5_000;

#[wasm_bindgen]
extern "C" {
    // The control API is called with a bare `fetch`, not through the driver under test, so a driver bug
    // cannot hide behind the test's own set-up. Bound here so the test needs no extra crate or web-sys feature.
    #[wasm_bindgen(js_name = fetch)]
    fn js_fetch(url: &str, init: &JsValue) -> Promise;

    type FetchResponse;
    #[wasm_bindgen(method, getter)]
    fn status(this: &FetchResponse) -> u16;
    #[wasm_bindgen(method)]
    fn text(this: &FetchResponse) -> Promise;
}

/// Calls the simulator's control API (`/_sim/<path>`): a POST with the JSON `body` (sent as text/plain, a CORS
/// simple request), or a GET without. Returns the JSON answer (the simulator's state); anything else fails.
async fn sim(path: &str, body: Option<&str>) -> Value {
    let url = format!("{}_sim/{path}", hub_url());
    let init = Object::new();
    if let Some(b) = body {
        let _ = Reflect::set(&init, &"method".into(), &"POST".into());
        let _ = Reflect::set(&init, &"body".into(), &b.into());
    }
    let resp = match JsFuture::from(js_fetch(&url, &init)).await {
        Ok(r) => r.unchecked_into::<FetchResponse>(),
        Err(e) => panic!("{url}: no answer from the hub simulator ({e:?}); is it running?"),
    };
    let status = resp.status();
    let text = JsFuture::from(resp.text())
        .await
        .ok()
        .and_then(|t| t.as_string())
        .unwrap_or_default();
    assert_eq!(status, 200, "{url} {body:?} answered {status}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: not JSON ({e}): {text}"))
}

/// Back to the simulator's start state (one lamp, Manual Changer "Available", no fault, no token, empty log).
async fn reset_hub() {
    sim("reset", Some("{}")).await;
}

async fn fault(json: &str) {
    let state = sim("fault", Some(json)).await;
    assert_ne!(state["fault"]["mode"], "none", "fault {json} not set");
}

/// The simulator's request log (without `/_sim/` requests), oldest first.
async fn hub_log() -> Vec<Value> {
    match sim("state", None).await["log"].take() {
        Value::Array(a) => a,
        other => panic!("no log in the simulator state: {other}"),
    }
}

async fn sleep(ms: u32) {
    TimeoutFuture::new(ms).await;
}

/// Waits (in short steps, at most `max_ms`) until `done` holds; returns whether it did.
async fn wait_for(max_ms: u64, done: impl Fn() -> bool) -> bool {
    let until = clock::now_ms() + max_ms;
    while !done() {
        if clock::now_ms() > until {
            return false;
        }
        sleep(5).await;
    }
    true
}

/// Sends through the driver (callback style) and waits for its one outcome.
async fn send(req: &HubRequest, timeout_ms: u32) -> HubOutcome {
    let slot: Rc<RefCell<Option<HubOutcome>>> = Rc::default();
    let filled = slot.clone();
    let req = req.clone();
    let done = Promise::new(&mut move |resolve, _reject| {
        let filled = filled.clone();
        http::send(&req, timeout_ms, move |outcome| {
            *filled.borrow_mut() = Some(outcome);
            let _ = resolve.call0(&JsValue::UNDEFINED);
        });
    });
    let _ = JsFuture::from(done).await;
    let outcome = slot.borrow_mut().take();
    outcome.expect("the driver calls back exactly once")
}

/// Sends through the driver and returns the outcome with how long it took.
async fn timed_send(req: &HubRequest, timeout_ms: u32) -> (HubOutcome, u64) {
    let t0 = clock::now_ms();
    let outcome = send(req, timeout_ms).await;
    (outcome, clock::now_ms() - t0)
}

fn answer(outcome: HubOutcome) -> (u16, Vec<u8>) {
    match outcome {
        HubOutcome::Answer { status, body } => (status, body),
        other => panic!("expected an answer from the hub, got {other:?}"),
    }
}

fn window() -> Window {
    web_sys::window().expect("the tests run in a browser window")
}

// ---------------------------------------------------------------------------------------------------------
// Hub client (web::http) against the hub simulator

#[wasm_bindgen_test]
async fn the_hub_client_answers_once_and_never_before_send_returns() {
    // The drivers call `send` while they hold their state; an answer from inside `send` would find it
    // borrowed. Even a request that fails at once (nothing listens) answers later, and only once.
    let calls = Rc::new(std::cell::Cell::new(0));
    let c = calls.clone();
    let req = Endpoint::new("http://127.0.0.1:9/", "").unwrap().probe();
    http::send(&req, GENEROUS_MS, move |_| c.set(c.get() + 1));
    assert_eq!(calls.get(), 0);
    assert!(wait_for(u64::from(GENEROUS_MS), || calls.get() > 0).await);
    sleep(50).await;
    assert_eq!(calls.get(), 1);
}

#[wasm_bindgen_test]
async fn hub_probe_presence_and_devices_are_answered_and_parsed() {
    reset_hub().await;
    let e = endpoint("");
    let (status, body) = answer(send(&e.probe(), GENEROUS_MS).await);
    assert_eq!(hub::parse_probe(status, &body), Ok(()));

    let (status, body) = answer(send(&e.current_presence(), GENEROUS_MS).await);
    let running = hub::parse_current_presence(status, &body)
        .expect("currentpresence parses")
        .running
        .expect("the simulator starts with Manual Changer running");
    assert_eq!(running.sender, "Manual Changer");
    assert_eq!(running.eventname, "Available");

    let (status, body) = answer(send(&e.devices(), GENEROUS_MS).await);
    let devices = hub::parse_devices(status, &body).expect("busylightdevices parses");
    assert_eq!(devices.len(), 1);
    assert!(devices[0].light);
}

#[wasm_bindgen_test]
async fn hub_answer_later_than_the_timeout_is_a_timeout_and_the_next_request_works() {
    reset_hub().await;
    fault(r#"{"mode":"delay","ms":3000,"actions":["currentpresence"],"times":1}"#).await;
    let e = endpoint("");
    let (outcome, took) = timed_send(&e.current_presence(), 300).await;
    assert_eq!(outcome, HubOutcome::Timeout);
    // Aborted at the timeout, not when the hub finally answers (3 s).
    assert!(
        (290..1_500).contains(&took),
        "timed out after {took} ms, expected about 300"
    );

    // The hung request blocks nothing: the next one (the fault was for one request) is answered at once.
    let (outcome, took) = timed_send(&e.current_presence(), GENEROUS_MS).await;
    let (status, body) = answer(outcome);
    assert!(hub::parse_current_presence(status, &body).is_ok());
    assert!(took < 1_500, "the next request took {took} ms");
}

#[wasm_bindgen_test]
async fn hub_answer_slower_than_usual_but_within_the_timeout_is_kept() {
    reset_hub().await;
    fault(r#"{"mode":"delay","ms":150,"actions":["probe"],"times":1}"#).await;
    let (outcome, took) = timed_send(&endpoint("").probe(), GENEROUS_MS).await;
    let (status, body) = answer(outcome);
    assert_eq!(hub::parse_probe(status, &body), Ok(()));
    assert!(
        took >= 140,
        "answered after {took} ms: the delay did not apply"
    );
}

#[wasm_bindgen_test]
async fn hub_garbage_answer_is_rejected_as_malformed() {
    reset_hub().await;
    fault(r#"{"mode":"garbage","times":2}"#).await;
    let e = endpoint("");
    let (status, body) = answer(send(&e.current_presence(), GENEROUS_MS).await);
    assert_eq!(status, 200);
    assert!(
        matches!(
            hub::parse_current_presence(status, &body),
            Err(HubError::Malformed(_))
        ),
        "garbage taken for a presence: {:?}",
        String::from_utf8_lossy(&body)
    );
    let (status, body) = answer(send(&e.probe(), GENEROUS_MS).await);
    assert!(matches!(
        hub::parse_probe(status, &body),
        Err(HubError::Malformed(_))
    ));
}

#[wasm_bindgen_test]
async fn hub_rejecting_the_token_is_unauthorized_and_the_right_token_works() {
    reset_hub().await;
    sim(
        "settings",
        Some(r#"{"token":"s3cret-hub-token","require_token":true}"#),
    )
    .await;
    let wrong = endpoint("not-the-token");
    let (status, body) = answer(send(&wrong.current_presence(), GENEROUS_MS).await);
    assert_eq!(status, 401);
    assert_eq!(
        hub::parse_current_presence(status, &body),
        Err(HubError::Unauthorized)
    );
    let (status, body) = answer(send(&endpoint("").probe(), GENEROUS_MS).await);
    assert_eq!(hub::parse_probe(status, &body), Err(HubError::Unauthorized));

    let right = endpoint("s3cret-hub-token");
    let (status, body) = answer(send(&right.current_presence(), GENEROUS_MS).await);
    assert!(hub::parse_current_presence(status, &body).is_ok());
}

#[wasm_bindgen_test]
async fn the_token_goes_in_the_header_after_a_preflight_and_a_hub_refusing_it_fails_the_request() {
    reset_hub().await;
    sim(
        "settings",
        Some(r#"{"token":"s3cret-hub-token","require_token":true}"#),
    )
    .await;
    let e = endpoint("s3cret-hub-token");
    let req = e.current_presence();
    assert!(!req.url.contains("s3cret"));
    let (status, body) = answer(send(&req, GENEROUS_MS).await);
    assert!(
        hub::parse_current_presence(status, &body).is_ok(),
        "{status}"
    );
    let log = hub_log().await;
    let methods: Vec<&str> = log.iter().filter_map(|r| r["method"].as_str()).collect();
    assert_eq!(methods, ["OPTIONS", "GET"], "requests the hub saw: {log:?}");
    assert!(log
        .iter()
        .all(|r| !r["url"].as_str().unwrap_or("").contains("token")));

    // A hub that does not answer preflights: the browser never sends the request; without the header it
    // answers.
    reset_hub().await;
    sim(
        "settings",
        Some(r#"{"token":"s3cret-hub-token","require_token":true,"no_preflight":true}"#),
    )
    .await;
    assert_eq!(
        send(&e.devices(), GENEROUS_MS).await,
        HubOutcome::Network,
        "a refused preflight fails the request"
    );
    let (status, _) = answer(send(&e.token_check(), GENEROUS_MS).await);
    assert_eq!(status, 401, "the check without any token gets an answer");
    let url_form = e.clone().with_form(hub::TokenForm::Url);
    let (status, body) = answer(send(&url_form.devices(), GENEROUS_MS).await);
    assert!(hub::parse_devices(status, &body).is_ok(), "{status}");
}

#[wasm_bindgen_test]
async fn hub_without_a_lamp_answers_lamp_commands_with_no_device() {
    reset_hub().await;
    sim("devices", Some(r#"{"count":0}"#)).await;
    let e = endpoint("");
    let cmd = e.command(
        LampCommand::Light(Rgb::new(100, 0, 0).expect("valid colour")),
        Some(LampSlot::Connected),
    );
    let (status, body) = answer(send(&cmd, GENEROUS_MS).await);
    assert_eq!(status, 404);
    assert_eq!(
        hub::parse_command_response(status, &body),
        Err(HubError::NoDevice)
    );
    let (status, body) = answer(send(&e.devices(), GENEROUS_MS).await);
    assert_eq!(hub::parse_devices(status, &body), Ok(Vec::new()));
}

#[wasm_bindgen_test]
async fn hub_status_faults_reach_the_parsers_unchanged() {
    reset_hub().await;
    fault(r#"{"mode":"404","actions":["currentpresence"],"times":1}"#).await;
    let e = endpoint("");
    let (status, body) = answer(send(&e.current_presence(), GENEROUS_MS).await);
    assert_eq!(
        hub::parse_current_presence(status, &body),
        Err(HubError::NoDevice)
    );
    fault(r#"{"mode":"401","actions":["probe"],"times":1}"#).await;
    let (status, body) = answer(send(&e.probe(), GENEROUS_MS).await);
    assert_eq!(hub::parse_probe(status, &body), Err(HubError::Unauthorized));
    fault(r#"{"mode":"500","actions":["probe"],"times":1}"#).await;
    let (status, body) = answer(send(&e.probe(), GENEROUS_MS).await);
    assert_eq!(hub::parse_probe(status, &body), Err(HubError::Status(500)));
}

#[wasm_bindgen_test]
async fn hub_closing_the_connection_is_a_network_error() {
    reset_hub().await;
    // Not limited to one request: Chromium may retry a GET once on a fresh connection when a reused one closes
    // without an answer, and the retry must meet the same hub.
    fault(r#"{"mode":"close"}"#).await;
    let e = endpoint("");
    let (outcome, took) = timed_send(&e.current_presence(), GENEROUS_MS).await;
    assert_eq!(outcome, HubOutcome::Network);
    assert!(took < 2_000, "the closed connection took {took} ms");
    reset_hub().await;
}

#[wasm_bindgen_test]
async fn hub_port_where_nothing_listens_is_a_network_error() {
    // 65531 is above Linux's ephemeral port range (32768..60999), so only a server started on purpose could
    // hold it; if one does, this test fails with the answer it got.
    let e = Endpoint::new("http://127.0.0.1:65531/", "").expect("valid URL");
    let (outcome, took) = timed_send(&e.probe(), GENEROUS_MS).await;
    assert_eq!(
        outcome,
        HubOutcome::Network,
        "something listens on 127.0.0.1:65531"
    );
    assert!(took < 2_000, "a refused connection took {took} ms");
}

#[wasm_bindgen_test]
async fn hub_accepts_a_cross_origin_post_command_without_preflight() {
    reset_hub().await;
    // A hub set up as the concept recommends (a fresh one has no line for the connector yet).
    sim("priorities", Some(r#"{"preset":"concept"}"#)).await;
    let page_origin = window().location().origin().expect("page origin");
    assert!(
        !hub_url().starts_with(&page_origin),
        "the test page ({page_origin}) must be another origin than the hub ({})",
        hub_url()
    );
    let e = endpoint("");
    let cmd = e.command(
        LampCommand::Light(Rgb::new(0, 0, 100).expect("valid colour")),
        Some(LampSlot::Connected),
    );
    let sent_body = cmd.body.clone().expect("a POST command has a body");
    let (status, body) = answer(send(&cmd, GENEROUS_MS).await);
    assert_eq!(hub::parse_command_response(status, &body), Ok(()));

    // Exactly one request arrived: the POST itself, with no OPTIONS preflight before it (text/plain keeps it
    // a simple request), with the body as sent and nothing the hub had to forgive.
    let log = hub_log().await;
    let methods: Vec<&str> = log.iter().filter_map(|r| r["method"].as_str()).collect();
    assert_eq!(methods, ["POST"], "requests the hub saw: {log:?}");
    let entry = &log[0];
    assert_eq!(entry["status"], 200);
    assert_eq!(entry["sender"], hub::SENDER);
    assert_eq!(entry["body"], sent_body.as_str());
    assert_eq!(entry["lenient"], Value::Array(Vec::new()));

    // And the lamp shows it.
    let lamp = &sim("state", None).await["lamp"];
    assert_eq!(lamp["source"], hub::SENDER);
    assert_eq!(lamp["effect"], "light");
    assert_eq!(lamp["color"]["hex"], "#0000ff");
}

// ---------------------------------------------------------------------------------------------------------
// Launcher driver (web::parent). In the test page the window is its own parent, so `post` goes to the page
// itself and `listen` hears it as a message from the parent.

type Inbox = Rc<RefCell<Vec<String>>>;

/// `parent::listen` with an inbox; returns the listener so the test can remove it again.
fn listen_into(w: &Window) -> (Inbox, Closure<dyn FnMut(Event)>) {
    let inbox: Inbox = Rc::default();
    let sink = inbox.clone();
    let cb = parent::listen(w, move |text| sink.borrow_mut().push(text));
    (inbox, cb)
}

fn unlisten(w: &Window, cb: Closure<dyn FnMut(Event)>) {
    let _ = w.remove_event_listener_with_callback("message", cb.as_ref().unchecked_ref());
}

#[wasm_bindgen_test]
async fn launcher_messages_from_the_parent_arrive_as_text_and_non_text_is_ignored() {
    let w = window();
    let parent_is_self = w
        .parent()
        .ok()
        .flatten()
        .is_some_and(|p| JsValue::from(p) == JsValue::from(w.clone()));
    assert!(parent_is_self, "the test page must be a top-level window");
    let (inbox, cb) = listen_into(&w);

    // An object (not JSON text) first: myApps speaks text only, so the driver drops it.
    w.post_message(&Object::new().into(), "*")
        .expect("postMessage");
    let alive = launcher::alive();
    let consume = launcher::consume_api("com.innovaphone.client");
    parent::post(&w, &alive);
    parent::post(&w, &consume);

    let arrived = wait_for(2_000, || inbox.borrow().len() >= 2).await;
    unlisten(&w, cb);
    assert!(arrived, "messages did not arrive: {:?}", inbox.borrow());
    assert_eq!(*inbox.borrow(), [alive, consume]);
}

#[wasm_bindgen_test]
async fn launcher_ignores_messages_from_other_windows() {
    let w = window();
    let doc = w.document().expect("document");
    let (inbox, cb) = listen_into(&w);
    // Every message the page gets, whoever sent it: proves the other window's message really came.
    let seen: Inbox = Rc::default();
    let sink = seen.clone();
    let raw = Closure::<dyn FnMut(Event)>::new(move |ev: Event| {
        if let Some(text) = ev.unchecked_ref::<MessageEvent>().data().as_string() {
            sink.borrow_mut().push(text);
        }
    });
    w.add_event_listener_with_callback("message", raw.as_ref().unchecked_ref())
        .expect("addEventListener");

    // A child frame posting a launcher message to its parent (this page): the page's own parent did not send
    // it. The message is JSON in a JS string in an HTML attribute, hence the `&quot;`.
    let from_child = r#"{"mt":"SetLang","lang":"de"}"#;
    let frame = format!(
        r#"<iframe id="other-window" srcdoc="<script>parent.postMessage('{}', '*')</script>"></iframe>"#,
        from_child.replace('"', "&quot;")
    );
    let body = doc.body().expect("body");
    body.insert_adjacent_html("beforeend", &frame)
        .expect("iframe");
    let came = wait_for(3_000, || seen.borrow().iter().any(|m| m == from_child)).await;

    // Then one from the parent, to show the listener still works and the child's message was not queued.
    let marker = launcher::alive();
    parent::post(&w, &marker);
    let marker_came = wait_for(2_000, || !inbox.borrow().is_empty()).await;

    unlisten(&w, cb);
    let _ = w.remove_event_listener_with_callback("message", raw.as_ref().unchecked_ref());
    if let Some(frame) = doc.get_element_by_id("other-window") {
        frame.remove();
    }
    assert!(
        came,
        "the child frame's message never came: {:?}",
        seen.borrow()
    );
    assert!(marker_came, "the parent's message never came");
    assert_eq!(*inbox.borrow(), [marker]);
}

// ---------------------------------------------------------------------------------------------------------
// Wake-up timer (web::timer) and clock (web::clock). Real time, short waits, generous bounds.

type Firings = Rc<RefCell<Vec<(&'static str, u64)>>>;

fn recorder(firings: &Firings, name: &'static str) -> impl FnOnce() + 'static {
    let f = firings.clone();
    move || f.borrow_mut().push((name, clock::now_ms()))
}

/// Waits until `firings` has an entry named `name` (generous limit: the browser may be slow on a loaded
/// machine); fails the test otherwise.
async fn wait_fired(firings: &Firings, name: &str) {
    let f = firings.clone();
    assert!(
        wait_for(u64::from(GENEROUS_MS), || f
            .borrow()
            .iter()
            .any(|(n, _)| *n == name))
        .await,
        "{name} never fired: {:?}",
        firings.borrow()
    );
}

/// Arms a timer for 20 ms from now and waits until it fired: whatever was due before it has fired too.
async fn sentinel(firings: &Firings) {
    let mut w = Wakeup::default();
    let now = clock::now_ms();
    w.set(Some(now + 20), now, recorder(firings, "sentinel"));
    wait_fired(firings, "sentinel").await;
}

#[wasm_bindgen_test]
async fn timer_fires_once_at_its_deadline() {
    let firings: Firings = Rc::default();
    let mut w = Wakeup::default();
    let now = clock::now_ms();
    let deadline = now + 100;
    w.set(Some(deadline), now, recorder(&firings, "a"));
    wait_fired(&firings, "a").await;
    let (_, at) = firings.borrow()[0];
    // setTimeout never fires early; `now_ms` truncates, hence the 1 ms. No upper bound: a loaded machine
    // may fire it late, which is no fault of the driver.
    assert!(at + 1 >= deadline, "fired at {at}, deadline {deadline}");
    // Once: a later timer fires after anything still due, and nothing else came.
    sentinel(&firings).await;
    let names: Vec<&str> = firings.borrow().iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["a", "sentinel"]);
}

#[wasm_bindgen_test]
async fn timer_rearmed_for_another_deadline_fires_only_for_the_new_one() {
    let firings: Firings = Rc::default();
    let mut w = Wakeup::default();
    let now = clock::now_ms();
    w.set(Some(now + 40), now, recorder(&firings, "first"));
    w.set(Some(now + 120), now, recorder(&firings, "second"));
    // The same deadline again keeps the armed timeout (the core asks again on every turn).
    w.set(Some(now + 120), now, recorder(&firings, "same deadline"));
    // Whatever was armed for 40 ms would have fired before the one for 120 ms.
    wait_fired(&firings, "second").await;
    sentinel(&firings).await;
    let names: Vec<&str> = firings.borrow().iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["second", "sentinel"]);
    let (_, at) = firings.borrow()[0];
    assert!(
        at + 1 >= now + 120,
        "fired at {at}, armed for {}",
        now + 120
    );
}

#[wasm_bindgen_test]
async fn timer_disarmed_or_dropped_never_fires() {
    let firings: Firings = Rc::default();
    let mut w = Wakeup::default();
    let now = clock::now_ms();
    w.set(Some(now + 30), now, recorder(&firings, "disarmed"));
    w.set(None, now, || {});
    {
        let mut dropped = Wakeup::default();
        dropped.set(Some(now + 30), now, recorder(&firings, "dropped"));
    }
    // A timer armed for later fires after both would have.
    let mut sentinel = Wakeup::default();
    sentinel.set(Some(now + 60), now, recorder(&firings, "sentinel"));
    wait_fired(&firings, "sentinel").await;
    let names: Vec<&str> = firings.borrow().iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["sentinel"]);
}

#[wasm_bindgen_test]
async fn timer_deadline_that_fired_arms_again_only_after_fired() {
    let firings: Firings = Rc::default();
    let mut w = Wakeup::default();
    let now = clock::now_ms();
    let deadline = now + 20;
    w.set(Some(deadline), now, recorder(&firings, "a"));
    wait_fired(&firings, "a").await;
    // Still marked as armed for that deadline: asking again does not fire twice (had it armed, its past
    // deadline would fire at once, before a sentinel armed after it for later).
    w.set(Some(deadline), clock::now_ms(), recorder(&firings, "b"));
    sentinel(&firings).await;
    // After `fired`, the same (now past) deadline arms again and fires at once.
    w.fired();
    w.set(Some(deadline), clock::now_ms(), recorder(&firings, "c"));
    wait_fired(&firings, "c").await;
    let names: Vec<&str> = firings.borrow().iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["a", "sentinel", "c"]);
}

#[wasm_bindgen_test]
async fn clock_is_monotonic_milliseconds_and_jitter_varies() {
    let a = clock::now_ms();
    sleep(50).await;
    let b = clock::now_ms();
    let took = b.saturating_sub(a);
    assert!(
        (45..1_000).contains(&took),
        "50 ms measured as {took} (from {a} to {b})"
    );
    let draws: Vec<u32> = (0..8).map(|_| clock::jitter()).collect();
    assert!(
        draws.iter().any(|&d| d != draws[0]),
        "jitter is constant: {draws:?}"
    );
}

// Trace output (web::console): under a myApps user agent the lines go to the parent's console, as lib1 hands
// an app the launcher's console; otherwise to the app's own. The windows here are fakes with the shape the
// driver reads (navigator.userAgent, console, parent), so both consoles can be told apart.

fn fake_window(ua: &str, parent: &str) -> JsValue {
    let js = format!(
        r#"return (() => {{ const own = [], par = [];
            const parent = ({parent});
            const d = parent && Object.getOwnPropertyDescriptor(parent, "console");
            if (d && !d.get && parent.console) parent.console.log = (l) => par.push(l);
            if (parent && parent.webkit) parent.webkit.messageHandlers.console_message_ = {{ postMessage: (l) => par.push(l) }};
            return {{ own, par, navigator: {{ userAgent: {ua:?} }}, console: {{ log: (l) => own.push(l) }}, parent }}; }})()"#
    );
    js_sys::Function::new_no_args(&js)
        .call0(&JsValue::NULL)
        .expect("fake window")
}

fn lines(w: &JsValue, which: &str) -> Vec<String> {
    let a: js_sys::Array = Reflect::get(w, &which.into()).unwrap().unchecked_into();
    a.iter().filter_map(|v| v.as_string()).collect()
}

fn trace_into(w: &JsValue, line: &str) {
    use kuando_connector::web::console::Target;
    let own = Reflect::get(w, &"console".into()).unwrap();
    Target::detect(w).write(line, &own);
}

const MYAPPS_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 myApps/1420";

#[wasm_bindgen_test]
fn traces_go_to_the_parents_console_under_a_myapps_user_agent() {
    let w = fake_window(MYAPPS_UA, "{ console: { custom: true } }");
    trace_into(&w, "kuando-log: in the myApps log");
    assert_eq!(lines(&w, "par"), ["kuando-log: in the myApps log"]);
    assert!(lines(&w, "own").is_empty());
}

#[wasm_bindgen_test]
fn traces_stay_in_the_own_console_outside_myapps_or_without_a_custom_console() {
    let w = fake_window("Mozilla/5.0 Chrome/140", "{ console: { custom: true } }");
    trace_into(&w, "kuando-log: a browser tab");
    assert_eq!(lines(&w, "own"), ["kuando-log: a browser tab"]);
    assert!(lines(&w, "par").is_empty());

    let w = fake_window(MYAPPS_UA, "{ console: {} }");
    trace_into(&w, "kuando-log: parent without console.custom");
    assert_eq!(
        lines(&w, "own"),
        ["kuando-log: parent without console.custom"]
    );
}

#[wasm_bindgen_test]
fn a_cross_origin_parent_never_breaks_the_trace() {
    // Access to a cross-origin parent's properties throws a SecurityError; the getters here do the same.
    let w = fake_window(
        MYAPPS_UA,
        r#"Object.defineProperty({}, "console", { get() { throw new DOMException("Blocked a frame", "SecurityError"); } })"#,
    );
    trace_into(&w, "kuando-log: still here");
    assert_eq!(lines(&w, "own"), ["kuando-log: still here"]);
    // The real page (a top-level window, Chromium's own user agent) writes to its own console.
    let real = web_sys::window().unwrap();
    assert!(matches!(
        kuando_connector::web::console::Target::detect(&real.into()),
        kuando_connector::web::console::Target::Own
    ));
}

#[wasm_bindgen_test]
fn the_myapps_native_apps_message_handler_is_the_fallback() {
    let w = fake_window(MYAPPS_UA, "{ webkit: { messageHandlers: {} } }");
    trace_into(&w, "kuando-log: to the native app");
    assert_eq!(lines(&w, "par"), ["kuando-log: to the native app"]);
    assert!(lines(&w, "own").is_empty());
}
