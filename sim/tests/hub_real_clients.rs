//! The simulator against what public kuandoHUB clients do (`shared/spec/kuandohub-real-clients.md`): the
//! Stream Deck plugin's GET light + read-back of `currentpresence`, a factory-new hub's priority list, the
//! manual source's names, `NO_DEVICE` answers without a lamp.

use std::time::Duration;

use kuando_connector::hub::{
    parse_command_response, parse_current_presence, Endpoint, HubError, HubRequest, LampCommand,
    Method, Rgb, POST_CONTENT_TYPE, SENDER,
};
use kuando_connector::mapping::{transform_running, Transform};
use kuando_connector::state::MyAppsState;
use kuando_sim::hub::model::Preset;
use kuando_sim::hub::{spawn, Options, Running};
use serde_json::{json, Value};

struct T {
    hub: Running,
    c: reqwest::Client,
}

impl T {
    async fn new(o: Options) -> T {
        T {
            hub: spawn(Options { hub_port: 0, ..o }).await.unwrap(),
            c: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
        }
    }

    async fn get(&self, rest: &str) -> (u16, String) {
        let r = self
            .c
            .get(format!("http://{}/{rest}", self.hub.addr))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn send(&self, req: &HubRequest) -> (u16, String) {
        let rb = match req.method {
            Method::Get => self.c.get(&req.url),
            Method::Post => self
                .c
                .post(&req.url)
                .header("content-type", POST_CONTENT_TYPE)
                .body(req.body.clone().unwrap_or_default()),
        };
        let r = rb.send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    fn connector(&self) -> Endpoint {
        Endpoint::new(&self.hub.url(), "").unwrap()
    }

    fn state(&self) -> Value {
        self.hub.hub.state()
    }
}

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
    let t = T::new(Options::default()).await;
    // Toggle on: green 50, then the 5 s poll of currentpresence reads it back.
    let (status, _) = t.get("?action=light&green=50").await;
    assert_eq!(status, 200);
    let (status, body) = t.get("?action=currentpresence").await;
    assert_eq!(status, 200);
    assert_eq!(
        plugin_reads(&body),
        Some(("light".to_string(), 0, 50)),
        "{body}"
    );
    assert_eq!(t.state()["lamp"]["source"], "HTTP");
    // Pulse red, with the manual's blank after `action=` on the read-back, and a token that is not echoed.
    t.get("?action=pulse&red=100&accesstoken=s3cret").await;
    let (_, body) = t.get("?action= currentpresence").await;
    assert_eq!(plugin_reads(&body), Some(("pulse".to_string(), 100, 0)));
    assert!(!body.contains("s3cret"), "{body}");
    // Off: the HTTP source is released and a lower source (the manual one's green) shows; its parameter is
    // POST form, which the plugin does not take for its own light.
    t.get("?action=off").await;
    let (_, body) = t.get("?action=currentpresence").await;
    let read = plugin_reads(&body);
    assert!(read.as_ref().is_none_or(|(a, _, _)| a != "light"), "{body}");
}

#[tokio::test]
async fn a_fresh_hub_has_no_line_for_the_connector_until_create_initial_priority() {
    let t = T::new(Options::default()).await;
    let senders = |s: &Value| -> Vec<String> {
        s["priorities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["sender"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(senders(&t.state()), ["kuando TIMER", "Manual Changer"]);
    let ep = t.connector();
    let red = Rgb::new(100, 0, 0).unwrap();
    // The connector's light is accepted but shows nowhere: no line ranks its sender.
    assert_eq!(t.send(&ep.register_data_source()).await.0, 200);
    assert_eq!(
        t.send(&ep.command(LampCommand::Light(red), None)).await.0,
        200
    );
    assert_eq!(t.state()["lamp"]["source"], "Manual Changer");
    // CreateInitialPriority adds its line above the manual source; the light shows.
    assert_eq!(t.send(&ep.create_initial_priority()).await.0, 200);
    assert_eq!(
        senders(&t.state()),
        ["kuando TIMER", SENDER, "Manual Changer"]
    );
    assert_eq!(t.state()["lamp"]["source"], SENDER);
    // A 3rd-party plugin that shows something later gets its line after (below) the connector's.
    t.hub
        .hub
        .set_source(&json!({"sender": "MS Teams", "eventname": "In-A-Meeting"}))
        .unwrap();
    assert_eq!(
        senders(&t.state()),
        ["kuando TIMER", SENDER, "MS Teams", "Manual Changer"]
    );
    assert_eq!(t.state()["lamp"]["source"], SENDER);
}

#[tokio::test]
async fn the_concepts_ordering_is_a_preset() {
    let t = T::new(Options {
        hub_priorities: Some(Preset::Concept),
        ..Options::default()
    })
    .await;
    let first = &t.state()["priorities"][0];
    assert_eq!(first["sender"], SENDER);
    assert_eq!(first["eventtype"], "Call");
    // Teams' meeting and call events rank as telephone events in the concept's list.
    let teams = t.state()["priorities"][1].clone();
    assert_eq!(teams["sender"], "MS Teams");
    let names = teams["eventnames"].as_array().unwrap();
    assert!(names.contains(&json!("In-A-Meeting")) && names.contains(&json!("In-A-Call")));
    // And back to a factory-new list at run time, or to the concept's again.
    t.hub
        .hub
        .set_priorities(&json!({"preset": "fresh"}))
        .unwrap();
    assert_eq!(t.state()["priorities"].as_array().unwrap().len(), 2);
    t.hub
        .hub
        .set_priorities(&json!({"preset": "concept"}))
        .unwrap();
    assert_eq!(t.state()["priorities"][0]["sender"], SENDER);
    assert!(t
        .hub
        .hub
        .set_priorities(&json!({"preset": "admin"}))
        .is_err());
}

#[tokio::test]
async fn the_manual_source_can_be_called_manual_controls_and_the_connector_understands_it() {
    let t = T::new(Options {
        hub_manual_name: "Manual Controls".into(),
        ..Options::default()
    })
    .await;
    t.hub
        .hub
        .set_source(&json!({"sender": "Manual Controls", "eventname": "DND"}))
        .unwrap();
    let (status, body) = t.send(&t.connector().current_presence()).await;
    let rc = parse_current_presence(status, body.as_bytes())
        .unwrap()
        .running
        .unwrap();
    assert_eq!(rc.sender, "Manual Controls");
    assert_eq!(
        transform_running(&rc.sender, &rc.eventtype, &rc.eventname),
        Transform::State(MyAppsState::Dnd)
    );
    let lines = t.state()["priorities"].clone();
    assert_eq!(
        lines.as_array().unwrap().last().unwrap()["sender"],
        "Manual Controls"
    );
}

#[tokio::test]
async fn without_a_lamp_the_macos_server_says_no_device_and_the_connector_reads_no_busylight() {
    let t = T::new(Options {
        hub_devices: 0,
        hub_no_device_text: true,
        ..Options::default()
    })
    .await;
    let ep = t.connector();
    let red = Rgb::new(100, 0, 0).unwrap();
    let (status, body) = t.send(&ep.command(LampCommand::Light(red), None)).await;
    assert!(body.contains("NO_DEVICE"), "{status} {body}");
    assert_eq!(
        parse_command_response(status, body.as_bytes()),
        Err(HubError::NoDevice)
    );
    let (status, body) = t.send(&ep.current_presence()).await;
    assert_eq!(
        parse_current_presence(status, body.as_bytes()),
        Err(HubError::NoDevice)
    );
    // The probe still answers as a working hub.
    let (status, body) = t.get("").await;
    assert_eq!((status, body.contains("OK")), (200, true));
    // Without the option, the documented 404.
    let t = T::new(Options {
        hub_devices: 0,
        ..Options::default()
    })
    .await;
    let (status, _) = t.get("?action=light&red=100").await;
    assert_eq!(status, 404);
}
