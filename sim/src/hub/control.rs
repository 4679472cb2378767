//! `/_sim/`: the simulator's own API for tests and the demo, and the lamp page. Never token-checked and
//! never hit by injected faults, so a test can always see and repair the state.
//!
//! Every POST answers the new state (as `GET /_sim/state`) or 400 `{"error": "..."}`. Bodies are JSON with
//! any content type (so `curl -d` works without `-H`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::lenient::{self, get_ci, number};
use super::model;
use super::Hub;

/// The lamp page, embedded so the binary needs no files at run time.
const PAGE: &str = include_str!("../../static/hub.html");

pub fn router(hub: Arc<Hub>) -> Router {
    Router::new()
        .route("/_sim", get(page))
        .route("/_sim/", get(page))
        .route("/_sim/state", get(state))
        .route("/_sim/source", post(source))
        .route("/_sim/fault", post(fault))
        .route("/_sim/devices", post(devices))
        .route("/_sim/settings", post(settings))
        .route("/_sim/priorities", post(priorities))
        .route("/_sim/reset", post(reset))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                Json(json!({"error": "no such /_sim/ endpoint"})),
            )
        })
        .with_state(hub)
}

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        PAGE,
    )
        .into_response()
}

/// `?log=N` returns only the newest N log entries (the page asks for a few).
async fn state(State(hub): State<Arc<Hub>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let log = q.get("log").and_then(|n| n.trim().parse::<usize>().ok());
    let v = hub.lock().to_json(log);
    ([(header::CACHE_CONTROL, "no-store")], Json(v)).into_response()
}

fn body_json(body: &Bytes) -> Result<Value, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    lenient::parse(&String::from_utf8_lossy(body)).map(|(v, _)| v)
}

/// Runs a change and answers the new state, or 400 with the reason.
fn change(
    hub: &Hub,
    body: &Bytes,
    f: impl FnOnce(&mut model::State, &Value) -> Result<(), String>,
) -> Response {
    let result = body_json(body).and_then(|v| {
        let mut s = hub.lock();
        f(&mut s, &v)?;
        s.seq += 1;
        Ok(s.to_json(None))
    });
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response(),
    }
}

/// `{"sender":"MS Teams","eventtype":"Light","eventname":"On-The-Phone"}` sets a source; optional
/// `action` + `parameter` as in the POST interface; `{"sender":"MS Teams"}` or `"clear":true` clears it.
async fn source(State(hub): State<Arc<Hub>>, body: Bytes) -> Response {
    change(&hub, &body, |s, v| s.set_source(v))
}

/// `{"mode":"none|refuse|close|delay|garbage|401|404|500", "ms":N, "actions":[...], "times":N}`.
async fn fault(State(hub): State<Arc<Hub>>, body: Bytes) -> Response {
    change(&hub, &body, |s, v| {
        s.fault = model::Fault::from_json(v)?;
        Ok(())
    })
}

/// `{"count": N}` or just `N`.
async fn devices(State(hub): State<Arc<Hub>>, body: Bytes) -> Response {
    change(&hub, &body, |s, v| {
        let n = match v {
            Value::Object(o) => get_ci(o, "count").and_then(number),
            other => number(other),
        }
        .ok_or("expected {\"count\": N}")?;
        if !(0..=model::MAX_DEVICES as i64).contains(&n) {
            return Err(format!("count must be 0..{}", model::MAX_DEVICES));
        }
        s.set_devices(n as usize);
        Ok(())
    })
}

/// `{"too_old": bool, "too_old_answer": "text" | "html" | "empty", "token": "T" | null,
/// "require_token": bool, "no_device_text": bool, "release_without_lamp": bool}`, each optional.
async fn settings(State(hub): State<Arc<Hub>>, body: Bytes) -> Response {
    change(&hub, &body, apply_settings)
}

pub fn apply_settings(s: &mut model::State, v: &Value) -> Result<(), String> {
    let o = v.as_object().ok_or("expected a JSON object")?;
    let mut next = s.settings.clone();
    if let Some(b) = get_ci(o, "too_old") {
        next.too_old = b.as_bool().ok_or("\"too_old\" must be true or false")?;
    }
    if let Some(a) = get_ci(o, "too_old_answer") {
        next.too_old_answer = a
            .as_str()
            .ok_or("\"too_old_answer\" must be a text, \"html\" or \"empty\"")?
            .to_string();
    }
    if let Some(b) = get_ci(o, "no_device_text") {
        next.no_device_text = b
            .as_bool()
            .ok_or("\"no_device_text\" must be true or false")?;
    }
    if let Some(b) = get_ci(o, "release_without_lamp") {
        next.release_without_lamp = b
            .as_bool()
            .ok_or("\"release_without_lamp\" must be true or false")?;
    }
    if let Some(t) = get_ci(o, "token") {
        next.token = match t {
            Value::Null => None,
            Value::String(t) if t.is_empty() => None,
            Value::String(t) => Some(t.clone()),
            _ => return Err("\"token\" must be a string or null".into()),
        };
    }
    if let Some(b) = get_ci(o, "require_token") {
        next.require_token = b
            .as_bool()
            .ok_or("\"require_token\" must be true or false")?;
    }
    if next.require_token && next.token.is_none() {
        return Err("require_token needs a token".into());
    }
    s.settings = next;
    Ok(())
}

/// A list of lines `{sender, eventtype?, eventnames?, enabled?, alert_priority?}`, top = highest.
async fn priorities(State(hub): State<Arc<Hub>>, body: Bytes) -> Response {
    change(&hub, &body, |s, v| s.set_lines(v))
}

async fn reset(State(hub): State<Arc<Hub>>, body: Bytes) -> Response {
    change(&hub, &body, |s, _| {
        s.reset();
        Ok(())
    })
}
