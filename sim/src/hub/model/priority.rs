//! Who shows on the lamp: the senders' running commands, the priority list that ranks them (and the lists
//! a simulated hub starts with), notifications and registered data sources.

use kuando_connector::hub::{Endpoint, LampCommand, Rgb, Sound, Volume};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{HTTP_SENDER, KUANDO_TIMER};

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
    pub(super) fn new(sender: &str, eventtype: Option<&str>, eventnames: &[&str]) -> Line {
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
    pub(super) fn matches(&self, c: &Command) -> bool {
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
    pub(super) fn to_json(&self) -> Value {
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
    pub(super) fn canonical(sender: &str, effect: LampCommand) -> Command {
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

pub(super) fn null_command() -> Value {
    json!({"action": null, "sender": null, "eventtype": null, "eventname": null, "parameter": null})
}

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
