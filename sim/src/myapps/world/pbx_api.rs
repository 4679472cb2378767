//! The PBX's side of the app object's connections to the service: PbxApi `SetPresence`,
//! `SubscribePresence` / `UnsubscribePresence` with `PresenceUpdate`, and PbxAdminApi `CheckAppLic`
//! (docs/platform-facts.md §4.4, §4.5, §6.4).

use kuando_connector::state::Presence;
use serde_json::{json, Value};

use super::super::{APP_OBJECTS, DOMAIN};
use super::pbx::holds;
use super::{src_of, str_field, with_src, World};

/// A connection of the PBX app object to the service.
pub(super) struct PbxConn {
    pub api: String,
    /// `SubscribePresence`s on this connection: (sip, src of the request).
    subs: Vec<(String, Value)>,
}

impl World {
    /// The PBX's app object connects to the service with the APIs its options grant: PbxApi always (the
    /// object has the PbxApi option), PbxAdminApi only with the Admin option.
    pub(super) fn connect_app_object(&mut self) {
        let Some(obj) = APP_OBJECTS.iter().find(|o| o.hidden) else {
            return;
        };
        let mut apis = vec!["PbxApi"];
        if self.admin_option {
            apis.push("PbxAdminApi");
        }
        for api in apis {
            if !self.pbx_apis.iter().any(|a| a == api) {
                continue;
            }
            let id = self.next_id();
            self.pbx_conns.insert(
                id,
                PbxConn {
                    api: api.to_string(),
                    subs: Vec::new(),
                },
            );
            let info = json!({"appobj": obj.name, "lics": []}).to_string();
            self.send_runtime(json!({"t": "pbx", "id": id, "api": api, "conn": {
                "domain": DOMAIN, "pbx": "pbx0", "pbxDns": format!("pbx0.{DOMAIN}"),
                "version": "14r2", "build": "1420000", "info": info}}));
            self.note(
                None,
                "pbx",
                &format!("app object {} connected its {api}", obj.name),
            );
        }
    }

    fn pbx_send(&mut self, pid: u64, v: Value) {
        self.log(None, "pbx", "kuando.js", "out", &v.to_string());
        self.send_runtime(json!({"t": "msg", "id": pid, "text": v.to_string()}));
    }

    /// Whether the simulated PBX fault refuses a request of type `mt` (counting it down).
    fn take_pbx_fault(&mut self, mt: &str) -> bool {
        let Some((fault, times)) = &mut self.pbx_fault else {
            return false;
        };
        if !fault.eq_ignore_ascii_case(mt) || *times == 0 {
            return false;
        }
        if *times > 0 {
            *times -= 1;
            if *times == 0 {
                self.pbx_fault = None;
            }
        }
        true
    }

    /// A message the service sent on PBX connection `pid`.
    pub(super) fn on_pbx(&mut self, pid: u64, text: &str) {
        let Some(api) = self.pbx_conns.get(&pid).map(|c| c.api.clone()) else {
            return;
        };
        self.log(None, "pbx", "kuando.js", "in", text);
        let v: Value = match serde_json::from_str(text) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                self.note(None, "pbx", "ignored: not a JSON object");
                return;
            }
        };
        let mt = str_field(&v, "mt").to_string();
        let mut reply = with_src(
            json!({"api": api, "mt": format!("{mt}Result")}),
            &src_of(&v),
        );
        if self.take_pbx_fault(&mt) {
            // `POST /_sim/pbx/fault`: refused as the PBX refuses a request for a deleted user.
            reply["error"] = json!(1);
            reply["errorText"] = json!("refused (simulated PBX fault)");
            self.note(None, "pbx", &format!("{mt} refused by the simulated fault"));
            self.pbx_send(pid, reply);
            return;
        }
        match (api.as_str(), mt.as_str()) {
            ("PbxApi", "SetPresence") => {
                let user = self.user_by(&v, &["sip", "guid"]);
                let contact = v.get("contact").and_then(Value::as_str).unwrap_or("tel:");
                let p = Presence::new(str_field(&v, "activity"), str_field(&v, "note"));
                let result = match (user, contact) {
                    (None, _) => Err("user not found".to_string()),
                    // [inferred] The simulated PBX keeps the user-set `tel:` presence only.
                    (Some(_), c) if c != "tel:" => Err(format!("contact {c:?} not simulated")),
                    (Some(u), _) => self.set_presence(&u, p, "the app service"),
                };
                if let Err(e) = result {
                    reply["error"] = json!(1);
                    reply["errorText"] = json!(e);
                }
                self.pbx_send(pid, reply);
            }
            ("PbxApi", "SubscribePresence") => {
                let user = self.user_by(&v, &["sip", "num"]);
                let sip = user
                    .as_ref()
                    .and_then(|u| self.users.get(u))
                    .map(|u| u.sip.clone())
                    .unwrap_or_else(|| str_field(&v, "sip").to_string());
                let src = src_of(&v);
                if let Some(c) = self.pbx_conns.get_mut(&pid) {
                    c.subs.retain(|(s, _)| *s != sip);
                    c.subs.push((sip.clone(), src.clone()));
                }
                self.pbx_send(pid, reply);
                // PresenceUpdate after up, then on every change.
                let update = self.pbx_presence_update(&sip, &src);
                self.pbx_send(pid, update);
            }
            ("PbxApi", "UnsubscribePresence") => {
                let sip = self
                    .user_by(&v, &["sip", "num"])
                    .and_then(|u| self.users.get(&u).map(|u| u.sip.clone()))
                    .unwrap_or_default();
                if let Some(c) = self.pbx_conns.get_mut(&pid) {
                    c.subs.retain(|(s, _)| *s != sip);
                }
                self.pbx_send(pid, reply);
            }
            ("PbxAdminApi", "CheckAppLic") => {
                let lic = str_field(&v, "lic");
                let ok = self
                    .user_by(&v, &["h323", "guid", "cn"])
                    .and_then(|u| self.users.get(&u))
                    .is_some_and(|u| holds(u.license, lic));
                reply["ok"] = json!(ok);
                self.pbx_send(pid, reply);
            }
            _ => {
                self.note(
                    None,
                    "pbx",
                    &format!("not simulated: {api} {mt:?} (no answer)"),
                );
            }
        }
    }

    /// The user a PBX request names by the first of `keys` it has (`sip`/`h323` by name, `guid`, `num`, `cn`).
    fn user_by(&self, v: &Value, keys: &[&str]) -> Option<String> {
        for k in keys {
            let x = str_field(v, k);
            if !x.is_empty() {
                return self
                    .users
                    .values()
                    .find(|u| match *k {
                        "sip" | "h323" => u.sip == x,
                        "guid" => u.guid == x,
                        "num" => u.num == x,
                        _ => u.dn == x || u.name == x,
                    })
                    .map(|u| u.name.clone());
            }
        }
        None
    }

    fn pbx_presence_update(&self, sip: &str, src: &Value) -> Value {
        let presence = match self.users.values().find(|u| u.sip == sip) {
            // First item is the newest: the user-set `tel:` one changes, the PBX's `im:` stays.
            Some(u) => json!([
                {"contact": "tel:", "status": "open", "activity": u.presence.activity, "note": u.presence.note},
                {"contact": "im:", "status": "open", "activity": "", "note": ""},
            ]),
            None => json!([]),
        };
        let m = json!({"api": "PbxApi", "mt": "PresenceUpdate", "sip": sip, "presence": presence});
        with_src(m, src)
    }

    /// Every PBX connection subscribed to `sip` gets its `PresenceUpdate`.
    pub(crate) fn notify_pbx_subscribers(&mut self, sip: &str) {
        let mut out = Vec::new();
        for (pid, c) in &self.pbx_conns {
            for (s, src) in &c.subs {
                if s == sip {
                    out.push((*pid, self.pbx_presence_update(sip, src)));
                }
            }
        }
        for (pid, m) in out {
            self.pbx_send(pid, m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::pbx::{LIC_CONNECTOR, LIC_WITH_BUSYLIGHT};
    use super::*;
    use crate::myapps::Options;

    /// A world with the runtime host replaced by a channel, and the app object connected.
    fn world() -> (World, tokio::sync::mpsc::UnboundedReceiver<String>) {
        let mut w = World::new(&Options::default()).unwrap();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        w.attach_runtime(tx);
        let ready =
            w.on_runtime(r#"{"t":"ready","json":["kuando"],"pbx":["PbxApi","PbxAdminApi"]}"#);
        assert_eq!(ready, Some(Ok(())));
        (w, rx)
    }

    fn sent(rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> Vec<Value> {
        std::iter::from_fn(|| rx.try_recv().ok())
            .map(|l| serde_json::from_str::<Value>(&l).unwrap())
            .collect()
    }

    fn conn_of(msgs: &[Value], api: &str) -> u64 {
        msgs.iter()
            .find(|m| m["t"] == "pbx" && m["api"] == api)
            .and_then(|m| m["id"].as_u64())
            .unwrap()
    }

    fn texts(msgs: &[Value]) -> Vec<Value> {
        msgs.iter()
            .filter(|m| m["t"] == "msg")
            .map(|m| serde_json::from_str(m["text"].as_str().unwrap()).unwrap())
            .collect()
    }

    #[test]
    fn the_app_objects_pbxapi_connection_subscribes_presence_and_gets_every_change() {
        let (mut w, mut rx) = world();
        let pbx = conn_of(&sent(&mut rx), "PbxApi");
        w.on_runtime(
            &json!({"t": "send", "id": pbx, "text": json!({"api": "PbxApi",
            "mt": "SubscribePresence", "sip": "alice", "src": "s1"}).to_string()})
            .to_string(),
        );
        let got = texts(&sent(&mut rx));
        assert_eq!(got[0]["mt"], "SubscribePresenceResult");
        assert_eq!(got[1]["mt"], "PresenceUpdate");
        assert_eq!(got[1]["src"], "s1");
        assert_eq!(got[1]["presence"][0]["contact"], "tel:");

        w.set_presence("alice", Presence::new("away", "lunch"), "hand")
            .unwrap();
        let got = texts(&sent(&mut rx));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["mt"], "PresenceUpdate");
        assert_eq!(got[0]["presence"][0]["activity"], "away");
        assert_eq!(got[0]["presence"][0]["note"], "lunch");

        w.on_runtime(
            &json!({"t": "send", "id": pbx, "text": json!({"api": "PbxApi",
            "mt": "UnsubscribePresence", "sip": "alice"}).to_string()})
            .to_string(),
        );
        sent(&mut rx);
        w.set_presence("alice", Presence::available(), "hand")
            .unwrap();
        assert!(
            texts(&sent(&mut rx)).is_empty(),
            "no update after unsubscribing"
        );
    }

    #[test]
    fn set_presence_and_check_app_lic_answer_with_src() {
        let (mut w, mut rx) = world();
        let msgs = sent(&mut rx);
        let (pbx, admin) = (conn_of(&msgs, "PbxApi"), conn_of(&msgs, "PbxAdminApi"));
        w.on_runtime(
            &json!({"t": "send", "id": pbx, "text": json!({"api": "PbxApi",
            "mt": "SetPresence", "sip": "bob", "contact": "tel:", "activity": "busy", "note": "x",
            "src": "p"}).to_string()})
            .to_string(),
        );
        w.on_runtime(
            &json!({"t": "send", "id": pbx, "text": json!({"api": "PbxApi",
            "mt": "SetPresence", "sip": "nobody", "activity": "busy", "src": "q"}).to_string()})
            .to_string(),
        );
        for lic in [LIC_CONNECTOR, LIC_WITH_BUSYLIGHT] {
            w.on_runtime(
                &json!({"t": "send", "id": admin, "text": json!({"api": "PbxAdminApi",
                "mt": "CheckAppLic", "h323": "alice", "lic": lic, "src": lic}).to_string()})
                .to_string(),
            );
        }
        let got = texts(&sent(&mut rx));
        assert_eq!(
            got[0],
            json!({"api": "PbxApi", "mt": "SetPresenceResult", "src": "p"})
        );
        assert_eq!(got[1]["error"], 1);
        assert_eq!(
            got[2],
            json!({"api": "PbxAdminApi", "mt": "CheckAppLicResult", "src": LIC_CONNECTOR, "ok": true})
        );
        assert_eq!(
            got[3]["ok"], false,
            "the basic license is not the with-Busylight one"
        );
        assert_eq!(w.users["bob"].presence, Presence::new("busy", "x"));
    }
}
