//! The simulated world behind the launcher page: the PBX (users, presence, licenses, the phone), the myApps
//! client side of the `postMessage` protocol, and the AppPlatform's app websocket (challenge, login, routing
//! to the shipped service, which runs in the runtime host of [`super::runtime`]; the PBX side of the app
//! object's connections to it is in [`super::pbx_api`]).
//!
//! Everything here is synchronous and runs under one lock: a handler mutates the state and queues the texts
//! to send on unbounded channels, so every observer sees the events in one order.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::hash::BuildHasher;
use std::time::Instant;

use kuando_connector::proto::License;
use kuando_connector::state::{CallState, Presence};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc::UnboundedSender;

mod apis;

use super::ordered::Ordered;
use super::pbx::Pbx;
use super::{
    AppObject, Options, API_CLIENT, API_PHONE, API_PHONEINFO, APP_OBJECTS, CLIENT_PROVIDER, DOMAIN,
    INSTANCE_PATH, SOFTPHONE,
};

/// How many wire messages the log keeps (older ones are dropped).
const LOG_KEEP: usize = 2000;
/// How many log lines a launcher page gets when it connects.
const LOG_BACKLOG: usize = 300;
/// Longest activity / note the simulated PBX accepts (it refuses longer ones instead of cutting them).
const MAX_ACTIVITY_LEN: usize = 64;
const MAX_NOTE_LEN: usize = 256;

/// A PBX user.
pub(crate) struct User {
    pub name: String,
    pub sip: String,
    pub guid: String,
    pub dn: String,
    pub num: String,
    pub email: String,
    /// `contact "tel:"`: the presence the user set (by hand or through the app service).
    pub presence: Presence,
    pub license: License,
    pub calls: Vec<Call>,
    next_call: u32,
}

impl User {
    fn model(&self) -> Value {
        json!({"domain": DOMAIN, "sip": self.sip, "guid": self.guid, "dn": self.dn, "num": self.num,
               "email": self.email})
    }
}

/// A call on the user's simulated softphone.
#[derive(Clone)]
pub(crate) struct Call {
    pub id: u32,
    pub guid: String,
    /// `"i"` or `"o"`.
    pub dir: &'static str,
    pub num: String,
    pub sip: String,
    pub dn: String,
    pub state: CallState,
}

impl Call {
    /// As in the `com.innovaphone.phone` model.
    fn model(&self) -> Value {
        json!({"id": self.id, "guid": self.guid, "dir": self.dir, "num": self.num, "sip": self.sip,
               "dn": self.dn, "state": self.state.as_str()})
    }

    /// The phoneinfo `CallUpdated` message.
    fn updated(&self) -> Value {
        json!({"mt": "CallUpdated", "id": self.id, "guid": self.guid, "dir": self.dir, "num": self.num,
               "sip": self.sip, "dn": self.dn, "lastDiverting": "", "originalCalled": "",
               "state": self.state.as_str()})
    }
}

/// One app iframe of a launcher page, from myApps' point of view.
#[derive(Default)]
struct Frame {
    alive: bool,
    consumed: BTreeSet<String>,
    registered: BTreeSet<String>,
    /// `SubscribePresence` requests: (sip, src of the request).
    subs: Vec<(String, Value)>,
    /// The newest `ApiModel` per API this frame provides (see `apis`).
    models: BTreeMap<String, Value>,
    /// `PrepareReload` was posted; the app is reloaded once it answers `PrepareReloadComplete`.
    reload_requested: bool,
}

/// A launcher page (one myApps client of one user).
pub(crate) struct Session {
    pub user: String,
    /// `http://host:port` as the page reached us: the apps' `url` start parameter is built from it.
    base: String,
    lang: String,
    scheme: String,
    tx: UnboundedSender<String>,
    frames: BTreeMap<&'static str, Frame>,
    last_view: String,
    /// The softphone app of this client was closed (it provides neither `com.innovaphone.phone` nor
    /// phoneinfo events until it is opened again).
    softphone_closed: bool,
}

/// An app websocket connection.
pub(crate) struct AppConn {
    tx: UnboundedSender<String>,
    challenge: Option<String>,
    pub login: Option<AppIdentity>,
    keep_alives: u64,
    since_ms: u64,
}

/// Who is on an app connection: only ever taken from a checked `AppLogin`.
#[derive(Clone)]
pub(crate) struct AppIdentity {
    pub user: String,
    pub app: String,
    pub pbx_obj: String,
    /// `info.unlicensed` of the checked login, as the runtime hands it to the service (`conn.unlicensed`).
    pub unlicensed: bool,
}

/// One line of the wire log.
#[derive(Clone, Serialize)]
pub(crate) struct LogEntry {
    seq: u64,
    /// Milliseconds since the simulator started.
    ms: u64,
    /// The user the line belongs to, when known.
    user: Option<String>,
    /// `client` (postMessage via the launcher), `app` (app websocket) or `sim` (the simulator's own notes).
    via: &'static str,
    /// The iframe (`hidden`/`config`), `app#N`, or what the note is about.
    peer: String,
    /// `in` (to the simulator), `out` (from it) or `note`.
    dir: &'static str,
    /// The message, tokens masked.
    text: String,
}

/// The whole simulated world.
pub(crate) struct World {
    started: Instant,
    /// The app instance password, shared by the PBX and the app service and never sent anywhere.
    password: String,
    pub users: BTreeMap<String, User>,
    sessions: BTreeMap<u64, Session>,
    pub conns: BTreeMap<u64, AppConn>,
    log: VecDeque<LogEntry>,
    next_seq: u64,
    next_id: u64,
    next_src: u64,
    entropy: RandomState,
    entropy_counter: u64,
    /// `info` texts of issued logins by challenge, only to explain a failed `AppLogin` in the log.
    issued: VecDeque<(String, String)>,
    /// The PBX's App objects and config templates (`pbx.rs`); the PBX Manager's side is in `world/manager.rs`.
    pub(crate) pbx: Pbx,
    /// The runtime host's stdin while it runs, and the APIs the service registered.
    runtime: Option<UnboundedSender<String>>,
    pub(crate) json_apis: Vec<String>,
    pub(crate) pbx_apis: Vec<String>,
    /// The PBX app object's connections to the service (PbxApi, PbxAdminApi).
    pub(crate) pbx_conns: BTreeMap<u64, super::pbx_api::PbxConn>,
    /// The hidden app's object has the Admin option (PbxAdminApi).
    pub(crate) admin_option: bool,
    /// `POST /_sim/pbx/fault`: the PBX refuses this request type from the service this many more times
    /// (-1: until cleared).
    pub(crate) pbx_fault: Option<(String, i64)>,
}

mod manager;

/// SHA-256 hex of `app:domain:sip:guid:dn:info:challenge:password`, as the PBX computes it; without `:info`
/// when there is no info (AppWebsocket.htm).
// One argument per field of the documented formula reads better than a struct built for one call.
#[allow(clippy::too_many_arguments)]
pub(crate) fn digest(
    app: &str,
    domain: &str,
    sip: &str,
    guid: &str,
    dn: &str,
    info: Option<&str>,
    challenge: &str,
    password: &str,
) -> String {
    let text = match info {
        Some(info) => format!("{app}:{domain}:{sip}:{guid}:{dn}:{info}:{challenge}:{password}"),
        None => format!("{app}:{domain}:{sip}:{guid}:{dn}:{challenge}:{password}"),
    };
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The `info` object of a `Login`. A struct (not `json!`) so that its keys keep this order, the order of the
/// spec: the digest covers the exact text, and an app that reorders the keys must notice here.
#[derive(Serialize)]
struct LoginInfo<'a> {
    appobj: &'a str,
    appdn: &'a str,
    appurl: String,
    cn: &'a str,
    /// Present (and true) only when the user has no license, as the spec says.
    #[serde(skip_serializing_if = "Option::is_none")]
    unlicensed: Option<bool>,
    /// [inferred] the number of licenses of the app the PBX has handed out.
    lics: usize,
    apps: Vec<Value>,
}

#[derive(Serialize)]
struct LoginMsg<'a> {
    mt: &'static str,
    #[serde(skip_serializing_if = "Value::is_null")]
    src: Value,
    app: &'a str,
    domain: &'a str,
    sip: &'a str,
    guid: &'a str,
    dn: &'a str,
    #[serde(rename = "pbxObj")]
    pbx_obj: &'a str,
    info: LoginInfo<'a>,
    digest: String,
}

/// `AppLogin` as read by the AppPlatform; `info` keeps its key order.
#[derive(Deserialize)]
struct AppLoginMsg {
    #[serde(default)]
    app: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    sip: String,
    #[serde(default)]
    guid: String,
    #[serde(default)]
    dn: String,
    #[serde(default)]
    digest: String,
    #[serde(default, rename = "pbxObj")]
    pbx_obj: String,
    #[serde(default)]
    info: Option<Ordered>,
}

fn obj_by_frame(frame: &str) -> Option<&'static AppObject> {
    APP_OBJECTS.iter().find(|o| o.frame == frame)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A user name must be usable as a SIP name and in a URL without escaping.
fn valid_user_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 32
        && n.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' || c == '.'
        })
}

/// Masks the values of `"token"` fields in JSON text (even in text that does not parse, e.g. a truncated
/// message) and `http_token=`/`accesstoken=` URL parameters: the wire log is shown on screen.
pub(crate) fn mask_tokens(text: &str) -> String {
    const KEY: &str = "\"token\"";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(KEY) {
        let (head, tail) = rest.split_at(pos + KEY.len());
        out.push_str(head);
        let after_ws = tail.trim_start();
        let Some(after_colon) = after_ws.strip_prefix(':') else {
            rest = tail;
            continue;
        };
        let value = after_colon.trim_start();
        let Some(body) = value.strip_prefix('"') else {
            rest = tail;
            continue;
        };
        out.push_str(&tail[..tail.len() - body.len()]);
        // Find the closing quote, skipping escaped characters.
        let mut end = body.len();
        let mut escaped = false;
        for (i, c) in body.char_indices() {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                end = i;
                break;
            }
        }
        if end > 0 {
            out.push_str(kuando_connector::trace::MASK);
        }
        rest = &body[end..];
    }
    out.push_str(rest);
    kuando_connector::trace::redact(&out, &[])
}

/// JSON text with `mt` first in every object (other keys in key order), as myApps writes its messages. Only
/// for the wire log's readability: no parser may depend on key order (except for `info`, see `LoginInfo`).
fn wire(v: &Value) -> String {
    let mut out = String::new();
    write_mt_first(v, &mut out);
    out
}

fn write_mt_first(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            out.push('{');
            let mt = m.get_key_value("mt");
            let rest = m.iter().filter(|(k, _)| k.as_str() != "mt");
            for (i, (k, x)) in mt.into_iter().chain(rest).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_mt_first(x, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_mt_first(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn src_of(v: &Value) -> Value {
    v.get("src").cloned().unwrap_or(Value::Null)
}

fn license_name(l: License) -> &'static str {
    match l {
        License::None => "none",
        License::Connector => "connector",
        License::WithBusylight => "withBusylight",
    }
}

/// Parses a license name as the control API and the launcher send it.
pub(crate) fn parse_license(s: &str) -> Option<License> {
    match s.trim() {
        "none" | "unlicensed" => Some(License::None),
        "connector" | "App(innovaphone-kuando)" => Some(License::Connector),
        "withBusylight"
        | "with-busylight"
        | "busylight"
        | "App(innovaphone-kuando-with-busylight)" => Some(License::WithBusylight),
        _ => None,
    }
}

impl World {
    pub(crate) fn new(o: &Options) -> Result<World, String> {
        let mut w = World {
            started: Instant::now(),
            password: String::new(),
            users: BTreeMap::new(),
            sessions: BTreeMap::new(),
            conns: BTreeMap::new(),
            log: VecDeque::new(),
            next_seq: 1,
            next_id: 1,
            next_src: 1,
            entropy: RandomState::new(),
            entropy_counter: 0,
            issued: VecDeque::new(),
            pbx: Pbx::default(),
            runtime: None,
            json_apis: Vec::new(),
            pbx_apis: Vec::new(),
            pbx_conns: BTreeMap::new(),
            admin_option: !o.without_admin,
            pbx_fault: None,
        };
        w.password = w.random_hex(16);
        w.pbx = if o.fresh_pbx {
            Pbx::fresh()
        } else {
            Pbx::ready_made(&w.password)
        };
        let mut names: Vec<String> = Vec::new();
        for n in &o.users {
            let n = n.trim().to_string();
            if !valid_user_name(&n) {
                return Err(format!(
                    "user name {n:?}: use 1-32 characters a-z, 0-9, '.', '-', '_'"
                ));
            }
            if !names.contains(&n) {
                names.push(n);
            }
        }
        if names.is_empty() {
            return Err("--users: at least one user".into());
        }
        for (flag, list) in [
            ("--unlicensed", &o.unlicensed),
            ("--license-busylight", &o.license_busylight),
        ] {
            for n in list {
                if !names.contains(n) {
                    return Err(format!("{flag} {n}: no such user (see --users)"));
                }
            }
        }
        if let Some(n) = o
            .unlicensed
            .iter()
            .find(|n| o.license_busylight.contains(n))
        {
            return Err(format!("{n} is both --unlicensed and --license-busylight"));
        }
        for (i, n) in names.iter().enumerate() {
            let license = if o.unlicensed.contains(n) {
                License::None
            } else if o.license_busylight.contains(n) {
                License::WithBusylight
            } else {
                License::Connector
            };
            // A stable guid per name, so that a restarted simulator knows the same users.
            let guid = hex::encode(&Sha256::digest(format!("guid:{n}").as_bytes())[..16]);
            w.users.insert(
                n.clone(),
                User {
                    name: n.clone(),
                    sip: n.clone(),
                    guid,
                    dn: capitalise(n),
                    num: (101 + i).to_string(),
                    email: format!("{n}@{DOMAIN}"),
                    presence: Presence::available(),
                    license,
                    calls: Vec::new(),
                    next_call: 1,
                },
            );
        }
        Ok(w)
    }

    /// Hex from a per-process random key: challenges and the password must not be guessable across runs,
    /// and a simulator needs no stronger source than the one std uses against HashDoS.
    fn random_hex(&mut self, bytes: usize) -> String {
        let mut out = String::new();
        while out.len() < bytes * 2 {
            self.entropy_counter += 1;
            out.push_str(&format!(
                "{:016x}",
                self.entropy.hash_one(self.entropy_counter)
            ));
        }
        out.truncate(bytes * 2);
        out
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub(super) fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub(crate) fn set_runtime(&mut self, tx: Option<UnboundedSender<String>>) {
        self.runtime = tx;
    }

    pub(crate) fn runtime_tx(&self) -> Option<&UnboundedSender<String>> {
        self.runtime.as_ref()
    }

    pub(crate) fn runtime_running(&self) -> bool {
        self.runtime.is_some()
    }

    /// The instance's process is gone: every app websocket to it drops (dropping a connection's sender
    /// ends its pump, which closes the socket). Called with the runtime detached, so nothing is sent to it.
    pub(crate) fn drop_app_conns(&mut self) {
        let ids: Vec<u64> = self.conns.keys().copied().collect();
        for cid in ids {
            self.remove_conn(cid);
        }
    }

    /// The instance password; only [`super::Running::app_password`] hands it out, for tests that check
    /// the digest formula.
    pub(crate) fn password(&self) -> &str {
        &self.password
    }

    // ---------------------------------------------------------------------------------------------------
    // Log and launcher views

    pub(super) fn log(
        &mut self,
        user: Option<&str>,
        via: &'static str,
        peer: &str,
        dir: &'static str,
        text: &str,
    ) {
        let entry = LogEntry {
            seq: self.next_seq,
            ms: self.now_ms(),
            user: user.map(str::to_string),
            via,
            peer: peer.to_string(),
            dir,
            text: mask_tokens(text),
        };
        self.next_seq += 1;
        let line = json!({"t": "log", "entry": entry}).to_string();
        for s in self.sessions.values() {
            if entry.user.as_deref().is_none_or(|u| u == s.user) {
                let _ = s.tx.send(line.clone());
            }
        }
        self.log.push_back(entry);
        while self.log.len() > LOG_KEEP {
            self.log.pop_front();
        }
    }

    pub(super) fn note(&mut self, user: Option<&str>, peer: &str, text: &str) {
        self.log(user, "sim", peer, "note", text);
    }

    /// Sends every launcher page its view if it changed.
    pub(crate) fn push_views(&mut self) {
        let ids: Vec<u64> = self.sessions.keys().copied().collect();
        for sid in ids {
            let view = self.view(sid).to_string();
            if let Some(s) = self.sessions.get_mut(&sid) {
                if s.last_view != view {
                    let _ = s.tx.send(view.clone());
                    s.last_view = view;
                }
            }
        }
    }

    fn view(&self, sid: u64) -> Value {
        let Some(s) = self.sessions.get(&sid) else {
            return Value::Null;
        };
        let Some(u) = self.users.get(&s.user) else {
            return Value::Null;
        };
        let frames: Map<String, Value> = s
            .frames
            .iter()
            .map(|(name, f)| ((*name).to_string(), frame_json(f)))
            .collect();
        let apps: Vec<Value> = self
            .conns
            .iter()
            .filter(|(_, c)| c.login.as_ref().is_some_and(|l| l.user == s.user))
            .map(|(id, c)| conn_json(*id, c))
            .collect();
        json!({
            "t": "view",
            "user": u.model(),
            "presence": u.presence,
            "license": license_name(u.license),
            "calls": u.calls.iter().map(Call::model).collect::<Vec<_>>(),
            "lang": s.lang,
            "scheme": s.scheme,
            "frames": frames,
            "apps": apps,
            "users": self.users.keys().collect::<Vec<_>>(),
        })
    }

    /// The whole state for `GET /_sim/state`. Tokens are masked here too: the state is a debugging aid that
    /// ends up on screens.
    pub(crate) fn state_json(&self) -> Value {
        let users: Map<String, Value> = self
            .users
            .values()
            .map(|u| {
                (
                    u.name.clone(),
                    json!({
                        "sip": u.sip, "guid": u.guid, "dn": u.dn, "num": u.num, "email": u.email,
                        "presence": u.presence,
                        "license": license_name(u.license),
                        "calls": u.calls.iter().map(Call::model).collect::<Vec<_>>(),
                    }),
                )
            })
            .collect();
        let sessions: Vec<Value> = self
            .sessions
            .iter()
            .map(|(id, s)| {
                let frames: Map<String, Value> = s
                    .frames
                    .iter()
                    .map(|(name, f)| ((*name).to_string(), frame_json(f)))
                    .collect();
                json!({"id": id, "user": s.user, "lang": s.lang, "scheme": s.scheme, "frames": frames})
            })
            .collect();
        let apps: Vec<Value> = self.conns.iter().map(|(id, c)| conn_json(*id, c)).collect();
        json!({
            "domain": DOMAIN,
            "instance": INSTANCE_PATH,
            "users": users,
            "sessions": sessions,
            "apps": apps,
            "service": {
                "running": self.runtime.is_some(),
                "jsonApis": self.json_apis,
                "pbxApis": self.pbx_apis,
                "pbxConnections": self.pbx_conns.iter().map(|(id, c)| json!({"id": id, "api": c.api})).collect::<Vec<_>>(),
                "adminOption": self.admin_option,
            },
            "log": self.log,
        })
    }

    // ---------------------------------------------------------------------------------------------------
    // Launcher sessions (the myApps client)

    pub(crate) fn user_exists(&self, user: &str) -> bool {
        self.users.contains_key(user)
    }

    /// A launcher page connected: returns its id and sends it the set-up (which iframes to load with which
    /// start parameters), its log backlog and its view.
    pub(crate) fn add_session(
        &mut self,
        user: &str,
        base: &str,
        lang: &str,
        scheme: &str,
        tx: UnboundedSender<String>,
    ) -> u64 {
        let sid = self.next_id();
        // The apps the PBX gives the user (App object + template), as myApps would list them.
        let granted: Vec<&'static AppObject> = APP_OBJECTS
            .iter()
            .filter(|o| self.pbx.grants(o.name, o.htm))
            .collect();
        let frames = granted
            .iter()
            .map(|o| (o.frame, Frame::default()))
            .collect();
        let frames_setup: Vec<Value> = granted
            .iter()
            .map(|o| {
                let url = format!("{base}{INSTANCE_PATH}{}", o.htm);
                let q = |s: &str| {
                    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
                        .to_string()
                };
                let src = format!(
                    "{INSTANCE_PATH}{}.htm?lang={}&scheme={}&name={}&title={}&url={}&originalUrl={}",
                    o.htm,
                    q(lang),
                    q(scheme),
                    q(o.name),
                    q(o.title),
                    q(&url),
                    q(&url)
                );
                json!({"frame": o.frame, "name": o.name, "htm": o.htm, "title": o.title,
                       "hidden": o.hidden, "src": src})
            })
            .collect();
        let setup = json!({
            "t": "setup",
            "session": sid,
            "user": self.users.get(user).map(User::model),
            "frames": frames_setup,
        })
        .to_string();
        let _ = tx.send(setup);
        let backlog: Vec<&LogEntry> = self
            .log
            .iter()
            .filter(|e| e.user.as_deref().is_none_or(|u| u == user))
            .collect();
        let skip = backlog.len().saturating_sub(LOG_BACKLOG);
        let _ = tx.send(json!({"t": "logs", "entries": &backlog[skip..]}).to_string());
        self.sessions.insert(
            sid,
            Session {
                user: user.to_string(),
                base: base.to_string(),
                lang: lang.to_string(),
                scheme: scheme.to_string(),
                tx,
                frames,
                last_view: String::new(),
                softphone_closed: false,
            },
        );
        self.note(
            Some(user),
            "launcher",
            &format!("launcher #{sid} opened (lang {lang}, scheme {scheme})"),
        );
        self.push_views();
        sid
    }

    pub(crate) fn remove_session(&mut self, sid: u64) {
        if let Some(s) = self.sessions.remove(&sid) {
            self.note(
                Some(&s.user),
                "launcher",
                &format!("launcher #{sid} closed"),
            );
        }
        self.push_views();
    }

    /// A text frame from a launcher page: `{"t":"msg","frame":F,"data":D}` (an app posted D),
    /// `{"t":"console","frame":F,"text":T}` (the app wrote T to its console) or `{"t":"reset","frame":F}` (the
    /// page is (re)loading the iframe: a new app instance).
    pub(crate) fn on_launcher(&mut self, sid: u64, raw: &str) {
        let Some(user) = self.sessions.get(&sid).map(|s| s.user.clone()) else {
            return;
        };
        let v: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
        let frame = v
            .get("frame")
            .and_then(Value::as_str)
            .and_then(obj_by_frame);
        match (v.get("t").and_then(Value::as_str), frame) {
            (Some("msg"), Some(obj)) => {
                let data = v.get("data").cloned().unwrap_or(Value::Null);
                self.on_frame_msg(sid, &user, obj, &data);
            }
            (Some("console"), Some(obj)) => {
                // A line the app wrote to its console, as myApps shows an app's console in its log.
                let text = v.get("text").and_then(Value::as_str).unwrap_or("");
                self.log(Some(&user), "console", obj.frame, "note", text);
            }
            (Some(t @ ("reset" | "closed")), Some(obj)) => {
                let old = self
                    .sessions
                    .get_mut(&sid)
                    .and_then(|s| s.frames.get_mut(obj.frame))
                    .map(std::mem::take);
                if let Some(old) = old {
                    self.frame_gone(sid, obj, old);
                }
                let what = if t == "reset" {
                    format!("loading {}.htm", obj.htm)
                } else {
                    format!("{}.htm closed", obj.htm)
                };
                self.note(Some(&user), obj.frame, &what);
            }
            _ => self.note(
                Some(&user),
                "launcher",
                "unreadable message from the launcher page",
            ),
        }
        self.push_views();
    }

    /// Posts a message to an app iframe (through the launcher page) and logs it.
    fn post(&mut self, sid: u64, frame: &'static str, text: String) {
        let Some(user) = self.sessions.get(&sid).map(|s| s.user.clone()) else {
            return;
        };
        self.log(Some(&user), "client", frame, "out", &text);
        if let Some(s) = self.sessions.get(&sid) {
            let _ =
                s.tx.send(json!({"t": "post", "frame": frame, "msg": text}).to_string());
        }
    }

    fn on_frame_msg(&mut self, sid: u64, user: &str, obj: &'static AppObject, data: &Value) {
        let Value::String(text) = data else {
            self.log(Some(user), "client", obj.frame, "in", &data.to_string());
            self.note(
                Some(user),
                obj.frame,
                "ignored: not a string (myApps reads postMessage data with JSON.parse)",
            );
            return;
        };
        self.log(Some(user), "client", obj.frame, "in", text);
        let msg: Value = match serde_json::from_str(text) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                self.note(Some(user), obj.frame, "ignored: not a JSON object");
                return;
            }
        };
        let mt = msg.get("mt").and_then(Value::as_str).unwrap_or("");
        let api = msg
            .get("api")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        match mt {
            "Alive" => {
                if let Some(f) = self.frame_mut(sid, obj.frame) {
                    f.alive = true;
                }
            }
            "ConsumeApi" if !api.is_empty() => {
                if let Some(f) = self.frame_mut(sid, obj.frame) {
                    f.consumed.insert(api.clone());
                }
                let update = self.api_update(sid, obj.frame);
                self.post(sid, obj.frame, update);
            }
            "RegisterApi" if !api.is_empty() => {
                if let Some(f) = self.frame_mut(sid, obj.frame) {
                    f.registered.insert(api.clone());
                }
                // Consumers of the API learn about the new provider.
                for other in self.frames_where(sid, |f| f.consumed.contains(&api)) {
                    let update = self.api_update(sid, other);
                    self.post(sid, other, update);
                }
            }
            "ApiRequest" if !api.is_empty() => self.on_api_request(sid, user, obj, &api, &msg),
            "ApiResult" if !api.is_empty() => self.on_api_result(sid, user, obj, &api, &msg),
            "ApiModel" if !api.is_empty() => self.on_api_model(sid, user, obj, &api, &msg),
            "getLogin" => self.on_get_login(sid, user, obj, &msg),
            "PrepareReloadComplete" => {
                let pending = self
                    .frame_mut(sid, obj.frame)
                    .is_some_and(|f| std::mem::take(&mut f.reload_requested));
                if pending {
                    self.note(
                        Some(user),
                        obj.frame,
                        "reload prepared: loading the app again",
                    );
                    if let Some(s) = self.sessions.get(&sid) {
                        let _ =
                            s.tx.send(json!({"t": "reload", "frame": obj.frame}).to_string());
                    }
                } else {
                    self.note(
                        Some(user),
                        obj.frame,
                        "PrepareReloadComplete without PrepareReload",
                    );
                }
            }
            "" => self.note(Some(user), obj.frame, "ignored: no mt"),
            "ConsumeApi" | "RegisterApi" | "ApiRequest" | "ApiResult" | "ApiModel" => {
                self.note(Some(user), obj.frame, &format!("ignored: {mt} without api"))
            }
            other => self.note(
                Some(user),
                obj.frame,
                &format!("ignored: myApps does not know mt {other:?}"),
            ),
        }
    }

    fn frame_mut(&mut self, sid: u64, frame: &str) -> Option<&mut Frame> {
        self.sessions
            .get_mut(&sid)
            .and_then(|s| s.frames.get_mut(frame))
    }

    fn frames_where(&self, sid: u64, pred: impl Fn(&Frame) -> bool) -> Vec<&'static str> {
        self.sessions
            .get(&sid)
            .map(|s| {
                s.frames
                    .iter()
                    .filter(|(_, f)| pred(f))
                    .map(|(n, _)| *n)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `ApiUpdate` for one iframe: the providers of every API it consumes (an API nobody provides appears
    /// with no providers, as in myApps).
    fn api_update(&self, sid: u64, frame: &str) -> String {
        let Some(s) = self.sessions.get(&sid) else {
            return String::new();
        };
        let (Some(f), Some(u)) = (s.frames.get(frame), self.users.get(&s.user)) else {
            return String::new();
        };
        let mut apis = Map::new();
        let mut defaults = Map::new();
        for api in &f.consumed {
            let mut providers = Map::new();
            if api == API_CLIENT {
                providers.insert(
                    CLIENT_PROVIDER.into(),
                    json!({"title": "myApps", "url": "", "info": {}, "model": {"user": u.model()}}),
                );
                defaults.insert(api.clone(), CLIENT_PROVIDER.into());
            }
            if api == API_PHONE && !s.softphone_closed {
                let calls: Vec<Value> = u.calls.iter().map(Call::model).collect();
                providers.insert(
                    SOFTPHONE.into(),
                    json!({"title": "Softphone", "url": "", "info": {},
                           "model": {"registered": true, "calls": calls}}),
                );
                defaults.insert(api.clone(), SOFTPHONE.into());
            }
            for (fname, other) in &s.frames {
                if other.registered.contains(api) {
                    if let Some(o) = obj_by_frame(fname) {
                        providers.insert(
                            o.name.into(),
                            json!({"title": o.title, "url": format!("{}{INSTANCE_PATH}{}", s.base, o.htm),
                                   "info": {},
                                   "model": other.models.get(api).cloned().unwrap_or_else(|| json!({}))}),
                        );
                        defaults.entry(api.clone()).or_insert(o.name.into());
                    }
                }
            }
            apis.insert(api.clone(), Value::Object(providers));
        }
        wire(&json!({"mt": "ApiUpdate", "apis": apis, "defaultApiProviders": defaults}))
    }

    fn on_api_request(
        &mut self,
        sid: u64,
        user: &str,
        obj: &'static AppObject,
        api: &str,
        msg: &Value,
    ) {
        let provider = msg.get("provider").and_then(Value::as_str).unwrap_or("");
        let src = src_of(msg);
        let inner = msg.get("msg").cloned().unwrap_or(Value::Null);
        let inner_mt = inner.get("mt").and_then(Value::as_str).unwrap_or("");
        if api == API_CLIENT && (provider.is_empty() || provider == CLIENT_PROVIDER) {
            match inner_mt {
                "SubscribePresence" => {
                    // Tolerant: no sip means "my own".
                    let sip = inner
                        .get("sip")
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .unwrap_or(user)
                        .to_string();
                    if let Some(f) = self.frame_mut(sid, obj.frame) {
                        if !f.subs.iter().any(|(s, r)| *s == sip && *r == src) {
                            f.subs.push((sip.clone(), src.clone()));
                        }
                    }
                    let update = self.presence_result(&sip, &src);
                    self.post(sid, obj.frame, update);
                }
                "UnsubscribePresence" => {
                    let sip = inner.get("sip").and_then(Value::as_str).unwrap_or(user);
                    let sip = sip.to_string();
                    if let Some(f) = self.frame_mut(sid, obj.frame) {
                        f.subs.retain(|(s, _)| *s != sip);
                    }
                }
                other => self.note(
                    Some(user),
                    obj.frame,
                    &format!("not simulated: {API_CLIENT} request {other:?} (no answer)"),
                ),
            }
            return;
        }
        if api == API_PHONE && (provider.is_empty() || provider == SOFTPHONE) {
            self.note(
                Some(user),
                obj.frame,
                &format!("not simulated: softphone request {inner_mt:?} (no answer)"),
            );
            return;
        }
        // An API another iframe of this client provides.
        let target = self
            .frames_where(sid, |f| f.registered.contains(api))
            .into_iter()
            .filter_map(obj_by_frame)
            .find(|o| provider.is_empty() || o.name == provider);
        match target {
            Some(t) => {
                let fwd = wire(
                    &json!({"mt": "ApiRequest", "api": api, "consumer": obj.name, "src": src,
                                 "msg": inner}),
                );
                self.post(sid, t.frame, fwd);
            }
            None => self.note(
                Some(user),
                obj.frame,
                &format!("no provider {provider:?} for {api}: request dropped"),
            ),
        }
    }

    fn on_api_result(
        &mut self,
        sid: u64,
        user: &str,
        obj: &'static AppObject,
        api: &str,
        msg: &Value,
    ) {
        let consumer = msg.get("consumer").and_then(Value::as_str).unwrap_or("");
        let target = APP_OBJECTS.iter().find(|o| o.name == consumer);
        match target {
            Some(t) => {
                let fwd = wire(&json!({"mt": "ApiResult", "api": api, "provider": obj.name,
                                 "src": src_of(msg), "msg": msg.get("msg").cloned().unwrap_or(Value::Null)}));
                self.post(sid, t.frame, fwd);
            }
            None if consumer == SOFTPHONE => {
                // The softphone does not need the phoneinfo provider's answers; they are only logged.
            }
            None => self.note(
                Some(user),
                obj.frame,
                &format!("no consumer {consumer:?}: result dropped"),
            ),
        }
    }

    /// `getLogin`: the PBX signs the user's identity for the app object with the instance password.
    fn on_get_login(&mut self, sid: u64, user: &str, obj: &'static AppObject, msg: &Value) {
        let src = src_of(msg);
        let name = msg.get("app").and_then(Value::as_str).unwrap_or("");
        let challenge = msg
            .get("challenge")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let target = APP_OBJECTS
            .iter()
            .find(|o| o.name == name && self.pbx.grants(o.name, o.htm));
        let Some(target) = target else {
            // [inferred] myApps' answer when the user has no such app object; the SDK treats a Login
            // without digest as a failed login.
            let text = wire(
                &json!({"mt": "Login", "src": src, "app": name, "error": "no such app object"}),
            );
            self.note(
                Some(user),
                obj.frame,
                &format!("getLogin for unknown app object {name:?}"),
            );
            self.post(sid, obj.frame, text);
            return;
        };
        let Some(base) = self.sessions.get(&sid).map(|s| s.base.clone()) else {
            return;
        };
        let lics = self
            .users
            .values()
            .filter(|u| u.license != License::None)
            .count();
        let Some(u) = self.users.get(user) else {
            return;
        };
        let info = LoginInfo {
            appobj: target.name,
            appdn: target.title,
            appurl: format!("{base}{INSTANCE_PATH}{}", target.htm),
            cn: &u.dn,
            unlicensed: (!super::pbx_api::licensed_for(u.license, target.htm)).then_some(true),
            lics,
            apps: APP_OBJECTS
                .iter()
                .map(|o| json!({"name": o.name}))
                .collect(),
        };
        let info_text = serde_json::to_string(&info).unwrap_or_default();
        let login = LoginMsg {
            mt: "Login",
            src,
            app: target.htm,
            domain: DOMAIN,
            sip: &u.sip,
            guid: &u.guid,
            dn: &u.dn,
            pbx_obj: target.name,
            digest: digest(
                target.htm,
                DOMAIN,
                &u.sip,
                &u.guid,
                &u.dn,
                Some(&info_text),
                &challenge,
                // The PBX signs with the App object's password; the instance checks with its own.
                &self
                    .pbx
                    .app_object(target.name, target.htm)
                    .map(|o| o.pwd.clone())
                    .unwrap_or_default(),
            ),
            info,
        };
        let text = serde_json::to_string(&login).unwrap_or_default();
        self.issued.push_back((challenge, info_text));
        while self.issued.len() > 64 {
            self.issued.pop_front();
        }
        self.post(sid, obj.frame, text);
    }

    fn presence_result(&self, sip: &str, src: &Value) -> String {
        let msg = match self.users.values().find(|u| u.sip == sip) {
            Some(u) => json!({
                "mt": "PresenceUpdated", "sip": u.sip, "num": u.num, "dn": u.dn, "up": true,
                // `im:` first on purpose: an app must pick `tel:` by contact, not by position.
                "presence": [
                    {"contact": "im:", "activity": "", "note": "", "status": "open"},
                    {"contact": "tel:", "activity": u.presence.activity, "note": u.presence.note,
                     "status": "open"},
                ],
            }),
            None => json!({"mt": "PresenceUpdated", "sip": sip, "up": false, "presence": []}),
        };
        wire(
            &json!({"mt": "ApiResult", "api": API_CLIENT, "provider": CLIENT_PROVIDER, "src": src, "msg": msg}),
        )
    }

    // ---------------------------------------------------------------------------------------------------
    // PBX

    /// Sets a user's `tel:` presence and tells every subscriber. `by` is for the log.
    pub(crate) fn set_presence(&mut self, user: &str, p: Presence, by: &str) -> Result<(), String> {
        if p.activity.chars().count() > MAX_ACTIVITY_LEN
            || p.note.chars().count() > MAX_NOTE_LEN
            || p.activity.chars().any(char::is_control)
        {
            return Err(
                "presence refused: activity or note too long or with control characters".into(),
            );
        }
        let Some(u) = self.users.get_mut(user) else {
            return Err(format!("no user {user:?}"));
        };
        u.presence = p.clone();
        let sip = u.sip.clone();
        self.note(
            Some(user),
            "pbx",
            &format!(
                "presence of {user} set by {by}: activity {:?} note {:?}",
                p.activity, p.note
            ),
        );
        let mut posts = Vec::new();
        for (sid, s) in &self.sessions {
            for (fname, f) in &s.frames {
                for (_, src) in f.subs.iter().filter(|(s, _)| *s == sip) {
                    posts.push((*sid, *fname, src.clone()));
                }
            }
        }
        for (sid, frame, src) in posts {
            let text = self.presence_result(&sip, &src);
            self.post(sid, frame, text);
        }
        self.notify_pbx_subscribers(&sip);
        self.push_views();
        Ok(())
    }

    pub(crate) fn set_license(&mut self, user: &str, l: License) -> Result<(), String> {
        let Some(u) = self.users.get_mut(user) else {
            return Err(format!("no user {user:?}"));
        };
        u.license = l;
        self.note(
            Some(user),
            "pbx",
            &format!("license of {user}: {}", license_name(l)),
        );
        self.push_views();
        Ok(())
    }

    /// SetScheme / SetLang to every app of the user's launchers (or of all launchers).
    pub(crate) fn set_client(
        &mut self,
        user: Option<&str>,
        scheme: Option<&str>,
        lang: Option<&str>,
    ) -> Result<(), String> {
        if let Some(u) = user {
            if !self.user_exists(u) {
                return Err(format!("no user {u:?}"));
            }
        }
        if let Some(s) = scheme {
            if s != "light" && s != "dark" {
                return Err("scheme must be light or dark".into());
            }
        }
        if let Some(l) = lang {
            let ok = (2..=8).contains(&l.len())
                && l.chars().all(|c| c.is_ascii_alphabetic() || c == '-');
            if !ok {
                return Err("lang must be a language code such as en or de".into());
            }
        }
        let sids: Vec<u64> = self
            .sessions
            .iter()
            .filter(|(_, s)| user.is_none_or(|u| s.user == u))
            .map(|(id, _)| *id)
            .collect();
        for sid in sids {
            if let Some(s) = self.sessions.get_mut(&sid) {
                if let Some(sc) = scheme {
                    s.scheme = sc.to_string();
                }
                if let Some(l) = lang {
                    s.lang = l.to_string();
                }
            }
            for o in &APP_OBJECTS {
                if let Some(sc) = scheme {
                    self.post(
                        sid,
                        o.frame,
                        wire(&json!({"mt": "SetScheme", "scheme": sc})),
                    );
                }
                if let Some(l) = lang {
                    self.post(sid, o.frame, wire(&json!({"mt": "SetLang", "lang": l})));
                }
            }
        }
        self.push_views();
        Ok(())
    }

    /// myApps is about to reload an app (e.g. attach/detach in myApps for Windows): `PrepareReload`, then the
    /// iframe is loaded again when the app answers `PrepareReloadComplete` (lib1.htm).
    pub(crate) fn prepare_reload(&mut self, user: &str, frame: &str) -> Result<(), String> {
        let Some(obj) = obj_by_frame(frame) else {
            return Err(format!("no app frame {frame:?}: hidden or config"));
        };
        let sids = self.user_sessions(user)?;
        for sid in sids {
            if let Some(f) = self.frame_mut(sid, obj.frame) {
                f.reload_requested = true;
            }
            self.post(sid, obj.frame, wire(&json!({"mt": "PrepareReload"})));
        }
        self.push_views();
        Ok(())
    }

    fn user_sessions(&self, user: &str) -> Result<Vec<u64>, String> {
        if !self.user_exists(user) {
            return Err(format!("no user {user:?}"));
        }
        Ok(self
            .sessions
            .iter()
            .filter(|(_, s)| s.user == user)
            .map(|(id, _)| *id)
            .collect())
    }

    /// The user closes (`open: false`) or opens the softphone app. Closing: myApps tells the phoneinfo
    /// provider `ApiConsumerClosed` and the phone API's consumers an `ApiUpdate` without the softphone; its
    /// calls are gone with it.
    pub(crate) fn softphone(&mut self, user: &str, open: bool) -> Result<(), String> {
        let sids = self.user_sessions(user)?;
        if !open {
            if let Some(u) = self.users.get_mut(user) {
                u.calls.clear();
            }
        }
        for sid in sids {
            let was_closed = match self.sessions.get_mut(&sid) {
                Some(s) => std::mem::replace(&mut s.softphone_closed, !open),
                None => continue,
            };
            if was_closed != open {
                continue;
            }
            if !open {
                for frame in self.frames_where(sid, |f| f.registered.contains(API_PHONEINFO)) {
                    let text = wire(&json!({"mt": "ApiConsumerClosed", "api": API_PHONEINFO,
                                            "consumer": SOFTPHONE}));
                    self.post(sid, frame, text);
                }
            }
            for frame in self.frames_where(sid, |f| f.consumed.contains(API_PHONE)) {
                let update = self.api_update(sid, frame);
                self.post(sid, frame, update);
            }
        }
        self.note(
            Some(user),
            "phone",
            if open {
                "softphone app opened"
            } else {
                "softphone app closed"
            },
        );
        self.push_views();
        Ok(())
    }

    /// The user works the simulated softphone. Returns the call.
    ///
    /// Like a real phone, answering or resuming a call puts the user's connected call on hold, and a
    /// hang-up goes through `Disconnected` before the call is removed.
    pub(crate) fn phone(
        &mut self,
        user: &str,
        action: &str,
        id: Option<u32>,
        num: Option<&str>,
        dn: Option<&str>,
    ) -> Result<Value, String> {
        if self
            .sessions
            .values()
            .any(|s| s.user == user && s.softphone_closed)
        {
            return Err("the softphone app is closed (open it with /_sim/softphone)".into());
        }
        let Some(u) = self.users.get_mut(user) else {
            return Err(format!("no user {user:?}"));
        };
        let mut events: Vec<Value> = Vec::new();
        // The call an action applies to: the given id, else the newest call the action fits.
        let pick = |u: &User, ok: &dyn Fn(CallState) -> bool| -> Result<usize, String> {
            match id {
                Some(id) => {
                    let i = u
                        .calls
                        .iter()
                        .position(|c| c.id == id)
                        .ok_or_else(|| format!("no call {id}"))?;
                    if ok(u.calls[i].state) {
                        Ok(i)
                    } else {
                        Err(format!(
                            "call {id} is {}: cannot {action}",
                            u.calls[i].state
                        ))
                    }
                }
                None => u
                    .calls
                    .iter()
                    .rposition(|c| ok(c.state))
                    .ok_or_else(|| format!("no call to {action}")),
            }
        };
        let hold_others = |u: &mut User, keep: usize, events: &mut Vec<Value>| {
            for (i, c) in u.calls.iter_mut().enumerate() {
                if i != keep && c.state == CallState::Connected {
                    c.state = CallState::Holding;
                    events.push(c.updated());
                }
            }
        };
        let result = match action {
            "incoming" | "outgoing" => {
                let incoming = action == "incoming";
                let num = num
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .unwrap_or(if incoming { "+4970317300" } else { "200" })
                    .to_string();
                if num.len() > 64 || num.chars().any(char::is_control) {
                    return Err("num: at most 64 characters, no control characters".into());
                }
                let dn = dn.map(str::trim).unwrap_or("").chars().take(64).collect::<String>();
                let id = u.next_call;
                u.next_call += 1;
                let guid = hex::encode(
                    &Sha256::digest(format!("call:{}:{id}:{}", u.sip, self.entropy_counter).as_bytes())
                        [..16],
                );
                let call = Call {
                    id,
                    guid: guid.clone(),
                    dir: if incoming { "i" } else { "o" },
                    sip: String::new(),
                    num,
                    dn,
                    state: if incoming {
                        CallState::Alerting
                    } else {
                        CallState::Dialing
                    },
                };
                events.push(json!({"mt": "CallAdded", "id": id, "guid": guid}));
                events.push(call.updated());
                u.calls.push(call.clone());
                call
            }
            "ringback" => {
                let i = pick(u, &|s| s == CallState::Dialing)?;
                u.calls[i].state = CallState::Ringback;
                events.push(u.calls[i].updated());
                u.calls[i].clone()
            }
            "answer" => {
                let i = pick(u, &|s| {
                    matches!(
                        s,
                        CallState::Alerting | CallState::Dialing | CallState::Ringback
                    )
                })?;
                hold_others(u, i, &mut events);
                u.calls[i].state = CallState::Connected;
                events.push(u.calls[i].updated());
                u.calls[i].clone()
            }
            "hold" => {
                let i = pick(u, &|s| s == CallState::Connected)?;
                u.calls[i].state = CallState::Holding;
                events.push(u.calls[i].updated());
                u.calls[i].clone()
            }
            "resume" => {
                let i = pick(u, &|s| s == CallState::Holding)?;
                hold_others(u, i, &mut events);
                u.calls[i].state = CallState::Connected;
                events.push(u.calls[i].updated());
                u.calls[i].clone()
            }
            "hangup" => {
                let i = pick(u, &|_| true)?;
                let mut call = u.calls.remove(i);
                call.state = CallState::Disconnected;
                events.push(call.updated());
                events.push(json!({"mt": "CallRemoved", "id": call.id, "guid": call.guid}));
                call
            }
            // The caller gives up (or the PBX's no-answer timeout ends the call) while it rings. **[inferred]**
            // The phone removes the call without a `Disconnected` of its own: that state is what the phone
            // reports for its own hang-up (the "reject" above); `phoneinfo` carries no cause.
            "giveup" => {
                let i = pick(u, &|s| s == CallState::Alerting)?;
                let call = u.calls.remove(i);
                events.push(json!({"mt": "CallRemoved", "id": call.id, "guid": call.guid}));
                call
            }
            other => {
                return Err(format!(
                    "unknown action {other:?}: incoming, outgoing, ringback, answer, hold, resume, hangup, giveup"
                ))
            }
        };
        self.entropy_counter += 1;
        self.note(
            Some(user),
            "phone",
            &format!(
                "{user}: {action} → call {} {} {}",
                result.id, result.num, result.state
            ),
        );
        self.deliver_call_events(user, events);
        self.push_views();
        Ok(result.model())
    }

    /// Phoneinfo `ApiRequest`s to every iframe of the user that provides phoneinfo, then `ApiUpdate` to
    /// the consumers of the phone API.
    fn deliver_call_events(&mut self, user: &str, events: Vec<Value>) {
        let sids: Vec<u64> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.user == user)
            .map(|(id, _)| *id)
            .collect();
        for sid in sids {
            let providers = self.frames_where(sid, |f| f.registered.contains(API_PHONEINFO));
            for frame in providers {
                for e in &events {
                    let src = self.next_src;
                    self.next_src += 1;
                    let text = wire(&json!({"mt": "ApiRequest", "api": API_PHONEINFO,
                                            "consumer": SOFTPHONE, "src": src.to_string(), "msg": e}));
                    self.post(sid, frame, text);
                }
            }
            for frame in self.frames_where(sid, |f| f.consumed.contains(API_PHONE)) {
                let update = self.api_update(sid, frame);
                self.post(sid, frame, update);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------
    // App websocket (the AppPlatform side)

    pub(crate) fn add_conn(&mut self, tx: UnboundedSender<String>) -> u64 {
        let id = self.next_id();
        let since_ms = self.now_ms();
        self.conns.insert(
            id,
            AppConn {
                tx,
                challenge: None,
                login: None,
                keep_alives: 0,
                since_ms,
            },
        );
        self.note(None, &format!("app#{id}"), "app websocket opened");
        id
    }

    pub(crate) fn remove_conn(&mut self, cid: u64) {
        self.pbx.manager_conns.remove(&cid);
        if let Some(c) = self.conns.remove(&cid) {
            if c.login.is_some() {
                self.send_runtime(json!({"t": "close", "id": cid}));
            }
            let user = c.login.map(|l| l.user);
            self.note(
                user.as_deref(),
                &format!("app#{cid}"),
                "app websocket closed",
            );
        }
        self.push_views();
    }

    fn conn_user(&self, cid: u64) -> Option<String> {
        self.conns
            .get(&cid)
            .and_then(|c| c.login.as_ref())
            .map(|l| l.user.clone())
    }

    /// Sends a text on an app websocket and logs it.
    pub(crate) fn send_app(&mut self, cid: u64, text: String) {
        let user = self.conn_user(cid);
        self.log(user.as_deref(), "app", &format!("app#{cid}"), "out", &text);
        if let Some(c) = self.conns.get(&cid) {
            let _ = c.tx.send(text);
        }
    }

    pub(crate) fn app_note(&mut self, cid: u64, text: &str) {
        let user = self.conn_user(cid);
        self.note(user.as_deref(), &format!("app#{cid}"), text);
    }

    /// A text frame from an app websocket.
    pub(crate) fn on_app(&mut self, cid: u64, text: &str) {
        let user = self.conn_user(cid);
        self.log(user.as_deref(), "app", &format!("app#{cid}"), "in", text);
        let v: Value = match serde_json::from_str(text) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                self.app_note(cid, "ignored: not a JSON object");
                return;
            }
        };
        if let Some(api) = v.get("api") {
            match (&user, api.as_str()) {
                (None, _) => self.app_note(cid, "ignored: api message before AppLogin"),
                (Some(_), Some(a)) if self.json_apis.iter().any(|j| j == a) => {
                    // The runtime routes the message by its api to the service's JsonApi.
                    self.send_runtime(json!({"t": "msg", "id": cid, "text": text}));
                }
                (Some(_), _) => {
                    self.app_note(cid, &format!("ignored: this app service has no api {api}"))
                }
            }
            self.push_views();
            return;
        }
        match v.get("mt").and_then(Value::as_str).unwrap_or("") {
            "AppChallenge" => {
                let challenge = self.random_hex(8);
                if let Some(c) = self.conns.get_mut(&cid) {
                    c.challenge = Some(challenge.clone());
                }
                let mut reply = json!({"mt": "AppChallengeResult", "challenge": challenge});
                if let Some(src) = v.get("src") {
                    reply["src"] = src.clone();
                }
                self.send_app(cid, wire(&reply));
            }
            "AppLogin" if v.get("app").and_then(Value::as_str) == Some(manager::MANAGER_APP) => {
                self.manager_login(cid, &v)
            }
            "AppCheckLogin" => self.app_check_login(cid, &v),
            "AppLogin" => {
                let ok = self.app_login(cid, text);
                let mut reply = json!({"mt": "AppLoginResult", "ok": ok});
                if let Some(src) = v.get("src") {
                    reply["src"] = src.clone();
                }
                self.send_app(cid, wire(&reply));
            }
            "KeepAlive" => {
                if let Some(c) = self.conns.get_mut(&cid) {
                    c.keep_alives += 1;
                }
            }
            other => self.app_note(cid, &format!("ignored: unknown mt {other:?}")),
        }
        self.push_views();
    }

    /// Checks an `AppLogin`. The identity of the connection comes from here and nowhere else.
    fn app_login(&mut self, cid: u64, text: &str) -> bool {
        // The challenge is single-use: a second AppLogin on the connection (or a replayed one) fails.
        let Some(challenge) = self.conns.get_mut(&cid).and_then(|c| c.challenge.take()) else {
            self.app_note(cid, "AppLogin refused: no AppChallenge on this connection");
            return false;
        };
        let m: AppLoginMsg = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(_) => {
                self.app_note(cid, "AppLogin refused: fields of the wrong type");
                return false;
            }
        };
        let Some(obj) = APP_OBJECTS.iter().find(|o| o.htm == m.app) else {
            self.app_note(
                cid,
                &format!("AppLogin refused: this instance has no app {:?}", m.app),
            );
            return false;
        };
        let info = m.info.as_ref().map(Ordered::to_compact);
        let expected = digest(
            &m.app,
            &m.domain,
            &m.sip,
            &m.guid,
            &m.dn,
            info.as_deref(),
            &challenge,
            &self.password,
        );
        if expected != m.digest.to_ascii_lowercase() {
            let issued = self
                .issued
                .iter()
                .find(|(c, _)| *c == challenge)
                .map(|(_, i)| i.clone());
            let hint = match issued {
                Some(i) if Some(&i) != info.as_ref() => {
                    " (info differs from the Login's: send it back unchanged, same key order)"
                }
                Some(_) => " (identity fields or digest differ from the Login's)",
                None => " (no Login was issued for this connection's challenge)",
            };
            self.app_note(cid, &format!("AppLogin refused: wrong digest{hint}"));
            return false;
        }
        if m.pbx_obj != obj.name {
            self.app_note(
                cid,
                &format!(
                    "AppLogin refused: pbxObj {:?} is not the object of {}",
                    m.pbx_obj, m.app
                ),
            );
            return false;
        }
        let found = self
            .users
            .values()
            .find(|u| m.domain == DOMAIN && u.sip == m.sip && u.guid == m.guid)
            .map(|u| u.name.clone());
        let Some(user) = found else {
            self.app_note(cid, "AppLogin refused: no such user on the PBX");
            return false;
        };
        // As the real runtime: an unlicensed user's login is accepted and flagged; the flag comes from the
        // login's info, which the digest protects (licensing.htm, JsonApi.htm `unlicensed`).
        let unlicensed = m
            .info
            .as_ref()
            .and_then(|i| i.get("unlicensed"))
            .is_some_and(|v| *v == Ordered::Bool(true));
        if let Some(c) = self.conns.get_mut(&cid) {
            c.login = Some(AppIdentity {
                user: user.clone(),
                app: m.app.clone(),
                pbx_obj: m.pbx_obj.clone(),
                unlicensed,
            });
        }
        self.note(
            Some(&user),
            &format!("app#{cid}"),
            &format!(
                "{} logged in as {user}{}",
                m.app,
                if unlicensed { " (unlicensed)" } else { "" }
            ),
        );
        // The service's JsonApi connections for this app websocket ([inferred]: one per registered JsonApi,
        // at login).
        let conn = json!({"domain": m.domain, "sip": m.sip, "dn": m.dn, "guid": m.guid, "app": m.app,
                          "info": info.unwrap_or_else(|| "{}".into()), "unlicensed": unlicensed});
        for api in self.json_apis.clone() {
            self.send_runtime(json!({"t": "json", "id": cid, "api": api, "conn": conn}));
        }
        true
    }
}

fn frame_json(f: &Frame) -> Value {
    json!({
        "alive": f.alive,
        "consumed": f.consumed,
        "registered": f.registered,
        "presenceSubscriptions": f.subs.iter().map(|(s, _)| s).collect::<Vec<_>>(),
    })
}

fn conn_json(id: u64, c: &AppConn) -> Value {
    json!({
        "id": id,
        "user": c.login.as_ref().map(|l| &l.user),
        "app": c.login.as_ref().map(|l| &l.app),
        "pbxObj": c.login.as_ref().map(|l| &l.pbx_obj),
        "loggedIn": c.login.is_some(),
        "unlicensed": c.login.as_ref().map(|l| l.unlicensed),
        "keepAlives": c.keep_alives,
        "sinceMs": c.since_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_masked_in_logged_text() {
        let t = r#"{"mt":"SetConfig","config":{"hubUrl":"http://h/?http_token=abc","token" : "s3\"cr"}}"#;
        let m = mask_tokens(t);
        assert!(!m.contains("abc"), "{m}");
        assert!(!m.contains("s3"), "{m}");
        assert!(m.contains(r#""token" : "***""#), "{m}");
        assert_eq!(mask_tokens(r#"{"token":""}"#), r#"{"token":""}"#);
        assert_eq!(mask_tokens(r#"{"token":"#), r#"{"token":"#);
        assert!(!mask_tokens(r#"{"token":"unterminated"#).contains("unterminated"));
    }

    #[test]
    fn wire_text_puts_mt_first_at_every_level() {
        let v = json!({"src": "1", "mt": "ApiResult", "msg": {"z": [{"b": 1, "mt": "x"}], "mt": "PresenceUpdated"}});
        let t = wire(&v);
        assert_eq!(
            t,
            r#"{"mt":"ApiResult","msg":{"mt":"PresenceUpdated","z":[{"mt":"x","b":1}]},"src":"1"}"#
        );
        assert_eq!(serde_json::from_str::<Value>(&t).unwrap(), v);
    }

    #[test]
    fn digest_is_sha256_of_the_documented_string() {
        let w = World::new(&Options::default()).unwrap();
        assert_eq!(w.password().len(), 32);
        assert_eq!(
            digest("a", "d", "s", "g", "n", Some("{}"), "c", "p"),
            hex::encode(Sha256::digest(b"a:d:s:g:n:{}:c:p"))
        );
        assert_eq!(
            digest("a", "d", "s", "g", "n", None, "c", "p"),
            hex::encode(Sha256::digest(b"a:d:s:g:n:c:p")),
            "no info: no :info in the formula"
        );
    }
}
