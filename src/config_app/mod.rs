//! The config app (`innovaphone-kuando-config`) as a sans-IO model: what the user sees (banners, the settings
//! form with its errors, test results) and what the app must send (service requests, hub requests), from what
//! happened (service messages, hub answers, user input, time). The DOM driver only renders [`View`] and feeds
//! events back; it decides nothing.
//!
//! Hub checks run against the *saved* settings, so the banners say what the hidden app experiences; "Test
//! connection", "Test lamp" and "Test sound" use the settings as edited, so a user can try a URL or token
//! before saving it.
//!
//! One room per topic, each with its own small state: [`banners`], [`hub_check`] (the banners' check and
//! "Test connection"), [`lamp_test`], [`copy`] ("Copy diagnosis", with the report in [`diagnosis`]),
//! [`local_network`] (the browser's permission and its button), [`settings`] (the form), [`service`] (the
//! app websocket and the license), [`live`] (the status panel) and [`i18n`] (every text). This file composes
//! them: the inputs, the hub requests in flight and the [`View`].

pub mod banners;
pub mod copy;
pub mod diagnosis;
pub mod hub_check;
pub mod i18n;
pub mod lamp_test;
pub mod live;
pub mod local_network;
pub mod service;
pub mod settings;

use std::collections::{BTreeMap, VecDeque};

use crate::config::Config;
use crate::hub::{HubOutcome, HubRequest};
use crate::proto::{ErrorCode, License, Request, Response, ServiceError};
use crate::trace::{self, App};

pub use banners::Banner;
pub use copy::CopyState;
use hub_check::{HubCheck, Step};
pub use hub_check::{TestStatus, CHECK_INTERVAL_MS};
use i18n::{Lang, Text};
use lamp_test::Sequence;
pub use lamp_test::{LAMP_STEP_MS, SOUND_TEST_MS};
use live::{LiveOut, LiveStatus, StatusRow};
use local_network::LocalNetwork;
use service::Service;
pub use service::ServiceState;
use settings::Settings;
pub use settings::{loopback_ip_hint, SaveState};

/// Timeout for one hub request.
pub const HUB_TIMEOUT_MS: u32 = 3_000;

/// Buttons the user can press.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Button {
    Save,
    Defaults,
    ToggleToken,
    TestConnection,
    TestLamp,
    TestSound,
    /// Builds the diagnosis for support and copies it.
    CopyDiagnosis,
    /// "Allow access to kuandoHUB": a hub request from the user's click, so the browser can ask.
    AllowLocalNetwork,
    /// Ends the missed-call notification on the lamp (shown while there is one).
    ClearMissedCall,
}

/// Something the config app's driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigAction {
    Hub {
        id: u64,
        request: HubRequest,
        timeout_ms: u32,
    },
    Service(Request),
    /// A trace line, prefixed `kuando-config-log:` and redacted.
    Trace(String),
    /// `postMessage` this text to myApps.
    PostToParent(String),
    /// Put this report (token-free) in the clipboard, else download it; report with
    /// [`ConfigApp::handle_copied`].
    Copy(String),
    /// Read the browser's facts for the diagnosis (its clock, user agent, language) and hand them to
    /// [`ConfigApp::handle_env`] before anything else: the report waits for them.
    BrowserFacts,
}

/// Everything the driver renders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub lang: Lang,
    pub dark: bool,
    pub banners: Vec<Banner>,
    /// Settings loaded (the form is meaningful).
    pub loaded: bool,
    pub form: Config,
    /// Errors per field path (`hubUrl`, `lamp.ringing.volume`), already in the UI language.
    pub errors: BTreeMap<String, String>,
    pub token_visible: bool,
    pub dirty: bool,
    pub save: SaveState,
    pub can_save: bool,
    pub test: TestStatus,
    /// Lamp and sound tests possible (hub reachable, a lamp connected, no test running).
    pub lamp_tests: bool,
    /// The note shown when the hub has no lamp.
    pub no_lamp_note: bool,
    /// The live status panel: what the hidden app on this client sees.
    pub status: Vec<StatusRow>,
    /// The hidden app shows a missed call on the lamp: "Clear missed call" is offered.
    pub missed_call: bool,
    pub copy: CopyState,
    /// The last diagnosis report, shown for reading (and copying by hand).
    pub report: Option<String>,
    /// The hint under the hub URL when it names `127.0.0.1` (a hint, not an error; see [`loopback_ip_hint`]).
    pub hub_url_hint: bool,
    /// Show the "Allow access to kuandoHUB" button (permission `prompt`).
    pub allow_local_network: bool,
}

impl View {
    /// Whether a lamp row's `sound`/`volume` field applies: only effects that play a sound use them.
    pub fn sound_applies(&self, field: &str) -> bool {
        let slot = field
            .strip_prefix("lamp.")
            .and_then(|r| r.split_once('.'))
            .and_then(|(s, _)| {
                crate::config::LampSlot::ALL
                    .into_iter()
                    .find(|x| x.as_str() == s)
            });
        slot.is_some_and(|s| self.form.lamp.get(s).effect.has_sound())
    }
}

/// What a hub request in flight is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// The banners' check of the saved settings.
    Check(Step),
    /// "Test connection" with the edited settings.
    Test(Step),
    /// A lamp/sound test command; `last` is the final `off`.
    Lamp { last: bool },
    /// `GET /` without the token after a probe with the token header got no answer (see `hub::TokenCheck`):
    /// for the check (`true`) or the test.
    TokenCheck { check: bool },
}

/// The config app.
#[derive(Debug)]
pub struct ConfigApp {
    lang: Lang,
    dark: bool,
    service: Service,
    settings: Settings,
    hub: HubCheck,
    sequence: Sequence,
    copy: copy::CopyDiagnosis,
    lna: LocalNetwork,
    live: LiveStatus,
    /// Hub requests in flight.
    inflight: BTreeMap<u64, Purpose>,
    next_id: u64,
    actions: VecDeque<ConfigAction>,
    changed: bool,
    /// The latest time an input brought (the status panel's "for 12 s").
    now: u64,
}

impl ConfigApp {
    pub fn new(lang: Lang, dark: bool) -> Self {
        ConfigApp::with_live(lang, dark, false)
    }

    fn with_live(lang: Lang, dark: bool, outside: bool) -> Self {
        let (live, consume) = LiveStatus::new(outside);
        let mut actions = VecDeque::new();
        if !outside {
            actions.push_back(ConfigAction::PostToParent(consume));
        }
        ConfigApp {
            lang,
            dark,
            service: Service::new(),
            settings: Settings::new(),
            hub: HubCheck::new(),
            sequence: Sequence::None,
            copy: copy::CopyDiagnosis::new(),
            lna: LocalNetwork::new(),
            live,
            inflight: BTreeMap::new(),
            next_id: 1,
            actions,
            changed: true,
            now: 0,
        }
    }

    /// The app as myApps started it: language and scheme from the start parameters. Opened outside myApps
    /// (no `url` to derive the app websocket from) there is no service to reach, but the hub is still checked.
    pub fn started(start: &crate::myapps::StartParams, now_ms: u64) -> Self {
        let outside = start.ws_url().is_none_or(|u| u.is_empty());
        let mut app = ConfigApp::with_live(
            Lang::parse(&start.lang),
            start.scheme != crate::myapps::Scheme::Light,
            outside,
        );
        app.lna.pending = true;
        app.service.obj_name = Some(start.name.clone());
        if outside {
            app.trace("no start url: not running inside myApps");
            app.handle_service(now_ms, ServiceState::Down);
        }
        app
    }

    // ----- inputs -------------------------------------------------------------------------------------------

    pub fn handle_lang(&mut self, lang: Lang) {
        if self.lang != lang {
            self.lang = lang;
            self.changed = true;
        }
    }

    pub fn handle_scheme(&mut self, dark: bool) {
        if self.dark != dark {
            self.dark = dark;
            self.changed = true;
        }
    }

    /// The app websocket changed state.
    pub fn handle_service(&mut self, now_ms: u64, state: ServiceState) {
        if self.service.state == state {
            return;
        }
        self.service.state = state;
        self.changed = true;
        match state {
            ServiceState::Up => {
                self.trace("connected to the app service");
                self.actions
                    .push_back(ConfigAction::Service(Request::GetLicense));
                self.actions
                    .push_back(ConfigAction::Service(Request::GetConfig));
            }
            ServiceState::Unlicensed => {
                self.service.license = Some(License::None);
                self.trace("no app license");
                self.stop_checks();
            }
            ServiceState::Down => {
                if self.settings.save == SaveState::Saving {
                    self.settings.save =
                        SaveState::Failed(Text::BannerService.get(self.lang).to_string());
                }
                // Without the service the saved settings are unknown; check the hub with what we have (the
                // defaults on a first start) so the user still learns whether the hub is there.
                if self.hub.next_at.is_none() && !self.hub.running {
                    self.hub.next_at = Some(now_ms);
                }
            }
            ServiceState::Connecting => {}
        }
    }

    /// What the app websocket session reported: its state, or a message from the service.
    pub fn handle_session(&mut self, now_ms: u64, ev: crate::myapps::SessionEvent) {
        self.tick(now_ms);
        use crate::myapps::SessionEvent;
        match ev {
            SessionEvent::Connected => self.handle_service(now_ms, ServiceState::Up),
            SessionEvent::Disconnected => self.handle_service(now_ms, ServiceState::Down),
            SessionEvent::Unlicensed => self.handle_service(now_ms, ServiceState::Unlicensed),
            SessionEvent::LoginFailed(why) => {
                self.trace(&format!("login failed: {why}"));
                self.handle_service(now_ms, ServiceState::Down);
            }
            SessionEvent::Message(t) => match crate::proto::parse_response(&t) {
                Ok(env) => self.handle_response(now_ms, env.msg),
                Err(e) => self.trace(&e),
            },
        }
    }

    /// The `Login` myApps handed over (the driver also gives it to the session): its `info.unlicensed`.
    pub fn handle_login(&mut self, login: &crate::myapps::LoginMsg) {
        if self
            .service
            .obj_name
            .as_ref()
            .is_none_or(|n| *n == login.pbx_obj)
        {
            self.service.rules.handle_login(login.unlicensed());
        }
    }

    /// A request could not be sent to the service (not connected).
    pub fn handle_send_failed(&mut self, why: &str) {
        self.trace(&format!("not sent: {why}"));
    }

    /// A message from the service.
    pub fn handle_response(&mut self, now_ms: u64, msg: Response) {
        self.changed = true;
        match msg {
            Response::GetLicenseResult { license, error } => {
                if let Some(e) = &error {
                    self.service_error("license", e);
                }
                // The same rules as the hidden app (`license`): a check that cannot be made is no license,
                // shown with its cause, and asked again with back-off.
                let v = self
                    .service
                    .rules
                    .handle_result(now_ms, license, error.as_ref());
                if let Some(l) = v.license() {
                    self.service.license = Some(l);
                    if l == License::None {
                        self.stop_checks();
                    }
                }
            }
            Response::GetConfigResult { config, error } => match config {
                Some(c) => self.loaded(now_ms, c),
                None => {
                    if let Some(e) = error {
                        self.service_error("settings", &e);
                    }
                    // Nothing stored or readable: start from the defaults so the user can save.
                    self.loaded(now_ms, Config::default());
                }
            },
            Response::SetConfigResult { config, error } => match (config, error) {
                (_, Some(e)) => {
                    self.settings.save = SaveState::Failed(self.error_text(&e));
                    for f in &e.fields {
                        self.settings
                            .input_errors
                            .insert(f.field.clone(), Text::translate(self.lang, &f.message));
                    }
                }
                (config, None) => {
                    let saved = config.unwrap_or_else(|| self.settings.form.clone());
                    self.trace("settings saved");
                    self.settings.save = SaveState::Saved;
                    self.settings.stored = Some(saved);
                    self.recheck(now_ms);
                }
            },
            Response::ConfigChanged { config } => {
                self.settings.changed_elsewhere(config);
                self.recheck(now_ms);
            }
            Response::SetPresenceResult { .. } | Response::ReportHealthResult { .. } => {}
            Response::Error { error } => self.service_error("request", &error),
        }
    }

    /// A hub answer for request `id`.
    pub fn handle_hub(&mut self, now_ms: u64, id: u64, outcome: HubOutcome) {
        self.tick(now_ms);
        let Some(purpose) = self.inflight.remove(&id) else {
            return;
        };
        self.changed = true;
        match purpose {
            Purpose::Check(step) => self.check_answer(now_ms, step, &outcome),
            Purpose::Test(step) => self.test_answer(step, &outcome),
            Purpose::Lamp { last } => self.lamp_answer(now_ms, last, &outcome),
            Purpose::TokenCheck { check } => self.token_check_answer(now_ms, check, &outcome),
        }
    }

    /// The user changed a field. `field` is the JSON path (`hubUrl`, `pollInterval`, `lamp.ringing.effect`,
    /// `trace.debug`, ...), `value` what the input holds.
    pub fn handle_input(&mut self, field: &str, value: &str) {
        self.changed = true;
        self.settings.input(field, value);
    }

    pub fn handle_click(&mut self, now_ms: u64, button: Button) {
        self.changed = true;
        self.tick(now_ms);
        match button {
            Button::CopyDiagnosis => self.copy_diagnosis(now_ms),
            Button::ClearMissedCall => {
                let out = self.live.clear_missed_call();
                self.live_out(out);
            }
            Button::ToggleToken => self.settings.token_visible = !self.settings.token_visible,
            Button::Defaults => self.settings.defaults(),
            Button::Save => self.save(),
            Button::TestConnection => self.test_connection(),
            Button::AllowLocalNetwork => self.allow_local_network(),
            Button::TestLamp => self.start_lamp_test(now_ms, false),
            Button::TestSound => self.start_lamp_test(now_ms, true),
        }
    }

    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.tick(now_ms);
        if self.live.poll_timeout(now_ms).is_some_and(|t| t <= now_ms) {
            // The panel's times move on.
            self.changed = true;
        }
        let out = self.live.handle_timeout(now_ms);
        self.live_out(out);
        if self.service.rules.poll_retry(now_ms) {
            self.actions
                .push_back(ConfigAction::Service(Request::GetLicense));
        }
        if self.hub.next_at.is_some_and(|t| t <= now_ms) && !self.hub.running {
            self.hub.next_at = None;
            self.start_check();
        }
        self.run_sequence(now_ms);
    }

    /// myApps' `ApiUpdate` (the status API's providers and model).
    pub fn handle_api_update(&mut self, now_ms: u64, u: &crate::myapps::ApiUpdate) {
        self.tick(now_ms);
        self.changed = true;
        let out = self.live.handle_api_update(now_ms, u);
        self.live_out(out);
    }

    /// An `ApiResult` from a provider of an API the app consumes.
    pub fn handle_api_result(&mut self, now_ms: u64, r: &crate::myapps::ApiMsg) {
        self.tick(now_ms);
        self.changed = true;
        let out = self.live.handle_api_result(now_ms, r);
        self.live_out(out);
    }

    // ----- outputs ------------------------------------------------------------------------------------------

    pub fn poll_action(&mut self) -> Option<ConfigAction> {
        self.actions.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        let check = self.hub.next_at.filter(|_| !self.hub.running);
        let own = crate::earliest(check, self.sequence.next_at());
        crate::earliest(
            crate::earliest(own, self.live.poll_timeout(self.now)),
            self.service.rules.poll_timeout(),
        )
    }

    /// True once after anything visible changed.
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    pub fn view(&self) -> View {
        let unlicensed = self.service.unlicensed();
        let errors = self.settings.errors(self.lang);
        let s = &self.settings;
        View {
            lang: self.lang,
            dark: self.dark,
            banners: self.banners(),
            loaded: s.stored.is_some(),
            form: s.form.clone(),
            can_save: errors.is_empty()
                && self.service.state == ServiceState::Up
                && s.save != SaveState::Saving
                && !unlicensed,
            errors,
            token_visible: s.token_visible,
            dirty: s.dirty(),
            save: s.save.clone(),
            test: self.hub.test.clone(),
            lamp_tests: self.lamp_tests_possible(),
            no_lamp_note: self.hub.no_lamp(),
            status: self.status_rows(self.lang),
            missed_call: self.live.missed_call_shown(),
            copy: self.copy.state,
            report: self.copy.report.clone(),
            hub_url_hint: loopback_ip_hint(&s.form.hub_url),
            allow_local_network: self.offers_local_network_button(),
        }
    }

    // ----- internals ----------------------------------------------------------------------------------------

    fn status_rows(&self, lang: Lang) -> Vec<StatusRow> {
        let lamp = self.settings.stored.as_ref().map(|c| &c.lamp);
        self.live
            .rows(lang, self.now, self.hub.devices.as_deref(), lamp)
    }

    fn tick(&mut self, now_ms: u64) {
        self.now = self.now.max(now_ms);
    }

    fn live_out(&mut self, out: Vec<LiveOut>) {
        for o in out {
            match o {
                LiveOut::Post(t) => self.actions.push_back(ConfigAction::PostToParent(t)),
                LiveOut::Report(hidden) => {
                    self.copy.pending = Some(hidden);
                    self.actions.push_back(ConfigAction::BrowserFacts);
                }
            }
        }
    }

    fn save(&mut self) {
        let lang = self.lang;
        self.settings.save = if !self.settings.errors(lang).is_empty() {
            SaveState::Failed(Text::FixErrors.get(lang).to_string())
        } else if self.service.state != ServiceState::Up {
            SaveState::Failed(Text::BannerService.get(lang).to_string())
        } else {
            self.actions
                .push_back(ConfigAction::Service(Request::SetConfig {
                    config: Box::new(self.settings.form.clone()),
                }));
            SaveState::Saving
        };
    }

    fn trace(&mut self, text: &str) {
        let line = trace::line(App::Config, text, &self.settings.secrets());
        self.actions.push_back(ConfigAction::Trace(line));
    }

    fn service_error(&mut self, what: &str, e: &ServiceError) {
        let t = format!("service error ({what}): {:?} {}", e.code, e.text);
        self.trace(&t);
    }

    fn error_text(&self, e: &ServiceError) -> String {
        match e.code {
            ErrorCode::InvalidConfig => Text::FixErrors.get(self.lang).to_string(),
            ErrorCode::Unlicensed => Text::BannerNoLicense.get(self.lang).to_string(),
            _ => format!(
                "{} {}",
                Text::SaveFailed.get(self.lang),
                trace::redact(&e.text, &self.settings.secrets())
            ),
        }
    }

    fn loaded(&mut self, now_ms: u64, c: Config) {
        self.trace("settings loaded");
        self.settings.loaded(c);
        self.recheck(now_ms);
    }

    fn send_hub(&mut self, purpose: Purpose, request: HubRequest) {
        let id = self.next_id;
        self.next_id += 1;
        self.inflight.insert(id, purpose);
        self.actions.push_back(ConfigAction::Hub {
            id,
            request,
            timeout_ms: HUB_TIMEOUT_MS,
        });
    }
}

#[cfg(test)]
mod tests;
