//! Property tests: parsers of everything that comes from outside (hub answers, stored settings, URLs,
//! service messages) return errors, never panic, on any input; token redaction never leaks.
#![cfg(not(target_arch = "wasm32"))]

use kuando_connector::config::Config;
use kuando_connector::hub::{self, BaseUrl, Endpoint, TokenForm};
use kuando_connector::mapping::{transform, transform_running};
use kuando_connector::{proto, trace};
use proptest::prelude::*;

/// JSON-ish text: mostly valid JSON shapes with the field names the parsers look for, sometimes cut or noisy.
fn jsonish() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| if f.is_finite() {
            f.to_string()
        } else {
            "1e999".into()
        }),
        ".*".prop_map(|s| serde_json::to_string(&s).unwrap()),
    ];
    let key = prop_oneof![
        Just("runningcommand"),
        Just("RunningCommand"),
        Just("sender"),
        Just("eventname"),
        Just("eventtype"),
        Just("parameter"),
        Just("response"),
        Just("ModelName"),
        Just("IsLightSupported"),
        Just("x"),
    ];
    leaf.prop_recursive(4, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((key.clone(), inner), 0..5).prop_map(|kv| {
                let fields: Vec<String> = kv.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        jsonish().prop_map(String::into_bytes),
        (jsonish(), any::<prop::sample::Index>()).prop_map(|(s, i)| {
            let b = s.into_bytes();
            let cut = i.index(b.len() + 1);
            b[..cut].to_vec()
        }),
        prop::collection::vec(any::<u8>(), 0..200),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn hub_parsers_never_panic(status in prop_oneof![Just(200u16), Just(401), Just(404), 0u16..1000], b in body()) {
        let _ = hub::parse_probe(status, &b);
        let _ = hub::parse_current_presence(status, &b);
        let _ = hub::parse_devices(status, &b);
        let _ = hub::parse_command_response(status, &b);
    }

    #[test]
    fn running_commands_parse_and_transform_without_panic(b in jsonish()) {
        if let Ok(p) = hub::parse_current_presence(200, b.as_bytes()) {
            if let Some(rc) = p.running {
                let _ = transform_running(&rc.sender, &rc.eventtype, &rc.eventname);
            }
        }
    }

    #[test]
    fn transform_never_panics(p in ".*", e in ".*") {
        let _ = transform(&p, &e);
    }

    #[test]
    fn settings_parse_and_validate_without_panic(b in jsonish()) {
        if let Ok(c) = Config::from_json(&b) {
            let errors = c.validate();
            if errors.is_empty() {
                prop_assert!(c.endpoint().is_ok());
            }
        }
    }

    #[test]
    fn urls_never_panic_and_valid_ones_end_in_slash(s in ".{0,80}") {
        if let Ok(u) = BaseUrl::parse(&s) {
            prop_assert!(u.as_str().ends_with('/'));
            prop_assert!(u.as_str().starts_with("http://") || u.as_str().starts_with("https://"));
            prop_assert!(!u.as_str().contains('@'));
        }
    }

    #[test]
    fn service_messages_never_panic(s in prop_oneof![jsonish(), ".*".prop_map(|s| s)]) {
        let _ = proto::parse_request(&s);
        let _ = proto::parse_response(&s);
    }

    #[test]
    fn the_token_is_percent_encoded_as_the_percent_encoding_crate_does(token in "\\PC{1,40}") {
        // The token in the URL form: RFC 3986's unreserved characters kept, every other byte escaped.
        const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'_')
            .remove(b'.')
            .remove(b'~');
        let header = Endpoint::new("http://192.168.0.100:8989", &token).unwrap();
        // In the header form (the default) no token is in any URL, whatever it holds.
        prop_assert_eq!(header.probe().url, "http://192.168.0.100:8989/");
        let e = header.with_form(TokenForm::Url);
        let want = percent_encoding::utf8_percent_encode(e.token(), UNRESERVED).to_string();
        let url = e.probe().url;
        if e.token().is_empty() {
            prop_assert!(!url.contains("accesstoken"));
        } else {
            prop_assert!(url.contains(&format!("accesstoken={want}&http_token={want}")), "{url}");
        }
    }

    #[test]
    fn start_parameters_read_back_what_encode_uri_component_wrote(v in "\\PC{0,24}", extra in "[a-z]{0,6}") {
        // encodeURIComponent keeps A-Z a-z 0-9 - _ . ! ~ * ' ( ) and escapes every other UTF-8 byte.
        const URI_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'-').remove(b'_').remove(b'.').remove(b'!').remove(b'~')
            .remove(b'*').remove(b'\'').remove(b'(').remove(b')');
        let written = percent_encoding::utf8_percent_encode(&v, URI_COMPONENT).to_string();
        let p = kuando_connector::myapps::StartParams::parse(&format!("?title={written}&x{extra}=1"));
        prop_assert_eq!(p.title, v);
    }

    #[test]
    fn a_token_never_survives_in_a_trace(token in "[!-~]{1,40}", before in ".{0,40}", after in ".{0,40}") {
        // Both forms of the token: as typed, and percent-encoded as it stands in a request URL.
        const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'_')
            .remove(b'.')
            .remove(b'~');
        // The URL form (a hub that refused the token header) is the one with the token in a URL.
        let e = Endpoint::new("http://192.168.0.100:8989", &token)
            .unwrap()
            .with_form(TokenForm::Url);
        let encoded = percent_encoding::utf8_percent_encode(e.token(), UNRESERVED).to_string();
        for req in [e.probe(), e.current_presence(), e.devices(), e.command(hub::LampCommand::Off, None)] {
            prop_assert!(req.url.contains(&encoded), "{}", req.url);
            // The URL alone: neither form may be left.
            let line = trace::line(trace::App::Connector, &req.url, &[e.token()]);
            let body = line.strip_prefix("kuando-log: ").unwrap_or(&line);
            prop_assert!(!body.contains(e.token()), "{line}");
            prop_assert!(!body.contains(&encoded), "{line}");
            // Within other text (which may itself happen to contain the encoded form by chance).
            let text = format!("{before} request {} {after}", req.url);
            let line = trace::line(trace::App::Connector, &text, &[e.token()]);
            let body = line.strip_prefix("kuando-log: ").unwrap_or(&line);
            prop_assert!(!body.contains(e.token()), "{line}");
            if !before.contains(&encoded) && !after.contains(&encoded) {
                prop_assert!(!body.contains(&encoded), "{line}");
            }
            prop_assert!(line.lines().all(|l| l.starts_with("kuando-log:")));
        }
    }
}
