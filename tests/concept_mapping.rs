//! The concept's transform table, pinned to the concept itself: the rows below are the table of
//! "Synchronization Concept kuandoHUB®" as the concept prints it, parsed here, and never read from the
//! connector's own `mapping::TABLE`. A row dropped, an event lost or added, or a state changed in the
//! connector's data fails here.

use kuando_connector::mapping::{transform, transform_running, Transform};
use kuando_connector::state::MyAppsState::{self, Away, Busy, Dnd, Free, Lunch, OnThePhone};

/// The concept's table, row for row, as text (platform | events | transformed state).
const CONCEPT_TABLE: &str = "
| 3CX | Call Alert, On-The-Phone | onthephone |
| Alcatel Rainbow Office | Call Alert, In-a-Conference, On-The-Phone | onthephone |
| Atos Unify Office | Call Alert, In-a-Conference, On-The-Phone | onthephone |
| Avaya Cloud Office | Call Alert, In-a-Conference, On-The-Phone | onthephone |
| Avaya Workplace | Call Alert, In a call | onthephone |
| Avaya One-X Communicator | Call alert, On-The-Phone | onthephone |
| AT&T Office@Hand | Call Alert, In-a-Conference, On-The-Phone | onthephone |
| BT Cloud Work | Call Alert, In-a-Conference, On-The-Phone | onthephone |
| Cisco Jabber | Call Alert, In-a-Conference, On-The-Phone | onthephone |
| Ecotel | Call Alert, In-a-Conference, On-The-Phone | onthephone |
| Eastlink | Call Alert, In-a-Conference, On-The-Phone | onthephone |
| MS Teams | On-The-Phone, In-a-Conference, Call Alert | onthephone |
| Plantronics Hub | Call Alert, On-The-Phone | onthephone |
| RingCentral Unified | Call Alert, On-The-Phone, In-a-Conference | onthephone |
| RingCentral Softphone | Call alert, In a call | onthephone |
| Slack | Call-Alert, On-The-Phone, In-A-Meeting | onthephone |
| Symphony | Call Alert, On-The-Phone, In-A-Conference | onthephone |
| TELUS Business Connect | Call Alert, On-The-Phone, In-a-Conference | onthephone |
| Broadsoft UC-One | Call Alert, On-The-Phone, In-a-Conference | onthephone |
| Jabra | Call Alert, On-The-Phone | onthephone |
| Verizon | Call Alert, On-The-Phone, In-a-Conference | onthephone |
| Vodafone | Call Alert, On-The-Phone, In-a-Conference | onthephone |
| Webex | Call Alert, On-The-Phone | onthephone |
| Zoom | Call Alert, In-a-Zoom-Meeting | onthephone |
| Manual Changer | Available, LTM (listen the music), Off | free |
| Manual Changer | Busy | busy |
| Manual Changer | Away, NAW (not at work) | away |
| Manual Changer | DND | dnd |
| Manual Changer | Lunch | lunch (implicit away with lunch message) |
";

struct Row {
    platform: &'static str,
    /// Every name an event may come as: "LTM (listen the music)" is `LTM` and `listen the music`.
    events: Vec<String>,
    state: MyAppsState,
}

fn state_of(text: &str) -> MyAppsState {
    match text.split_whitespace().next().unwrap_or_default() {
        "onthephone" => OnThePhone,
        "free" => Free,
        "busy" => Busy,
        "away" => Away,
        "dnd" => Dnd,
        "lunch" => Lunch,
        other => panic!("the concept's table has no state {other:?}"),
    }
}

fn concept_rows() -> Vec<Row> {
    CONCEPT_TABLE
        .lines()
        .filter(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&'static str> = l.trim_matches('|').split('|').map(str::trim).collect();
            assert_eq!(cells.len(), 3, "{l}");
            let mut events = Vec::new();
            for e in cells[1].split(", ") {
                match e.split_once(" (") {
                    Some((short, long)) => {
                        events.push(short.to_string());
                        events.push(long.trim_end_matches(')').to_string());
                    }
                    None => events.push(e.to_string()),
                }
            }
            Row {
                platform: cells[0],
                events,
                state: state_of(cells[2]),
            }
        })
        .collect()
}

fn platforms(rows: &[Row]) -> Vec<&'static str> {
    let mut p: Vec<&str> = Vec::new();
    for r in rows {
        if !p.contains(&r.platform) {
            p.push(r.platform);
        }
    }
    p
}

/// The concept's table has 29 rows for 24 telephony platforms and the Manual Changer.
#[test]
fn the_independent_table_is_the_concepts() {
    let rows = concept_rows();
    assert_eq!(rows.len(), 29);
    assert_eq!(platforms(&rows).len(), 25);
    assert_eq!(
        rows.iter().filter(|r| r.state == OnThePhone).count(),
        24,
        "every telephony platform has one row"
    );
}

/// Every platform, every event of the concept maps to the concept's state, spelled as the concept spells it.
#[test]
fn every_event_of_every_platform_maps_to_the_concepts_state() {
    for row in concept_rows() {
        for event in &row.events {
            assert_eq!(
                transform(row.platform, event),
                Transform::State(row.state),
                "{} / {event}",
                row.platform
            );
            // As a plugin spells it: other case, blanks for hyphens, hyphens for blanks.
            for variant in [
                event.to_ascii_uppercase(),
                event.to_ascii_lowercase(),
                event.replace('-', " "),
                event.replace(' ', "-"),
                event.replace(['-', ' '], ""),
            ] {
                assert_eq!(
                    transform(&row.platform.to_ascii_lowercase(), &variant),
                    Transform::State(row.state),
                    "{} / {variant}",
                    row.platform
                );
            }
            // Where the plugin puts its state in `eventtype` instead.
            assert_eq!(
                transform_running(row.platform, event, "Light"),
                Transform::State(row.state),
                "{} / {event} as eventtype",
                row.platform
            );
        }
    }
}

/// An event the concept lists for *another* row is no event of this platform: a row that gained an event
/// (or a platform that took another's events) fails here. For the Manual Changer, an event of another of
/// its rows must map to that row's state, never to this one's.
#[test]
fn no_platform_knows_an_event_the_concept_does_not_give_it() {
    let rows = concept_rows();
    let all_events: Vec<&String> = rows.iter().flat_map(|r| r.events.iter()).collect();
    for p in platforms(&rows) {
        let own: Vec<(&String, MyAppsState)> = rows
            .iter()
            .filter(|r| r.platform == p)
            .flat_map(|r| r.events.iter().map(move |e| (e, r.state)))
            .collect();
        for event in &all_events {
            let expected = own
                .iter()
                .find(|(e, _)| {
                    let n = |s: &str| s.to_ascii_lowercase().replace(['-', ' '], "");
                    n(e) == n(event)
                })
                .map(|(_, s)| Transform::State(*s))
                .unwrap_or(Transform::UnknownEvent);
            assert_eq!(transform(p, event), expected, "{p} / {event}");
        }
    }
}

/// A platform the concept does not list, or a near miss of one, is unknown whatever the event.
#[test]
fn platforms_outside_the_concept_are_unknown() {
    for (platform, event) in [
        ("Skype", "On-The-Phone"),
        ("Teams", "On-The-Phone"),
        ("MS Teams Classic", "Call Alert"),
        ("Zoom Rooms", "In-a-Zoom-Meeting"),
        ("Cisco", "Call Alert"),
        ("Webex Teams", "On-The-Phone"),
        ("HTTP", "light"),
        ("kuando TIMER", "Busy"),
        ("", "Call Alert"),
    ] {
        assert_eq!(
            transform(platform, event),
            Transform::UnknownApplication,
            "{platform} / {event}"
        );
    }
}

/// Events the concept does not list for any platform are no state, whatever the platform.
#[test]
fn events_outside_the_concept_are_unknown() {
    let rows = concept_rows();
    for p in platforms(&rows) {
        for event in [
            "Available-Teams",
            "Ringing",
            "Presenting",
            "Offline",
            "Red",
            "",
            "On-The",
            "Call",
        ] {
            assert_eq!(
                transform(p, event),
                Transform::UnknownEvent,
                "{p} / {event}"
            );
        }
    }
    // Presence events of a telephony platform are not the Manual Changer's.
    for event in ["Busy", "Away", "DND", "Lunch", "Available"] {
        assert_eq!(
            transform("MS Teams", event),
            Transform::UnknownEvent,
            "{event}"
        );
    }
}
