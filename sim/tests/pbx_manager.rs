//! The simulated PBX Manager and PBX object store, at the wire: what the manager page's websocket and the
//! instance's app websocket answer, and what a user's myApps then gets.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use kuando_sim::myapps::{self, Options, Running, INSTANCE_PATH};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
const PATIENCE: Duration = Duration::from_secs(5);

async fn start(fresh: bool) -> Running {
    myapps::spawn(Options {
        port: 0,
        www: "/nonexistent/www".into(),
        pkg: "/nonexistent/pkg".into(),
        fresh_pbx: fresh,
        manager: concat!(env!("CARGO_MANIFEST_DIR"), "/../manager").into(),
        ..Options::default()
    })
    .await
    .expect("simulator starts")
}

async fn connect(url: String) -> Ws {
    tokio_tungstenite::connect_async(url)
        .await
        .expect("connect")
        .0
}

async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let m = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("an answer in time")
            .expect("open")
            .expect("frame");
        if let Message::Text(t) = m {
            return serde_json::from_str(t.as_str()).expect("json");
        }
    }
}

async fn ask(ws: &mut Ws, v: Value) -> Value {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
    next_json(ws).await
}

/// The apps (iframe names) alice's myApps loads.
async fn frames(sim: &Running) -> Vec<String> {
    let mut ws = connect(format!("ws://{}/_sim/client?user=alice", sim.addr)).await;
    loop {
        let v = next_json(&mut ws).await;
        if v["t"] == "setup" {
            return v["frames"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["frame"].as_str().unwrap().to_string())
                .collect();
        }
    }
}

fn sha(s: String) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

#[tokio::test]
async fn a_fresh_pbx_gives_no_app_until_objects_and_template_exist() {
    let sim = start(true).await;
    assert!(frames(&sim).await.is_empty());
    let mut m = connect(format!("ws://{}/_sim/manager/socket", sim.addr)).await;
    let url = format!("{}{INSTANCE_PATH}innovaphone-kuando", sim.base_url());
    let r = ask(
        &mut m,
        json!({"t": "admin", "msg": {"api": "PbxAdminApi", "mt": "UpdateObject", "src": "a",
        "cn": "Connector for kuando®", "h323": "kuando", "pwd": "pw1",
        "pseudo": {"type": "app", "app": {"url": url, "hidden": true, "websocket": true}}}}),
    )
    .await;
    assert_eq!(r["msg"]["mt"], "UpdateObjectResult");
    assert_eq!(r["msg"]["src"], "a");
    assert!(frames(&sim).await.is_empty(), "not in the template yet");
    let t = ask(
        &mut m,
        json!({"t": "admin", "msg": {"api": "PbxAdminApi", "mt": "GetObject", "cn": "Standard"}}),
    )
    .await;
    ask(
        &mut m,
        json!({"t": "admin", "msg": {"api": "PbxAdminApi", "mt": "UpdateObject",
        "guid": t["msg"]["guid"], "cn": "Standard", "apps": "kuando"}}),
    )
    .await;
    assert_eq!(frames(&sim).await, ["hidden"]);
    let state: Value = reqwest::get(format!("{}/_sim/pbx", sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !state.to_string().contains("pw1"),
        "no password in the control API"
    );
}

#[tokio::test]
async fn the_ready_made_pbx_has_both_apps() {
    let sim = start(false).await;
    assert_eq!(frames(&sim).await, ["hidden", "config"]);
}

#[tokio::test]
async fn instance_login_password_and_app_check_login() {
    let sim = start(true).await;
    let mut m = connect(format!("ws://{}/_sim/manager/socket", sim.addr)).await;
    let path = INSTANCE_PATH.trim_end_matches('/');
    let r = ask(&mut m, json!({"t": "manager", "src": "s1", "msg": {"mt": "SetInstancePassword", "path": path, "pwd": "newpw"}})).await;
    assert_eq!(r["src"], "s1");
    assert_eq!(r["msg"]["mt"], "SetInstancePasswordResult");
    assert!(r["msg"].get("error").is_none());
    assert_eq!(sim.app_password(), "newpw");
    let r = ask(
        &mut m,
        json!({"t": "manager", "msg": {"mt": "SetInstancePassword", "path": "/other", "pwd": "x"}}),
    )
    .await;
    assert!(r["msg"]["error"].is_string(), "another instance's path");

    // The plugin's login to the instance, then the check of an App object's GetAppLogin digest.
    let mut inst = connect(format!("ws://{}{INSTANCE_PATH}", sim.addr)).await;
    let ch = ask(&mut inst, json!({"mt": "AppCheckLogin", "app": "kuando", "domain": "example.com", "challenge": "c", "digest": "d"})).await;
    assert_eq!(ch["ok"], false, "not before a PBX Manager login");
    let c = ask(&mut inst, json!({"mt": "AppChallenge"})).await["challenge"]
        .as_str()
        .unwrap()
        .to_string();
    let l = ask(&mut m, json!({"t": "manager", "msg": {"mt": "GetInstanceLogin", "path": path, "app": "-", "challenge": c}})).await["msg"].clone();
    let ok = ask(
        &mut inst,
        json!({"mt": "AppLogin", "app": l["app"], "domain": l["domain"], "sip": l["sip"],
        "guid": l["guid"], "dn": l["dn"], "digest": l["digest"]}),
    )
    .await;
    assert_eq!(ok["ok"], true, "{l}");
    ask(&mut m, json!({"t": "admin", "msg": {"api": "PbxAdminApi", "mt": "UpdateObject", "cn": "k", "h323": "kuando", "pwd": "newpw"}})).await;
    ask(&mut m, json!({"t": "admin", "msg": {"api": "PbxAdminApi", "mt": "UpdateObject", "cn": "w", "h323": "wrong", "pwd": "other"}})).await;
    for (app, want) in [("kuando", true), ("wrong", false)] {
        let g = ask(&mut m, json!({"t": "admin", "msg": {"api": "PbxAdminApi", "mt": "GetAppLogin", "app": app, "challenge": "xyz"}})).await["msg"].clone();
        assert_eq!(
            g["digest"],
            sha(format!(
                "{app}:example.com:xyz:{}",
                if want { "newpw" } else { "other" }
            ))
        );
        let r = ask(
            &mut inst,
            json!({"mt": "AppCheckLogin", "app": app, "domain": "example.com", "challenge": "xyz",
            "digest": g["digest"], "src": "q"}),
        )
        .await;
        assert_eq!(
            (r["mt"].as_str(), r["ok"].as_bool(), r["src"].as_str()),
            (Some("AppCheckLoginResult"), Some(want), Some("q")),
            "{app}"
        );
    }
    // A wrong GetInstanceLogin digest does not log in.
    let mut other = connect(format!("ws://{}{INSTANCE_PATH}", sim.addr)).await;
    ask(&mut other, json!({"mt": "AppChallenge"})).await;
    let bad = ask(&mut other, json!({"mt": "AppLogin", "app": "-", "domain": "example.com", "sip": "pbx-manager", "guid": "", "dn": "PBX Manager", "digest": "00"})).await;
    assert_eq!(bad["ok"], false);
}

#[tokio::test]
async fn the_plugin_files_are_served_but_not_its_manifest() {
    let sim = start(true).await;
    let base = format!("{}{INSTANCE_PATH}", sim.base_url());
    let r = reqwest::get(format!("{base}innovaphone.kuandomanager.js"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("plugin.innovaphone.kuandomanager"));
    assert_eq!(
        reqwest::get(format!("{base}plugins.json"))
            .await
            .unwrap()
            .status(),
        404
    );
    let c: Value = reqwest::get(format!("{}/_sim/manager/controls", sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        c["controls"][0]["uri"],
        format!("{base}innovaphone.kuandomanager")
    );
    assert_eq!(
        c["controls"][0]["lang"],
        format!("{base}innovaphone.kuandomanagertexts")
    );
    let page = reqwest::get(format!("{}/_sim/manager", sim.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("/_sim/static/manager.js"));
}
