//! Every control has an accessible name and the pages pass axe-core (npm, pinned in tools/package.json): the
//! config app and the PBX Manager plugin (with its Users view), in both schemes and both languages, checked in
//! Chromium. A violation is printed with its rule, impact and first elements.

use std::time::Duration;

use kuando_e2e::fleet::open_manager_in;
use kuando_e2e::{repo_root, say, wait_until, Setup, Story};
use serde_json::Value;

fn axe_source() -> Result<String, String> {
    let p = repo_root().join("tools/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&p)
        .map_err(|e| format!("{}: {e} (./build.sh installs axe-core)", p.display()))
}

/// axe-core's violations in the current document (`context`: a CSS selector or `document`).
fn axe_script(axe: &str, context: &str) -> String {
    format!(
        "{axe}\n;return axe.run({context}, {{resultTypes: ['violations']}}).then(r => r.violations.map(v => \
         ({{id: v.id, impact: v.impact, n: v.nodes.length, help: v.help, \
         nodes: v.nodes.slice(0, 4).map(n => n.target.join(' '))}})));"
    )
}

fn report(what: &str, v: &Value) -> usize {
    let list = v.as_array().cloned().unwrap_or_default();
    for x in &list {
        say(&format!(
            "axe [{what}] {} ({}): {} × {} {}",
            x["id"], x["impact"], x["n"], x["help"], x["nodes"]
        ));
    }
    list.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_config_app_and_the_plugin_have_no_axe_violations_in_both_schemes_and_languages(
) -> Result<(), String> {
    let axe = axe_source()?;
    let mut story = Story::start("accessibility", Setup::default()).await?;
    let mut found = Vec::new();
    for lang in ["en", "de"] {
        for scheme in ["light", "dark"] {
            story.open_launcher(scheme).await?;
            story.config_loaded().await?;
            story.sims.set_lang(&story.user, lang).await?;
            // The app has drawn in the language asked for.
            wait_until(
                "the config app in its language",
                Duration::from_secs(10),
                || async {
                    let l = story
                        .browser
                        .js_in("config", "return document.documentElement.lang;")
                        .await?;
                    if l == Value::String(lang.into()) {
                        Ok(())
                    } else {
                        Err(format!("lang {l}"))
                    }
                },
            )
            .await?;
            let v = story
                .browser
                .js_in("config", &axe_script(&axe, "document"))
                .await?;
            let n = report(&format!("config app {lang} {scheme}"), &v);
            found.push(format!("config app {lang} {scheme}: {n}"));
        }
    }
    // A running connector: the plugin's Users view has a row (its table, mark and texts are checked too).
    story.sims.set_lang(&story.user, "en").await?;
    story.start_product().await?;
    for lang in ["en", "de"] {
        for scheme in ["light", "dark"] {
            open_manager_in(&story, lang, scheme, ".kuando-fleet-row").await?;
            let v = story
                .browser
                .js(&axe_script(&axe, "document.querySelector('.item-node')"))
                .await?;
            let n = report(&format!("plugin {lang} {scheme}"), &v);
            found.push(format!("plugin {lang} {scheme}: {n}"));
        }
    }
    story.finish().await;
    say(&format!("axe violations: {found:?}"));
    assert!(found.iter().all(|f| f.ends_with(": 0")), "{found:?}");
    Ok(())
}
