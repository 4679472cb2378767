//! User stories of the whole product: the hidden app keeps lamp and presence in sync, the config app shows what
//! is wrong. Each story runs the real apps in Chromium inside the myApps simulator against the kuandoHUB
//! simulator, and prints how long each step took.

use std::time::Duration;

use kuando_e2e::{
    holds_for, wait_until, ConsoleLine, Setup, Story, CONFIG_PREFIX, HIDDEN_PREFIX, SENDER,
};
use kuando_sim::hub;
use serde_json::{json, Value};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The lamp shows the connector's command with this effect.
fn ours(l: &Value, effect: &str) -> bool {
    l["source"] == SENDER && l["effect"] == effect
}

fn rgb(l: &Value) -> (u64, u64, u64) {
    let c = &l["color"];
    let n = |k: &str| c[k].as_u64().unwrap_or(0);
    (n("red"), n("green"), n("blue"))
}

/// The `SetPresence` requests the hidden app sent to the app service, as the myApps simulator logged them.
async fn set_presence_requests(story: &Story) -> Result<Vec<String>, String> {
    let m = story.sims.myapps_state().await?;
    Ok(m["log"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["via"] == "app" && e["dir"] == "in")
        .filter_map(|e| e["text"].as_str())
        .filter(|t| t.contains("\"SetPresence\""))
        .map(String::from)
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_call_rings_connects_and_releases_the_lamp() -> Result<(), String> {
    let mut story = Story::start("phone call → lamp", Setup::default()).await?;
    story.start_product().await?;
    let user = story.user.clone();

    story.sims.phone(&user, "incoming").await?;
    let l = story
        .lamp_until("the lamp to blink for the ringing call", secs(5), |l| {
            ours(l, "blink")
        })
        .await?;
    assert_eq!(rgb(&l), (100, 0, 0), "ringing blinks red: {l}");
    story.done("incoming call → lamp blinks red");

    story.sims.phone(&user, "answer").await?;
    story
        .lamp_until("the connected colour", secs(5), |l| {
            ours(l, "light") && rgb(l) == (100, 0, 0)
        })
        .await?;
    story.done("answer → connected colour (steady red)");

    story.sims.phone(&user, "hangup").await?;
    story
        .lamp_until(
            "the lamp to be given back to the sources below",
            secs(5),
            |l| l["source"] == "Manual Changer",
        )
        .await?;
    let h = story.sims.hub_state()?;
    let still = h["sources"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|s| s["sender"] == SENDER);
    assert!(
        !still,
        "the connector still runs a command on the hub: {}",
        h["sources"]
    );
    story.done("hang up → lamp released (Manual Changer green shows again)");
    story.finish().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_call_sets_on_the_phone_and_restores_the_previous_presence() -> Result<(), String> {
    let mut story = Story::start("MS Teams call → PBX presence", Setup::default()).await?;
    story.start_product().await?;
    let user = story.user.clone();
    // A presence with a note, so that "exactly the previous presence" means something.
    story.sims.set_presence(&user, "", "in the office").await?;
    story.presence_until("", "in the office", secs(5)).await?;
    story.begin();

    story.teams_call_on_the_phone().await?;
    story.done("MS Teams call on the hub → PBX presence on-the-phone");

    // It stays so (no flicker between the connector's presence and its own lamp).
    let seq = story.hub_seq()?;
    story.polls_after(seq, 2).await?;
    story
        .presence_until("on-the-phone", "MS Teams", secs(1))
        .await?;

    story
        .sims
        .hub_source(json!({"sender": "MS Teams", "clear": true}))?;
    story.presence_until("", "in the office", secs(5)).await?;
    story.done("Teams call ends → exactly the previous presence (available, \"in the office\")");

    let sent = set_presence_requests(&story).await?;
    assert_eq!(
        sent.len(),
        2,
        "one SetPresence for the call and one to restore, nothing else: {sent:#?}"
    );
    story.finish().await;
    Ok(())
}

/// A hub as it comes: the connector spoke to it before MS Teams, so its one line ranks above Teams' and the
/// user's own "away" on the lamp hides the Teams call from `currentpresence`. The connector reads Teams' own
/// priority and the user is on the phone all the same; "away" comes back after the call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_fresh_hub_a_teams_call_under_the_away_light_sets_on_the_phone() -> Result<(), String>
{
    let mut story = Story::start(
        "fresh hub: Teams call under the away light",
        Setup::default(),
    )
    .await?;
    story.start_product().await?;
    let user = story.user.clone();
    story.sims.set_presence(&user, "away", "back at 3").await?;
    story
        .lamp_until("the lamp to show away", secs(5), |l| {
            let (r, g, b) = rgb(l);
            ours(l, "light") && r > 0 && g > 0 && b == 0
        })
        .await?;
    story.begin();

    story.sims.hub_source(json!(
        {"sender": "MS Teams", "eventtype": "Light", "eventname": "On-The-Phone"}
    ))?;
    // The ranking as a fresh hub makes it: the connector's line first, Teams' below it, so the lamp and
    // currentpresence show the connector's "away".
    let h = story.sims.hub_state()?;
    let senders: Vec<&str> = h["priorities"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["sender"].as_str())
        .collect();
    assert_eq!(
        senders,
        ["kuando TIMER", SENDER, "MS Teams", "Manual Changer"],
        "not a fresh hub's ranking"
    );
    assert_eq!(story.sims.lamp()?["source"], SENDER);
    story
        .presence_until("on-the-phone", "MS Teams", secs(5))
        .await?;
    story.done("Teams call under the connector's away light → on the phone");

    story
        .sims
        .hub_source(json!({"sender": "MS Teams", "clear": true}))?;
    story.presence_until("away", "back at 3", secs(5)).await?;
    story.done("Teams call ends → away \"back at 3\" again");
    story.finish().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_dnd_is_not_overridden_by_manual_changer() -> Result<(), String> {
    let mut story = Story::start("manual dnd vs Manual Changer", Setup::default()).await?;
    story.start_product().await?;
    let user = story.user.clone();

    story.sims.set_presence(&user, "dnd", "focus time").await?;
    let l = story
        .lamp_until("the lamp to show dnd", secs(5), |l| {
            let (r, g, b) = rgb(l);
            ours(l, "light") && r > 0 && g == 0 && b > 0
        })
        .await?;
    story.done(&format!(
        "manual dnd in myApps → lamp shows dnd ({})",
        l["describe"]
    ));

    // Someone clicks the hub's Manual Changer: busy, then available (its state at every hub start).
    for state in ["Busy", "Available"] {
        story
            .sims
            .hub_source(json!({"sender": "Manual Changer", "eventname": state}))?;
        let seq = story.hub_seq()?;
        story.polls_after(seq, 2).await?;
        let p = story.sims.presence(&user).await?;
        assert_eq!(
            (p["activity"].as_str(), p["note"].as_str()),
            (Some("dnd"), Some("focus time")),
            "Manual Changer {state} overrode the manual dnd"
        );
        let l = story.sims.lamp()?;
        assert!(
            ours(&l, "light"),
            "the lamp left dnd after Manual Changer {state}: {l}"
        );
    }
    assert!(
        set_presence_requests(&story).await?.is_empty(),
        "the connector touched a manual presence"
    );
    story.done("Manual Changer busy, then available → presence still dnd \"focus time\"");
    story.finish().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_outage_shows_the_banner_and_the_lamp_state_is_resent() -> Result<(), String> {
    let mut story = Story::start("kuandoHUB stopped and back", Setup::default()).await?;
    story.start_product().await?;
    let user = story.user.clone();
    // A call in progress: the lamp state the connector must give a restarted hub.
    story.sims.phone(&user, "incoming").await?;
    story.sims.phone(&user, "answer").await?;
    story
        .lamp_until("the lamp to show the call", secs(5), |l| ours(l, "light"))
        .await?;
    story.config_banner("banner-no-hub", false, secs(1)).await?;
    story.begin();

    story.sims.stop_hub();
    // The config app checks the hub every 10 s.
    story.config_banner("banner-no-hub", true, secs(15)).await?;
    story.done("kuandoHUB stopped → config app shows \"no kuandoHUB detected\"");

    story.sims.start_hub().await?;
    story
        .config_banner("banner-no-hub", false, secs(15))
        .await?;
    story.done("kuandoHUB back → banner gone");
    // A restarted hub knows nothing: the connector registers again and sends its lamp state (its retries
    // back off from 1 s while the hub is away, so this may take a few seconds more).
    story
        .lamp_until("the lamp state to be resent", secs(40), |l| {
            ours(l, "light")
        })
        .await?;
    story.done("kuandoHUB back → lamp state (connected call) resent");
    story.finish().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlicensed_user_sees_the_banner_and_the_hidden_app_stays_off_the_hub() -> Result<(), String>
{
    let mut story = Story::start("unlicensed user", Setup::default()).await?;
    story.start_product().await?;
    let user = story.user.clone();
    // A call in progress: a licensed connector would light the lamp for it again after the restart.
    story.sims.phone(&user, "incoming").await?;
    story.sims.phone(&user, "answer").await?;
    story
        .lamp_until("the lamp to show the call", secs(5), |l| ours(l, "light"))
        .await?;
    story.begin();

    // The admin takes the license away; the next time myApps starts the apps, the PBX says so.
    story.sims.set_license(&user, "none").await?;
    story.browser.top().await?;
    story.browser.click("#restart").await?;
    story
        .config_banner("banner-no-license", true, secs(15))
        .await?;
    story.done("license removed, apps restarted → config app shows \"no license\"");

    // The old hidden app gave the lamp back when it was unloaded (Logout); the new one must not take it.
    story
        .lamp_until("the lamp to be released", secs(5), |l| {
            l["source"] != SENDER
        })
        .await?;
    // The new hidden app has started (myApps gave it its login) before we watch the hub.
    kuando_e2e::wait_until("the new hidden app to get its login", secs(10), || async {
        let m = story.sims.myapps_state().await?;
        let n = m["log"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["peer"] == "hidden" && e["dir"] == "out")
            .filter(|e| e["text"].as_str().is_some_and(|t| t.contains("\"Login\"")))
            .count();
        if n >= 2 {
            Ok(())
        } else {
            Err(format!("{n} logins given to the hidden app"))
        }
    })
    .await?;
    let seq = story.hub_seq()?;
    // Three poll intervals (1 s each, as configured): a running connector would have polled three times.
    holds_for("no hub request while unlicensed", secs(3), || async {
        let now = story.hub_seq()?;
        if now == seq {
            Ok(())
        } else {
            Err(format!(
                "{} hub requests: {}",
                now - seq,
                story.sims.hub_state()?["log"]
            ))
        }
    })
    .await?;
    story.done("unlicensed → lamp released, no hub request for 3 poll intervals");
    story.finish().await;
    Ok(())
}

/// A made-up token no page, trace or URL would contain by chance.
const TOKEN: &str = "e2eTok3n-7f3a9c41";

/// Console lines that contain the token, with the token itself replaced so the failure output shows where.
fn leaks(console: &[ConsoleLine]) -> Vec<String> {
    console
        .iter()
        .filter(|c| c.message.contains(TOKEN))
        .map(|c| {
            format!(
                "[{} {}] {}",
                c.source,
                c.level,
                c.message.replace(TOKEN, "<TOKEN>")
            )
        })
        .collect()
}

fn token_hub() -> Setup {
    Setup {
        hub: hub::Options {
            hub_port: 0,
            hub_token: Some(TOKEN.into()),
            hub_require_token: true,
            ..Default::default()
        },
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_entered_in_config_app_is_used_live_and_never_logged() -> Result<(), String> {
    let mut story = Story::start("token", token_hub()).await?;
    story.open_launcher("dark").await?;
    let url = story.sims.hub_url();
    // Every hub request traced (with its URL), so that a token that slipped through redaction would show.
    story
        .configure(&[
            ("hubUrl", &url),
            ("pollInterval", "1"),
            ("trace.hub", "true"),
            ("trace.debug", "true"),
            ("trace.calls", "true"),
        ])
        .await?;
    story
        .config_banner("banner-token-rejected", true, secs(15))
        .await?;
    story.done("hub requires a token → config app says the token is rejected");
    // The phone rings while the hub refuses the connector: the lamp cannot show it yet.
    let user = story.user.clone();
    story.sims.phone(&user, "incoming").await?;
    // Wait for the event itself: the hidden app has taken the call (its own trace says the lamp should
    // ring). Whatever it sent the hub by then, and ever before the token, was refused: the hub's request log
    // is complete, so this needs no waiting window.
    wait_until("the hidden app to take the call", secs(15), || async {
        let lines = story.browser.traces("kuando-log:").await?;
        if lines.iter().any(|l| l.contains("lamp: ringing")) {
            Ok(())
        } else {
            Err(format!(
                "{} trace lines, none about the ringing lamp",
                lines.len()
            ))
        }
    })
    .await?;
    let h = story.sims.hub_state()?;
    let taken: Vec<&Value> = h["log"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["status"] != 401 && e["sender"] == SENDER)
        .collect();
    assert!(
        taken.is_empty(),
        "the hub took requests of the connector without the token: {taken:?}"
    );
    let l = story.sims.lamp()?;
    assert_ne!(
        l["source"], SENDER,
        "the lamp shows the connector without the token: {l}"
    );
    story.begin();

    let seq = story.hub_seq()?;
    story.configure(&[("token", TOKEN)]).await?;
    story
        .config_banner("banner-token-rejected", false, secs(15))
        .await?;
    story
        .lamp_until(
            "the hidden app to make the lamp ring with the token",
            secs(15),
            |l| ours(l, "blink"),
        )
        .await?;
    let h = story.sims.hub_state()?;
    let accepted = h["log"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["seq"].as_u64().is_some_and(|s| s > seq))
        .any(|e| e["sender"] == SENDER && e["status"] == 200);
    assert!(
        accepted,
        "no accepted request from the hidden app: {}",
        h["log"]
    );
    story.done("token entered and saved → the hidden app uses it at once (the lamp rings)");

    let view = story.config_view().await?;
    assert_eq!(view.token_type, "password", "the token is not masked");
    let console = story.browser.console().await?;
    let hidden = console
        .iter()
        .filter(|c| c.text().starts_with(HIDDEN_PREFIX))
        .count();
    let config = console
        .iter()
        .filter(|c| c.text().starts_with(CONFIG_PREFIX))
        .count();
    assert!(
        hidden > 0 && config > 0,
        "the console was not read: {hidden} hidden app and {config} config app lines of {}",
        console.len()
    );
    let leaks = leaks(&console);
    assert!(leaks.is_empty(), "the token is in the console: {leaks:#?}");
    // Nor on screen: the launcher (with its wire log) and the config app as rendered text.
    for frame in [None, Some("config")] {
        let text = match frame {
            None => story.browser.js("return document.body.innerText;").await?,
            Some(f) => {
                story
                    .browser
                    .js_in(f, "return document.body.innerText;")
                    .await?
            }
        };
        assert!(
            !text.as_str().unwrap_or_default().contains(TOKEN),
            "the token is shown in {}",
            frame.unwrap_or("the launcher")
        );
    }
    story.done(&format!(
        "token absent from all {} console lines ({hidden} hidden app, {config} config app) and the screen",
        console.len()
    ));
    story.finish().await;
    Ok(())
}

/// The token also stays out of the console when a hub request fails. Chromium writes every failed request to
/// the console itself, with its whole URL ("Failed to load resource: ... 500"): a token in the query string
/// would be there for anyone who opens the console or sends a screenshot of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_stays_out_of_the_console_when_the_hub_fails() -> Result<(), String> {
    let mut story = Story::start("token, hub hiccup", token_hub()).await?;
    story.open_launcher("dark").await?;
    let url = story.sims.hub_url();
    story
        .configure(&[("hubUrl", &url), ("pollInterval", "1"), ("token", TOKEN)])
        .await?;
    story.hidden_app_ready().await?;
    story.begin();

    // kuandoHUB has a hiccup: it answers one poll with 500, then works again.
    let seq = story.hub_seq()?;
    story
        .sims
        .hub()?
        .set_fault(&json!({"mode": "500", "actions": ["currentpresence"], "times": 1}))?;
    kuando_e2e::wait_until("a failed poll, then a good one", secs(10), || async {
        let h = story.sims.hub_state()?;
        let log: Vec<&Value> = h["log"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["seq"].as_u64().is_some_and(|s| s > seq))
            .collect();
        let failed = log.iter().position(|e| e["status"] == 500);
        match failed {
            Some(i) if log[i + 1..].iter().any(|e| e["status"] == 200) => Ok(()),
            _ => Err(format!(
                "{} requests since, failed one: {}",
                log.len(),
                failed.is_some()
            )),
        }
    })
    .await?;
    let console = story.browser.console().await?;
    // The apps' own lines never carry the token. Chromium itself logs the URL of a failed request
    // ("Failed to load resource"), and the token travels in the query string (the spec's decision: a header
    // would force a CORS preflight the hub may not answer, and the reference connector does the same). That
    // browser line is outside the apps' control: a known limitation, reported here and in the README.
    let (app_lines, browser_lines): (Vec<ConsoleLine>, Vec<ConsoleLine>) = console
        .into_iter()
        .partition(|c| c.message.contains(HIDDEN_PREFIX) || c.message.contains(CONFIG_PREFIX));
    assert!(
        app_lines.len() > 3,
        "expected the apps' trace lines, got {}",
        app_lines.len()
    );
    let leaks = leaks(&app_lines);
    assert!(
        leaks.is_empty(),
        "the token is in the apps' traces: {leaks:#?}"
    );
    let browser_leaks = self::leaks(&browser_lines);
    if !browser_leaks.is_empty() {
        eprintln!(
            "known limitation: Chromium's own network error line shows the request URL: {browser_leaks:?}"
        );
    }
    story.done("hub answers a poll with 500 → token absent from every app trace line");
    story.finish().await;
    Ok(())
}
