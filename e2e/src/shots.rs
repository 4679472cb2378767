//! Screenshots of what a person sees: the config app in both schemes, the myApps launcher, the hub's lamp page.
//! Used by the screenshot story and by `kuando-screenshots` (`./build.sh screenshots`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::{wait_until, Story};

/// Relative luminance 0..1 of a CSS `rgb(...)`/`rgba(...)` colour; `None` if it is not one.
pub fn luminance(css: &str) -> Option<f64> {
    let inner = css.split_once('(')?.1.trim_end_matches(')');
    let v: Vec<f64> = inner
        .split(',')
        .take(3)
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .ok()?;
    if v.len() != 3 {
        return None;
    }
    Some((0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]) / 255.0)
}

/// The config app's page background as the browser paints it.
async fn config_background(story: &Story) -> Result<String, String> {
    let v = story
        .browser
        .js_in(
            "config",
            "return getComputedStyle(document.body).backgroundColor;",
        )
        .await?;
    Ok(v.as_str().unwrap_or_default().to_string())
}

/// Waits until the config app renders `scheme`.
async fn config_scheme_is(story: &Story, scheme: &str) -> Result<(), String> {
    wait_until(
        &format!("the config app in the {scheme} scheme"),
        Duration::from_secs(10),
        || async {
            let v = story.config_view().await?;
            if v.scheme == scheme {
                Ok(())
            } else {
                Err(format!("scheme {:?}", v.scheme))
            }
        },
    )
    .await
}

/// Waits until the config app renders `scheme`, then saves a screenshot of its window in the launcher.
/// Returns the page background colour it was painted with.
pub async fn config_in_scheme(story: &Story, scheme: &str, path: &Path) -> Result<String, String> {
    config_scheme_is(story, scheme).await?;
    let bg = config_background(story).await?;
    let (w, h) = story
        .browser
        .client
        .get_window_size()
        .await
        .map_err(|e| e.to_string())?;
    fit_config_window(story).await?;
    story.browser.top().await?;
    let shot = story
        .browser
        .screenshot_of("iframe[name=\"config\"]", path)
        .await;
    let _ = story
        .browser
        .client
        .set_window_size(w as u32, h as u32)
        .await;
    shot?;
    Ok(bg)
}

/// Makes the window tall enough that the launcher's app window shows the whole config app, scrolled to the
/// top: a screenshot of the iframe then shows the app, not a slice of it.
async fn fit_config_window(story: &Story) -> Result<(), String> {
    for _ in 0..4 {
        let doc = story
            .browser
            .js_in(
                "config",
                "window.scrollTo(0, 0); return document.documentElement.scrollHeight;",
            )
            .await?
            .as_f64()
            .unwrap_or(0.0);
        let frame = story
            .browser
            .js("return document.querySelector('iframe[name=\"config\"]').clientHeight;")
            .await?
            .as_f64()
            .unwrap_or(0.0);
        if doc <= frame + 1.0 || doc > 6000.0 {
            return Ok(());
        }
        let (w, h) = story
            .browser
            .client
            .get_window_size()
            .await
            .map_err(|e| e.to_string())?;
        // The launcher gives the wire log a third of the height; the app window gets the rest.
        let grow = ((doc - frame) / 0.66).ceil() as u64 + 8;
        story
            .browser
            .client
            .set_window_size(w as u32, (h + grow) as u32)
            .await
            .map_err(|e| format!("cannot resize the window: {e}"))?;
    }
    Ok(())
}

/// Both schemes of the config app: starts in dark (`start.scheme`), then myApps switches to light
/// (`SetScheme`). The launcher must be open with `scheme=dark`. Returns the two files and backgrounds.
pub async fn config_both_schemes(
    story: &Story,
    dir: &Path,
) -> Result<[(PathBuf, String); 2], String> {
    story.config_loaded().await?;
    let dark = dir.join("config-dark.png");
    let dark_bg = config_in_scheme(story, "dark", &dark).await?;
    story.sims.set_scheme(&story.user, "light").await?;
    let light = dir.join("config-light.png");
    let light_bg = config_in_scheme(story, "light", &light).await?;
    Ok([(dark, dark_bg), (light, light_bg)])
}

/// Waits until the lamp page at `/_sim/` has drawn the hub's state once.
pub async fn hub_page_drawn(story: &Story) -> Result<(), String> {
    wait_until("the hub page to draw", Duration::from_secs(10), || async {
        let v: Value = story
            .browser
            .js("return document.querySelectorAll('#prio li').length > 0 \
                 && document.getElementById('what').textContent.trim() !== '';")
            .await?;
        if v == Value::Bool(true) {
            Ok(())
        } else {
            Err("not drawn yet".into())
        }
    })
    .await
}

/// The simulated PBX Manager with the connector's plugin, in `scheme` (`light`/`dark`), once the plugin has
/// drawn what it found (`ready`: a CSS selector that shows it, e.g. the create button on a fresh PBX).
pub async fn manager_plugin(
    story: &Story,
    scheme: &str,
    ready: &str,
    path: &Path,
) -> Result<(), String> {
    let url = format!(
        "{}/_sim/manager?lang=en&scheme={scheme}",
        story.sims.myapps.base_url()
    );
    story.browser.goto(&url).await?;
    wait_until(
        &format!("the PBX Manager plugin to show {ready}"),
        Duration::from_secs(15),
        || async {
            let css = serde_json::to_string(&format!(".item-node {ready}")).unwrap_or_default();
            let script = format!(
                "return !!document.querySelector({css}) && !document.body.textContent.includes('Working');"
            );
            match story.browser.js(&script).await? {
                Value::Bool(true) => Ok(()),
                _ => Err("not drawn yet".into()),
            }
        },
    )
    .await?;
    story.browser.screenshot(path).await
}

/// The config app's live status panel (issue 14) in the scheme it shows now, as `path`: the `#status`
/// section, scrolled into view.
pub async fn status_panel(story: &Story, path: &Path) -> Result<(), String> {
    story.browser.enter("config").await?;
    story
        .browser
        .js("document.getElementById('status').scrollIntoView({block: 'start'}); return true;")
        .await?;
    let shot = story.browser.screenshot_of("#status", path).await;
    story.browser.top().await?;
    shot
}

/// The panel in both schemes: dark (as the launcher opened), then light after `SetScheme`. Files
/// `status-dark.png` and `status-light.png` in `dir`.
pub async fn status_both_schemes(story: &Story, dir: &Path) -> Result<[PathBuf; 2], String> {
    let dark = dir.join("status-dark.png");
    let light = dir.join("status-light.png");
    for (scheme, path) in [("dark", &dark), ("light", &light)] {
        story.sims.set_scheme(&story.user, scheme).await?;
        config_scheme_is(story, scheme).await?;
        status_panel(story, path).await?;
    }
    Ok([dark, light])
}
