//! `kuando-screenshots` (`./build.sh screenshots`): PNGs of what a person sees, under `target/screenshots/`:
//! - `myapps-launcher.png`: the myApps simulator's launcher for alice, a call ringing, the config app inside;
//! - `hub-lamp.png`: the kuandoHUB simulator's lamp page (`/_sim/`) during that call;
//! - `config-dark.png`, `config-light.png`: the config app in both schemes (start dark, then `SetScheme`);
//! - `status-dark.png`, `status-light.png`: its live status panel during the call, in both schemes.
//!
//! Everything runs in this process: both simulators on free ports with the repository's `www/` and `pkg/`,
//! and a headless Chromium through chromedriver.

use std::process::ExitCode;
use std::time::Duration;

use kuando_e2e::{say, screenshots_dir, shots, wait_until, Setup, Story};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    match run().await {
        Ok(files) => {
            for f in files {
                println!("{f}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kuando-screenshots: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<Vec<String>, String> {
    let dir = screenshots_dir();
    let story = Story::start("screenshots", Setup::default()).await?;
    story.open_launcher("dark").await?;
    let hub_url = story.sims.hub_url();
    story
        .configure(&[("hubUrl", &hub_url), ("pollInterval", "1")])
        .await?;
    // The hidden app may not be built yet; the simulators are worth a picture either way.
    let hidden = story.hidden_app_ready().await;
    if let Err(e) = &hidden {
        say(&format!(
            "kuando-screenshots: the hidden app does not run ({e}); taking the pictures anyway"
        ));
    }
    story.sims.phone(&story.user, "incoming").await?;
    wait_until(
        "the launcher to show the call",
        Duration::from_secs(5),
        || async {
            let n = story
                .browser
                .js("return document.querySelectorAll('#calls li').length;")
                .await?;
            if n.as_u64().unwrap_or(0) > 0 {
                Ok(())
            } else {
                Err("no call shown".into())
            }
        },
    )
    .await?;
    if hidden.is_ok() {
        story
            .lamp_until("the lamp to ring", Duration::from_secs(5), |l| {
                l["source"] == kuando_e2e::SENDER
            })
            .await?;
    }
    let mut files = Vec::new();
    let launcher = dir.join("myapps-launcher.png");
    // Typing the settings scrolled the config app; a person opening it sees its top.
    story
        .browser
        .js_in("config", "window.scrollTo(0, 0); return true;")
        .await?;
    story.browser.screenshot(&launcher).await?;
    files.push(launcher);

    let [(dark, _), (light, _)] = shots::config_both_schemes(&story, &dir).await?;
    files.push(dark);
    files.push(light);
    if hidden.is_ok() {
        // The panel shows the call once the hidden app published it.
        wait_until(
            "the status panel to show the call",
            Duration::from_secs(5),
            || async {
                let v = story
                    .browser
                    .js_in(
                        "config",
                        "const r = document.querySelector('#status-lamp dd'); return r ? r.textContent : '';",
                    )
                    .await?;
                match v.as_str() {
                    Some(t) if t.contains("call") => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            },
        )
        .await?;
    }
    let [sdark, slight] = shots::status_both_schemes(&story, &dir).await?;
    files.push(sdark);
    files.push(slight);

    // The call is answered: a steady colour on the lamp page (a blinking lamp may be caught dark).
    story.sims.phone(&story.user, "answer").await?;
    let launcher_window = story
        .browser
        .client
        .window()
        .await
        .map_err(|e| e.to_string())?;
    let tab = story
        .browser
        .client
        .new_window(true)
        .await
        .map_err(|e| format!("cannot open a tab: {e}"))?;
    story
        .browser
        .client
        .switch_to_window(tab.handle)
        .await
        .map_err(|e| e.to_string())?;
    story
        .browser
        .goto(&format!("{}_sim/", story.sims.hub_url()))
        .await?;
    shots::hub_page_drawn(&story).await?;
    if hidden.is_ok() {
        story
            .lamp_until("the lamp to show the call", Duration::from_secs(5), |l| {
                l["source"] == kuando_e2e::SENDER && l["effect"] == "light"
            })
            .await?;
        // The page polls the hub twice a second: give it one fresh look at the new state.
        shots::hub_page_drawn(&story).await?;
    }
    let hub = dir.join("hub-lamp.png");
    story.browser.screenshot(&hub).await?;
    files.push(hub);
    // The PBX Manager with the connector's plugin (the ready-made objects, both ticked), light and dark.
    for scheme in ["light", "dark"] {
        let f = dir.join(format!("manager-{scheme}.png"));
        shots::manager_plugin(&story, scheme, ".kuando-tick[data-ok='true']", &f).await?;
        files.push(f);
    }
    let _ = story.browser.client.switch_to_window(launcher_window).await;
    story.finish().await;
    // The PBX Manager's Users view of a small fleet (alice fine, bob's hub stopped, carol unlicensed).
    let fleet = kuando_e2e::fleet::Fleet::start("fleet screenshots").await?;
    let shots = kuando_e2e::fleet::screenshots(&fleet.story, &dir).await;
    fleet.finish().await;
    files.extend(shots?);
    Ok(files.iter().map(|f| f.display().to_string()).collect())
}
