//! The states the connector reasons about: the concept's myApps states, the PBX presence each one is written
//! as, and the call states of the myApps phone API.

use std::fmt;
use std::str::FromStr;

/// The states myApps knows, exactly the concept's list (`free, busy, away, dnd, onthephone`) plus `lunch`,
/// the Manual Changer's "implicit away with lunch message".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MyAppsState {
    Free,
    Busy,
    Away,
    Dnd,
    OnThePhone,
    Lunch,
}

impl MyAppsState {
    pub const ALL: [MyAppsState; 6] = [
        MyAppsState::Free,
        MyAppsState::Busy,
        MyAppsState::Away,
        MyAppsState::Dnd,
        MyAppsState::OnThePhone,
        MyAppsState::Lunch,
    ];

    /// The name as the concept spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            MyAppsState::Free => "free",
            MyAppsState::Busy => "busy",
            MyAppsState::Away => "away",
            MyAppsState::Dnd => "dnd",
            MyAppsState::OnThePhone => "onthephone",
            MyAppsState::Lunch => "lunch",
        }
    }

    /// The PBX presence (for `contact "tel:"`) that shows this state. `source` names the application the
    /// state came from; only "on the phone" carries it, so colleagues see where the user is talking.
    pub fn presence(self, source: &str) -> Presence {
        match self {
            MyAppsState::Free => Presence::new("", ""),
            MyAppsState::Busy => Presence::new("busy", ""),
            MyAppsState::Away => Presence::new("away", ""),
            MyAppsState::Dnd => Presence::new("dnd", ""),
            MyAppsState::OnThePhone => Presence::new(ON_THE_PHONE, source),
            MyAppsState::Lunch => Presence::new("away", LUNCH_NOTE),
        }
    }
}

/// The PBX activity for "on the phone" (RPID `on-the-phone`).
pub const ON_THE_PHONE: &str = "on-the-phone";
/// The note that turns "away" into "lunch".
pub const LUNCH_NOTE: &str = "lunch";

impl fmt::Display for MyAppsState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a name that is not one of the states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownState(pub String);

impl fmt::Display for UnknownState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown state \"{}\"", self.0)
    }
}

impl std::error::Error for UnknownState {}

impl FromStr for MyAppsState {
    type Err = UnknownState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        MyAppsState::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| UnknownState(s.to_string()))
    }
}

/// A user's presence on the PBX for `contact "tel:"`: an activity (`""` = available) and a free-text note.
/// Kept as the PBX sent it, so that the connector can restore exactly what the user had.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct Presence {
    #[serde(default)]
    pub activity: String,
    #[serde(default)]
    pub note: String,
}

impl Presence {
    pub fn new(activity: &str, note: &str) -> Self {
        Presence {
            activity: activity.to_string(),
            note: note.to_string(),
        }
    }

    /// Available, no note.
    pub fn available() -> Self {
        Presence::default()
    }

    /// The myApps state this presence shows, if it is one of them. `None` for activities outside the concept's
    /// list (e.g. `vacation`): the connector keeps those untouched.
    pub fn state(&self) -> Option<MyAppsState> {
        let act = self.activity.trim();
        if act.is_empty() || act.eq_ignore_ascii_case("available") {
            Some(MyAppsState::Free)
        } else if act.eq_ignore_ascii_case("away") {
            if self.note.trim().eq_ignore_ascii_case(LUNCH_NOTE) {
                Some(MyAppsState::Lunch)
            } else {
                Some(MyAppsState::Away)
            }
        } else if act.eq_ignore_ascii_case(ON_THE_PHONE) || act.eq_ignore_ascii_case("onthephone") {
            Some(MyAppsState::OnThePhone)
        } else if act.eq_ignore_ascii_case("busy") {
            Some(MyAppsState::Busy)
        } else if act.eq_ignore_ascii_case("dnd") {
            Some(MyAppsState::Dnd)
        } else if act.eq_ignore_ascii_case("lunch") {
            Some(MyAppsState::Lunch)
        } else {
            None
        }
    }

    /// True when the user is available (no manual presence of their own).
    pub fn is_available(&self) -> bool {
        self.state() == Some(MyAppsState::Free)
    }
}

/// The state of one call, as the myApps phone API (`com.innovaphone.phone` / `phoneinfo`) names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallState {
    Setup,
    Dialing,
    Ringback,
    Queued,
    Alerting,
    Connected,
    Holding,
    Held,
    Disconnected,
}

impl CallState {
    pub const ALL: [CallState; 9] = [
        CallState::Setup,
        CallState::Dialing,
        CallState::Ringback,
        CallState::Queued,
        CallState::Alerting,
        CallState::Connected,
        CallState::Holding,
        CallState::Held,
        CallState::Disconnected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CallState::Setup => "Setup",
            CallState::Dialing => "Dialing",
            CallState::Ringback => "Ringback",
            CallState::Queued => "Queued",
            CallState::Alerting => "Alerting",
            CallState::Connected => "Connected",
            CallState::Holding => "Holding",
            CallState::Held => "Held",
            CallState::Disconnected => "Disconnected",
        }
    }
}

impl fmt::Display for CallState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CallState {
    type Err = UnknownState;
    /// Case-insensitive: phone apps of different releases are not consistent in spelling.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        CallState::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| UnknownState(s.to_string()))
    }
}

/// Direction of a call from the user's point of view (`dir` `"i"` / `"o"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Incoming,
    Outgoing,
}

impl Direction {
    /// `"i"` is incoming, `"o"` outgoing; anything else is unknown.
    pub fn parse(s: &str) -> Option<Direction> {
        match s.trim() {
            "i" | "I" | "in" | "incoming" => Some(Direction::Incoming),
            "o" | "O" | "out" | "outgoing" => Some(Direction::Outgoing),
            _ => None,
        }
    }
}

/// Identifies one call: myApps sends call events from every phone app (provider), each numbering its calls.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallKey {
    /// The phone app that reported the call (the `consumer` of `phoneinfo`, or the `com.innovaphone.phone`
    /// provider).
    pub provider: String,
    /// The call's `id` as text (myApps sends a number; text tolerates any JSON scalar).
    pub id: String,
}

impl CallKey {
    pub fn new(provider: &str, id: &str) -> Self {
        CallKey {
            provider: provider.to_string(),
            id: id.to_string(),
        }
    }
}

/// A call as far as the connector cares: direction and state (either may be unknown yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CallInfo {
    pub dir: Option<Direction>,
    pub state: Option<CallState>,
}

/// A call event from myApps (`com.innovaphone.phoneinfo`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CallEvent {
    Added(CallKey),
    Updated(CallKey, CallInfo),
    Removed(CallKey),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_display_and_parse_as_the_concept_spells_them() {
        let names: Vec<String> = MyAppsState::ALL.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            names,
            ["free", "busy", "away", "dnd", "onthephone", "lunch"]
        );
        for s in MyAppsState::ALL {
            assert_eq!(s.to_string().parse::<MyAppsState>(), Ok(s));
            assert_eq!(s.to_string().to_uppercase().parse::<MyAppsState>(), Ok(s));
        }
        assert!("vacation".parse::<MyAppsState>().is_err());
        assert!("".parse::<MyAppsState>().is_err());
    }

    #[test]
    fn each_state_is_written_as_the_pbx_presence_the_concept_describes() {
        assert_eq!(MyAppsState::Free.presence("x"), Presence::new("", ""));
        assert_eq!(MyAppsState::Busy.presence("x"), Presence::new("busy", ""));
        assert_eq!(MyAppsState::Away.presence("x"), Presence::new("away", ""));
        assert_eq!(MyAppsState::Dnd.presence("x"), Presence::new("dnd", ""));
        assert_eq!(
            MyAppsState::OnThePhone.presence("MS Teams"),
            Presence::new("on-the-phone", "MS Teams")
        );
        assert_eq!(
            MyAppsState::Lunch.presence("x"),
            Presence::new("away", "lunch")
        );
    }

    #[test]
    fn presence_reads_back_as_the_state_it_shows() {
        for s in MyAppsState::ALL {
            assert_eq!(s.presence("Zoom").state(), Some(s));
        }
        assert_eq!(Presence::new("vacation", "").state(), None);
        assert_eq!(
            Presence::new("away", "back at 3").state(),
            Some(MyAppsState::Away)
        );
        assert!(Presence::available().is_available());
        assert!(!Presence::new("dnd", "").is_available());
    }

    #[test]
    fn call_states_parse_from_the_phone_api_names() {
        for s in CallState::ALL {
            assert_eq!(s.as_str().parse::<CallState>(), Ok(s));
            assert_eq!(s.as_str().to_lowercase().parse::<CallState>(), Ok(s));
        }
        assert!("Ringing".parse::<CallState>().is_err());
        assert_eq!(Direction::parse("i"), Some(Direction::Incoming));
        assert_eq!(Direction::parse("o"), Some(Direction::Outgoing));
        assert_eq!(Direction::parse("x"), None);
    }
}
