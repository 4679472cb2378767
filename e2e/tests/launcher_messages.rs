//! Launcher messages the SDK handles for an app: a phone app that goes away mid-call (`ApiConsumerClosed`,
//! the phone API's `ApiUpdate` without it) and `PrepareReload` before myApps reloads the hidden app.

use std::time::{Duration, Instant};

use kuando_e2e::{wait_until, Setup, Story, SENDER};
use serde_json::Value;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ours(l: &Value) -> bool {
    l["source"] == SENDER
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_app_closed_mid_call_releases_the_lamp_within_a_second() -> Result<(), String> {
    let mut story = Story::start("phone app closed mid-call", Setup::default()).await?;
    story.start_product().await?;
    let user = story.user.clone();
    story.sims.phone(&user, "incoming").await?;
    story.sims.phone(&user, "answer").await?;
    story
        .lamp_until("the lamp to show the call", secs(5), |l| {
            ours(l) && l["effect"] == "light"
        })
        .await?;
    story.begin();
    let closed = Instant::now();
    story.sims.softphone(&user, false).await?;
    story
        .lamp_until("the lamp to be released", secs(1), |l| !ours(l))
        .await?;
    let took = closed.elapsed();
    story.done("softphone closed mid-call → lamp released");
    assert!(took <= secs(1), "released after {took:?}");
    story.finish().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepare_reload_releases_the_lamp_then_answers_and_the_app_comes_back() -> Result<(), String>
{
    let mut story = Story::start("PrepareReload", Setup::default()).await?;
    story.start_product().await?;
    let user = story.user.clone();
    story.sims.phone(&user, "incoming").await?;
    story
        .lamp_until("the lamp to blink for the call", secs(5), |l| {
            ours(l) && l["effect"] == "blink"
        })
        .await?;
    story.begin();
    story.sims.prepare_reload(&user, "hidden").await?;
    // The answer comes once the lamp command is given back; then myApps loads the app again.
    wait_until("PrepareReloadComplete", secs(5), || async {
        let m = story.sims.myapps_state().await?;
        let answered = m["log"].as_array().into_iter().flatten().any(|e| {
            e["peer"] == "hidden"
                && e["dir"] == "in"
                && e["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("PrepareReloadComplete"))
        });
        if answered {
            Ok(())
        } else {
            Err("no PrepareReloadComplete yet".into())
        }
    })
    .await?;
    story.done("PrepareReload → released → PrepareReloadComplete");
    // The reloaded app takes the ringing call up again from the phone API's model.
    story
        .lamp_until("the reloaded app to show the call again", secs(10), |l| {
            ours(l) && l["effect"] == "blink"
        })
        .await?;
    story.done("reloaded hidden app shows the ringing call again");
    story.finish().await;
    Ok(())
}
