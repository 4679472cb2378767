//! The requests the connector sends the hub: GET queries, POST bodies in the manual's field order, and where
//! the access token goes.

use std::fmt;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;

use super::lamp::{LampCommand, LampSlot, Parameter, Rgb};
use super::url::{BaseUrl, UrlError};

/// The data source name the connector posts under; kuandoHUB prioritises by it. The reference connector's
/// traces show this exact name (`3rd party state result: innovaphone myApps / Blink / Blink`).
pub const SENDER: &str = "innovaphone myApps";

/// The event type of the connector's call states (ringing, dialing, connected, held).
pub const EVENT_TYPE_CALL: &str = "Call";
/// The event type of the user's own presence as the lamp shows it (busy, DND, away, lunch).
pub const EVENT_TYPE_PRESENCE: &str = "Presence";

/// The 3rd-party senders whose own priority the connector reads while its own presence colour is what the
/// hub shows (see [`Endpoint::own_priority`]): the plugins the concept names as the supported ones for the
/// innovaphone synchronisation (MS Teams, Webex, Zoom). A call of another application under the connector's
/// presence line is not seen; the status panel says which line to move.
pub const CALL_SOURCES: [&str; 3] = ["MS Teams", "Zoom", "Webex"];

/// The `(eventtype, eventname)` a lamp command for `slot` is posted with.
///
/// **[inferred]** The manual shows `eventtype` / `eventname` as labels the hub prioritises by (its own example
/// notification is `Light` / `Missed Call`; `RegisterDataSource` registers event types with their event names
/// and `CreateInitialPriority` makes a priority line per sender, event type and event names), while `action`
/// and `parameter` decide what the lamp does. Posting everything as `Light` / `Color`, `Blink` / `Blink`, ...
/// would leave the hub one rank for the connector's calls *and* its presence colours: ranked above MS Teams
/// (as the connector's calls must be), the user's own "away" then hid a Teams call from `currentpresence`, and
/// the concept's rule "calls overwrite presence information" silently failed. Labelled by meaning, the admin
/// ranks the connector's `Call` events above other apps' calls and its `Presence` events below them, as the
/// concept asks ("all telephone events ... of higher value than simple presence events").
pub fn event_names(slot: LampSlot) -> (&'static str, &'static str) {
    match slot {
        LampSlot::Ringing => (EVENT_TYPE_CALL, "Ringing"),
        LampSlot::Dialing => (EVENT_TYPE_CALL, "Dialing"),
        LampSlot::Connected => (EVENT_TYPE_CALL, "Connected"),
        LampSlot::Held => (EVENT_TYPE_CALL, "Held"),
        LampSlot::Busy => (EVENT_TYPE_PRESENCE, "Busy"),
        LampSlot::Dnd => (EVENT_TYPE_PRESENCE, "DND"),
        LampSlot::Away => (EVENT_TYPE_PRESENCE, "Away"),
        LampSlot::Lunch => (EVENT_TYPE_PRESENCE, "Lunch"),
    }
}

/// The event type and name of the missed-call notification: the manual's own example (p.28).
pub const MISSED_CALL: (&str, &str) = ("Light", "Missed Call");

/// HTTP method of a hub request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
}

/// What a request is for; the driver hands it back with the answer so the engine knows what it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKind {
    Probe,
    CurrentPresence,
    Devices,
    RegisterDataSource,
    CreateInitialPriority,
    /// A lamp command and the state it shows (`None`: no label, the manual's names for the action).
    Command(LampCommand, Option<LampSlot>),
    /// `GET /` without any token and without the header: a simple request, so no preflight. Asked when a
    /// request with the token header got no answer, to tell a hub that refuses the preflight (it answers
    /// this) from a hub that is down (it does not).
    TokenCheck,
    /// `StartNotification` (the missed-call notification) under the connector's sender.
    StartNotification,
    /// `StopNotification` under the connector's sender.
    StopNotification,
    /// `currentpresence` asked as the sender [`CALL_SOURCES`]`[i]`, for its own priority.
    OwnPriority(u8),
}

/// Where the access token goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TokenForm {
    /// In the `http_token` request header: never in a URL the browser might log.
    #[default]
    Header,
    /// In the query (`accesstoken=…&http_token=…`): only for a hub that refuses the header's preflight.
    Url,
}

/// One HTTP request to the hub, ready for a driver to send. Its URL may contain the token (the fallback
/// form): never trace it unredacted (see [`crate::trace`]).
#[derive(Clone, PartialEq, Eq)]
pub struct HubRequest {
    pub kind: RequestKind,
    pub method: Method,
    pub url: String,
    /// The POST body, sent as `text/plain;charset=UTF-8`.
    pub body: Option<String>,
    /// The value of the `http_token` header, when the token goes there.
    pub token_header: Option<String>,
}

/// Leaves out the header's value: `{:?}` of a request must be safe to log (the URL is the caller's to redact).
impl fmt::Debug for HubRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubRequest")
            .field("kind", &self.kind)
            .field("method", &self.method)
            .field("url", &self.url)
            .field("body", &self.body)
            .field("token_header", &self.token_header.as_ref().map(|_| "***"))
            .finish()
    }
}

impl HubRequest {
    /// The same request with the header's token in the URL instead (`accesstoken=…&http_token=…`), for the
    /// one way of sending that takes no header: `navigator.sendBeacon` as the page goes away.
    pub fn token_in_url(mut self) -> HubRequest {
        if let Some(token) = self.token_header.take() {
            for (i, k) in ["accesstoken", "http_token"].into_iter().enumerate() {
                let first = i == 0 && !self.url.as_bytes().contains(&b'?');
                self.url.push(if first { '?' } else { '&' });
                self.url.push_str(k);
                self.url.push('=');
                push_query_value(&mut self.url, token.as_str());
            }
        }
        self
    }
}

/// The name of the request header that carries the token (the manual's "more secure" form).
pub const TOKEN_HEADER: &str = "http_token";

/// The content type of every POST: a POST without the token header stays a CORS simple request.
pub const POST_CONTENT_TYPE: &str = "text/plain;charset=UTF-8";

/// What a query value keeps as it is: RFC 3986's unreserved characters (`A-Z a-z 0-9 - _ . ~`); every other
/// byte goes as `%XX`.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Appends `v` to a URL as a query value.
fn push_query_value(url: &mut String, v: &str) {
    url.extend(utf8_percent_encode(v, QUERY_VALUE));
}

/// A hub to talk to: base URL plus access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    base: BaseUrl,
    token: String,
    form: TokenForm,
}

impl Endpoint {
    pub fn new(base: &str, token: &str) -> Result<Endpoint, UrlError> {
        Ok(Endpoint {
            base: BaseUrl::parse(base)?,
            token: token.trim().to_string(),
            form: TokenForm::Header,
        })
    }

    /// The same hub with the token in `form` (the header unless a hub refused it).
    pub fn with_form(mut self, form: TokenForm) -> Endpoint {
        self.form = form;
        self
    }

    pub fn form(&self) -> TokenForm {
        self.form
    }

    /// True when requests carry a token (and so, in the header form, a preflight).
    pub fn has_token(&self) -> bool {
        !self.token.is_empty()
    }

    /// `GET /` with no token at all (see [`RequestKind::TokenCheck`]).
    pub fn token_check(&self) -> HubRequest {
        HubRequest {
            kind: RequestKind::TokenCheck,
            method: Method::Get,
            url: self.base.as_str().to_string(),
            body: None,
            token_header: None,
        }
    }

    fn token_header(&self) -> Option<String> {
        (self.has_token() && self.form == TokenForm::Header).then(|| self.token.clone())
    }

    pub fn base(&self) -> &BaseUrl {
        &self.base
    }

    /// The token, for redaction.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// `base?<params>`, in the URL form with `&accesstoken=T&http_token=T`. The manual names `accesstoken`,
    /// the reference connector sends `http_token`; both are sent so either hub generation accepts it. No
    /// token or the header form: no token parameters.
    fn url(&self, params: &[(&str, &str)]) -> String {
        let mut url = self.base.as_str().to_string();
        let mut first = true;
        let token = [
            ("accesstoken", self.token.as_str()),
            ("http_token", self.token.as_str()),
        ];
        let with_token = if self.token.is_empty() || self.form == TokenForm::Header {
            &[][..]
        } else {
            &token[..]
        };
        for (k, v) in params.iter().chain(with_token) {
            url.push(if first { '?' } else { '&' });
            first = false;
            url.push_str(k);
            url.push('=');
            push_query_value(&mut url, v);
        }
        url
    }

    fn get(&self, kind: RequestKind, params: &[(&str, &str)]) -> HubRequest {
        HubRequest {
            kind,
            method: Method::Get,
            url: self.url(params),
            body: None,
            token_header: self.token_header(),
        }
    }

    fn post(&self, kind: RequestKind, body: PostBody) -> HubRequest {
        HubRequest {
            kind,
            method: Method::Post,
            url: self.url(&[]),
            body: Some(to_text(&body)),
            token_header: self.token_header(),
        }
    }

    /// Liveness probe `GET /` (answers `{"response":"OK"}`).
    pub fn probe(&self) -> HubRequest {
        self.get(RequestKind::Probe, &[])
    }

    /// `GET ?action=currentpresence`: what the hub shows now and from which source.
    pub fn current_presence(&self) -> HubRequest {
        self.get(
            RequestKind::CurrentPresence,
            &[("action", "currentpresence")],
        )
    }

    /// `GET ?action=busylightdevices`: the connected lamps.
    pub fn devices(&self) -> HubRequest {
        self.get(RequestKind::Devices, &[("action", "busylightdevices")])
    }

    /// `currentpresence` asked through the POST interface as the sender [`CALL_SOURCES`]`[i]`: the manual says
    /// the answer contains "the priority present in my own priority, regardless of whether it is running or
    /// not" [M p.27] (docs/platform-facts.md §1.7), so it tells whether that application has a call even
    /// while a higher line (the connector's own presence colour on a hub where the connector registered
    /// first) hides it.
    /// **[inferred]** that the hub answers for the sender named in the body (no public client asks as
    /// another sender), and the name of the own-priority member (see [`parse_own_priority`]); a hub that
    /// does neither is recognised and the status panel says which line to move instead.
    pub fn own_priority(&self, i: u8) -> HubRequest {
        let sender = CALL_SOURCES
            .get(usize::from(i))
            .copied()
            .unwrap_or_default();
        self.post(
            RequestKind::OwnPriority(i),
            PostBody::new(
                "currentpresence",
                Some(sender),
                Some(""),
                Some(""),
                String::new(),
            ),
        )
    }

    /// A lamp command for the connector's sender, through the POST interface. `event` is the state it shows:
    /// the command is posted with that state's [`event_names`], so the hub can rank the connector's calls and
    /// its presence colours apart. `Off` and `Logout` release the sender whatever the state, and keep the
    /// manual's names (`Light` / `Off`, `""` / `""`); so does a command with no state (`None`).
    pub fn command(&self, cmd: LampCommand, event: Option<LampSlot>) -> HubRequest {
        let (action, mut eventtype, mut eventname) = cmd.post_names();
        if let Some(slot) = event.filter(|_| !cmd.releases()) {
            (eventtype, eventname) = event_names(slot);
        }
        let parameter = cmd.parameter().map(|p| to_text(&p)).unwrap_or_default();
        self.post(
            RequestKind::Command(cmd, event),
            PostBody::new(
                action,
                Some(SENDER),
                Some(eventtype),
                Some(eventname),
                parameter,
            ),
        )
    }

    /// A lamp command through the GET interface (`?action=light&red=..`). The hub runs GET commands under
    /// its own source `HTTP`, separate from the connector's sender: the config app's lamp and sound tests use
    /// it, so a test never overwrites the hidden app's lamp state, and `off` afterwards gives the lamp back.
    pub fn get_command(&self, cmd: LampCommand) -> HubRequest {
        // The query's names are the action's in lower case (`Logout` as the manual spells it) and the
        // parameter's fields under the GET interface's own names.
        let action = match cmd {
            LampCommand::Logout => "Logout".to_string(),
            _ => cmd.action_name().to_ascii_lowercase(),
        };
        let rgb = |c: Rgb, [r, g, b]: [&'static str; 3]| {
            [(r, c.red.get()), (g, c.green.get()), (b, c.blue.get())]
        };
        const COLOR: [&str; 3] = ["red", "green", "blue"];
        let values: Vec<(&str, u8)> = match cmd.parameter() {
            None => Vec::new(),
            Some(Parameter::Color(c) | Parameter::Pulse { color: c }) => rgb(c, COLOR).to_vec(),
            Some(Parameter::Blink {
                color,
                ontime,
                offtime,
            }) => [
                &rgb(color, COLOR)[..],
                &[("ontime", ontime), ("offtime", offtime)],
            ]
            .concat(),
            Some(Parameter::Sound {
                color,
                clip,
                volume,
            }) => [
                &rgb(color, COLOR)[..],
                &[("sound", clip), ("volume", volume)],
            ]
            .concat(),
            Some(Parameter::Flash { color, flash }) => {
                let flash = rgb(flash, ["flashred", "flashgreen", "flashblue"]);
                [rgb(color, COLOR), flash].concat()
            }
        };
        let values: Vec<(&str, String)> = values
            .into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect();
        let mut params: Vec<(&str, &str)> = vec![("action", &action)];
        params.extend(values.iter().map(|(k, v)| (*k, v.as_str())));
        self.get(RequestKind::Command(cmd, None), &params)
    }

    /// Registers the connector as a data source with the events it posts ("send this command on every
    /// connect"): `Call` (Ringing, Dialing, Connected, Held), `Presence` (Busy, DND, Away, Lunch) and `Light`
    /// (Off), so that the hub's priority list can rank each of them.
    ///
    /// **[inferred]** `IsAlertPriority` is false for all of them: the manual sets it only for its `Alert`
    /// notification type and does not say what it changes. The ranking the concept asks for (the connector's
    /// calls above other apps' calls, its presence below them) lives in the ordinary priority list, so no
    /// event is moved out of it; a ringing call's sound comes from the `Alert`/`Jingle` action, not the label.
    pub fn register_data_source(&self) -> HubRequest {
        let mut call = Vec::new();
        let mut presence = Vec::new();
        for slot in LampSlot::ALL {
            match event_names(slot) {
                (EVENT_TYPE_CALL, name) => call.push(name),
                (_, name) => presence.push(name),
            }
        }
        let events = |event_names| Events {
            event_names,
            is_alert_priority: false,
        };
        let parameter = DataSource {
            name: SENDER,
            eventnames: DataSourceEvents {
                call: events(call),
                presence: events(presence),
                light: events(vec!["Off"]),
            },
        };
        self.post(
            RequestKind::RegisterDataSource,
            PostBody::new("RegisterDataSource", None, None, None, to_text(&parameter)),
        )
    }

    /// `StartNotification` of the missed call under the connector's sender: shown "even if the underlying
    /// presence state is not shown due to kuandoHUB priority settings" (manual p.28).
    ///
    /// **[inferred]** The manual gives the parameter as a colour (`RedRgbValue`, ...) and nothing about an
    /// effect. The colour goes there as documented; for an effect other than a steady light the effect's own
    /// parameter fields (`color`, `ontime`, ...) are added beside it, which a hub that knows only the colour
    /// ignores (its JSON reader skips unknown fields) and a hub that knows effects can use.
    pub fn start_notification(&self, cmd: LampCommand) -> HubRequest {
        let color = match cmd {
            LampCommand::Light(c)
            | LampCommand::Pulse(c)
            | LampCommand::Blink { color: c, .. }
            | LampCommand::Alert { color: c, .. }
            | LampCommand::Jingle { color: c, .. }
            | LampCommand::ColorWithFlash { color: c, .. } => c,
            LampCommand::Off | LampCommand::Logout => Rgb::OFF,
        };
        let effect = cmd
            .parameter()
            .filter(|_| !matches!(cmd, LampCommand::Light(_)));
        let (eventtype, eventname) = MISSED_CALL;
        self.post(
            RequestKind::StartNotification,
            PostBody::new(
                "StartNotification",
                Some(SENDER),
                Some(eventtype),
                Some(eventname),
                to_text(&Notification { color, effect }),
            ),
        )
    }

    /// `StopNotification` of the missed call under the connector's sender.
    pub fn stop_notification(&self) -> HubRequest {
        let (eventtype, eventname) = MISSED_CALL;
        self.post(
            RequestKind::StopNotification,
            PostBody::new(
                "StopNotification",
                Some(SENDER),
                Some(eventtype),
                Some(eventname),
                String::new(),
            ),
        )
    }

    /// Creates the connector's line in the hub's priority list (no effect if it exists).
    ///
    /// One line for all of the connector's events, not one per event type: the hub ignores this for a sender
    /// that already has a line, so only the first of several would count, and a `Call`-only line would leave
    /// the presence colours unshown on a new hub. Splitting it (calls above other apps' calls, presence
    /// below) is the admin's step, as the README says.
    pub fn create_initial_priority(&self) -> HubRequest {
        let parameter = InitialPriority {
            enabled: true,
            sender: SENDER,
            eventtype: None,
            eventnames: [],
            is_alert_priority: false,
        };
        self.post(
            RequestKind::CreateInitialPriority,
            PostBody::new(
                "CreateInitialPriority",
                None,
                None,
                None,
                to_text(&parameter),
            ),
        )
    }
}

/// A body or parameter as JSON text. Serializing these plain structs cannot fail; were it to, the hub would
/// get an empty text and refuse it like any bad command (owed and sent again), never a panic.
fn to_text<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The POST body, fields in the manual's order; `None` is `null`. The `parameter` is a JSON text of its own.
#[derive(Serialize)]
struct PostBody<'a> {
    action: &'a str,
    sender: Option<&'a str>,
    eventtype: Option<&'a str>,
    eventname: Option<&'a str>,
    parameter: String,
}

impl<'a> PostBody<'a> {
    fn new(
        action: &'a str,
        sender: Option<&'a str>,
        eventtype: Option<&'a str>,
        eventname: Option<&'a str>,
        parameter: String,
    ) -> PostBody<'a> {
        PostBody {
            action,
            sender,
            eventtype,
            eventname,
            parameter,
        }
    }
}

/// `RegisterDataSource`'s parameter.
#[derive(Serialize)]
struct DataSource<'a> {
    #[serde(rename = "DataSourceName")]
    name: &'a str,
    eventnames: DataSourceEvents<'a>,
}

/// The event types the connector posts, each with its event names (see [`event_names`]).
#[derive(Serialize)]
struct DataSourceEvents<'a> {
    #[serde(rename = "Call")]
    call: Events<'a>,
    #[serde(rename = "Presence")]
    presence: Events<'a>,
    #[serde(rename = "Light")]
    light: Events<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Events<'a> {
    event_names: Vec<&'a str>,
    is_alert_priority: bool,
}

/// `CreateInitialPriority`'s parameter.
#[derive(Serialize)]
struct InitialPriority<'a> {
    enabled: bool,
    sender: &'a str,
    eventtype: Option<&'a str>,
    eventnames: [&'a str; 0],
    #[serde(rename = "IsAlertPriority")]
    is_alert_priority: bool,
}

/// `StartNotification`'s parameter: the documented colour, then the effect's own fields beside it.
#[derive(Serialize)]
struct Notification {
    #[serde(flatten)]
    color: Rgb,
    #[serde(flatten)]
    effect: Option<Parameter>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::{LampSlot, Sound, Tenths, Volume};
    use serde_json::{json, Value};

    fn ep() -> Endpoint {
        Endpoint::new("http://localhost:8989", "").unwrap()
    }

    fn body(r: &HubRequest) -> Value {
        serde_json::from_str(r.body.as_deref().unwrap()).unwrap()
    }

    fn param(r: &HubRequest) -> Value {
        let b = body(r);
        serde_json::from_str(b["parameter"].as_str().unwrap()).unwrap()
    }

    fn red() -> Rgb {
        Rgb::new(100, 0, 0).unwrap()
    }

    #[test]
    fn get_requests_and_token_parameters() {
        let e = ep();
        assert_eq!(e.probe().url, "http://localhost:8989/");
        assert_eq!(e.probe().method, Method::Get);
        assert_eq!(e.probe().body, None);
        assert_eq!(
            e.current_presence().url,
            "http://localhost:8989/?action=currentpresence"
        );
        assert_eq!(
            e.devices().url,
            "http://localhost:8989/?action=busylightdevices"
        );
        // With a token: in the header, never in the URL ...
        let h = Endpoint::new("http://192.168.0.100:8989/", "a b&c=d/é").unwrap();
        for r in [
            h.probe(),
            h.current_presence(),
            h.devices(),
            h.stop_notification(),
        ] {
            assert!(!r.url.contains("token"), "{}", r.url);
            assert_eq!(r.token_header.as_deref(), Some("a b&c=d/é"));
        }
        assert!(!format!("{:?}", h.probe()).contains("a b&c"));
        // A beacon takes no header: the token goes in its URL, exactly as the URL form has it.
        let b = h.stop_notification().token_in_url();
        assert_eq!(b.token_header, None);
        assert_eq!(
            b.url,
            h.clone().with_form(TokenForm::Url).stop_notification().url
        );
        let b = h.current_presence().token_in_url();
        assert_eq!(
            b.url,
            h.clone().with_form(TokenForm::Url).current_presence().url
        );
        // ... and the token check carries none at all.
        let c = h.token_check();
        assert_eq!(
            (c.url.as_str(), c.token_header),
            ("http://192.168.0.100:8989/", None)
        );
        assert_eq!(e.probe().token_header, None);
        // The URL form, once the engine chose it: both parameters, no header.
        let t = h.with_form(TokenForm::Url);
        assert_eq!(t.probe().token_header, None);
        assert_eq!(
            t.current_presence().url,
            "http://192.168.0.100:8989/?action=currentpresence&accesstoken=a%20b%26c%3Dd%2F%C3%A9&http_token=a%20b%26c%3Dd%2F%C3%A9"
        );
        assert_eq!(
            t.probe().url,
            "http://192.168.0.100:8989/?accesstoken=a%20b%26c%3Dd%2F%C3%A9&http_token=a%20b%26c%3Dd%2F%C3%A9"
        );
    }

    #[test]
    fn every_lamp_command_is_posted_as_the_manual_describes() {
        let e = ep();
        let green = Rgb::new(0, 100, 0).unwrap();
        let rgb =
            |r: u8, g: u8, b: u8| json!({"RedRgbValue": r, "GreenRgbValue": g, "BlueRgbValue": b});
        let cases: Vec<(LampCommand, &str, &str, &str, Value)> = vec![
            (
                LampCommand::Light(green),
                "Light",
                "Light",
                "Color",
                rgb(0, 100, 0),
            ),
            (
                LampCommand::blink(red()),
                "Blink",
                "Blink",
                "Blink",
                json!({"color": rgb(100, 0, 0), "ontime": 5, "offtime": 5}),
            ),
            (
                LampCommand::Blink {
                    color: red(),
                    on: Tenths::new(2).unwrap(),
                    off: Tenths::new(8).unwrap(),
                },
                "Blink",
                "Blink",
                "Blink",
                json!({"color": rgb(100, 0, 0), "ontime": 2, "offtime": 8}),
            ),
            (
                LampCommand::Pulse(red()),
                "Pulse",
                "Pulse",
                "Pulse",
                json!({"color": rgb(100, 0, 0)}),
            ),
            (
                LampCommand::Alert {
                    color: red(),
                    sound: Sound::TelephoneOriginal,
                    volume: Volume::new(50).unwrap(),
                },
                "Alert",
                "Alert",
                "Alert",
                json!({"color": rgb(100, 0, 0), "clip": 7, "volume": 50}),
            ),
            (
                LampCommand::Jingle {
                    color: green,
                    sound: Sound::FairyTale,
                    volume: Volume::new(0).unwrap(),
                },
                "Jingle",
                "Jingle",
                "Jingle",
                json!({"color": rgb(0, 100, 0), "clip": 1, "volume": 0}),
            ),
            (
                LampCommand::ColorWithFlash {
                    color: red(),
                    flash: green,
                },
                "ColorWithFlash",
                "Light",
                "ColorWithFlash",
                json!({"color": rgb(100, 0, 0), "flash": rgb(0, 100, 0)}),
            ),
        ];
        for (cmd, action, etype, ename, parameter) in cases {
            let r = e.command(cmd, None);
            assert_eq!(r.method, Method::Post);
            assert_eq!(r.url, "http://localhost:8989/");
            assert_eq!(r.kind, RequestKind::Command(cmd, None));
            let b = body(&r);
            assert_eq!(b["action"], action);
            assert_eq!(b["sender"], "innovaphone myApps");
            assert_eq!(b["eventtype"], etype);
            assert_eq!(b["eventname"], ename);
            assert!(
                b["parameter"].is_string(),
                "parameter must be a JSON string"
            );
            assert_eq!(param(&r), parameter, "{action}");
        }
        // Off and Logout release the sender: the manual's names, whatever state they end.
        for (cmd, action, etype, ename) in [
            (LampCommand::Off, "Off", "Light", "Off"),
            (LampCommand::Logout, "Logout", "", ""),
        ] {
            for event in [None, Some(LampSlot::Away), Some(LampSlot::Connected)] {
                let r = e.command(cmd, event);
                assert_eq!(r.kind, RequestKind::Command(cmd, event));
                assert_eq!(
                    body(&r),
                    json!({"action": action, "sender": "innovaphone myApps", "eventtype": etype,
                           "eventname": ename, "parameter": ""})
                );
            }
        }
    }

    #[test]
    fn post_bodies_list_their_fields_in_the_manuals_order() {
        let r = ep().command(
            LampCommand::Blink {
                color: red(),
                on: Tenths::new(5).unwrap(),
                off: Tenths::new(5).unwrap(),
            },
            None,
        );
        assert_eq!(
            r.body.as_deref(),
            Some(
                r#"{"action":"Blink","sender":"innovaphone myApps","eventtype":"Blink","eventname":"Blink","parameter":"{\"color\":{\"RedRgbValue\":100,\"GreenRgbValue\":0,\"BlueRgbValue\":0},\"ontime\":5,\"offtime\":5}"}"#
            )
        );
        assert_eq!(
            ep().create_initial_priority().body.as_deref(),
            Some(
                r#"{"action":"CreateInitialPriority","sender":null,"eventtype":null,"eventname":null,"parameter":"{\"enabled\":true,\"sender\":\"innovaphone myApps\",\"eventtype\":null,\"eventnames\":[],\"IsAlertPriority\":false}"}"#
            )
        );
    }

    #[test]
    fn the_connectors_states_are_posted_as_call_and_presence_events() {
        let e = ep();
        let cases = [
            (LampSlot::Ringing, "Call", "Ringing"),
            (LampSlot::Dialing, "Call", "Dialing"),
            (LampSlot::Connected, "Call", "Connected"),
            (LampSlot::Held, "Call", "Held"),
            (LampSlot::Busy, "Presence", "Busy"),
            (LampSlot::Dnd, "Presence", "DND"),
            (LampSlot::Away, "Presence", "Away"),
            (LampSlot::Lunch, "Presence", "Lunch"),
        ];
        let yellow = Rgb::from_hex("#ffff00").unwrap();
        let commands = [
            (LampCommand::Light(yellow), "Light"),
            (LampCommand::blink(red()), "Blink"),
            (LampCommand::Pulse(red()), "Pulse"),
        ];
        for (slot, etype, ename) in cases {
            for (cmd, action) in commands {
                let r = e.command(cmd, Some(slot));
                assert_eq!(r.method, Method::Post);
                assert_eq!(r.url, "http://localhost:8989/");
                assert_eq!(r.kind, RequestKind::Command(cmd, Some(slot)));
                let b = body(&r);
                // The action and its parameter still decide what the lamp does.
                let unlabelled = body(&e.command(cmd, None));
                assert_eq!(
                    b,
                    json!({"action": action, "sender": "innovaphone myApps", "eventtype": etype,
                           "eventname": ename, "parameter": unlabelled["parameter"].clone()}),
                    "{slot:?}"
                );
            }
        }
        // A ringing call with sound: still the Alert action, labelled as the call it is.
        let alert = LampCommand::Alert {
            color: red(),
            sound: Sound::TelephoneNordic,
            volume: Volume::default(),
        };
        let b = body(&e.command(alert, Some(LampSlot::Ringing)));
        assert_eq!(
            (&b["action"], &b["eventtype"], &b["eventname"]),
            (&json!("Alert"), &json!("Call"), &json!("Ringing"))
        );
        assert_eq!(
            param(&e.command(alert, Some(LampSlot::Ringing))),
            json!({"color": {"RedRgbValue": 100, "GreenRgbValue": 0, "BlueRgbValue": 0}, "clip": 6, "volume": 75})
        );
    }

    #[test]
    fn get_interface_lamp_commands() {
        let e = ep();
        let green = Rgb::new(0, 100, 0).unwrap();
        let cases = [
            (LampCommand::Light(red()), "?action=light&red=100&green=0&blue=0"),
            (LampCommand::Pulse(green), "?action=pulse&red=0&green=100&blue=0"),
            (LampCommand::blink(red()), "?action=blink&red=100&green=0&blue=0&ontime=5&offtime=5"),
            (
                LampCommand::Alert { color: red(), sound: Sound::Quiet, volume: Volume::new(25).unwrap() },
                "?action=alert&red=100&green=0&blue=0&sound=5&volume=25",
            ),
            (
                LampCommand::Jingle { color: green, sound: Sound::Funky, volume: Volume::default() },
                "?action=jingle&red=0&green=100&blue=0&sound=2&volume=75",
            ),
            (
                LampCommand::ColorWithFlash { color: red(), flash: green },
                "?action=colorwithflash&red=100&green=0&blue=0&flashred=0&flashgreen=100&flashblue=0",
            ),
            (LampCommand::Off, "?action=off"),
            (LampCommand::Logout, "?action=Logout"),
        ];
        for (cmd, query) in cases {
            let r = e.get_command(cmd);
            assert_eq!(r.method, Method::Get);
            assert_eq!(r.body, None);
            assert_eq!(r.url, format!("http://localhost:8989/{query}"));
        }
        let t = Endpoint::new("http://h:1", "k").unwrap();
        assert_eq!(
            t.get_command(LampCommand::Off).url,
            "http://h:1/?action=off"
        );
        assert_eq!(
            t.get_command(LampCommand::Off).token_header.as_deref(),
            Some("k")
        );
        let t = t.with_form(TokenForm::Url);
        assert_eq!(
            t.get_command(LampCommand::Off).url,
            "http://h:1/?action=off&accesstoken=k&http_token=k"
        );
    }

    #[test]
    fn registration_requests() {
        let e = ep();
        let r = e.register_data_source();
        let b = body(&r);
        assert_eq!(b["action"], "RegisterDataSource");
        assert!(b["sender"].is_null() && b["eventtype"].is_null() && b["eventname"].is_null());
        assert_eq!(r.method, Method::Post);
        assert_eq!(r.url, "http://localhost:8989/");
        assert_eq!(
            param(&r),
            json!({
                "DataSourceName": "innovaphone myApps",
                "eventnames": {
                    "Call": {"EventNames": ["Ringing", "Dialing", "Connected", "Held"], "IsAlertPriority": false},
                    "Presence": {"EventNames": ["Busy", "DND", "Away", "Lunch"], "IsAlertPriority": false},
                    "Light": {"EventNames": ["Off"], "IsAlertPriority": false},
                }
            })
        );
        // Every event the connector posts is one it registered.
        let registered = param(&r)["eventnames"].clone();
        for slot in LampSlot::ALL {
            let b = body(&e.command(LampCommand::Light(red()), Some(slot)));
            let names = &registered[b["eventtype"].as_str().unwrap()]["EventNames"];
            assert!(
                names.as_array().unwrap().contains(&b["eventname"]),
                "{slot:?}"
            );
        }
        let off = body(&e.command(LampCommand::Off, None));
        assert!(registered[off["eventtype"].as_str().unwrap()]["EventNames"]
            .as_array()
            .unwrap()
            .contains(&off["eventname"]));
        let r = e.create_initial_priority();
        assert_eq!(body(&r)["action"], "CreateInitialPriority");
        assert_eq!(
            param(&r),
            json!({"enabled": true, "sender": "innovaphone myApps", "eventtype": null, "eventnames": [], "IsAlertPriority": false})
        );
    }

    #[test]
    fn the_missed_call_notification_carries_the_colour_then_the_effect() {
        let e = ep();
        let r = e.start_notification(LampCommand::Light(red()));
        assert_eq!(r.kind, RequestKind::StartNotification);
        assert_eq!(
            r.body.as_deref(),
            Some(
                r#"{"action":"StartNotification","sender":"innovaphone myApps","eventtype":"Light","eventname":"Missed Call","parameter":"{\"RedRgbValue\":100,\"GreenRgbValue\":0,\"BlueRgbValue\":0}"}"#
            )
        );
        let blink = e.start_notification(LampCommand::blink(red()));
        assert_eq!(
            body(&blink)["parameter"],
            r#"{"RedRgbValue":100,"GreenRgbValue":0,"BlueRgbValue":0,"color":{"RedRgbValue":100,"GreenRgbValue":0,"BlueRgbValue":0},"ontime":5,"offtime":5}"#
        );
        let alert = LampCommand::Alert {
            color: red(),
            sound: Sound::Quiet,
            volume: Volume::default(),
        };
        assert_eq!(
            param(&e.start_notification(alert)),
            json!({"RedRgbValue": 100, "GreenRgbValue": 0, "BlueRgbValue": 0,
                   "color": {"RedRgbValue": 100, "GreenRgbValue": 0, "BlueRgbValue": 0},
                   "clip": 5, "volume": 75})
        );
        assert_eq!(body(&e.stop_notification())["parameter"], "");
    }
}
