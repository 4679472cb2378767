//! The administrator's fleet: four users of one PBX — alice's connector running with a lamp, bob's running
//! with his kuandoHUB stopped, carol unlicensed, dave never started — and the PBX Manager's Users view of
//! them. Used by `tests/fleet.rs` and `./build.sh screenshots`.

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::{say, wait_until, Browser, Setup, Story};

/// Bob's PC: his kuandoHUB listens here (on the first hub's port) once it is started.
pub const BOB_PC: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// The four users and their browsers (alice, bob, carol: one Chromium each; dave has none).
pub struct Fleet {
    pub story: Story,
    pub clients: Vec<Browser>,
}

impl Fleet {
    /// alice, bob and carol open myApps, each in a browser of their own (their PC); alice and bob set up their
    /// connector in the config app (alice: the hub with a Busylight; bob: the hub on his own PC, which is not
    /// running). The story's browser is left for the PBX Manager.
    pub async fn start(name: &str) -> Result<Fleet, String> {
        let setup = Setup {
            users: vec!["alice".into(), "bob".into(), "carol".into(), "dave".into()],
            unlicensed: vec!["carol".into()],
            ..Setup::default()
        };
        let mut story = Story::start(name, setup).await?;
        let port = story.sims.hub_url();
        let bob_hub = format!(
            "http://{BOB_PC}:{}/",
            port.trim_end_matches('/').rsplit(':').next().unwrap_or("")
        );
        let mut clients = Vec::new();
        for (user, hub) in [
            ("alice", Some(story.sims.hub_url())),
            ("bob", Some(bob_hub)),
            ("carol", None),
        ] {
            // The user's own browser: the config app and the hidden app run in it, as on the user's PC.
            let mut b = Browser::start().await?;
            // The user allowed the connector to reach the hub (Local Network Access), as the concept asks.
            let origin = format!("http://127.0.0.1:{}", story.sims.myapps.addr.port());
            set_local_network(&b, &origin, "granted").await;
            std::mem::swap(&mut story.browser, &mut b);
            story.user = user.into();
            let opened = story.open_launcher("light").await;
            let configured = match (&opened, &hub) {
                (Ok(()), Some(h)) => {
                    story
                        .configure(&[("hubUrl", h), ("pollInterval", "1")])
                        .await
                }
                (r, _) => r.clone(),
            };
            std::mem::swap(&mut story.browser, &mut b);
            clients.push(b);
            configured?;
        }
        story.user = "alice".into();
        story.done("alice, bob and carol opened myApps; dave did not");
        Ok(Fleet { story, clients })
    }

    /// Ends the clients' browsers and the story.
    pub async fn finish(self) {
        for b in self.clients {
            b.close().await;
        }
        self.story.finish().await;
    }
}

/// Opens the PBX Manager in `scheme` and waits until the Users view shows rows.
pub async fn open_manager(story: &Story, scheme: &str) -> Result<(), String> {
    open_manager_in(story, "en", scheme, ".kuando-fleet-totals").await
}

/// Opens the PBX Manager in `lang` and `scheme` and waits until the plugin shows `ready` (a CSS selector).
pub async fn open_manager_in(
    story: &Story,
    lang: &str,
    scheme: &str,
    ready: &str,
) -> Result<(), String> {
    let url = format!(
        "{}/_sim/manager?lang={lang}&scheme={scheme}",
        story.sims.myapps.base_url()
    );
    story.browser.goto(&url).await?;
    let script = format!(
        "return !!document.querySelector({});",
        serde_json::to_string(&format!(".item-node {ready}")).unwrap_or_default()
    );
    wait_until(
        &format!("the PBX Manager plugin to show {ready}"),
        Duration::from_secs(15),
        || async {
            match story.browser.js(&script).await? {
                Value::Bool(true) => Ok(()),
                _ => Err("not drawn yet".into()),
            }
        },
    )
    .await
}

/// Sets Chromium's Local Network Access permission for `origin` under every name Chromium may know; returns
/// the names it took.
pub async fn set_local_network(
    browser: &Browser,
    origin: &str,
    setting: &str,
) -> Vec<&'static str> {
    let mut took = Vec::new();
    for name in ["local-network-access", "loopback-network", "local-network"] {
        let r = browser
            .cdp(
                "Browser.setPermission",
                serde_json::json!({"permission": {"name": name}, "setting": setting, "origin": origin}),
            )
            .await;
        match r {
            Ok(_) => took.push(name),
            Err(e) => say(&format!("Browser.setPermission {name} = {setting}: {e}")),
        }
    }
    took
}

/// What the Users view shows: `{"totals": [users, running, problems], "rows": [{sip, state, problem,
/// client}]}`.
pub async fn users_view(story: &Story) -> Result<Value, String> {
    story
        .browser
        .js(r#"
            const t = document.querySelector('.kuando-fleet-totals');
            const rows = Array.from(document.querySelectorAll('.kuando-fleet-row')).map(r => ({
                sip: r.dataset.sip, state: r.dataset.state,
                problem: r.querySelector('.kuando-fleet-problem').textContent,
                client: r.children[2].textContent }));
            return { totals: t ? [t.dataset.users, t.dataset.running, t.dataset.problems].map(Number) : null, rows };
        "#)
        .await
}

/// Waits until the Users view shows `want` (state by sip, in order).
pub async fn rows_until(
    story: &Story,
    what: &str,
    limit: Duration,
    want: &[(&str, &str)],
) -> Result<Value, String> {
    wait_until(what, limit, || async {
        let v = users_view(story).await?;
        let got: Vec<(String, String)> = v["rows"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                (
                    r["sip"].as_str().unwrap_or("").to_string(),
                    r["state"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        let ok = got.len() == want.len()
            && got
                .iter()
                .zip(want)
                .all(|((s, st), (ws, wst))| s == ws && st == wst);
        if ok {
            Ok(v)
        } else {
            Err(format!("rows {got:?}"))
        }
    })
    .await
}

/// The fleet as the story leaves it before bob's hub comes back.
pub const EXPECTED: [(&str, &str); 3] =
    [("alice", "fine"), ("bob", "problem"), ("carol", "problem")];

/// `fleet-light.png` and `fleet-dark.png` of the Users view into `dir`.
pub async fn screenshots(story: &Story, dir: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    let mut out = Vec::new();
    for scheme in ["light", "dark"] {
        open_manager(story, scheme).await?;
        rows_until(
            story,
            "the fleet's rows",
            Duration::from_secs(20),
            &EXPECTED,
        )
        .await?;
        story
            .browser
            .js("document.querySelector('.kuando-fleet').scrollIntoView({block: 'start'}); return true;")
            .await?;
        let f = dir.join(format!("fleet-{scheme}.png"));
        story.browser.screenshot(&f).await?;
        say(&format!("fleet view: {}", f.display()));
        out.push(f);
    }
    Ok(out)
}
