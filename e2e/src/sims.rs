//! Both simulators in this process, serving the repository's real `www/` and `pkg/`.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use kuando_sim::{hub, myapps};
use serde_json::{json, Value};

use crate::{pkg_dir, www_dir};

/// The connector's sender name on the hub.
pub const SENDER: &str = "innovaphone myApps";

/// What a story needs from the simulators.
#[derive(Debug, Clone)]
pub struct Setup {
    pub hub: hub::Options,
    /// PBX users; the stories use the first.
    pub users: Vec<String>,
    pub unlicensed: Vec<String>,
    pub license_busylight: Vec<String>,
    /// A PBX without the connector's App objects (the PBX Manager plugin creates them).
    pub fresh_pbx: bool,
    /// The connector's app object lacks the Admin option: the service cannot check licenses.
    pub without_admin: bool,
    /// Instance config items of the service (`NAME=VALUE`), e.g. `guardGraceSeconds=5`.
    pub service_config: Vec<String>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            hub: hub::Options {
                hub_port: 0,
                // The stories start where a real hub starts: factory-new, each sender's line comes when it
                // first speaks to the hub. A story about an administrator's ranking says so in its name.
                hub_priorities: None,
                ..Default::default()
            },
            users: vec!["alice".into()],
            unlicensed: Vec::new(),
            license_busylight: Vec::new(),
            fresh_pbx: false,
            without_admin: false,
            service_config: Vec::new(),
        }
    }
}

/// The kuandoHUB simulator (which a story may stop and start again on the same port) and the myApps simulator.
pub struct Sims {
    hub: Option<hub::Running>,
    hub_options: hub::Options,
    hub_addr: SocketAddr,
    pub myapps: myapps::Running,
    http: reqwest::Client,
}

impl Sims {
    pub async fn start(setup: &Setup) -> Result<Sims, String> {
        let hub = hub::spawn(setup.hub.clone()).await?;
        let hub_addr = hub.addr;
        // A restart must come back where the connector is configured to look.
        let hub_options = hub::Options {
            hub_port: hub_addr.port(),
            ..setup.hub.clone()
        };
        let myapps = myapps::spawn(myapps::Options {
            port: 0,
            www: www_dir(),
            pkg: pkg_dir(),
            users: setup.users.clone(),
            unlicensed: setup.unlicensed.clone(),
            license_busylight: setup.license_busylight.clone(),
            fresh_pbx: setup.fresh_pbx,
            manager: crate::repo_root().join("manager"),
            without_admin: setup.without_admin,
            service_config: setup.service_config.clone(),
            ..Default::default()
        })
        .await?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("http client: {e}"))?;
        Ok(Sims {
            hub: Some(hub),
            hub_options,
            hub_addr,
            myapps,
            http,
        })
    }

    // ----- kuandoHUB --------------------------------------------------------------------------------------

    /// The hub URL the connector is configured with (`http://127.0.0.1:PORT/`).
    pub fn hub_url(&self) -> String {
        format!("http://{}/", self.hub_addr)
    }

    /// The kuandoHUB of the user's other PC: a hub of its own, set up as the first, on the same port of
    /// another loopback address `ip` (127.0.0.2, …). A browser started with [`Sims::localhost_is`]`(ip)`
    /// reaches it as `http://localhost:PORT/`, as every PC reaches its own hub; the connector's settings
    /// (per user, on the service) stay the same for both clients. Dropping the result stops the hub.
    pub async fn other_pcs_hub(&self, ip: Ipv4Addr) -> Result<hub::Running, String> {
        hub::spawn(hub::Options {
            hub_host: ip,
            ..self.hub_options.clone()
        })
        .await
    }

    /// The hub URL as the connector on every PC is configured in these stories: `localhost` on the first
    /// hub's port. Chromium resolves `localhost` as told by [`Sims::localhost_is`].
    pub fn localhost_hub_url(&self) -> String {
        format!("http://localhost:{}/", self.hub_addr.port())
    }

    /// The Chromium flag that makes `localhost` this browser's own PC: the hub at `ip`.
    pub fn localhost_is(ip: Ipv4Addr) -> String {
        format!("--host-resolver-rules=MAP localhost {ip}")
    }

    /// The running hub's control handle; an error while the hub is stopped.
    pub fn hub(&self) -> Result<&hub::HubHandle, String> {
        self.hub
            .as_ref()
            .map(|r| &r.hub)
            .ok_or_else(|| "the kuandoHUB simulator is stopped".to_string())
    }

    /// The hub's whole state (`/_sim/state`).
    pub fn hub_state(&self) -> Result<Value, String> {
        Ok(self.hub()?.state())
    }

    /// What the lamp shows (`lamp` of the state).
    pub fn lamp(&self) -> Result<Value, String> {
        Ok(self.hub_state()?["lamp"].clone())
    }

    /// Sets or clears a 3rd-party source, as a click on the hub page does.
    pub fn hub_source(&self, v: Value) -> Result<(), String> {
        self.hub()?.set_source(&v)
    }

    /// kuandoHUB quits: the port refuses connections.
    pub fn stop_hub(&mut self) {
        if let Some(h) = self.hub.take() {
            h.shutdown();
        }
    }

    /// kuandoHUB starts again on the same port, with a fresh state (as after a restart of the program).
    pub async fn start_hub(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            // The stopped server's socket closes once its task has unwound; until then the port is taken.
            match hub::spawn(self.hub_options.clone()).await {
                Ok(r) => {
                    self.hub = Some(r);
                    return Ok(());
                }
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Hub requests logged so far (the log keeps the last 200; `requests` counts all).
    pub fn hub_requests(&self) -> Result<u64, String> {
        Ok(self.hub_state()?["requests"].as_u64().unwrap_or(0))
    }

    // ----- myApps / PBX -----------------------------------------------------------------------------------

    pub fn launcher_url(&self, user: &str) -> String {
        self.myapps.launcher_url(user)
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        let url = format!("{}{path}", self.myapps.base_url());
        let r = self
            .http
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("POST {path}: {e}"))?;
        let status = r.status();
        let v: Value = r.json().await.map_err(|e| format!("POST {path}: {e}"))?;
        if status.is_success() {
            Ok(v)
        } else {
            Err(format!("POST {path} {body}: {status} {v}"))
        }
    }

    /// The AppPlatform restarts the app instance: the service's process is killed as it runs, every app
    /// websocket to it drops, and a new process starts on the same database. Returns once it is evaluated.
    pub async fn restart_service(&self) -> Result<(), String> {
        self.myapps.restart_service().await
    }

    /// The myApps simulator's whole state (users, sessions, app websockets, wire log).
    pub async fn myapps_state(&self) -> Result<Value, String> {
        let url = format!("{}/_sim/state", self.myapps.base_url());
        self.http
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("GET /_sim/state: {e}"))?
            .json()
            .await
            .map_err(|e| format!("GET /_sim/state: {e}"))
    }

    /// The user's PBX presence `{activity, note}`.
    pub async fn presence(&self, user: &str) -> Result<Value, String> {
        Ok(self.myapps_state().await?["users"][user]["presence"].clone())
    }

    /// The user sets their presence by hand in myApps.
    pub async fn set_presence(&self, user: &str, activity: &str, note: &str) -> Result<(), String> {
        self.post(
            "/_sim/presence",
            json!({"user": user, "activity": activity, "note": note}),
        )
        .await
        .map(drop)
    }

    /// The user works the softphone: `incoming`, `answer`, `hangup`, ... Returns the call.
    pub async fn phone(&self, user: &str, action: &str) -> Result<Value, String> {
        self.post("/_sim/call", json!({"user": user, "action": action}))
            .await
    }

    /// The PBX admin changes the user's license: `none`, `connector`, `withBusylight`.
    pub async fn set_license(&self, user: &str, license: &str) -> Result<(), String> {
        self.post("/_sim/license", json!({"user": user, "license": license}))
            .await
            .map(drop)
    }

    /// The user closes (`false`) or opens the softphone app.
    pub async fn softphone(&self, user: &str, open: bool) -> Result<(), String> {
        self.post("/_sim/softphone", json!({"user": user, "open": open}))
            .await
            .map(drop)
    }

    /// myApps prepares to reload an app frame (`hidden` / `config`): `PrepareReload`.
    pub async fn prepare_reload(&self, user: &str, frame: &str) -> Result<(), String> {
        self.post("/_sim/reload", json!({"user": user, "frame": frame}))
            .await
            .map(drop)
    }

    /// The PBX refuses the service's next `times` requests of type `mt` (-1: until cleared with `None`).
    pub async fn pbx_fault(&self, fault: Option<(&str, i64)>) -> Result<(), String> {
        let body = match fault {
            Some((mt, times)) => json!({"refuse": mt, "times": times}),
            None => json!({"refuse": null}),
        };
        self.post("/_sim/pbx/fault", body).await.map(drop)
    }

    /// The app service's next `n` database statements fail.
    pub async fn db_fault(&self, n: u64) -> Result<(), String> {
        self.post("/_sim/service/db-fault", json!({"fail": n}))
            .await
            .map(drop)
    }

    /// myApps switches the apps' colour scheme (`SetScheme`).
    pub async fn set_scheme(&self, user: &str, scheme: &str) -> Result<(), String> {
        self.post("/_sim/scheme", json!({"user": user, "scheme": scheme}))
            .await
            .map(drop)
    }

    /// The user's myApps language (`lang`), for the launchers opened from now on and the open ones.
    pub async fn set_lang(&self, user: &str, lang: &str) -> Result<(), String> {
        self.post("/_sim/lang", json!({"user": user, "lang": lang}))
            .await
            .map(drop)
    }
}
