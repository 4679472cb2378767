//! The hidden app's status as a myApps API of its own (issue 14): the hidden app *provides*
//! [`API_STATUS`] and publishes what it sees as the API's model (`ApiModel`; myApps hands it to consumers
//! with `ApiUpdate`); the config app on the same client consumes it for its live status panel
//! (`crate::config_app::live`) and asks it for the diagnosis. No service round trip: both apps run in the same myApps.
//!
//! The protocol (requests are `ApiRequest`s to the provider, answers `ApiResult`s):
//! - `{"mt":"Watch"}` → the consumer watches: the model is published at once (fresh) and from then on on
//!   every change, answered by `{"mt":"WatchResult"}` after that first model.
//! - myApps' `ApiConsumerClosed` → the consumer stops watching.
//! - `{"mt":"ClearMissedCall"}` → the missed-call notification ends; no answer (the model shows it).
//! - `{"mt":"GetDiagnosis"}` → `{"mt":"GetDiagnosisResult","version":V,"lines":[…],"answers":[…],"now":T}`:
//!   the trace ring (every trace group, redacted) and the hub's last answer per request kind as
//!   `[kind, at, status, body]` (kind an index in [`KIND_NAMES`], status [`NO_ANSWER`] / [`NETWORK_ERROR`] when there was none).
//! - anything else: no answer.
//!
//! Quiet when nobody looks: without a watcher nothing is built or posted, and with one the model goes out
//! only when its content changed (never periodically). Times in the model are the hidden app's clock
//! (`performance.now()` of its own frame) with that clock's `now` at publishing, so that the consumer, whose
//! clock has another origin, can place them on its own.
//!
//! JSON through [`crate::json`].

use serde::Serialize;

use crate::engine::{Connector, Status};
use crate::hub::{HubOutcome, RequestKind};
use crate::json::Json;
use crate::myapps::{launcher, ApiMsg};

/// The API the hidden app provides and the config app consumes. In innovaphone's naming style for client
/// APIs; announced for the hidden app in the service's `config.json` (`apis.innovaphone-kuando`).
pub const API_STATUS: &str = "com.innovaphone.kuando.status";
/// The config app's request to end the missed-call notification (`{"mt":"ClearMissedCall"}`, no answer).
pub const CLEAR_MISSED_CALL: &str = "ClearMissedCall";
/// Consumers watched at once (a config app per window at most; bounded for an app that runs all day).
pub const MAX_WATCHERS: usize = 8;
/// Longest hub answer body kept for the diagnosis (bytes; a device list of four lamps fits).
pub const MAX_ANSWER_BYTES: usize = 1_000;

/// The hub's last answer to one kind of request, for the diagnosis. Kept raw; the config app words it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    at: u64,
    /// The HTTP status, or [`NO_ANSWER`] / [`NETWORK_ERROR`].
    status: u64,
    /// The body, redacted; empty when longer than [`MAX_ANSWER_BYTES`].
    body: String,
}

/// [`Answer::status`] of a request that got no answer in time.
pub const NO_ANSWER: u64 = 0;
/// [`Answer::status`] of a request the browser refused or could not send.
pub const NETWORK_ERROR: u64 = 1;

/// The provider side of [`API_STATUS`], held by the hidden app (`ConnectorApp`).
#[derive(Debug, Default)]
pub struct StatusApi {
    watchers: Vec<String>,
    /// The model last published, without its `now`: the same content is not published twice.
    published: Option<String>,
    /// Something the model shows may have changed since the last look.
    dirty: bool,
    /// The engine's status as it last told (its `Action::Status`, sent on every change).
    last: Option<Status>,
    hub_since: u64,
    error_at: u64,
    /// By [`kind_index`].
    answers: [Option<Answer>; 6],
}

impl StatusApi {
    /// Whether a consumer watches.
    pub fn watched(&self) -> bool {
        !self.watchers.is_empty()
    }

    /// The engine's status changed (its `Action::Status`): remember since when the hub and the last error
    /// are what they are.
    pub fn on_status(&mut self, now: u64, st: Status) {
        let last = self.last.as_ref();
        if last.map(|l| l.hub) != Some(st.hub) {
            self.hub_since = now;
        }
        if last.map(|l| &l.last_error) != Some(&st.last_error) {
            self.error_at = now;
        }
        self.last = Some(st);
        self.dirty = true;
    }

    /// The outcome of a hub request of `kind` (asked from the engine before it takes the outcome).
    /// `redact` masks the token.
    pub fn on_outcome(
        &mut self,
        now: u64,
        kind: RequestKind,
        outcome: &HubOutcome,
        redact: impl Fn(&str) -> String,
    ) {
        // Any answer may change what the hub reports; the model goes out only if its text changed.
        self.dirty = true;
        let (status, body) = match outcome {
            HubOutcome::Answer { status, body } => {
                // A longer body (or one that is not text) is left out: the status still tells.
                let text = match core::str::from_utf8(body) {
                    Ok(t) if t.len() <= MAX_ANSWER_BYTES => redact(t),
                    _ => String::new(),
                };
                (u64::from(*status), text)
            }
            HubOutcome::Timeout => (NO_ANSWER, String::new()),
            HubOutcome::Network => (NETWORK_ERROR, String::new()),
        };
        self.answers[kind_index(kind)] = Some(Answer {
            at: now,
            status,
            body,
        });
    }

    /// A request of a consumer (`ApiRequest` to [`API_STATUS`]). Returns the texts to post to myApps, in
    /// order.
    pub fn handle_request(&mut self, now: u64, req: &ApiMsg, engine: &Connector) -> Vec<String> {
        let mut out = Vec::new();
        let answer = match req.mt() {
            "Watch" => {
                if !self.watchers.contains(&req.consumer) && self.watchers.len() < MAX_WATCHERS {
                    self.watchers.push(req.consumer.clone());
                }
                // A new watcher gets the model now, even if it did not change: the copy myApps kept may be old.
                self.published = None;
                self.dirty = true;
                if let Some(t) = self.poll_publish(now, engine) {
                    out.push(t);
                }
                Json::object(vec![("mt", "WatchResult".into())])
            }
            "GetDiagnosis" => self.diagnosis(now, engine),
            // Nothing else is offered; an unknown request gets no answer.
            _ => return out,
        };
        out.push(launcher::api_result(
            API_STATUS,
            &req.consumer,
            req.src.as_deref(),
            &answer,
        ));
        out
    }

    /// myApps says a consumer is gone (`ApiConsumerClosed`).
    pub fn consumer_closed(&mut self, consumer: &str) {
        if let Some(i) = self.watchers.iter().position(|w| w == consumer) {
            self.watchers.swap_remove(i);
        }
        if self.watchers.is_empty() {
            self.published = None;
        }
    }

    /// The `ApiModel` to post, when a consumer watches and the model changed.
    pub fn poll_publish(&mut self, now: u64, engine: &Connector) -> Option<String> {
        if !self.dirty || self.watchers.is_empty() {
            return None;
        }
        self.dirty = false;
        let mut model = self.model(self.last.as_ref()?, engine);
        let text = serde_json::to_string(&model).ok()?;
        if self.published.as_deref() == Some(text.as_str()) {
            return None;
        }
        model.now = Some(now);
        let msg = serde_json::to_string(&ApiModel {
            mt: "ApiModel",
            api: API_STATUS,
            model,
        })
        .ok()?;
        self.published = Some(text);
        Some(msg)
    }

    /// The published model: field names short, absent fields left out, `now` last.
    fn model<'a>(&self, st: &'a Status, engine: &'a Connector) -> Model<'a> {
        let presence = |p: &'a Option<crate::state::Presence>| {
            p.as_ref().map(|p| PresenceModel {
                a: &p.activity,
                n: &p.note,
            })
        };
        Model {
            v: 1,
            run: st.running,
            lic: st.license.map(|l| l.as_str()),
            hub: st.hub.as_str(),
            url: st.hub_url.as_deref(),
            since: self.hub_since,
            retry: st.next_retry_ms,
            lamps: st.devices,
            nolamp: st.no_device,
            lamp: st.lamp.map(|slot| slot.as_str()),
            calls: st.calls,
            own: presence(&st.presence_user),
            set: presence(&st.presence_applied),
            rc: engine
                .hub_report()
                .map(|(s, t, e)| RunningModel { s, t, e }),
            tokurl: st.token_in_url,
            missed: st.missed_call_since,
            hides: st.hidden_calls.as_deref(),
            err: st.last_error.as_deref(),
            err_at: st.last_error.as_ref().map(|_| self.error_at),
            now: None,
        }
    }

    fn diagnosis(&self, now: u64, engine: &Connector) -> Json {
        let mut lines = Vec::new();
        let (old, new) = engine.trace_ring().parts();
        for part in [old, new] {
            for l in part {
                lines.push(Json::from(l.as_str()));
            }
        }
        let mut answers = Vec::new();
        for (what, a) in self.answers.iter().enumerate() {
            let Some(a) = a else { continue };
            answers.push(Json::Array(vec![
                (what as u64).into(),
                a.at.into(),
                a.status.into(),
                a.body.as_str().into(),
            ]));
        }
        Json::object(vec![
            ("mt", "GetDiagnosisResult".into()),
            ("version", version().into()),
            ("lines", Json::Array(lines)),
            ("answers", Json::Array(answers)),
            ("now", now.into()),
        ])
    }
}

/// `{"mt":"ApiModel","api":…,"model":…}`, as myApps relays a provider's model.
#[derive(Serialize)]
struct ApiModel<'a> {
    mt: &'static str,
    api: &'static str,
    model: Model<'a>,
}

/// The status model on the wire (read by the config app's live panel, `config_app::live`).
#[derive(Serialize)]
struct Model<'a> {
    v: u8,
    run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    lic: Option<&'static str>,
    hub: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    since: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lamps: Option<usize>,
    #[serde(skip_serializing_if = "is_false")]
    nolamp: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    lamp: Option<&'static str>,
    calls: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    own: Option<PresenceModel<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    set: Option<PresenceModel<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rc: Option<RunningModel<'a>>,
    #[serde(skip_serializing_if = "is_false")]
    tokurl: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    missed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hides: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    err: Option<&'a str>,
    #[serde(rename = "errAt", skip_serializing_if = "Option::is_none")]
    err_at: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    now: Option<u64>,
}

#[derive(Serialize)]
struct PresenceModel<'a> {
    a: &'a str,
    n: &'a str,
}

/// What runs on the hub: sender, event type, event name.
#[derive(Serialize)]
struct RunningModel<'a> {
    s: &'a str,
    t: &'a str,
    e: &'a str,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Index in [`KIND_NAMES`].
fn kind_index(kind: RequestKind) -> usize {
    match kind {
        RequestKind::Probe | RequestKind::TokenCheck => 0,
        RequestKind::CurrentPresence | RequestKind::OwnPriority(_) => 1,
        RequestKind::Devices => 2,
        RequestKind::RegisterDataSource => 3,
        RequestKind::CreateInitialPriority => 4,
        RequestKind::Command(..)
        | RequestKind::StartNotification
        | RequestKind::StopNotification => 5,
    }
}

/// The diagnosis' names of the request kinds, by the number the hidden app sends (the config app names
/// them: fewer texts in the hidden app).
pub const KIND_NAMES: [&str; 6] = [
    "probe",
    "currentpresence",
    "busylightdevices",
    "RegisterDataSource",
    "CreateInitialPriority",
    "lamp command",
];

/// The app's version (the crate's).
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
