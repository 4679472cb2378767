//! Every class of hub answer with its negative and boundary cases, through the public parsers: a classifier
//! widened or narrowed by one rule fails here. Classes: OK, 401 (token), 404 / `NO_DEVICE` (no Busylight),
//! plain-text "unknown action" (the only "too old" evidence), other status, and malformed.

use kuando_connector::hub::{
    check_status, parse_command_response, parse_current_presence, parse_devices, parse_probe,
    says_no_device, unknown_action, HubError,
};

fn is_failure_of_the_moment(r: &Result<impl std::fmt::Debug, HubError>) -> bool {
    matches!(r, Err(HubError::Malformed(_) | HubError::Status(_)))
}

#[test]
fn status_classes_at_their_boundaries() {
    for s in [200, 201, 204, 299] {
        assert_eq!(check_status(s), Ok(()), "{s}");
    }
    for s in [100, 199, 300, 301, 400, 402, 403, 405, 500, 503, 599] {
        assert_eq!(check_status(s), Err(HubError::Status(s)), "{s}");
    }
    assert_eq!(check_status(401), Err(HubError::Unauthorized));
    assert_eq!(check_status(404), Err(HubError::NoDevice));
    // A lamp command: only the status (and a NO_DEVICE text) count, the body never.
    assert_eq!(parse_command_response(299, b"<html>"), Ok(()));
    assert_eq!(parse_command_response(300, b""), Err(HubError::Status(300)));
    assert_eq!(
        parse_command_response(199, b"{}"),
        Err(HubError::Status(199))
    );
    assert_eq!(
        parse_command_response(200, b"Unknown action"),
        Ok(()),
        "a lamp command's answer is no verdict on the hub's version"
    );
}

#[test]
fn no_device_is_nine_letters_in_any_case_anywhere_and_nothing_less() {
    for t in [
        &b"NO_DEVICE"[..],
        b"no_device",
        b"xxNo_DeViCexx",
        b"{\"error\":\"NO_DEVICE\"}",
        b"<html>NO_DEVICE</html>",
        b"\xff\xfeNO_DEVICE",
    ] {
        assert!(says_no_device(t), "{t:?}");
    }
    for t in [
        &b"NO DEVICE"[..],
        b"NO-DEVICE",
        b"NO_DEVIC",
        b"O_DEVICE",
        b"NODEVICE",
        b"no device connected",
        b"",
        b"Busylight device is not connected",
    ] {
        assert!(!says_no_device(t), "{t:?}");
    }
    // Whatever the status and whatever else the text says: never "too old", never garbage, never a token
    // problem.
    for (status, t) in [
        (200, &b"NO_DEVICE"[..]),
        (200, b"NO_DEVICE: unknown action"),
        (400, b"Unknown action NO_DEVICE"),
        (401, b"NO_DEVICE"),
        (500, b"NO_DEVICE"),
        (200, b"<html>NO_DEVICE</html>"),
    ] {
        assert_eq!(
            parse_current_presence(status, t),
            Err(HubError::NoDevice),
            "{status} {t:?}"
        );
        assert_eq!(
            parse_command_response(status, t),
            Err(HubError::NoDevice),
            "{status} {t:?}"
        );
        assert_eq!(parse_devices(status, t), Err(HubError::NoDevice), "{t:?}");
        assert_eq!(parse_probe(status, t), Err(HubError::NoDevice), "{t:?}");
    }
    // 404 without the text is no Busylight too; the probe's 404 also.
    assert_eq!(parse_current_presence(404, b""), Err(HubError::NoDevice));
    assert_eq!(parse_probe(404, b"Not Found"), Err(HubError::NoDevice));
}

/// The "unknown action" class: short, printable, single-line text naming an unknown or unsupported action,
/// status 200..299 or 400. Each rule on its own is tried at its edge.
#[test]
fn unknown_action_positive_cases() {
    for t in [
        "Unknown action",
        "unknown ACTION",
        "Action unknown",
        "Unsupported action: currentpresence",
        "action not supported",
        "Invalid action",
        "Action not found",
        "  Unknown action \r\n",
        "\u{feff}Unknown action",
        "Fehler: unknown action 'currentpresence'",
    ] {
        for status in [200, 204, 299, 400] {
            assert!(unknown_action(status, t.as_bytes()), "{status} {t:?}");
            assert_eq!(
                parse_current_presence(status, t.as_bytes()),
                Err(HubError::UnknownAction),
                "{status} {t:?}"
            );
        }
    }
    // Exactly 200 characters still counts.
    let long = format!("Unknown action {}", "x".repeat(200 - 15));
    assert_eq!(long.len(), 200);
    assert!(unknown_action(200, long.as_bytes()));
}

#[test]
fn unknown_action_negative_cases() {
    // The word "action" alone is not enough: it must be unknown, unsupported, invalid or not found.
    for t in [
        "action",
        "Action completed",
        "OK action",
        "action=currentpresence",
        "no action taken",
        "Action received",
        "Unknown",
        "Not supported",
        "Invalid request",
        "unknown command",
        "Not found",
    ] {
        assert!(!unknown_action(200, t.as_bytes()), "{t:?}");
        let r = parse_current_presence(200, t.as_bytes());
        assert!(is_failure_of_the_moment(&r), "{t:?}: {r:?}");
    }
    // The right words in the wrong shape.
    let long = format!("Unknown action {}", "x".repeat(200 - 14));
    assert_eq!(long.len(), 201);
    // JSON is never the plain-text verdict (an object without `runningcommand` is "nothing running").
    for t in [
        "{\"error\":\"Unknown action\"}",
        "[\"Unknown action\"]",
        "\"Unknown action\"",
    ] {
        assert!(!unknown_action(200, t.as_bytes()), "{t:?}");
        assert_ne!(
            parse_current_presence(200, t.as_bytes()),
            Err(HubError::UnknownAction),
            "{t:?}"
        );
    }
    for t in [
        long.as_str(),
        "<html><body>Unknown action</body></html>",
        "<Unknown action>",
        "Unknown action<br>",
        "Unknown action\nat Hub.Dispatch()",
        "Unknown\taction",
        "Unknown action \u{0}",
        "Unknown action \u{fffd}",
        "Unknown action \u{7f}",
        "",
        "   ",
    ] {
        assert!(!unknown_action(200, t.as_bytes()), "{t:?}");
        let r = parse_current_presence(200, t.as_bytes());
        assert!(is_failure_of_the_moment(&r), "{t:?}: {r:?}");
    }
    // Not UTF-8.
    assert!(!unknown_action(200, b"Unknown action \xff"));
    // The right text with the wrong status.
    for status in [100, 199, 300, 302, 401, 403, 404, 405, 500, 503] {
        assert!(!unknown_action(status, b"Unknown action"), "{status}");
        assert_ne!(
            parse_current_presence(status, b"Unknown action"),
            Err(HubError::UnknownAction),
            "{status}"
        );
    }
    assert_eq!(
        parse_current_presence(401, b"Unknown action"),
        Err(HubError::Unauthorized)
    );
}

#[test]
fn the_probe_wants_response_ok_from_a_json_object() {
    for t in [
        &br#"{"response": "OK"}"#[..],
        br#"{"response":"ok"}"#,
        br#"{"Response":"Ok","version":"2.1"}"#,
        b"\xef\xbb\xbf{\"response\":\"OK\"}",
    ] {
        assert_eq!(parse_probe(200, t), Ok(()), "{t:?}");
    }
    for t in [
        &br#"{"response": "NOK"}"#[..],
        br#"{"response": null}"#,
        br#"{"status": "OK"}"#,
        br#"["OK"]"#,
        b"OK",
        b"<html>It works</html>",
        b"",
        br#"{"response": "OK""#,
    ] {
        let r = parse_probe(200, t);
        assert!(matches!(r, Err(HubError::Malformed(_))), "{t:?}: {r:?}");
    }
    assert_eq!(
        parse_probe(500, br#"{"response":"OK"}"#),
        Err(HubError::Status(500))
    );
    assert_eq!(
        parse_probe(401, br#"{"response":"OK"}"#),
        Err(HubError::Unauthorized)
    );
}

#[test]
fn current_presence_ok_and_nothing_running() {
    // Nothing runs: no runningcommand, null, a null parameter without sender, an empty object.
    for t in [
        &b"{}"[..],
        br#"{"runningcommand":null}"#,
        br#"{"runningcommand":{"parameter":null}}"#,
        br#"{"runningcommand":{}}"#,
        br#"{"runningcommand":{"action":"","sender":" ","eventtype":"","eventname":"","parameter":null}}"#,
    ] {
        let cp = parse_current_presence(200, t).expect("ok");
        assert_eq!(cp.running, None, "{t:?}");
    }
    // Something runs as soon as one of sender, event type, event name or parameter is there.
    for t in [
        &br#"{"runningcommand":{"sender":"MS Teams"}}"#[..],
        br#"{"runningcommand":{"eventname":"On-The-Phone"}}"#,
        br#"{"runningcommand":{"eventtype":"Light"}}"#,
        br#"{"runningcommand":{"parameter":""}}"#,
        br#"{"RunningCommand":{"Sender":"Zoom","EventName":"In-a-Zoom-Meeting"}}"#,
        br#""{\"runningcommand\":{\"sender\":\"Zoom\"}}""#,
        br#"{"runningcommand":"{\"sender\":\"Zoom\"}"}"#,
    ] {
        let cp = parse_current_presence(200, t).expect("ok");
        assert!(cp.running.is_some(), "{t:?}");
    }
    // runningcommand of the wrong shape is unusable, not "nothing".
    for t in [
        &br#"{"runningcommand":[1]}"#[..],
        br#"{"runningcommand":5}"#,
        br#"{"runningcommand":"not json"}"#,
        br#"[{"runningcommand":{}}]"#,
        br#""just a string""#,
    ] {
        let r = parse_current_presence(200, t);
        assert!(matches!(r, Err(HubError::Malformed(_))), "{t:?}: {r:?}");
    }
}

#[test]
fn device_lists_and_their_failures() {
    assert_eq!(parse_devices(200, b"[]").expect("ok").len(), 0);
    assert_eq!(parse_devices(200, b"null").expect("ok").len(), 0);
    assert_eq!(
        parse_devices(200, br#"[{"ModelName":"Omega"},5,{"ModelName":"Alpha"}]"#)
            .expect("ok")
            .len(),
        2
    );
    assert_eq!(
        parse_devices(200, br#"{"devices":[{"ModelName":"Omega"}]}"#)
            .expect("ok")
            .len(),
        1
    );
    for t in [&b"{}"[..], br#"{"n":1}"#, b"5", b"\"x\"", b"", b"<html>"] {
        let r = parse_devices(200, t);
        assert!(matches!(r, Err(HubError::Malformed(_))), "{t:?}: {r:?}");
    }
    assert_eq!(parse_devices(404, b"[]"), Err(HubError::NoDevice));
    assert_eq!(parse_devices(401, b"[]"), Err(HubError::Unauthorized));
}

/// The own priority of a sender, read from `currentpresence` asked as that sender: the member is not named
/// by the manual, so any member but `runningcommand` with "own" in its name; a command of another sender
/// there says nothing about the one asked for.
#[test]
fn own_priority_answers() {
    use kuando_connector::hub::{parse_own_priority, OwnPriority};
    let teams = |b: &str| parse_own_priority(200, b.as_bytes(), "MS Teams");
    let call = r#"{"action":"Light","sender":"MS Teams","eventtype":"Light","eventname":"On-The-Phone","parameter":"{}"}"#;
    for body in [
        format!(r#"{{"runningcommand":null,"ownpriority":{call}}}"#),
        format!(r#"{{"OwnPriority":{call},"runningcommand":{{"sender":"innovaphone myApps"}}}}"#),
        format!(
            r#"{{"ownpresence":{}}}"#,
            serde_json::to_string(call).unwrap()
        ),
        format!(
            r#"{{"ownpriority":{}}}"#,
            call.replace(r#""sender":"MS Teams""#, r#""sender":"""#)
        ),
        format!(r#"{{"own":{}}}"#, call.replace("MS Teams", "ms_teams")),
    ] {
        match teams(&body) {
            Ok(OwnPriority::Running(r)) => {
                assert_eq!(r.eventname, "On-The-Phone", "{body}");
                assert!(!r.sender.is_empty(), "{body}");
            }
            other => panic!("{body}: {other:?}"),
        }
    }
    for body in [
        r#"{"runningcommand":null,"ownpriority":null}"#,
        r#"{"ownpriority":{"parameter":null}}"#,
        r#"{"ownpriority":{}}"#,
    ] {
        assert_eq!(teams(body), Ok(OwnPriority::Nothing), "{body}");
    }
    for body in [
        r#"{"runningcommand":{"sender":"MS Teams","eventname":"On-The-Phone"}}"#,
        r#"{"ownpriority":{"sender":"Zoom","eventname":"In-a-Zoom-Meeting"}}"#,
        r#"{"ownpriority":5}"#,
        r#"{"ownpriority":"not json"}"#,
        r#"{"response":"OK"}"#,
        // Another member than the own priority, whatever it holds.
        r#"{"runningcommand":null,"lastcommand":{"sender":"MS Teams","eventname":"On-The-Phone"}}"#,
    ] {
        assert_eq!(teams(body), Ok(OwnPriority::Unknown), "{body}");
    }
    // Classified as currentpresence is.
    assert_eq!(
        parse_own_priority(200, b"Unknown action", "MS Teams"),
        Err(HubError::UnknownAction)
    );
    assert_eq!(
        parse_own_priority(404, b"", "MS Teams"),
        Err(HubError::NoDevice)
    );
    assert_eq!(
        parse_own_priority(401, b"{}", "MS Teams"),
        Err(HubError::Unauthorized)
    );
    assert!(matches!(
        parse_own_priority(200, b"<html>", "MS Teams"),
        Err(HubError::Malformed(_))
    ));
}

/// A lamp's capabilities as hub releases write them: booleans, numbers or texts; anything unknown counts as
/// capable. Texts may come as integers or booleans and read as their text; a non-integral number is no
/// text (no field the connector reads holds one).
#[test]
fn device_flags_and_texts_in_every_shape() {
    let one = |d: &str| {
        let list = parse_devices(200, format!("[{d}]").as_bytes()).expect("a list");
        assert_eq!(list.len(), 1, "{d}");
        list.into_iter().next().expect("one")
    };
    for (v, want) in [
        ("false", false),
        ("true", true),
        ("0", false),
        ("1", true),
        ("0.0", false),
        ("2", true),
        ("\"false\"", false),
        ("\" No \"", false),
        ("\"0\"", false),
        ("\"yes\"", true),
        ("null", true),
        ("[]", true),
    ] {
        let d = one(&format!(
            r#"{{"IsLightSupported":{v},"IsSoundSupported":{v}}}"#
        ));
        assert_eq!((d.light, d.sound), (want, want), "{v}");
    }
    let d = one("{}");
    assert!(d.light && d.sound, "missing flags: capable");
    let d =
        one(r#"{"ModelName":true,"FirmwareRelease":2.40,"UniqueID":false,"HIDDevicePath":null}"#);
    assert_eq!(d.model, "true");
    assert_eq!(d.firmware, "");
    assert_eq!(d.unique_id, "false");
    assert_eq!(d.path, "");
}
