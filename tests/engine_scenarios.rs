//! The engine's rules as user stories, in virtual time (milliseconds). Every story starts from a fresh
//! myApps start with the default settings (kuandoHUB on localhost, poll every 2 s) unless it says otherwise.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{presence, red, HubMode, Ranking, World};
use kuando_connector::config::{Config, LampSlot};
use kuando_connector::engine::{Connector, EngineAction, HubStatus};
use kuando_connector::hub::{LampCommand, RequestKind, Rgb, SENDER};
use kuando_connector::proto::License;
use kuando_connector::state::{CallInfo, CallState, Direction, Presence};

const POLL: u64 = 2_000;

fn hex(s: &str) -> Rgb {
    Rgb::from_hex(s).expect("colour")
}

fn kinds(reqs: &[(u64, kuando_connector::hub::HubRequest)]) -> Vec<RequestKind> {
    reqs.iter().map(|(_, r)| r.kind).collect()
}

fn non_dump(traces: &[String]) -> Vec<String> {
    traces
        .iter()
        .filter(|t| !t.contains("debug - "))
        .cloned()
        .collect()
}

#[test]
fn concept_example_flow_a_myapps_call_lights_the_lamp_and_a_teams_call_sets_on_the_phone() {
    let mut w = World::started();
    // Start-up like the concept's trace: probe, register as a data source, lamp released, then polling.
    let start = kinds(&w.hub_requests_since(0));
    assert_eq!(
        &start[..4],
        &[
            RequestKind::Probe,
            RequestKind::RegisterDataSource,
            RequestKind::Devices,
            RequestKind::CreateInitialPriority,
        ]
    );
    assert!(start.contains(&RequestKind::Command(LampCommand::Off, None)));
    assert!(start.contains(&RequestKind::CurrentPresence));
    assert_eq!(w.status().hub, HubStatus::Reachable);
    assert!(w.hub.registered && w.hub.priority_created);

    // The PBX tells myApps about an incoming call: the hub gets the connector's blink at once.
    let t = w.now;
    w.incoming_call("1");
    w.run_for(50);
    let cmds = w.lamp_commands_since(t);
    assert_eq!(cmds, vec![(t, LampCommand::blink(red()))]);
    assert_eq!(w.lamp(), Some(LampCommand::blink(red())));
    assert_eq!(w.lamp_event(), Some(("Call", "Ringing")));

    // Answered: steady red. Hung up: the lamp is released so that lower-priority sources show.
    w.answer("1");
    w.run_for(50);
    assert_eq!(w.lamp(), Some(LampCommand::Light(red())));
    assert_eq!(w.lamp_event(), Some(("Call", "Connected")));
    w.hang_up("1");
    w.run_for(50);
    assert_eq!(w.lamp(), None);
    assert_eq!(
        w.lamp_commands_since(t).last().map(|c| c.1),
        Some(LampCommand::Off)
    );

    // The opposite direction: an MS Teams call on the hub makes the user "on the phone" in the PBX
    // within one poll interval...
    w.hub_shows("MS Teams", "On-The-Phone");
    w.run_for(POLL + 100);
    assert_eq!(w.pbx.presence, presence("on-the-phone", "MS Teams"));
    // ...which is the connector's own presence: it does not light the lamp.
    assert_eq!(w.lamp(), None);
    // And back exactly to what the user had when the Teams call ends.
    w.hub_shows_nothing();
    w.run_for(POLL + 100);
    assert_eq!(w.pbx.presence, Presence::available());
}

#[test]
fn the_connectors_own_lamp_command_never_comes_back_as_a_3rd_party_state() {
    let mut w = World::started();
    // The connector's call events rank above a Teams call: while it rings, currentpresence reports the
    // connector.
    w.hub_shows("MS Teams", "On-The-Phone");
    w.incoming_call("1");
    let t = w.now;
    w.run_for(10 * POLL);
    assert_eq!(w.hub_reports().as_deref(), Some(SENDER));
    assert!(w.presence_requests_since(t).is_empty());
    assert_eq!(w.pbx.presence, Presence::available());
    assert_eq!(w.lamp_commands_since(t).len(), 1);
}

#[test]
fn manual_dnd_survives_manual_changer_available_on_a_hub_an_administrator_ranked() {
    let mut w = World::started();
    w.user_sets_presence("dnd", "focus");
    w.run_for(100);
    // The lamp follows the user's own presence.
    assert_eq!(w.lamp(), Some(LampCommand::Light(hex("#b400e1"))));
    // An administrator ranked Manual Changer above the connector in kuandoHUB, and it shows "Available".
    w.hub.ranking = Ranking::AdminOthersFirst;
    let t = w.now;
    w.hub_shows("Manual Changer", "Available");
    w.run_for(60_000);
    assert_eq!(w.pbx.presence, presence("dnd", "focus"));
    // Nor does any other Manual Changer state override it: a manual presence beats hub presence.
    w.hub_shows("Manual Changer", "Busy");
    w.run_for(60_000);
    assert_eq!(w.pbx.presence, presence("dnd", "focus"));
    assert!(w.presence_requests_since(t).is_empty());
}

#[test]
fn manual_changer_sets_presence_while_the_user_has_none_and_never_drives_the_lamp() {
    let mut w = World::started();
    let t = w.now;
    w.hub_shows("Manual Changer", "DND");
    w.run_for(POLL + 100);
    assert_eq!(w.pbx.presence, presence("dnd", ""));
    // The PBX echoes "dnd" back; it is the connector's, so the lamp stays released (no loop through the hub).
    assert_eq!(w.lamp(), None);
    assert_eq!(w.lamp_commands_since(t), vec![]);
    w.hub_shows("Manual Changer", "Available");
    w.run_for(POLL + 100);
    assert_eq!(w.pbx.presence, Presence::available());
    assert_eq!(w.presence_requests_since(t).len(), 2);
}

#[test]
fn a_teams_call_over_manual_away_is_restored_to_away() {
    let mut w = World::started();
    w.user_sets_presence("away", "back at 3");
    w.run_for(100);
    assert_eq!(w.lamp(), Some(LampCommand::Light(hex("#ffff00"))));
    // Calls overwrite presence, even a manual one.
    w.hub_shows("MS Teams", "On-The-Phone");
    w.run_for(POLL + 100);
    assert_eq!(w.pbx.presence, presence("on-the-phone", "MS Teams"));
    // The lamp still shows the user's own "away": the connector's presence never drives it.
    assert_eq!(w.lamp(), Some(LampCommand::Light(hex("#ffff00"))));
    w.hub_shows_nothing();
    w.run_for(POLL + 100);
    assert_eq!(w.pbx.presence, presence("away", "back at 3"));
}

#[test]
fn on_an_administrator_configured_hub_a_teams_call_ranks_above_the_connectors_away_light_but_below_its_calls(
) {
    // An administrator ranked the hub as the concept recommends, per sender and event: the connector's
    // calls, other apps' calls, the connector's presence colours, other presence. (Before the connector
    // labelled its commands, its "away" light ranked with its calls above Teams and hid the Teams call.)
    let mut w = World::blank();
    w.hub.ranking = Ranking::AdminConcept;
    let mut w = World::start(w);
    w.user_sets_presence("away", "back at 3");
    w.run_for(100);
    assert_eq!(w.lamp(), Some(LampCommand::Light(hex("#ffff00"))));
    assert_eq!(w.lamp_event(), Some(("Presence", "Away")));
    assert_eq!(w.hub_reports().as_deref(), Some(SENDER));

    // A Teams call: it ranks above the connector's "away", so the hub reports it and the user is on the phone.
    w.hub_shows("MS Teams", "On-The-Phone");
    assert_eq!(w.hub_reports().as_deref(), Some("MS Teams"));
    w.run_for(POLL + 100);
    assert_eq!(w.pbx.presence, presence("on-the-phone", "MS Teams"));
    assert_eq!(w.status().lamp, Some(LampSlot::Away));
    assert_eq!(w.lamp_event(), Some(("Presence", "Away")));
    // Held for the whole call, not flickering back and forth with each poll.
    let t = w.now;
    w.run_for(30 * POLL);
    assert!(w.presence_requests_since(t).is_empty());

    // The call ends: exactly "away" again, note included.
    w.hub_shows_nothing();
    w.run_for(POLL + 100);
    assert_eq!(w.pbx.presence, presence("away", "back at 3"));
    assert_eq!(w.presence_requests_since(t).len(), 1);

    // A myApps call on top of a Teams call: the connector's call event wins the lamp.
    w.hub_shows("MS Teams", "On-The-Phone");
    w.incoming_call("1");
    w.answer("1");
    w.run_for(100);
    assert_eq!(w.lamp_event(), Some(("Call", "Connected")));
    assert_eq!(w.hub_reports().as_deref(), Some(SENDER));
}

#[test]
fn the_same_colour_for_a_presence_and_a_call_is_sent_again_with_the_calls_label() {
    // Busy and connected are both steady red by default: the command is the same, its rank is not.
    let mut w = World::started();
    w.user_sets_presence("busy", "meeting");
    w.run_for(100);
    assert_eq!(w.lamp(), Some(LampCommand::Light(red())));
    assert_eq!(w.lamp_event(), Some(("Presence", "Busy")));
    let t = w.now;
    w.incoming_call("1");
    w.answer("1");
    w.run_for(100);
    assert_eq!(w.lamp(), Some(LampCommand::Light(red())));
    assert_eq!(w.lamp_event(), Some(("Call", "Connected")));
    w.hang_up("1");
    w.run_for(100);
    assert_eq!(w.lamp_event(), Some(("Presence", "Busy")));
    let sent: Vec<RequestKind> = kinds(&w.hub_requests_since(t))
        .into_iter()
        .filter(|k| matches!(k, RequestKind::Command(..)))
        .collect();
    assert_eq!(
        sent.last(),
        Some(&RequestKind::Command(
            LampCommand::Light(red()),
            Some(LampSlot::Busy)
        ))
    );
}

#[test]
fn the_user_changes_presence_during_a_teams_call_and_keeps_it() {
    let mut w = World::started();
    w.hub_shows("MS Teams", "On-The-Phone");
    w.run_for(POLL + 100);
    assert_eq!(w.pbx.presence, presence("on-the-phone", "MS Teams"));
    let t = w.now;
    w.user_sets_presence("dnd", "focus");
    // The Teams call goes on for a while: the connector does not put "on the phone" back.
    w.run_for(30_000);
    assert_eq!(w.pbx.presence, presence("dnd", "focus"));
    // The call ends: nothing is "restored" over the user's choice.
    w.hub_shows_nothing();
    w.run_for(30_000);
    assert_eq!(w.pbx.presence, presence("dnd", "focus"));
    assert!(w.presence_requests_since(t).is_empty());
    // The next Teams call is a new state: it is set again, and the user's dnd comes back after it.
    w.hub_shows("MS Teams", "On-The-Phone");
    w.run_for(POLL + 100);
    assert_eq!(w.pbx.presence, presence("on-the-phone", "MS Teams"));
    w.hub_shows_nothing();
    w.run_for(POLL + 100);
    assert_eq!(w.pbx.presence, presence("dnd", "focus"));
}

#[test]
fn the_hub_dies_during_a_teams_call_and_nobody_is_left_on_the_phone() {
    let mut w = World::started();
    w.user_sets_presence("away", "back at 3");
    w.hub_shows("MS Teams", "On-The-Phone");
    w.run_for(POLL + 100);
    assert_eq!(w.pbx.presence, presence("on-the-phone", "MS Teams"));

    let died = w.now;
    w.hub.mode = HubMode::Down;
    // One lost poll is not enough to give the presence back...
    w.run_for(POLL + 100);
    assert_eq!(w.pbx.presence, presence("on-the-phone", "MS Teams"));
    // ...but once the hub has been unreachable for more than two poll intervals, it is.
    w.run_until(died + 4 * POLL);
    assert_eq!(w.pbx.presence, presence("away", "back at 3"));
    assert_eq!(w.status().hub, HubStatus::Unreachable);
    assert!(w.status().next_retry_ms.is_some());

    // Ten minutes down: one line says so, with the next retry time; no line per retry.
    w.run_for(600_000);
    let down: Vec<String> = w
        .traces_since(died)
        .into_iter()
        .filter(|t| t.contains("not reachable"))
        .collect();
    assert_eq!(down.len(), 1, "{down:?}");
    assert!(down[0].contains("http://localhost:8989/") && down[0].contains("next try in"));

    // The hub comes back with the call still going: "on the phone" again.
    w.hub.restart();
    w.hub_shows("MS Teams", "On-The-Phone");
    w.run_for(61_000 + 13_000);
    assert_eq!(w.pbx.presence, presence("on-the-phone", "MS Teams"));
    assert_eq!(w.status().hub, HubStatus::Reachable);
}

#[test]
fn the_hub_restarts_and_gets_the_lamp_state_again() {
    let mut w = World::started();
    w.incoming_call("1");
    w.answer("1");
    w.run_for(100);
    assert_eq!(w.lamp(), Some(LampCommand::Light(red())));

    // kuandoHUB is restarted: down for ten seconds, and it forgets every sender.
    w.hub.mode = HubMode::Down;
    w.run_for(10_000);
    w.hub.restart();
    assert_eq!(w.lamp(), None);
    let back = w.now;
    w.run_for(20_000);
    // On recovery: register, priority line, then the current lamp state.
    let lamp_lane: Vec<RequestKind> = kinds(&w.hub_requests_since(back))
        .into_iter()
        .filter(|k| {
            matches!(
                k,
                RequestKind::RegisterDataSource
                    | RequestKind::CreateInitialPriority
                    | RequestKind::Command(..)
            )
        })
        .collect();
    assert_eq!(
        lamp_lane,
        vec![
            RequestKind::RegisterDataSource,
            RequestKind::CreateInitialPriority,
            RequestKind::Command(LampCommand::Light(red()), Some(LampSlot::Connected)),
        ]
    );
    assert_eq!(w.lamp(), Some(LampCommand::Light(red())));
    assert!(w.hub.registered);
    assert!(w
        .traces_since(back)
        .iter()
        .any(|t| t == "kuando-log: kuandoHUB connected: http://localhost:8989/"));
}

#[test]
fn a_rejected_token_is_its_own_state_retried_once_a_minute_and_never_traced() {
    let wrong = "wr0ng-s3cret";
    let right = "r1ght-t0ken";
    let mut cfg = Config {
        hub_url: "http://192.168.0.100:8989".into(),
        token: wrong.into(),
        ..Config::default()
    };
    cfg.trace.hub = true; // even with every hub request traced
    let mut w = World::blank();
    w.hub.required_token = Some(right.into());
    w.service(true);
    w.engine.handle_license(0, License::WithBusylight);
    w.engine.handle_config(0, cfg.clone());
    w.engine.handle_own_presence(0, Presence::available());
    w.incoming_call("1");
    w.run_for(600_000);

    let st = w.status();
    assert_eq!(st.hub, HubStatus::Unauthorized);
    assert!(st.last_error.as_deref().unwrap_or("").contains("401"));
    let rejected: Vec<String> = w
        .traces()
        .into_iter()
        .filter(|t| t.contains("401"))
        .collect();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    // One try at start, then at most one a minute.
    let reqs = w.hub_requests_since(0);
    assert!(reqs.len() <= 11, "{} requests", reqs.len());
    assert!(w.lamp_commands_since(0).is_empty());

    // The user enters the right token in the config app: used at once, the ringing call reaches the lamp.
    let t = w.now;
    cfg.token = right.into();
    w.set_config(cfg);
    w.run_for(1_000);
    assert_eq!(w.status().hub, HubStatus::Reachable);
    assert_eq!(w.lamp(), Some(LampCommand::blink(red())));
    assert!(!w.hub_requests_since(t).is_empty());

    for line in w.traces() {
        assert!(!line.contains(wrong) && !line.contains(right), "{line}");
    }
    for l in &w.log {
        if let EngineAction::Status(s) = &l.action {
            let text = format!("{s:?}");
            assert!(!text.contains(wrong) && !text.contains(right), "{text}");
        }
    }
}

#[test]
fn unlicensed_the_connector_does_nothing_but_say_so_once() {
    let mut w = World::blank();
    w.service(true);
    w.engine.handle_license(0, License::None);
    w.engine.handle_config(0, Config::default());
    w.engine.handle_own_presence(0, presence("away", ""));
    w.hub_shows("MS Teams", "On-The-Phone");
    w.incoming_call("1");
    w.run_for(3_600_000);
    w.engine.handle_license(w.now, License::None);
    w.pump();

    assert!(w.hub_requests_since(0).is_empty());
    assert!(w.presence_requests_since(0).is_empty());
    assert_eq!(
        non_dump(&w.traces()),
        vec!["kuando-log: no app license, stop service".to_string()]
    );
    let st = w.status();
    assert_eq!(st.license, Some(License::None));
    assert!(!st.running);
}

#[test]
fn losing_the_license_gives_the_lamp_and_the_presence_back_on_a_hub_an_administrator_ranked() {
    let mut w = World::started();
    // An administrator ranked Manual Changer above the connector, so its "busy" shows while the connector's
    // call rings.
    w.hub.ranking = Ranking::AdminOthersFirst;
    w.incoming_call("1");
    w.hub_shows("Manual Changer", "Busy");
    w.run_for(POLL + 100);
    assert_eq!(w.pbx.presence, presence("busy", ""));
    let t = w.now;
    w.engine.handle_license(t, License::None);
    w.run_for(60_000);
    assert_eq!(w.pbx.presence, Presence::available());
    assert_eq!(
        kinds(&w.hub_requests_since(t)),
        vec![RequestKind::Command(LampCommand::Logout, None)]
    );
}

#[test]
fn a_lamp_command_does_not_wait_behind_a_poll_to_a_hung_hub() {
    let mut w = World::started();
    w.hub.mode = HubMode::PollHangs;
    // Let a poll go out and hang.
    w.run_for(POLL + 10);
    let t = w.now;
    w.incoming_call("1");
    w.run_for(20);
    assert_eq!(
        w.lamp_commands_since(t),
        vec![(t, LampCommand::blink(red()))]
    );
    assert_eq!(w.lamp(), Some(LampCommand::blink(red())));
}

#[test]
fn while_a_command_is_in_flight_only_the_newest_lamp_state_follows() {
    let mut w = World::started();
    w.hub.lamp_latency_ms = 300;
    let t = w.now;
    w.incoming_call("1");
    w.run_for(50);
    w.answer("1");
    w.run_for(50);
    w.hang_up("1");
    w.run_for(1_000);
    let cmds = w.lamp_commands_since(t);
    assert_eq!(
        cmds.iter().map(|c| c.1).collect::<Vec<_>>(),
        vec![LampCommand::blink(red()), LampCommand::Off]
    );
    // Never two at once: the second went out when the first was answered.
    assert!(cmds[1].0 >= cmds[0].0 + 300);
    assert_eq!(w.lamp(), None);
}

#[test]
fn unknown_applications_and_events_are_traced_once_not_on_every_poll() {
    let mut w = World::started();
    let t = w.now;
    w.hub_shows("Skype", "On-The-Phone");
    w.run_for(600_000);
    w.hub_shows("MS Teams", "Available");
    w.run_for(600_000);
    w.hub_shows("Skype", "On-The-Phone");
    w.run_for(600_000);
    assert_eq!(
        w.traces_since(t),
        vec![
            "kuando-log: transforming: ignored, sending application is unknown: Skype / Light / On-The-Phone"
                .to_string(),
            "kuando-log: transforming: ignored, sending event is unknown: MS Teams / Light / Available"
                .to_string(),
        ]
    );
    assert_eq!(w.pbx.presence, Presence::available());
}

#[test]
fn a_quiet_system_sends_nothing_but_one_poll_per_interval() {
    let mut w = World::started();
    let t = w.now;
    w.run_for(3_600_000);
    let actions: Vec<&EngineAction> = w.since(t).map(|l| &l.action).collect();
    assert!(actions.iter().all(|a| matches!(
        a,
        EngineAction::Hub { request, .. } if request.kind == RequestKind::CurrentPresence
    )));
    let n = actions.len() as u64;
    assert!(
        (3_600_000 / POLL - 2..=3_600_000 / POLL + 1).contains(&n),
        "{n} polls"
    );
}

#[test]
fn shutdown_logs_out_and_restores_the_presence_it_set() {
    let mut w = World::started();
    w.user_sets_presence("away", "back at 3");
    w.hub_shows("MS Teams", "On-The-Phone");
    w.run_for(POLL + 100);
    assert_eq!(w.pbx.presence, presence("on-the-phone", "MS Teams"));
    assert_eq!(w.lamp(), Some(LampCommand::Light(hex("#ffff00"))));
    let t = w.now;
    w.engine.handle_shutdown(t);
    w.pump();
    assert_eq!(
        kinds(&w.hub_requests_since(t)),
        vec![RequestKind::Command(LampCommand::Logout, None)]
    );
    assert_eq!(
        w.presence_requests_since(t),
        vec![(t, presence("away", "back at 3"))]
    );
    // Afterwards: nothing at all, whatever happens.
    w.run_for(100);
    let after = w.now;
    w.incoming_call("2");
    w.run_for(600_000);
    assert_eq!(w.since(after).count(), 0);
    assert_eq!(w.engine.poll_timeout(), None);
}

#[test]
fn debug_dump_at_start_and_on_demand_like_the_concept() {
    let mut c = Connector::new();
    let mut lines = Vec::new();
    while let Some(a) = c.poll_action() {
        if let EngineAction::Trace(t) = a {
            lines.push(t);
        }
    }
    assert_eq!(
        &lines[..4],
        &[
            "kuando-log: debug - lamp_myapps_state: free",
            "kuando-log: debug - lamp_call_state: free",
            "kuando-log: debug - kuando_hub_installed: undefined",
            "kuando-log: debug - count_calls: 0",
        ]
    );

    let mut w = World::started();
    w.user_sets_presence("dnd", "");
    w.incoming_call("1");
    w.run_for(100);
    let t = w.now;
    w.engine.request_debug_dump();
    w.pump();
    let dump = w.traces_since(t);
    assert_eq!(
        &dump[..4],
        &[
            "kuando-log: debug - lamp_myapps_state: dnd",
            "kuando-log: debug - lamp_call_state: ringing",
            "kuando-log: debug - kuando_hub_installed: true",
            "kuando-log: debug - count_calls: 1",
        ]
    );
}

#[test]
fn a_hub_too_old_for_currentpresence_still_gets_the_lamp() {
    let mut w = World::blank();
    w.hub.mode = HubMode::TooOld;
    w.service(true);
    w.engine.handle_license(0, License::Connector);
    w.engine.handle_config(0, Config::default());
    w.engine.handle_own_presence(0, Presence::available());
    w.run_for(10_000);
    assert_eq!(w.status().hub, HubStatus::TooOld);
    let old: Vec<String> = w
        .traces()
        .into_iter()
        .filter(|t| t.contains("too old"))
        .collect();
    assert_eq!(old.len(), 1);
    let t = w.now;
    w.incoming_call("1");
    w.run_for(50);
    assert_eq!(w.lamp(), Some(LampCommand::blink(red())));
    // It is only asked now and then whether it learnt currentpresence.
    w.run_for(600_000);
    let polls = w
        .hub_requests_since(t)
        .into_iter()
        .filter(|r| r.1.kind == RequestKind::CurrentPresence)
        .count();
    assert!(polls <= 11, "{polls}");
}

#[test]
fn without_a_busylight_presence_sync_goes_on_and_a_lamp_plugged_in_later_gets_the_state() {
    let mut w = World::blank();
    w.hub.devices = 0; // kuandoHUB innovaphone Edition, or the lamp is unplugged
    w.service(true);
    w.engine.handle_license(0, License::Connector);
    w.engine.handle_config(0, Config::default());
    w.engine.handle_own_presence(0, Presence::available());
    w.run_for(3_000);
    assert_eq!(w.status().devices, Some(0));
    assert!(w.status().no_device);
    w.incoming_call("1");
    w.hub_shows("Zoom", "In-a-Zoom-Meeting");
    w.run_for(POLL + 100);
    assert_eq!(w.pbx.presence, presence("on-the-phone", "Zoom"));
    let lines: Vec<String> = w
        .traces()
        .into_iter()
        .filter(|t| t.contains("no Busylight"))
        .collect();
    assert_eq!(lines.len(), 1);
    // A lamp plugged in: within the device re-check it shows the ringing call.
    w.hub.devices = 1;
    w.run_for(300_000 + 10_000);
    assert_eq!(w.lamp(), Some(LampCommand::blink(red())));
    assert!(!w.status().no_device);
}

#[test]
fn presence_waits_for_the_service_and_failed_requests_are_retried_without_flooding() {
    let mut w = World::started();
    w.service(false);
    w.hub_shows("Webex", "On-The-Phone");
    w.run_for(10_000);
    assert_eq!(w.pbx.presence, Presence::available());
    assert!(w.presence_requests_since(0).is_empty());
    // The service is back but the PBX refuses for a few minutes.
    w.pbx.refuse = true;
    w.service(true);
    w.run_for(300_000);
    assert_eq!(w.pbx.presence, Presence::available());
    let tries = w.presence_requests_since(0).len();
    assert!((4..=10).contains(&tries), "{tries} tries in 5 minutes");
    let failed: Vec<String> = w
        .traces()
        .into_iter()
        .filter(|t| t.contains("failed"))
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    w.pbx.refuse = false;
    w.run_for(61_000);
    assert_eq!(w.pbx.presence, presence("on-the-phone", "Webex"));
}

#[test]
fn calls_that_exist_when_the_app_starts_light_the_lamp() {
    let mut w = World::blank();
    w.service(true);
    w.engine.handle_license(0, License::WithBusylight);
    w.engine.handle_phone_calls(
        0,
        "softphone",
        vec![(
            "3".into(),
            CallInfo {
                dir: Some(Direction::Outgoing),
                state: Some(CallState::Connected),
            },
        )],
    );
    w.engine.handle_config(0, Config::default());
    w.run_for(1_000);
    assert_eq!(w.lamp(), Some(LampCommand::Light(red())));
    // The first command already is the call's: the lamp never flashed "off" first.
    assert_eq!(
        w.lamp_commands_since(0),
        vec![(w.lamp_commands_since(0)[0].0, LampCommand::Light(red()))]
    );
}

#[test]
fn a_changed_lamp_scheme_is_shown_at_once_and_the_same_settings_again_change_nothing() {
    let mut w = World::started();
    w.incoming_call("1");
    w.answer("1");
    w.run_for(100);
    let mut cfg = Config::default();
    cfg.lamp.connected.color = "#00ff00".into();
    let t = w.now;
    w.set_config(cfg.clone());
    w.run_for(100);
    assert_eq!(w.lamp(), Some(LampCommand::Light(hex("#00ff00"))));
    let t2 = w.now;
    w.set_config(cfg);
    w.run_for(100);
    assert_eq!(w.lamp_commands_since(t).len(), 1);
    assert!(w
        .since(t2)
        .all(|l| !matches!(l.action, EngineAction::Trace(_) | EngineAction::Status(_))));
}

#[test]
fn the_user_sets_presence_while_the_connectors_request_is_on_its_way_and_the_user_wins() {
    let mut w = World::started();
    w.hub_shows("MS Teams", "On-The-Phone");
    let t = w.now;
    w.run_until_or_fail(10_000, 1, "the connector's request", |w| {
        !w.presence_requests_since(t).is_empty()
    });
    // The connector asked for "on the phone"; before the PBX applied it, the user chose dnd by hand.
    w.run_for(5);
    w.user_sets_presence("dnd", "focus");
    // The PBX applies the connector's late request after the user's change; its echo must not be taken for
    // the user's choice.
    w.run_for(1_000);
    assert_eq!(w.pbx.presence, presence("dnd", "focus"));
    w.hub_shows_nothing();
    w.run_for(10_000);
    assert_eq!(w.pbx.presence, presence("dnd", "focus"));
}

#[test]
fn a_shorter_poll_interval_applies_at_once() {
    let slow = Config {
        poll_interval: 60,
        ..Config::default()
    };
    let mut w = World::started_with(slow, License::WithBusylight);
    w.run_for(5_000);
    w.set_config(Config {
        poll_interval: 1,
        ..Config::default()
    });
    w.hub_shows("MS Teams", "On-The-Phone");
    w.run_for(1_100);
    assert_eq!(w.pbx.presence, presence("on-the-phone", "MS Teams"));
}

#[test]
fn a_leftover_on_the_phone_from_a_crashed_start_is_given_back_once_no_call_shows() {
    // myApps crashed during a Teams call: the PBX still says "on the phone" when the connector starts.
    let mut w = World::blank();
    w.pbx.presence = presence("on-the-phone", "MS Teams");
    w.service(true);
    w.engine.handle_license(0, License::WithBusylight);
    w.engine.handle_config(0, Config::default());
    w.engine
        .handle_own_presence(0, presence("on-the-phone", "MS Teams"));
    w.run_for(3_000);
    assert_eq!(w.pbx.presence, Presence::available());

    // The same with the call still going at start: kept while it lasts, given back after.
    let mut w = World::blank();
    w.pbx.presence = presence("on-the-phone", "MS Teams");
    w.hub_shows("MS Teams", "On-The-Phone");
    w.service(true);
    w.engine.handle_license(0, License::WithBusylight);
    w.engine.handle_config(0, Config::default());
    w.engine
        .handle_own_presence(0, presence("on-the-phone", "MS Teams"));
    w.run_for(10_000);
    let teams = presence("on-the-phone", "MS Teams");
    assert_eq!(w.pbx.presence, teams);
    // Nothing changes on the PBX; the service's guard is told the call is claimed, once.
    assert_eq!(
        w.guard_requests_since(0),
        [(0, teams.clone(), Some(teams.clone()))]
    );
    assert_eq!(w.pbx.claim, Some(teams));
    w.hub_shows_nothing();
    w.run_for(POLL + 100);
    assert_eq!(w.pbx.presence, Presence::available());

    // And with no kuandoHUB at all: given back after two poll intervals.
    let mut w = World::blank();
    w.hub.mode = HubMode::Down;
    w.pbx.presence = presence("on-the-phone", "Zoom");
    w.service(true);
    w.engine.handle_license(0, License::WithBusylight);
    w.engine.handle_config(0, Config::default());
    w.engine
        .handle_own_presence(0, presence("on-the-phone", "Zoom"));
    w.run_for(3 * POLL);
    assert_eq!(w.pbx.presence, Presence::available());
}

#[test]
fn the_engine_can_be_logged_without_its_token() {
    let mut w = World::started();
    w.set_config(Config {
        hub_url: "http://192.168.0.100:8989".into(),
        token: "t0psecret".into(),
        ..Config::default()
    });
    let shown = format!("{:?}", w.engine);
    assert!(shown.contains("192.168.0.100"));
    assert!(!shown.contains("t0psecret"), "{shown}");
}

#[test]
fn the_users_choice_during_a_teams_call_survives_a_hub_outage_in_that_call() {
    let mut w = World::started();
    w.hub_shows("MS Teams", "On-The-Phone");
    w.run_for(POLL + 100);
    assert_eq!(w.pbx.presence, presence("on-the-phone", "MS Teams"));
    // The hub drops out for a while; meanwhile the user sets "busy" by hand.
    w.hub.mode = HubMode::Down;
    w.run_for(POLL);
    w.user_sets_presence("busy", "meeting");
    w.run_for(30_000);
    // The hub is back, still in the same Teams call: not news, the user's choice stays.
    w.hub.restart();
    w.hub_shows("MS Teams", "On-The-Phone");
    let t = w.now;
    w.run_for(60_000);
    assert_eq!(w.pbx.presence, presence("busy", "meeting"));
    assert!(w.presence_requests_since(t).is_empty());
}
