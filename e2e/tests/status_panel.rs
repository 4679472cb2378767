//! The config app shows what the hidden app on the same client sees, live, through the hidden app's own
//! myApps API (issue 14), and hands support a token-free diagnosis. Real apps in Chromium inside the myApps
//! simulator, against the kuandoHUB simulator (which checks the token, as a remote hub does).

use std::time::{Duration, Instant};

use kuando_e2e::{screenshots_dir, shots, wait_until, Setup, Story};
use kuando_sim::hub;

const TOKEN: &str = "e2e-S3cret-T0ken";

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The text of the panel's row `key` (`status-<key>`), or an error saying what is there.
async fn row(story: &Story, key: &str) -> Result<String, String> {
    let v = story
        .browser
        .js_in(
            "config",
            &format!(
                "const r = document.querySelector('#status-{key} dd'); return r ? r.textContent : null;"
            ),
        )
        .await?;
    v.as_str()
        .map(String::from)
        .ok_or_else(|| format!("no row {key}"))
}

async fn row_until(
    story: &Story,
    key: &str,
    timeout: Duration,
    want: impl Fn(&str) -> bool,
) -> Result<String, String> {
    wait_until(&format!("status row {key}"), timeout, || async {
        let t = row(story, key).await?;
        if want(&t) {
            Ok(t)
        } else {
            Err(t)
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_panel_follows_the_connector_and_the_diagnosis_has_no_token(
) -> Result<(), String> {
    let setup = Setup {
        hub: hub::Options {
            hub_port: 0,
            hub_token: Some(TOKEN.into()),
            hub_require_token: true,
            ..Default::default()
        },
        ..Setup::default()
    };
    let mut story = Story::start("live status panel", setup).await?;
    story.open_launcher("dark").await?;
    let url = story.sims.hub_url();
    story
        .configure(&[("hubUrl", &url), ("token", TOKEN), ("pollInterval", "1")])
        .await?;
    story.hidden_app_ready().await?;
    story.done("product running with a token");

    let hub_row = row_until(&story, "hub", secs(10), |t| t.contains("connected for")).await?;
    assert!(hub_row.starts_with(&url), "{hub_row}");
    assert!(!hub_row.contains(TOKEN));
    assert_eq!(row(&story, "running").await?, "running");
    row_until(&story, "lamps", secs(10), |t| t.starts_with('1')).await?;
    story.done("panel: running, kuandoHUB connected, one Busylight");

    // A Teams call on the hub: the connector sets "on the phone" and the panel says why and what it restores.
    let user = story.user.clone();
    story.sims.set_presence(&user, "", "in the office").await?;
    story.presence_until("", "in the office", secs(5)).await?;
    story.begin();
    story.teams_call_on_the_phone().await?;
    let seen = Instant::now();
    row_until(&story, "presence", secs(1), |t| {
        t == "on the phone \"MS Teams\""
    })
    .await?;
    let lag = seen.elapsed();
    assert_eq!(
        row(&story, "other").await?,
        "MS Teams: On-The-Phone → on the phone"
    );
    assert_eq!(row(&story, "restore").await?, "available \"in the office\"");
    story.done(&format!(
        "Teams call → panel shows it {} ms after the PBX presence changed",
        lag.as_millis()
    ));

    let dir = screenshots_dir();
    let [dark, light] = shots::status_both_schemes(&story, &dir).await?;
    for f in [&dark, &light] {
        let len = std::fs::metadata(f)
            .map_err(|e| format!("{}: {e}", f.display()))?
            .len();
        assert!(len > 5_000, "{} is only {len} bytes", f.display());
    }
    story.done("status panel screenshots (dark, light)");

    // Copy diagnosis: the report has the hidden app's trace lines and the hub's answers, and no token.
    story.browser.enter("config").await?;
    story.browser.click("#btn-copydiagnosis").await?;
    story.browser.top().await?;
    let report = wait_until("the diagnosis", secs(10), || async {
        let v = story
            .browser
            .js_in(
                "config",
                "const p = document.getElementById('diagnosis-text'); return p ? p.textContent : '';",
            )
            .await?;
        match v.as_str() {
            Some(t) if t.contains("== the hidden app's last") => Ok(t.to_string()),
            other => Err(format!("{other:?}")),
        }
    })
    .await?;
    assert!(!report.contains(TOKEN), "token in the diagnosis:\n{report}");
    let lines = report
        .lines()
        .filter(|l| l.starts_with("kuando-log: "))
        .count();
    assert!(lines >= 5, "{lines} trace lines:\n{report}");
    for want in [
        "kuando-log: init http get request:",
        "kuando-log: 3rd party state result: MS Teams / Light / On-The-Phone",
        "currentpresence (",
        "MS Teams: On-The-Phone → on the phone",
        "\"token\":\"***\"",
        // The browser's facts, which the driver reads when the core asks (Action::BrowserFacts).
        "user agent: Mozilla/",
    ] {
        assert!(report.contains(want), "{want:?} missing:\n{report}");
    }
    let copy = story
        .browser
        .js_in(
            "config",
            "return document.getElementById('copy-status').className;",
        )
        .await?;
    assert!(
        copy.as_str()
            .is_some_and(|c| c.contains("ok") || c.contains("failed")),
        "copy status {copy}"
    );
    story.done(&format!("diagnosis built: {lines} trace lines, no token"));

    // kuandoHUB quits: "not reachable", with the next try.
    story.sims.stop_hub();
    row_until(&story, "hub", secs(15), |t| {
        t.contains("not reachable") && t.contains("next try in")
    })
    .await?;
    story.done("hub stopped → not reachable, next try in …");

    // The hidden app's frame goes: "not running on this client".
    story
        .browser
        .js("document.querySelector('iframe[name=\"hidden\"]').remove(); return true;")
        .await?;
    row_until(&story, "running", secs(5), |t| {
        t.starts_with("not running on this client")
    })
    .await?;
    story.done("hidden app's frame removed → not running on this client");
    story.finish().await;
    Ok(())
}
