//! The administrator's view: every user's connector at a glance in the PBX Manager. alice's connector runs
//! with a lamp, bob's kuandoHUB is stopped, carol has no license, dave never started: the plugin's Users view
//! shows exactly that; bob's hub comes back and his row turns fine without reloading the page. In Chromium
//! (one browser per user's PC, one for the PBX Manager), against the simulated PBX, myApps and kuandoHUBs.

use std::time::{Duration, Instant};

use kuando_e2e::fleet::{open_manager, rows_until, users_view, Fleet, BOB_PC, EXPECTED};
use kuando_e2e::{say, wait_until};
use serde_json::Value;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_users_view_shows_each_connector_and_bobs_row_turns_fine_when_his_hub_is_back(
) -> Result<(), String> {
    let mut fleet = Fleet::start("fleet view").await?;
    open_manager(&fleet.story, "light").await?;
    let v = rows_until(
        &fleet.story,
        "alice fine, bob and carol with a problem, no dave",
        secs(30),
        &EXPECTED,
    )
    .await?;
    fleet.story.done("the Users view shows the fleet");
    assert_eq!(v["totals"], serde_json::json!([3, 2, 2]), "{v}");
    let row = |sip: &str| {
        v["rows"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["sip"] == sip)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let text = |sip: &str, k: &str| row(sip)[k].as_str().unwrap_or("").to_string();
    assert!(text("alice", "client").contains("Busylights: 1"), "{v}");
    assert!(text("alice", "client").contains("hub on this PC"), "{v}");
    assert!(text("alice", "problem").starts_with("Running"), "{v}");
    assert!(
        text("bob", "problem").starts_with("kuandoHUB not reachable since"),
        "{v}"
    );
    assert!(
        text("carol", "problem").starts_with("No license for this user."),
        "{v}"
    );
    // Nothing of the hub's address or token, nor the user's presence, reaches the view.
    let all = v.to_string();
    for secret in [fleet.story.sims.hub_url().as_str(), "127.0.0", "presence"] {
        assert!(!all.contains(secret), "{secret} in {all}");
    }

    // Only problems, and a search by name.
    fleet.story.browser.click(".kuando-fleet-problems").await?;
    rows_until(
        &fleet.story,
        "only the problems",
        secs(5),
        &[("bob", "problem"), ("carol", "problem")],
    )
    .await?;
    fleet.story.browser.click(".kuando-fleet-problems").await?;
    // Typed as one input event: the view draws anew after each answer (the focus stays in the field).
    fleet
        .story
        .browser
        .js("const s = document.querySelector('.kuando-fleet-search'); s.focus(); s.value = 'CAR'; s.dispatchEvent(new Event('input')); return true;")
        .await?;
    rows_until(
        &fleet.story,
        "carol found by name",
        secs(5),
        &[("carol", "problem")],
    )
    .await?;
    fleet
        .story
        .browser
        .js("const s = document.querySelector('.kuando-fleet-search'); s.value = ''; s.dispatchEvent(new Event('input')); window.kuandoNoReload = true; return true;")
        .await?;
    rows_until(&fleet.story, "all rows again", secs(5), &EXPECTED).await?;
    fleet.story.done("only problems, search by name");

    // bob starts his kuandoHUB: his connector finds it (with its back-off), and his row turns fine on the
    // open page within 5 s of that.
    let bob_hub = fleet.story.sims.other_pcs_hub(BOB_PC).await?;
    let started = Instant::now();
    wait_until(
        "bob's connector to reach his hub again",
        secs(70),
        || async {
            let h = bob_hub.hub.state();
            if h["data_sources"].as_array().is_some_and(|d| !d.is_empty()) {
                Ok(())
            } else {
                Err("not yet".into())
            }
        },
    )
    .await?;
    let reached = Instant::now();
    rows_until(
        &fleet.story,
        "bob's row fine without a reload",
        secs(5),
        &[("alice", "fine"), ("bob", "fine"), ("carol", "problem")],
    )
    .await?;
    say(&format!(
        "fleet: bob's hub back → his connector reached it after {:.1} s, his row fine {:.1} s later",
        (reached - started).as_secs_f64(),
        reached.elapsed().as_secs_f64()
    ));
    assert_eq!(
        fleet
            .story
            .browser
            .js("return window.kuandoNoReload === true;")
            .await?,
        Value::Bool(true),
        "the page was not reloaded"
    );
    let v = users_view(&fleet.story).await?;
    assert_eq!(v["totals"], serde_json::json!([3, 2, 1]), "{v}");
    fleet.story.done("bob's hub back → his row fine");
    drop(bob_hub);
    fleet.finish().await;
    Ok(())
}
