//! The app websocket session, sans-IO in the quinn-proto style: the driver feeds socket events, the
//! launcher's `Login` and the time in (`handle_*`), and carries out what [`AppSession::poll_action`] returns;
//! [`AppSession::poll_timeout`] says when to call [`AppSession::handle_timeout`] next.
//!
//! Flow (docs/platform-facts.md §3.5): open → `{"mt":"AppChallenge"}` → `AppChallengeResult{challenge}` → `getLogin` posted to
//! myApps → `Login` (used only when its `pbxObj` is this app object) → `AppLogin` with the Login's fields →
//! `AppLoginResult{ok:true}` → connected. Then `{"mt":"KeepAlive"}` every 60 s; service messages come out as
//! [`SessionEvent::Message`], and [`AppSession::send_api`] sends the app's own.
//!
//! Failures: every step of the login must answer within [`STEP_TIMEOUT_MS`], or the socket is closed and
//! opened again. Reconnects wait 0.5 s, doubling to 32 s; a successful login resets the wait. An
//! `AppLoginResult{ok:false}` for a Login whose `info.unlicensed` is set ends the session for good: the user has
//! no license, and knocking every 32 s all day on every PC would only fill the service's log.
//!
//! Driver contract: after `CloseSocket` (or when it reported the socket closed) the driver drops that socket
//! and reports nothing more from it; there is at most one socket at a time.

use crate::fifo::Fifo;

use super::launcher::{self, LoginMsg};
use super::{scalar, truthy};
use crate::json::Json;
use crate::proto;

/// First reconnect delay.
pub const BACKOFF_MIN_MS: u64 = 500;
/// Longest reconnect delay.
pub const BACKOFF_MAX_MS: u64 = 32_000;
/// Period of `KeepAlive` while connected.
pub const KEEPALIVE_MS: u64 = 60_000;
/// Longest wait for each login step (socket open, challenge, myApps' `Login`, `AppLoginResult`). Each is
/// one round trip on a working system; 10 s is generous for a loaded PBX and short enough that a hung socket
/// does not keep the connector offline for long.
pub const STEP_TIMEOUT_MS: u64 = 10_000;

/// What the driver does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionAction {
    /// Open a websocket to this URL (the previous one is gone).
    OpenSocket(String),
    /// Send this text on the socket.
    SendSocket(String),
    /// Close the socket and forget it.
    CloseSocket,
    /// `window.parent.postMessage(text, "*")` (the `getLogin`).
    PostToParent(String),
    Event(SessionEvent),
}

/// What the app learns about the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// Logged in: [`AppSession::send_api`] works now. Send what the service must know (again).
    Connected,
    /// The connection that was up is lost; reconnecting. Sends fail until the next `Connected`.
    Disconnected,
    /// The user has no license for the app. Final: the session stops.
    Unlicensed,
    /// The login did not succeed (text for the trace); the session retries with back-off.
    LoginFailed(String),
    /// A message from the service (raw text, for `proto::parse_response`).
    Message(String),
}

/// Why [`AppSession::send_api`] did not send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// Not logged in. Messages are not queued: after an outage the app sends its *current* state on
    /// `Connected`, where a queue would replay stale requests (an old presence) and grow without bound in an
    /// app that runs all day.
    NotConnected,
    /// The text is not a JSON object.
    /// Longer than the service accepts ([`proto::MAX_MESSAGE_LEN`]).
    TooLarge,
}

impl SendError {
    pub fn as_str(&self) -> &'static str {
        match self {
            SendError::NotConnected => "not connected to the app service",
            SendError::TooLarge => "message too large",
        }
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for SendError {}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// No socket; open one at `at`.
    Waiting {
        at: u64,
    },
    /// `OpenSocket` issued.
    Opening {
        deadline: u64,
    },
    /// `AppChallenge` sent.
    Challenging {
        deadline: u64,
    },
    /// `getLogin` posted with `src`.
    AwaitingLogin {
        src: String,
        deadline: u64,
    },
    /// `AppLogin` sent; `unlicensed` from the Login's info.
    LoggingIn {
        deadline: u64,
        unlicensed: bool,
    },
    Connected {
        keepalive_at: u64,
    },
    /// Unlicensed or closed by the app: nothing more happens.
    Stopped,
}

/// One app websocket to the app service, with login through myApps.
#[derive(Debug)]
pub struct AppSession {
    ws_url: String,
    app: String,
    phase: Phase,
    /// Delay before the next reconnect.
    backoff_ms: u64,
    /// Last `src` handed out (for `getLogin` and `send_api`).
    src: u64,
    /// Why the last Login was not used, for the failure text if no usable one comes.
    ignored_login: Option<String>,
    actions: Fifo<SessionAction>,
}

/// A handshake reply (`AppChallengeResult`, `AppLoginResult`), or any other message while connected.
struct Reply(Json);

impl Reply {
    fn parse(text: &str) -> Option<Reply> {
        Json::parse(text).ok().map(Reply)
    }

    fn get(&self, name: &str) -> Option<&Json> {
        self.0.get(name)
    }

    fn mt(&self) -> &str {
        self.get("mt").and_then(Json::as_str).unwrap_or("")
    }
}

const APP_CHALLENGE: &str = r#"{"mt":"AppChallenge"}"#;
const KEEP_ALIVE: &str = r#"{"mt":"KeepAlive"}"#;

impl AppSession {
    /// A session to `ws_url` (see `StartParams::ws_url`) for the PBX app object `app_name` (`start.name`).
    /// It opens the socket at the first `handle_timeout` ([`AppSession::poll_timeout`] is `Some(0)`).
    /// A session for `ws_url`; without a URL (the app was not started by myApps) there is nothing to
    /// connect to, and the session is stopped from the start.
    pub fn new(ws_url: &str, app_name: &str) -> AppSession {
        AppSession {
            ws_url: ws_url.to_string(),
            app: app_name.to_string(),
            phase: if ws_url.trim().is_empty() {
                Phase::Stopped
            } else {
                Phase::Waiting { at: 0 }
            },
            backoff_ms: BACKOFF_MIN_MS,
            src: 0,
            ignored_login: None,
            actions: Fifo::new(),
        }
    }

    /// True while logged in.
    pub fn is_connected(&self) -> bool {
        matches!(self.phase, Phase::Connected { .. })
    }

    /// True once the session has stopped for good (unlicensed or [`AppSession::close`]).
    pub fn is_stopped(&self) -> bool {
        self.phase == Phase::Stopped
    }

    /// The next thing for the driver to do.
    pub fn poll_action(&mut self) -> Option<SessionAction> {
        self.actions.pop_front()
    }

    /// When [`AppSession::handle_timeout`] is due; `None` once stopped.
    pub fn poll_timeout(&self) -> Option<u64> {
        match &self.phase {
            Phase::Waiting { at } => Some(*at),
            Phase::Opening { deadline }
            | Phase::Challenging { deadline }
            | Phase::AwaitingLogin { deadline, .. }
            | Phase::LoggingIn { deadline, .. } => Some(*deadline),
            Phase::Connected { keepalive_at } => Some(*keepalive_at),
            Phase::Stopped => None,
        }
    }

    pub fn handle_timeout(&mut self, now: u64) {
        match &self.phase {
            Phase::Waiting { at } if now >= *at => {
                self.actions
                    .push_back(SessionAction::OpenSocket(self.ws_url.clone()));
                self.phase = Phase::Opening {
                    deadline: now.saturating_add(STEP_TIMEOUT_MS),
                };
            }
            Phase::Opening { deadline } | Phase::Challenging { deadline } if now >= *deadline => {
                // A network problem, not a login problem: no event, just another try.
                self.actions.push_back(SessionAction::CloseSocket);
                self.retry(now);
            }
            Phase::AwaitingLogin { deadline, .. } if now >= *deadline => {
                let why = match self.ignored_login.take() {
                    Some(why) => ["no usable Login from myApps (", &why, ")"].concat(),
                    None => "no Login from myApps".to_string(),
                };
                self.fail(now, why);
            }
            Phase::LoggingIn { deadline, .. } if now >= *deadline => {
                self.fail(now, "no AppLoginResult from the app service".to_string());
            }
            Phase::Connected { keepalive_at } if now >= *keepalive_at => {
                self.actions
                    .push_back(SessionAction::SendSocket(KEEP_ALIVE.to_string()));
                // From `now`, not from the old deadline: after the browser suspended the page for minutes,
                // one KeepAlive is enough, not one per missed minute.
                self.phase = Phase::Connected {
                    keepalive_at: now.saturating_add(KEEPALIVE_MS),
                };
            }
            _ => {}
        }
    }

    pub fn handle_socket_open(&mut self, now: u64) {
        if let Phase::Opening { .. } = self.phase {
            self.actions
                .push_back(SessionAction::SendSocket(APP_CHALLENGE.to_string()));
            self.phase = Phase::Challenging {
                deadline: now.saturating_add(STEP_TIMEOUT_MS),
            };
        }
    }

    pub fn handle_socket_closed(&mut self, now: u64) {
        match self.phase {
            Phase::Waiting { .. } | Phase::Stopped => {}
            Phase::Connected { .. } => {
                self.actions
                    .push_back(SessionAction::Event(SessionEvent::Disconnected));
                self.retry(now);
            }
            _ => self.retry(now),
        }
    }

    pub fn handle_socket_message(&mut self, now: u64, text: &str) {
        match self.phase {
            Phase::Challenging { .. } | Phase::LoggingIn { .. } => self.handshake(now, text),
            Phase::Connected { .. } => {
                // Handshake replies and keep-alive echoes are the session's business, not the app's.
                if let Some(r) = Reply::parse(text) {
                    if matches!(
                        r.mt(),
                        "AppChallengeResult" | "AppLoginResult" | "KeepAlive" | "KeepAliveResult"
                    ) {
                        return;
                    }
                }
                self.actions
                    .push_back(SessionAction::Event(SessionEvent::Message(
                        text.to_string(),
                    )));
            }
            _ => {}
        }
    }

    fn handshake(&mut self, now: u64, text: &str) {
        let Some(r) = Reply::parse(text) else {
            return;
        };
        match (&self.phase, r.mt()) {
            (Phase::Challenging { .. }, "AppChallengeResult") => {
                let Some(challenge) = scalar(r.get("challenge")) else {
                    return;
                };
                let src = self.next_src();
                self.actions
                    .push_back(SessionAction::PostToParent(launcher::get_login(
                        &src, &self.app, &challenge,
                    )));
                self.ignored_login = None;
                self.phase = Phase::AwaitingLogin {
                    src,
                    deadline: now.saturating_add(STEP_TIMEOUT_MS),
                };
            }
            (Phase::LoggingIn { unlicensed, .. }, "AppLoginResult") => {
                if truthy(r.get("ok")) {
                    self.backoff_ms = BACKOFF_MIN_MS;
                    self.phase = Phase::Connected {
                        keepalive_at: now.saturating_add(KEEPALIVE_MS),
                    };
                    self.actions
                        .push_back(SessionAction::Event(SessionEvent::Connected));
                } else if *unlicensed {
                    self.actions.push_back(SessionAction::CloseSocket);
                    self.actions
                        .push_back(SessionAction::Event(SessionEvent::Unlicensed));
                    self.phase = Phase::Stopped;
                } else {
                    let why = scalar(r.get("errorText"))
                        .or_else(|| scalar(r.get("error")))
                        .filter(|s| !s.trim().is_empty())
                        .unwrap_or_else(|| "LOGIN_FAILURE".to_string());
                    self.fail(now, super::clip(&why, 200));
                }
            }
            _ => {}
        }
    }

    /// The launcher's `Login`. Used only while waiting for one, only for this app object (`pbxObj`), and only
    /// when it answers the current `getLogin` (a `src` from an earlier one signs a challenge that is gone).
    pub fn handle_login(&mut self, now: u64, login: &LoginMsg) {
        let Phase::AwaitingLogin { src, .. } = &self.phase else {
            return;
        };
        if login.pbx_obj != self.app {
            self.ignored_login = Some(
                [
                    "Login for app object \"",
                    &super::clip(&login.pbx_obj, 64),
                    "\", expected \"",
                    &self.app,
                    "\"",
                ]
                .concat(),
            );
            return;
        }
        if login.src.as_ref().is_some_and(|s| s != src) {
            self.ignored_login = Some("Login for an earlier challenge".to_string());
            return;
        }
        // Valid JSON by construction (written from a parsed message); if a caller built a LoginMsg with
        // broken `info`, sending none is better than sending broken JSON. Parsed into the ordered tree, so
        // its keys keep their order.
        let info = login.info.as_ref().and_then(|i| Json::parse(i).ok());
        let mut msg = Json::object(vec![
            ("mt", "AppLogin".into()),
            ("app", login.app.as_str().into()),
            ("domain", login.domain.as_str().into()),
            ("sip", login.sip.as_str().into()),
            ("guid", login.guid.as_str().into()),
            ("dn", login.dn.as_str().into()),
        ]);
        if let Some(info) = info {
            msg.push("info", info);
        }
        msg.push("digest", login.digest.as_str().into());
        msg.push("pbxObj", self.app.as_str().into());
        let text = msg.to_text();
        self.actions.push_back(SessionAction::SendSocket(text));
        self.phase = Phase::LoggingIn {
            deadline: now.saturating_add(STEP_TIMEOUT_MS),
            unlicensed: login.unlicensed(),
        };
    }

    /// Sends `request` to the service, written once in its envelope (`api:"kuando"`, then `src`, then `mt`
    /// and the fields): `src` is the caller's, or a fresh one. Returns the `src` the result will echo. Fails
    /// instead of queueing when not connected (see [`SendError::NotConnected`]).
    pub fn send_api(
        &mut self,
        _now: u64,
        src: Option<String>,
        request: proto::Request,
    ) -> Result<String, SendError> {
        if !self.is_connected() {
            return Err(SendError::NotConnected);
        }
        let src = src.unwrap_or_else(|| self.next_src());
        let text = proto::Envelope::new(Some(src.clone()), request).to_json();
        if text.len() > proto::MAX_MESSAGE_LEN {
            return Err(SendError::TooLarge);
        }
        self.actions.push_back(SessionAction::SendSocket(text));
        Ok(src)
    }

    /// Ends the session (page unload): the socket is closed and nothing is reopened.
    pub fn close(&mut self, _now: u64) {
        match self.phase {
            Phase::Stopped => return,
            Phase::Waiting { .. } => {}
            Phase::Connected { .. } => {
                self.actions.push_back(SessionAction::CloseSocket);
                self.actions
                    .push_back(SessionAction::Event(SessionEvent::Disconnected));
            }
            _ => self.actions.push_back(SessionAction::CloseSocket),
        }
        self.phase = Phase::Stopped;
    }

    fn next_src(&mut self) -> String {
        self.src += 1;
        self.src.to_string()
    }

    /// Login failed: report, close, retry later.
    fn fail(&mut self, now: u64, why: String) {
        self.actions.push_back(SessionAction::CloseSocket);
        self.actions
            .push_back(SessionAction::Event(SessionEvent::LoginFailed(why)));
        self.retry(now);
    }

    /// Wait the current back-off, then open again; the next wait is twice as long (at most 32 s).
    fn retry(&mut self, now: u64) {
        self.phase = Phase::Waiting {
            at: now.saturating_add(self.backoff_ms),
        };
        self.backoff_ms = (self.backoff_ms * 2).min(BACKOFF_MAX_MS);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn without_a_url_the_session_never_opens_a_socket() {
        let mut s = super::AppSession::new("", "kuando");
        assert!(s.is_stopped());
        assert_eq!(s.poll_timeout(), None);
        s.handle_timeout(1_000_000);
        assert!(s.poll_action().is_none());
    }

    use super::*;
    use crate::myapps::LauncherMsg;

    const LOGIN: &str = r#"{"mt":"Login","src":"1","app":"innovaphone-kuando","domain":"example.com","sip":"bob","guid":"g1","dn":"Bob","pbxObj":"kuando","info":{"appobj":"kuando","lics":1},"digest":"d1"}"#;

    fn login(text: &str) -> LoginMsg {
        match LauncherMsg::parse(text) {
            Ok(LauncherMsg::Login(l)) => l,
            other => panic!("not a Login: {other:?}"),
        }
    }

    fn drain(s: &mut AppSession) -> Vec<SessionAction> {
        std::iter::from_fn(|| s.poll_action()).collect()
    }

    /// Drives a session up to `Connected` at time 0.
    fn connected() -> AppSession {
        let mut s = AppSession::new("wss://ap/dom/inst", "kuando");
        s.handle_timeout(0);
        s.handle_socket_open(0);
        s.handle_socket_message(0, r#"{"mt":"AppChallengeResult","challenge":"c1"}"#);
        s.handle_login(0, &login(LOGIN));
        s.handle_socket_message(0, r#"{"mt":"AppLoginResult","ok":true}"#);
        drain(&mut s);
        assert!(s.is_connected());
        s
    }

    #[test]
    fn sends_nothing_before_the_first_timeout() {
        let mut s = AppSession::new("wss://x", "kuando");
        assert_eq!(s.poll_action(), None);
        assert_eq!(s.poll_timeout(), Some(0));
        s.handle_timeout(0);
        assert_eq!(drain(&mut s), [SessionAction::OpenSocket("wss://x".into())]);
    }

    #[test]
    fn messages_before_login_do_not_reach_the_app() {
        let mut s = AppSession::new("wss://x", "kuando");
        s.handle_timeout(0);
        s.handle_socket_open(0);
        drain(&mut s);
        s.handle_socket_message(0, r#"{"api":"kuando","mt":"ConfigChanged"}"#);
        assert_eq!(drain(&mut s), []);
    }

    #[test]
    fn a_stale_login_src_is_not_used() {
        let mut s = AppSession::new("wss://x", "kuando");
        s.handle_timeout(0);
        s.handle_socket_open(0);
        s.handle_socket_message(0, r#"{"mt":"AppChallengeResult","challenge":"c1"}"#);
        drain(&mut s);
        s.handle_login(0, &login(&LOGIN.replace(r#""src":"1""#, r#""src":"0""#)));
        assert_eq!(drain(&mut s), []);
        // Without src (older launchers) it is used.
        s.handle_login(0, &login(&LOGIN.replace(r#""src":"1","#, "")));
        assert!(
            matches!(&drain(&mut s)[..], [SessionAction::SendSocket(t)] if t.contains("AppLogin"))
        );
    }

    #[test]
    fn keepalive_echo_and_handshake_replies_are_swallowed_when_connected() {
        let mut s = connected();
        s.handle_socket_message(1, r#"{"mt":"KeepAliveResult"}"#);
        s.handle_socket_message(1, r#"{"mt":"AppLoginResult","ok":true}"#);
        assert_eq!(drain(&mut s), []);
        s.handle_socket_message(1, "not json");
        assert_eq!(
            drain(&mut s),
            [SessionAction::Event(SessionEvent::Message(
                "not json".into()
            ))]
        );
    }

    #[test]
    fn send_api_adds_api_and_src_and_keeps_a_callers_src() {
        let mut s = connected();
        // The getLogin used src 1.
        assert_eq!(
            s.send_api(1, None, proto::Request::GetConfig),
            Ok("2".into())
        );
        assert_eq!(
            drain(&mut s),
            [SessionAction::SendSocket(
                r#"{"api":"kuando","src":"2","mt":"GetConfig"}"#.into()
            )]
        );
        assert_eq!(
            s.send_api(1, Some("77".into()), proto::Request::GetLicense),
            Ok("77".into())
        );
        let big = proto::Request::SetPresence {
            activity: String::new(),
            note: "x".repeat(proto::MAX_MESSAGE_LEN),
            guard: None,
        };
        assert_eq!(s.send_api(1, None, big), Err(SendError::TooLarge));
    }

    #[test]
    fn close_stops_everything() {
        let mut s = connected();
        s.close(5);
        assert_eq!(
            drain(&mut s),
            [
                SessionAction::CloseSocket,
                SessionAction::Event(SessionEvent::Disconnected)
            ]
        );
        assert!(s.is_stopped());
        assert_eq!(s.poll_timeout(), None);
        s.handle_socket_closed(6);
        s.handle_timeout(1_000_000);
        assert_eq!(drain(&mut s), []);
        assert_eq!(
            s.send_api(7, None, proto::Request::GetConfig),
            Err(SendError::NotConnected)
        );
    }
}
