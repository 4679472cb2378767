//! The administrator's story on a fresh PBX: the PBX Manager loads the connector's plugin, the plugin creates
//! both App objects and adds them to the users' config template; then the user's myApps loads both apps, the
//! hidden app logs in, and a call makes the lamp blink. In Chromium, against the simulated PBX, PBX Manager,
//! myApps and kuandoHUB.

use std::time::Duration;

use kuando_e2e::{screenshots_dir, shots, wait_until, Setup, Story, SENDER};
use serde_json::Value;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

async fn pbx(story: &Story) -> Result<Value, String> {
    let url = format!("{}/_sim/pbx", story.sims.myapps.base_url());
    let r = reqwest::get(&url)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    r.json().await.map_err(|e| format!("{url}: {e}"))
}

async fn js_bool(story: &Story, script: &str) -> Result<bool, String> {
    Ok(story.browser.js(script).await? == Value::Bool(true))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_fresh_pbx_the_plugin_sets_up_both_apps_and_a_call_blinks_the_lamp(
) -> Result<(), String> {
    let setup = Setup {
        fresh_pbx: true,
        ..Setup::default()
    };
    let mut story = Story::start("PBX Manager plugin → lamp", setup).await?;
    let user = story.user.clone();

    // A fresh PBX: the user's myApps has no connector.
    story.open_launcher("dark").await?;
    let frames = wait_until("the launcher session", secs(10), || async {
        let m = story.sims.myapps_state().await?;
        match m["sessions"].as_array().and_then(|s| s.first()) {
            Some(s) => Ok(s["frames"].clone()),
            None => Err("no session yet".into()),
        }
    })
    .await?;
    assert_eq!(
        frames,
        serde_json::json!({}),
        "no apps before the plugin ran"
    );
    story.done("fresh PBX: no connector in myApps");

    // The PBX Manager: the plugin lists no objects and offers both, and the config template.
    let dir = screenshots_dir();
    shots::manager_plugin(
        &story,
        "light",
        ".kuando-create-button",
        &dir.join("manager-fresh-light.png"),
    )
    .await?;
    assert!(
        js_bool(
            &story,
            "return document.getElementById('list').textContent.includes('Connector for kuando®');"
        )
        .await?
    );
    let names = story
        .browser
        .js("return Array.from(document.querySelectorAll('.kuando-name')).map(e => e.value + '|' + e.nextSibling.value);")
        .await?;
    assert_eq!(
        names,
        serde_json::json!([
            "Connector for kuando®|kuando",
            "Connector for kuando® Config|kuando-config"
        ])
    );
    story
        .browser
        .click(".kuando-template[value='Standard']")
        .await?;
    story.browser.click(".kuando-create-button").await?;
    wait_until("both objects created and ticked", secs(15), || async {
        let ticks = story
            .browser
            .js("return Array.from(document.querySelectorAll('.kuando-tick')).map(e => e.dataset.ok);")
            .await?;
        if ticks == serde_json::json!(["true", "true"]) {
            Ok(())
        } else {
            Err(format!("ticks {ticks}"))
        }
    })
    .await?;
    story.done("plugin: both objects created, passwords match the instance");
    let p = pbx(&story).await?;
    let objs = p["objects"].as_array().cloned().unwrap_or_default();
    let by = |sip: &str| {
        objs.iter()
            .find(|o| o["h323"] == sip)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let hidden = by("kuando");
    let base = format!(
        "{}/example.com/kuandoconnector/",
        story.sims.myapps.base_url()
    );
    assert_eq!(
        hidden["pseudo"]["app"]["url"],
        format!("{base}innovaphone-kuando")
    );
    for f in ["hidden", "websocket", "admin", "pbx"] {
        assert_eq!(hidden["pseudo"]["app"][f], true, "{f}: {hidden}");
    }
    assert_eq!(hidden["pseudo"]["app"]["rcc"], false);
    assert_eq!(
        by("kuando-config")["pseudo"]["app"]["url"],
        format!("{base}innovaphone-kuando-config")
    );
    let template = objs
        .iter()
        .find(|o| o["cn"] == "Standard")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(template["apps"], "kuando,kuando-config");
    shots::manager_plugin(
        &story,
        "dark",
        ".kuando-tick[data-ok='true']",
        &dir.join("manager-dark.png"),
    )
    .await?;
    shots::manager_plugin(
        &story,
        "light",
        ".kuando-tick[data-ok='true']",
        &dir.join("manager-light.png"),
    )
    .await?;

    // The user's myApps now loads both apps; the hidden app logs in and drives the lamp.
    story.start_product().await?;
    story.sims.phone(&user, "incoming").await?;
    story
        .lamp_until("the lamp to blink for the ringing call", secs(5), |l| {
            l["source"] == SENDER && l["effect"] == "blink"
        })
        .await?;
    story.done("incoming call → lamp blinks");
    story.finish().await;
    Ok(())
}
