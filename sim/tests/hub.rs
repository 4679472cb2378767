//! HTTP-level tests of the kuandoHUB simulator: the manual's own GET and POST examples (sloppy JSON
//! included), the priority behaviour a user sees on the lamp, token, CORS, faults, the too-old hub, the
//! innovaphone Edition without a lamp, and what public hub clients do (last section). Where the connector core has a parser for an answer, the test reads
//! the answer with it, so simulator and connector agree on the wire format.

use std::time::{Duration, Instant};

use kuando_connector::config::LampSlot;
use kuando_connector::hub::{
    parse_command_response, parse_current_presence, parse_devices, parse_own_priority, parse_probe,
    Endpoint, HubError, HubRequest, LampCommand, Method, OwnPriority, Rgb, RunningCommand,
    CALL_SOURCES, POST_CONTENT_TYPE, SENDER,
};
use kuando_connector::mapping::{transform_running, Transform};
use kuando_connector::state::MyAppsState;
use kuando_sim::hub::model::Preset;
use kuando_sim::hub::{spawn, Options, Running};
use reqwest::header::HeaderMap;
use serde_json::{json, Value};

/// A hub an administrator set up as the concept recommends: most tests here are about its priority
/// behaviour. The simulator itself starts factory-new, as a real hub does (tests `a_fresh_hub_*`).
fn admin_configured() -> Options {
    Options {
        hub_port: 0,
        hub_priorities: Some(Preset::Concept),
        ..Options::default()
    }
}

/// A client that never reuses connections, so a closed connection is never retried on another one.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

struct T {
    hub: Running,
    c: reqwest::Client,
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

impl T {
    async fn new(o: Options) -> T {
        T {
            hub: spawn(o).await.unwrap(),
            c: client(),
        }
    }

    async fn start() -> T {
        T::new(admin_configured()).await
    }

    fn url(&self, rest: &str) -> String {
        format!("http://{}{rest}", self.hub.addr)
    }

    async fn answer(r: reqwest::Response) -> Answer {
        Answer {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            body: r.text().await.unwrap(),
        }
    }

    /// `GET /<rest>`, e.g. `?action=light&red=100`.
    async fn get(&self, rest: &str) -> Answer {
        let r = self.c.get(self.url(&format!("/{rest}"))).send().await;
        T::answer(r.unwrap()).await
    }

    /// `POST /` with a raw body and an optional content type.
    async fn post(&self, body: &str, content_type: Option<&str>) -> Answer {
        let mut rb = self.c.post(self.url("/")).body(body.to_string());
        if let Some(ct) = content_type {
            rb = rb.header("content-type", ct);
        }
        T::answer(rb.send().await.unwrap()).await
    }

    /// Sends a request the connector core built, exactly as the wasm driver does.
    async fn send(&self, req: &HubRequest) -> Answer {
        let rb = match req.method {
            Method::Get => self.c.get(&req.url),
            Method::Post => self
                .c
                .post(&req.url)
                .header("content-type", POST_CONTENT_TYPE)
                .body(req.body.clone().unwrap_or_default()),
        };
        T::answer(rb.send().await.unwrap()).await
    }

    fn connector(&self) -> Endpoint {
        Endpoint::new(&self.hub.url(), "").unwrap()
    }

    async fn state(&self) -> Value {
        self.get("_sim/state").await.json()
    }

    async fn control(&self, path: &str, body: Value) -> Answer {
        let r = self
            .c
            .post(self.url(&format!("/_sim/{path}")))
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        T::answer(r).await
    }

    async fn lamp(&self) -> Value {
        self.state().await["lamp"].clone()
    }

    /// `(sender, eventname)` of what `currentpresence` reports as running, read by the connector's parser.
    async fn running(&self) -> Option<(String, String)> {
        let a = self.send(&self.connector().current_presence()).await;
        parse_current_presence(a.status, a.body.as_bytes())
            .unwrap()
            .running
            .map(|r| (r.sender, r.eventname))
    }
}

fn running(sender: &str, eventname: &str) -> Option<(String, String)> {
    Some((sender.to_string(), eventname.to_string()))
}

fn red() -> Rgb {
    Rgb::new(100, 0, 0).unwrap()
}

#[tokio::test]
async fn probe_answers_ok_with_cors() {
    let t = T::start().await;
    let a = t.get("").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json(), json!({"response": "OK"}));
    assert_eq!(parse_probe(a.status, a.body.as_bytes()), Ok(()));
    assert_eq!(a.headers["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn manual_changer_green_is_showing_at_start() {
    let t = T::start().await;
    let s = t.state().await;
    assert_eq!(s["lamp"]["effect"], "light");
    assert_eq!(s["lamp"]["color"]["hex"], "#00ff00");
    assert_eq!(s["lamp"]["source"], "Manual Changer");
    let lines = s["priorities"].as_array().unwrap();
    assert_eq!(lines.last().unwrap()["sender"], "Manual Changer");
    assert_eq!(lines.last().unwrap()["active"], true);
    assert_eq!(lines[0]["sender"], "innovaphone myApps");
    assert_eq!(lines[0]["eventtype"], "Call");
    assert_eq!(t.running().await, running("Manual Changer", "Available"));
}

#[tokio::test]
async fn the_manuals_get_examples() {
    let t = T::start().await;
    let cases: &[(&str, &str, [u8; 3])] = &[
        (
            "?action=light&red=100&green=100&blue=100",
            "light",
            [100, 100, 100],
        ),
        (
            "?action=alert&red=100&sound=5&volume=25",
            "alert",
            [100, 0, 0],
        ),
        ("?action=blink&blue=100", "blink", [0, 0, 100]),
        (
            "?action=jingle&red=100&sound=3&volume=100",
            "jingle",
            [100, 0, 0],
        ),
        ("?action=pulse&blue=100&red=100", "pulse", [100, 0, 100]),
        (
            "?action=colorwithflash&green=100&red=100&flashblue=100",
            "colorwithflash",
            [100, 100, 0],
        ),
        // The manual's remote example, token given but not needed from this PC.
        (
            "?accesstoken=%your-token%&action=light&red=100&green=0&blue=0",
            "light",
            [100, 0, 0],
        ),
    ];
    for (q, effect, [r, g, b]) in cases {
        let a = t.get(q).await;
        assert_eq!(a.status, 200, "{q}");
        let l = t.lamp().await;
        assert_eq!(l["effect"], *effect, "{q}");
        assert_eq!(l["source"], "HTTP", "{q}");
        assert_eq!(
            (
                l["color"]["red"].clone(),
                l["color"]["green"].clone(),
                l["color"]["blue"].clone()
            ),
            (json!(r), json!(g), json!(b)),
            "{q}"
        );
    }

    t.get("?action=alert&red=100&sound=5&volume=25").await;
    let l = t.lamp().await;
    assert_eq!(l["sound"]["name"], "Quiet");
    assert_eq!(l["volume"], 25);
    assert_eq!(l["sound_repeats"], true);
    t.get("?action=blink&blue=100").await;
    assert_eq!(
        (
            t.lamp().await["ontime"].clone(),
            t.lamp().await["offtime"].clone()
        ),
        (json!(5), json!(5))
    );
    t.get("?action=colorwithflash&green=100&red=100&flashblue=100")
        .await;
    assert_eq!(t.lamp().await["flash"]["hex"], "#0000ff");

    // currentpresence reports GET-driven states with sender HTTP and a JSON-string parameter in the GET
    // form (the query's own names and values, as the Stream Deck plugins read it back). The manual's
    // JavaScript sample has a blank after `action=`.
    t.get("?action=light&red=0&green=100&blue=0").await;
    let a = t.get("?action=%20currentpresence").await;
    assert_eq!(a.status, 200);
    let v = a.json();
    assert_eq!(v["runningcommand"]["sender"], "HTTP");
    assert_eq!(v["runningcommand"]["action"], "Light");
    assert_eq!(v["runningcommand"]["eventtype"], "Light");
    assert_eq!(v["runningcommand"]["eventname"], "Color");
    let p: Value =
        serde_json::from_str(v["runningcommand"]["parameter"].as_str().unwrap()).unwrap();
    assert_eq!(
        p,
        json!({"action": "light", "red": "0", "green": "100", "blue": "0"})
    );
    assert_eq!(v["ownpriority"]["sender"], "HTTP");

    // off and Logout release the HTTP source: Manual Changer's green shows again.
    for q in ["?action=off", "?action=Logout"] {
        t.get("?action=blink&red=100").await;
        assert_eq!(t.get(q).await.status, 200);
        let l = t.lamp().await;
        assert_eq!(
            (l["source"].clone(), l["color"]["hex"].clone()),
            (json!("Manual Changer"), json!("#00ff00")),
            "{q}"
        );
    }

    let a = t.get("?action=busylightdevices").await;
    let v = a.json();
    let d = &v.as_array().unwrap()[0];
    for field in [
        "ModelName",
        "ProductID",
        "USBID",
        "UniqueID",
        "HIDDevicePath",
        "FirmwareRelease",
        "IsLightSupported",
        "IsSoundSupported",
        "IsJingleClipSupport",
    ] {
        assert!(d.get(field).is_some(), "{field} missing");
    }
    assert_eq!(parse_devices(a.status, a.body.as_bytes()).unwrap().len(), 1);
}

#[tokio::test]
async fn get_values_out_of_range_are_clamped_and_noted() {
    let t = T::start().await;
    assert_eq!(
        t.get("?action=light&red=255&green=abc&Blue=50")
            .await
            .status,
        200
    );
    let s = t.state().await;
    assert_eq!(
        s["lamp"]["color"],
        json!({"red": 100, "green": 0, "blue": 50, "hex": "#ff0080"})
    );
    let notes = s["log"].as_array().unwrap().last().unwrap()["lenient"].to_string();
    assert!(
        notes.contains("red 255") && notes.contains("green"),
        "{notes}"
    );
}

// The manual's POST examples, character for character as printed (line breaks inside the `parameter`
// string, 255 where 0..100 is documented, clip 9, a trailing comma, unescaped quotes).
const REGISTER: &str = r#"{
              "action":"RegisterDataSource",
              "sender":null,
              "eventtype":null,
              "eventname":null,
              "parameter":"{
                          \"DataSourceName\":\"SDK\",
                          \"eventnames\":{
                                      \"Light\":{
                                                  \"EventNames\":[
                                                              \"Light\",
                                                              \"Green\",
                                                              \"Red\",
                                                              \"Yellow\",
                                                              \"Off\"],
                                                  \"IsAlertPriority\":false
                                                  },
                                      \"Alert\":{
                                                  \"EventNames\":[
                                                              \"Alert\",
                                                              \"Other Notification\"],
                                                  \"IsAlertPriority\":true
                                                  }
                                      }
                          }"
}"#;
const CREATE_PRIORITY: &str = r#"{
              "action":"CreateInitialPriority",
              "sender":null,
              "eventtype":null,
              "eventname":null,
              "parameter":"{
                          \"enabled\":true,
                          \"sender\":\"SDK\",
                          \"eventtype\":null,
                          \"eventnames\":[],
                          \"IsAlertPriority\":false
                          }"
}"#;
const LIGHT: &str = r#"{
              "action":"Light",
              "sender":"SDK",
              "eventtype":"Light",
              "eventname":"Color",
              "parameter":"{
                          \"RedRgbValue\":0,
                          \"GreenRgbValue\":100,
                          \"BlueRgbValue\":0
                          }"
}"#;
const ALERT: &str = r#"{
              "action":"Alert",
              "sender":"SDK",
              "eventtype":"Alert",
              "eventname":"Alert",
              "parameter":"{
                          \"color\":{
                                        \"RedRgbValue\":255,
                                        \"GreenRgbValue\":0,
                                        \"BlueRgbValue\":0
                                        },
                            \"clip\":5,
                            \"volume\":50
                            }"
}"#;
const BLINK: &str = r#"{
              "action":"Blink",
              "sender":"SDK",
              "eventtype":"Blink",
              "eventname":"Blink",
              "parameter":"{
                          \"color\":{
                                          \"RedRgbValue\":255,
                                          \"GreenRgbValue\":0,
                                          \"BlueRgbValue\":0
                                          },
                              \"ontime\":5,
                              \"offtime\":5
                              }"
}"#;
const JINGLE: &str = r#"{
              "action":"Jingle",
              "sender":"SDK",
              "eventtype":"Jingle",
              "eventname":"Jingle",
              "parameter":"{
                          \"color\":{
                                          \"RedRgbValue\":255,
                                          \"GreenRgbValue\":255,
                                          \"BlueRgbValue\":0
                                          },
                              \"clip\":9,
                              \"volume\":50
                              }"
}"#;
const PULSE: &str = r#"{
              "action":"Pulse",
              "sender":"SDK",
              "eventtype":"Pulse",
              "eventname":"Pulse",
              "parameter":"{
                          \"color\":{
                                            \"RedRgbValue\":255,
                                            \"GreenRgbValue\":255,
                                            \"BlueRgbValue\":0
                                            },
                             }"
}"#;
const COLOR_WITH_FLASH: &str = r#"{
              "action":"ColorWithFlash",
              "sender":"SDK",
              "eventtype":"Light",
              "eventname":"ColorWithFlash",
              "parameter":"{
                          \"color\":{
                                      \"RedRgbValue\":0,
                                      \"GreenRgbValue\":255,
                                      \"BlueRgbValue\":0
                                      },
                          \"flash\":{
                                      \"RedRgbValue\":0,
                                      \"GreenRgbValue\":0,
                                      \"BlueRgbValue\":255
                                      }
                          }"
}"#;
const OFF: &str = r#"{
              "action":"Off",
              "sender":"SDK",
              "eventtype":"Light",
              "eventname":"Off",
              "parameter":""
}"#;
const LOGOUT: &str = r#"{
              "action":"Logout",
              "sender":"SDK",
              "eventtype":"",
              "eventname":"",
              "parameter":""
}"#;
const CURRENT_PRESENCE: &str = r#"{
              "action":"currentpresence",
              "sender":"SDK",
              "eventtype":"",
              "eventname":"",
              "parameter":""
}"#;
const START_NOTIFICATION: &str = r#"{
              "action":"StartNotification",
              "sender":"SDK",
              "eventtype":"Light",
              "eventname":"Missed Call",
              "parameter":"{
                          "RedRgbValue":0,
                          "GreenRgbValue":0,
                          "BlueRgbValue":255
                          }"
}""#;
const STOP_NOTIFICATION: &str = r#"{
              "action":"StopNotification",
              "sender":"SDK",
              "eventtype":"Light",
              "eventname":"Missed Call",
              "parameter":""
}"#;

fn last_log(s: &Value) -> Value {
    s["log"].as_array().unwrap().last().unwrap().clone()
}

#[tokio::test]
async fn the_manuals_post_examples_sloppy_json_included() {
    let t = T::start().await;
    // Registration: the data source is recorded, the SDK line goes above Manual Changer.
    assert_eq!(t.post(REGISTER, None).await.status, 200);
    assert_eq!(
        t.post(CREATE_PRIORITY, Some("application/json"))
            .await
            .status,
        200
    );
    let s = t.state().await;
    assert_eq!(s["data_sources"][0]["name"], "SDK");
    let lines = s["priorities"].as_array().unwrap();
    assert_eq!(lines[lines.len() - 2]["sender"], "SDK");

    let cases: &[(&str, &str, &str)] = &[
        (LIGHT, "light", "#00ff00"),
        (ALERT, "alert", "#ff0000"),
        (BLINK, "blink", "#ff0000"),
        (JINGLE, "jingle", "#ffff00"),
        (PULSE, "pulse", "#ffff00"),
        (COLOR_WITH_FLASH, "colorwithflash", "#00ff00"),
    ];
    for (body, effect, hex) in cases {
        let a = t.post(body, Some("text/plain;charset=UTF-8")).await;
        assert_eq!(a.status, 200, "{body}");
        let s = t.state().await;
        assert_eq!(s["lamp"]["effect"], *effect, "{body}");
        assert_eq!(s["lamp"]["color"]["hex"], *hex, "{body}");
        assert_eq!(s["lamp"]["source"], "SDK", "{body}");
        assert!(last_log(&s)["error"].is_null(), "{}", last_log(&s));
        // Every example has line breaks inside its parameter string: the hub had to be lenient.
        assert!(!last_log(&s)["lenient"].as_array().unwrap().is_empty());
    }

    // 255 is clamped, clip 9 plays nothing, the trailing comma is forgiven; each is noted.
    t.post(ALERT, None).await;
    let s = t.state().await;
    assert_eq!(s["lamp"]["sound"]["name"], "Quiet");
    assert_eq!(s["lamp"]["volume"], 50);
    assert!(last_log(&s)["lenient"]
        .to_string()
        .contains("RedRgbValue 255"));
    t.post(JINGLE, None).await;
    let s = t.state().await;
    assert_eq!(s["lamp"]["sound"]["number"], 0);
    assert!(last_log(&s)["lenient"].to_string().contains("sound 9"));
    t.post(PULSE, None).await;
    assert!(last_log(&t.state().await)["lenient"]
        .to_string()
        .contains("trailing comma"));
    t.post(COLOR_WITH_FLASH, None).await;
    assert_eq!(t.lamp().await["flash"]["hex"], "#0000ff");

    // currentpresence as POST: running command and the asking sender's own one.
    let a = t.post(CURRENT_PRESENCE, None).await;
    let v = a.json();
    assert_eq!(v["runningcommand"]["sender"], "SDK");
    assert_eq!(v["runningcommand"]["eventname"], "ColorWithFlash");
    assert_eq!(v["ownpriority"]["sender"], "SDK");
    assert!(v["runningcommand"]["parameter"].is_string());

    // Unescaped quotes and a stray quote after the body: still understood.
    assert_eq!(t.post(START_NOTIFICATION, None).await.status, 200);
    let s = t.state().await;
    assert_eq!(s["notifications"][0]["eventname"], "Missed Call");
    assert_eq!(s["lamp"]["flash"]["hex"], "#0000ff");
    assert!(last_log(&s)["lenient"]
        .to_string()
        .contains("unescaped quotes"));
    assert_eq!(t.post(STOP_NOTIFICATION, None).await.status, 200);
    assert!(t.state().await["notifications"]
        .as_array()
        .unwrap()
        .is_empty());

    // Off and Logout release SDK: Manual Changer's green shows.
    for body in [OFF, LOGOUT] {
        t.post(LIGHT.replace("100", "0").as_str(), None).await;
        assert_eq!(t.post(body, None).await.status, 200);
        let l = t.lamp().await;
        assert_eq!(l["source"], "Manual Changer", "{body}");
        assert_eq!(l["color"]["hex"], "#00ff00", "{body}");
    }

    let a = t
        .post(r#"{"action":"busylightdevices","sender":"SDK"}"#, None)
        .await;
    assert_eq!(parse_devices(a.status, a.body.as_bytes()).unwrap().len(), 1);
}

#[tokio::test]
async fn parameter_as_an_object_and_field_names_in_any_case() {
    let t = T::start().await;
    let body = r#"{"Action":"Light","Sender":"innovaphone myApps","EventType":"Call","EventName":"Connected",
                   "Parameter":{"RedRgbValue":"100","GreenRgbValue":0,"BlueRgbValue":0},}"#;
    assert_eq!(t.post(body, None).await.status, 200);
    let s = t.state().await;
    assert_eq!(s["lamp"]["color"]["hex"], "#ff0000");
    assert_eq!(s["lamp"]["source"], "innovaphone myApps");
    let notes = last_log(&s)["lenient"].to_string();
    assert!(
        notes.contains("parameter given as JSON") && notes.contains("trailing comma"),
        "{notes}"
    );
}

#[tokio::test]
async fn unusable_requests_change_nothing() {
    let t = T::start().await;
    for body in [
        "",
        "nope",
        "[1,2]",
        r#"{"action":"Light","sender":"SDK","parameter":"{broken"}"#,
    ] {
        let a = t.post(body, None).await;
        assert_eq!(a.status, 200, "{body:?}");
        assert!(a.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        let s = t.state().await;
        assert!(!last_log(&s)["error"].is_null(), "{body:?}");
        assert_eq!(s["lamp"]["source"], "Manual Changer");
    }
    let a = t.get("?action=dance").await;
    assert_eq!(a.body, "Unknown action");
}

#[tokio::test]
async fn a_sender_gets_its_line_with_its_first_command_directly_above_the_manual_source() {
    let t = T::start().await;
    let lines_before = t.state().await["priorities"].as_array().unwrap().len();
    assert_eq!(t.post(LIGHT, None).await.status, 200);
    let s = t.state().await;
    let lines = s["priorities"].as_array().unwrap();
    assert_eq!(lines.len(), lines_before + 1);
    assert_eq!(lines[lines.len() - 2]["sender"], "SDK");
    assert_eq!(lines[lines.len() - 1]["sender"], "Manual Changer");
    assert_eq!(s["lamp"]["source"], "SDK");
    let sdk = s["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["sender"] == "SDK")
        .unwrap()
        .clone();
    assert_eq!(sdk["line"], lines.len() - 1);
    assert_eq!(sdk["shown"], true);
    // CreateInitialPriority afterwards has no effect: the line exists.
    t.post(CREATE_PRIORITY, None).await;
    assert_eq!(
        t.state().await["priorities"].as_array().unwrap().len(),
        lines.len()
    );
}

#[tokio::test]
async fn priorities_teams_call_connector_and_logout() {
    let t = T::start().await;
    let ep = t.connector();
    // The connector registers as it does on every connect; its lines exist already (no effect).
    let before = t.state().await["priorities"].clone();
    assert_eq!(t.send(&ep.register_data_source()).await.status, 200);
    assert_eq!(t.send(&ep.create_initial_priority()).await.status, 200);
    let s = t.state().await;
    assert_eq!(s["priorities"], before);
    let ours: Vec<&Value> = s["priorities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["sender"] == "innovaphone myApps")
        .collect();
    assert_eq!(
        ours.iter()
            .map(|l| l["eventtype"].clone())
            .collect::<Vec<_>>(),
        vec![json!("Call"), json!("Presence")]
    );
    let registered = &s["data_sources"][0];
    assert_eq!(registered["name"], "innovaphone myApps");
    assert_eq!(
        registered["eventnames"]["Call"]["EventNames"],
        json!(["Ringing", "Dialing", "Connected", "Held"])
    );

    // A Teams call shows over Manual Changer.
    let a = t
        .control(
            "source",
            json!({"sender":"MS Teams","eventtype":"Light","eventname":"On-The-Phone"}),
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(t.running().await, running("MS Teams", "On-The-Phone"));
    assert_eq!(t.lamp().await["color"]["hex"], "#ff0000");

    // The connector's ringing call is above Teams in the default order.
    assert_eq!(
        t.send(&ep.command(LampCommand::blink(red()), Some(LampSlot::Ringing)))
            .await
            .status,
        200
    );
    assert_eq!(t.running().await, running("innovaphone myApps", "Ringing"));
    let l = t.lamp().await;
    assert_eq!(
        (l["effect"].clone(), l["source"].clone()),
        (json!("blink"), json!("innovaphone myApps"))
    );

    // Logout releases the connector: Teams shows again; the call ends: Manual Changer's green.
    assert_eq!(
        t.send(&ep.command(LampCommand::Logout, None)).await.status,
        200
    );
    assert_eq!(t.running().await, running("MS Teams", "On-The-Phone"));
    t.control("source", json!({"sender":"MS Teams"})).await;
    assert_eq!(t.running().await, running("Manual Changer", "Available"));
    assert_eq!(t.lamp().await["color"]["hex"], "#00ff00");

    // Off releases too.
    t.send(&ep.command(LampCommand::Light(red()), Some(LampSlot::Busy)))
        .await;
    assert_eq!(t.running().await, running("innovaphone myApps", "Busy"));
    t.send(&ep.command(LampCommand::Off, Some(LampSlot::Busy)))
        .await;
    assert_eq!(t.running().await, running("Manual Changer", "Available"));
}

#[tokio::test]
async fn a_teams_call_shows_over_the_connectors_presence_but_not_over_its_call() {
    let t = T::start().await;
    let ep = t.connector();
    let yellow = Rgb::from_hex("#ffff00").unwrap();
    t.send(&ep.register_data_source()).await;
    t.send(&ep.create_initial_priority()).await;

    // The user is "away" by hand: the connector lights the lamp yellow, labelled as a presence.
    let a = t
        .send(&ep.command(LampCommand::Light(yellow), Some(LampSlot::Away)))
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(t.running().await, running("innovaphone myApps", "Away"));
    assert_eq!(t.lamp().await["color"]["hex"], "#ffff00");

    // A Teams call ranks above the connector's presence events: currentpresence reports Teams, so the
    // connector can make the user "on the phone" in the PBX; the lamp shows the call.
    t.control(
        "source",
        json!({"sender":"MS Teams","eventtype":"Light","eventname":"On-The-Phone"}),
    )
    .await;
    let a = t.send(&ep.current_presence()).await;
    let r = parse_current_presence(a.status, a.body.as_bytes())
        .unwrap()
        .running
        .unwrap();
    assert_eq!(
        (
            r.sender.as_str(),
            r.eventtype.as_str(),
            r.eventname.as_str()
        ),
        ("MS Teams", "Light", "On-The-Phone")
    );
    assert_eq!(t.lamp().await["color"]["hex"], "#ff0000");
    // Outranked, not gone: the connector's "away" still runs on the hub.
    let sources = t.state().await["sources"].clone();
    let ours = sources
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["sender"] == "innovaphone myApps")
        .unwrap()
        .clone();
    assert_eq!(
        (&ours["eventname"], &ours["shown"]),
        (&json!("Away"), &json!(false))
    );

    // A myApps call: the connector's call events rank above Teams.
    t.send(&ep.command(LampCommand::Light(red()), Some(LampSlot::Connected)))
        .await;
    let a = t.send(&ep.current_presence()).await;
    let r = parse_current_presence(a.status, a.body.as_bytes())
        .unwrap()
        .running
        .unwrap();
    assert_eq!(
        (
            r.sender.as_str(),
            r.eventtype.as_str(),
            r.eventname.as_str()
        ),
        ("innovaphone myApps", "Call", "Connected")
    );
    let l = t.lamp().await;
    assert_eq!(
        (&l["source"], &l["eventname"]),
        (&json!("innovaphone myApps"), &json!("Connected"))
    );

    // The myApps call ends, "away" again: Teams shows once more; the Teams call ends: away.
    t.send(&ep.command(LampCommand::Light(yellow), Some(LampSlot::Away)))
        .await;
    assert_eq!(t.running().await, running("MS Teams", "On-The-Phone"));
    t.control("source", json!({"sender":"MS Teams","clear":true}))
        .await;
    assert_eq!(t.running().await, running("innovaphone myApps", "Away"));
}

#[tokio::test]
async fn presence_lines_and_manual_changer() {
    let t = T::start().await;
    // Teams "Available" is a free signal, deactivated in the recommended setup: Manual Changer shows.
    t.control(
        "source",
        json!({"sender":"MS Teams","eventname":"Available"}),
    )
    .await;
    assert_eq!(t.running().await, running("Manual Changer", "Available"));
    // Teams presence "Busy" is enabled, below the call lines and above Manual Changer.
    t.control("source", json!({"sender":"MS Teams","eventname":"Busy"}))
        .await;
    assert_eq!(t.running().await, running("MS Teams", "Busy"));
    // A Zoom meeting is a call event: higher than the Teams presence line.
    t.control(
        "source",
        json!({"sender":"Zoom","eventname":"In-a-Zoom-Meeting"}),
    )
    .await;
    assert_eq!(t.running().await, running("Zoom", "In-a-Zoom-Meeting"));
    t.control("source", json!({"sender":"Zoom","clear":true}))
        .await;
    t.control("source", json!({"sender":"MS Teams"})).await;

    t.control(
        "source",
        json!({"sender":"Manual Changer","eventname":"DND"}),
    )
    .await;
    assert_eq!(t.running().await, running("Manual Changer", "DND"));
    assert_eq!(t.lamp().await["color"]["hex"], "#b500e0");
    t.control(
        "source",
        json!({"sender":"Manual Changer","eventname":"Off"}),
    )
    .await;
    assert_eq!(t.lamp().await["color"]["hex"], "#000000");

    // An incoming Webex call rings the lamp.
    t.control(
        "source",
        json!({"sender":"Webex","eventtype":"Alert","eventname":"Call Alert"}),
    )
    .await;
    let l = t.lamp().await;
    assert_eq!(l["effect"], "alert");
    assert_eq!(l["sound"]["name"], "Telephone Nordic");
    assert_eq!(t.running().await, running("Webex", "Call Alert"));

    // A source given with action and parameter, as the POST interface would carry it.
    let a = t
        .control(
            "source",
            json!({"sender":"MS Teams","action":"Pulse","eventtype":"Pulse","eventname":"In-a-Conference",
                   "parameter":"{\"color\":{\"RedRgbValue\":100}}"}),
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(t.lamp().await["effect"], "pulse");
    assert_eq!(
        t.control("source", json!({"eventname":"x"})).await.status,
        400
    );
    assert_eq!(
        t.control(
            "source",
            json!({"sender":"X","action":"Dance","eventname":"x"})
        )
        .await
        .status,
        400
    );
}

#[tokio::test]
async fn priorities_can_be_replaced() {
    let t = T::start().await;
    let a = t
        .control("priorities", json!([{"sender":"MS Teams"}, {"sender":"innovaphone myApps"}, {"sender":"Manual Changer"}]))
        .await;
    assert_eq!(a.status, 200);
    t.control(
        "source",
        json!({"sender":"MS Teams","eventname":"On-The-Phone"}),
    )
    .await;
    t.send(&t.connector().command(LampCommand::Light(red()), None))
        .await;
    assert_eq!(t.running().await, running("MS Teams", "On-The-Phone"));
    t.control(
        "priorities",
        json!([{"sender":"MS Teams","enabled":false}, {"sender":"innovaphone myApps"}]),
    )
    .await;
    assert_eq!(t.running().await, running("innovaphone myApps", "Color"));
    assert_eq!(
        t.control("priorities", json!({"lines": 3})).await.status,
        400
    );
}

#[tokio::test]
async fn token_required() {
    let t = T::new(Options {
        hub_token: Some("s3cret-token".into()),
        hub_require_token: true,
        ..admin_configured()
    })
    .await;
    for q in [
        "",
        "?action=currentpresence",
        "?action=light&red=100",
        "?accesstoken=wrong",
        "?http_token=",
    ] {
        let a = t.get(q).await;
        assert_eq!(a.status, 401, "{q}");
        assert_eq!(a.headers["access-control-allow-origin"], "*", "{q}");
    }
    let a = t.post(LIGHT, None).await;
    assert_eq!(a.status, 401);
    // A wrong header does not help either.
    let a =
        t.c.get(t.url("/"))
            .header("http_token", "nope")
            .send()
            .await
            .unwrap();
    assert_eq!(a.status().as_u16(), 401);
    assert_eq!(t.lamp().await["source"], "Manual Changer");

    assert_eq!(t.get("?accesstoken=s3cret-token").await.status, 200);
    assert_eq!(
        t.get("?action=currentpresence&http_token=s3cret-token")
            .await
            .status,
        200
    );
    let a =
        t.c.get(t.url("/?action=light&red=100"))
            .header("http_token", "s3cret-token")
            .send()
            .await
            .unwrap();
    assert_eq!(a.status().as_u16(), 200);
    // The connector's requests carry the token in the query (accesstoken and http_token).
    let ep = Endpoint::new(&t.hub.url(), "s3cret-token").unwrap();
    let a = t.send(&ep.current_presence()).await;
    assert_eq!(
        parse_current_presence(a.status, a.body.as_bytes())
            .unwrap()
            .running
            .unwrap()
            .sender,
        "HTTP"
    );
    assert_eq!(
        t.send(&ep.command(LampCommand::blink(red()), Some(LampSlot::Ringing)))
            .await
            .status,
        200
    );
    let wrong = Endpoint::new(&t.hub.url(), "s3cret-tokeN").unwrap();
    let a = t.send(&wrong.current_presence()).await;
    assert_eq!(
        parse_current_presence(a.status, a.body.as_bytes()),
        Err(HubError::Unauthorized)
    );

    // The token never shows in the state or the log.
    let s = t.get("_sim/state").await.body;
    assert!(!s.contains("s3cret-token"), "{s}");
    assert!(s.contains("accesstoken=***"));
}

#[tokio::test]
async fn loopback_needs_no_token_unless_required() {
    let t = T::new(Options {
        hub_token: Some("s3cret-token".into()),
        ..admin_configured()
    })
    .await;
    assert_eq!(t.get("").await.status, 200);
    assert_eq!(
        t.get("?action=light&red=100&accesstoken=wrong")
            .await
            .status,
        200
    );
    assert_eq!(t.lamp().await["source"], "HTTP");
    // Switched on at run time, it bites.
    assert_eq!(
        t.control("settings", json!({"require_token": true}))
            .await
            .status,
        200
    );
    assert_eq!(t.get("").await.status, 401);
    assert_eq!(
        t.control("settings", json!({"token": null})).await.status,
        400
    );
    assert!(spawn(Options {
        hub_require_token: true,
        ..admin_configured()
    })
    .await
    .is_err());
}

#[tokio::test]
async fn cors_on_every_answer_and_preflight() {
    let t = T::new(Options {
        hub_devices: 0,
        ..admin_configured()
    })
    .await;
    let answers = [
        t.get("").await,
        t.get("?action=currentpresence").await,
        t.get("?action=light&red=100").await, // 404: no lamp
        t.post(LIGHT, Some("application/json")).await,
        t.get("?action=dance").await,
    ];
    assert_eq!(answers[2].status, 404);
    for a in &answers {
        assert_eq!(a.headers["access-control-allow-origin"], "*");
    }
    let r =
        t.c.request(reqwest::Method::OPTIONS, t.url("/"))
            .header("origin", "https://apps.example.com")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,http_token")
            .header("access-control-request-private-network", "true")
            .send()
            .await
            .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    assert_eq!(h["access-control-allow-headers"], "content-type,http_token");
    assert_eq!(h["access-control-allow-private-network"], "true");
    // A preflight needs no token even when one is required.
    let t = T::new(Options {
        hub_token: Some("tok1".into()),
        hub_require_token: true,
        ..admin_configured()
    })
    .await;
    let r =
        t.c.request(reqwest::Method::OPTIONS, t.url("/"))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status().as_u16(), 204);
}

#[tokio::test]
async fn fault_close_and_refuse() {
    let t = T::start().await;
    for mode in ["close", "refuse"] {
        assert_eq!(t.control("fault", json!({"mode": mode})).await.status, 200);
        let r = t.c.get(t.url("/?action=currentpresence")).send().await;
        assert!(r.is_err(), "{mode}: {r:?}");
        let r = t.c.post(t.url("/")).body(LIGHT).send().await;
        assert!(r.is_err(), "{mode}");
        // The control API keeps working.
        let s = t.state().await;
        assert_eq!(s["fault"]["mode"], mode);
        assert!(last_log(&s)["status"].is_null());
    }
    t.control("fault", json!({"mode": "none"})).await;
    assert_eq!(t.get("").await.status, 200);
}

#[tokio::test]
async fn fault_delay() {
    let t = T::start().await;
    t.control("fault", json!({"mode": "delay", "ms": 400}))
        .await;
    let started = Instant::now();
    let a = t.get("?action=currentpresence").await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(a.status, 200);
    assert!(parse_current_presence(a.status, a.body.as_bytes()).is_ok());
    assert!(last_log(&t.state().await)["fault"]
        .as_str()
        .unwrap()
        .contains("400 ms"));
}

#[tokio::test]
async fn fault_garbage_and_status_codes() {
    let t = T::start().await;
    t.control("fault", json!({"mode": "garbage"})).await;
    let a = t.get("?action=currentpresence").await;
    assert_eq!(a.status, 200);
    assert!(matches!(
        parse_current_presence(a.status, a.body.as_bytes()),
        Err(HubError::Malformed(_))
    ));
    assert!(parse_probe(200, t.get("").await.body.as_bytes()).is_err());
    assert!(parse_devices(200, t.get("?action=busylightdevices").await.body.as_bytes()).is_err());

    for (mode, err) in [
        (json!("401"), HubError::Unauthorized),
        (json!(404), HubError::NoDevice),
        (json!("500"), HubError::Status(500)),
    ] {
        t.control("fault", json!({"mode": mode})).await;
        let a = t.get("?action=currentpresence").await;
        assert_eq!(a.headers["access-control-allow-origin"], "*");
        assert_eq!(
            parse_current_presence(a.status, a.body.as_bytes()),
            Err(err)
        );
        // The fault comes before everything else: a command does not change the lamp.
        t.get("?action=light&red=100").await;
        assert_eq!(t.lamp().await["source"], "Manual Changer");
    }
    assert_eq!(
        t.control("fault", json!({"mode": "teapot"})).await.status,
        400
    );
}

#[tokio::test]
async fn faults_for_some_actions_and_some_times() {
    let t = T::start().await;
    t.control(
        "fault",
        json!({"mode": "500", "actions": ["currentpresence"]}),
    )
    .await;
    assert_eq!(t.get("?action=currentpresence").await.status, 500);
    assert_eq!(t.get("").await.status, 200);
    assert_eq!(t.get("?action=light&red=100").await.status, 200);
    // POST actions are matched too (the action is in the body).
    assert_eq!(t.post(CURRENT_PRESENCE, None).await.status, 500);

    t.control(
        "fault",
        json!({"mode": "close", "actions": ["probe"], "times": 1}),
    )
    .await;
    assert!(t.c.get(t.url("/")).send().await.is_err());
    assert_eq!(t.get("").await.status, 200);
    assert_eq!(t.state().await["fault"]["mode"], "none");
}

#[tokio::test]
async fn too_old_hub() {
    let t = T::new(Options {
        hub_too_old: true,
        ..admin_configured()
    })
    .await;
    let a = t.get("").await;
    assert_eq!(parse_probe(a.status, a.body.as_bytes()), Ok(()));
    let a = t.get("?action=currentpresence").await;
    assert!(a.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert!(parse_current_presence(a.status, a.body.as_bytes()).is_err());
    assert!(t
        .post(CURRENT_PRESENCE, None)
        .await
        .body
        .starts_with("Unknown action"));
    // Lamp commands still work.
    assert_eq!(t.get("?action=light&red=100").await.status, 200);
    assert_eq!(t.lamp().await["source"], "HTTP");
    // And it can be switched at run time.
    t.control("settings", json!({"too_old": false})).await;
    let a = t.get("?action=currentpresence").await;
    assert!(parse_current_presence(a.status, a.body.as_bytes()).is_ok());
    assert_eq!(t.state().await["too_old"], false);
}

#[tokio::test]
async fn without_a_lamp_a_refused_release_is_not_applied_unless_switched() {
    let t = T::new(Options {
        hub_devices: 1,
        ..admin_configured()
    })
    .await;
    let ep = t.connector();
    let ringing = ep.command(LampCommand::blink(red()), Some(LampSlot::Ringing));
    assert_eq!(t.send(&ringing).await.status, 200);
    assert_eq!(t.running().await, running(SENDER, "Ringing"));
    // The lamp is unplugged while the call ends: the hub refuses the release, and keeps the call.
    t.control("devices", json!({"count": 0})).await;
    assert_eq!(
        t.send(&ep.command(LampCommand::Off, None)).await.status,
        404
    );
    assert_eq!(t.running().await, running(SENDER, "Ringing"));
    assert_eq!(t.state().await["release_without_lamp"], false);
    // Switched, it releases while it answers 404.
    t.control("settings", json!({"release_without_lamp": true}))
        .await;
    assert_eq!(
        t.send(&ep.command(LampCommand::Off, None)).await.status,
        404
    );
    assert_ne!(t.running().await, running(SENDER, "Ringing"));
}

#[tokio::test]
async fn without_a_lamp_commands_answer_404_but_presence_works() {
    let t = T::new(Options {
        hub_devices: 0,
        ..admin_configured()
    })
    .await;
    let ep = t.connector();
    assert_eq!(t.get("?action=light&red=100").await.status, 404);
    assert_eq!(
        t.send(&ep.command(LampCommand::blink(red()), Some(LampSlot::Ringing)))
            .await
            .status,
        404
    );
    assert_eq!(t.post(START_NOTIFICATION, None).await.status, 404);
    assert_eq!(
        t.send(&ep.command(LampCommand::Logout, None)).await.status,
        404
    );
    // Registration and presence keep working: the connector must work without a lamp.
    assert_eq!(t.send(&ep.register_data_source()).await.status, 200);
    assert_eq!(t.send(&ep.create_initial_priority()).await.status, 200);
    let a = t.send(&ep.devices()).await;
    assert_eq!(parse_devices(a.status, a.body.as_bytes()).unwrap(), vec![]);
    t.control(
        "source",
        json!({"sender":"MS Teams","eventname":"On-The-Phone"}),
    )
    .await;
    assert_eq!(t.running().await, running("MS Teams", "On-The-Phone"));
    assert_eq!(t.state().await["device_count"], 0);

    // Plugging a lamp in.
    assert_eq!(t.control("devices", json!({"count": 1})).await.status, 200);
    assert_eq!(
        t.send(&ep.command(LampCommand::blink(red()), Some(LampSlot::Ringing)))
            .await
            .status,
        200
    );
    assert_eq!(t.running().await, running("innovaphone myApps", "Ringing"));
    assert_eq!(t.control("devices", json!(99)).await.status, 400);
}

#[tokio::test]
async fn path_addresses_one_lamp_outside_the_priorities() {
    let t = T::new(Options {
        hub_devices: 2,
        ..admin_configured()
    })
    .await;
    let a = t.get("?action=busylightdevices").await;
    let devices = parse_devices(a.status, a.body.as_bytes()).unwrap();
    assert_eq!(devices.len(), 2);
    let path = &devices[1].path;
    let enc: String = path.bytes().map(|b| format!("%{b:02X}")).collect();
    assert_eq!(
        t.get(&format!("?action=light&red=100&path={enc}"))
            .await
            .status,
        200
    );
    let s = t.state().await;
    assert_eq!(s["devices"][1]["lamp"]["color"]["hex"], "#ff0000");
    assert_eq!(s["devices"][0]["lamp"]["color"]["hex"], "#00ff00");
    assert_eq!(s["lamp"]["source"], "Manual Changer");
    // POST with a JSON-escaped path.
    let body = json!({"action":"Blink","sender":"SDK","eventtype":"Blink","eventname":"Blink","path":path,
                      "parameter":"{\"color\":{\"BlueRgbValue\":100}}"});
    assert_eq!(t.post(&body.to_string(), None).await.status, 200);
    assert_eq!(t.state().await["devices"][1]["lamp"]["effect"], "blink");
    assert_eq!(
        t.get("?action=light&red=100&path=nonsense").await.status,
        404
    );
    assert_eq!(t.get(&format!("?action=off&path={enc}")).await.status, 200);
    assert!(t.state().await["devices"][1]["direct"].is_null());
}

#[tokio::test]
async fn request_log_is_bounded_and_reset_restores() {
    let t = T::start().await;
    for _ in 0..230 {
        t.get("?action=currentpresence").await;
    }
    t.get("?action=light&red=100").await;
    let s = t.state().await;
    let log = s["log"].as_array().unwrap();
    assert_eq!(log.len(), 200);
    assert_eq!(s["requests"], 231);
    let last = log.last().unwrap();
    assert_eq!(last["method"], "GET");
    assert_eq!(last["url"], "/?action=light&red=100");
    assert_eq!(last["status"], 200);
    assert_eq!(last["action"], "light");
    assert_eq!(
        t.get("_sim/state?log=3").await.json()["log"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    t.control("devices", json!({"count": 3})).await;
    t.control("fault", json!({"mode": "500", "actions": ["light"]}))
        .await;
    let s = t.control("reset", json!({})).await.json();
    assert_eq!(s["lamp"]["source"], "Manual Changer");
    assert_eq!(s["device_count"], 1);
    assert_eq!(s["fault"]["mode"], "none");
    assert_eq!(s["log"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn lamp_page_is_served() {
    let t = T::start().await;
    for path in ["_sim/", "_sim"] {
        let a = t.get(path).await;
        assert_eq!(a.status, 200);
        assert!(a.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(a.body.contains("kuandoHUB simulator"));
        assert!(a.body.contains("/_sim/state"));
        // Text from outside is inserted as text only.
        assert!(!a.body.contains("innerHTML") && !a.body.contains("insertAdjacentHTML"));
    }
    assert_eq!(t.get("_sim/nothing").await.status, 404);
}

/// Aborting is asynchronous: give the runtime a few turns to drop the listener.
async fn refused(url: &str) -> bool {
    for _ in 0..100 {
        if client().get(url).send().await.is_err() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn shutdown_and_drop_stop_serving() {
    let t = T::start().await;
    let url = t.url("/");
    assert_eq!(t.get("").await.status, 200);
    t.hub.shutdown();
    assert!(refused(&url).await);
    let t = T::start().await;
    let url = t.url("/");
    assert_eq!(t.get("").await.status, 200);
    drop(t);
    assert!(refused(&url).await);
}

#[test]
fn options_parse_with_hub_prefixes() {
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        hub: Options,
    }
    let c = Cli::try_parse_from([
        "x",
        "--hub-port",
        "0",
        "--hub-token",
        "t0ken",
        "--hub-require-token",
        "--hub-devices",
        "0",
        "--hub-too-old",
    ])
    .unwrap();
    assert_eq!((c.hub.hub_port, c.hub.hub_devices), (0, 0));
    assert!(c.hub.hub_require_token && c.hub.hub_too_old);
    assert!(!format!("{:?}", c.hub).contains("t0ken"));
    let d = Cli::try_parse_from(["x"]).unwrap().hub;
    assert_eq!((d.hub_port, d.hub_devices, d.hub_too_old), (8989, 1, false));
    assert!(Cli::try_parse_from(["x", "--hub-require-token"]).is_err());
}

/// `kuando-sim demo` flattens both simulators' options into one command: ids and flags must not clash.
#[test]
fn options_fit_beside_the_myapps_options() {
    use clap::{CommandFactory, Parser};
    #[derive(Parser)]
    struct Demo {
        #[command(flatten)]
        hub: Options,
        #[command(flatten)]
        myapps: kuando_sim::myapps::Options,
    }
    Demo::command().debug_assert();
    let d = Demo::try_parse_from(["x", "--hub-port", "0", "--hub-devices", "2"]).unwrap();
    assert_eq!((d.hub.hub_port, d.hub.hub_devices), (0, 2));
}

// ---------------------------------------------------------------------------------------------------------
// What public kuandoHUB clients do (`docs/platform-facts.md` §1.7, §1.9, §1.11): the Stream Deck plugin's GET
// light + read-back of `currentpresence`, a factory-new hub's priority list, the manual source's names,
// `NO_DEVICE` answers without a lamp.

/// What the Stream Deck plugin does with `currentpresence` (pedropombeiro `app.js` l.282/291 as the spec
/// describes it): `runningcommand.parameter` is a string or null; `JSON.parse(parameter).action` is compared
/// with `light` / `pulse`, `.red` / `.green` read as numbers (`parseInt`, as rgbivens does).
fn plugin_reads(body: &str) -> Option<(String, i64, i64)> {
    let v: Value = serde_json::from_str(body).expect("currentpresence is JSON");
    let rc = &v["runningcommand"];
    assert!(rc.is_object(), "runningcommand is always an object: {body}");
    let parameter = rc["parameter"].as_str()?;
    let p: Value = serde_json::from_str(parameter).expect("JSON.parse(parameter)");
    let int = |k: &str| match &p[k] {
        Value::String(s) => s.trim().parse::<i64>().unwrap_or(0),
        Value::Number(n) => n.as_i64().unwrap_or(0),
        _ => 0,
    };
    Some((p["action"].as_str()?.to_string(), int("red"), int("green")))
}

#[tokio::test]
async fn the_stream_deck_plugin_reads_back_its_get_light_on_a_fresh_hub() {
    let t = T::new(Options {
        hub_port: 0,
        ..Options::default()
    })
    .await;
    // Toggle on: green 50, then the 5 s poll of currentpresence reads it back.
    let status = t.get("?action=light&green=50").await.status;
    assert_eq!(status, 200);
    let Answer { status, body, .. } = t.get("?action=currentpresence").await;
    assert_eq!(status, 200);
    assert_eq!(
        plugin_reads(&body),
        Some(("light".to_string(), 0, 50)),
        "{body}"
    );
    assert_eq!(t.state().await["lamp"]["source"], "HTTP");
    // Pulse red, with the manual's blank after `action=` on the read-back, and a token that is not echoed.
    t.get("?action=pulse&red=100&accesstoken=s3cret").await;
    let body = t.get("?action= currentpresence").await.body;
    assert_eq!(plugin_reads(&body), Some(("pulse".to_string(), 100, 0)));
    assert!(!body.contains("s3cret"), "{body}");
    // Off: the HTTP source is released and a lower source (the manual one's green) shows; its parameter is
    // POST form, which the plugin does not take for its own light.
    t.get("?action=off").await;
    let body = t.get("?action=currentpresence").await.body;
    let read = plugin_reads(&body);
    assert!(read.as_ref().is_none_or(|(a, _, _)| a != "light"), "{body}");
}

#[tokio::test]
async fn a_fresh_hub_gives_each_sender_a_line_when_it_first_speaks_in_arrival_order() {
    let t = T::new(Options {
        hub_port: 0,
        ..Options::default()
    })
    .await;
    let senders = |s: &Value| -> Vec<String> {
        s["priorities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["sender"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        senders(&t.state().await),
        ["kuando TIMER", "Manual Changer"]
    );
    let ep = t.connector();
    // Registering is no line yet; CreateInitialPriority adds one above the manual source.
    assert_eq!(t.send(&ep.register_data_source()).await.status, 200);
    assert_eq!(senders(&t.state().await).len(), 2);
    assert_eq!(t.send(&ep.create_initial_priority()).await.status, 200);
    assert_eq!(
        senders(&t.state().await),
        ["kuando TIMER", SENDER, "Manual Changer"]
    );
    // A 3rd-party plugin that shows something later gets its line after (below) the connector's.
    t.hub
        .hub
        .set_source(&json!({"sender": "MS Teams", "eventname": "In-A-Meeting"}))
        .unwrap();
    // Another sender's first command gives it its line too, below the earlier ones.
    let other = r#"{"action":"Light","sender":"Other app","eventtype":"Light","eventname":"Color","parameter":"{\"RedRgbValue\":0,\"GreenRgbValue\":0,\"BlueRgbValue\":100}"}"#;
    assert_eq!(t.post(other, None).await.status, 200);
    assert_eq!(
        senders(&t.state().await),
        [
            "kuando TIMER",
            SENDER,
            "MS Teams",
            "Other app",
            "Manual Changer"
        ]
    );
    // The connector's "away" light ranks above the Teams meeting: currentpresence reports the connector,
    // and only Teams' own priority, asked as Teams, tells of the meeting.
    let red = Rgb::new(100, 100, 0).unwrap();
    assert_eq!(
        t.send(&ep.command(LampCommand::Light(red), Some(LampSlot::Away)))
            .await
            .status,
        200
    );
    assert_eq!(t.state().await["lamp"]["source"], SENDER);
    let a = t.send(&ep.current_presence()).await;
    let cp = parse_current_presence(a.status, a.body.as_bytes()).unwrap();
    assert_eq!(cp.running.unwrap().sender, SENDER);
    let a = t.send(&ep.own_priority(0)).await;
    assert_eq!(
        parse_own_priority(a.status, a.body.as_bytes(), CALL_SOURCES[0]),
        Ok(OwnPriority::Running(RunningCommand {
            action: "Light".into(),
            sender: "MS Teams".into(),
            eventtype: "Light".into(),
            eventname: "In-A-Meeting".into(),
            parameter: a_parameter(&a.body),
        }))
    );
    // Zoom has nothing.
    let a = t.send(&ep.own_priority(1)).await;
    assert_eq!(
        parse_own_priority(a.status, a.body.as_bytes(), CALL_SOURCES[1]),
        Ok(OwnPriority::Nothing)
    );
}

/// The `parameter` the simulator reports in `ownpriority`, as it came.
fn a_parameter(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).unwrap();
    v["ownpriority"]["parameter"].as_str().map(str::to_string)
}

#[tokio::test]
async fn a_too_old_hub_answers_in_the_shape_it_is_given() {
    let t = T::new(Options {
        hub_too_old: true,
        hub_too_old_answer: "Action not supported".into(),
        ..admin_configured()
    })
    .await;
    let a = t.get("?action=currentpresence").await;
    assert_eq!((a.status, a.body.as_str()), (200, "Action not supported"));
    assert_eq!(
        parse_current_presence(a.status, a.body.as_bytes()),
        Err(HubError::UnknownAction)
    );
    t.control("settings", json!({"too_old_answer": "html"}))
        .await;
    let a = t.get("?action=currentpresence").await;
    assert!(a.body.starts_with("<html>"), "{}", a.body);
    assert!(matches!(
        parse_current_presence(a.status, a.body.as_bytes()),
        Err(HubError::Malformed(_))
    ));
    t.control("settings", json!({"too_old_answer": "empty"}))
        .await;
    let a = t.get("?action=currentpresence").await;
    assert_eq!((a.status, a.body.as_str()), (200, ""));
    assert_eq!(t.state().await["too_old_answer"], "empty");
}

#[tokio::test]
async fn the_concepts_ordering_is_a_preset() {
    let t = T::new(Options {
        hub_port: 0,
        hub_priorities: Some(Preset::Concept),
        ..Options::default()
    })
    .await;
    let first = &t.state().await["priorities"][0];
    assert_eq!(first["sender"], SENDER);
    assert_eq!(first["eventtype"], "Call");
    // Teams' meeting and call events rank as telephone events in the concept's list.
    let teams = t.state().await["priorities"][1].clone();
    assert_eq!(teams["sender"], "MS Teams");
    let names = teams["eventnames"].as_array().unwrap();
    assert!(names.contains(&json!("In-A-Meeting")) && names.contains(&json!("In-A-Call")));
    // And back to a factory-new list at run time, or to the concept's again.
    t.hub
        .hub
        .set_priorities(&json!({"preset": "fresh"}))
        .unwrap();
    assert_eq!(t.state().await["priorities"].as_array().unwrap().len(), 2);
    t.hub
        .hub
        .set_priorities(&json!({"preset": "concept"}))
        .unwrap();
    assert_eq!(t.state().await["priorities"][0]["sender"], SENDER);
    assert!(t
        .hub
        .hub
        .set_priorities(&json!({"preset": "admin"}))
        .is_err());
}

#[tokio::test]
async fn the_manual_source_can_be_called_manual_controls_and_the_connector_understands_it() {
    let t = T::new(Options {
        hub_port: 0,
        hub_manual_name: "Manual Controls".into(),
        ..Options::default()
    })
    .await;
    t.hub
        .hub
        .set_source(&json!({"sender": "Manual Controls", "eventname": "DND"}))
        .unwrap();
    let Answer { status, body, .. } = t.send(&t.connector().current_presence()).await;
    let rc = parse_current_presence(status, body.as_bytes())
        .unwrap()
        .running
        .unwrap();
    assert_eq!(rc.sender, "Manual Controls");
    assert_eq!(
        transform_running(&rc.sender, &rc.eventtype, &rc.eventname),
        Transform::State(MyAppsState::Dnd)
    );
    let lines = t.state().await["priorities"].clone();
    assert_eq!(
        lines.as_array().unwrap().last().unwrap()["sender"],
        "Manual Controls"
    );
}

#[tokio::test]
async fn without_a_lamp_the_macos_server_says_no_device_and_the_connector_reads_no_busylight() {
    let t = T::new(Options {
        hub_port: 0,
        hub_devices: 0,
        hub_no_device_text: true,
        ..Options::default()
    })
    .await;
    let ep = t.connector();
    let red = Rgb::new(100, 0, 0).unwrap();
    let Answer { status, body, .. } = t.send(&ep.command(LampCommand::Light(red), None)).await;
    assert!(body.contains("NO_DEVICE"), "{status} {body}");
    assert_eq!(
        parse_command_response(status, body.as_bytes()),
        Err(HubError::NoDevice)
    );
    let Answer { status, body, .. } = t.send(&ep.current_presence()).await;
    assert_eq!(
        parse_current_presence(status, body.as_bytes()),
        Err(HubError::NoDevice)
    );
    // The probe still answers as a working hub.
    let Answer { status, body, .. } = t.get("").await;
    assert_eq!((status, body.contains("OK")), (200, true));
    // Without the option, the documented 404.
    let t = T::new(Options {
        hub_port: 0,
        hub_devices: 0,
        ..Options::default()
    })
    .await;
    let status = t.get("?action=light&red=100").await.status;
    assert_eq!(status, 404);
}
