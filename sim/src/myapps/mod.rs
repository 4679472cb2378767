//! innovaphone myApps, the PBX and the connector's app service, simulated for the demo and the end-to-end
//! tests (`docs/platform-facts.md` §3, §4).
//!
//! - `GET /?user=alice` — the launcher page. It loads the hidden app invisibly and the config app visibly in
//!   iframes with the real start parameters. Its JavaScript is only a pipe: what an app posts goes over the
//!   websocket `/_sim/client` to [`world`], which plays myApps and answers; the page posts the answers into
//!   the named iframe. The page also shows the user's PBX presence, a softphone and the wire log.
//! - `/example.com/kuandoconnector/…` — the app instance: the real app files from `--www` and the wasm with its
//!   glue from `--pkg`, all at the instance root as in `httpfiles.zip`, and at the instance URL itself the app websocket (challenge, login, the `kuando` service).
//! - `/_sim/…` — a control API for tests (see the README).

mod manager_page;
mod ordered;
mod pbx;
pub mod runtime;
mod world;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::{Body, Bytes};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::{SinkExt, StreamExt};
use kuando_connector::state::Presence;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};
use tower_http::services::ServeDir;

use world::World;

/// The PBX domain of the simulated users.
pub const DOMAIN: &str = "example.com";
/// Path of the app instance on the simulated AppPlatform; the app websocket is this URL itself.
pub const INSTANCE_PATH: &str = "/example.com/kuandoconnector/";
/// The softphone that reports the user's calls (the `consumer` of phoneinfo requests).
pub const SOFTPHONE: &str = "softphone";
/// The client API and its only provider.
pub const API_CLIENT: &str = "com.innovaphone.client";
pub const CLIENT_PROVIDER: &str = "@client";
/// The phone API (consumed) and the call-events API (provided by the hidden app).
pub const API_PHONE: &str = "com.innovaphone.phone";
pub const API_PHONEINFO: &str = "com.innovaphone.phoneinfo";

/// A PBX app object of the connector and the iframe the launcher shows it in.
#[derive(Debug)]
pub struct AppObject {
    /// The launcher's iframe name.
    pub frame: &'static str,
    /// The PBX app object's name (the `name` start parameter, `pbxObj`).
    pub name: &'static str,
    /// The htm file / app name on the AppPlatform.
    pub htm: &'static str,
    pub title: &'static str,
    pub hidden: bool,
}

/// The two app objects of the concept: the hidden app and the config app.
pub const APP_OBJECTS: [AppObject; 2] = [
    AppObject {
        frame: "hidden",
        name: "kuando",
        htm: "innovaphone-kuando",
        title: "Connector for kuando®",
        hidden: true,
    },
    AppObject {
        frame: "config",
        name: "kuando-config",
        htm: "innovaphone-kuando-config",
        title: "Connector for kuando® config",
        hidden: false,
    },
];

/// Options of `kuando-sim myapps` (prefixed ids: `demo` flattens these beside the hub's).
#[derive(clap::Args, Clone, Debug)]
pub struct Options {
    /// Port on 127.0.0.1 (0: pick a free one and print it).
    #[arg(
        id = "myapps_port",
        long = "myapps-port",
        value_name = "PORT",
        default_value_t = 8080
    )]
    pub port: u16,
    /// Directory with the app files (innovaphone-kuando.htm, innovaphone-kuando-config.htm, ...).
    #[arg(
        id = "myapps_www",
        long = "www",
        value_name = "DIR",
        default_value = "www"
    )]
    pub www: PathBuf,
    /// Directory with the wasm package, served beside the app files at the instance root.
    #[arg(
        id = "myapps_pkg",
        long = "pkg",
        value_name = "DIR",
        default_value = "pkg"
    )]
    pub pkg: PathBuf,
    /// The PBX users (comma-separated).
    #[arg(
        id = "myapps_users",
        long = "users",
        value_name = "USER,..",
        value_delimiter = ',',
        default_value = "alice,bob"
    )]
    pub users: Vec<String>,
    /// A user without a license for the app (repeatable).
    #[arg(id = "myapps_unlicensed", long = "unlicensed", value_name = "USER")]
    pub unlicensed: Vec<String>,
    /// A user with the license App(innovaphone-kuando-with-busylight) instead of App(innovaphone-kuando)
    /// (repeatable).
    #[arg(
        id = "myapps_license_busylight",
        long = "license-busylight",
        value_name = "USER"
    )]
    pub license_busylight: Vec<String>,
    /// Start with a fresh PBX: no App objects of the connector (the PBX Manager plugin creates them); else
    /// both are there, in every user's config template.
    #[arg(id = "myapps_fresh_pbx", long = "fresh-pbx")]
    pub fresh_pbx: bool,
    /// Directory with the PBX Manager plugin (plugins.json and the files it names), served beside the app.
    #[arg(
        id = "myapps_manager",
        long = "manager",
        value_name = "DIR",
        default_value = "manager"
    )]
    pub manager: PathBuf,
    /// The shipped app service: a directory with `config.json` and the files its `javascript.eval` names.
    #[arg(id = "myapps_service", long = "service", value_name = "DIR", default_value_os_t = runtime::default_service())]
    pub service: PathBuf,
    /// The AppPlatform runtime host that runs the service in Node (`sim/runtime/host.js`).
    #[arg(id = "myapps_runtime", long = "runtime-host", value_name = "FILE", default_value_os_t = runtime::default_host())]
    pub runtime_host: PathBuf,
    /// PostgreSQL for the instance's database (`postgres://user@127.0.0.1:PORT/postgres`); default
    /// `KUANDO_PG_URL`, else the repository's cluster under target/pg (started by tools/pg.sh).
    #[arg(id = "myapps_pg", long = "pg", value_name = "URL")]
    pub pg: Option<String>,
    /// The connector's app object lacks the Admin option: the service gets no PbxAdminApi connection and
    /// cannot check licenses.
    #[arg(id = "myapps_without_admin", long = "without-admin")]
    pub without_admin: bool,
    /// An instance config item of the service (config.json `config.init`), as an administrator sets it:
    /// `NAME=VALUE`, repeatable, e.g. `guardGraceSeconds=5` so the presence guard restores sooner.
    #[arg(
        id = "myapps_service_config",
        long = "service-config",
        value_name = "NAME=VALUE"
    )]
    pub service_config: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            port: 8080,
            www: PathBuf::from("www"),
            pkg: PathBuf::from("pkg"),
            users: vec!["alice".into(), "bob".into()],
            unlicensed: Vec::new(),
            license_busylight: Vec::new(),
            fresh_pbx: false,
            manager: PathBuf::from("manager"),
            service: runtime::default_service(),
            runtime_host: runtime::default_host(),
            pg: None,
            without_admin: false,
            service_config: Vec::new(),
        }
    }
}

struct Inner {
    world: Mutex<World>,
    /// The app instance's runtime (the shipped service in Node), which a story may restart.
    instance: Mutex<runtime::Instance>,
    www: PathBuf,
    pkg: PathBuf,
    manager: PathBuf,
    addr: SocketAddr,
    shutdown: watch::Receiver<bool>,
}

impl Inner {
    fn world(&self) -> MutexGuard<'_, World> {
        // A panic while holding the lock would be a simulator bug; keep serving with the state as it is.
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn instance(&self) -> MutexGuard<'_, runtime::Instance> {
        self.instance.lock().unwrap_or_else(|e| e.into_inner())
    }
}

type Shared = Arc<Inner>;

/// A running simulator; shuts down when dropped.
pub struct Running {
    pub addr: SocketAddr,
    shared: Shared,
    shutdown: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Running {
    /// `http://127.0.0.1:port`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The launcher URL of a user.
    pub fn launcher_url(&self, user: &str) -> String {
        format!("http://{}/?user={user}", self.addr)
    }

    /// The app instance password known to the simulated PBX and app service. Only for tests that check the
    /// digest formula; nothing in the simulator sends it anywhere.
    pub fn app_password(&self) -> String {
        self.shared.world().password().to_string()
    }

    /// The AppPlatform restarts the app instance: see [`runtime::restart`].
    pub async fn restart_service(&self) -> Result<(), String> {
        runtime::restart(&self.shared).await
    }

    /// Serves until the server fails.
    pub async fn wait(mut self) -> Result<(), String> {
        match self.task.take() {
            Some(t) => match t.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(format!("myApps simulator: {e}")),
                Err(e) => Err(format!("myApps simulator: {e}")),
            },
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // The runtime host's stdin closes: it drops the instance's database and exits.
        self.shared.world().detach_runtime();
        let _ = self.shutdown.send(true);
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

/// Starts the simulator on 127.0.0.1 and returns once it accepts connections.
pub async fn spawn(o: Options) -> Result<Running, String> {
    let mut world = World::new(&o)?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", o.port))
        .await
        .map_err(|e| {
            format!(
                "myApps simulator: cannot listen on 127.0.0.1:{}: {e}",
                o.port
            )
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("myApps simulator: {e}"))?;
    world.pbx.rebase(&format!("http://{addr}"));
    let pg = match o.pg.clone() {
        Some(u) => u,
        None => runtime::pg_url()?,
    };
    let (tx, rx) = watch::channel(false);
    let shared = Arc::new(Inner {
        world: Mutex::new(world),
        instance: Mutex::new(runtime::Instance::new(
            &o.runtime_host,
            &o.service,
            &pg,
            &o.service_config,
        )),
        www: o.www.clone(),
        pkg: o.pkg.clone(),
        manager: o.manager.clone(),
        addr,
        shutdown: rx.clone(),
    });
    // The app instance's service: the shipped kuando.js in the runtime host, on PostgreSQL. The PBX app
    // object connects to it as soon as it is up.
    runtime::start(&shared, false).await?;
    let app = router(shared.clone());
    let mut stop = rx;
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.changed().await;
            })
            .await
    });
    Ok(Running {
        addr,
        shared,
        shutdown: tx,
        task: Some(task),
    })
}

/// `kuando-sim myapps`: prints the launcher URLs and serves.
pub async fn run(o: Options) -> Result<(), String> {
    let users = o.users.clone();
    let (www, pkg) = (o.www.clone(), o.pkg.clone());
    let r = spawn(o).await?;
    println!(
        "myApps simulator (myApps + PBX + app service) on {}",
        r.base_url()
    );
    for u in users.iter().map(|u| u.trim()).filter(|u| !u.is_empty()) {
        println!("  launcher for {u}: {}", r.launcher_url(u));
    }
    for (what, dir) in [("app files", &www), ("wasm package", &pkg)] {
        let note = if dir.is_dir() {
            ""
        } else {
            "  (missing: its files answer 404)"
        };
        println!("  {what}: {}{note}", dir.display());
    }
    println!("  control API: {}/_sim/state", r.base_url());
    r.wait().await
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/", get(launcher_page))
        .route("/_sim/static/launcher.css", get(launcher_css))
        .route("/_sim/static/launcher.js", get(launcher_js))
        .route("/_sim/client", get(client_socket))
        .route("/_sim/state", get(state))
        .route("/_sim/presence", post(set_presence))
        .route("/_sim/call", post(call))
        .route("/_sim/license", post(set_license))
        .route("/_sim/scheme", post(set_scheme))
        .route("/_sim/lang", post(set_lang))
        .route("/_sim/manager", get(manager_page::page))
        .route("/_sim/static/manager.css", get(manager_page::css))
        .route("/_sim/static/manager.js", get(manager_page::js))
        .route("/_sim/manager/controls", get(manager_page::controls))
        .route("/_sim/manager/socket", get(manager_page::socket))
        .route("/_sim/pbx", get(manager_page::pbx_state))
        .route("/_sim/softphone", post(softphone))
        .route("/_sim/reload", post(reload))
        .route("/_sim/service/restart", post(restart_service))
        .route("/_sim/service/db-fault", post(db_fault))
        .route("/_sim/pbx/fault", post(pbx_fault))
        .fallback(instance)
        .with_state(shared)
}

// -------------------------------------------------------------------------------------------------------
// Launcher page

const LAUNCHER_HTML: &str = include_str!("../../static/launcher.html");
const LAUNCHER_CSS: &str = include_str!("../../static/launcher/launcher.css");
const LAUNCHER_JS: &str = include_str!("../../static/launcher/launcher.js");

fn text_response(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

async fn launcher_page() -> Response {
    text_response("text/html; charset=utf-8", LAUNCHER_HTML)
}

async fn launcher_css() -> Response {
    text_response("text/css; charset=utf-8", LAUNCHER_CSS)
}

async fn launcher_js() -> Response {
    text_response("text/javascript; charset=utf-8", LAUNCHER_JS)
}

#[derive(Deserialize)]
struct ClientQuery {
    user: Option<String>,
    lang: Option<String>,
    scheme: Option<String>,
}

/// The base URL the page used to reach us (the apps' `url` start parameter is built from it), if the Host
/// header is a plain host[:port]; else the address we listen on.
fn base_from(headers: &HeaderMap, addr: SocketAddr) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() < 256
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .map(|h| format!("http://{h}"))
        .unwrap_or_else(|| format!("http://{addr}"))
}

async fn client_socket(
    State(sh): State<Shared>,
    Query(q): Query<ClientQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let user = q.user.unwrap_or_default();
    if !sh.world().user_exists(&user) {
        return error(StatusCode::NOT_FOUND, &format!("no user {user:?}"));
    }
    let lang = q
        .lang
        .filter(|l| {
            (2..=8).contains(&l.len()) && l.chars().all(|c| c.is_ascii_alphabetic() || c == '-')
        })
        .unwrap_or_else(|| "en".into());
    let scheme = match q.scheme.as_deref() {
        Some("light") => "light",
        _ => "dark",
    }
    .to_string();
    let base = base_from(&headers, sh.addr);
    ws.on_upgrade(move |socket| async move {
        let (tx, rx) = mpsc::unbounded_channel();
        let sid = sh.world().add_session(&user, &base, &lang, &scheme, tx);
        pump(&sh, socket, rx, |text| sh.world().on_launcher(sid, text)).await;
        sh.world().remove_session(sid);
    })
}

/// Moves text frames between a websocket and the world until either side closes or the simulator stops.
async fn pump(
    sh: &Shared,
    socket: WebSocket,
    mut rx: mpsc::UnboundedReceiver<String>,
    on_text: impl Fn(&str),
) {
    let (mut sink, mut stream) = socket.split();
    let mut stop = sh.shutdown.clone();
    loop {
        tokio::select! {
            m = stream.next() => match m {
                Some(Ok(Message::Text(t))) => on_text(t.as_str()),
                // The AppPlatform and myApps speak JSON text only.
                Some(Ok(Message::Binary(_))) => on_text("<binary frame>"),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
            },
            out = rx.recv() => match out {
                Some(text) => {
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
            _ = stop.changed() => break,
        }
    }
    let _ = sink.close().await;
}

// -------------------------------------------------------------------------------------------------------
// The app instance: files and the app websocket

async fn instance(
    State(sh): State<Shared>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
    req: Request,
) -> Response {
    let path = req.uri().path().to_string();
    if path == INSTANCE_PATH || path == INSTANCE_PATH.trim_end_matches('/') {
        // While the instance's process is down (a restart), the AppPlatform has nobody to hand the
        // websocket to. [inferred] It refuses the upgrade; the clients retry with their back-off.
        if !sh.world().runtime_running() {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the app instance is not running",
            );
        }
        return match ws {
            Ok(ws) => ws.on_upgrade(move |socket| app_socket(sh, socket)),
            Err(_) => error(
                StatusCode::BAD_REQUEST,
                "the app websocket of the simulated AppPlatform: connect with ws://",
            ),
        };
    }
    let Some(rest) = path.strip_prefix(INSTANCE_PATH) else {
        return error(StatusCode::NOT_FOUND, &format!("not found: {path}"));
    };
    // The instance serves its files flat, as the runtime serves the root of `httpfiles.zip`: the pages and
    // shims from `--www`, the wasm and its glue (built into `--pkg`) beside them.
    // The PBX Manager plugin's files too; its manifest (plugins.json) is not served, as on the runtime.
    let flat = !rest.contains('/') && !sh.www.join(rest).is_file();
    let dir = if flat && sh.pkg.join(rest).is_file() {
        sh.pkg.clone()
    } else if flat && rest != "plugins.json" && sh.manager.join(rest).is_file() {
        sh.manager.clone()
    } else {
        sh.www.clone()
    };
    serve_file(&dir, rest, req, &path).await
}

/// One file from `dir` (ServeDir: MIME types incl. `application/wasm`, no `..` escapes, HEAD, ranges).
async fn serve_file(dir: &Path, sub: &str, req: Request, path: &str) -> Response {
    let (mut parts, body) = req.into_parts();
    parts.uri = match format!("/{sub}").parse::<Uri>() {
        Ok(u) => u,
        Err(_) => return error(StatusCode::BAD_REQUEST, "bad path"),
    };
    let req = Request::from_parts(parts, body);
    let not_found = || {
        error(
            StatusCode::NOT_FOUND,
            &format!(
                "not found: {path} (looked in {}; build the apps with ./build.sh)",
                dir.display()
            ),
        )
    };
    match ServeDir::new(dir).try_call(req).await {
        Ok(resp) if resp.status() == StatusCode::NOT_FOUND => not_found(),
        // A missing directory or a file used as a directory (ENOTDIR) is "not found" too.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound || e.raw_os_error() == Some(20) => {
            not_found()
        }
        Ok(resp) => {
            let mut resp = resp.map(Body::new);
            // The demo serves files that a rebuild replaces: never let the browser keep an old wasm.
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("reading {path}: {e}"),
        ),
    }
}

async fn app_socket(sh: Shared, socket: WebSocket) {
    let (tx, rx) = mpsc::unbounded_channel();
    let cid = sh.world().add_conn(tx);
    pump(&sh, socket, rx, |text| sh.world().on_app(cid, text)).await;
    sh.world().remove_conn(cid);
}

// -------------------------------------------------------------------------------------------------------
// Control API

fn error(status: StatusCode, text: &str) -> Response {
    (status, Json(json!({"error": text}))).into_response()
}

fn result(r: Result<Value, String>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) if e.starts_with("no user") || e.starts_with("no call") => {
            error(StatusCode::NOT_FOUND, &e)
        }
        Err(e) => error(StatusCode::BAD_REQUEST, &e),
    }
}

/// The JSON body of a control request, or a 400 that says what is wrong. Any content type: `curl -d` works.
fn body(b: &Bytes) -> Result<Value, String> {
    match serde_json::from_slice(b) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err("body must be a JSON object".into()),
        Err(e) => Err(format!("body is not JSON: {e}")),
    }
}

fn field<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

fn required<'a>(v: &'a Value, name: &str) -> Result<&'a str, String> {
    field(v, name).ok_or_else(|| format!("{name} missing (a string)"))
}

async fn state(State(sh): State<Shared>) -> Response {
    Json(sh.world().state_json()).into_response()
}

/// `{"user":"alice","activity":"busy","note":""}`
async fn set_presence(State(sh): State<Shared>, b: Bytes) -> Response {
    result(body(&b).and_then(|v| {
        let user = required(&v, "user")?;
        let p = Presence::new(
            field(&v, "activity").unwrap_or(""),
            field(&v, "note").unwrap_or(""),
        );
        sh.world().set_presence(user, p.clone(), "hand")?;
        Ok(json!({"user": user, "presence": p}))
    }))
}

/// `{"user":"alice","action":"incoming|outgoing|ringback|answer|hold|resume|hangup","id":1,"num":"..","dn":".."}`
async fn call(State(sh): State<Shared>, b: Bytes) -> Response {
    result(body(&b).and_then(|v| {
        let user = required(&v, "user")?;
        let action = required(&v, "action")?;
        let id = match v.get("id") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(
                n.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or("id must be a call number")?,
            ),
            Some(Value::String(s)) => Some(
                s.trim()
                    .parse::<u32>()
                    .map_err(|_| "id must be a call number")?,
            ),
            Some(_) => return Err("id must be a call number".into()),
        };
        sh.world()
            .phone(user, action, id, field(&v, "num"), field(&v, "dn"))
    }))
}

/// `{"user":"alice","license":"none|connector|withBusylight"}`
async fn set_license(State(sh): State<Shared>, b: Bytes) -> Response {
    result(body(&b).and_then(|v| {
        let user = required(&v, "user")?;
        let name = required(&v, "license")?;
        let l =
            world::parse_license(name).ok_or("license must be none, connector or withBusylight")?;
        sh.world().set_license(user, l)?;
        Ok(json!({"user": user, "license": name}))
    }))
}

/// `{"user":"alice","open":false}`: the user closes (or opens) the softphone app.
async fn softphone(State(sh): State<Shared>, b: Bytes) -> Response {
    result(body(&b).and_then(|v| {
        let user = required(&v, "user")?;
        let open = v
            .get("open")
            .and_then(Value::as_bool)
            .ok_or("open missing (true or false)")?;
        sh.world().softphone(user, open)?;
        Ok(json!({"user": user, "open": open}))
    }))
}

/// `{"user":"alice","frame":"hidden"}`: myApps prepares to reload that app (`PrepareReload`).
async fn reload(State(sh): State<Shared>, b: Bytes) -> Response {
    result(body(&b).and_then(|v| {
        let user = required(&v, "user")?;
        let frame = required(&v, "frame")?;
        sh.world().prepare_reload(user, frame)?;
        Ok(json!({"user": user, "frame": frame}))
    }))
}

/// `{"user":"alice","scheme":"light"}` (no user: every launcher)
async fn set_scheme(State(sh): State<Shared>, b: Bytes) -> Response {
    result(body(&b).and_then(|v| {
        let scheme = required(&v, "scheme")?;
        sh.world()
            .set_client(field(&v, "user"), Some(scheme), None)?;
        Ok(json!({"scheme": scheme}))
    }))
}

/// `{"user":"alice","lang":"de"}` (no user: every launcher)
async fn set_lang(State(sh): State<Shared>, b: Bytes) -> Response {
    result(body(&b).and_then(|v| {
        let lang = required(&v, "lang")?;
        sh.world().set_client(field(&v, "user"), None, Some(lang))?;
        Ok(json!({"lang": lang}))
    }))
}

/// `{"fail": N}`: the next N statements of the service's database fail.
async fn db_fault(State(sh): State<Shared>, b: Bytes) -> Response {
    result(body(&b).and_then(|v| {
        let n = v
            .get("fail")
            .and_then(Value::as_u64)
            .ok_or("expected {\"fail\": N}")?;
        let mut w = sh.world();
        if !w.runtime_running() {
            return Err("the app service is not running".to_string());
        }
        w.send_runtime(json!({"t": "dbFault", "fail": n}));
        Ok(json!({"fail": n}))
    }))
}

/// `{"refuse": "SetPresence", "times": N}` (N = -1: until `{"refuse": null}`): the PBX answers the next N
/// requests of that type from the service with an error, as it does for a deleted user.
async fn pbx_fault(State(sh): State<Shared>, b: Bytes) -> Response {
    result(body(&b).and_then(|v| {
        let fault = match v.get("refuse") {
            None | Some(Value::Null) => None,
            Some(Value::String(mt)) if !mt.trim().is_empty() => {
                let times = match v.get("times") {
                    None => 1,
                    Some(t) => t
                        .as_i64()
                        .filter(|t| *t >= -1)
                        .ok_or("\"times\" must be a whole number, -1 for until cleared")?,
                };
                Some((mt.trim().to_string(), times))
            }
            Some(_) => return Err("\"refuse\" must be a message type or null".to_string()),
        };
        sh.world().pbx_fault = fault.clone();
        Ok(match fault {
            Some((mt, times)) => json!({"refuse": mt, "times": times}),
            None => json!({"refuse": null}),
        })
    }))
}

async fn restart_service(State(sh): State<Shared>) -> Response {
    result(runtime::restart(&sh).await.map(|()| json!({"ok": true})))
}
