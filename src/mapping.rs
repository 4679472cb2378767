//! The concept's transform table: which event of which 3rd-party application (as kuandoHUB reports its
//! running command) becomes which myApps state.
//!
//! Matching is tolerant the way real senders are inconsistent (the concept's own table spells "Call Alert",
//! "Call alert" and "Call-Alert"; plugins write "On-The-Phone" or "OnThePhone"): ASCII case is ignored, and
//! so are `-`, `_` and blanks (docs/platform-facts.md §1.11).
//!
//! One source has several names ([`SOURCE_ALIASES`]): Plenom's own screens call the manual presence source
//! "Manual Controls", the manual's text "Manual Changer" (once "Manuel Changer"), and no source shows which
//! one `currentpresence` reports (fact 1). All three get the concept's "Manual Changer" rows. Traces show the
//! names as the hub sent them; only the matching uses the table's name.

use crate::hub::SENDER;
use crate::state::MyAppsState::{self, Away, Busy, Dnd, Free, Lunch, OnThePhone};

/// The table, row for row as in the concept ("Synchronization Concept kuandoHUB®").
pub const TABLE: &[(&str, &[&str], MyAppsState)] = &[
    ("3CX", &["Call Alert", "On-The-Phone"], OnThePhone),
    (
        "Alcatel Rainbow Office",
        &["Call Alert", "In-a-Conference", "On-The-Phone"],
        OnThePhone,
    ),
    (
        "Atos Unify Office",
        &["Call Alert", "In-a-Conference", "On-The-Phone"],
        OnThePhone,
    ),
    (
        "Avaya Cloud Office",
        &["Call Alert", "In-a-Conference", "On-The-Phone"],
        OnThePhone,
    ),
    ("Avaya Workplace", &["Call Alert", "In a call"], OnThePhone),
    (
        "Avaya One-X Communicator",
        &["Call alert", "On-The-Phone"],
        OnThePhone,
    ),
    (
        "AT&T Office@Hand",
        &["Call Alert", "In-a-Conference", "On-The-Phone"],
        OnThePhone,
    ),
    (
        "BT Cloud Work",
        &["Call Alert", "In-a-Conference", "On-The-Phone"],
        OnThePhone,
    ),
    (
        "Cisco Jabber",
        &["Call Alert", "In-a-Conference", "On-The-Phone"],
        OnThePhone,
    ),
    (
        "Ecotel",
        &["Call Alert", "In-a-Conference", "On-The-Phone"],
        OnThePhone,
    ),
    (
        "Eastlink",
        &["Call Alert", "In-a-Conference", "On-The-Phone"],
        OnThePhone,
    ),
    (
        "MS Teams",
        &["On-The-Phone", "In-a-Conference", "Call Alert"],
        OnThePhone,
    ),
    (
        "Plantronics Hub",
        &["Call Alert", "On-The-Phone"],
        OnThePhone,
    ),
    (
        "RingCentral Unified",
        &["Call Alert", "On-The-Phone", "In-a-Conference"],
        OnThePhone,
    ),
    (
        "RingCentral Softphone",
        &["Call alert", "In a call"],
        OnThePhone,
    ),
    (
        "Slack",
        &["Call-Alert", "On-The-Phone", "In-A-Meeting"],
        OnThePhone,
    ),
    (
        "Symphony",
        &["Call Alert", "On-The-Phone", "In-A-Conference"],
        OnThePhone,
    ),
    (
        "TELUS Business Connect",
        &["Call Alert", "On-The-Phone", "In-a-Conference"],
        OnThePhone,
    ),
    (
        "Broadsoft UC-One",
        &["Call Alert", "On-The-Phone", "In-a-Conference"],
        OnThePhone,
    ),
    ("Jabra", &["Call Alert", "On-The-Phone"], OnThePhone),
    (
        "Verizon",
        &["Call Alert", "On-The-Phone", "In-a-Conference"],
        OnThePhone,
    ),
    (
        "Vodafone",
        &["Call Alert", "On-The-Phone", "In-a-Conference"],
        OnThePhone,
    ),
    ("Webex", &["Call Alert", "On-The-Phone"], OnThePhone),
    ("Zoom", &["Call Alert", "In-a-Zoom-Meeting"], OnThePhone),
    // The concept writes the Manual Changer events with their meaning in brackets ("LTM (listen the
    // music)", "NAW (not at work)"); the hub sends the short names, the long ones are accepted too.
    (
        "Manual Changer",
        &["Available", "LTM", "Listen the music", "Off"],
        Free,
    ),
    ("Manual Changer", &["Busy"], Busy),
    ("Manual Changer", &["Away", "NAW", "Not at work"], Away),
    ("Manual Changer", &["DND"], Dnd),
    ("Manual Changer", &["Lunch"], Lunch),
];

/// Other names of a source in [`TABLE`]: (the table's name, the names the hub may report instead).
pub const SOURCE_ALIASES: &[(&str, &[&str])] =
    &[("Manual Changer", &["Manual Controls", "Manuel Changer"])];

/// The table's name for a source the hub reported, or the name itself.
fn table_name(platform: &str) -> &str {
    for (name, aliases) in SOURCE_ALIASES {
        if aliases.iter().any(|a| same(a, platform)) {
            return name;
        }
    }
    platform
}

/// What a running command of the hub means for myApps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transform {
    /// A state from the table.
    State(MyAppsState),
    /// The connector's own sender: its echo, to be ignored.
    Own,
    /// The sending application is not in the table.
    UnknownApplication,
    /// The application is known, the event is not.
    UnknownEvent,
}

impl Transform {
    /// The trace text of the two ignore cases, exactly as the concept prints them.
    pub fn trace_text(self) -> Option<&'static str> {
        match self {
            Transform::UnknownApplication => {
                Some("transforming: ignored, sending application is unknown")
            }
            Transform::UnknownEvent => Some("transforming: ignored, sending event is unknown"),
            _ => None,
        }
    }
}

/// Compares two names the tolerant way without allocating: ASCII case, `-`, `_` and blanks do not count.
pub fn same(a: &str, b: &str) -> bool {
    fn norm(s: &str) -> impl Iterator<Item = char> + '_ {
        s.chars()
            .filter(|c| !(matches!(c, '-' | '_') || c.is_whitespace()))
            .map(|c| c.to_ascii_lowercase())
    }
    norm(a).eq(norm(b))
}

/// Transforms a hub source (`platform` = the sender) and its `event` into what myApps should show.
pub fn transform(platform: &str, event: &str) -> Transform {
    if same(platform, SENDER) {
        return Transform::Own;
    }
    let platform = table_name(platform);
    let mut known_platform = false;
    for (p, events, state) in TABLE {
        if same(p, platform) {
            known_platform = true;
            if events.iter().any(|e| same(e, event)) {
                return Transform::State(*state);
            }
        }
    }
    if known_platform {
        Transform::UnknownEvent
    } else {
        Transform::UnknownApplication
    }
}

/// Transforms a running command, trying its `eventname` first and then its `eventtype`: the manual leaves open
/// which of the two a plugin fills with its state (its own examples put the state in `eventname`, e.g.
/// `Light` / `Red`), so the tolerant choice is to accept either.
pub fn transform_running(sender: &str, eventtype: &str, eventname: &str) -> Transform {
    match transform(sender, eventname) {
        Transform::UnknownEvent if !eventtype.trim().is_empty() => {
            match transform(sender, eventtype) {
                t @ Transform::State(_) => t,
                _ => Transform::UnknownEvent,
            }
        }
        t => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_the_concepts_29_rows_and_24_platforms() {
        assert_eq!(TABLE.len(), 29);
        let mut platforms: Vec<&str> = TABLE.iter().map(|r| r.0).collect();
        platforms.dedup();
        assert_eq!(platforms.len(), 25); // 24 telephony platforms + Manual Changer
    }

    #[test]
    fn every_row_and_event_maps_to_its_state() {
        for (platform, events, state) in TABLE {
            for event in *events {
                assert_eq!(
                    transform(platform, event),
                    Transform::State(*state),
                    "{platform} / {event}"
                );
            }
        }
    }

    #[test]
    fn concept_rows_spot_checks() {
        use Transform::State;
        assert_eq!(transform("MS Teams", "On-The-Phone"), State(OnThePhone));
        assert_eq!(transform("MS Teams", "In-a-Conference"), State(OnThePhone));
        assert_eq!(transform("Zoom", "In-a-Zoom-Meeting"), State(OnThePhone));
        assert_eq!(transform("Slack", "In-A-Meeting"), State(OnThePhone));
        assert_eq!(transform("Avaya Workplace", "In a call"), State(OnThePhone));
        assert_eq!(
            transform("AT&T Office@Hand", "Call Alert"),
            State(OnThePhone)
        );
        assert_eq!(transform("Manual Changer", "Available"), State(Free));
        assert_eq!(transform("Manual Changer", "LTM"), State(Free));
        assert_eq!(transform("Manual Changer", "Off"), State(Free));
        assert_eq!(transform("Manual Changer", "Busy"), State(Busy));
        assert_eq!(transform("Manual Changer", "NAW"), State(Away));
        assert_eq!(transform("Manual Changer", "Away"), State(Away));
        assert_eq!(transform("Manual Changer", "DND"), State(Dnd));
        assert_eq!(transform("Manual Changer", "Lunch"), State(Lunch));
    }

    #[test]
    fn spelling_variants_match() {
        use Transform::State;
        for (p, e) in [
            ("ms teams", "on the phone"),
            ("MS_TEAMS", "ON_THE_PHONE"),
            ("  MS  Teams ", "On--The--Phone"),
            ("Slack", "Call Alert"),
            ("Slack", "call_alert"),
            ("Avaya One-X Communicator", "CALL-ALERT"),
            ("avaya one x communicator", "Call Alert"),
            ("Zoom", "in a zoom meeting"),
            ("manual changer", "dnd"),
        ] {
            assert!(matches!(transform(p, e), State(_)), "{p} / {e}");
        }
    }

    #[test]
    fn the_manual_source_has_three_names_and_one_set_of_rows() {
        use Transform::State;
        for source in [
            "Manual Changer",
            "Manual Controls",
            "Manuel Changer",
            "manual-controls",
            " MANUAL  CONTROLS ",
            "ManualControls",
        ] {
            assert_eq!(transform(source, "Busy"), State(Busy), "{source}");
            assert_eq!(transform(source, "DND"), State(Dnd), "{source}");
            assert_eq!(transform(source, "Away"), State(Away), "{source}");
            assert_eq!(transform(source, "Lunch"), State(Lunch), "{source}");
            assert_eq!(transform(source, "Available"), State(Free), "{source}");
            assert_eq!(transform(source, "Purple"), Transform::UnknownEvent);
        }
        assert_eq!(transform("Manual", "Busy"), Transform::UnknownApplication);
        assert_eq!(
            transform("Manual Controller", "Busy"),
            Transform::UnknownApplication
        );
    }

    #[test]
    fn blanks_and_hyphens_do_not_count_in_event_names() {
        use Transform::State;
        for (p, e) in [
            ("MS Teams", "OnThePhone"),
            ("MS Teams", "on the phone"),
            ("MSTeams", "In-A-Conference"),
            ("Zoom", "InAZoomMeeting"),
            ("Slack", "callalert"),
            ("Avaya Workplace", "In-a-Call"),
        ] {
            assert_eq!(transform(p, e), State(OnThePhone), "{p} / {e}");
        }
    }

    #[test]
    fn own_sender_is_recognised_whatever_the_event() {
        assert_eq!(transform("innovaphone myApps", "Blink"), Transform::Own);
        assert_eq!(transform("Innovaphone_MyApps", ""), Transform::Own);
    }

    #[test]
    fn unknown_application_and_event() {
        assert_eq!(
            transform("Skype", "On-The-Phone"),
            Transform::UnknownApplication
        );
        assert_eq!(transform("HTTP", "Light"), Transform::UnknownApplication);
        assert_eq!(transform("", ""), Transform::UnknownApplication);
        assert_eq!(transform("MS Teams", "Available"), Transform::UnknownEvent);
        assert_eq!(transform("Zoom", "On-The-Phone"), Transform::UnknownEvent);
        assert_eq!(
            transform("Manual Changer", "Purple"),
            Transform::UnknownEvent
        );
        assert_eq!(
            Transform::UnknownApplication.trace_text(),
            Some("transforming: ignored, sending application is unknown")
        );
        assert_eq!(
            Transform::UnknownEvent.trace_text(),
            Some("transforming: ignored, sending event is unknown")
        );
        assert_eq!(Transform::Own.trace_text(), None);
        assert_eq!(Transform::State(Free).trace_text(), None);
    }

    #[test]
    fn running_command_tries_eventname_then_eventtype() {
        use Transform::State;
        assert_eq!(
            transform_running("MS Teams", "Light", "On-The-Phone"),
            State(OnThePhone)
        );
        assert_eq!(
            transform_running("MS Teams", "On-The-Phone", "Red"),
            State(OnThePhone)
        );
        assert_eq!(
            transform_running("MS Teams", "Light", "Red"),
            Transform::UnknownEvent
        );
        assert_eq!(
            transform_running("Skype", "Light", "Red"),
            Transform::UnknownApplication
        );
        assert_eq!(
            transform_running("innovaphone myApps", "Blink", "Blink"),
            Transform::Own
        );
    }
}
