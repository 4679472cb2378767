//! The connector's app service, simulated: the `kuando` JsonApi of `kuando_connector::proto`, for one logged-in
//! connection. Identity is the connection's login (`user`), never a field of the message.

use kuando_connector::proto::{
    self, Envelope, ErrorCode, License, Request, Response, ServiceError, MAX_MESSAGE_LEN,
};
use kuando_connector::state::Presence;
use serde_json::{json, Value};

use super::world::World;

fn error(code: ErrorCode, text: &str) -> Option<ServiceError> {
    Some(ServiceError {
        code,
        text: text.to_string(),
        fields: Vec::new(),
    })
}

/// Handles one `api: "kuando"` message from connection `cid` of `user`.
pub(crate) fn handle(w: &mut World, cid: u64, user: &str, text: &str) {
    if text.len() > MAX_MESSAGE_LEN {
        let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        reply_unreadable(w, cid, &v, ErrorCode::TooLarge, "message too large");
        return;
    }
    let env = match proto::parse_request(text) {
        Ok(env) => env,
        Err(e) => {
            let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
            reply_unreadable(w, cid, &v, ErrorCode::Malformed, &e);
            return;
        }
    };
    let src = env.src;
    let response = match env.msg {
        Request::GetConfig => Response::GetConfigResult {
            config: Some(
                w.users
                    .get(user)
                    .and_then(|u| u.config.clone())
                    .unwrap_or_default(),
            ),
            error: None,
        },
        Request::SetConfig { config } => {
            let fields = config.validate();
            if fields.is_empty() {
                if let Some(u) = w.users.get_mut(user) {
                    u.config = Some((*config).clone());
                }
                // The user's other apps (the hidden app on this and other PCs, other config windows) pick
                // up the new settings at once.
                let pushed = Envelope::new(
                    None,
                    Response::ConfigChanged {
                        config: (*config).clone(),
                    },
                )
                .to_json();
                for other in w.user_conns(user) {
                    if other != cid {
                        w.send_app(other, pushed.clone());
                    }
                }
                Response::SetConfigResult {
                    config: Some(*config),
                    error: None,
                }
            } else {
                Response::SetConfigResult {
                    config: None,
                    error: Some(ServiceError {
                        code: ErrorCode::InvalidConfig,
                        text: "invalid settings".into(),
                        fields,
                    }),
                }
            }
        }
        Request::SetPresence { activity, note } => {
            let license = w.users.get(user).map_or(License::None, |u| u.license);
            let error = if license == License::None {
                error(ErrorCode::Unlicensed, "no license for the app")
            } else {
                match w.set_presence(user, Presence { activity, note }, "the app service") {
                    Ok(()) => None,
                    Err(e) => error(ErrorCode::Pbx, &e),
                }
            };
            Response::SetPresenceResult { error }
        }
        Request::GetLicense => Response::GetLicenseResult {
            license: Some(w.users.get(user).map_or(License::None, |u| u.license)),
            error: None,
        },
    };
    w.send_app(cid, Envelope::new(src, response).to_json());
}

/// The answer to a request that could not be read: `<mt>Result {error}` when `mt` was readable, else
/// `Error {error}`; `src` echoed when it was a string.
fn reply_unreadable(w: &mut World, cid: u64, v: &Value, code: ErrorCode, text: &str) {
    let err = ServiceError {
        code,
        text: text.to_string(),
        fields: Vec::new(),
    };
    let src = v.get("src").and_then(Value::as_str).map(str::to_string);
    // As the real service (`service/kuando.js`): a known request with bad fields gets `<mt>Result` with the
    // error; anything else (no `mt`, an unknown one) gets `Error`, which an app can always read and pair.
    const KNOWN: [&str; 4] = ["GetConfig", "SetConfig", "SetPresence", "GetLicense"];
    let reply = match v.get("mt").and_then(Value::as_str) {
        Some(mt) if KNOWN.contains(&mt) => {
            let mut r = json!({"api": proto::API, "mt": format!("{mt}Result"), "error": err});
            if let Some(s) = src {
                r["src"] = Value::String(s);
            }
            r.to_string()
        }
        _ => Envelope::new(src, Response::Error { error: err }).to_json(),
    };
    w.send_app(cid, reply);
}
