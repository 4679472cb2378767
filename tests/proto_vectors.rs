//! JSON vectors that keep the AppPlatform app service (`service/kuando.js`, JavaScript because the runtime is
//! JavaScript) in step with the Rust protocol types in `proto` and `config`.
//!
//! The vectors are built here from the real types: every request as the Rust apps serialise it, every result
//! kind, valid and invalid settings with the exact `FieldError`s of `Config::validate`, and malformed input
//! with the error it must get. For each message the expected answer is derived in Rust (`contract`) and
//! checked to be readable by the apps (`proto::parse_response`). The Node tests (`service/test/`) replay every
//! vector against the service, so a change on either side that is not made on the other fails a test.
//!
//! `service/test/vectors.json` is committed. When the Rust types change on purpose, refresh it with
//! `UPDATE_VECTORS=1 cargo test -p kuando-connector --test proto_vectors`, then make the Node tests pass.
//!
//! The same run keeps the Unicode tables in `service/kuando-text.js` (the block between the
//! `BEGIN/END GENERATED UNICODE TABLES` markers) equal to what Rust's `char::is_whitespace`, `is_control` and
//! `is_alphanumeric` say, because the settings rules use those and JavaScript has no exact equivalent.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use kuando_connector::config::{Config, Effect, FieldError, LampSetting, MAX_TEXT_LEN};
use kuando_connector::proto::{
    self, Envelope, ErrorCode, Health, License, PresenceGuard, Request, Response, ServiceError,
    API, MAX_MESSAGE_LEN,
};
use kuando_connector::state::Presence;
use serde_json::{json, Value};

const UPDATE_ENV: &str = "UPDATE_VECTORS";

fn repo_file(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn updating() -> bool {
    std::env::var(UPDATE_ENV).is_ok_and(|v| v == "1")
}

// ---------------------------------------------------------------------------------------------------------
// The world a vector runs in, as the Node tests set it up.
// ---------------------------------------------------------------------------------------------------------

/// How the PBX behaves for a vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pbx {
    /// Both PBX connections (PbxApi, PbxAdminApi) are up and answer.
    Answers,
    /// No PBX connection at all.
    Down,
    /// Connected, but `SetPresence` is answered with an error.
    Refuses,
    /// PbxApi connected, no PbxAdminApi: the app object lacks the Admin option.
    NoAdmin,
}

/// The environment of one vector. The default: nothing stored, database working, PBX answering and granting
/// both licenses, the connection licensed.
#[derive(Debug, Clone)]
struct Env {
    /// Settings text already stored for the user.
    stored: Option<String>,
    db_fails: bool,
    pbx: Pbx,
    /// The licenses `CheckAppLic` grants.
    licenses: Vec<License>,
    /// The runtime marks the connection `unlicensed`.
    unlicensed: bool,
    /// The message comes from the config app (`conn.app`), not the hidden app.
    config_app: bool,
}

impl Default for Env {
    fn default() -> Self {
        Env {
            stored: None,
            db_fails: false,
            pbx: Pbx::Answers,
            licenses: vec![License::WithBusylight, License::Connector],
            unlicensed: false,
            config_app: false,
        }
    }
}

impl Env {
    fn stored(text: &str) -> Env {
        Env {
            stored: Some(text.to_string()),
            ..Env::default()
        }
    }
    fn db_fails() -> Env {
        Env {
            db_fails: true,
            ..Env::default()
        }
    }
    fn pbx(pbx: Pbx) -> Env {
        Env {
            pbx,
            ..Env::default()
        }
    }
    fn licenses(licenses: &[License]) -> Env {
        Env {
            licenses: licenses.to_vec(),
            ..Env::default()
        }
    }
    fn config_app() -> Env {
        Env {
            config_app: true,
            ..Env::default()
        }
    }
    fn unlicensed(licenses: &[License], pbx: Pbx) -> Env {
        Env {
            licenses: licenses.to_vec(),
            unlicensed: true,
            pbx,
            ..Env::default()
        }
    }

    /// Only what differs from the default, so the file stays readable.
    fn to_json(&self) -> Value {
        let d = Env::default();
        let mut o = serde_json::Map::new();
        if let Some(s) = &self.stored {
            o.insert("stored".into(), json!(s));
        }
        if self.db_fails {
            o.insert("db".into(), json!("fails"));
        }
        match self.pbx {
            Pbx::Answers => {}
            Pbx::Down => {
                o.insert("pbx".into(), json!("down"));
            }
            Pbx::Refuses => {
                o.insert("pbx".into(), json!("refuses"));
            }
            Pbx::NoAdmin => {
                o.insert("pbx".into(), json!("noAdmin"));
            }
        }
        if self.licenses != d.licenses {
            o.insert("licenses".into(), json!(self.licenses));
        }
        if self.unlicensed {
            o.insert("unlicensed".into(), json!(true));
        }
        if self.config_app {
            o.insert("app".into(), json!("innovaphone-kuando-config"));
        }
        Value::Object(o)
    }

    /// What `CheckAppLic` for both licenses adds up to.
    fn license(&self) -> License {
        if self.licenses.contains(&License::WithBusylight) {
            License::WithBusylight
        } else if self.licenses.contains(&License::Connector) {
            License::Connector
        } else {
            License::None
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// The service contract: what the service answers to a text in an environment.
// ---------------------------------------------------------------------------------------------------------

/// Everything a message leads to.
struct Outcome {
    /// The answer to the sender.
    reply: Envelope<Response>,
    /// Pushed to the same user's other connections.
    push: Option<Envelope<Response>>,
    /// The `SetPresence` the PBX must receive: (activity, note). Sip, guid and `contact "tel:"` come from the
    /// connection and are checked by the Node tests.
    pbx: Option<(String, String)>,
}

fn service_error(code: ErrorCode) -> ServiceError {
    // The text is free-form and written by the service; the vectors leave it empty and the Node tests only
    // require it to be a non-empty string.
    ServiceError {
        code,
        text: String::new(),
        fields: Vec::new(),
    }
}

/// The name of a request kind: also its `mt`. Exhaustive, so a new kind does not compile until it is handled
/// here and in [`error_result`].
fn request_name(r: &Request) -> &'static str {
    match r {
        Request::GetConfig => "GetConfig",
        Request::SetConfig { .. } => "SetConfig",
        Request::SetPresence { .. } => "SetPresence",
        Request::GetLicense => "GetLicense",
        Request::ReportHealth { .. } => "ReportHealth",
    }
}

fn sample_requests() -> Vec<Request> {
    vec![
        Request::GetConfig,
        Request::SetConfig {
            config: Box::default(),
        },
        Request::SetPresence {
            activity: "busy".into(),
            note: String::new(),
            guard: None,
        },
        Request::GetLicense,
        Request::ReportHealth {
            client: "k1a2b3c4d5e6f7g8h9i0".into(),
            health: Health {
                run: true,
                hub: "ok".into(),
                lic: Some(License::WithBusylight),
                lamps: Some(1),
                local: true,
                err: None,
                build: "1.0.0".into(),
                browser: "Chrome 131".into(),
            },
        },
    ]
}

fn request_kinds() -> Vec<&'static str> {
    sample_requests().iter().map(request_name).collect()
}

/// `<mt>Result` carrying only an error.
fn error_result(kind: &str, error: ServiceError) -> Option<Response> {
    let error = Some(error);
    let req = sample_requests()
        .into_iter()
        .find(|r| request_name(r) == kind)?;
    Some(match req {
        Request::GetConfig => Response::GetConfigResult {
            config: None,
            error,
        },
        Request::SetConfig { .. } => Response::SetConfigResult {
            config: None,
            error,
        },
        Request::SetPresence { .. } => Response::SetPresenceResult { error },
        Request::GetLicense => Response::GetLicenseResult {
            license: None,
            error,
        },
        Request::ReportHealth { .. } => Response::ReportHealthResult { off: false, error },
    })
}

/// The rule for answering a message that cannot be processed: `src` is echoed when the text is a JSON object
/// whose `src` is a string; the answer is `<mt>Result` when its `mt` names a known request, else `Error`. An
/// unknown `mt` gets `Error`, not `<mt>Result`: the apps can read and pair `Error`, they cannot read a result
/// type they do not know. (JSON duplicates: the last one counts here, as in any JSON reader.)
fn unreadable(text: &str, code: ErrorCode) -> Envelope<Response> {
    let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let src = v.get("src").and_then(Value::as_str).map(str::to_string);
    let kind = v.get("mt").and_then(Value::as_str);
    let error = service_error(code);
    let msg = kind
        .and_then(|k| error_result(k, error.clone()))
        .unwrap_or(Response::Error { error });
    Envelope::new(src, msg)
}

fn contract(text: &str, env: &Env) -> Outcome {
    let only = |reply| Outcome {
        reply,
        push: None,
        pbx: None,
    };
    if text.len() > MAX_MESSAGE_LEN {
        return only(unreadable(text, ErrorCode::TooLarge));
    }
    let req = match proto::parse_request(text) {
        Ok(r) => r,
        Err(_) => return only(unreadable(text, ErrorCode::Malformed)),
    };
    let src = req.src;
    let err = |code| Some(service_error(code));
    match req.msg {
        Request::GetConfig => {
            let msg = if env.db_fails {
                Response::GetConfigResult {
                    config: None,
                    error: err(ErrorCode::Database),
                }
            } else {
                // Stored settings are read like `Config::from_json`; unreadable ones give the defaults.
                let config = env
                    .stored
                    .as_deref()
                    .map(|s| Config::from_json(s).unwrap_or_default())
                    .unwrap_or_default();
                Response::GetConfigResult {
                    config: Some(config),
                    error: None,
                }
            };
            only(Envelope::new(src, msg))
        }
        Request::SetConfig { config } => {
            let fields = config.validate();
            if !fields.is_empty() {
                let error = ServiceError {
                    code: ErrorCode::InvalidConfig,
                    text: String::new(),
                    fields,
                };
                return only(Envelope::new(
                    src,
                    Response::SetConfigResult {
                        config: None,
                        error: Some(error),
                    },
                ));
            }
            if env.db_fails {
                return only(Envelope::new(
                    src,
                    Response::SetConfigResult {
                        config: None,
                        error: err(ErrorCode::Database),
                    },
                ));
            }
            Outcome {
                reply: Envelope::new(
                    src,
                    Response::SetConfigResult {
                        config: Some((*config).clone()),
                        error: None,
                    },
                ),
                push: Some(Envelope::new(
                    None,
                    Response::ConfigChanged { config: *config },
                )),
                pbx: None,
            }
        }
        // A claim or a release, as the first message of a fresh instance, is relayed like a plain one: the
        // guard's behaviour across messages, connections and time is in service/test/guard.test.js.
        // Only the hidden app sets the presence (ARCHITECTURE.md, "Which app may do what").
        Request::SetPresence { .. } if env.config_app => only(Envelope::new(
            src,
            Response::SetPresenceResult {
                error: err(ErrorCode::Forbidden),
            },
        )),
        Request::SetPresence { activity, note, .. } => {
            // A connection the runtime marks unlicensed may still belong to a user with the with-busylight
            // license (the runtime checks only the license named after the app): the service asks the PBX
            // before refusing, and refuses when it cannot ask.
            let licensed = !env.unlicensed
                || (!matches!(env.pbx, Pbx::Down | Pbx::NoAdmin) && env.license() != License::None);
            let error = if !licensed {
                err(ErrorCode::Unlicensed)
            } else if matches!(env.pbx, Pbx::Down | Pbx::Refuses) {
                err(ErrorCode::Pbx)
            } else {
                None
            };
            let sent = licensed && env.pbx != Pbx::Down;
            Outcome {
                reply: Envelope::new(src, Response::SetPresenceResult { error }),
                push: None,
                pbx: sent.then_some((activity, note)),
            }
        }
        Request::GetLicense => {
            let msg = if env.pbx == Pbx::Down {
                Response::GetLicenseResult {
                    license: None,
                    error: err(ErrorCode::Pbx),
                }
            } else if env.pbx == Pbx::NoAdmin {
                Response::GetLicenseResult {
                    license: None,
                    error: err(ErrorCode::NoAdmin),
                }
            } else {
                Response::GetLicenseResult {
                    license: Some(env.license()),
                    error: None,
                }
            };
            only(Envelope::new(src, msg))
        }
        // Only the hidden app reports its client's health; the service keeps it (a failed write is only
        // logged: the next report brings it again), whatever the license.
        Request::ReportHealth { .. } if env.config_app => only(Envelope::new(
            src,
            Response::ReportHealthResult {
                off: false,
                error: err(ErrorCode::Forbidden),
            },
        )),
        Request::ReportHealth { client, health } => {
            if health_ok(&client, &health) {
                only(Envelope::new(
                    src,
                    Response::ReportHealthResult {
                        off: false,
                        error: None,
                    },
                ))
            } else {
                only(unreadable(text, ErrorCode::Malformed))
            }
        }
    }
}

/// The service's rules for a health report (service/fleet.js): a client id of 8 to 40 letters, digits, `-`
/// or `_`; the hub's state and the last problem one of its words; short texts without control characters.
fn health_ok(client: &str, h: &Health) -> bool {
    const HUB: [&str; 9] = [
        "ok",
        "unknown",
        "notConfigured",
        "unreachable",
        "tooOld",
        "unauthorized",
        "blocked",
        "asks",
        "notUnderstood",
    ];
    let text = |s: &str| s.encode_utf16().count() <= 40 && !s.chars().any(char::is_control);
    (8..=40).contains(&client.len())
        && client
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && HUB.contains(&h.hub.as_str())
        && h.err.as_deref().is_none_or(|e| HUB.contains(&e))
        && text(&h.build)
        && text(&h.browser)
}

// ---------------------------------------------------------------------------------------------------------
// The vectors.
// ---------------------------------------------------------------------------------------------------------

/// A message text, or a long one described by how to build it (keeps the file small).
enum Text {
    Plain(String),
    Padded {
        prefix: String,
        pad: String,
        count: usize,
        suffix: String,
    },
}

impl Text {
    fn build(&self) -> String {
        match self {
            Text::Plain(s) => s.clone(),
            Text::Padded {
                prefix,
                pad,
                count,
                suffix,
            } => format!("{prefix}{}{suffix}", pad.repeat(*count)),
        }
    }

    fn to_json(&self) -> (&'static str, Value) {
        match self {
            Text::Plain(s) => ("text", json!(s)),
            Text::Padded {
                prefix,
                pad,
                count,
                suffix,
            } => (
                "build",
                json!({"prefix": prefix, "pad": pad, "count": count, "suffix": suffix}),
            ),
        }
    }
}

struct Exchange {
    name: String,
    text: Text,
    env: Env,
    /// The service is stricter than serde here on purpose (see [`js_stricter`]).
    stricter: bool,
}

fn ex(name: impl Into<String>, text: impl Into<String>) -> Exchange {
    Exchange {
        name: name.into(),
        text: Text::Plain(text.into()),
        env: Env::default(),
        stricter: false,
    }
}

fn ex_env(name: impl Into<String>, text: impl Into<String>, env: Env) -> Exchange {
    Exchange {
        env,
        ..ex(name, text)
    }
}

fn rust_request(src: Option<&str>, r: Request) -> String {
    Envelope::new(src.map(str::to_string), r).to_json()
}

fn set_config_text(src: &str, config_json: &str) -> String {
    format!(r#"{{"api":"kuando","src":"{src}","mt":"SetConfig","config":{config_json}}}"#)
}

/// Settings with only the fields at the given JSON pointers: the service fills in the rest, as serde does
/// (a missing field takes its default; a missing lamp slot the scheme's default; a missing field of a
/// present lamp setting the setting's default). Partial settings keep the vectors small.
fn config_with(changes: &[(&str, Value)]) -> String {
    let mut v = json!({});
    for (pointer, value) in changes {
        let mut at = &mut v;
        let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
        for (i, part) in parts.iter().enumerate() {
            let obj = at
                .as_object_mut()
                .expect("pointers only go through objects");
            if i + 1 == parts.len() {
                obj.insert((*part).to_string(), value.clone());
                break;
            }
            at = obj.entry((*part).to_string()).or_insert_with(|| json!({}));
        }
    }
    v.to_string()
}

fn a_custom_config() -> Config {
    let mut c = Config {
        hub_url: "http://192.168.0.100:8989".into(),
        token: "s3cr&t".into(),
        poll_interval: 5,
        ..Config::default()
    };
    c.lamp.ringing = LampSetting {
        effect: Effect::Alert,
        color: "#00ff00".into(),
        sound: 7,
        volume: 50,
    };
    c.lamp.lunch.effect = Effect::Off;
    c.trace.hub = true;
    c
}

/// Every request kind as the Rust apps send it, in every environment that changes its answer.
fn message_exchanges() -> Vec<Exchange> {
    let get = rust_request(Some("1"), Request::GetConfig);
    let set_default = rust_request(
        Some("2"),
        Request::SetConfig {
            config: Box::default(),
        },
    );
    let set_custom = rust_request(
        Some("3"),
        Request::SetConfig {
            config: Box::new(a_custom_config()),
        },
    );
    let presence = rust_request(
        Some("4"),
        Request::SetPresence {
            activity: "busy".into(),
            note: "in a call".into(),
            guard: None,
        },
    );
    let license = rust_request(Some("5"), Request::GetLicense);
    let custom = a_custom_config().to_json();
    vec![
        ex("GetConfig, nothing stored: the defaults", get.clone()),
        ex(
            "GetConfig without src",
            rust_request(None, Request::GetConfig),
        ),
        ex_env(
            "GetConfig, settings stored",
            get.clone(),
            Env::stored(&custom),
        ),
        ex_env(
            "GetConfig, stored by another release: unknown fields dropped, missing ones defaulted",
            get.clone(),
            Env::stored(
                r##"{"pollInterval":9,"future":[1,{"x":2}],"lamp":{"dnd":{"color":"#010203"}}}"##,
            ),
        ),
        ex_env(
            "GetConfig, stored text unreadable: the defaults",
            get.clone(),
            Env::stored("not json"),
        ),
        ex_env(
            "GetConfig, stored text not an object: the defaults",
            get.clone(),
            Env::stored("[1,2]"),
        ),
        ex_env(
            "GetConfig, stored field of the wrong type: the defaults",
            get.clone(),
            Env::stored(r#"{"pollInterval":"5"}"#),
        ),
        ex_env("GetConfig, database fails", get, Env::db_fails()),
        ex("SetConfig, the defaults", set_default.clone()),
        ex("SetConfig, custom settings", set_custom.clone()),
        ex(
            "SetConfig without src",
            rust_request(
                None,
                Request::SetConfig {
                    config: Box::default(),
                },
            ),
        ),
        ex_env("SetConfig, database fails", set_custom, Env::db_fails()),
        ex_env(
            "SetConfig, invalid settings and database fails: the settings are checked first",
            set_config_text("x", &config_with(&[("/pollInterval", json!(0))])),
            Env::db_fails(),
        ),
        ex("SetPresence busy with note", presence.clone()),
        ex(
            "SetPresence available (empty activity and note)",
            rust_request(
                Some("6"),
                Request::SetPresence {
                    activity: String::new(),
                    note: String::new(),
                    guard: None,
                },
            ),
        ),
        ex(
            "SetPresence with fields defaulted",
            r#"{"api":"kuando","src":"7","mt":"SetPresence"}"#,
        ),
        ex(
            "SetPresence dnd with a #word note and non-ASCII",
            rust_request(
                Some("8"),
                Request::SetPresence {
                    activity: "dnd".into(),
                    note: "Bitte nicht stören #kuando ##1 😀".into(),
                    guard: None,
                },
            ),
        ),
        ex(
            "SetPresence claimed for the presence guard (on the phone, away to restore)",
            rust_request(
                Some("9"),
                Request::SetPresence {
                    activity: "on-the-phone".into(),
                    note: "MS Teams".into(),
                    guard: Some(PresenceGuard::Claim {
                        restore: Presence::new("away", "back at 3"),
                    }),
                },
            ),
        ),
        ex(
            "SetPresence claimed without restore (available is restored)",
            r#"{"api":"kuando","src":"10","mt":"SetPresence","activity":"busy","guard":"claim","restore":null}"#,
        ),
        ex(
            "SetPresence released with nothing guarded: relayed",
            rust_request(
                Some("11"),
                Request::SetPresence {
                    activity: "away".into(),
                    note: String::new(),
                    guard: Some(PresenceGuard::Release),
                },
            ),
        ),
        ex(
            "SetPresence with guard null: a plain one",
            r#"{"api":"kuando","src":"12","mt":"SetPresence","activity":"busy","guard":null}"#,
        ),
        ex_env(
            "SetPresence claimed, PBX down",
            rust_request(
                Some("13"),
                Request::SetPresence {
                    activity: "on-the-phone".into(),
                    note: "Zoom".into(),
                    guard: Some(PresenceGuard::Claim {
                        restore: Presence::available(),
                    }),
                },
            ),
            Env::pbx(Pbx::Down),
        ),
        ex_env(
            "SetPresence, PBX down",
            presence.clone(),
            Env::pbx(Pbx::Down),
        ),
        ex_env(
            "SetPresence, PBX refuses",
            presence.clone(),
            Env::pbx(Pbx::Refuses),
        ),
        ex_env(
            "SetPresence, unlicensed connection and no license at the PBX",
            presence.clone(),
            Env::unlicensed(&[], Pbx::Answers),
        ),
        ex_env(
            "SetPresence, unlicensed connection of a user with the with-busylight license",
            presence.clone(),
            Env::unlicensed(&[License::WithBusylight], Pbx::Answers),
        ),
        ex_env(
            "SetPresence, unlicensed connection of a user with the connector license",
            presence.clone(),
            Env::unlicensed(&[License::Connector], Pbx::Answers),
        ),
        ex_env(
            "SetPresence, unlicensed connection and PBX down",
            presence.clone(),
            Env::unlicensed(&[License::Connector], Pbx::Down),
        ),
        ex_env(
            "SetPresence, unlicensed connection and no Admin option",
            presence.clone(),
            Env::unlicensed(&[License::Connector], Pbx::NoAdmin),
        ),
        ex_env(
            "SetPresence, licensed connection and no Admin option",
            presence.clone(),
            Env::pbx(Pbx::NoAdmin),
        ),
        ex_env(
            "SetPresence from the config app is refused",
            presence,
            Env::config_app(),
        ),
        ex_env(
            "GetConfig from the config app",
            r#"{"api":"kuando","src":"cfg","mt":"GetConfig"}"#,
            Env::config_app(),
        ),
        ex("GetLicense, both licenses", license.clone()),
        ex_env(
            "GetLicense, with-busylight license",
            license.clone(),
            Env::licenses(&[License::WithBusylight]),
        ),
        ex_env(
            "GetLicense, connector license",
            license.clone(),
            Env::licenses(&[License::Connector]),
        ),
        ex_env(
            "GetLicense, no license",
            license.clone(),
            Env::licenses(&[]),
        ),
        ex_env(
            "GetLicense from an unlicensed connection still reports",
            license.clone(),
            Env::unlicensed(&[License::Connector], Pbx::Answers),
        ),
        ex_env("GetLicense, PBX down", license.clone(), Env::pbx(Pbx::Down)),
        ex_env(
            "GetLicense, app object without the Admin option",
            license,
            Env::pbx(Pbx::NoAdmin),
        ),
    ]
}

/// Settings through `SetConfig`: each either stored (and pushed) or refused with the exact field errors.
fn config_exchanges() -> Vec<Exchange> {
    let long_path = |n: usize| format!("http://hub/{}", "a".repeat(n - "http://hub/".len()));
    let astral_path = |n: usize| format!("http://hub/{}", "𝐀".repeat(n - "http://hub/".len()));
    let url_cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("only spaces", "   ".into()),
        ("no scheme", "localhost:8989".into()),
        ("javascript:", "javascript:alert(1)".into()),
        ("ftp", "ftp://hub/".into()),
        ("https:/ (one slash)", "https:/hub".into()),
        ("credentials", "http://user:pw@hub:8989/".into()),
        ("@ only", "http://@hub/".into()),
        ("trailing newline (control)", "http://hub:8989/\n".into()),
        ("NEL U+0085 (control)", "\u{85}http://hub/".into()),
        ("DEL (control)", "http://hub/\u{7f}".into()),
        ("no host", "http://".into()),
        ("empty authority", "http:///path".into()),
        ("port too big", "http://hub:99999/".into()),
        ("port 65536", "http://hub:65536/".into()),
        ("port 65535", "http://hub:65535/".into()),
        ("port 0", "http://hub:0/".into()),
        ("port 00080", "http://hub:00080/".into()),
        ("port 000080 (six digits)", "http://hub:000080/".into()),
        ("empty port", "http://hub:/".into()),
        ("port with letters", "http://hub:80a/".into()),
        ("two ports", "http://hub:8989:8989/".into()),
        ("space in host", "http://hub name/".into()),
        ("query", "http://hub/?a=1".into()),
        ("fragment", "http://hub/#x".into()),
        ("empty query", "http://hub/path?".into()),
        ("surrounding spaces are trimmed", " http://hub/ ".into()),
        (
            "surrounding NBSP are trimmed",
            "\u{a0}http://hub/\u{a0}".into(),
        ),
        (
            "surrounding U+2028 are trimmed",
            "\u{2028}http://hub/\u{2028}".into(),
        ),
        ("BOM is not trimmed", "\u{feff}http://hub/".into()),
        ("inner U+2028", "http://hub\u{2028}x/".into()),
        ("ideographic space", "http://hub\u{3000}x/".into()),
        ("upper-case scheme and host", "HTTP://Hub/".into()),
        ("mixed-case https", "HtTpS://hub".into()),
        ("IPv4 with port", "https://10.0.0.1:8989/".into()),
        ("IPv6 with port", "http://[::1]:8989/".into()),
        ("IPv6 without port", "http://[::1]/".into()),
        ("IPv6 empty port", "http://[::1]:/".into()),
        ("IPv6 zone id", "http://[fe80::1%25eth0]/".into()),
        ("IPv6 v4-mapped", "http://[::ffff:10.0.0.1]:80/".into()),
        ("empty brackets", "http://[]/".into()),
        ("open bracket", "http://[/".into()),
        ("bracket junk after", "http://[::1]x:80/".into()),
        ("bare IPv6", "http://::1/".into()),
        ("colons in host", "http://a:b:80/".into()),
        ("umlaut host", "http://büro-pc:8989/".into()),
        ("astral letter host", "http://𝐀/".into()),
        ("superscript digit host", "http://x²/".into()),
        ("fraction host", "http://½/".into()),
        ("Arabic-Indic digit host", "http://٣/".into()),
        ("titlecase letter host", "http://ǅ/".into()),
        ("combining mark host", "http://e\u{301}/".into()),
        ("connector punctuation host", "http://a‿b/".into()),
        ("middle dot host", "http://a·b/".into()),
        ("underscore, dot, dash host", "http://a_b.c-d/".into()),
        ("exclamation mark host", "http://a!b/".into()),
        ("percent-encoded host", "http://a%41/".into()),
        ("512 characters", long_path(MAX_TEXT_LEN)),
        ("513 characters", long_path(MAX_TEXT_LEN + 1)),
        ("600 characters", long_path(600)),
        ("512 code points beyond the BMP", astral_path(MAX_TEXT_LEN)),
        (
            "513 code points beyond the BMP",
            astral_path(MAX_TEXT_LEN + 1),
        ),
        (
            "513 characters, 512 after trimming",
            format!("{} ", long_path(MAX_TEXT_LEN)),
        ),
    ];
    let token_cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("512 characters", "x".repeat(MAX_TEXT_LEN)),
        ("513 characters", "x".repeat(MAX_TEXT_LEN + 1)),
        ("512 emoji", "😀".repeat(MAX_TEXT_LEN)),
        ("513 emoji", "😀".repeat(MAX_TEXT_LEN + 1)),
        ("space", "has space".into()),
        ("tab (control and space)", "tab\there".into()),
        ("NBSP", "a\u{a0}b".into()),
        ("NEL (control and space)", "a\u{85}b".into()),
        ("DEL", "a\u{7f}b".into()),
        ("line separator", "a\u{2028}b".into()),
        ("zero-width space is allowed", "a\u{200b}b".into()),
        ("BOM is allowed", "\u{feff}ab".into()),
        ("URL characters", "s3cr&t=#?/%".into()),
        (
            "513 characters with a tab: three errors",
            format!("\t{}", "x".repeat(MAX_TEXT_LEN)),
        ),
    ];
    let color_cases: Vec<(&str, &str)> = vec![
        ("upper and lower case", "#FF00aa"),
        ("without #", "ff0000"),
        ("surrounding spaces", " #ff0000 "),
        ("trailing newline is trimmed", "#ff0000\n"),
        ("NBSP trimmed", "\u{a0}#ff0000\u{a0}"),
        ("BOM not trimmed", "\u{feff}#ff0000"),
        ("five digits", "#ff000"),
        ("seven digits", "#ff00000"),
        ("not hex", "#gg0000"),
        ("two #", "##ff0000"),
        ("empty", ""),
        ("a name", "red"),
        ("full-width #", "＃ff0000"),
        ("inner space", "#ff 000"),
        ("full-width digits", "#ff００00"),
    ];

    let mut out = Vec::new();
    let mut n = 0;
    let mut push = |out: &mut Vec<Exchange>, name: String, config_json: String| {
        n += 1;
        out.push(ex(
            format!("SetConfig {name}"),
            set_config_text(&format!("c{n}"), &config_json),
        ));
    };
    for (name, url) in url_cases {
        push(
            &mut out,
            format!("hubUrl: {name}"),
            config_with(&[("/hubUrl", json!(url))]),
        );
    }
    for (name, token) in token_cases {
        push(
            &mut out,
            format!("token: {name}"),
            config_with(&[("/token", json!(token))]),
        );
    }
    for v in [0u64, 1, 2, 60, 61, u64::from(u32::MAX)] {
        push(
            &mut out,
            format!("pollInterval: {v}"),
            config_with(&[("/pollInterval", json!(v))]),
        );
    }
    for (name, color) in color_cases {
        push(
            &mut out,
            format!("lamp color: {name}"),
            config_with(&[("/lamp/busy/color", json!(color))]),
        );
    }
    for v in [0u64, 8, 9, 255] {
        push(
            &mut out,
            format!("lamp sound: {v}"),
            config_with(&[("/lamp/held/sound", json!(v))]),
        );
    }
    for v in [0u64, 100, 101, 255] {
        push(
            &mut out,
            format!("lamp volume: {v}"),
            config_with(&[("/lamp/ringing/volume", json!(v))]),
        );
    }
    for effect in ["light", "blink", "pulse", "alert", "jingle", "off"] {
        push(
            &mut out,
            format!("lamp effect: {effect}"),
            config_with(&[("/lamp/lunch/effect", json!(effect))]),
        );
    }
    push(
        &mut out,
        "every field bad, errors in the core's order".into(),
        config_with(&[
            ("/hubUrl", json!("ftp://hub")),
            ("/token", json!("a\u{7}b c")),
            ("/pollInterval", json!(0)),
            ("/lamp/ringing/volume", json!(101)),
            ("/lamp/held/sound", json!(9)),
            ("/lamp/dnd/color", json!("purple")),
            ("/lamp/away/color", json!("")),
            ("/lamp/away/sound", json!(200)),
            ("/lamp/away/volume", json!(200)),
            ("/lamp/lunch/color", json!("#12345")),
            ("/missedCall/effect", json!("alert")),
            ("/missedCall/color", json!("orange")),
            ("/missedCall/minutes", json!(1441)),
        ]),
    );
    for (name, value) in [
        ("/missedCall/minutes", json!(0)),
        ("/missedCall/minutes", json!(1440)),
        ("/missedCall/minutes", json!(1441)),
        ("/missedCall/minutes", json!(4294967295u64)),
        ("/missedCall/effect", json!("off")),
        ("/missedCall/effect", json!("blink")),
        ("/missedCall/color", json!("#00ff00")),
        ("/missedCall/color", json!("")),
        ("/missedCall/enabled", json!(false)),
    ] {
        push(
            &mut out,
            format!("missed call: {name} = {value}"),
            config_with(&[(name, value)]),
        );
    }
    for slot in [
        "ringing",
        "dialing",
        "connected",
        "held",
        "busy",
        "away",
        "dnd",
        "lunch",
    ] {
        push(
            &mut out,
            format!("lamp {slot}: all three bad"),
            config_with(&[
                (&format!("/lamp/{slot}/color"), json!("x")),
                (&format!("/lamp/{slot}/sound"), json!(9)),
                (&format!("/lamp/{slot}/volume"), json!(101)),
            ]),
        );
    }
    let raw: Vec<(&str, &str)> = vec![
        ("empty object: the defaults", "{}"),
        ("only pollInterval", r#"{"pollInterval":7}"#),
        (
            "unknown fields are dropped",
            r##"{"future":{"x":1},"sip":"bob","lamp":{"away":{"color":"#123456","glow":true}},"trace":{"all":true}}"##,
        ),
        (
            "a partial lamp setting takes the setting defaults, not the slot's",
            r##"{"lamp":{"ringing":{"color":"#00ff00"}}}"##,
        ),
        ("a partial trace", r#"{"trace":{"hub":true}}"#),
        ("an escaped key", r#"{"hub\u0055rl":"http://x/"}"#),
        (
            "a __proto__ key is just an unknown field",
            r#"{"__proto__":{"pollInterval":5},"constructor":1,"hasOwnProperty":2}"#,
        ),
        (
            "duplicate unknown fields are fine",
            r#"{"x":1,"x":2,"pollInterval":3}"#,
        ),
        ("escaped slash", r#"{"hubUrl":"http:\/\/hub\/"}"#),
        (
            "escaped surrogate pair in the token",
            r#"{"token":"\ud83d\ude00\uD83D\uDE00"}"#,
        ),
        (
            "numbers of every form in unknown fields",
            r#"{"a":-0,"b":1e-400,"c":2.5E+3,"d":-12,"e":123456789012345678901234567890}"#,
        ),
    ];
    for (name, cfg) in raw {
        push(&mut out, name.to_string(), cfg.to_string());
    }
    out
}

/// Input that must be answered with an error and change nothing.
fn malformed_exchanges() -> Vec<Exchange> {
    let nest = |depth: usize| {
        // `depth` containers in all: the envelope object plus nested arrays in an unknown field.
        format!(
            r#"{{"api":"kuando","src":"deep","mt":"GetConfig","x":{}0{}}}"#,
            "[".repeat(depth - 1),
            "]".repeat(depth - 1)
        )
    };
    let cfg = |name: &str, config: &str| {
        ex(
            format!("SetConfig {name}"),
            format!(r#"{{"api":"kuando","src":"m","mt":"SetConfig","config":{config}}}"#),
        )
    };
    let presence = |name: &str, fields: &str| {
        ex(
            format!("SetPresence {name}"),
            format!(r#"{{"api":"kuando","src":"p","mt":"SetPresence"{fields}}}"#),
        )
    };
    vec![
        presence("guard of an unknown kind", r#","guard":"grab""#),
        presence("guard not a string", r#","guard":true"#),
        presence("guard given twice", r#","guard":"claim","guard":"claim""#),
        presence(
            "restore not an object",
            r#","guard":"claim","restore":"available""#,
        ),
        presence(
            "restore activity not a string",
            r#","guard":"claim","restore":{"activity":7}"#,
        ),
        ex("empty text", ""),
        ex("only whitespace", " \n"),
        ex("cut off", r#"{"api":"kuando","mt":"GetConfig""#),
        ex("an array", "[]"),
        ex("a number", "5"),
        ex("a string", r#""GetConfig""#),
        ex("null", "null"),
        ex("empty object (no api, no mt)", "{}"),
        ex("no mt", r#"{"api":"kuando","src":"s"}"#),
        ex("mt is a number", r#"{"api":"kuando","src":"s","mt":5}"#),
        ex("unknown mt", r#"{"api":"kuando","src":"s","mt":"Nope"}"#),
        ex(
            "mt in the wrong case",
            r#"{"api":"kuando","src":"s","mt":"getconfig"}"#,
        ),
        ex("mt is empty", r#"{"api":"kuando","src":"s","mt":""}"#),
        ex(
            "a result sent as a request",
            r#"{"api":"kuando","src":"s","mt":"GetConfigResult"}"#,
        ),
        ex("no api", r#"{"src":"s","mt":"GetConfig"}"#),
        ex("api is a number", r#"{"api":5,"src":"s","mt":"GetConfig"}"#),
        ex(
            "src is a number (not echoed)",
            r#"{"api":"kuando","src":7,"mt":"GetConfig"}"#,
        ),
        ex(
            "src is an object",
            r#"{"api":"kuando","src":{},"mt":"GetLicense"}"#,
        ),
        ex(
            "duplicate api",
            r#"{"api":"kuando","api":"kuando","src":"s","mt":"GetConfig"}"#,
        ),
        ex(
            "duplicate src (the last is echoed)",
            r#"{"api":"kuando","src":"1","src":"2","mt":"GetConfig"}"#,
        ),
        ex(
            "duplicate mt",
            r#"{"api":"kuando","src":"s","mt":"SetConfig","config":{},"mt":"GetConfig"}"#,
        ),
        ex(
            "byte order mark",
            "\u{feff}{\"api\":\"kuando\",\"src\":\"s\",\"mt\":\"GetConfig\"}",
        ),
        ex(
            "leading NBSP",
            "\u{a0}{\"api\":\"kuando\",\"src\":\"s\",\"mt\":\"GetConfig\"}",
        ),
        ex(
            "trailing garbage",
            r#"{"api":"kuando","src":"s","mt":"GetConfig"}x"#,
        ),
        ex(
            "two objects",
            r#"{"api":"kuando","src":"s","mt":"GetConfig"}{}"#,
        ),
        ex(
            "trailing comma",
            r#"{"api":"kuando","src":"s","mt":"GetConfig",}"#,
        ),
        ex("single quotes", r#"{'api':'kuando','mt':'GetConfig'}"#),
        ex("a comment", r#"{"api":"kuando","mt":"GetConfig"/* hi */}"#),
        ex(
            "NaN",
            r#"{"api":"kuando","src":"s","mt":"GetConfig","x":NaN}"#,
        ),
        ex(
            "Infinity",
            r#"{"api":"kuando","src":"s","mt":"GetConfig","x":Infinity}"#,
        ),
        ex(
            "leading zero",
            r#"{"api":"kuando","src":"s","mt":"GetConfig","x":01}"#,
        ),
        ex(
            "plus sign",
            r#"{"api":"kuando","src":"s","mt":"GetConfig","x":+1}"#,
        ),
        ex(
            "bare dot",
            r#"{"api":"kuando","src":"s","mt":"GetConfig","x":1.}"#,
        ),
        ex(
            "leading dot",
            r#"{"api":"kuando","src":"s","mt":"GetConfig","x":.5}"#,
        ),
        ex(
            "empty exponent",
            r#"{"api":"kuando","src":"s","mt":"GetConfig","x":1e}"#,
        ),
        ex(
            "number out of range",
            r#"{"api":"kuando","src":"s","mt":"GetConfig","x":1e400}"#,
        ),
        ex(
            "truncated literal",
            r#"{"api":"kuando","src":"s","mt":"GetConfig","x":tru}"#,
        ),
        ex(
            "raw tab in a string",
            "{\"api\":\"kuando\",\"src\":\"s\",\"mt\":\"GetConfig\",\"x\":\"a\tb\"}",
        ),
        ex(
            "raw newline in a string",
            "{\"api\":\"kuando\",\"src\":\"s\",\"mt\":\"GetConfig\",\"x\":\"a\nb\"}",
        ),
        ex(
            "unknown escape",
            r#"{"api":"kuando","src":"s","mt":"GetConfig","x":"\x"}"#,
        ),
        ex(
            "short unicode escape",
            r#"{"api":"kuando","src":"s","mt":"GetConfig","x":"\u12"}"#,
        ),
        ex(
            "lone high surrogate",
            r#"{"api":"kuando","src":"s","mt":"GetConfig","x":"\ud800"}"#,
        ),
        ex(
            "lone low surrogate",
            r#"{"api":"kuando","src":"s","mt":"GetConfig","x":"\udc00"}"#,
        ),
        ex(
            "two high surrogates",
            r#"{"api":"kuando","src":"s","mt":"GetConfig","x":"\ud800\ud800"}"#,
        ),
        ex(
            "high surrogate then a letter",
            r#"{"api":"kuando","src":"s","mt":"GetConfig","x":"\ud800A"}"#,
        ),
        ex("nested 128 deep", nest(128)),
        cfg("without config", "null").with_text(r#"{"api":"kuando","src":"m","mt":"SetConfig"}"#),
        cfg("config null", "null"),
        cfg("config a string", r#""{}""#),
        cfg("config a number", "5"),
        cfg("hubUrl null", r#"{"hubUrl":null}"#),
        cfg("hubUrl a number", r#"{"hubUrl":5}"#),
        cfg("token a number", r#"{"token":12345678}"#),
        cfg("token an array", r#"{"token":["x"]}"#),
        cfg("pollInterval a string", r#"{"pollInterval":"2"}"#),
        cfg("pollInterval 2.0", r#"{"pollInterval":2.0}"#),
        cfg("pollInterval 2e0", r#"{"pollInterval":2e0}"#),
        cfg("pollInterval 2.5", r#"{"pollInterval":2.5}"#),
        cfg("pollInterval -1", r#"{"pollInterval":-1}"#),
        cfg("pollInterval -0", r#"{"pollInterval":-0}"#),
        cfg("pollInterval beyond u32", r#"{"pollInterval":4294967296}"#),
        cfg(
            "pollInterval beyond u64",
            r#"{"pollInterval":18446744073709551616}"#,
        ),
        cfg("pollInterval true", r#"{"pollInterval":true}"#),
        cfg("pollInterval null", r#"{"pollInterval":null}"#),
        cfg("lamp null", r#"{"lamp":null}"#),
        cfg("lamp a number", r#"{"lamp":5}"#),
        cfg("lamp slot null", r#"{"lamp":{"busy":null}}"#),
        cfg("lamp slot a string", r##"{"lamp":{"busy":"#ff0000"}}"##),
        cfg(
            "effect in the wrong case",
            r#"{"lamp":{"busy":{"effect":"Light"}}}"#,
        ),
        cfg("effect unknown", r#"{"lamp":{"busy":{"effect":"disco"}}}"#),
        cfg("effect a number", r#"{"lamp":{"busy":{"effect":1}}}"#),
        cfg("effect null", r#"{"lamp":{"busy":{"effect":null}}}"#),
        cfg("color a number", r#"{"lamp":{"busy":{"color":16711680}}}"#),
        cfg("sound 256", r#"{"lamp":{"busy":{"sound":256}}}"#),
        cfg("sound -1", r#"{"lamp":{"busy":{"sound":-1}}}"#),
        cfg("sound 1.5", r#"{"lamp":{"busy":{"sound":1.5}}}"#),
        cfg("sound a string", r#"{"lamp":{"busy":{"sound":"1"}}}"#),
        cfg("volume 256", r#"{"lamp":{"busy":{"volume":256}}}"#),
        cfg("volume 1e2", r#"{"lamp":{"busy":{"volume":1e2}}}"#),
        cfg("trace null", r#"{"trace":null}"#),
        cfg("trace flag a number", r#"{"trace":{"debug":1}}"#),
        cfg("trace flag a string", r#"{"trace":{"hub":"true"}}"#),
        cfg("trace flag null", r#"{"trace":{"calls":null}}"#),
        cfg(
            "duplicate pollInterval",
            r#"{"pollInterval":2,"pollInterval":3}"#,
        ),
        cfg("duplicate lamp slot", r#"{"lamp":{"busy":{},"busy":{}}}"#),
        cfg(
            "duplicate effect",
            r#"{"lamp":{"busy":{"effect":"light","effect":"off"}}}"#,
        ),
        cfg(
            "duplicate trace flag",
            r#"{"trace":{"hub":true,"hub":true}}"#,
        ),
        cfg("duplicate token", r#"{"token":"a","token":"a"}"#),
        ex(
            "SetConfig duplicate config",
            r#"{"api":"kuando","src":"m","mt":"SetConfig","config":{},"config":{}}"#,
        ),
        cfg(
            "lone surrogate in an unknown field",
            r#"{"future":"\udfff"}"#,
        ),
        presence("activity null", r#","activity":null"#),
        presence("activity a number", r#","activity":5"#),
        presence("activity an array", r#","activity":["busy"]"#),
        presence("activity an object", r#","activity":{}"#),
        presence("note a number", r#","activity":"busy","note":5"#),
        presence("note false", r#","note":false"#),
        presence(
            "duplicate activity",
            r#","activity":"busy","activity":"busy""#,
        ),
        presence("duplicate note", r#","note":"","note":"""#),
    ]
}

impl Exchange {
    fn with_text(mut self, text: &str) -> Exchange {
        self.text = Text::Plain(text.to_string());
        self
    }
}

/// Odd but acceptable input: answered normally.
fn tolerated_exchanges() -> Vec<Exchange> {
    let nest = |depth: usize| {
        format!(
            r#"{{"api":"kuando","src":"deep","mt":"GetConfig","x":{}0{}}}"#,
            "[".repeat(depth - 1),
            "]".repeat(depth - 1)
        )
    };
    vec![
        ex(
            "extra fields are ignored",
            r#"{"api":"kuando","src":"s","mt":"GetLicense","sip":"bob","guid":"x","license":"withBusylight"}"#,
        ),
        ex(
            "src null",
            r#"{"api":"kuando","src":null,"mt":"GetLicense"}"#,
        ),
        ex(
            "src empty",
            r#"{"api":"kuando","src":"","mt":"GetLicense"}"#,
        ),
        ex(
            "api is not checked by the service (the runtime routes by it)",
            r#"{"api":"","src":"s","mt":"GetLicense"}"#,
        ),
        ex(
            "escaped key",
            r#"{"api":"kuando","src":"s","m\u0074":"GetLicense"}"#,
        ),
        ex(
            "whitespace around",
            " \t\r\n{ \"api\" : \"kuando\" , \"src\" : \"s\" , \"mt\" : \"GetLicense\" } \n",
        ),
        ex(
            "duplicate unknown fields",
            r#"{"api":"kuando","src":"s","mt":"GetConfig","config":1,"config":2}"#,
        ),
        ex(
            "surrogate pair escape",
            r#"{"api":"kuando","src":"\ud83d\ude00","mt":"GetLicense"}"#,
        ),
        ex(
            "DEL in a string",
            "{\"api\":\"kuando\",\"src\":\"s\u{7f}\",\"mt\":\"GetLicense\"}",
        ),
        ex("nested 127 deep", nest(127)),
        ex(
            "SetPresence with unknown fields",
            r#"{"api":"kuando","src":"s","mt":"SetPresence","activity":"away","sip":"bob","guid":"x","contact":"im:"}"#,
        ),
    ]
}

/// Messages at the size limit. The limit is in UTF-8 bytes, as `proto::parse_request` counts.
fn size_exchanges() -> Vec<Exchange> {
    let padded = |name: &str, pad: &str, total: usize| {
        let mut prefix = r#"{"api":"kuando","src":"big","mt":"GetLicense","pad":""#.to_string();
        let suffix = r#""}"#.to_string();
        let fixed = prefix.len() + suffix.len();
        // What the pad cannot fill exactly goes into the prefix as ASCII.
        prefix.push_str(&"x".repeat((total - fixed) % pad.len()));
        let count = (total - fixed) / pad.len();
        let text = Text::Padded {
            prefix,
            pad: pad.to_string(),
            count,
            suffix,
        };
        assert_eq!(text.build().len(), total, "{name}");
        Exchange {
            name: name.to_string(),
            text,
            env: Env::default(),
            stricter: false,
        }
    };
    vec![
        padded("exactly the limit", "x", MAX_MESSAGE_LEN),
        padded("one byte over the limit", "x", MAX_MESSAGE_LEN + 1),
        padded("far over the limit", "x", 4 * MAX_MESSAGE_LEN),
        // Two UTF-8 bytes each: over the limit in bytes although well under it in UTF-16 code units.
        padded(
            "over the limit in bytes, not in characters",
            "é",
            MAX_MESSAGE_LEN + 1,
        ),
        padded(
            "under the limit with two-byte characters",
            "é",
            MAX_MESSAGE_LEN - 1,
        ),
        padded(
            "four-byte characters over the limit",
            "😀",
            MAX_MESSAGE_LEN + 3,
        ),
    ]
}

/// Shapes serde's derives used to accept: a struct from a JSON array (fields by position) and a unit enum
/// from a one-entry object (`{"blink":null}`). No app sends either, and reading them would invite surprises,
/// so the service answers `malformed`; since the Rust reader no longer uses the derives (see `json.rs`), it
/// refuses them too. `rustAccepts` in the file records what `proto::parse_request` does today.
fn js_stricter() -> Vec<Exchange> {
    let cases = [
        ("config as an array", "[]"),
        ("lamp as an array", r#"{"lamp":[]}"#),
        ("trace as an array", r#"{"trace":[true]}"#),
        (
            "lamp setting as an array",
            r##"{"lamp":{"busy":["light","#ff0000",0,5]}}"##,
        ),
        (
            "effect as a one-entry object",
            r#"{"lamp":{"busy":{"effect":{"blink":null}}}}"#,
        ),
    ];
    cases
        .iter()
        .map(|(name, cfg)| Exchange {
            stricter: true,
            ..ex(format!("SetConfig {name}"), set_config_text("strict", cfg))
        })
        .collect()
}

fn all_exchanges() -> Vec<(&'static str, Vec<Exchange>)> {
    vec![
        ("messages", message_exchanges()),
        ("configs", config_exchanges()),
        ("malformed", malformed_exchanges()),
        ("tolerated", tolerated_exchanges()),
        ("sizes", size_exchanges()),
        ("stricter", js_stricter()),
        ("health", health_exchanges()),
    ]
}

/// Health reports for the fleet view: kept (answered without error), refused when a field breaks the
/// service's rules, refused from the config app.
fn health_exchanges() -> Vec<Exchange> {
    let report = |client: &str, health: &str| {
        format!(
            r#"{{"api":"kuando","src":"h","mt":"ReportHealth","client":"{client}","health":{health}}}"#
        )
    };
    let fine = r#"{"run":true,"hub":"ok","lic":"withBusylight","lamps":1,"local":true,"build":"1.0.0","browser":"Chrome 131"}"#;
    let sample = sample_requests().pop().expect("a ReportHealth sample");
    vec![
        ex(
            "ReportHealth from the hidden app",
            rust_request(Some("h"), sample.clone()),
        ),
        ex(
            "ReportHealth, hub down with the last problem",
            report(
                "k1a2b3c4d5e6f7g8",
                r#"{"run":true,"hub":"unreachable","lamps":0,"local":false,"err":"unreachable","build":"1","browser":""}"#,
            ),
        ),
        ex(
            "ReportHealth, unlicensed and stopped",
            report(
                "k1a2b3c4d5e6f7g8",
                r#"{"run":false,"hub":"unknown","lic":"none","build":"1","browser":""}"#,
            ),
        ),
        ex_env(
            "ReportHealth, the database fails (logged; the next report brings it again)",
            report("k1a2b3c4d5e6f7g8", fine),
            Env {
                db_fails: true,
                ..Env::default()
            },
        ),
        ex("ReportHealth, a short client id", report("short", fine)),
        ex(
            "ReportHealth, a client id with a space",
            report("k1a2b3c4 5e6f7g8", fine),
        ),
        ex(
            "ReportHealth, an unknown hub state",
            report(
                "k1a2b3c4d5e6f7g8",
                r#"{"run":true,"hub":"on fire","build":"1","browser":""}"#,
            ),
        ),
        ex(
            "ReportHealth, a browser name too long",
            report(
                "k1a2b3c4d5e6f7g8",
                &format!(
                    r#"{{"run":true,"hub":"ok","build":"1","browser":"{}"}}"#,
                    "x".repeat(41)
                ),
            ),
        ),
        ex(
            "ReportHealth, too many lamps",
            report(
                "k1a2b3c4d5e6f7g8",
                r#"{"run":true,"hub":"ok","lamps":100,"build":"1","browser":""}"#,
            ),
        ),
        ex(
            "ReportHealth without run",
            report(
                "k1a2b3c4d5e6f7g8",
                r#"{"hub":"ok","build":"1","browser":""}"#,
            ),
        ),
        ex_env(
            "ReportHealth from the config app is refused",
            rust_request(Some("h"), sample),
            Env::config_app(),
        ),
    ]
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("protocol types serialise")
}

/// The expected outcome, checked to be something the apps can read.
fn outcome(x: &Exchange) -> Outcome {
    let text = x.text.build();
    if x.stricter {
        return Outcome {
            reply: unreadable(&text, ErrorCode::Malformed),
            push: None,
            pbx: None,
        };
    }
    contract(&text, &x.env)
}

fn readable_by_the_apps(e: &Envelope<Response>, what: &str) {
    let json = e.to_json();
    let back = proto::parse_response(&json)
        .unwrap_or_else(|err| panic!("{what}: the apps cannot read {json}: {err}"));
    assert_eq!(&back, e, "{what}");
}

fn build_vectors() -> Value {
    let mut groups = serde_json::Map::new();
    for (group, exchanges) in all_exchanges() {
        let mut list = Vec::new();
        let mut names = BTreeSet::new();
        for x in &exchanges {
            assert!(
                names.insert(x.name.clone()),
                "duplicate vector name {}",
                x.name
            );
            let o = outcome(x);
            readable_by_the_apps(&o.reply, &x.name);
            let mut v = serde_json::Map::new();
            v.insert("name".into(), json!(x.name));
            let (key, text) = x.text.to_json();
            v.insert(key.into(), text);
            let env = x.env.to_json();
            if env.as_object().is_some_and(|o| !o.is_empty()) {
                v.insert("env".into(), env);
            }
            if x.stricter {
                let accepts = proto::parse_request(&x.text.build()).is_ok();
                v.insert("rustAccepts".into(), json!(accepts));
            }
            v.insert("reply".into(), to_value(&o.reply));
            if let Some(p) = &o.push {
                readable_by_the_apps(p, &x.name);
                v.insert("push".into(), to_value(p));
            }
            if let Some((activity, note)) = &o.pbx {
                v.insert(
                    "pbx".into(),
                    json!({"mt": "SetPresence", "contact": "tel:", "activity": activity, "note": note}),
                );
            }
            list.push(Value::Object(v));
        }
        groups.insert(group.into(), Value::Array(list));
    }
    json!({
        "about": [
            "Generated by tests/proto_vectors.rs from the Rust protocol types (src/proto.rs, src/config.rs). Do not edit.",
            "Refresh: UPDATE_VECTORS=1 cargo test -p kuando-connector --test proto_vectors",
            "Each exchange: the text a connection of user alice sends (or how to build it), the environment",
            "(defaultEnv with env's changes), the reply alice must get, the message pushed to alice's other",
            "connections (none if absent), and the SetPresence the PBX must receive (none if absent).",
            "Error texts are written by the service: replies carry text \"\" here; the service's must be non-empty."
        ],
        "api": API,
        "maxMessageLen": MAX_MESSAGE_LEN,
        "requestKinds": request_kinds(),
        "errorCodes": all_error_codes().iter().map(to_value).collect::<Vec<_>>(),
        "licenses": all_licenses().iter().map(to_value).collect::<Vec<_>>(),
        "defaultConfig": to_value(&Config::default()),
        "defaultEnv": {"db": "works", "pbx": "answers", "licenses": Env::default().licenses, "unlicensed": false},
        "exchanges": Value::Object(groups),
    })
}

/// Exhaustive on purpose: a new error code does not compile until it is listed.
fn all_error_codes() -> Vec<ErrorCode> {
    let all = vec![
        ErrorCode::Malformed,
        ErrorCode::TooLarge,
        ErrorCode::InvalidConfig,
        ErrorCode::Unlicensed,
        ErrorCode::Pbx,
        ErrorCode::Database,
        ErrorCode::NoAdmin,
        ErrorCode::RateLimited,
        ErrorCode::TooManyConnections,
        ErrorCode::Forbidden,
    ];
    for c in &all {
        match c {
            ErrorCode::Malformed
            | ErrorCode::TooLarge
            | ErrorCode::InvalidConfig
            | ErrorCode::Unlicensed
            | ErrorCode::Pbx
            | ErrorCode::Database
            | ErrorCode::NoAdmin
            | ErrorCode::RateLimited
            | ErrorCode::TooManyConnections
            | ErrorCode::Forbidden => {}
        }
    }
    all
}

fn all_licenses() -> Vec<License> {
    let all = vec![License::None, License::Connector, License::WithBusylight];
    for l in &all {
        match l {
            License::None | License::Connector | License::WithBusylight => {}
        }
    }
    all
}

/// The kind of an answer, e.g. `GetConfigResult` or `SetConfigResult:invalidConfig` or
/// `GetLicenseResult:withBusylight`. Exhaustive on purpose.
fn answer_kinds(r: &Response) -> Vec<String> {
    let code = |e: &Option<ServiceError>| {
        e.as_ref()
            .map(|e| to_value(&e.code).as_str().unwrap_or_default().to_string())
    };
    let (name, detail) = match r {
        Response::GetConfigResult { error, .. } => ("GetConfigResult", code(error)),
        Response::SetConfigResult { error, .. } => ("SetConfigResult", code(error)),
        Response::SetPresenceResult { error } => ("SetPresenceResult", code(error)),
        Response::GetLicenseResult { license, error } => (
            "GetLicenseResult",
            code(error).or_else(|| license.map(|l| to_value(&l).as_str().unwrap_or("").into())),
        ),
        Response::ConfigChanged { .. } => ("ConfigChanged", None),
        Response::ReportHealthResult { error, .. } => ("ReportHealthResult", code(error)),
        Response::Error { error } => ("Error", code(&Some(error.clone()))),
    };
    let mut out = vec![name.to_string()];
    if let Some(d) = detail {
        out.push(format!("{name}:{d}"));
    }
    out
}

/// Pretty at the top, one line per exchange: readable in a diff, and a third of the size of full pretty
/// printing.
fn pretty(v: &Value) -> String {
    let compact = |v: &Value| serde_json::to_string(v).expect("vectors serialise");
    let mut out = String::from("{\n");
    let Some(top) = v.as_object() else {
        return compact(v);
    };
    for (i, (key, value)) in top.iter().enumerate() {
        out.push_str(&format!("  {}: ", compact(&json!(key))));
        match value {
            Value::Object(groups) if key == "exchanges" => {
                out.push_str("{\n");
                for (j, (group, list)) in groups.iter().enumerate() {
                    out.push_str(&format!("    {}: [\n", compact(&json!(group))));
                    let items = list.as_array().map(Vec::as_slice).unwrap_or_default();
                    for (k, item) in items.iter().enumerate() {
                        let comma = if k + 1 < items.len() { "," } else { "" };
                        out.push_str(&format!("      {}{comma}\n", compact(item)));
                    }
                    let comma = if j + 1 < groups.len() { "," } else { "" };
                    out.push_str(&format!("    ]{comma}\n"));
                }
                out.push_str("  }");
            }
            _ => out.push_str(&compact(value)),
        }
        out.push_str(if i + 1 < top.len() { ",\n" } else { "\n" });
    }
    out.push_str("}\n");
    out
}

// ---------------------------------------------------------------------------------------------------------
// The Unicode tables of the service.
// ---------------------------------------------------------------------------------------------------------

const TABLES_BEGIN: &str = "// BEGIN GENERATED UNICODE TABLES";
const TABLES_END: &str = "// END GENERATED UNICODE TABLES";

fn ranges(f: impl Fn(char) -> bool) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
        if !f(c) {
            continue;
        }
        let cp = u32::from(c);
        match out.last_mut() {
            Some(last) if last.1 + 1 == cp => last.1 = cp,
            _ => out.push((cp, cp)),
        }
    }
    out
}

fn base36(mut n: u32) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// `start.length` pairs in base 36, each start relative to the previous range's end (see `decodeRanges` in
/// the service).
fn encode_ranges(name: &str, ranges: &[(u32, u32)]) -> String {
    let mut prev = 0;
    let items: Vec<String> = ranges
        .iter()
        .map(|&(s, e)| {
            let item = format!("{}.{}", base36(s - prev), base36(e - s));
            prev = e;
            item
        })
        .collect();
    let mut lines = vec![String::new()];
    for item in items {
        let cur = lines.last_mut().expect("never empty");
        if !cur.is_empty() && cur.len() + item.len() + 1 > 96 {
            lines.push(item);
        } else {
            if !cur.is_empty() {
                cur.push(',');
            }
            cur.push_str(&item);
        }
    }
    let body: Vec<String> = lines.iter().map(|l| format!("    \"{l}\"")).collect();
    format!(
        "var {name} = decodeRanges(\n{}\n);\n",
        body.join(" + \",\" +\n")
    )
}

fn unicode_tables_block() -> String {
    let (major, minor, update) = char::UNICODE_VERSION;
    format!(
        "{TABLES_BEGIN} (tests/proto_vectors.rs; refresh with {UPDATE_ENV}=1)\n\
         // Rust's char::is_whitespace and char::is_control, Unicode {major}.{minor}.{update}.\n\
         {}{}{TABLES_END}",
        encode_ranges("WHITESPACE_RANGES", &ranges(char::is_whitespace)),
        encode_ranges("CONTROL_RANGES", &ranges(char::is_control)),
    )
}

// ---------------------------------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------------------------------

#[test]
fn committed_vectors_match_the_rust_types() {
    let path = repo_file("service/test/vectors.json");
    let fresh = pretty(&build_vectors());
    if updating() {
        fs::write(&path, &fresh).expect("write service/test/vectors.json");
        return;
    }
    let committed = fs::read_to_string(&path).unwrap_or_default();
    let committed_value: Value = serde_json::from_str(&committed).unwrap_or(Value::Null);
    let fresh_value: Value = serde_json::from_str(&fresh).expect("fresh vectors parse");
    assert!(
        committed_value == fresh_value,
        "service/test/vectors.json is out of date with the Rust protocol types: run \
         `{UPDATE_ENV}=1 cargo test -p kuando-connector --test proto_vectors`, then `node --test service/test/` \
         and make the service follow"
    );
}

#[test]
fn service_unicode_tables_match_rust() {
    let path = repo_file("service/kuando-text.js");
    let js = fs::read_to_string(&path).expect("read service/kuando-text.js");
    let begin = js
        .find(TABLES_BEGIN)
        .expect("kuando-text.js has the BEGIN marker");
    let end = js[begin..]
        .find(TABLES_END)
        .expect("kuando-text.js has the END marker")
        + begin
        + TABLES_END.len();
    let block = unicode_tables_block();
    if updating() {
        let updated = format!("{}{}{}", &js[..begin], block, &js[end..]);
        if updated != js {
            fs::write(&path, updated).expect("write service/kuando-text.js");
        }
        return;
    }
    assert!(
        js[begin..end] == block,
        "the Unicode tables in service/kuando-text.js differ from this Rust toolchain's: run \
         `{UPDATE_ENV}=1 cargo test -p kuando-connector --test proto_vectors`"
    );
}

#[test]
fn every_request_and_answer_kind_is_covered() {
    let mut requests = BTreeSet::new();
    let mut answers = BTreeSet::new();
    for (_, exchanges) in all_exchanges() {
        for x in &exchanges {
            if let Ok(r) = proto::parse_request(&x.text.build()) {
                if !x.stricter {
                    requests.insert(request_name(&r.msg));
                }
            }
            let o = outcome(x);
            answers.extend(answer_kinds(&o.reply.msg));
            if let Some(p) = &o.push {
                answers.extend(answer_kinds(&p.msg));
            }
        }
    }
    let kinds: BTreeSet<_> = request_kinds().into_iter().collect();
    assert_eq!(requests, kinds, "a request kind has no valid vector");

    let mut expected = BTreeSet::new();
    for name in [
        "GetConfigResult",
        "SetConfigResult",
        "SetPresenceResult",
        "GetLicenseResult",
        "ConfigChanged",
        "Error",
    ] {
        expected.insert(name.to_string());
    }
    for l in all_licenses() {
        expected.insert(format!(
            "GetLicenseResult:{}",
            to_value(&l).as_str().unwrap_or("")
        ));
    }
    for code in all_error_codes() {
        // Every error code reaches the apps in some vector, whichever result carries it; but for the two
        // that depend on a connection's history (messages a second, connections of the user), which
        // service/test/hardening.test.js covers.
        if matches!(code, ErrorCode::RateLimited | ErrorCode::TooManyConnections) {
            continue;
        }
        let code = to_value(&code).as_str().unwrap_or("").to_string();
        assert!(
            answers.iter().any(|a| a.ends_with(&format!(":{code}"))),
            "no vector is answered with error code {code}"
        );
    }
    let missing: Vec<_> = expected.difference(&answers).collect();
    assert!(
        missing.is_empty(),
        "answer kinds without a vector: {missing:?}"
    );
}

#[test]
fn settings_vectors_hold_valid_and_invalid_settings_with_their_field_errors() {
    let mut valid = 0;
    let mut invalid = 0;
    let mut fields_seen = BTreeSet::new();
    for x in config_exchanges() {
        let o = outcome(&x);
        match o.reply.msg {
            Response::SetConfigResult {
                config: Some(c), ..
            } => {
                assert!(c.validate().is_empty(), "{}", x.name);
                valid += 1;
            }
            Response::SetConfigResult { error: Some(e), .. }
                if e.code == ErrorCode::InvalidConfig =>
            {
                assert!(!e.fields.is_empty(), "{}", x.name);
                fields_seen.extend(e.fields.iter().map(|f: &FieldError| f.field.clone()));
                invalid += 1;
            }
            other => panic!("{}: settings vector answered {other:?}", x.name),
        }
    }
    assert!(
        valid >= 40 && invalid >= 40,
        "{valid} valid, {invalid} invalid"
    );
    // Every field the core checks is refused by some vector.
    for f in ["hubUrl", "token", "pollInterval"] {
        assert!(fields_seen.contains(f), "{f}");
    }
    for slot in [
        "ringing",
        "dialing",
        "connected",
        "held",
        "busy",
        "away",
        "dnd",
        "lunch",
    ] {
        for part in ["color", "sound", "volume"] {
            let f = format!("lamp.{slot}.{part}");
            assert!(fields_seen.contains(&f), "{f}");
        }
    }
}

#[test]
fn malformed_vectors_are_refused_by_the_rust_reader_too() {
    for x in malformed_exchanges() {
        let text = x.text.build();
        assert!(proto::parse_request(&text).is_err(), "{}: {text}", x.name);
        let o = outcome(&x);
        let code = match &o.reply.msg {
            Response::Error { error } => error.code,
            Response::GetConfigResult { error: Some(e), .. }
            | Response::SetConfigResult { error: Some(e), .. }
            | Response::SetPresenceResult { error: Some(e) }
            | Response::GetLicenseResult { error: Some(e), .. } => e.code,
            other => panic!("{}: {other:?}", x.name),
        };
        assert_eq!(code, ErrorCode::Malformed, "{}", x.name);
    }
    for x in tolerated_exchanges() {
        assert!(proto::parse_request(&x.text.build()).is_ok(), "{}", x.name);
    }
}

#[test]
fn size_vectors_straddle_the_byte_limit() {
    for x in size_exchanges() {
        let text = x.text.build();
        let o = outcome(&x);
        let too_large = matches!(
            &o.reply.msg,
            Response::GetLicenseResult { error: Some(e), .. } if e.code == ErrorCode::TooLarge
        );
        assert_eq!(too_large, text.len() > MAX_MESSAGE_LEN, "{}", x.name);
        // A too-large message still has its src echoed, so the app can pair the answer.
        assert_eq!(o.reply.src.as_deref(), Some("big"), "{}", x.name);
    }
    let sneaky = size_exchanges()
        .into_iter()
        .find(|x| x.name == "over the limit in bytes, not in characters")
        .expect("vector exists");
    assert!(sneaky.text.build().encode_utf16().count() < MAX_MESSAGE_LEN);
}

#[test]
fn unicode_tables_encode_what_rust_says() {
    // Spot checks that the tables are about the characters the settings rules care about.
    let ws = ranges(char::is_whitespace);
    assert!(ws.contains(&(0x85, 0x85)) && ws.contains(&(0xa0, 0xa0)));
    assert!(!ws.iter().any(|&(s, e)| (s..=e).contains(&0xfeff)));
    assert_eq!(ranges(char::is_control), vec![(0, 0x1f), (0x7f, 0x9f)]);
    assert!(unicode_tables_block().contains("var CONTROL_RANGES = decodeRanges("));
}
