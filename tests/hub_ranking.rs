//! "Calls overwrite presence" on any ranking of kuandoHUB's priority list, in virtual time.
//!
//! On a hub as it comes, every sender has one line, in the order the senders first spoke to the hub. A
//! connector that registered before MS Teams and Zoom ranks above them: its presence colour (the user's own
//! away, busy, dnd or lunch on the lamp) is then what `currentpresence` reports, and a Teams call under it
//! would go unseen. The connector asks the hub for those apps' own priority whenever its presence colour is
//! what the hub shows; where the hub does not tell, the status panel says which line to move.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{presence, World};
use kuando_connector::hub::{RequestKind, SENDER};
use kuando_connector::state::Presence;

const POLL: u64 = 2_000;

/// The user's own presences that light the lamp under the connector's sender.
fn own_presences() -> Vec<Presence> {
    vec![
        presence("away", "back at 3"),
        presence("busy", "meeting"),
        presence("dnd", "focus"),
        presence("away", "lunch"),
    ]
}

/// Other apps' calls, as their plugins report them.
const CALLS: &[(&str, &str)] = &[("MS Teams", "On-The-Phone"), ("Zoom", "In-a-Zoom-Meeting")];

/// A fresh hub where MS Teams, Zoom and Webex spoke to the hub before the connector: their lines rank above
/// the connector's.
fn connector_registered_last() -> World {
    let mut w = World::blank();
    for app in ["MS Teams", "Zoom", "Webex"] {
        w.hub.add_line(app);
    }
    World::start(w)
}

/// A fresh hub where the connector spoke first: the plugins' lines come below its line.
fn connector_registered_first() -> World {
    let mut w = World::started();
    for app in ["MS Teams", "Zoom", "Webex"] {
        w.hub.add_line(app);
    }
    w
}

fn line(w: &World, sender: &str) -> usize {
    w.hub
        .lines
        .iter()
        .position(|l| l == sender)
        .unwrap_or_else(|| panic!("no line for {sender}: {:?}", w.hub.lines))
}

/// The story for one ranking: the user's own presence, another app's call, the call ends.
fn call_overwrites_presence(mut w: World, own: &Presence, (app, event): (&str, &str)) -> World {
    w.user_sets_presence(&own.activity, &own.note);
    w.run_for(POLL + 100);
    assert_eq!(w.pbx.presence, *own);
    assert!(w.lamp().is_some(), "the lamp shows the user's {own:?}");

    let start = w.now;
    w.hub_shows(app, event);
    w.run_for(2 * POLL);
    let on_the_phone = presence("on-the-phone", app);
    let set = w
        .presence_requests_since(start)
        .into_iter()
        .find(|(_, p)| *p == on_the_phone);
    assert!(
        set.is_some_and(|(at, _)| at - start <= 2 * POLL),
        "{app} call while {own:?} (lines {:?}): not on the phone within two poll intervals: {:?}",
        w.hub.lines,
        w.presence_requests_since(start)
    );
    assert_eq!(w.pbx.presence, on_the_phone);
    // Held for the whole call, not flickering with each poll.
    let t = w.now;
    w.run_for(20 * POLL);
    assert!(
        w.presence_requests_since(t).is_empty(),
        "{:?}",
        w.presence_requests_since(t)
    );

    // The call ends: exactly the user's own presence again, within two poll intervals.
    let end = w.now;
    w.hub_shows_nothing();
    w.run_for(2 * POLL);
    assert_eq!(
        w.pbx.presence, *own,
        "{app} call ended, lines {:?}",
        w.hub.lines
    );
    assert_eq!(w.presence_requests_since(end).len(), 1);
    w
}

#[test]
fn a_call_in_another_app_overwrites_presence_when_the_connector_registered_first() {
    for own in own_presences() {
        for call in CALLS {
            let w = connector_registered_first();
            assert!(line(&w, SENDER) < line(&w, call.0), "{:?}", w.hub.lines);
            let w = call_overwrites_presence(w, &own, *call);
            // The hub shows the connector's colour over the call: the panel says which line to move.
            assert_eq!(w.status().hidden_calls.as_deref(), Some(call.0));
        }
    }
}

#[test]
fn a_call_in_another_app_overwrites_presence_when_the_connector_registered_last() {
    for own in own_presences() {
        for call in CALLS {
            let w = connector_registered_last();
            assert!(line(&w, SENDER) > line(&w, call.0), "{:?}", w.hub.lines);
            let w = call_overwrites_presence(w, &own, *call);
            assert_eq!(w.status().hidden_calls, None, "nothing to move");
        }
    }
}

/// The own-priority reads happen only while the connector's presence colour is what the hub shows, and
/// are not traced one by one.
#[test]
fn other_apps_are_asked_only_while_the_connectors_presence_colour_shows() {
    let mut w = connector_registered_first();
    let asks = |w: &World, t: u64| {
        w.hub_requests_since(t)
            .iter()
            .filter(|(_, r)| matches!(r.kind, RequestKind::OwnPriority(_)))
            .count()
    };
    // Available: the lamp is released, nothing is hidden.
    let t = w.now;
    w.run_for(10 * POLL);
    assert_eq!(asks(&w, t), 0);
    // Away: each poll asks the three plugins (no call anywhere).
    w.user_sets_presence("away", "");
    w.run_for(POLL + 100);
    let t = w.now;
    w.run_for(10 * POLL);
    let n = asks(&w, t);
    assert!((27..=33).contains(&n), "{n} asks in 10 polls");
    assert!(w.presence_requests_since(t).is_empty());
    assert_eq!(
        w.status().hidden_calls,
        None,
        "the hub tells, nothing found"
    );
    // On a myApps call the connector's call colour shows: nothing asked.
    w.incoming_call("1");
    w.answer("1");
    w.run_for(POLL + 100);
    let t = w.now;
    w.run_for(10 * POLL);
    assert_eq!(asks(&w, t), 0);
    assert!(w
        .traces()
        .iter()
        .all(|l| !l.contains("\"action\":\"currentpresence\"")));
}

/// A hub that does not tell other senders' own priority: a call under the connector's presence colour
/// cannot be seen, so the panel says the line may hide calls and which to move; once another app's call
/// shows over the colour, the ranking is fine and the hint goes.
#[test]
fn a_hub_that_does_not_tell_gets_the_hint_until_a_call_shows_over_the_presence_colour() {
    let mut w = World::blank();
    w.hub.tells_own_priority = false;
    for app in ["MS Teams", "Zoom"] {
        w.hub.add_line(app);
    }
    let mut w = World::start(w);
    assert_eq!(w.status().hidden_calls, None);
    w.user_sets_presence("busy", "");
    w.run_for(2 * POLL);
    assert_eq!(w.status().hidden_calls.as_deref(), Some(""));
    assert!(w
        .traces()
        .iter()
        .any(|l| l.contains("rank innovaphone myApps below MS Teams, Zoom and Webex")));
    // The Teams call shows over "busy" (its line ranks above): on the phone, and no hint any more.
    w.hub_shows("MS Teams", "On-The-Phone");
    w.run_for(2 * POLL);
    assert_eq!(w.pbx.presence, presence("on-the-phone", "MS Teams"));
    assert_eq!(w.status().hidden_calls, None);
}

#[test]
fn a_hub_that_does_not_tell_and_ranks_the_connector_first_gets_the_hint() {
    let mut w = World::started();
    w.hub.tells_own_priority = false;
    w.user_sets_presence("away", "");
    w.hub_shows("MS Teams", "On-The-Phone");
    w.run_for(3 * POLL);
    // The call is hidden and cannot be read: the user stays away, and the panel says why and what to do.
    assert_eq!(w.pbx.presence, presence("away", ""));
    assert_eq!(w.status().hidden_calls.as_deref(), Some(""));
}

/// The hint of a call found under the connector's line stays while the ranking is unchanged (another call
/// would be hidden again), and goes with a new session (e.g. after the hub restarted).
#[test]
fn a_found_call_keeps_the_hint_after_the_call() {
    let mut w = connector_registered_first();
    w.user_sets_presence("dnd", "");
    w.hub_shows("Zoom", "In-a-Zoom-Meeting");
    w.run_for(2 * POLL);
    assert_eq!(w.status().hidden_calls.as_deref(), Some("Zoom"));
    w.hub_shows_nothing();
    w.run_for(5 * POLL);
    assert_eq!(w.pbx.presence, presence("dnd", ""));
    assert_eq!(w.status().hidden_calls.as_deref(), Some("Zoom"));
    assert_eq!(
        w.traces()
            .iter()
            .filter(|l| l.contains("over another app's call"))
            .count(),
        1,
        "traced once"
    );
}

/// A new session with the hub (it was gone a while) starts knowing nothing of its ranking: no hint until a
/// round shows it again.
#[test]
fn the_hint_goes_with_the_session() {
    let mut w = connector_registered_first();
    w.user_sets_presence("away", "");
    w.hub_shows("MS Teams", "On-The-Phone");
    w.run_for(2 * POLL);
    assert_eq!(w.status().hidden_calls.as_deref(), Some("MS Teams"));
    w.hub.mode = common::HubMode::Down;
    w.run_for(10 * POLL);
    assert_eq!(w.status().hidden_calls, None);
    // Back, and the call is still under the connector's colour: found again.
    w.hub.mode = common::HubMode::Up;
    w.run_for(30 * POLL);
    assert_eq!(w.status().hidden_calls.as_deref(), Some("MS Teams"));
    assert_eq!(w.pbx.presence, presence("on-the-phone", "MS Teams"));
}
