//! Rule 3 ("calls overwrite presence; manual presence overwrites hub presence") and the presence half of
//! rule 4 ("no loops"): what the connector sets as the user's PBX presence, what it restores, and how it tells
//! its own echo from a change the user made by hand.
//!
//! Three presences are kept apart:
//! - `user`: the user's own presence, i.e. the last `PresenceUpdated` that was *not* the connector's echo. It
//!   drives the lamp (rule 4) and is what gets restored, exactly as the PBX sent it.
//! - `applied`: what the connector wants shown because of a hub state, while it "owns" the presence.
//! - `shown`: the connector's best knowledge of what the PBX shows now.
//!
//! The connector sends a `SetPresence` whenever what it wants (`applied`, else `user`) differs from `shown`, or
//! what it wants the app service's presence guard to know (a claim of `applied`, else a release) differs from
//! what the service confirmed (`claimed`): one request at a time, the newest wish only, with back-off after
//! failures, each result matched to its request by id. Any `PresenceUpdated` that is not an echo is the user's
//! own doing and wins: `applied` is dropped and nothing is restored over it.
//!
//! The guard (see ARCHITECTURE.md "The presence guard"): a presence set because of the hub is a *claim* with
//! the user's own presence to restore; anything else is a *release*. The PBX may already show what the engine
//! wants (another client of the user set it): the service must still hear the claim, and a new service
//! connection holds none, so the claim is one more comparison here, not a second sender elsewhere.

use super::{EngineAction, Level, Out, RequestId};
use crate::backoff::Backoff;
use crate::mapping::{transform, Transform};
use crate::proto::PresenceGuard;
use crate::state::{MyAppsState, Presence, ON_THE_PHONE};

/// A `SetPresence` without a result after this long counts as failed (the service may have hung).
pub const PRESENCE_TIMEOUT_MS: u64 = 15_000;
/// How long a sent presence is expected as an echo. The PBX echoes within a second; the window only bounds
/// how long a lost echo could make an identical manual change look like the connector's.
pub const ECHO_WINDOW_MS: u64 = 30_000;
/// Retry delays for a failed `SetPresence`: 2 s doubling to 60 s, forever while the wish stands, because
/// giving up could leave the user "on the phone". One request a minute to the user's own service is harmless.
pub const PRESENCE_RETRY_BASE_MS: u64 = 2_000;
pub const PRESENCE_RETRY_MAX_MS: u64 = 60_000;
/// Longest note the connector writes (the hub's sender name for "on the phone").
pub const MAX_NOTE_CHARS: usize = 64;
const MAX_ECHOES: usize = 8;

/// What the hub shows from another application, transformed (rule 2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HubView {
    pub state: MyAppsState,
    /// The hub's sender, e.g. `MS Teams`; becomes the note of "on the phone".
    pub source: String,
}

/// A presence as traces show it: `available`, `dnd`, `away "back at 3"`.
pub fn show(p: &Presence) -> String {
    match (p.activity.trim(), p.note.trim()) {
        ("", "") => "available".to_string(),
        (a, "") => a.to_string(),
        ("", n) => format!("available \"{n}\""),
        (a, n) => format!("{a} \"{n}\""),
    }
}

/// The activity in one spelling: case and blanks ignored, `available` is `""`.
fn activity_key(p: &Presence) -> String {
    let a = p.activity.trim().to_ascii_lowercase();
    match a.as_str() {
        "available" => String::new(),
        "onthephone" => ON_THE_PHONE.to_string(),
        _ => a,
    }
}

/// "On the phone" with the name of a 3rd-party application as note: what the connector writes.
fn is_leftover(p: &Presence) -> bool {
    p.state() == Some(MyAppsState::OnThePhone)
        && !matches!(
            transform(&p.note, ""),
            Transform::UnknownApplication | Transform::Own
        )
}

/// Whether a reported presence is the same as one the connector sent. Tolerant on purpose: if the PBX
/// normalised what it stored (case, blanks, or dropped the note of "on the phone"), an exact comparison would
/// mistake the connector's own echo for a change by hand, and the user would be left "on the phone" for good.
/// Notes count for everything else: `away` and `away "back at 3"` are different choices of the user.
pub fn similar(a: &Presence, b: &Presence) -> bool {
    let ka = activity_key(a);
    ka == activity_key(b) && (ka == ON_THE_PHONE || a.note.trim() == b.note.trim())
}

#[derive(Debug, Clone)]
struct InFlight {
    id: RequestId,
    presence: Presence,
    /// The claim the request makes (`None`: a release).
    claim: Option<Presence>,
    deadline: u64,
}

#[derive(Debug, Clone)]
pub(super) struct PresenceSync {
    user: Option<Presence>,
    shown: Option<Presence>,
    applied: Option<Presence>,
    hub: Option<HubView>,
    /// The hub has told its state at least once (the first answer is evaluated even if it is "nothing").
    hub_known: bool,
    /// The last state a poll showed, kept while the hub is unknown or masked by the connector's own lamp.
    last_known: Option<HubView>,
    /// The hub state the user overrode by hand. Seeing it again is no news, even after the hub was unknown
    /// for a while (a dropped connection during the same Teams call); only a different state ends it.
    overridden: Option<HubView>,
    /// A hub state arrived before the user's own presence was known; it is evaluated once it is.
    hub_pending: bool,
    /// Presences sent and not yet seen back, with the time they were sent.
    echoes: Vec<(Presence, u64)>,
    inflight: Option<InFlight>,
    /// A `PresenceUpdated` arrived since the last `SetPresence` was sent: the PBX's own word is then newer
    /// than the request's result.
    seen_since_send: bool,
    service_up: bool,
    /// What the service confirmed this connection claims (`None`: nothing). A new connection claims nothing.
    claimed: Option<Presence>,
    backoff: Backoff,
    retry_at: Option<u64>,
    failing: bool,
}

impl Default for PresenceSync {
    fn default() -> Self {
        PresenceSync {
            user: None,
            shown: None,
            applied: None,
            hub: None,
            hub_known: false,
            last_known: None,
            overridden: None,
            hub_pending: false,
            echoes: Vec::new(),
            inflight: None,
            seen_since_send: false,
            service_up: false,
            claimed: None,
            backoff: Backoff::new(PRESENCE_RETRY_BASE_MS, PRESENCE_RETRY_MAX_MS),
            retry_at: None,
            failing: false,
        }
    }
}

impl PresenceSync {
    pub fn user(&self) -> Option<&Presence> {
        self.user.as_ref()
    }

    pub fn applied(&self) -> Option<&Presence> {
        self.applied.as_ref()
    }

    pub fn hub(&self) -> Option<&HubView> {
        self.hub.as_ref()
    }

    /// The user's presence as the PBX reports it. Returns true if the user's own presence changed (the lamp
    /// follows it).
    pub fn own_presence(&mut self, now: u64, p: Presence, out: &mut Out) -> bool {
        self.prune(now);
        self.seen_since_send = true;
        if self.user.is_some() && self.shown.as_ref().is_some_and(|s| similar(s, &p)) {
            // Nothing new (myApps repeats presence when other contacts of the user change).
            return false;
        }
        if let Some(i) = self.echoes.iter().position(|(q, _)| similar(q, &p)) {
            let sent = self.echoes[i].0.clone();
            self.echoes.drain(..=i);
            out.trace(
                Level::Presence,
                &format!("own presence {}: the connector's echo", show(&p)),
            );
            // Remember what was *sent*, so that a normalised echo does not look like a difference to fix.
            self.shown = Some(sent);
            return false;
        }
        if let Some(a) = self.applied.as_ref().filter(|a| similar(a, &p)) {
            self.shown = Some(a.clone());
            return false;
        }
        let first = self.user.is_none();
        if first && is_leftover(&p) {
            // Judgement call: "on the phone" with a 3rd-party application as note is only ever written by the
            // connector. Found at start, it is a leftover of a connector that could not give it back (myApps
            // crashed during a Teams call). Treated as the connector's own, it is given back once the hub
            // shows no call (or stays unknown): the user is never left "on the phone". What they had before
            // is unknowable; "available" is the neutral choice.
            out.trace(
                Level::Always,
                &format!("presence {} at start is a leftover of the connector: given back when no call shows", show(&p)),
            );
            self.user = Some(Presence::available());
            self.applied = Some(p.clone());
            self.shown = Some(p);
            self.hub_pending = false;
            return false;
        }
        // The user's own doing.
        let changed = self.user.as_ref() != Some(&p);
        out.trace(Level::Presence, &format!("own presence: {}", show(&p)));
        if let Some(a) = self.applied.take() {
            // The service's guard sees the same report and drops the claim itself: a release now could only
            // land after a next change by hand and undo it.
            self.claimed = None;
            out.trace(
                Level::Always,
                &format!("presence changed by hand to {} while the connector showed {}: kept, nothing will be restored", show(&p), show(&a)),
            );
        }
        // A request still in flight with another presence can land at the PBX after this change (the user
        // clicked while it travelled; an identical click before may have taken its echo). Its echo is expected
        // again, so that it is recognised as the connector's late write and the user's presence sent back,
        // never taken for the user's own next change.
        if let Some(f) = self.inflight.as_ref().filter(|f| !similar(&f.presence, &p)) {
            if !self.echoes.iter().any(|(q, _)| similar(q, &f.presence)) {
                self.echoes.push((f.presence.clone(), now));
            }
        }
        self.user = Some(p.clone());
        self.shown = Some(p);
        // Whatever the hub shows now is what the user decided against (or along with): not pushed again.
        self.overridden = self.last_known.clone();
        if first && self.hub_pending {
            self.evaluate(out);
        }
        changed
    }

    /// The hub's state from other applications changed (or is no longer known: `None`). Edge-triggered: a hub
    /// state is applied when it appears; if the user then changes presence by hand, the same hub state is not
    /// applied again (the user wins until the hub state changes).
    pub fn set_hub(&mut self, view: Option<HubView>, out: &mut Out) {
        self.last_known = view.clone();
        if view.is_some() && view == self.overridden {
            self.hub = view;
            self.hub_known = true;
            return;
        }
        self.overridden = None;
        if self.hub == view && self.hub_known {
            return;
        }
        self.hub_known = true;
        self.hub = view;
        self.evaluate(out);
    }

    /// The hub's state is not known (rule 5: unreachable for too long): whatever the connector set from it is
    /// given back. What the user overrode stays overridden: the hub coming back with the same call is no news.
    pub fn hub_lost(&mut self, out: &mut Out) {
        self.hub = None;
        self.hub_known = true;
        self.hub_pending = false;
        self.release(out);
    }

    fn evaluate(&mut self, out: &mut Out) {
        let Some(user) = self.user.clone() else {
            // The presence to restore later is unknown: nothing is set until the PBX told it.
            self.hub_pending = self.hub.is_some();
            return;
        };
        self.hub_pending = false;
        match self.hub.clone() {
            Some(v) if v.state == MyAppsState::OnThePhone => {
                // A 3rd-party call is set even over a manual presence (calls overwrite presence).
                let note: String = v.source.trim().chars().take(MAX_NOTE_CHARS).collect();
                self.apply(MyAppsState::OnThePhone.presence(&note), &v, &user, out);
            }
            Some(v) if v.state == MyAppsState::Free => self.release(out),
            Some(v) if user.is_available() => {
                self.apply(v.state.presence(""), &v, &user, out);
            }
            Some(v) => {
                out.trace(
                    Level::Presence,
                    &format!(
                        "{} {} from the kuandoHUB not applied: the user's own presence {} wins",
                        v.source,
                        v.state.as_str(),
                        show(&user)
                    ),
                );
                self.release(out);
            }
            None => self.release(out),
        }
    }

    fn apply(&mut self, p: Presence, v: &HubView, user: &Presence, out: &mut Out) {
        if self.applied.as_ref() == Some(&p) {
            return;
        }
        out.trace(
            Level::Always,
            &format!(
                "presence {} because of {} ({}); the user's own {} is kept to restore",
                show(&p),
                v.source,
                v.state.as_str(),
                show(user)
            ),
        );
        self.applied = Some(p);
    }

    fn release(&mut self, out: &mut Out) {
        if let Some(a) = self.applied.take() {
            if let Some(u) = &self.user {
                out.trace(
                    Level::Always,
                    &format!("presence restored to {} (was {})", show(u), show(&a)),
                );
            }
        }
    }

    fn desired(&self) -> Option<&Presence> {
        self.applied.as_ref().or(self.user.as_ref())
    }

    /// Whether the PBX shows what is wanted and the service knows the claim (nothing to send).
    fn converged(&self, desired: &Presence) -> bool {
        self.shown.as_ref() == Some(desired) && self.claimed == self.applied
    }

    /// Sends what is wanted if the PBX does not show it yet, or the service does not know the claim.
    /// `allowed` is false while unlicensed or shut down.
    pub fn reconcile(
        &mut self,
        now: u64,
        allowed: bool,
        jitter: u32,
        ids: &mut u64,
        out: &mut Out,
    ) {
        self.expire(now, jitter, out);
        if !allowed || !self.service_up || self.inflight.is_some() {
            return;
        }
        let Some(desired) = self.desired().cloned() else {
            return;
        };
        if self.converged(&desired) {
            self.retry_at = None;
            return;
        }
        if self.retry_at.is_some_and(|t| now < t) {
            return;
        }
        self.retry_at = None;
        let id = RequestId(*ids);
        *ids += 1;
        self.send(now, id, desired, out);
    }

    /// The guard a `SetPresence` of `p` carries: a claim of the presence set because of the hub, else a
    /// release.
    fn guard_for(&self, p: &Presence) -> (PresenceGuard, Option<Presence>) {
        match &self.applied {
            Some(a) if a == p => (
                PresenceGuard::Claim {
                    restore: self.user.clone().unwrap_or_default(),
                },
                Some(a.clone()),
            ),
            _ => (PresenceGuard::Release, None),
        }
    }

    fn send(&mut self, now: u64, id: RequestId, p: Presence, out: &mut Out) {
        let (guard, claim) = self.guard_for(&p);
        out.trace(
            Level::Presence,
            &format!(
                "SetPresence {} ({})",
                show(&p),
                if claim.is_some() { "claim" } else { "release" }
            ),
        );
        out.push(EngineAction::SetPresence {
            id,
            presence: p.clone(),
            guard,
        });
        self.inflight = Some(InFlight {
            id,
            presence: p.clone(),
            claim,
            deadline: now.saturating_add(PRESENCE_TIMEOUT_MS),
        });
        self.seen_since_send = false;
        // Also a claim or release of what the PBX shows already: it may land after a change by hand and come
        // back as a change.
        self.echoes.push((p, now));
        if self.echoes.len() > MAX_ECHOES {
            self.echoes.remove(0);
        }
    }

    /// The service's answer to request `id`. Answers to anything but the request in flight (lost with an
    /// earlier connection, given up) are ignored.
    pub fn result(
        &mut self,
        now: u64,
        id: RequestId,
        res: Result<(), String>,
        jitter: u32,
        out: &mut Out,
    ) {
        if self.inflight.as_ref().is_none_or(|f| f.id != id) {
            return;
        }
        let Some(f) = self.inflight.take() else {
            return;
        };
        match res {
            Ok(()) => {
                if !self.seen_since_send {
                    self.shown = Some(f.presence);
                }
                self.claimed = f.claim;
                self.backoff.reset();
                if self.failing {
                    self.failing = false;
                    out.trace(Level::Always, "presence requests work again");
                }
            }
            Err(e) => {
                // Refused: its echo will not come.
                if let Some(i) = self.echoes.iter().rposition(|(q, _)| *q == f.presence) {
                    self.echoes.remove(i);
                }
                let delay = self.backoff.fail(jitter);
                self.retry_at = Some(now.saturating_add(delay));
                let text = format!(
                    "SetPresence {} failed: {e}; next try in {} s",
                    show(&f.presence),
                    delay.div_ceil(1000)
                );
                // One line when requests start failing, not one per retry.
                let level = if self.failing {
                    Level::Presence
                } else {
                    Level::Always
                };
                self.failing = true;
                out.trace(level, &text);
            }
        }
    }

    /// The app-service connection went up or down. A request in flight is lost with the connection (the driver
    /// delivers no result for it); its echo may still come and is recognised.
    pub fn service(&mut self, up: bool, out: &mut Out) {
        if self.service_up == up {
            return;
        }
        self.service_up = up;
        out.trace(
            Level::Presence,
            if up {
                "app service connected"
            } else {
                "app service disconnected"
            },
        );
        // A new connection holds no claim: what the hub still shows is claimed again (a reconnect within the
        // service's grace period keeps its guard).
        self.claimed = None;
        if up {
            self.backoff.reset();
            self.retry_at = None;
        } else {
            self.inflight = None;
        }
    }

    /// Gives back every presence the connector set (shutdown, license lost): sends the user's own presence at
    /// once (a release), ignoring a request in flight and the back-off, since there may be no later chance.
    pub fn release_all(&mut self, ids: &mut u64, out: &mut Out) {
        self.hub = None;
        self.hub_pending = false;
        self.release(out);
        // A request in flight may still land after this one: send the user's presence in any case then.
        let needed = self.inflight.is_some() || self.shown != self.user || self.claimed.is_some();
        if let Some(user) = self.user.clone().filter(|_| self.service_up && needed) {
            let id = RequestId(*ids);
            *ids += 1;
            out.push(EngineAction::SetPresence {
                id,
                presence: user.clone(),
                guard: PresenceGuard::Release,
            });
            self.shown = Some(user);
            self.claimed = None;
        }
        self.inflight = None;
        self.retry_at = None;
    }

    fn expire(&mut self, now: u64, jitter: u32, out: &mut Out) {
        self.prune(now);
        if let Some(id) = self
            .inflight
            .as_ref()
            .filter(|f| now >= f.deadline)
            .map(|f| f.id)
        {
            self.result(
                now,
                id,
                Err("no answer from the app service".to_string()),
                jitter,
                out,
            );
        }
    }

    fn prune(&mut self, now: u64) {
        self.echoes
            .retain(|(_, at)| now.saturating_sub(*at) <= ECHO_WINDOW_MS);
    }

    /// The next time something is due: a request's deadline, or a retry.
    pub fn next_deadline(&self, allowed: bool) -> Option<u64> {
        if let Some(f) = &self.inflight {
            return Some(f.deadline);
        }
        if !allowed || !self.service_up {
            return None;
        }
        let wanted = self.desired().is_some_and(|d| !self.converged(d));
        if wanted {
            self.retry_at
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_ignores_spelling_and_the_note_of_on_the_phone_only() {
        let p = Presence::new;
        assert!(similar(&p("", ""), &p("available", "")));
        assert!(similar(&p("DND", " "), &p("dnd", "")));
        assert!(similar(
            &p("on-the-phone", "MS Teams"),
            &p("onthephone", "")
        ));
        assert!(!similar(&p("away", ""), &p("away", "back at 3")));
        assert!(!similar(&p("away", "lunch"), &p("away", "")));
        assert!(!similar(&p("busy", ""), &p("dnd", "")));
    }

    #[test]
    fn presences_show_readably() {
        assert_eq!(show(&Presence::available()), "available");
        assert_eq!(show(&Presence::new("dnd", "")), "dnd");
        assert_eq!(
            show(&Presence::new("away", "back at 3")),
            "away \"back at 3\""
        );
    }
}
