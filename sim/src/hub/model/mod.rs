//! What the simulated kuandoHUB knows and how it answers the HTTP API: the priority list, the running
//! command of each sender, notifications, registered data sources and the connected lamps. No IO here:
//! [`State::dispatch`] turns one parsed request into one [`Reply`].
//!
//! Facts from `docs/platform-facts.md` §1 and the kuandoHUB manual; every guess is marked
//! **[inferred]** with the reason for the choice.
//!
//! This file holds the hub's state and its dispatch of a request; `request.rs` reads a request into the
//! lamp effect it asks for, `priority.rs` is who shows on the lamp (commands, the priority list, presets),
//! `lamp.rs` the simulated lamps, `reply.rs` the hub's answers, `fault.rs` the injected faults.

use std::collections::VecDeque;
use std::time::Instant;

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::lenient::{get_ci, text};
use super::Options;

mod fault;
mod lamp;
mod priority;
mod reply;
mod request;

pub use fault::{Fault, FaultMode};
pub use lamp::{lamp_json, Device};
pub use priority::{
    concept_lines, fresh_lines, presence_command, preset_lines, Command, DataSource, Line,
    Notification, Preset,
};
pub use reply::{too_old_reply, Reply, DEFAULT_TOO_OLD_ANSWER};
pub use request::Call;

use lamp::rgb_json;
use priority::null_command;
use request::{color_in, get_effect, get_form, param, parameter_of, post_effect};

/// Sender of everything that came in through the GET interface (the hub's built-in `HTTP` data source).
pub const HTTP_SENDER: &str = "HTTP";
/// The hub's built-in manual control, which the concept's setup puts at the bottom, showing green. Its name
/// in `currentpresence` is not shown by any source (kuandohub-real-clients.md fact 1): the default is the
/// manual's text, `--hub-manual-name "Manual Controls"` gives the name of Plenom's screens.
pub const MANUAL_CHANGER: &str = "Manual Changer";
/// The hub's built-in timer source, as its priority screen shows it (fact 5).
pub const KUANDO_TIMER: &str = "kuando TIMER";

/// How many requests the log keeps (oldest dropped first).
pub const LOG_CAPACITY: usize = 200;

/// At most this many simulated lamps.
pub const MAX_DEVICES: usize = 8;

/// One request as the log shows it.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub seq: u64,
    /// Milliseconds since the simulator started.
    pub t_ms: u64,
    pub method: String,
    /// Path and query, access tokens replaced by `***`.
    pub url: String,
    pub action: String,
    pub sender: Option<String>,
    /// The request body (at most 4000 characters, tokens redacted).
    pub body: Option<String>,
    /// `None` when the connection was closed without an answer.
    pub status: Option<u16>,
    /// Which fault hit the request.
    pub fault: Option<String>,
    /// What the hub had to forgive (sloppy JSON, out-of-range values).
    pub lenient: Vec<String>,
    /// Why the request did nothing.
    pub error: Option<String>,
}

/// Settings that can change at run time (`POST /_sim/settings`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub token: Option<String>,
    pub require_token: bool,
    pub too_old: bool,
    /// What a too-old hub answers to `currentpresence` (see [`too_old_reply`]).
    pub too_old_answer: String,
    /// Without a lamp, answer with the text `NO_DEVICE` (macOS Busylight HTTP) instead of 404.
    pub no_device_text: bool,
    /// Without a lamp, still release a sender on `Off`/`Logout` (while answering 404). Off by default: a hub
    /// without a lamp applies nothing it refuses **[inferred]**: no source shows that a real hub keeps the
    /// release, and a connector must not rely on it.
    pub release_without_lamp: bool,
    /// Refuse CORS preflights (see `--hub-no-preflight`).
    pub no_preflight: bool,
}

/// The whole simulated hub.
#[derive(Debug)]
pub struct State {
    started: Instant,
    initial: Options,
    pub settings: Settings,
    pub devices: Vec<Device>,
    pub lines: Vec<Line>,
    /// One running command per sender, in order of arrival.
    pub running: Vec<Command>,
    pub notifications: Vec<Notification>,
    pub data_sources: Vec<DataSource>,
    pub fault: Fault,
    pub log: VecDeque<LogEntry>,
    pub requests: u64,
    /// Bumped on every change, so a page can tell whether anything happened.
    pub seq: u64,
}

impl State {
    pub fn new(o: &Options) -> State {
        let mut s = State {
            started: Instant::now(),
            initial: o.clone(),
            settings: Settings {
                token: None,
                require_token: false,
                too_old: false,
                too_old_answer: DEFAULT_TOO_OLD_ANSWER.into(),
                no_device_text: false,
                release_without_lamp: false,
                no_preflight: false,
            },
            devices: Vec::new(),
            lines: Vec::new(),
            running: Vec::new(),
            notifications: Vec::new(),
            data_sources: Vec::new(),
            fault: Fault::default(),
            log: VecDeque::new(),
            requests: 0,
            seq: 0,
        };
        s.reset();
        s
    }

    /// Back to the state the simulator started in (options as given on the command line).
    pub fn reset(&mut self) {
        let o = &self.initial;
        self.settings = Settings {
            token: o.hub_token.clone().filter(|t| !t.is_empty()),
            require_token: o.hub_require_token,
            too_old: o.hub_too_old,
            too_old_answer: o.hub_too_old_answer.clone(),
            no_device_text: o.hub_no_device_text,
            release_without_lamp: false,
            no_preflight: o.hub_no_preflight,
        };
        self.devices = (0..o.hub_devices.min(MAX_DEVICES))
            .map(Device::simulated)
            .collect();
        let manual = self.manual_name().to_string();
        self.lines = preset_lines(o.hub_priorities.unwrap_or(Preset::Fresh), &manual);
        self.running = vec![presence_command(&manual, "Light", "Available")];
        self.notifications.clear();
        self.data_sources.clear();
        self.fault = Fault::default();
        self.log.clear();
        self.requests = 0;
        self.seq += 1;
    }

    /// The manual presence source's name (`--hub-manual-name`).
    pub fn manual_name(&self) -> &str {
        let n = self.initial.hub_manual_name.trim();
        if n.is_empty() {
            MANUAL_CHANGER
        } else {
            n
        }
    }

    pub fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub fn set_devices(&mut self, n: usize) {
        let n = n.min(MAX_DEVICES);
        while self.devices.len() > n {
            self.devices.pop();
        }
        while self.devices.len() < n {
            let i = self.devices.len();
            self.devices.push(Device::simulated(i));
        }
        self.seq += 1;
    }

    pub fn push_log(&mut self, mut e: LogEntry) {
        self.requests += 1;
        self.seq += 1;
        e.seq = self.requests;
        if self.log.len() >= LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(e);
    }

    /// The fault to apply to a request with this action, counting it down when limited.
    pub fn take_fault(&mut self, action: &str) -> Option<FaultMode> {
        if self.fault.mode == FaultMode::None {
            return None;
        }
        if !self.fault.actions.is_empty() && !self.fault.actions.iter().any(|a| a == action) {
            return None;
        }
        let mode = self.fault.mode.clone();
        if let Some(t) = self.fault.times.as_mut() {
            if *t == 0 {
                self.fault = Fault::default();
                return None;
            }
            *t -= 1;
            if *t == 0 {
                self.fault = Fault::default();
            }
        }
        Some(mode)
    }

    fn running_of(&self, sender: &str) -> Option<&Command> {
        self.running.iter().find(|c| c.sender == sender)
    }

    fn set_running(&mut self, cmd: Command) {
        self.running.retain(|c| c.sender != cmd.sender);
        self.running.push(cmd);
        self.seq += 1;
    }

    fn release(&mut self, sender: &str, logout: bool) {
        self.running.retain(|c| c.sender != sender);
        if logout {
            self.notifications.retain(|n| n.sender != sender);
        }
        self.seq += 1;
    }

    /// The command the lamp shows: the first enabled line (top down) whose sender runs a matching command.
    pub fn resolved(&self) -> Option<(usize, &Command)> {
        self.lines.iter().enumerate().find_map(|(i, l)| {
            if !l.enabled {
                return None;
            }
            self.running_of(&l.sender)
                .filter(|c| l.matches(c))
                .map(|c| (i, c))
        })
    }

    /// `CreateInitialPriority`: no effect if a line for the sender exists (any line: the connector's `Call`
    /// and `Presence` lines in the default list count). **[inferred]** A new line goes
    /// directly above the bottom `Manual Changer` line: the manual says lines are "added in the order
    /// [sources] first communicated", and the concept's setup keeps Manual Changer at the bottom.
    fn add_line(&mut self, line: Line) -> bool {
        if self.lines.iter().any(|l| l.sender == line.sender) {
            return false;
        }
        let manual = self.manual_name();
        let at = self
            .lines
            .iter()
            .rposition(|l| l.sender == manual)
            .unwrap_or(self.lines.len());
        self.lines.insert(at, line);
        self.seq += 1;
        true
    }

    /// Sets a source's state by hand (`POST /_sim/source`), e.g. a Teams call. 3rd-party plugins talk to
    /// the hub through the SDK, not HTTP, so this works with any number of lamps.
    pub fn set_source(&mut self, v: &Value) -> Result<(), String> {
        let o = v.as_object().ok_or("expected a JSON object")?;
        let sender = text(o, "sender")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .ok_or("missing \"sender\"")?;
        let eventname = text(o, "eventname").unwrap_or_default();
        let action = text(o, "action").unwrap_or_default();
        let clear = get_ci(o, "clear").and_then(Value::as_bool).unwrap_or(false);
        if clear || (eventname.trim().is_empty() && action.trim().is_empty()) {
            self.release(&sender, true);
            return Ok(());
        }
        let eventtype = text(o, "eventtype").unwrap_or_else(|| "Light".into());
        let cmd = if action.trim().is_empty() {
            let mut c = presence_command(&sender, &eventtype, &eventname);
            c.eventtype = eventtype;
            c
        } else {
            let mut notes = Vec::new();
            let (param, param_text) = parameter_of(o, &mut notes)?;
            let effect = post_effect(&action.to_ascii_lowercase(), &param, &mut notes)
                .ok_or_else(|| format!("{action:?} is not a lamp command"))?;
            Command {
                action,
                sender,
                eventtype,
                eventname,
                parameter: param_text,
                effect,
            }
        };
        // A 3rd-party plugin gets its line when it first shows something **[inferred]**: the manual adds
        // lines "in the order [sources] first communicated"; the SDK plugins create their own.
        self.add_line(Line::new(&cmd.sender.clone(), None, &[]));
        self.set_running(cmd);
        Ok(())
    }

    /// Replaces the priority list (`POST /_sim/priorities`): a list of lines, `{"lines": [...]}` or
    /// `{"preset": "fresh" | "concept"}`.
    pub fn set_lines(&mut self, v: &Value) -> Result<(), String> {
        if let Some(p) = v.as_object().and_then(|o| get_ci(o, "preset")) {
            let preset = p
                .as_str()
                .and_then(Preset::parse)
                .ok_or("\"preset\" must be \"fresh\" or \"concept\"")?;
            let manual = self.manual_name().to_string();
            self.lines = preset_lines(preset, &manual);
            self.seq += 1;
            return Ok(());
        }
        let list = match v {
            Value::Object(o) => get_ci(o, "lines").cloned().unwrap_or(Value::Null),
            other => other.clone(),
        };
        let lines: Vec<Line> = serde_json::from_value(list).map_err(|e| {
            format!("expected a list of lines {{sender, eventtype?, eventnames?, enabled?}}: {e}")
        })?;
        self.lines = lines;
        self.seq += 1;
        Ok(())
    }

    /// Answers one hub request. `notes` collects what had to be forgiven.
    pub fn dispatch(&mut self, call: &Call, notes: &mut Vec<String>) -> Reply {
        match call {
            Call::Options => Reply::ok(),
            Call::Other(m) => Reply::text(&format!("Unsupported method {m}")),
            Call::Get(p) => self.get(p, notes),
            Call::Post(Err(e)) => Reply::text(&format!("Invalid request: {e}")),
            Call::Post(Ok((o, parse_notes))) => {
                notes.extend(parse_notes.iter().cloned());
                self.post(o, notes)
            }
        }
    }

    fn get(&mut self, p: &[(String, String)], notes: &mut Vec<String>) -> Reply {
        // The manual's JavaScript samples write `?action= currentpresence`, with a blank.
        let action = param(p, "action")
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if action.is_empty() {
            return Reply::ok();
        }
        let path = param(p, "path").filter(|s| !s.trim().is_empty());
        let Some(effect) = get_effect(&action, p, notes) else {
            return match action.as_str() {
                // "In http get operation, there is no difference between Off and Logout."
                "off" | "logout" => self.release_for(HTTP_SENDER, path, true),
                "currentpresence" => self.current_presence(HTTP_SENDER),
                "busylightdevices" => self.devices_reply(),
                "kuandotimer" => {
                    notes.push("kuandoTIMER is not simulated".into());
                    Reply::ok()
                }
                _ => Reply::text("Unknown action"),
            };
        };
        let mut cmd = Command::canonical(HTTP_SENDER, effect);
        cmd.parameter = get_form(p);
        if path.is_none() && !self.devices.is_empty() {
            // The built-in HTTP source gets its line with its first command **[inferred]**, like any source.
            self.add_line(Line::new(HTTP_SENDER, None, &[]));
        }
        self.apply(cmd, path)
    }

    fn post(&mut self, o: &Map<String, Value>, notes: &mut Vec<String>) -> Reply {
        let action = text(o, "action").unwrap_or_default().trim().to_string();
        let lower = action.to_ascii_lowercase();
        let sender = text(o, "sender").unwrap_or_default();
        let eventtype = text(o, "eventtype").unwrap_or_default();
        let eventname = text(o, "eventname").unwrap_or_default();
        let path = text(o, "path").filter(|s| !s.trim().is_empty());
        match lower.as_str() {
            "" => return Reply::ok(),
            "currentpresence" => return self.current_presence(&sender),
            "busylightdevices" => return self.devices_reply(),
            "off" => return self.release_for(&sender, path.as_deref(), false),
            "logout" => return self.release_for(&sender, path.as_deref(), true),
            _ => {}
        }
        let (param, param_text) = match parameter_of(o, notes) {
            Ok(p) => p,
            Err(e) => return Reply::text(&format!("Invalid parameter: {e}")),
        };
        let p = param.as_object().cloned().unwrap_or_default();
        match lower.as_str() {
            "registerdatasource" => {
                let Some(name) = text(&p, "DataSourceName").filter(|n| !n.trim().is_empty()) else {
                    return Reply::text("Invalid parameter: no DataSourceName");
                };
                let eventnames = get_ci(&p, "eventnames").cloned().unwrap_or(Value::Null);
                self.data_sources.retain(|d| d.name != name);
                self.data_sources.push(DataSource { name, eventnames });
                self.seq += 1;
                Reply::ok()
            }
            "createinitialpriority" => {
                let Some(line_sender) = text(&p, "sender")
                    .or_else(|| Some(sender.clone()))
                    .filter(|n| !n.trim().is_empty())
                else {
                    return Reply::text("Invalid parameter: no sender");
                };
                let line = Line {
                    sender: line_sender,
                    eventtype: text(&p, "eventtype"),
                    eventnames: match get_ci(&p, "eventnames") {
                        Some(Value::Array(a)) => a
                            .iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect(),
                        _ => Vec::new(),
                    },
                    enabled: get_ci(&p, "enabled")
                        .and_then(Value::as_bool)
                        .unwrap_or(true),
                    alert_priority: get_ci(&p, "IsAlertPriority")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                };
                if !self.add_line(line) {
                    notes.push("a priority line for this sender exists: no effect".into());
                }
                Reply::ok()
            }
            "startnotification" => {
                if self.devices.is_empty() {
                    return Reply::no_device("no Busylight connected");
                }
                let color = color_in(&p, notes);
                self.notifications
                    .retain(|n| !(n.sender == sender && n.eventname == eventname));
                self.notifications.push(Notification {
                    sender,
                    eventtype,
                    eventname,
                    color,
                });
                self.seq += 1;
                Reply::ok()
            }
            "stopnotification" => {
                let all = eventname.trim().is_empty();
                self.notifications
                    .retain(|n| !(n.sender == sender && (all || n.eventname == eventname)));
                self.seq += 1;
                if self.devices.is_empty() {
                    return Reply::no_device("no Busylight connected");
                }
                Reply::ok()
            }
            _ => match post_effect(&lower, &param, notes) {
                None => Reply::text("Unknown action"),
                Some(effect) => {
                    if sender.trim().is_empty() {
                        notes.push("no sender: no priority line can show it".into());
                    } else if path.is_none() && !self.devices.is_empty() {
                        // A sender gets its line with its first command too **[inferred]**: the manual adds
                        // lines "in the order [sources] first communicated".
                        self.add_line(Line::new(&sender, None, &[]));
                    }
                    self.apply(
                        Command {
                            action,
                            sender,
                            eventtype,
                            eventname,
                            parameter: param_text,
                            effect,
                        },
                        path.as_deref(),
                    )
                }
            },
        }
    }

    /// A lamp command: 404 without a lamp (nothing recorded), else the sender's running command, or with
    /// `path` the addressed lamp's direct command.
    fn apply(&mut self, cmd: Command, path: Option<&str>) -> Reply {
        if self.devices.is_empty() {
            return self.no_lamp();
        }
        match path {
            None => {
                self.set_running(cmd);
                Reply::ok()
            }
            Some(path) => match self.device_mut(path) {
                None => Reply::no_device("no Busylight with this path"),
                Some(d) => {
                    d.direct = Some(cmd);
                    self.seq += 1;
                    Reply::ok()
                }
            },
        }
    }

    /// `Off`/`Logout`: releases the sender (a lower source takes over) or a lamp's direct command. Without a
    /// lamp the answer is 404 like every lamp command, and nothing is released (see
    /// [`Settings::release_without_lamp`]).
    fn release_for(&mut self, sender: &str, path: Option<&str>, logout: bool) -> Reply {
        match path {
            Some(path) => match self.device_mut(path) {
                None => Reply::no_device("no Busylight with this path"),
                Some(d) => {
                    d.direct = None;
                    self.seq += 1;
                    Reply::ok()
                }
            },
            None => {
                if self.devices.is_empty() {
                    if self.settings.release_without_lamp {
                        self.release(sender, logout);
                    }
                    self.no_lamp()
                } else {
                    self.release(sender, logout);
                    Reply::ok()
                }
            }
        }
    }

    /// The answer without a lamp: 404, or `NO_DEVICE` with `--hub-no-device-text`.
    fn no_lamp(&self) -> Reply {
        if self.settings.no_device_text {
            Reply::no_device_text("no Busylight connected")
        } else {
            Reply::no_device("no Busylight connected")
        }
    }

    /// Windows device paths are case-insensitive.
    fn device_mut(&mut self, path: &str) -> Option<&mut Device> {
        let path = path.trim();
        self.devices
            .iter_mut()
            .find(|d| d.path.eq_ignore_ascii_case(path))
    }

    /// `currentpresence`: the running command of the highest active source, and (under `ownpriority`,
    /// a name the manual does not give **[inferred]**) the asking sender's own command whether it shows or
    /// not. GET asks as `HTTP`. An old hub did not know the action: see [`Options::hub_too_old`].
    fn current_presence(&self, own: &str) -> Reply {
        if self.settings.too_old {
            return too_old_reply(&self.settings.too_old_answer);
        }
        if self.devices.is_empty() && self.settings.no_device_text {
            return self.no_lamp();
        }
        let running = self
            .resolved()
            .map(|(_, c)| c.to_json())
            .unwrap_or_else(null_command);
        let own = self
            .running_of(own)
            .map(Command::to_json)
            .unwrap_or_else(null_command);
        Reply::json(&json!({"runningcommand": running, "ownpriority": own}))
    }

    fn devices_reply(&self) -> Reply {
        Reply::json(&Value::Array(
            self.devices.iter().map(Device::to_json).collect(),
        ))
    }

    /// What a lamp shows: its direct command, else the resolved one; the newest notification flashes over it.
    fn lamp(&self, direct: Option<&Command>) -> Value {
        let cmd = direct.or_else(|| self.resolved().map(|(_, c)| c));
        lamp_json(cmd, self.notifications.last())
    }

    /// The whole state for `GET /_sim/state`; `log` limits the request log to the newest entries.
    pub fn to_json(&self, log: Option<usize>) -> Value {
        let active = self.resolved().map(|(i, _)| i);
        let lines: Vec<Value> = self
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let running = self.running_of(&l.sender).filter(|c| l.matches(c));
                json!({
                    "position": i + 1,
                    "sender": l.sender,
                    "eventtype": l.eventtype,
                    "eventnames": l.eventnames,
                    "enabled": l.enabled,
                    "alert_priority": l.alert_priority,
                    "running": running.map(Command::to_json),
                    "active": active == Some(i),
                })
            })
            .collect();
        let sources: Vec<Value> = self
            .running
            .iter()
            .map(|c| {
                let line = self
                    .lines
                    .iter()
                    .position(|l| l.enabled && l.matches(c))
                    .map(|i| i + 1);
                let mut v = c.to_json();
                v["line"] = json!(line);
                v["shown"] = json!(active.is_some() && line == active.map(|i| i + 1));
                v["lamp"] = lamp_json(Some(c), None);
                v
            })
            .collect();
        let devices: Vec<Value> = self
            .devices
            .iter()
            .map(|d| {
                let mut v = d.to_json();
                v["direct"] = json!(d.direct.as_ref().map(Command::to_json));
                v["lamp"] = self.lamp(d.direct.as_ref());
                v
            })
            .collect();
        let skip = log.map_or(0, |n| self.log.len().saturating_sub(n));
        json!({
            "seq": self.seq,
            "uptime_ms": self.elapsed_ms(),
            "lamp": self.lamp(None),
            "running": self.resolved().map(|(_, c)| c.to_json()),
            "priorities": lines,
            "sources": sources,
            "notifications": self.notifications.iter().map(|n| json!({
                "sender": n.sender, "eventtype": n.eventtype, "eventname": n.eventname,
                "color": rgb_json(n.color)})).collect::<Vec<_>>(),
            "data_sources": self.data_sources.iter().map(|d| json!({
                "name": d.name, "eventnames": d.eventnames})).collect::<Vec<_>>(),
            "device_count": self.devices.len(),
            "devices": devices,
            "fault": self.fault.to_json(),
            "too_old": self.settings.too_old,
            "too_old_answer": self.settings.too_old_answer,
            "no_device_text": self.settings.no_device_text,
            "release_without_lamp": self.settings.release_without_lamp,
            "no_preflight": self.settings.no_preflight,
            "manual_name": self.manual_name(),
            "token_set": self.settings.token.is_some(),
            "token_required": self.settings.require_token,
            "requests": self.requests,
            "log": self.log.iter().skip(skip).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        State::new(&Options::default())
    }

    fn post(s: &mut State, body: Value) -> Reply {
        let o = body.as_object().cloned().unwrap_or_default();
        s.dispatch(&Call::Post(Ok((o, vec![]))), &mut vec![])
    }

    #[test]
    fn manual_changer_shows_green_at_start() {
        let s = state();
        let (i, c) = s.resolved().unwrap();
        assert_eq!(s.lines[i].sender, MANUAL_CHANGER);
        assert_eq!(c.eventname, "Available");
        assert_eq!(s.lamp(None)["color"]["hex"], "#00ff00");
    }

    #[test]
    fn create_initial_priority_goes_above_manual_changer_once() {
        let mut s = state();
        let n = s.lines.len();
        let p = json!({"enabled":true,"sender":"SDK","eventtype":null,"eventnames":[],"IsAlertPriority":false});
        let body =
            json!({"action":"CreateInitialPriority","sender":null,"parameter":p.to_string()});
        assert_eq!(post(&mut s, body.clone()).status, 200);
        assert_eq!(post(&mut s, body).status, 200);
        assert_eq!(s.lines.len(), n + 1);
        assert_eq!(s.lines[n - 1].sender, "SDK");
        assert_eq!(s.lines[n].sender, MANUAL_CHANGER);

        // A fresh hub has no line for the connector until its CreateInitialPriority; then exactly one.
        assert!(s
            .lines
            .iter()
            .all(|l| l.sender != kuando_connector::hub::SENDER));
        let p = json!({"enabled":true,"sender":kuando_connector::hub::SENDER,"eventtype":null,"eventnames":[],"IsAlertPriority":false});
        let body =
            json!({"action":"CreateInitialPriority","sender":null,"parameter":p.to_string()});
        assert_eq!(post(&mut s, body.clone()).status, 200);
        let after = s.lines.clone();
        assert_eq!(post(&mut s, body).status, 200);
        assert_eq!(s.lines, after);
        assert_eq!(
            after
                .iter()
                .filter(|l| l.sender == kuando_connector::hub::SENDER)
                .count(),
            1
        );

        // The concept's preset has the connector's lines: its catch-all line changes nothing there.
        s.set_lines(&json!({"preset": "concept"})).unwrap();
        let before = s.lines.clone();
        let body =
            json!({"action":"CreateInitialPriority","sender":null,"parameter":p.to_string()});
        assert_eq!(post(&mut s, body).status, 200);
        assert_eq!(s.lines, before);
    }

    #[test]
    fn fault_counts_down() {
        let mut s = state();
        s.fault = Fault::from_json(&json!({"mode":"500","times":2,"actions":["probe"]})).unwrap();
        assert_eq!(s.take_fault("light"), None);
        assert_eq!(s.take_fault("probe"), Some(FaultMode::Status(500)));
        assert_eq!(s.take_fault("probe"), Some(FaultMode::Status(500)));
        assert_eq!(s.take_fault("probe"), None);
        assert!(Fault::from_json(&json!({"mode":"teapot"})).is_err());
        assert!(Fault::from_json(&json!({"mode":"delay"})).is_err());
        assert!(Fault::from_json(&json!({"mode":200})).is_err());
    }
}
