//! The user's softphone app: its calls, as the `com.innovaphone.phone` model shows them and as phoneinfo
//! events (`CallAdded`, `CallUpdated`, `CallRemoved`) tell the apps that provide phoneinfo; and the
//! softphone app closing and opening again.

use kuando_connector::state::CallState;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::super::{API_PHONE, API_PHONEINFO, SOFTPHONE};
use super::{wire, User, World};

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

impl World {
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
            "ringback" | "answer" | "hold" | "resume" => {
                // (the states the action fits, the state it puts the call in)
                let (fits, to): (fn(CallState) -> bool, CallState) = match action {
                    "ringback" => (|s| s == CallState::Dialing, CallState::Ringback),
                    "answer" => (
                        |s| {
                            matches!(
                                s,
                                CallState::Alerting | CallState::Dialing | CallState::Ringback
                            )
                        },
                        CallState::Connected,
                    ),
                    "hold" => (|s| s == CallState::Connected, CallState::Holding),
                    _ => (|s| s == CallState::Holding, CallState::Connected),
                };
                let i = pick(u, &fits)?;
                if to == CallState::Connected {
                    // The user's other connected call goes on hold.
                    for (j, c) in u.calls.iter_mut().enumerate() {
                        if j != i && c.state == CallState::Connected {
                            c.state = CallState::Holding;
                            events.push(c.updated());
                        }
                    }
                }
                u.calls[i].state = to;
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
