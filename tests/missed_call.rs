//! The missed-call notification as user stories, in virtual time: a call that rang and nobody took lights the
//! lamp's notification (`StartNotification`, `Light` / `Missed Call`) until the next call, a clear, its time or
//! the end of the hidden app.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::World;
use kuando_connector::config::{Config, Effect};
use kuando_connector::engine::{EngineAction, MISSED_CALL_SETTLE_MS};
use kuando_connector::hub::RequestKind;
use kuando_connector::state::{CallState, Direction};

const MINUTE: u64 = 60_000;

/// The notification requests since `t`, as `Start`/`Stop`.
fn notifications_since(w: &World, t: u64) -> Vec<&'static str> {
    w.hub_requests_since(t)
        .into_iter()
        .filter_map(|(_, r)| match r.kind {
            RequestKind::StartNotification => Some("Start"),
            RequestKind::StopNotification => Some("Stop"),
            _ => None,
        })
        .collect()
}

/// A hub with a notification of the connector's showing `Missed Call`.
fn shows_missed_call(w: &World) -> bool {
    w.hub.notification.is_some()
}

/// The caller rings and gives up; the lamp shows the missed call a moment later.
fn missed(w: &mut World, id: &str) {
    w.incoming_call(id);
    w.run_for(3_000);
    w.caller_gives_up(id);
    w.run_for(MISSED_CALL_SETTLE_MS + 1_000);
}

#[test]
fn a_call_nobody_answered_lights_the_notification_with_the_settings_colour() {
    let mut w = World::started();
    // A fresh session clears what a hidden app that died may have left.
    assert_eq!(notifications_since(&w, 0), ["Stop"]);
    let t = w.now;
    missed(&mut w, "1");
    assert!(shows_missed_call(&w), "{:?}", w.traces_since(t));
    assert_eq!(notifications_since(&w, t), ["Start"]);
    let start = w
        .hub_requests_since(t)
        .into_iter()
        .find(|(_, r)| r.kind == RequestKind::StartNotification)
        .map(|(_, r)| r)
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(start.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["sender"], "innovaphone myApps");
    assert_eq!(body["eventtype"], "Light");
    assert_eq!(body["eventname"], "Missed Call");
    // The default look: pulsing orange (#ff8000 on the hub's 0..100 scale).
    let p: serde_json::Value = serde_json::from_str(body["parameter"].as_str().unwrap()).unwrap();
    assert_eq!(
        (&p["RedRgbValue"], &p["GreenRgbValue"], &p["BlueRgbValue"]),
        (&100.into(), &50.into(), &0.into())
    );
    assert!(w.status().missed_call_since.is_some());
    assert!(w.traces_since(t).iter().any(|l| l.ends_with("missed call")));
}

#[test]
fn a_call_answered_here_or_on_another_device_is_not_missed() {
    let mut w = World::started();
    let t = w.now;
    w.incoming_call("1");
    w.run_for(2_000);
    w.answer("1");
    w.run_for(5_000);
    w.hang_up("1");
    w.run_for(MINUTE);
    // The same call rings on the softphone and the desk phone; the desk phone takes it, the softphone's call
    // ends without a disconnect of its own, first or after.
    w.incoming_call("2");
    w.call_on(
        "deskphone",
        "7",
        Direction::Incoming,
        Some(CallState::Alerting),
    );
    w.run_for(2_000);
    w.caller_gives_up("2");
    w.run_for(500);
    w.call_on(
        "deskphone",
        "7",
        Direction::Incoming,
        Some(CallState::Connected),
    );
    w.run_for(MINUTE);
    w.incoming_call("3");
    w.call_on(
        "deskphone",
        "8",
        Direction::Incoming,
        Some(CallState::Alerting),
    );
    w.run_for(2_000);
    w.call_on(
        "deskphone",
        "8",
        Direction::Incoming,
        Some(CallState::Connected),
    );
    w.caller_gives_up("3");
    w.run_for(MINUTE);
    assert!(!shows_missed_call(&w));
    assert_eq!(notifications_since(&w, t), Vec::<&str>::new());
    assert_eq!(w.status().missed_call_since, None);
}

#[test]
fn a_call_the_user_rejects_is_not_missed() {
    let mut w = World::started();
    let t = w.now;
    w.incoming_call("1");
    w.run_for(2_000);
    // The user's phone hangs up a ringing call: it reports the disconnect itself.
    w.hang_up("1");
    w.run_for(MINUTE);
    assert!(!shows_missed_call(&w));
    assert_eq!(notifications_since(&w, t), Vec::<&str>::new());
}

#[test]
fn several_missed_calls_keep_one_notification_until_the_next_call() {
    let mut w = World::started();
    let t = w.now;
    missed(&mut w, "1");
    let since = w.status().missed_call_since;
    w.run_for(MINUTE);
    missed(&mut w, "2");
    missed(&mut w, "3");
    assert_eq!(notifications_since(&w, t), ["Start"]);
    assert_eq!(
        w.status().missed_call_since,
        since,
        "the first missed call counts"
    );
    // The user calls back: the notification ends.
    let t = w.now;
    w.call("9", Direction::Outgoing, CallState::Dialing);
    w.run_for(2_000);
    assert!(!shows_missed_call(&w));
    assert_eq!(notifications_since(&w, t), ["Stop"]);
    assert_eq!(w.status().missed_call_since, None);
    assert!(w
        .traces_since(t)
        .iter()
        .any(|l| l.contains("notification ended: next call")));
}

#[test]
fn an_answered_incoming_call_ends_the_notification_too() {
    let mut w = World::started();
    missed(&mut w, "1");
    // Another caller rings: ringing alone does not end it ...
    w.incoming_call("2");
    w.run_for(2_000);
    assert!(shows_missed_call(&w));
    // ... answering does.
    w.answer("2");
    w.run_for(2_000);
    assert!(!shows_missed_call(&w));
}

#[test]
fn the_user_clears_it_in_the_config_app() {
    let mut w = World::started();
    missed(&mut w, "1");
    let t = w.now;
    w.engine.handle_clear_missed_call(w.now);
    w.pump();
    w.run_for(2_000);
    assert!(!shows_missed_call(&w));
    assert_eq!(notifications_since(&w, t), ["Stop"]);
    assert!(w
        .traces_since(t)
        .iter()
        .any(|l| l.contains("cleared by the user")));
}

#[test]
fn it_ends_after_the_configured_time_and_not_at_0() {
    let mut w = World::started();
    missed(&mut w, "1");
    let since = w.status().missed_call_since.unwrap();
    w.run_until(since + 30 * MINUTE - 1_000);
    assert!(shows_missed_call(&w), "the default is 30 minutes");
    w.run_until(since + 30 * MINUTE + 1_000);
    assert!(!shows_missed_call(&w));

    let mut c = Config::default();
    c.missed_call.minutes = 0;
    let mut w = World::started_with(c, kuando_connector::proto::License::WithBusylight);
    missed(&mut w, "1");
    w.run_for(24 * 60 * MINUTE);
    assert!(shows_missed_call(&w), "0: no time limit");
}

#[test]
fn switched_off_nothing_shows_and_a_shown_one_ends() {
    let mut c = Config::default();
    c.missed_call.enabled = false;
    let mut w = World::started_with(c.clone(), kuando_connector::proto::License::WithBusylight);
    let t = w.now;
    missed(&mut w, "1");
    assert!(!shows_missed_call(&w));
    assert_eq!(notifications_since(&w, t), Vec::<&str>::new());

    let mut w = World::started();
    missed(&mut w, "1");
    w.set_config(c);
    w.run_for(2_000);
    assert!(!shows_missed_call(&w));
}

#[test]
fn a_changed_look_is_sent_again() {
    let mut w = World::started();
    missed(&mut w, "1");
    let t = w.now;
    let mut c = Config::default();
    c.missed_call.effect = Effect::Blink;
    c.missed_call.color = "#0000ff".into();
    w.set_config(c);
    w.run_for(2_000);
    assert_eq!(notifications_since(&w, t), ["Start"]);
    let p: serde_json::Value =
        serde_json::from_str(w.hub.notification.as_deref().unwrap()).unwrap();
    assert_eq!(p["BlueRgbValue"], 100);
    assert_eq!(p["ontime"], 5, "the blink's own fields beside the colour");
}

#[test]
fn a_refused_notification_is_owed_and_sent_again_with_back_off() {
    let mut w = World::started();
    w.hub.notification_reply = Some((500, b"Internal Server Error".to_vec()));
    let t = w.now;
    missed(&mut w, "1");
    w.run_for(10_000);
    let tries = notifications_since(&w, t).len();
    assert!(tries >= 2, "{tries} tries");
    assert!(!shows_missed_call(&w));
    w.run_for(10 * MINUTE);
    let later = notifications_since(&w, t).len();
    assert!(
        later - tries <= 12,
        "{} tries in 10 minutes: back-off",
        later - tries
    );
    w.hub.notification_reply = None;
    w.run_for(2 * MINUTE);
    assert!(shows_missed_call(&w));
}

#[test]
fn a_restarted_hub_gets_it_again() {
    let mut w = World::started();
    missed(&mut w, "1");
    w.hub.restart();
    w.hub.mode = common::HubMode::Down;
    w.run_for(10_000);
    w.hub.mode = common::HubMode::Up;
    w.run_for(2 * MINUTE);
    assert!(shows_missed_call(&w));
}

#[test]
fn the_hidden_app_ending_logs_out_and_a_reload_starts_clean() {
    let mut w = World::started();
    missed(&mut w, "1");
    let t = w.now;
    w.engine.handle_shutdown(w.now);
    w.pump();
    w.run_for(1_000);
    assert!(!shows_missed_call(&w), "Logout ends the notification");
    assert!(w
        .since(t)
        .any(|l| matches!(&l.action, EngineAction::Hub { request, .. } if request.body.as_deref().is_some_and(|b| b.contains("Logout")))));

    // A reload after a crash (no Logout): the new hidden app does not know the missed call, and clears
    // what the old one left rather than leave it on for ever.
    let mut w = World::started();
    missed(&mut w, "1");
    let hub = w.hub.clone();
    let mut fresh = World::blank();
    fresh.hub = hub;
    fresh.service(true);
    fresh
        .engine
        .handle_license(fresh.now, kuando_connector::proto::License::WithBusylight);
    fresh.engine.handle_config(fresh.now, Config::default());
    fresh.pump();
    fresh.run_for(5_000);
    assert!(!shows_missed_call(&fresh));
    assert_eq!(notifications_since(&fresh, 0), ["Stop"]);
}
