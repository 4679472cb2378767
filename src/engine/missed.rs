//! The missed-call notification: a kuandoHUB notification (`StartNotification`, `Light` / `Missed Call`) under
//! the connector's sender, shown "even if the underlying presence state is not shown due to kuandoHUB
//! priority settings" (manual p.28).
//!
//! A call is missed when it rang at the user (incoming, `Alerting`) and ended without being answered by any of
//! the user's devices. **[inferred]** myApps' `phoneinfo` carries no cause of a call's end, so two rules stand
//! in for it: a call the user rejects is one the user's phone reports `Disconnected` while it still rings (the
//! phone's own hang-up, as the simulated softphone does; a caller who gives up or the PBX's no-answer timeout
//! just removes it); and a call is answered elsewhere when an incoming call of the user is connected within
//! [`SETTLE_MS`] of its end (a call forked to two devices of the user ends on one as the other takes it, in
//! either order). A call taken on a device that reports nothing to myApps still counts as missed.
//!
//! The notification is state the connector wants on the hub, like the lamp command: the engine keeps it
//! wanted (or not), what the hub acknowledged in this session, and sends again with back-off until the hub
//! acknowledges. A new session does not know what the hub shows, so it sends what is wanted, a stop
//! included: a notification a crashed hidden app left behind has nobody else to end it.

use crate::backoff::Backoff;
use crate::hub::LampCommand;
use crate::state::{CallInfo, CallKey, CallState, Direction};

use super::{MAX_CALLS, RETRY_BASE_MS, RETRY_MAX_MS};

/// How long after a ringing call ended an incoming call connected elsewhere still makes it "answered".
pub const SETTLE_MS: u64 = 3_000;

/// What a call event means for the notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    Nothing,
    /// The user has a call (an outgoing one, or an answered one): the notification ends.
    UserCall,
}

#[derive(Debug, Clone)]
pub struct MissedCalls {
    /// Incoming calls that ring (or rang), each with whether the user's phone reported it `Disconnected` while
    /// it rang (a rejection).
    ringing: Vec<(CallKey, bool)>,
    /// A ringing call ended unanswered: it is missed unless an incoming call is connected before this time.
    pending_until: Option<u64>,
    /// Since when a missed call is shown (engine time); `None`: no missed call.
    since: Option<u64>,
    /// What the hub acknowledged in this session: `Some(Some(cmd))` started with `cmd`, `Some(None)` stopped.
    acked: Option<Option<LampCommand>>,
    /// The request in flight, with the state it asks for.
    in_flight: Option<Option<LampCommand>>,
    backoff: Backoff,
    retry_at: Option<u64>,
}

impl Default for MissedCalls {
    fn default() -> Self {
        MissedCalls {
            ringing: Vec::new(),
            pending_until: None,
            since: None,
            acked: None,
            in_flight: None,
            backoff: Backoff::new(RETRY_BASE_MS, RETRY_MAX_MS),
            retry_at: None,
        }
    }
}

impl MissedCalls {
    /// One call changed from `old` to `new` (`None`: not there / removed).
    pub fn observe(
        &mut self,
        now: u64,
        key: &CallKey,
        old: Option<CallInfo>,
        new: Option<CallInfo>,
    ) -> Seen {
        let at = self.ringing.iter().position(|(k, _)| k == key);
        let Some(info) = new else {
            if let Some(i) = at {
                let (_, rejected) = self.ringing.remove(i);
                if !rejected {
                    self.pending_until = Some(now.saturating_add(SETTLE_MS));
                }
            }
            return Seen::Nothing;
        };
        let incoming = info.dir == Some(Direction::Incoming);
        match info.state {
            Some(CallState::Alerting) if incoming && at.is_none() => {
                if self.ringing.len() < MAX_CALLS {
                    self.ringing.push((key.clone(), false));
                }
                Seen::Nothing
            }
            Some(CallState::Disconnected) => {
                if let Some(i) = at {
                    self.ringing[i].1 = true;
                }
                Seen::Nothing
            }
            Some(CallState::Connected) => {
                if incoming {
                    // Answered here, and the same call's ringing on the user's other devices with it.
                    self.ringing
                        .retain(|(k, _)| k.provider == key.provider && k != key);
                    self.pending_until = None;
                }
                let was_connected = old.is_some_and(|o| o.state == Some(CallState::Connected));
                if was_connected {
                    Seen::Nothing
                } else {
                    Seen::UserCall
                }
            }
            Some(_) if !incoming && info.dir.is_some() && old.is_none_or(|o| o.dir.is_none()) => {
                Seen::UserCall
            }
            _ => Seen::Nothing,
        }
    }

    /// Time passed: a call that ended unanswered becomes missed once nobody took it elsewhere. True: a missed
    /// call now (also when one is shown already: several keep one notification).
    pub fn settle(&mut self, now: u64) -> bool {
        match self.pending_until {
            Some(t) if now >= t => {
                self.pending_until = None;
                if self.since.is_none() {
                    self.since = Some(now);
                }
                true
            }
            _ => false,
        }
    }

    /// Since when a missed call is shown.
    pub fn since(&self) -> Option<u64> {
        self.since
    }

    /// Ends the shown missed call (next call, cleared, expired, switched off). True if one was shown.
    pub fn clear(&mut self) -> bool {
        self.since.take().is_some()
    }

    /// When an ended call is decided (missed or answered elsewhere).
    pub fn settle_at(&self) -> Option<u64> {
        self.pending_until
    }

    /// When a request the hub did not acknowledge goes out again, if one is owed for `want`.
    pub fn retry_at(&self, want: Option<LampCommand>) -> Option<u64> {
        (self.in_flight.is_none() && self.acked != Some(want))
            .then_some(self.retry_at)
            .flatten()
    }

    /// The request to send now for `want` (what the hub should show), if any.
    pub fn due(&self, want: Option<LampCommand>, now: u64) -> bool {
        self.in_flight.is_none()
            && self.acked != Some(want)
            && self.retry_at.is_none_or(|t| now >= t)
    }

    pub fn sent(&mut self, want: Option<LampCommand>) {
        self.in_flight = Some(want);
    }

    /// The hub answered the request in flight: `ok` acknowledged; otherwise owed, with the delay to the
    /// next try. Returns the delay when refused.
    pub fn answered(&mut self, now: u64, ok: bool, jitter: u32) -> Option<u64> {
        let asked = self.in_flight.take()?;
        if ok {
            self.acked = Some(asked);
            self.backoff.reset();
            self.retry_at = None;
            None
        } else {
            let delay = self.backoff.fail(jitter);
            self.retry_at = Some(now.saturating_add(delay));
            Some(delay)
        }
    }

    /// A new session (or the hub lost what it had): nothing known about what it shows.
    pub fn new_session(&mut self) {
        self.acked = None;
        self.in_flight = None;
        self.retry_at = None;
        self.backoff.reset();
    }

    /// The sender was logged out: the hub shows no notification of it any more.
    pub fn logged_out(&mut self) {
        self.acked = Some(None);
        self.in_flight = None;
    }
}
