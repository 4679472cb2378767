//! The config app's behaviour as a user sees it, driven through its inputs with virtual time.

use super::*;
use crate::config::FieldError;
use crate::hub;

fn ok(body: &str) -> HubOutcome {
    HubOutcome::Answer {
        status: 200,
        body: body.as_bytes().to_vec(),
    }
}

const PRESENCE: &str = r#"{"runningcommand":null}"#;
const ONE_LAMP: &str = r#"[{"ModelName":"Busylight UC Omega"}]"#;

/// Drains actions; answers hub requests with `hub(url)`.
fn pump(
    app: &mut ConfigApp,
    now: u64,
    hub: &dyn Fn(&HubRequest) -> HubOutcome,
) -> Vec<ConfigAction> {
    let mut seen = Vec::new();
    while let Some(a) = app.poll_action() {
        if let ConfigAction::Hub { id, request, .. } = &a {
            let out = hub(request);
            seen.push(a.clone());
            app.handle_hub(now, *id, out);
        } else {
            seen.push(a);
        }
    }
    seen
}

fn healthy(r: &HubRequest) -> HubOutcome {
    if r.url.contains("currentpresence") {
        ok(PRESENCE)
    } else if r.url.contains("busylightdevices") {
        ok(ONE_LAMP)
    } else {
        ok(r#"{"response":"OK"}"#)
    }
}

fn started(license: License, hub: &dyn Fn(&HubRequest) -> HubOutcome) -> ConfigApp {
    let mut app = ConfigApp::new(Lang::En, false);
    app.handle_service(0, ServiceState::Up);
    let first = pump(&mut app, 0, hub);
    assert!(first.contains(&ConfigAction::Service(Request::GetConfig)));
    assert!(first.contains(&ConfigAction::Service(Request::GetLicense)));
    app.handle_response(
        0,
        Response::GetLicenseResult {
            license: Some(license),
            error: None,
        },
    );
    app.handle_response(
        0,
        Response::GetConfigResult {
            config: Some(Config::default()),
            error: None,
        },
    );
    pump(&mut app, 0, hub);
    app
}

/// A remote hub with a token whose HTTP server answers no CORS preflight: every request with the token
/// header fails in the browser; without it, it answers.
fn no_preflight(r: &HubRequest) -> HubOutcome {
    if r.token_header.is_some() {
        HubOutcome::Network
    } else {
        healthy(r)
    }
}

fn with_token(app: &mut ConfigApp, hub: &dyn Fn(&HubRequest) -> HubOutcome) -> Vec<ConfigAction> {
    let c = Config {
        hub_url: "http://192.168.0.100:8989/".into(),
        token: "s3cret".into(),
        ..Config::default()
    };
    app.handle_response(0, Response::ConfigChanged { config: c });
    let t = app.poll_timeout().unwrap_or(0);
    app.handle_timeout(t);
    pump(app, t, hub)
}

#[test]
fn the_token_goes_in_the_header_and_in_the_url_only_for_a_hub_that_refuses_it() {
    let mut app = started(License::Connector, &healthy);
    let sent = with_token(&mut app, &healthy);
    let hub: Vec<&HubRequest> = sent
        .iter()
        .filter_map(|a| match a {
            ConfigAction::Hub { request, .. } => Some(request),
            _ => None,
        })
        .collect();
    assert!(!hub.is_empty());
    assert!(hub
        .iter()
        .all(|r| !r.url.contains("s3cret") && r.token_header.as_deref() == Some("s3cret")));

    let mut app = started(License::Connector, &healthy);
    let sent = with_token(&mut app, &no_preflight);
    let urls: Vec<(String, bool)> = sent
        .iter()
        .filter_map(|a| match a {
            ConfigAction::Hub { request, .. } => {
                Some((request.url.clone(), request.token_header.is_some()))
            }
            _ => None,
        })
        .collect();
    // Header first, then the check without any token, then the URL form.
    assert_eq!(urls[0], ("http://192.168.0.100:8989/".to_string(), true));
    assert_eq!(urls[1], ("http://192.168.0.100:8989/".to_string(), false));
    assert!(urls[2].0.contains("accesstoken=s3cret"), "{urls:?}");
    assert_eq!(app.view().banners, vec![]);
    let traces: Vec<&String> = sent
        .iter()
        .filter_map(|a| match a {
            ConfigAction::Trace(t) => Some(t),
            _ => None,
        })
        .collect();
    assert!(traces
        .iter()
        .any(|t| t.contains(crate::engine::TOKEN_IN_URL_TEXT)));
    assert!(traces.iter().all(|t| !t.contains("s3cret")));

    // A hub that is down stays "not reachable", with no token in any URL.
    let mut app = started(License::Connector, &healthy);
    let sent = with_token(&mut app, &|_| HubOutcome::Network);
    assert!(sent.iter().all(|a| match a {
        ConfigAction::Hub { request, .. } => !request.url.contains("s3cret"),
        _ => true,
    }));
    assert_eq!(app.view().banners, vec![Banner::NoHub]);
}

#[test]
fn a_healthy_setup_shows_no_banner_and_allows_lamp_tests() {
    let app = started(License::Connector, &healthy);
    let v = app.view();
    assert_eq!(v.banners, vec![]);
    assert!(v.loaded && v.lamp_tests && v.can_save && !v.dirty);
}

#[test]
fn no_hub_shows_the_banner_and_it_goes_when_the_hub_comes_back() {
    let mut app = started(License::Connector, &|_| HubOutcome::Network);
    assert_eq!(app.view().banners, vec![Banner::NoHub]);
    assert!(!app.view().lamp_tests);
    let t = app.poll_timeout().unwrap();
    assert_eq!(t, CHECK_INTERVAL_MS);
    app.handle_timeout(t);
    pump(&mut app, t, &healthy);
    assert_eq!(app.view().banners, vec![]);
}

#[test]
fn a_license_that_cannot_be_checked_names_the_cause_and_is_asked_again() {
    let start =
        crate::myapps::StartParams::parse("?name=kuando-config&url=https%3A%2F%2Fap%2Fd%2Fi%2Fx");
    let mut app = ConfigApp::started(&start, 0);
    let login = |flag: &str| match crate::myapps::LauncherMsg::parse(&format!(
        r#"{{"mt":"Login","pbxObj":"kuando-config","info":{{"unlicensed":{flag}}},"digest":"d"}}"#
    )) {
        Ok(crate::myapps::LauncherMsg::Login(l)) => l,
        other => panic!("{other:?}"),
    };
    app.handle_login(&login("true"));
    app.handle_service(0, ServiceState::Up);
    pump(&mut app, 0, &healthy);
    let no_admin = ServiceError {
        code: ErrorCode::NoAdmin,
        text: "no PbxAdminApi".into(),
        fields: vec![],
    };
    app.handle_response(
        0,
        Response::GetLicenseResult {
            license: None,
            error: Some(no_admin),
        },
    );
    assert_eq!(app.view().banners, vec![Banner::LicenseNoAdmin]);
    assert!(Banner::LicenseNoAdmin
        .text()
        .get(Lang::En)
        .contains("tell your administrator"));
    let at = app.poll_timeout().unwrap();
    assert!(at >= crate::license::RETRY_MIN_MS);
    app.handle_timeout(at);
    let a = pump(&mut app, at, &healthy);
    assert!(
        a.contains(&ConfigAction::Service(Request::GetLicense)),
        "{a:?}"
    );
    app.handle_response(
        at,
        Response::GetLicenseResult {
            license: Some(License::Connector),
            error: None,
        },
    );
    assert!(!app.view().banners.contains(&Banner::LicenseNoAdmin));
}

#[test]
fn unlicensed_shows_only_the_license_banner_and_checks_nothing() {
    let mut app = ConfigApp::new(Lang::De, true);
    app.handle_service(0, ServiceState::Unlicensed);
    let actions = pump(&mut app, 0, &healthy);
    assert!(actions
        .iter()
        .all(|a| !matches!(a, ConfigAction::Hub { .. })));
    assert_eq!(app.view().banners, vec![Banner::NoLicense]);
    assert_eq!(app.poll_timeout(), None);
    assert!(Banner::NoLicense
        .text()
        .get(Lang::De)
        .starts_with("Keine Lizenz"));
}

#[test]
fn a_hub_url_with_127_0_0_1_gets_the_localhost_hint_not_an_error() {
    let mut app = started(License::Connector, &healthy);
    assert!(!app.view().hub_url_hint);
    for (url, hint) in [
        ("http://127.0.0.1:8989/", true),
        ("http://127.0.0.1:8989", true),
        ("HTTP://127.0.0.1/", true),
        ("http://127.1.2.3:8989/", true),
        ("http://localhost:8989/", false),
        ("http://192.168.0.100:8989/", false),
        ("http://127.example.com:8989/", false),
        ("http://[::1]:8989/", false),
        ("127.0.0.1:8989", false),
    ] {
        app.handle_input("hubUrl", url);
        let v = app.view();
        assert_eq!(v.hub_url_hint, hint, "{url}");
        if url.starts_with("http") {
            assert!(!v.errors.contains_key("hubUrl"), "{url}: {:?}", v.errors);
        }
    }
    assert!(Text::HubUrlLoopbackHint.get(Lang::En).contains("localhost"));
    assert!(Text::HubUrlLoopbackHint.get(Lang::De).contains("localhost"));
}

#[test]
fn too_old_and_token_rejected_are_their_own_banners() {
    let old = |r: &HubRequest| {
        if r.url.contains("currentpresence") {
            ok("Unknown action")
        } else {
            healthy(r)
        }
    };
    assert_eq!(
        started(License::Connector, &old).view().banners,
        vec![Banner::TooOld]
    );
    // Garbage is not "too old" (issue 12): its own banner, which goes with the next good answer.
    let broken = |r: &HubRequest| {
        if r.url.contains("currentpresence") {
            ok("<html><body>Internal Server Error</body></html>")
        } else {
            healthy(r)
        }
    };
    let mut app = started(License::Connector, &broken);
    assert_eq!(app.view().banners, vec![Banner::BadAnswer]);
    app.handle_timeout(CHECK_INTERVAL_MS);
    pump(&mut app, CHECK_INTERVAL_MS, &healthy);
    assert_eq!(app.view().banners, vec![]);
    // A hub without a lamp that says NO_DEVICE is neither.
    let no_device = |r: &HubRequest| {
        if r.url.contains("currentpresence") || r.url.contains("busylightdevices") {
            ok("NO_DEVICE")
        } else {
            healthy(r)
        }
    };
    let app = started(License::Connector, &no_device);
    assert_eq!(app.view().banners, vec![]);
    assert!(app.view().no_lamp_note);
    let locked = |_: &HubRequest| HubOutcome::Answer {
        status: 401,
        body: vec![],
    };
    assert_eq!(
        started(License::Connector, &locked).view().banners,
        vec![Banner::TokenRejected]
    );
}

#[test]
fn no_busylight_is_an_error_only_with_the_busylight_license() {
    let no_lamp = |r: &HubRequest| {
        if r.url.contains("busylightdevices") {
            ok("[]")
        } else {
            healthy(r)
        }
    };
    let app = started(License::WithBusylight, &no_lamp);
    assert_eq!(app.view().banners, vec![Banner::NoBusylight]);
    assert!(!app.view().lamp_tests);
    let app = started(License::Connector, &no_lamp);
    assert_eq!(app.view().banners, vec![]);
    assert!(app.view().no_lamp_note && !app.view().lamp_tests);
}

#[test]
fn editing_validates_inline_and_save_sends_the_settings() {
    let mut app = started(License::Connector, &healthy);
    app.handle_input("hubUrl", "ftp://hub");
    app.handle_input("pollInterval", "abc");
    let v = app.view();
    assert_eq!(
        v.errors.get("hubUrl").map(String::as_str),
        Some("must start with http:// or https://")
    );
    assert_eq!(
        v.errors.get("pollInterval").map(String::as_str),
        Some("must be a number")
    );
    assert!(!v.can_save && v.dirty);
    app.handle_click(0, Button::Save);
    assert!(matches!(app.view().save, SaveState::Failed(_)));
    assert!(app.poll_action().is_none());

    app.handle_input("hubUrl", "http://192.168.0.100:8989");
    app.handle_input("pollInterval", "5");
    app.handle_input("token", "s3cret");
    app.handle_input("lamp.ringing.effect", "alert");
    app.handle_input("lamp.ringing.sound", "7");
    app.handle_input("trace.hub", "true");
    assert!(app.view().errors.is_empty());
    app.handle_click(0, Button::Save);
    let Some(ConfigAction::Service(Request::SetConfig { config })) = app.poll_action() else {
        panic!("no SetConfig");
    };
    assert_eq!(config.hub_url, "http://192.168.0.100:8989");
    assert_eq!(config.poll_interval, 5);
    assert_eq!(config.lamp.ringing.effect, crate::config::Effect::Alert);
    assert_eq!(config.lamp.ringing.sound, 7);
    assert!(config.trace.hub);
    assert_eq!(app.view().save, SaveState::Saving);
    app.handle_response(
        0,
        Response::SetConfigResult {
            config: Some(*config),
            error: None,
        },
    );
    let v = app.view();
    assert_eq!(v.save, SaveState::Saved);
    assert!(!v.dirty);
    // Saving re-checks the hub with the new settings, token included.
    let actions = pump(&mut app, 0, &healthy);
    let Some(ConfigAction::Hub { request, .. }) = actions
        .iter()
        .find(|a| matches!(a, ConfigAction::Hub { .. }))
    else {
        panic!("no re-check");
    };
    assert_eq!(request.url, "http://192.168.0.100:8989/");
    assert_eq!(request.token_header.as_deref(), Some("s3cret"));
    for a in &actions {
        if let ConfigAction::Trace(t) = a {
            assert!(!t.contains("s3cret"));
        }
    }
}

#[test]
fn service_field_errors_are_shown_at_their_fields() {
    let mut app = started(License::Connector, &healthy);
    app.handle_click(0, Button::Save);
    assert!(matches!(
        app.poll_action(),
        Some(ConfigAction::Service(Request::SetConfig { .. }))
    ));
    app.handle_response(
        0,
        Response::SetConfigResult {
            config: None,
            error: Some(ServiceError {
                code: ErrorCode::InvalidConfig,
                text: "invalid".into(),
                fields: vec![FieldError::new("token", "must not contain spaces")],
            }),
        },
    );
    let v = app.view();
    assert_eq!(
        v.errors.get("token").map(String::as_str),
        Some("must not contain spaces")
    );
    assert!(matches!(v.save, SaveState::Failed(_)));
}

#[test]
fn sound_and_volume_apply_only_to_effects_with_sound() {
    let mut app = started(License::Connector, &healthy);
    assert!(!app.view().sound_applies("lamp.ringing.sound"));
    app.handle_input("lamp.ringing.effect", "jingle");
    let v = app.view();
    assert!(v.sound_applies("lamp.ringing.sound") && v.sound_applies("lamp.ringing.volume"));
    assert!(!v.sound_applies("lamp.away.volume"));
    assert!(!v.sound_applies("hubUrl"));
}

#[test]
fn local_network_permission_prompt_denied_and_granted() {
    use crate::myapps::StartParams;
    // Started by the driver: no check before the permission is known.
    let mut app = ConfigApp::started(&StartParams::parse("?lang=en"), 0);
    app.handle_timeout(0);
    let first = pump(&mut app, 0, &healthy);
    assert!(
        !first.iter().any(|a| matches!(a, ConfigAction::Hub { .. })),
        "{first:?}"
    );

    // Prompt: the check fails; either the hub is missing or the browser holds the request: both banners,
    // the permission's with the button.
    app.handle_local_network(0, "prompt");
    let a = pump(&mut app, 0, &|_| HubOutcome::Network);
    assert!(
        a.iter().any(|a| matches!(a, ConfigAction::Hub { .. })),
        "{a:?}"
    );
    let v = app.view();
    assert!(
        v.banners.contains(&Banner::LocalNetworkPrompt),
        "{:?}",
        v.banners
    );
    assert!(v.banners.contains(&Banner::NoHub));
    assert!(v.allow_local_network);
    for lang in [Lang::En, Lang::De] {
        // The user's words only: the policies and the iframe delegation are the administrator's (the
        // PBX Manager's Users view and README).
        let t = Text::BannerLnaPrompt.get(lang);
        assert!(!t.contains("LocalNetworkAccessAllowedForUrls") && !t.contains("iframe"));
    }
    // The user's click makes the request (the browser can ask now).
    app.handle_click(CHECK_INTERVAL_MS * 3, Button::AllowLocalNetwork);
    let a = pump(&mut app, CHECK_INTERVAL_MS * 3, &|_| HubOutcome::Network);
    assert!(
        a.iter().any(|a| matches!(a, ConfigAction::Hub { .. })),
        "{a:?}"
    );

    // Denied: its own banner with what to do; still not "no kuandoHUB", no button, no checks.
    app.handle_local_network(0, "denied");
    let v = app.view();
    assert_eq!(
        v.banners,
        vec![Banner::ServiceDown, Banner::LocalNetworkDenied]
    );
    assert!(!v.allow_local_network);
    assert!(Text::BannerLnaDenied
        .get(Lang::De)
        .contains("Website-Einstellungen"));

    // Granted: checked at once, the banners go.
    app.handle_local_network(50_000, "granted");
    let a = pump(&mut app, 50_000, &healthy);
    assert!(
        a.iter().any(|a| matches!(a, ConfigAction::Hub { .. })),
        "{a:?}"
    );
    assert_eq!(app.view().banners, vec![Banner::ServiceDown]);
}

#[test]
fn started_outside_myapps_checks_the_hub_without_a_service() {
    use crate::myapps::StartParams;
    let app = ConfigApp::started(&StartParams::parse("?lang=de&scheme=light"), 0);
    let v = app.view();
    assert_eq!((v.lang, v.dark), (Lang::De, false));
    assert_eq!(v.banners, vec![Banner::ServiceDown]);
    assert_eq!(app.poll_timeout(), Some(0));
    let inside = ConfigApp::started(
        &StartParams::parse("?url=https%3A%2F%2Fap%2Fd%2Fi%2Finnovaphone-kuando-config"),
        0,
    );
    assert_eq!(inside.view().banners, vec![]);
    assert!(inside.view().dark);
}

#[test]
fn session_events_drive_the_service_state_and_carry_service_messages() {
    use crate::myapps::SessionEvent;
    use crate::proto::Envelope;
    let mut app = ConfigApp::new(Lang::En, false);
    app.handle_session(0, SessionEvent::Connected);
    let a = pump(&mut app, 0, &healthy);
    assert!(a.contains(&ConfigAction::Service(Request::GetConfig)));
    let msg = Envelope::new(
        Some("1".into()),
        Response::GetLicenseResult {
            license: Some(License::None),
            error: None,
        },
    )
    .to_json();
    app.handle_session(0, SessionEvent::Message(msg));
    assert_eq!(app.view().banners, vec![Banner::NoLicense]);
    let mut app = ConfigApp::new(Lang::En, false);
    app.handle_session(0, SessionEvent::LoginFailed("no Login from myApps".into()));
    let a = pump(&mut app, 0, &healthy);
    assert!(a.contains(&ConfigAction::Trace(
        "kuando-config-log: login failed: no Login from myApps".into()
    )));
    assert_eq!(app.view().banners, vec![Banner::ServiceDown]);
    app.handle_session(0, SessionEvent::Message("garbage".into()));
    assert!(
        matches!(app.poll_action(), Some(ConfigAction::Trace(t)) if t.starts_with("kuando-config-log: unreadable"))
    );
}

#[test]
fn config_changed_elsewhere_updates_the_form_unless_the_user_is_editing() {
    let mut app = started(License::Connector, &healthy);
    let other = Config {
        poll_interval: 9,
        ..Config::default()
    };
    app.handle_response(
        0,
        Response::ConfigChanged {
            config: other.clone(),
        },
    );
    assert_eq!(app.view().form.poll_interval, 9);
    app.handle_input("pollInterval", "3");
    let third = Config {
        poll_interval: 12,
        ..Config::default()
    };
    app.handle_response(0, Response::ConfigChanged { config: third });
    assert_eq!(app.view().form.poll_interval, 3);
    assert!(app.view().dirty);
}

#[test]
fn lamp_test_runs_a_colour_sequence_through_the_get_interface_and_releases_the_lamp() {
    let mut app = started(License::Connector, &healthy);
    app.handle_click(0, Button::TestLamp);
    let mut urls = Vec::new();
    let mut now = 0;
    loop {
        for a in pump(&mut app, now, &|_| ok("")) {
            if let ConfigAction::Hub { request, .. } = a {
                assert_eq!(request.method, hub::Method::Get);
                urls.push(request.url);
            }
        }
        match app.poll_timeout() {
            Some(t) if app.view().test == TestStatus::Running => {
                now = t;
                app.handle_timeout(now);
            }
            _ => break,
        }
    }
    assert_eq!(urls.len(), 5, "{urls:?}");
    assert!(urls[0].contains("action=light&red=100&green=0&blue=0"));
    assert!(urls[1].contains("green=100"));
    assert!(urls[2].contains("blue=100"));
    assert!(urls[4].ends_with("?action=off"));
    assert_eq!(
        app.view().test,
        TestStatus::Ok("Test finished; the lamp is released.".into())
    );
    assert!(app.view().lamp_tests);
}

#[test]
fn sound_test_plays_the_chosen_sound_then_releases() {
    let mut app = started(License::Connector, &healthy);
    app.handle_input("lamp.ringing.sound", "6");
    app.handle_input("lamp.ringing.volume", "50");
    app.handle_click(0, Button::TestSound);
    let first = pump(&mut app, 0, &|_| ok(""));
    let Some(ConfigAction::Hub { request, .. }) = first.first() else {
        panic!("no request");
    };
    assert!(request.url.contains("action=alert") && request.url.contains("sound=6&volume=50"));
    assert!(!app.view().lamp_tests, "no second test while one runs");
    assert_eq!(app.poll_timeout(), Some(SOUND_TEST_MS));
    app.handle_timeout(SOUND_TEST_MS);
    let last = pump(&mut app, SOUND_TEST_MS, &|_| ok(""));
    assert!(
        matches!(&last[..], [ConfigAction::Hub { request, .. }] if request.url.ends_with("action=off"))
    );
}

#[test]
fn a_failing_lamp_test_says_why_and_still_gives_the_lamp_back() {
    let mut app = started(License::Connector, &healthy);
    app.handle_click(0, Button::TestLamp);
    let actions = pump(&mut app, 0, &|r| {
        if r.url.contains("action=off") {
            ok("")
        } else {
            HubOutcome::Answer {
                status: 404,
                body: vec![],
            }
        }
    });
    let urls: Vec<_> = actions
        .iter()
        .filter_map(|a| match a {
            ConfigAction::Hub { request, .. } => Some(request.url.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(urls.len(), 2);
    assert!(urls[1].ends_with("action=off"));
    assert_eq!(
        app.view().test,
        TestStatus::Failed("no Busylight connected (404)".into())
    );
}

#[test]
fn test_connection_uses_the_edited_settings_and_lists_lamps() {
    let mut app = started(License::Connector, &healthy);
    app.handle_input("hubUrl", "http://10.0.0.5:8989");
    app.handle_click(0, Button::TestConnection);
    let actions = pump(&mut app, 0, &healthy);
    assert!(actions.iter().all(|a| match a {
        ConfigAction::Hub { request, .. } => request.url.starts_with("http://10.0.0.5:8989/"),
        _ => true,
    }));
    assert_eq!(
        app.view().test,
        TestStatus::Ok("kuandoHUB reachable. Busylights connected: 1 (Busylight UC Omega)".into())
    );
}

#[test]
fn token_is_masked_until_shown_and_never_traced() {
    let mut app = started(License::Connector, &healthy);
    assert!(!app.view().token_visible);
    app.handle_click(0, Button::ToggleToken);
    assert!(app.view().token_visible);
    app.handle_input("token", "topsecret");
    app.handle_response(
        0,
        Response::Error {
            error: ServiceError {
                code: ErrorCode::Malformed,
                text: "bad topsecret".into(),
                fields: vec![],
            },
        },
    );
    while let Some(a) = app.poll_action() {
        if let ConfigAction::Trace(t) = a {
            assert!(t.starts_with("kuando-config-log: "));
            assert!(!t.contains("topsecret"), "{t}");
        }
    }
}

#[test]
fn service_down_is_shown_and_the_hub_is_still_checked_with_defaults() {
    let mut app = ConfigApp::new(Lang::En, false);
    app.handle_service(0, ServiceState::Down);
    assert_eq!(app.poll_timeout(), Some(0));
    app.handle_timeout(0);
    let a = pump(&mut app, 0, &healthy);
    assert!(a.iter().any(
        |a| matches!(a, ConfigAction::Hub { request, .. } if request.url == "http://localhost:8989/")
    ));
    assert_eq!(app.view().banners, vec![Banner::ServiceDown]);
    assert!(!app.view().can_save);
}
