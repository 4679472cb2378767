//! The config app's live status panel (issue 14): the consumer side of [`API_STATUS`], which the hidden app
//! on the same myApps client provides (see [`crate::status`]). What the connector sees, as rows of label and
//! value in English or German, from the model the hidden app publishes; "not running on this client" when
//! myApps lists no provider.
//!
//! The model's times are the hidden app's clock. When a model arrives, its `now` is paired with the config
//! app's own `now`: the difference places every time of the model on the config app's clock (the two frames'
//! `performance.now()` have different origins; `postMessage` through myApps takes well under a millisecond
//! to a few). A model kept by myApps from before may be old, so the panel shows models only once the hidden
//! app has answered this app's `Watch`: that answer comes right after a fresh model.
//!
//! Config app only: `format!` is fine here.

use super::i18n::{Lang, Text};
use crate::config::LampSlot;
use crate::json::Json;
use crate::mapping::{transform, transform_running, Transform};
use crate::myapps::{launcher, ApiMsg, ApiUpdate};
use crate::state::{MyAppsState, Presence};
use crate::status::API_STATUS;

/// How long the config app waits for the hidden app's diagnosis before it builds the report without it.
pub const DIAGNOSIS_TIMEOUT_MS: u64 = 3_000;

/// The hidden app's status model as published (`crate::status`). Unknown fields are ignored, missing
/// ones are empty: an older or newer hidden app still shows what both know.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusModel {
    pub run: bool,
    pub why: String,
    pub license: String,
    pub hub: String,
    pub url: String,
    pub since: u64,
    pub retry: Option<u64>,
    pub lamps: Option<u64>,
    pub models: Option<Vec<String>>,
    pub no_lamp: bool,
    pub lamp: Option<LampSlot>,
    pub cmd: String,
    pub calls: u64,
    pub own: Option<Presence>,
    /// The hub's running command: sender, eventtype, eventname.
    pub running: Option<(String, String, String)>,
    pub set: Option<Presence>,
    /// The connector's presence line hides other apps' calls: the source found under it, or `""` when the
    /// hub does not tell (see `engine::hidden`).
    pub hides: Option<String>,
    pub error: Option<String>,
    pub error_at: u64,
    /// The hub refused the token header: the token goes in the URL.
    pub token_in_url: bool,
    /// Since when (the hidden app's clock) the lamp shows a missed call.
    pub missed_call: Option<u64>,
    pub now: u64,
    /// The model as it came, for the diagnosis.
    pub raw: String,
}

impl StatusModel {
    /// `None` for anything that is not a status model (e.g. the empty model myApps shows before the first).
    pub fn from_json(j: &Json) -> Option<StatusModel> {
        j.get("v")?;
        let s = |k: &str| j.get(k).and_then(Json::as_str).unwrap_or("").to_string();
        let n = |k: &str| match j.get(k) {
            Some(Json::Number(n)) => n.as_u64(),
            _ => None,
        };
        let presence = |k: &str| {
            let p = j.get(k)?;
            p.as_object()?;
            let t = |f: &str| p.get(f).and_then(Json::as_str).unwrap_or("");
            Some(Presence::new(t("a"), t("n")))
        };
        let lamp = j
            .get("lamp")
            .and_then(Json::as_str)
            .and_then(|l| LampSlot::ALL.into_iter().find(|s| s.as_str() == l));
        let running = j.get("rc").filter(|r| r.as_object().is_some()).map(|r| {
            let t = |f: &str| r.get(f).and_then(Json::as_str).unwrap_or("").to_string();
            (t("s"), t("t"), t("e"))
        });
        let models = j.get("models").and_then(Json::as_array).map(|a| {
            a.iter()
                .filter_map(Json::as_str)
                .map(String::from)
                .collect()
        });
        Some(StatusModel {
            run: j.get("run") == Some(&Json::Bool(true)),
            why: why_stopped(&s("lic"), &s("hub"), j.get("url").is_some()),
            license: s("lic"),
            hub: s("hub"),
            url: s("url"),
            since: n("since").unwrap_or(0),
            retry: n("retry"),
            lamps: n("lamps"),
            models,
            no_lamp: j.get("nolamp") == Some(&Json::Bool(true)),
            lamp,
            cmd: s("cmd"),
            calls: n("calls").unwrap_or(0),
            own: presence("own"),
            running,
            set: presence("set"),
            hides: j.get("hides").and_then(Json::as_str).map(String::from),
            error: j.get("err").and_then(Json::as_str).map(String::from),
            error_at: n("errAt").unwrap_or(0),
            token_in_url: j.get("tokurl") == Some(&Json::Bool(true)),
            missed_call: n("missed"),
            now: n("now").unwrap_or(0),
            raw: j.to_text(),
        })
    }
}

/// How a row reads at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tone {
    Ok,
    Bad,
    Plain,
}

/// One line of the panel: `key` names it for the DOM (`status-<key>`) and the tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    pub key: &'static str,
    pub label: String,
    pub value: String,
    pub tone: Tone,
}

/// What the hidden app answered to `GetDiagnosis`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HiddenDiagnosis {
    pub lines: Vec<String>,
    /// `(what, how long ago in ms, text)`.
    pub answers: Vec<(String, u64, String)>,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Diag {
    Idle,
    Waiting { src: String, until: u64 },
}

/// The consumer side of the status API, held by the config app.
#[derive(Debug, Clone)]
pub struct LiveStatus {
    /// Opened outside myApps: nobody can provide the API.
    outside: bool,
    /// myApps answered `ConsumeApi` at least once.
    told: bool,
    provider: Option<String>,
    watching: bool,
    /// The latest model and the offset from the hidden app's clock to ours.
    model: Option<(StatusModel, i64)>,
    diag: Diag,
    next_src: u64,
}

/// What [`LiveStatus`] wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveOut {
    /// Post this to myApps.
    Post(String),
    /// The hidden app's diagnosis (or `None`: it is not there or did not answer): build the report now.
    Report(Option<HiddenDiagnosis>),
}

impl LiveStatus {
    /// `outside`: the config app was opened outside myApps. Returns the `ConsumeApi` to post.
    pub fn new(outside: bool) -> (LiveStatus, String) {
        (
            LiveStatus {
                outside,
                told: false,
                provider: None,
                watching: false,
                model: None,
                diag: Diag::Idle,
                next_src: 1,
            },
            launcher::consume_api(API_STATUS),
        )
    }

    /// The hidden app runs on this client and answered.
    pub fn connected(&self) -> bool {
        self.watching && self.provider.is_some()
    }

    /// The model shown, if any.
    pub fn model(&self) -> Option<&StatusModel> {
        self.shown().map(|(m, _)| m)
    }

    fn shown(&self) -> Option<&(StatusModel, i64)> {
        self.model.as_ref().filter(|_| self.connected())
    }

    fn src(&mut self, what: &str) -> String {
        let s = format!("{what}-{}", self.next_src);
        self.next_src += 1;
        s
    }

    /// myApps' `ApiUpdate`: who provides the API now, and its model.
    pub fn handle_api_update(&mut self, now: u64, u: &ApiUpdate) -> Vec<LiveOut> {
        if u.apis.get(API_STATUS).is_none() {
            // An update about other APIs only.
            return Vec::new();
        }
        self.told = true;
        let providers = u.providers(API_STATUS);
        let chosen = u
            .default_provider(API_STATUS)
            .filter(|d| providers.contains(d))
            .or_else(|| providers.first().copied())
            .map(String::from);
        let mut out = Vec::new();
        if chosen != self.provider {
            self.provider = chosen;
            self.watching = false;
            self.model = None;
            if let Some(p) = self.provider.clone() {
                let src = self.src("watch");
                let msg = Json::object(vec![("mt", "Watch".into())]);
                out.push(LiveOut::Post(launcher::api_request(
                    API_STATUS,
                    Some(&p),
                    Some(&src),
                    &msg,
                )));
            }
            if let Diag::Waiting { .. } = self.diag {
                // The provider went away (or changed) while the diagnosis was asked for.
                self.diag = Diag::Idle;
                out.push(LiveOut::Report(None));
            }
        }
        if let Some(p) = &self.provider {
            if let Some(m) = StatusModel::from_json(u.model(API_STATUS, p)) {
                let offset = now as i64 - m.now as i64;
                self.model = Some((m, offset));
            }
        }
        out
    }

    /// An `ApiResult` from the provider.
    pub fn handle_api_result(&mut self, now: u64, r: &ApiMsg) -> Vec<LiveOut> {
        if r.api != API_STATUS || self.provider.as_deref() != Some(r.provider.as_str()) {
            return Vec::new();
        }
        match r.mt() {
            "WatchResult" => {
                self.watching = true;
                Vec::new()
            }
            "GetDiagnosisResult" => {
                let Diag::Waiting { src, .. } = &self.diag else {
                    return Vec::new();
                };
                if r.src.as_deref() != Some(src.as_str()) {
                    return Vec::new();
                }
                self.diag = Diag::Idle;
                let their_now = r.msg.get("now").and_then(num).unwrap_or(0);
                let strings = |j: Option<&Json>| -> Vec<String> {
                    j.and_then(Json::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Json::as_str)
                                .map(String::from)
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let answers = r
                    .msg
                    .get("answers")
                    .and_then(Json::as_array)
                    .map(|a| a.iter().filter_map(|x| answer(x, their_now)).collect())
                    .unwrap_or_default();
                let _ = now;
                vec![LiveOut::Report(Some(HiddenDiagnosis {
                    lines: strings(r.msg.get("lines")),
                    answers,
                    version: r
                        .msg
                        .get("version")
                        .and_then(Json::as_str)
                        .unwrap_or("")
                        .to_string(),
                }))]
            }
            _ => Vec::new(),
        }
    }

    /// "Copy diagnosis": asks the hidden app for its part, or reports at once without it.
    pub fn request_diagnosis(&mut self, now: u64) -> Vec<LiveOut> {
        if let Diag::Waiting { .. } = self.diag {
            return Vec::new();
        }
        match self.provider.clone().filter(|_| self.watching) {
            Some(p) => {
                let src = self.src("diag");
                let msg = Json::object(vec![("mt", "GetDiagnosis".into())]);
                let post = launcher::api_request(API_STATUS, Some(&p), Some(&src), &msg);
                self.diag = Diag::Waiting {
                    src,
                    until: now + DIAGNOSIS_TIMEOUT_MS,
                };
                vec![LiveOut::Post(post)]
            }
            None => vec![LiveOut::Report(None)],
        }
    }

    /// "Clear" of the missed-call notification: asks the hidden app to end it.
    pub fn clear_missed_call(&mut self) -> Vec<LiveOut> {
        match self.provider.clone().filter(|_| self.watching) {
            Some(p) => {
                let src = self.src("clear");
                let msg = Json::object(vec![("mt", crate::status::CLEAR_MISSED_CALL.into())]);
                vec![LiveOut::Post(launcher::api_request(
                    API_STATUS,
                    Some(&p),
                    Some(&src),
                    &msg,
                ))]
            }
            None => Vec::new(),
        }
    }

    /// Whether the hidden app shows a missed call on the lamp.
    pub fn missed_call_shown(&self) -> bool {
        self.shown().is_some_and(|(m, _)| m.missed_call.is_some())
    }

    pub fn handle_timeout(&mut self, now: u64) -> Vec<LiveOut> {
        match self.diag {
            Diag::Waiting { until, .. } if now >= until => {
                self.diag = Diag::Idle;
                vec![LiveOut::Report(None)]
            }
            _ => Vec::new(),
        }
    }

    /// When to wake: the diagnosis' deadline, and once a second while a model with times is shown (the
    /// panel's "for 12 s", "next try in 3 s" move on).
    pub fn poll_timeout(&self, now: u64) -> Option<u64> {
        let diag = match self.diag {
            Diag::Waiting { until, .. } => Some(until),
            Diag::Idle => None,
        };
        let tick = self.shown().map(|_| now + 1_000 - now % 1_000);
        crate::earliest(diag, tick)
    }

    /// The panel's rows in `lang` at config-app time `now`. `devices`: the Busylight models of the config
    /// app's own check; `lamp`: the saved lamp settings (what each state's command is).
    pub fn rows(
        &self,
        lang: Lang,
        now: u64,
        devices: Option<&[String]>,
        lamp: Option<&crate::config::LampScheme>,
    ) -> Vec<StatusRow> {
        let row = |key, label: &str, value: String, tone| StatusRow {
            key,
            label: label.to_string(),
            value,
            tone,
        };
        let label_conn = Text::LiveConnector.get(lang);
        let Some((m, offset)) = self.shown() else {
            let (value, tone) = if self.outside {
                (Text::LiveOutside.get(lang), Tone::Bad)
            } else if !self.told {
                (Text::LiveAsking.get(lang), Tone::Plain)
            } else if self.provider.is_none() {
                (Text::LiveNotRunning.get(lang), Tone::Bad)
            } else {
                (Text::LiveStarting.get(lang), Tone::Plain)
            };
            return vec![row("running", label_conn, value.to_string(), tone)];
        };
        let local = |t: u64| t as i64 + offset;
        let ago = |t: u64| dur((now as i64 - local(t)).max(0) as u64);
        let mut rows = Vec::new();

        let (value, tone) = if m.run {
            (Text::LiveRunning.get(lang).to_string(), Tone::Ok)
        } else {
            let why = match m.why.as_str() {
                "service" => Text::LiveWaitService.get(lang),
                "license" => Text::LiveStoppedLicense.get(lang),
                "url" => Text::LiveStoppedUrl.get(lang),
                "settings" => Text::LiveStoppedSettings.get(lang),
                _ => Text::LiveStopped.get(lang),
            };
            (why.to_string(), Tone::Bad)
        };
        rows.push(row("running", label_conn, value, tone));

        let retry = m.retry.map(|t| {
            let left = local(t) - now as i64;
            if left <= 0 {
                Text::LiveNextTryNow.get(lang).to_string()
            } else {
                Text::LiveNextTryIn.fill(lang, &[&dur(left as u64)])
            }
        });
        let since = ago(m.since);
        let (state, tone) = match m.hub.as_str() {
            "reachable" => (Text::LiveConnectedFor.fill(lang, &[&since]), Tone::Ok),
            "unreachable" => (Text::LiveUnreachableFor.fill(lang, &[&since]), Tone::Bad),
            // Local Network Access (issue 12): a failure while the browser would still ask looks like an
            // outage from inside the page, so both causes are named.
            "needs the browser's permission" => {
                (Text::LiveUnreachableOrAsks.fill(lang, &[&since]), Tone::Bad)
            }
            "blocked by the browser" => (Text::LiveBlocked.get(lang).to_string(), Tone::Bad),
            "unauthorized" => (Text::LiveTokenRejectedFor.fill(lang, &[&since]), Tone::Bad),
            "too old" => (Text::LiveTooOld.get(lang).to_string(), Tone::Bad),
            "not configured" => (Text::LiveUrlUnusable.get(lang).to_string(), Tone::Bad),
            _ if m.run => (Text::LiveConnecting.get(lang).to_string(), Tone::Plain),
            _ => (Text::LiveNotInUse.get(lang).to_string(), Tone::Plain),
        };
        let mut hub = String::new();
        if !m.url.is_empty() {
            hub.push_str(&m.url);
            hub.push_str(" — ");
        }
        hub.push_str(&state);
        if let Some(r) = retry {
            hub.push_str(", ");
            hub.push_str(&r);
        }
        rows.push(row("hub", "kuandoHUB", hub, tone));
        if m.token_in_url {
            rows.push(row(
                "token",
                Text::LiveAccessToken.get(lang),
                Text::LiveTokenInUrl.get(lang).to_string(),
                Tone::Plain,
            ));
        }

        let models = m.models.as_deref().or(devices);
        let lamps = match (m.lamps, models) {
            (Some(0), _) => (Text::LiveNoneConnected.get(lang).to_string(), Tone::Plain),
            (Some(n), Some(models)) if !models.is_empty() => {
                (format!("{n} ({})", models.join(", ")), Tone::Ok)
            }
            (Some(n), _) => (n.to_string(), Tone::Ok),
            (None, _) if m.no_lamp => (Text::LiveNoneConnected.get(lang).to_string(), Tone::Plain),
            (None, _) => (Text::LiveNotKnownYet.get(lang).to_string(), Tone::Plain),
        };
        rows.push(row("lamps", "Busylights", lamps.0, lamps.1));

        let lamp = match m.lamp {
            None => Text::LiveLampReleased.get(lang).to_string(),
            Some(slot) => {
                let why = if is_call(slot) {
                    Text::LiveBecauseOfCall.get(lang).to_string()
                } else {
                    let own = m.own.as_ref().map(|p| presence_text(lang, p));
                    Text::LiveBecauseOfPresence.fill(lang, &[&own.unwrap_or_default()])
                };
                let described = lamp
                    .and_then(|l| l.get(slot).command())
                    .map(|c| c.describe());
                let cmd = match (m.cmd.as_str(), described) {
                    ("", Some(d)) => format!(" ({d})"),
                    ("", None) => String::new(),
                    (c, _) => format!(" ({c})"),
                };
                format!("{}{cmd} — {}", slot_text(slot).get(lang), why.trim_end())
            }
        };
        rows.push(row(
            "lamp",
            Text::LiveLampShows.get(lang),
            lamp,
            Tone::Plain,
        ));
        if let Some(t) = m.missed_call {
            rows.push(row(
                "missed",
                Text::LiveMissedCall.get(lang),
                Text::LiveMissedCallSince.fill(lang, &[&ago(t)]),
                Tone::Plain,
            ));
        }

        let others = if m.hub != "reachable" {
            (Text::LiveOthersUnknown.get(lang).to_string(), Tone::Plain)
        } else {
            match &m.running {
                None => (Text::LiveNothingReported.get(lang).to_string(), Tone::Plain),
                Some((s, t, e)) => (other_app_text(lang, s, t, e), Tone::Plain),
            }
        };
        rows.push(row(
            "other",
            Text::LiveOtherApps.get(lang),
            others.0,
            others.1,
        ));
        if let Some(source) = &m.hides {
            rows.push(row(
                "ranking",
                Text::LivePriorities.get(lang),
                ranking_hint(lang, source),
                Tone::Bad,
            ));
        }

        let none = Text::LiveNone.get(lang).to_string();
        rows.push(row(
            "presence",
            Text::LivePresenceSet.get(lang),
            m.set
                .as_ref()
                .map(|p| presence_text(lang, p))
                .unwrap_or_else(|| none.clone()),
            Tone::Plain,
        ));
        rows.push(row(
            "restore",
            Text::LiveRestores.get(lang),
            match (&m.set, &m.own) {
                (Some(_), Some(own)) => presence_text(lang, own),
                _ => "—".to_string(),
            },
            Tone::Plain,
        ));
        rows.push(row(
            "calls",
            Text::LiveCalls.get(lang),
            m.calls.to_string(),
            Tone::Plain,
        ));
        let (err, tone) = match &m.error {
            Some(e) => (
                Text::LiveErrorAgo.fill(lang, &[&Text::translate(lang, e), &ago(m.error_at)]),
                Tone::Bad,
            ),
            None => (none, Tone::Plain),
        };
        rows.push(row("error", Text::LiveLastError.get(lang), err, tone));
        rows
    }
}

/// What the panel says when the connector's presence line hides other apps' calls: which line to move in
/// kuandoHUB, and why. `source`: the application whose call was found under it (`""`: the hub does not
/// tell, so it may be any).
pub fn ranking_hint(lang: Lang, source: &str) -> String {
    let what = if source.is_empty() {
        Text::RankingMayHide.get(lang).to_string()
    } else {
        Text::RankingHides.fill(lang, &[source])
    };
    Text::RankingMove.fill(lang, &[&what, crate::hub::SENDER])
}

/// One of the hidden app's hub answers, `[what, at, status, body]`, as `(what, how long ago, text)`.
fn answer(x: &Json, their_now: u64) -> Option<(String, u64, String)> {
    let a = x.as_array()?;
    let what = a
        .first()
        .and_then(num)
        .and_then(|k| crate::status::KIND_NAMES.get(k as usize))?
        .to_string();
    let at = a.get(1).and_then(num).unwrap_or(their_now);
    let text = match a.get(2).and_then(num) {
        Some(crate::status::NO_ANSWER) => "no answer in time".to_string(),
        Some(crate::status::NETWORK_ERROR) => {
            "network error (refused, blocked by the browser, CORS or mixed content)".to_string()
        }
        Some(status) => format!(
            "HTTP {status} {}",
            a.get(3).and_then(Json::as_str).unwrap_or("").trim()
        ),
        None => return None,
    };
    Some((what, their_now.saturating_sub(at), text))
}

/// Why a connector that does not run stopped: `service` (the license is not known yet: the app service
/// has not answered), `license`, `url` (the hub URL in the settings is unusable), `settings` (none yet) or
/// `stopped` (shut down).
fn why_stopped(license: &str, hub: &str, url: bool) -> String {
    match (license, hub) {
        ("", _) => "service",
        ("none", _) => "license",
        (_, "not configured") => "url",
        _ if !url => "settings",
        _ => "stopped",
    }
    .to_string()
}

fn num(j: &Json) -> Option<u64> {
    match j {
        Json::Number(n) => n.as_u64(),
        _ => None,
    }
}

fn is_call(slot: LampSlot) -> bool {
    matches!(
        slot,
        LampSlot::Ringing | LampSlot::Dialing | LampSlot::Connected | LampSlot::Held
    )
}

/// The config app's name of a lamp state.
pub fn slot_text(slot: LampSlot) -> Text {
    match slot {
        LampSlot::Ringing => Text::SlotRinging,
        LampSlot::Dialing => Text::SlotDialing,
        LampSlot::Connected => Text::SlotConnected,
        LampSlot::Held => Text::SlotHeld,
        LampSlot::Busy => Text::SlotBusy,
        LampSlot::Dnd => Text::SlotDnd,
        LampSlot::Away => Text::SlotAway,
        LampSlot::Lunch => Text::SlotLunch,
    }
}

/// `12 s`, `5 min`, `3 h` (the same in both languages).
pub fn dur(ms: u64) -> String {
    let s = ms / 1000;
    if s < 120 {
        format!("{s} s")
    } else if s < 2 * 3600 {
        format!("{} min", s / 60)
    } else {
        format!("{} h", s / 3600)
    }
}

/// A myApps state in words.
pub fn state_text(lang: Lang, s: MyAppsState) -> &'static str {
    match s {
        MyAppsState::Free => Text::StateFree,
        MyAppsState::Busy => Text::StateBusy,
        MyAppsState::Away => Text::StateAway,
        MyAppsState::Dnd => Text::StateDnd,
        MyAppsState::OnThePhone => Text::StateOnThePhone,
        MyAppsState::Lunch => Text::StateLunch,
    }
    .get(lang)
}

/// A presence in words: `on the phone "MS Teams"`, `available "in the office"`, `vacation`.
pub fn presence_text(lang: Lang, p: &Presence) -> String {
    let state = p.state();
    let name = match state {
        Some(s) => state_text(lang, s).to_string(),
        None => p.activity.trim().to_string(),
    };
    let note = p.note.trim();
    if note.is_empty() || state == Some(MyAppsState::Lunch) {
        name
    } else {
        format!("{name} \"{note}\"")
    }
}

/// What the hub reports for another app: `MS Teams: On-The-Phone → on the phone`, or why it is ignored.
pub fn other_app_text(lang: Lang, sender: &str, eventtype: &str, eventname: &str) -> String {
    // The event the mapping went by: the name, else the type (see `mapping::transform_running`).
    let event = if matches!(transform(sender, eventname), Transform::State(_))
        || eventtype.trim().is_empty()
        || !matches!(transform(sender, eventtype), Transform::State(_))
            && !eventname.trim().is_empty()
    {
        eventname
    } else {
        eventtype
    };
    let to = match transform_running(sender, eventtype, eventname) {
        Transform::State(s) => state_text(lang, s).to_string(),
        Transform::Own => Text::OtherOwn.get(lang).to_string(),
        Transform::UnknownApplication => Text::OtherUnknownApp.get(lang).to_string(),
        Transform::UnknownEvent => Text::OtherUnknownEvent.get(lang).to_string(),
    };
    format!("{}: {} → {to}", sender.trim(), event.trim())
}
