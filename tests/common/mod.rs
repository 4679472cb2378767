//! A fake world around the engine, in virtual time: a scripted kuandoHUB, the PBX with the user's presence, the
//! app service, and a driver loop that delivers answers and wakes the engine at `poll_timeout`.
//!
//! The fakes behave like the real systems as far as the engine can tell: the hub answers with HTTP status and
//! JSON bodies, forgets everything on a restart, refuses a wrong token with 401 and lamp commands with 404
//! when no Busylight is connected; the PBX echoes every presence change, whoever made it.

#![allow(dead_code)] // shared by several test files, each using a part

use std::collections::BTreeMap;

use kuando_connector::config::Config;
use kuando_connector::engine::{Connector, EngineAction, HubOutcome, RequestId, Status};
use kuando_connector::hub::{
    HubRequest, LampCommand, RequestKind, CALL_SOURCES, EVENT_TYPE_PRESENCE, SENDER,
};
use kuando_connector::proto::{License, PresenceGuard};
use kuando_connector::state::{CallEvent, CallInfo, CallKey, CallState, Direction, Presence};

/// How the sources rank in kuandoHUB's priority list. The hub shows (and `currentpresence` reports) the
/// highest-ranked source that runs something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranking {
    /// A hub as it comes, where no administrator sorted anything: `kuando TIMER` and the manual source; each
    /// sender gets one line for all its events when it first speaks to the hub (`CreateInitialPriority` or
    /// its first command), directly above the manual source, so lines rank in arrival order ([`FakeHub::lines`]).
    Fresh,
    /// An administrator set the hub up as the concept recommends, per sender *and* event: the connector's
    /// calls, other apps' call events, the connector's `Presence` events, other apps' presence (the manual
    /// source at the bottom). Only events labelled `Presence` rank below other apps' calls, as on a hub whose
    /// connector line was split by event type.
    AdminConcept,
    /// An administrator put every other app above the connector (e.g. the Manual Changer on top).
    AdminOthersFirst,
}

/// The hub's built-in sources, as a new hub lists them (top down).
pub const FRESH_LINES: &[&str] = &["kuando TIMER", "Manual Changer"];

/// Events other apps report for a call (the concept's mapping table), which the concept's setup ranks as
/// telephone events. Listed here rather than taken from the connector's mapping, so the fake stays independent.
const CALL_EVENTS: &[&str] = &[
    "Call Alert",
    "Call-Alert",
    "On-The-Phone",
    "In-a-Conference",
    "In a call",
    "In-a-Zoom-Meeting",
    "In-A-Meeting",
];

/// How the fake hub behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HubMode {
    /// Answers as kuandoHUB does.
    Up,
    /// Not running: connections are refused at once.
    Down,
    /// Accepts connections and never answers (the driver's timeout fires).
    Hung,
    /// Answers `GET /` and lamp commands, but not `currentpresence`.
    TooOld,
    /// Like `Up`, but `currentpresence` hangs (a hub busy with something else).
    PollHangs,
}

#[derive(Debug, Clone)]
pub struct FakeHub {
    pub mode: HubMode,
    /// When set, every request must carry `accesstoken=<token>` (a remote hub).
    pub required_token: Option<String>,
    pub devices: usize,
    /// The highest 3rd-party source running: (sender, eventtype, eventname).
    pub other: Option<(String, String, String)>,
    /// How the sources rank; a hub as it comes by default.
    pub ranking: Ranking,
    /// The priority list of a [`Ranking::Fresh`] hub: senders top down.
    pub lines: Vec<String>,
    /// Whether `currentpresence` asked as a sender tells that sender's own priority (`ownpriority`).
    pub tells_own_priority: bool,
    /// What a [`HubMode::TooOld`] hub answers to `currentpresence`.
    pub too_old_answer: (u16, Vec<u8>),
    /// What the connector's sender runs (`None` after Off/Logout).
    pub own: Option<LampCommand>,
    /// The `(eventtype, eventname)` the connector posted its running command with, read from the request
    /// body as the real hub reads it.
    pub own_event: Option<(String, String)>,
    pub registered: bool,
    pub priority_created: bool,
    /// Answer delay for lamp-lane requests.
    pub lamp_latency_ms: u64,
    /// Answer delay for everything else.
    pub latency_ms: u64,
    /// Replace every answer body by this (garbage tests).
    pub garbage: Option<Vec<u8>>,
    /// Answer `currentpresence` (only) with this status and body (answer classification tests).
    pub presence_reply: Option<(u16, Vec<u8>)>,
    /// Answer lamp commands (only) with this status and body.
    pub command_reply: Option<(u16, Vec<u8>)>,
    /// A hub that answers no CORS preflight: the browser fails every request with the token header.
    pub no_preflight: bool,
    /// The connector's missed-call notification: the `parameter` of its `StartNotification`.
    pub notification: Option<String>,
    /// Answer `StartNotification`/`StopNotification` (only) with this status and body.
    pub notification_reply: Option<(u16, Vec<u8>)>,
}

impl Default for FakeHub {
    fn default() -> Self {
        FakeHub {
            mode: HubMode::Up,
            required_token: None,
            devices: 1,
            other: None,
            ranking: Ranking::Fresh,
            lines: FRESH_LINES.iter().map(|l| l.to_string()).collect(),
            tells_own_priority: true,
            too_old_answer: (200, b"Unknown action".to_vec()),
            own: None,
            own_event: None,
            registered: false,
            priority_created: false,
            lamp_latency_ms: 5,
            latency_ms: 5,
            garbage: None,
            presence_reply: None,
            command_reply: None,
            no_preflight: false,
            notification: None,
            notification_reply: None,
        }
    }
}

impl FakeHub {
    /// kuandoHUB was restarted: it forgets every sender's state and registration.
    pub fn restart(&mut self) {
        self.own = None;
        self.own_event = None;
        self.notification = None;
        self.registered = false;
        self.priority_created = false;
        self.mode = HubMode::Up;
    }

    fn token_ok(&self, req: &HubRequest) -> bool {
        match &self.required_token {
            None => true,
            Some(t) => {
                req.url.contains(&format!("accesstoken={t}"))
                    || req.token_header.as_deref() == Some(t.as_str())
            }
        }
    }

    /// A sender gets its line when it first speaks to the hub: directly above the manual source.
    pub fn add_line(&mut self, sender: &str) {
        if self.lines.iter().any(|l| l == sender) {
            return;
        }
        let at = self
            .lines
            .iter()
            .rposition(|l| l == "Manual Changer")
            .unwrap_or(self.lines.len());
        self.lines.insert(at, sender.to_string());
    }

    fn line_of(&self, sender: &str) -> usize {
        self.lines
            .iter()
            .position(|l| l == sender)
            .unwrap_or(usize::MAX)
    }

    /// Whether the connector's running command ranks above the other source's.
    fn own_ranks_higher(&self) -> bool {
        let Some((other, _, other_event)) = &self.other else {
            return true;
        };
        match self.ranking {
            Ranking::Fresh => self.line_of(SENDER) < self.line_of(other),
            Ranking::AdminOthersFirst => false,
            Ranking::AdminConcept => {
                let own_presence = self
                    .own_event
                    .as_ref()
                    .is_some_and(|(t, _)| t == EVENT_TYPE_PRESENCE);
                let other_call = CALL_EVENTS
                    .iter()
                    .any(|e| e.eq_ignore_ascii_case(other_event));
                !(own_presence && other_call)
            }
        }
    }

    fn own_json(&self) -> Option<String> {
        let cmd = self.own?;
        let action = cmd.describe();
        let action = action.split(' ').next().unwrap_or("Light").to_string();
        let (t, n) = self.own_event.clone().unwrap_or_default();
        Some(format!(
            r#"{{"action":"{action}","sender":"{SENDER}","eventtype":"{t}","eventname":"{n}","parameter":"{{}}"}}"#
        ))
    }

    fn other_json(&self) -> Option<String> {
        let (s, t, n) = self.other.as_ref()?;
        Some(format!(
            r#"{{"action":"Light","sender":"{s}","eventtype":"{t}","eventname":"{n}","parameter":"{{\"RedRgbValue\":100}}"}}"#
        ))
    }

    /// `currentpresence` as `asker` asks it: the running command, and the asker's own priority.
    fn running_json_for(&self, asker: &str) -> String {
        let running = if self.own.is_some() && self.own_ranks_higher() {
            self.own_json()
        } else {
            self.other_json().or_else(|| self.own_json())
        };
        let running = running.unwrap_or_else(|| r#"{"parameter":null}"#.to_string());
        if !self.tells_own_priority {
            return format!(r#"{{"runningcommand":{running}}}"#);
        }
        let own = if asker == SENDER {
            self.own_json()
        } else {
            self.other_json()
                .filter(|_| self.other.as_ref().is_some_and(|(s, _, _)| s == asker))
        };
        let own = own.unwrap_or_else(|| "null".to_string());
        format!(r#"{{"runningcommand":{running},"ownpriority":{own}}}"#)
    }

    fn running_json(&self) -> String {
        self.running_json_for("HTTP")
    }

    /// The answer to one request: (delay, outcome).
    pub fn answer(&mut self, req: &HubRequest, timeout_ms: u64) -> (u64, HubOutcome) {
        let lamp_lane = matches!(
            req.kind,
            RequestKind::Command(..)
                | RequestKind::RegisterDataSource
                | RequestKind::CreateInitialPriority
                | RequestKind::StartNotification
                | RequestKind::StopNotification
        );
        let latency = if lamp_lane {
            self.lamp_latency_ms
        } else {
            self.latency_ms
        };
        let http = |status: u16, body: &str| HubOutcome::Answer {
            status,
            body: body.as_bytes().to_vec(),
        };
        match self.mode {
            HubMode::Down => return (1, HubOutcome::Network),
            HubMode::Hung => return (timeout_ms, HubOutcome::Timeout),
            HubMode::PollHangs if req.kind == RequestKind::CurrentPresence => {
                return (timeout_ms, HubOutcome::Timeout)
            }
            _ => {}
        }
        if self.no_preflight && req.token_header.is_some() {
            // The preflight is refused: the browser reports a network error, the request never goes out.
            return (latency, HubOutcome::Network);
        }
        if !self.token_ok(req) {
            return (latency, http(401, "Unauthorized"));
        }
        if let Some(g) = &self.garbage {
            return (
                latency,
                HubOutcome::Answer {
                    status: 200,
                    body: g.clone(),
                },
            );
        }
        let fixed = match req.kind {
            RequestKind::CurrentPresence | RequestKind::OwnPriority(_) => {
                self.presence_reply.clone()
            }
            RequestKind::Command(..) => self.command_reply.clone(),
            RequestKind::StartNotification | RequestKind::StopNotification => {
                self.notification_reply.clone()
            }
            _ => None,
        };
        if let Some((status, body)) = fixed {
            return (latency, HubOutcome::Answer { status, body });
        }
        let out = match req.kind {
            RequestKind::Probe | RequestKind::TokenCheck => http(200, r#"{"response": "OK"}"#),
            RequestKind::StartNotification | RequestKind::StopNotification => {
                if self.devices == 0 {
                    http(404, "no device")
                } else {
                    let body: serde_json::Value = req
                        .body
                        .as_deref()
                        .and_then(|b| serde_json::from_str(b).ok())
                        .unwrap_or_default();
                    self.notification = (req.kind == RequestKind::StartNotification)
                        .then(|| body["parameter"].as_str().unwrap_or_default().to_string());
                    http(200, "")
                }
            }
            RequestKind::CurrentPresence | RequestKind::OwnPriority(_) => {
                if self.mode == HubMode::TooOld {
                    let (status, body) = self.too_old_answer.clone();
                    HubOutcome::Answer { status, body }
                } else {
                    let asker = match req.kind {
                        RequestKind::OwnPriority(i) => CALL_SOURCES[usize::from(i)],
                        _ => "HTTP",
                    };
                    http(200, &self.running_json_for(asker))
                }
            }
            RequestKind::Devices => {
                let list: Vec<String> = (0..self.devices)
                    .map(|i| {
                        format!(
                            r#"{{"ModelName":"Omega","UniqueID":"{i}","HIDDevicePath":"p{i}","IsLightSupported":true,"IsSoundSupported":true}}"#
                        )
                    })
                    .collect();
                http(200, &format!("[{}]", list.join(",")))
            }
            RequestKind::RegisterDataSource => {
                self.registered = true;
                http(200, "{}")
            }
            RequestKind::CreateInitialPriority => {
                self.priority_created = true;
                self.add_line(SENDER);
                http(200, "{}")
            }
            RequestKind::Command(cmd, _) => {
                if self.devices == 0 {
                    http(404, "no device")
                } else {
                    self.own = match cmd {
                        LampCommand::Off | LampCommand::Logout => None,
                        c => Some(c),
                    };
                    if cmd == LampCommand::Logout {
                        self.notification = None;
                    }
                    // The hub ranks by the labels on the wire, not by what the connector meant.
                    let body: serde_json::Value = req
                        .body
                        .as_deref()
                        .and_then(|b| serde_json::from_str(b).ok())
                        .unwrap_or_default();
                    let label = |k: &str| body[k].as_str().unwrap_or_default().to_string();
                    self.own_event = self.own.map(|_| (label("eventtype"), label("eventname")));
                    // A sender's first command gives it a line too.
                    self.add_line(SENDER);
                    http(200, "")
                }
            }
        };
        (latency, out)
    }
}

/// The PBX side: the user's presence and the app service in front of it, with its presence guard as far as
/// this connection goes.
#[derive(Debug, Clone, Default)]
pub struct FakePbx {
    pub presence: Presence,
    /// The service refuses `SetPresence` (e.g. PBX not connected).
    pub refuse: bool,
    /// The next this many `SetPresence`s are refused (the PBX refused them).
    pub refuse_next: u32,
    /// What the service's presence guard holds as this connection's claim (`None`: nothing), as it confirmed.
    pub claim: Option<Presence>,
}

#[derive(Debug, Clone)]
enum Event {
    HubAnswer(RequestId, HubOutcome),
    /// The PBX applies a presence the service asked for (then echoes it if it changed).
    PbxApply(Presence),
    PresenceResult(u64, RequestId, Result<(), String>),
    /// The service's guard took the claim (or release) of a `SetPresence` it answered with success.
    GuardTook(u64, Option<Presence>),
}

/// What happened, in order, for invariants that look at the whole story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Journal {
    /// The user set this presence by hand (and the PBX took it).
    Manual(Presence),
    /// The engine got a `currentpresence` answer (or failure) with this content, as `asker|content`
    /// (`HTTP` for the poll, the application's name for an own-priority read).
    HubSaw(String),
    /// The connector asked for this presence.
    SetPresence(Presence),
    /// ... as a claim at the service's presence guard (else as a release).
    Claim(Presence),
}

/// Everything the engine did, with the virtual time.
#[derive(Debug, Clone)]
pub struct Logged {
    pub at: u64,
    pub action: EngineAction,
}

pub struct World {
    pub now: u64,
    pub engine: Connector,
    pub hub: FakeHub,
    pub pbx: FakePbx,
    pub service_up: bool,
    service_epoch: u64,
    queue: BTreeMap<(u64, u64), Event>,
    seq: u64,
    rng: u64,
    pub log: Vec<Logged>,
    /// Every presence the user set by hand and the PBX took (the last one must never be lost).
    pub manual: Vec<Presence>,
    pub journal: Vec<Journal>,
    /// What each `currentpresence` request in flight will tell the engine.
    poll_content: BTreeMap<RequestId, String>,
}

pub const USER_PROVIDER: &str = "softphone";

impl World {
    /// Nothing fed yet.
    pub fn blank() -> World {
        World {
            now: 0,
            engine: Connector::new(),
            hub: FakeHub::default(),
            pbx: FakePbx::default(),
            service_up: false,
            service_epoch: 0,
            queue: BTreeMap::new(),
            seq: 0,
            rng: 0x2545_f491_4f6c_dd1d,
            log: Vec::new(),
            manual: Vec::new(),
            journal: Vec::new(),
            poll_content: BTreeMap::new(),
        }
    }

    /// myApps started the hidden app: service connected, license and settings loaded, the user's presence
    /// known. Runs a few seconds so that the connector is connected to the hub.
    pub fn started_with(config: Config, license: License) -> World {
        World::start_with(World::blank(), config, license)
    }

    /// Starts a world prepared by the test (e.g. a hub an administrator ranked, or one where other apps
    /// spoke to the hub before the connector).
    pub fn start(w: World) -> World {
        World::start_with(w, Config::default(), License::WithBusylight)
    }

    fn start_with(mut w: World, config: Config, license: License) -> World {
        w.service(true);
        w.engine.handle_license(w.now, license);
        w.engine.handle_config(w.now, config);
        let p = w.pbx.presence.clone();
        w.engine.handle_own_presence(w.now, p);
        w.run_for(3_000);
        w
    }

    pub fn started() -> World {
        World::started_with(Config::default(), License::WithBusylight)
    }

    fn next_rand(&mut self) -> u32 {
        // xorshift64*: the driver's jitter source, deterministic for tests.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        (self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }

    fn schedule(&mut self, at: u64, e: Event) {
        self.seq += 1;
        self.queue.insert((at, self.seq), e);
    }

    /// Takes every action the engine has queued and acts on it like the real driver.
    pub fn pump(&mut self) {
        while let Some(a) = self.engine.poll_action() {
            self.log.push(Logged {
                at: self.now,
                action: a.clone(),
            });
            match a {
                EngineAction::Hub {
                    id,
                    request,
                    timeout_ms,
                } => {
                    let (delay, outcome) = self.hub.answer(&request, timeout_ms);
                    let delay = delay.min(timeout_ms);
                    let asker = match request.kind {
                        RequestKind::CurrentPresence => Some("HTTP"),
                        RequestKind::OwnPriority(i) => Some(CALL_SOURCES[usize::from(i)]),
                        _ => None,
                    };
                    if let Some(asker) = asker {
                        let content = match &outcome {
                            HubOutcome::Answer { status, body } => {
                                format!("{status} {}", String::from_utf8_lossy(body))
                            }
                            other => format!("{other:?}"),
                        };
                        self.poll_content.insert(id, format!("{asker}|{content}"));
                    }
                    self.schedule(self.now + delay, Event::HubAnswer(id, outcome));
                }
                EngineAction::SetPresence {
                    id,
                    presence: p,
                    guard,
                } => {
                    self.journal.push(Journal::SetPresence(p.clone()));
                    let claim = match guard {
                        PresenceGuard::Claim { .. } => Some(p.clone()),
                        PresenceGuard::Release => None,
                    };
                    if let Some(c) = &claim {
                        self.journal.push(Journal::Claim(c.clone()));
                    }
                    assert!(
                        self.service_up,
                        "SetPresence while the service is down: {p:?}"
                    );
                    let epoch = self.service_epoch;
                    if self.pbx.refuse || self.pbx.refuse_next > 0 {
                        self.pbx.refuse_next = self.pbx.refuse_next.saturating_sub(1);
                        self.schedule(
                            self.now + 20,
                            Event::PresenceResult(epoch, id, Err("PBX refused".into())),
                        );
                    } else {
                        self.schedule(self.now + 10, Event::PbxApply(p));
                        self.schedule(self.now + 15, Event::GuardTook(epoch, claim));
                        self.schedule(self.now + 20, Event::PresenceResult(epoch, id, Ok(())));
                    }
                }
                EngineAction::Trace(_) | EngineAction::Status(_) => {}
            }
        }
    }

    fn deliver(&mut self, e: Event) {
        match e {
            Event::HubAnswer(id, outcome) => {
                if let Some(c) = self.poll_content.remove(&id) {
                    self.journal.push(Journal::HubSaw(c));
                }
                let j = self.next_rand();
                self.engine.handle_hub_result(self.now, id, outcome, j);
            }
            Event::PbxApply(p) => {
                if self.pbx.presence != p {
                    self.pbx.presence = p.clone();
                    self.engine.handle_own_presence(self.now, p);
                }
            }
            Event::PresenceResult(epoch, id, r) => {
                // A result sent before the service connection dropped never arrives.
                if epoch == self.service_epoch && self.service_up {
                    self.engine.handle_presence_result(self.now, id, r);
                }
            }
            Event::GuardTook(epoch, claim) => {
                if epoch == self.service_epoch && self.service_up {
                    self.pbx.claim = claim;
                }
            }
        }
    }

    /// Runs in steps of `step` ms until `done` holds; fails the test (rather than hanging) when it does not
    /// within `within` ms of virtual time.
    pub fn run_until_or_fail(
        &mut self,
        within: u64,
        step: u64,
        what: &str,
        done: impl Fn(&World) -> bool,
    ) {
        let end = self.now + within;
        while !done(self) {
            assert!(self.now < end, "{what}: not within {within} ms");
            self.run_for(step);
        }
    }

    /// Runs the world until `end`: delivers due answers, wakes the engine at its timeouts.
    pub fn run_until(&mut self, end: u64) {
        self.pump();
        let mut guard = 0u32;
        let mut last_timer: Option<u64> = None;
        loop {
            guard += 1;
            assert!(guard < 2_000_000, "runaway loop at t={}", self.now);
            let next_event = self.queue.keys().next().map(|k| k.0);
            let next_timer = self.engine.poll_timeout();
            let t = match (next_event, next_timer) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => break,
                },
            };
            if t > end {
                break;
            }
            let t = t.max(self.now);
            self.now = t;
            if next_event.is_some_and(|e| e <= t) {
                let key = *self.queue.keys().next().expect("checked above");
                let e = self.queue.remove(&key).expect("present");
                self.deliver(e);
                last_timer = None;
            } else {
                // A timer the engine asked for must make progress: asking again for the same instant after
                // handling it would be a busy loop in the real driver.
                assert_ne!(
                    last_timer,
                    Some(t),
                    "engine asked to be woken at {t} again without progress"
                );
                last_timer = Some(t);
                self.engine.handle_timeout(t);
            }
            self.pump();
        }
        self.now = self.now.max(end);
    }

    pub fn run_for(&mut self, ms: u64) {
        let end = self.now + ms;
        self.run_until(end);
    }

    /// Log entries from `since` on.
    pub fn since(&self, since: u64) -> impl Iterator<Item = &Logged> {
        self.log.iter().filter(move |l| l.at >= since)
    }

    pub fn traces_since(&self, since: u64) -> Vec<String> {
        self.since(since)
            .filter_map(|l| match &l.action {
                EngineAction::Trace(t) => Some(t.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn traces(&self) -> Vec<String> {
        self.traces_since(0)
    }

    pub fn hub_requests_since(&self, since: u64) -> Vec<(u64, HubRequest)> {
        self.since(since)
            .filter_map(|l| match &l.action {
                EngineAction::Hub { request, .. } => Some((l.at, request.clone())),
                _ => None,
            })
            .collect()
    }

    pub fn lamp_commands_since(&self, since: u64) -> Vec<(u64, LampCommand)> {
        self.hub_requests_since(since)
            .into_iter()
            .filter_map(|(at, r)| match r.kind {
                RequestKind::Command(c, _) => Some((at, c)),
                _ => None,
            })
            .collect()
    }

    pub fn presence_requests_since(&self, since: u64) -> Vec<(u64, Presence)> {
        self.since(since)
            .filter_map(|l| match &l.action {
                EngineAction::SetPresence { presence, .. } => Some((l.at, presence.clone())),
                _ => None,
            })
            .collect()
    }

    /// The `SetPresence`s from `since` on with their guard: `Some(p)` a claim of `p`, `None` a release.
    pub fn guard_requests_since(&self, since: u64) -> Vec<(u64, Presence, Option<Presence>)> {
        self.since(since)
            .filter_map(|l| match &l.action {
                EngineAction::SetPresence {
                    presence, guard, ..
                } => {
                    let claim = match guard {
                        PresenceGuard::Claim { .. } => Some(presence.clone()),
                        PresenceGuard::Release => None,
                    };
                    Some((l.at, presence.clone(), claim))
                }
                _ => None,
            })
            .collect()
    }

    pub fn status(&self) -> Status {
        self.engine.status()
    }

    /// What the Busylight shows for the connector's sender.
    pub fn lamp(&self) -> Option<LampCommand> {
        self.hub.own
    }

    /// The `eventtype` / `eventname` the connector's running command carries on the hub.
    pub fn lamp_event(&self) -> Option<(&str, &str)> {
        self.hub
            .own_event
            .as_ref()
            .map(|(t, n)| (t.as_str(), n.as_str()))
    }

    /// The sender `currentpresence` reports now (`None`: nothing runs).
    pub fn hub_reports(&self) -> Option<String> {
        let v: serde_json::Value = serde_json::from_str(&self.hub.running_json()).ok()?;
        v["runningcommand"]["sender"].as_str().map(str::to_string)
    }

    // ----- the user and the other applications, as a story tells it -----

    pub fn call(&mut self, id: &str, dir: Direction, state: CallState) {
        let key = CallKey::new(USER_PROVIDER, id);
        let info = CallInfo {
            dir: Some(dir),
            state: Some(state),
        };
        self.engine
            .handle_call(self.now, CallEvent::Updated(key, info));
        self.pump();
    }

    pub fn incoming_call(&mut self, id: &str) {
        self.engine
            .handle_call(self.now, CallEvent::Added(CallKey::new(USER_PROVIDER, id)));
        self.call(id, Direction::Incoming, CallState::Alerting);
    }

    pub fn answer(&mut self, id: &str) {
        self.call(id, Direction::Incoming, CallState::Connected);
    }

    pub fn hang_up(&mut self, id: &str) {
        self.call(id, Direction::Incoming, CallState::Disconnected);
        self.engine.handle_call(
            self.now,
            CallEvent::Removed(CallKey::new(USER_PROVIDER, id)),
        );
        self.pump();
    }

    /// The caller gives up (or the PBX's no-answer timeout ends the call) while it rings: the phone removes
    /// the call without reporting a disconnect of its own.
    pub fn caller_gives_up(&mut self, id: &str) {
        self.engine.handle_call(
            self.now,
            CallEvent::Removed(CallKey::new(USER_PROVIDER, id)),
        );
        self.pump();
    }

    /// A call event of another phone app of the user (e.g. the desk phone the same call rings on).
    pub fn call_on(&mut self, provider: &str, id: &str, dir: Direction, state: Option<CallState>) {
        let key = CallKey::new(provider, id);
        let ev = match state {
            Some(state) => CallEvent::Updated(
                key,
                CallInfo {
                    dir: Some(dir),
                    state: Some(state),
                },
            ),
            None => CallEvent::Removed(key),
        };
        self.engine.handle_call(self.now, ev);
        self.pump();
    }

    /// The user sets their presence by hand in myApps.
    pub fn user_sets_presence(&mut self, activity: &str, note: &str) {
        let p = Presence::new(activity, note);
        if self.pbx.presence != p {
            self.pbx.presence = p.clone();
            // The service's guard sees the report and drops a claim the user changed.
            if self
                .pbx
                .claim
                .as_ref()
                .is_some_and(|c| !kuando_connector::engine::similar_presence(c, &p))
            {
                self.pbx.claim = None;
            }
            self.manual.push(p.clone());
            self.journal.push(Journal::Manual(p.clone()));
            self.engine.handle_own_presence(self.now, p);
        }
        self.pump();
    }

    /// Another application's state on the hub (e.g. `MS Teams` / `On-The-Phone`).
    pub fn hub_shows(&mut self, sender: &str, event: &str) {
        self.hub.other = Some((sender.to_string(), "Light".to_string(), event.to_string()));
        // A plugin's line comes with the first thing it shows.
        self.hub.add_line(sender);
    }

    pub fn hub_shows_nothing(&mut self) {
        self.hub.other = None;
    }

    /// Something else (another myApps client of the user on the same PC) runs `cmd` under the connector's
    /// sender with these labels; `None` releases it.
    pub fn foreign_under_our_sender(&mut self, cmd: Option<LampCommand>, labels: (&str, &str)) {
        self.hub.own = cmd;
        self.hub.own_event = cmd.map(|_| (labels.0.to_string(), labels.1.to_string()));
    }

    pub fn service(&mut self, up: bool) {
        if self.service_up != up {
            self.service_up = up;
            self.service_epoch += 1;
            // A closed connection's claim ends (the service's grace period is its business, not this one's).
            self.pbx.claim = None;
        }
        self.engine.handle_service(self.now, up);
        self.pump();
    }

    pub fn set_config(&mut self, c: Config) {
        self.engine.handle_config(self.now, c);
        self.pump();
    }
}

pub fn presence(activity: &str, note: &str) -> Presence {
    Presence::new(activity, note)
}

pub fn red() -> kuando_connector::hub::Rgb {
    kuando_connector::hub::Rgb::new(100, 0, 0).expect("valid")
}
