//! The hidden app's status as a myApps API of its own: the hidden app *provides*
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
//! The model is one type, [`StatusModel`], written by the hidden app and read by the config app with the
//! same serde derives: unknown fields are ignored and missing ones empty, so that an older or newer hidden
//! app still shows what both know.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize};

use crate::engine::{Connector, Status};
use crate::hub::{HubOutcome, RequestKind};
use crate::myapps::launcher::{self, Mt};
use crate::myapps::ApiMsg;
use crate::state::Presence;

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

/// The status model the hidden app publishes (`ApiModel`) and the config app reads from myApps' `ApiUpdate`.
/// Short names on the wire: it goes out on every change while someone watches. Absent fields are left out.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StatusModel {
    /// The model's version ([`MODEL_VERSION`]); `None` for anything that is not a status model (e.g. the
    /// empty model myApps shows before the first).
    pub v: Option<u64>,
    /// The connector runs (licensed, with usable settings).
    pub run: bool,
    /// The license as the service told it (`proto::License`'s names); absent until it told.
    #[serde(rename = "lic", skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// The hub's state (`engine::HubStatus`'s names).
    pub hub: String,
    /// The hub's base URL (never with the token); absent without usable settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Since when the hub is in its state.
    pub since: u64,
    /// When the hub is tried again, while it is failing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<u64>,
    /// Connected Busylights, when the hub told.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lamps: Option<u64>,
    /// No Busylight (an empty device list, or a lamp command answered with 404).
    #[serde(rename = "nolamp", skip_serializing_if = "is_false")]
    pub no_lamp: bool,
    /// What the lamp shows for the connector (`config::LampSlot`'s names); absent when released.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lamp: Option<String>,
    /// Calls in progress.
    pub calls: u64,
    /// The user's own presence.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "object")]
    pub own: Option<ModelPresence>,
    /// The presence the connector set from the hub.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "object")]
    pub set: Option<ModelPresence>,
    /// The hub's running command of another application.
    #[serde(
        rename = "rc",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "object"
    )]
    pub running: Option<RunningCommand>,
    /// The hub refused the token header: the token goes in the URL.
    #[serde(rename = "tokurl", skip_serializing_if = "is_false")]
    pub token_in_url: bool,
    /// Since when the lamp shows a missed call.
    #[serde(rename = "missed", skip_serializing_if = "Option::is_none")]
    pub missed_call: Option<u64>,
    /// The connector's presence line hides other apps' calls: the source found under it, or `""` when the
    /// hub does not tell (see `engine::hidden`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hides: Option<String>,
    /// The last problem, in words for the user.
    #[serde(rename = "err", skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When the last problem began.
    #[serde(rename = "errAt", skip_serializing_if = "Option::is_none")]
    pub error_at: Option<u64>,
    /// The hidden app's clock when it published: the consumer places the times above on its own clock.
    pub now: u64,
    /// The model as it came (the consumer's, for the diagnosis); never sent.
    #[serde(skip)]
    pub raw: String,
}

impl StatusModel {
    /// Reads a model as myApps hands it on; `None` for anything that is not a status model (e.g. the
    /// empty model myApps shows before the first, or a field of the wrong type).
    pub fn from_value(model: &serde_json::Value) -> Option<StatusModel> {
        // A derived struct also reads from an array (its fields in order).
        model.as_object()?;
        let mut m = StatusModel::deserialize(model).ok()?;
        m.v?;
        m.raw = model.to_string();
        Some(m)
    }
}

/// [`StatusModel::v`] of this version.
pub const MODEL_VERSION: u64 = 1;

/// A presence in the model: activity and note.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelPresence {
    pub a: String,
    pub n: String,
}

impl ModelPresence {
    pub fn presence(&self) -> Presence {
        Presence::new(&self.a, &self.n)
    }
}

impl From<&Presence> for ModelPresence {
    fn from(p: &Presence) -> Self {
        ModelPresence {
            a: p.activity.clone(),
            n: p.note.clone(),
        }
    }
}

/// Another application's running command as the hub reports it: sender, eventtype, eventname.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RunningCommand {
    pub s: String,
    pub t: String,
    pub e: String,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A member that must be an object (or null): a derived struct alone would also read an array, field by field.
fn object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    match Option::<serde_json::Value>::deserialize(d)? {
        None => Ok(None),
        Some(v @ serde_json::Value::Object(_)) => {
            T::deserialize(v).map(Some).map_err(D::Error::custom)
        }
        Some(_) => Err(D::Error::custom("not an object")),
    }
}

/// `ApiModel`: the provider's new model, which myApps hands to every consumer with `ApiUpdate`.
#[derive(Serialize)]
struct ApiModel<'a> {
    mt: &'static str,
    api: &'static str,
    model: &'a StatusModel,
}

/// The answer to `GetDiagnosis`.
#[derive(Serialize)]
struct DiagnosisResult<'a> {
    mt: &'static str,
    version: &'static str,
    lines: Vec<&'a str>,
    /// `[kind, at, status, body]`.
    answers: Vec<(usize, u64, u64, &'a str)>,
    now: u64,
}

/// The provider side of [`API_STATUS`], held by the hidden app (`ConnectorApp`).
#[derive(Debug, Default)]
pub struct StatusApi {
    watchers: Vec<String>,
    /// The model last published, without its `now`: the same content is not published twice.
    published: Option<StatusModel>,
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
                self.result(req, &Mt { mt: "WatchResult" })
            }
            "GetDiagnosis" => self.result(req, &self.diagnosis(now, engine)),
            // Nothing else is offered; an unknown request gets no answer.
            _ => return out,
        };
        out.push(answer);
        out
    }

    fn result(&self, req: &ApiMsg, msg: &impl Serialize) -> String {
        launcher::api_result(API_STATUS, &req.consumer, req.src.as_deref(), msg)
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
        if self.published.as_ref() == Some(&model) {
            return None;
        }
        self.published = Some(model.clone());
        model.now = now;
        let msg = ApiModel {
            mt: "ApiModel",
            api: API_STATUS,
            model: &model,
        };
        serde_json::to_string(&msg).ok()
    }

    /// The model without its `now`.
    fn model(&self, st: &Status, engine: &Connector) -> StatusModel {
        let error_at = st.last_error.as_ref().map(|_| self.error_at);
        StatusModel {
            v: Some(MODEL_VERSION),
            run: st.running,
            license: st.license.map(|l| l.as_str().to_string()),
            hub: st.hub.as_str().to_string(),
            url: st.hub_url.clone(),
            since: self.hub_since,
            retry: st.next_retry_ms,
            lamps: st.devices.map(|n| n as u64),
            no_lamp: st.no_device,
            lamp: st.lamp.map(|slot| slot.as_str().to_string()),
            calls: st.calls as u64,
            own: st.presence_user.as_ref().map(ModelPresence::from),
            set: st.presence_applied.as_ref().map(ModelPresence::from),
            running: engine.hub_report().map(|(s, t, e)| RunningCommand {
                s: s.to_string(),
                t: t.to_string(),
                e: e.to_string(),
            }),
            token_in_url: st.token_in_url,
            missed_call: st.missed_call_since,
            hides: st.hidden_calls.clone(),
            error: st.last_error.clone(),
            error_at,
            now: 0,
            raw: String::new(),
        }
    }

    fn diagnosis<'a>(&'a self, now: u64, engine: &'a Connector) -> DiagnosisResult<'a> {
        let (old, new) = engine.trace_ring().parts();
        let lines = old.iter().chain(new).map(String::as_str).collect();
        let answers = self
            .answers
            .iter()
            .enumerate()
            .filter_map(|(what, a)| {
                let a = a.as_ref()?;
                Some((what, a.at, a.status, a.body.as_str()))
            })
            .collect();
        DiagnosisResult {
            mt: "GetDiagnosisResult",
            version: version(),
            lines,
            answers,
            now,
        }
    }
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
