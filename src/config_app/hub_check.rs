//! The hub check behind the banners (the *saved* settings, every [`CHECK_INTERVAL_MS`]) and "Test
//! connection" (the settings as edited): `GET /`, then `currentpresence`, then the device list. A probe with
//! the token header that gets no answer is asked again without the token, to tell a hub that refuses the
//! header's preflight from one that is down; such a hub gets its token in the URL while the app is open.

use super::i18n::Text;
use super::{ConfigApp, Purpose};
use crate::engine::HubStatus;
use crate::hub::{self, Endpoint, HubOutcome, TokenForm};
use crate::trace;

/// How often the banners' hub check repeats while the app is open.
pub const CHECK_INTERVAL_MS: u64 = 10_000;

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

/// One request of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Probe,
    Presence,
    Devices,
}

/// A check step that did not pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fault {
    /// The hub's state, in the engine's words.
    Hub(HubStatus),
    /// A kuandoHUB answers, but `currentpresence` was garbage, HTML or a 5xx: a failure of the moment, not
    /// "too old".
    Garbled,
}

/// The state of the banners' check and of "Test connection".
#[derive(Debug)]
pub(super) struct HubCheck {
    /// What the last finished check found (`Reachable` also for a garbled answer, as in the engine).
    pub status: HubStatus,
    /// The last check's hub answered, but not understandably.
    pub garbled: bool,
    /// The Busylights the last check listed (`None`: not known).
    pub devices: Option<Vec<String>>,
    pub running: bool,
    pub next_at: Option<u64>,
    /// "Test connection" and the lamp tests' result line.
    pub test: TestStatus,
    /// The Busylights "Test connection" listed.
    pub test_devices: Option<Vec<String>>,
    /// The hub URL whose hub refused the token header's preflight: its token goes in the URL while the app
    /// is open (the hidden app, which runs all day, tries the header again every hour).
    pub token_in_url_for: Option<String>,
}

impl HubCheck {
    pub fn new() -> Self {
        HubCheck {
            status: HubStatus::Unknown,
            garbled: false,
            devices: None,
            running: false,
            next_at: None,
            test: TestStatus::Idle,
            test_devices: None,
            token_in_url_for: None,
        }
    }

    /// The last check found a working kuandoHUB.
    pub fn hub_ok(&self) -> bool {
        self.status == HubStatus::Reachable && !self.garbled
    }

    /// A working hub without any Busylight.
    pub fn no_lamp(&self) -> bool {
        self.hub_ok() && self.devices.as_ref().is_some_and(Vec::is_empty)
    }

    /// The token in the header, unless this hub refused it.
    pub fn with_token_form(&self, e: Endpoint) -> Endpoint {
        if self.token_in_url_for.as_deref() == Some(e.base().as_str()) {
            e.with_form(TokenForm::Url)
        } else {
            e
        }
    }

    /// For the diagnosis: what the check found and the Busylights it listed.
    pub fn describe(&self) -> String {
        let devices = match &self.devices {
            Some(d) if d.is_empty() => ", no Busylight".to_string(),
            Some(d) => format!(", Busylights: {}", d.join(", ")),
            None => String::new(),
        };
        format!("{}{devices}", self.found())
    }

    fn found(&self) -> &'static str {
        if self.garbled {
            "answers, but not understandably"
        } else {
            self.status.as_str()
        }
    }
}

/// Whether a check step's answer proves a working kuandoHUB: `Ok(device names)` (empty for the steps
/// without devices) or what it shows instead. "No Busylight" (404 or `NO_DEVICE`) still proves a kuandoHUB
/// answers, as in the engine; only a plain-text "unknown action" is a verdict on the hub's version.
pub(super) fn classify_hub_answer(step: Step, outcome: &HubOutcome) -> Result<Vec<String>, Fault> {
    let kind = match step {
        Step::Probe => hub::RequestKind::Probe,
        Step::Presence => hub::RequestKind::CurrentPresence,
        Step::Devices => hub::RequestKind::Devices,
    };
    let names = outcome.answer().and_then(|(status, body)| match step {
        Step::Probe => hub::without_lamp(hub::parse_probe(status, body)).map(|()| Vec::new()),
        Step::Presence => {
            hub::without_lamp(hub::parse_current_presence(status, body)).map(|_| Vec::new())
        }
        Step::Devices => hub::without_lamp(hub::parse_devices(status, body)).map(|d| {
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
    });
    // The one rule the engine uses too (`hub::verdict`); "answered" cannot come with an error here, since
    // `without_lamp` already took "no Busylight" as an answer.
    names.map_err(|e| match hub::verdict(kind, &e) {
        hub::HubVerdict::Unauthorized => Fault::Hub(HubStatus::Unauthorized),
        hub::HubVerdict::TooOld => Fault::Hub(HubStatus::TooOld),
        hub::HubVerdict::BadAnswer => Fault::Garbled,
        hub::HubVerdict::Unreachable | hub::HubVerdict::Answered => {
            Fault::Hub(HubStatus::Unreachable)
        }
    })
}

impl ConfigApp {
    /// The banners' check, started now: from the background via [`ConfigApp::start_check`], or from the
    /// user's click on "Allow access to kuandoHUB" (then the browser can ask).
    pub(super) fn check_now(&mut self) {
        if self.hub.running {
            return;
        }
        let Some(ep) = self.checked_endpoint() else {
            return;
        };
        self.hub.running = true;
        self.send_hub(Purpose::Check(Step::Probe), ep.probe());
    }

    /// The banners' check unless the browser's permission holds it.
    pub(super) fn start_check(&mut self) {
        if self.lna.pending || self.lna.holds_checks() {
            return;
        }
        self.check_now();
    }

    pub(super) fn recheck(&mut self, now_ms: u64) {
        if self.service.has_no_license() {
            return;
        }
        if self.hub.running {
            // The running check used the old settings: run again right after it.
            self.hub.next_at = Some(now_ms);
        } else {
            self.hub.next_at = None;
            self.start_check();
        }
    }

    pub(super) fn stop_checks(&mut self) {
        self.hub.next_at = None;
        self.hub.running = false;
        self.inflight.retain(|_, p| !matches!(p, Purpose::Check(_)));
    }

    pub(super) fn test_connection(&mut self) {
        match self.form_endpoint() {
            Some(ep) => {
                self.hub.test = TestStatus::Running;
                self.hub.test_devices = None;
                self.send_hub(Purpose::Test(Step::Probe), ep.probe());
            }
            None => self.hub.test = TestStatus::Failed(Text::FixErrors.get(self.lang).to_string()),
        }
    }

    pub(super) fn checked_endpoint(&self) -> Option<Endpoint> {
        self.settings
            .stored_endpoint()
            .map(|e| self.hub.with_token_form(e))
    }

    pub(super) fn form_endpoint(&self) -> Option<Endpoint> {
        self.settings
            .form_endpoint(self.lang)
            .map(|e| self.hub.with_token_form(e))
    }

    /// A probe with the token header got no answer: asks without the token, to tell a hub that refuses the
    /// header's preflight from one that is down. True when asked.
    fn check_token_header(&mut self, check: bool, outcome: &HubOutcome) -> bool {
        let ep = if check {
            self.checked_endpoint()
        } else {
            self.form_endpoint()
        };
        let Some(ep) = ep else {
            return false;
        };
        if !matches!(outcome, HubOutcome::Network | HubOutcome::Timeout)
            || !ep.has_token()
            || ep.form() != TokenForm::Header
        {
            return false;
        }
        self.send_hub(Purpose::TokenCheck { check }, ep.token_check());
        true
    }

    pub(super) fn token_check_answer(&mut self, now_ms: u64, check: bool, outcome: &HubOutcome) {
        let ep = if check {
            self.checked_endpoint()
        } else {
            self.form_endpoint()
        };
        match (outcome, ep) {
            (HubOutcome::Answer { .. }, Some(ep)) => {
                self.hub.token_in_url_for = Some(ep.base().as_str().to_string());
                self.trace(crate::engine::TOKEN_IN_URL_TEXT);
                let ep = self.hub.with_token_form(ep);
                let purpose = if check {
                    Purpose::Check(Step::Probe)
                } else {
                    Purpose::Test(Step::Probe)
                };
                self.send_hub(purpose, ep.probe());
            }
            // Down, not picky: what the probe's failure said stands.
            _ if check => {
                if self.hub.running {
                    self.hub.devices = None;
                    self.finish_check(now_ms, Err(Fault::Hub(HubStatus::Unreachable)));
                }
            }
            _ => {
                if self.hub.test == TestStatus::Running {
                    self.hub.test =
                        TestStatus::Failed(Text::BannerNoHub.get(self.lang).to_string());
                }
            }
        }
    }

    fn finish_check(&mut self, now_ms: u64, found: Result<(), Fault>) {
        let (status, garbled) = match found {
            Ok(()) => (HubStatus::Reachable, false),
            Err(Fault::Hub(s)) => (s, false),
            Err(Fault::Garbled) => (HubStatus::Reachable, true),
        };
        let changed = (self.hub.status, self.hub.garbled) != (status, garbled);
        self.hub.status = status;
        self.hub.garbled = garbled;
        if changed {
            let t = format!("kuandoHUB check: {}", self.hub.found());
            self.trace(&t);
        }
        self.hub.running = false;
        if self.hub.next_at.is_none() {
            self.hub.next_at = Some(now_ms + CHECK_INTERVAL_MS);
        }
    }

    pub(super) fn check_answer(&mut self, now_ms: u64, step: Step, outcome: &HubOutcome) {
        if !self.hub.running {
            return;
        }
        let Some(ep) = self.checked_endpoint() else {
            self.hub.running = false;
            return;
        };
        match (step, classify_hub_answer(step, outcome)) {
            (_, Err(f @ Fault::Hub(HubStatus::Unauthorized))) => self.finish_check(now_ms, Err(f)),
            (Step::Probe, Ok(_)) => {
                self.send_hub(Purpose::Check(Step::Presence), ep.current_presence())
            }
            (Step::Probe, Err(_)) if self.check_token_header(true, outcome) => {}
            (Step::Probe, Err(f)) => {
                self.hub.devices = None;
                self.finish_check(now_ms, Err(f));
            }
            (Step::Presence, Ok(_)) => self.send_hub(Purpose::Check(Step::Devices), ep.devices()),
            (Step::Presence, Err(f)) => self.finish_check(now_ms, Err(f)),
            (Step::Devices, Ok(names)) => {
                self.hub.devices = Some(names);
                self.finish_check(now_ms, Ok(()));
            }
            (Step::Devices, Err(_)) => {
                // An answer that is not a device list: the hub works, the lamp list is unknown.
                self.hub.devices = None;
                self.finish_check(now_ms, Ok(()));
            }
        }
    }

    pub(super) fn test_answer(&mut self, step: Step, outcome: &HubOutcome) {
        if self.hub.test != TestStatus::Running {
            return;
        }
        let Some(ep) = self.form_endpoint() else {
            self.hub.test = TestStatus::Failed(Text::FixErrors.get(self.lang).to_string());
            return;
        };
        let lang = self.lang;
        match (step, classify_hub_answer(step, outcome)) {
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
                self.hub.test = TestStatus::Ok(trace::redact(&text, &self.settings.secrets()));
                self.hub.test_devices = Some(names);
            }
            (_, Err(f)) => {
                let text = match f {
                    Fault::Hub(HubStatus::Unauthorized) => Text::BannerToken,
                    Fault::Hub(HubStatus::TooOld) => Text::BannerTooOld,
                    Fault::Garbled => Text::BannerBadAnswer,
                    Fault::Hub(_) => Text::BannerNoHub,
                };
                self.hub.test = TestStatus::Failed(text.get(lang).to_string());
            }
        }
    }
}
