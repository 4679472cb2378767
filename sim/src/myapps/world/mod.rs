//! The simulated world behind the launcher page: the PBX (users, presence, licenses, the phone), the myApps
//! client side of the `postMessage` protocol, the AppPlatform's app websocket (challenge, login, routing to
//! the shipped service, which runs in the runtime host of [`super::runtime`]) and the PBX's side of the app
//! object's connections to that service.
//!
//! Everything here is synchronous and runs under one lock: a handler mutates the state and queues the texts
//! to send on unbounded channels, so every observer sees the events in one order.
//!
//! Where to find what:
//! - this file: the [`World`] itself, its construction, the wire log and the helpers every part uses (the
//!   wire text, token masking, a message's fields);
//! - [`launcher`]: the launcher pages, i.e. the myApps client side of the `postMessage` protocol (sessions,
//!   iframes, client APIs), with [`apis`] for relaying APIs between the frames;
//! - [`pbx`]: the PBX's users as people see them: presence, licenses, client settings;
//! - [`phone`]: the user's softphone and its calls (phoneinfo events);
//! - [`app_ws`]: the AppPlatform's app websocket (challenge, routing to the service), with [`manager`] for
//!   the PBX Manager's logins;
//! - [`login`]: an app's login, both halves: myApps' signed `Login`, the AppPlatform's check of `AppLogin`;
//! - [`service`]: the AppPlatform's lines to and from the service in the runtime host;
//! - [`pbx_api`]: the PBX's side of the app object's PbxApi / PbxAdminApi connections to the service;
//! - [`view`]: what the launcher pages and `GET /_sim/state` show.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, VecDeque};
use std::hash::BuildHasher;
use std::time::Instant;

use kuando_connector::proto::License;
use kuando_connector::state::Presence;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc::UnboundedSender;

mod apis;
mod app_ws;
mod launcher;
mod login;
mod manager;
mod pbx;
mod pbx_api;
mod phone;
mod service;
mod view;

pub(crate) use pbx::parse_license;

use app_ws::{AppConn, AppIdentity};
use launcher::{Frame, Session};
use login::digest;
use pbx::User;
use phone::Call;

use super::ordered::Ordered;
use super::pbx::Pbx;
use super::{AppObject, Options, APP_OBJECTS, DOMAIN};

/// How many wire messages the log keeps (older ones are dropped).
const LOG_KEEP: usize = 2000;

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
    users: BTreeMap<String, User>,
    sessions: BTreeMap<u64, Session>,
    conns: BTreeMap<u64, AppConn>,
    log: VecDeque<LogEntry>,
    next_seq: u64,
    next_id: u64,
    next_src: u64,
    entropy: RandomState,
    entropy_counter: u64,
    /// `info` texts of issued logins by challenge, only to explain a failed `AppLogin` in the log.
    issued: VecDeque<(String, String)>,
    /// The PBX's App objects and config templates ([`super::pbx`]); the PBX Manager's side is in [`manager`].
    pub(crate) pbx: Pbx,
    /// The runtime host's stdin while it runs, and the APIs the service registered.
    runtime: Option<UnboundedSender<String>>,
    json_apis: Vec<String>,
    pbx_apis: Vec<String>,
    /// The PBX app object's connections to the service (PbxApi, PbxAdminApi).
    pbx_conns: BTreeMap<u64, pbx_api::PbxConn>,
    /// The hidden app's object has the Admin option (PbxAdminApi).
    admin_option: bool,
    /// `POST /_sim/pbx/fault`: the PBX refuses this request type from the service this many more times
    /// (-1: until cleared).
    pub(crate) pbx_fault: Option<(String, i64)>,
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

/// A string field of a message; "" when it is missing or not a string (myApps, the AppPlatform and the PBX
/// read tolerantly: a missing field is refused by what needs it, not by the reader).
fn str_field<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// The `src` of a request (`null` when it has none), which its answers carry back.
fn src_of(v: &Value) -> Value {
    v.get("src").cloned().unwrap_or(Value::Null)
}

/// `reply` with `src` (see [`src_of`]), unless it is `null`.
fn with_src(mut reply: Value, src: &Value) -> Value {
    if !src.is_null() {
        reply["src"] = src.clone();
    }
    reply
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

    /// The instance password; only [`super::Running::app_password`] hands it out, for tests that check
    /// the digest formula.
    pub(crate) fn password(&self) -> &str {
        &self.password
    }

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
}
