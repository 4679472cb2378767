//! The simulated PBX Manager: its page (`/_sim/manager?lang=en&scheme=light`), the AP's list of plugins of the
//! instance (`/_sim/manager/controls`, from the package's `plugins.json` as the AP's `ManagerControls` would
//! give it), and the page's websocket (`/_sim/manager/socket`): `PbxAdminApi` to the PBX store and
//! `com.innovaphone.manager` of the AP. `/_sim/pbx` shows the store.

use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::{base_from, error, pump, text_response, Shared, DOMAIN, INSTANCE_PATH};

const MANAGER_HTML: &str = include_str!("../../static/manager.html");
const MANAGER_CSS: &str = include_str!("../../static/manager/manager.css");
const MANAGER_JS: &str = include_str!("../../static/manager/manager.js");

pub(crate) async fn page() -> Response {
    text_response("text/html; charset=utf-8", MANAGER_HTML)
}

pub(crate) async fn css() -> Response {
    text_response("text/css; charset=utf-8", MANAGER_CSS)
}

pub(crate) async fn js() -> Response {
    text_response("text/javascript; charset=utf-8", MANAGER_JS)
}

/// The plugins of the instance, as `ManagerControlsResult.controls` with the fields the page needs.
pub(crate) async fn controls(State(sh): State<Shared>, headers: HeaderMap) -> Response {
    let file = sh.manager.join("plugins.json");
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) => {
            return error(
                StatusCode::NOT_FOUND,
                &format!("{}: {e} (see --manager)", file.display()),
            )
        }
    };
    let v: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("plugins.json: {e}"),
            )
        }
    };
    let base = format!("{}{INSTANCE_PATH}", base_from(&headers, sh.addr));
    let controls: Vec<Value> = v["plugins"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let js = p["js"].as_str()?;
            let lang = p["lang"].as_str()?;
            let icon = p["icon"].as_str()?;
            Some(
                json!({"api": [], "js": js, "langName": lang, "uri": format!("{base}{js}"),
                        "lang": format!("{base}{lang}"), "png": format!("{base}{icon}"),
                        "ap": "ap", "apDn": "AP", "apUri": format!("{INSTANCE_PATH}{js}")}),
            )
        })
        .collect();
    Json(json!({"domain": DOMAIN, "controls": controls})).into_response()
}

pub(crate) async fn socket(State(sh): State<Shared>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |s| run(sh, s))
}

async fn run(sh: Shared, socket: WebSocket) {
    let (tx, rx) = mpsc::unbounded_channel::<String>();
    pump(&sh, socket, rx, |text| {
        let Ok(m) = serde_json::from_str::<Value>(text) else {
            return;
        };
        let reply = match m["t"].as_str() {
            Some("admin") => json!({"t": "admin", "msg": sh.world().pbx_admin(&m["msg"])}),
            Some("manager") => json!({"t": "manager", "src": m["src"], "provider": m["provider"],
                                      "msg": sh.world().ap_manager(&m["msg"])}),
            _ => return,
        };
        let _ = tx.send(reply.to_string());
    })
    .await;
}

pub(crate) async fn pbx_state(State(sh): State<Shared>) -> Response {
    Json(sh.world().pbx.state()).into_response()
}
