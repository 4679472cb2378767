//! What the simulated kuandoHUB knows and how it answers the HTTP API: the priority list, the running
//! command of each sender, notifications, registered data sources and the connected lamps. No IO here:
//! [`State::dispatch`] turns one parsed request into one [`Reply`].
//!
//! Facts from `docs/platform-facts.md` §1 and the kuandoHUB manual; every guess is marked
//! **[inferred]** with the reason for the choice.

use std::collections::VecDeque;
use std::time::Instant;

use kuando_connector::hub::{Endpoint, LampCommand, Rgb, Sound, Tenths, Volume};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::lenient::{self, get_ci, number, text};
use super::Options;

/// Sender of everything that came in through the GET interface (the hub's built-in `HTTP` data source).
pub const HTTP_SENDER: &str = "HTTP";
/// The hub's built-in manual control, which the concept's setup puts at the bottom, showing green. Its name
/// in `currentpresence` is not shown by any source (kuandohub-real-clients.md fact 1): the default is the
/// manual's text, `--hub-manual-name "Manual Controls"` gives the name of Plenom's screens.
pub const MANUAL_CHANGER: &str = "Manual Changer";
/// The hub's built-in timer source, as its priority screen shows it (fact 5).
pub const KUANDO_TIMER: &str = "kuando TIMER";

/// The priority list a simulated hub starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// A factory-new hub: `kuando TIMER` and the manual source only; a sender gets a line when it sends
    /// `CreateInitialPriority` (or, for 3rd-party plugins and the GET interface, when it first shows
    /// something).
    Fresh,
    /// The concept's recommended ordering ([`concept_lines`]), as an administrator sets it up.
    Concept,
}

impl Preset {
    pub fn parse(s: &str) -> Option<Preset> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fresh" => Some(Preset::Fresh),
            "concept" => Some(Preset::Concept),
            _ => None,
        }
    }
}
/// How many requests the log keeps (oldest dropped first).
pub const LOG_CAPACITY: usize = 200;
/// At most this many simulated lamps.
pub const MAX_DEVICES: usize = 8;

/// kuandoHUB's default Manual Changer colours [M p.32], with the names the Manual Changer reports. The
/// aliases are spellings 3rd-party presence events use for the same states **[inferred]**.
const PRESENCE_COLOURS: &[(&[&str], &str)] = &[
    (&["Available", "Free"], "#00ff00"),
    (&["Away", "Be-Right-Back", "BeRightBack"], "#ffff00"),
    (&["Busy"], "#ff0000"),
    (&["DND", "Do-Not-Disturb", "DoNotDisturb"], "#b400e1"),
    (&["LTM", "Listen-To-Music"], "#ff4500"),
    (&["Lunch"], "#0000ff"),
    (&["NAW", "Not-At-Work", "Not at work"], "#ff203c"),
    (&["Off", "Offline"], "#000000"),
];

/// What the too-old hub answers to `currentpresence` unless told otherwise.
pub const DEFAULT_TOO_OLD_ANSWER: &str = "Unknown action";

/// The answer of a hub too old for `currentpresence`. No source shows what an old kuandoHUB answers to an
/// action it does not know **[inferred]**, so the shape is a setting: `html` (an HTML error page, 200),
/// `empty` (an empty 200), or any other text, answered as plain text with 200 (e.g. `Unknown action`,
/// `Action not supported`). The connector calls only plain texts naming an unknown action "too old"; the
/// other shapes are a hub answering badly.
pub fn too_old_reply(answer: &str) -> Reply {
    match answer.trim() {
        "html" => Reply {
            status: 200,
            content_type: "text/html; charset=utf-8",
            body:
                "<html><head><title>Error</title></head><body><h1>Unknown action</h1></body></html>"
                    .into(),
            error: Some("too old: an HTML page for currentpresence".into()),
        },
        "empty" => Reply {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: String::new(),
            error: Some("too old: an empty answer for currentpresence".into()),
        },
        text => Reply::text(text),
    }
}

/// An answer of the hub API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    /// Why the request did nothing, for the request log (the hub itself says little).
    pub error: Option<String>,
}

impl Reply {
    fn json(v: &Value) -> Reply {
        Reply {
            status: 200,
            content_type: "application/json; charset=utf-8",
            body: v.to_string(),
            error: None,
        }
    }

    /// `{"response": "OK"}`, spaced exactly as the concept shows the real hub's liveness answer. Control
    /// commands answer the same: their success body is undocumented and clients only check the status.
    pub fn ok() -> Reply {
        Reply {
            status: 200,
            content_type: "application/json; charset=utf-8",
            body: r#"{"response": "OK"}"#.into(),
            error: None,
        }
    }

    /// The manual defines only 200, 401 and 404 for the hub **[inferred]**: a request the hub cannot use
    /// (unknown action, broken JSON) is answered 200 with a plain-text message, as a .NET HttpListener
    /// handler that does not set a status would. The request log records the reason.
    fn text(msg: &str) -> Reply {
        Reply {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: msg.into(),
            error: Some(msg.into()),
        }
    }

    fn no_device(why: &str) -> Reply {
        Reply {
            status: 404,
            content_type: "text/plain; charset=utf-8",
            body: "Busylight device is not connected".into(),
            error: Some(why.into()),
        }
    }

    /// The macOS Busylight HTTP server's way: status 200, the text `NO_DEVICE` **[inferred]** (a public
    /// client only checks that the text is in the answer).
    fn no_device_text(why: &str) -> Reply {
        Reply {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: "NO_DEVICE".into(),
            error: Some(why.into()),
        }
    }

    pub fn unauthorized() -> Reply {
        Reply {
            status: 401,
            content_type: "text/plain; charset=utf-8",
            body: "http token invalid".into(),
            error: Some("missing or wrong access token".into()),
        }
    }
}

/// One parsed hub request.
#[derive(Debug, Clone)]
pub enum Call {
    /// A CORS preflight.
    Options,
    /// GET (and HEAD) with the decoded query parameters.
    Get(Vec<(String, String)>),
    /// POST with the leniently parsed body (an object) and the repairs it needed, or why it is unusable.
    Post(Result<(Map<String, Value>, Vec<String>), String>),
    /// Any other method.
    Other(String),
}

impl Call {
    /// The action the request asks for, lower case, for fault filters and the log: `probe` for a request
    /// without one (`GET /`), `options` for a preflight, `invalid` for an unusable POST body.
    pub fn action_key(&self) -> String {
        let a = match self {
            Call::Options => return "options".into(),
            Call::Other(m) => return m.to_ascii_lowercase(),
            Call::Get(p) => param(p, "action").map(str::to_string),
            Call::Post(Ok((o, _))) => text(o, "action"),
            Call::Post(Err(_)) => return "invalid".into(),
        };
        match a.map(|a| a.trim().to_ascii_lowercase()) {
            Some(a) if !a.is_empty() => a,
            _ => "probe".into(),
        }
    }

    /// The POST sender, for the log.
    pub fn sender(&self) -> Option<String> {
        match self {
            Call::Post(Ok((o, _))) => text(o, "sender"),
            Call::Get(p) if param(p, "action").is_some() => Some(HTTP_SENDER.into()),
            _ => None,
        }
    }
}

/// A GET parameter by name, ignoring case (the manual's tables write `Red`, its URLs `red`).
fn param<'a>(p: &'a [(String, String)], name: &str) -> Option<&'a str> {
    p.iter()
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A numeric GET parameter, clamped to `min..=max`; missing or not a number: `default`.
fn get_num(
    p: &[(String, String)],
    name: &str,
    default: i64,
    min: i64,
    max: i64,
    notes: &mut Vec<String>,
) -> i64 {
    match param(p, name) {
        None => default,
        Some(raw) => match number(&Value::String(raw.into())) {
            None => {
                notes.push(format!("{name}={raw:?} is not a number: {default} used"));
                default
            }
            Some(v) => clamped(v, min, max, name, notes),
        },
    }
}

/// `red`, `green`, `blue` (with a prefix: `flashred`, ...), 0..100, default 0.
fn get_rgb(p: &[(String, String)], prefix: &str, notes: &mut Vec<String>) -> Rgb {
    let mut ch = |c: &str| get_num(p, &format!("{prefix}{c}"), 0, 0, 100, notes) as u8;
    let (r, g, b) = (ch("red"), ch("green"), ch("blue"));
    Rgb::new(r, g, b).unwrap_or(Rgb::OFF)
}

/// A running command of one sender.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub action: String,
    pub sender: String,
    pub eventtype: String,
    pub eventname: String,
    /// `parameter` as `currentpresence` reports it: the text as the sender posted it **[inferred]** (the
    /// hub passes the embedded JSON string through), so a sloppy sender gets its sloppiness back.
    pub parameter: String,
    /// What the lamp does for it; never `Off`/`Logout`, which release instead.
    pub effect: LampCommand,
}

impl Command {
    fn to_json(&self) -> Value {
        json!({
            "action": self.action,
            "sender": self.sender,
            "eventtype": self.eventtype,
            "eventname": self.eventname,
            "parameter": self.parameter,
        })
    }

    /// A command as the POST interface names it, e.g. a GET `blink` becomes `Blink` / `Blink` / `Blink`
    /// with its parameter in POST form. Built with the connector core's own request builder rather than a
    /// second copy of the manual's table.
    fn canonical(sender: &str, effect: LampCommand) -> Command {
        let (action, eventtype, eventname, parameter) = post_form(effect);
        Command {
            action,
            sender: sender.into(),
            eventtype,
            eventname,
            parameter,
            effect,
        }
    }
}

fn post_form(effect: LampCommand) -> (String, String, String, String) {
    let body = Endpoint::new("http://127.0.0.1/", "")
        .ok()
        .and_then(|e| e.command(effect, None).body)
        .and_then(|b| serde_json::from_str::<Value>(&b).ok())
        .unwrap_or(Value::Null);
    let field = |k: &str| body[k].as_str().unwrap_or_default().to_string();
    (
        field("action"),
        field("eventtype"),
        field("eventname"),
        field("parameter"),
    )
}

/// `parameter` of a GET-driven command as `currentpresence` reports it: a JSON string of the query's own
/// names and values, e.g. `{"action":"light","green":"50"}` (docs/platform-facts.md §1.7: the Stream
/// Deck plugins read `JSON.parse(parameter).action` and `.red` / `.green`). Values stay the query's text
/// **[inferred]**: the hub keeps the query as a name/value collection of strings (one plugin `parseInt`s
/// them). The access token is never echoed.
fn get_form(p: &[(String, String)]) -> String {
    let mut o = Map::new();
    for (k, v) in p {
        let k = k.trim();
        if k.eq_ignore_ascii_case("accesstoken") || k.eq_ignore_ascii_case("http_token") {
            continue;
        }
        let v = if k.eq_ignore_ascii_case("action") {
            v.trim()
        } else {
            v.as_str()
        };
        o.insert(k.to_string(), Value::String(v.to_string()));
    }
    Value::Object(o).to_string()
}

fn null_command() -> Value {
    json!({"action": null, "sender": null, "eventtype": null, "eventname": null, "parameter": null})
}

/// A line of the hub's priority list ("Platform Priorities"): a data source, optionally narrowed to an
/// event type and event names, enabled or not. Higher in the list wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub sender: String,
    /// `None`: all event types.
    #[serde(default)]
    pub eventtype: Option<String>,
    /// Empty: all event names.
    #[serde(default)]
    pub eventnames: Vec<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default, alias = "IsAlertPriority")]
    pub alert_priority: bool,
}

fn yes() -> bool {
    true
}

impl Line {
    fn new(sender: &str, eventtype: Option<&str>, eventnames: &[&str]) -> Line {
        Line {
            sender: sender.into(),
            eventtype: eventtype.map(str::to_string),
            eventnames: eventnames.iter().map(|s| s.to_string()).collect(),
            enabled: true,
            alert_priority: false,
        }
    }

    /// Sender names compare exactly (the hub keys its data sources by name); event types and names ignore
    /// case, since the same plugin is not consistent about them.
    fn matches(&self, c: &Command) -> bool {
        self.sender == c.sender
            && self
                .eventtype
                .as_deref()
                .is_none_or(|t| t.trim().is_empty() || t.eq_ignore_ascii_case(&c.eventtype))
            && (self.eventnames.is_empty()
                || self
                    .eventnames
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(&c.eventname)))
    }
}

/// The priority list of the concept's recommended setup ("make sure that all telephone events ... are of
/// higher value than simple presence events"), per sender *and* event type: the connector's `Call` events on
/// top, then the telephony events of the supported plugins, then the connector's `Presence` events (the
/// user's own busy/DND/away/lunch colours), the HTTP source, other presence, and `Manual Changer` at the
/// bottom (showing green while nothing else runs). So a Teams call shows over the connector's "away" light
/// (and `currentpresence` reports it), while a myApps call shows over the Teams call.
///
/// A factory-new hub lists only `kuando TIMER` and the manual source [M §2.3] ([`fresh_lines`]); plugins
/// and the connector add their lines when they first talk to the hub. This is the preset `concept`. The HTTP line is there because "the GET
/// interface requires the HTTP data source to be configured". The Teams presence line leaves out the
/// "free" states, as the concept says to ("MS Teams / available" must be deactivated); the Teams presence
/// event names are not published and are a guess. The connector's events that are neither `Call` nor
/// `Presence` (`Light` / `Off` only releases) have no line, as on a hub where the admin ranked only the
/// events the connector registered.
pub fn concept_lines(manual: &str) -> Vec<Line> {
    use kuando_connector::hub::{EVENT_TYPE_CALL, EVENT_TYPE_PRESENCE, SENDER};
    vec![
        Line::new(SENDER, Some(EVENT_TYPE_CALL), &[]),
        // "In-A-Meeting" and "In-A-Call" as the hub's Teams screens show them (fact 5).
        Line::new(
            "MS Teams",
            None,
            &[
                "Call Alert",
                "On-The-Phone",
                "In-a-Conference",
                "In-A-Meeting",
                "In-A-Call",
            ],
        ),
        Line::new("Zoom", None, &["Call Alert", "In-a-Zoom-Meeting"]),
        Line::new("Webex", None, &["Call Alert", "On-The-Phone"]),
        Line::new(SENDER, Some(EVENT_TYPE_PRESENCE), &[]),
        Line::new(HTTP_SENDER, None, &[]),
        Line::new(
            "MS Teams",
            None,
            &["Busy", "Do-Not-Disturb", "Away", "Be-Right-Back"],
        ),
        Line::new(KUANDO_TIMER, Some("Presence"), &[]),
        Line::new(manual, None, &[]),
    ]
}

/// A factory-new hub's list [M §2.3]: the timer and the manual source, nothing for any other sender.
pub fn fresh_lines(manual: &str) -> Vec<Line> {
    vec![
        Line::new(KUANDO_TIMER, None, &[]),
        Line::new(manual, None, &[]),
    ]
}

/// The list of a preset.
pub fn preset_lines(preset: Preset, manual: &str) -> Vec<Line> {
    match preset {
        Preset::Fresh => fresh_lines(manual),
        Preset::Concept => concept_lines(manual),
    }
}

/// A notification set with `StartNotification`.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub sender: String,
    pub eventtype: String,
    pub eventname: String,
    pub color: Rgb,
}

/// A data source registered with `RegisterDataSource`.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSource {
    pub name: String,
    pub eventnames: Value,
}

/// One simulated Busylight.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub model: String,
    pub product_id: String,
    pub usb_id: String,
    pub unique_id: String,
    pub path: String,
    /// Set by a command with `path=`: such commands address one lamp directly, outside the priorities
    /// ("not all devices are controlled by the priorities settings anymore" [M p.16]).
    pub direct: Option<Command>,
}

impl Device {
    fn simulated(i: usize) -> Device {
        let (model, pid) = if i.is_multiple_of(2) {
            ("Busylight UC Omega", "3BCD")
        } else {
            ("Busylight UC Alpha", "3BCA")
        };
        let n = i + 1;
        Device {
            model: model.into(),
            product_id: pid.into(),
            usb_id: "27BB".into(),
            unique_id: format!("SIM{n:04}"),
            // Windows HID paths contain `\`, `?`, `#`, `&` and `{}`: a client that does not URL-encode the
            // path (as the manual warns) fails here as it would on a real PC.
            path: format!(
                r"\\?\hid#vid_27bb&pid_{}#sim{n:04}#{{4d1e55b2-f16f-11cf-88cb-001111000030}}",
                pid.to_ascii_lowercase()
            ),
            direct: None,
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "ModelName": self.model,
            "ProductID": self.product_id,
            "USBID": self.usb_id,
            "UniqueID": self.unique_id,
            "HIDDevicePath": self.path,
            "FirmwareRelease": "2.4",
            "IsLightSupported": true,
            "IsSoundSupported": true,
            "IsJingleClipSupport": true,
        })
    }
}

/// An injected fault (`POST /_sim/fault`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FaultMode {
    #[default]
    None,
    /// Close the connection without an answer. `refuse` is the same: a real refusal would also take the
    /// control API on this port down, and a browser cannot tell the two apart (both are a network error).
    Close,
    /// Answer after this many milliseconds.
    Delay(u64),
    /// 200 with a body that is no JSON at all.
    Garbage,
    /// This status with a short text body.
    Status(u16),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fault {
    pub mode: FaultMode,
    /// The name it was set with (`refuse`, `close`, ...), for the state view.
    pub name: String,
    /// Lower-case actions it applies to (`probe` for `GET /`); empty: every hub request.
    pub actions: Vec<String>,
    /// How many more requests it hits; `None`: until changed.
    pub times: Option<u32>,
}

impl Fault {
    /// Parses `{"mode": "delay", "ms": 1500, "actions": ["currentpresence"], "times": 2}`.
    pub fn from_json(v: &Value) -> Result<Fault, String> {
        let o = v.as_object().ok_or("expected a JSON object")?;
        let raw = get_ci(o, "mode").ok_or("missing \"mode\"")?;
        let name = match raw {
            Value::String(s) => s.trim().to_ascii_lowercase(),
            Value::Number(n) => n.to_string(),
            _ => return Err("\"mode\" must be a string or a status number".into()),
        };
        let mode = match name.as_str() {
            "none" | "off" | "" => FaultMode::None,
            "refuse" | "close" => FaultMode::Close,
            "garbage" => FaultMode::Garbage,
            "delay" => {
                let ms = get_ci(o, "ms")
                    .and_then(number)
                    .ok_or("delay needs \"ms\"")?;
                FaultMode::Delay(ms.clamp(0, 600_000) as u64)
            }
            s => match s.parse::<u16>() {
                Ok(code) if (400..=599).contains(&code) => FaultMode::Status(code),
                _ => {
                    return Err(format!(
                    "unknown mode {s:?} (none, refuse, close, delay, garbage, or a status 400..599)"
                ))
                }
            },
        };
        let actions = match get_ci(o, "actions").or_else(|| get_ci(o, "action")) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s.trim().to_ascii_lowercase()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(|s| s.trim().to_ascii_lowercase())
                .collect(),
            Some(_) => return Err("\"actions\" must be a list of action names".into()),
        };
        let times = get_ci(o, "times")
            .and_then(number)
            .map(|n| n.clamp(0, u32::MAX.into()) as u32);
        Ok(Fault {
            name: if mode == FaultMode::None {
                "none".into()
            } else {
                name
            },
            mode,
            actions,
            times,
        })
    }

    fn to_json(&self) -> Value {
        let ms = match self.mode {
            FaultMode::Delay(ms) => Some(ms),
            _ => None,
        };
        json!({"mode": if self.name.is_empty() { "none" } else { &self.name }, "ms": ms,
               "actions": self.actions, "times": self.times})
    }
}

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
        let color = get_rgb(p, "", notes);
        let effect = match action.as_str() {
            "light" => LampCommand::Light(color),
            "pulse" => LampCommand::Pulse(color),
            "colorwithflash" => LampCommand::ColorWithFlash {
                color,
                flash: get_rgb(p, "flash", notes),
            },
            "blink" => LampCommand::Blink {
                color,
                on: tenths(get_num(p, "ontime", 5, 1, 255, notes)),
                off: tenths(get_num(p, "offtime", 5, 1, 255, notes)),
            },
            "alert" | "jingle" => {
                let sound = sound_of(get_num(p, "sound", 3, i64::MIN, i64::MAX, notes), notes);
                let volume =
                    Volume::new(get_num(p, "volume", 75, 0, 100, notes) as u8).unwrap_or_default();
                if action == "alert" {
                    LampCommand::Alert {
                        color,
                        sound,
                        volume,
                    }
                } else {
                    LampCommand::Jingle {
                        color,
                        sound,
                        volume,
                    }
                }
            }
            // "In http get operation, there is no difference between Off and Logout."
            "off" | "logout" => return self.release_for(HTTP_SENDER, path, true),
            "currentpresence" => return self.current_presence(HTTP_SENDER),
            "busylightdevices" => return self.devices_reply(),
            "kuandotimer" => {
                notes.push("kuandoTIMER is not simulated".into());
                return Reply::ok();
            }
            _ => return Reply::text("Unknown action"),
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
            "manual_name": self.manual_name(),
            "token_set": self.settings.token.is_some(),
            "token_required": self.settings.require_token,
            "requests": self.requests,
            "log": self.log.iter().skip(skip).collect::<Vec<_>>(),
        })
    }
}

/// The `parameter` field: a JSON string (the documented form, parsed leniently), an object (the manual's
/// mistake, accepted), or empty. Returns the parsed value and the text `currentpresence` will report.
fn parameter_of(
    o: &Map<String, Value>,
    notes: &mut Vec<String>,
) -> Result<(Value, String), String> {
    match get_ci(o, "parameter") {
        None | Some(Value::Null) => Ok((Value::Null, String::new())),
        Some(Value::String(s)) if s.trim().is_empty() => Ok((Value::Null, s.clone())),
        Some(Value::String(s)) => {
            let (v, n) = lenient::parse(s)?;
            notes.extend(n.into_iter().map(|n| format!("parameter: {n}")));
            Ok((v, s.clone()))
        }
        Some(other) => {
            notes.push("parameter given as JSON instead of a JSON string".into());
            Ok((other.clone(), other.to_string()))
        }
    }
}

/// The lamp effect of a POST lamp action, `None` for anything else.
fn post_effect(action: &str, param: &Value, notes: &mut Vec<String>) -> Option<LampCommand> {
    let empty = Map::new();
    let p = param.as_object().unwrap_or(&empty);
    let color = color_in(p, notes);
    let num = |k: &str| get_ci(p, k).and_then(number);
    Some(match action {
        "light" => LampCommand::Light(color),
        "pulse" => LampCommand::Pulse(color),
        "colorwithflash" => LampCommand::ColorWithFlash {
            color,
            flash: match get_ci(p, "flash").and_then(Value::as_object) {
                Some(f) => rgb_in(f, notes),
                None => Rgb::OFF,
            },
        },
        "blink" => LampCommand::Blink {
            color,
            on: tenths(clamped(num("ontime").unwrap_or(5), 1, 255, "ontime", notes)),
            off: tenths(clamped(
                num("offtime").unwrap_or(5),
                1,
                255,
                "offtime",
                notes,
            )),
        },
        "alert" | "jingle" => {
            let sound = sound_of(num("clip").or_else(|| num("sound")).unwrap_or(3), notes);
            let volume =
                Volume::new(clamped(num("volume").unwrap_or(75), 0, 100, "volume", notes) as u8)
                    .unwrap_or_default();
            if action == "alert" {
                LampCommand::Alert {
                    color,
                    sound,
                    volume,
                }
            } else {
                LampCommand::Jingle {
                    color,
                    sound,
                    volume,
                }
            }
        }
        _ => return None,
    })
}

/// The colour of a parameter: its `color` object, or the parameter itself (`Light`, `StartNotification`).
fn color_in(p: &Map<String, Value>, notes: &mut Vec<String>) -> Rgb {
    match get_ci(p, "color").and_then(Value::as_object) {
        Some(c) => rgb_in(c, notes),
        None => rgb_in(p, notes),
    }
}

/// `{"RedRgbValue":..,"GreenRgbValue":..,"BlueRgbValue":..}`, missing channels 0.
///
/// **Decision:** values above 100 (the manual's own examples send 255) are clamped to 100, not rescaled
/// from 0..255: the documented range is 0..100, and for the manual's values (0 or 255) both readings give
/// the same colour. Each clamp is noted in the request log.
fn rgb_in(o: &Map<String, Value>, notes: &mut Vec<String>) -> Rgb {
    let mut ch = |long: &str, short: &str| -> u8 {
        let v = get_ci(o, long).or_else(|| get_ci(o, short));
        match v.and_then(number) {
            None => 0,
            Some(n) => clamped(n, 0, 100, long, notes) as u8,
        }
    };
    let r = ch("RedRgbValue", "red");
    let g = ch("GreenRgbValue", "green");
    let b = ch("BlueRgbValue", "blue");
    Rgb::new(r, g, b).unwrap_or(Rgb::OFF)
}

fn clamped(v: i64, min: i64, max: i64, name: &str, notes: &mut Vec<String>) -> i64 {
    let c = v.clamp(min, max);
    if c != v {
        notes.push(format!("{name} {v} out of range {min}..{max}: {c} used"));
    }
    c
}

fn tenths(v: i64) -> Tenths {
    Tenths::new(v.clamp(1, 255) as u8).unwrap_or(Tenths::DEFAULT)
}

/// **[inferred]** A sound number outside 0..8 (the manual's Jingle example sends `clip` 9) plays nothing:
/// there is no such clip.
fn sound_of(n: i64, notes: &mut Vec<String>) -> Sound {
    match u8::try_from(n).ok().and_then(Sound::from_number) {
        Some(s) => s,
        None => {
            notes.push(format!("sound {n} does not exist (0..8): no sound"));
            Sound::None
        }
    }
}

/// The command a source runs for a named event when only the event is given (`POST /_sim/source` without
/// `action`). **[inferred]** Presence names take kuandoHUB's Manual Changer colours; "Call Alert" rings
/// (an `Alert` with a telephone sound, as the plugins ring the lamp on an incoming call); other call
/// events ("On-The-Phone", "In-a-Zoom-Meeting", ...) and unknown names show red, the plugins' busy colour.
pub fn presence_command(sender: &str, eventtype: &str, eventname: &str) -> Command {
    let norm = |s: &str| {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase()
    };
    let name = norm(eventname);
    let red = Rgb::new(100, 0, 0).unwrap_or(Rgb::OFF);
    let effect = if let Some((_, hex)) = PRESENCE_COLOURS
        .iter()
        .find(|(names, _)| names.iter().any(|n| norm(n) == name))
    {
        LampCommand::Light(Rgb::from_hex(hex).unwrap_or(Rgb::OFF))
    } else if name.contains("alert") {
        LampCommand::Alert {
            color: red,
            sound: Sound::TelephoneNordic,
            volume: Volume::default(),
        }
    } else {
        LampCommand::Light(red)
    };
    let mut c = Command::canonical(sender, effect);
    c.eventtype = eventtype.into();
    c.eventname = eventname.into();
    c
}

fn to_byte(l: u8) -> u8 {
    ((u16::from(l.min(100)) * 255 + 50) / 100) as u8
}

fn rgb_json(c: Rgb) -> Value {
    let (r, g, b) = (c.red.get(), c.green.get(), c.blue.get());
    json!({"red": r, "green": g, "blue": b,
           "hex": format!("#{:02x}{:02x}{:02x}", to_byte(r), to_byte(g), to_byte(b))})
}

/// The lamp as a person sees it. `effect`: off, light, blink, pulse, alert (blinking and ringing),
/// jingle (steady, sound played once) or colorwithflash; a notification shows as the underlying colour
/// with the notification colour flashing over it **[inferred]**: "a global notification ... even if the
/// underlying presence state is not shown".
pub fn lamp_json(cmd: Option<&Command>, notification: Option<&Notification>) -> Value {
    let mut v = json!({
        "effect": "off", "color": rgb_json(Rgb::OFF), "flash": null, "ontime": null, "offtime": null,
        "sound": null, "volume": null, "sound_repeats": false,
        "source": null, "action": null, "eventname": null, "notification": null, "describe": "Off",
    });
    if let Some(c) = cmd {
        v["source"] = json!(c.sender);
        v["action"] = json!(c.action);
        v["eventname"] = json!(c.eventname);
        v["describe"] = json!(c.effect.describe());
        let sound = |s: Sound| json!({"number": s.number(), "name": s.name()});
        match c.effect {
            LampCommand::Light(col) => {
                v["effect"] = json!("light");
                v["color"] = rgb_json(col);
            }
            LampCommand::Pulse(col) => {
                v["effect"] = json!("pulse");
                v["color"] = rgb_json(col);
            }
            LampCommand::Blink { color, on, off } => {
                v["effect"] = json!("blink");
                v["color"] = rgb_json(color);
                v["ontime"] = json!(on.get());
                v["offtime"] = json!(off.get());
            }
            LampCommand::Alert {
                color,
                sound: s,
                volume,
            } => {
                v["effect"] = json!("alert");
                v["color"] = rgb_json(color);
                v["ontime"] = json!(Tenths::DEFAULT.get());
                v["offtime"] = json!(Tenths::DEFAULT.get());
                v["sound"] = sound(s);
                v["volume"] = json!(volume.get());
                v["sound_repeats"] = json!(true);
            }
            LampCommand::Jingle {
                color,
                sound: s,
                volume,
            } => {
                v["effect"] = json!("jingle");
                v["color"] = rgb_json(color);
                v["sound"] = sound(s);
                v["volume"] = json!(volume.get());
            }
            LampCommand::ColorWithFlash { color, flash } => {
                v["effect"] = json!("colorwithflash");
                v["color"] = rgb_json(color);
                v["flash"] = rgb_json(flash);
            }
            LampCommand::Off | LampCommand::Logout => {}
        }
    }
    if let Some(n) = notification {
        v["effect"] = json!("colorwithflash");
        v["flash"] = rgb_json(n.color);
        v["notification"] =
            json!({"sender": n.sender, "eventtype": n.eventtype, "eventname": n.eventname});
    }
    v
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

    #[test]
    fn colours_scale_to_bytes() {
        assert_eq!(to_byte(100), 255);
        assert_eq!(to_byte(50), 128);
        assert_eq!(to_byte(0), 0);
        let c = presence_command(MANUAL_CHANGER, "Light", "DND");
        assert_eq!(lamp_json(Some(&c), None)["color"]["hex"], "#b500e0"); // #b400e1 rounded through the 0..100 scale
    }
}
