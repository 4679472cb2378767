//! What the hub answers: the driver's outcome, the errors it maps to, tolerant readers of the answers, and the
//! one rule that says what an answer proves about the hub (shared by the engine and the config app).
//!
//! Answers are read with serde_json into a `serde_json::Value` and picked apart by hand where the facts ask
//! for tolerance (`docs/platform-facts.md` §1.7–§1.9): field names in any case, unknown and missing fields,
//! `null`s, numbers where texts are expected, a `parameter` as text or object, the whole answer
//! double-encoded. serde_json's recursion limit bounds how deep an answer may nest.

use std::fmt;

use serde_json::{Map, Value};

use super::request::{RequestKind, SENDER};

/// What a driver hands back for a request: the answer as it came, or why there was none.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HubOutcome {
    Answer {
        status: u16,
        body: Vec<u8>,
    },
    /// The request's timeout fired first (the driver aborted it).
    Timeout,
    /// Refused, reset, DNS, CORS or mixed content: the browser does not say which.
    Network,
}

impl HubOutcome {
    /// The status and body of the answer, or the error of there being none.
    pub fn answer(&self) -> Result<(u16, &[u8]), HubError> {
        match self {
            HubOutcome::Answer { status, body } => Ok((*status, body)),
            HubOutcome::Timeout => Err(HubError::Timeout),
            HubOutcome::Network => Err(HubError::Network),
        }
    }
}

/// What went wrong with a hub request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HubError {
    /// No answer in time.
    Timeout,
    /// Connection refused, reset, DNS, CORS or mixed-content block: the browser does not say which.
    Network,
    /// 401: the hub rejected the access token.
    Unauthorized,
    /// 404: no Busylight connected.
    NoDevice,
    /// Any other non-2xx status.
    Status(u16),
    /// 2xx with a body that is not what the request expects.
    Malformed(String),
    /// A plain-text "unknown action" answer: a hub that does not know the action (see [`unknown_action`]).
    /// Only this, twice in a row for `currentpresence`, makes the engine call a hub "too old".
    UnknownAction,
}

impl HubError {
    /// The text for traces and the config app.
    pub fn text(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for HubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HubError::Timeout => f.write_str("kuandoHUB did not answer in time"),
            HubError::Network => f.write_str("kuandoHUB not reachable"),
            HubError::Unauthorized => f.write_str("kuandoHUB rejected the access token (401)"),
            HubError::NoDevice => f.write_str("no Busylight connected (404)"),
            HubError::Status(s) => write!(f, "kuandoHUB answered HTTP {s}"),
            HubError::Malformed(why) => write!(f, "kuandoHUB answer not understood: {why}"),
            HubError::UnknownAction => f.write_str("kuandoHUB does not know the action"),
        }
    }
}

impl std::error::Error for HubError {}

fn malformed(why: &str) -> HubError {
    HubError::Malformed(why.into())
}

/// What one answer proves about the hub behind it, whatever the request was. The engine and the config app
/// judge a hub by this one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HubVerdict {
    /// A kuandoHUB answered: as asked, or with "no Busylight" (404 or `NO_DEVICE`), which a hub without a
    /// lamp says and nothing else does.
    Answered,
    /// Nothing answered (timeout, network), or the probe found something that is not a kuandoHUB.
    Unreachable,
    /// The hub refused the access token (401).
    Unauthorized,
    /// A plain-text "unknown action": evidence of a hub too old for the request (the engine waits for it
    /// twice in a row before it says so).
    TooOld,
    /// A hub answered something the request does not expect (garbage, HTML, a 5xx): a failure of the moment,
    /// retried, never a verdict on the hub's version.
    BadAnswer,
}

/// The [`HubVerdict`] of a request of `kind` that failed with `error` (from [`HubOutcome::answer`] or a
/// `parse_*` reader); a request that read well is [`HubVerdict::Answered`].
pub fn verdict(kind: RequestKind, error: &HubError) -> HubVerdict {
    let probe = matches!(kind, RequestKind::Probe | RequestKind::TokenCheck);
    match error {
        HubError::NoDevice => HubVerdict::Answered,
        HubError::Unauthorized => HubVerdict::Unauthorized,
        HubError::Timeout | HubError::Network => HubVerdict::Unreachable,
        // Whatever else answers `GET /` is not a kuandoHUB.
        _ if probe => HubVerdict::Unreachable,
        HubError::UnknownAction => HubVerdict::TooOld,
        HubError::Status(_) | HubError::Malformed(_) => HubVerdict::BadAnswer,
    }
}

/// `result`, with "no Busylight" (404 or `NO_DEVICE`) read as an empty answer: a kuandoHUB without a lamp
/// still answered (no devices, nothing running).
pub fn without_lamp<T: Default>(result: Result<T, HubError>) -> Result<T, HubError> {
    match result {
        Err(HubError::NoDevice) => Ok(T::default()),
        other => other,
    }
}

/// Maps a status code to success or the documented errors (401 token, 404 no device).
pub fn check_status(status: u16) -> Result<(), HubError> {
    match status {
        200..=299 => Ok(()),
        401 => Err(HubError::Unauthorized),
        404 => Err(HubError::NoDevice),
        s => Err(HubError::Status(s)),
    }
}

/// Whether an answer says `NO_DEVICE` anywhere, in any case: the macOS Busylight HTTP server's answers carry
/// that text when no lamp is connected (docs/platform-facts.md §1.9; a public client relies on it).
/// It means "no Busylight", whatever the status code, never "too old" and never garbage.
pub fn says_no_device(body: &[u8]) -> bool {
    has_ci(body, b"no_device")
}

/// [`check_status`], but a `NO_DEVICE` text in the body is [`HubError::NoDevice`] first.
fn check(status: u16, body: &[u8]) -> Result<(), HubError> {
    if says_no_device(body) {
        return Err(HubError::NoDevice);
    }
    check_status(status)
}

/// Whether an answer is a hub's plain-text "unknown action" reply: a short, printable, single-line text (no
/// JSON, no HTML, no binary) that names an unknown or unsupported action, with status 200 or 400.
/// **[inferred]** No source shows what an old kuandoHUB answers to an action it does not know; a .NET
/// `HttpListener` handler typically writes such a sentence with status 200 or 400. Kept narrow on purpose:
/// an HTML error page, a truncated JSON text or a 5xx is a failure of the moment (retried with the ordinary
/// back-off), not a verdict on the hub's version.
pub fn unknown_action(status: u16, body: &[u8]) -> bool {
    if !(200..=299).contains(&status) && status != 400 {
        return false;
    }
    let Ok(text) = std::str::from_utf8(body) else {
        return false;
    };
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty()
        || text.len() > 200
        || text.starts_with(['{', '[', '"', '<'])
        || text
            .chars()
            .any(|c| c.is_control() || c == '<' || c == '\u{fffd}')
    {
        return false;
    }
    let has = |word: &[u8]| has_ci(text.as_bytes(), word);
    has(b"action")
        && (has(b"unknown")
            || has(b"unsupported")
            || has(b"not supported")
            || has(b"invalid")
            || has(b"not found"))
}

/// Whether `haystack` contains `needle`, ignoring ASCII case (answers are bytes, not always UTF-8).
fn has_ci(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// The answer to a control command: the status decides (and a `NO_DEVICE` text); the body is undocumented
/// and otherwise ignored.
pub fn parse_command_response(status: u16, body: &[u8]) -> Result<(), HubError> {
    check(status, body)
}

/// The answer to the probe `GET /`: `{"response":"OK"}`. Any 2xx JSON object counts as alive (hub releases
/// differ in spacing and case); a non-JSON body, e.g. some other web server on the port, does not.
pub fn parse_probe(status: u16, body: &[u8]) -> Result<(), HubError> {
    check(status, body)?;
    let Value::Object(o) = json_value(body)? else {
        return Err(malformed("not a JSON object"));
    };
    let ok = get_ci(&o, "response")
        .and_then(as_text)
        .is_some_and(|r| r.eq_ignore_ascii_case("ok"));
    if ok {
        Ok(())
    } else {
        Err(malformed("no \"response\":\"OK\""))
    }
}

/// The command the hub is currently running, from `currentpresence`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunningCommand {
    pub action: String,
    pub sender: String,
    pub eventtype: String,
    pub eventname: String,
    /// The `parameter` as the JSON text the hub sent in it (the manual's form); `Some("")` for another
    /// shape (an object), whose content the connector does not read; `None` when the hub sent `null`
    /// (nothing running).
    pub parameter: Option<String>,
}

/// The hub's `currentpresence` answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CurrentPresence {
    /// `None`: nothing is running (no `runningcommand`, `null`, or a `null` parameter with no sender).
    pub running: Option<RunningCommand>,
    /// The manual's "priority present in my own priority, regardless of whether it is running or not", when
    /// the answer has it as an object that names a sender (`ownpriority`, a name the manual does not give
    /// **[inferred]**). A GET asks as the hub's `HTTP` source, so it rarely names the connector's sender.
    pub own: Option<RunningCommand>,
}

/// What `currentpresence` tells about the connector's own sender: `Some(Some(cmd))` it runs `cmd`,
/// `Some(None)` it runs nothing (nothing runs at all), `None` unknown (another source shows above it).
pub fn own_command(cp: &CurrentPresence) -> Option<Option<&RunningCommand>> {
    let ours = |r: &&RunningCommand| crate::mapping::same(&r.sender, SENDER);
    if let Some(own) = cp.own.as_ref().filter(ours) {
        return Some(Some(own));
    }
    match &cp.running {
        None => Some(None),
        Some(r) if ours(&r) => Some(Some(r)),
        Some(_) => None,
    }
}

/// Parses `currentpresence`. Tolerant of what the manual leaves open **[inferred]**: field names in any case,
/// unknown fields, missing fields, `null`s, numbers where strings are expected, and `parameter` as a string
/// or an object. Also accepts the whole answer double-encoded as a JSON string, since the manual calls it
/// "the current presence as json string".
///
/// Answers are classified: `NO_DEVICE` anywhere is [`HubError::NoDevice`]; a plain-text "unknown action" is
/// [`HubError::UnknownAction`] (see [`unknown_action`]); everything else that is not the JSON object (HTML,
/// truncated JSON, binary, 5xx) is [`HubError::Malformed`] or [`HubError::Status`].
pub fn parse_current_presence(status: u16, body: &[u8]) -> Result<CurrentPresence, HubError> {
    let o = presence_object(status, body)?;
    let own = match get_ci(&o, "ownpriority") {
        Some(Value::Object(op)) => running_from(op).filter(|r| !r.sender.trim().is_empty()),
        _ => None,
    };
    let running = match get_ci(&o, "runningcommand") {
        None | Some(Value::Null) => None,
        Some(v) => match object_or_text(v) {
            Some(rc) => running_from(&rc),
            None => return Err(malformed("runningcommand is not an object")),
        },
    };
    Ok(CurrentPresence { running, own })
}

/// An object, or a JSON text of one (the hub may double-encode).
fn object_or_text(v: &Value) -> Option<Map<String, Value>> {
    match decoded(v.clone()) {
        Ok(Value::Object(o)) => Some(o),
        _ => None,
    }
}

/// A `currentpresence` answer as an object, classified (see [`parse_current_presence`]); also accepted
/// double-encoded as a JSON string.
fn presence_object(status: u16, body: &[u8]) -> Result<Map<String, Value>, HubError> {
    if unknown_action(status, body) && !says_no_device(body) {
        return Err(HubError::UnknownAction);
    }
    check(status, body)?;
    match decoded(json_value(body)?)? {
        Value::Object(o) => Ok(o),
        _ => Err(malformed("not a JSON object")),
    }
}

/// `v`, or the JSON inside it when it is a JSON text.
fn decoded(v: Value) -> Result<Value, HubError> {
    match v {
        Value::String(s) => serde_json::from_str(&s).map_err(|_| malformed("not JSON")),
        v => Ok(v),
    }
}

fn running_from(rc: &Map<String, Value>) -> Option<RunningCommand> {
    let text = |k: &str| get_ci(rc, k).and_then(as_text).unwrap_or_default();
    let parameter = match get_ci(rc, "parameter") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        // Not written back as text: that would bring serde_json's writer of any value (floats included)
        // into the hidden app for a field that only tells whether something runs.
        Some(_) => Some(String::new()),
    };
    let running = RunningCommand {
        action: text("action"),
        sender: text("sender"),
        eventtype: text("eventtype"),
        eventname: text("eventname"),
        parameter,
    };
    let nothing = running.parameter.is_none()
        && running.sender.trim().is_empty()
        && running.eventname.trim().is_empty()
        && running.eventtype.trim().is_empty();
    (!nothing).then_some(running)
}

/// A sender's own priority, from `currentpresence` asked as that sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnPriority {
    /// The answer has no own priority of that sender: this hub does not tell.
    Unknown,
    /// The sender runs nothing.
    Nothing,
    /// The sender's command, running or hidden by a higher line.
    Running(RunningCommand),
}

/// Parses the answer to [`Endpoint::own_priority`](super::Endpoint::own_priority) for `sender`, classified
/// as `currentpresence` is.
/// **[inferred]** The manual does not name the own-priority member: any member but `runningcommand` whose
/// name contains "own" (e.g. `ownpriority`) is taken, as an object, `null` or a JSON string (of several, the
/// last by name). A command of another sender there (a hub that answers for the asking connection, not for
/// the sender named) is [`OwnPriority::Unknown`], never that sender's.
pub fn parse_own_priority(status: u16, body: &[u8], sender: &str) -> Result<OwnPriority, HubError> {
    let o = presence_object(status, body)?;
    let own = o
        .iter()
        .rev()
        .find(|(k, _)| !k.eq_ignore_ascii_case("runningcommand") && has_ci(k.as_bytes(), b"own"));
    let members = match own.map(|(_, v)| v) {
        None => return Ok(OwnPriority::Unknown),
        Some(Value::Null) => return Ok(OwnPriority::Nothing),
        Some(v) => match object_or_text(v) {
            Some(m) => m,
            None => return Ok(OwnPriority::Unknown),
        },
    };
    Ok(match running_from(&members) {
        None => OwnPriority::Nothing,
        Some(r) if r.sender.trim().is_empty() => OwnPriority::Running(RunningCommand {
            sender: sender.to_string(),
            ..r
        }),
        Some(r) if crate::mapping::same(&r.sender, sender) => OwnPriority::Running(r),
        Some(_) => OwnPriority::Unknown,
    })
}

/// One connected Busylight.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Device {
    pub model: String,
    pub unique_id: String,
    pub path: String,
    pub firmware: String,
    pub light: bool,
    pub sound: bool,
}

/// Parses `busylightdevices`: a JSON array (also accepted wrapped in an object under any key holding an
/// array — of several, the first by name — or double-encoded). Entries that are not objects are skipped; an
/// empty list means no lamp, as with the kuandoHUB innovaphone Edition.
pub fn parse_devices(status: u16, body: &[u8]) -> Result<Vec<Device>, HubError> {
    check(status, body)?;
    let list = match decoded(json_value(body)?)? {
        Value::Array(a) => a,
        Value::Object(o) => o
            .into_iter()
            .find_map(|(_, v)| match v {
                Value::Array(a) => Some(a),
                _ => None,
            })
            .ok_or_else(|| malformed("no device list"))?,
        Value::Null => Vec::new(),
        _ => return Err(malformed("no device list")),
    };
    Ok(list
        .iter()
        .filter_map(Value::as_object)
        .map(|d| {
            let text = |k: &str| get_ci(d, k).and_then(as_text).unwrap_or_default();
            let flag = |k: &str| get_ci(d, k).map(as_flag).unwrap_or(true);
            Device {
                model: text("ModelName"),
                unique_id: text("UniqueID"),
                path: text("HIDDevicePath"),
                firmware: text("FirmwareRelease"),
                light: flag("IsLightSupported"),
                sound: flag("IsSoundSupported"),
            }
        })
        .collect())
}

/// The body as JSON: UTF-8, a byte-order mark and surrounding white space allowed.
fn json_value(body: &[u8]) -> Result<Value, HubError> {
    let text = std::str::from_utf8(body).map_err(|_| malformed("not UTF-8"))?;
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Err(malformed("empty answer"));
    }
    serde_json::from_str(text).map_err(|_| malformed("not JSON"))
}

/// A field by name, ignoring ASCII case (hub releases differ: `runningcommand`, `RunningCommand`); the exact
/// spelling first. Of a field given twice, the last counts (serde_json keeps the last, as JavaScript's
/// `JSON.parse` does).
fn get_ci<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    o.get(key).or_else(|| {
        o.iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// A string, or an integer/bool written as text; `None` for null, arrays, objects and non-integral numbers
/// (no field the connector reads holds one, and writing floats as text would bring a float formatter into
/// the hidden app).
fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => n
            .as_i64()
            .map(|i| i.to_string())
            .or_else(|| n.as_u64().map(|u| u.to_string())),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A boolean, also from `"true"`/`"false"`/`1`/`0`; unknown shapes count as true (a lamp is assumed capable).
fn as_flag(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_none_or(|f| f != 0.0),
        Value::String(s) => !matches!(s.trim().to_ascii_lowercase().as_str(), "false" | "0" | "no"),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes() {
        assert_eq!(parse_command_response(200, b""), Ok(()));
        assert_eq!(parse_command_response(204, b"garbage"), Ok(()));
        assert_eq!(
            parse_command_response(401, b""),
            Err(HubError::Unauthorized)
        );
        assert_eq!(parse_command_response(404, b""), Err(HubError::NoDevice));
        assert_eq!(parse_command_response(500, b""), Err(HubError::Status(500)));
        assert_eq!(
            parse_current_presence(401, b"{}"),
            Err(HubError::Unauthorized)
        );
    }

    #[test]
    fn answers_are_classified_garbage_is_not_a_verdict() {
        let cp = |status: u16, body: &[u8]| parse_current_presence(status, body);
        // A plain-text unknown-action answer is the one "too old" evidence.
        for t in [
            &b"Unknown action"[..],
            b"unknown action: currentpresence\r\n",
            b"Action not supported",
            b"\xef\xbb\xbfInvalid action",
        ] {
            assert_eq!(cp(200, t), Err(HubError::UnknownAction), "{t:?}");
        }
        assert_eq!(cp(400, b"Unknown action"), Err(HubError::UnknownAction));
        // Garbage, HTML, truncated JSON and 5xx are failures, never that verdict.
        for (status, t) in [
            (200, &b"<html><body>Unknown action</body></html>"[..]),
            (200, br#"{"runningcommand":{"action":"Light""#),
            (200, b"\x00\x01unknown action"),
            (200, b""),
            (200, b"OK"),
            (500, b"Unknown action"),
            (503, b"<html>Service Unavailable</html>"),
            (200, b"\"Unknown action\""),
        ] {
            let r = cp(status, t);
            assert!(
                matches!(r, Err(HubError::Malformed(_) | HubError::Status(_))),
                "{t:?}: {r:?}"
            );
        }
        // NO_DEVICE anywhere, in any case: no Busylight.
        for t in [
            &b"NO_DEVICE"[..],
            b"error: no_device",
            br#"{"response":"No_Device"}"#,
        ] {
            assert_eq!(cp(200, t), Err(HubError::NoDevice), "{t:?}");
            assert_eq!(parse_command_response(200, t), Err(HubError::NoDevice));
            assert_eq!(parse_devices(200, t), Err(HubError::NoDevice));
            assert_eq!(parse_probe(200, t), Err(HubError::NoDevice));
        }
        assert!(!says_no_device(b"NO DEVICE"));
    }

    #[test]
    fn probe_answers() {
        assert_eq!(parse_probe(200, br#"{"response": "OK"}"#), Ok(()));
        assert_eq!(
            parse_probe(200, b"\xef\xbb\xbf{\"Response\":\"ok\"}\r\n"),
            Ok(())
        );
        assert!(parse_probe(200, b"<html>It works</html>").is_err());
        assert!(parse_probe(200, b"").is_err());
        assert!(parse_probe(200, br#"{"response":"FAIL"}"#).is_err());
        assert_eq!(parse_probe(401, b""), Err(HubError::Unauthorized));
    }

    #[test]
    fn current_presence_real_and_sloppy() {
        let real = br#"{"runningcommand":{"action":"Light","sender":"MS Teams","eventtype":"Light","eventname":"On-The-Phone","parameter":"{\"RedRgbValue\":100,\"GreenRgbValue\":0,\"BlueRgbValue\":0}"},"ownpriority":{"x":1}}"#;
        let p = parse_current_presence(200, real).unwrap().running.unwrap();
        assert_eq!(p.sender, "MS Teams");
        assert_eq!(p.eventname, "On-The-Phone");
        assert_eq!(p.action, "Light");
        assert!(p.parameter.unwrap().contains("RedRgbValue"));

        let nothing = parse_current_presence(200, br#"{"runningcommand":{"action":null,"sender":null,"eventtype":null,"eventname":null,"parameter":null}}"#).unwrap();
        assert_eq!(nothing.running, None);
        assert_eq!(
            parse_current_presence(200, br#"{"runningcommand":null}"#)
                .unwrap()
                .running,
            None
        );
        assert_eq!(parse_current_presence(200, br#"{}"#).unwrap().running, None);

        let odd = br#"{"RunningCommand":{"Sender":"Zoom","EventType":7,"EventName":"In-a-Zoom-Meeting","Parameter":{"color":1},"extra":[1,2]}}"#;
        let p = parse_current_presence(200, odd).unwrap().running.unwrap();
        assert_eq!(p.sender, "Zoom");
        assert_eq!(p.eventtype, "7");
        assert_eq!(p.parameter.as_deref(), Some(""));
        assert_eq!(p.action, "");

        let double = serde_json::to_string(&String::from_utf8_lossy(real)).unwrap();
        assert_eq!(
            parse_current_presence(200, double.as_bytes())
                .unwrap()
                .running
                .unwrap()
                .sender,
            "MS Teams"
        );

        for bad in [
            &b"[]"[..],
            b"42",
            b"{\"runningcommand\":[1]}",
            b"not json",
            b"\xff\xfe",
            b"",
        ] {
            assert!(
                matches!(
                    parse_current_presence(200, bad),
                    Err(HubError::Malformed(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn device_lists() {
        let two = br#"[{"ModelName":"Busylight UC Omega","ProductID":"15","USBID":"27bb","UniqueID":"A1","HIDDevicePath":"\\\\?\\hid#1","FirmwareRelease":"2.4","IsLightSupported":true,"IsSoundSupported":"false","IsJingleClipSupport":1},{"ModelName":"Busylight Alpha"}, 5]"#;
        let d = parse_devices(200, two).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].model, "Busylight UC Omega");
        assert_eq!(d[0].path, r"\\?\hid#1");
        assert!(d[0].light && !d[0].sound);
        assert!(d[1].light && d[1].sound);
        assert_eq!(parse_devices(200, b"[]").unwrap(), vec![]);
        assert_eq!(
            parse_devices(200, br#"{"devices":[{"ModelName":"X"}]}"#)
                .unwrap()
                .len(),
            1
        );
        assert!(parse_devices(200, br#"{"devices":3}"#).is_err());
        assert!(parse_devices(200, b"nope").is_err());
        assert_eq!(parse_devices(404, b"[]"), Err(HubError::NoDevice));
    }
}
