//! The per-user settings, as stored by the app service and edited in the config app.
//!
//! JSON is camelCase. Reading is forgiving (unknown fields ignored, missing ones defaulted, so settings saved by
//! an older or newer release still load) but never guesses (a field of the wrong type, `null` included, or given
//! twice makes the text unreadable); [`Config::validate`] is strict and names every problem with its field.
//! The JSON mapping is written out below rather than derived: see [`crate::json`] for why.

use std::fmt;

use crate::hub::{self, Rgb, Sound, Volume};
use crate::json::{self, Json, JsonError, Members};

/// The hub URL a fresh install uses: kuandoHUB on the same PC.
pub const DEFAULT_HUB_URL: &str = "http://localhost:8989/";
/// Default poll interval in seconds.
pub const DEFAULT_POLL_INTERVAL_S: u32 = 2;
/// Allowed poll interval range in seconds.
pub const POLL_INTERVAL_RANGE_S: std::ops::RangeInclusive<u32> = 1..=60;
/// Longest hub URL and token accepted.
pub const MAX_TEXT_LEN: usize = 512;

/// Everything a user can set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Base URL of the kuandoHUB HTTP server.
    pub hub_url: String,
    /// Access token for a remote hub (empty: none). Never traced.
    pub token: String,
    /// Seconds between two `currentpresence` polls.
    pub poll_interval: u32,
    /// What the lamp shows for each state.
    pub lamp: LampScheme,
    /// Which trace groups go to the console.
    pub trace: TraceFlags,
    /// The missed-call notification on the lamp.
    pub missed_call: MissedCall,
}

/// Default time a missed-call notification stays on the lamp, in minutes.
pub const DEFAULT_MISSED_CALL_MINUTES: u32 = 30;
/// Longest time a missed-call notification may be set to stay (a day), in minutes.
pub const MAX_MISSED_CALL_MINUTES: u32 = 1_440;
/// The effects a missed-call notification can have (no sound: a notification may stay for half an hour).
pub const MISSED_CALL_EFFECTS: [Effect; 3] = [Effect::Light, Effect::Blink, Effect::Pulse];

/// How a missed call shows on the lamp: a kuandoHUB notification under the connector's sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissedCall {
    pub enabled: bool,
    /// One of [`MISSED_CALL_EFFECTS`].
    pub effect: Effect,
    /// `#rrggbb`.
    pub color: String,
    /// Minutes after which the notification ends by itself; 0: it stays until the next call or a clear.
    pub minutes: u32,
}

impl Default for MissedCall {
    fn default() -> Self {
        MissedCall {
            enabled: true,
            effect: Effect::Pulse,
            color: "#ff8000".to_string(),
            minutes: DEFAULT_MISSED_CALL_MINUTES,
        }
    }
}

impl MissedCall {
    /// The notification's look as a lamp command; `None` when switched off or invalid.
    pub fn command(&self) -> Option<hub::LampCommand> {
        if !self.enabled || !MISSED_CALL_EFFECTS.contains(&self.effect) {
            return None;
        }
        LampSetting::new(self.effect, &self.color).command()
    }

    fn to_tree(&self) -> Json {
        Json::object(vec![
            ("enabled", self.enabled.into()),
            ("effect", self.effect.as_str().into()),
            ("color", self.color.as_str().into()),
            ("minutes", self.minutes.into()),
        ])
    }

    fn from_tree(j: &Json) -> Result<MissedCall, JsonError> {
        let o: &Members = json::object(j, "missedCall")?;
        let mut m = MissedCall::default();
        if let Some(b) = json::boolean(o, "enabled")? {
            m.enabled = b;
        }
        if let Some(e) = json::member(o, "effect")? {
            let names = Effect::ALL.map(Effect::as_str);
            m.effect = Effect::ALL[json::one_of(e, "effect", &names)?];
        }
        if let Some(c) = json::string(o, "color")? {
            m.color = c;
        }
        if let Some(n) = json::uint(o, "minutes", u32::MAX.into())? {
            m.minutes = u32::try_from(n).unwrap_or(u32::MAX);
        }
        Ok(m)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            hub_url: DEFAULT_HUB_URL.to_string(),
            token: String::new(),
            poll_interval: DEFAULT_POLL_INTERVAL_S,
            lamp: LampScheme::default(),
            trace: TraceFlags::default(),
            missed_call: MissedCall::default(),
        }
    }
}

/// How the lamp shows one state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// Steady light.
    Light,
    /// On/off blinking (0.5 s / 0.5 s).
    Blink,
    /// Slow pulsing.
    Pulse,
    /// Blinking with a sound (the lamp "rings").
    Alert,
    /// A sound played once, then steady light.
    Jingle,
    /// Lamp dark: the connector releases it so that lower-priority sources show.
    Off,
}

impl Effect {
    pub const ALL: [Effect; 6] = [
        Effect::Light,
        Effect::Blink,
        Effect::Pulse,
        Effect::Alert,
        Effect::Jingle,
        Effect::Off,
    ];

    /// True for effects that play a sound.
    pub fn has_sound(self) -> bool {
        matches!(self, Effect::Alert | Effect::Jingle)
    }

    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Light => "light",
            Effect::Blink => "blink",
            Effect::Pulse => "pulse",
            Effect::Alert => "alert",
            Effect::Jingle => "jingle",
            Effect::Off => "off",
        }
    }
}

/// One lamp setting: effect, colour (`#rrggbb`, as a colour picker gives it) and, for sound effects, sound
/// and volume.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LampSetting {
    pub effect: Effect,
    pub color: String,
    /// kuandoHUB sound number 0..=8 (0 = none).
    pub sound: u8,
    /// 0..=100.
    pub volume: u8,
}

impl Default for LampSetting {
    fn default() -> Self {
        LampSetting::new(Effect::Light, "#ff0000")
    }
}

impl LampSetting {
    pub fn new(effect: Effect, color: &str) -> Self {
        LampSetting {
            effect,
            color: color.to_string(),
            sound: 0,
            volume: hub::DEFAULT_VOLUME,
        }
    }

    fn to_tree(&self) -> Json {
        Json::object(vec![
            ("effect", self.effect.as_str().into()),
            ("color", self.color.as_str().into()),
            ("sound", self.sound.into()),
            ("volume", self.volume.into()),
        ])
    }

    /// A slot's setting; missing fields take [`LampSetting::default`]'s.
    fn from_tree(j: &Json, slot: &str) -> Result<LampSetting, JsonError> {
        let o: &Members = json::object(j, slot)?;
        let mut s = LampSetting::default();
        if let Some(e) = json::member(o, "effect")? {
            let names = Effect::ALL.map(Effect::as_str);
            s.effect = Effect::ALL[json::one_of(e, "effect", &names)?];
        }
        if let Some(c) = json::string(o, "color")? {
            s.color = c;
        }
        let byte = |name| Ok::<_, JsonError>(json::uint(o, name, 255)?.map(|n| n as u8));
        if let Some(n) = byte("sound")? {
            s.sound = n;
        }
        if let Some(n) = byte("volume")? {
            s.volume = n;
        }
        Ok(s)
    }

    /// The hub command for this setting; `None` if the setting is invalid (the caller validated the config,
    /// so this only guards against a corrupted one).
    pub fn command(&self) -> Option<hub::LampCommand> {
        let color = Rgb::from_hex(&self.color)?;
        let sound = Sound::from_number(self.sound)?;
        let volume = Volume::new(self.volume)?;
        Some(match self.effect {
            Effect::Light => hub::LampCommand::Light(color),
            Effect::Blink => hub::LampCommand::blink(color),
            Effect::Pulse => hub::LampCommand::Pulse(color),
            Effect::Alert => hub::LampCommand::Alert {
                color,
                sound,
                volume,
            },
            Effect::Jingle => hub::LampCommand::Jingle {
                color,
                sound,
                volume,
            },
            Effect::Off => hub::LampCommand::Off,
        })
    }
}

/// The lamp setting for each state the connector shows. Defaults follow kuandoHUB's own presence colours
/// (busy red, away yellow, DND purple, lunch blue) and the reference connector's blinking for a ringing call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LampScheme {
    pub ringing: LampSetting,
    pub dialing: LampSetting,
    pub connected: LampSetting,
    pub held: LampSetting,
    pub busy: LampSetting,
    pub away: LampSetting,
    pub dnd: LampSetting,
    pub lunch: LampSetting,
}

impl Default for LampScheme {
    fn default() -> Self {
        LampScheme {
            ringing: LampSetting::new(Effect::Blink, "#ff0000"),
            dialing: LampSetting::new(Effect::Pulse, "#ff0000"),
            connected: LampSetting::new(Effect::Light, "#ff0000"),
            held: LampSetting::new(Effect::Pulse, "#ffff00"),
            busy: LampSetting::new(Effect::Light, "#ff0000"),
            away: LampSetting::new(Effect::Light, "#ffff00"),
            dnd: LampSetting::new(Effect::Light, "#b400e1"),
            lunch: LampSetting::new(Effect::Light, "#0000ff"),
        }
    }
}

pub use crate::hub::LampSlot;

impl LampScheme {
    pub fn get(&self, slot: LampSlot) -> &LampSetting {
        match slot {
            LampSlot::Ringing => &self.ringing,
            LampSlot::Dialing => &self.dialing,
            LampSlot::Connected => &self.connected,
            LampSlot::Held => &self.held,
            LampSlot::Busy => &self.busy,
            LampSlot::Dnd => &self.dnd,
            LampSlot::Away => &self.away,
            LampSlot::Lunch => &self.lunch,
        }
    }

    pub fn get_mut(&mut self, slot: LampSlot) -> &mut LampSetting {
        match slot {
            LampSlot::Ringing => &mut self.ringing,
            LampSlot::Dialing => &mut self.dialing,
            LampSlot::Connected => &mut self.connected,
            LampSlot::Held => &mut self.held,
            LampSlot::Busy => &mut self.busy,
            LampSlot::Dnd => &mut self.dnd,
            LampSlot::Away => &mut self.away,
            LampSlot::Lunch => &mut self.lunch,
        }
    }
}

/// Trace groups. `debug` adds the state dump and every decision; the others add one line per hub request,
/// per call event and per presence change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceFlags {
    pub debug: bool,
    pub hub: bool,
    pub calls: bool,
    pub presence: bool,
}

impl Default for TraceFlags {
    /// Quiet by default: an always-running app logs only transitions and errors.
    fn default() -> Self {
        TraceFlags {
            debug: false,
            hub: false,
            calls: false,
            presence: false,
        }
    }
}

/// One problem with one field, e.g. `hubUrl`: "must start with http:// or https://".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldError {
    /// The JSON path of the field, e.g. `hubUrl` or `lamp.ringing.volume`.
    pub field: String,
    /// What is wrong, in words a user understands.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl FieldError {
    pub fn to_tree(&self) -> Json {
        Json::object(vec![
            ("field", self.field.as_str().into()),
            ("message", self.message.as_str().into()),
        ])
    }

    pub fn from_tree(j: &Json) -> Result<FieldError, JsonError> {
        let o = json::object(j, "a field error")?;
        let text = |name| json::as_string(json::required(o, name)?, name);
        Ok(FieldError {
            field: text("field")?,
            message: text("message")?,
        })
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Why a config text could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigParseError(pub String);

impl fmt::Display for ConfigParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "settings are not readable: {}", self.0)
    }
}

impl std::error::Error for ConfigParseError {}

impl Config {
    /// Reads settings from JSON: unknown fields ignored, missing fields defaulted. A field of the wrong type
    /// or given twice is an error (nothing is guessed); the message names the field but never its value.
    pub fn from_json(text: &str) -> Result<Config, ConfigParseError> {
        let tree = Json::parse(text).map_err(|e| ConfigParseError(e.0))?;
        Config::from_tree(&tree).map_err(|e| ConfigParseError(e.0))
    }

    pub fn to_json(&self) -> String {
        self.to_tree().to_text()
    }

    /// The settings as JSON, fields in the documented order.
    pub fn to_tree(&self) -> Json {
        let mut lamp = Json::Object(Vec::new());
        for slot in LampSlot::JSON_ORDER {
            lamp.push(slot.as_str(), self.lamp.get(slot).to_tree());
        }
        let t = &self.trace;
        Json::object(vec![
            ("hubUrl", self.hub_url.as_str().into()),
            ("token", self.token.as_str().into()),
            ("pollInterval", self.poll_interval.into()),
            ("lamp", lamp),
            (
                "trace",
                Json::object(vec![
                    ("debug", t.debug.into()),
                    ("hub", t.hub.into()),
                    ("calls", t.calls.into()),
                    ("presence", t.presence.into()),
                ]),
            ),
            ("missedCall", self.missed_call.to_tree()),
        ])
    }

    /// Settings from JSON with the rules of [`Config::from_json`]: a missing field keeps its default (for a
    /// lamp slot that is present but incomplete: the default of [`LampSetting`]).
    pub fn from_tree(tree: &Json) -> Result<Config, JsonError> {
        let o = json::object(tree, "the settings")?;
        let mut c = Config::default();
        if let Some(v) = json::string(o, "hubUrl")? {
            c.hub_url = v;
        }
        if let Some(v) = json::string(o, "token")? {
            c.token = v;
        }
        if let Some(v) = json::uint(o, "pollInterval", u32::MAX.into())? {
            c.poll_interval = u32::try_from(v).unwrap_or(u32::MAX);
        }
        if let Some(lamp) = json::member(o, "lamp")? {
            let lamp = json::object(lamp, "lamp")?;
            for slot in LampSlot::ALL {
                if let Some(s) = json::member(lamp, slot.as_str())? {
                    *c.lamp.get_mut(slot) = LampSetting::from_tree(s, slot.as_str())?;
                }
            }
        }
        if let Some(trace) = json::member(o, "trace")? {
            let trace = json::object(trace, "trace")?;
            let flag = |name| Ok::<_, JsonError>(json::boolean(trace, name)?.unwrap_or(false));
            c.trace = TraceFlags {
                debug: flag("debug")?,
                hub: flag("hub")?,
                calls: flag("calls")?,
                presence: flag("presence")?,
            };
        }
        if let Some(m) = json::member(o, "missedCall")? {
            c.missed_call = MissedCall::from_tree(m)?;
        }
        Ok(c)
    }

    /// Every problem, each with its field. Empty when the settings are usable.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Err(e) = hub::BaseUrl::parse(&self.hub_url) {
            errors.push(FieldError::new("hubUrl", e.as_str()));
        }
        check_text("token", &self.token, &mut errors);
        if self.token.chars().any(char::is_whitespace) {
            errors.push(FieldError::new("token", "must not contain spaces"));
        }
        if !POLL_INTERVAL_RANGE_S.contains(&self.poll_interval) {
            errors.push(FieldError::new(
                "pollInterval",
                [
                    "must be between ",
                    &POLL_INTERVAL_RANGE_S.start().to_string(),
                    " and ",
                    &POLL_INTERVAL_RANGE_S.end().to_string(),
                    " seconds",
                ]
                .concat(),
            ));
        }
        for slot in LampSlot::ALL {
            let s = self.lamp.get(slot);
            let field = |name: &str| ["lamp.", slot.as_str(), ".", name].concat();
            if Rgb::from_hex(&s.color).is_none() {
                errors.push(FieldError::new(
                    field("color"),
                    "must be a colour like #ff0000",
                ));
            }
            if Sound::from_number(s.sound).is_none() {
                errors.push(FieldError::new(
                    field("sound"),
                    [
                        "must be between 0 and ",
                        &u64::to_string(&Sound::MAX.into()),
                    ]
                    .concat(),
                ));
            }
            if Volume::new(s.volume).is_none() {
                errors.push(FieldError::new(
                    field("volume"),
                    "must be between 0 and 100",
                ));
            }
        }
        let m = &self.missed_call;
        if !MISSED_CALL_EFFECTS.contains(&m.effect) {
            errors.push(FieldError::new(
                "missedCall.effect",
                "must be light, blink or pulse",
            ));
        }
        if Rgb::from_hex(&m.color).is_none() {
            errors.push(FieldError::new(
                "missedCall.color",
                "must be a colour like #ff0000",
            ));
        }
        if m.minutes > MAX_MISSED_CALL_MINUTES {
            errors.push(FieldError::new(
                "missedCall.minutes",
                [
                    "must be between 0 and ",
                    &MAX_MISSED_CALL_MINUTES.to_string(),
                    " minutes",
                ]
                .concat(),
            ));
        }
        errors
    }

    /// A field's value as a form shows it, by JSON path (`hubUrl`, `pollInterval`, `lamp.ringing.effect`,
    /// `trace.debug`, ...). `None` for an unknown path.
    pub fn field(&self, path: &str) -> Option<String> {
        Some(match path {
            "hubUrl" => self.hub_url.clone(),
            "token" => self.token.clone(),
            "pollInterval" => self.poll_interval.to_string(),
            "trace.debug" => self.trace.debug.to_string(),
            "trace.hub" => self.trace.hub.to_string(),
            "trace.calls" => self.trace.calls.to_string(),
            "trace.presence" => self.trace.presence.to_string(),
            "missedCall.enabled" => self.missed_call.enabled.to_string(),
            "missedCall.effect" => self.missed_call.effect.as_str().to_string(),
            "missedCall.color" => self.missed_call.color.clone(),
            "missedCall.minutes" => self.missed_call.minutes.to_string(),
            _ => {
                let (slot, part) = lamp_path(path)?;
                let s = self.lamp.get(slot);
                match part {
                    "effect" => s.effect.as_str().to_string(),
                    "color" => s.color.clone(),
                    "sound" => s.sound.to_string(),
                    "volume" => s.volume.to_string(),
                    _ => return None,
                }
            }
        })
    }

    /// Sets a field from what a form control holds. Numbers must be whole numbers; checkboxes are
    /// `true`/`false`. Range checks are [`Config::validate`]'s job.
    pub fn set_field(&mut self, path: &str, value: &str) -> Result<(), FieldError> {
        let number = |max: u32| {
            value
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| FieldError::new(path, "must be a number"))
        };
        let on = matches!(value.trim(), "true" | "on" | "1" | "checked");
        match path {
            "hubUrl" => self.hub_url = value.to_string(),
            "token" => self.token = value.to_string(),
            "pollInterval" => self.poll_interval = number(u32::MAX)?,
            "trace.debug" => self.trace.debug = on,
            "trace.hub" => self.trace.hub = on,
            "trace.calls" => self.trace.calls = on,
            "trace.presence" => self.trace.presence = on,
            "missedCall.enabled" => self.missed_call.enabled = on,
            "missedCall.effect" => {
                self.missed_call.effect = Effect::ALL
                    .into_iter()
                    .find(|e| e.as_str() == value.trim())
                    .ok_or_else(|| FieldError::new(path, "unknown effect"))?
            }
            "missedCall.color" => self.missed_call.color = value.trim().to_string(),
            "missedCall.minutes" => self.missed_call.minutes = number(u32::MAX)?,
            _ => {
                let (slot, part) =
                    lamp_path(path).ok_or_else(|| FieldError::new(path, "unknown field"))?;
                let byte = |n: u32| u8::try_from(n).unwrap_or(u8::MAX);
                let s = self.lamp.get_mut(slot);
                match part {
                    "effect" => {
                        s.effect = Effect::ALL
                            .into_iter()
                            .find(|e| e.as_str() == value.trim())
                            .ok_or_else(|| FieldError::new(path, "unknown effect"))?
                    }
                    "color" => s.color = value.trim().to_string(),
                    "sound" => s.sound = byte(number(255)?),
                    "volume" => s.volume = byte(number(255)?),
                    _ => return Err(FieldError::new(path, "unknown field")),
                }
            }
        }
        Ok(())
    }

    /// The hub endpoint these settings describe, if the URL is valid.
    pub fn endpoint(&self) -> Result<hub::Endpoint, hub::UrlError> {
        hub::Endpoint::new(&self.hub_url, &self.token)
    }
}

#[cfg(feature = "serde")]
json::serialize_via_tree!(Config, FieldError);

/// `lamp.<slot>.<part>` → the slot and the part.
fn lamp_path(path: &str) -> Option<(LampSlot, &str)> {
    let (slot, part) = path.strip_prefix("lamp.")?.split_once('.')?;
    let slot = LampSlot::ALL.into_iter().find(|x| x.as_str() == slot)?;
    Some((slot, part))
}

/// Length and control-character checks shared by the free-text fields.
fn check_text(field: &str, value: &str, errors: &mut Vec<FieldError>) {
    if value.chars().count() > MAX_TEXT_LEN {
        errors.push(FieldError::new(
            field,
            ["must be at most ", &MAX_TEXT_LEN.to_string(), " characters"].concat(),
        ));
    }
    if value.chars().any(char::is_control) {
        errors.push(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
}

#[cfg(test)]
// Tests read as "the defaults, but with X changed".
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_local_hub_every_two_seconds_and_kuando_colours() {
        let c = Config::default();
        assert_eq!(c.hub_url, "http://localhost:8989/");
        assert_eq!(c.token, "");
        assert_eq!(c.poll_interval, 2);
        assert_eq!(c.lamp.busy.color, "#ff0000");
        assert_eq!(c.lamp.away.color, "#ffff00");
        assert_eq!(c.lamp.dnd.color, "#b400e1");
        assert_eq!(c.lamp.lunch.color, "#0000ff");
        assert_eq!(c.lamp.ringing.effect, Effect::Blink);
        assert!(c.validate().is_empty());
    }

    #[test]
    fn json_round_trips() {
        let mut c = Config::default();
        c.hub_url = "http://192.168.0.100:8989".into();
        c.token = "s3cr&t".into();
        c.poll_interval = 5;
        c.lamp.ringing = LampSetting {
            effect: Effect::Alert,
            color: "#00ff00".into(),
            sound: 7,
            volume: 50,
        };
        c.trace.hub = true;
        let back = Config::from_json(&c.to_json()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn json_is_camel_case() {
        let v: serde_json::Value = serde_json::from_str(&Config::default().to_json()).unwrap();
        assert!(v.get("hubUrl").is_some());
        assert!(v.get("pollInterval").is_some());
        assert_eq!(v["lamp"]["ringing"]["effect"], "blink");
    }

    #[test]
    fn unknown_fields_are_ignored_and_missing_ones_defaulted() {
        let c = Config::from_json(
            r##"{"pollInterval":7,"future":{"x":1},"lamp":{"away":{"color":"#123456"}}}"##,
        )
        .unwrap();
        assert_eq!(c.poll_interval, 7);
        assert_eq!(c.hub_url, DEFAULT_HUB_URL);
        assert_eq!(c.lamp.away.color, "#123456");
        assert_eq!(c.lamp.away.effect, Effect::Light);
        assert_eq!(c.lamp.dnd, LampScheme::default().dnd);
        assert_eq!(Config::from_json("{}").unwrap(), Config::default());
    }

    #[test]
    fn unreadable_json_is_an_error_that_does_not_echo_values() {
        assert!(Config::from_json("").is_err());
        assert!(Config::from_json("[]").is_err());
        let e = Config::from_json(r#"{"pollInterval":"verysecret"}"#).unwrap_err();
        assert!(!e.to_string().contains("verysecret"), "{e}");
        let e = Config::from_json(r#"{"token":12345678}"#).unwrap_err();
        assert!(!e.to_string().contains("12345678"), "{e}");
        assert!(Config::from_json(r#"{"lamp":{"ringing":{"effect":"disco"}}}"#).is_err());
    }

    fn fields(c: &Config) -> Vec<String> {
        c.validate().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn validation_names_every_bad_field() {
        let mut c = Config::default();
        c.hub_url = "ftp://hub".into();
        c.token = "a\u{7}b".into();
        c.poll_interval = 0;
        c.lamp.ringing.volume = 101;
        c.lamp.held.sound = 9;
        c.lamp.dnd.color = "purple".into();
        assert_eq!(
            fields(&c),
            [
                "hubUrl",
                "token",
                "pollInterval",
                "lamp.ringing.volume",
                "lamp.held.sound",
                "lamp.dnd.color"
            ]
        );
    }

    #[test]
    fn hub_url_problems_are_reported() {
        for bad in [
            "",
            "localhost:8989",
            "javascript:alert(1)",
            "http://user:pw@hub:8989/",
            "http://hub:8989/\n",
            "http://",
            "http://hub:99999/",
            "http://hub name/",
        ] {
            let mut c = Config::default();
            c.hub_url = bad.into();
            assert_eq!(fields(&c), ["hubUrl"], "{bad:?}");
        }
        let mut c = Config::default();
        c.hub_url = format!("http://hub/{}", "a".repeat(600));
        assert_eq!(fields(&c), ["hubUrl"]);
        for good in [
            "http://localhost:8989",
            "https://10.0.0.1:8989/",
            "HTTP://Hub/",
        ] {
            let mut c = Config::default();
            c.hub_url = good.into();
            assert!(c.validate().is_empty(), "{good}");
        }
    }

    #[test]
    fn token_limits() {
        let mut c = Config::default();
        c.token = "x".repeat(512);
        assert!(c.validate().is_empty());
        c.token = "x".repeat(513);
        assert_eq!(fields(&c), ["token"]);
        c.token = "has space".into();
        assert_eq!(fields(&c), ["token"]);
    }

    #[test]
    fn poll_interval_bounds() {
        let mut c = Config::default();
        for (v, ok) in [
            (0, false),
            (1, true),
            (60, true),
            (61, false),
            (u32::MAX, false),
        ] {
            c.poll_interval = v;
            assert_eq!(c.validate().is_empty(), ok, "{v}");
        }
    }

    #[test]
    fn fields_by_path_read_and_write() {
        let mut c = Config::default();
        for (path, value) in [
            ("hubUrl", "http://h:1/"),
            ("token", "t"),
            ("pollInterval", "9"),
            ("trace.hub", "true"),
            ("lamp.dnd.effect", "pulse"),
            ("lamp.dnd.color", "#010203"),
            ("lamp.ringing.sound", "8"),
            ("lamp.ringing.volume", "25"),
        ] {
            c.set_field(path, value).unwrap();
            assert_eq!(c.field(path).as_deref(), Some(value), "{path}");
        }
        assert_eq!(c.lamp.dnd.effect, Effect::Pulse);
        assert!(c.set_field("pollInterval", "abc").is_err());
        assert!(c.set_field("lamp.ringing.volume", "-1").is_err());
        assert!(c.set_field("lamp.ringing.effect", "disco").is_err());
        assert!(c.set_field("lamp.kitchen.color", "#000000").is_err());
        assert!(c.set_field("nope", "1").is_err());
        assert_eq!(c.field("lamp.ringing.nope"), None);
        // Out-of-range but readable numbers are kept for validate() to name.
        c.set_field("lamp.ringing.volume", "101").unwrap();
        assert_eq!(c.validate()[0].field, "lamp.ringing.volume");
    }

    #[test]
    fn lamp_settings_become_hub_commands() {
        let s = LampSetting {
            effect: Effect::Alert,
            color: "#ff0000".into(),
            sound: 3,
            volume: 75,
        };
        assert_eq!(
            s.command(),
            Some(hub::LampCommand::Alert {
                color: Rgb::from_hex("#ff0000").unwrap(),
                sound: Sound::KuandoTrain,
                volume: Volume::new(75).unwrap(),
            })
        );
        assert_eq!(
            LampSetting::new(Effect::Off, "#000000").command(),
            Some(hub::LampCommand::Off)
        );
        assert_eq!(LampSetting::new(Effect::Light, "red").command(), None);
    }
}
