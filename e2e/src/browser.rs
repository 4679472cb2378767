//! A real Chromium driven through chromedriver: start, WebDriver session, frames, console, CDP, screenshots.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// The flags this machine's Chromium needs: headless without a GPU or sandbox, and no connection anywhere on
/// its own (the network is closed; a background request would only add noise and delay).
pub const CHROME_FLAGS: [&str; 9] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
];

/// Window size of every session: the launcher's three columns fit, and screenshots are the same each run.
pub const WINDOW: (u32, u32) = (1400, 900);

/// How long chromedriver may take to answer `/status` after it was started.
const DRIVER_START: Duration = Duration::from_secs(15);

fn program(env: &str, name: &str, fallback: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env).filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| PathBuf::from(fallback))
}

/// A port that was free a moment ago. chromedriver takes the number, not a socket, so there is a short race
/// with other programs; [`Driver::start`] retries with a new port if chromedriver exits at once.
fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("no free port on 127.0.0.1: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port on 127.0.0.1: {e}"))
}

/// A minimal blocking HTTP/1.1 request to chromedriver, for the two places where async is not available:
/// waiting for it to start (before a runtime-bound client exists) and ending the session in `Drop`.
fn plain_http(port: u16, method: &str, path: &str, timeout: Duration) -> Result<String, String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    // chromedriver keeps the connection open whatever the request says: read up to Content-Length.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok());
            if length.is_some_and(|l| buf.len() >= end + 4 + l) {
                break;
            }
        }
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// A chromedriver process on a free port of 127.0.0.1; killed when dropped.
#[derive(Debug)]
pub struct Driver {
    child: Child,
    pub port: u16,
}

impl Driver {
    pub fn start() -> Result<Driver, String> {
        let exe = program("CHROMEDRIVER", "chromedriver", "/usr/bin/chromedriver");
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port()?;
            let child = Command::new(&exe)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| {
                    format!(
                        "cannot start {} ({e}); install chromium-driver (./build.sh test does)",
                        exe.display()
                    )
                })?;
            let mut d = Driver { child, port };
            let deadline = Instant::now() + DRIVER_START;
            loop {
                if let Ok(Some(status)) = d.child.try_wait() {
                    last = format!("chromedriver exited at start ({status})");
                    break;
                }
                match plain_http(port, "GET", "/status", Duration::from_millis(500)) {
                    Ok(body) if body.contains("\"ready\":true") => return Ok(d),
                    Ok(body) => last = format!("chromedriver not ready: {body}"),
                    Err(e) => last = format!("chromedriver not answering: {e}"),
                }
                if Instant::now() > deadline {
                    return Err(format!(
                        "chromedriver did not start within {DRIVER_START:?}: {last}"
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Err(last)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebDriver command fantoccini has no method for: chromedriver's log and CDP endpoints.
#[derive(Debug)]
struct Raw {
    method: http::Method,
    path: String,
    body: Option<Value>,
}

impl WebDriverCompatibleCommand for Raw {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            self.method.clone(),
            self.body.as_ref().map(Value::to_string),
        )
    }
}

/// One entry of the browser's console as chromedriver reports it: console API calls of every frame of the
/// page (the apps' `console.log`), JavaScript errors, and network errors (which quote the request URL).
#[derive(Debug, Clone)]
pub struct ConsoleLine {
    pub level: String,
    /// `console-api`, `network`, `javascript`, ...
    pub source: String,
    /// The whole message as Chromium wrote it, e.g. `http://.../app.js 3:12 "kuando-log: ..."`.
    pub message: String,
}

impl ConsoleLine {
    /// The logged text: for a console API call Chromium writes `<script url> <line>:<col> "<text>"` with the
    /// text as a JSON string; anything else is returned as it is.
    pub fn text(&self) -> String {
        if let Some(start) = self.message.find(" \"") {
            let quoted = &self.message[start + 1..];
            if let Ok(Value::String(s)) = serde_json::from_str::<Value>(quoted) {
                return s;
            }
            // Several arguments: the first is still quoted at the start.
            let mut de = serde_json::Deserializer::from_str(quoted).into_iter::<Value>();
            if let Some(Ok(Value::String(s))) = de.next() {
                return s;
            }
        }
        self.message.clone()
    }
}

/// A Chromium session with a fresh profile. [`Browser::close`] ends it; if a test fails first, `Drop` still
/// ends the session (which quits Chromium) and stops chromedriver.
pub struct Browser {
    pub client: Client,
    session: Option<String>,
    console: Mutex<Vec<ConsoleLine>>,
    // Dropped in this order: session (Drop below), then chromedriver, then the profile directory.
    driver: Driver,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> Result<Browser, String> {
        Browser::start_with(&[]).await
    }

    /// A session with extra Chromium flags, e.g. `--ip-address-space-overrides=127.0.0.1:PORT=public` (Local
    /// Network Access tests: the page counts as public, the hub stays loopback).
    pub async fn start_with(extra: &[String]) -> Result<Browser, String> {
        let driver = Driver::start()?;
        let profile = tempfile::Builder::new()
            .prefix("kuando-e2e-chromium-")
            .tempdir()
            .map_err(|e| format!("cannot create a Chromium profile directory: {e}"))?;
        let mut args: Vec<String> = CHROME_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.push(format!("--window-size={},{}", WINDOW.0, WINDOW.1));
        args.extend(extra.iter().cloned());
        let mut options = json!({ "args": args });
        let chromium = program("CHROMIUM", "chromium", "/usr/bin/chromium");
        if chromium.is_file() {
            options["binary"] = json!(chromium);
        }
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": options,
            // The console of every frame, as chromedriver's log endpoint: how the tests read the apps' traces.
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let caps = match caps {
            Value::Object(m) => m,
            _ => return Err("capabilities are not an object".into()),
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url())
            .await
            .map_err(|e| format!("cannot open a Chromium session through chromedriver: {e}"))?;
        let session = client.session_id().await.ok().flatten();
        Ok(Browser {
            client,
            session,
            console: Mutex::new(Vec::new()),
            driver,
            _profile: profile,
        })
    }

    /// The browser process dies as in a crash, a power cut or a closed laptop lid: SIGKILL to Chromium's
    /// main process (found by this session's own profile directory), so no unload handler runs. Returns its
    /// pid. The session is gone with it; dropping the `Browser` then only stops chromedriver.
    pub fn kill(&mut self) -> Result<u32, String> {
        let mark = format!("--user-data-dir={}", self._profile.path().display());
        let mut main = None;
        for entry in std::fs::read_dir("/proc").map_err(|e| format!("/proc: {e}"))? {
            let Ok(entry) = entry else { continue };
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let args: Vec<String> = cmdline
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            // The browser process: our profile, and no --type= (renderers, GPU and utility processes have one).
            if args.contains(&mark) && !args.iter().any(|a| a.starts_with("--type=")) {
                main = Some(pid);
                break;
            }
        }
        let pid = main.ok_or("no Chromium process with this session's profile")?;
        let status = Command::new("kill")
            .arg("-KILL")
            .arg(pid.to_string())
            .status()
            .map_err(|e| format!("kill -KILL {pid}: {e}"))?;
        if !status.success() {
            return Err(format!("kill -KILL {pid}: {status}"));
        }
        self.session = None;
        Ok(pid)
    }

    /// Ends the session (Chromium quits) and stops chromedriver.
    pub async fn close(mut self) {
        if self.client.clone().close().await.is_ok() {
            self.session = None;
        }
    }

    async fn raw(
        &self,
        method: http::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        self.client
            .issue_cmd(Raw {
                method,
                path: path.to_string(),
                body,
            })
            .await
            .map_err(|e| format!("WebDriver {path}: {e}"))
    }

    /// Runs a Chrome DevTools Protocol command on the page (chromedriver's `goog/cdp/execute`).
    pub async fn cdp(&self, cmd: &str, params: Value) -> Result<Value, String> {
        self.raw(
            http::Method::POST,
            "goog/cdp/execute",
            Some(json!({ "cmd": cmd, "params": params })),
        )
        .await
    }

    /// Every console line since the session started. chromedriver hands out each entry once, so they are
    /// collected here.
    pub async fn console(&self) -> Result<Vec<ConsoleLine>, String> {
        let v = self
            .raw(
                http::Method::POST,
                "se/log",
                Some(json!({ "type": "browser" })),
            )
            .await?;
        let new: Vec<ConsoleLine> = v
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| ConsoleLine {
                        level: e["level"].as_str().unwrap_or_default().to_string(),
                        source: e["source"].as_str().unwrap_or_default().to_string(),
                        message: e["message"].as_str().unwrap_or_default().to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut all = self.console.lock().unwrap_or_else(|e| e.into_inner());
        all.extend(new);
        Ok(all.clone())
    }

    /// The trace lines of one app (`kuando-log:` or `kuando-config-log:`), in order.
    pub async fn traces(&self, prefix: &str) -> Result<Vec<String>, String> {
        Ok(self
            .console()
            .await?
            .iter()
            .map(ConsoleLine::text)
            .filter(|t| t.starts_with(prefix))
            .collect())
    }

    pub async fn goto(&self, url: &str) -> Result<(), String> {
        self.client
            .goto(url)
            .await
            .map_err(|e| format!("cannot open {url}: {e}"))
    }

    /// Runs JavaScript in the current frame and returns its result.
    pub async fn js(&self, script: &str) -> Result<Value, String> {
        self.client
            .execute(script, Vec::new())
            .await
            .map_err(|e| format!("script failed: {e}"))
    }

    /// Runs JavaScript with `arguments` in the current frame; a returned promise is awaited.
    pub async fn js_args(&self, script: &str, args: Vec<Value>) -> Result<Value, String> {
        self.client
            .execute(script, args)
            .await
            .map_err(|e| format!("script failed: {e}"))
    }

    /// Back to the page itself (out of any iframe).
    pub async fn top(&self) -> Result<(), String> {
        // At the top level "parent frame" is a no-op, so this is safe from anywhere one level deep.
        self.client
            .enter_parent_frame()
            .await
            .map_err(|e| format!("cannot leave the frame: {e}"))
    }

    /// Into the launcher's iframe named `name` (`config` or `hidden`), from wherever we are.
    pub async fn enter(&self, name: &str) -> Result<(), String> {
        self.top().await?;
        let f = self
            .client
            .find(Locator::Css(&format!("iframe[name=\"{name}\"]")))
            .await
            .map_err(|e| format!("no iframe {name:?} in the launcher: {e}"))?;
        f.enter_frame()
            .await
            .map_err(|e| format!("cannot enter iframe {name:?}: {e}"))
    }

    /// Runs `script` inside iframe `name` and comes back to the top.
    pub async fn js_in(&self, name: &str, script: &str) -> Result<Value, String> {
        self.enter(name).await?;
        let r = self.js(script).await;
        self.top().await?;
        r
    }

    pub async fn find(&self, css: &str) -> Result<Element, String> {
        self.client
            .find(Locator::Css(css))
            .await
            .map_err(|e| format!("{css} not found: {e}"))
    }

    /// Clicks an element of the current frame as a person would, after scrolling it to the middle of the view
    /// (WebDriver only scrolls it into view, where a sticky bar may cover it).
    pub async fn click(&self, css: &str) -> Result<(), String> {
        let el = self.find(css).await?;
        let arg = serde_json::to_value(&el).map_err(|e| e.to_string())?;
        self.client
            .execute("arguments[0].scrollIntoView({block: 'center'});", vec![arg])
            .await
            .map_err(|e| format!("cannot scroll to {css}: {e}"))?;
        el.click()
            .await
            .map_err(|e| format!("cannot click {css}: {e}"))
    }

    /// A screenshot of the whole window as PNG.
    pub async fn screenshot(&self, path: &Path) -> Result<(), String> {
        let png = self
            .client
            .screenshot()
            .await
            .map_err(|e| format!("screenshot failed: {e}"))?;
        save(path, &png)
    }

    /// A screenshot of one element (from the current frame) as PNG.
    pub async fn screenshot_of(&self, css: &str, path: &Path) -> Result<(), String> {
        let png = self
            .find(css)
            .await?
            .screenshot()
            .await
            .map_err(|e| format!("screenshot of {css} failed: {e}"))?;
        save(path, &png)
    }
}

fn save(path: &Path, png: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, png).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A test that failed never reached `close()`. Ending the session is what makes chromedriver quit
        // Chromium; killing chromedriver alone would leave the browser running. Blocking is fine here: it is
        // one local request, and the test is over.
        if let Some(id) = self.session.take() {
            let _ = plain_http(
                self.driver.port,
                "DELETE",
                &format!("/session/{id}"),
                Duration::from_secs(10),
            );
        }
    }
}
