//! The hub token in the `http_token` header, and the URL form only for a hub that refuses the header's
//! preflight, in virtual time.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{HubMode, World};
use kuando_connector::config::Config;
use kuando_connector::engine::{HubStatus, TOKEN_HEADER_RETRY_MS, TOKEN_IN_URL_TEXT};
use kuando_connector::hub::RequestKind;
use kuando_connector::proto::License;

const TOKEN: &str = "S3cret-T0ken";

fn remote() -> Config {
    Config {
        hub_url: "http://192.168.0.100:8989/".into(),
        token: TOKEN.into(),
        ..Config::default()
    }
}

fn world(no_preflight: bool) -> World {
    let mut w = World::blank();
    w.hub.required_token = Some(TOKEN.into());
    w.hub.no_preflight = no_preflight;
    w.service(true);
    w.engine.handle_license(w.now, License::WithBusylight);
    w.engine.handle_config(w.now, remote());
    w.pump();
    w.run_for(5_000);
    w
}

fn in_url(w: &World, since: u64) -> usize {
    w.hub_requests_since(since)
        .iter()
        .filter(|(_, r)| r.url.contains(TOKEN))
        .count()
}

#[test]
fn with_a_token_every_request_carries_it_in_the_header_and_no_url_does() {
    let mut w = world(false);
    w.incoming_call("1");
    w.run_for(60_000);
    assert_eq!(w.status().hub, HubStatus::Reachable);
    let reqs = w.hub_requests_since(0);
    assert!(reqs.len() > 20);
    for (_, r) in &reqs {
        assert!(!r.url.contains(TOKEN), "{}", r.url);
        assert_eq!(r.token_header.as_deref(), Some(TOKEN), "{:?}", r.kind);
    }
    assert!(w.lamp().is_some(), "the hub took the lamp command");
    assert!(!w.status().token_in_url);
    assert!(w.traces().iter().all(|l| !l.contains(TOKEN)));
}

#[test]
fn a_hub_that_refuses_the_preflight_gets_the_token_in_the_url_said_once() {
    let mut w = world(true);
    w.run_for(60_000);
    assert_eq!(w.status().hub, HubStatus::Reachable);
    assert!(w.status().token_in_url);
    let reqs = w.hub_requests_since(0);
    // The header probe failed, the check without any token got an answer, and only then did the token go in
    // the URL.
    let first_in_url = reqs
        .iter()
        .position(|(_, r)| r.url.contains(TOKEN))
        .unwrap();
    let check = reqs
        .iter()
        .position(|(_, r)| r.kind == RequestKind::TokenCheck)
        .unwrap();
    assert!(check < first_in_url);
    assert!(reqs[..check]
        .iter()
        .all(|(_, r)| r.token_header.is_some() && !r.url.contains(TOKEN)));
    assert!(reqs[check].1.token_header.is_none() && !reqs[check].1.url.contains(TOKEN));
    let said: Vec<String> = w
        .traces()
        .into_iter()
        .filter(|l| l.contains(TOKEN_IN_URL_TEXT))
        .collect();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(w.traces().iter().all(|l| !l.contains(TOKEN)), "redacted");
    w.incoming_call("1");
    w.run_for(2_000);
    assert!(w.lamp().is_some(), "lamp commands work in the URL form");
}

#[test]
fn a_hub_that_is_down_is_not_taken_for_one_that_refuses_the_header() {
    let mut w = World::blank();
    w.hub.required_token = Some(TOKEN.into());
    w.hub.mode = HubMode::Down;
    w.service(true);
    w.engine.handle_license(w.now, License::WithBusylight);
    w.engine.handle_config(w.now, remote());
    w.pump();
    w.run_for(120_000);
    assert_eq!(w.status().hub, HubStatus::Unreachable);
    assert!(!w.status().token_in_url);
    assert_eq!(
        in_url(&w, 0),
        0,
        "a hub that is down never sees the token in a URL"
    );
    // Back up: the header works at once.
    w.hub.mode = HubMode::Up;
    w.run_for(120_000);
    assert_eq!(w.status().hub, HubStatus::Reachable);
    assert_eq!(in_url(&w, 0), 0);
}

#[test]
fn the_header_is_tried_again_after_an_hour_and_after_a_settings_change() {
    let mut w = world(true);
    w.run_for(10_000);
    assert!(w.status().token_in_url);
    // The hub learns preflights (an update); an hour later the header is tried and kept.
    w.hub.no_preflight = false;
    let t = w.now;
    w.run_for(TOKEN_HEADER_RETRY_MS + 10_000);
    assert!(!w.status().token_in_url);
    let after: Vec<_> = w
        .hub_requests_since(t + TOKEN_HEADER_RETRY_MS + 5_000)
        .into_iter()
        .collect();
    assert!(!after.is_empty());
    assert!(after.iter().all(|(_, r)| !r.url.contains(TOKEN)));

    // A settings change tries the header again at once (and falls back again, quietly, on the same hub).
    let mut w = world(true);
    assert!(w.status().token_in_url);
    let t = w.now;
    let mut c = remote();
    c.poll_interval = 3;
    w.set_config(c);
    assert!(!w.status().token_in_url);
    w.run_for(20_000);
    assert!(w.status().token_in_url);
    let reqs = w.hub_requests_since(t);
    assert!(reqs[0].1.token_header.is_some(), "{:?}", reqs[0].1.kind);
    assert_eq!(
        w.traces()
            .iter()
            .filter(|l| l.contains(TOKEN_IN_URL_TEXT))
            .count(),
        1,
        "said once per hub URL"
    );
}

#[test]
fn without_a_token_nothing_changes() {
    let mut w = World::started();
    w.run_for(30_000);
    for (_, r) in w.hub_requests_since(0) {
        assert_eq!(r.token_header, None);
        assert!(!r.url.contains("token"));
        assert_ne!(r.kind, RequestKind::TokenCheck);
    }
}
