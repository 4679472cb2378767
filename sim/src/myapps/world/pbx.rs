//! The PBX's users as the people at the phones see them: presence (`tel:`), licenses, client settings
//! (scheme, language, reload) and the softphone's calls, each delivered to the launcher pages of the user.
//! The PBX's object store (App objects, config templates) is [`super::super::pbx`]; its side of the
//! service's PbxApi connections is [`super::super::pbx_api`].

use kuando_connector::proto::License;
use kuando_connector::state::{CallState, Presence};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::super::{API_PHONE, API_PHONEINFO, APP_OBJECTS, DOMAIN, SOFTPHONE};
use super::{obj_by_frame, wire, World};

/// Longest activity / note the simulated PBX accepts (it refuses longer ones instead of cutting them).
const MAX_ACTIVITY_LEN: usize = 64;
const MAX_NOTE_LEN: usize = 256;

/// A PBX user.
pub(super) struct User {
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
    pub(super) next_call: u32,
}

impl User {
    pub(super) fn model(&self) -> Value {
        json!({"domain": DOMAIN, "sip": self.sip, "guid": self.guid, "dn": self.dn, "num": self.num,
               "email": self.email})
    }
}

/// A call on the user's simulated softphone.
#[derive(Clone)]
pub(super) struct Call {
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
    pub(super) fn model(&self) -> Value {
        json!({"id": self.id, "guid": self.guid, "dir": self.dir, "num": self.num, "sip": self.sip,
               "dn": self.dn, "state": self.state.as_str()})
    }

    /// The phoneinfo `CallUpdated` message.
    pub(super) fn updated(&self) -> Value {
        json!({"mt": "CallUpdated", "id": self.id, "guid": self.guid, "dir": self.dir, "num": self.num,
               "sip": self.sip, "dn": self.dn, "lastDiverting": "", "originalCalled": "",
               "state": self.state.as_str()})
    }
}

pub(super) fn license_name(l: License) -> &'static str {
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
        "connector" | LIC_CONNECTOR => Some(License::Connector),
        "withBusylight" | "with-busylight" | "busylight" | LIC_WITH_BUSYLIGHT => {
            Some(License::WithBusylight)
        }
        _ => None,
    }
}

/// The two license names of the concept.
pub(super) const LIC_CONNECTOR: &str = "App(innovaphone-kuando)";
pub(super) const LIC_WITH_BUSYLIGHT: &str = "App(innovaphone-kuando-with-busylight)";

/// The license names a user holds.
fn held(l: License) -> &'static [&'static str] {
    match l {
        License::None => &[],
        License::Connector => &[LIC_CONNECTOR],
        License::WithBusylight => &[LIC_WITH_BUSYLIGHT],
    }
}

/// Whether the PBX finds an app license for the app `htm`: licenses head-match the app name, so
/// `App(innovaphone-kuando)` licenses `innovaphone-kuando` and `innovaphone-kuando-config`, while
/// `App(innovaphone-kuando-with-busylight)` licenses neither (licensing.htm: "App(example-app) also licenses
/// example-app-light").
pub(super) fn licensed_for(l: License, htm: &str) -> bool {
    held(l).iter().any(|lic| {
        lic.strip_prefix("App(")
            .and_then(|r| r.strip_suffix(')'))
            .is_some_and(|name| htm.starts_with(name))
    })
}

/// `CheckAppLic{lic}`: does the user hold that license. [inferred] By name, not by head-match: the service
/// asks for each of the concept's licenses by its full name, and a user with `App(innovaphone-kuando)` must
/// not read as holding the with-Busylight one (the concept: the basic license works with or without a lamp).
pub(super) fn holds(l: License, lic: &str) -> bool {
    held(l).iter().any(|h| h.eq_ignore_ascii_case(lic.trim()))
}

impl World {
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
        for sid in self.sessions_of(user) {
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
        Ok(self.sessions_of(Some(user)))
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
            self.update_consumers(sid, API_PHONE);
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
        for sid in self.sessions_of(Some(user)) {
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
            self.update_consumers(sid, API_PHONE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn licenses_head_match_the_app_name() {
        assert!(licensed_for(License::Connector, "innovaphone-kuando"));
        assert!(licensed_for(
            License::Connector,
            "innovaphone-kuando-config"
        ));
        assert!(!licensed_for(License::WithBusylight, "innovaphone-kuando"));
        assert!(!licensed_for(
            License::WithBusylight,
            "innovaphone-kuando-config"
        ));
        assert!(!licensed_for(License::None, "innovaphone-kuando"));
    }
}
