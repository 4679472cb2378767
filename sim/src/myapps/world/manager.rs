//! The PBX Manager's side of the simulated world: the manager page's `PbxAdminApi` connection to the PBX
//! store, `com.innovaphone.manager` of the AP (`GetInstanceLogin`, `SetInstancePassword`), and on the app
//! instance the PBX Manager's login and `AppCheckLogin` (`docs/platform-facts.md` §6.3, §6.4).
//! A child of `world` so that it works on the world's connections without widening their fields.

use serde_json::{json, Value};

use super::super::pbx::app_login_digest;
use super::super::{DOMAIN, INSTANCE_PATH};
use super::{digest, str_field, wire, AppIdentity, World};

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
        let mt = str_field(msg, "mt");
        let path = str_field(msg, "path");
        let mut r = match mt {
            "GetInstanceLogin" if path_is_instance(path) => {
                let app = msg
                    .get("app")
                    .and_then(Value::as_str)
                    .unwrap_or(MANAGER_APP);
                let challenge = str_field(msg, "challenge");
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

    /// `AppLogin` of the PBX Manager plugin on the instance, with the data of `GetInstanceLogin`: whether
    /// it is accepted.
    pub(super) fn manager_login(&mut self, cid: u64, v: &Value) -> bool {
        let s = |k: &str| str_field(v, k).to_string();
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
            let identity = AppIdentity {
                user: s("sip"),
                app: s("app"),
                pbx_obj: String::new(),
                unlicensed: false,
            };
            let conn = json!({"domain": s("domain"), "sip": s("sip"), "dn": s("dn"), "guid": s("guid"),
                              "app": s("app"), "info": "{}", "unlicensed": false});
            self.logged_in(cid, identity, conn);
        } else {
            self.app_note(
                cid,
                "PBX Manager login refused: wrong digest or no AppChallenge",
            );
        }
        ok
    }

    /// `AppCheckLogin`: is this `GetAppLogin` digest made with the instance's password? Only for a PBX
    /// Manager connection. Returns the answer.
    pub(super) fn app_check_login(&mut self, cid: u64, v: &Value) -> Value {
        let s = |k: &str| str_field(v, k).to_string();
        if self.pbx.manager_conns.contains(&cid) {
            let want = app_login_digest(&s("app"), &s("domain"), &s("challenge"), &self.password);
            json!({"mt": "AppCheckLoginResult", "ok": s("digest").eq_ignore_ascii_case(&want)})
        } else {
            self.app_note(cid, "AppCheckLogin refused: not a PBX Manager connection");
            json!({"mt": "AppCheckLoginResult", "ok": false, "error": "not allowed"})
        }
    }
}
