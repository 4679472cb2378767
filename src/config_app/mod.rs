//! The config app (`innovaphone-kuando-config`) as a sans-IO model: what the user sees (banners, the settings
//! form with its errors, test results) and what the app must send (service requests, hub requests), from what
//! happened (service messages, hub answers, user input, time). The DOM driver only renders [`View`] and feeds
//! events back; it decides nothing.
//!
//! Hub checks run against the *saved* settings, so the banners say what the hidden app experiences; "Test
//! connection", "Test lamp" and "Test sound" use the settings as edited, so a user can try a URL or token
//! before saving it. Lamp and sound tests use the hub's GET interface (source `HTTP`), never the connector's
//! own sender, so a test cannot overwrite the lamp state the hidden app set; `off` afterwards releases only the
//! test's source.

pub mod diagnosis;
pub mod i18n;
pub mod live;

use std::collections::{BTreeMap, VecDeque};

use crate::config::{Config, FieldError};
use crate::config_app::i18n::{message, Lang, Text};
use crate::config_app::live::{LiveOut, LiveStatus, StatusRow};
use crate::hub::{
    self, Endpoint, HubError, HubRequest, LampCommand, Outcome, Rgb, Sound, TokenForm, Volume,
};
use crate::lna::Permission;
use crate::proto::{ErrorCode, License, Request, Response, ServiceError};
use crate::trace::{self, App};

/// How often the banners' hub check repeats while the app is open.
pub const CHECK_INTERVAL_MS: u64 = 10_000;
/// Timeout for one hub request.
pub const HUB_TIMEOUT_MS: u32 = 3_000;
/// How long each colour of the lamp test shows.
pub const LAMP_STEP_MS: u64 = 800;
/// How long the sound test plays before the lamp is given back.
pub const SOUND_TEST_MS: u64 = 3_000;

/// What the hub check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HubHealth {
    /// Not checked yet.
    #[default]
    Unknown,
    Ok,
    /// No answer, or not a kuandoHUB.
    Unreachable,
    /// 401: token rejected.
    Unauthorized,
    /// Answers `GET /` and `currentpresence` with a plain-text "unknown action" (spec: **[inferred]**
    /// capability check; see `hub::unknown_action`).
    TooOld,
    /// Answers, but `currentpresence` was garbage, HTML or a 5xx: a failure of the moment, not "too old".
    BadAnswer,
}

/// A red banner at the top of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Banner {
    NoLicense,
    /// The license could not be checked: the app object lacks the Admin option.
    LicenseNoAdmin,
    /// The license could not be checked: the PBX did not answer or failed.
    LicenseUnchecked,
    ServiceDown,
    NoHub,
    TokenRejected,
    TooOld,
    NoBusylight,
    /// The hub answers, but not understandably (garbage, HTML, 5xx).
    BadAnswer,
    /// The browser's Local Network Access permission is `prompt`: the button below makes the request from
    /// the user's click so that the browser can ask.
    LocalNetworkPrompt,
    /// The permission is `denied`: what the user and the administrator can do.
    LocalNetworkDenied,
}

impl Banner {
    pub fn text(self) -> Text {
        match self {
            Banner::NoLicense => Text::BannerNoLicense,
            Banner::LicenseNoAdmin => Text::BannerLicenseNoAdmin,
            Banner::LicenseUnchecked => Text::BannerLicenseUnchecked,
            Banner::ServiceDown => Text::BannerService,
            Banner::NoHub => Text::BannerNoHub,
            Banner::TokenRejected => Text::BannerToken,
            Banner::TooOld => Text::BannerTooOld,
            Banner::NoBusylight => Text::BannerNoBusylight,
            Banner::BadAnswer => Text::BannerBadAnswer,
            Banner::LocalNetworkPrompt => Text::BannerLnaPrompt,
            Banner::LocalNetworkDenied => Text::BannerLnaDenied,
        }
    }
}

/// Buttons the user can press.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Button {
    Save,
    Defaults,
    ToggleToken,
    TestConnection,
    TestLamp,
    TestSound,
    /// Builds the diagnosis for support and copies it (issue 14).
    CopyDiagnosis,
    /// "Allow access to kuandoHUB": a hub request from the user's click, so the browser can ask.
    AllowLocalNetwork,
    /// Ends the missed-call notification on the lamp (shown while there is one).
    ClearMissedCall,
}

/// What became of the last "Copy diagnosis".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CopyState {
    Idle,
    /// Waiting for the hidden app's part.
    Collecting,
    /// Handed to the driver.
    Copying,
    Copied,
    /// The clipboard refused; the report was downloaded as a file.
    Downloaded,
    /// Neither worked: the report is shown for copying by hand.
    Failed,
}

/// The app websocket's state, as the session reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceState {
    Connecting,
    Up,
    Down,
    Unlicensed,
}

/// Result line of the save button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveState {
    Idle,
    Saving,
    Saved,
    Failed(String),
}

/// What the test area shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestStatus {
    Idle,
    Running,
    /// Success text.
    Ok(String),
    /// Error text (token-free).
    Failed(String),
}

/// Something the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
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
    /// The live status panel: what the hidden app on this client sees (issue 14).
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Probe,
    Presence,
    Devices,
}

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

#[derive(Debug, Clone)]
enum Sequence {
    None,
    /// Commands still to send, each after the previous one's delay.
    Running {
        endpoint: Endpoint,
        steps: VecDeque<(LampCommand, u64)>,
        next_at: Option<u64>,
    },
}

/// The config app.
#[derive(Debug)]
pub struct ConfigApp {
    lang: Lang,
    dark: bool,
    service: ServiceState,
    license: Option<License>,
    stored: Option<Config>,
    form: Config,
    /// Input that could not even be read (e.g. letters in a number field), per field.
    input_errors: BTreeMap<String, String>,
    token_visible: bool,
    save: SaveState,
    health: HubHealth,
    devices: Option<Vec<String>>,
    check_running: bool,
    next_check_at: Option<u64>,
    test: TestStatus,
    test_devices: Option<Vec<String>>,
    sequence: Sequence,
    inflight: BTreeMap<u64, Purpose>,
    next_id: u64,
    actions: VecDeque<Action>,
    changed: bool,
    live: LiveStatus,
    /// The latest time an input brought (the status panel's "for 12 s").
    now: u64,
    copy: CopyState,
    report: Option<String>,
    /// Browser facts for the diagnosis, from the driver (asked for with [`Action::BrowserFacts`]).
    env: Vec<(String, String)>,
    /// The hidden app's part of a diagnosis whose report waits for the browser facts.
    pending_report: Option<Option<crate::config_app::live::HiddenDiagnosis>>,
    /// The browser's Local Network Access permission (see [`crate::lna`]).
    lna: Permission,
    /// The hub URL whose hub refused the token header's preflight: its token goes in the URL while the app
    /// is open (the hidden app, which runs all day, tries the header again every hour).
    token_in_url_for: Option<String>,
    /// Started by the driver, which reports the permission soon: no check before it did, so that no
    /// request goes out on page load while the browser would ask (the Chrome guide's advice).
    lna_pending: bool,
    /// The PBX app object (`start.name`) whose `Login` tells this app's license flag; `None`: any.
    obj_name: Option<String>,
    license_rules: crate::license::LicenseRules,
}

impl ConfigApp {
    pub fn new(lang: Lang, dark: bool) -> Self {
        ConfigApp::with_live(lang, dark, false)
    }

    fn with_live(lang: Lang, dark: bool, outside: bool) -> Self {
        let (live, consume) = LiveStatus::new(outside);
        let mut actions = VecDeque::new();
        if !outside {
            actions.push_back(Action::PostToParent(consume));
        }
        ConfigApp {
            live,
            now: 0,
            copy: CopyState::Idle,
            report: None,
            env: Vec::new(),
            pending_report: None,
            lang,
            dark,
            service: ServiceState::Connecting,
            license: None,
            stored: None,
            form: Config::default(),
            input_errors: BTreeMap::new(),
            token_visible: false,
            save: SaveState::Idle,
            health: HubHealth::Unknown,
            devices: None,
            check_running: false,
            next_check_at: None,
            test: TestStatus::Idle,
            test_devices: None,
            sequence: Sequence::None,
            inflight: BTreeMap::new(),
            next_id: 1,
            actions,
            changed: true,
            lna: Permission::Unknown,
            token_in_url_for: None,
            lna_pending: false,
            obj_name: None,
            license_rules: crate::license::LicenseRules::new(),
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
        app.lna_pending = true;
        app.obj_name = Some(start.name.clone());
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
        if self.service == state {
            return;
        }
        self.service = state;
        self.changed = true;
        match state {
            ServiceState::Up => {
                self.trace("connected to the app service");
                self.actions.push_back(Action::Service(Request::GetLicense));
                self.actions.push_back(Action::Service(Request::GetConfig));
            }
            ServiceState::Unlicensed => {
                self.license = Some(License::None);
                self.trace("no app license");
                self.stop_checks();
            }
            ServiceState::Down => {
                if self.save == SaveState::Saving {
                    self.save = SaveState::Failed(Text::BannerService.get(self.lang).to_string());
                }
                // Without the service the saved settings are unknown; check the hub with what we have (the
                // defaults on a first start) so the user still learns whether the hub is there.
                if self.next_check_at.is_none() && !self.check_running {
                    self.next_check_at = Some(now_ms);
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
        if self.obj_name.as_ref().is_none_or(|n| *n == login.pbx_obj) {
            self.license_rules.handle_login(login.unlicensed());
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
                    .license_rules
                    .handle_result(now_ms, license, error.as_ref());
                if let Some(l) = v.license() {
                    self.license = Some(l);
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
                    self.save = SaveState::Failed(self.error_text(&e));
                    for f in &e.fields {
                        self.input_errors
                            .insert(f.field.clone(), message(self.lang, &f.message));
                    }
                }
                (config, None) => {
                    let saved = config.unwrap_or_else(|| self.form.clone());
                    self.trace("settings saved");
                    self.save = SaveState::Saved;
                    self.stored = Some(saved);
                    self.recheck(now_ms);
                }
            },
            Response::ConfigChanged { config } => {
                // Saved elsewhere (another client of the same user): take it unless the user is editing.
                let editing = self.stored.as_ref() != Some(&self.form);
                self.stored = Some(config.clone());
                if !editing {
                    self.form = config;
                    self.input_errors.clear();
                }
                self.recheck(now_ms);
            }
            Response::SetPresenceResult { .. } | Response::ReportHealthResult { .. } => {}
            Response::Error { error } => self.service_error("request", &error),
        }
    }

    /// A hub answer for request `id`.
    pub fn handle_hub(&mut self, now_ms: u64, id: u64, outcome: Outcome) {
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
        self.input_errors.remove(field);
        if matches!(self.save, SaveState::Saved | SaveState::Failed(_)) {
            self.save = SaveState::Idle;
        }
        if let Err(e) = self.form.set_field(field, value) {
            self.input_errors.insert(field.into(), e.message);
        }
    }

    pub fn handle_click(&mut self, now_ms: u64, button: Button) {
        self.changed = true;
        self.tick(now_ms);
        match button {
            Button::CopyDiagnosis => {
                if self.copy != CopyState::Collecting {
                    self.copy = CopyState::Collecting;
                    let out = self.live.request_diagnosis(now_ms);
                    self.live_out(out);
                }
            }
            Button::ClearMissedCall => {
                let out = self.live.clear_missed_call();
                self.live_out(out);
            }
            Button::ToggleToken => self.token_visible = !self.token_visible,
            Button::Defaults => {
                // Keep where the hub is and the token: "defaults" is about the lamp and the rest.
                let keep = (self.form.hub_url.clone(), self.form.token.clone());
                self.form = Config {
                    hub_url: keep.0,
                    token: keep.1,
                    ..Config::default()
                };
                self.input_errors.clear();
            }
            Button::Save => {
                if !self.form_errors().is_empty() {
                    self.save = SaveState::Failed(Text::FixErrors.get(self.lang).to_string());
                } else if self.service != ServiceState::Up {
                    self.save = SaveState::Failed(Text::BannerService.get(self.lang).to_string());
                } else {
                    self.save = SaveState::Saving;
                    self.actions.push_back(Action::Service(Request::SetConfig {
                        config: Box::new(self.form.clone()),
                    }));
                }
            }
            Button::TestConnection => match self.form_endpoint() {
                Some(ep) => {
                    self.test = TestStatus::Running;
                    self.test_devices = None;
                    self.send_hub(Purpose::Test(Step::Probe), ep.probe());
                }
                None => self.test = TestStatus::Failed(Text::FixErrors.get(self.lang).to_string()),
            },
            Button::AllowLocalNetwork => {
                self.trace("local network access requested by the user");
                self.check_now();
            }
            Button::TestLamp | Button::TestSound => {
                if !self.lamp_tests_possible() {
                    return;
                }
                let Some(ep) = self.form_endpoint() else {
                    self.test = TestStatus::Failed(Text::FixErrors.get(self.lang).to_string());
                    return;
                };
                let steps = if button == Button::TestLamp {
                    lamp_test_steps()
                } else {
                    self.sound_test_steps()
                };
                self.test = TestStatus::Running;
                self.sequence = Sequence::Running {
                    endpoint: ep,
                    steps,
                    next_at: Some(now_ms),
                };
                self.run_sequence(now_ms);
            }
        }
    }

    /// The browser's Local Network Access permission (`PermissionStatus.state`, or `unknown`), at start and on
    /// every change. While it is `prompt` or `denied` no check goes out from the background; allowed again,
    /// the hub is checked at once.
    pub fn handle_local_network(&mut self, now_ms: u64, state: &str) {
        let p = Permission::parse(state);
        let first = std::mem::take(&mut self.lna_pending);
        if p == self.lna && !first {
            return;
        }
        let was = self.lna;
        self.lna = p;
        self.changed = true;
        let t = format!("local network permission: {}", p.as_str());
        self.trace(&t);
        if was == Permission::Denied
            || first
            || (was == Permission::Prompt && p != Permission::Prompt)
        {
            self.recheck(now_ms);
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
        if self.license_rules.poll_retry(now_ms) {
            self.actions.push_back(Action::Service(Request::GetLicense));
        }
        if self.next_check_at.is_some_and(|t| t <= now_ms) && !self.check_running {
            self.next_check_at = None;
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

    /// Facts about the browser for the diagnosis (time, user agent), the answer to [`Action::BrowserFacts`]:
    /// the waiting report is built with them.
    pub fn handle_env(&mut self, env: Vec<(String, String)>) {
        self.env = env;
        if let Some(hidden) = self.pending_report.take() {
            let report = self.diagnosis(hidden.as_ref());
            self.trace("diagnosis built");
            self.report = Some(report.clone());
            self.copy = CopyState::Copying;
            self.changed = true;
            self.actions.push_back(Action::Copy(report));
        }
    }

    /// What the driver made of [`Action::Copy`]: `Ok(true)` in the clipboard, `Ok(false)` downloaded.
    pub fn handle_copied(&mut self, result: Result<bool, String>) {
        self.changed = true;
        self.copy = match result {
            Ok(true) => CopyState::Copied,
            Ok(false) => CopyState::Downloaded,
            Err(why) => {
                self.trace(&format!("diagnosis not copied: {why}"));
                CopyState::Failed
            }
        };
    }

    fn status_rows(&self, lang: Lang) -> Vec<StatusRow> {
        let lamp = self.stored.as_ref().map(|c| &c.lamp);
        self.live
            .rows(lang, self.now, self.devices.as_deref(), lamp)
    }

    fn tick(&mut self, now_ms: u64) {
        self.now = self.now.max(now_ms);
    }

    fn live_out(&mut self, out: Vec<LiveOut>) {
        for o in out {
            match o {
                LiveOut::Post(t) => self.actions.push_back(Action::PostToParent(t)),
                LiveOut::Report(hidden) => {
                    self.pending_report = Some(hidden);
                    self.actions.push_back(Action::BrowserFacts);
                }
            }
        }
    }

    /// The report for support (see [`diagnosis`]).
    pub fn diagnosis(&self, hidden: Option<&crate::config_app::live::HiddenDiagnosis>) -> String {
        let rows = self.status_rows(Lang::En);
        let license = self.license.map_or("not known", License::as_str);
        let devices = match &self.devices {
            Some(d) if d.is_empty() => ", no Busylight".to_string(),
            Some(d) => format!(", Busylights: {}", d.join(", ")),
            None => String::new(),
        };
        let check = format!("{:?}{devices}", self.health);
        let service = format!("{:?}", self.service);
        let secrets = self.secrets();
        crate::config_app::diagnosis::report(&crate::config_app::diagnosis::Facts {
            env: &self.env,
            stored: self.stored.as_ref(),
            edited: Some(&self.form).filter(|f| self.stored.as_ref() != Some(*f)),
            service: &service,
            license,
            check: &check,
            rows: &rows,
            model: self.live.model().map(|m| m.raw.as_str()),
            hidden,
            secrets: &secrets,
        })
    }

    // ----- outputs ------------------------------------------------------------------------------------------

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        let seq = match &self.sequence {
            Sequence::Running { next_at, .. } => *next_at,
            Sequence::None => None,
        };
        let own = crate::earliest(self.next_check_at.filter(|_| !self.check_running), seq);
        crate::earliest(
            crate::earliest(own, self.live.poll_timeout(self.now)),
            self.license_rules.poll_timeout(),
        )
    }

    /// True once after anything visible changed.
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    pub fn view(&self) -> View {
        let unlicensed =
            self.license == Some(License::None) || self.service == ServiceState::Unlicensed;
        let mut banners = Vec::new();
        if let crate::license::Verdict::Unchecked(cause) = self.license_rules.verdict() {
            banners.push(match cause {
                crate::license::Cause::NoAdmin => Banner::LicenseNoAdmin,
                crate::license::Cause::Pbx => Banner::LicenseUnchecked,
            });
        }
        if unlicensed {
            banners.push(Banner::NoLicense);
        } else {
            if self.service == ServiceState::Down {
                banners.push(Banner::ServiceDown);
            }
            // A blocked request looks exactly like "no kuandoHUB". Denied: that banner would be wrong. Prompt
            // and no answer: either may be true (Chromium reports `prompt` also where the permission does not
            // apply), so both banners show, the permission's with its button.
            let blocked = self.checks_held();
            match self.lna {
                Permission::Denied => banners.push(Banner::LocalNetworkDenied),
                Permission::Prompt if self.health == HubHealth::Unreachable => {
                    banners.push(Banner::LocalNetworkPrompt)
                }
                _ => {}
            }
            match self.health {
                HubHealth::Unreachable if blocked => {}
                HubHealth::Unreachable => banners.push(Banner::NoHub),
                HubHealth::Unauthorized => banners.push(Banner::TokenRejected),
                HubHealth::TooOld => banners.push(Banner::TooOld),
                HubHealth::BadAnswer => banners.push(Banner::BadAnswer),
                HubHealth::Ok | HubHealth::Unknown => {}
            }
            let no_lamp =
                self.health == HubHealth::Ok && self.devices.as_ref().is_some_and(Vec::is_empty);
            // "No Busylight" is an error only for a user whose license includes one; for everybody else
            // the connector simply works without a lamp (kuandoHUB innovaphone Edition).
            if no_lamp && self.license == Some(License::WithBusylight) {
                banners.push(Banner::NoBusylight);
            }
        }
        let errors = self.form_errors();
        View {
            lang: self.lang,
            dark: self.dark,
            banners,
            loaded: self.stored.is_some(),
            form: self.form.clone(),
            can_save: errors.is_empty()
                && self.service == ServiceState::Up
                && self.save != SaveState::Saving
                && !unlicensed,
            errors,
            token_visible: self.token_visible,
            dirty: self.stored.as_ref() != Some(&self.form),
            save: self.save.clone(),
            test: self.test.clone(),
            lamp_tests: self.lamp_tests_possible(),
            no_lamp_note: self.health == HubHealth::Ok
                && self.devices.as_ref().is_some_and(Vec::is_empty),
            status: self.status_rows(self.lang),
            missed_call: self.live.missed_call_shown(),
            copy: self.copy,
            report: self.report.clone(),
            hub_url_hint: loopback_ip_hint(&self.form.hub_url),
            allow_local_network: self.lna == Permission::Prompt
                && self.health == HubHealth::Unreachable
                && !unlicensed,
        }
    }

    // ----- internals ----------------------------------------------------------------------------------------

    fn secrets(&self) -> Vec<&str> {
        let mut s = vec![self.form.token.as_str()];
        if let Some(c) = &self.stored {
            s.push(c.token.as_str());
        }
        s
    }

    fn trace(&mut self, text: &str) {
        let line = trace::line(App::Config, text, &self.secrets());
        self.actions.push_back(Action::Trace(line));
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
                trace::redact(&e.text, &self.secrets())
            ),
        }
    }

    fn loaded(&mut self, now_ms: u64, c: Config) {
        self.trace("settings loaded");
        self.form = c.clone();
        self.stored = Some(c);
        self.input_errors.clear();
        self.recheck(now_ms);
    }

    fn recheck(&mut self, now_ms: u64) {
        if self.license == Some(License::None) {
            return;
        }
        if self.check_running {
            // The running check used the old settings: run again right after it.
            self.next_check_at = Some(now_ms);
        } else {
            self.next_check_at = None;
            self.start_check();
        }
    }

    fn stop_checks(&mut self) {
        self.next_check_at = None;
        self.check_running = false;
        self.inflight.retain(|_, p| !matches!(p, Purpose::Check(_)));
    }

    fn checked_endpoint(&self) -> Option<Endpoint> {
        let c = self.stored.clone().unwrap_or_default();
        c.endpoint().ok().map(|e| self.with_token_form(e))
    }

    fn form_endpoint(&self) -> Option<Endpoint> {
        if self.form_errors().contains_key("hubUrl") || self.form_errors().contains_key("token") {
            return None;
        }
        self.form.endpoint().ok().map(|e| self.with_token_form(e))
    }

    /// The token in the header, unless this hub refused it.
    fn with_token_form(&self, e: Endpoint) -> Endpoint {
        if self.token_in_url_for.as_deref() == Some(e.base().as_str()) {
            e.with_form(TokenForm::Url)
        } else {
            e
        }
    }

    /// A probe with the token header got no answer: asks without the token, to tell a hub that refuses the
    /// header's preflight from one that is down. True when asked.
    fn check_token_header(&mut self, check: bool, outcome: &Outcome) -> bool {
        let ep = if check {
            self.checked_endpoint()
        } else {
            self.form_endpoint()
        };
        let Some(ep) = ep else {
            return false;
        };
        if !matches!(outcome, Outcome::Network | Outcome::Timeout)
            || !ep.has_token()
            || ep.form() != TokenForm::Header
        {
            return false;
        }
        self.send_hub(Purpose::TokenCheck { check }, ep.token_check());
        true
    }

    fn token_check_answer(&mut self, now_ms: u64, check: bool, outcome: &Outcome) {
        let ep = if check {
            self.checked_endpoint()
        } else {
            self.form_endpoint()
        };
        match (outcome, ep) {
            (Outcome::Answer { .. }, Some(ep)) => {
                self.token_in_url_for = Some(ep.base().as_str().to_string());
                self.trace(crate::engine::TOKEN_IN_URL_TEXT);
                let ep = self.with_token_form(ep);
                let purpose = if check {
                    Purpose::Check(Step::Probe)
                } else {
                    Purpose::Test(Step::Probe)
                };
                self.send_hub(purpose, ep.probe());
            }
            // Down, not picky: what the probe's failure said stands.
            _ if check => {
                if self.check_running {
                    self.devices = None;
                    self.finish_check(now_ms, HubHealth::Unreachable);
                }
            }
            _ => {
                if self.test == TestStatus::Running {
                    self.test = TestStatus::Failed(Text::BannerNoHub.get(self.lang).to_string());
                }
            }
        }
    }

    fn form_errors(&self) -> BTreeMap<String, String> {
        let mut errors: BTreeMap<String, String> = BTreeMap::new();
        for FieldError { field, message: m } in self.form.validate() {
            errors
                .entry(field)
                .or_insert_with(|| message(self.lang, &m));
        }
        for (f, m) in &self.input_errors {
            errors.insert(f.clone(), message(self.lang, m));
        }
        errors
    }

    fn send_hub(&mut self, purpose: Purpose, request: HubRequest) {
        let id = self.next_id;
        self.next_id += 1;
        self.inflight.insert(id, purpose);
        self.actions.push_back(Action::Hub {
            id,
            request,
            timeout_ms: HUB_TIMEOUT_MS,
        });
    }

    /// No check from the background while the permission is denied. While `prompt` the checks go on: the app
    /// is open, the user looks at it, and `prompt` is reported also where the permission does not apply.
    fn checks_held(&self) -> bool {
        self.lna == Permission::Denied
    }

    fn start_check(&mut self) {
        if self.lna_pending || self.checks_held() {
            return;
        }
        self.check_now();
    }

    /// The banners' check, started now: from the background via [`ConfigApp::start_check`], or from the
    /// user's click on "Allow access to kuandoHUB" (then the browser can ask).
    fn check_now(&mut self) {
        if self.check_running {
            return;
        }
        let Some(ep) = self.checked_endpoint() else {
            return;
        };
        self.check_running = true;
        self.send_hub(Purpose::Check(Step::Probe), ep.probe());
    }

    fn finish_check(&mut self, now_ms: u64, health: HubHealth) {
        if self.health != health {
            let t = format!("kuandoHUB check: {health:?}");
            self.trace(&t);
        }
        self.health = health;
        self.check_running = false;
        if self.next_check_at.is_none() {
            self.next_check_at = Some(now_ms + CHECK_INTERVAL_MS);
        }
    }

    fn check_answer(&mut self, now_ms: u64, step: Step, outcome: &Outcome) {
        if !self.check_running {
            return;
        }
        let Some(ep) = self.checked_endpoint() else {
            self.check_running = false;
            return;
        };
        match (step, classify(step, outcome)) {
            (_, Err(HubHealth::Unauthorized)) => self.finish_check(now_ms, HubHealth::Unauthorized),
            (Step::Probe, Ok(_)) => {
                self.send_hub(Purpose::Check(Step::Presence), ep.current_presence())
            }
            (Step::Probe, Err(_)) if self.check_token_header(true, outcome) => {}
            (Step::Probe, Err(h)) => {
                self.devices = None;
                self.finish_check(now_ms, h);
            }
            (Step::Presence, Ok(_)) => self.send_hub(Purpose::Check(Step::Devices), ep.devices()),
            (Step::Presence, Err(h)) => self.finish_check(now_ms, h),
            (Step::Devices, Ok(names)) => {
                self.devices = Some(names);
                self.finish_check(now_ms, HubHealth::Ok);
            }
            (Step::Devices, Err(_)) => {
                // An answer that is not a device list: the hub works, the lamp list is unknown.
                self.devices = None;
                self.finish_check(now_ms, HubHealth::Ok);
            }
        }
    }

    fn test_answer(&mut self, step: Step, outcome: &Outcome) {
        if self.test != TestStatus::Running {
            return;
        }
        let Some(ep) = self.form_endpoint() else {
            self.test = TestStatus::Failed(Text::FixErrors.get(self.lang).to_string());
            return;
        };
        let lang = self.lang;
        match (step, classify(step, outcome)) {
            (Step::Probe, Ok(_)) => {
                self.send_hub(Purpose::Test(Step::Presence), ep.current_presence())
            }
            (Step::Presence, Ok(_)) => self.send_hub(Purpose::Test(Step::Devices), ep.devices()),
            (Step::Probe, Err(_)) if self.check_token_header(false, outcome) => {}
            (Step::Devices, Ok(names)) => {
                let list = if names.is_empty() {
                    "0".to_string()
                } else {
                    format!("{} ({})", names.len(), names.join(", "))
                };
                let text = format!(
                    "{} {} {}",
                    Text::HubOk.get(lang),
                    Text::Devices.get(lang),
                    list
                );
                self.test = TestStatus::Ok(trace::redact(&text, &self.secrets()));
                self.test_devices = Some(names);
            }
            (_, Err(h)) => {
                let text = match h {
                    HubHealth::Unauthorized => Text::BannerToken.get(lang),
                    HubHealth::TooOld => Text::BannerTooOld.get(lang),
                    HubHealth::BadAnswer => Text::BannerBadAnswer.get(lang),
                    _ => Text::BannerNoHub.get(lang),
                };
                self.test = TestStatus::Failed(text.to_string());
            }
        }
    }

    fn lamp_answer(&mut self, now_ms: u64, last: bool, outcome: &Outcome) {
        let result = match outcome {
            Outcome::Answer { status, body } => hub::parse_command_response(*status, body),
            Outcome::Timeout => Err(HubError::Timeout),
            Outcome::Network => Err(HubError::Network),
        };
        match result {
            Ok(()) if last => {
                self.sequence = Sequence::None;
                if self.test == TestStatus::Running {
                    self.test = TestStatus::Ok(Text::TestDone.get(self.lang).to_string());
                }
            }
            Ok(()) => {}
            Err(e) => {
                let text = message(self.lang, &e.to_string());
                self.test = TestStatus::Failed(text);
                // Give the lamp back even after a failed step, unless the failing step was the release.
                let release = match std::mem::replace(&mut self.sequence, Sequence::None) {
                    Sequence::Running { endpoint, .. } if !last => Some(endpoint),
                    _ => None,
                };
                if let Some(ep) = release {
                    self.sequence = Sequence::Running {
                        endpoint: ep,
                        steps: VecDeque::from([(LampCommand::Off, 0)]),
                        next_at: Some(now_ms),
                    };
                    self.run_sequence(now_ms);
                }
            }
        }
    }

    fn run_sequence(&mut self, now_ms: u64) {
        let Sequence::Running {
            endpoint,
            steps,
            next_at,
        } = &mut self.sequence
        else {
            return;
        };
        if !next_at.is_some_and(|t| t <= now_ms) {
            return;
        }
        let Some((cmd, delay)) = steps.pop_front() else {
            *next_at = None;
            return;
        };
        let last = steps.is_empty();
        *next_at = if last { None } else { Some(now_ms + delay) };
        let request = endpoint.get_command(cmd);
        self.send_hub(Purpose::Lamp { last }, request);
    }

    fn lamp_tests_possible(&self) -> bool {
        let devices = self.test_devices.as_ref().or(self.devices.as_ref());
        self.health == HubHealth::Ok
            && devices.is_some_and(|d| !d.is_empty())
            && matches!(self.sequence, Sequence::None)
            && self.license != Some(License::None)
    }

    fn sound_test_steps(&self) -> VecDeque<(LampCommand, u64)> {
        let ringing = &self.form.lamp.ringing;
        let color = Rgb::from_hex(&ringing.color).unwrap_or(Rgb::OFF);
        // A ringing setting without sound still tests the speaker: with kuandoHUB's default sound.
        let sound = Sound::from_number(ringing.sound)
            .filter(|s| *s != Sound::None)
            .unwrap_or(Sound::KuandoTrain);
        let volume = Volume::new(ringing.volume).unwrap_or_default();
        VecDeque::from([
            (
                LampCommand::Alert {
                    color,
                    sound,
                    volume,
                },
                SOUND_TEST_MS,
            ),
            (LampCommand::Off, 0),
        ])
    }
}

fn lamp_test_steps() -> VecDeque<(LampCommand, u64)> {
    let c = |r, g, b| Rgb::new(r, g, b).unwrap_or(Rgb::OFF);
    VecDeque::from([
        (LampCommand::Light(c(100, 0, 0)), LAMP_STEP_MS),
        (LampCommand::Light(c(0, 100, 0)), LAMP_STEP_MS),
        (LampCommand::Light(c(0, 0, 100)), LAMP_STEP_MS),
        (LampCommand::blink(c(100, 100, 100)), LAMP_STEP_MS * 2),
        (LampCommand::Off, 0),
    ])
}

/// Whether the hub URL deserves the "kuandoHUB listens on localhost" hint: its host is an IPv4 loopback
/// address (`127.x.x.x`). **[inferred]** kuandoHUB's default listen prefix is `http://localhost:8989/`
/// (Windows `HttpListener` / http.sys), and http.sys matches a request's host name against the prefix, so a
/// request to `http://127.0.0.1:8989/` may be refused ("Invalid Hostname") while `localhost` works
/// (docs/platform-facts.md §1.2). A hint, never an error: a hub configured with a `+` or `*` prefix
/// answers on both.
pub fn loopback_ip_hint(url: &str) -> bool {
    let rest = match crate::text::split_scheme(url.trim()) {
        Some((_, rest)) => rest,
        None => return false,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = host.split(':').next().unwrap_or("");
    let octets: Vec<&str> = host.split('.').collect();
    octets.len() == 4
        && octets[0] == "127"
        && octets
            .iter()
            .all(|o| !o.is_empty() && o.bytes().all(|b| b.is_ascii_digit()))
}

/// A check step's answer: `Ok(device names)` (empty for steps without devices) or the health it shows.
fn classify(step: Step, outcome: &Outcome) -> Result<Vec<String>, HubHealth> {
    let (status, body) = match outcome {
        Outcome::Answer { status, body } => (*status, body.as_slice()),
        Outcome::Timeout | Outcome::Network => return Err(HubHealth::Unreachable),
    };
    let result = match step {
        // "No Busylight" (404 or NO_DEVICE) still proves a kuandoHUB answers, as in the engine.
        Step::Probe => match hub::parse_probe(status, body) {
            Err(HubError::NoDevice) => Ok(()),
            r => r,
        }
        .map(|_| Vec::new()),
        Step::Presence => match hub::parse_current_presence(status, body) {
            Err(HubError::NoDevice) => Ok(hub::CurrentPresence::default()),
            r => r,
        }
        .map(|_| Vec::new()),
        Step::Devices => match hub::parse_devices(status, body) {
            Err(HubError::NoDevice) => Ok(Vec::new()),
            r => r,
        }
        .map(|d| {
            d.into_iter()
                .map(|d| {
                    if d.model.is_empty() {
                        "Busylight".into()
                    } else {
                        d.model
                    }
                })
                .collect()
        }),
    };
    result.map_err(|e| match e {
        HubError::Unauthorized => HubHealth::Unauthorized,
        _ if step == Step::Probe => HubHealth::Unreachable,
        // Only a plain-text "unknown action" is a verdict on the hub's version (issue 12).
        HubError::UnknownAction => HubHealth::TooOld,
        _ => HubHealth::BadAnswer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(body: &str) -> Outcome {
        Outcome::Answer {
            status: 200,
            body: body.as_bytes().to_vec(),
        }
    }

    const PRESENCE: &str = r#"{"runningcommand":null}"#;
    const ONE_LAMP: &str = r#"[{"ModelName":"Busylight UC Omega"}]"#;

    /// Drains actions; answers hub requests with `hub(url)`.
    fn pump(app: &mut ConfigApp, now: u64, hub: &dyn Fn(&HubRequest) -> Outcome) -> Vec<Action> {
        let mut seen = Vec::new();
        while let Some(a) = app.poll_action() {
            if let Action::Hub { id, request, .. } = &a {
                let out = hub(request);
                seen.push(a.clone());
                app.handle_hub(now, *id, out);
            } else {
                seen.push(a);
            }
        }
        seen
    }

    fn healthy(r: &HubRequest) -> Outcome {
        if r.url.contains("currentpresence") {
            ok(PRESENCE)
        } else if r.url.contains("busylightdevices") {
            ok(ONE_LAMP)
        } else {
            ok(r#"{"response":"OK"}"#)
        }
    }

    fn started(license: License, hub: &dyn Fn(&HubRequest) -> Outcome) -> ConfigApp {
        let mut app = ConfigApp::new(Lang::En, false);
        app.handle_service(0, ServiceState::Up);
        let first = pump(&mut app, 0, hub);
        assert!(first.contains(&Action::Service(Request::GetConfig)));
        assert!(first.contains(&Action::Service(Request::GetLicense)));
        app.handle_response(
            0,
            Response::GetLicenseResult {
                license: Some(license),
                error: None,
            },
        );
        app.handle_response(
            0,
            Response::GetConfigResult {
                config: Some(Config::default()),
                error: None,
            },
        );
        pump(&mut app, 0, hub);
        app
    }

    /// A remote hub with a token whose HTTP server answers no CORS preflight: every request with the token
    /// header fails in the browser; without it, it answers.
    fn no_preflight(r: &HubRequest) -> Outcome {
        if r.token_header.is_some() {
            Outcome::Network
        } else {
            healthy(r)
        }
    }

    fn with_token(app: &mut ConfigApp, hub: &dyn Fn(&HubRequest) -> Outcome) -> Vec<Action> {
        let c = Config {
            hub_url: "http://192.168.0.100:8989/".into(),
            token: "s3cret".into(),
            ..Config::default()
        };
        app.handle_response(0, Response::ConfigChanged { config: c });
        let t = app.poll_timeout().unwrap_or(0);
        app.handle_timeout(t);
        pump(app, t, hub)
    }

    #[test]
    fn the_token_goes_in_the_header_and_in_the_url_only_for_a_hub_that_refuses_it() {
        let mut app = started(License::Connector, &healthy);
        let sent = with_token(&mut app, &healthy);
        let hub: Vec<&HubRequest> = sent
            .iter()
            .filter_map(|a| match a {
                Action::Hub { request, .. } => Some(request),
                _ => None,
            })
            .collect();
        assert!(!hub.is_empty());
        assert!(hub
            .iter()
            .all(|r| !r.url.contains("s3cret") && r.token_header.as_deref() == Some("s3cret")));

        let mut app = started(License::Connector, &healthy);
        let sent = with_token(&mut app, &no_preflight);
        let urls: Vec<(String, bool)> = sent
            .iter()
            .filter_map(|a| match a {
                Action::Hub { request, .. } => {
                    Some((request.url.clone(), request.token_header.is_some()))
                }
                _ => None,
            })
            .collect();
        // Header first, then the check without any token, then the URL form.
        assert_eq!(urls[0], ("http://192.168.0.100:8989/".to_string(), true));
        assert_eq!(urls[1], ("http://192.168.0.100:8989/".to_string(), false));
        assert!(urls[2].0.contains("accesstoken=s3cret"), "{urls:?}");
        assert_eq!(app.view().banners, vec![]);
        let traces: Vec<&String> = sent
            .iter()
            .filter_map(|a| match a {
                Action::Trace(t) => Some(t),
                _ => None,
            })
            .collect();
        assert!(traces
            .iter()
            .any(|t| t.contains(crate::engine::TOKEN_IN_URL_TEXT)));
        assert!(traces.iter().all(|t| !t.contains("s3cret")));

        // A hub that is down stays "not reachable", with no token in any URL.
        let mut app = started(License::Connector, &healthy);
        let sent = with_token(&mut app, &|_| Outcome::Network);
        assert!(sent.iter().all(|a| match a {
            Action::Hub { request, .. } => !request.url.contains("s3cret"),
            _ => true,
        }));
        assert_eq!(app.view().banners, vec![Banner::NoHub]);
    }

    #[test]
    fn a_healthy_setup_shows_no_banner_and_allows_lamp_tests() {
        let app = started(License::Connector, &healthy);
        let v = app.view();
        assert_eq!(v.banners, vec![]);
        assert!(v.loaded && v.lamp_tests && v.can_save && !v.dirty);
    }

    #[test]
    fn no_hub_shows_the_banner_and_it_goes_when_the_hub_comes_back() {
        let mut app = started(License::Connector, &|_| Outcome::Network);
        assert_eq!(app.view().banners, vec![Banner::NoHub]);
        assert!(!app.view().lamp_tests);
        let t = app.poll_timeout().unwrap();
        assert_eq!(t, CHECK_INTERVAL_MS);
        app.handle_timeout(t);
        pump(&mut app, t, &healthy);
        assert_eq!(app.view().banners, vec![]);
    }

    #[test]
    fn a_license_that_cannot_be_checked_names_the_cause_and_is_asked_again() {
        let start = crate::myapps::StartParams::parse(
            "?name=kuando-config&url=https%3A%2F%2Fap%2Fd%2Fi%2Fx",
        );
        let mut app = ConfigApp::started(&start, 0);
        let login = |flag: &str| match crate::myapps::LauncherMsg::parse(&format!(
            r#"{{"mt":"Login","pbxObj":"kuando-config","info":{{"unlicensed":{flag}}},"digest":"d"}}"#
        )) {
            Ok(crate::myapps::LauncherMsg::Login(l)) => l,
            other => panic!("{other:?}"),
        };
        app.handle_login(&login("true"));
        app.handle_service(0, ServiceState::Up);
        pump(&mut app, 0, &healthy);
        let no_admin = ServiceError {
            code: ErrorCode::NoAdmin,
            text: "no PbxAdminApi".into(),
            fields: vec![],
        };
        app.handle_response(
            0,
            Response::GetLicenseResult {
                license: None,
                error: Some(no_admin),
            },
        );
        assert_eq!(app.view().banners, vec![Banner::LicenseNoAdmin]);
        assert!(Banner::LicenseNoAdmin
            .text()
            .get(Lang::En)
            .contains("tell your administrator"));
        let at = app.poll_timeout().unwrap();
        assert!(at >= crate::license::RETRY_MIN_MS);
        app.handle_timeout(at);
        let a = pump(&mut app, at, &healthy);
        assert!(a.contains(&Action::Service(Request::GetLicense)), "{a:?}");
        app.handle_response(
            at,
            Response::GetLicenseResult {
                license: Some(License::Connector),
                error: None,
            },
        );
        assert!(!app.view().banners.contains(&Banner::LicenseNoAdmin));
    }

    #[test]
    fn unlicensed_shows_only_the_license_banner_and_checks_nothing() {
        let mut app = ConfigApp::new(Lang::De, true);
        app.handle_service(0, ServiceState::Unlicensed);
        let actions = pump(&mut app, 0, &healthy);
        assert!(actions.iter().all(|a| !matches!(a, Action::Hub { .. })));
        assert_eq!(app.view().banners, vec![Banner::NoLicense]);
        assert_eq!(app.poll_timeout(), None);
        assert!(Banner::NoLicense
            .text()
            .get(Lang::De)
            .starts_with("Keine Lizenz"));
    }

    #[test]
    fn a_hub_url_with_127_0_0_1_gets_the_localhost_hint_not_an_error() {
        let mut app = started(License::Connector, &healthy);
        assert!(!app.view().hub_url_hint);
        for (url, hint) in [
            ("http://127.0.0.1:8989/", true),
            ("http://127.0.0.1:8989", true),
            ("HTTP://127.0.0.1/", true),
            ("http://127.1.2.3:8989/", true),
            ("http://localhost:8989/", false),
            ("http://192.168.0.100:8989/", false),
            ("http://127.example.com:8989/", false),
            ("http://[::1]:8989/", false),
            ("127.0.0.1:8989", false),
        ] {
            app.handle_input("hubUrl", url);
            let v = app.view();
            assert_eq!(v.hub_url_hint, hint, "{url}");
            if url.starts_with("http") {
                assert!(!v.errors.contains_key("hubUrl"), "{url}: {:?}", v.errors);
            }
        }
        assert!(Text::HubUrlLoopbackHint.get(Lang::En).contains("localhost"));
        assert!(Text::HubUrlLoopbackHint.get(Lang::De).contains("localhost"));
    }

    #[test]
    fn too_old_and_token_rejected_are_their_own_banners() {
        let old = |r: &HubRequest| {
            if r.url.contains("currentpresence") {
                ok("Unknown action")
            } else {
                healthy(r)
            }
        };
        assert_eq!(
            started(License::Connector, &old).view().banners,
            vec![Banner::TooOld]
        );
        // Garbage is not "too old" (issue 12): its own banner, which goes with the next good answer.
        let broken = |r: &HubRequest| {
            if r.url.contains("currentpresence") {
                ok("<html><body>Internal Server Error</body></html>")
            } else {
                healthy(r)
            }
        };
        let mut app = started(License::Connector, &broken);
        assert_eq!(app.view().banners, vec![Banner::BadAnswer]);
        app.handle_timeout(CHECK_INTERVAL_MS);
        pump(&mut app, CHECK_INTERVAL_MS, &healthy);
        assert_eq!(app.view().banners, vec![]);
        // A hub without a lamp that says NO_DEVICE is neither.
        let no_device = |r: &HubRequest| {
            if r.url.contains("currentpresence") || r.url.contains("busylightdevices") {
                ok("NO_DEVICE")
            } else {
                healthy(r)
            }
        };
        let app = started(License::Connector, &no_device);
        assert_eq!(app.view().banners, vec![]);
        assert!(app.view().no_lamp_note);
        let locked = |_: &HubRequest| Outcome::Answer {
            status: 401,
            body: vec![],
        };
        assert_eq!(
            started(License::Connector, &locked).view().banners,
            vec![Banner::TokenRejected]
        );
    }

    #[test]
    fn no_busylight_is_an_error_only_with_the_busylight_license() {
        let no_lamp = |r: &HubRequest| {
            if r.url.contains("busylightdevices") {
                ok("[]")
            } else {
                healthy(r)
            }
        };
        let app = started(License::WithBusylight, &no_lamp);
        assert_eq!(app.view().banners, vec![Banner::NoBusylight]);
        assert!(!app.view().lamp_tests);
        let app = started(License::Connector, &no_lamp);
        assert_eq!(app.view().banners, vec![]);
        assert!(app.view().no_lamp_note && !app.view().lamp_tests);
    }

    #[test]
    fn editing_validates_inline_and_save_sends_the_settings() {
        let mut app = started(License::Connector, &healthy);
        app.handle_input("hubUrl", "ftp://hub");
        app.handle_input("pollInterval", "abc");
        let v = app.view();
        assert_eq!(
            v.errors.get("hubUrl").map(String::as_str),
            Some("must start with http:// or https://")
        );
        assert_eq!(
            v.errors.get("pollInterval").map(String::as_str),
            Some("must be a number")
        );
        assert!(!v.can_save && v.dirty);
        app.handle_click(0, Button::Save);
        assert!(matches!(app.view().save, SaveState::Failed(_)));
        assert!(app.poll_action().is_none());

        app.handle_input("hubUrl", "http://192.168.0.100:8989");
        app.handle_input("pollInterval", "5");
        app.handle_input("token", "s3cret");
        app.handle_input("lamp.ringing.effect", "alert");
        app.handle_input("lamp.ringing.sound", "7");
        app.handle_input("trace.hub", "true");
        assert!(app.view().errors.is_empty());
        app.handle_click(0, Button::Save);
        let Some(Action::Service(Request::SetConfig { config })) = app.poll_action() else {
            panic!("no SetConfig");
        };
        assert_eq!(config.hub_url, "http://192.168.0.100:8989");
        assert_eq!(config.poll_interval, 5);
        assert_eq!(config.lamp.ringing.effect, crate::config::Effect::Alert);
        assert_eq!(config.lamp.ringing.sound, 7);
        assert!(config.trace.hub);
        assert_eq!(app.view().save, SaveState::Saving);
        app.handle_response(
            0,
            Response::SetConfigResult {
                config: Some(*config),
                error: None,
            },
        );
        let v = app.view();
        assert_eq!(v.save, SaveState::Saved);
        assert!(!v.dirty);
        // Saving re-checks the hub with the new settings, token included.
        let actions = pump(&mut app, 0, &healthy);
        let Some(Action::Hub { request, .. }) =
            actions.iter().find(|a| matches!(a, Action::Hub { .. }))
        else {
            panic!("no re-check");
        };
        assert_eq!(request.url, "http://192.168.0.100:8989/");
        assert_eq!(request.token_header.as_deref(), Some("s3cret"));
        for a in &actions {
            if let Action::Trace(t) = a {
                assert!(!t.contains("s3cret"));
            }
        }
    }

    #[test]
    fn service_field_errors_are_shown_at_their_fields() {
        let mut app = started(License::Connector, &healthy);
        app.handle_click(0, Button::Save);
        assert!(matches!(
            app.poll_action(),
            Some(Action::Service(Request::SetConfig { .. }))
        ));
        app.handle_response(
            0,
            Response::SetConfigResult {
                config: None,
                error: Some(ServiceError {
                    code: ErrorCode::InvalidConfig,
                    text: "invalid".into(),
                    fields: vec![FieldError::new("token", "must not contain spaces")],
                }),
            },
        );
        let v = app.view();
        assert_eq!(
            v.errors.get("token").map(String::as_str),
            Some("must not contain spaces")
        );
        assert!(matches!(v.save, SaveState::Failed(_)));
    }

    #[test]
    fn sound_and_volume_apply_only_to_effects_with_sound() {
        let mut app = started(License::Connector, &healthy);
        assert!(!app.view().sound_applies("lamp.ringing.sound"));
        app.handle_input("lamp.ringing.effect", "jingle");
        let v = app.view();
        assert!(v.sound_applies("lamp.ringing.sound") && v.sound_applies("lamp.ringing.volume"));
        assert!(!v.sound_applies("lamp.away.volume"));
        assert!(!v.sound_applies("hubUrl"));
    }

    #[test]
    fn local_network_permission_prompt_denied_and_granted() {
        use crate::myapps::StartParams;
        // Started by the driver: no check before the permission is known.
        let mut app = ConfigApp::started(&StartParams::parse("?lang=en"), 0);
        app.handle_timeout(0);
        let first = pump(&mut app, 0, &healthy);
        assert!(
            !first.iter().any(|a| matches!(a, Action::Hub { .. })),
            "{first:?}"
        );

        // Prompt: the check fails; either the hub is missing or the browser holds the request: both banners,
        // the permission's with the button.
        app.handle_local_network(0, "prompt");
        let a = pump(&mut app, 0, &|_| Outcome::Network);
        assert!(a.iter().any(|a| matches!(a, Action::Hub { .. })), "{a:?}");
        let v = app.view();
        assert!(
            v.banners.contains(&Banner::LocalNetworkPrompt),
            "{:?}",
            v.banners
        );
        assert!(v.banners.contains(&Banner::NoHub));
        assert!(v.allow_local_network);
        for lang in [Lang::En, Lang::De] {
            // The user's words only: the policies and the iframe delegation are the administrator's (the
            // PBX Manager's Users view and README).
            let t = Text::BannerLnaPrompt.get(lang);
            assert!(!t.contains("LocalNetworkAccessAllowedForUrls") && !t.contains("iframe"));
        }
        // The user's click makes the request (the browser can ask now).
        app.handle_click(CHECK_INTERVAL_MS * 3, Button::AllowLocalNetwork);
        let a = pump(&mut app, CHECK_INTERVAL_MS * 3, &|_| Outcome::Network);
        assert!(a.iter().any(|a| matches!(a, Action::Hub { .. })), "{a:?}");

        // Denied: its own banner with what to do; still not "no kuandoHUB", no button, no checks.
        app.handle_local_network(0, "denied");
        let v = app.view();
        assert_eq!(
            v.banners,
            vec![Banner::ServiceDown, Banner::LocalNetworkDenied]
        );
        assert!(!v.allow_local_network);
        assert!(Text::BannerLnaDenied
            .get(Lang::De)
            .contains("Website-Einstellungen"));

        // Granted: checked at once, the banners go.
        app.handle_local_network(50_000, "granted");
        let a = pump(&mut app, 50_000, &healthy);
        assert!(a.iter().any(|a| matches!(a, Action::Hub { .. })), "{a:?}");
        assert_eq!(app.view().banners, vec![Banner::ServiceDown]);
    }

    #[test]
    fn started_outside_myapps_checks_the_hub_without_a_service() {
        use crate::myapps::StartParams;
        let app = ConfigApp::started(&StartParams::parse("?lang=de&scheme=light"), 0);
        let v = app.view();
        assert_eq!((v.lang, v.dark), (Lang::De, false));
        assert_eq!(v.banners, vec![Banner::ServiceDown]);
        assert_eq!(app.poll_timeout(), Some(0));
        let inside = ConfigApp::started(
            &StartParams::parse("?url=https%3A%2F%2Fap%2Fd%2Fi%2Finnovaphone-kuando-config"),
            0,
        );
        assert_eq!(inside.view().banners, vec![]);
        assert!(inside.view().dark);
    }

    #[test]
    fn session_events_drive_the_service_state_and_carry_service_messages() {
        use crate::myapps::SessionEvent;
        use crate::proto::Envelope;
        let mut app = ConfigApp::new(Lang::En, false);
        app.handle_session(0, SessionEvent::Connected);
        let a = pump(&mut app, 0, &healthy);
        assert!(a.contains(&Action::Service(Request::GetConfig)));
        let msg = Envelope::new(
            Some("1".into()),
            Response::GetLicenseResult {
                license: Some(License::None),
                error: None,
            },
        )
        .to_json();
        app.handle_session(0, SessionEvent::Message(msg));
        assert_eq!(app.view().banners, vec![Banner::NoLicense]);
        let mut app = ConfigApp::new(Lang::En, false);
        app.handle_session(0, SessionEvent::LoginFailed("no Login from myApps".into()));
        let a = pump(&mut app, 0, &healthy);
        assert!(a.contains(&Action::Trace(
            "kuando-config-log: login failed: no Login from myApps".into()
        )));
        assert_eq!(app.view().banners, vec![Banner::ServiceDown]);
        app.handle_session(0, SessionEvent::Message("garbage".into()));
        assert!(
            matches!(app.poll_action(), Some(Action::Trace(t)) if t.starts_with("kuando-config-log: unreadable"))
        );
    }

    #[test]
    fn config_changed_elsewhere_updates_the_form_unless_the_user_is_editing() {
        let mut app = started(License::Connector, &healthy);
        let other = Config {
            poll_interval: 9,
            ..Config::default()
        };
        app.handle_response(
            0,
            Response::ConfigChanged {
                config: other.clone(),
            },
        );
        assert_eq!(app.view().form.poll_interval, 9);
        app.handle_input("pollInterval", "3");
        let third = Config {
            poll_interval: 12,
            ..Config::default()
        };
        app.handle_response(0, Response::ConfigChanged { config: third });
        assert_eq!(app.view().form.poll_interval, 3);
        assert!(app.view().dirty);
    }

    #[test]
    fn lamp_test_runs_a_colour_sequence_through_the_get_interface_and_releases_the_lamp() {
        let mut app = started(License::Connector, &healthy);
        app.handle_click(0, Button::TestLamp);
        let mut urls = Vec::new();
        let mut now = 0;
        loop {
            for a in pump(&mut app, now, &|_| ok("")) {
                if let Action::Hub { request, .. } = a {
                    assert_eq!(request.method, hub::Method::Get);
                    urls.push(request.url);
                }
            }
            match app.poll_timeout() {
                Some(t) if app.view().test == TestStatus::Running => {
                    now = t;
                    app.handle_timeout(now);
                }
                _ => break,
            }
        }
        assert_eq!(urls.len(), 5, "{urls:?}");
        assert!(urls[0].contains("action=light&red=100&green=0&blue=0"));
        assert!(urls[1].contains("green=100"));
        assert!(urls[2].contains("blue=100"));
        assert!(urls[4].ends_with("?action=off"));
        assert_eq!(
            app.view().test,
            TestStatus::Ok("Test finished; the lamp is released.".into())
        );
        assert!(app.view().lamp_tests);
    }

    #[test]
    fn sound_test_plays_the_chosen_sound_then_releases() {
        let mut app = started(License::Connector, &healthy);
        app.handle_input("lamp.ringing.sound", "6");
        app.handle_input("lamp.ringing.volume", "50");
        app.handle_click(0, Button::TestSound);
        let first = pump(&mut app, 0, &|_| ok(""));
        let Some(Action::Hub { request, .. }) = first.first() else {
            panic!("no request");
        };
        assert!(request.url.contains("action=alert") && request.url.contains("sound=6&volume=50"));
        assert!(!app.view().lamp_tests, "no second test while one runs");
        assert_eq!(app.poll_timeout(), Some(SOUND_TEST_MS));
        app.handle_timeout(SOUND_TEST_MS);
        let last = pump(&mut app, SOUND_TEST_MS, &|_| ok(""));
        assert!(
            matches!(&last[..], [Action::Hub { request, .. }] if request.url.ends_with("action=off"))
        );
    }

    #[test]
    fn a_failing_lamp_test_says_why_and_still_gives_the_lamp_back() {
        let mut app = started(License::Connector, &healthy);
        app.handle_click(0, Button::TestLamp);
        let actions = pump(&mut app, 0, &|r| {
            if r.url.contains("action=off") {
                ok("")
            } else {
                Outcome::Answer {
                    status: 404,
                    body: vec![],
                }
            }
        });
        let urls: Vec<_> = actions
            .iter()
            .filter_map(|a| match a {
                Action::Hub { request, .. } => Some(request.url.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(urls.len(), 2);
        assert!(urls[1].ends_with("action=off"));
        assert_eq!(
            app.view().test,
            TestStatus::Failed("no Busylight connected (404)".into())
        );
    }

    #[test]
    fn test_connection_uses_the_edited_settings_and_lists_lamps() {
        let mut app = started(License::Connector, &healthy);
        app.handle_input("hubUrl", "http://10.0.0.5:8989");
        app.handle_click(0, Button::TestConnection);
        let actions = pump(&mut app, 0, &healthy);
        assert!(actions.iter().all(|a| match a {
            Action::Hub { request, .. } => request.url.starts_with("http://10.0.0.5:8989/"),
            _ => true,
        }));
        assert_eq!(
            app.view().test,
            TestStatus::Ok(
                "kuandoHUB reachable. Busylights connected: 1 (Busylight UC Omega)".into()
            )
        );
    }

    #[test]
    fn token_is_masked_until_shown_and_never_traced() {
        let mut app = started(License::Connector, &healthy);
        assert!(!app.view().token_visible);
        app.handle_click(0, Button::ToggleToken);
        assert!(app.view().token_visible);
        app.handle_input("token", "topsecret");
        app.handle_response(
            0,
            Response::Error {
                error: ServiceError {
                    code: ErrorCode::Malformed,
                    text: "bad topsecret".into(),
                    fields: vec![],
                },
            },
        );
        while let Some(a) = app.poll_action() {
            if let Action::Trace(t) = a {
                assert!(t.starts_with("kuando-config-log: "));
                assert!(!t.contains("topsecret"), "{t}");
            }
        }
    }

    #[test]
    fn service_down_is_shown_and_the_hub_is_still_checked_with_defaults() {
        let mut app = ConfigApp::new(Lang::En, false);
        app.handle_service(0, ServiceState::Down);
        assert_eq!(app.poll_timeout(), Some(0));
        app.handle_timeout(0);
        let a = pump(&mut app, 0, &healthy);
        assert!(a.iter().any(
            |a| matches!(a, Action::Hub { request, .. } if request.url == "http://localhost:8989/")
        ));
        assert_eq!(app.view().banners, vec![Banner::ServiceDown]);
        assert!(!app.view().can_save);
    }
}
