//! The protocol between the two apps and their app service, over the app websocket (`api: "kuando"`).
//!
//! Defined once here. The wasm apps and the myApps simulator use these types; the AppPlatform service (which
//! must be JavaScript) is tested against JSON vectors produced from them (`tests/proto_vectors.rs` writes
//! `service/test/vectors.json`), so the two sides cannot drift apart.
//!
//! Every request carries `src`, echoed in its result. Results carry either their payload or `error`.
//!
//! | request (app → service)             | result (service → app)                          |
//! |-------------------------------------|-------------------------------------------------|
//! | `GetConfig`                         | `GetConfigResult {config}`                      |
//! | `SetConfig {config}`                | `SetConfigResult {config}` + `ConfigChanged` to the user's other connections |
//! | `SetPresence {activity, note}`      | `SetPresenceResult {}`                          |
//! | `SetPresence {.., guard:"claim", restore:{activity, note}}` | `SetPresenceResult {}`: set, and guarded by the service |
//! | `SetPresence {.., guard:"release"}` | `SetPresenceResult {}`: this connection's claim ends |
//! | `GetLicense`                        | `GetLicenseResult {license}`                    |
//! | anything unreadable                 | `Error {error}` (or `<mt>Result {error}` when `mt` was readable) |
//!
//! Written with serde's derives: `api`, `src`, `mt`, then the message's fields in declaration order (an
//! [`Envelope`] flattens its message; the messages are tagged by `mt`). Read in two steps, because which fields
//! a message has depends on its `mt`: the envelope's own fields first, then the message's from the same text.
//! Unknown fields are ignored, a known field given twice or of the wrong type makes the message unreadable,
//! `null` counts as absent only for optional fields, structs are objects, and an error never quotes a value
//! ([`crate::wire`]). A request is checked as a whole as the service checks it (nesting depth, escapes and
//! numbers in unknown fields too); a result only in the fields it has.

use serde::{Deserialize, Serialize, Serializer};

use crate::config::{Config, FieldError};
pub use crate::health::Health;
use crate::state::Presence;
use crate::wire::{self, by_name, objects_only};

/// The JsonApi name of the connector's service.
pub const API: &str = "kuando";

/// Longest message the service accepts or sends (the AppPlatform's `send` limit).
pub const MAX_MESSAGE_LEN: usize = 65_535;

/// A request from an app to the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "mt")]
pub enum Request {
    /// The user's settings (defaults when none are stored).
    GetConfig,
    /// Validate and store the user's settings.
    SetConfig { config: Box<Config> },
    /// Set the user's own PBX presence (`contact "tel:"`). Both fields default to `""`. `guard` (absent: a
    /// plain relay, what services and apps before the presence guard do) tells the service's presence guard
    /// why: see [`PresenceGuard`].
    SetPresence {
        activity: String,
        note: String,
        #[serde(flatten)]
        guard: Option<PresenceGuard>,
    },
    /// Which of the concept's licenses the user has.
    GetLicense,
    /// The hidden app's health summary of its client, for the administrator's fleet view (`crate::health`).
    ReportHealth {
        client: String,
        #[serde(serialize_with = "write_health")]
        health: Health,
    },
}

/// Why a hidden app sets a presence, for the service's presence guard (ARCHITECTURE.md "The presence
/// guard"). The service keeps, per user and in its database, what it set because of a hub and what to
/// restore, and which connections claim it; it restores when none claims it any more (a connection that
/// closes without releasing: after the grace period), and only if the PBX still shows what it set.
///
/// Compatible both ways: a service without the guard ignores the fields (unknown fields are ignored) and
/// relays the presence as before; a `SetPresence` without `guard` is relayed by the new service as before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "guard", rename_all = "lowercase")]
pub enum PresenceGuard {
    /// Set because of the connection's hub (`"guard":"claim"`). `restore` is the user's own presence as the
    /// app knows it, written `"restore":{"activity","note"}` (both default `""`); the service keeps the one
    /// of the first claim while its guard lasts.
    Claim {
        #[serde(serialize_with = "write_presence")]
        restore: Presence,
    },
    /// The connection's hub no longer shows anything (`"guard":"release"`): its claim ends. The presence is
    /// restored when no other connection of the user claims one; otherwise the strongest remaining claim
    /// shows. `activity`/`note` are what to show when the service guards nothing.
    Release,
}

/// The licenses of the concept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum License {
    /// No license: the connector stops.
    None,
    /// `App(innovaphone-kuando)`: works with and without a Busylight.
    Connector,
    /// `App(innovaphone-kuando-with-busylight)`: a Busylight is part of the setup.
    WithBusylight,
}

/// Error codes in results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// Not JSON, not an object, unknown `mt`, or fields of the wrong type.
    Malformed,
    /// Larger than [`MAX_MESSAGE_LEN`].
    TooLarge,
    /// `SetConfig` with settings that do not validate (see `fields`).
    InvalidConfig,
    /// The connection's user has no license.
    Unlicensed,
    /// The PBX is not connected, or it refused the request.
    Pbx,
    /// The database failed.
    Database,
    /// `GetLicense`: the service has no PbxAdminApi connection (the app object lacks the Admin option), so
    /// the license cannot be checked.
    NoAdmin,
    /// The connection sent more messages a second than the service takes; the request was not carried out.
    RateLimited,
    /// The user has more connections open than the service serves; this one is not served.
    TooManyConnections,
    /// The connection's app may not make this request (e.g. the config app setting presence).
    Forbidden,
}

/// An error in a result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct ServiceError {
    pub code: ErrorCode,
    /// Human-readable; never contains the token. Defaults to `""`.
    #[serde(default)]
    pub text: String,
    /// For `invalidConfig`: every bad field (not written when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

/// A message from the service to an app. `Option` fields are not written when `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "mt")]
pub enum Response {
    GetConfigResult {
        #[serde(skip_serializing_if = "Option::is_none")]
        config: Option<Config>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ServiceError>,
    },
    SetConfigResult {
        #[serde(skip_serializing_if = "Option::is_none")]
        config: Option<Config>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ServiceError>,
    },
    SetPresenceResult {
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ServiceError>,
    },
    GetLicenseResult {
        #[serde(skip_serializing_if = "Option::is_none")]
        license: Option<License>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ServiceError>,
    },
    /// Pushed to the user's other connections after a `SetConfig`.
    ConfigChanged { config: Config },
    /// `off`: the instance keeps no health reports (config item `healthReports`): send none. Written only
    /// when true.
    ReportHealthResult {
        #[serde(skip_serializing_if = "is_false")]
        off: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ServiceError>,
    },
    /// The answer to a message whose `mt` could not be read.
    Error { error: ServiceError },
}

/// The envelope every message travels in: `{"api":"kuando","src":..,"mt":..,...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Envelope<T> {
    pub api: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
    #[serde(flatten)]
    pub msg: T,
}

impl<T: Serialize> Envelope<T> {
    pub fn new(src: Option<String>, msg: T) -> Self {
        Envelope {
            api: API.to_string(),
            src,
            msg,
        }
    }

    /// The message as its JSON text.
    pub fn to_json(&self) -> String {
        // Every message is an object of strings, numbers and booleans: serde_json cannot fail on it.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl License {
    pub const ALL: [License; 3] = [License::None, License::Connector, License::WithBusylight];

    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            License::None => "none",
            License::Connector => "connector",
            License::WithBusylight => "withBusylight",
        }
    }
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 10] = [
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

    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Malformed => "malformed",
            ErrorCode::TooLarge => "tooLarge",
            ErrorCode::InvalidConfig => "invalidConfig",
            ErrorCode::Unlicensed => "unlicensed",
            ErrorCode::Pbx => "pbx",
            ErrorCode::Database => "database",
            ErrorCode::NoAdmin => "noAdmin",
            ErrorCode::RateLimited => "rateLimited",
            ErrorCode::TooManyConnections => "tooManyConnections",
            ErrorCode::Forbidden => "forbidden",
        }
    }
}

by_name!(License, "none, connector or withBusylight");
by_name!(ErrorCode, "an error code");
objects_only!(ServiceError, PresenceWire, HealthWire);

fn is_false(b: &bool) -> bool {
    !*b
}

// ---------------------------------------------------------------------------------------------------------
// The wire's own shapes where they differ from the types above: `guard` and `restore` side by side, and the
// health report as it travels (the core's `Presence` and `Health` carry no serde attributes).
// ---------------------------------------------------------------------------------------------------------

/// A presence as `restore` carries it; both fields default to `""`.
#[derive(Serialize, Deserialize)]
#[serde(remote = "Self")]
struct PresenceWire {
    #[serde(default)]
    activity: String,
    #[serde(default)]
    note: String,
}

fn write_presence<S: Serializer>(p: &Presence, s: S) -> Result<S::Ok, S::Error> {
    PresenceWire {
        activity: p.activity.clone(),
        note: p.note.clone(),
    }
    .serialize(s)
}

/// A health report as it travels: `run` and `hub` required, `lic`, `lamps` and `err` written only when known.
#[derive(Serialize, Deserialize)]
#[serde(remote = "Self")]
struct HealthWire {
    run: bool,
    hub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lic: Option<License>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lamp_count"
    )]
    lamps: Option<u64>,
    #[serde(default)]
    local: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    err: Option<String>,
    #[serde(default)]
    build: String,
    #[serde(default)]
    browser: String,
}

/// How many Busylights a report may name: up to 99.
fn lamp_count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Option::<u8>::deserialize(d)? {
        Some(n) if n > 99 => Err(serde::de::Error::invalid_value(
            serde::de::Unexpected::Unsigned(n.into()),
            &"at most 99 lamps",
        )),
        n => Ok(n.map(u64::from)),
    }
}

fn write_health<S: Serializer>(h: &Health, s: S) -> Result<S::Ok, S::Error> {
    HealthWire {
        run: h.run,
        hub: h.hub.clone(),
        lic: h.lic,
        lamps: h.lamps,
        local: h.local,
        err: h.err.clone(),
        build: h.build.clone(),
        browser: h.browser.clone(),
    }
    .serialize(s)
}

/// `guard`'s words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GuardKind {
    Claim,
    Release,
}

impl GuardKind {
    const ALL: [GuardKind; 2] = [GuardKind::Claim, GuardKind::Release];

    fn as_str(self) -> &'static str {
        match self {
            GuardKind::Claim => "claim",
            GuardKind::Release => "release",
        }
    }
}

by_name!(GuardKind, "claim or release");

// ---------------------------------------------------------------------------------------------------------
// Reading.
// ---------------------------------------------------------------------------------------------------------

/// The envelope's own fields, read first: which fields follow depends on `mt`. `api` and `mt` are required,
/// `src` is a string or absent.
#[derive(Deserialize)]
struct Head {
    api: String,
    src: Option<String>,
    mt: String,
}

#[derive(Deserialize)]
struct SetConfigFields {
    config: Box<Config>,
}

/// `SetPresence`'s fields. `restore` counts only with a claim; a claim without it restores "available".
#[derive(Deserialize)]
struct SetPresenceFields {
    #[serde(default)]
    activity: String,
    #[serde(default)]
    note: String,
    guard: Option<GuardKind>,
    restore: Option<PresenceWire>,
}

#[derive(Deserialize)]
struct ReportHealthFields {
    #[serde(default)]
    client: String,
    health: HealthWire,
}

/// Every result's fields: the results share their names, so one struct reads them all (a field that
/// belongs to another kind of result must still have its type).
#[derive(Deserialize)]
struct ResponseFields {
    api: String,
    src: Option<String>,
    mt: String,
    config: Option<Config>,
    error: Option<ServiceError>,
    license: Option<License>,
    #[serde(default)]
    off: bool,
}

fn request(text: &str) -> Result<Envelope<Request>, String> {
    let json = |e: serde_json::Error| wire::error_text(&e);
    // The text is checked as a whole with the head; the message's fields come from the same text.
    let head: Head = wire::object_from_checked_text(text).map_err(json)?;
    let msg = match head.mt.as_str() {
        "GetConfig" => Request::GetConfig,
        "GetLicense" => Request::GetLicense,
        "SetConfig" => Request::SetConfig {
            config: wire::object_from_text::<SetConfigFields>(text)
                .map_err(json)?
                .config,
        },
        "SetPresence" => {
            let f: SetPresenceFields = wire::object_from_text(text).map_err(json)?;
            let guard = f.guard.map(|g| match g {
                GuardKind::Release => PresenceGuard::Release,
                GuardKind::Claim => PresenceGuard::Claim {
                    restore: f.restore.map_or_else(Presence::available, |r| Presence {
                        activity: r.activity,
                        note: r.note,
                    }),
                },
            });
            Request::SetPresence {
                activity: f.activity,
                note: f.note,
                guard,
            }
        }
        "ReportHealth" => {
            let f: ReportHealthFields = wire::object_from_text(text).map_err(json)?;
            let h = f.health;
            Request::ReportHealth {
                client: f.client,
                health: Health {
                    run: h.run,
                    hub: h.hub,
                    lic: h.lic,
                    lamps: h.lamps,
                    local: h.local,
                    err: h.err,
                    build: h.build,
                    browser: h.browser,
                },
            }
        }
        _ => return Err("unknown mt".into()),
    };
    Ok(Envelope {
        api: head.api,
        src: head.src,
        msg,
    })
}

fn response(text: &str) -> Result<Envelope<Response>, String> {
    // Not checked as a whole: the apps read their own service's messages, and what a result does not have
    // is skipped without recursion; the check would cost the hidden app the `Value` reader.
    let f: ResponseFields = wire::object_from_text(text).map_err(|e| wire::error_text(&e))?;
    let msg = match f.mt.as_str() {
        "GetConfigResult" => Response::GetConfigResult {
            config: f.config,
            error: f.error,
        },
        "SetConfigResult" => Response::SetConfigResult {
            config: f.config,
            error: f.error,
        },
        "SetPresenceResult" => Response::SetPresenceResult { error: f.error },
        "GetLicenseResult" => Response::GetLicenseResult {
            license: f.license,
            error: f.error,
        },
        "ReportHealthResult" => Response::ReportHealthResult {
            off: f.off,
            error: f.error,
        },
        "ConfigChanged" => Response::ConfigChanged {
            config: f.config.ok_or("config is missing")?,
        },
        "Error" => Response::Error {
            error: f.error.ok_or("error is missing")?,
        },
        _ => return Err("unknown mt".into()),
    };
    Ok(Envelope {
        api: f.api,
        src: f.src,
        msg,
    })
}

/// Reads a service message (app side). Errors are for traces; the text never contains message content.
pub fn parse_response(text: &str) -> Result<Envelope<Response>, String> {
    response(text).map_err(|e| format!("unreadable service message: {e}"))
}

/// Reads a request (service side, and the simulator's).
pub fn parse_request(text: &str) -> Result<Envelope<Request>, String> {
    if text.len() > MAX_MESSAGE_LEN {
        return Err("message too large".into());
    }
    request(text).map_err(|e| format!("unreadable request: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_look_as_documented() {
        let r = Envelope::new(
            Some("7".into()),
            Request::SetPresence {
                activity: "busy".into(),
                note: "".into(),
                guard: None,
            },
        );
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(
            v,
            json!({"api":"kuando","src":"7","mt":"SetPresence","activity":"busy","note":""})
        );
        let r = Envelope::new(Some("1".into()), Request::GetConfig);
        assert_eq!(
            r.to_json(),
            r#"{"api":"kuando","src":"1","mt":"GetConfig"}"#
        );
        let back = parse_request(&r.to_json()).unwrap();
        assert_eq!(back.msg, Request::GetConfig);
    }

    #[test]
    fn guarded_presence_looks_as_documented_and_round_trips() {
        let claim = Request::SetPresence {
            activity: "on-the-phone".into(),
            note: "MS Teams".into(),
            guard: Some(PresenceGuard::Claim {
                restore: Presence::new("away", "back at 3"),
            }),
        };
        let text = Envelope::new(Some("9".into()), claim.clone()).to_json();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            json!({"api":"kuando","src":"9","mt":"SetPresence","activity":"on-the-phone","note":"MS Teams",
                   "guard":"claim","restore":{"activity":"away","note":"back at 3"}})
        );
        assert_eq!(parse_request(&text).unwrap().msg, claim);
        let release = Request::SetPresence {
            activity: String::new(),
            note: String::new(),
            guard: Some(PresenceGuard::Release),
        };
        let text = Envelope::new(None, release.clone()).to_json();
        assert_eq!(
            text,
            r#"{"api":"kuando","mt":"SetPresence","activity":"","note":"","guard":"release"}"#
        );
        assert_eq!(parse_request(&text).unwrap().msg, release);
        // A claim without restore restores "available"; null counts as absent.
        let bare =
            parse_request(r#"{"api":"kuando","mt":"SetPresence","guard":"claim","restore":null}"#)
                .unwrap();
        assert_eq!(
            bare.msg,
            Request::SetPresence {
                activity: String::new(),
                note: String::new(),
                guard: Some(PresenceGuard::Claim {
                    restore: Presence::available()
                }),
            }
        );
        for bad in [
            r#"{"api":"kuando","mt":"SetPresence","guard":"grab"}"#,
            r#"{"api":"kuando","mt":"SetPresence","guard":true}"#,
            r#"{"api":"kuando","mt":"SetPresence","guard":"claim","restore":"x"}"#,
            r#"{"api":"kuando","mt":"SetPresence","guard":"claim","restore":{"note":1}}"#,
        ] {
            assert!(parse_request(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn results_round_trip() {
        let msgs = vec![
            Response::GetConfigResult {
                config: Some(Config::default()),
                error: None,
            },
            Response::SetConfigResult {
                config: None,
                error: Some(ServiceError {
                    code: ErrorCode::InvalidConfig,
                    text: "invalid settings".into(),
                    fields: vec![FieldError::new(
                        "pollInterval",
                        "must be between 1 and 60 seconds",
                    )],
                }),
            },
            Response::SetPresenceResult { error: None },
            Response::GetLicenseResult {
                license: Some(License::WithBusylight),
                error: None,
            },
            Response::ConfigChanged {
                config: Config::default(),
            },
            Response::Error {
                error: ServiceError {
                    code: ErrorCode::Malformed,
                    text: "x".into(),
                    fields: vec![],
                },
            },
        ];
        for m in msgs {
            let e = Envelope::new(Some("s".into()), m.clone());
            assert_eq!(parse_response(&e.to_json()).unwrap().msg, m);
        }
        let v: serde_json::Value = serde_json::from_str(
            &Envelope::new(
                None,
                Response::GetLicenseResult {
                    license: Some(License::WithBusylight),
                    error: None,
                },
            )
            .to_json(),
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"api":"kuando","mt":"GetLicenseResult","license":"withBusylight"})
        );
    }

    #[test]
    fn malformed_messages_are_errors_not_panics() {
        for bad in [
            "",
            "{",
            "[]",
            r#"{"api":"kuando","mt":"Nope"}"#,
            r#"{"api":"kuando","mt":"SetConfig","config":7}"#,
            r#"{"mt":"GetConfig"}"#,
        ] {
            assert!(parse_request(bad).is_err(), "{bad}");
        }
        assert!(parse_request(&"x".repeat(MAX_MESSAGE_LEN + 1)).is_err());
    }
}
