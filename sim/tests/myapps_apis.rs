//! The myApps simulator relays a client API between the two app frames as myApps does (issue 14): the
//! provider registers and publishes its model (`ApiModel`), consumers get it in `ApiUpdate`, and when a
//! frame goes, its consumers and providers are told.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use kuando_sim::myapps::{self, Options, Running};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const API: &str = "com.innovaphone.kuando.status";
const PATIENCE: Duration = Duration::from_secs(5);

struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    async fn open(sim: &Running) -> Client {
        let (ws, _) =
            tokio_tungstenite::connect_async(format!("ws://{}/_sim/client?user=alice", sim.addr))
                .await
                .expect("launcher websocket");
        let mut c = Client { ws };
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

    async fn post(&mut self, frame: &str, msg: Value) {
        self.raw(json!({"t": "msg", "frame": frame, "data": msg.to_string()}))
            .await;
    }

    /// The next message myApps posts into an app frame, and the frame.
    async fn next_post(&mut self) -> (String, Value) {
        loop {
            let m = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("a post in time")
                .expect("socket open")
                .expect("no socket error");
            let Message::Text(t) = m else { continue };
            let v: Value = serde_json::from_str(&t).expect("json");
            if v["t"] == "post" {
                let msg = serde_json::from_str(v["msg"].as_str().expect("text")).expect("msg json");
                return (v["frame"].as_str().unwrap_or("").to_string(), msg);
            }
        }
    }
}

async fn sim() -> Running {
    myapps::spawn(Options {
        port: 0,
        www: "/nonexistent/www".into(),
        pkg: "/nonexistent/pkg".into(),
        users: vec!["alice".into()],
        ..Options::default()
    })
    .await
    .expect("simulator starts")
}

#[tokio::test]
async fn a_providers_model_reaches_its_consumers_and_goes_with_its_frame() {
    let sim = sim().await;
    let mut c = Client::open(&sim).await;
    c.post("hidden", json!({"mt": "RegisterApi", "api": API}))
        .await;
    c.post("config", json!({"mt": "ConsumeApi", "api": API}))
        .await;
    let (frame, u) = c.next_post().await;
    assert_eq!(frame, "config");
    assert_eq!(u["mt"], "ApiUpdate");
    assert_eq!(u["apis"][API]["kuando"]["model"], json!({}), "{u}");

    c.post(
        "hidden",
        json!({"mt": "ApiModel", "api": API, "model": {"v": 1, "run": true}}),
    )
    .await;
    let (frame, u) = c.next_post().await;
    assert_eq!(frame, "config");
    assert_eq!(
        u["apis"][API]["kuando"]["model"],
        json!({"v": 1, "run": true})
    );

    // A request and its answer travel between the two frames.
    c.post(
        "config",
        json!({"mt": "ApiRequest", "api": API, "provider": "kuando", "src": "w1", "msg": {"mt": "Watch"}}),
    )
    .await;
    let (frame, r) = c.next_post().await;
    assert_eq!(frame, "hidden");
    assert_eq!(r["consumer"], "kuando-config");
    c.post(
        "hidden",
        json!({"mt": "ApiResult", "api": API, "consumer": "kuando-config", "src": "w1", "msg": {"mt": "WatchResult"}}),
    )
    .await;
    let (frame, r) = c.next_post().await;
    assert_eq!(
        (frame.as_str(), &r["provider"], &r["src"]),
        ("config", &json!("kuando"), &json!("w1"))
    );

    // The hidden app's frame is removed: the consumer learns that nobody provides the API any more.
    c.raw(json!({"t": "closed", "frame": "hidden"})).await;
    let (frame, u) = c.next_post().await;
    assert_eq!(frame, "config");
    assert_eq!(u["apis"][API], json!({}), "{u}");
}

#[tokio::test]
async fn a_closed_consumer_is_reported_to_the_provider() {
    let sim = sim().await;
    let mut c = Client::open(&sim).await;
    c.post("hidden", json!({"mt": "RegisterApi", "api": API}))
        .await;
    c.post("config", json!({"mt": "ConsumeApi", "api": API}))
        .await;
    let _ = c.next_post().await;
    // The config app is reloaded: its old instance is gone.
    c.raw(json!({"t": "reset", "frame": "config"})).await;
    let (frame, m) = c.next_post().await;
    assert_eq!(frame, "hidden");
    assert_eq!(
        m,
        json!({"mt": "ApiConsumerClosed", "api": API, "consumer": "kuando-config"})
    );
}
