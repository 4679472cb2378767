//! The user's myApps calls, from every phone app, and the lamp state they ask for (rule 1).

use crate::config::LampSlot;
use crate::state::{CallEvent, CallInfo, CallKey, CallState, Direction, MyAppsState, Presence};

/// Upper bound on tracked calls. A phone app that adds calls and never removes them (a bug, or a reconnect that
/// lost the `CallRemoved`) must not grow memory without end in an app that runs all day. A real user has a
/// handful at most.
pub const MAX_CALLS: usize = 64;

/// The lamp slot one call asks for; `None` for a call that does not light the lamp (not yet known, or
/// disconnected).
///
/// Judgement calls, since the phone API does not pair every state with a direction:
/// - before connect (`Setup`, `Dialing`, `Ringback`, `Queued`, `Alerting`), an incoming call is *ringing* and
///   an outgoing one *dialing*;
/// - with the direction unknown, `Alerting` is ringing (it is the phone API's name for an incoming call that
///   rings) and the other pre-connect states are dialing;
/// - `Holding` and `Held` are both *held*: either way the user is in a call that is paused.
pub fn call_slot(info: CallInfo) -> Option<LampSlot> {
    let state = info.state?;
    Some(match state {
        CallState::Setup
        | CallState::Dialing
        | CallState::Ringback
        | CallState::Queued
        | CallState::Alerting => match info.dir {
            Some(Direction::Incoming) => LampSlot::Ringing,
            Some(Direction::Outgoing) => LampSlot::Dialing,
            None if state == CallState::Alerting => LampSlot::Ringing,
            None => LampSlot::Dialing,
        },
        CallState::Connected => LampSlot::Connected,
        CallState::Holding | CallState::Held => LampSlot::Held,
        CallState::Disconnected => return None,
    })
}

/// The lamp slot the user's own presence asks for (busy, dnd, away, lunch); anything else leaves the lamp to
/// lower-priority hub sources.
pub fn presence_slot(p: &Presence) -> Option<LampSlot> {
    match p.state()? {
        MyAppsState::Busy => Some(LampSlot::Busy),
        MyAppsState::Dnd => Some(LampSlot::Dnd),
        MyAppsState::Away => Some(LampSlot::Away),
        MyAppsState::Lunch => Some(LampSlot::Lunch),
        // "on the phone" set by someone else (e.g. the connector on the user's other PC) is a 3rd-party call,
        // not one of the lamp's presence slots; "free" releases the lamp.
        MyAppsState::Free | MyAppsState::OnThePhone => None,
    }
}

/// The name the concept's debug dump uses for a call slot (`lamp_call_state`).
pub fn call_state_name(slot: Option<LampSlot>) -> &'static str {
    match slot {
        None => "free",
        Some(s) => s.as_str(),
    }
}

/// All calls of all phone apps, keyed by provider and call id.
///
/// A `Vec` kept sorted by key: it holds at most [`MAX_CALLS`] entries, for which a `BTreeMap` would only add
/// code to the always-loaded hidden app. Sorted, so that equality and iteration order are a map's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calls {
    map: Vec<(CallKey, CallInfo)>,
}

/// Sets `key` to `info` in the sorted `map`.
fn upsert(map: &mut Vec<(CallKey, CallInfo)>, key: CallKey, info: CallInfo) {
    match map.binary_search_by(|(k, _)| k.cmp(&key)) {
        Ok(i) => map[i].1 = info,
        Err(i) => map.insert(i, (key, info)),
    }
}

impl Calls {
    fn find(&self, key: &CallKey) -> Result<usize, usize> {
        self.map.binary_search_by(|(k, _)| k.cmp(key))
    }

    /// Applies one event; returns true if anything changed.
    pub fn event(&mut self, ev: &CallEvent) -> bool {
        match ev {
            CallEvent::Added(key) => {
                match self.find(key) {
                    Err(i) if self.map.len() < MAX_CALLS => {
                        self.map.insert(i, (key.clone(), CallInfo::default()));
                        true
                    }
                    // A repeated `CallAdded` must not wipe what `CallUpdated` already told us.
                    _ => false,
                }
            }
            CallEvent::Updated(key, info) => {
                let old = self.find(key).ok().map(|i| self.map[i].1);
                if old.is_none() && self.map.len() >= MAX_CALLS {
                    return false;
                }
                let base = old.unwrap_or_default();
                // A field the update leaves out keeps its value (`CallUpdated` normally carries both; being
                // tolerant costs nothing).
                let new = CallInfo {
                    dir: info.dir.or(base.dir),
                    state: info.state.or(base.state),
                };
                upsert(&mut self.map, key.clone(), new);
                old != Some(new)
            }
            CallEvent::Removed(key) => match self.find(key) {
                Ok(i) => {
                    self.map.remove(i);
                    true
                }
                Err(_) => false,
            },
        }
    }

    /// Replaces every call of `provider` by `calls` (the phone API model lists all calls of a provider).
    pub fn replace_provider(&mut self, provider: &str, calls: &[(String, CallInfo)]) -> bool {
        let mut new: Vec<(CallKey, CallInfo)> = self
            .map
            .iter()
            .filter(|(k, _)| k.provider != provider)
            .cloned()
            .collect();
        for (id, info) in calls {
            if new.len() >= MAX_CALLS {
                break;
            }
            // An id listed twice counts once, with its last state (as the map's `insert` did).
            upsert(&mut new, CallKey::new(provider, id), *info);
        }
        let changed = new != self.map;
        self.map = new;
        changed
    }

    /// What is known of one call.
    pub fn info(&self, key: &CallKey) -> Option<CallInfo> {
        self.find(key).ok().map(|i| self.map[i].1)
    }

    /// The calls of one phone app.
    pub fn of_provider(&self, provider: &str) -> Vec<(CallKey, CallInfo)> {
        self.map
            .iter()
            .filter(|(k, _)| k.provider == provider)
            .cloned()
            .collect()
    }

    /// The highest lamp slot any call asks for (ringing > dialing > connected > held).
    pub fn slot(&self) -> Option<LampSlot> {
        self.map.iter().filter_map(|(_, i)| call_slot(*i)).min()
    }

    /// Calls that are not over yet (the debug dump's `count_calls`).
    pub fn count(&self) -> usize {
        self.map
            .iter()
            .filter(|(_, i)| i.state != Some(CallState::Disconnected))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(dir: Option<Direction>, state: CallState) -> CallInfo {
        CallInfo {
            dir,
            state: Some(state),
        }
    }

    #[test]
    fn call_states_map_to_the_lamp_slots_of_rule_1() {
        use CallState::*;
        use Direction::*;
        assert_eq!(
            call_slot(info(Some(Incoming), Alerting)),
            Some(LampSlot::Ringing)
        );
        assert_eq!(call_slot(info(None, Alerting)), Some(LampSlot::Ringing));
        for s in [Setup, Dialing, Ringback, Queued] {
            assert_eq!(call_slot(info(Some(Outgoing), s)), Some(LampSlot::Dialing));
            assert_eq!(call_slot(info(None, s)), Some(LampSlot::Dialing));
        }
        assert_eq!(
            call_slot(info(Some(Outgoing), Connected)),
            Some(LampSlot::Connected)
        );
        assert_eq!(call_slot(info(Some(Incoming), Held)), Some(LampSlot::Held));
        assert_eq!(call_slot(info(None, Holding)), Some(LampSlot::Held));
        assert_eq!(call_slot(info(Some(Incoming), Disconnected)), None);
        assert_eq!(call_slot(CallInfo::default()), None);
    }

    #[test]
    fn the_highest_priority_call_wins() {
        let mut c = Calls::default();
        let a = CallKey::new("softphone", "1");
        let b = CallKey::new("deskphone", "7");
        c.event(&CallEvent::Added(a.clone()));
        assert_eq!(c.slot(), None);
        c.event(&CallEvent::Updated(
            a.clone(),
            info(Some(Direction::Outgoing), CallState::Connected),
        ));
        assert_eq!(c.slot(), Some(LampSlot::Connected));
        c.event(&CallEvent::Updated(
            b.clone(),
            info(Some(Direction::Incoming), CallState::Alerting),
        ));
        assert_eq!(c.slot(), Some(LampSlot::Ringing));
        assert_eq!(c.count(), 2);
        c.event(&CallEvent::Removed(b));
        assert_eq!(c.slot(), Some(LampSlot::Connected));
    }

    #[test]
    fn repeated_events_change_nothing() {
        let mut c = Calls::default();
        let a = CallKey::new("p", "1");
        assert!(c.event(&CallEvent::Added(a.clone())));
        let up = CallEvent::Updated(
            a.clone(),
            info(Some(Direction::Incoming), CallState::Alerting),
        );
        assert!(c.event(&up));
        assert!(!c.event(&up));
        assert!(!c.event(&CallEvent::Added(a.clone())));
        assert_eq!(c.slot(), Some(LampSlot::Ringing));
        assert!(c.event(&CallEvent::Removed(a.clone())));
        assert!(!c.event(&CallEvent::Removed(a)));
    }

    #[test]
    fn a_provider_model_replaces_only_that_providers_calls() {
        let mut c = Calls::default();
        c.event(&CallEvent::Updated(
            CallKey::new("other", "1"),
            info(None, CallState::Held),
        ));
        let list = vec![(
            "5".to_string(),
            info(Some(Direction::Outgoing), CallState::Connected),
        )];
        assert!(c.replace_provider("soft", &list));
        assert!(!c.replace_provider("soft", &list));
        assert_eq!(c.count(), 2);
        assert!(c.replace_provider("soft", &[]));
        assert_eq!(c.slot(), Some(LampSlot::Held));
        // A call listed twice is one call, in the state listed last.
        let twice = vec![
            (
                "5".to_string(),
                info(Some(Direction::Outgoing), CallState::Dialing),
            ),
            (
                "5".to_string(),
                info(Some(Direction::Outgoing), CallState::Connected),
            ),
        ];
        assert!(c.replace_provider("soft", &twice));
        assert_eq!(c.count(), 2);
        assert_eq!(c.slot(), Some(LampSlot::Connected));
    }

    #[test]
    fn memory_is_bounded() {
        let mut c = Calls::default();
        for i in 0..1000 {
            c.event(&CallEvent::Added(CallKey::new("p", &i.to_string())));
        }
        assert_eq!(c.count(), MAX_CALLS);
    }

    #[test]
    fn presence_lights_the_lamp_only_for_busy_dnd_away_lunch() {
        assert_eq!(
            presence_slot(&Presence::new("busy", "")),
            Some(LampSlot::Busy)
        );
        assert_eq!(
            presence_slot(&Presence::new("dnd", "")),
            Some(LampSlot::Dnd)
        );
        assert_eq!(
            presence_slot(&Presence::new("away", "back at 3")),
            Some(LampSlot::Away)
        );
        assert_eq!(
            presence_slot(&Presence::new("away", "lunch")),
            Some(LampSlot::Lunch)
        );
        assert_eq!(presence_slot(&Presence::available()), None);
        assert_eq!(presence_slot(&Presence::new("on-the-phone", "Zoom")), None);
        assert_eq!(presence_slot(&Presence::new("vacation", "")), None);
    }
}
