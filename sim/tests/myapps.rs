//! The myApps + PBX + app service simulator, driven as the apps and the launcher page drive it: the launcher's
//! websocket (`/_sim/client`, carrying what the app iframes post), the app websocket, and the control API.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use kuando_sim::myapps::{self, Options, Running, INSTANCE_PATH};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Upper bound for an answer that should come at once; never reached when the simulator works.
const PATIENCE: Duration = Duration::from_secs(5);

async fn start() -> Running {
    start_with(Options {
        port: 0,
        www: "/nonexistent/www".into(),
        pkg: "/nonexistent/pkg".into(),
        users: vec!["alice".into(), "bob".into(), "carol".into()],
        unlicensed: vec!["carol".into()],
        license_busylight: vec!["bob".into()],
        ..Options::default()
    })
    .await
}

async fn start_with(o: Options) -> Running {
    myapps::spawn(o).await.expect("simulator starts")
}

async fn recv_text(ws: &mut Ws) -> String {
    loop {
        let m = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("an answer in time")
            .expect("socket open")
            .expect("no socket error");
        if let Message::Text(t) = m {
            return t.to_string();
        }
    }
}

/// A launcher page as the simulator sees it: one myApps client of one user.
struct Client {
    ws: Ws,
}

impl Client {
    async fn open(sim: &Running, user: &str) -> Client {
        let (ws, _) =
            tokio_tungstenite::connect_async(format!("ws://{}/_sim/client?user={user}", sim.addr))
                .await
                .expect("launcher websocket");
        let mut c = Client { ws };
        // As the page does before loading each iframe.
        c.raw(json!({"t": "reset", "frame": "hidden"})).await;
        c.raw(json!({"t": "reset", "frame": "config"})).await;
        c
    }

    async fn raw(&mut self, v: Value) {
        self.ws
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("send");
    }

    /// What app iframe `frame` posts to myApps.
    async fn post(&mut self, frame: &str, msg: Value) {
        self.raw(json!({"t": "msg", "frame": frame, "data": msg.to_string()}))
            .await;
    }

    /// The next message myApps posts into `frame` (other launcher traffic skipped).
    async fn next_for(&mut self, frame: &str) -> Value {
        loop {
            let v: Value = serde_json::from_str(&recv_text(&mut self.ws).await).expect("json");
            if v["t"] == "post" {
                assert_eq!(v["frame"], frame, "unexpected post: {v}");
                return serde_json::from_str(v["msg"].as_str().expect("msg text"))
                    .expect("msg json");
            }
        }
    }

    /// Like [`Client::next_for`], but the message text as posted.
    async fn next_text_for(&mut self, frame: &str) -> String {
        loop {
            let v: Value = serde_json::from_str(&recv_text(&mut self.ws).await).expect("json");
            if v["t"] == "post" {
                assert_eq!(v["frame"], frame, "unexpected post: {v}");
                return v["msg"].as_str().expect("msg text").to_string();
            }
        }
    }

    /// The setup message the page gets first.
    async fn setup(&mut self) -> Value {
        loop {
            let v: Value = serde_json::from_str(&recv_text(&mut self.ws).await).expect("json");
            if v["t"] == "setup" {
                return v;
            }
        }
    }

    /// Proves that nothing is queued for the page: asks for a presence update and requires it to be the
    /// very next post.
    async fn fence(&mut self, frame: &str) {
        self.post(
            frame,
            json!({"mt": "ApiRequest", "api": "com.innovaphone.client",
                                "src": "fence", "msg": {"mt": "SubscribePresence", "sip": "bob"}}),
        )
        .await;
        let m = self.next_for(frame).await;
        assert_eq!(m["src"], "fence", "something else came first: {m}");
    }
}

/// An app websocket to the simulated AppPlatform.
struct App {
    ws: Ws,
}

impl App {
    async fn open(sim: &Running) -> App {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{}{INSTANCE_PATH}", sim.addr))
            .await
            .expect("app websocket");
        App { ws }
    }

    async fn send(&mut self, v: Value) {
        self.ws
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("send");
    }

    async fn recv(&mut self) -> Value {
        serde_json::from_str(&recv_text(&mut self.ws).await).expect("json")
    }

    async fn challenge(&mut self) -> String {
        self.send(json!({"mt": "AppChallenge"})).await;
        let r = self.recv().await;
        assert_eq!(r["mt"], "AppChallengeResult");
        r["challenge"].as_str().expect("challenge").to_string()
    }

    /// `AppLogin` built from a `Login` the way the SDK does it: the fields copied, `info` exactly as it came
    /// (its key order is part of what the digest covers).
    async fn app_login(&mut self, login: &Login) -> Value {
        let mut m = json!({"mt": "AppLogin"});
        for k in ["app", "domain", "sip", "guid", "dn", "digest", "pbxObj"] {
            m[k] = login.v[k].clone();
        }
        let mut text = m.to_string();
        text.pop();
        text.push_str(&format!(",\"info\":{}}}", login.info));
        self.ws
            .send(Message::Text(text.into()))
            .await
            .expect("send");
        self.recv().await
    }

    /// Proves that nothing is queued on this connection: a new challenge must be the very next answer.
    async fn fence(&mut self) {
        self.send(json!({"mt": "AppChallenge", "src": "fence"}))
            .await;
        let r = self.recv().await;
        assert_eq!(
            r["mt"], "AppChallengeResult",
            "something else came first: {r}"
        );
    }

    async fn kuando(&mut self, src: &str, req: Value) -> Value {
        let mut m = req;
        m["api"] = json!("kuando");
        m["src"] = json!(src);
        self.send(m).await;
        let r = self.recv().await;
        assert_eq!(r["src"], src, "{r}");
        r
    }
}

/// A `Login` as posted: readable as `Value`, and `info` as its exact text.
struct Login {
    v: Value,
    info: String,
}

impl std::ops::Index<&str> for Login {
    type Output = Value;
    fn index(&self, k: &str) -> &Value {
        &self.v[k]
    }
}

/// getLogin through the launcher for the app object `name`, with the challenge of an app connection.
async fn get_login(client: &mut Client, frame: &str, name: &str, challenge: &str) -> Login {
    client
        .post(
            frame,
            json!({"mt": "getLogin", "src": "L1", "app": name, "challenge": challenge}),
        )
        .await;
    let text = client.next_text_for(frame).await;
    #[derive(serde::Deserialize)]
    struct Raw {
        info: Box<serde_json::value::RawValue>,
    }
    let info = serde_json::from_str::<Raw>(&text)
        .expect("Login with info")
        .info
        .get()
        .to_string();
    let v: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["mt"], "Login", "{v}");
    Login { v, info }
}

/// An app connection and the launcher's `Login` for it (not sent yet), for the hidden (`kuando`) or config
/// (`kuando-config`) app.
async fn login_for(sim: &Running, client: &mut Client, name: &str) -> (App, Login) {
    let frame = if name == "kuando" { "hidden" } else { "config" };
    let mut app = App::open(sim).await;
    let ch = app.challenge().await;
    let login = get_login(client, frame, name, &ch).await;
    (app, login)
}

/// A logged-in app connection of `user` for the hidden (`kuando`) or config (`kuando-config`) app.
async fn logged_in(sim: &Running, client: &mut Client, name: &str) -> App {
    let (mut app, login) = login_for(sim, client, name).await;
    let r = app.app_login(&login).await;
    assert_eq!(r, json!({"mt": "AppLoginResult", "ok": true}));
    app
}

async fn state(sim: &Running) -> Value {
    reqwest::get(format!("{}/_sim/state", sim.base_url()))
        .await
        .expect("state")
        .json()
        .await
        .expect("state json")
}

async fn control(sim: &Running, path: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", sim.base_url()))
        .json(&body)
        .send()
        .await
        .expect("control request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

// ---------------------------------------------------------------------------------------------------------
// Login

#[tokio::test]
async fn login_with_the_pbx_digest_succeeds_and_identifies_the_connection() {
    let sim = start().await;
    let mut client = Client::open(&sim, "alice").await;
    let mut app = App::open(&sim).await;
    let ch = app.challenge().await;
    assert!(ch.len() >= 16, "{ch}");
    let login = get_login(&mut client, "hidden", "kuando", &ch).await;
    assert_eq!(login["src"], "L1");
    assert_eq!(login["app"], "innovaphone-kuando");
    assert_eq!(login["domain"], "example.com");
    assert_eq!(login["sip"], "alice");
    assert_eq!(login["dn"], "Alice");
    assert_eq!(login["pbxObj"], "kuando");
    assert_eq!(login["info"]["appobj"], "kuando");
    assert!(login["info"].get("unlicensed").is_none(), "{}", login.v);
    assert!(login["info"]["appurl"]
        .as_str()
        .unwrap()
        .ends_with("/example.com/kuandoconnector/innovaphone-kuando"));

    // The digest is SHA-256 of app:domain:sip:guid:dn:info:challenge:password, info as compact JSON in the
    // order the PBX wrote it (the spec's order).
    let text = login.info.clone();
    assert!(text.starts_with(r#"{"appobj":"kuando","appdn":"#), "{text}");
    let expected = sha256_hex(&format!(
        "innovaphone-kuando:example.com:alice:{}:Alice:{text}:{ch}:{}",
        login["guid"].as_str().unwrap(),
        sim.app_password()
    ));
    assert_eq!(login["digest"], expected.as_str());

    let r = app.app_login(&login).await;
    assert_eq!(r, json!({"mt": "AppLoginResult", "ok": true}));
    app.send(json!({"mt": "KeepAlive"})).await;
    app.fence().await;

    let s = state(&sim).await;
    let conn = s["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["loggedIn"] == true)
        .expect("a logged-in app connection")
        .clone();
    assert_eq!(conn["user"], "alice");
    assert_eq!(conn["app"], "innovaphone-kuando");
    assert_eq!(conn["keepAlives"], 1);
}

#[tokio::test]
async fn a_wrong_digest_or_a_changed_identity_is_refused() {
    let sim = start().await;
    let mut client = Client::open(&sim, "alice").await;

    // One changed hex digit.
    let (mut app, mut login) = login_for(&sim, &mut client, "kuando").await;
    let d = login["digest"].as_str().unwrap().to_string();
    let flipped = if d.starts_with('0') { "1" } else { "0" };
    login.v["digest"] = json!(format!("{flipped}{}", &d[1..]));
    assert_eq!(
        app.app_login(&login).await,
        json!({"mt": "AppLoginResult", "ok": false})
    );
    // Not logged in: the service does not answer.
    app.send(json!({"api": "kuando", "src": "x", "mt": "GetConfig"}))
        .await;
    app.fence().await;

    // Alice's valid digest does not make the connection bob's.
    let (mut app, mut login) = login_for(&sim, &mut client, "kuando").await;
    login.v["sip"] = json!("bob");
    assert_eq!(app.app_login(&login).await["ok"], false);

    // info sent back with its keys reordered: the digest no longer matches (as on a real AppPlatform).
    let (mut app, login) = login_for(&sim, &mut client, "kuando").await;
    let mut m = json!({"mt": "AppLogin"});
    for k in ["app", "domain", "sip", "guid", "dn", "digest", "pbxObj"] {
        m[k] = login[k].clone();
    }
    let mut text = m.to_string();
    text.pop();
    // serde_json::Value writes keys sorted, which is not the PBX's order.
    assert_ne!(login["info"].to_string(), login.info);
    text.push_str(&format!(",\"info\":{}}}", login["info"]));
    app.ws.send(Message::Text(text.into())).await.unwrap();
    assert_eq!(app.recv().await["ok"], false);

    // A login is bound to the connection's challenge: replaying it on another connection fails.
    let mut first = App::open(&sim).await;
    let ch = first.challenge().await;
    let login = get_login(&mut client, "hidden", "kuando", &ch).await;
    let mut other = App::open(&sim).await;
    other.challenge().await;
    assert_eq!(other.app_login(&login).await["ok"], false);

    let s = state(&sim).await;
    assert!(
        s["apps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["loggedIn"] == false),
        "{}",
        s["apps"]
    );
}

#[tokio::test]
async fn an_unlicensed_user_is_logged_in_flagged_and_refused_presence_by_the_service() {
    let sim = start().await;
    let mut client = Client::open(&sim, "carol").await;
    let (mut app, login) = login_for(&sim, &mut client, "kuando").await;
    assert_eq!(login["info"]["unlicensed"], true);
    // As the real runtime: the login is accepted and flagged (conn.unlicensed), not refused.
    assert_eq!(
        app.app_login(&login).await,
        json!({"mt": "AppLoginResult", "ok": true})
    );
    let s = state(&sim).await;
    assert!(
        s["apps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["user"] == "carol" && a["unlicensed"] == true),
        "{}",
        s["apps"]
    );
    assert_eq!(
        app.kuando("1", json!({"mt": "GetLicense"})).await["license"],
        "none"
    );
    let r = app
        .kuando("2", json!({"mt": "SetPresence", "activity": "busy"}))
        .await;
    assert_eq!(r["error"]["code"], "unlicensed");
    assert_eq!(
        state(&sim).await["users"]["carol"]["presence"]["activity"],
        ""
    );

    // Licensing her on the PBX: the next login carries no flag.
    let (status, _) = control(
        &sim,
        "/_sim/license",
        json!({"user": "carol", "license": "connector"}),
    )
    .await;
    assert_eq!(status, 200);
    let (mut app, login) = login_for(&sim, &mut client, "kuando").await;
    assert!(login["info"].get("unlicensed").is_none(), "{}", login.v);
    assert_eq!(app.app_login(&login).await["ok"], true);
    let r = app.kuando("3", json!({"mt": "GetLicense"})).await;
    assert_eq!(r["license"], "connector");
}

#[tokio::test]
async fn a_with_busylight_user_is_flagged_by_head_match_and_the_service_confirms_the_license() {
    let sim = start().await;
    let mut client = Client::open(&sim, "bob").await;
    let (mut app, login) = login_for(&sim, &mut client, "kuando").await;
    // App(innovaphone-kuando-with-busylight) does not head-match the app name innovaphone-kuando.
    assert_eq!(login["info"]["unlicensed"], true);
    assert_eq!(app.app_login(&login).await["ok"], true);
    let r = app
        .kuando("1", json!({"mt": "SetPresence", "activity": "busy"}))
        .await;
    assert_eq!(
        r,
        json!({"api": "kuando", "src": "1", "mt": "SetPresenceResult"})
    );
    assert_eq!(
        state(&sim).await["users"]["bob"]["presence"]["activity"],
        "busy"
    );
}

#[tokio::test]
async fn without_the_admin_option_the_license_cannot_be_checked() {
    let sim = start_with(Options {
        port: 0,
        users: vec!["alice".into()],
        without_admin: true,
        ..Options::default()
    })
    .await;
    let mut client = Client::open(&sim, "alice").await;
    let mut app = logged_in(&sim, &mut client, "kuando").await;
    let r = app.kuando("1", json!({"mt": "GetLicense"})).await;
    assert_eq!(r["error"]["code"], "noAdmin", "{r}");
    let s = state(&sim).await;
    assert_eq!(s["service"]["pbxApis"], json!(["PbxApi", "PbxAdminApi"]));
    assert_eq!(
        s["service"]["pbxConnections"],
        json!([{"id": s["service"]["pbxConnections"][0]["id"], "api": "PbxApi"}])
    );
}

#[tokio::test]
async fn the_shipped_service_runs_and_its_log_lines_show_in_the_simulators_log() {
    let sim = start().await;
    let s = state(&sim).await;
    assert_eq!(s["service"]["running"], true);
    assert_eq!(s["service"]["jsonApis"], json!(["kuando"]));
    // The PBX connects once the service is up; its log lines follow on their own time.
    let deadline = std::time::Instant::now() + PATIENCE;
    let lines = loop {
        let lines: Vec<String> = state(&sim).await["log"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["via"] == "service")
            .map(|e| e["text"].as_str().unwrap_or("").to_string())
            .collect();
        if lines.len() >= 2 || std::time::Instant::now() > deadline {
            break lines;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        lines
            .iter()
            .any(|l| l == "kuando-service: PbxApi connected (PBX pbx0)"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "kuando-service: PbxAdminApi connected (PBX pbx0)"),
        "{lines:?}"
    );
}

// ---------------------------------------------------------------------------------------------------------
// myApps client APIs

#[tokio::test]
async fn consume_api_gives_the_own_user_and_the_softphone_calls() {
    let sim = start().await;
    let mut client = Client::open(&sim, "alice").await;
    client.post("hidden", json!({"mt": "Alive"})).await;
    client
        .post(
            "hidden",
            json!({"mt": "ConsumeApi", "api": "com.innovaphone.client"}),
        )
        .await;
    let u = client.next_for("hidden").await;
    assert_eq!(u["mt"], "ApiUpdate");
    let user = &u["apis"]["com.innovaphone.client"]["@client"]["model"]["user"];
    assert_eq!(user["domain"], "example.com");
    assert_eq!(user["sip"], "alice");
    assert_eq!(user["dn"], "Alice");
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["guid"].as_str().unwrap().len(), 32);
    assert!(!user["num"].as_str().unwrap().is_empty());
    assert_eq!(
        u["defaultApiProviders"]["com.innovaphone.client"],
        "@client"
    );

    client
        .post(
            "hidden",
            json!({"mt": "ConsumeApi", "api": "com.innovaphone.phone"}),
        )
        .await;
    let u = client.next_for("hidden").await;
    let model = &u["apis"]["com.innovaphone.phone"]["softphone"]["model"];
    assert_eq!(model, &json!({"registered": true, "calls": []}));

    // A call: the consumer gets the new model at once.
    let (status, call) = control(
        &sim,
        "/_sim/call",
        json!({"user": "alice", "action": "incoming", "num": "+4930123", "dn": "Dora"}),
    )
    .await;
    assert_eq!(status, 200, "{call}");
    let u = client.next_for("hidden").await;
    let calls = &u["apis"]["com.innovaphone.phone"]["softphone"]["model"]["calls"];
    assert_eq!(calls.as_array().unwrap().len(), 1);
    assert_eq!(calls[0]["id"], call["id"]);
    assert_eq!(calls[0]["dir"], "i");
    assert_eq!(calls[0]["num"], "+4930123");
    assert_eq!(calls[0]["state"], "Alerting");

    let s = state(&sim).await;
    let hidden = &s["sessions"][0]["frames"]["hidden"];
    assert_eq!(hidden["alive"], true);
    assert_eq!(
        hidden["consumed"],
        json!(["com.innovaphone.client", "com.innovaphone.phone"])
    );
}

#[tokio::test]
async fn presence_subscription_reports_tel_presence_now_and_on_a_manual_change() {
    let sim = start().await;
    let mut client = Client::open(&sim, "alice").await;
    client
        .post(
            "hidden",
            json!({"mt": "ApiRequest", "api": "com.innovaphone.client", "src": "p1",
                               "msg": {"mt": "SubscribePresence", "sip": "alice"}}),
        )
        .await;
    let r = client.next_for("hidden").await;
    assert_eq!(r["mt"], "ApiResult");
    assert_eq!(r["provider"], "@client");
    assert_eq!(r["src"], "p1");
    assert_eq!(r["msg"]["mt"], "PresenceUpdated");
    assert_eq!(r["msg"]["sip"], "alice");
    assert_eq!(tel(&r["msg"]), ("".to_string(), "".to_string()));

    let (status, _) = control(
        &sim,
        "/_sim/presence",
        json!({"user": "alice", "activity": "dnd", "note": "focus"}),
    )
    .await;
    assert_eq!(status, 200);
    let r = client.next_for("hidden").await;
    assert_eq!(r["src"], "p1");
    assert_eq!(tel(&r["msg"]), ("dnd".to_string(), "focus".to_string()));

    // Bob's presence changing does not concern alice's subscription. (Sent as `curl -d` would: the
    // control API takes JSON whatever the content type.)
    let r = reqwest::Client::new()
        .post(format!("{}/_sim/presence", sim.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(r#"{"user":"bob","activity":"away"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        state(&sim).await["users"]["bob"]["presence"]["activity"],
        "away"
    );
    let r = reqwest::Client::new()
        .post(format!("{}/_sim/presence", sim.base_url()))
        .body("user=bob")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    client.fence("config").await;
    client.fence("hidden").await;

    assert_eq!(
        state(&sim).await["users"]["alice"]["presence"],
        json!({"activity": "dnd", "note": "focus"})
    );
}

/// The `tel:` entry of a PresenceUpdated, found by contact (not by position).
fn tel(msg: &Value) -> (String, String) {
    let p = msg["presence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["contact"] == "tel:")
        .expect("a tel: presence");
    (
        p["activity"].as_str().unwrap().into(),
        p["note"].as_str().unwrap().into(),
    )
}

#[tokio::test]
async fn phone_events_reach_the_app_that_registered_phoneinfo() {
    let sim = start().await;
    let mut client = Client::open(&sim, "alice").await;
    // Before RegisterApi nobody gets call events.
    let (_, c0) = control(
        &sim,
        "/_sim/call",
        json!({"user": "alice", "action": "incoming"}),
    )
    .await;
    client.fence("hidden").await;
    control(
        &sim,
        "/_sim/call",
        json!({"user": "alice", "action": "hangup", "id": c0["id"]}),
    )
    .await;
    client.fence("hidden").await;

    client
        .post(
            "hidden",
            json!({"mt": "RegisterApi", "api": "com.innovaphone.phoneinfo"}),
        )
        .await;
    let (status, call) = control(
        &sim,
        "/_sim/call",
        json!({"user": "alice", "action": "incoming", "num": "+4970317300"}),
    )
    .await;
    assert_eq!(status, 200);
    let id = call["id"].clone();

    let ev = phoneinfo(&mut client).await;
    assert_eq!(ev["mt"], "CallAdded");
    assert_eq!(ev["id"], id);
    let guid = ev["guid"].clone();
    let ev = phoneinfo(&mut client).await;
    assert_eq!(
        (ev["mt"].as_str(), ev["state"].as_str(), ev["dir"].as_str()),
        (Some("CallUpdated"), Some("Alerting"), Some("i"))
    );
    assert_eq!(ev["num"], "+4970317300");
    assert_eq!(ev["guid"], guid);

    for (action, state) in [
        ("answer", "Connected"),
        ("hold", "Holding"),
        ("resume", "Connected"),
    ] {
        let (status, _) = control(
            &sim,
            "/_sim/call",
            json!({"user": "alice", "action": action, "id": id}),
        )
        .await;
        assert_eq!(status, 200, "{action}");
        let ev = phoneinfo(&mut client).await;
        assert_eq!(
            (ev["mt"].as_str(), ev["state"].as_str()),
            (Some("CallUpdated"), Some(state)),
            "{action}"
        );
        assert_eq!(ev["id"], id);
    }

    // A second call: outgoing, dialing, then connected; the first call goes on hold like on a real phone.
    let (_, out) = control(
        &sim,
        "/_sim/call",
        json!({"user": "alice", "action": "outgoing", "num": "200"}),
    )
    .await;
    assert_eq!(phoneinfo(&mut client).await["mt"], "CallAdded");
    let ev = phoneinfo(&mut client).await;
    assert_eq!(
        (ev["state"].as_str(), ev["dir"].as_str()),
        (Some("Dialing"), Some("o"))
    );
    control(
        &sim,
        "/_sim/call",
        json!({"user": "alice", "action": "answer", "id": out["id"]}),
    )
    .await;
    let ev = phoneinfo(&mut client).await;
    assert_eq!(
        (ev["id"].clone(), ev["state"].as_str()),
        (id.clone(), Some("Holding"))
    );
    let ev = phoneinfo(&mut client).await;
    assert_eq!(
        (ev["id"].clone(), ev["state"].as_str()),
        (out["id"].clone(), Some("Connected"))
    );

    control(
        &sim,
        "/_sim/call",
        json!({"user": "alice", "action": "hangup", "id": id}),
    )
    .await;
    let ev = phoneinfo(&mut client).await;
    assert_eq!(
        (ev["mt"].as_str(), ev["state"].as_str()),
        (Some("CallUpdated"), Some("Disconnected"))
    );
    let ev = phoneinfo(&mut client).await;
    assert_eq!(
        (ev["mt"].as_str(), ev["id"].clone()),
        (Some("CallRemoved"), id)
    );

    let calls = state(&sim).await["users"]["alice"]["calls"].clone();
    assert_eq!(calls.as_array().unwrap().len(), 1);
    assert_eq!(calls[0]["state"], "Connected");

    // Impossible actions are refused and change nothing.
    let (status, e) = control(
        &sim,
        "/_sim/call",
        json!({"user": "alice", "action": "resume", "id": out["id"]}),
    )
    .await;
    assert_eq!(status, 400, "{e}");
    let (status, _) = control(
        &sim,
        "/_sim/call",
        json!({"user": "alice", "action": "fly"}),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = control(
        &sim,
        "/_sim/call",
        json!({"user": "nobody", "action": "incoming"}),
    )
    .await;
    assert_eq!(status, 404);
    client.fence("hidden").await;
}

/// The next phoneinfo event for the hidden app (phone `ApiUpdate`s are not consumed here).
async fn phoneinfo(client: &mut Client) -> Value {
    let r = client.next_for("hidden").await;
    assert_eq!(r["mt"], "ApiRequest", "{r}");
    assert_eq!(r["api"], "com.innovaphone.phoneinfo");
    assert_eq!(r["consumer"], "softphone");
    r["msg"].clone()
}

#[tokio::test]
async fn scheme_and_language_switches_reach_both_apps() {
    let sim = start().await;
    let mut client = Client::open(&sim, "alice").await;
    let setup = client.setup().await;
    let src = setup["frames"][0]["src"].as_str().unwrap();
    assert!(
        src.starts_with(
            "/example.com/kuandoconnector/innovaphone-kuando.htm?lang=en&scheme=dark&name=kuando&"
        ),
        "{src}"
    );
    assert!(
        src.contains("&url=http%3A%2F%2F127%2E0%2E0%2E1%3A"),
        "{src}"
    );
    assert!(src.contains("&originalUrl="), "{src}");
    assert_eq!(setup["frames"][1]["hidden"], false);

    let (status, _) = control(
        &sim,
        "/_sim/scheme",
        json!({"user": "alice", "scheme": "light"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        client.next_for("hidden").await,
        json!({"mt": "SetScheme", "scheme": "light"})
    );
    assert_eq!(
        client.next_for("config").await,
        json!({"mt": "SetScheme", "scheme": "light"})
    );
    control(&sim, "/_sim/lang", json!({"user": "alice", "lang": "de"})).await;
    assert_eq!(
        client.next_for("hidden").await,
        json!({"mt": "SetLang", "lang": "de"})
    );
    assert_eq!(
        client.next_for("config").await,
        json!({"mt": "SetLang", "lang": "de"})
    );
    let (status, _) = control(
        &sim,
        "/_sim/scheme",
        json!({"user": "alice", "scheme": "pink"}),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn api_requests_between_the_two_apps_are_routed_by_consumer() {
    let sim = start().await;
    let mut client = Client::open(&sim, "alice").await;
    client
        .post(
            "hidden",
            json!({"mt": "RegisterApi", "api": "com.example.status"}),
        )
        .await;
    client
        .post(
            "config",
            json!({"mt": "ConsumeApi", "api": "com.example.status"}),
        )
        .await;
    let u = client.next_for("config").await;
    assert!(u["apis"]["com.example.status"]["kuando"].is_object(), "{u}");
    client
        .post(
            "config",
            json!({"mt": "ApiRequest", "api": "com.example.status", "src": "q",
                                 "msg": {"mt": "Get"}}),
        )
        .await;
    let req = client.next_for("hidden").await;
    assert_eq!(
        req,
        json!({"mt": "ApiRequest", "api": "com.example.status", "consumer": "kuando-config",
                           "src": "q", "msg": {"mt": "Get"}})
    );
    client
        .post(
            "hidden",
            json!({"mt": "ApiResult", "api": "com.example.status", "consumer": "kuando-config",
                                 "src": "q", "msg": {"mt": "GetResult"}}),
        )
        .await;
    let res = client.next_for("config").await;
    assert_eq!(
        res,
        json!({"mt": "ApiResult", "api": "com.example.status", "provider": "kuando",
                           "src": "q", "msg": {"mt": "GetResult"}})
    );
}

// ---------------------------------------------------------------------------------------------------------
// The connector's app service

#[tokio::test]
async fn config_is_validated_stored_and_pushed_to_the_users_other_connections() {
    let sim = start().await;
    let mut alice = Client::open(&sim, "alice").await;
    let mut bob = Client::open(&sim, "bob").await;
    let mut config_app = logged_in(&sim, &mut alice, "kuando-config").await;
    let mut hidden_app = logged_in(&sim, &mut alice, "kuando").await;
    let mut bobs_app = logged_in(&sim, &mut bob, "kuando").await;

    let r = config_app.kuando("1", json!({"mt": "GetConfig"})).await;
    assert_eq!(r["mt"], "GetConfigResult");
    assert_eq!(r["config"]["hubUrl"], "http://localhost:8989/");
    assert_eq!(r["config"]["pollInterval"], 2);

    let mut bad = r["config"].clone();
    bad["pollInterval"] = json!(0);
    bad["hubUrl"] = json!("ftp://hub");
    let r = config_app
        .kuando("2", json!({"mt": "SetConfig", "config": bad}))
        .await;
    assert_eq!(r["mt"], "SetConfigResult");
    assert_eq!(r["error"]["code"], "invalidConfig");
    let fields: Vec<&str> = r["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["hubUrl", "pollInterval"]);
    assert!(r.get("config").is_none());

    let good =
        json!({"hubUrl": "http://192.168.0.100:8989", "token": "s3cret-token", "pollInterval": 5});
    let r = config_app
        .kuando("3", json!({"mt": "SetConfig", "config": good}))
        .await;
    assert!(r.get("error").is_none(), "{r}");
    assert_eq!(r["config"]["pollInterval"], 5);
    assert_eq!(
        r["config"]["lamp"]["ringing"]["effect"], "blink",
        "defaults filled in"
    );

    // The hidden app of the same user hears about it; the sender and another user do not.
    let pushed = hidden_app.recv().await;
    assert_eq!(pushed["mt"], "ConfigChanged");
    assert_eq!(pushed["api"], "kuando");
    assert_eq!(pushed["config"]["hubUrl"], "http://192.168.0.100:8989");
    assert_eq!(pushed["config"]["token"], "s3cret-token");
    config_app.fence().await;
    bobs_app.fence().await;

    let r = hidden_app.kuando("4", json!({"mt": "GetConfig"})).await;
    assert_eq!(r["config"]["pollInterval"], 5);
    let r = bobs_app.kuando("5", json!({"mt": "GetConfig"})).await;
    assert_eq!(r["config"]["pollInterval"], 2, "settings are per user");

    // The settings live in the service's database; nothing in the state shows the token.
    let s = state(&sim).await;
    assert!(
        !s.to_string().contains("s3cret-token"),
        "token leaked into the state"
    );

    // Unreadable requests get an error naming what was asked.
    let r = config_app
        .kuando("6", json!({"mt": "SetConfig", "config": 7}))
        .await;
    assert_eq!(
        (r["mt"].as_str(), r["error"]["code"].as_str()),
        (Some("SetConfigResult"), Some("malformed"))
    );
    // An unknown request gets `Error` (as the real service): the app can read and pair it by `src`.
    let r = config_app.kuando("7", json!({"mt": "Nope"})).await;
    assert_eq!(
        (
            r["mt"].as_str(),
            r["error"]["code"].as_str(),
            r["src"].as_str()
        ),
        (Some("Error"), Some("malformed"), Some("7"))
    );
}

#[tokio::test]
async fn set_presence_through_the_service_changes_the_pbx_presence() {
    let sim = start().await;
    let mut client = Client::open(&sim, "alice").await;
    client
        .post(
            "config",
            json!({"mt": "ApiRequest", "api": "com.innovaphone.client", "src": "s",
                               "msg": {"mt": "SubscribePresence", "sip": "alice"}}),
        )
        .await;
    assert_eq!(tel(&client.next_for("config").await["msg"]).0, "");
    let mut app = logged_in(&sim, &mut client, "kuando").await;

    let r = app
        .kuando(
            "1",
            json!({"mt": "SetPresence", "activity": "on-the-phone", "note": "MS Teams"}),
        )
        .await;
    assert_eq!(
        r,
        json!({"api": "kuando", "src": "1", "mt": "SetPresenceResult"})
    );
    let upd = client.next_for("config").await;
    assert_eq!(
        tel(&upd["msg"]),
        ("on-the-phone".to_string(), "MS Teams".to_string())
    );
    assert_eq!(
        state(&sim).await["users"]["alice"]["presence"],
        json!({"activity": "on-the-phone", "note": "MS Teams"})
    );

    let r = app.kuando("2", json!({"mt": "GetLicense"})).await;
    assert_eq!(r["license"], "connector");

    // The license is taken away while the app runs: the connection keeps its login's flag (as on the
    // AppPlatform) and the service's answer for a minute (it asks the PBX once per user, not per message);
    // the next login is flagged, asked about afresh and refused presence.
    control(
        &sim,
        "/_sim/license",
        json!({"user": "alice", "license": "none"}),
    )
    .await;
    assert_eq!(
        app.kuando("4", json!({"mt": "GetLicense"})).await["license"],
        "connector"
    );
    let mut app = logged_in(&sim, &mut client, "kuando").await;
    assert_eq!(
        app.kuando("5", json!({"mt": "GetLicense"})).await["license"],
        "none"
    );
    let r = app
        .kuando("3", json!({"mt": "SetPresence", "activity": "busy"}))
        .await;
    assert_eq!(r["error"]["code"], "unlicensed");
    assert_eq!(
        state(&sim).await["users"]["alice"]["presence"]["activity"],
        "on-the-phone"
    );
    client.fence("config").await;
}

#[tokio::test]
async fn the_with_busylight_license_is_reported() {
    let sim = start().await;
    let mut client = Client::open(&sim, "bob").await;
    let mut app = logged_in(&sim, &mut client, "kuando").await;
    assert_eq!(
        app.kuando("1", json!({"mt": "GetLicense"})).await["license"],
        "withBusylight"
    );
}

// ---------------------------------------------------------------------------------------------------------
// Files and pages

#[tokio::test]
async fn serves_the_app_files_and_the_wasm_package_with_their_types() {
    let root = std::env::temp_dir().join(format!("kuando-sim-myapps-{}", std::process::id()));
    let (www, pkg) = (root.join("www"), root.join("pkg"));
    std::fs::create_dir_all(&www).unwrap();
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(
        www.join("innovaphone-kuando.htm"),
        "<!DOCTYPE html><title>k</title>",
    )
    .unwrap();
    std::fs::write(pkg.join("kuando_connector_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(pkg.join("kuando_connector.js"), "export default 1;").unwrap();
    std::fs::write(root.join("secret.txt"), "outside").unwrap();
    let sim = start_with(Options {
        port: 0,
        www: www.clone(),
        pkg: pkg.clone(),
        ..Options::default()
    })
    .await;
    let base = format!("{}{INSTANCE_PATH}", sim.base_url());

    let get = |p: String| async move { reqwest::get(p).await.expect("get") };
    let r = get(format!("{base}innovaphone-kuando.htm")).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let r = get(format!("{base}kuando_connector_bg.wasm")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/wasm");
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"\0asm\x01\0\0\0");
    let r = get(format!("{base}kuando_connector.js")).await;
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("javascript"));

    let r = get(format!("{base}innovaphone-kuando-config.htm")).await;
    assert_eq!(r.status(), 404, "missing files are plain 404s");
    let r = get(format!("{base}..%2Fsecret.txt")).await;
    assert_ne!(r.status(), 200);
    let r = get(format!("{base}../../secret.txt")).await;
    assert_ne!(r.status(), 200);

    let r = get(format!("{}/?user=alice", sim.base_url())).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("/_sim/static/launcher.js"), "launcher page");
    let r = get(format!("{}/_sim/static/launcher.js", sim.base_url())).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("postMessage"));

    // No launcher websocket for an unknown user.
    let e = tokio_tungstenite::connect_async(format!("ws://{}/_sim/client?user=mallory", sim.addr))
        .await;
    assert!(e.is_err());
    drop(sim);
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn the_wire_log_masks_tokens() {
    let sim = start().await;
    let mut client = Client::open(&sim, "alice").await;
    let mut app = logged_in(&sim, &mut client, "kuando-config").await;
    let cfg = json!({"hubUrl": "http://hub:8989/?http_token=urltoken99", "token": "tok-42-secret"});
    app.kuando("1", json!({"mt": "SetConfig", "config": cfg}))
        .await;
    let s = state(&sim).await;
    let log = s["log"].to_string();
    assert!(log.contains("SetConfig"), "the message is logged");
    assert!(!log.contains("tok-42-secret"), "{log}");
    assert!(!log.contains("urltoken99"), "{log}");
}

#[tokio::test]
async fn options_are_checked() {
    let bad = |o: Options| async move { myapps::spawn(o).await.err().expect("refused") };
    let e = bad(Options {
        port: 0,
        users: vec!["Al ice".into()],
        ..Options::default()
    })
    .await;
    assert!(e.contains("Al ice"), "{e}");
    let e = bad(Options {
        port: 0,
        unlicensed: vec!["zed".into()],
        ..Options::default()
    })
    .await;
    assert!(e.contains("zed"), "{e}");
    let e = bad(Options {
        port: 0,
        unlicensed: vec!["bob".into()],
        license_busylight: vec!["bob".into()],
        ..Options::default()
    })
    .await;
    assert!(e.contains("bob"), "{e}");
}

#[tokio::test]
async fn app_console_lines_appear_in_the_log_like_myapps_shows_them() {
    let sim = start().await;
    let mut client = Client::open(&sim, "alice").await;
    client
        .raw(json!({"t": "console", "frame": "hidden", "text": "kuando-log: Instance Connected"}))
        .await;
    client
        .raw(json!({"t": "console", "frame": "nope", "text": "from nowhere"}))
        .await;
    // The launcher's messages are handled in order: once a later post is answered, the lines are logged.
    client.post("hidden", json!({"mt": "Alive"})).await;
    let log = loop {
        let s = state(&sim).await;
        let log = s["log"].as_array().cloned().unwrap_or_default();
        if log.iter().any(|e| e["text"] == "{\"mt\":\"Alive\"}") {
            break log;
        }
        tokio::task::yield_now().await;
    };
    let console: Vec<&Value> = log.iter().filter(|e| e["via"] == "console").collect();
    assert_eq!(console.len(), 1, "{console:?}");
    assert_eq!(console[0]["peer"], "hidden");
    assert_eq!(console[0]["user"], "alice");
    assert_eq!(console[0]["text"], "kuando-log: Instance Connected");
}

#[tokio::test]
async fn a_restarted_app_instance_drops_its_websockets_and_keeps_its_database() {
    let sim = start().await;
    let mut alice = Client::open(&sim, "alice").await;
    let mut config_app = logged_in(&sim, &mut alice, "kuando-config").await;
    let good = json!({"hubUrl": "http://localhost:9001/", "pollInterval": 7});
    let r = config_app
        .kuando("1", json!({"mt": "SetConfig", "config": good}))
        .await;
    assert!(r.get("error").is_none(), "{r}");

    let (status, r) = control(&sim, "/_sim/service/restart", json!({})).await;
    assert_eq!(status, 200, "{r}");
    // The old connection went with the old process: the socket closes, nothing more comes.
    let end = tokio::time::timeout(PATIENCE, async {
        loop {
            match config_app.ws.next().await {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(
        end.is_ok(),
        "the app websocket stayed open across the restart"
    );

    // A new connection reaches the new process, which finds the settings stored before.
    let mut again = logged_in(&sim, &mut alice, "kuando-config").await;
    let r = again.kuando("2", json!({"mt": "GetConfig"})).await;
    assert_eq!(r["config"]["hubUrl"], "http://localhost:9001/", "{r}");
    assert_eq!(r["config"]["pollInterval"], 7, "{r}");
    let s = state(&sim).await;
    assert_eq!(s["service"]["running"], true);
    assert_eq!(
        s["service"]["pbxConnections"].as_array().map(Vec::len),
        Some(2),
        "the PBX app object connects again: {}",
        s["service"]
    );
}

// ---------------------------------------------------------------------------------------------------------
// A client API relayed between the two app frames as myApps does (issue 14): the provider registers and
// publishes its model (`ApiModel`), consumers get it in `ApiUpdate`, and when a frame goes, its consumers
// and providers are told.

const STATUS_API: &str = "com.innovaphone.kuando.status";

#[tokio::test]
async fn a_providers_model_reaches_its_consumers_and_goes_with_its_frame() {
    let sim = start().await;
    let mut c = Client::open(&sim, "alice").await;
    c.post("hidden", json!({"mt": "RegisterApi", "api": STATUS_API}))
        .await;
    c.post("config", json!({"mt": "ConsumeApi", "api": STATUS_API}))
        .await;
    let u = c.next_for("config").await;
    assert_eq!(u["mt"], "ApiUpdate");
    assert_eq!(u["apis"][STATUS_API]["kuando"]["model"], json!({}), "{u}");

    c.post(
        "hidden",
        json!({"mt": "ApiModel", "api": STATUS_API, "model": {"v": 1, "run": true}}),
    )
    .await;
    let u = c.next_for("config").await;
    assert_eq!(
        u["apis"][STATUS_API]["kuando"]["model"],
        json!({"v": 1, "run": true})
    );

    // A request and its answer travel between the two frames.
    c.post(
        "config",
        json!({"mt": "ApiRequest", "api": STATUS_API, "provider": "kuando", "src": "w1", "msg": {"mt": "Watch"}}),
    )
    .await;
    let r = c.next_for("hidden").await;
    assert_eq!(r["consumer"], "kuando-config");
    c.post(
        "hidden",
        json!({"mt": "ApiResult", "api": STATUS_API, "consumer": "kuando-config", "src": "w1", "msg": {"mt": "WatchResult"}}),
    )
    .await;
    let r = c.next_for("config").await;
    assert_eq!(
        (&r["provider"], &r["src"]),
        (&json!("kuando"), &json!("w1"))
    );

    // The hidden app's frame is removed: the consumer learns that nobody provides the API any more.
    c.raw(json!({"t": "closed", "frame": "hidden"})).await;
    let u = c.next_for("config").await;
    assert_eq!(u["apis"][STATUS_API], json!({}), "{u}");
}

#[tokio::test]
async fn a_closed_consumer_is_reported_to_the_provider() {
    let sim = start().await;
    let mut c = Client::open(&sim, "alice").await;
    c.post("hidden", json!({"mt": "RegisterApi", "api": STATUS_API}))
        .await;
    c.post("config", json!({"mt": "ConsumeApi", "api": STATUS_API}))
        .await;
    let _ = c.next_for("config").await;
    // The config app is reloaded: its old instance is gone.
    c.raw(json!({"t": "reset", "frame": "config"})).await;
    let m = c.next_for("hidden").await;
    assert_eq!(
        m,
        json!({"mt": "ApiConsumerClosed", "api": STATUS_API, "consumer": "kuando-config"})
    );
}

// ---------------------------------------------------------------------------------------------------------
// Fault switches for the convergence tests: the PBX refusing the service's requests, the service's database
// failing statements.

#[tokio::test]
async fn the_pbx_refuses_set_presence_as_often_as_asked_then_takes_it_again() {
    let sim = start().await;
    let mut alice = Client::open(&sim, "alice").await;
    let mut app = logged_in(&sim, &mut alice, "kuando").await;
    let (status, r) = control(
        &sim,
        "/_sim/pbx/fault",
        json!({"refuse": "SetPresence", "times": 2}),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    for src in ["1", "2"] {
        let r = app
            .kuando(src, json!({"mt": "SetPresence", "activity": "busy"}))
            .await;
        assert_eq!(r["error"]["code"], "pbx", "{r}");
    }
    let r = app
        .kuando("3", json!({"mt": "SetPresence", "activity": "busy"}))
        .await;
    assert!(r.get("error").is_none(), "{r}");
    assert_eq!(
        state(&sim).await["users"]["alice"]["presence"]["activity"],
        "busy"
    );
    // Until cleared: -1.
    control(
        &sim,
        "/_sim/pbx/fault",
        json!({"refuse": "SetPresence", "times": -1}),
    )
    .await;
    for src in ["4", "5", "6"] {
        let r = app
            .kuando(src, json!({"mt": "SetPresence", "activity": "dnd"}))
            .await;
        assert_eq!(r["error"]["code"], "pbx", "{r}");
    }
    control(&sim, "/_sim/pbx/fault", json!({"refuse": null})).await;
    let r = app
        .kuando("7", json!({"mt": "SetPresence", "activity": "dnd"}))
        .await;
    assert!(r.get("error").is_none(), "{r}");
    let (status, _) = control(&sim, "/_sim/pbx/fault", json!({"refuse": 7})).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_services_database_fails_the_next_statements_when_asked() {
    let sim = start().await;
    let mut alice = Client::open(&sim, "alice").await;
    let mut config_app = logged_in(&sim, &mut alice, "kuando-config").await;
    let (status, r) = control(&sim, "/_sim/service/db-fault", json!({"fail": 1})).await;
    assert_eq!(status, 200, "{r}");
    let r = config_app.kuando("1", json!({"mt": "GetConfig"})).await;
    assert_eq!(r["error"]["code"], "database", "{r}");
    let r = config_app.kuando("2", json!({"mt": "GetConfig"})).await;
    assert!(r.get("error").is_none(), "only the next one failed: {r}");
}
