//! Issue 12, point 2: the hub's source names as Plenom's own screens write them. "Manual Controls", "Manual
//! Changer" and "Manuel Changer" are one source with the concept's rows; traces show what the hub sent.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::World;
use kuando_connector::state::MyAppsState;

const POLL: u64 = 2_000;

#[test]
fn a_hub_side_busy_dnd_away_lunch_from_manual_controls_becomes_the_users_presence() {
    for source in ["Manual Controls", "Manual Changer", "Manuel Changer"] {
        let mut w = World::started();
        for (event, state) in [
            ("Busy", MyAppsState::Busy),
            ("DND", MyAppsState::Dnd),
            ("Away", MyAppsState::Away),
            ("Lunch", MyAppsState::Lunch),
        ] {
            w.hub_shows(source, event);
            w.run_for(POLL + 100);
            assert_eq!(w.pbx.presence.state(), Some(state), "{source} / {event}");
        }
        let traces = w.traces();
        assert!(
            traces
                .iter()
                .all(|t| !t.contains("sending application is unknown")),
            "{source}: {traces:?}"
        );
    }
}

#[test]
fn traces_show_the_source_and_event_as_the_hub_sent_them() {
    let mut w = World::started();
    let mut c = kuando_connector::config::Config::default();
    c.trace.hub = true;
    w.engine.handle_config(w.now, c);
    w.hub_shows("Manual Controls", "Do-Not-Disturb");
    w.run_for(POLL + 100);
    w.hub_shows("MANUAL controls", "DND");
    w.run_for(POLL + 100);
    let traces = w.traces();
    assert!(
        traces
            .iter()
            .any(|t| t.contains("Manual Controls / Light / Do-Not-Disturb")
                && t.contains("sending event is unknown")),
        "{traces:?}"
    );
    assert!(
        traces
            .iter()
            .any(|t| t.contains("3rd party state result: MANUAL controls / Light / DND")),
        "{traces:?}"
    );
    assert_eq!(w.pbx.presence.activity, "dnd");
}
