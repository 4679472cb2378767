//! The launcher pages: myApps' client side of the `postMessage` protocol for the app iframes of one user's
//! client (`Alive`, `ConsumeApi`/`RegisterApi`/`ApiUpdate`, the client API's presence, `PrepareReload`).
//! Relaying APIs between the frames is in [`super::apis`]; `getLogin` is answered in [`super::login`].

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};
use tokio::sync::mpsc::UnboundedSender;

use super::super::{
    AppObject, API_CLIENT, API_PHONE, APP_OBJECTS, CLIENT_PROVIDER, INSTANCE_PATH, SOFTPHONE,
};
use super::{obj_by_frame, src_of, str_field, wire, Call, LogEntry, User, World};

/// How many log lines a launcher page gets when it connects.
const LOG_BACKLOG: usize = 300;

/// One app iframe of a launcher page, from myApps' point of view.
#[derive(Default)]
pub(super) struct Frame {
    pub(super) alive: bool,
    pub(super) consumed: BTreeSet<String>,
    pub(super) registered: BTreeSet<String>,
    /// `SubscribePresence` requests: (sip, src of the request).
    pub(super) subs: Vec<(String, Value)>,
    /// The newest `ApiModel` per API this frame provides (see `apis`).
    pub(super) models: BTreeMap<String, Value>,
    /// `PrepareReload` was posted; the app is reloaded once it answers `PrepareReloadComplete`.
    pub(super) reload_requested: bool,
}

/// A launcher page (one myApps client of one user).
pub(super) struct Session {
    pub user: String,
    /// `http://host:port` as the page reached us: the apps' `url` start parameter is built from it.
    pub(super) base: String,
    pub(super) lang: String,
    pub(super) scheme: String,
    pub(super) tx: UnboundedSender<String>,
    pub(super) frames: BTreeMap<&'static str, Frame>,
    pub(super) last_view: String,
    /// The softphone app of this client was closed (it provides neither `com.innovaphone.phone` nor
    /// phoneinfo events until it is opened again).
    pub(super) softphone_closed: bool,
}

impl World {
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
                let text = str_field(&v, "text");
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
    pub(super) fn post(&mut self, sid: u64, frame: &'static str, text: String) {
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
        let mt = str_field(&msg, "mt");
        let api = str_field(&msg, "api").to_string();
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
                self.update_consumers(sid, &api);
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

    pub(super) fn frame_mut(&mut self, sid: u64, frame: &str) -> Option<&mut Frame> {
        self.sessions
            .get_mut(&sid)
            .and_then(|s| s.frames.get_mut(frame))
    }

    pub(super) fn frames_where(
        &self,
        sid: u64,
        pred: impl Fn(&Frame) -> bool,
    ) -> Vec<&'static str> {
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

    /// Every frame of the page that consumes `api` gets its `ApiUpdate` again.
    pub(super) fn update_consumers(&mut self, sid: u64, api: &str) {
        for frame in self.frames_where(sid, |f| f.consumed.contains(api)) {
            let update = self.api_update(sid, frame);
            self.post(sid, frame, update);
        }
    }

    /// The launcher pages of `user` (all pages for `None`).
    pub(super) fn sessions_of(&self, user: Option<&str>) -> Vec<u64> {
        self.sessions
            .iter()
            .filter(|(_, s)| user.is_none_or(|u| s.user == u))
            .map(|(id, _)| *id)
            .collect()
    }

    /// `ApiUpdate` for one iframe: the providers of every API it consumes (an API nobody provides appears
    /// with no providers, as in myApps).
    pub(super) fn api_update(&self, sid: u64, frame: &str) -> String {
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
        let provider = str_field(msg, "provider");
        let src = src_of(msg);
        let inner = msg.get("msg").cloned().unwrap_or(Value::Null);
        let inner_mt = str_field(&inner, "mt");
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
        let consumer = str_field(msg, "consumer");
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

    pub(super) fn presence_result(&self, sip: &str, src: &Value) -> String {
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
}
