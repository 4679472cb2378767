//! End-to-end harness: the real apps (`www/` + `pkg/`) in a real headless Chromium, inside the myApps simulator,
//! talking to the kuandoHUB simulator, both running in this process.
//!
//! - [`browser`]: chromedriver on a free port (killed on drop), a WebDriver session with a fresh profile, the
//!   console of every frame (chromedriver's `goog:loggingPrefs` log), CDP, frames, screenshots.
//! - [`sims`]: `kuando_sim::{hub, myapps}::spawn` with their control APIs.
//! - [`Story`]: one user story: both, plus timing lines and the config app as a user works it.
//! - [`wait_until`]: every wait is for an observable condition with a deadline, checked every 50 ms.
//!
//! Stories print their timings straight to stderr (not through `println!`, which the test harness captures),
//! so `cargo test -p kuando-e2e` shows them without `--nocapture`.

pub mod browser;
pub mod fleet;
pub mod shots;
pub mod sims;

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

pub use browser::{Browser, ConsoleLine};
pub use sims::{Setup, Sims, SENDER};

/// How often a condition is checked while waiting for it.
pub const POLL: Duration = Duration::from_millis(50);

/// The user of the stories.
pub const USER: &str = "alice";

/// Trace prefixes (see `src/trace.rs`).
pub const HIDDEN_PREFIX: &str = "kuando-log:";
pub const CONFIG_PREFIX: &str = "kuando-config-log:";

/// The repository root (this crate is `e2e/` in it).
pub fn repo_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

pub fn www_dir() -> PathBuf {
    repo_root().join("www")
}

/// The wasm package the apps load: `pkg/` of the repository, or `$KUANDO_E2E_PKG` to try another build
/// (e.g. one made from a patched tree) without touching `pkg/`.
pub fn pkg_dir() -> PathBuf {
    match std::env::var_os("KUANDO_E2E_PKG").filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => repo_root().join("pkg"),
    }
}

/// Where screenshots go: `target/screenshots/` of the repository.
pub fn screenshots_dir() -> PathBuf {
    repo_root().join("target").join("screenshots")
}

/// The wasm files the apps load. The stories test the real release build, so a missing one is an error that
/// says how to make it, not a skipped test.
pub fn check_built() -> Result<(), String> {
    let needed = [
        "kuando_connector.js",
        "kuando_connector_bg.wasm",
        "kuando_config.js",
        "kuando_config_bg.wasm",
    ];
    let missing: Vec<String> = needed
        .iter()
        .map(|f| pkg_dir().join(f))
        .filter(|p| !p.is_file())
        .map(|p| p.display().to_string())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the apps are not built ({} missing): run ./build.sh first",
            missing.join(", ")
        ))
    }
}

/// One line on stderr, past the test harness's output capture.
pub fn say(line: &str) {
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "{line}");
}

/// Waits until `check` returns `Ok`, checking every [`POLL`]; `Err(text)` means "not yet" and says what was
/// seen, which the timeout error repeats.
pub async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match check().await {
            Ok(v) => return Ok(v),
            Err(seen) => {
                if Instant::now() >= deadline {
                    return Err(format!(
                        "timed out after {timeout:?} waiting for {what}; last seen: {seen}"
                    ));
                }
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Checks for `window` that `check` never fails (every [`POLL`]). For claims that something does *not*
/// happen: the window is how long a working app would certainly have needed to do it, and the check fails
/// at the first violation.
pub async fn holds_for<F, Fut>(what: &str, window: Duration, mut check: F) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let end = Instant::now() + window;
    while Instant::now() < end {
        check().await.map_err(|e| format!("{what} failed: {e}"))?;
        tokio::time::sleep(POLL).await;
    }
    check().await.map_err(|e| format!("{what} failed: {e}"))
}

/// What the config app shows, read from its DOM.
#[derive(Debug, Clone, Default)]
pub struct ConfigView {
    /// The form is loaded (settings came from the service, or the defaults).
    pub loaded: bool,
    /// Ids of the red banners, e.g. `banner-no-hub`.
    pub banners: Vec<String>,
    pub save_class: String,
    pub save_text: String,
    pub test_text: String,
    /// `light` / `dark` as the app renders it.
    pub scheme: String,
    /// `password` while the token is masked.
    pub token_type: String,
}

impl ConfigView {
    pub fn has(&self, banner: &str) -> bool {
        self.banners.iter().any(|b| b == banner)
    }
}

const CONFIG_VIEW_JS: &str = r#"
const q = (s) => document.querySelector(s);
const loading = q('.loading');
const main = q('main.app');
return {
  loaded: !!q('#f-hubUrl') && (!loading || loading.hidden),
  banners: [...document.querySelectorAll('.banner')].map((b) => b.id),
  saveClass: q('#save-status') ? q('#save-status').className : '',
  saveText: q('#save-status') ? q('#save-status').textContent : '',
  testText: q('#test-status') ? q('#test-status').textContent : '',
  scheme: main ? (main.dataset.scheme || '') : '',
  tokenType: q('#f-token') ? q('#f-token').type : '',
};
"#;

fn field_id(path: &str) -> String {
    format!("#f-{}", path.replace('.', "-"))
}

/// One user story: simulators, browser, timings.
pub struct Story {
    pub name: String,
    pub sims: Sims,
    pub browser: Browser,
    pub user: String,
    started: Instant,
    step_started: Instant,
}

impl Story {
    /// Starts the simulators and a browser. Fails with "run ./build.sh first" if `pkg/` is not built.
    pub async fn start(name: &str, setup: Setup) -> Result<Story, String> {
        Story::start_with(name, setup, |_| Vec::new()).await
    }

    /// Like [`Story::start`], but the myApps simulator's pages count as a *public* origin for Chromium
    /// (`--ip-address-space-overrides`), so its requests to the hub on loopback fall under Local Network
    /// Access, as from an AppPlatform on the internet.
    pub async fn start_public(name: &str, setup: Setup) -> Result<Story, String> {
        Story::start_with(name, setup, |sims| {
            let port = sims.myapps.addr.port();
            vec![format!(
                "--ip-address-space-overrides=127.0.0.1:{port}=public"
            )]
        })
        .await
    }

    /// Like [`Story::start`], with extra Chromium flags that may depend on the running simulators.
    pub async fn start_with(
        name: &str,
        setup: Setup,
        flags: impl FnOnce(&Sims) -> Vec<String>,
    ) -> Result<Story, String> {
        check_built()?;
        let started = Instant::now();
        let user = setup
            .users
            .first()
            .cloned()
            .unwrap_or_else(|| USER.to_string());
        let sims = Sims::start(&setup).await?;
        let browser = Browser::start_with(&flags(&sims)).await?;
        Ok(Story {
            name: name.to_string(),
            sims,
            browser,
            user,
            started,
            step_started: Instant::now(),
        })
    }

    /// Marks the start of a timed step.
    pub fn begin(&mut self) {
        self.step_started = Instant::now();
    }

    /// Prints how long the step since [`Story::begin`] (or the previous `done`) took.
    pub fn done(&mut self, what: &str) -> Duration {
        let d = self.step_started.elapsed();
        say(&format!(
            "e2e story [{}] {what}: {:.2} s",
            self.name,
            d.as_secs_f64()
        ));
        self.step_started = Instant::now();
        d
    }

    /// Prints the whole story's time and closes the browser.
    pub async fn finish(self) {
        say(&format!(
            "e2e story [{}] total (with browser start): {:.2} s",
            self.name,
            self.started.elapsed().as_secs_f64()
        ));
        self.browser.close().await;
    }

    /// Opens the user's myApps launcher (`scheme`: the `start.scheme` the apps get).
    pub async fn open_launcher(&self, scheme: &str) -> Result<(), String> {
        let url = format!("{}&scheme={scheme}", self.sims.launcher_url(&self.user));
        self.browser.goto(&url).await
    }

    // ----- the config app ---------------------------------------------------------------------------------

    pub async fn config_view(&self) -> Result<ConfigView, String> {
        let v = self.browser.js_in("config", CONFIG_VIEW_JS).await?;
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        Ok(ConfigView {
            loaded: v["loaded"].as_bool().unwrap_or(false),
            banners: v["banners"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
            save_class: s("saveClass"),
            save_text: s("saveText"),
            test_text: s("testText"),
            scheme: s("scheme"),
            token_type: s("tokenType"),
        })
    }

    /// Waits until the config app shows its form with the settings loaded.
    pub async fn config_loaded(&self) -> Result<ConfigView, String> {
        wait_until(
            "the config app to load",
            Duration::from_secs(15),
            || async {
                match self.config_view().await {
                    Ok(v) if v.loaded => Ok(v),
                    Ok(v) => Err(format!("{v:?}")),
                    Err(e) => Err(e),
                }
            },
        )
        .await
    }

    /// Waits until the config app shows (`shown`) or no longer shows a banner.
    pub async fn config_banner(
        &self,
        banner: &str,
        shown: bool,
        timeout: Duration,
    ) -> Result<ConfigView, String> {
        let what = format!(
            "the config app {} #{banner}",
            if shown { "to show" } else { "to stop showing" }
        );
        wait_until(&what, timeout, || async {
            let v = self.config_view().await?;
            if v.has(banner) == shown {
                Ok(v)
            } else {
                Err(format!("banners {:?}", v.banners))
            }
        })
        .await
    }

    /// Types into the config app's fields as a user does (`hubUrl`, `token`, `pollInterval`,
    /// `lamp.ringing.effect`, ...), presses Save and waits for "saved".
    pub async fn configure(&self, fields: &[(&str, &str)]) -> Result<(), String> {
        use fantoccini::key::Key;
        self.config_loaded().await?;
        self.browser.enter("config").await?;
        for (path, value) in fields {
            let css = field_id(path);
            let el = self.browser.find(&css).await?;
            let tag = el.tag_name().await.map_err(|e| e.to_string())?;
            if tag.eq_ignore_ascii_case("select") {
                el.select_by_value(value)
                    .await
                    .map_err(|e| format!("{css}: cannot select {value:?}: {e}"))?;
                continue;
            }
            let kind = el.attr("type").await.map_err(|e| e.to_string())?;
            if kind.as_deref() == Some("checkbox") {
                let on = el.is_selected().await.map_err(|e| e.to_string())?;
                if on != (*value == "true") {
                    self.browser.click(&css).await?;
                }
                continue;
            }
            // Typing focuses the field (no click: the sticky Save bar may cover it). Select all, then type:
            // the text replaces it and each key fires `input`, as for a person.
            let select_all = format!("{}a{}", char::from(Key::Control), char::from(Key::Null));
            el.send_keys(&select_all)
                .await
                .map_err(|e| format!("{css}: {e}"))?;
            el.send_keys(value)
                .await
                .map_err(|e| format!("{css}: cannot type: {e}"))?;
        }
        self.browser.click("#btn-save").await?;
        self.browser.top().await?;
        wait_until(
            "the settings to be saved",
            Duration::from_secs(10),
            || async {
                let v = self.config_view().await?;
                if v.save_class.contains("ok") {
                    Ok(())
                } else if v.save_class.contains("failed") {
                    // Waiting will not change a refusal, but the timeout error then says why.
                    Err(format!("save failed: {:?}", v.save_text))
                } else {
                    Err(format!("save status {:?} {:?}", v.save_class, v.save_text))
                }
            },
        )
        .await
    }

    // ----- the hidden app ---------------------------------------------------------------------------------

    /// Waits until the hidden app runs against the configured hub: it provides phoneinfo to myApps, and its
    /// session with the hub has registered the connector as a data source.
    pub async fn hidden_app_ready(&self) -> Result<(), String> {
        wait_until(
            "the hidden app to provide phoneinfo and register with the kuandoHUB",
            Duration::from_secs(20),
            || async {
                let m = self.sims.myapps_state().await?;
                let phoneinfo = m["sessions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|s| {
                        s["frames"]["hidden"]["registered"]
                            .as_array()
                            .is_some_and(|r| r.iter().any(|a| a == "com.innovaphone.phoneinfo"))
                    });
                let h = self.sims.hub_state()?;
                let registered = h["data_sources"]
                    .as_array()
                    .is_some_and(|d| d.iter().any(|s| s["name"] == SENDER));
                if phoneinfo && registered {
                    Ok(())
                } else {
                    Err(format!(
                        "provides phoneinfo: {phoneinfo}, registered on the hub: {registered}, hub requests: {}",
                        h["requests"]
                    ))
                }
            },
        )
        .await
    }

    /// The usual start of a hidden-app story: launcher open, the hub configured in the config app (poll every
    /// second, so that the stories are quick), the hidden app running against it.
    pub async fn start_product(&mut self) -> Result<(), String> {
        let url = self.sims.hub_url();
        self.start_product_on(&url).await
    }

    /// [`Story::start_product`] with the connector configured for the hub at `url`.
    pub async fn start_product_on(&mut self, url: &str) -> Result<(), String> {
        self.open_launcher("dark").await?;
        self.configure(&[("hubUrl", url), ("pollInterval", "1")])
            .await?;
        self.hidden_app_ready().await?;
        self.done("product running (launcher, hub configured, hidden app registered)");
        Ok(())
    }

    /// Waits until the lamp satisfies `want` (given the hub's `lamp` object).
    pub async fn lamp_until(
        &self,
        what: &str,
        timeout: Duration,
        want: impl Fn(&Value) -> bool,
    ) -> Result<Value, String> {
        wait_until(what, timeout, || async {
            let l = self.sims.lamp()?;
            if want(&l) {
                Ok(l)
            } else {
                Err(format!("lamp: {} from {}", l["describe"], l["source"]))
            }
        })
        .await
    }

    /// Waits until the user's PBX presence is exactly `activity` / `note`.
    pub async fn presence_until(
        &self,
        activity: &str,
        note: &str,
        timeout: Duration,
    ) -> Result<(), String> {
        let what = format!("PBX presence {activity:?} {note:?}");
        wait_until(&what, timeout, || async {
            let p = self.sims.presence(&self.user).await?;
            if p["activity"] == activity && p["note"] == note {
                Ok(())
            } else {
                Err(format!("presence {p}"))
            }
        })
        .await
    }

    /// MS Teams starts a call on the hub, and the user's PBX presence becomes "on the phone (MS Teams)"
    /// within 5 s: the whole path hub → hidden app → service → PBX.
    pub async fn teams_call_on_the_phone(&self) -> Result<(), String> {
        self.sims.hub_source(serde_json::json!(
            {"sender": "MS Teams", "eventtype": "Light", "eventname": "On-The-Phone"}
        ))?;
        self.presence_until("on-the-phone", "MS Teams", Duration::from_secs(5))
            .await
    }

    /// The number of the newest hub request so far (requests are numbered from 1 by the hub).
    pub fn hub_seq(&self) -> Result<u64, String> {
        self.sims.hub_requests()
    }

    /// Waits until the hub has answered `n` `currentpresence` polls numbered after `seq` (from
    /// [`Story::hub_seq`]): whoever polls has had that many fresh looks at the hub since then.
    pub async fn polls_after(&self, seq: u64, n: usize) -> Result<(), String> {
        polls_after(self.sims.hub()?, seq, n).await
    }
}

/// Waits until `hub` has answered `n` `currentpresence` polls numbered after `seq` (its `requests` count
/// before): whoever polls it has had that many fresh looks at it since then.
pub async fn polls_after(
    hub: &kuando_sim::hub::HubHandle,
    seq: u64,
    n: usize,
) -> Result<(), String> {
    wait_until(
        &format!("{n} currentpresence polls after request #{seq}"),
        Duration::from_secs(10),
        || async {
            let h = hub.state();
            let polls = h["log"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|e| e["seq"].as_u64().is_some_and(|s| s > seq))
                .filter(|e| e["action"] == "currentpresence" && e["status"] == 200)
                .count();
            if polls >= n {
                Ok(())
            } else {
                Err(format!("{polls} polls so far"))
            }
        },
    )
    .await
}
