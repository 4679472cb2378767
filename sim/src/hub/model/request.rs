//! Reading a request as the hub does: the GET interface's query parameters and the POST interface's
//! leniently parsed body, into the lamp effect they ask for. What was out of range or sloppy is noted for
//! the request log (`notes`), not refused.

use kuando_connector::hub::{LampCommand, Rgb, Sound, Tenths, Volume};
use serde_json::{Map, Value};

use super::super::lenient::{self, get_ci, number, text};
use super::HTTP_SENDER;

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
pub(super) fn param<'a>(p: &'a [(String, String)], name: &str) -> Option<&'a str> {
    p.iter()
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A numeric GET parameter, clamped to `min..=max`; missing or not a number: `default`.
pub(super) fn get_num(
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
pub(super) fn get_rgb(p: &[(String, String)], prefix: &str, notes: &mut Vec<String>) -> Rgb {
    let mut ch = |c: &str| get_num(p, &format!("{prefix}{c}"), 0, 0, 100, notes) as u8;
    let (r, g, b) = (ch("red"), ch("green"), ch("blue"));
    Rgb::new(r, g, b).unwrap_or(Rgb::OFF)
}

/// `parameter` of a GET-driven command as `currentpresence` reports it: a JSON string of the query's own
/// names and values, e.g. `{"action":"light","green":"50"}` (docs/platform-facts.md §1.7: the Stream
/// Deck plugins read `JSON.parse(parameter).action` and `.red` / `.green`). Values stay the query's text
/// **[inferred]**: the hub keeps the query as a name/value collection of strings (one plugin `parseInt`s
/// them). The access token is never echoed.
pub(super) fn get_form(p: &[(String, String)]) -> String {
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

/// The `parameter` field: a JSON string (the documented form, parsed leniently), an object (the manual's
/// mistake, accepted), or empty. Returns the parsed value and the text `currentpresence` will report.
pub(super) fn parameter_of(
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
pub(super) fn post_effect(
    action: &str,
    param: &Value,
    notes: &mut Vec<String>,
) -> Option<LampCommand> {
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
            let volume = clamped(num("volume").unwrap_or(75), 0, 100, "volume", notes);
            with_sound(action, color, sound, volume)
        }
        _ => return None,
    })
}

/// The lamp effect of a GET lamp action (lower case), `None` for anything else. The colour parameters are
/// read (and their repairs noted) for every action, as the hub reads the query before it looks at it.
pub(super) fn get_effect(
    action: &str,
    p: &[(String, String)],
    notes: &mut Vec<String>,
) -> Option<LampCommand> {
    let color = get_rgb(p, "", notes);
    Some(match action {
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
            let volume = get_num(p, "volume", 75, 0, 100, notes);
            with_sound(action, color, sound, volume)
        }
        _ => return None,
    })
}

/// `Alert` (rings until released) for `alert`, else `Jingle` (plays once); `volume` already in 0..100.
fn with_sound(action: &str, color: Rgb, sound: Sound, volume: i64) -> LampCommand {
    let volume = u8::try_from(volume)
        .ok()
        .and_then(Volume::new)
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

/// The colour of a parameter: its `color` object, or the parameter itself (`Light`, `StartNotification`).
pub(super) fn color_in(p: &Map<String, Value>, notes: &mut Vec<String>) -> Rgb {
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

pub(super) fn tenths(v: i64) -> Tenths {
    Tenths::new(v.clamp(1, 255) as u8).unwrap_or(Tenths::DEFAULT)
}

/// **[inferred]** A sound number outside 0..8 (the manual's Jingle example sends `clip` 9) plays nothing:
/// there is no such clip.
pub(super) fn sound_of(n: i64, notes: &mut Vec<String>) -> Sound {
    match u8::try_from(n).ok().and_then(Sound::from_number) {
        Some(s) => s,
        None => {
            notes.push(format!("sound {n} does not exist (0..8): no sound"));
            Sound::None
        }
    }
}
