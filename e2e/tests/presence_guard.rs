//! The service's presence guard (issue 13), end to end: the shipped service in the myApps simulator, the real
//! apps in Chromium, the browser process killed with SIGKILL as a crash or a power cut would end it (no
//! unload handler runs). The instance's config item `guardGraceSeconds` is set to a short grace period, so
//! the stories do not wait the default 60 s.

use std::time::{Duration, Instant};

use kuando_e2e::{holds_for, Setup, Story};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_browser_during_a_teams_call_is_restored_after_the_grace_period(
) -> Result<(), String> {
    let mut story = in_a_teams_call("killed browser → presence restored").await?;
    let pid = story.browser.kill()?;
    let killed = Instant::now();
    story.begin();
    // Nothing is restored while a reload or a reconnect could still come back.
    holds_for(
        "on the phone within the grace period",
        secs(GRACE_S - 2),
        || async {
            let p = story.sims.presence(&story.user).await?;
            if p["activity"] == "on-the-phone" {
                Ok(())
            } else {
                Err(format!("restored too early: {p}"))
            }
        },
    )
    .await?;
    story
        .presence_until("away", "back at 3", secs(GRACE_S + 10))
        .await?;
    let took = killed.elapsed();
    story.done(&format!(
        "Chromium (pid {pid}) SIGKILLed → presence restored to away \"back at 3\" in {:.2} s (grace {GRACE_S} s)",
        took.as_secs_f64()
    ));
    assert!(
        took >= secs(GRACE_S),
        "restored before the grace period: {took:?}"
    );
    assert!(took <= secs(GRACE_S + 10), "{took:?}");
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
    let laptop = kuando_e2e::Browser::start().await?;
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
    holds_for(
        "on the phone while the other client still sees the call",
        secs(GRACE_S + 3),
        || async {
            let p = story.sims.presence(&story.user).await?;
            if p["activity"] == "on-the-phone" {
                Ok(())
            } else {
                Err(format!("restored although the laptop still claims: {p}"))
            }
        },
    )
    .await?;
    story.done("one client killed mid-call → still on the phone past the grace period");

    story
        .sims
        .hub_source(json!({"sender": "MS Teams", "clear": true}))?;
    story.presence_until("away", "back at 3", secs(5)).await?;
    story.done("the call ends on the remaining client → restored to away \"back at 3\"");
    laptop.close().await;
    story.finish().await;
    Ok(())
}
