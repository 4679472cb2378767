//! The kuandoHUB simulator: Plenom's kuandoHUB HTTP server as `docs/platform-facts.md` §1 describes
//! it, rough edges included, plus a control API and a lamp page under `/_sim/`.
//!
//! - [`model`] holds what the hub knows (priority list, running commands, lamps) and answers the API.
//! - [`http`] is the server: token check, CORS, injected faults, request log.
//! - [`control`] is `/_sim/`: the state as JSON, setting sources, faults, lamps, and the page.
//!
//! Judgement calls (each explained where it is made): the default priority list
//! ([`model::fresh_lines`], the `concept` preset [`model::concept_lines`]), `ownpriority` as the name of the asking sender's own command in
//! `currentpresence`, colour values above 100 clamped, the too-old hub answering `currentpresence` with
//! plain text, unusable requests answered 200 with plain text (the manual defines only 200, 401 and 404).

mod control;
mod http;
mod lenient;
pub mod model;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::task::JoinHandle;

/// Command-line options. Every flag starts with `--hub-` and the argument group has its own id, so that
/// `demo` can take the myApps simulator's options beside them (clap names a flattened group after the
/// struct, and both are called `Options`).
#[derive(clap::Args, Clone)]
#[group(id = "kuandohub-options")]
pub struct Options {
    /// TCP port (0 = pick a free one; the URL is printed).
    #[arg(long = "hub-port", default_value_t = 8989)]
    pub hub_port: u16,
    /// The loopback address to listen on. Every PC runs its own kuandoHUB on `localhost`; a second hub on
    /// another loopback address (127.0.0.2, …), with a browser whose `localhost` resolves there
    /// (Chromium's `--host-resolver-rules`), plays a second PC of the same user. Loopback only: the
    /// simulator never serves the network.
    #[arg(long = "hub-host", default_value_t = Ipv4Addr::LOCALHOST, value_name = "IP")]
    pub hub_host: Ipv4Addr,
    /// The hub's access token (`http_token` in the kuandoHUB settings).
    #[arg(long = "hub-token", value_name = "TOKEN")]
    pub hub_token: Option<String>,
    /// Check the token on every request, as the real hub does for remote requests. Without it, requests
    /// need no token, as on the real hub from this PC (loopback).
    #[arg(long = "hub-require-token", requires = "hub_token")]
    pub hub_require_token: bool,
    /// Number of connected Busylights (0 = kuandoHUB innovaphone Edition, which has no lamp).
    #[arg(long = "hub-devices", default_value_t = 1, value_name = "N")]
    pub hub_devices: usize,
    /// Behave like a hub too old for `currentpresence` (it answers with plain text, not JSON).
    #[arg(long = "hub-too-old")]
    pub hub_too_old: bool,
    /// What the too-old hub answers to `currentpresence`: a plain text, `html` (an HTML page) or `empty`
    /// (an empty 200). No source shows what an old hub answers.
    #[arg(long = "hub-too-old-answer", default_value = model::DEFAULT_TOO_OLD_ANSWER, value_name = "TEXT")]
    pub hub_too_old_answer: String,
    /// The priority list at start: `fresh` (a factory-new hub: kuando TIMER and the manual source only;
    /// a sender gets a line when it sends `CreateInitialPriority`) or `concept` (the concept's recommended
    /// ordering, as an administrator sets it up). Default: `fresh`.
    #[arg(long = "hub-priorities", value_name = "PRESET")]
    pub hub_priorities: Option<model::Preset>,
    /// The name the hub reports for its manual presence source: Plenom's screens say "Manual Controls",
    /// the manual's text "Manual Changer" (once "Manuel Changer").
    #[arg(long = "hub-manual-name", default_value = model::MANUAL_CHANGER, value_name = "NAME")]
    pub hub_manual_name: String,
    /// Without a lamp, answer lamp commands and `currentpresence` with the text `NO_DEVICE` (as the macOS
    /// Busylight HTTP server does) instead of 404.
    #[arg(long = "hub-no-device-text")]
    pub hub_no_device_text: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            hub_port: 8989,
            hub_host: Ipv4Addr::LOCALHOST,
            hub_token: None,
            hub_require_token: false,
            hub_devices: 1,
            hub_too_old: false,
            hub_too_old_answer: model::DEFAULT_TOO_OLD_ANSWER.into(),
            hub_priorities: None,
            hub_manual_name: model::MANUAL_CHANGER.into(),
            hub_no_device_text: false,
        }
    }
}

/// Written by hand so that the token never lands in a log line or error message.
impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("hub_port", &self.hub_port)
            .field("hub_host", &self.hub_host)
            .field("hub_token", &self.hub_token.as_ref().map(|_| "***"))
            .field("hub_require_token", &self.hub_require_token)
            .field("hub_devices", &self.hub_devices)
            .field("hub_too_old", &self.hub_too_old)
            .field("hub_too_old_answer", &self.hub_too_old_answer)
            .field("hub_priorities", &self.hub_priorities)
            .field("hub_manual_name", &self.hub_manual_name)
            .field("hub_no_device_text", &self.hub_no_device_text)
            .finish()
    }
}

/// The shared state of one simulated hub.
#[derive(Debug)]
pub struct Hub {
    state: Mutex<model::State>,
}

impl Hub {
    fn new(o: &Options) -> Hub {
        Hub {
            state: Mutex::new(model::State::new(o)),
        }
    }

    /// The state is never left half-changed by a panic, so a poisoned lock is still usable.
    fn lock(&self) -> MutexGuard<'_, model::State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A handle to a running hub's state, for tests and the demo harness. It does what `/_sim/` does over HTTP.
#[derive(Debug, Clone)]
pub struct HubHandle(Arc<Hub>);

impl HubHandle {
    /// The whole state, as `GET /_sim/state` returns it.
    pub fn state(&self) -> Value {
        self.0.lock().to_json(None)
    }

    /// Sets or clears a source, as `POST /_sim/source`.
    pub fn set_source(&self, v: &Value) -> Result<(), String> {
        self.0.lock().set_source(v)
    }

    /// Injects a fault, as `POST /_sim/fault`.
    pub fn set_fault(&self, v: &Value) -> Result<(), String> {
        let f = model::Fault::from_json(v)?;
        let mut s = self.0.lock();
        s.fault = f;
        s.seq += 1;
        Ok(())
    }

    /// Sets the number of connected lamps (0..=8), as `POST /_sim/devices`.
    pub fn set_devices(&self, n: usize) {
        self.0.lock().set_devices(n);
    }

    /// Changes `too_old`, `token`, `require_token`, as `POST /_sim/settings`.
    pub fn set_settings(&self, v: &Value) -> Result<(), String> {
        control::apply_settings(&mut self.0.lock(), v)
    }

    /// Replaces the priority list, as `POST /_sim/priorities`.
    pub fn set_priorities(&self, v: &Value) -> Result<(), String> {
        self.0.lock().set_lines(v)
    }

    /// Back to the start state, as `POST /_sim/reset`.
    pub fn reset(&self) {
        self.0.lock().reset();
    }
}

/// A hub simulator serving in the background. Dropping it stops it.
#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    pub hub: HubHandle,
    task: Option<JoinHandle<()>>,
}

impl Running {
    /// `http://IP:PORT/`, the base URL a connector is configured with.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops serving; open connections are dropped.
    pub fn shutdown(mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }

    /// Serves until the server task ends (it only ends when aborted).
    pub async fn wait(mut self) -> Result<(), String> {
        match self.task.take() {
            Some(t) => t
                .await
                .map_err(|e| format!("kuandoHUB simulator stopped: {e}")),
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// Starts a hub simulator on its loopback address in the background.
pub async fn spawn(o: Options) -> Result<Running, String> {
    if o.hub_require_token && o.hub_token.as_deref().is_none_or(str::is_empty) {
        return Err("--hub-require-token needs --hub-token".into());
    }
    if !o.hub_host.is_loopback() {
        return Err(format!(
            "--hub-host {}: the simulator listens on loopback addresses only (127.x.x.x)",
            o.hub_host
        ));
    }
    let listener = tokio::net::TcpListener::bind((o.hub_host, o.hub_port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", o.hub_host, o.hub_port))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    let hub = Arc::new(Hub::new(&o));
    let router = control::router(hub.clone());
    let task = tokio::spawn(http::serve(listener, hub.clone(), router));
    Ok(Running {
        addr,
        hub: HubHandle(hub),
        task: Some(task),
    })
}

/// `kuando-sim hub`: serves until killed.
pub async fn run(o: Options) -> Result<(), String> {
    let running = spawn(o).await?;
    let addr = running.addr;
    println!("kuandoHUB simulator: http://{addr}/  (lamp page: http://{addr}/_sim/)");
    running.wait().await
}
