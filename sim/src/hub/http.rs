//! The HTTP side of the simulated hub: accept loop, token check, CORS, injected faults and the request log.
//!
//! The server is hyper driven directly rather than `axum::serve`, because one fault must close a connection
//! without any answer, which only a service that can fail does (hyper drops the connection when the service
//! returns an error). `/_sim/` requests go to the axum router of [`super::control`].

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Query;
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tower::ServiceExt;

use super::lenient;
use super::model::{Call, FaultMode, LogEntry, Reply};
use super::Hub;

/// Larger request bodies close the connection.
const MAX_BODY: usize = 256 * 1024;
/// Bodies are logged up to this many characters.
const LOG_BODY_CHARS: usize = 4000;

/// The error that makes hyper close a connection without answering.
#[derive(Debug)]
pub struct Closed;

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection closed by the simulator")
    }
}

impl std::error::Error for Closed {}

/// Accepts connections until the task is aborted; aborting drops the `JoinSet` and with it every connection.
pub async fn serve(listener: TcpListener, hub: Arc<Hub>, router: Router) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let hub = hub.clone();
                    let router = router.clone();
                    conns.spawn(async move {
                        let svc = hyper::service::service_fn(move |req| {
                            handle(hub.clone(), router.clone(), req)
                        });
                        // Errors here are clients going away or the Closed fault: nothing to report.
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), svc)
                            .await;
                    });
                }
                // Out of file descriptors and the like: wait a little instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn handle(
    hub: Arc<Hub>,
    router: Router,
    req: Request<Incoming>,
) -> Result<Response<Body>, Closed> {
    let path = req.uri().path();
    if path == "/_sim" || path.starts_with("/_sim/") {
        let mut resp = router
            .oneshot(req.map(Body::new))
            .await
            .unwrap_or_else(|e: Infallible| match e {});
        // Readable from any origin, like the hub's own answers: the browser tests (tests/web_drivers.rs) set
        // faults and read the log from their test page, which is served from another port. Only simple
        // requests (GET, POST text/plain) are needed, so no preflight handling.
        resp.headers_mut()
            .insert("access-control-allow-origin", HeaderValue::from_static("*"));
        return Ok(resp);
    }
    let (parts, body) = req.into_parts();
    let token = hub.lock().settings.token.clone();
    let url = redact(
        &parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        token.as_deref(),
    );
    let mut entry = LogEntry {
        seq: 0,
        t_ms: hub.lock().elapsed_ms(),
        method: parts.method.to_string(),
        url,
        action: String::new(),
        sender: None,
        body: None,
        status: None,
        fault: None,
        lenient: Vec::new(),
        error: None,
    };
    let bytes = match axum::body::to_bytes(Body::new(body), MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            entry.error = Some(format!("body unreadable or over {MAX_BODY} bytes: closed"));
            hub.lock().push_log(entry);
            return Err(Closed);
        }
    };
    let body_text = String::from_utf8_lossy(&bytes).into_owned();
    if !bytes.is_empty() {
        entry.body = Some(redact(
            &body_text.chars().take(LOG_BODY_CHARS).collect::<String>(),
            token.as_deref(),
        ));
    }
    let call = parse_call(&parts.method, &parts.uri, &body_text);
    entry.action = call.action_key();
    entry.sender = call.sender();

    let fault = hub.lock().take_fault(&entry.action);
    match fault {
        None | Some(FaultMode::None) => {}
        Some(FaultMode::Close) => {
            entry.fault = Some("connection closed without an answer".into());
            hub.lock().push_log(entry);
            return Err(Closed);
        }
        Some(FaultMode::Delay(ms)) => {
            entry.fault = Some(format!("answer delayed {ms} ms"));
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        Some(FaultMode::Garbage) => {
            entry.fault = Some("garbage body".into());
            entry.status = Some(200);
            hub.lock().push_log(entry);
            // A truncated JSON start, binary and HTML: nothing a parser may take for an answer.
            let garbage = Reply {
                status: 200,
                content_type: "application/json",
                body: "{\"runningcommand\":\u{0}\u{1}<html><body>Internal exception \u{fffd}\u{7f}"
                    .into(),
                error: None,
            };
            return Ok(respond(&garbage, &parts.headers));
        }
        Some(FaultMode::Status(code)) => {
            entry.fault = Some(format!("status {code}"));
            entry.status = Some(code);
            hub.lock().push_log(entry);
            let r = Reply {
                status: code,
                content_type: "text/plain; charset=utf-8",
                body: format!("simulated fault: HTTP {code}"),
                error: None,
            };
            return Ok(respond(&r, &parts.headers));
        }
    }

    if matches!(call, Call::Options) && hub.lock().settings.no_preflight {
        // A server that does not know CORS preflights: no CORS headers, so the browser refuses the request
        // that asked for it (the `http_token` header never reaches the hub).
        entry.status = Some(405);
        entry.error = Some("preflight refused (no_preflight)".into());
        hub.lock().push_log(entry);
        let mut resp = Response::new(Body::from("Method not allowed"));
        *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        return Ok(resp);
    }
    let reply = if matches!(call, Call::Options) {
        // A preflight never carries credentials, so it is not checked for the token.
        Reply {
            status: 204,
            content_type: "text/plain",
            body: String::new(),
            error: None,
        }
    } else if !token_ok(&hub, &parts.uri, &parts.headers) {
        Reply::unauthorized()
    } else {
        let mut s = hub.lock();
        let r = s.dispatch(&call, &mut entry.lenient);
        drop(s);
        r
    };
    entry.status = Some(reply.status);
    entry.error = reply.error.clone();
    hub.lock().push_log(entry);
    Ok(respond(&reply, &parts.headers))
}

fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|q| q.0)
        .unwrap_or_default()
}

fn parse_call(method: &Method, uri: &Uri, body: &str) -> Call {
    match *method {
        Method::OPTIONS => Call::Options,
        Method::GET | Method::HEAD => Call::Get(query_pairs(uri)),
        // Any content type is accepted: the manual's samples send none, the connector sends text/plain.
        Method::POST => Call::Post(lenient::parse(body).and_then(|(v, notes)| match v {
            Value::Object(o) => Ok((o, notes)),
            _ => Err("not a JSON object".into()),
        })),
        ref m => Call::Other(m.to_string()),
    }
}

/// Without `require_token` every request passes, as on the real hub for requests from this PC. With it, one
/// of `accesstoken`/`http_token` in the query or the `http_token` header must equal the token. (The real
/// hub takes the first two [M p.16]; the reference connector sends `http_token` in the query.)
fn token_ok(hub: &Hub, uri: &Uri, headers: &HeaderMap) -> bool {
    let s = hub.lock();
    if !s.settings.require_token {
        return true;
    }
    let Some(token) = s.settings.token.clone() else {
        return false;
    };
    drop(s);
    let in_query = query_pairs(uri).into_iter().any(|(k, v)| {
        (k.eq_ignore_ascii_case("accesstoken") || k.eq_ignore_ascii_case("http_token"))
            && v == token
    });
    let in_header = headers
        .get_all("http_token")
        .iter()
        .any(|v| v.as_bytes() == token.as_bytes());
    in_query || in_header
}

/// Replaces token values in a URL or body: the query parameters by name, and the configured token wherever
/// it appears (long enough tokens only, so a one-letter token does not blank out the log).
fn redact(text: &str, token: Option<&str>) -> String {
    let mut out = match text.split_once('?') {
        None => text.to_string(),
        Some((path, query)) => {
            let q: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _))
                        if k.eq_ignore_ascii_case("accesstoken")
                            || k.eq_ignore_ascii_case("http_token") =>
                    {
                        format!("{k}=***")
                    }
                    _ => pair.to_string(),
                })
                .collect();
            format!("{path}?{}", q.join("&"))
        }
    };
    if let Some(t) = token.filter(|t| t.len() >= 4) {
        out = out.replace(t, "***");
    }
    out
}

/// The answer with CORS headers, which the hub sends on every answer ("it does also support CORS"). A
/// preflight gets the methods and headers it asks for, and Chrome's private-network permission (an https
/// myApps page calling a hub on localhost).
fn respond(r: &Reply, req_headers: &HeaderMap) -> Response<Body> {
    let mut resp = Response::new(Body::from(Bytes::from(r.body.clone())));
    *resp.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
    let h = resp.headers_mut();
    let set = |h: &mut HeaderMap, k: &'static str, v: HeaderValue| {
        h.insert(k, v);
    };
    if !r.body.is_empty() {
        set(h, "content-type", HeaderValue::from_static(r.content_type));
    }
    set(
        h,
        "access-control-allow-origin",
        HeaderValue::from_static("*"),
    );
    set(
        h,
        "access-control-allow-methods",
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    let allow_headers = req_headers
        .get("access-control-request-headers")
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("content-type, http_token"));
    set(h, "access-control-allow-headers", allow_headers);
    set(h, "access-control-max-age", HeaderValue::from_static("600"));
    if req_headers.contains_key("access-control-request-private-network") {
        set(
            h,
            "access-control-allow-private-network",
            HeaderValue::from_static("true"),
        );
    }
    set(h, "cache-control", HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_redacted() {
        assert_eq!(
            redact(
                "/?action=light&accesstoken=s3cret&HTTP_TOKEN=s3cret",
                Some("s3cret")
            ),
            "/?action=light&accesstoken=***&HTTP_TOKEN=***"
        );
        assert_eq!(
            redact("{\"x\":\"s3cret\"}", Some("s3cret")),
            "{\"x\":\"***\"}"
        );
        assert_eq!(redact("/?a=b", Some("b")), "/?a=b");
        assert_eq!(redact("/", None), "/");
    }
}
