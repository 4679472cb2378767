//! The connector's intended hub command and how it converges (level-triggered, not edge-triggered).
//!
//! The engine keeps the command it *wants* the hub to run under its sender (a call state, the user's own
//! presence, or `Off`), what the hub *acknowledged*, and what `currentpresence` *reports* for the sender. A
//! command the hub did not acknowledge (`NO_DEVICE`, 404, 401, 5xx, garbage, no answer) is *owed*: it is sent
//! again with back-off, at once when the hub answers properly again or a Busylight is plugged in. A report
//! that shows the sender running something else (another client of the user wrote under the same sender, or
//! the hub lost or refused a release) is corrected the same way.
//!
//! **Two clients of one user on one PC** (the Launcher and a browser tab) post under the same sender to the
//! same hub. Each would "correct" the other's command for ever. They arbitrate by rank, like the service's
//! presence guard: a call beats a presence colour, a presence colour beats `Off`, and among calls the lamp's
//! own order (ringing > dialing > connected > held). A client yields to a higher-ranked command of the user's
//! under the sender; the lower one is put right at once. A client that died leaves its command behind with
//! nobody to end it: after [`YIELD_MS`] the yielding client puts its own command back *once*; if the other
//! client is alive it restores its higher-ranked one within a poll interval, and from then on it is yielded to
//! for as long as it stays.
//!
//! One `LampIntent` per sender the connector writes under.

use crate::backoff::Backoff;
use crate::config::LampSlot;
use crate::hub::{self, LampCommand, RunningCommand};

use super::{RETRY_BASE_MS, RETRY_MAX_MS};

/// How long a client yields to a higher-ranked command of another client under the same sender before it
/// checks, once, whether that client is still alive.
pub const YIELD_MS: u64 = 300_000;
/// After that check, how long the other client has to put its command back to count as alive.
pub const ALIVE_WITHIN_MS: u64 = 60_000;

/// A command with the state it is labelled with (see [`hub::event_names`]).
pub type Want = (LampCommand, Option<LampSlot>);

/// What a `currentpresence` answer says about the connector's sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The report agrees with what is wanted, or tells nothing about the sender.
    Fine,
    /// Another client of the user runs a higher-ranked command under the sender: left alone (true: news).
    Yield(bool),
    /// The sender runs something else: the wanted command is owed again. The text says what the hub showed;
    /// true for the first correction since the hub last confirmed (later ones are traced quietly).
    Correct(String, bool),
}

#[derive(Debug, Clone)]
pub struct LampIntent {
    /// What the hub acknowledged in this session; `None`: nothing known, the wanted command is sent.
    pub acked: Option<Want>,
    /// The wanted command not acknowledged (or not shown); traced once per owed command.
    owed: Option<Owed>,
    backoff: Backoff,
    retry_at: Option<u64>,
    /// When the last command went out: a poll sent before it says nothing about it.
    sent_at: Option<u64>,
    /// The higher-ranked command yielded to: its labels, since when, and when it was checked (once).
    yielded: Option<(Labels, u64, Option<u64>)>,
    /// Labels of the commands sent since a report last showed what is wanted: the hub showing one of these
    /// shows this client's own stale command (e.g. one it acknowledged and did not apply), not another
    /// client's, and is put right at once.
    unconfirmed: Vec<Labels>,
}

type Labels = (String, String);

#[derive(Debug, Clone)]
struct Owed {
    want: Want,
    /// The hub refused it (rather than showing something else afterwards).
    refused: bool,
}

impl Default for LampIntent {
    fn default() -> Self {
        LampIntent {
            acked: None,
            owed: None,
            backoff: Backoff::new(RETRY_BASE_MS, RETRY_MAX_MS),
            retry_at: None,
            sent_at: None,
            yielded: None,
            unconfirmed: Vec::new(),
        }
    }
}

/// The labels of a command as the hub ranks and reports it, folded (case and blanks ignored).
fn labels_of(want: Want) -> Option<Labels> {
    if want.0.releases() {
        return None;
    }
    let (t, n) = match want.1 {
        Some(slot) => hub::event_names(slot),
        None => ("", ""),
    };
    Some((fold(t), fold(n)))
}

fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| !(matches!(c, '-' | '_') || c.is_whitespace()))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The slot a reported command of the sender is labelled with (`None`: not one of the connector's labels).
fn slot_of(l: &Labels) -> Option<LampSlot> {
    LampSlot::ALL.into_iter().find(|s| {
        let (t, n) = hub::event_names(*s);
        fold(t) == l.0 && fold(n) == l.1
    })
}

/// Rank of a state: lower is stronger; `Off` (and anything not the connector's) is the weakest.
fn rank(slot: Option<LampSlot>) -> usize {
    slot.map_or(LampSlot::ALL.len(), |s| s as usize)
}

impl LampIntent {
    /// Whether `want` should be sent now (the lamp lane being free).
    pub fn due(&self, want: Want, now: u64) -> bool {
        if self.acked == Some(want) {
            return false;
        }
        match &self.owed {
            Some(o) if o.want == want => self.retry_at.is_none_or(|t| now >= t),
            // A new wish goes out at once, whatever the back-off of the old one.
            _ => true,
        }
    }

    pub fn sent(&mut self, now: u64, want: Want) {
        self.sent_at = Some(now);
        if let Some(l) = labels_of(want) {
            // At most one entry per label pair the connector uses.
            if !self.unconfirmed.contains(&l) {
                self.unconfirmed.push(l);
            }
        }
    }

    /// The hub took `want`. Returns true if the hub had refused it before (the recovery is worth a line).
    pub fn accepted(&mut self, want: Want) -> bool {
        self.acked = Some(want);
        self.retry_at = None;
        let owed = self.owed.take();
        if owed.as_ref().is_none_or(|o| o.refused) {
            // The refusals are over. (Corrections keep their back-off until a report confirms them.)
            self.backoff.reset();
        }
        owed.is_some_and(|o| o.want == want && o.refused)
    }

    /// The hub did not take `want`. Returns the delay before it is sent again, and whether this is news (the
    /// first failure of this command: traced as a transition, later ones quietly).
    pub fn refused(&mut self, now: u64, want: Want, jitter: u32) -> (u64, bool) {
        let news = self
            .owed
            .as_ref()
            .is_none_or(|o| o.want != want || !o.refused);
        if self.acked == Some(want) {
            self.acked = None;
        }
        let delay = self.backoff.fail(jitter);
        self.retry_at = Some(now.saturating_add(delay));
        self.owed = Some(Owed {
            want,
            refused: true,
        });
        (delay, news)
    }

    /// The hub answers properly again, or a Busylight was plugged in: what is owed goes out now, and the
    /// refusals before count no more (a correction the same answer asks for goes out at once too).
    pub fn retry_now(&mut self) {
        self.retry_at = None;
        self.backoff.reset();
    }

    /// Whether something is owed.
    pub fn owed(&self) -> bool {
        self.owed.is_some()
    }

    /// When an owed command is due, if it is still wanted.
    pub fn retry_at(&self, want: Want) -> Option<u64> {
        match &self.owed {
            Some(o) if o.want == want && self.acked != Some(want) => self.retry_at,
            _ => None,
        }
    }

    /// A new session with the hub: everything is sent again; the back-off starts over.
    pub fn new_session(&mut self) {
        self.acked = None;
        self.retry_at = None;
        self.sent_at = None;
        self.backoff.reset();
    }

    /// Compares what `currentpresence` (asked at `poll_sent`) reports for the sender with `want`. `own` is
    /// `None` when the answer says nothing about the sender (another application shows).
    pub fn check(
        &mut self,
        now: u64,
        poll_sent: u64,
        own: Option<Option<&RunningCommand>>,
        want: Want,
        lane_busy: bool,
    ) -> Verdict {
        let Some(own) = own else {
            return Verdict::Fine;
        };
        // The answer may predate the last command: nothing to compare. A command owed already goes out with
        // its back-off; the report adds nothing.
        if lane_busy
            || self.sent_at.is_some_and(|t| poll_sent <= t)
            || self.owed.as_ref().is_some_and(|o| o.want == want)
        {
            return Verdict::Fine;
        }
        let shown = own.map(|r| (fold(&r.eventtype), fold(&r.eventname)));
        let wanted = labels_of(want);
        // The same labels with another action (a colour scheme of its own, a stray write) is not the same
        // command; a hub that does not report the action is taken at its labels.
        let same_action = own.is_none_or(|r| {
            let a = fold(&r.action);
            a.is_empty() || a == fold(want.0.action_name())
        });
        if shown == wanted && same_action {
            self.unconfirmed.clear();
            if self.acked == Some(want) {
                // Confirmed: a correction that sticks ends the back-off.
                self.backoff.reset();
            }
            // After the one check, a client that is alive puts its command back within a poll interval; one
            // that stays away was dead, and a later command of the same kind is news again.
            if self.yielded.as_ref().is_some_and(|(_, _, c)| {
                c.is_some_and(|t| now.saturating_sub(t) >= ALIVE_WITHIN_MS)
            }) {
                self.yielded = None;
            }
            return Verdict::Fine;
        }
        if shown == wanted {
            self.yielded = None;
            return self.correct(
                now,
                want,
                &format!("{} (another action)", want.1.map_or("", |s| s.as_str())),
            );
        }
        let Some(labels) = shown else {
            // Nothing runs under the sender, yet a command is wanted: the hub lost it.
            self.yielded = None;
            return self.correct(now, want, "nothing");
        };
        let stronger = rank(slot_of(&labels)) < rank(want.1.filter(|_| !want.0.releases()));
        if stronger && !self.unconfirmed.contains(&labels) {
            // Another client of the user shows something stronger under the same sender.
            let check_once = match &mut self.yielded {
                Some((l, since, checked)) if *l == labels => {
                    let due = checked.is_none() && now.saturating_sub(*since) >= YIELD_MS;
                    if due {
                        *checked = Some(now);
                    }
                    due
                }
                _ => {
                    self.yielded = Some((labels, now, None));
                    return Verdict::Yield(true);
                }
            };
            if check_once {
                self.backoff.reset();
                return self.correct(now, want, &labels.1);
            }
            return Verdict::Yield(false);
        }
        self.yielded = None;
        self.correct(now, want, &labels.1)
    }

    /// The sender runs something else: the wanted command is owed again, at once the first time, then with
    /// back-off unless a poll confirms it (a hub that reports the sender differently from what it was sent
    /// must not be written to at every poll).
    fn correct(&mut self, now: u64, want: Want, shown: &str) -> Verdict {
        self.acked = None;
        let n = self.backoff.failures();
        self.backoff.fail(0);
        self.retry_at = Some(now.saturating_add(self.backoff.delay_for(n)));
        self.owed = Some(Owed {
            want,
            refused: false,
        });
        Verdict::Correct(shown.to_string(), n == 0)
    }
}
