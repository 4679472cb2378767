//! The hub's state, read: each `currentpresence` answer either updates what other applications show (mapped
//! with the concept's table, handed to the presence sync) and checks the connector's own sender against the
//! command it wants, or is classified as a failure of the moment, a "too old" verdict or a lost hub; the
//! device list counts the Busylights; a hub state no answer confirmed for two poll intervals is dropped.

use super::{
    hidden, lamp, Connector, HubStatus, HubView, LampSetup, Level, ANSWER_FAILED,
    DEVICE_RECHECK_MS, MAX_IGNORED, MIN_POLL_GAP_MS, TOO_OLD_AFTER,
};
use crate::hub::{self, HubError, RunningCommand};
use crate::mapping::{transform_running, Transform};

impl Connector {
    pub(super) fn on_poll(&mut self, result: Result<hub::CurrentPresence, HubError>) {
        let now = self.now;
        // The gap to the next poll: the poll interval, unless the answer says otherwise below.
        let mut gap = self.interval_ms();
        match result {
            Ok(cp) => {
                self.mark_healthy();
                self.bad_polls = 0;
                self.answer_failures.reset();
                self.too_old_rechecks.reset();
                if self.hub_status == HubStatus::TooOld {
                    self.hub_status = HubStatus::Reachable;
                    self.traced_link = HubStatus::Reachable;
                    self.last_error = None;
                    self.out
                        .trace(Level::Always, "kuandoHUB answers currentpresence now");
                }
                if self
                    .last_error
                    .as_deref()
                    .is_some_and(|t| t.starts_with(ANSWER_FAILED))
                {
                    self.last_error = None;
                    self.out.trace(
                        Level::Always,
                        "kuandoHUB answers currentpresence properly again",
                    );
                }
                self.hub_unknown_since = None;
                if std::mem::take(&mut self.poll_failed) {
                    // The hub answers properly again: what it did not take goes out now.
                    self.lamp.retry_now();
                }
                self.check_own(&cp);
                self.on_running(cp.running);
            }
            Err(e)
                if matches!(
                    e,
                    HubError::Timeout | HubError::Network | HubError::Unauthorized
                ) =>
            {
                self.link_failed(e);
                return;
            }
            Err(HubError::NoDevice) => {
                // A hub that wants a lamp even for currentpresence (or says NO_DEVICE): polling goes on, its
                // state is unknown. Not "too old", not garbage.
                self.mark_healthy();
                self.poll_failed = true;
                self.bad_polls = 0;
                self.hub_unknown_since.get_or_insert(now);
                self.lamp_404 = true;
                self.trace_no_device();
            }
            Err(HubError::UnknownAction) => {
                // The only answer that is a verdict on the hub's version, and only twice in a row.
                self.mark_healthy();
                self.poll_failed = true;
                self.answer_failures.reset();
                self.hub_unknown_since.get_or_insert(now);
                self.bad_polls = self.bad_polls.saturating_add(1);
                if self.bad_polls >= TOO_OLD_AFTER {
                    if self.hub_status != HubStatus::TooOld {
                        self.hub_status = HubStatus::TooOld;
                        self.traced_link = HubStatus::TooOld;
                        self.set_error(
                            "kuandoHUB too old: it does not know currentpresence; the lamp works, presence sync does not"
                                .to_string(),
                        );
                    }
                    // Re-checked in case it was updated: from 5 s to once a minute.
                    gap = self.too_old_rechecks.fail(0);
                }
            }
            Err(e) => {
                // Garbage, HTML, truncated JSON, 5xx: a failure of the moment, not a verdict. The hub process
                // answers, so it is asked again with the ordinary back-off, but never less often than the
                // poll interval: presence sync resumes within one poll interval of the hub answering properly.
                self.mark_healthy();
                self.poll_failed = true;
                self.bad_polls = 0;
                self.hub_unknown_since.get_or_insert(now);
                let n = self.answer_failures.failures().saturating_add(1);
                self.answer_failures.fail(0);
                gap = self.answer_failures.delay_for(n).min(gap);
                if self.hub_status != HubStatus::TooOld {
                    self.set_error(format!("{ANSWER_FAILED}: {}", e.text()));
                }
            }
        }
        self.next_poll_at = Some(
            self.last_poll_sent
                .saturating_add(gap)
                .max(now.saturating_add(MIN_POLL_GAP_MS)),
        );
    }

    /// Compares what the hub reports for the connector's sender with the command it wants (see `lamp`).
    pub(super) fn check_own(&mut self, cp: &hub::CurrentPresence) {
        if self.lamp_setup != LampSetup::Ready {
            return;
        }
        let own = hub::own_command(cp);
        let want = self.lamp_wanted();
        let busy = self.lamp_lane.is_some();
        match self
            .lamp
            .check(self.now, self.last_poll_sent, own, want, busy)
        {
            lamp::Verdict::Fine => {}
            lamp::Verdict::Yield(first) => {
                if first {
                    let shown = own.flatten().map_or("", |r| r.eventname.as_str());
                    self.out.trace(
                        Level::Always,
                        &format!("kuandoHUB shows {shown} under the connector's sender from another client of the user: left to it"),
                    );
                }
            }
            lamp::Verdict::Correct(shown, first) => {
                let text = format!("kuandoHUB shows {shown} under the connector's sender, the connector wants {}: sent again", want.0.describe());
                self.out
                    .trace(if first { Level::Always } else { Level::Hub }, &text);
            }
        }
    }

    pub(super) fn on_running(&mut self, running: Option<RunningCommand>) {
        let triple = running
            .as_ref()
            .map(|r| (r.sender.clone(), r.eventtype.clone(), r.eventname.clone()));
        if triple != self.last_running {
            let text = match &triple {
                Some((s, t, n)) => format!("3rd party state result: {s} / {t} / {n}"),
                None => "3rd party state result: none".to_string(),
            };
            self.out.trace(Level::Hub, &text);
            self.last_running = triple;
        }
        if running.as_ref().is_some_and(hidden::own_presence) {
            // What the connector's presence colour hides is asked for; the round's end decides.
            self.hidden.start();
            return;
        }
        let view = match &running {
            None => None,
            Some(r) => match transform_running(&r.sender, &r.eventtype, &r.eventname) {
                Transform::State(state) => Some(HubView {
                    state,
                    source: r.sender.trim().to_string(),
                }),
                // The connector's own lamp command is never a 3rd-party state (rule 4): it counts as
                // "nothing from others". Its presence colour was handled above (what it hides is asked for);
                // its `Call` events run above other apps' calls while the user is on a myApps call anyway.
                Transform::Own => None,
                t => {
                    self.trace_ignored(t, r);
                    None
                }
            },
        };
        self.hidden
            .shown(view.as_ref(), self.lamp.acked.and_then(|(_, slot)| slot));
        if let Some(text) = self.hidden.take_news() {
            self.out.trace(Level::Always, text);
        }
        self.presence.set_hub(view, &mut self.out);
    }

    /// The concept's "transforming: ignored, …" line, once per distinct value: per application when the
    /// application is unknown, per event when only the event is.
    pub(super) fn trace_ignored(&mut self, t: Transform, r: &RunningCommand) {
        let Some(text) = t.trace_text() else {
            return;
        };
        // Only a key to trace each ignored value once: ASCII folding is enough, without bringing Unicode's
        // case tables into the hidden app.
        let norm = |s: &str| s.trim().to_ascii_lowercase();
        let key = if t == Transform::UnknownApplication {
            (norm(&r.sender), String::new(), String::new())
        } else {
            (norm(&r.sender), norm(&r.eventtype), norm(&r.eventname))
        };
        if self.ignored.contains(&key) {
            return;
        }
        if self.ignored.len() >= MAX_IGNORED {
            self.ignored.clear();
        }
        self.ignored.push(key);
        self.out.trace(
            Level::Always,
            &format!("{text}: {} / {} / {}", r.sender, r.eventtype, r.eventname),
        );
    }

    pub(super) fn set_devices(&mut self, n: usize) {
        self.mark_healthy();
        self.devices = Some(n);
        if n == 0 {
            // Asked again now and then; each poll interval while a lamp command is owed.
            let wait = if self.lamp.owed() {
                self.interval_ms()
            } else {
                DEVICE_RECHECK_MS
            };
            if self.devices_check_at.is_none() || self.lamp.owed() {
                self.devices_check_at = Some(self.now.saturating_add(wait));
            }
            self.trace_no_device();
        } else if self.no_device_traced || self.lamp_404 {
            self.lamp_404 = false;
            self.no_device_traced = false;
            // The lamp missed what was sent while it was away, and what is owed goes out now.
            self.lamp.acked = None;
            self.lamp.retry_now();
            self.out
                .trace(Level::Always, &format!("Busylight connected ({n})"));
        }
    }

    pub(super) fn trace_no_device(&mut self) {
        if !self.no_device_traced {
            self.no_device_traced = true;
            self.out.trace(
                Level::Always,
                "no Busylight connected: the lamp stays dark, presence sync goes on",
            );
        }
    }

    pub(super) fn stale_deadline(&self) -> Option<u64> {
        let since = self.hub_unknown_since?;
        if self.presence.hub().is_none() && self.presence.applied().is_none() {
            return None;
        }
        Some(
            since
                .saturating_add(2 * self.interval_ms())
                .saturating_add(1),
        )
    }

    /// Rule 5: a hub state not confirmed for more than two poll intervals is dropped, so that a presence set
    /// from it is given back and nobody is left "on the phone".
    pub(super) fn check_staleness(&mut self) {
        if self.stale_deadline().is_some_and(|t| self.now >= t) {
            self.out.trace(
                Level::Always,
                "kuandoHUB state unknown for more than two poll intervals: presence from it is given back",
            );
            self.presence.hub_lost(&mut self.out);
        }
    }
}
