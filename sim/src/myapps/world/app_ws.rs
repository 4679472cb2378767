//! The AppPlatform's app websocket at the instance URL: `AppChallenge`, `AppLogin` (checked against the
//! instance password; the only source of a connection's identity), `KeepAlive`, and routing of `api`
//! messages to the service's JsonApis in the runtime host. The PBX Manager's logins are in
//! [`super::manager`].

use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedSender;

use super::{manager, src_of, str_field, wire, with_src, World};

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
}
