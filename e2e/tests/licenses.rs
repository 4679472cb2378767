//! One story per license case, against the shipped service (`service/kuando.js` in the myApps simulator's
//! runtime host, on PostgreSQL): the runtime accepts every login the PBX issued and flags the unlicensed
//! ones; the apps decide from the flag and the service's `CheckAppLic` (src/license.rs).

use std::time::Duration;

use kuando_e2e::{holds_for, wait_until, Setup, Story, SENDER};
use serde_json::{json, Value};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// What an app frame wrote to its console, as the myApps simulator logged it.
async fn console(story: &Story, frame: &str) -> Result<Vec<String>, String> {
    let m = story.sims.myapps_state().await?;
    Ok(m["log"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["via"] == "console" && e["peer"] == frame)
        .filter_map(|e| e["text"].as_str().map(String::from))
        .collect())
}

/// The `unlicensed` flags of the user's logged-in app websockets (as the runtime hands them to the service).
async fn login_flags(story: &Story) -> Result<Vec<Value>, String> {
    let m = story.sims.myapps_state().await?;
    Ok(m["apps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["user"] == story.user.as_str())
        .map(|a| a["unlicensed"].clone())
        .collect())
}

fn on_the_hub(story: &Story) -> Result<bool, String> {
    Ok(story.sims.hub_state()?["data_sources"]
        .as_array()
        .is_some_and(|d| d.iter().any(|s| s["name"] == SENDER)))
}

/// The hub's MS Teams call reaches the PBX presence: the whole path through the service's SetPresence.
async fn presence_follows_teams(story: &mut Story) -> Result<(), String> {
    story.teams_call_on_the_phone().await?;
    story
        .sims
        .hub_source(json!({"sender": "MS Teams", "clear": true}))?;
    story.presence_until("", "", secs(5)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn licensed_user_runs_on_the_shipped_service() -> Result<(), String> {
    let mut story = Story::start("license: App(innovaphone-kuando)", Setup::default()).await?;
    story.start_product().await?;
    let flags = login_flags(&story).await?;
    assert!(
        !flags.is_empty() && flags.iter().all(|f| *f == Value::Bool(false)),
        "no flag on the apps' logins: {flags:?}"
    );
    presence_follows_teams(&mut story).await?;
    let v = story.config_view().await?;
    assert!(
        !v.banners.iter().any(|b| b.contains("license")),
        "{:?}",
        v.banners
    );
    story.done("licensed → runs, presence set through kuando.js on PostgreSQL");
    story.finish().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_busylight_only_user_is_flagged_at_login_and_runs_after_the_services_check(
) -> Result<(), String> {
    let setup = Setup {
        license_busylight: vec!["alice".into()],
        ..Setup::default()
    };
    let mut story = Story::start("license: with-Busylight only", setup).await?;
    story.start_product().await?;
    // App(innovaphone-kuando-with-busylight) does not head-match innovaphone-kuando: both logins flagged.
    let flags = login_flags(&story).await?;
    assert!(
        flags.len() >= 2 && flags.iter().all(|f| *f == Value::Bool(true)),
        "{flags:?}"
    );
    presence_follows_teams(&mut story).await?;
    story.done("flagged login, CheckAppLic finds the with-Busylight license → runs");
    story.finish().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlicensed_user_is_stopped_with_the_concepts_trace() -> Result<(), String> {
    let setup = Setup {
        unlicensed: vec!["alice".into()],
        ..Setup::default()
    };
    let mut story = Story::start("license: none", setup).await?;
    story.open_launcher("dark").await?;
    story
        .config_banner("banner-no-license", true, secs(15))
        .await?;
    story.done("no license → config app shows \"no license\"");
    wait_until("the hidden app's stop trace", secs(10), || async {
        let lines = console(&story, "hidden").await?;
        if lines
            .iter()
            .any(|l| l == "kuando-log: no app license, stop service")
        {
            Ok(())
        } else {
            Err(format!("{lines:#?}"))
        }
    })
    .await?;
    let flags = login_flags(&story).await?;
    assert!(
        flags.len() >= 2 && flags.iter().all(|f| *f == Value::Bool(true)),
        "both logins accepted and flagged, as the runtime does: {flags:?}"
    );
    // Presence and lamp stay as they were: nothing was set, nothing registered.
    assert_eq!(
        story.sims.presence(&story.user).await?,
        json!({"activity": "", "note": ""})
    );
    assert!(!on_the_hub(&story)?);
    story.done(
        "unlicensed → \"kuando-log: no app license, stop service\", presence and lamp untouched",
    );
    story.finish().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn license_check_impossible_names_the_cause_and_retries_quietly() -> Result<(), String> {
    // A with-Busylight user (flagged at login) and an app object without the Admin option: the service has
    // no PbxAdminApi, so nobody can tell whether she is licensed.
    let setup = Setup {
        license_busylight: vec!["alice".into()],
        without_admin: true,
        ..Setup::default()
    };
    let mut story = Story::start("license: check impossible", setup).await?;
    story.open_launcher("dark").await?;
    story
        .config_banner("banner-license-no-admin", true, secs(15))
        .await?;
    story.done("check impossible → config app names the Admin option");
    let url = story.sims.hub_url();
    story
        .configure(&[("hubUrl", &url), ("pollInterval", "1")])
        .await?;
    // Not treated as licensed: the hidden app stays off the hub, and says so once, not per retry.
    holds_for("the hidden app to stay off the hub", secs(3), || async {
        if on_the_hub(&story)? {
            Err("the hidden app registered on the hub".into())
        } else {
            Ok(())
        }
    })
    .await?;
    let lines = console(&story, "hidden").await?;
    let unchecked: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("license could not be checked"))
        .collect();
    assert_eq!(unchecked.len(), 1, "{lines:#?}");
    assert!(
        !lines.iter().any(|l| l.contains("no app license")),
        "not 'no license' either: {lines:#?}"
    );
    story.done("hidden app not started, one trace line, retrying quietly");
    story.finish().await;
    Ok(())
}
