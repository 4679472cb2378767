//! The service's presence guard (issue 13), end to end: the shipped service in the myApps simulator, the real
//! apps in Chromium, the browser process killed with SIGKILL as a crash or a power cut would end it (no
//! unload handler runs). The instance's config item `guardGraceSeconds` is set to a short grace period, so
//! the stories do not wait the default 60 s.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use kuando_e2e::{holds_for, Browser, Setup, Sims, Story, SENDER};
use kuando_sim::hub::HubHandle;
use serde_json::json;

/// The grace period the stories' service runs with (config item guardGraceSeconds).
const GRACE_S: u64 = 5;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn guarded() -> Setup {
    Setup {
        service_config: vec![format!("guardGraceSeconds={GRACE_S}")],
        ..Default::default()
    }
}

/// Starts the product, sets a presence with a note to restore, and starts an MS Teams call on the hub.
async fn in_a_teams_call(name: &str) -> Result<Story, String> {
    let mut story = Story::start(name, guarded()).await?;
    story.start_product().await?;
    let user = story.user.clone();
    story.sims.set_presence(&user, "away", "back at 3").await?;
    story.presence_until("away", "back at 3", secs(5)).await?;
    story.begin();
    story.teams_call_on_the_phone().await?;
    story.done("MS Teams call → on the phone (MS Teams)");
    Ok(story)
}

/// The MS Teams call ends on the hub: within 5 s the user is away "back at 3" again.
async fn teams_call_ends_and_is_restored(story: &Story) -> Result<(), String> {
    story
        .sims
        .hub_source(json!({"sender": "MS Teams", "clear": true}))?;
    story.presence_until("away", "back at 3", secs(5)).await
}

/// The user's presence stays "on the phone (MS Teams)" for `window` (`what`); `wrong` says what it means
/// when it does not.
async fn stays_on_the_phone(
    story: &Story,
    what: &str,
    window: Duration,
    wrong: &str,
) -> Result<(), String> {
    holds_for(what, window, || async {
        let p = story.sims.presence(&story.user).await?;
        if p["activity"] == "on-the-phone" && p["note"] == "MS Teams" {
            Ok(())
        } else {
            Err(format!("{wrong}: {p}"))
        }
    })
    .await
}

/// The story's browser is SIGKILLed during a call. Nothing is restored within the grace period (a reload or
/// a reconnect could still come back); then the presence is away "back at 3" again within grace + 10 s.
/// Prints `what` with the browser's pid and the time it took.
async fn killed_then_restored(story: &mut Story, what: &str) -> Result<Duration, String> {
    let pid = story.browser.kill()?;
    let killed = Instant::now();
    story.begin();
    stays_on_the_phone(
        story,
        "on the phone within the grace period",
        secs(GRACE_S - 2),
        "restored too early",
    )
    .await?;
    story
        .presence_until("away", "back at 3", secs(GRACE_S + 10))
        .await?;
    let took = killed.elapsed();
    story.done(&format!(
        "{what} (Chromium pid {pid} SIGKILLed) → restored to away \"back at 3\" in {:.2} s (grace {GRACE_S} s)",
        took.as_secs_f64()
    ));
    assert!(
        took >= secs(GRACE_S),
        "restored before the grace period: {took:?}"
    );
    Ok(took)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_browser_during_a_teams_call_is_restored_after_the_grace_period(
) -> Result<(), String> {
    let mut story = in_a_teams_call("killed browser → presence restored").await?;
    killed_then_restored(&mut story, "browser killed mid-call").await?;
    story.finish().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dnd_set_from_another_client_after_the_browser_died_stays() -> Result<(), String> {
    let mut story = in_a_teams_call("killed browser, dnd from another client").await?;
    story.browser.kill()?;
    let user = story.user.clone();
    // The user sets dnd on their phone meanwhile.
    story.sims.set_presence(&user, "dnd", "").await?;
    story.presence_until("dnd", "", secs(5)).await?;
    story.begin();
    holds_for("dnd kept", secs(GRACE_S + 5), || async {
        let p = story.sims.presence(&story.user).await?;
        if p["activity"] == "dnd" {
            Ok(())
        } else {
            Err(format!("the guard overwrote dnd: {p}"))
        }
    })
    .await?;
    story.done("dnd set from another client → still dnd after the grace period");
    story.finish().await;
    Ok(())
}

/// Waits until `n` myApps sessions of the user run the hidden app (phoneinfo registered).
async fn hidden_apps_running(story: &Story, n: usize) -> Result<(), String> {
    kuando_e2e::wait_until(
        &format!("{n} clients running the hidden app"),
        secs(20),
        || async {
            let m = story.sims.myapps_state().await?;
            let running = m["sessions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|s| {
                    s["frames"]["hidden"]["registered"]
                        .as_array()
                        .is_some_and(|r| r.iter().any(|a| a == "com.innovaphone.phoneinfo"))
                })
                .count();
            if running >= n {
                Ok(())
            } else {
                Err(format!("{running} running"))
            }
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_in_a_call_one_killed_the_other_keeps_it_then_restores() -> Result<(), String> {
    let mut story = Story::start("two clients, one killed mid-call", guarded()).await?;
    story.start_product().await?;
    // The user's second client (a laptop): another browser, the same user, the same settings.
    let laptop = Browser::start().await?;
    laptop
        .goto(&format!(
            "{}&scheme=dark",
            story.sims.launcher_url(&story.user)
        ))
        .await?;
    hidden_apps_running(&story, 2).await?;
    let user = story.user.clone();
    story.sims.set_presence(&user, "away", "back at 3").await?;
    story.presence_until("away", "back at 3", secs(5)).await?;
    story.begin();
    story.teams_call_on_the_phone().await?;
    story.done("MS Teams call seen by both clients → on the phone");

    story.browser.kill()?;
    stays_on_the_phone(
        &story,
        "on the phone while the other client still sees the call",
        secs(GRACE_S + 3),
        "restored although the laptop still claims",
    )
    .await?;
    story.done("one client killed mid-call → still on the phone past the grace period");

    teams_call_ends_and_is_restored(&story).await?;
    story.done("the call ends on the remaining client → restored to away \"back at 3\"");
    laptop.close().await;
    story.finish().await;
    Ok(())
}

/// The user's desk PC and laptop: each a browser whose `localhost` is its own kuandoHUB.
const DESK: Ipv4Addr = Ipv4Addr::LOCALHOST;
const LAPTOP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// Waits until the connector has registered as a data source with `hub`.
async fn registered_with(hub: &HubHandle, which: &str) -> Result<(), String> {
    kuando_e2e::wait_until(
        &format!("the connector registered with the {which}'s kuandoHUB"),
        secs(20),
        || async {
            let h = hub.state();
            if h["data_sources"]
                .as_array()
                .is_some_and(|d| d.iter().any(|s| s["name"] == SENDER))
            {
                Ok(())
            } else {
                Err(format!("hub requests so far: {}", h["requests"]))
            }
        },
    )
    .await
}

/// While the laptop's hub shows no call, its connector looks at it (`polls` fresh polls) and the user's
/// presence stays `activity`.
async fn laptop_changes_nothing(
    story: &Story,
    laptop_hub: &HubHandle,
    activity: &str,
    polls: usize,
) -> Result<(), String> {
    let seq = laptop_hub.state()["requests"].as_u64().unwrap_or(0);
    holds_for(
        &format!("{activity} while the laptop's quiet hub is polled"),
        secs(3),
        || async {
            let p = story.sims.presence(&story.user).await?;
            if p["activity"] == activity {
                Ok(())
            } else {
                Err(format!("the laptop's quiet hub changed the presence: {p}"))
            }
        },
    )
    .await?;
    kuando_e2e::polls_after(laptop_hub, seq, polls).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pcs_each_with_its_own_hub_one_call_one_truth() -> Result<(), String> {
    let mut story = Story::start_with("two PCs, each with its own hub", guarded(), |_| {
        vec![Sims::localhost_is(DESK)]
    })
    .await?;
    let laptop_hub = story.sims.other_pcs_hub(LAPTOP).await?;
    // As on real PCs: one setting for the user, `localhost`, and each PC reaches its own hub there.
    let url = story.sims.localhost_hub_url();
    story.start_product_on(&url).await?;
    let laptop = Browser::start_with(&[Sims::localhost_is(LAPTOP)]).await?;
    laptop
        .goto(&format!(
            "{}&scheme=dark",
            story.sims.launcher_url(&story.user)
        ))
        .await?;
    hidden_apps_running(&story, 2).await?;
    registered_with(&laptop_hub.hub, "laptop").await?;
    story.done("desk and laptop each running against their own kuandoHUB on localhost");

    let user = story.user.clone();
    story.sims.set_presence(&user, "away", "back at 3").await?;
    story.presence_until("away", "back at 3", secs(5)).await?;
    story.begin();
    story.teams_call_on_the_phone().await?;
    story.done("MS Teams call on the desk's hub → on the phone (MS Teams)");
    laptop_changes_nothing(&story, &laptop_hub.hub, "on-the-phone", 2).await?;
    story.done("the laptop's hub shows no call → still on the phone");

    teams_call_ends_and_is_restored(&story).await?;
    story.done("the call ends on the desk → restored to away \"back at 3\"");
    laptop_changes_nothing(&story, &laptop_hub.hub, "away", 2).await?;

    story.teams_call_on_the_phone().await?;
    story.done("another MS Teams call on the desk → on the phone");
    killed_then_restored(
        &mut story,
        "the desk's browser killed mid-call, the laptop still running",
    )
    .await?;
    // The laptop, still connected with a quiet hub, neither held the call nor undoes the restore.
    laptop_changes_nothing(&story, &laptop_hub.hub, "away", 2).await?;
    let p = story.sims.presence(&story.user).await?;
    assert_eq!(
        (p["activity"].as_str(), p["note"].as_str()),
        (Some("away"), Some("back at 3")),
        "{p}"
    );
    laptop.close().await;
    story.finish().await;
    Ok(())
}

/// The ids of the user's app websockets that are logged in at the service.
async fn logged_in(story: &Story) -> Result<Vec<u64>, String> {
    let m = story.sims.myapps_state().await?;
    Ok(m["apps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["user"] == story.user.as_str() && c["loggedIn"] == true)
        .filter_map(|c| c["id"].as_u64())
        .collect())
}

/// Waits until as many app websockets of the user as `before` are logged in again, all of them new ones.
async fn reconnected(story: &Story, before: &[u64]) -> Result<(), String> {
    let newest = before.iter().copied().max().unwrap_or(0);
    kuando_e2e::wait_until(
        &format!(
            "{} app connections of the user logged in again",
            before.len()
        ),
        secs(20),
        || async {
            let now = logged_in(story).await?;
            let fresh = now.iter().filter(|&&id| id > newest).count();
            if fresh >= before.len() && now.len() == fresh {
                Ok(())
            } else {
                Err(format!(
                    "logged in now: {now:?}, before the restart: {before:?}"
                ))
            }
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_restart_during_a_call_restores_nothing_wrong_and_the_guard_goes_on(
) -> Result<(), String> {
    let mut story = in_a_teams_call("service restarted mid-call").await?;
    let before = logged_in(&story).await?;
    assert!(!before.is_empty(), "no app connection before the restart");
    story.begin();
    story.sims.restart_service().await?;
    story.done("app service killed and started again on its database");
    // The apps come back: their websockets dropped with the process.
    reconnected(&story, &before).await?;
    story.done("the apps reconnected to the new service");
    // The guard the old process stored waits a grace period for a claim; the hidden app, whose hub still
    // shows the call, claims it again: nothing is restored while the call goes on.
    stays_on_the_phone(
        &story,
        "on the phone past the restarted service's grace period",
        secs(GRACE_S + 3),
        "a wrong restore after the service restart",
    )
    .await?;
    story.done("call still on after the restart → still on the phone (MS Teams)");

    // What to restore was kept across the restart.
    teams_call_ends_and_is_restored(&story).await?;
    story.done("the call ends → restored to away \"back at 3\"");

    // And the guard still works: a new call, then the browser dies.
    story.teams_call_on_the_phone().await?;
    killed_then_restored(&mut story, "after the restart: browser killed mid-call").await?;
    story.finish().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guard_stored_before_a_service_restart_still_restores() -> Result<(), String> {
    let mut story = in_a_teams_call("browser killed, then the service restarted").await?;
    story.browser.kill()?;
    let killed = Instant::now();
    // Within the grace period nobody claims again, and the service's process is killed and started anew:
    // only the database knows the guard.
    story.sims.restart_service().await?;
    story.done("browser SIGKILLed mid-call, then the app service restarted");
    let p = story.sims.presence(&story.user).await?;
    assert_eq!(
        p["activity"], "on-the-phone",
        "restored before the grace period: {p}"
    );
    story
        .presence_until("away", "back at 3", secs(2 * GRACE_S + 10))
        .await?;
    story.done(&format!(
        "the restarted service restored away \"back at 3\" {:.2} s after the browser died (grace {GRACE_S} s)",
        killed.elapsed().as_secs_f64()
    ));
    story.finish().await;
    Ok(())
}
