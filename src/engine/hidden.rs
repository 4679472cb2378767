//! Calls of other applications under the connector's own presence colour.
//!
//! On a hub as it comes (no administrator sorted its priorities) every sender has one line, in the order
//! the senders first spoke to it, directly above the manual source. A connector that registered before
//! MS Teams ranks above Teams' line, so while the lamp shows the user's own "away", `currentpresence`
//! reports that and nothing of a Teams call under it: "calls overwrite presence" would fail. So whenever the
//! running command is the connector's own presence colour, the engine asks the hub, as each of
//! [`CALL_SOURCES`], for that sender's own priority (running or not; see `Endpoint::own_priority`), and a
//! call found there counts as the hub's state. Where the hub does not tell, or a call was found under the
//! connector's line, the status panel says which line to move.

use super::presence::HubView;
use crate::config::LampSlot;
use crate::hub::{
    event_names, HubError, OwnPriority, RunningCommand, CALL_SOURCES, EVENT_TYPE_PRESENCE,
};
use crate::mapping::{same, transform_running, Transform};
use crate::state::MyAppsState;

#[derive(Debug, Clone, Default)]
pub(super) struct HiddenCalls {
    round: Option<Round>,
    /// What the status panel is told: `Some(source)`: a call of `source` was found under the connector's
    /// presence line; `Some("")`: the hub does not tell other senders' own priority, so calls under it may
    /// go unseen.
    hint: Option<String>,
    /// The hint changed and is not traced yet.
    news: bool,
}

/// One round of own-priority reads: the next source to ask, whether any answer told an own priority, and
/// the call found (a round stops at the first).
#[derive(Debug, Clone, Default)]
struct Round {
    next: u8,
    understood: bool,
    found: Option<HubView>,
}

/// Whether a running command is the connector's own presence colour, which hides whatever ranks below it.
pub(super) fn own_presence(r: &RunningCommand) -> bool {
    transform_running(&r.sender, &r.eventtype, &r.eventname) == Transform::Own
        && same(&r.eventtype, EVENT_TYPE_PRESENCE)
}

impl HiddenCalls {
    /// The connector's presence colour is what the hub shows: a round starts (its answers decide the hub's
    /// state).
    pub fn start(&mut self) {
        self.round = Some(Round::default());
    }

    /// The source to ask next, while a round runs.
    pub fn next_request(&self) -> Option<u8> {
        self.round.as_ref().map(|r| r.next)
    }

    /// The hub reports another application's call while the lamp shows the connector's presence colour
    /// (`lamp`: the state of the command the hub runs for the connector): that application ranks above the
    /// connector's presence, nothing of it is hidden.
    pub fn shown(&mut self, view: Option<&HubView>, lamp: Option<LampSlot>) {
        let call = view.is_some_and(|v| v.state == MyAppsState::OnThePhone);
        let presence = lamp.is_some_and(|s| event_names(s).0 == EVENT_TYPE_PRESENCE);
        if call && presence && self.hint.is_some() {
            self.hint = None;
            self.news = true;
        }
    }

    /// The answer to the round's request for source `i`. When the round is over, the hub's state it found
    /// (`Some(None)`: no call under the connector's presence colour).
    pub fn answer(
        &mut self,
        i: u8,
        answer: Result<OwnPriority, HubError>,
    ) -> Option<Option<HubView>> {
        let round = self.round.as_mut().filter(|r| r.next == i)?;
        match answer {
            Ok(OwnPriority::Nothing) => round.understood = true,
            Ok(OwnPriority::Running(c)) => {
                round.understood = true;
                let t = transform_running(&c.sender, &c.eventtype, &c.eventname);
                if t == Transform::State(MyAppsState::OnThePhone) {
                    round.found = Some(HubView {
                        state: MyAppsState::OnThePhone,
                        source: c.sender.trim().to_string(),
                    });
                }
            }
            // A hub that does not tell, or a failure of the moment: nothing known of this source.
            Ok(OwnPriority::Unknown) | Err(_) => {}
        }
        round.next = round.next.saturating_add(1);
        if round.found.is_none() && usize::from(round.next) < CALL_SOURCES.len() {
            return None;
        }
        let round = self.round.take()?;
        let hint = match (&round.found, round.understood) {
            (Some(v), _) => Some(v.source.clone()),
            (None, false) => Some(String::new()),
            // Nothing under the line now; a call found under it before still says the line ranks too high.
            (None, true) => self.hint.clone().filter(|h| !h.is_empty()),
        };
        if hint != self.hint {
            self.hint = hint;
            self.news = true;
        }
        Some(round.found)
    }

    pub fn hint(&self) -> Option<&String> {
        self.hint.as_ref()
    }

    /// The trace line for a changed hint, once.
    pub fn take_news(&mut self) -> Option<&'static str> {
        if !std::mem::take(&mut self.news) {
            return None;
        }
        Some(match self.hint.as_deref() {
            None => "kuandoHUB shows other apps' calls over the connector's presence colour",
            Some("") => "kuandoHUB does not tell whether the connector's presence colour hides other apps' calls: rank innovaphone myApps below MS Teams, Zoom and Webex",
            Some(_) => "kuandoHUB shows the connector's presence colour over another app's call: rank innovaphone myApps below MS Teams, Zoom and Webex",
        })
    }

    /// A new session: nothing is known of this hub's ranking.
    pub fn reset(&mut self) {
        *self = HiddenCalls::default();
    }
}
