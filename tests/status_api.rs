//! The live status API end to end in virtual time (issue 14): the real hidden app (`ConnectorApp`, with its
//! engine) provides `com.innovaphone.kuando.status`, the real config app (`ConfigApp`) consumes it, and a
//! relay between them plays myApps as the spec describes it (`RegisterApi`, `ApiModel` → `ApiUpdate`,
//! `ApiRequest` / `ApiResult`, `ApiConsumerClosed`). A fake hub answers the hidden app's requests.
#![cfg(not(target_arch = "wasm32"))]

use kuando_connector::config::Config;
use kuando_connector::config_app::i18n::Lang;
use kuando_connector::config_app::{self, Button, ConfigApp, CopyState};
use kuando_connector::connector_app::{ConnectorAction, ConnectorApp};
use kuando_connector::hub::{HubOutcome, HubRequest};
use kuando_connector::json::Json;
use kuando_connector::myapps::session::SessionEvent;
use kuando_connector::myapps::StartParams;
use kuando_connector::proto::{Envelope, License, Response};
use kuando_connector::status::API_STATUS;
use serde_json::{json, Value};

const TOKEN: &str = "Zq9-secret-token";
const HIDDEN: &str = "kuando";
const CONFIG: &str = "kuando-config";

/// What the fake hub reports: `None` = not reachable.
#[derive(Clone)]
struct Hub {
    up: bool,
    /// Answers no CORS preflight: a request with the token header fails in the browser.
    no_preflight: bool,
    running: Option<(&'static str, &'static str, &'static str)>,
    /// MS Teams' own priority, told when `currentpresence` is asked as MS Teams (`None`: this hub does not
    /// tell other senders' own priority).
    teams_own: Option<&'static str>,
}

impl Hub {
    fn answer(&self, r: &HubRequest) -> HubOutcome {
        if !self.up || (self.no_preflight && r.token_header.is_some()) {
            return HubOutcome::Network;
        }
        let asked_as_teams = r
            .body
            .as_deref()
            .is_some_and(|b| b.contains(r#""action":"currentpresence","sender":"MS Teams""#));
        let body = if let Some(event) = self.teams_own.filter(|_| asked_as_teams) {
            json!({"runningcommand": null, "ownpriority": {"action": "Light", "sender": "MS Teams",
                "eventtype": "Light", "eventname": event, "parameter": "{}"}})
            .to_string()
        } else if r.url.contains("currentpresence") {
            match self.running {
                None => json!({"runningcommand": null}),
                Some((s, t, e)) => json!({"runningcommand": {"action": "Light", "sender": s,
                    "eventtype": t, "eventname": e, "parameter": "{}"}}),
            }
            .to_string()
        } else if r.url.contains("busylightdevices") {
            // A hub that echoes the token back must not make it reach the diagnosis.
            format!(r#"[{{"ModelName":"Busylight UC Omega","echo":"{TOKEN}"}}]"#)
        } else {
            r#"{"response":"OK"}"#.to_string()
        };
        HubOutcome::Answer {
            status: 200,
            body: body.into_bytes(),
        }
    }
}

/// myApps on one client with the two apps, in virtual time. The hidden app's clock starts 5 s before the
/// config app's (different frames, different `performance.now()` origins).
struct World {
    now: u64,
    hidden: Option<ConnectorApp>,
    config: ConfigApp,
    hub: Hub,
    registered: bool,
    /// The model myApps keeps for the provider.
    model: Value,
    consumed: bool,
    /// Every `ApiModel` the hidden app posted.
    models_posted: usize,
    copied: Vec<String>,
}

const HIDDEN_AHEAD: u64 = 5_000;

impl World {
    fn new() -> World {
        World::new_with(true)
    }

    /// `config_opens`: the config app is open (it consumes the API); else it is closed all along.
    fn new_with(config_opens: bool) -> World {
        let hidden = ConnectorApp::new(&StartParams::parse(
            "?name=kuando&url=https%3A%2F%2Fap%2Fdom%2Finst%2Finnovaphone-kuando",
        ));
        let mut w = World {
            now: 0,
            hidden: Some(hidden),
            config: ConfigApp::new(Lang::En, true),
            hub: Hub {
                up: true,
                no_preflight: false,
                running: None,
                teams_own: None,
            },
            registered: false,
            model: json!({}),
            consumed: false,
            models_posted: 0,
            copied: Vec::new(),
        };
        if !config_opens {
            let _ = std::iter::from_fn(|| w.config.poll_action()).count();
        }
        w.settle();
        w
    }

    fn hidden(&mut self) -> &mut ConnectorApp {
        self.hidden.as_mut().expect("the hidden app runs")
    }

    fn hnow(&self) -> u64 {
        self.now + HIDDEN_AHEAD
    }

    /// The service logs the hidden app in and hands it license and settings.
    fn connect_service(&mut self, config: Config) {
        let t = self.hnow();
        let msg = |r: Response| Envelope::new(None, r).to_json();
        let h = self.hidden();
        h.handle_session(t, SessionEvent::Connected);
        h.handle_session(
            t,
            SessionEvent::Message(msg(Response::GetLicenseResult {
                license: Some(License::Connector),
                error: None,
            })),
        );
        h.handle_session(
            t,
            SessionEvent::Message(msg(Response::GetConfigResult {
                config: Some(config),
                error: None,
            })),
        );
        // myApps tells the own user; the PBX the own presence.
        h.handle_launcher(
            t,
            r#"{"mt":"ApiUpdate","apis":{"com.innovaphone.client":{"@client":{"model":{"user":{"sip":"alice"}}}}}}"#,
        );
        h.handle_launcher(
            t,
            r#"{"mt":"ApiResult","api":"com.innovaphone.client","provider":"@client","msg":{"mt":"PresenceUpdated","sip":"alice","presence":[{"contact":"tel:","activity":"","note":"in the office"}]}}"#,
        );
        self.settle();
    }

    fn update_to_config(&mut self) {
        let mut providers = serde_json::Map::new();
        if self.registered && self.hidden.is_some() {
            providers.insert(
                HIDDEN.into(),
                json!({"title": "Connector", "url": "", "info": {}, "model": self.model}),
            );
        }
        let text = json!({"mt": "ApiUpdate", "apis": {API_STATUS: providers}}).to_string();
        self.config
            .handle_api_update(self.now, &parse_update(&text));
    }

    /// Delivers everything both apps want until both are quiet.
    fn settle(&mut self) {
        for _ in 0..200 {
            let mut busy = false;
            let hnow = self.hnow();
            let hub = self.hub.clone();
            let mut hidden_posts = Vec::new();
            if let Some(h) = self.hidden.as_mut() {
                while let Some(a) = h.poll_action() {
                    busy = true;
                    match a {
                        ConnectorAction::PostToParent(t) => hidden_posts.push(t),
                        ConnectorAction::Hub { id, request, .. } => {
                            let out = hub.answer(&request);
                            h.handle_hub_result(hnow, id, out, 7);
                        }
                        _ => {}
                    }
                }
            }
            for t in hidden_posts {
                let v: Value = serde_json::from_str(&t).unwrap();
                match v["mt"].as_str() {
                    Some("RegisterApi") if v["api"] == API_STATUS => {
                        self.registered = true;
                        if self.consumed {
                            self.update_to_config();
                        }
                    }
                    Some("ApiModel") if v["api"] == API_STATUS => {
                        self.models_posted += 1;
                        self.model = v["model"].clone();
                        if self.consumed {
                            self.update_to_config();
                        }
                    }
                    Some("ApiResult") if v["api"] == API_STATUS => {
                        assert_eq!(v["consumer"], CONFIG);
                        let fwd = json!({"mt": "ApiResult", "api": API_STATUS, "provider": HIDDEN,
                                         "src": v["src"], "msg": v["msg"]})
                        .to_string();
                        let r = parse_msg(&fwd);
                        self.config.handle_api_result(self.now, &r);
                    }
                    _ => {}
                }
            }
            while let Some(a) = self.config.poll_action() {
                busy = true;
                match a {
                    config_app::ConfigAction::PostToParent(t) => {
                        let v: Value = serde_json::from_str(&t).unwrap();
                        match v["mt"].as_str() {
                            Some("ConsumeApi") if v["api"] == API_STATUS => {
                                self.consumed = true;
                                self.update_to_config();
                            }
                            Some("ApiRequest") if v["api"] == API_STATUS => {
                                assert_eq!(v["provider"], HIDDEN);
                                let fwd = json!({"mt": "ApiRequest", "api": API_STATUS,
                                    "consumer": CONFIG, "src": v["src"], "msg": v["msg"]})
                                .to_string();
                                let hnow = self.hnow();
                                if let Some(h) = self.hidden.as_mut() {
                                    h.handle_launcher(hnow, &fwd);
                                }
                            }
                            _ => {}
                        }
                    }
                    config_app::ConfigAction::Copy(r) => {
                        self.copied.push(r);
                        self.config.handle_copied(Ok(true));
                    }
                    // As the driver: the browser's facts at once.
                    config_app::ConfigAction::BrowserFacts => self
                        .config
                        .handle_env(vec![("user agent".into(), "Test/1".into())]),
                    _ => {}
                }
            }
            if !busy {
                return;
            }
        }
        panic!("the apps never went quiet");
    }

    /// Virtual time passes in 100 ms steps; both apps' timers fire.
    fn run_for(&mut self, ms: u64) {
        let end = self.now + ms;
        while self.now < end {
            self.now += 100;
            let hnow = self.hnow();
            if let Some(h) = self.hidden.as_mut() {
                if h.poll_timeout().is_some_and(|t| t <= hnow) {
                    h.handle_timeout(hnow);
                }
            }
            if self.config.poll_timeout().is_some_and(|t| t <= self.now) {
                self.config.handle_timeout(self.now);
            }
            self.settle();
        }
    }

    fn row(&self, key: &str) -> String {
        self.config
            .view()
            .status
            .iter()
            .find(|r| r.key == key)
            .map(|r| r.value.clone())
            .unwrap_or_else(|| format!("no row {key}"))
    }

    /// The hidden app's frame goes away: myApps drops the provider and tells its consumers.
    fn close_hidden(&mut self) {
        self.hidden = None;
        self.update_to_config();
        self.settle();
    }
}

fn parse_update(text: &str) -> kuando_connector::myapps::ApiUpdate {
    match kuando_connector::myapps::LauncherMsg::parse(text) {
        Ok(kuando_connector::myapps::LauncherMsg::ApiUpdate(u)) => u,
        other => panic!("not an ApiUpdate: {other:?}"),
    }
}

fn parse_msg(text: &str) -> kuando_connector::myapps::ApiMsg {
    match kuando_connector::myapps::LauncherMsg::parse(text) {
        Ok(kuando_connector::myapps::LauncherMsg::ApiResult(r)) => r,
        other => panic!("not an ApiResult: {other:?}"),
    }
}

fn configured() -> Config {
    Config {
        hub_url: "http://127.0.0.1:8989/".into(),
        token: TOKEN.into(),
        poll_interval: 1,
        ..Config::default()
    }
}

#[test]
fn the_panel_shows_what_the_hidden_app_sees_and_follows_it() {
    let mut w = World::new();
    w.connect_service(configured());
    w.run_for(3_000);
    assert_eq!(w.row("running"), "running");
    let hub = w.row("hub");
    assert!(
        hub.starts_with("http://127.0.0.1:8989/ — connected for "),
        "{hub}"
    );
    assert!(!hub.contains(TOKEN));
    // The models come from the config app's own check of the hub (not run in this world).
    assert_eq!(w.row("lamps"), "1");
    assert_eq!(w.row("other"), "nothing reported");

    // A Teams call on the hub: the panel says what it is and what the connector does about it.
    w.hub.running = Some(("MS Teams", "Light", "On-The-Phone"));
    w.run_for(1_500);
    assert_eq!(w.row("other"), "MS Teams: On-The-Phone → on the phone");
    // The PBX has not confirmed yet in this world; what the connector set and what it restores show.
    assert_eq!(w.row("presence"), "on the phone \"MS Teams\"");
    assert_eq!(w.row("restore"), "available \"in the office\"");

    // An application the table does not know.
    w.hub.running = Some(("Acme Chat", "Light", "Huddle"));
    w.run_for(1_500);
    assert_eq!(
        w.row("other"),
        "Acme Chat: Huddle → ignored: unknown application"
    );

    // The hub goes away: "not reachable", with the next try counting down on the config app's clock.
    w.hub.up = false;
    w.run_for(6_000);
    let hub = w.row("hub");
    assert!(hub.contains("not reachable for "), "{hub}");
    assert!(hub.contains("next try in "), "{hub}");
    assert!(
        w.row("error").starts_with("kuandoHUB not reachable ("),
        "{}",
        w.row("error")
    );

    // German.
    w.config.handle_lang(Lang::De);
    let hub = w.row("hub");
    assert!(hub.contains("nicht erreichbar seit"), "{hub}");
    assert!(hub.contains("nächster Versuch in"), "{hub}");

    // The frame goes: "not running on this client".
    w.config.handle_lang(Lang::En);
    w.close_hidden();
    let rows = w.config.view().status;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        w.row("running").starts_with("not running on this client"),
        "{}",
        w.row("running")
    );
}

/// The connector's presence colour is what the hub shows: where the hub does not tell what is under it,
/// the panel says the line may hide other apps' calls and which line to move; where a call was found under
/// it, which app's. English and German.
#[test]
fn the_panel_says_which_line_to_move_when_the_presence_colour_hides_calls() {
    let mut w = World::new();
    w.connect_service(configured());
    w.run_for(2_000);
    assert_eq!(w.row("ranking"), "no row ranking");
    w.hub.running = Some(("innovaphone myApps", "Presence", "Away"));
    w.run_for(1_500);
    assert_eq!(
        w.row("ranking"),
        "The connector's presence line may hide other apps' calls: if a call in MS Teams, Zoom or Webex \
         does not show you on the phone, move “innovaphone myApps” below MS Teams, Zoom and Webex in \
         kuandoHUB's platform priorities"
    );
    w.config.handle_lang(Lang::De);
    assert!(
        w.row("ranking")
            .ends_with("in den Plattform-Prioritäten von kuandoHUB „innovaphone myApps“ unter MS Teams, Zoom und Webex schieben"),
        "{}",
        w.row("ranking")
    );
    w.config.handle_lang(Lang::En);

    // A hub that tells: a Teams call under the colour is found, and named.
    w.hub.teams_own = Some("On-The-Phone");
    w.run_for(1_500);
    assert_eq!(w.row("presence"), "on the phone \"MS Teams\"");
    assert!(
        w.row("ranking").starts_with(
            "The connector's presence line hides other apps' calls (found: MS Teams): move"
        ),
        "{}",
        w.row("ranking")
    );
    w.config.handle_lang(Lang::De);
    assert!(
        w.row("ranking").starts_with(
            "Die Präsenz-Zeile des Connectors verdeckt Anrufe anderer Apps (gefunden: MS Teams):"
        ),
        "{}",
        w.row("ranking")
    );
}

#[test]
fn the_panel_says_when_the_token_goes_in_the_url_and_shows_and_clears_a_missed_call() {
    let mut w = World::new();
    w.hub.no_preflight = true;
    let remote = Config {
        hub_url: "http://192.168.0.100:8989/".into(),
        ..configured()
    };
    w.connect_service(remote);
    w.run_for(3_000);
    assert_eq!(
        w.row("token"),
        "kuandoHUB does not accept the token header; the token goes in the URL"
    );
    w.config.handle_lang(Lang::De);
    assert_eq!(
        w.row("token"),
        "kuandoHUB nimmt das Token im Header nicht an; das Token steht in der URL"
    );
    w.config.handle_lang(Lang::En);
    assert!(!w.config.view().missed_call);

    // A caller rings and gives up: the phone removes the call.
    let call = |mt: &str, extra: &str| {
        format!(
            r#"{{"mt":"ApiRequest","api":"com.innovaphone.phoneinfo","consumer":"softphone","src":"1","msg":{{"mt":"{mt}","id":7{extra}}}}}"#
        )
    };
    let t = w.hnow();
    w.hidden().handle_launcher(t, &call("CallAdded", ""));
    w.hidden()
        .handle_launcher(t, &call("CallUpdated", r#","dir":"i","state":"Alerting""#));
    w.settle();
    w.run_for(3_000);
    let t = w.hnow();
    w.hidden().handle_launcher(t, &call("CallRemoved", ""));
    w.settle();
    w.run_for(65_000);
    let missed = w.row("missed");
    assert!(
        missed.starts_with("missed call notification on the lamp since 62 s ago"),
        "{missed}"
    );
    assert!(w.config.view().missed_call);
    w.config.handle_lang(Lang::De);
    assert!(w
        .row("missed")
        .starts_with("Hinweis auf einen verpassten Anruf an der Lampe seit 62 s"));
    w.config.handle_lang(Lang::En);

    // "Clear missed call" in the config app ends it in the hidden app.
    let now = w.now;
    w.config.handle_click(now, Button::ClearMissedCall);
    w.settle();
    w.run_for(1_000);
    assert_eq!(w.row("missed"), "no row missed");
    assert!(!w.config.view().missed_call);
}

#[test]
fn the_next_try_counts_down_on_the_config_apps_clock() {
    let mut w = World::new();
    w.connect_service(configured());
    w.run_for(2_000);
    w.hub.up = false;
    w.run_for(3_000);
    let secs = |s: &str| -> u64 {
        let i = s.find("next try in ").expect(s) + "next try in ".len();
        s[i..].trim_end_matches(" s").parse().expect(s)
    };
    let before = w.row("hub");
    let a = secs(&before);
    // No new model in between: the config app moves its own display on.
    let posted = w.models_posted;
    w.now += 1_000;
    w.config.handle_timeout(w.now);
    let after = w.row("hub");
    assert_eq!(w.models_posted, posted);
    assert!(a >= 1 && secs(&after) == a - 1, "{before} → {after}");
}

#[test]
fn the_panel_names_the_browser_when_it_blocks_or_asks_for_local_network_access() {
    let mut w = World::new();
    w.connect_service(configured());
    w.run_for(2_000);
    // Denied: the panel says the browser blocks access, not "not reachable".
    let now = w.now;
    if let Some(h) = w.hidden.as_mut() {
        h.handle_local_network(now, "denied");
    }
    w.run_for(1_500);
    let hub = w.row("hub");
    assert!(
        hub.starts_with(
            "http://127.0.0.1:8989/ — the browser blocks access to kuandoHUB, next try in "
        ),
        "{hub}"
    );
    // The browser would ask and the hub does not answer: both causes are named.
    let now = w.now;
    if let Some(h) = w.hidden.as_mut() {
        h.handle_local_network(now, "prompt");
    }
    w.hub.up = false;
    w.run_for(6_000);
    let hub = w.row("hub");
    assert!(hub.contains("not reachable for "), "{hub}");
    assert!(
        hub.contains("(or the browser asks for permission to reach it)"),
        "{hub}"
    );
}

#[test]
fn nothing_is_published_without_a_watcher_and_then_only_changes() {
    // The config app is not there: myApps never hands the hidden app a consumer.
    let mut w = World::new_with(false);
    w.connect_service(configured());
    w.hub.running = Some(("MS Teams", "Light", "On-The-Phone"));
    w.run_for(10_000);
    assert_eq!(w.models_posted, 0, "published with nobody watching");
    assert!(!w.hidden().status_api().watched());

    // The config app opens and watches: one fresh model.
    w.consumed = true;
    w.update_to_config();
    w.settle();
    assert_eq!(w.models_posted, 1);
    assert_eq!(w.row("other"), "MS Teams: On-The-Phone → on the phone");
    // A steady state: polls go on, nothing changes, nothing is published.
    w.run_for(10_000);
    assert_eq!(w.models_posted, 1, "published without a change");
    // A change: published once.
    w.hub.running = None;
    w.run_for(2_000);
    let after_change = w.models_posted;
    assert!(after_change >= 2, "the change was not published");
    w.run_for(5_000);
    assert_eq!(w.models_posted, after_change);

    // myApps says the consumer is gone: quiet again, whatever changes.
    let hnow = w.hnow();
    w.hidden().handle_launcher(
        hnow,
        r#"{"mt":"ApiConsumerClosed","api":"com.innovaphone.kuando.status","consumer":"kuando-config"}"#,
    );
    assert!(!w.hidden().status_api().watched());
    w.hub.running = Some(("MS Teams", "Light", "On-The-Phone"));
    w.hub.up = false;
    w.run_for(10_000);
    assert_eq!(w.models_posted, after_change);
}

#[test]
fn a_model_myapps_kept_from_before_is_not_shown_until_the_watch_is_answered() {
    let mut w = World::new();
    let mut config = ConfigApp::new(Lang::En, true);
    let _ = std::iter::from_fn(|| config.poll_action()).count();
    let stale = json!({"mt": "ApiUpdate", "apis": {API_STATUS: {HIDDEN: {"model":
        {"v": 1, "run": true, "hub": "reachable", "since": 0, "calls": 3, "now": 1}}}}})
    .to_string();
    config.handle_api_update(0, &parse_update(&stale));
    let posted: Vec<_> = std::iter::from_fn(|| config.poll_action()).collect();
    assert!(
        posted.iter().any(
            |a| matches!(a, config_app::ConfigAction::PostToParent(t) if t.contains("\"Watch\""))
        ),
        "{posted:?}"
    );
    let rows = config.view().status;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].value.starts_with("starting"), "{rows:?}");
    drop(w.hidden.take());
}

#[test]
fn the_diagnosis_has_the_trace_detail_and_the_hub_answers_and_no_token() {
    let mut w = World::new();
    // Every trace flag off (the default): the console stays quiet, the ring still keeps the detail.
    w.connect_service(configured());
    w.hub.running = Some(("MS Teams", "Light", "On-The-Phone"));
    w.run_for(3_000);
    let hnow = w.hnow();
    w.hidden().handle_launcher(
        hnow,
        r#"{"mt":"ApiUpdate","apis":{"com.innovaphone.phone":{"softphone":{"model":{"calls":[{"id":1,"dir":"i","state":"Alerting"}]}}}}}"#,
    );
    w.settle();
    w.config.handle_click(w.now, Button::CopyDiagnosis);
    w.settle();
    assert_eq!(w.copied.len(), 1);
    let r = &w.copied[0];
    assert!(!r.contains(TOKEN), "token in the diagnosis:\n{r}");
    for p in ["accesstoken=Z", "http_token=Z"] {
        assert!(!r.contains(p), "{p} in the diagnosis:\n{r}");
    }
    // Lines that the flags kept off the console: hub requests, the hub's report, the call.
    for want in [
        "kuando-log: init http get request: http://127.0.0.1:8989/?action=currentpresence",
        "kuando-log: 3rd party state result: MS Teams / Light / On-The-Phone",
        "kuando-log: calls of softphone: 1",
        "kuando-log: Instance Connected",
        "busylightdevices (",
        "currentpresence (",
        "MS Teams: On-The-Phone → on the phone",
        "user agent: Test/1",
        "hidden app (innovaphone-kuando): ",
    ] {
        assert!(r.contains(want), "{want:?} missing from:\n{r}");
    }
    assert_eq!(w.config.view().copy, CopyState::Copied);
    assert_eq!(w.config.view().report.as_deref(), Some(r.as_str()));
    // Bounded: at most 200 trace lines, however long the app ran.
    let lines = r.lines().filter(|l| l.starts_with("kuando-log:")).count();
    assert!(lines <= 200, "{lines}");
}

#[test]
fn the_diagnosis_without_the_hidden_app_says_so_at_once() {
    let mut w = World::new();
    w.close_hidden();
    w.config.handle_click(w.now, Button::CopyDiagnosis);
    w.settle();
    assert_eq!(w.copied.len(), 1);
    assert!(w.copied[0].contains("not running on this client"));
}

#[test]
fn a_hidden_app_that_does_not_answer_the_diagnosis_does_not_block_it() {
    let mut w = World::new();
    w.connect_service(configured());
    w.run_for(1_000);
    // The request gets lost (the relay forgets it).
    w.config.handle_click(w.now, Button::CopyDiagnosis);
    let _ = std::iter::from_fn(|| w.config.poll_action()).count();
    assert_eq!(w.config.view().copy, CopyState::Collecting);
    w.run_for(kuando_connector::config_app::live::DIAGNOSIS_TIMEOUT_MS + 200);
    assert_eq!(w.copied.len(), 1);
    assert!(w.copied[0].contains("no answer"));
}

#[test]
fn the_trace_ring_keeps_two_hundred_lines_even_after_hours() {
    let mut w = World::new();
    w.connect_service(configured());
    // A long day: a flapping hub, Teams calls, hundreds of calls.
    for i in 0..400 {
        w.hub.up = i % 40 != 0;
        w.hub.running = if i % 3 == 0 {
            Some(("MS Teams", "Light", "On-The-Phone"))
        } else {
            None
        };
        let calls = if i % 2 == 0 {
            r#"[{"id":1,"dir":"i","state":"Alerting"}]"#
        } else {
            "[]"
        };
        let hnow = w.hnow();
        w.hidden().handle_launcher(
            hnow,
            &format!(r#"{{"mt":"ApiUpdate","apis":{{"com.innovaphone.phone":{{"softphone":{{"model":{{"calls":{calls}}}}}}}}}}}"#),
        );
        w.run_for(1_000);
    }
    let ring = w.hidden().engine().trace_ring();
    assert_eq!(ring.len(), kuando_connector::ring::TRACE_RING_LINES);
    assert!(ring.lines().all(|l| l.starts_with("kuando-log: ")));
    assert!(ring.lines().all(|l| !l.contains(TOKEN)));
    let _ = Json::Null;
}
