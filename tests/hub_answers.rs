//! Issue 12: what the engine makes of the hub's answers, in virtual time. "Too old" is a verdict only on a hub
//! that answers the probe properly and `currentpresence` with a plain-text "unknown action", twice in a row;
//! garbage, HTML, truncated JSON and 5xx are failures of the moment; `NO_DEVICE` means "no Busylight".
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{presence, HubMode, World};
use kuando_connector::config::Config;
use kuando_connector::engine::{HubStatus, TOO_OLD_FIRST_RECHECK_MS, TOO_OLD_POLL_MS};
use kuando_connector::hub::RequestKind;
use kuando_connector::state::Presence;

const POLL: u64 = 2_000;

/// Answers a broken hub (or something in front of it) may give instead of JSON.
fn garbage_bodies() -> Vec<(&'static str, u16, Vec<u8>)> {
    vec![
        (
            "html error page",
            200,
            b"<html><body><h1>Internal Server Error</h1></body></html>".to_vec(),
        ),
        (
            "truncated json",
            200,
            br#"{"runningcommand":{"action":"Light","sender":"MS Te"#.to_vec(),
        ),
        ("binary", 200, vec![0, 1, 2, 0xff, 0xfe, b'{']),
        ("empty", 200, Vec::new()),
        ("500", 500, b"Internal Server Error".to_vec()),
        (
            "503 html",
            503,
            b"<html>Service Unavailable</html>".to_vec(),
        ),
        (
            "simulator garbage",
            200,
            "{\"runningcommand\":\u{0}\u{1}<html><body>Internal exception \u{fffd}\u{7f}"
                .as_bytes()
                .to_vec(),
        ),
    ]
}

/// Runs until the next poll was answered; fails (instead of hanging) if none comes within a minute.
fn next_poll(w: &mut World, t: u64) {
    let n = polls_since(w, t).len();
    w.run_until_or_fail(60_000, 100, "the next poll", |w| {
        polls_since(w, t).len() > n
    });
    w.run_for(50);
}

fn polls_since(w: &World, t: u64) -> Vec<u64> {
    w.hub_requests_since(t)
        .into_iter()
        .filter(|r| r.1.kind == RequestKind::CurrentPresence)
        .map(|r| r.0)
        .collect()
}

/// The story of the issue: 10 s of garbage, then a healthy hub. Presence sync must work again within two
/// poll intervals, and the hub is never called too old.
#[test]
fn after_a_garbage_phase_presence_sync_resumes_within_two_poll_intervals() {
    for (name, status, body) in garbage_bodies() {
        let mut w = World::started();
        w.user_sets_presence("away", "back at 3");
        w.run_for(POLL + 100);
        w.hub.presence_reply = Some((status, body));
        w.run_for(10_000);
        assert_ne!(w.status().hub, HubStatus::TooOld, "{name}");
        assert!(
            w.traces().iter().all(|t| !t.contains("too old")),
            "{name}: {:?}",
            w.traces()
        );
        assert!(w.status().last_error.is_some(), "{name}: no error shown");
        // The hub answers properly again, and MS Teams has a call.
        w.hub.presence_reply = None;
        w.hub_shows("MS Teams", "On-The-Phone");
        let healthy = w.now;
        w.run_for(2 * POLL);
        let set = w
            .presence_requests_since(healthy)
            .into_iter()
            .find(|(_, p)| *p == presence("on-the-phone", "MS Teams"));
        let Some((at, _)) = set else {
            panic!("{name}: presence sync did not resume within 2 poll intervals");
        };
        assert!(at - healthy <= 2 * POLL, "{name}: {} ms", at - healthy);
        assert_eq!(w.pbx.presence, presence("on-the-phone", "MS Teams"));
        assert_eq!(w.status().hub, HubStatus::Reachable, "{name}");
        assert_eq!(w.status().last_error, None, "{name}");
    }
}

#[test]
fn garbage_is_retried_with_the_back_off_never_slower_than_the_poll_interval() {
    let c = Config {
        poll_interval: 10,
        ..Config::default()
    };
    let mut w = World::started_with(c, kuando_connector::proto::License::Connector);
    w.run_for(10_100);
    w.hub.presence_reply = Some((200, b"<html>oops</html>".to_vec()));
    let t = w.now;
    w.run_for(60_000);
    let polls = polls_since(&w, t);
    let gaps: Vec<u64> = polls.windows(2).map(|p| p[1] - p[0]).collect();
    // 1 s, 2 s, 4 s, 8 s, then the poll interval; never the 60 s of a "too old" hub.
    assert!(gaps.len() >= 6, "{gaps:?}");
    assert!(gaps[1] < gaps[2] && gaps[2] < gaps[3], "{gaps:?}");
    assert!(gaps.iter().all(|g| *g <= 10_000), "{gaps:?}");
    assert!(gaps.iter().skip(4).all(|g| *g == 10_000), "{gaps:?}");
}

#[test]
fn a_presence_from_a_hub_that_answers_garbage_is_given_back_after_two_intervals() {
    let mut w = World::started();
    w.user_sets_presence("away", "back at 3");
    w.hub_shows("MS Teams", "On-The-Phone");
    w.run_for(POLL + 100);
    assert_eq!(w.pbx.presence, presence("on-the-phone", "MS Teams"));
    w.hub.presence_reply = Some((200, b"<html>Internal exception</html>".to_vec()));
    w.run_for(3 * POLL + 500);
    assert_eq!(w.pbx.presence, presence("away", "back at 3"));
}

#[test]
fn too_old_only_after_two_plain_text_unknown_action_answers_in_a_row() {
    // One unknown-action answer, then garbage, then unknown action again: never two in a row.
    let mut w = World::started();
    let t = w.now;
    for reply in [
        (200, b"Unknown action".to_vec()),
        (200, b"<html>x</html>".to_vec()),
        (200, b"Unknown action".to_vec()),
        (500, b"Unknown action".to_vec()),
        (200, b"Unknown action".to_vec()),
    ] {
        w.hub.presence_reply = Some(reply);
        next_poll(&mut w, t);
    }
    assert_ne!(w.status().hub, HubStatus::TooOld);
    // Twice in a row: too old.
    next_poll(&mut w, t);
    assert_eq!(w.status().hub, HubStatus::TooOld);
    let old: Vec<String> = w
        .traces()
        .into_iter()
        .filter(|l| l.contains("too old"))
        .collect();
    assert_eq!(old.len(), 1, "{old:?}");
}

#[test]
fn a_too_old_hub_is_rechecked_from_5_s_to_60_s_and_recovers_at_once() {
    let mut w = World::blank();
    w.hub.mode = HubMode::TooOld;
    w.service(true);
    w.engine
        .handle_license(0, kuando_connector::proto::License::Connector);
    w.engine.handle_config(0, Config::default());
    w.engine.handle_own_presence(0, Presence::available());
    w.run_for(5_000);
    assert_eq!(w.status().hub, HubStatus::TooOld);
    let t = w.now;
    w.run_for(400_000);
    let polls = polls_since(&w, t);
    let mut all = vec![t];
    all.extend(polls);
    let gaps: Vec<u64> = all.windows(2).skip(1).map(|p| p[1] - p[0]).collect();
    let secs: Vec<u64> = gaps.iter().map(|g| g.div_ceil(1000)).collect();
    assert_eq!(
        secs[..5],
        [10, 20, 40, 60, 60],
        "the first gap after the verdict is {} s: {secs:?}",
        TOO_OLD_FIRST_RECHECK_MS / 1000
    );
    assert!(gaps.iter().all(|g| *g <= TOO_OLD_POLL_MS + 100), "{gaps:?}");
    // The hub is updated: found at the next re-check, at most a minute later.
    w.hub.mode = HubMode::Up;
    w.hub_shows("MS Teams", "On-The-Phone");
    w.run_for(TOO_OLD_POLL_MS + 100);
    assert_eq!(w.status().hub, HubStatus::Reachable);
    assert_eq!(w.pbx.presence, presence("on-the-phone", "MS Teams"));
}

#[test]
fn no_device_text_means_no_busylight_never_too_old() {
    for body in [
        &b"NO_DEVICE"[..],
        b"Error: no_device",
        br#"{"response":"NO_DEVICE"}"#,
        b"  No_Device\r\n",
    ] {
        // To currentpresence.
        let mut w = World::started();
        w.hub.presence_reply = Some((200, body.to_vec()));
        w.run_for(20_000);
        let st = w.status();
        assert_ne!(st.hub, HubStatus::TooOld, "{body:?}");
        assert!(st.no_device, "{body:?}");
        assert!(
            w.traces()
                .iter()
                .any(|t| t.contains("no Busylight connected")),
            "{body:?}"
        );

        // To a lamp command: the lamp is missing, the hub is fine.
        let mut w = World::started();
        w.hub.command_reply = Some((200, body.to_vec()));
        w.incoming_call("1");
        w.run_for(POLL);
        let st = w.status();
        assert!(st.no_device, "{body:?}");
        assert_eq!(st.hub, HubStatus::Reachable, "{body:?}");
        assert_eq!(st.last_error, None, "{body:?}");
    }
}

/// A connector started on a hub too old for `currentpresence`, which answers it so.
fn too_old_hub(status: u16, body: &[u8]) -> World {
    let mut w = World::blank();
    w.hub.mode = HubMode::TooOld;
    w.hub.too_old_answer = (status, body.to_vec());
    World::start(w)
}

/// What an old kuandoHUB may answer to an action it does not know: no source shows it, so the fake answers
/// in several shapes. Plain texts naming an unknown or unsupported action are the "too old" evidence; an
/// HTML error page or an empty 200 is a hub answering badly (retried, the banner says "not understandably"),
/// never a verdict on its version.
#[test]
fn a_too_old_hub_in_every_shape_of_answer() {
    let plain: &[(u16, &[u8])] = &[
        (200, b"Unknown action"),
        (200, b"unknown action: currentpresence\r\n"),
        (400, b"Action not supported"),
        (200, b"Invalid action 'currentpresence'"),
        (200, b"\xef\xbb\xbfAction currentpresence not found"),
    ];
    for (status, body) in plain {
        let mut w = too_old_hub(*status, body);
        w.run_for(5_000);
        assert_eq!(w.status().hub, HubStatus::TooOld, "{body:?}");
        // The lamp still works.
        w.incoming_call("1");
        w.run_for(100);
        assert!(w.lamp().is_some(), "{body:?}");
    }
    let not_a_verdict: &[(u16, &[u8])] = &[
        (200, b"<html><body><h1>Unknown action</h1></body></html>"),
        (200, b""),
        (404, b"<html>Not Found</html>"),
        (500, b"Unknown action"),
    ];
    for (status, body) in not_a_verdict {
        let mut w = too_old_hub(*status, body);
        w.run_for(30_000);
        assert_ne!(w.status().hub, HubStatus::TooOld, "{status} {body:?}");
        assert!(
            w.traces().iter().all(|t| !t.contains("too old")),
            "{status} {body:?}"
        );
    }
}

/// An answer that names a missing lamp is never "too old", even worded like an unknown action.
#[test]
fn no_device_worded_like_an_unknown_action_is_no_busylight() {
    for body in [
        &b"NO_DEVICE: unknown action"[..],
        b"Unknown action (NO_DEVICE)",
    ] {
        let mut w = World::started();
        w.hub.presence_reply = Some((200, body.to_vec()));
        w.run_for(20_000);
        let st = w.status();
        assert_ne!(st.hub, HubStatus::TooOld, "{body:?}");
        assert!(st.no_device, "{body:?}");
    }
}

/// Short texts that mention "action" without saying it is unknown are answers of the moment, not "too old".
#[test]
fn a_short_text_about_an_action_is_not_too_old() {
    for body in [
        &b"Action completed"[..],
        b"OK action",
        b"action=currentpresence",
    ] {
        let mut w = World::started();
        w.hub.presence_reply = Some((200, body.to_vec()));
        w.run_for(30_000);
        assert_ne!(w.status().hub, HubStatus::TooOld, "{body:?}");
        assert!(w.status().last_error.is_some(), "{body:?}");
    }
}
