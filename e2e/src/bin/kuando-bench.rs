//! `kuando-bench` (`./build.sh bench`): the hidden app's figures from a real Chromium run, each next to its
//! target from issue 5. Not a test: it prints, it does not judge (a figure over its target is marked).
//!
//! ```text
//! kuando-bench [--minutes N] [--calls N] [--presence N]
//!   --minutes N    length of the idle phase (request rates, heap growth); default 10, fractions allowed
//!   --calls N      phone calls for the call event → hub request latency (3 events each); default 20
//!   --presence N   MS Teams calls for the hub change → PBX presence latency (2 changes each); default 10
//! ```
//!
//! How each figure is measured:
//! - **Bytes**: the files the hidden app loads (htm, shim, wasm-bindgen glue, wasm), raw and gzip -9, and what the
//!   browser's resource timing says it decoded.
//! - **Page load → first hub request**: the hidden iframe's own resource timing: `startTime` of the first request
//!   to the hub URL, counted from the iframe's navigation start.
//! - **Call event → hub request**: from the moment the myApps simulator posts the phoneinfo event towards the
//!   hidden app to the moment the hub simulator receives the lamp command. Both simulators log with their own
//!   millisecond clocks; each clock is mapped to wall time by timing a request of our own (error < 1 ms).
//! - **Hub change → PBX presence**: from setting the MS Teams source on the hub (in this process) to the app
//!   service receiving the hidden app's `SetPresence`.
//! - **Idle rates**: hub requests and service messages of the hidden app while nothing changes, with the config
//!   app closed (as it is most of the day).
//! - **Heap**: V8 heap of the page after a forced GC (CDP `HeapProfiler.collectGarbage`, `Runtime.getHeapUsage`)
//!   at the start and the end of the idle phase. The page's isolate also holds the simulated myApps launcher,
//!   so this is an upper bound for the hidden app. Its wasm linear memory is reported beside it.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use flate2::write::GzEncoder;
use flate2::Compression;
use kuando_e2e::{pkg_dir, wait_until, www_dir, Setup, Story, SENDER};
use serde_json::{json, Value};

struct Args {
    minutes: f64,
    calls: usize,
    presence: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        minutes: 10.0,
        calls: 20,
        presence: 10,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match flag.as_str() {
            "--minutes" => {
                a.minutes = value("--minutes")?
                    .parse()
                    .ok()
                    .filter(|m: &f64| *m > 0.0 && *m <= 240.0)
                    .ok_or("--minutes: a number of minutes, 0 < N ≤ 240")?
            }
            "--calls" => {
                a.calls = value("--calls")?
                    .parse()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or("--calls: 1..1000")?
            }
            "--presence" => {
                a.presence = value("--presence")?
                    .parse()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or("--presence: 1..1000")?
            }
            "-h" | "--help" => {
                return Err(
                    "usage: kuando-bench [--minutes N] [--calls N] [--presence N]".to_string(),
                )
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(a)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("kuando-bench: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kuando-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn out(line: &str) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{line}");
    let _ = o.flush();
}

/// One figure next to its target; `ok` is `None` for figures without a target.
fn figure(name: &str, value: &str, target: &str, ok: Option<bool>) {
    let mark = match ok {
        Some(true) => "ok",
        Some(false) => "OVER TARGET",
        None => "",
    };
    out(&format!("  {name:<44} {value:>22}   {target:<34} {mark}"));
}

fn now_epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

fn gzip_len(data: &[u8]) -> usize {
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    if e.write_all(data).is_err() {
        return 0;
    }
    e.finish().map(|v| v.len()).unwrap_or(0)
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn kb(bytes: usize) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

// ----- clocks --------------------------------------------------------------------------------------------

/// Maps a simulator's log clock (ms since it started) to wall-clock ms: `wall = sim + offset`.
#[derive(Debug, Clone, Copy)]
struct Clock {
    offset: f64,
    /// Half the round trip of the calibrating request: the mapping's error bound.
    error: f64,
}

impl Clock {
    fn wall(&self, sim_ms: f64) -> f64 {
        sim_ms + self.offset
    }
}

/// The hub simulator's clock, from its log entries for `GET /` probes of our own.
async fn hub_clock(story: &Story, http: &reqwest::Client) -> Result<Clock, String> {
    let mut best: Option<Clock> = None;
    for _ in 0..5 {
        let before = now_epoch_ms();
        http.get(story.sims.hub_url())
            .send()
            .await
            .map_err(|e| format!("hub probe: {e}"))?;
        let after = now_epoch_ms();
        let h = story.sims.hub_state()?;
        let t = h["log"]
            .as_array()
            .and_then(|l| l.iter().rev().find(|e| e["action"] == "probe"))
            .and_then(|e| e["t_ms"].as_f64())
            .ok_or("the hub did not log our probe")?;
        let c = Clock {
            offset: (before + after) / 2.0 - t,
            error: (after - before) / 2.0 + 1.0,
        };
        if best.is_none_or(|b| c.error < b.error) {
            best = Some(c);
        }
    }
    best.ok_or_else(|| "no hub clock".into())
}

/// The myApps simulator's clock, from its log note when we set the presence of `bob` (who has no launcher open,
/// so nothing else happens).
async fn myapps_clock(story: &Story) -> Result<Clock, String> {
    let mut best: Option<Clock> = None;
    for i in 0..5 {
        let before = now_epoch_ms();
        story
            .sims
            .set_presence("bob", "away", &format!("clock {i}"))
            .await?;
        let after = now_epoch_ms();
        let m = story.sims.myapps_state().await?;
        let t = m["log"]
            .as_array()
            .and_then(|l| {
                l.iter().rev().find(|e| {
                    e["text"]
                        .as_str()
                        .is_some_and(|t| t.contains(&format!("clock {i}")))
                })
            })
            .and_then(|e| e["ms"].as_f64())
            .ok_or("the myApps simulator did not log our presence")?;
        let c = Clock {
            offset: (before + after) / 2.0 - t,
            error: (after - before) / 2.0 + 1.0,
        };
        if best.is_none_or(|b| c.error < b.error) {
            best = Some(c);
        }
    }
    best.ok_or_else(|| "no myApps clock".into())
}

// ----- measurements --------------------------------------------------------------------------------------

async fn sizes(story: &Story) -> Result<(), String> {
    out("\nBytes the hidden app loads (innovaphone-kuando):");
    let files = [
        www_dir().join("innovaphone-kuando.htm"),
        www_dir().join("innovaphone-kuando.js"),
        pkg_dir().join("kuando_connector.js"),
        pkg_dir().join("kuando_connector_bg.wasm"),
    ];
    let (mut raw, mut gz) = (0, 0);
    for f in &files {
        let data = std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let g = gzip_len(&data);
        raw += data.len();
        gz += g;
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        out(&format!(
            "  {name:<44} {:>9} B raw {:>9} B gzip",
            data.len(),
            g
        ));
    }
    figure("total raw", &kb(raw), "≤ 300 KB", Some(raw <= 300_000));
    figure("total gzip -9", &kb(gz), "≤ 110 KB", Some(gz <= 110_000));
    // What the browser really loaded, from the hidden iframe's own resource timing.
    let v = story
        .browser
        .js_in(
            "hidden",
            r#"const nav = performance.getEntriesByType('navigation')[0];
               const res = performance.getEntriesByType('resource')
                 .filter((e) => e.name.startsWith(location.origin));
               return [nav, ...res].filter(Boolean)
                 .map((e) => ({name: e.name.split('?')[0].split('/').pop(), size: e.decodedBodySize}));"#,
        )
        .await?;
    let loaded: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| format!("{} {} B", e["name"].as_str().unwrap_or("?"), e["size"]))
        .collect();
    let total: u64 = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["size"].as_u64())
        .sum();
    out(&format!(
        "  browser resource timing: {} (decoded total {})",
        loaded.join(", "),
        kb(total as usize)
    ));
    Ok(())
}

async fn first_hub_request(story: &Story) -> Result<(), String> {
    out("\nStart-up of the hidden app (its own resource timing, from its navigation start):");
    let hub = story.sims.hub_url();
    let script = format!(
        r#"const nav = performance.getEntriesByType('navigation')[0];
           const hub = performance.getEntriesByType('resource').find((e) => e.name.startsWith({hub:?}));
           return {{load: nav ? nav.loadEventEnd : null, hub: hub ? hub.startTime : null}};"#
    );
    let v = wait_until(
        "the hidden app's first hub request",
        Duration::from_secs(10),
        || async {
            let v = story.browser.js_in("hidden", &script).await?;
            if v["hub"].is_f64() {
                Ok(v)
            } else {
                Err(format!("{v}"))
            }
        },
    )
    .await?;
    let load = v["load"].as_f64();
    let first = v["hub"].as_f64().unwrap_or(f64::NAN);
    if let Some(l) = load {
        figure("page loaded (load event)", &format!("{l:.0} ms"), "", None);
    }
    figure(
        "page load → first hub request",
        &format!("{first:.0} ms"),
        "(no target; reported)",
        None,
    );
    Ok(())
}

/// The first phoneinfo message the myApps simulator sent to the hidden app after `after_seq`: (seq, wall ms).
fn phoneinfo_sent(m: &Value, after_seq: u64, clock: Clock) -> Option<(u64, f64)> {
    m["log"].as_array()?.iter().find_map(|e| {
        let seq = e["seq"].as_u64()?;
        let text = e["text"].as_str()?;
        (seq > after_seq
            && e["peer"] == "hidden"
            && e["dir"] == "out"
            && text.contains("com.innovaphone.phoneinfo"))
        .then(|| (seq, clock.wall(e["ms"].as_f64().unwrap_or(0.0))))
    })
}

/// The first lamp command of the connector the hub received after request `after_seq`: (seq, wall ms).
fn lamp_command(h: &Value, after_seq: u64, clock: Clock) -> Option<(u64, f64)> {
    h["log"].as_array()?.iter().find_map(|e| {
        let seq = e["seq"].as_u64()?;
        (seq > after_seq && e["sender"] == SENDER && e["method"] == "POST")
            .then(|| (seq, clock.wall(e["t_ms"].as_f64().unwrap_or(0.0))))
    })
}

fn myapps_max_seq(m: &Value) -> u64 {
    m["log"]
        .as_array()
        .and_then(|l| l.last())
        .and_then(|e| e["seq"].as_u64())
        .unwrap_or(0)
}

async fn call_latency(
    story: &Story,
    calls: usize,
    hub: Clock,
    myapps: Clock,
) -> Result<(), String> {
    out(&format!(
        "\nCall event → hub request ({calls} calls: ring, answer, hang up; clock error ≤ {:.1} ms):",
        hub.error + myapps.error
    ));
    let mut samples = Vec::new();
    for _ in 0..calls {
        for action in ["incoming", "answer", "hangup"] {
            let m_seq = myapps_max_seq(&story.sims.myapps_state().await?);
            let h_seq = story.sims.hub_requests()?;
            story.sims.phone(&story.user, action).await?;
            let (sent, hub_at) = wait_until(
                &format!("the lamp command for {action}"),
                Duration::from_secs(5),
                || async {
                    let m = story.sims.myapps_state().await?;
                    let h = story.sims.hub_state()?;
                    match (
                        phoneinfo_sent(&m, m_seq, myapps),
                        lamp_command(&h, h_seq, hub),
                    ) {
                        (Some((_, s)), Some((_, r))) => Ok((s, r)),
                        (s, r) => Err(format!(
                            "event sent: {}, command: {}",
                            s.is_some(),
                            r.is_some()
                        )),
                    }
                },
            )
            .await?;
            samples.push(hub_at - sent);
        }
    }
    samples.sort_by(f64::total_cmp);
    let p50 = percentile(&samples, 50.0);
    let p95 = percentile(&samples, 95.0);
    figure("p50", &format!("{p50:.1} ms"), "", None);
    figure(
        "p95",
        &format!("{p95:.1} ms"),
        "p95 ≤ 50 ms",
        Some(p95 <= 50.0),
    );
    figure(
        "max",
        &format!("{:.1} ms", samples.last().copied().unwrap_or(f64::NAN)),
        &format!("({} samples)", samples.len()),
        None,
    );
    Ok(())
}

/// The wall time the app service received the `n`-th `SetPresence` after `after_seq`.
fn set_presence_at(m: &Value, after_seq: u64, clock: Clock) -> Option<f64> {
    m["log"].as_array()?.iter().find_map(|e| {
        let seq = e["seq"].as_u64()?;
        (seq > after_seq
            && e["via"] == "app"
            && e["dir"] == "in"
            && e["text"]
                .as_str()
                .is_some_and(|t| t.contains("\"SetPresence\"")))
        .then(|| clock.wall(e["ms"].as_f64().unwrap_or(0.0)))
    })
}

async fn presence_latency(
    story: &Story,
    changes: usize,
    poll_ms: f64,
    myapps: Clock,
) -> Result<(), String> {
    out(&format!(
        "\nHub state change → PBX presence ({changes} MS Teams calls: start and end; poll interval {poll_ms:.0} ms):"
    ));
    let mut samples = Vec::new();
    for i in 0..changes {
        for (source, activity) in [
            (
                json!({"sender": "MS Teams", "eventtype": "Light", "eventname": "On-The-Phone"}),
                "on-the-phone",
            ),
            (json!({"sender": "MS Teams", "clear": true}), ""),
        ] {
            let m_seq = myapps_max_seq(&story.sims.myapps_state().await?);
            // Start at a different point of the poll cycle each time, as a real call would.
            let phase = (i as u64 * 377) % (poll_ms as u64).max(1);
            tokio::time::sleep(Duration::from_millis(phase)).await;
            let t0 = now_epoch_ms();
            story.sims.hub_source(source)?;
            let at = wait_until(
                &format!("PBX presence {activity:?}"),
                Duration::from_secs(10),
                || async {
                    let m = story.sims.myapps_state().await?;
                    let p = &m["users"][&story.user]["presence"];
                    match set_presence_at(&m, m_seq, myapps) {
                        Some(at) if p["activity"] == activity => Ok(at),
                        _ => Err(format!("presence {p}")),
                    }
                },
            )
            .await?;
            samples.push(at - t0);
        }
    }
    samples.sort_by(f64::total_cmp);
    let p50 = percentile(&samples, 50.0);
    let p95 = percentile(&samples, 95.0);
    let target = poll_ms + 300.0;
    figure("p50", &format!("{p50:.0} ms"), "", None);
    figure(
        "p95",
        &format!("{p95:.0} ms"),
        &format!("p95 ≤ poll + 300 ms = {target:.0} ms"),
        Some(p95 <= target),
    );
    figure(
        "max",
        &format!("{:.0} ms", samples.last().copied().unwrap_or(f64::NAN)),
        &format!("({} samples)", samples.len()),
        None,
    );
    Ok(())
}

/// V8 heap in use after a full GC, in bytes.
async fn heap_used(story: &Story) -> Result<f64, String> {
    story.browser.top().await?;
    story
        .browser
        .cdp("HeapProfiler.collectGarbage", json!({}))
        .await?;
    let v = story.browser.cdp("Runtime.getHeapUsage", json!({})).await?;
    v["usedSize"]
        .as_f64()
        .ok_or_else(|| format!("Runtime.getHeapUsage: {v}"))
}

/// Bytes of wasm linear memory in the hidden iframe (all `WebAssembly.Memory` objects of its window), found
/// through CDP because the wasm-bindgen glue keeps its memory to itself.
async fn wasm_memory(story: &Story) -> Result<f64, String> {
    let b = &story.browser;
    let doc = b
        .cdp("DOM.getDocument", json!({"depth": -1, "pierce": true}))
        .await?;
    fn find_hidden(n: &Value) -> Option<i64> {
        let attrs: Vec<&str> = n["attributes"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if n["nodeName"] == "IFRAME" && attrs.windows(2).any(|w| w == ["name", "hidden"]) {
            return n["contentDocument"]["nodeId"].as_i64();
        }
        n["children"].as_array()?.iter().find_map(find_hidden)
    }
    let node = find_hidden(&doc["root"]).ok_or("no hidden iframe document")?;
    let obj = b
        .cdp(
            "DOM.resolveNode",
            json!({"nodeId": node, "objectGroup": "bench"}),
        )
        .await?;
    let doc_id = obj["object"]["objectId"]
        .as_str()
        .ok_or("cannot resolve the hidden document")?
        .to_string();
    let proto = b
        .cdp(
            "Runtime.callFunctionOn",
            json!({"objectId": doc_id, "objectGroup": "bench",
                   "functionDeclaration": "function() { return this.defaultView.WebAssembly.Memory.prototype; }"}),
        )
        .await?;
    let proto_id = proto["result"]["objectId"]
        .as_str()
        .ok_or("no WebAssembly.Memory in the hidden app")?
        .to_string();
    let list = b
        .cdp(
            "Runtime.queryObjects",
            json!({"prototypeObjectId": proto_id, "objectGroup": "bench"}),
        )
        .await?;
    let list_id = list["objects"]["objectId"]
        .as_str()
        .ok_or("queryObjects gave nothing")?
        .to_string();
    let sum = b
        .cdp(
            "Runtime.callFunctionOn",
            json!({"objectId": list_id, "returnByValue": true,
                   "functionDeclaration": "function() { return this.reduce((s, m) => s + m.buffer.byteLength, 0); }"}),
        )
        .await?;
    let _ = b
        .cdp(
            "Runtime.releaseObjectGroup",
            json!({"objectGroup": "bench"}),
        )
        .await;
    sum["result"]["value"]
        .as_f64()
        .ok_or_else(|| format!("wasm memory: {sum}"))
}

/// The hidden app's app-websocket connection as the myApps simulator names it in its log (`app#N`).
fn hidden_conn(m: &Value) -> Option<String> {
    m["apps"].as_array()?.iter().find_map(|a| {
        (a["app"] == "innovaphone-kuando" && a["loggedIn"] == true)
            .then(|| format!("app#{}", a["id"]))
    })
}

async fn idle(story: &Story, minutes: f64, poll_ms: f64) -> Result<(), String> {
    out(&format!(
        "\nNothing changes for {minutes} min (config app closed, poll interval {poll_ms:.0} ms):"
    ));
    // The config app is closed most of the day; its own hub checks are not the hidden app's.
    story
        .browser
        .js("const f = document.querySelector('iframe[name=\"config\"]'); if (f) f.remove(); return true;")
        .await?;
    let m = story.sims.myapps_state().await?;
    let conn = hidden_conn(&m).ok_or("the hidden app is not logged in")?;
    // Let in-flight work finish: two polls after closing the config app.
    let seq = story.hub_seq()?;
    story.polls_after(seq, 2).await?;

    let heap0 = heap_used(story).await?;
    let wasm0 = wasm_memory(story).await.ok();
    let console0 = story.browser.console().await?.len();
    let h0 = story.sims.hub_requests()?;
    let mut m_seq = myapps_max_seq(&story.sims.myapps_state().await?);
    let (mut keepalives, mut others) = (0usize, Vec::new());
    let start = Instant::now();
    let total = Duration::from_secs_f64(minutes * 60.0);
    let mut next_report = Duration::from_secs(60);
    while start.elapsed() < total {
        tokio::time::sleep(Duration::from_secs(5).min(total - start.elapsed().min(total))).await;
        // The simulator keeps its last 2000 log entries; read them often enough to see every one.
        let m = story.sims.myapps_state().await?;
        for e in m["log"].as_array().into_iter().flatten() {
            let seq = e["seq"].as_u64().unwrap_or(0);
            if seq <= m_seq {
                continue;
            }
            m_seq = seq;
            if e["peer"] == conn.as_str() && e["dir"] == "in" {
                let text = e["text"].as_str().unwrap_or_default();
                if text.contains("\"KeepAlive\"") {
                    keepalives += 1;
                } else {
                    others.push(text.to_string());
                }
            }
        }
        if start.elapsed() >= next_report && start.elapsed() < total {
            let heap = heap_used(story).await?;
            out(&format!(
                "  … {:>4.1} min: {} hub requests, heap {:+.1} KB",
                start.elapsed().as_secs_f64() / 60.0,
                story.sims.hub_requests()? - h0,
                (heap - heap0) / 1000.0
            ));
            next_report += Duration::from_secs(60);
        }
    }
    let elapsed_min = start.elapsed().as_secs_f64() / 60.0;
    let hub_requests = story.sims.hub_requests()? - h0;
    let heap1 = heap_used(story).await?;
    let wasm1 = wasm_memory(story).await.ok();
    let console1 = story.browser.console().await?.len();

    let per_min = hub_requests as f64 / elapsed_min;
    let want = 60_000.0 / poll_ms;
    figure(
        "hub requests per minute",
        &format!("{per_min:.1}"),
        &format!("one per poll = {want:.0}/min"),
        Some((per_min - want).abs() <= want * 0.05 + 1.0),
    );
    let h = story.sims.hub_state()?;
    let mut kinds: Vec<String> = h["log"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["seq"].as_u64().is_some_and(|s| s > h0))
        .filter_map(|e| e["action"].as_str().map(String::from))
        .collect();
    kinds.sort();
    kinds.dedup();
    out(&format!(
        "  (actions of the idle requests still in the hub's log: {})",
        kinds.join(", ")
    ));
    figure(
        "service messages per minute (KeepAlive aside)",
        &format!("{:.2}", others.len() as f64 / elapsed_min),
        "0",
        Some(others.is_empty()),
    );
    for t in others.iter().take(5) {
        out(&format!("    {}", t.chars().take(160).collect::<String>()));
    }
    figure(
        "KeepAlive per minute",
        &format!("{:.2}", keepalives as f64 / elapsed_min),
        "(1 per 60 s)",
        None,
    );
    figure(
        "console lines per minute",
        &format!("{:.2}", (console1 - console0) as f64 / elapsed_min),
        "(quiet by default)",
        None,
    );
    let growth = heap1 - heap0;
    figure(
        "JS heap growth (page isolate, after GC)",
        &format!("{:+.1} KB", growth / 1000.0),
        "≤ 256 KB",
        Some(growth <= 256_000.0),
    );
    out(&format!(
        "  (heap {:.0} KB → {:.0} KB; includes the simulated myApps launcher)",
        heap0 / 1000.0,
        heap1 / 1000.0
    ));
    match (wasm0, wasm1) {
        (Some(a), Some(b)) => figure(
            "wasm linear memory of the hidden app",
            &format!("{:.0} → {:.0} KB", a / 1000.0, b / 1000.0),
            "(grows in 64 KiB pages)",
            None,
        ),
        _ => out("  wasm linear memory: not readable"),
    }
    Ok(())
}

async fn run(args: &Args) -> Result<(), String> {
    let poll_ms = 1000.0;
    out(&format!(
        "kuando-bench: hidden app in headless Chromium, simulators in-process, poll interval {poll_ms:.0} ms"
    ));
    let setup = Setup {
        users: vec!["alice".into(), "bob".into()],
        ..Default::default()
    };
    let mut story = Story::start("bench", setup).await?;
    story.start_product().await?;
    // Start-up is measured on a fresh start with the settings already stored, as every day after the first.
    story.browser.top().await?;
    story.browser.click("#restart").await?;
    // The restarted hidden app has polled the hub (the hub's state from before is still there, so the usual
    // readiness check would pass at once).
    let seq = story.hub_seq()?;
    story.polls_after(seq, 3).await?;
    story.hidden_app_ready().await?;
    story.config_loaded().await?;
    let http = reqwest::Client::new();
    let hub = hub_clock(&story, &http).await?;
    let myapps = myapps_clock(&story).await?;

    // Each phase reports on its own: one that cannot be measured (e.g. a feature still missing) is said so,
    // and the others still run.
    let mut failed = 0;
    let mut phase = |r: Result<(), String>| {
        if let Err(e) = r {
            failed += 1;
            out(&format!("  NOT MEASURED: {e}"));
        }
    };
    phase(sizes(&story).await);
    phase(first_hub_request(&story).await);
    phase(call_latency(&story, args.calls, hub, myapps).await);
    phase(presence_latency(&story, args.presence, poll_ms, myapps).await);
    phase(idle(&story, args.minutes, poll_ms).await);
    story.finish().await;
    if failed > 0 {
        Err(format!("{failed} measurement(s) could not be made"))
    } else {
        Ok(())
    }
}
