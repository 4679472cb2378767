//! Issue 12, point 4: Chrome's Local Network Access permission, in virtual time. While it is denied the hidden
//! app does not hammer the hub and says the browser blocks it; while it is `prompt` nothing goes out from the
//! background; granted again, the hub is tried at once.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{presence, HubMode, World};
use kuando_connector::engine::{HubStatus, RETRY_MAX_MS};
use kuando_connector::lna::Permission;

const POLL: u64 = 2_000;

fn set(w: &mut World, p: Permission) {
    w.engine.handle_local_network(w.now, p);
    w.pump();
}

#[test]
fn denied_the_hub_is_tried_once_a_minute_and_the_status_says_the_browser_blocks_it() {
    let mut w = World::started();
    w.user_sets_presence("away", "back at 3");
    w.hub_shows("MS Teams", "On-The-Phone");
    w.run_for(POLL + 100);
    assert_eq!(w.pbx.presence, presence("on-the-phone", "MS Teams"));
    // The browser blocks: every fetch fails like a network error.
    let t = w.now;
    w.hub.mode = HubMode::Down;
    set(&mut w, Permission::Denied);
    w.run_for(600_000);
    let st = w.status();
    assert_eq!(st.hub, HubStatus::Blocked);
    assert!(
        st.last_error
            .as_deref()
            .is_some_and(|e| e.contains("browser blocks access to kuandoHUB")),
        "{st:?}"
    );
    let requests = w.hub_requests_since(t).len();
    assert!(
        requests <= (600_000 / RETRY_MAX_MS) as usize + 1,
        "{requests} requests in 10 minutes"
    );
    // Nobody is left on the phone by a hub the connector cannot see.
    assert_eq!(w.pbx.presence, presence("away", "back at 3"));
    let traces = w.traces_since(t);
    assert!(
        traces.iter().all(|l| !l.contains("not reachable")),
        "{traces:?}"
    );
    // Allowed again: the hub is tried at once, not at the next minute.
    w.hub.mode = HubMode::Up;
    set(&mut w, Permission::Granted);
    w.run_for(POLL + 100);
    assert_eq!(w.status().hub, HubStatus::Reachable);
    assert_eq!(w.pbx.presence, presence("on-the-phone", "MS Teams"));
}

#[test]
fn prompt_and_failed_requests_never_hammer_and_allowed_the_hub_is_tried_at_once() {
    let mut w = World::blank();
    // The browser would ask, and blocks the request meanwhile (it fails like a network error).
    w.hub.mode = HubMode::Down;
    w.engine.handle_local_network(0, Permission::Prompt);
    w.service(true);
    w.engine
        .handle_license(0, kuando_connector::proto::License::Connector);
    w.engine
        .handle_config(0, kuando_connector::config::Config::default());
    w.run_for(3_600_000);
    let n = w.hub_requests_since(0).len();
    assert!(n <= 61, "{n} requests in an hour");
    assert_eq!(w.status().hub, HubStatus::NeedsPermission);
    // The user allowed it (from the config app's button): the hidden app connects at once.
    let t = w.now;
    w.hub.mode = HubMode::Up;
    set(&mut w, Permission::Granted);
    w.run_for(500);
    assert_eq!(w.status().hub, HubStatus::Reachable);
    assert!(w.hub_requests_since(t).first().is_some_and(|r| r.0 == t));
}

#[test]
fn prompt_holds_nothing_back_and_failures_show_that_the_browser_may_be_asking() {
    // Browsers report `prompt` also for a page in the hub's own address space; there the hub answers.
    let mut w = World::started();
    set(&mut w, Permission::Prompt);
    let t = w.now;
    w.run_for(20_000);
    assert!(w.hub_requests_since(t).len() >= 9);
    assert_eq!(w.status().hub, HubStatus::Reachable);
    // Now requests fail (the browser holds them, or the hub is gone): the ordinary back-off (at most once a
    // minute once it has grown), and the status says the browser may be asking.
    w.hub.mode = HubMode::Down;
    w.run_for(10_000);
    assert_eq!(w.status().hub, HubStatus::NeedsPermission);
    let t = w.now;
    w.run_for(300_000);
    assert!(w.hub_requests_since(t).len() <= 8);
    // An ordinary outage that ends is found within a minute, permission unchanged.
    w.hub.mode = HubMode::Up;
    w.run_for(61_000);
    assert_eq!(w.status().hub, HubStatus::Reachable, "{:?}", w.status());
}

#[test]
fn unknown_or_granted_changes_nothing() {
    let mut a = World::started();
    let mut b = World::started();
    set(&mut b, Permission::Unknown);
    set(&mut b, Permission::Granted);
    a.run_for(30_000);
    b.run_for(30_000);
    assert_eq!(a.status().hub, b.status().hub);
    let polls = |w: &World| w.hub_requests_since(3_000).len();
    assert!(polls(&a).abs_diff(polls(&b)) <= 1);
}
