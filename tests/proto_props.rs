//! Property tests of the settings and protocol readers and writers (`config`, `proto`, on serde): what the
//! apps write reads back the same, in the documented field order; random, mutated, deep, huge and repeated
//! input gets an error, never a panic; an error never quotes the value it refused (it may be a token).
#![cfg(not(target_arch = "wasm32"))]

use kuando_connector::config::{Config, Effect, FieldError, LampSetting, LampSlot, MissedCall};
use kuando_connector::proto::{
    self, Envelope, ErrorCode, Health, License, PresenceGuard, Request, Response, ServiceError,
    MAX_MESSAGE_LEN,
};
use kuando_connector::state::Presence;
use proptest::prelude::*;
use serde_json::Value;

/// Any text a user could type, quotes, backslashes, control characters and surrogate-pair characters
/// included.
fn text() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        "[a-z0-9 #:/.]{0,12}",
        any::<String>(),
        "[\"\\\\\u{0}\u{1f}\u{7f}é😀\u{2028}]{0,6}",
    ]
}

fn effect() -> impl Strategy<Value = Effect> {
    prop::sample::select(Effect::ALL.to_vec())
}

fn lamp_setting() -> impl Strategy<Value = LampSetting> {
    (effect(), text(), any::<u8>(), any::<u8>()).prop_map(|(effect, color, sound, volume)| {
        LampSetting {
            effect,
            color,
            sound,
            volume,
        }
    })
}

/// Settings with any value in every field, valid or not: the JSON mapping does not validate.
fn config() -> impl Strategy<Value = Config> {
    (
        (text(), text(), any::<u32>()),
        prop::collection::vec(lamp_setting(), 8),
        any::<[bool; 4]>(),
        (any::<bool>(), effect(), text(), any::<u32>()),
    )
        .prop_map(|((hub_url, token, poll_interval), slots, t, m)| {
            let mut c = Config {
                hub_url,
                token,
                poll_interval,
                ..Config::default()
            };
            for (slot, s) in LampSlot::ALL.into_iter().zip(slots) {
                *c.lamp.get_mut(slot) = s;
            }
            c.trace.debug = t[0];
            c.trace.hub = t[1];
            c.trace.calls = t[2];
            c.trace.presence = t[3];
            c.missed_call = MissedCall {
                enabled: m.0,
                effect: m.1,
                color: m.2,
                minutes: m.3,
            };
            c
        })
}

fn license() -> impl Strategy<Value = License> {
    prop::sample::select(License::ALL.to_vec())
}

fn health() -> impl Strategy<Value = Health> {
    (
        (any::<bool>(), text(), prop::option::of(license())),
        (
            prop::option::of(0u64..=99),
            any::<bool>(),
            prop::option::of(text()),
        ),
        (text(), text()),
    )
        .prop_map(
            |((run, hub, lic), (lamps, local, err), (build, browser))| Health {
                run,
                hub,
                lic,
                lamps,
                local,
                err,
                build,
                browser,
            },
        )
}

fn request() -> impl Strategy<Value = Request> {
    let guard = prop_oneof![
        Just(None),
        Just(Some(PresenceGuard::Release)),
        (text(), text()).prop_map(|(a, n)| Some(PresenceGuard::Claim {
            restore: Presence::new(&a, &n)
        })),
    ];
    prop_oneof![
        Just(Request::GetConfig),
        Just(Request::GetLicense),
        config().prop_map(|c| Request::SetConfig {
            config: Box::new(c)
        }),
        (text(), text(), guard).prop_map(|(activity, note, guard)| Request::SetPresence {
            activity,
            note,
            guard
        }),
        (text(), health()).prop_map(|(client, health)| Request::ReportHealth { client, health }),
    ]
}

fn service_error() -> impl Strategy<Value = ServiceError> + Clone {
    (
        prop::sample::select(ErrorCode::ALL.to_vec()),
        text(),
        prop::collection::vec((text(), text()), 0..3),
    )
        .prop_map(|(code, text, fields)| ServiceError {
            code,
            text,
            fields: fields
                .into_iter()
                .map(|(f, m)| FieldError::new(f, m))
                .collect(),
        })
}

fn response() -> impl Strategy<Value = Response> {
    let error = prop::option::of(service_error());
    prop_oneof![
        (prop::option::of(config()), error.clone())
            .prop_map(|(config, error)| Response::GetConfigResult { config, error }),
        (prop::option::of(config()), error.clone())
            .prop_map(|(config, error)| Response::SetConfigResult { config, error }),
        error
            .clone()
            .prop_map(|error| Response::SetPresenceResult { error }),
        (prop::option::of(license()), error.clone())
            .prop_map(|(license, error)| Response::GetLicenseResult { license, error }),
        config().prop_map(|config| Response::ConfigChanged { config }),
        (any::<bool>(), error).prop_map(|(off, error)| Response::ReportHealthResult { off, error }),
        service_error().prop_map(|error| Response::Error { error }),
    ]
}

/// A text with up to three characters inserted, deleted or replaced, or a JSON token spliced in.
fn mutated(t: String) -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "\\ud800", "\\u12", "1e400", "-0", "01", ",", "]", "}", "{", "[", "\"", "null", "\"\":",
    ]);
    let edit = prop_oneof![
        (any::<prop::sample::Index>(), any::<char>()).prop_map(|(i, c)| (0, i, c.to_string())),
        (any::<prop::sample::Index>(), token).prop_map(|(i, t)| (0, i, t.to_string())),
        any::<prop::sample::Index>().prop_map(|i| (1, i, String::new())),
        (any::<prop::sample::Index>(), any::<char>()).prop_map(|(i, c)| (2, i, c.to_string())),
    ];
    prop::collection::vec(edit, 1..4).prop_map(move |edits| {
        let mut c: Vec<char> = t.chars().collect();
        for (kind, i, s) in edits {
            match kind {
                0 => {
                    let at = i.index(c.len() + 1);
                    c.splice(at..at, s.chars());
                }
                1 if !c.is_empty() => {
                    c.remove(i.index(c.len()));
                }
                2 if !c.is_empty() => {
                    let at = i.index(c.len());
                    c[at] = s.chars().next().unwrap_or(' ');
                }
                _ => {}
            }
        }
        c.into_iter().collect()
    })
}

fn request_text() -> impl Strategy<Value = String> {
    (prop::option::of("[a-z0-9]{1,4}"), request())
        .prop_map(|(src, r)| Envelope::new(src, r).to_json())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn settings_read_back_as_written(c in config()) {
        prop_assert_eq!(Config::from_json(&c.to_json()), Ok(c));
    }

    #[test]
    fn requests_read_back_as_written_with_api_src_mt_first(src in prop::option::of(".{0,8}"), r in request()) {
        let text = Envelope::new(src.clone(), r.clone()).to_json();
        let back = proto::parse_request(&text);
        if text.len() > MAX_MESSAGE_LEN {
            prop_assert!(back.is_err());
        } else {
            prop_assert_eq!(back, Ok(Envelope::new(src.clone(), r)));
        }
        let v: Value = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let lead = match &src {
            Some(s) => format!("{{\"api\":\"kuando\",\"src\":{},\"mt\":", Value::from(s.as_str())),
            None => "{\"api\":\"kuando\",\"mt\":".to_string(),
        };
        prop_assert!(text.starts_with(&lead), "{}", text);
        prop_assert!(v.is_object());
    }

    #[test]
    fn results_read_back_as_written(src in prop::option::of(".{0,8}"), r in response()) {
        let e = Envelope::new(src, r);
        prop_assert_eq!(proto::parse_response(&e.to_json()), Ok(e));
    }

    #[test]
    fn mutated_requests_are_read_or_refused_never_a_panic(t in request_text().prop_flat_map(mutated)) {
        let read = proto::parse_request(&t);
        // The whole text is checked, not only the fields a message has: what is not JSON is refused.
        if serde_json::from_str::<Value>(&t).is_err() {
            prop_assert!(read.is_err(), "{:?}", t);
        }
        let _ = proto::parse_response(&t);
        let _ = Config::from_json(&t);
    }

    #[test]
    fn mutated_settings_are_read_or_refused_never_a_panic(t in config().prop_map(|c| c.to_json()).prop_flat_map(mutated)) {
        if let Ok(c) = Config::from_json(&t) {
            // Whatever reads, writes back to a text that reads the same.
            prop_assert_eq!(Config::from_json(&c.to_json()), Ok(c.clone()));
            let _ = c.validate();
        }
    }

    #[test]
    fn noise_is_refused_or_read_never_a_panic(t in any::<String>()) {
        let _ = proto::parse_request(&t);
        let _ = proto::parse_response(&t);
        let _ = Config::from_json(&t);
    }

    /// Nesting in an unknown field, at any depth, without running out of stack: a request or settings text is
    /// refused beyond serde_json's limit of 128 containers (the service refuses it too); a result skips it.
    #[test]
    fn deep_nesting_is_refused_beyond_the_limit(depth in 1usize..3000, objects in any::<bool>()) {
        let (open, close) = if objects { ("{\"a\":", "}") } else { ("[", "]") };
        let nest = format!("{}0{}", open.repeat(depth), close.repeat(depth));
        let req = format!(r#"{{"api":"kuando","src":"d","mt":"GetConfig","x":{nest}}}"#);
        // The envelope is a container too.
        prop_assert_eq!(proto::parse_request(&req).is_ok(), depth < 128, "{}", depth);
        let res = format!(r#"{{"api":"kuando","mt":"SetPresenceResult","x":{nest}}}"#);
        prop_assert!(proto::parse_response(&res).is_ok(), "{}", depth);
        let cfg = format!(r#"{{"pollInterval":3,"future":{nest}}}"#);
        prop_assert_eq!(Config::from_json(&cfg).is_ok(), depth < 128, "{}", depth);
    }

    /// A value of the wrong type, wherever it stands, makes the text unreadable, and the error does not
    /// quote it.
    #[test]
    fn errors_never_quote_the_refused_value(secret in "[A-Za-z][A-Za-z0-9]{7,20}", digits in "[1-9][0-9]{7,15}", at in 0usize..8) {
        let settings = [
            format!(r#"{{"pollInterval":"{secret}"}}"#),
            format!(r#"{{"token":{digits}}}"#),
            format!(r#"{{"hubUrl":{digits}}}"#),
            format!(r#"{{"lamp":{{"busy":{{"effect":"{secret}"}}}}}}"#),
            format!(r#"{{"lamp":{{"busy":{{"sound":"{secret}"}}}}}}"#),
            format!(r#"{{"lamp":{{"busy":{{"volume":{digits}}}}}}}"#),
            format!(r#"{{"trace":{{"hub":"{secret}"}}}}"#),
            format!(r#"{{"missedCall":{{"color":{digits}}}}}"#),
        ];
        let bad = &settings[at];
        let e = Config::from_json(bad).map_err(|e| e.to_string());
        prop_assert!(e.is_err(), "{}", bad);
        let e = e.unwrap_err();
        prop_assert!(!e.contains(&secret) && !e.contains(&digits), "{}", e);
        let req = format!(r#"{{"api":"kuando","src":"s","mt":"SetConfig","config":{bad}}}"#);
        let e = proto::parse_request(&req).err().unwrap_or_default();
        prop_assert!(!e.is_empty() && !e.contains(&secret) && !e.contains(&digits), "{}", e);
        let res = format!(r#"{{"api":"kuando","mt":"ConfigChanged","config":{bad}}}"#);
        let e = proto::parse_response(&res).err().unwrap_or_default();
        prop_assert!(!e.is_empty() && !e.contains(&secret) && !e.contains(&digits), "{}", e);
        for fields in [
            format!(r#""activity":{digits}"#),
            format!(r#""guard":"{secret}""#),
            format!(r#""guard":"claim","restore":{{"note":{digits}}}"#),
        ] {
            let req = format!(r#"{{"api":"kuando","mt":"SetPresence",{fields}}}"#);
            let e = proto::parse_request(&req).err().unwrap_or_default();
            prop_assert!(!e.is_empty() && !e.contains(&secret) && !e.contains(&digits), "{}", e);
        }
    }

    /// A known field given twice is refused wherever it stands; an unknown one is ignored however often.
    #[test]
    fn repeated_known_fields_are_refused_unknown_ones_ignored(
        field in prop::sample::select(vec![
            ("hubUrl", "\"http://h/\""), ("token", "\"t\""), ("pollInterval", "3"), ("trace", "{}"),
            ("lamp", "{}"), ("missedCall", "{}"),
        ]),
        times in 2usize..5,
    ) {
        let (name, value) = field;
        let twice = vec![format!("\"{name}\":{value}"); times].join(",");
        let settings = format!("{{{twice}}}");
        prop_assert!(Config::from_json(&settings).is_err());
        let req = format!(r#"{{"api":"kuando","src":"s","mt":"SetConfig","config":{{{twice}}}}}"#);
        prop_assert!(proto::parse_request(&req).is_err());
        let unknown = vec![format!("\"future\":{value}"); times].join(",");
        let settings = format!("{{{unknown}}}");
        prop_assert!(Config::from_json(&settings).is_ok());
        // A request that does not have the field ignores it, repeated or not.
        let req = format!(r#"{{"api":"kuando","src":"s","mt":"GetLicense",{twice}}}"#);
        prop_assert!(proto::parse_request(&req).is_ok());
    }

    /// Structs are objects: an array in their place is refused, at every level of the settings.
    #[test]
    fn arrays_in_place_of_objects_are_refused(items in prop::collection::vec(prop_oneof![Just("1"), Just("\"x\""), Just("true"), Just("{}")], 0..4), at in 0usize..6) {
        let list = format!("[{}]", items.join(","));
        let settings = [
            list.clone(),
            format!(r#"{{"lamp":{list}}}"#),
            format!(r#"{{"trace":{list}}}"#),
            format!(r#"{{"missedCall":{list}}}"#),
            format!(r#"{{"lamp":{{"dnd":{list}}}}}"#),
            r#"{"lamp":{"dnd":{"effect":{"light":null}}}}"#.to_string(),
        ];
        prop_assert!(Config::from_json(&settings[at]).is_err(), "{}", settings[at]);
    }
}

#[test]
fn huge_input_is_refused_or_read_in_one_go() {
    // Over the service's limit: refused before it is read.
    let huge = format!(
        r#"{{"api":"kuando","src":"s","mt":"GetLicense","pad":"{}"}}"#,
        "x".repeat(4 * MAX_MESSAGE_LEN)
    );
    assert_eq!(
        proto::parse_request(&huge).err().as_deref(),
        Some("message too large")
    );
    // Settings have no length limit when read; the rules refuse what is too long, naming the field.
    let c = Config::from_json(&format!(r#"{{"token":"{}"}}"#, "t".repeat(1 << 20)))
        .expect("a long token reads");
    assert_eq!(c.validate()[0].field, "token");
    // Many unknown fields, many levels of lists: read and ignored.
    let wide = format!(
        r#"{{"api":"kuando","mt":"GetConfig",{}}}"#,
        (0..3000)
            .map(|i| format!("\"f{i}\":[[{i}]]"))
            .collect::<Vec<_>>()
            .join(",")
    );
    assert!(proto::parse_request(&wide).is_ok());
}
