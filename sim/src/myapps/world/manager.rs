//! The PBX Manager's side of the simulated world: the manager page's `PbxAdminApi` connection to the PBX
//! store, `com.innovaphone.manager` of the AP (`GetInstanceLogin`, `SetInstancePassword`), and on the app
//! instance the PBX Manager's login and `AppCheckLogin` (`docs/platform-facts.md` §6.3, §6.4).
//! A child of `world` so that it works on the world's connections without widening their fields.

use serde_json::{json, Value};

use super::super::pbx::app_login_digest;
use super::super::{DOMAIN, INSTANCE_PATH};
use super::{digest, src_of, wire, World};

/// The App object name the PBX Manager logs in to an instance with ("usually no meaning", docs/platform-facts.md §6.3).
pub(crate) const MANAGER_APP: &str = "-";
/// Identity of a PBX Manager login (mode `pbx-manager`).
const MANAGER_SIP: &str = "pbx-manager";
const MANAGER_DN: &str = "PBX Manager";

fn path_is_instance(path: &str) -> bool {
    path.trim_end_matches('/') == INSTANCE_PATH.trim_end_matches('/')
}

impl World {
    /// One `PbxAdminApi` request of the manager page.
    pub(crate) fn pbx_admin(&mut self, msg: &Value) -> Value {
        self.note(
            None,
            "pbx-manager",
            &format!("PbxAdminApi in: {}", wire(msg)),
        );
        let r = self.pbx.admin(msg);
        self.note(
            None,
            "pbx-manager",
            &format!("PbxAdminApi out: {}", wire(&r)),
        );
        self.push_views();
        r
    }

    /// One `com.innovaphone.manager` message of the manager page (provider: the AP object).
    pub(crate) fn ap_manager(&mut self, msg: &Value) -> Value {
        let mt = msg.get("mt").and_then(Value::as_str).unwrap_or("");
        let path = msg.get("path").and_then(Value::as_str).unwrap_or("");
        let mut r = match mt {
            "GetInstanceLogin" if path_is_instance(path) => {
                let app = msg
                    .get("app")
                    .and_then(Value::as_str)
                    .unwrap_or(MANAGER_APP);
                let challenge = msg.get("challenge").and_then(Value::as_str).unwrap_or("");
                json!({"app": app, "sip": MANAGER_SIP, "domain": DOMAIN, "guid": "", "dn": MANAGER_DN,
                       "digest": digest(app, DOMAIN, MANAGER_SIP, "", MANAGER_DN, None, challenge, &self.password)})
            }
            "SetInstancePassword" if path_is_instance(path) => {
                match msg.get("pwd").and_then(Value::as_str) {
                    Some(p) if !p.is_empty() => {
                        self.password = p.to_string();
                        self.note(None, "pbx-manager", "instance password set");
                        json!({})
                    }
                    _ => json!({"error": "pwd missing"}),
                }
            }
            "GetInstanceLogin" | "SetInstancePassword" => json!({"error": "no such instance"}),
            _ => json!({"error": "unknown mt"}),
        };
        r["mt"] = json!(format!("{mt}Result"));
        r
    }

    /// `AppLogin` of the PBX Manager plugin on the instance, with the data of `GetInstanceLogin`.
    pub(crate) fn manager_login(&mut self, cid: u64, v: &Value) {
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let challenge = self.conns.get_mut(&cid).and_then(|c| c.challenge.take());
        let ok = challenge.is_some_and(|c| {
            s("digest").eq_ignore_ascii_case(&digest(
                &s("app"),
                &s("domain"),
                &s("sip"),
                &s("guid"),
                &s("dn"),
                None,
                &c,
                &self.password,
            ))
        });
        if ok {
            self.pbx.manager_conns.insert(cid);
            self.app_note(cid, "PBX Manager logged in (mode pbx-manager)");
            // As for any login, the runtime hands the connection to the service's JsonApis, with the
            // identity of GetInstanceLogin ([inferred]: the runtime does so for this mode too).
            if let Some(c) = self.conns.get_mut(&cid) {
                c.login = Some(super::AppIdentity {
                    user: s("sip"),
                    app: s("app"),
                    pbx_obj: String::new(),
                    unlicensed: false,
                });
            }
            let conn = json!({"domain": s("domain"), "sip": s("sip"), "dn": s("dn"), "guid": s("guid"),
                              "app": s("app"), "info": "{}", "unlicensed": false});
            for api in self.json_apis.clone() {
                self.send_runtime(json!({"t": "json", "id": cid, "api": api, "conn": conn}));
            }
        } else {
            self.app_note(
                cid,
                "PBX Manager login refused: wrong digest or no AppChallenge",
            );
        }
        let mut reply = json!({"mt": "AppLoginResult", "ok": ok});
        if let Some(src) = v.get("src") {
            reply["src"] = src.clone();
        }
        self.send_app(cid, wire(&reply));
    }

    /// `AppCheckLogin`: is this `GetAppLogin` digest made with the instance's password? Only for a PBX
    /// Manager connection.
    pub(crate) fn app_check_login(&mut self, cid: u64, v: &Value) {
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let mut reply = if self.pbx.manager_conns.contains(&cid) {
            let want = app_login_digest(&s("app"), &s("domain"), &s("challenge"), &self.password);
            json!({"mt": "AppCheckLoginResult", "ok": s("digest").eq_ignore_ascii_case(&want)})
        } else {
            self.app_note(cid, "AppCheckLogin refused: not a PBX Manager connection");
            json!({"mt": "AppCheckLoginResult", "ok": false, "error": "not allowed"})
        };
        if !src_of(v).is_null() {
            reply["src"] = src_of(v);
        }
        self.send_app(cid, wire(&reply));
    }
}
