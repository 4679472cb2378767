//! The AppPlatform's app websocket at the instance URL: `AppChallenge`, `AppLogin` (checked against the
//! instance password; the only source of a connection's identity), `KeepAlive`, and routing of `api`
//! messages to the service's JsonApis in the runtime host. The PBX Manager's logins are in
//! [`super::manager`].

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedSender;

use super::super::{APP_OBJECTS, DOMAIN};
use super::{digest, manager, src_of, str_field, wire, with_src, Ordered, World};

/// An app websocket connection.
pub(super) struct AppConn {
    tx: UnboundedSender<String>,
    pub(super) challenge: Option<String>,
    pub login: Option<AppIdentity>,
    pub(super) keep_alives: u64,
    pub(super) since_ms: u64,
}

/// Who is on an app connection: only ever taken from a checked `AppLogin`.
#[derive(Clone)]
pub(super) struct AppIdentity {
    pub user: String,
    pub app: String,
    pub pbx_obj: String,
    /// `info.unlicensed` of the checked login, as the runtime hands it to the service (`conn.unlicensed`).
    pub unlicensed: bool,
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
    pub(crate) fn add_conn(&mut self, tx: UnboundedSender<String>) -> u64 {
        let id = self.next_id();
        let since_ms = self.now_ms();
        self.conns.insert(
            id,
            AppConn {
                tx,
                challenge: None,
                login: None,
                keep_alives: 0,
                since_ms,
            },
        );
        self.note(None, &format!("app#{id}"), "app websocket opened");
        id
    }

    pub(crate) fn remove_conn(&mut self, cid: u64) {
        self.pbx.manager_conns.remove(&cid);
        if let Some(c) = self.conns.remove(&cid) {
            if c.login.is_some() {
                self.send_runtime(json!({"t": "close", "id": cid}));
            }
            let user = c.login.map(|l| l.user);
            self.note(
                user.as_deref(),
                &format!("app#{cid}"),
                "app websocket closed",
            );
        }
        self.push_views();
    }

    fn conn_user(&self, cid: u64) -> Option<String> {
        self.conns
            .get(&cid)
            .and_then(|c| c.login.as_ref())
            .map(|l| l.user.clone())
    }

    /// Sends a text on an app websocket and logs it.
    pub(crate) fn send_app(&mut self, cid: u64, text: String) {
        let user = self.conn_user(cid);
        self.log(user.as_deref(), "app", &format!("app#{cid}"), "out", &text);
        if let Some(c) = self.conns.get(&cid) {
            let _ = c.tx.send(text);
        }
    }

    pub(crate) fn app_note(&mut self, cid: u64, text: &str) {
        let user = self.conn_user(cid);
        self.note(user.as_deref(), &format!("app#{cid}"), text);
    }

    /// A text frame from an app websocket.
    pub(crate) fn on_app(&mut self, cid: u64, text: &str) {
        let user = self.conn_user(cid);
        self.log(user.as_deref(), "app", &format!("app#{cid}"), "in", text);
        let v: Value = match serde_json::from_str(text) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                self.app_note(cid, "ignored: not a JSON object");
                return;
            }
        };
        if let Some(api) = v.get("api") {
            match (&user, api.as_str()) {
                (None, _) => self.app_note(cid, "ignored: api message before AppLogin"),
                (Some(_), Some(a)) if self.json_apis.iter().any(|j| j == a) => {
                    // The runtime routes the message by its api to the service's JsonApi.
                    self.send_runtime(json!({"t": "msg", "id": cid, "text": text}));
                }
                (Some(_), _) => {
                    self.app_note(cid, &format!("ignored: this app service has no api {api}"))
                }
            }
            self.push_views();
            return;
        }
        match str_field(&v, "mt") {
            "AppChallenge" => {
                let challenge = self.random_hex(8);
                if let Some(c) = self.conns.get_mut(&cid) {
                    c.challenge = Some(challenge.clone());
                }
                let reply = json!({"mt": "AppChallengeResult", "challenge": challenge});
                self.send_app(cid, wire(&with_src(reply, &src_of(&v))));
            }
            "AppLogin" => {
                let ok = if str_field(&v, "app") == manager::MANAGER_APP {
                    self.manager_login(cid, &v)
                } else {
                    self.app_login(cid, text)
                };
                let reply = json!({"mt": "AppLoginResult", "ok": ok});
                self.send_app(cid, wire(&with_src(reply, &src_of(&v))));
            }
            "AppCheckLogin" => {
                let reply = self.app_check_login(cid, &v);
                self.send_app(cid, wire(&with_src(reply, &src_of(&v))));
            }
            "KeepAlive" => {
                if let Some(c) = self.conns.get_mut(&cid) {
                    c.keep_alives += 1;
                }
            }
            other => self.app_note(cid, &format!("ignored: unknown mt {other:?}")),
        }
        self.push_views();
    }

    /// Checks an `AppLogin`. The identity of the connection comes from here and nowhere else.
    fn app_login(&mut self, cid: u64, text: &str) -> bool {
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
