//! Issue 12, point 4 in headless Chromium: the myApps pages count as a public origin
//! (`--ip-address-space-overrides`), so the apps' requests to the hub on loopback fall under Chrome's Local
//! Network Access. The permission is set with CDP `Browser.setPermission` to granted, denied and prompt; the
//! story checks what the hidden app and the config app do, and prints which permission names Chromium took.

use std::time::Duration;

use kuando_e2e::fleet::set_local_network;
use kuando_e2e::{say, wait_until, Setup, Story, CONFIG_PREFIX, HIDDEN_PREFIX};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Sets the permission for the apps' origin under every name Chromium may know; returns the names it took.
async fn set_permission(story: &Story, setting: &str) -> Vec<&'static str> {
    let origin = format!("http://127.0.0.1:{}", story.sims.myapps.addr.port());
    set_local_network(&story.browser, &origin, setting).await
}

async fn hidden_saw(story: &Story, state: &str) -> Result<(), String> {
    let line = format!("local network permission: {state}");
    wait_until(
        &format!("the hidden app to trace {line:?}"),
        secs(10),
        || async {
            let t = story.browser.traces(HIDDEN_PREFIX).await?;
            if t.iter().any(|l| l.contains(&line)) {
                Ok(())
            } else {
                Err(format!(
                    "{:?}",
                    t.iter()
                        .filter(|l| l.contains("permission"))
                        .collect::<Vec<_>>()
                ))
            }
        },
    )
    .await
}

/// Hub requests (not `/_sim/`) during `window`.
async fn hub_requests_during(story: &Story, window: Duration) -> Result<u64, String> {
    let before = story.sims.hub_requests()?;
    tokio::time::sleep(window).await;
    Ok(story.sims.hub_requests()? - before)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_network_access_granted_denied_prompt() -> Result<(), String> {
    let mut story = Story::start_public("local network access", Setup::default()).await?;
    // Granted before the apps start: everything works as without the permission.
    let took = set_permission(&story, "granted").await;
    say(&format!(
        "e2e [local network] Chromium took Browser.setPermission for: {took:?}"
    ));
    assert!(
        !took.is_empty(),
        "Chromium took none of the permission names: the states cannot be set here"
    );
    story.start_product().await?;
    hidden_saw(&story, "granted").await?;
    story.done("granted → the hidden app runs against the hub");

    // Denied: the hidden app stops hammering, says why; the config app shows what to do.
    set_permission(&story, "denied").await;
    hidden_saw(&story, "denied").await?;
    story
        .config_banner("banner-local-network-denied", true, secs(10))
        .await?;
    let v = story.config_view().await?;
    assert!(
        !v.has("banner-no-hub"),
        "denied shown as no kuandoHUB: {v:?}"
    );
    let n = hub_requests_during(&story, secs(5)).await?;
    say(&format!(
        "e2e [local network] hub requests in 5 s while denied: {n}"
    ));
    assert!(
        n <= 1,
        "{n} hub requests in 5 s while the browser blocks them"
    );
    story.done("denied → no requests, own status and banner");

    // Prompt: the browser holds the requests (none reaches the hub); the config app says the browser may be
    // asking and offers the button that makes the request from a click.
    set_permission(&story, "prompt").await;
    hidden_saw(&story, "prompt").await?;
    story
        .config_banner("banner-local-network-prompt", true, secs(10))
        .await?;
    let n = hub_requests_during(&story, secs(5)).await?;
    say(&format!(
        "e2e [local network] hub requests in 5 s while prompt: {n}"
    ));
    assert_eq!(n, 0, "requests reached the hub while the browser would ask");
    story.browser.enter("config").await?;
    story.browser.click("#btn-allowlocalnetwork").await?;
    story.browser.top().await?;
    wait_until("the click's request", secs(5), || async {
        let t = story.browser.traces(CONFIG_PREFIX).await?;
        if t.iter()
            .any(|l| l.contains("local network access requested by the user"))
        {
            Ok(())
        } else {
            Err("no trace of the click".to_string())
        }
    })
    .await?;
    story.done("prompt → nothing reaches the hub, banner with the allow button");

    // Granted again (as after the user's yes): the hidden app connects at once.
    set_permission(&story, "granted").await;
    hidden_saw(&story, "granted").await?;
    let seq = story.hub_seq()?;
    story.polls_after(seq, 1).await?;
    story
        .config_banner("banner-local-network-prompt", false, secs(10))
        .await?;
    story.done("granted again → polls resume at once");
    story.finish().await;
    Ok(())
}
