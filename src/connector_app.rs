//! The hidden app (`innovaphone-kuando`) as a sans-IO model around the engine: what it tells myApps at
//! start, what it makes of launcher messages and app-service messages, and how its engine's actions travel.
//! The driver (`web::connector_main`) only moves texts and carries out [`ConnectorAction`]s.

use crate::fifo::Fifo;
use crate::health::HealthReporter;

use crate::engine::{self, Connector, HubOutcome, RequestId};
use crate::hub::{HubRequest, Method};
use crate::license::{LicenseRules, Verdict};
use crate::myapps::domain::PhoneCalls as PhoneCallsProvider;
use crate::myapps::session::SessionEvent;
use crate::myapps::{self as ma, launcher, LauncherMsg, LoginMsg, StartParams};
use crate::proto::{self, License, Request, Response};
use crate::status::{StatusApi, API_STATUS};
use crate::trace::{self, App};

/// What the driver must do.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectorAction {
    /// `postMessage` this text to myApps.
    PostToParent(String),
    /// Hand this `Login` to the app websocket session.
    Login(LoginMsg),
    /// Send this request to the app service with `src` (its result comes back with it); report a failed send
    /// with [`ConnectorApp::handle_send_failed`].
    Service {
        src: Option<String>,
        request: Request,
    },
    /// Send this hub request, abort it after `timeout_ms`, hand the outcome back with `id`.
    Hub {
        id: RequestId,
        request: HubRequest,
        timeout_ms: u64,
    },
    /// The page is going away: send this POST with `navigator.sendBeacon`, the one request a browser still
    /// delivers after the page is gone (no answer comes back).
    Beacon(HubRequest),
    /// A complete trace line (prefixed, redacted).
    Trace(String),
}

/// The hidden app.
#[derive(Debug)]
pub struct ConnectorApp {
    engine: Connector,
    /// The own user's SIP name, once myApps told (the `@client` model); presence is subscribed once per user.
    own_sip: Option<String>,
    unloading: bool,
    actions: Fifo<ConnectorAction>,
    /// The status API it provides to the config app.
    status: StatusApi,
    /// The latest time an input brought (for what `poll_action` publishes).
    now: u64,
    /// The PBX app object's name (`start.name`): only its `Login` tells this app's license flag.
    obj_name: String,
    license: LicenseRules,
    /// The `com.innovaphone.phone` providers of the last `ApiUpdate`: one that vanishes loses its calls.
    phone_providers: Vec<String>,
    /// `PrepareReload` is being answered (see [`ConnectorApp::handle_prepare_reload`]).
    reload: Option<Reload>,
    /// The health reports for the administrator's fleet view.
    health: HealthReporter,
}

/// The `src` of a `SetPresence` the engine sent as request `id`: its result is matched by it.
const PRESENCE_SRC: &str = "p";

fn presence_src(id: RequestId) -> String {
    format!("{PRESENCE_SRC}{}", id.0)
}

fn presence_id(src: Option<&str>) -> Option<RequestId> {
    let n = src?.strip_prefix(PRESENCE_SRC)?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok().map(RequestId)
}

/// How long `PrepareReloadComplete` may wait for the service to confirm the presence given back. myApps
/// reloads the app after the answer; the release requests are out by then, only their answers are awaited.
pub const RELOAD_WAIT_MS: u64 = 2_000;

#[derive(Debug, Clone, Copy)]
struct Reload {
    deadline: u64,
    /// A presence restore went to the service and its answer is awaited.
    awaiting: bool,
    answered: bool,
}

impl ConnectorApp {
    /// Starts: the start-up trace, then `Alive`, the two APIs it consumes and the one it provides.
    pub fn new(start: &StartParams) -> ConnectorApp {
        let mut app = ConnectorApp {
            engine: Connector::new(),
            own_sip: None,
            unloading: false,
            actions: Fifo::new(),
            status: StatusApi::default(),
            now: 0,
            obj_name: start.name.clone(),
            license: LicenseRules::new(),
            phone_providers: Vec::new(),
            reload: None,
            health: HealthReporter::default(),
        };
        let ws = start.ws_url().unwrap_or_default();
        app.trace(&format!(
            "start.url={ws} start.originalUrl={}",
            start.original_url
        ));
        if ws.is_empty() {
            app.trace("no start url: not running inside myApps");
        }
        for text in [
            launcher::alive(),
            launcher::consume_api(ma::API_CLIENT),
            launcher::consume_api(ma::API_PHONE),
            launcher::register_api(ma::API_PHONEINFO),
            launcher::register_api(API_STATUS),
        ] {
            app.actions.push_back(ConnectorAction::PostToParent(text));
        }
        app
    }

    /// The driver's facts for the health reports: the client's id kept in the browser profile (random, made
    /// by the driver once) and the browser's user agent.
    pub fn handle_identity(&mut self, client: &str, user_agent: &str) {
        self.health.set_identity(client, user_agent);
    }

    /// The status API's side, for tests.
    pub fn status_api(&self) -> &StatusApi {
        &self.status
    }

    fn tick(&mut self, now_ms: u64) {
        self.now = self.now.max(now_ms);
    }

    /// The engine, for its status.
    pub fn engine(&self) -> &Connector {
        &self.engine
    }

    fn trace(&mut self, text: &str) {
        let line = trace::line(App::Connector, text, &[]);
        self.engine.keep_trace(&line);
        self.actions.push_back(ConnectorAction::Trace(line));
    }

    /// A message from myApps (the launcher). Unusable messages are ignored: myApps also sends messages meant
    /// for other apps' concerns.
    pub fn handle_launcher(&mut self, now_ms: u64, text: &str) {
        self.tick(now_ms);
        match LauncherMsg::parse(text) {
            Ok(LauncherMsg::Login(login)) => {
                // The session logs in only with the Login for our own app object; so does the flag.
                if login.pbx_obj == self.obj_name {
                    self.license.handle_login(login.unlicensed());
                }
                self.actions.push_back(ConnectorAction::Login(login));
            }
            Ok(LauncherMsg::ApiUpdate(update)) => {
                if let Some(user) = ma::own_user(&update) {
                    if !user.sip.is_empty() && self.own_sip.as_deref() != Some(user.sip.as_str()) {
                        let req = ma::subscribe_presence(&user.sip, None);
                        self.actions.push_back(ConnectorAction::PostToParent(req));
                        self.own_sip = Some(user.sip);
                    }
                }
                if update.apis.get(ma::API_PHONE).is_some() {
                    let now: Vec<PhoneCallsProvider> = ma::phone_calls(&update);
                    // A phone app that is gone from the phone API (closed, crashed) loses its calls.
                    for old in std::mem::take(&mut self.phone_providers) {
                        if !now.iter().any(|p| p.provider == old) {
                            self.engine.handle_phone_calls(now_ms, &old, Vec::new());
                        }
                    }
                    for p in now {
                        self.phone_providers.push(p.provider.clone());
                        self.engine.handle_phone_calls(now_ms, &p.provider, p.calls);
                    }
                }
            }
            Ok(LauncherMsg::ApiRequest(req)) if req.api == API_STATUS => {
                // The user clears the missed-call notification in the config app.
                if req.mt() == crate::status::CLEAR_MISSED_CALL {
                    self.engine.handle_clear_missed_call(now_ms);
                }
                for t in self.status.handle_request(self.now, &req, &self.engine) {
                    self.actions.push_back(ConnectorAction::PostToParent(t));
                }
            }
            Ok(LauncherMsg::ApiConsumerClosed { api, consumer }) => {
                // A phone app that reported calls through phoneinfo went away: its calls with it.
                if api == ma::API_PHONEINFO {
                    self.engine
                        .handle_phone_calls(now_ms, &consumer, Vec::new());
                } else if api == API_STATUS {
                    // The config app that watched the status is gone: its watch ends.
                    self.status.consumer_closed(&consumer);
                }
            }
            Ok(LauncherMsg::PrepareReload) => self.handle_prepare_reload(now_ms),
            Ok(LauncherMsg::ApiRequest(req)) => {
                if let Some(ev) = ma::call_event(&req) {
                    self.engine.handle_call(now_ms, ev);
                }
            }
            Ok(LauncherMsg::ApiResult(res)) => {
                let presence = self
                    .own_sip
                    .as_deref()
                    .and_then(|sip| ma::presence_update(&res, sip));
                if let Some(p) = presence {
                    self.engine.handle_own_presence(now_ms, p);
                }
            }
            Ok(_) | Err(_) => {}
        }
    }

    /// What the app websocket session reported.
    pub fn handle_session(&mut self, now_ms: u64, ev: SessionEvent) {
        self.tick(now_ms);
        match ev {
            SessionEvent::Connected => {
                self.trace("Instance Connected");
                self.engine.handle_service(now_ms, true);
                self.health.on_connected(true);
                self.service(Request::GetLicense);
                self.service(Request::GetConfig);
            }
            SessionEvent::Disconnected => {
                self.license.handle_disconnected();
                self.health.on_connected(false);
                self.engine.handle_service(now_ms, false);
            }
            SessionEvent::Unlicensed => self.engine.handle_license(now_ms, License::None),
            SessionEvent::LoginFailed(why) => self.trace(&format!("login failed: {why}")),
            SessionEvent::Message(t) => match proto::parse_response(&t) {
                Ok(env) => self.service_message(now_ms, env.src.as_deref(), env.msg),
                Err(e) => self.trace(&e),
            },
        }
    }

    /// A request to the service whose result needs no pairing.
    fn service(&mut self, request: Request) {
        self.actions
            .push_back(ConnectorAction::Service { src: None, request });
    }

    fn service_message(&mut self, now_ms: u64, src: Option<&str>, msg: Response) {
        match msg {
            Response::GetConfigResult { config, error } => {
                if let Some(e) = &error {
                    self.trace(&format!(
                        "settings not loaded ({}): using the defaults",
                        e.code.as_str()
                    ));
                }
                self.engine
                    .handle_config(now_ms, config.unwrap_or_default());
            }
            Response::ConfigChanged { config } => self.engine.handle_config(now_ms, config),
            Response::GetLicenseResult { license, error } => {
                // The rules of `license`: a login without `info.unlicensed` is licensed; a flagged one
                // only if the service's check says so; a check that cannot be made is retried quietly.
                let was = self.license.verdict();
                match self.license.handle_result(now_ms, license, error.as_ref()) {
                    Verdict::Licensed(l) => self.engine.handle_license(now_ms, l),
                    Verdict::Unlicensed => self.engine.handle_license(now_ms, License::None),
                    Verdict::Unchecked(_) => {
                        // One line for the trace, not one per retry.
                        if !matches!(was, Verdict::Unchecked(_)) {
                            let code = error.as_ref().map_or("", |e| e.code.as_str());
                            self.trace(&format!(
                                "license could not be checked ({code}): not started, retrying"
                            ));
                        }
                    }
                    Verdict::Pending => {}
                }
            }
            Response::SetPresenceResult { error } => {
                if let Some(r) = &mut self.reload {
                    r.awaiting = false;
                }
                // Matched by src: a result without one (an older service) or for a request given up on pairs
                // with nothing.
                if let Some(id) = presence_id(src) {
                    self.engine.handle_presence_result(
                        now_ms,
                        id,
                        error.map_or(Ok(()), |e| Err(format!("{}: {}", e.code.as_str(), e.text))),
                    )
                }
            }
            Response::SetConfigResult { .. } => {}
            Response::ReportHealthResult { off, .. } => {
                if off {
                    self.health.on_off();
                }
            }
            Response::Error { error } => {
                self.trace(&format!("app service error: {}", error.code.as_str()))
            }
        }
    }

    /// A request (sent with `src`) could not be sent to the service (not connected).
    pub fn handle_send_failed(&mut self, now_ms: u64, src: Option<&str>, why: &str) {
        self.trace(&format!("not sent to the app service: {why}"));
        if let Some(id) = presence_id(src) {
            self.engine
                .handle_presence_result(now_ms, id, Err(why.to_string()));
        }
    }

    pub fn handle_hub_result(
        &mut self,
        now_ms: u64,
        id: RequestId,
        outcome: HubOutcome,
        jitter: u32,
    ) {
        self.tick(now_ms);
        let engine = &self.engine;
        if let Some(kind) = engine.request_kind(id) {
            self.status
                .on_outcome(now_ms, kind, &outcome, |t| engine.redact(t));
        }
        self.engine.handle_hub_result(now_ms, id, outcome, jitter);
    }

    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.tick(now_ms);
        if let Some(r) = &mut self.reload {
            if now_ms >= r.deadline {
                r.awaiting = false;
            }
        }
        if self.license.poll_retry(now_ms) {
            self.service(Request::GetLicense);
        }
        self.engine.handle_timeout(now_ms);
    }

    /// The browser's Local Network Access permission (`PermissionStatus.state`, or `unknown`).
    pub fn handle_local_network(&mut self, now_ms: u64, state: &str) {
        self.engine
            .handle_local_network(now_ms, crate::lna::Permission::parse(state));
    }

    /// myApps will close and reload the app: give back the lamp and any presence set (as on unload: hub POSTs
    /// as beacons, which the browser delivers even after the page is gone), then answer
    /// `PrepareReloadComplete` — once the service confirmed the presence given back, or after
    /// [`RELOAD_WAIT_MS`]. lib1 answers at once when an app registered nothing; this app has something to
    /// release first (lib1.htm, `requestPrepareReload`).
    pub fn handle_prepare_reload(&mut self, now_ms: u64) {
        if self.reload.is_some() {
            return;
        }
        self.reload = Some(Reload {
            deadline: now_ms.saturating_add(RELOAD_WAIT_MS),
            awaiting: false,
            answered: false,
        });
        self.handle_shutdown(now_ms);
    }

    /// The page is being unloaded: `Logout` and presence restore go out now, hub POSTs as beacons.
    pub fn handle_shutdown(&mut self, now_ms: u64) {
        self.tick(now_ms);
        if !self.unloading {
            self.unloading = true;
            self.engine.handle_shutdown(now_ms);
        }
    }

    pub fn poll_action(&mut self) -> Option<ConnectorAction> {
        loop {
            if let Some(a) = self.actions.pop_front() {
                return Some(a);
            }
            let Some(next) = self.engine.poll_action() else {
                if let Some(done) = self.reload_complete() {
                    return Some(done);
                }
                if !self.unloading {
                    if let Some((client, health)) = self.health.poll(self.now) {
                        return Some(ConnectorAction::Service {
                            src: None,
                            request: Request::ReportHealth { client, health },
                        });
                    }
                }
                // Quiet when nobody looks: only with a watcher, only what changed.
                let model = self.status.poll_publish(self.now, &self.engine);
                return model.map(ConnectorAction::PostToParent);
            };
            let a = match next {
                engine::EngineAction::Hub {
                    id,
                    request,
                    timeout_ms,
                } => match (self.unloading, request.method) {
                    // `sendBeacon` sends no header: a token goes in this last request's URL.
                    (true, Method::Post) => ConnectorAction::Beacon(request.token_in_url()),
                    // A GET after unload would get no answer that anybody reads.
                    (true, Method::Get) => continue,
                    (false, _) => ConnectorAction::Hub {
                        id,
                        request,
                        timeout_ms,
                    },
                },
                engine::EngineAction::SetPresence {
                    id,
                    presence,
                    guard,
                } => {
                    if let Some(r) = &mut self.reload {
                        r.awaiting = true;
                    }
                    ConnectorAction::Service {
                        src: Some(presence_src(id)),
                        request: Request::SetPresence {
                            activity: presence.activity,
                            note: presence.note,
                            guard: Some(guard),
                        },
                    }
                }
                engine::EngineAction::Trace(line) => ConnectorAction::Trace(line),
                engine::EngineAction::Status(st) => {
                    self.health.on_status(self.now, &st);
                    self.status.on_status(self.now, st);
                    continue;
                }
            };
            return Some(a);
        }
    }

    /// `PrepareReloadComplete`, once, when everything to release is out and nothing is awaited any more.
    fn reload_complete(&mut self) -> Option<ConnectorAction> {
        let r = self.reload.as_mut()?;
        if r.answered || r.awaiting {
            return None;
        }
        r.answered = true;
        Some(ConnectorAction::PostToParent(
            launcher::prepare_reload_complete(),
        ))
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        let reload = self
            .reload
            .filter(|r| r.awaiting && !r.answered)
            .map(|r| r.deadline);
        crate::earliest(
            crate::earliest(self.engine.poll_timeout(), self.license.poll_timeout()),
            crate::earliest(reload, self.health.poll_timeout()),
        )
    }

    /// What is known about the license.
    pub fn license(&self) -> Verdict {
        self.license.verdict()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::proto::{Envelope, ErrorCode, PresenceGuard, ServiceError};
    use crate::state::Presence;

    fn start() -> ConnectorApp {
        ConnectorApp::new(&StartParams::parse(
            "?name=kuando&url=https%3A%2F%2Fap%2Fdom%2Finst%2Finnovaphone-kuando&originalUrl=x",
        ))
    }

    fn drain(app: &mut ConnectorApp) -> Vec<ConnectorAction> {
        std::iter::from_fn(|| app.poll_action()).collect()
    }

    fn posted(actions: &[ConnectorAction]) -> Vec<String> {
        actions
            .iter()
            .filter_map(|a| match a {
                ConnectorAction::PostToParent(t) => Some(t.clone()),
                _ => None,
            })
            .collect()
    }

    const UPDATE: &str = r#"{"mt":"ApiUpdate","apis":{"com.innovaphone.client":{"@client":{"model":{"user":{"sip":"alice","guid":"g","dn":"Alice"}}}},"com.innovaphone.phone":{"softphone":{"model":{"calls":[{"id":1,"dir":"i","state":"Alerting"}]}}}}}"#;

    #[test]
    fn start_announces_itself_and_its_apis_and_traces_the_start_url() {
        let mut app = start();
        let a = drain(&mut app);
        assert!(
            matches!(&a[0], ConnectorAction::Trace(t) if t == "kuando-log: start.url=wss://ap/dom/inst start.originalUrl=x")
        );
        assert_eq!(
            posted(&a),
            [
                launcher::alive(),
                launcher::consume_api(ma::API_CLIENT),
                launcher::consume_api(ma::API_PHONE),
                launcher::register_api(ma::API_PHONEINFO),
                launcher::register_api(API_STATUS),
            ]
        );
    }

    #[test]
    fn presence_is_subscribed_once_per_user_and_calls_reach_the_engine() {
        let mut app = start();
        drain(&mut app);
        app.handle_launcher(0, UPDATE);
        let a = drain(&mut app);
        assert_eq!(posted(&a), [ma::subscribe_presence("alice", None)]);
        assert_eq!(app.engine().status().calls, 1);
        app.handle_launcher(1, UPDATE);
        assert!(posted(&drain(&mut app)).is_empty(), "subscribed again");
        // Noise from myApps is ignored.
        app.handle_launcher(2, "not json");
        app.handle_launcher(2, r#"{"mt":"SomethingElse"}"#);
        assert!(drain(&mut app).is_empty());
    }

    #[test]
    fn a_login_goes_to_the_session() {
        let mut app = start();
        drain(&mut app);
        app.handle_launcher(
            0,
            r#"{"mt":"Login","src":"1","app":"a","sip":"alice","pbxObj":"kuando","digest":"d"}"#,
        );
        assert!(matches!(&drain(&mut app)[..], [ConnectorAction::Login(l)] if l.sip == "alice"));
    }

    const LOGIN: &str = r#"{"mt":"Login","src":"1","app":"innovaphone-kuando","sip":"alice","pbxObj":"kuando","info":{"appobj":"kuando"},"digest":"d"}"#;
    const LOGIN_FLAGGED: &str = r#"{"mt":"Login","src":"1","app":"innovaphone-kuando","sip":"alice","pbxObj":"kuando","info":{"appobj":"kuando","unlicensed":true},"digest":"d"}"#;

    fn license_result(
        app: &mut ConnectorApp,
        now: u64,
        license: Option<License>,
        error: Option<ErrorCode>,
    ) {
        let error = error.map(|code| ServiceError {
            code,
            text: "x".into(),
            fields: vec![],
        });
        let msg = Envelope::new(None, Response::GetLicenseResult { license, error }).to_json();
        app.handle_session(now, SessionEvent::Message(msg));
    }

    fn traces(actions: &[ConnectorAction]) -> Vec<String> {
        actions
            .iter()
            .filter_map(|a| match a {
                ConnectorAction::Trace(t) => Some(t.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_flagged_login_whose_check_cannot_be_made_is_not_licensed_and_retries_quietly() {
        let mut app = start();
        drain(&mut app);
        app.handle_launcher(0, LOGIN_FLAGGED);
        app.handle_session(0, SessionEvent::Connected);
        drain(&mut app);
        license_result(&mut app, 0, None, Some(ErrorCode::NoAdmin));
        let a = drain(&mut app);
        assert_eq!(
            traces(&a),
            ["kuando-log: license could not be checked (noAdmin): not started, retrying"]
        );
        assert_eq!(
            app.engine().status().license,
            None,
            "not treated as licensed"
        );
        assert!(!app.engine().status().running);
        assert_eq!(
            app.license(),
            Verdict::Unchecked(crate::license::Cause::NoAdmin)
        );
        // Quietly again, with back-off: no trace for the retry or its failure.
        let at = app.poll_timeout().unwrap();
        assert_eq!(at, crate::license::RETRY_MIN_MS);
        app.handle_timeout(at);
        let a = drain(&mut app);
        assert!(
            a.contains(&ConnectorAction::Service {
                src: None,
                request: Request::GetLicense
            }),
            "{a:?}"
        );
        license_result(&mut app, at, None, Some(ErrorCode::Pbx));
        assert!(traces(&drain(&mut app)).is_empty());
        // The administrator fixes the app object: the next retry finds the with-Busylight license.
        let at = app.poll_timeout().unwrap();
        app.handle_timeout(at);
        drain(&mut app);
        license_result(&mut app, at, Some(License::WithBusylight), None);
        assert_eq!(app.engine().status().license, Some(License::WithBusylight));
    }

    #[test]
    fn a_flagged_login_the_service_finds_unlicensed_stops_with_the_concepts_trace() {
        let mut app = start();
        drain(&mut app);
        app.handle_launcher(0, LOGIN_FLAGGED);
        app.handle_session(0, SessionEvent::Connected);
        drain(&mut app);
        license_result(&mut app, 0, Some(License::None), None);
        let a = drain(&mut app);
        assert!(
            traces(&a).contains(&"kuando-log: no app license, stop service".to_string()),
            "{a:?}"
        );
        assert_eq!(app.engine().status().license, Some(License::None));
        assert_eq!(app.poll_timeout(), None, "nothing retried, nothing polled");
    }

    #[test]
    fn only_the_login_for_our_app_object_sets_the_flag() {
        let mut app = start();
        drain(&mut app);
        app.handle_launcher(0, LOGIN);
        app.handle_launcher(
            0,
            &LOGIN_FLAGGED.replace("\"pbxObj\":\"kuando\"", "\"pbxObj\":\"other\""),
        );
        app.handle_session(0, SessionEvent::Connected);
        drain(&mut app);
        license_result(&mut app, 0, None, Some(ErrorCode::Pbx));
        assert_eq!(app.engine().status().license, Some(License::Connector));
    }

    #[test]
    fn once_connected_it_asks_for_license_and_settings_and_falls_back_safely() {
        let mut app = start();
        drain(&mut app);
        // A login without info.unlicensed: the PBX found App(innovaphone-kuando).
        app.handle_launcher(0, LOGIN);
        app.handle_session(0, SessionEvent::Connected);
        let a = drain(&mut app);
        assert!(a.contains(&ConnectorAction::Service {
            src: None,
            request: Request::GetLicense
        }));
        assert!(a.contains(&ConnectorAction::Service {
            src: None,
            request: Request::GetConfig
        }));
        assert!(a.contains(&ConnectorAction::Trace(
            "kuando-log: Instance Connected".into()
        )));
        let err = ServiceError {
            code: ErrorCode::Database,
            text: "db down".into(),
            fields: vec![],
        };
        let msg = |r: Response| Envelope::new(Some("1".into()), r).to_json();
        app.handle_session(
            0,
            SessionEvent::Message(msg(Response::GetLicenseResult {
                license: None,
                error: Some(err.clone()),
            })),
        );
        app.handle_session(
            0,
            SessionEvent::Message(msg(Response::GetConfigResult {
                config: None,
                error: Some(err),
            })),
        );
        let status = app.engine().status();
        assert_eq!(status.license, Some(License::Connector));
        assert_eq!(
            status.hub_url.as_deref(),
            Some(Config::default().hub_url.as_str())
        );
    }

    #[test]
    fn unlicensed_stops_the_engine() {
        let mut app = start();
        drain(&mut app);
        app.handle_session(0, SessionEvent::Unlicensed);
        assert_eq!(app.engine().status().license, Some(License::None));
        assert!(!app.engine().status().running);
    }

    fn calls(app: &ConnectorApp) -> usize {
        app.engine().status().calls
    }

    #[test]
    fn api_consumer_closed_drops_that_phone_apps_calls_only() {
        let mut app = start();
        drain(&mut app);
        app.handle_launcher(0, UPDATE);
        let call = |consumer: &str, mt: &str| {
            format!(
                r#"{{"mt":"ApiRequest","api":"com.innovaphone.phoneinfo","consumer":"{consumer}","src":"1","msg":{{"mt":"{mt}","id":7}}}}"#
            )
        };
        app.handle_launcher(1, &call("phone2", "CallAdded"));
        assert_eq!(calls(&app), 2);
        // Another API's consumer closing changes nothing.
        app.handle_launcher(
            2,
            r#"{"mt":"ApiConsumerClosed","api":"com.innovaphone.other","consumer":"phone2"}"#,
        );
        assert_eq!(calls(&app), 2);
        app.handle_launcher(
            3,
            r#"{"mt":"ApiConsumerClosed","api":"com.innovaphone.phoneinfo","consumer":"phone2"}"#,
        );
        assert_eq!(
            calls(&app),
            1,
            "phone2's call is gone, the softphone's stays"
        );
        app.handle_launcher(4, r#"{"mt":"ApiConsumerClosed","api":"com.innovaphone.phoneinfo","consumer":"softphone"}"#);
        assert_eq!(calls(&app), 0);
    }

    #[test]
    fn a_phone_provider_that_vanishes_from_the_phone_api_loses_its_calls() {
        let mut app = start();
        drain(&mut app);
        app.handle_launcher(0, UPDATE);
        assert_eq!(calls(&app), 1);
        // An update that does not mention the phone API says nothing about it.
        app.handle_launcher(
            1,
            r#"{"mt":"ApiUpdate","apis":{"com.innovaphone.client":{}}}"#,
        );
        assert_eq!(calls(&app), 1);
        app.handle_launcher(
            2,
            r#"{"mt":"ApiUpdate","apis":{"com.innovaphone.phone":{}}}"#,
        );
        assert_eq!(calls(&app), 0);
    }

    #[test]
    fn prepare_reload_with_nothing_held_is_answered_at_once_and_once() {
        let mut app = start();
        drain(&mut app);
        app.handle_launcher(0, r#"{"mt":"PrepareReload"}"#);
        let a = posted(&drain(&mut app));
        assert_eq!(a, [launcher::prepare_reload_complete()]);
        app.handle_launcher(1, r#"{"mt":"PrepareReload"}"#);
        assert!(posted(&drain(&mut app)).is_empty());
    }

    /// Licensed, default settings, and the hub's probe answered: the connector runs against the hub. Returns the
    /// time reached; the actions so far are drained.
    fn running_against_the_hub(app: &mut ConnectorApp) -> u64 {
        run_against_the_hub(app, QUIET_HUB).0
    }

    /// The hub's `currentpresence` while nothing runs, and while MS Teams is in a call.
    const QUIET_HUB: &str = r#"{"runningcommand":null}"#;
    const TEAMS_CALL: &str = r#"{"runningcommand":{"sender":"MS Teams","eventtype":"Light","eventname":"On-The-Phone"}}"#;

    /// [`running_against_the_hub`] with the hub answering `currentpresence` with `current`: the time reached,
    /// and the actions other than hub requests.
    fn run_against_the_hub(app: &mut ConnectorApp, current: &str) -> (u64, Vec<ConnectorAction>) {
        drain(app);
        app.handle_session(0, SessionEvent::Connected);
        let msg = |r: Response| Envelope::new(None, r).to_json();
        app.handle_session(
            0,
            SessionEvent::Message(msg(Response::GetLicenseResult {
                license: Some(License::Connector),
                error: None,
            })),
        );
        app.handle_session(
            0,
            SessionEvent::Message(msg(Response::GetConfigResult {
                config: Some(Config::default()),
                error: None,
            })),
        );
        // Let the engine reach the hub: answer its probe.
        let mut now = 0;
        let mut connected = false;
        let mut others = Vec::new();
        for _ in 0..20 {
            for a in drain(app) {
                if let ConnectorAction::Hub { id, request, .. } = a {
                    let body = if request.url.contains("currentpresence") {
                        current
                    } else if request.url.contains("busylightdevices") {
                        r#"[{"ModelName":"x"}]"#
                    } else {
                        r#"{"response":"OK"}"#
                    };
                    connected = true;
                    app.handle_hub_result(
                        now,
                        id,
                        HubOutcome::Answer {
                            status: 200,
                            body: body.as_bytes().to_vec(),
                        },
                        0,
                    );
                } else {
                    others.push(a);
                }
            }
            now += 100;
            app.handle_timeout(now);
        }
        assert!(connected);
        others.extend(drain(app));
        (now, others)
    }

    /// The `SetPresence`s among `actions`.
    fn presences_set(actions: &[ConnectorAction]) -> Vec<(String, String, Option<PresenceGuard>)> {
        actions
            .iter()
            .filter_map(|a| match a {
                ConnectorAction::Service {
                    request:
                        Request::SetPresence {
                            activity,
                            note,
                            guard,
                        },
                    ..
                } => Some((activity.clone(), note.clone(), guard.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_hub_call_is_claimed_at_the_service_and_claimed_again_on_every_new_connection() {
        let mut app = start();
        drain(&mut app);
        app.handle_launcher(
            0,
            r#"{"mt":"ApiUpdate","apis":{"com.innovaphone.client":{"@client":{"model":{"user":{"sip":"alice","guid":"g","dn":"Alice"}}}}}}"#,
        );
        app.handle_launcher(
            0,
            r#"{"mt":"ApiResult","api":"com.innovaphone.client","msg":{"mt":"PresenceUpdated","sip":"alice","presence":[{"contact":"tel:","activity":"away","note":"back at 3"}]}}"#,
        );
        let (now, a) = run_against_the_hub(&mut app, TEAMS_CALL);
        let away = Presence::new("away", "back at 3");
        let claim = Some(PresenceGuard::Claim {
            restore: away.clone(),
        });
        assert_eq!(
            presences_set(&a),
            [("on-the-phone".into(), "MS Teams".into(), claim.clone())],
            "{a:?}"
        );

        // myApps shows the presence set.
        app.handle_launcher(
            now,
            r#"{"mt":"ApiResult","api":"com.innovaphone.client","msg":{"mt":"PresenceUpdated","sip":"alice","presence":[{"contact":"tel:","activity":"on-the-phone","note":"MS Teams"}]}}"#,
        );
        assert!(presences_set(&drain(&mut app)).is_empty());
        // The service connection drops: nothing is sent while it is down (the service guards the claim).
        app.handle_session(now, SessionEvent::Disconnected);
        assert!(presences_set(&drain(&mut app)).is_empty());
        // A new connection holds no claim: the call the hub still shows is claimed again, once, although the
        // PBX already shows it and the engine sends nothing of its own.
        app.handle_session(now + 1, SessionEvent::Connected);
        let a = drain(&mut app);
        assert_eq!(
            presences_set(&a),
            [("on-the-phone".into(), "MS Teams".into(), claim)],
            "{a:?}"
        );
        app.handle_timeout(now + 5_000);
        assert!(presences_set(&drain(&mut app)).is_empty(), "claimed twice");
    }

    #[test]
    fn after_unload_hub_posts_go_out_as_beacons() {
        let mut app = start();
        let now = running_against_the_hub(&mut app);
        app.handle_shutdown(now);
        let a = drain(&mut app);
        assert!(
            a.iter().any(|a| matches!(a, ConnectorAction::Beacon(r) if r.body.as_deref().is_some_and(|b| b.contains("Logout")))),
            "{a:?}"
        );
        assert!(!a.iter().any(|a| matches!(a, ConnectorAction::Hub { .. })));
    }

    #[test]
    fn prepare_reload_gives_the_lamp_back_before_it_answers() {
        let mut app = start();
        let now = running_against_the_hub(&mut app);
        app.handle_launcher(now, r#"{"mt":"PrepareReload"}"#);
        let a = drain(&mut app);
        let logout = a
            .iter()
            .position(|a| matches!(a, ConnectorAction::Beacon(r) if r.body.as_deref().is_some_and(|b| b.contains("Logout"))));
        let complete = a.iter().position(
            |a| matches!(a, ConnectorAction::PostToParent(t) if *t == launcher::prepare_reload_complete()),
        );
        assert!(
            matches!((logout, complete), (Some(l), Some(c)) if l < c),
            "{a:?}"
        );
    }
}
