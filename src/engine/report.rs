//! What the engine tells: the [`Status`] snapshot (sent as `EngineAction::Status` on every change) and the
//! debug dump; for the live status panel and the diagnosis also the hub's running command as it came, the
//! trace ring, and redaction with the engine's own secret. In a module of its own so that the engine's
//! decisions stay where they are.

use super::{
    call_state_name, show_presence, Connector, EngineAction, HubLink, HubView, Level, RequestId,
};
use crate::config::LampSlot;
use crate::hub::{RequestKind, TokenForm};
use crate::proto::License;
use crate::ring::TraceRing;
use crate::state::Presence;
use crate::trace;
use std::fmt;

/// How the hub is doing, for the config app's banners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HubStatus {
    /// Not tried yet.
    Unknown,
    /// The hub URL in the settings is unusable.
    NotConfigured,
    Reachable,
    /// No kuandoHUB detected.
    Unreachable,
    /// The hub rejected the access token (401).
    Unauthorized,
    /// It answers the probe but not `currentpresence`.
    TooOld,
    /// The browser's Local Network Access permission is denied: the browser blocks access to the hub.
    Blocked,
    /// The browser will ask the user before the next request (permission `prompt`): nothing goes out from
    /// the background; the config app's button makes the request.
    NeedsPermission,
}

impl HubStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HubStatus::Unknown => "unknown",
            HubStatus::NotConfigured => "not configured",
            HubStatus::Reachable => "reachable",
            HubStatus::Unreachable => "unreachable",
            HubStatus::Unauthorized => "unauthorized",
            HubStatus::TooOld => "too old",
            HubStatus::Blocked => "blocked by the browser",
            HubStatus::NeedsPermission => "needs the browser's permission",
        }
    }
}

impl fmt::Display for HubStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A snapshot of what the connector knows and does. Contains no token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// `None` until the service told; `Some(License::None)` is unlicensed.
    pub license: Option<License>,
    pub hub: HubStatus,
    /// The hub's base URL (never with the token).
    pub hub_url: Option<String>,
    /// Connected Busylights, when the hub told.
    pub devices: Option<usize>,
    /// No Busylight: the device list is empty or the hub answered a lamp command with 404.
    pub no_device: bool,
    /// What the lamp should show for the connector (`None`: released, lower-priority sources show).
    pub lamp: Option<LampSlot>,
    /// The other applications' state the hub reports, transformed.
    pub hub_state: Option<HubView>,
    /// The presence the connector set from the hub, if any.
    pub presence_applied: Option<Presence>,
    /// The user's own presence.
    pub presence_user: Option<Presence>,
    /// Calls in progress.
    pub calls: usize,
    /// The last problem, in words for the user (no token).
    pub last_error: Option<String>,
    /// When (engine time, ms) the hub is tried again, while it is failing.
    pub next_retry_ms: Option<u64>,
    /// False when stopped: unlicensed, no usable settings, or shut down.
    pub running: bool,
    /// The hub refused the token header: the token goes in the URL (see [`super::TOKEN_IN_URL_TEXT`]).
    pub token_in_url: bool,
    /// Since when (engine time, ms) the lamp shows a missed call.
    pub missed_call_since: Option<u64>,
    /// The connector's presence line ranks above other apps' calls: `Some(source)` when a call of `source`
    /// was found under it, `Some("")` when the hub does not tell (see `engine::hidden`). The panel says
    /// which line to move.
    pub hidden_calls: Option<String>,
}

impl Connector {
    /// The status snapshot now.
    pub fn status(&self) -> Status {
        Status {
            license: self.license,
            hub: self.hub_status,
            hub_url: self
                .endpoint
                .as_ref()
                .map(|e| e.base().as_str().to_string()),
            devices: self.devices,
            no_device: self.no_device(),
            lamp: self.lamp_slot(),
            hub_state: self.presence.hub().cloned(),
            presence_applied: self.presence.applied().cloned(),
            presence_user: self.presence.user().cloned(),
            calls: self.calls.count(),
            last_error: self.last_error.clone(),
            next_retry_ms: self.retry_at,
            running: self.link != HubLink::Off && !self.shut_down,
            token_in_url: self.token_form == TokenForm::Url,
            missed_call_since: self.missed.since(),
            hidden_calls: self.hidden.hint().cloned(),
        }
    }

    /// The hub's last reported running command of this session as `(sender, eventtype, eventname)`; `None`:
    /// nothing running, or no answer yet.
    pub fn hub_report(&self) -> Option<(&str, &str, &str)> {
        self.last_running
            .as_ref()
            .map(|(s, t, n)| (s.as_str(), t.as_str(), n.as_str()))
    }

    /// The last trace lines, every group whatever the trace flags say (see [`crate::ring`]).
    pub fn trace_ring(&self) -> &TraceRing {
        &self.out.ring
    }

    /// Keeps a line the app around the engine traced, so that the ring has the whole story in order.
    pub fn keep_trace(&mut self, line: &str) {
        self.out.ring.push(line);
    }

    /// `text` with the hub token and token parameters masked, for texts from outside (hub answers).
    pub fn redact(&self, text: &str) -> String {
        trace::redact(text, &[self.out.secret.as_str()])
    }

    /// What request `id` in flight on a lane is for (`None`: not in flight, or a `Logout`).
    pub fn request_kind(&self, id: RequestId) -> Option<RequestKind> {
        [self.poll_lane, self.lamp_lane]
            .into_iter()
            .flatten()
            .find(|f| f.id == id)
            .map(|f| f.kind)
    }

    pub(super) fn emit_status(&mut self) {
        let st = self.status();
        if self.last_status.as_ref() != Some(&st) {
            self.last_status = Some(st.clone());
            self.out.push(EngineAction::Status(st));
        }
    }

    pub(super) fn dump(&mut self) {
        let myapps = match self.presence.user() {
            None => "free".to_string(),
            Some(p) => p
                .state()
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| p.activity.trim().to_string()),
        };
        let installed = match self.hub_status {
            HubStatus::Unknown
            | HubStatus::NotConfigured
            | HubStatus::Blocked
            | HubStatus::NeedsPermission => "undefined",
            HubStatus::Unreachable => "false",
            _ => "true",
        };
        let hub_state = match self.presence.hub() {
            None => "none".to_string(),
            Some(v) => format!("{} ({})", v.state.as_str(), v.source),
        };
        let applied = self
            .presence
            .applied()
            .map_or("none".to_string(), show_presence);
        let lines = [
            format!("debug - lamp_myapps_state: {myapps}"),
            format!(
                "debug - lamp_call_state: {}",
                call_state_name(self.calls.slot())
            ),
            format!("debug - kuando_hub_installed: {installed}"),
            format!("debug - count_calls: {}", self.calls.count()),
            format!("debug - kuando_hub_state: {hub_state}"),
            format!("debug - presence_applied: {applied}"),
        ];
        for l in lines {
            self.out.trace(Level::Always, &l);
        }
    }
}
