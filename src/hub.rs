//! The kuandoHUB HTTP interface as values: lamp commands, the requests that carry them, and tolerant parsers
//! for what the hub answers. No IO here: a driver sends a [`HubRequest`] and hands the status and body back.
//!
//! Facts come from `docs/platform-facts.md` §1 (the kuandoHUB manual's HTTP API reference and the
//! concept's traces). Requests are always CORS *simple requests* (GET without custom headers, POST with a
//! `text/plain` body), so a browser never sends a preflight the hub may not answer.

use std::fmt;

use crate::config::LampSlot;
use crate::json::{Json, Members};
use crate::text::{cat, num};

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

/// The default volume kuandoHUB offers (75 %).
pub const DEFAULT_VOLUME: u8 = 75;

/// One colour channel on the hub's scale, 0..=100. The type makes the manual's own mistake (sending 255)
/// impossible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Level(u8);

impl Level {
    pub const MAX: u8 = 100;

    pub fn new(v: u8) -> Option<Level> {
        (v <= Self::MAX).then_some(Level(v))
    }

    /// A 0..=255 byte (as in `#rrggbb`) scaled to 0..=100, rounded to nearest.
    pub fn from_byte(b: u8) -> Level {
        Level(((u32::from(b) * 100 + 127) / 255) as u8)
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// A lamp colour on the hub's 0..=100 scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rgb {
    pub red: Level,
    pub green: Level,
    pub blue: Level,
}

impl Rgb {
    pub const OFF: Rgb = Rgb {
        red: Level(0),
        green: Level(0),
        blue: Level(0),
    };

    pub fn new(red: u8, green: u8, blue: u8) -> Option<Rgb> {
        Some(Rgb {
            red: Level::new(red)?,
            green: Level::new(green)?,
            blue: Level::new(blue)?,
        })
    }

    /// Parses `#rrggbb` (the `#` optional, any case).
    pub fn from_hex(s: &str) -> Option<Rgb> {
        let h = s.trim();
        let h = h.strip_prefix('#').unwrap_or(h);
        if h.len() != 6 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let byte = |i: usize| {
            u8::from_str_radix(crate::text::part(h, i..i + 2), 16)
                .ok()
                .map(Level::from_byte)
        };
        Some(Rgb {
            red: byte(0)?,
            green: byte(2)?,
            blue: byte(4)?,
        })
    }

    fn to_json(self) -> Json {
        Json::object(vec![
            ("RedRgbValue", self.red.0.into()),
            ("GreenRgbValue", self.green.0.into()),
            ("BlueRgbValue", self.blue.0.into()),
        ])
    }
}

/// The hub's sounds, by their HTTP numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sound {
    None = 0,
    FairyTale = 1,
    Funky = 2,
    KuandoTrain = 3,
    OpenOffice = 4,
    Quiet = 5,
    TelephoneNordic = 6,
    TelephoneOriginal = 7,
    TelephonePickMeUp = 8,
}

impl Sound {
    pub const MAX: u8 = 8;
    pub const ALL: [Sound; 9] = [
        Sound::None,
        Sound::FairyTale,
        Sound::Funky,
        Sound::KuandoTrain,
        Sound::OpenOffice,
        Sound::Quiet,
        Sound::TelephoneNordic,
        Sound::TelephoneOriginal,
        Sound::TelephonePickMeUp,
    ];

    pub fn from_number(n: u8) -> Option<Sound> {
        Sound::ALL.get(usize::from(n)).copied()
    }

    pub fn number(self) -> u8 {
        self as u8
    }

    /// The name kuandoHUB shows.
    pub fn name(self) -> &'static str {
        match self {
            Sound::None => "None",
            Sound::FairyTale => "Fairy Tale",
            Sound::Funky => "Funky",
            Sound::KuandoTrain => "Kuando Train",
            Sound::OpenOffice => "Open Office",
            Sound::Quiet => "Quiet",
            Sound::TelephoneNordic => "Telephone Nordic",
            Sound::TelephoneOriginal => "Telephone Original",
            Sound::TelephonePickMeUp => "Telephone Pick Me Up",
        }
    }
}

/// Sound volume, 0..=100 (0 = mute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Volume(u8);

impl Volume {
    pub fn new(v: u8) -> Option<Volume> {
        (v <= 100).then_some(Volume(v))
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl Default for Volume {
    fn default() -> Self {
        Volume(DEFAULT_VOLUME)
    }
}

/// Blink on/off time in tenths of a second (the hub's unit), at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tenths(u8);

impl Tenths {
    /// The hub's default, 0.5 s.
    pub const DEFAULT: Tenths = Tenths(5);

    pub fn new(v: u8) -> Option<Tenths> {
        (v >= 1).then_some(Tenths(v))
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// What the connector can ask the lamp to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LampCommand {
    Light(Rgb),
    Blink {
        color: Rgb,
        on: Tenths,
        off: Tenths,
    },
    Pulse(Rgb),
    Alert {
        color: Rgb,
        sound: Sound,
        volume: Volume,
    },
    Jingle {
        color: Rgb,
        sound: Sound,
        volume: Volume,
    },
    ColorWithFlash {
        color: Rgb,
        flash: Rgb,
    },
    /// Releases the connector's source: a lower-priority source (e.g. Manual Changer's green) shows.
    Off,
    /// Like `Off`, for when the connector ends ("use Logout instead of Off in case of ending your software").
    Logout,
}

impl LampCommand {
    /// Blinking with the hub's default 0.5 s / 0.5 s.
    pub fn blink(color: Rgb) -> LampCommand {
        LampCommand::Blink {
            color,
            on: Tenths::DEFAULT,
            off: Tenths::DEFAULT,
        }
    }

    /// True for the commands that release the sender (`Off`, `Logout`) instead of showing something.
    pub fn releases(&self) -> bool {
        matches!(self, LampCommand::Off | LampCommand::Logout)
    }

    /// The POST interface's `action` of this command (`Light`, `Blink`, ..., `Off`).
    pub fn action_name(&self) -> &'static str {
        self.post_names().0
    }

    /// `(action, eventtype, eventname)` of the POST interface, as the manual's table names them for a command
    /// without a meaning of its own (see [`event_names`] for the labels the connector's states get).
    fn post_names(&self) -> (&'static str, &'static str, &'static str) {
        match self {
            LampCommand::Light(_) => ("Light", "Light", "Color"),
            LampCommand::Blink { .. } => ("Blink", "Blink", "Blink"),
            LampCommand::Pulse(_) => ("Pulse", "Pulse", "Pulse"),
            LampCommand::Alert { .. } => ("Alert", "Alert", "Alert"),
            LampCommand::Jingle { .. } => ("Jingle", "Jingle", "Jingle"),
            LampCommand::ColorWithFlash { .. } => ("ColorWithFlash", "Light", "ColorWithFlash"),
            LampCommand::Off => ("Off", "Light", "Off"),
            LampCommand::Logout => ("Logout", "", ""),
        }
    }

    /// The decoded `parameter` of the POST interface.
    fn parameter(&self) -> Option<Json> {
        Some(match *self {
            LampCommand::Light(c) => c.to_json(),
            LampCommand::Blink { color, on, off } => Json::object(vec![
                ("color", color.to_json()),
                ("ontime", on.0.into()),
                ("offtime", off.0.into()),
            ]),
            LampCommand::Pulse(c) => Json::object(vec![("color", c.to_json())]),
            LampCommand::Alert {
                color,
                sound,
                volume,
            }
            | LampCommand::Jingle {
                color,
                sound,
                volume,
            } => Json::object(vec![
                ("color", color.to_json()),
                ("clip", sound.number().into()),
                ("volume", volume.0.into()),
            ]),
            LampCommand::ColorWithFlash { color, flash } => {
                Json::object(vec![("color", color.to_json()), ("flash", flash.to_json())])
            }
            LampCommand::Off | LampCommand::Logout => return None,
        })
    }

    /// A short description for traces, e.g. `Blink #ff0000` (on the 0..100 scale: `Blink 100/0/0`).
    pub fn describe(&self) -> String {
        let rgb = |c: &Rgb| {
            cat(&[
                &num(c.red.0.into()),
                "/",
                &num(c.green.0.into()),
                "/",
                &num(c.blue.0.into()),
            ])
        };
        let (action, _, _) = self.post_names();
        match self {
            LampCommand::Light(c)
            | LampCommand::Pulse(c)
            | LampCommand::Blink { color: c, .. }
            | LampCommand::ColorWithFlash { color: c, .. } => cat(&[action, " ", &rgb(c)]),
            LampCommand::Alert {
                color: c,
                sound,
                volume,
            }
            | LampCommand::Jingle {
                color: c,
                sound,
                volume,
            } => cat(&[
                action,
                " ",
                &rgb(c),
                " sound ",
                sound.name(),
                " volume ",
                &num(volume.0.into()),
            ]),
            LampCommand::Off | LampCommand::Logout => action.to_string(),
        }
    }
}

/// Why a hub URL is not usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    Empty,
    TooLong,
    NotHttp,
    Credentials,
    ControlCharacters,
    Whitespace,
    NoHost,
    BadPort,
    QueryOrFragment,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl UrlError {
    /// What is wrong, after the field's name ("kuandoHUB URL has no host name").
    pub fn as_str(&self) -> &'static str {
        match self {
            UrlError::Empty => "is empty",
            UrlError::TooLong => "must be at most 512 characters",
            UrlError::NotHttp => "must start with http:// or https://",
            UrlError::Credentials => {
                "must not contain a user name or password (use the access token)"
            }
            UrlError::ControlCharacters => "must not contain control characters",
            UrlError::Whitespace => "must not contain spaces",
            UrlError::NoHost => "has no host name",
            UrlError::BadPort => "has an invalid port (1 to 65535)",
            UrlError::QueryOrFragment => "must not contain ? or #",
        }
    }
}

impl std::error::Error for UrlError {}

/// A validated hub base URL, always ending in `/`.
///
/// Hand-written rather than the `url` crate: its IDNA tables alone would blow the hidden app's size budget,
/// and the connector accepts only one narrow form (`http[s]://host[:port][/path]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    pub fn parse(s: &str) -> Result<BaseUrl, UrlError> {
        if s.chars().any(char::is_control) {
            return Err(UrlError::ControlCharacters);
        }
        let s = s.trim();
        if s.is_empty() {
            return Err(UrlError::Empty);
        }
        if crate::text::longer_than(s, crate::config::MAX_TEXT_LEN) {
            return Err(UrlError::TooLong);
        }
        if s.chars().any(char::is_whitespace) {
            return Err(UrlError::Whitespace);
        }
        let (scheme, rest) = crate::text::split_scheme(s).ok_or(UrlError::NotHttp)?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(UrlError::NotHttp);
        }
        if rest.contains(['?', '#']) {
            return Err(UrlError::QueryOrFragment);
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (crate::text::part(rest, ..i), crate::text::part(rest, i..)),
            None => (rest, "/"),
        };
        // By bytes: `str::contains(char)` brings the substring searcher into the wasm.
        if authority.bytes().any(|b| b == b'@') {
            return Err(UrlError::Credentials);
        }
        let (host, port) = split_port(authority)?;
        if host.is_empty() || host == "[]" {
            return Err(UrlError::NoHost);
        }
        let host_ok = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            v6.chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        } else {
            // Non-ASCII letters pass as they are (an internationalised name): the browser converts the host
            // with IDNA when it fetches, and refuses what IDNA refuses. Checking them here would need
            // Unicode's letter tables in the wasm.
            host.chars().all(|c| {
                c.is_ascii_alphanumeric()
                    || matches!(c, '-' | '.' | '_')
                    || (!c.is_ascii() && !c.is_whitespace())
            })
        };
        if !host_ok {
            return Err(UrlError::NoHost);
        }
        // ASCII lowercasing is enough: the browser maps a non-ASCII host (IDNA) itself when it fetches, and
        // `str::to_lowercase` would add its Unicode tables (some 15 KB) to the wasm.
        let mut url = cat(&[&scheme, "://", &host.to_ascii_lowercase()]);
        if let Some(p) = port {
            url.push(':');
            url.push_str(&num(p.into()));
        }
        url.push_str(path);
        if !url.ends_with('/') {
            url.push('/');
        }
        Ok(BaseUrl(url))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for a hub on this PC, where the hub checks no token.
    pub fn is_loopback(&self) -> bool {
        // A `BaseUrl` is always `scheme://authority/…`.
        let authority = crate::text::split_scheme(&self.0)
            .and_then(|(_, r)| r.split('/').next())
            .unwrap_or("");
        let host = authority.split(':').next().unwrap_or("");
        host == "localhost" || host.starts_with("127.") || authority.starts_with("[::1]")
    }
}

fn split_port(authority: &str) -> Result<(&str, Option<u16>), UrlError> {
    // `[v6]:port` or `host:port`; a bare IPv6 without brackets is not a valid URL host.
    let colon = if authority.starts_with('[') {
        authority
            .as_bytes()
            .windows(2)
            .position(|w| w == b"]:")
            .map(|i| i + 1)
    } else {
        crate::text::rfind_byte(authority, b':')
    };
    match colon {
        None => Ok((authority, None)),
        Some(i) => {
            let digits = crate::text::part(authority, i + 1..);
            if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(UrlError::BadPort);
            }
            match digits.parse::<u16>() {
                Ok(p) if p > 0 => Ok((crate::text::part(authority, ..i), Some(p))),
                _ => Err(UrlError::BadPort),
            }
        }
    }
}

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
    /// `currentpresence` asked as the sender [`CALL_SOURCES`]`[i]`, for its own priority.
    OwnPriority(u8),
}

/// One HTTP request to the hub, ready for a driver to send. Its URL may contain the token: never trace it
/// unredacted (see [`crate::trace`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubRequest {
    pub kind: RequestKind,
    pub method: Method,
    pub url: String,
    /// The POST body, sent as `text/plain;charset=UTF-8`.
    pub body: Option<String>,
}

/// The content type of every POST: keeps the request a CORS simple request (no preflight).
pub const POST_CONTENT_TYPE: &str = "text/plain;charset=UTF-8";

/// Appends `v` to a URL as a query value: every byte but RFC 3986's unreserved characters
/// (`A-Z a-z 0-9 - _ . ~`) as `%XX`. By hand rather than with `percent_encoding::utf8_percent_encode`: that
/// one's table of all 256 escapes alone is 768 bytes of the hidden app (the tests check both agree).
fn push_query_value(url: &mut String, v: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            url.push(char::from(b));
        } else {
            url.push('%');
            url.push(char::from(HEX[usize::from(b >> 4)]));
            url.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
}

/// A hub to talk to: base URL plus access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    base: BaseUrl,
    token: String,
}

impl Endpoint {
    pub fn new(base: &str, token: &str) -> Result<Endpoint, UrlError> {
        Ok(Endpoint {
            base: BaseUrl::parse(base)?,
            token: token.trim().to_string(),
        })
    }

    pub fn base(&self) -> &BaseUrl {
        &self.base
    }

    /// The token, for redaction.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// `base?<params>&accesstoken=T&http_token=T`. The manual names `accesstoken`, the reference connector
    /// sends `http_token`; both are sent so either hub generation accepts it. No token, no token parameters.
    fn url(&self, params: &[(&str, &str)]) -> String {
        let mut url = self.base.0.clone();
        let mut first = true;
        let token = [
            ("accesstoken", self.token.as_str()),
            ("http_token", self.token.as_str()),
        ];
        let with_token = if self.token.is_empty() {
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
        }
    }

    fn post(&self, kind: RequestKind, body: Json) -> HubRequest {
        HubRequest {
            kind,
            method: Method::Post,
            url: self.url(&[]),
            body: Some(body.to_text()),
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
            post_body(
                "currentpresence",
                sender.into(),
                "".into(),
                "".into(),
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
        let parameter = cmd.parameter().map(|p| p.to_text()).unwrap_or_default();
        self.post(
            RequestKind::Command(cmd, event),
            post_body(
                action,
                SENDER.into(),
                eventtype.into(),
                eventname.into(),
                parameter,
            ),
        )
    }

    /// A lamp command through the GET interface (`?action=light&red=..`). The hub runs GET commands under
    /// its own source `HTTP`, separate from the connector's sender: the config app's lamp and sound tests use
    /// it, so a test never overwrites the hidden app's lamp state, and `off` afterwards gives the lamp back.
    pub fn get_command(&self, cmd: LampCommand) -> HubRequest {
        let n = |v: u8| num(v.into());
        let rgb = |c: Rgb| [n(c.red.0), n(c.green.0), n(c.blue.0)];
        let (action, values): (&str, Vec<(&str, String)>) = match cmd {
            LampCommand::Light(c) => ("light", zip_rgb(rgb(c))),
            LampCommand::Pulse(c) => ("pulse", zip_rgb(rgb(c))),
            LampCommand::Blink { color, on, off } => {
                let mut v = zip_rgb(rgb(color));
                v.push(("ontime", n(on.0)));
                v.push(("offtime", n(off.0)));
                ("blink", v)
            }
            LampCommand::Alert {
                color,
                sound,
                volume,
            }
            | LampCommand::Jingle {
                color,
                sound,
                volume,
            } => {
                let mut v = zip_rgb(rgb(color));
                v.push(("sound", n(sound.number())));
                v.push(("volume", n(volume.0)));
                let action = if matches!(cmd, LampCommand::Alert { .. }) {
                    "alert"
                } else {
                    "jingle"
                };
                (action, v)
            }
            LampCommand::ColorWithFlash { color, flash } => {
                let mut v = zip_rgb(rgb(color));
                let [r, g, b] = rgb(flash);
                v.extend([("flashred", r), ("flashgreen", g), ("flashblue", b)]);
                ("colorwithflash", v)
            }
            LampCommand::Off => ("off", Vec::new()),
            LampCommand::Logout => ("Logout", Vec::new()),
        };
        let mut params: Vec<(&str, &str)> = vec![("action", action)];
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
        let events = |names: Vec<&str>| {
            Json::object(vec![
                (
                    "EventNames",
                    Json::Array(names.into_iter().map(Json::from).collect()),
                ),
                ("IsAlertPriority", false.into()),
            ])
        };
        let parameter = Json::object(vec![
            ("DataSourceName", SENDER.into()),
            (
                "eventnames",
                Json::object(vec![
                    (EVENT_TYPE_CALL, events(call)),
                    (EVENT_TYPE_PRESENCE, events(presence)),
                    ("Light", events(vec!["Off"])),
                ]),
            ),
        ]);
        self.post(
            RequestKind::RegisterDataSource,
            post_body(
                "RegisterDataSource",
                Json::Null,
                Json::Null,
                Json::Null,
                parameter.to_text(),
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
        let parameter = Json::object(vec![
            ("enabled", true.into()),
            ("sender", SENDER.into()),
            ("eventtype", Json::Null),
            ("eventnames", Json::Array(Vec::new())),
            ("IsAlertPriority", false.into()),
        ]);
        self.post(
            RequestKind::CreateInitialPriority,
            post_body(
                "CreateInitialPriority",
                Json::Null,
                Json::Null,
                Json::Null,
                parameter.to_text(),
            ),
        )
    }
}

fn zip_rgb([r, g, b]: [String; 3]) -> Vec<(&'static str, String)> {
    vec![("red", r), ("green", g), ("blue", b)]
}

/// The POST body, fields in the manual's order.
fn post_body(
    action: &str,
    sender: Json,
    eventtype: Json,
    eventname: Json,
    parameter: String,
) -> Json {
    Json::object(vec![
        ("action", action.into()),
        ("sender", sender),
        ("eventtype", eventtype),
        ("eventname", eventname),
        ("parameter", parameter.into()),
    ])
}

/// What a driver hands back for a request: the answer as it came, or why there was none.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Outcome {
    Answer {
        status: u16,
        body: Vec<u8>,
    },
    /// The request's timeout fired first (the driver aborted it).
    Timeout,
    /// Refused, reset, DNS, CORS or mixed content: the browser does not say which.
    Network,
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
    /// The text for traces and the config app (no `core::fmt`, see [`crate::text`]).
    pub fn text(&self) -> String {
        match self {
            HubError::Timeout => "kuandoHUB did not answer in time".into(),
            HubError::Network => "kuandoHUB not reachable".into(),
            HubError::Unauthorized => "kuandoHUB rejected the access token (401)".into(),
            HubError::NoDevice => "no Busylight connected (404)".into(),
            HubError::Status(s) => cat(&["kuandoHUB answered HTTP ", &num((*s).into())]),
            HubError::Malformed(why) => cat(&["kuandoHUB answer not understood: ", why]),
            HubError::UnknownAction => "kuandoHUB does not know the action".into(),
        }
    }
}

impl fmt::Display for HubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl std::error::Error for HubError {}

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
    body.windows(9)
        .any(|w| w.eq_ignore_ascii_case(b"no_device"))
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

/// Whether `haystack` contains `needle`, ignoring ASCII case. Byte-wise on purpose: `str::contains` brings
/// the two-way searcher into the hidden app's wasm.
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
    match json_value(body)? {
        Json::Object(o) => {
            let ok = get_ci(&o, "response")
                .and_then(as_text)
                .map(|r| r.eq_ignore_ascii_case("ok"))
                .unwrap_or(false);
            if ok {
                Ok(())
            } else {
                Err(HubError::Malformed("no \"response\":\"OK\"".into()))
            }
        }
        _ => Err(HubError::Malformed("not a JSON object".into())),
    }
}

/// The command the hub is currently running, from `currentpresence`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunningCommand {
    pub action: String,
    pub sender: String,
    pub eventtype: String,
    pub eventname: String,
    /// The JSON `parameter` as text; `None` when the hub sent `null` (nothing running).
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
/// Answers are classified (issue 12): `NO_DEVICE` anywhere is [`HubError::NoDevice`]; a plain-text "unknown
/// action" is [`HubError::UnknownAction`] (see [`unknown_action`]); everything else that is not the JSON
/// object (HTML, truncated JSON, binary, 5xx) is [`HubError::Malformed`] or [`HubError::Status`].
pub fn parse_current_presence(status: u16, body: &[u8]) -> Result<CurrentPresence, HubError> {
    let o = presence_object(status, body)?;
    let own = match get_ci(&o, "ownpriority") {
        Some(Json::Object(op)) => running_from(op).filter(|r| !r.sender.trim().is_empty()),
        _ => None,
    };
    let running = match get_ci(&o, "runningcommand") {
        None | Some(Json::Null) => None,
        Some(Json::Object(rc)) => running_from(rc),
        Some(Json::String(s)) => match Json::parse(s) {
            Ok(Json::Object(rc)) => running_from(&rc),
            _ => {
                return Err(HubError::Malformed(
                    "runningcommand is not an object".into(),
                ))
            }
        },
        Some(_) => {
            return Err(HubError::Malformed(
                "runningcommand is not an object".into(),
            ))
        }
    };
    Ok(CurrentPresence { running, own })
}

/// A `currentpresence` answer as an object, classified (see [`parse_current_presence`]); also accepted
/// double-encoded as a JSON string.
fn presence_object(status: u16, body: &[u8]) -> Result<Members, HubError> {
    if unknown_action(status, body) && !says_no_device(body) {
        return Err(HubError::UnknownAction);
    }
    check(status, body)?;
    let mut v = json_value(body)?;
    if let Json::String(s) = &v {
        v = Json::parse(s).map_err(|_| HubError::Malformed("not JSON".into()))?;
    }
    match v {
        Json::Object(o) => Ok(o),
        _ => Err(HubError::Malformed("not a JSON object".into())),
    }
}

fn running_from(rc: &Members) -> Option<RunningCommand> {
    let text = |k: &str| get_ci(rc, k).and_then(as_text).unwrap_or_default();
    let parameter = match get_ci(rc, "parameter") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_text()),
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

/// Parses the answer to [`Endpoint::own_priority`] for `sender`, classified as `currentpresence` is.
/// **[inferred]** The manual does not name the own-priority member: any member but `runningcommand` whose
/// name contains "own" (e.g. `ownpriority`) is taken, as an object, `null` or a JSON string. A command of
/// another sender there (a hub that answers for the asking connection, not for the sender named) is
/// [`OwnPriority::Unknown`], never that sender's.
pub fn parse_own_priority(status: u16, body: &[u8], sender: &str) -> Result<OwnPriority, HubError> {
    let o = presence_object(status, body)?;
    let own = o
        .iter()
        .rev()
        .find(|(k, _)| !k.eq_ignore_ascii_case("runningcommand") && has_ci(k.as_bytes(), b"own"));
    let members = match own.map(|(_, v)| v) {
        None => return Ok(OwnPriority::Unknown),
        Some(Json::Null) => return Ok(OwnPriority::Nothing),
        Some(Json::Object(m)) => m.clone(),
        Some(Json::String(s)) => match Json::parse(s) {
            Ok(Json::Object(m)) => m,
            _ => return Ok(OwnPriority::Unknown),
        },
        Some(_) => return Ok(OwnPriority::Unknown),
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
/// array, or double-encoded). Entries that are not objects are skipped; an empty list means no lamp, as with
/// the kuandoHUB innovaphone Edition.
pub fn parse_devices(status: u16, body: &[u8]) -> Result<Vec<Device>, HubError> {
    check(status, body)?;
    let mut v = json_value(body)?;
    if let Json::String(s) = &v {
        v = Json::parse(s).map_err(|_| HubError::Malformed("not JSON".into()))?;
    }
    let list = match v {
        Json::Array(a) => a,
        // The first member holding an array, in the answer's order.
        Json::Object(o) => match o.into_iter().find_map(|(_, v)| match v {
            Json::Array(a) => Some(a),
            _ => None,
        }) {
            Some(a) => a,
            None => return Err(HubError::Malformed("no device list".into())),
        },
        Json::Null => Vec::new(),
        _ => return Err(HubError::Malformed("no device list".into())),
    };
    Ok(list
        .iter()
        .filter_map(|d| d.as_object())
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

fn json_value(body: &[u8]) -> Result<Json, HubError> {
    let text = std::str::from_utf8(body).map_err(|_| HubError::Malformed("not UTF-8".into()))?;
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Err(HubError::Malformed("empty answer".into()));
    }
    Json::parse(text).map_err(|_| HubError::Malformed("not JSON".into()))
}

/// A field by name, ignoring ASCII case (hub releases differ: `runningcommand`, `RunningCommand`). The exact
/// spelling first; of a field given twice, the last counts, as in JavaScript's `JSON.parse`.
fn get_ci<'a>(o: &'a Members, key: &str) -> Option<&'a Json> {
    let last = |same: &dyn Fn(&str) -> bool| o.iter().rev().find(|(k, _)| same(k)).map(|(_, v)| v);
    last(&|k| k == key).or_else(|| last(&|k| k.eq_ignore_ascii_case(key)))
}

/// A string, or a number/bool written as text; `None` for null, arrays and objects.
fn as_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        // As the hub wrote it (`2.40` stays `2.40`).
        Json::Number(n) => Some(n.as_str().to_string()),
        Json::Bool(b) => Some(if *b { "true" } else { "false" }.into()),
        _ => None,
    }
}

/// A boolean, also from `"true"`/`"false"`/`1`/`0`; unknown shapes count as true (a lamp is assumed capable).
fn as_flag(v: &Json) -> bool {
    match v {
        Json::Bool(b) => *b,
        Json::Number(n) => !n.is_zero(),
        Json::String(s) => !matches!(s.trim().to_ascii_lowercase().as_str(), "false" | "0" | "no"),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn levels_are_0_to_100() {
        assert!(Level::new(100).is_some());
        assert!(Level::new(101).is_none());
        assert!(Rgb::new(255, 0, 0).is_none());
        assert_eq!(Level::from_byte(255).get(), 100);
        assert_eq!(Level::from_byte(0).get(), 0);
        assert_eq!(Level::from_byte(0xb4).get(), 71);
        assert_eq!(Rgb::from_hex("#B400E1"), Rgb::new(71, 0, 88));
        assert_eq!(Rgb::from_hex("00ff00"), Rgb::new(0, 100, 0));
        for bad in ["", "#fff", "#gg0000", "#ff00000", "red", "#ff000é"] {
            assert_eq!(Rgb::from_hex(bad), None, "{bad}");
        }
    }

    #[test]
    fn sounds_use_the_hub_numbering() {
        assert_eq!(Sound::from_number(0), Some(Sound::None));
        assert_eq!(Sound::from_number(3), Some(Sound::KuandoTrain));
        assert_eq!(Sound::from_number(8), Some(Sound::TelephonePickMeUp));
        assert_eq!(Sound::from_number(9), None);
        assert_eq!(Sound::TelephoneNordic.number(), 6);
        assert_eq!(Volume::new(101), None);
        assert_eq!(Volume::default().get(), 75);
    }

    #[test]
    fn base_url_with_or_without_slash() {
        assert_eq!(
            BaseUrl::parse("http://localhost:8989").unwrap().as_str(),
            "http://localhost:8989/"
        );
        assert_eq!(
            BaseUrl::parse("http://localhost:8989/").unwrap().as_str(),
            "http://localhost:8989/"
        );
        assert_eq!(
            BaseUrl::parse(" HTTPS://Hub.Example:443/kuando ")
                .unwrap()
                .as_str(),
            "https://hub.example:443/kuando/"
        );
        assert_eq!(
            BaseUrl::parse("http://[::1]:8989").unwrap().as_str(),
            "http://[::1]:8989/"
        );
        assert_eq!(
            BaseUrl::parse("http://Bücher.example:8989")
                .unwrap()
                .as_str(),
            "http://bücher.example:8989/"
        );
        for bad in [
            "http://a b",
            "http://a\u{3000}b",
            "http://a!b",
            "http://a/b c",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(BaseUrl::parse("ws://x"), Err(UrlError::NotHttp));
        assert_eq!(BaseUrl::parse("http://a@b"), Err(UrlError::Credentials));
        assert_eq!(BaseUrl::parse("http://a:0/"), Err(UrlError::BadPort));
        assert_eq!(BaseUrl::parse("http://a:/"), Err(UrlError::BadPort));
        assert_eq!(
            BaseUrl::parse("http://a/?x=1"),
            Err(UrlError::QueryOrFragment)
        );
        assert_eq!(
            BaseUrl::parse("http://a/\u{0}"),
            Err(UrlError::ControlCharacters)
        );
        assert!(BaseUrl::parse("http://localhost:8989")
            .unwrap()
            .is_loopback());
        assert!(BaseUrl::parse("http://127.0.0.1:8989")
            .unwrap()
            .is_loopback());
        assert!(!BaseUrl::parse("http://192.168.0.100:8989")
            .unwrap()
            .is_loopback());
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
        let t = Endpoint::new("http://192.168.0.100:8989/", "a b&c=d/é").unwrap();
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
        assert_eq!(p.parameter.as_deref(), Some(r#"{"color":1}"#));
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

    #[test]
    fn describe_for_traces() {
        assert_eq!(LampCommand::blink(red()).describe(), "Blink 100/0/0");
        assert_eq!(LampCommand::Off.describe(), "Off");
        assert_eq!(
            LampCommand::Alert {
                color: red(),
                sound: Sound::Funky,
                volume: Volume::default()
            }
            .describe(),
            "Alert 100/0/0 sound Funky volume 75"
        );
    }
}
