//! The hidden app's status as a myApps API of its own (issue 14): the hidden app *provides*
//! [`API_STATUS`] and publishes what it sees as the API's model (`ApiModel`; myApps hands it to consumers
//! with `ApiUpdate`); the config app on the same client consumes it for its live status panel
//! (`crate::live`) and asks it for the diagnosis. No service round trip: both apps run in the same myApps.
//!
//! The protocol (requests are `ApiRequest`s to the provider, answers `ApiResult`s):
//! - `{"mt":"Watch"}` → the consumer watches: the model is published at once (fresh) and from then on on
//!   every change, answered by `{"mt":"WatchResult"}` after that first model.
//! - `{"mt":"Unwatch"}` or myApps' `ApiConsumerClosed` → the consumer stops watching.
//! - `{"mt":"GetDiagnosis"}` → `{"mt":"GetDiagnosisResult","lines":[…],"answers":[…],"now":T}`: the
//!   trace ring (every trace group, redacted) and the hub's last answer per request kind.
//!
//! Quiet when nobody looks: without a watcher nothing is built or posted, and with one the model goes out
//! only when its content changed (never periodically). Times in the model are the hidden app's clock
//! (`performance.now()` of its own frame) with that clock's `now` at publishing, so that the consumer, whose
//! clock has another origin, can place them on its own.
//!
//! This module is in the hidden app: no `format!` (see [`crate::text`]), JSON through [`crate::json`].

use crate::engine::{Connector, HubStatus, RequestId, Status};
use crate::hub::{self, Outcome, RequestKind};
use crate::json::Json;
use crate::myapps::{clip, launcher, ApiMsg};
use crate::state::Presence;
use crate::text::{cat, num};

/// The API the hidden app provides and the config app consumes. In innovaphone's naming style for client
/// APIs; announced for the hidden app in the service's `config.json` (`apis.innovaphone-kuando`).
pub const API_STATUS: &str = "com.innovaphone.kuando.status";
/// Consumers watched at once (a config app per window at most; bounded for an app that runs all day).
pub const MAX_WATCHERS: usize = 8;
/// Longest hub answer body kept for the diagnosis (characters).
pub const MAX_ANSWER_CHARS: usize = 300;
/// Hub requests in flight whose kind is remembered (the engine has at most three: two lanes and a `Logout`).
const MAX_INFLIGHT: usize = 8;

/// The hub's last answer to one kind of request, for the diagnosis.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    what: &'static str,
    at: u64,
    text: String,
}

/// The provider side of [`API_STATUS`], held by the hidden app (`ConnectorApp`).
#[derive(Debug, Default)]
pub struct StatusApi {
    watchers: Vec<String>,
    /// The model last published, without its `now`: the same content is not published twice.
    published: Option<String>,
    /// Something the model shows may have changed since the last look.
    dirty: bool,
    hub: Option<HubStatus>,
    hub_since: u64,
    error: Option<String>,
    error_at: u64,
    /// The Busylight models of the last device list.
    models: Option<Vec<String>>,
    inflight: Vec<(RequestId, RequestKind)>,
    answers: Vec<Answer>,
}

impl StatusApi {
    /// Whether a consumer watches.
    pub fn watched(&self) -> bool {
        !self.watchers.is_empty()
    }

    /// The engine's status changed (its `Action::Status`): remember since when the hub and the last error
    /// are what they are.
    pub fn on_status(&mut self, now: u64, st: &Status) {
        if self.hub != Some(st.hub) {
            self.hub = Some(st.hub);
            self.hub_since = now;
        }
        if st.last_error != self.error {
            self.error.clone_from(&st.last_error);
            self.error_at = now;
        }
        self.dirty = true;
    }

    /// A hub request went out.
    pub fn on_request(&mut self, id: RequestId, kind: RequestKind) {
        if self.inflight.len() >= MAX_INFLIGHT {
            self.inflight.remove(0);
        }
        self.inflight.push((id, kind));
    }

    /// The outcome of a hub request, before the engine takes it. `redact` masks the token.
    pub fn on_outcome(
        &mut self,
        now: u64,
        id: RequestId,
        outcome: &Outcome,
        redact: impl Fn(&str) -> String,
    ) {
        let Some(i) = self.inflight.iter().position(|(r, _)| *r == id) else {
            return;
        };
        let (_, kind) = self.inflight.remove(i);
        let what = kind_name(kind);
        let text = match outcome {
            Outcome::Answer { status, body } => {
                if kind == RequestKind::Devices {
                    if let Ok(list) = hub::parse_devices(*status, body) {
                        self.models = Some(list.into_iter().map(|d| d.model).collect());
                        self.dirty = true;
                    }
                }
                let body = match core::str::from_utf8(body) {
                    Ok(b) => redact(&clip(b.trim(), MAX_ANSWER_CHARS)),
                    Err(_) => cat(&["(", &num(body.len() as u64), " bytes, not UTF-8)"]),
                };
                cat(&["HTTP ", &num(u64::from(*status)), " ", &body])
            }
            Outcome::Timeout => "no answer in time".to_string(),
            Outcome::Network => {
                "network error (refused, blocked by the browser, CORS or mixed content)".to_string()
            }
        };
        let text = match kind {
            RequestKind::Command(cmd, _) => cat(&[&cmd.describe(), ": ", &text]),
            _ => text,
        };
        self.answers.retain(|a| a.what != what);
        self.answers.push(Answer {
            what,
            at: now,
            text,
        });
    }

    /// A request of a consumer (`ApiRequest` to [`API_STATUS`]). Returns the texts to post to myApps, in
    /// order.
    pub fn handle_request(&mut self, now: u64, req: &ApiMsg, engine: &Connector) -> Vec<String> {
        let mut out = Vec::new();
        let answer = match req.mt() {
            "Watch" => {
                if !self.watchers.contains(&req.consumer) {
                    if self.watchers.len() >= MAX_WATCHERS {
                        self.watchers.remove(0);
                    }
                    self.watchers.push(req.consumer.clone());
                }
                // A new watcher gets the model now, even if it did not change: the copy myApps kept may be old.
                self.published = None;
                self.dirty = true;
                out.extend(self.poll_publish(now, engine));
                Json::object(vec![("mt", "WatchResult".into())])
            }
            "Unwatch" => {
                self.consumer_closed(&req.consumer);
                Json::object(vec![("mt", "UnwatchResult".into())])
            }
            "GetDiagnosis" => self.diagnosis(now, engine),
            other => Json::object(vec![
                ("mt", cat(&[other, "Result"]).into()),
                ("error", "unknown request".into()),
            ]),
        };
        out.push(launcher::api_result(
            API_STATUS,
            &req.consumer,
            req.src.as_deref(),
            &answer,
        ));
        out
    }

    /// myApps says a consumer is gone (`ApiConsumerClosed`), or it said `Unwatch`.
    pub fn consumer_closed(&mut self, consumer: &str) {
        self.watchers.retain(|w| w != consumer);
        if self.watchers.is_empty() {
            self.published = None;
        }
    }

    /// Reads a launcher message that no other part of the app uses: `ApiConsumerClosed` for [`API_STATUS`]
    /// ends that consumer's watch. Anything else is ignored.
    pub fn handle_other_launcher_msg(&mut self, text: &str) {
        let Ok(m) = Json::parse(text) else {
            return;
        };
        let s = |k: &str| m.get(k).and_then(Json::as_str).unwrap_or("");
        if s("mt") == "ApiConsumerClosed" && s("api") == API_STATUS {
            self.consumer_closed(s("consumer"));
        }
    }

    /// The `ApiModel` to post, when a consumer watches and the model changed.
    pub fn poll_publish(&mut self, now: u64, engine: &Connector) -> Option<String> {
        if !self.dirty || self.watchers.is_empty() {
            return None;
        }
        self.dirty = false;
        let mut model = self.model(&engine.status(), engine);
        let text = model.to_text();
        if self.published.as_deref() == Some(text.as_str()) {
            return None;
        }
        self.published = Some(text);
        model.push("now", now.into());
        let msg = Json::object(vec![
            ("mt", "ApiModel".into()),
            ("api", API_STATUS.into()),
            ("model", model),
        ]);
        Some(msg.to_text())
    }

    fn model(&self, st: &Status, engine: &Connector) -> Json {
        let mut m = Json::object(vec![("v", 1u8.into()), ("run", st.running.into())]);
        if !st.running {
            m.push("why", why_stopped(st).into());
        }
        if let Some(l) = st.license {
            m.push("lic", l.as_str().into());
        }
        m.push("hub", st.hub.as_str().into());
        if let Some(u) = &st.hub_url {
            m.push("url", u.as_str().into());
        }
        m.push("since", self.hub_since.into());
        if let Some(t) = st.next_retry_ms {
            m.push("retry", t.into());
        }
        if let Some(n) = st.devices {
            m.push("lamps", (n as u64).into());
        }
        if let Some(list) = &self.models {
            m.push(
                "models",
                Json::Array(list.iter().map(|s| s.as_str().into()).collect()),
            );
        }
        if st.no_device {
            m.push("nolamp", true.into());
        }
        if let Some(slot) = st.lamp {
            m.push("lamp", slot.as_str().into());
            m.push("cmd", engine.lamp_command().describe().into());
        }
        m.push("calls", (st.calls as u64).into());
        if let Some(p) = &st.presence_user {
            m.push("own", presence(p));
        }
        if let Some((s, t, e)) = engine.hub_report() {
            m.push(
                "rc",
                Json::object(vec![("s", s.into()), ("t", t.into()), ("e", e.into())]),
            );
        }
        if let Some(p) = &st.presence_applied {
            m.push("set", presence(p));
        }
        if let Some(e) = &st.last_error {
            m.push("err", e.as_str().into());
            m.push("errAt", self.error_at.into());
        }
        m
    }

    fn diagnosis(&self, now: u64, engine: &Connector) -> Json {
        let lines = engine
            .trace_ring()
            .lines()
            .map(|l| l.as_str().into())
            .collect();
        let answers = self
            .answers
            .iter()
            .map(|a| {
                Json::object(vec![
                    ("what", a.what.into()),
                    ("at", a.at.into()),
                    ("text", a.text.as_str().into()),
                ])
            })
            .collect();
        Json::object(vec![
            ("mt", "GetDiagnosisResult".into()),
            ("version", version().into()),
            ("lines", Json::Array(lines)),
            ("answers", Json::Array(answers)),
            ("now", now.into()),
        ])
    }
}

/// Why the connector does not run, as the model says it: `service` (license not known yet: the app
/// service has not answered), `license`, `url` (the hub URL in the settings is unusable), `settings` (none
/// yet) or `stopped` (shut down).
fn why_stopped(st: &Status) -> &'static str {
    match st.license {
        None => "service",
        Some(crate::proto::License::None) => "license",
        Some(_) if st.hub == HubStatus::NotConfigured => "url",
        Some(_) if st.hub_url.is_none() => "settings",
        Some(_) => "stopped",
    }
}

fn presence(p: &Presence) -> Json {
    Json::object(vec![
        ("a", p.activity.as_str().into()),
        ("n", p.note.as_str().into()),
    ])
}

/// The diagnosis' name of a request kind.
fn kind_name(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Probe => "probe",
        RequestKind::CurrentPresence => "currentpresence",
        RequestKind::Devices => "busylightdevices",
        RequestKind::RegisterDataSource => "RegisterDataSource",
        RequestKind::CreateInitialPriority => "CreateInitialPriority",
        RequestKind::Command(..) => "lamp command",
    }
}

/// The app's version and build: the crate version, and `KUANDO_BUILD` if the build set it (e.g. a commit).
pub fn version() -> String {
    match option_env!("KUANDO_BUILD") {
        Some(b) if !b.is_empty() => cat(&[env!("CARGO_PKG_VERSION"), " build ", b]),
        _ => env!("CARGO_PKG_VERSION").to_string(),
    }
}
