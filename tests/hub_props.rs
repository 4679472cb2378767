//! Property tests of the hub answer readers: whatever the hub (or something in front of it) answers — huge,
//! deeply nested, cut, noisy or double-encoded — each reader returns a value or a clear error, never panics,
//! and reads a well-formed answer the same whatever the case of its field names.
#![cfg(not(target_arch = "wasm32"))]

use kuando_connector::hub::{
    self, HubError, HubOutcome, HubVerdict, OwnPriority, RequestKind, CALL_SOURCES,
};
use proptest::prelude::*;
use serde_json::json;

/// Every reader of an answer body, as one result each (the value dropped).
fn read_all(status: u16, body: &[u8]) -> [Result<(), HubError>; 5] {
    [
        hub::parse_probe(status, body),
        hub::parse_current_presence(status, body).map(drop),
        hub::parse_devices(status, body).map(drop),
        hub::parse_own_priority(status, body, CALL_SOURCES[0]).map(drop),
        hub::parse_command_response(status, body),
    ]
}

/// Whether `body` is JSON as the readers take it (UTF-8, a byte-order mark and white space around allowed).
fn is_json(body: &[u8]) -> bool {
    std::str::from_utf8(body).is_ok_and(|t| {
        serde_json::from_str::<serde_json::Value>(t.trim_start_matches('\u{feff}').trim()).is_ok()
    })
}

/// `s` with each ASCII letter's case chosen by the bits of `mask`.
fn recase(s: &str, mask: u64) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 64) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

fn nested(open: &str, close: &str, depth: usize) -> String {
    format!("{}{}", open.repeat(depth), close.repeat(depth))
}

#[test]
fn deep_answers_are_errors_not_a_stack_overflow() {
    for depth in [127, 128, 129, 1_000, 100_000] {
        for (open, close) in [
            ("[", "]"),
            ("{\"runningcommand\":", "}"),
            ("{\"devices\":[", "]}"),
        ] {
            let body = nested(open, close, depth);
            for r in read_all(200, body.as_bytes()) {
                assert!(
                    matches!(r, Ok(()) | Err(HubError::Malformed(_))),
                    "{depth} {open}: {r:?}"
                );
            }
            // Double-encoded: the inner text is just as deep.
            let double = serde_json::to_string(&body).expect("a string");
            for r in read_all(200, double.as_bytes()) {
                assert!(
                    matches!(r, Ok(()) | Err(HubError::Malformed(_))),
                    "{depth} {open}: {r:?}"
                );
            }
        }
    }
    // Deep beyond serde_json's limit: an error that says so, not a guess.
    let deep = nested("[", "]", 100_000);
    assert_eq!(
        hub::parse_devices(200, deep.as_bytes()),
        Err(HubError::Malformed("not JSON".into()))
    );
}

#[test]
fn huge_answers_are_read_in_full_or_refused() {
    // Ten thousand lamps: all of them.
    let lamp = r#"{"ModelName":"Busylight UC Omega","IsLightSupported":true}"#;
    let many = format!("[{}]", vec![lamp; 10_000].join(","));
    assert_eq!(
        hub::parse_devices(200, many.as_bytes()).map(|d| d.len()),
        Ok(10_000)
    );
    // A megabyte of a sender name is still that sender's; a megabyte of noise is not JSON.
    let long = "x".repeat(1 << 20);
    let body = json!({"runningcommand": {"sender": long, "eventname": "Busy", "parameter": null}});
    let cp = hub::parse_current_presence(200, body.to_string().as_bytes()).expect("an answer");
    assert_eq!(cp.running.map(|r| r.sender.len()), Some(1 << 20));
    let noise = vec![b'{'; 1 << 20];
    for r in read_all(200, &noise).into_iter().take(4) {
        assert!(matches!(r, Err(HubError::Malformed(_))), "{r:?}");
    }
}

#[test]
fn the_verdict_on_a_hub_is_one_rule() {
    use HubError::*;
    use HubVerdict::{Answered, BadAnswer, TooOld, Unreachable};
    let poll = RequestKind::CurrentPresence;
    for (kind, e, want) in [
        (RequestKind::Probe, NoDevice, Answered),
        (RequestKind::Probe, Unauthorized, HubVerdict::Unauthorized),
        (
            RequestKind::Probe,
            Malformed("not JSON".into()),
            Unreachable,
        ),
        (RequestKind::Probe, Status(500), Unreachable),
        (RequestKind::Probe, UnknownAction, Unreachable),
        (RequestKind::Probe, Timeout, Unreachable),
        (poll, NoDevice, Answered),
        (poll, Network, Unreachable),
        (poll, Timeout, Unreachable),
        (poll, HubError::Unauthorized, HubVerdict::Unauthorized),
        (poll, UnknownAction, TooOld),
        (poll, Status(503), BadAnswer),
        (poll, Malformed("not JSON".into()), BadAnswer),
        (RequestKind::Devices, NoDevice, Answered),
        (RequestKind::Devices, Status(500), BadAnswer),
    ] {
        assert_eq!(hub::verdict(kind, &e), want, "{kind:?} {e:?}");
    }
    // "No Busylight" reads as an empty answer: a hub without a lamp runs nothing and has no devices.
    assert_eq!(hub::without_lamp(hub::parse_devices(404, b"")), Ok(vec![]));
    assert_eq!(
        hub::without_lamp(hub::parse_probe(200, b"NO_DEVICE")),
        Ok(())
    );
    assert_eq!(
        hub::without_lamp(hub::parse_current_presence(200, b"no_device")).map(|c| c.running),
        Ok(None)
    );
    assert_eq!(
        hub::without_lamp(hub::parse_probe(401, b"")),
        Err(HubError::Unauthorized)
    );
    // No answer at all is its error.
    assert_eq!(HubOutcome::Timeout.answer(), Err(Timeout));
    assert_eq!(HubOutcome::Network.answer(), Err(Network));
    let ok = HubOutcome::Answer {
        status: 200,
        body: b"{}".to_vec(),
    };
    assert_eq!(ok.answer(), Ok((200, &b"{}"[..])));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Bytes of any kind: every reader answers, and only a JSON text is ever read as a value.
    #[test]
    fn only_json_is_read_as_an_answer(
        status in prop_oneof![Just(200u16), Just(204), Just(400), 0u16..1000],
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300),
            "[ -~]{0,200}".prop_map(String::into_bytes),
            "\\PC{0,100}".prop_map(String::into_bytes),
        ],
    ) {
        let json = is_json(&body);
        for (i, r) in read_all(status, &body).into_iter().enumerate().take(4) {
            prop_assert!(r.is_err() || json, "reader {i} read {body:?}");
        }
        // NO_DEVICE wins over everything but the text itself.
        if body.windows(9).any(|w| w.eq_ignore_ascii_case(b"no_device")) {
            for r in read_all(status, &body) {
                prop_assert_eq!(r, Err(HubError::NoDevice));
            }
        }
        // A verdict for every failure, and the probe never calls a hub too old.
        for r in read_all(status, &body) {
            if let Err(e) = r {
                let v = hub::verdict(RequestKind::Probe, &e);
                prop_assert!(v != HubVerdict::TooOld && v != HubVerdict::BadAnswer);
            }
        }
    }

    /// A well-formed answer, cut anywhere: the whole reads, a cut one is an error or the same answer.
    #[test]
    fn a_cut_answer_is_never_read_as_another(
        sender in "[a-zA-Z ]{1,20}",
        event in "[a-zA-Z-]{1,20}",
        cut in any::<prop::sample::Index>(),
    ) {
        let body = json!({"runningcommand": {"action": "Light", "sender": sender, "eventtype": "Light",
            "eventname": event, "parameter": "{}"}}).to_string();
        let whole = hub::parse_current_presence(200, body.as_bytes());
        prop_assert!(whole.is_ok());
        let part = &body.as_bytes()[..cut.index(body.len())];
        let r = hub::parse_current_presence(200, part);
        prop_assert!(r.is_err(), "{part:?}: {r:?}");
    }

    /// Field names in any case, numbers where texts belong: read as the manual's names would be.
    #[test]
    fn field_names_in_any_case(
        mask in any::<u64>(),
        sender in "[a-zA-Z ]{1,20}",
        number in any::<u32>(),
        double in any::<bool>(),
    ) {
        let k = |name: &str| recase(name, mask);
        let mut rc = serde_json::Map::new();
        rc.insert(k("sender"), json!(sender.clone()));
        rc.insert(k("eventtype"), json!(number));
        rc.insert(k("eventname"), json!("Busy"));
        rc.insert(k("parameter"), json!({"RedRgbValue": 1}));
        rc.insert("unknown".into(), json!([1, {"x": null}]));
        let mut o = serde_json::Map::new();
        o.insert(k("runningcommand"), serde_json::Value::Object(rc.clone()));
        o.insert(k("ownpriority"), serde_json::Value::Object(rc));
        let mut body = serde_json::Value::Object(o).to_string();
        if double {
            body = serde_json::to_string(&body).expect("a string");
        }
        let cp = hub::parse_current_presence(200, body.as_bytes()).expect("an answer");
        let running = cp.running.expect("running");
        prop_assert_eq!(&running.sender, &sender);
        prop_assert_eq!(running.eventtype, number.to_string());
        prop_assert_eq!(running.eventname, "Busy");
        prop_assert_eq!(running.parameter.as_deref(), Some(""));
        let own = hub::parse_own_priority(200, body.as_bytes(), &sender).expect("an answer");
        prop_assert!(matches!(own, OwnPriority::Running(r) if r.sender == sender));
    }
}
