//! Browser proof: the core, compiled to wasm, runs in headless Chromium (`wasm-pack test --headless --chrome`).
#![cfg(target_arch = "wasm32")]

use kuando_connector::hub::{self, Endpoint, LampCommand, Rgb};
use kuando_connector::mapping::{transform, Transform};
use kuando_connector::state::MyAppsState;
use kuando_connector::trace::{self, App};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn transform_table_works_in_the_browser() {
    assert_eq!(
        transform("MS Teams", "On-The-Phone"),
        Transform::State(MyAppsState::OnThePhone)
    );
    assert_eq!(
        transform("manual_changer", "dnd"),
        Transform::State(MyAppsState::Dnd)
    );
    assert_eq!(transform("innovaphone myApps", "Blink"), Transform::Own);
    assert_eq!(
        transform("Skype", "Call Alert"),
        Transform::UnknownApplication
    );
    assert_eq!(
        kuando_connector::web::transform_js("Zoom", "In-a-Zoom-Meeting"),
        "onthephone"
    );
    assert_eq!(
        kuando_connector::web::transform_js("Zoom", "Lunch"),
        "unknown-event"
    );
}

#[wasm_bindgen_test]
fn hub_requests_and_parsers_work_in_the_browser() {
    let e = Endpoint::new("http://127.0.0.1:8989", "tok en").unwrap();
    let r = e.command(
        LampCommand::blink(Rgb::new(100, 0, 0).unwrap()),
        Some(kuando_connector::config::LampSlot::Ringing),
    );
    // The token in the header; in the URL only in the fallback form.
    assert_eq!(r.url, "http://127.0.0.1:8989/");
    assert_eq!(r.token_header.as_deref(), Some("tok en"));
    assert_eq!(
        r.clone().token_in_url().url,
        "http://127.0.0.1:8989/?accesstoken=tok%20en&http_token=tok%20en"
    );
    let body = r.body.unwrap();
    assert!(body.contains(r#""sender":"innovaphone myApps""#));
    assert!(body.contains(r#""eventtype":"Call""#) && body.contains(r#""eventname":"Ringing""#));
    let p = hub::parse_current_presence(
        200,
        br#"{"runningcommand":{"sender":"Webex","eventname":"On-The-Phone"}}"#,
    )
    .unwrap();
    assert_eq!(p.running.unwrap().sender, "Webex");
    assert_eq!(hub::parse_probe(401, b""), Err(hub::HubError::Unauthorized));
}

#[wasm_bindgen_test]
fn traces_are_prefixed_and_redacted_in_the_browser() {
    let l = trace::line(
        App::Connector,
        "GET http://h/?accesstoken=abc&http_token=abc",
        &["abc"],
    );
    assert_eq!(
        l,
        "kuando-log: GET http://h/?accesstoken=***&http_token=***"
    );
}
