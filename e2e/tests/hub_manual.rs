//! What Plenom's kuandoHUB manual offers and the connector now uses, in the browser: the access token in the
//! `http_token` header (no token in any URL the hub sees, nor in Chromium's console, also while the hub
//! fails), the URL form only for a hub that refuses the header's CORS preflight (after the connector chose it
//! and said so), and a missed call lighting and clearing the simulated lamp's notification. Prints the hub
//! requests per minute with a token set, with and without the header, and what a preflight costs.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use kuando_e2e::{wait_until, Setup, Story, HIDDEN_PREFIX, SENDER};
use kuando_sim::hub::{self, HubHandle};
use serde_json::{json, Value};

const TOKEN: &str = "Hdr-T0ken-4711";
const TOKEN_IN_URL: &str = "kuandoHUB does not accept the token header; the token goes in the URL";

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The number of the hub's newest request.
fn seq_of(hub: &HubHandle) -> u64 {
    hub.state()["requests"].as_u64().unwrap_or(0)
}

/// The hub's request log entries numbered after `seq`.
fn log_after(hub: &HubHandle, seq: u64) -> Result<Vec<Value>, String> {
    let h = hub.state();
    Ok(h["log"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["seq"].as_u64().is_some_and(|s| s > seq))
        .cloned()
        .collect())
}

/// Every hub request for `window`, read in slices (the hub keeps its last 200), by number.
async fn collect(hub: &HubHandle, window: Duration) -> Result<Vec<Value>, String> {
    let mut seen: BTreeMap<u64, Value> = BTreeMap::new();
    let from = seq_of(hub);
    let end = tokio::time::Instant::now() + window;
    loop {
        for e in log_after(hub, from)? {
            if let Some(s) = e["seq"].as_u64() {
                seen.insert(s, e);
            }
        }
        if tokio::time::Instant::now() >= end {
            break;
        }
        tokio::time::sleep(secs(2)).await;
    }
    Ok(seen.into_values().collect())
}

/// `(requests per minute, of them preflights)` over `window`.
async fn per_minute(hub: &HubHandle, window: Duration) -> Result<(f64, f64), String> {
    let log = collect(hub, window).await?;
    let scale = 60.0 / window.as_secs_f64();
    let preflights = log.iter().filter(|e| e["method"] == "OPTIONS").count();
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for e in &log {
        *by.entry(format!(
            "{} {}",
            e["method"].as_str().unwrap_or(""),
            e["action"].as_str().unwrap_or("")
        ))
        .or_default() += 1;
    }
    kuando_e2e::say(&format!("hub requests in {} s: {by:?}", window.as_secs()));
    Ok((log.len() as f64 * scale, preflights as f64 * scale))
}

/// A URL the hub logged with a token in it (the hub masks the value, not the name).
fn has_token_param(url: &str) -> bool {
    let u = url.to_ascii_lowercase();
    u.contains("accesstoken=") || u.contains("http_token=")
}

fn notification_of_ours(story: &Story) -> Result<Option<Value>, String> {
    let h = story.sims.hub_state()?;
    Ok(h["notifications"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|n| n["sender"] == SENDER)
        .cloned())
}

/// Average time of `n` sequential `GET`s from the page to the hub, each to a URL of its own (so that no
/// preflight is cached), with the token header or without.
const FETCH_TIMES_JS: &str = r#"
const [base, token, n] = arguments;
const run = async (header, tag) => {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const init = header ? { headers: { http_token: token } } : {};
    const r = await fetch(base + '?action=currentpresence&m=' + tag + i + '-' + Math.random(), init);
    await r.text();
  }
  return (performance.now() - t0) / n;
};
return (async () => {
  await run(false, 'w');
  await run(true, 'v');
  let plain = 0, header = 0;
  for (let k = 0; k < 4; k++) {
    plain += await run(false, 'p' + k);
    header += await run(true, 'h' + k);
  }
  return [plain / 4, header / 4];
})();
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_header_fallback_and_missed_call() -> Result<(), String> {
    let setup = Setup {
        hub: hub::Options {
            hub_token: Some(TOKEN.into()),
            hub_require_token: true,
            ..Setup::default().hub
        },
        ..Setup::default()
    };
    let mut story = Story::start("kuandoHUB manual: token header, missed call", setup).await?;
    story.open_launcher("dark").await?;
    let url = story.sims.hub_url();
    let seq0 = story.hub_seq()?;
    story
        .configure(&[("hubUrl", &url), ("token", TOKEN), ("pollInterval", "2")])
        .await?;
    story.hidden_app_ready().await?;
    story.done("product running with a token (poll every 2 s)");

    // ----- the header path ---------------------------------------------------------------------------------
    let user = story.user.clone();
    story.sims.phone(&user, "incoming").await?;
    story
        .lamp_until("the connector's ringing on the lamp", secs(5), |l| {
            l["source"] == SENDER
        })
        .await?;
    story.sims.phone(&user, "hangup").await?;
    // The hub fails for a while: connections closed without an answer, every request of the moment fails in
    // the browser, which logs each failed URL in its console.
    story.sims.hub()?.set_fault(&json!({"mode": "close"}))?;
    tokio::time::sleep(secs(6)).await;
    let healed = story.hub_seq()?;
    story.sims.hub()?.set_fault(&json!({"mode": "none"}))?;
    wait_until("a new session with the hub", secs(70), || async {
        let log = log_after(story.sims.hub()?, healed)?;
        if log
            .iter()
            .any(|e| e["action"] == "registerdatasource" && e["status"] == 200)
        {
            Ok(())
        } else {
            Err(format!("{} requests since", log.len()))
        }
    })
    .await?;
    story.sims.phone(&user, "incoming").await?;
    story
        .lamp_until("the lamp again after the failures", secs(70), |l| {
            l["source"] == SENDER
        })
        .await?;
    story.sims.phone(&user, "hangup").await?;
    story.done("header path: lamp commands work, and again after the hub failed");

    let (rpm_header, pre_header) = per_minute(story.sims.hub()?, secs(30)).await?;
    let seen = log_after(story.sims.hub()?, seq0)?;
    let with_token: Vec<&Value> = seen
        .iter()
        .filter(|e| e["url"].as_str().is_some_and(has_token_param))
        .collect();
    assert!(with_token.is_empty(), "token in URLs: {with_token:?}");
    assert!(
        seen.iter().any(|e| e["method"] == "OPTIONS"),
        "the browser sent preflights for the header"
    );
    let console = story.browser.console().await?;
    assert!(
        console.iter().any(|l| l.level == "SEVERE"),
        "the failed requests are in the console: {console:?}"
    );
    let leaked: Vec<String> = console
        .iter()
        .map(|l| l.message.clone())
        .filter(|m| m.contains(TOKEN) || has_token_param(m))
        .collect();
    assert!(leaked.is_empty(), "token in Chromium's console: {leaked:?}");
    story.done("no token in any URL the hub saw, nor in Chromium's console");

    // ----- a missed call -----------------------------------------------------------------------------------
    story.sims.phone(&user, "incoming").await?;
    tokio::time::sleep(secs(2)).await;
    story.sims.phone(&user, "giveup").await?;
    let n = wait_until(
        "the missed-call notification on the lamp",
        secs(10),
        || async {
            match notification_of_ours(&story)? {
                Some(n) => Ok(n),
                None => Err("no notification of the connector".to_string()),
            }
        },
    )
    .await?;
    assert_eq!(n["eventname"], "Missed Call");
    let lamp = story.sims.lamp()?;
    assert!(!lamp["notification"].is_null(), "the lamp shows it: {lamp}");
    story.done("a call nobody answered → the lamp's missed-call notification");
    // The user calls back: the notification ends.
    story.sims.phone(&user, "outgoing").await?;
    wait_until("the notification to end", secs(10), || async {
        match notification_of_ours(&story)? {
            None => Ok(()),
            Some(n) => Err(format!("still {n}")),
        }
    })
    .await?;
    story.sims.phone(&user, "hangup").await?;
    story.done("the next call → the notification ends");

    // ----- the fallback --------------------------------------------------------------------------------------
    // The user moves to a kuandoHUB whose HTTP server answers no CORS preflight (a new hub URL: the browser has
    // no preflight of it cached, and the settings change tries the header first).
    let picky = story
        .sims
        .other_pcs_hub(Ipv4Addr::new(127, 0, 0, 3))
        .await?;
    picky.hub.set_settings(&json!({"no_preflight": true}))?;
    let seq = seq_of(&picky.hub);
    story.configure(&[("hubUrl", &picky.url())]).await?;
    let traces = wait_until(
        "the connector to say the token goes in the URL",
        secs(70),
        || async {
            let t = story.browser.traces(HIDDEN_PREFIX).await?;
            if t.iter().any(|l| l.contains(TOKEN_IN_URL)) {
                Ok(t)
            } else {
                Err("not said yet".to_string())
            }
        },
    )
    .await?;
    assert_eq!(
        traces.iter().filter(|l| l.contains(TOKEN_IN_URL)).count(),
        1,
        "said once"
    );
    assert!(traces.iter().all(|l| !l.contains(TOKEN)));
    story.sims.phone(&user, "incoming").await?;
    wait_until("the lamp with the token in the URL", secs(10), || async {
        let l = picky.hub.state()["lamp"].clone();
        if l["source"] == SENDER {
            Ok(())
        } else {
            Err(format!("lamp {l}"))
        }
    })
    .await?;
    story.sims.phone(&user, "hangup").await?;
    let log = log_after(&picky.hub, seq)?;
    let first_url = log
        .iter()
        .position(|e| e["url"].as_str().is_some_and(has_token_param))
        .ok_or("no request with the token in the URL")?;
    let refused = log
        .iter()
        .position(|e| e["method"] == "OPTIONS" && e["status"] == 405)
        .ok_or("no refused preflight")?;
    let check = log
        .iter()
        .position(|e| e["method"] == "GET" && e["url"] == "/")
        .ok_or("no check without the token")?;
    assert!(
        refused < check && check < first_url,
        "refused preflight #{refused}, check #{check}, first URL with the token #{first_url}"
    );
    story.done("a hub without preflights → the token in the URL, after the connector said so");
    let (rpm_url, pre_url) = per_minute(&picky.hub, secs(30)).await?;
    drop(picky);

    // ----- what a preflight costs --------------------------------------------------------------------------
    story
        .sims
        .hub()?
        .set_settings(&json!({"no_preflight": false, "require_token": false}))?;
    story.browser.top().await?;
    let before = seq_of(story.sims.hub()?);
    let times = story
        .browser
        .js_args(FETCH_TIMES_JS, vec![json!(url), json!(TOKEN), json!(40)])
        .await?;
    let plain = times[0].as_f64().unwrap_or(0.0);
    let header = times[1].as_f64().unwrap_or(0.0);
    // Nothing else talks to this hub now (the connector is set to the other one): what the hub counted
    // beyond the GETs are the preflights (2 warm-up runs and 4 rounds of both, 40 requests each).
    let gets = 40 * (2 + 2 * 4);
    let preflights = (seq_of(story.sims.hub()?) - before).saturating_sub(gets);
    kuando_e2e::say(&format!(
        "e2e measurement [hub manual]: with a token set, {rpm_header:.0} hub requests per minute in the header \
         form ({pre_header:.0} of them preflights), {rpm_url:.0} in the URL form ({pre_url:.0} preflights; \
         the form every request had before); a request whose preflight is not cached takes {header:.1} ms \
         against {plain:.1} ms without the header (preflight ≈ {:.1} ms; loopback, 4 × 40 requests each, \
         {preflights} preflights seen by the hub)",
        header - plain
    ));
    assert!(
        preflights >= 5 * 40,
        "every header request to a URL of its own had its preflight: {preflights}"
    );
    story.finish().await;
    Ok(())
}
