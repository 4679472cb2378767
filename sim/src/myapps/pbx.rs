//! The simulated PBX's object store: App objects and config templates, as the PBX Manager plugin sees them
//! through `PbxAdminApi` (`docs/platform-facts.md` §6.4), and as the simulated myApps reads
//! them: a user gets an app when an App object with its SIP name points at the app's page on the instance and
//! the user's config template lists it.
//!
//! Every simulated user has the config template [`TEMPLATE`] (a PBX's users usually share one). A fresh PBX
//! has that template with no apps and no App objects; the ready-made one (the demo's default) has both
//! connector objects, with the instance password, in the template.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{APP_OBJECTS, DOMAIN, INSTANCE_PATH};

/// The config template of every simulated user.
pub const TEMPLATE: &str = "Standard";
/// Options (pseudo.app flags) of the connector's hidden App object, as the concept lists them.
const HIDDEN_FLAGS: [&str; 4] = ["hidden", "websocket", "admin", "pbx"];

/// A PBX object: an App object (`pseudo.type == "app"`) or a config template.
#[derive(Debug, Clone)]
pub struct Object {
    pub guid: String,
    pub cn: String,
    pub h323: String,
    /// The object's password (App objects; never shown by `GetObject`).
    pub pwd: String,
    pub pseudo: Value,
    /// Comma-separated SIP names of the App objects the object grants.
    pub apps: String,
    pub template: bool,
    pub hide: bool,
    pub critical: bool,
}

#[derive(Debug, Default)]
pub struct Pbx {
    pub objects: Vec<Object>,
    next_guid: u64,
    /// App websocket connections logged in as the PBX Manager (mode `pbx-manager`).
    pub manager_conns: std::collections::BTreeSet<u64>,
}

/// `GetAppLogin`'s digest of an App object, checked by the instance with `AppCheckLogin`. **[inferred]** The
/// spec names the fields (`app`, `domain`, `challenge`, `digest`) but not the formula; the simulator's PBX
/// and instance share this one: SHA-256 hex of `app:domain:challenge:password`.
pub fn app_login_digest(app: &str, domain: &str, challenge: &str, pwd: &str) -> String {
    hex::encode(Sha256::digest(
        format!("{app}:{domain}:{challenge}:{pwd}").as_bytes(),
    ))
}

fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("", |i| &rest[i..])
}

impl Pbx {
    /// No App objects, one config template without apps.
    pub fn fresh() -> Pbx {
        let mut p = Pbx::default();
        let guid = p.guid();
        p.objects.push(Object {
            guid,
            cn: TEMPLATE.into(),
            h323: String::new(),
            pwd: String::new(),
            pseudo: Value::Null,
            apps: String::new(),
            template: true,
            hide: false,
            critical: false,
        });
        p
    }

    /// Both connector App objects with the instance password, in the template.
    pub fn ready_made(instance_pwd: &str) -> Pbx {
        let mut p = Pbx::fresh();
        for o in &APP_OBJECTS {
            let mut app = json!({"url": format!("http://127.0.0.1{INSTANCE_PATH}{}", o.htm)});
            for f in HIDDEN_FLAGS {
                app[f] = json!(o.hidden);
            }
            let guid = p.guid();
            p.objects.push(Object {
                guid,
                cn: o.title.into(),
                h323: o.name.into(),
                pwd: instance_pwd.into(),
                pseudo: json!({"type": "app", "app": app}),
                apps: String::new(),
                template: false,
                hide: true,
                critical: true,
            });
        }
        let names: Vec<&str> = APP_OBJECTS.iter().map(|o| o.name).collect();
        p.objects[0].apps = names.join(",");
        p
    }

    /// Points the ready-made objects at the simulator's real address (known once it listens).
    pub fn rebase(&mut self, base: &str) {
        for o in &mut self.objects {
            if let Some(u) = o.pseudo["app"]["url"].as_str() {
                let path = url_path(u).to_string();
                o.pseudo["app"]["url"] = json!(format!("{base}{path}"));
            }
        }
    }

    fn guid(&mut self) -> String {
        self.next_guid += 1;
        format!("{:032x}", 0x5eed_0000_u64 + self.next_guid)
    }

    /// The App object with this SIP name whose URL points at `<instance>/<htm>`.
    pub fn app_object(&self, sip: &str, htm: &str) -> Option<&Object> {
        let want = format!("{INSTANCE_PATH}{htm}");
        self.objects.iter().find(|o| {
            o.h323 == sip
                && o.pseudo["type"] == "app"
                && o.pseudo["app"]["url"]
                    .as_str()
                    .is_some_and(|u| url_path(u).trim_end_matches(".htm") == want)
        })
    }

    /// Whether a user's myApps gets the app `htm` under the App object name `sip`: the object exists and the
    /// user's template lists it.
    pub fn grants(&self, sip: &str, htm: &str) -> bool {
        self.app_object(sip, htm).is_some()
            && self.objects.iter().any(|t| {
                t.template && t.cn == TEMPLATE && t.apps.split(',').any(|a| a.trim() == sip)
            })
    }

    fn find(&self, m: &Value) -> Option<usize> {
        let s = |k: &str| m.get(k).and_then(Value::as_str).filter(|v| !v.is_empty());
        if let Some(g) = s("guid").filter(|g| *g != "*" && *g != "?") {
            return self.objects.iter().position(|o| o.guid == g);
        }
        if let Some(cn) = s("cn") {
            return self.objects.iter().position(|o| o.cn == cn);
        }
        s("h323").and_then(|h| self.objects.iter().position(|o| o.h323 == h))
    }

    /// One `PbxAdminApi` request from the PBX Manager's connection → its result (with `api`, `mt`, `src`).
    pub fn admin(&mut self, m: &Value) -> Value {
        let mt = m.get("mt").and_then(Value::as_str).unwrap_or("");
        let mut r = match mt {
            "GetAppObjects" => {
                let uri = m.get("uri").and_then(Value::as_str).unwrap_or("");
                let objects: Vec<Value> = self
                    .objects
                    .iter()
                    .filter(|o| o.pseudo["type"] == "app")
                    .filter(|o| {
                        o.pseudo["app"]["url"]
                            .as_str()
                            .is_some_and(|u| u.starts_with(uri))
                    })
                    .map(|o| {
                        json!({"title": o.cn, "app": o.h323, "url": o.pseudo["app"]["url"],
                               "connected": false, "guid": o.guid, "sip": o.h323, "pseudo": "app"})
                    })
                    .collect();
                json!({"objects": objects})
            }
            "GetConfigObjects" => {
                let objects: Vec<Value> = self
                    .objects
                    .iter()
                    .filter(|o| o.template)
                    .map(|o| json!({"cn": o.cn, "config": []}))
                    .collect();
                json!({"objects": objects})
            }
            "GetObject" => match self.find(m).map(|i| &self.objects[i]) {
                Some(o) => {
                    let mut v = json!({"guid": o.guid, "cn": o.cn, "h323": o.h323, "apps": o.apps});
                    if !o.pseudo.is_null() {
                        v["pseudo"] = o.pseudo.clone();
                    }
                    v
                }
                None => json!({"error": "no such object"}),
            },
            "UpdateObject" => self.update(m),
            "DeleteObject" => match self.find(&json!({"guid": m.get("guid")})) {
                Some(i) => {
                    self.objects.remove(i);
                    json!({})
                }
                None => json!({"error": "no such object"}),
            },
            "GetAppLogin" => {
                let app = m.get("app").and_then(Value::as_str).unwrap_or("");
                let challenge = m.get("challenge").and_then(Value::as_str).unwrap_or("");
                match self
                    .objects
                    .iter()
                    .find(|o| !app.is_empty() && o.h323 == app)
                {
                    Some(o) => json!({"app": app, "domain": DOMAIN,
                                      "digest": app_login_digest(app, DOMAIN, challenge, &o.pwd)}),
                    None => json!({"error": "no such app object"}),
                }
            }
            _ => json!({"error": "unknown mt"}),
        };
        r["api"] = json!("PbxAdminApi");
        r["mt"] = json!(format!("{mt}Result"));
        if let Some(src) = m.get("src") {
            r["src"] = src.clone();
        }
        r
    }

    fn update(&mut self, m: &Value) -> Value {
        let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
        let guid = s("guid").unwrap_or_default();
        let idx = match guid.as_str() {
            "" => None,
            "*" | "?" => self.find(&json!({"cn": m.get("cn")})),
            g => match self.objects.iter().position(|o| o.guid == g) {
                Some(i) => Some(i),
                None => return json!({"error": "no such object"}),
            },
        };
        if guid == "*" && idx.is_none() {
            return json!({"error": "no such object"});
        }
        if let Some(h) = s("h323").filter(|h| !h.is_empty()) {
            let clash = self
                .objects
                .iter()
                .enumerate()
                .any(|(i, o)| o.h323 == h && Some(i) != idx);
            if clash {
                return json!({"error": format!("h323 {h} exists")});
            }
        }
        if idx.is_none() && s("cn").is_none_or(|c| c.trim().is_empty()) {
            return json!({"error": "cn missing"});
        }
        let copied = match s("copyPwd") {
            Some(from) => match self.objects.iter().find(|o| o.h323 == from) {
                Some(o) => Some(o.pwd.clone()),
                None => return json!({"error": format!("copyPwd: no object {from}")}),
            },
            None => None,
        };
        let created = idx.is_none();
        let i = match idx {
            Some(i) => i,
            None => {
                let guid = self.guid();
                self.objects.push(Object {
                    guid,
                    cn: String::new(),
                    h323: String::new(),
                    pwd: String::new(),
                    pseudo: Value::Null,
                    apps: String::new(),
                    template: false,
                    hide: false,
                    critical: false,
                });
                self.objects.len() - 1
            }
        };
        let o = &mut self.objects[i];
        if let Some(v) = s("cn") {
            o.cn = v;
        }
        if let Some(v) = s("h323") {
            o.h323 = v;
        }
        if let Some(v) = s("apps") {
            o.apps = v;
        }
        if let Some(v) = s("pwd") {
            o.pwd = v;
        }
        if let Some(v) = copied {
            o.pwd = v;
        }
        if let Some(p) = m.get("pseudo").filter(|p| p.is_object()) {
            o.pseudo = p.clone();
        }
        if let Some(b) = m.get("hide").and_then(Value::as_bool) {
            o.hide = b;
        }
        if let Some(b) = m.get("critical").and_then(Value::as_bool) {
            o.critical = b;
        }
        if created {
            json!({"guid": o.guid})
        } else {
            json!({})
        }
    }

    /// The store for the control API (`/_sim/pbx`): passwords only as "set" or not.
    pub fn state(&self) -> Value {
        let objects: Vec<Value> = self
            .objects
            .iter()
            .map(|o| {
                json!({"guid": o.guid, "cn": o.cn, "h323": o.h323, "pseudo": o.pseudo, "apps": o.apps,
                       "template": o.template, "hide": o.hide, "critical": o.critical,
                       "pwdSet": !o.pwd.is_empty()})
            })
            .collect();
        json!({"objects": objects})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(v: Value) -> Value {
        v
    }

    #[test]
    fn fresh_pbx_grants_nothing_until_objects_and_template_exist() {
        let mut p = Pbx::fresh();
        assert!(!p.grants("kuando", "innovaphone-kuando"));
        let r = p.admin(&req(json!({"mt": "UpdateObject", "cn": "Connector for kuando®", "h323": "kuando",
            "pwd": "s3cret", "pseudo": {"type": "app", "app": {"url": "https://ap/example.com/kuandoconnector/innovaphone-kuando", "hidden": true}},
            "src": "1"})));
        assert_eq!(r["mt"], "UpdateObjectResult");
        assert_eq!(r["src"], "1");
        assert!(r["guid"].is_string());
        assert!(
            !p.grants("kuando", "innovaphone-kuando"),
            "not in the template yet"
        );
        let t = p.admin(&json!({"mt": "GetObject", "cn": TEMPLATE}));
        let r = p.admin(
            &json!({"mt": "UpdateObject", "guid": t["guid"], "cn": TEMPLATE, "apps": "kuando"}),
        );
        assert!(r.get("error").is_none(), "{r}");
        assert!(p.grants("kuando", "innovaphone-kuando"));
        assert!(
            !p.grants("kuando", "innovaphone-kuando-config"),
            "the URL decides the page"
        );
    }

    #[test]
    fn copy_pwd_and_app_login() {
        let mut p = Pbx::fresh();
        p.admin(&json!({"mt": "UpdateObject", "cn": "a", "h323": "a", "pwd": "pw"}));
        p.admin(&json!({"mt": "UpdateObject", "cn": "b", "h323": "b", "copyPwd": "a"}));
        let r = p.admin(&json!({"mt": "GetAppLogin", "app": "b", "challenge": "c"}));
        assert_eq!(r["digest"], app_login_digest("b", DOMAIN, "c", "pw"));
        let r =
            p.admin(&json!({"mt": "UpdateObject", "cn": "c", "h323": "c", "copyPwd": "nobody"}));
        assert!(r["error"].is_string());
        let r = p.admin(&json!({"mt": "UpdateObject", "cn": "dup", "h323": "a"}));
        assert!(r["error"].as_str().unwrap().contains("exists"));
    }

    #[test]
    fn list_filter_and_delete() {
        let mut p = Pbx::ready_made("pw");
        assert!(p.grants("kuando", "innovaphone-kuando"));
        assert!(p.grants("kuando-config", "innovaphone-kuando-config"));
        let r = p.admin(
            &json!({"mt": "GetAppObjects", "uri": "http://127.0.0.1/example.com/kuandoconnector/"}),
        );
        let objs = r["objects"].as_array().unwrap();
        assert_eq!(objs.len(), 2);
        assert_eq!(
            p.admin(&json!({"mt": "GetAppObjects", "uri": "http://127.0.0.1/other/"}))["objects"],
            json!([])
        );
        let guid = objs[0]["guid"].clone();
        p.admin(&json!({"mt": "DeleteObject", "guid": guid}));
        assert!(!p.grants("kuando", "innovaphone-kuando"));
        assert!(
            p.state().to_string().find("pw\"").is_none(),
            "no password in the state"
        );
    }
}
