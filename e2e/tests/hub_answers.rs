//! Issue 12 in the browser: the real hidden app in Chromium against the kuandoHUB simulator. After a phase of
//! garbage answers (an HTML error page instead of JSON), presence sync must resume within two poll intervals
//! of the hub answering properly again, and the hub is never called "too old". Prints the measured time.

use std::time::{Duration, Instant};

use kuando_e2e::{wait_until, Setup, Story, HIDDEN_PREFIX};
use serde_json::json;

/// The default poll interval (settings `pollInterval`), in seconds.
const POLL_S: u64 = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_garbage_phase_presence_sync_resumes_within_two_poll_intervals(
) -> Result<(), String> {
    let mut story = Story::start("garbage phase → presence sync resumes", Setup::default()).await?;
    story.open_launcher("dark").await?;
    let url = story.sims.hub_url();
    story
        .configure(&[("hubUrl", &url), ("pollInterval", &POLL_S.to_string())])
        .await?;
    story.hidden_app_ready().await?;
    let user = story.user.clone();
    story.sims.set_presence(&user, "", "in the office").await?;
    story
        .presence_until("", "in the office", Duration::from_secs(5))
        .await?;
    story.done("product running, poll every 2 s");

    // 10 s of garbage: every hub answer is a truncated JSON text with binary and HTML in it.
    story.sims.hub()?.set_fault(&json!({"mode": "garbage"}))?;
    tokio::time::sleep(Duration::from_secs(10)).await;
    // Meanwhile MS Teams got a call: the hub knows, the connector cannot read it yet.
    story.sims.hub_source(
        json!({"sender": "MS Teams", "eventtype": "Light", "eventname": "On-The-Phone"}),
    )?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let p = story.sims.presence(&user).await?;
    assert_eq!(
        p["note"], "in the office",
        "presence changed during garbage: {p}"
    );
    story.done("10 s of garbage answers from the hub");

    // The hub is healthy again.
    let seq = story.hub_seq()?;
    story.sims.hub()?.set_fault(&json!({"mode": "none"}))?;
    let healthy = Instant::now();
    story
        .presence_until("on-the-phone", "MS Teams", Duration::from_secs(70))
        .await?;
    let resumed = healthy.elapsed();
    // When the first good poll arrived, from the hub's request log.
    let h = story.sims.hub_state()?;
    let first_poll_ms = h["log"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["seq"].as_u64().is_some_and(|s| s > seq))
        .find(|e| e["action"] == "currentpresence" && e["fault"].is_null())
        .and_then(|e| e["t_ms"].as_u64());
    kuando_e2e::say(&format!(
        "e2e measurement [garbage phase]: hub healthy again → PBX presence on-the-phone in {:.2} s \
         (poll interval {POLL_S} s, target ≤ {} s; first good poll at hub time {first_poll_ms:?} ms)",
        resumed.as_secs_f64(),
        2 * POLL_S
    ));
    story.done("hub healthy again → presence sync works");
    assert!(
        resumed <= Duration::from_secs(2 * POLL_S),
        "presence sync resumed only after {:.2} s (target ≤ 2 poll intervals = {} s)",
        resumed.as_secs_f64(),
        2 * POLL_S
    );

    // Garbage was a failure of the moment, never a verdict on the hub's version.
    let traces = wait_until(
        "the hidden app's traces",
        Duration::from_secs(5),
        || async { story.browser.traces(HIDDEN_PREFIX).await },
    )
    .await?;
    assert!(
        traces.iter().all(|t| !t.contains("too old")),
        "garbage was taken for a too old hub: {traces:#?}"
    );
    assert!(
        traces.iter().any(|t| t.contains("unusable")),
        "the garbage phase left no trace line: {traces:#?}"
    );
    story.finish().await;
    Ok(())
}
