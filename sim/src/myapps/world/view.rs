//! What the simulator shows: each launcher page's view (the user, presence, calls, frames, app
//! connections) and the whole state for `GET /_sim/state`.

use serde_json::{json, Map, Value};

use super::super::{DOMAIN, INSTANCE_PATH};
use super::pbx::license_name;
use super::{AppConn, Call, Frame, World};

impl World {
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
