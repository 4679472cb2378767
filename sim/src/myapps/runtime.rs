//! The AppPlatform's JavaScript runtime, for the simulated app instance: the shipped `service/kuando.js` runs
//! in Duktape 2.7 (the runtime's engine) under `sim/runtime/host.js` (Node: the runtime's documented globals'
//! IO, the database on PostgreSQL), and this module starts that process, stops it, and moves its JSON lines
//! to and from [`super::world`], which plays the AppPlatform's network side (app websockets, the PBX app
//! object's connections).
//!
//! The line protocol is described at the top of `host.js`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot};

use super::Shared;

/// Where the runtime host and the shipped service are, in this repository.
pub fn default_host() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("runtime/host.js")
}

pub fn default_service() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../service")
}

/// The PostgreSQL cluster to put the instance's database in: `KUANDO_PG_URL` (set by `./build.sh test` and
/// `./build.sh demo`, which start and stop the cluster), else the repository's own cluster under
/// `target/pg`, started by `tools/pg.sh` when it is not running (it then stays up for the next run; stop it
/// with `tools/pg.sh stop`).
pub fn pg_url() -> Result<String, String> {
    if let Ok(u) = std::env::var("KUANDO_PG_URL") {
        if !u.trim().is_empty() {
            return Ok(u.trim().to_string());
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new("bash")
        .arg(root.join("tools/pg.sh"))
        .arg("start")
        .arg(root.join("target/pg"))
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("tools/pg.sh start: {e}"))?;
    let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || !url.starts_with("postgres://") {
        return Err(format!(
            "PostgreSQL for the app service did not start (tools/pg.sh start: {})",
            out.status
        ));
    }
    Ok(url)
}

/// A database name of its own for every simulated instance: tests run many side by side.
fn database_name() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("kuando_{}_{n}_{nanos:x}", std::process::id())
}

/// How long the host may take to connect the database, apply `database.init` and evaluate the service.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The simulated app instance's runtime: what it runs, its database, and the process while it runs.
pub(super) struct Instance {
    host: PathBuf,
    service: PathBuf,
    pg: String,
    config: Vec<String>,
    /// The instance's own database: created at the first start, kept across restarts, dropped when the
    /// simulator stops.
    database: String,
    /// The running process: a kill switch and the notice that it is gone.
    process: Option<(oneshot::Sender<()>, oneshot::Receiver<()>)>,
}

impl Instance {
    pub(super) fn new(host: &Path, service: &Path, pg: &str, config: &[String]) -> Instance {
        Instance {
            host: host.to_path_buf(),
            service: service.to_path_buf(),
            pg: pg.to_string(),
            config: config.to_vec(),
            database: database_name(),
            process: None,
        }
    }
}

/// The AppPlatform restarts the app instance (an update, a crash, the admin's "restart"): the process is
/// killed as it runs (the service gets no notice), every app websocket to the instance drops with it, and a
/// new process starts on the same database. Returns once the new service is evaluated.
pub(super) async fn restart(sh: &Shared) -> Result<(), String> {
    let process = sh.instance().process.take();
    if let Some((kill, gone)) = process {
        let _ = kill.send(());
        let _ = tokio::time::timeout(Duration::from_secs(10), gone).await;
    }
    start(sh, true).await
}

/// Starts the runtime host for the instance (`again`: on the database of an earlier start); returns once
/// the service is evaluated (or failed).
pub(super) async fn start(sh: &Shared, again: bool) -> Result<(), String> {
    let mut cmd = Command::new("node");
    {
        let i = sh.instance();
        cmd.arg(&i.host)
            .arg("--service")
            .arg(&i.service)
            .arg("--db")
            .arg(&i.pg)
            .arg("--database")
            .arg(&i.database);
        for item in &i.config {
            cmd.arg("--config").arg(item);
        }
    }
    if again {
        cmd.arg("--existing-database");
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("app service runtime: cannot start node: {e}"))?;
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err("app service runtime: no pipes".into());
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    sh.world().attach_runtime(tx);

    // simulator → host. When the world lets go of the sender (the simulator stops) stdin closes, and the
    // host drops the instance's database and exits on its own.
    tokio::spawn(async move {
        while let Some(line) = rx.recv().await {
            if stdin.write_all(line.as_bytes()).await.is_err()
                || stdin.write_all(b"\n").await.is_err()
            {
                break;
            }
        }
        let _ = stdin.shutdown().await;
    });

    let (ready_tx, ready_rx) = oneshot::channel::<Result<(), String>>();
    let sh_out = sh.clone();
    tokio::spawn(async move {
        let mut ready = Some(ready_tx);
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let r = sh_out.world().on_runtime(&line);
            if let Some(r) = r {
                if let Some(t) = ready.take() {
                    let _ = t.send(r);
                }
            }
        }
        if let Some(t) = ready.take() {
            let _ = t.send(Err(
                "app service runtime: exited before the service was ready".into(),
            ));
        }
    });

    let sh_err = sh.clone();
    let (err_tx, err_rx) = oneshot::channel::<Vec<String>>();
    tokio::spawn(async move {
        let mut first = Vec::new();
        let mut lines = BufReader::new(stderr).lines();
        let mut err_tx = Some(err_tx);
        while let Ok(Some(line)) = lines.next_line().await {
            if first.len() < 20 {
                first.push(line.clone());
            }
            sh_err.world().runtime_stderr(&line);
        }
        if let Some(t) = err_tx.take() {
            let _ = t.send(first);
        }
    });

    let sh_exit = sh.clone();
    let (kill_tx, kill_rx) = oneshot::channel::<()>();
    let (gone_tx, gone_rx) = oneshot::channel::<()>();
    sh.instance().process = Some((kill_tx, gone_rx));
    tokio::spawn(async move {
        let status = tokio::select! {
            s = child.wait() => s,
            Ok(()) = kill_rx => {
                let _ = child.start_kill();
                child.wait().await
            }
        };
        sh_exit.world().runtime_exited(&match status {
            Ok(s) => s.to_string(),
            Err(e) => e.to_string(),
        });
        let _ = gone_tx.send(());
    });

    match tokio::time::timeout(START_TIMEOUT, ready_rx).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(e))) => {
            let detail = tokio::time::timeout(Duration::from_secs(2), err_rx)
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default();
            let hint = if detail.iter().any(|l| l.contains("Cannot find module 'pg'")) {
                " (the npm package pg is missing: ./build.sh installs it, or (cd sim/runtime && npm ci))"
            } else {
                ""
            };
            Err(format!("{e}{hint}\n{}", detail.join("\n")))
        }
        Ok(Err(_)) => Err("app service runtime: stopped before it was ready".into()),
        Err(_) => Err(format!(
            "app service runtime: not ready within {} s",
            START_TIMEOUT.as_secs()
        )),
    }
}
