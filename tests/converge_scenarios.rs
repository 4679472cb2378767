//! Convergence as user stories, in virtual time: what the hub or the PBX lost or refused is sent again until
//! they show what the connector wants (see ARCHITECTURE.md, "Level-triggered, not edge-triggered").
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{presence, red, World};
use kuando_connector::config::LampSlot;
use kuando_connector::engine::{EngineAction, YIELD_MS};
use kuando_connector::hub::{event_names, LampCommand};
use kuando_connector::proto::PresenceGuard;
use kuando_connector::state::Presence;

const POLL: u64 = 2_000;

/// A connected call: the hub runs the connector's `Connected`.
fn in_a_call() -> World {
    let mut w = World::started();
    w.incoming_call("1");
    w.answer("1");
    w.run_for(1_000);
    assert_eq!(w.lamp_event(), Some(("Call", "Connected")));
    w
}

fn owed_lines(w: &World, since: u64) -> Vec<String> {
    w.traces_since(since)
        .into_iter()
        .filter(|t| t.contains("owed"))
        .collect()
}

#[test]
fn lamp_unplugged_while_the_call_ends_the_release_is_sent_when_it_is_back() {
    let mut w = in_a_call();
    w.hub.devices = 0;
    w.hang_up("1");
    w.run_for(60_000);
    // The hub refused the release and kept the call; the connector owes it, and says so once.
    assert_eq!(w.lamp_event(), Some(("Call", "Connected")));
    assert_eq!(owed_lines(&w, 0).len(), 1, "{:?}", owed_lines(&w, 0));
    let tries = w.lamp_commands_since(2_000).len();
    assert!(tries <= 12, "not flooded: {tries} commands in a minute");
    w.hub.devices = 1;
    let back = w.now;
    w.run_for(2 * POLL);
    assert_eq!(
        w.lamp(),
        None,
        "released within two poll intervals of the lamp coming back"
    );
    let t = w.lamp_commands_since(back)[0].0 - back;
    assert!(t <= 2 * POLL, "{t} ms");
    assert!(w
        .traces_since(back)
        .iter()
        .any(|l| l.contains("taken by kuandoHUB now")));
}

#[test]
fn macos_no_device_text_while_the_call_ends_the_release_follows_when_the_lamp_is_back() {
    let mut w = in_a_call();
    w.hub.devices = 0;
    w.hub.command_reply = Some((200, b"NO_DEVICE".to_vec()));
    w.hub.presence_reply = Some((200, b"NO_DEVICE".to_vec()));
    w.hang_up("1");
    w.run_for(30_000);
    assert_eq!(w.lamp_event(), Some(("Call", "Connected")));
    w.hub.devices = 1;
    w.hub.command_reply = None;
    w.hub.presence_reply = None;
    w.run_for(2 * POLL);
    assert_eq!(w.lamp(), None);
}

#[test]
fn hub_answers_500_while_the_call_ends_then_heals() {
    let mut w = in_a_call();
    w.hub.command_reply = Some((500, b"oops".to_vec()));
    w.hub.presence_reply = Some((500, b"oops".to_vec()));
    w.hang_up("1");
    w.run_for(120_000);
    assert_eq!(w.lamp_event(), Some(("Call", "Connected")));
    assert_eq!(owed_lines(&w, 0).len(), 1);
    w.hub.command_reply = None;
    w.hub.presence_reply = None;
    w.run_for(2 * POLL);
    assert_eq!(
        w.lamp(),
        None,
        "released within two poll intervals of the hub healing"
    );
}

#[test]
fn a_command_that_only_the_lamp_lane_gets_refused_is_retried_with_back_off() {
    let mut w = World::started();
    w.hub.command_reply = Some((500, b"oops".to_vec()));
    w.incoming_call("1");
    w.run_for(600_000);
    let tries = w.lamp_commands_since(0).len();
    // 1, 2, 4, ... 60 s: at most about 15 in ten minutes, far from one a poll.
    assert!((8..=20).contains(&tries), "{tries} tries");
    w.hub.command_reply = None;
    w.run_for(70_000);
    assert_eq!(w.lamp(), Some(LampCommand::blink(red())));
}

#[test]
fn a_foreign_command_under_the_connectors_sender_is_put_right() {
    let mut w = in_a_call();
    // A second client of the user that then died wrote its "away" under the same sender.
    let labels = event_names(LampSlot::Away);
    w.foreign_under_our_sender(Some(LampCommand::Light(red())), labels);
    let at = w.now;
    w.run_for(2 * POLL);
    assert_eq!(w.lamp_event(), Some(("Call", "Connected")));
    assert_eq!(w.lamp_commands_since(at).len(), 1);
    // And with the call over, a leftover under the sender is released.
    w.hang_up("1");
    w.run_for(1_000);
    w.foreign_under_our_sender(Some(LampCommand::Light(red())), ("Light", "Color"));
    w.run_for(2 * POLL);
    assert_eq!(w.lamp(), None);
}

#[test]
fn a_stronger_command_of_another_client_is_left_alone_a_dead_ones_only_for_a_while() {
    let mut w = World::started();
    // The other client rings under the same sender; this one has no call.
    let labels = event_names(LampSlot::Ringing);
    w.foreign_under_our_sender(Some(LampCommand::blink(red())), labels);
    let at = w.now;
    w.run_for(YIELD_MS - POLL);
    assert!(
        w.lamp_commands_since(at).is_empty(),
        "no fight with a live client"
    );
    assert_eq!(w.lamp_event(), Some(("Call", "Ringing")));
    // Nobody ended it for five minutes: checked once; the client was dead, so it stays released.
    w.run_for(3 * POLL);
    assert_eq!(w.lamp(), None);
    assert_eq!(w.lamp_commands_since(at).len(), 1);
    w.run_for(10 * POLL);
    assert_eq!(w.lamp_commands_since(at).len(), 1);
}

#[test]
fn a_live_client_that_puts_its_stronger_command_back_is_left_alone_after_the_one_check() {
    let mut w = World::started();
    let labels = event_names(LampSlot::Connected);
    w.foreign_under_our_sender(Some(LampCommand::Light(red())), labels);
    w.run_for(YIELD_MS + 2 * POLL);
    assert_eq!(w.lamp(), None, "checked once");
    // The other client is alive: it puts its call back at once.
    w.foreign_under_our_sender(Some(LampCommand::Light(red())), labels);
    let at = w.now;
    w.run_for(2 * YIELD_MS);
    assert!(w.lamp_commands_since(at).is_empty(), "left alone");
    assert_eq!(w.lamp_event(), Some(("Call", "Connected")));
}

#[test]
fn a_hub_that_lost_the_command_gets_it_again() {
    let mut w = in_a_call();
    // The hub lost the sender's state without a restart the connector could notice.
    w.foreign_under_our_sender(None, ("", ""));
    w.run_for(2 * POLL);
    assert_eq!(w.lamp_event(), Some(("Call", "Connected")));
}

#[test]
fn a_hub_that_reports_the_sender_differently_is_not_written_to_every_poll() {
    let mut w = in_a_call();
    // Each command is stored, but reported under other labels.
    let at = w.now;
    for _ in 0..150 {
        w.hub.own_event = Some(("Light".into(), "Color".into()));
        w.run_for(POLL);
    }
    let n = w.lamp_commands_since(at).len();
    assert!(n <= 20, "{n} commands in 5 minutes");
}

// ----- the presence guard, through the engine -----

#[test]
fn a_refused_claim_is_sent_again_and_reaches_the_pbx_and_the_service() {
    let mut w = World::started();
    w.pbx.refuse_next = 2;
    w.hub_shows("MS Teams", "On-The-Phone");
    w.run_for(15_000);
    let teams = presence("on-the-phone", "MS Teams");
    assert_eq!(w.pbx.presence, teams);
    assert_eq!(w.pbx.claim, Some(teams.clone()));
    let claims: Vec<_> = w
        .guard_requests_since(0)
        .into_iter()
        .filter(|(_, _, c)| c.is_some())
        .collect();
    assert_eq!(claims.len(), 3, "two refused, one taken: {claims:?}");
    w.hub_shows_nothing();
    w.run_for(5_000);
    assert_eq!(w.pbx.presence, Presence::available());
    assert_eq!(w.pbx.claim, None, "released");
}

#[test]
fn the_pbx_already_shows_the_call_another_client_set_the_service_still_hears_the_claim() {
    let mut w = World::started();
    w.hub_shows("MS Teams", "On-The-Phone");
    // Another client of the user set it first; this one's own request is not needed for the PBX.
    let teams = presence("on-the-phone", "MS Teams");
    w.pbx.presence = teams.clone();
    w.engine.handle_own_presence(w.now, teams.clone());
    w.run_for(5_000);
    assert_eq!(w.pbx.claim, Some(teams.clone()));
    // A new service connection holds no claim: it is claimed again, once.
    w.service(false);
    w.run_for(1_000);
    w.service(true);
    let at = w.now;
    w.run_for(10_000);
    assert_eq!(w.pbx.claim, Some(teams));
    assert_eq!(w.guard_requests_since(at).len(), 1);
}

#[test]
fn presence_results_are_matched_by_id_not_by_order() {
    let mut w = World::started();
    w.service(false);
    w.hub_shows("MS Teams", "On-The-Phone");
    w.run_for(5_000);
    // A result for a request nobody sent changes nothing.
    w.engine
        .handle_presence_result(w.now, kuando_connector::engine::RequestId(9_999), Ok(()));
    w.service(true);
    w.run_for(5_000);
    let sent: Vec<_> = w
        .log
        .iter()
        .filter_map(|l| match &l.action {
            EngineAction::SetPresence { id, guard, .. } => Some((*id, guard.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(matches!(sent[0].1, PresenceGuard::Claim { .. }));
    assert_eq!(w.pbx.claim, Some(presence("on-the-phone", "MS Teams")));
}
