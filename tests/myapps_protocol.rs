//! The myApps bridge against the messages as myApps and the app service send them (texts as in
//! `docs/platform-facts.md` §3 and the SDK docs it cites), with virtual time.
#![cfg(not(target_arch = "wasm32"))]

use kuando_connector::myapps::domain::subscribe_presence;
use kuando_connector::myapps::launcher;
use kuando_connector::myapps::session::{BACKOFF_MAX_MS, KEEPALIVE_MS, STEP_TIMEOUT_MS};
use kuando_connector::myapps::{
    call_event, own_user, phone_calls, presence_update, AppSession, LauncherMsg, LoginMsg, Scheme,
    SendError, SessionAction, SessionEvent, StartParams, API_CLIENT, API_PHONE, API_PHONEINFO,
};
use kuando_connector::proto::Request;
use kuando_connector::state::{CallEvent, CallInfo, CallKey, CallState, Direction, Presence};
use proptest::prelude::*;

const START: &str = "?lang=de&scheme=light&name=kuando&title=Connector%20for%20kuando%C2%AE\
    &url=https%3A%2F%2Fap.example.com%2Fexample.com%2Fkuandoconnector%2Finnovaphone-kuando\
    &originalUrl=https%3A%2F%2Fap.example.com%2Fexample.com%2Fkuandoconnector%2Finnovaphone-kuando";

const API_UPDATE: &str = r#"{"mt":"ApiUpdate","apis":{
  "com.innovaphone.client":{"@client":{"title":"innovaphone myApps",
    "url":"http://pbx.example.com/PBX0/APPCLIENT/130000/appclient.htm","info":{},
    "model":{"user":{"domain":"example.com","sip":"bob","guid":"5db8519be826c148a8877f10f8bc2d73",
      "dn":"Bob Hansen","num":"201","email":"bob@example.com"},"home":{},"deviceApps":[],"profileApp":"profile"}}},
  "com.innovaphone.phone":{
    "dev:SwPh_5c6aa38f":{"title":"Softphone","info":{"type":"softphone"},"model":{}},
    "dev:00903332024b":{"title":"IP232","info":{"type":"phone"},"model":{"registered":true,"calls":[
      {"id":1,"guid":"fff79c5bd2115d0109f400903341035b","dir":"i","num":"200","sip":"charlie.chaplin",
       "dn":"Sir Charles Spencer Chaplin","state":"Connected"}]}}}},
  "defaultApiProviders":{"com.innovaphone.client":"@client","com.innovaphone.phone":"dev:00903332024b"}}"#;

const INFO: &str = r#"{"appobj":"kuando","appdn":"Connector for kuando","appurl":"https://ap.example.com/example.com/kuandoconnector/innovaphone-kuando","cn":"Bob Hansen","lics":1,"apps":[{"name":"kuando"}]}"#;

fn login_text(src: &str, pbx_obj: &str, info: &str) -> String {
    format!(
        r#"{{"mt":"Login","src":"{src}","app":"innovaphone-kuando","domain":"example.com","sip":"bob","guid":"5db8519be826c148a8877f10f8bc2d73","dn":"Bob Hansen","pbxObj":"{pbx_obj}","info":{info},"digest":"8c1f0d2a","key":"k"}}"#
    )
}

fn login(text: &str) -> LoginMsg {
    match LauncherMsg::parse(text) {
        Ok(LauncherMsg::Login(l)) => l,
        other => panic!("not a Login: {other:?}"),
    }
}

fn drain(s: &mut AppSession) -> Vec<SessionAction> {
    std::iter::from_fn(|| s.poll_action()).collect()
}

fn session() -> AppSession {
    let start = StartParams::parse(START);
    AppSession::new(&start.ws_url().unwrap(), &start.name)
}

/// Socket open and challenge answered at `now`; returns the `src` of the posted `getLogin`.
fn to_get_login(s: &mut AppSession, now: u64) -> String {
    s.handle_timeout(now);
    assert!(matches!(&drain(s)[..], [SessionAction::OpenSocket(_)]));
    s.handle_socket_open(now);
    assert_eq!(
        drain(s),
        [SessionAction::SendSocket(r#"{"mt":"AppChallenge"}"#.into())]
    );
    s.handle_socket_message(now, r#"{"mt":"AppChallengeResult","challenge":"4b6f9a"}"#);
    match &drain(s)[..] {
        [SessionAction::PostToParent(t)] => {
            let v: serde_json::Value = serde_json::from_str(t).unwrap();
            assert_eq!(v["mt"], "getLogin");
            assert_eq!(v["app"], "kuando");
            assert_eq!(v["challenge"], "4b6f9a");
            v["src"].as_str().unwrap().to_string()
        }
        other => panic!("expected getLogin, got {other:?}"),
    }
}

fn connect(s: &mut AppSession, now: u64) {
    let src = to_get_login(s, now);
    s.handle_login(now, &login(&login_text(&src, "kuando", INFO)));
    assert_eq!(drain(s).len(), 1);
    s.handle_socket_message(now, r#"{"mt":"AppLoginResult","ok":true}"#);
    assert_eq!(drain(s), [SessionAction::Event(SessionEvent::Connected)]);
}

#[test]
fn start_parameters_give_the_websocket_url_and_the_app_object() {
    let p = StartParams::parse(START);
    assert_eq!(p.lang, "de");
    assert_eq!(p.scheme, Scheme::Light);
    assert_eq!(p.name, "kuando");
    assert_eq!(p.title, "Connector for kuando®");
    assert_eq!(
        p.ws_url().as_deref(),
        Some("wss://ap.example.com/example.com/kuandoconnector")
    );
}

#[test]
fn login_flow_sends_the_logins_fields_with_info_verbatim() {
    let mut s = session();
    assert_eq!(s.poll_timeout(), Some(0));
    s.handle_timeout(0);
    assert_eq!(
        drain(&mut s),
        [SessionAction::OpenSocket(
            "wss://ap.example.com/example.com/kuandoconnector".into()
        )]
    );
    s.handle_socket_open(10);
    s.handle_socket_message(20, r#"{"mt":"AppChallengeResult","challenge":"4b6f9a"}"#);
    let acts = drain(&mut s);
    assert_eq!(
        acts[1],
        SessionAction::PostToParent(
            r#"{"mt":"getLogin","src":"1","app":"kuando","challenge":"4b6f9a"}"#.into()
        )
    );
    s.handle_login(30, &login(&login_text("1", "kuando", INFO)));
    let want = format!(
        r#"{{"mt":"AppLogin","app":"innovaphone-kuando","domain":"example.com","sip":"bob","guid":"5db8519be826c148a8877f10f8bc2d73","dn":"Bob Hansen","info":{INFO},"digest":"8c1f0d2a","pbxObj":"kuando"}}"#
    );
    assert_eq!(drain(&mut s), [SessionAction::SendSocket(want)]);
    assert!(!s.is_connected());
    s.handle_socket_message(40, r#"{"mt":"AppLoginResult","ok":true}"#);
    assert_eq!(
        drain(&mut s),
        [SessionAction::Event(SessionEvent::Connected)]
    );
    assert!(s.is_connected());
    // Service messages now reach the app.
    let cfg = r#"{"api":"kuando","mt":"ConfigChanged","config":{}}"#;
    s.handle_socket_message(50, cfg);
    assert_eq!(
        drain(&mut s),
        [SessionAction::Event(SessionEvent::Message(cfg.into()))]
    );
}

#[test]
fn a_login_for_another_app_object_is_not_used() {
    let mut s = session();
    let src = to_get_login(&mut s, 0);
    s.handle_login(1, &login(&login_text(&src, "kuando-config", INFO)));
    assert_eq!(drain(&mut s), [], "no AppLogin for another pbxObj");
    // The right one still works while the step is open.
    s.handle_login(2, &login(&login_text(&src, "kuando", INFO)));
    assert!(
        matches!(&drain(&mut s)[..], [SessionAction::SendSocket(t)] if t.starts_with(r#"{"mt":"AppLogin""#))
    );
}

#[test]
fn only_wrong_logins_time_out_as_a_login_failure_and_retry() {
    let mut s = session();
    let src = to_get_login(&mut s, 0);
    s.handle_login(1, &login(&login_text(&src, "other-app", INFO)));
    assert_eq!(s.poll_timeout(), Some(STEP_TIMEOUT_MS));
    s.handle_timeout(STEP_TIMEOUT_MS);
    match &drain(&mut s)[..] {
        [SessionAction::CloseSocket, SessionAction::Event(SessionEvent::LoginFailed(why))] => {
            assert!(why.contains("other-app"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.poll_timeout(), Some(STEP_TIMEOUT_MS + 500));
}

#[test]
fn unlicensed_user_stops_the_session_for_good() {
    let mut s = session();
    let src = to_get_login(&mut s, 0);
    let info = r#"{"appobj":"kuando","unlicensed":true,"lics":0}"#;
    s.handle_login(1, &login(&login_text(&src, "kuando", info)));
    drain(&mut s);
    s.handle_socket_message(2, r#"{"mt":"AppLoginResult","ok":false}"#);
    assert_eq!(
        drain(&mut s),
        [
            SessionAction::CloseSocket,
            SessionAction::Event(SessionEvent::Unlicensed)
        ]
    );
    assert_eq!(s.poll_timeout(), None);
    s.handle_socket_closed(3);
    for t in [1_000, 60_000, 3_600_000] {
        s.handle_timeout(t);
    }
    assert_eq!(drain(&mut s), [], "no reconnect for an unlicensed user");
    assert_eq!(
        s.send_api(4, None, Request::GetConfig),
        Err(SendError::NotConnected)
    );
}

#[test]
fn other_login_failures_are_reported_and_retried() {
    let mut s = session();
    let src = to_get_login(&mut s, 0);
    s.handle_login(1, &login(&login_text(&src, "kuando", INFO)));
    drain(&mut s);
    s.handle_socket_message(
        2,
        r#"{"mt":"AppLoginResult","ok":false,"errorText":"digest mismatch"}"#,
    );
    assert_eq!(
        drain(&mut s),
        [
            SessionAction::CloseSocket,
            SessionAction::Event(SessionEvent::LoginFailed("digest mismatch".into()))
        ]
    );
    assert_eq!(s.poll_timeout(), Some(2 + 500));
    let src = to_get_login(&mut s, 502);
    s.handle_login(503, &login(&login_text(&src, "kuando", INFO)));
    drain(&mut s);
    s.handle_socket_message(504, r#"{"mt":"AppLoginResult","ok":false}"#);
    assert_eq!(
        drain(&mut s)[1],
        SessionAction::Event(SessionEvent::LoginFailed("LOGIN_FAILURE".into()))
    );
    assert_eq!(
        s.poll_timeout(),
        Some(504 + 1_000),
        "back-off grows on login failures too"
    );
}

#[test]
fn reconnect_back_off_doubles_to_32_s_and_resets_after_a_login() {
    let mut s = session();
    let mut now = 0;
    let mut waits = Vec::new();
    for _ in 0..8 {
        s.handle_timeout(now);
        assert!(matches!(&drain(&mut s)[..], [SessionAction::OpenSocket(_)]));
        // The service accepts the socket and drops it before the login: opening alone resets nothing.
        s.handle_socket_open(now + 5);
        s.handle_socket_closed(now + 10);
        drain(&mut s);
        let next = s.poll_timeout().unwrap();
        waits.push(next - (now + 10));
        // Nothing happens before the deadline.
        s.handle_timeout(next - 1);
        assert_eq!(drain(&mut s), []);
        now = next;
    }
    assert_eq!(
        waits,
        [500, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 32_000]
    );
    assert_eq!(*waits.last().unwrap(), BACKOFF_MAX_MS);

    connect(&mut s, now);
    s.handle_socket_closed(now + 100);
    assert_eq!(
        drain(&mut s),
        [SessionAction::Event(SessionEvent::Disconnected)]
    );
    assert_eq!(s.poll_timeout(), Some(now + 100 + 500));
}

#[test]
fn a_socket_that_never_answers_the_challenge_is_closed_and_retried() {
    let mut s = session();
    s.handle_timeout(0);
    s.handle_socket_open(0);
    drain(&mut s);
    assert_eq!(s.poll_timeout(), Some(STEP_TIMEOUT_MS));
    s.handle_timeout(STEP_TIMEOUT_MS);
    assert_eq!(drain(&mut s), [SessionAction::CloseSocket]);
    s.handle_timeout(STEP_TIMEOUT_MS + 500);
    assert!(matches!(&drain(&mut s)[..], [SessionAction::OpenSocket(_)]));
    // A socket that never opens, the same.
    s.handle_timeout(2 * STEP_TIMEOUT_MS + 500);
    assert_eq!(drain(&mut s), [SessionAction::CloseSocket]);
    assert_eq!(s.poll_timeout(), Some(2 * STEP_TIMEOUT_MS + 500 + 1_000));
}

#[test]
fn keepalive_every_60_s_while_connected_and_only_then() {
    let mut s = session();
    connect(&mut s, 0);
    let mut sent = Vec::new();
    let end = 5 * KEEPALIVE_MS + 1;
    while let Some(t) = s.poll_timeout().filter(|t| *t <= end) {
        s.handle_timeout(t);
        for a in drain(&mut s) {
            assert_eq!(a, SessionAction::SendSocket(r#"{"mt":"KeepAlive"}"#.into()));
            sent.push(t);
        }
    }
    assert_eq!(sent, [60_000, 120_000, 180_000, 240_000, 300_000]);
    s.handle_socket_closed(end);
    drain(&mut s);
    // While reconnecting, no KeepAlive.
    s.handle_timeout(end + KEEPALIVE_MS);
    assert!(drain(&mut s)
        .iter()
        .all(|a| !matches!(a, SessionAction::SendSocket(t) if t.contains("KeepAlive"))));
}

#[test]
fn api_messages_are_refused_while_down_and_carry_api_and_src_when_up() {
    let mut s = session();
    assert_eq!(
        s.send_api(0, None, Request::GetConfig),
        Err(SendError::NotConnected)
    );
    connect(&mut s, 0);
    let src = s
        .send_api(
            1,
            None,
            Request::SetPresence {
                activity: "busy".into(),
                note: String::new(),
                guard: None,
            },
        )
        .unwrap();
    let Some(SessionAction::SendSocket(t)) = s.poll_action() else {
        panic!("nothing sent")
    };
    let v: serde_json::Value = serde_json::from_str(&t).unwrap();
    assert_eq!(v["api"], "kuando");
    assert_eq!(v["mt"], "SetPresence");
    assert_eq!(v["src"], src.as_str());
    let src2 = s.send_api(2, None, Request::GetConfig).unwrap();
    assert_ne!(src, src2, "every request gets its own src");
}

#[test]
fn api_update_gives_own_user_and_existing_calls() {
    let Ok(LauncherMsg::ApiUpdate(u)) = LauncherMsg::parse(API_UPDATE) else {
        panic!("unreadable ApiUpdate")
    };
    let me = own_user(&u).unwrap();
    assert_eq!(
        (me.sip.as_str(), me.dn.as_str(), me.num.as_str()),
        ("bob", "Bob Hansen", "201")
    );
    assert_eq!(u.default_provider(API_PHONE), Some("dev:00903332024b"));
    let calls = phone_calls(&u);
    assert_eq!(calls.len(), 2);
    let ip232 = calls
        .iter()
        .find(|p| p.provider == "dev:00903332024b")
        .unwrap();
    assert_eq!(
        ip232.calls,
        [(
            "1".to_string(),
            CallInfo {
                dir: Some(Direction::Incoming),
                state: Some(CallState::Connected)
            }
        )]
    );
    let softphone = calls
        .iter()
        .find(|p| p.provider == "dev:SwPh_5c6aa38f")
        .unwrap();
    assert!(softphone.calls.is_empty());
}

#[test]
fn phoneinfo_requests_become_call_events() {
    let ev = |msg: &str| {
        let t = format!(
            r#"{{"mt":"ApiRequest","api":"com.innovaphone.phoneinfo","consumer":"softphone","src":"s1","msg":{msg}}}"#
        );
        match LauncherMsg::parse(&t) {
            Ok(LauncherMsg::ApiRequest(r)) => {
                assert_eq!(r.api, API_PHONEINFO);
                call_event(&r)
            }
            other => panic!("{other:?}"),
        }
    };
    let key = CallKey::new("softphone", "1");
    assert_eq!(
        ev(r#"{"mt":"CallAdded","id":1,"guid":"fff79c5bd2115d0109f400903341035b"}"#),
        Some(CallEvent::Added(key.clone()))
    );
    assert_eq!(
        ev(
            r#"{"mt":"CallUpdated","id":1,"guid":"fff79c5bd2115d0109f400903341035b","dir":"i","num":"200","sip":"charlie.chaplin","dn":"Sir Charles Spencer Chaplin","state":"Alerting"}"#
        ),
        Some(CallEvent::Updated(
            key.clone(),
            CallInfo {
                dir: Some(Direction::Incoming),
                state: Some(CallState::Alerting)
            }
        ))
    );
    assert_eq!(
        ev(r#"{"mt":"CallRemoved","id":"1","guid":"fff79c5bd2115d0109f400903341035b"}"#),
        Some(CallEvent::Removed(key))
    );
}

#[test]
fn presence_updates_for_the_own_user_only() {
    let req = subscribe_presence("bob", Some("p1"));
    assert_eq!(
        req,
        r#"{"mt":"ApiRequest","api":"com.innovaphone.client","provider":"@client","src":"p1","msg":{"mt":"SubscribePresence","sip":"bob"}}"#
    );
    let update = |sip: &str| {
        format!(
            r#"{{"mt":"ApiResult","api":"com.innovaphone.client","provider":"@client","src":"p1","msg":{{"mt":"PresenceUpdated","sip":"{sip}","num":"201","up":true,"presence":[{{"contact":"calendar:","status":"open","activity":"busy","note":"Meeting #until:1524733200000"}},{{"contact":"tel:","status":"open","activity":"dnd","note":"Do not disturb"}},{{"contact":"im:","status":"closed","activity":""}}]}}}}"#
        )
    };
    let Ok(LauncherMsg::ApiResult(r)) = LauncherMsg::parse(&update("bob")) else {
        panic!("unreadable")
    };
    assert_eq!(r.api, API_CLIENT);
    assert_eq!(
        presence_update(&r, "bob"),
        Some(Presence::new("dnd", "Do not disturb"))
    );
    let Ok(LauncherMsg::ApiResult(r)) = LauncherMsg::parse(&update("alice")) else {
        panic!("unreadable")
    };
    assert_eq!(presence_update(&r, "bob"), None);
}

#[test]
fn launcher_texts_the_app_posts() {
    assert_eq!(launcher::alive(), r#"{"mt":"Alive"}"#);
    assert_eq!(
        launcher::register_api(API_PHONEINFO),
        r#"{"mt":"RegisterApi","api":"com.innovaphone.phoneinfo"}"#
    );
    assert_eq!(
        launcher::consume_api(API_CLIENT),
        r#"{"mt":"ConsumeApi","api":"com.innovaphone.client"}"#
    );
}

// ---- no input panics ----

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-zA-Z:@. ]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("tel:"),
            Just("bob"),
            Just("id"),
            Just("calls"),
            Just("model"),
            Just("user"),
            Just("sip"),
            Just("mt"),
            Just("CallUpdated"),
            Just("PresenceUpdated"),
            Just("presence"),
            Just("contact"),
            Just("state"),
            Just("Alerting"),
            Just("unlicensed")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        "[a-z]{1,6}",
                        Just("mt".to_string()),
                        Just("id".to_string()),
                        Just("sip".to_string()),
                        Just("calls".to_string()),
                        Just("model".to_string()),
                        Just("user".to_string()),
                        Just("@client".to_string()),
                        Just("presence".to_string()),
                        Just("contact".to_string()),
                        Just(API_CLIENT.to_string()),
                        Just(API_PHONE.to_string()),
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn launcher_text() -> impl Strategy<Value = String> {
    let mt = prop_oneof![
        Just("ApiUpdate"),
        Just("ApiResult"),
        Just("ApiRequest"),
        Just("Login"),
        Just("SetLang"),
        Just("SetScheme"),
        Just("SetArgs"),
        Just("Other")
    ];
    prop_oneof![
        any::<String>(),
        (mt, json_value(), json_value(), json_value(), json_value()).prop_map(
            |(mt, a, b, c, d)| {
                serde_json::json!({
                    "mt": mt, "api": a, "apis": b, "msg": c, "info": d,
                    "consumer": "softphone", "provider": "@client", "pbxObj": "kuando",
                    "scheme": "light", "lang": "de", "args": {"x": 1}
                })
                .to_string()
            }
        ),
        (json_value(), json_value()).prop_map(|(apis, msg)| {
            serde_json::json!({"mt": "ApiUpdate", "apis": {API_CLIENT: {"@client": {"model": apis}},
                API_PHONE: {"p": {"model": {"calls": [msg]}}}}})
            .to_string()
        }),
    ]
}

/// Runs everything the app would do with a launcher message.
fn use_launcher_message(text: &str) {
    match LauncherMsg::parse(text) {
        Ok(LauncherMsg::ApiUpdate(u)) => {
            let _ = own_user(&u);
            let _ = phone_calls(&u);
            for api in [API_CLIENT, API_PHONE] {
                let _ = u.default_provider(api);
            }
        }
        Ok(LauncherMsg::ApiRequest(r)) | Ok(LauncherMsg::ApiResult(r)) => {
            let _ = call_event(&r);
            let _ = presence_update(&r, "bob");
        }
        Ok(LauncherMsg::Login(l)) => {
            let _ = l.unlicensed();
            let _ = format!("{l:?}");
        }
        Ok(_) => {}
        Err(e) => assert!(!e.0.is_empty()),
    }
}

#[derive(Debug, Clone)]
enum Op {
    Timeout(u64),
    Open(u64),
    Closed(u64),
    Message(u64, String),
    Login(u64, String, String, String),
    Send(u64, String),
    Close,
}

fn socket_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        Just(r#"{"mt":"AppChallengeResult","challenge":"c"}"#.to_string()),
        Just(r#"{"mt":"AppChallengeResult","challenge":7}"#.to_string()),
        Just(r#"{"mt":"AppChallengeResult"}"#.to_string()),
        Just(r#"{"mt":"AppLoginResult","ok":true}"#.to_string()),
        Just(r#"{"mt":"AppLoginResult","ok":false,"errorText":5}"#.to_string()),
        json_value().prop_map(|v| v.to_string()),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let dt = 0u64..40_000;
    prop_oneof![
        3 => dt.clone().prop_map(Op::Timeout),
        2 => dt.clone().prop_map(Op::Open),
        1 => dt.clone().prop_map(Op::Closed),
        3 => (dt.clone(), socket_text()).prop_map(|(t, m)| Op::Message(t, m)),
        2 => (
            dt.clone(),
            prop_oneof![Just("kuando".to_string()), ".{0,8}"],
            prop_oneof![Just("1".to_string()), Just("2".to_string()), "[0-9]{0,2}"],
            prop_oneof![Just(INFO.to_string()), Just(r#"{"unlicensed":true}"#.to_string()), json_value().prop_map(|v| v.to_string())],
        )
            .prop_map(|(t, o, s, i)| Op::Login(t, o, s, i)),
        1 => (dt.clone(), prop_oneof![any::<String>(), json_value().prop_map(|v| v.to_string())])
            .prop_map(|(t, j)| Op::Send(t, j)),
        1 => Just(Op::Close),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn start_parameters_never_panic(q in any::<String>()) {
        let p = StartParams::parse(&q);
        let _ = p.ws_url();
        let _ = p.arg("x");
    }

    #[test]
    fn websocket_url_never_panics(u in prop_oneof![any::<String>(), "(https?|wss?)://[a-z/.:%?#]{0,30}"]) {
        let _ = kuando_connector::myapps::start::ws_url(&u);
    }

    #[test]
    fn launcher_messages_never_panic(t in launcher_text()) {
        use_launcher_message(&t);
    }

    /// Random socket events, logins, sends and times: no panic, at most one socket at a time, never a
    /// reconnect sooner than 0.5 s after a socket went away, and nothing at all after `Unlicensed`.
    #[test]
    fn session_never_panics_and_never_hammers(ops in prop::collection::vec(op(), 1..60)) {
        let mut s = AppSession::new("wss://ap/dom/inst", "kuando");
        let mut now = 0u64;
        let mut socket = false;
        let mut gone_at: Option<u64> = None;
        let mut stopped = false;
        for op in ops {
            match op {
                Op::Timeout(dt) => { now += dt; s.handle_timeout(now) }
                Op::Open(dt) => { now += dt; if socket { s.handle_socket_open(now) } }
                Op::Closed(dt) => {
                    now += dt;
                    if socket { socket = false; gone_at = Some(now); }
                    s.handle_socket_closed(now)
                }
                Op::Message(dt, m) => { now += dt; if socket { s.handle_socket_message(now, &m) } }
                Op::Login(dt, obj, src, info) => {
                    now += dt;
                    let t = format!(r#"{{"mt":"Login","src":"{}","pbxObj":{},"info":{},"digest":"d"}}"#,
                        src, serde_json::Value::String(obj), info);
                    if let Ok(LauncherMsg::Login(l)) = LauncherMsg::parse(&t) {
                        s.handle_login(now, &l);
                    }
                }
                Op::Send(dt, j) => {
                    now += dt;
                    let presence = Request::SetPresence { activity: j, note: String::new(), guard: None };
                    let r = s.send_api(now, None, presence);
                    prop_assert!(r.is_err() || s.is_connected());
                }
                Op::Close => s.close(now),
            }
            while let Some(a) = s.poll_action() {
                prop_assert!(!stopped, "action after Unlicensed: {:?}", a);
                match a {
                    SessionAction::OpenSocket(_) => {
                        prop_assert!(!socket, "second socket");
                        if let Some(g) = gone_at {
                            prop_assert!(now >= g + 500, "reconnect {} ms after close", now - g);
                        }
                        socket = true;
                    }
                    SessionAction::CloseSocket => { socket = false; gone_at = Some(now); }
                    SessionAction::Event(SessionEvent::Unlicensed) => stopped = true,
                    _ => {}
                }
            }
        }
    }
}
