//! The login of an app to its instance, both halves: myApps answers an app's `getLogin` with a `Login` the
//! PBX signs with the App object's password, and the AppPlatform checks the `AppLogin` the app sends on its
//! app websocket against the instance password (`docs/platform-facts.md` §3.5, §4.4). The digest formula is
//! [`digest`]; the PBX Manager's login is in [`super::manager`].

use kuando_connector::proto::License;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::super::{AppObject, APP_OBJECTS, DOMAIN, INSTANCE_PATH};
use super::pbx::licensed_for;
use super::{src_of, str_field, wire, AppIdentity, Ordered, World};

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

impl World {
    /// `getLogin`: the PBX signs the user's identity for the app object with the instance password.
    pub(super) fn on_get_login(
        &mut self,
        sid: u64,
        user: &str,
        obj: &'static AppObject,
        msg: &Value,
    ) {
        let src = src_of(msg);
        let name = str_field(msg, "app");
        let challenge = str_field(msg, "challenge").to_string();
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
            unlicensed: (!licensed_for(u.license, target.htm)).then_some(true),
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

    /// Checks an `AppLogin`. The identity of the connection comes from here and nowhere else.
    pub(super) fn app_login(&mut self, cid: u64, text: &str) -> bool {
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
        let identity = AppIdentity {
            user: user.clone(),
            app: m.app.clone(),
            pbx_obj: m.pbx_obj.clone(),
            unlicensed,
        };
        let conn = json!({"domain": m.domain, "sip": m.sip, "dn": m.dn, "guid": m.guid, "app": m.app,
                          "info": info.unwrap_or_else(|| "{}".into()), "unlicensed": unlicensed});
        self.logged_in(cid, identity, conn);
        self.note(
            Some(&user),
            &format!("app#{cid}"),
            &format!(
                "{} logged in as {user}{}",
                m.app,
                if unlicensed { " (unlicensed)" } else { "" }
            ),
        );
        true
    }

    /// A checked login: the connection has its identity, and the runtime hands it to the service's JsonApis
    /// with `conn`, the connection's properties as the service reads them ([inferred]: one JsonApi
    /// connection per registered JsonApi, at login).
    pub(super) fn logged_in(&mut self, cid: u64, identity: AppIdentity, conn: Value) {
        if let Some(c) = self.conns.get_mut(&cid) {
            c.login = Some(identity);
        }
        for api in self.json_apis.clone() {
            self.send_runtime(json!({"t": "json", "id": cid, "api": api, "conn": conn}));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::myapps::Options;

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
