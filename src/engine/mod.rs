//! The synchronization engine: the concept's rules ("Synchronization Concept kuandoHUB®") as one deterministic,
//! sans-IO state machine, in the style of quinn-proto.
//!
//! Inputs arrive through `handle_*(now_ms, …)`; the engine answers with [`EngineAction`]s taken by
//! [`Connector::poll_action`], and tells when it next wants to be woken with [`Connector::poll_timeout`]
//! (then [`Connector::handle_timeout`]). No clock, no randomness, no IO: time and jitter come in as arguments,
//! so tests drive it through hours of virtual time in milliseconds.
//!
//! # The driver's contract
//! - Feed [`Connector::handle_license`] and [`Connector::handle_config`] (`Config::default()` if the service
//!   cannot provide one). Nothing reaches the hub before both are known and the license is one of the
//!   concept's.
//! - Send every [`EngineAction::Hub`] request, abort it after `timeout_ms`, and hand back its outcome with its id,
//!   exactly once. A driver that never answers is tolerated (the engine gives up on a request a little after
//!   its timeout and ignores a late answer).
//! - Send every [`EngineAction::SetPresence`] to the app service and hand back its result. Report the service
//!   connection with [`Connector::handle_service`]; a request in flight when the connection drops gets no
//!   result (the engine forgets it).
//! - Feed the user's own presence (`contact "tel:"`) on every `PresenceUpdated`, and every call event.
//! - Print every [`EngineAction::Trace`] line as it is: prefixed and redacted already.
//!
//! # Two lanes to the hub
//! Lamp commands are what a user notices first (the lamp must blink while the phone rings), so they never
//! queue behind a poll to a hub that hangs: the engine keeps one *poll lane* (probe, device list,
//! `currentpresence`) and one *lamp lane* (`RegisterDataSource`, `CreateInitialPriority`, lamp commands), each
//! with at most one request in flight. When the wanted lamp state changes while a command is in flight, only
//! the newest is sent after it completes: never two commands racing, never a stale one last.

mod calls;
mod hidden;
mod lamp;
mod missed;
mod poll;
mod presence;
mod report;

pub use calls::{call_slot, call_state_name, presence_slot, Calls, MAX_CALLS};
pub use lamp::{ALIVE_WITHIN_MS, YIELD_MS};
pub use missed::SETTLE_MS as MISSED_CALL_SETTLE_MS;
pub use presence::{
    show as show_presence, similar as similar_presence, HubView, ECHO_WINDOW_MS, MAX_NOTE_CHARS,
    PRESENCE_RETRY_BASE_MS, PRESENCE_RETRY_MAX_MS, PRESENCE_TIMEOUT_MS,
};
pub use report::{HubStatus, Status};

use crate::fifo::Fifo;
use std::fmt;

use crate::backoff::Backoff;
use crate::config::{Config, LampScheme, LampSlot, TraceFlags, DEFAULT_POLL_INTERVAL_S};
use crate::hub::{
    self, Endpoint, HubError, HubRequest, LampCommand, Method, RequestKind, TokenForm,
};
use crate::lna::Permission;
use crate::proto::{License, PresenceGuard};
use crate::state::{CallEvent, CallInfo, Presence};
use crate::trace::{self, App};
use presence::PresenceSync;

/// First retry after a hub failure; doubles per failure.
pub const RETRY_BASE_MS: u64 = 1_000;
/// Longest retry delay (before jitter, which only lengthens it): once the hub has been down a while, at most
/// one request per minute.
pub const RETRY_MAX_MS: u64 = 60_000;
/// Consecutive failures after which the hub counts as unreachable. One lost answer is a hiccup, not news.
pub const UNREACHABLE_AFTER: u32 = 2;
/// Bounds of the poll lane's request timeout: the poll interval, but never under 2 s (a busy PC may take a
/// moment) nor over 5 s (a hung hub must not stall presence sync for long).
pub const POLL_TIMEOUT_MIN_MS: u64 = 2_000;
pub const POLL_TIMEOUT_MAX_MS: u64 = 5_000;
/// Timeout of lamp-lane requests.
pub const LAMP_TIMEOUT_MS: u64 = 5_000;
/// While no Busylight is connected, the device list is asked again this often, so that a lamp plugged in later
/// gets the current state without waiting for the next call.
pub const DEVICE_RECHECK_MS: u64 = 300_000;
/// Consecutive unusable `currentpresence` answers (from a hub that answers the probe) after which it is
/// "too old". One garbled answer is not a verdict.
pub const TOO_OLD_AFTER: u32 = 2;
/// Poll interval of a hub that is too old for `currentpresence`: it is only asked now and then in case it was
/// updated, first after [`TOO_OLD_FIRST_RECHECK_MS`], doubling up to this.
pub const TOO_OLD_POLL_MS: u64 = 60_000;
/// First re-check after a "too old" verdict.
pub const TOO_OLD_FIRST_RECHECK_MS: u64 = 5_000;
/// How the status text of an unusable `currentpresence` answer (garbage, HTML, 5xx) starts.
const ANSWER_FAILED: &str = "kuandoHUB answer to currentpresence unusable";
/// Extra time the engine grants the driver beyond a request's timeout before it gives up on the request.
pub const DRIVER_GRACE_MS: u64 = 2_000;
/// Smallest gap between the end of one poll and the next, so that a hub slower than the poll interval is not
/// polled back to back.
const MIN_POLL_GAP_MS: u64 = 500;
/// How long the token goes in the URL after a hub refused the header's preflight, before the header is tried
/// again (a hub update may have taught it CORS preflights).
pub const TOKEN_HEADER_RETRY_MS: u64 = 3_600_000;
/// What the trace and the status panel say when the hub refuses the token header.
pub const TOKEN_IN_URL_TEXT: &str =
    "kuandoHUB does not accept the token header; the token goes in the URL";
/// Distinct ignored hub values remembered for "traced once" (bounded memory for an app that runs all day).
const MAX_IGNORED: usize = 64;

/// Identifies a hub request; the driver hands it back with the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// `#n`, for traces.
impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// What became of a hub request (the driver's answer, shared with the config app).
pub use crate::hub::HubOutcome;

/// Something the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineAction {
    /// Send this request to the hub; abort it after `timeout_ms`; return the outcome with `id`.
    Hub {
        id: RequestId,
        request: HubRequest,
        timeout_ms: u64,
    },
    /// Ask the app service to set the user's presence (`contact "tel:"`) to exactly this, telling its presence
    /// guard why (a claim because of the hub, or a release); hand the result back with `id`.
    SetPresence {
        id: RequestId,
        presence: Presence,
        guard: PresenceGuard,
    },
    /// A complete trace line (or lines), prefixed `kuando-log:` and redacted.
    Trace(String),
    /// The status snapshot changed.
    Status(Status),
}

/// Which trace group a line belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// Transitions and errors: always traced. An always-running app must stay quiet otherwise.
    Always,
    Hub,
    Calls,
    Presence,
    Debug,
}

/// Collects the actions; formats and filters trace lines.
#[derive(Clone, Default)]
struct Out {
    actions: Fifo<EngineAction>,
    flags: TraceFlags,
    /// The hub token: masked wherever it might stand.
    secret: String,
    /// Every line, whatever the flags say, for the diagnosis (see [`crate::ring`]).
    ring: crate::ring::TraceRing,
}

impl Out {
    fn push(&mut self, a: EngineAction) {
        self.actions.push_back(a);
    }

    fn trace(&mut self, level: Level, text: &str) {
        let on = match level {
            Level::Always => true,
            Level::Hub => self.flags.hub,
            Level::Calls => self.flags.calls,
            Level::Presence => self.flags.presence,
            Level::Debug => self.flags.debug,
        };
        let line = if self.secret.is_empty() {
            trace::line(App::Connector, text, &[])
        } else {
            trace::line(App::Connector, text, &[self.secret.as_str()])
        };
        self.ring.push(&line);
        if on {
            self.actions.push_back(EngineAction::Trace(line));
        }
    }
}

/// The connection to the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HubLink {
    /// Not running: unlicensed, no settings, or shut down.
    Off,
    /// Waiting to probe at `at`.
    Waiting { at: u64 },
    /// The probe is in flight.
    Probing,
    /// The probe succeeded: a session runs (registration, lamp, polls).
    Up,
}

/// Registration steps on the lamp lane at the start of each session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LampSetup {
    NeedRegister,
    NeedPriority,
    Ready,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LaneId {
    Poll,
    Lamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct InFlight {
    id: RequestId,
    kind: RequestKind,
    /// Results of an earlier session only free the lane; their content is stale.
    session: u64,
    deadline: u64,
}

/// The synchronization engine. See the module documentation.
#[derive(Clone)]
pub struct Connector {
    now: u64,
    out: Out,
    license: Option<License>,
    config: Option<Config>,
    endpoint: Option<Endpoint>,
    shut_down: bool,
    next_id: u64,
    jitter: u32,

    link: HubLink,
    session: u64,
    backoff: Backoff,
    hub_status: HubStatus,
    /// The link state last traced, so that only transitions are traced.
    traced_link: HubStatus,
    /// The session has seen a real answer beyond the probe (resets the back-off; see `mark_healthy`).
    healthy: bool,
    /// The session sent its first `currentpresence` (traced like the concept's start-up; later polls not).
    polled: bool,
    poll_lane: Option<InFlight>,
    lamp_lane: Option<InFlight>,
    next_poll_at: Option<u64>,
    last_poll_sent: u64,
    need_devices: bool,
    devices_check_at: Option<u64>,
    devices: Option<usize>,
    lamp_404: bool,
    no_device_traced: bool,
    lamp_setup: LampSetup,
    /// The lamp command wanted, acknowledged, owed and reported for the connector's sender.
    lamp: lamp::LampIntent,
    /// The last `currentpresence` failed (or said `NO_DEVICE`): its next proper answer sends what is owed.
    poll_failed: bool,
    /// When the failing hub is (or was last) tried again; kept while the retry's probe is in flight so that
    /// the status changes once per retry, not twice.
    retry_at: Option<u64>,
    /// Consecutive plain-text "unknown action" answers to `currentpresence` (the "too old" evidence).
    bad_polls: u32,
    /// Consecutive unusable (garbage, HTML, 5xx) `currentpresence` answers: the poll lane's back-off, capped
    /// at the poll interval.
    answer_failures: Backoff,
    /// Re-checks of a hub found too old: 5 s doubling to 60 s.
    too_old_rechecks: Backoff,
    last_running: Option<(String, String, String)>,
    /// At most `MAX_IGNORED` entries: a Vec is enough.
    ignored: Vec<(String, String, String)>,
    /// Since when the hub's state is not known (failed or unusable polls); `None` while polls work.
    hub_unknown_since: Option<u64>,
    last_error: Option<String>,
    last_lamp: Option<(Option<LampSlot>, LampCommand)>,

    /// The browser's Local Network Access permission (see [`crate::lna`]).
    lna: Permission,

    /// The missed-call notification (see [`missed`]).
    missed: missed::MissedCalls,

    /// Where the token goes for this hub URL (the header, unless the hub refused its preflight).
    token_form: TokenForm,
    /// While the token goes in the URL: when the header is tried again.
    header_retry_at: u64,
    /// The header form's failure, while the token check (a request without the header) is in flight.
    header_failure: Option<HubError>,
    /// The hub's refusal of the header was said (once per hub URL).
    token_in_url_said: bool,

    calls: Calls,
    presence: PresenceSync,
    hidden: hidden::HiddenCalls,
    last_status: Option<Status>,
}

/// Shows the status only: the settings hold the token, and `{:?}` of an engine must be safe to log.
impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("now", &self.now)
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl Default for Connector {
    fn default() -> Self {
        Connector::new()
    }
}

impl Connector {
    /// A connector that knows nothing yet. Queues the start-up debug dump, like the concept's trace.
    pub fn new() -> Connector {
        let mut c = Connector {
            now: 0,
            out: Out::default(),
            license: None,
            config: None,
            endpoint: None,
            shut_down: false,
            next_id: 1,
            jitter: 0,
            link: HubLink::Off,
            session: 0,
            backoff: Backoff::new(RETRY_BASE_MS, RETRY_MAX_MS),
            hub_status: HubStatus::Unknown,
            traced_link: HubStatus::Unknown,
            healthy: false,
            polled: false,
            poll_lane: None,
            lamp_lane: None,
            next_poll_at: None,
            last_poll_sent: 0,
            need_devices: false,
            devices_check_at: None,
            devices: None,
            lamp_404: false,
            no_device_traced: false,
            lamp_setup: LampSetup::NeedRegister,
            lamp: lamp::LampIntent::default(),
            poll_failed: false,
            retry_at: None,
            bad_polls: 0,
            answer_failures: Backoff::new(RETRY_BASE_MS, RETRY_MAX_MS),
            too_old_rechecks: Backoff::new(TOO_OLD_FIRST_RECHECK_MS, TOO_OLD_POLL_MS),
            last_running: None,
            ignored: Vec::new(),
            hub_unknown_since: None,
            last_error: None,
            last_lamp: None,
            lna: Permission::Unknown,
            missed: missed::MissedCalls::default(),
            token_form: TokenForm::Header,
            header_retry_at: 0,
            header_failure: None,
            token_in_url_said: false,
            calls: Calls::default(),
            presence: PresenceSync::default(),
            hidden: hidden::HiddenCalls::default(),
            last_status: None,
        };
        c.dump();
        c
    }

    // ----- inputs -----

    /// The user's settings were loaded or changed. The same settings again change nothing.
    pub fn handle_config(&mut self, now_ms: u64, config: Config) {
        self.tick(now_ms);
        if self.shut_down || self.config.as_ref() == Some(&config) {
            return;
        }
        self.out.flags = config.trace;
        let old_interval = self.interval_ms();
        let endpoint = config.endpoint();
        self.config = Some(config);
        match endpoint {
            Ok(ep) => {
                if self.endpoint.as_ref() != Some(&ep) {
                    if self.link == HubLink::Up {
                        // Moving to another hub: give the old one's lamp back first.
                        self.logout();
                    }
                    self.out.secret = ep.token().to_string();
                    self.endpoint = Some(ep);
                    self.token_in_url_said = false;
                    if self.hub_status == HubStatus::NotConfigured {
                        self.hub_status = HubStatus::Unknown;
                        self.last_error = None;
                    }
                    if self.link != HubLink::Off {
                        self.restart_link();
                    }
                }
            }
            Err(e) => {
                if self.link != HubLink::Off {
                    self.stop();
                }
                self.endpoint = None;
                self.hub_status = HubStatus::NotConfigured;
                self.traced_link = HubStatus::NotConfigured;
                self.set_error(format!("kuandoHUB URL {}", e.as_str()));
            }
        }
        // A settings change tries the token header again.
        self.token_form = TokenForm::Header;
        if self.missed_call_look().is_none() && self.missed.clear() {
            self.out
                .trace(Level::Always, "missed call notification switched off");
        }
        let interval = self.interval_ms();
        if interval != old_interval {
            if let Some(t) = self.next_poll_at {
                self.next_poll_at = Some(t.min(self.last_poll_sent.saturating_add(interval)));
            }
        }
        self.update_activity();
        self.step();
    }

    /// The user's license, as the service reports it. `License::None` stops the connector.
    pub fn handle_license(&mut self, now_ms: u64, license: License) {
        self.tick(now_ms);
        if self.shut_down || self.license == Some(license) {
            return;
        }
        let was = self.license.replace(license);
        if license == License::None {
            self.out
                .trace(Level::Always, "no app license, stop service");
        } else if was == Some(License::None) {
            self.out
                .trace(Level::Always, "app license found, start service");
        }
        self.update_activity();
        self.step();
    }

    /// A call event from myApps (`com.innovaphone.phoneinfo`).
    pub fn handle_call(&mut self, now_ms: u64, event: CallEvent) {
        self.tick(now_ms);
        if self.shut_down {
            return;
        }
        let key = match &event {
            CallEvent::Added(k) | CallEvent::Updated(k, _) | CallEvent::Removed(k) => k.clone(),
        };
        let old = self.calls.info(&key);
        if self.calls.event(&event) {
            let new = self.calls.info(&key);
            let seen = self.missed.observe(self.now, &key, old, new);
            self.on_seen(seen);
            let text = match &event {
                CallEvent::Added(k) => format!("call {}/{} added", k.provider, k.id),
                CallEvent::Updated(k, i) => {
                    let state = i.state.map(|s| s.as_str()).unwrap_or("?");
                    let dir = match i.dir {
                        Some(crate::state::Direction::Incoming) => "incoming",
                        Some(crate::state::Direction::Outgoing) => "outgoing",
                        None => "",
                    };
                    format!("call {}/{}: {state} {dir}", k.provider, k.id)
                }
                CallEvent::Removed(k) => format!("call {}/{} removed", k.provider, k.id),
            };
            self.out.trace(Level::Calls, text.trim_end());
        }
        self.step();
    }

    /// The full call list of one phone app (`com.innovaphone.phone` model): replaces that provider's calls.
    pub fn handle_phone_calls(
        &mut self,
        now_ms: u64,
        provider: &str,
        calls: Vec<(String, CallInfo)>,
    ) {
        self.tick(now_ms);
        if self.shut_down {
            return;
        }
        let old = self.calls.of_provider(provider);
        if self.calls.replace_provider(provider, &calls) {
            let new = self.calls.of_provider(provider);
            for (key, info) in &old {
                let now_info = new.iter().find(|(k, _)| k == key).map(|(_, i)| *i);
                let seen = self.missed.observe(self.now, key, Some(*info), now_info);
                self.on_seen(seen);
            }
            for (key, info) in &new {
                if !old.iter().any(|(k, _)| k == key) {
                    let seen = self.missed.observe(self.now, key, None, Some(*info));
                    self.on_seen(seen);
                }
            }
            self.out.trace(
                Level::Calls,
                &format!("calls of {provider}: {}", calls.len()),
            );
        }
        self.step();
    }

    /// The user's presence (`contact "tel:"`) as the PBX reports it.
    pub fn handle_own_presence(&mut self, now_ms: u64, presence: Presence) {
        self.tick(now_ms);
        if self.shut_down {
            return;
        }
        self.presence
            .own_presence(self.now, presence, &mut self.out);
        self.step();
    }

    /// The outcome of hub request `id`. `jitter` is any random number; it spreads retries.
    pub fn handle_hub_result(
        &mut self,
        now_ms: u64,
        id: RequestId,
        outcome: HubOutcome,
        jitter: u32,
    ) {
        self.tick(now_ms);
        self.jitter = jitter;
        if self.shut_down {
            return;
        }
        let lane = if self.poll_lane.is_some_and(|f| f.id == id) {
            self.poll_lane.take()
        } else if self.lamp_lane.is_some_and(|f| f.id == id) {
            self.lamp_lane.take()
        } else {
            // Unknown or given up: nothing to pair it with.
            None
        };
        if let Some(f) = lane {
            if f.session == self.session {
                let reply = match outcome {
                    HubOutcome::Answer { status, body } => Ok((status, body)),
                    HubOutcome::Timeout => Err(HubError::Timeout),
                    HubOutcome::Network => Err(HubError::Network),
                };
                self.on_reply(f.kind, reply);
            }
        }
        self.step();
    }

    /// The app-service websocket is connected (`true`) or not.
    pub fn handle_service(&mut self, now_ms: u64, up: bool) {
        self.tick(now_ms);
        if self.shut_down {
            return;
        }
        self.presence.service(up, &mut self.out);
        self.step();
    }

    /// The result of `SetPresence` request `id` (`Err` carries the service's error text). A result for any
    /// other request than the one in flight is ignored.
    pub fn handle_presence_result(
        &mut self,
        now_ms: u64,
        id: RequestId,
        result: Result<(), String>,
    ) {
        self.tick(now_ms);
        if self.shut_down {
            return;
        }
        let jitter = self.next_jitter();
        self.presence
            .result(self.now, id, result, jitter, &mut self.out);
        self.step();
    }

    /// The page is going away: `Logout` for the connector's sender and the user's own presence back.
    /// Afterwards the connector does nothing.
    pub fn handle_shutdown(&mut self, now_ms: u64) {
        self.tick(now_ms);
        if self.shut_down {
            return;
        }
        self.out
            .trace(Level::Debug, "shutdown: Logout and presence given back");
        self.release();
        self.shut_down = true;
        self.poll_lane = None;
        self.lamp_lane = None;
        self.emit_status();
    }

    /// The browser's Local Network Access permission, as the driver read it (again on every change). While it
    /// is `denied` the hub is tried once per [`RETRY_MAX_MS`] only; while `prompt`, failures keep the ordinary
    /// back-off and show as `NeedsPermission`; on a change away from these, the hub is tried at once.
    pub fn handle_local_network(&mut self, now_ms: u64, permission: Permission) {
        self.tick(now_ms);
        if self.shut_down || self.lna == permission {
            return;
        }
        let was = self.lna;
        self.lna = permission;
        self.out.trace(
            Level::Always,
            &format!("local network permission: {}", permission.as_str()),
        );
        // `prompt` alone holds nothing back: browsers report it also where the permission does not apply (a
        // page in the hub's own address space), and there the hub answers. Only a request that failed while
        // the browser would ask holds the background requests (see `link_failed`).
        if self.link != HubLink::Off {
            if permission == Permission::Denied {
                self.block_link();
            } else if was == Permission::Denied || self.hub_status == HubStatus::NeedsPermission {
                self.restart_link();
            }
        }
        self.step();
    }

    /// Time passed: call at (or after) [`Connector::poll_timeout`].
    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.tick(now_ms);
        if self.shut_down {
            return;
        }
        self.step();
    }

    /// The user cleared the missed-call notification in the config app.
    pub fn handle_clear_missed_call(&mut self, now_ms: u64) {
        self.tick(now_ms);
        if self.shut_down {
            return;
        }
        if self.missed.clear() {
            self.out.trace(
                Level::Always,
                "missed call notification cleared by the user",
            );
        }
        self.step();
    }

    /// Queues the debug dump (`lamp_myapps_state`, `lamp_call_state`, `kuando_hub_installed`, `count_calls`).
    pub fn request_debug_dump(&mut self) {
        self.dump();
    }

    // ----- outputs -----

    /// The next thing to do, if any.
    pub fn poll_action(&mut self) -> Option<EngineAction> {
        self.out.actions.pop_front()
    }

    /// When to call [`Connector::handle_timeout`] next (engine time, ms); `None`: only on input.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.shut_down {
            return None;
        }
        let mut next: Option<u64> = None;
        let mut at = |t: u64| next = Some(next.map_or(t, |n| n.min(t)));
        for f in [self.poll_lane, self.lamp_lane].into_iter().flatten() {
            at(f.deadline);
        }
        match self.link {
            HubLink::Waiting { at: t } if self.poll_lane.is_none() => at(t),
            HubLink::Up if self.poll_lane.is_none() => {
                if let Some(t) = self.next_poll_at {
                    at(t);
                }
                if let Some(t) = self.devices_check_at {
                    at(t);
                }
            }
            _ => {}
        }
        if self.link == HubLink::Up
            && self.lamp_lane.is_none()
            && self.lamp_setup == LampSetup::Ready
        {
            if let Some(t) = self.lamp.retry_at(self.lamp_wanted()) {
                at(t);
            }
            if let Some(t) = self.missed.retry_at(self.missed_call_wanted()) {
                at(t);
            }
        }
        if let Some(t) = self.stale_deadline() {
            at(t);
        }
        if let Some(t) = self.missed.settle_at() {
            at(t);
        }
        if let Some(t) = self.missed_expiry() {
            at(t);
        }
        if let Some(t) = self.presence.next_deadline(self.presence_allowed()) {
            at(t);
        }
        next
    }

    /// The lamp command the connector wants the hub to run now (`Off` releases the lamp).
    pub fn lamp_command(&self) -> LampCommand {
        let Some(slot) = self.lamp_slot() else {
            return LampCommand::Off;
        };
        // A setting that does not make a command (a corrupted config; the service validates) falls back to the
        // default scheme rather than leaving the lamp wrong.
        self.config
            .as_ref()
            .and_then(|c| c.lamp.get(slot).command())
            .or_else(|| LampScheme::default().get(slot).command())
            .unwrap_or(LampCommand::Off)
    }

    /// The lamp command with the state it shows, as it goes to the hub: the state labels the command
    /// (`Call` / `Connected`, `Presence` / `Away`, ...) so that the hub ranks the connector's calls above other
    /// apps' calls and its presence colours below them. Two states with the same colour are still two
    /// commands: from "busy" (presence) to a connected call (red both) the label changes, and so does the rank.
    /// `Off` releases the sender whatever the state, so it carries none: one release for all of them.
    fn lamp_wanted(&self) -> (LampCommand, Option<LampSlot>) {
        let cmd = self.lamp_command();
        let slot = if cmd.releases() {
            None
        } else {
            self.lamp_slot()
        };
        (cmd, slot)
    }

    // ----- internals -----

    fn tick(&mut self, now: u64) {
        // Time never runs backwards for the engine, whatever the driver's clock does.
        self.now = self.now.max(now);
    }

    fn next_jitter(&mut self) -> u32 {
        // A step of a linear congruential generator seeded by the driver's last jitter: spreads presence
        // retries without a random source of the engine's own.
        self.jitter = self
            .jitter
            .wrapping_mul(1_664_525)
            .wrapping_add(1_013_904_223);
        self.jitter
    }

    fn interval_ms(&self) -> u64 {
        let s = self
            .config
            .as_ref()
            .map_or(DEFAULT_POLL_INTERVAL_S, |c| c.poll_interval)
            .clamp(1, 60);
        u64::from(s) * 1000
    }

    fn poll_timeout_ms(&self) -> u64 {
        self.interval_ms()
            .clamp(POLL_TIMEOUT_MIN_MS, POLL_TIMEOUT_MAX_MS)
    }

    fn licensed(&self) -> bool {
        matches!(
            self.license,
            Some(License::Connector | License::WithBusylight)
        )
    }

    fn active(&self) -> bool {
        !self.shut_down && self.licensed() && self.config.is_some() && self.endpoint.is_some()
    }

    fn presence_allowed(&self) -> bool {
        !self.shut_down && self.licensed()
    }

    fn no_device(&self) -> bool {
        self.lamp_404 || self.devices == Some(0)
    }

    fn url(&self) -> String {
        self.endpoint
            .as_ref()
            .map(|e| e.base().as_str().to_string())
            .unwrap_or_default()
    }

    fn lamp_slot(&self) -> Option<LampSlot> {
        // Rule 1: calls first, then the user's *own* presence (rule 4: never the one the connector set).
        self.calls
            .slot()
            .or_else(|| self.presence.user().and_then(presence_slot))
    }

    fn update_activity(&mut self) {
        let should = self.active();
        let running = self.link != HubLink::Off;
        if should && !running {
            self.restart_link();
        } else if !should && running {
            self.stop();
        }
    }

    /// Starts (again) from a probe now, with a fresh back-off (unless the browser's permission holds it back).
    fn restart_link(&mut self) {
        self.end_session();
        self.backoff.reset();
        self.link = HubLink::Waiting { at: self.now };
        self.retry_at = None;
        self.hub_status = HubStatus::Unknown;
        self.traced_link = HubStatus::Unknown;
        if self.lna == Permission::Denied {
            self.block_link();
        }
    }

    // `prompt` holds no background request back: Chromium reports it also where the permission does not apply
    // (a page in the hub's own address space), so a failed request while `prompt` may be an ordinary hub
    // outage, and a connector that then stopped trying would stay dead all day. Failures while `prompt` keep
    // the ordinary back-off (at most one try a minute once it has grown) and the status `NeedsPermission`.

    /// The browser's permission is `denied`: the session ends (its hub state becomes unknown, so rule 5 gives a
    /// presence from it back), the status says why, and the hub is tried once a minute only (in case the
    /// browser let go without telling).
    fn block_link(&mut self) {
        self.end_session();
        let (status, text) = (
            HubStatus::Blocked,
            "the browser blocks access to kuandoHUB (local network permission denied)",
        );
        let at = self.now.saturating_add(RETRY_MAX_MS);
        self.link = HubLink::Waiting { at };
        self.retry_at = Some(at);
        self.hub_status = status;
        self.traced_link = status;
        self.set_error(text.to_string());
    }

    /// Stops working with the hub: the lamp and any presence the connector set are given back.
    fn stop(&mut self) {
        self.release();
        if self.hub_status != HubStatus::NotConfigured {
            self.hub_status = HubStatus::Unknown;
            self.traced_link = HubStatus::Unknown;
        }
    }

    /// Gives back what the connector holds (the lamp by `Logout`, any presence it set) and leaves the hub.
    fn release(&mut self) {
        if self.link == HubLink::Up {
            self.logout();
        }
        self.presence.release_all(&mut self.next_id, &mut self.out);
        self.end_session();
        self.link = HubLink::Off;
        self.retry_at = None;
    }

    /// `Logout` for the connector's sender, outside the lanes: it is the last word to this hub.
    fn logout(&mut self) {
        self.missed.logged_out();
        if let Some(ep) = self.endpoint() {
            let request = ep.command(LampCommand::Logout, None);
            let id = RequestId(self.next_id);
            self.next_id += 1;
            self.trace_request(&request);
            self.out.push(EngineAction::Hub {
                id,
                request,
                timeout_ms: LAMP_TIMEOUT_MS,
            });
        }
    }

    /// Forgets everything about the current session; answers to its requests will be ignored.
    fn end_session(&mut self) {
        self.session += 1;
        self.lamp_setup = LampSetup::NeedRegister;
        self.lamp.new_session();
        self.missed.new_session();
        self.poll_failed = false;
        self.next_poll_at = None;
        self.devices_check_at = None;
        self.need_devices = false;
        self.bad_polls = 0;
        self.answer_failures.reset();
        self.too_old_rechecks.reset();
        self.healthy = false;
        self.polled = false;
        self.last_running = None;
        self.hidden.reset();
        if self.hub_unknown_since.is_none() {
            self.hub_unknown_since = Some(self.now);
        }
    }

    fn set_error(&mut self, text: String) {
        if self.last_error.as_deref() != Some(text.as_str()) {
            self.out.trace(Level::Always, &text);
            self.last_error = Some(text);
        }
    }

    fn step(&mut self) {
        self.expire_lanes();
        self.check_missed_call();
        self.drive_link();
        self.check_staleness();
        let allowed = self.presence_allowed();
        let jitter = self.jitter;
        self.presence
            .reconcile(self.now, allowed, jitter, &mut self.next_id, &mut self.out);
        self.trace_lamp_change();
        self.emit_status();
    }

    /// Gives up on requests the driver did not answer in time.
    fn expire_lanes(&mut self) {
        for lane in [LaneId::Poll, LaneId::Lamp] {
            let slot = match lane {
                LaneId::Poll => &mut self.poll_lane,
                LaneId::Lamp => &mut self.lamp_lane,
            };
            if let Some(f) = slot.filter(|f| self.now >= f.deadline) {
                *slot = None;
                if f.session == self.session {
                    self.on_reply(f.kind, Err(HubError::Timeout));
                }
            }
        }
    }

    fn send(&mut self, lane: LaneId, request: HubRequest, timeout_ms: u64) {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        // While the hub is down, retries are not traced one by one, even with hub traces on: the transition
        // line already said when the next try comes.
        let retrying = request.kind == RequestKind::Probe
            && matches!(
                self.traced_link,
                HubStatus::Unreachable | HubStatus::Unauthorized
            );
        // Polls are the steady heartbeat: with hub traces on, only a session's first is traced, or the trace
        // would get a line per poll interval all day. Their *results* are traced when they change.
        let heartbeat = matches!(
            request.kind,
            RequestKind::CurrentPresence | RequestKind::OwnPriority(_)
        ) && self.polled;
        if request.kind == RequestKind::CurrentPresence {
            self.polled = true;
        }
        if !retrying && !heartbeat {
            self.trace_request(&request);
        }
        let f = InFlight {
            id,
            kind: request.kind,
            session: self.session,
            deadline: self
                .now
                .saturating_add(timeout_ms)
                .saturating_add(DRIVER_GRACE_MS),
        };
        match lane {
            LaneId::Poll => self.poll_lane = Some(f),
            LaneId::Lamp => self.lamp_lane = Some(f),
        }
        self.out.push(EngineAction::Hub {
            id,
            request,
            timeout_ms,
        });
    }

    fn trace_request(&mut self, request: &HubRequest) {
        let text = match request.method {
            Method::Get => format!("init http get request: {}", request.url),
            Method::Post => format!(
                "init http post request: {} {}",
                request.url,
                request.body.as_deref().unwrap_or("")
            ),
        };
        self.out.trace(Level::Hub, &text);
    }

    fn drive_link(&mut self) {
        if self.shut_down {
            return;
        }
        let now = self.now;
        if self.token_form == TokenForm::Url && now >= self.header_retry_at {
            self.token_form = TokenForm::Header;
            self.out.trace(Level::Hub, "trying the token header again");
        }
        let Some(ep) = self.endpoint() else {
            return;
        };
        match self.link {
            HubLink::Off | HubLink::Probing => {}
            HubLink::Waiting { at } => {
                if now >= at && self.poll_lane.is_none() {
                    self.link = HubLink::Probing;
                    let t = self.poll_timeout_ms();
                    self.send(LaneId::Poll, ep.probe(), t);
                }
            }
            HubLink::Up => {
                if self.lamp_lane.is_none() {
                    match self.lamp_setup {
                        LampSetup::NeedRegister => {
                            self.send(LaneId::Lamp, ep.register_data_source(), LAMP_TIMEOUT_MS)
                        }
                        LampSetup::NeedPriority => {
                            self.send(LaneId::Lamp, ep.create_initial_priority(), LAMP_TIMEOUT_MS)
                        }
                        LampSetup::Ready => {
                            let want = self.lamp_wanted();
                            let notification = self.missed_call_wanted();
                            if self.lamp.due(want, now) {
                                self.lamp.sent(now, want);
                                self.send(
                                    LaneId::Lamp,
                                    ep.command(want.0, want.1),
                                    LAMP_TIMEOUT_MS,
                                );
                            } else if self.missed.due(notification, now) {
                                self.missed.sent(notification);
                                let request = match notification {
                                    Some(cmd) => ep.start_notification(cmd),
                                    None => ep.stop_notification(),
                                };
                                self.send(LaneId::Lamp, request, LAMP_TIMEOUT_MS);
                            }
                        }
                    }
                }
                if self.poll_lane.is_none() {
                    let t = self.poll_timeout_ms();
                    if let Some(i) = self.hidden.next_request() {
                        self.send(LaneId::Poll, ep.own_priority(i), t);
                    } else if self.need_devices || self.devices_check_at.is_some_and(|d| now >= d) {
                        self.need_devices = false;
                        self.devices_check_at = None;
                        self.send(LaneId::Poll, ep.devices(), t);
                    } else if self.next_poll_at.is_some_and(|p| now >= p) {
                        self.next_poll_at = None;
                        self.last_poll_sent = now;
                        self.send(LaneId::Poll, ep.current_presence(), t);
                    }
                }
            }
        }
    }

    fn on_reply(&mut self, kind: RequestKind, reply: Result<(u16, Vec<u8>), HubError>) {
        fn parse<T>(
            reply: &Result<(u16, Vec<u8>), HubError>,
            f: fn(u16, &[u8]) -> Result<T, HubError>,
        ) -> Result<T, HubError> {
            match reply {
                Ok((status, body)) => f(*status, body),
                Err(e) => Err(e.clone()),
            }
        }
        // Failures that end the session: the hub is gone, hangs, or refuses the token.
        let fatal = |e: &HubError| {
            matches!(
                hub::verdict(kind, e),
                hub::HubVerdict::Unreachable | hub::HubVerdict::Unauthorized
            )
        };
        match kind {
            // "No Busylight" still proves a kuandoHUB answers.
            RequestKind::Probe => match hub::without_lamp(parse(&reply, hub::parse_probe)) {
                Ok(()) => self.session_up(),
                Err(e) => {
                    if !self.check_token_header(&e) {
                        self.link_failed(e)
                    }
                }
            },
            RequestKind::TokenCheck => {
                let header_error = self.header_failure.take().unwrap_or(HubError::Network);
                if reply.is_ok() {
                    self.token_in_url();
                } else {
                    self.link_failed(header_error);
                }
            }
            RequestKind::Devices => match hub::without_lamp(parse(&reply, hub::parse_devices)) {
                Ok(list) => self.set_devices(list.len()),
                Err(e) if fatal(&e) => self.link_failed(e),
                Err(e) => {
                    self.mark_healthy();
                    self.out
                        .trace(Level::Hub, &format!("busylightdevices: {}", e.text()));
                }
            },
            RequestKind::CurrentPresence => {
                self.on_poll(parse(&reply, hub::parse_current_presence))
            }
            RequestKind::OwnPriority(i) => {
                let sender = hub::CALL_SOURCES.get(usize::from(i)).copied();
                let answer = match &reply {
                    Ok((status, body)) => {
                        hub::parse_own_priority(*status, body, sender.unwrap_or_default())
                    }
                    Err(e) => Err(e.clone()),
                };
                match answer {
                    Err(e) if fatal(&e) => self.link_failed(e),
                    answer => {
                        if let Some(view) = self.hidden.answer(i, answer) {
                            self.presence.set_hub(view, &mut self.out);
                        }
                        if let Some(text) = self.hidden.take_news() {
                            self.out.trace(Level::Always, text);
                        }
                    }
                }
            }
            RequestKind::RegisterDataSource | RequestKind::CreateInitialPriority => {
                match parse(&reply, hub::parse_command_response) {
                    Err(e) if fatal(&e) => self.link_failed(e),
                    other => {
                        // Tolerant: a hub that does not know these actions still takes lamp commands (posting
                        // under a sender registers it), so the lamp is not held back.
                        self.mark_healthy();
                        if let Err(e) = other {
                            let what = match kind {
                                RequestKind::RegisterDataSource => "RegisterDataSource",
                                _ => "CreateInitialPriority",
                            };
                            self.out.trace(Level::Hub, &format!("{what}: {}", e.text()));
                        }
                        self.lamp_setup = match kind {
                            RequestKind::RegisterDataSource => LampSetup::NeedPriority,
                            _ => LampSetup::Ready,
                        };
                    }
                }
            }
            RequestKind::StartNotification | RequestKind::StopNotification => {
                self.on_notification_reply(kind, parse(&reply, hub::parse_command_response))
            }
            RequestKind::Command(cmd, event) => match parse(&reply, hub::parse_command_response) {
                Ok(()) => {
                    self.mark_healthy();
                    if self.lamp.accepted((cmd, event)) {
                        self.out.trace(
                            Level::Always,
                            &format!("lamp command {} taken by kuandoHUB now", cmd.describe()),
                        );
                    }
                    if self
                        .last_error
                        .as_deref()
                        .is_some_and(|t| t.starts_with("lamp command"))
                    {
                        self.last_error = None;
                    }
                }
                Err(e) if fatal(&e) => self.link_failed(e),
                Err(e) => {
                    // Not acknowledged: owed, and sent again with back-off; at once when the hub answers
                    // properly again or a Busylight is plugged in (see `lamp`).
                    self.mark_healthy();
                    let no_device = e == HubError::NoDevice;
                    let jitter = self.jitter;
                    let (delay, news) = self.lamp.refused(self.now, (cmd, event), jitter);
                    let text = format!("lamp command {} owed: {}; sent again in {} s, or when kuandoHUB takes commands again", cmd.describe(), e.text(), delay.div_ceil(1000));
                    // Once per owed command; without a Busylight once until one is connected.
                    let level = if news && !(no_device && self.no_device_traced) {
                        Level::Always
                    } else {
                        Level::Hub
                    };
                    self.out.trace(level, &text);
                    if no_device {
                        self.lamp_404 = true;
                        // The device list is asked each poll interval while a command is owed, so that a
                        // Busylight plugged in gets it at once.
                        self.devices_check_at = Some(self.now.saturating_add(self.interval_ms()));
                        self.trace_no_device();
                    } else if news {
                        self.last_error = Some(format!(
                            "lamp command {} failed: {}",
                            cmd.describe(),
                            e.text()
                        ));
                    }
                }
            },
        }
    }

    /// The hub endpoint with the token where it goes now.
    fn endpoint(&self) -> Option<Endpoint> {
        self.endpoint.clone().map(|e| e.with_form(self.token_form))
    }

    /// The look of the missed-call notification the settings ask for; `None`: switched off.
    fn missed_call_look(&self) -> Option<LampCommand> {
        self.config.as_ref().and_then(|c| c.missed_call.command())
    }

    /// What the hub should show as the missed-call notification (`None`: none).
    fn missed_call_wanted(&self) -> Option<LampCommand> {
        self.missed.since().and(self.missed_call_look())
    }

    /// When the shown missed call ends by itself (`None`: never, or none shown).
    fn missed_expiry(&self) -> Option<u64> {
        let minutes = self.config.as_ref()?.missed_call.minutes;
        let since = self.missed.since()?;
        (minutes > 0).then(|| since.saturating_add(u64::from(minutes) * 60_000))
    }

    fn on_seen(&mut self, seen: missed::Seen) {
        if seen == missed::Seen::UserCall && self.missed.clear() {
            self.out
                .trace(Level::Always, "missed call notification ended: next call");
        }
    }

    /// A call that ended unanswered becomes a missed call; a shown one ends when its time is up.
    fn check_missed_call(&mut self) {
        let now = self.now;
        if self.missed.settle(now) && self.missed_call_look().is_some() {
            self.out.trace(Level::Always, "missed call");
        }
        if self.missed_call_look().is_none() {
            self.missed.clear();
        }
        if self.missed_expiry().is_some_and(|t| now >= t) && self.missed.clear() {
            self.out
                .trace(Level::Always, "missed call notification ended: time is up");
        }
    }

    fn on_notification_reply(&mut self, kind: RequestKind, result: Result<(), HubError>) {
        let what = if kind == RequestKind::StartNotification {
            "StartNotification"
        } else {
            "StopNotification"
        };
        match result {
            Ok(()) => {
                self.mark_healthy();
                self.missed.answered(self.now, true, self.jitter);
                self.out
                    .trace(Level::Hub, &format!("{what} taken by kuandoHUB"));
            }
            Err(e) => {
                let fatal = matches!(
                    e,
                    HubError::Timeout | HubError::Network | HubError::Unauthorized
                );
                if let Some(delay) = self.missed.answered(self.now, false, self.jitter) {
                    self.out.trace(
                        Level::Hub,
                        &format!(
                            "{what} owed: {}; sent again in {} s",
                            e.text(),
                            delay.div_ceil(1000)
                        ),
                    );
                }
                if fatal {
                    self.link_failed(e);
                } else {
                    self.mark_healthy();
                }
            }
        }
    }

    /// The probe with the token header got no answer (`e`): asks the hub without the header, a simple request
    /// with no preflight, to tell a hub that refuses the preflight from one that is down. True when asked.
    fn check_token_header(&mut self, e: &HubError) -> bool {
        let Some(ep) = self.endpoint.clone() else {
            return false;
        };
        // The browser does not say why a request failed: a refused or unanswered preflight looks like a hub
        // that is down (no answer) or a hang (the preflight waits until the timeout).
        let preflight_may_fail = matches!(e, HubError::Network | HubError::Timeout);
        if !preflight_may_fail
            || !ep.has_token()
            || self.token_form != TokenForm::Header
            || self.lna == Permission::Denied
            || self.poll_lane.is_some()
        {
            return false;
        }
        self.header_failure = Some(e.clone());
        let t = self.poll_timeout_ms();
        self.send(LaneId::Poll, ep.token_check(), t);
        true
    }

    /// A request without the header got an answer where the header form got none: the token goes in the URL
    /// for this hub, said once, until [`TOKEN_HEADER_RETRY_MS`] or a settings change; probed again at once.
    fn token_in_url(&mut self) {
        self.token_form = TokenForm::Url;
        self.header_retry_at = self.now.saturating_add(TOKEN_HEADER_RETRY_MS);
        let level = if self.token_in_url_said {
            Level::Hub
        } else {
            Level::Always
        };
        self.token_in_url_said = true;
        let text = format!("{TOKEN_IN_URL_TEXT}: {}", self.url());
        self.out.trace(level, &text);
        self.link = HubLink::Waiting { at: self.now };
    }

    fn session_up(&mut self) {
        self.link = HubLink::Up;
        self.retry_at = None;
        self.hub_status = HubStatus::Reachable;
        self.lamp_setup = LampSetup::NeedRegister;
        self.lamp.new_session();
        self.need_devices = true;
        self.next_poll_at = Some(self.now);
        self.bad_polls = 0;
        self.healthy = false;
    }

    /// The session got an answer beyond the probe. Only now is the back-off reset and recovery traced: a hub
    /// that answers the probe and then hangs would otherwise be retried every second and traced twice a
    /// minute.
    fn mark_healthy(&mut self) {
        if self.healthy {
            return;
        }
        self.healthy = true;
        self.backoff.reset();
        if self.traced_link != HubStatus::Reachable {
            self.traced_link = HubStatus::Reachable;
            let url = self.url();
            self.out
                .trace(Level::Always, &format!("kuandoHUB connected: {url}"));
        }
        if matches!(
            self.last_error.as_deref(),
            Some(t) if t.starts_with("kuandoHUB")
        ) {
            self.last_error = None;
        }
    }

    fn link_failed(&mut self, e: HubError) {
        let now = self.now;
        let blockable = matches!(e, HubError::Network | HubError::Timeout);
        if self.lna == Permission::Denied && blockable {
            // The browser's block, not the hub: "blocked", one try a minute.
            self.block_link();
            return;
        }
        self.end_session();
        let unauthorized = e == HubError::Unauthorized;
        if unauthorized {
            // A rejected token does not fix itself within seconds; the user changes it in the settings, which
            // restarts at once.
            self.backoff.saturate();
        }
        let delay = self.backoff.fail(self.jitter);
        self.link = HubLink::Waiting {
            at: now.saturating_add(delay),
        };
        self.retry_at = Some(now.saturating_add(delay));
        let url = self.url();
        let text = format!(
            "{}: {url}, next try in {} s",
            e.text(),
            delay.div_ceil(1000)
        );
        let status = if unauthorized {
            HubStatus::Unauthorized
        } else if self.backoff.failures() >= UNREACHABLE_AFTER
            || matches!(
                self.hub_status,
                HubStatus::Unreachable | HubStatus::NeedsPermission
            )
        {
            // While the browser would ask, a failed request may be its doing: the status says so (the
            // ordinary back-off goes on; see `block_link` on why `prompt` holds nothing back).
            if self.lna == Permission::Prompt && blockable {
                HubStatus::NeedsPermission
            } else {
                HubStatus::Unreachable
            }
        } else {
            self.out.trace(Level::Hub, &text);
            return;
        };
        self.hub_status = status;
        if self.traced_link != status {
            self.traced_link = status;
            self.out.trace(Level::Always, &text);
        }
        self.last_error = Some(if status == HubStatus::NeedsPermission {
            "kuandoHUB not reachable, or the browser asks before access to it: allow it in the config app"
                .to_string()
        } else {
            e.text()
        });
    }

    fn trace_lamp_change(&mut self) {
        let want = (self.lamp_slot(), self.lamp_command());
        if self.last_lamp != Some(want) {
            self.last_lamp = Some(want);
            self.out.trace(
                Level::Calls,
                &format!("lamp: {} ({})", call_state_name(want.0), want.1.describe()),
            );
        }
    }
}
