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
//! Reading follows what serde's derives did before (see [`crate::json`] for why they are gone): unknown fields
//! are ignored, a known field given twice or of the wrong type makes the message unreadable, `null` counts as
//! absent only for optional fields. Writing keeps the documented field order: `api`, `src`, `mt`, then the
//! message's fields.

#[cfg(feature = "serde")]
use serde::Serialize;

use crate::config::{Config, FieldError};
pub use crate::health::Health;
use crate::json::{self, Json, JsonError, Members};
use crate::state::Presence;

/// The JsonApi name of the connector's service.
pub const API: &str = "kuando";

/// Longest message the service accepts or sends (the AppPlatform's `send` limit).
pub const MAX_MESSAGE_LEN: usize = 65_535;

/// A request from an app to the service.
#[derive(Debug, Clone, PartialEq, Eq)]
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
        guard: Option<PresenceGuard>,
    },
    /// Which of the concept's licenses the user has.
    GetLicense,
    /// The hidden app's health summary of its client, for the administrator's fleet view (`crate::health`).
    ReportHealth { client: String, health: Health },
}

/// Why a hidden app sets a presence, for the service's presence guard (issue 13; ARCHITECTURE.md "The
/// presence guard"). The service keeps, per user and in its database, what it set because of a hub and what
/// to restore, and which connections claim it; it restores when none claims it any more (a connection that
/// closes without releasing: after the grace period), and only if the PBX still shows what it set.
///
/// Compatible both ways: a service without the guard ignores the fields (unknown fields are ignored) and
/// relays the presence as before; a `SetPresence` without `guard` is relayed by the new service as before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresenceGuard {
    /// Set because of the connection's hub (`"guard":"claim"`). `restore` is the user's own presence as the
    /// app knows it, written `"restore":{"activity","note"}` (both default `""`); the service keeps the one
    /// of the first claim while its guard lasts.
    Claim { restore: Presence },
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    pub code: ErrorCode,
    /// Human-readable; never contains the token. Defaults to `""`.
    pub text: String,
    /// For `invalidConfig`: every bad field (not written when empty).
    pub fields: Vec<FieldError>,
}

/// A message from the service to an app. `Option` fields are not written when `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    GetConfigResult {
        config: Option<Config>,
        error: Option<ServiceError>,
    },
    SetConfigResult {
        config: Option<Config>,
        error: Option<ServiceError>,
    },
    SetPresenceResult {
        error: Option<ServiceError>,
    },
    GetLicenseResult {
        license: Option<License>,
        error: Option<ServiceError>,
    },
    /// Pushed to the user's other connections after a `SetConfig`.
    ConfigChanged {
        config: Config,
    },
    /// `off`: the instance keeps no health reports (config item `healthReports`): send none.
    ReportHealthResult {
        off: bool,
        error: Option<ServiceError>,
    },
    /// The answer to a message whose `mt` could not be read.
    Error {
        error: ServiceError,
    },
}

/// The envelope every message travels in: `{"api":"kuando","src":..,"mt":..,...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<T> {
    pub api: String,
    pub src: Option<String>,
    pub msg: T,
}

/// What travels in an [`Envelope`]: a [`Request`] or a [`Response`].
pub trait Message: Sized {
    /// The `mt`.
    fn mt(&self) -> &'static str;
    /// Appends the message's fields (after `mt`).
    fn write_fields(&self, out: &mut Json);
    /// The message of type `mt` from the envelope's members; `Ok(None)` for an `mt` that is not one of these.
    fn read(mt: &str, o: &Members) -> Result<Option<Self>, JsonError>;
}

impl<T: Message> Envelope<T> {
    pub fn new(src: Option<String>, msg: T) -> Self {
        Envelope {
            api: API.to_string(),
            src,
            msg,
        }
    }

    pub fn to_tree(&self) -> Json {
        let mut j = Json::object(vec![("api", self.api.as_str().into())]);
        if let Some(src) = &self.src {
            j.push("src", src.as_str().into());
        }
        j.push("mt", self.msg.mt().into());
        self.msg.write_fields(&mut j);
        j
    }

    pub fn to_json(&self) -> String {
        self.to_tree().to_text()
    }

    /// An envelope from a parsed text: `api` (a string) and `mt` required, `src` a string or absent.
    pub fn from_tree(tree: &Json) -> Result<Self, JsonError> {
        let o = json::object(tree, "the message")?;
        let api = json::as_string(json::required(o, "api")?, "api")?;
        let src = json::optional(o, "src")?
            .map(|s| json::as_string(s, "src"))
            .transpose()?;
        let mt = json::required(o, "mt")?
            .as_str()
            .ok_or_else(|| JsonError("mt must be a string".into()))?;
        let msg = T::read(mt, o)?.ok_or_else(|| JsonError("unknown mt".into()))?;
        Ok(Envelope { api, src, msg })
    }
}

#[cfg(feature = "serde")]
impl Serialize for Request {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut j = Json::object(vec![("mt", self.mt().into())]);
        self.write_fields(&mut j);
        j.serialize(s)
    }
}

#[cfg(feature = "serde")]
impl Serialize for Response {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut j = Json::object(vec![("mt", self.mt().into())]);
        self.write_fields(&mut j);
        j.serialize(s)
    }
}

#[cfg(feature = "serde")]
impl<T: Message> Serialize for Envelope<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_tree().serialize(s)
    }
}

impl Message for Request {
    fn mt(&self) -> &'static str {
        match self {
            Request::GetConfig => "GetConfig",
            Request::SetConfig { .. } => "SetConfig",
            Request::SetPresence { .. } => "SetPresence",
            Request::GetLicense => "GetLicense",
            Request::ReportHealth { .. } => "ReportHealth",
        }
    }

    fn write_fields(&self, out: &mut Json) {
        match self {
            Request::GetConfig | Request::GetLicense => {}
            Request::SetConfig { config } => out.push("config", config.to_tree()),
            Request::SetPresence {
                activity,
                note,
                guard,
            } => {
                out.push("activity", activity.as_str().into());
                out.push("note", note.as_str().into());
                match guard {
                    None => {}
                    Some(PresenceGuard::Release) => out.push("guard", "release".into()),
                    Some(PresenceGuard::Claim { restore }) => {
                        out.push("guard", "claim".into());
                        out.push(
                            "restore",
                            Json::object(vec![
                                ("activity", restore.activity.as_str().into()),
                                ("note", restore.note.as_str().into()),
                            ]),
                        );
                    }
                }
            }
            Request::ReportHealth { client, health } => {
                out.push("client", client.as_str().into());
                let mut h = Json::object(vec![
                    ("run", health.run.into()),
                    ("hub", health.hub.as_str().into()),
                ]);
                if let Some(l) = health.lic {
                    h.push("lic", l.as_str().into());
                }
                if let Some(n) = health.lamps {
                    h.push("lamps", n.into());
                }
                h.push("local", health.local.into());
                if let Some(e) = &health.err {
                    h.push("err", e.as_str().into());
                }
                h.push("build", health.build.as_str().into());
                h.push("browser", health.browser.as_str().into());
                out.push("health", h);
            }
        }
    }

    fn read(mt: &str, o: &Members) -> Result<Option<Self>, JsonError> {
        Ok(Some(match mt {
            "ReportHealth" => {
                let h = json::object(json::required(o, "health")?, "health")?;
                Request::ReportHealth {
                    client: json::string(o, "client")?.unwrap_or_default(),
                    health: Health {
                        run: json::boolean(h, "run")?
                            .ok_or_else(|| JsonError("health.run is missing".into()))?,
                        hub: json::as_string(json::required(h, "hub")?, "hub")?,
                        lic: json::optional(h, "lic")?
                            .map(License::from_tree)
                            .transpose()?,
                        lamps: json::uint(h, "lamps", 99)?,
                        local: json::boolean(h, "local")?.unwrap_or(false),
                        err: json::string(h, "err")?,
                        build: json::string(h, "build")?.unwrap_or_default(),
                        browser: json::string(h, "browser")?.unwrap_or_default(),
                    },
                }
            }
            "GetConfig" => Request::GetConfig,
            "GetLicense" => Request::GetLicense,
            "SetConfig" => Request::SetConfig {
                config: Box::new(Config::from_tree(json::required(o, "config")?)?),
            },
            "SetPresence" => Request::SetPresence {
                activity: json::string(o, "activity")?.unwrap_or_default(),
                note: json::string(o, "note")?.unwrap_or_default(),
                guard: PresenceGuard::read(o)?,
            },
            _ => return Ok(None),
        }))
    }
}

impl Message for Response {
    fn mt(&self) -> &'static str {
        match self {
            Response::GetConfigResult { .. } => "GetConfigResult",
            Response::SetConfigResult { .. } => "SetConfigResult",
            Response::SetPresenceResult { .. } => "SetPresenceResult",
            Response::GetLicenseResult { .. } => "GetLicenseResult",
            Response::ConfigChanged { .. } => "ConfigChanged",
            Response::ReportHealthResult { .. } => "ReportHealthResult",
            Response::Error { .. } => "Error",
        }
    }

    fn write_fields(&self, out: &mut Json) {
        let error = |out: &mut Json, e: &Option<ServiceError>| {
            if let Some(e) = e {
                out.push("error", e.to_tree());
            }
        };
        match self {
            Response::GetConfigResult { config, error: e }
            | Response::SetConfigResult { config, error: e } => {
                if let Some(c) = config {
                    out.push("config", c.to_tree());
                }
                error(out, e);
            }
            Response::SetPresenceResult { error: e } => error(out, e),
            Response::GetLicenseResult { license, error: e } => {
                if let Some(l) = license {
                    out.push("license", l.as_str().into());
                }
                error(out, e);
            }
            Response::ConfigChanged { config } => out.push("config", config.to_tree()),
            Response::ReportHealthResult { off, error: e } => {
                if *off {
                    out.push("off", true.into());
                }
                error(out, e);
            }
            Response::Error { error } => out.push("error", error.to_tree()),
        }
    }

    fn read(mt: &str, o: &Members) -> Result<Option<Self>, JsonError> {
        let config = || {
            json::optional(o, "config")?
                .map(Config::from_tree)
                .transpose()
        };
        let error = || {
            json::optional(o, "error")?
                .map(ServiceError::from_tree)
                .transpose()
        };
        Ok(Some(match mt {
            // One read of config and error for both results: each `config()?`/`error()?` is inlined
            // where it is used, so reading them once is smaller in the hidden app.
            "GetConfigResult" | "SetConfigResult" => {
                let (config, error) = (config()?, error()?);
                if mt == "GetConfigResult" {
                    Response::GetConfigResult { config, error }
                } else {
                    Response::SetConfigResult { config, error }
                }
            }
            "SetPresenceResult" => Response::SetPresenceResult { error: error()? },
            "GetLicenseResult" => Response::GetLicenseResult {
                license: json::optional(o, "license")?
                    .map(License::from_tree)
                    .transpose()?,
                error: error()?,
            },
            "ReportHealthResult" => Response::ReportHealthResult {
                off: json::boolean(o, "off")?.unwrap_or(false),
                error: error()?,
            },
            "ConfigChanged" => Response::ConfigChanged {
                config: Config::from_tree(json::required(o, "config")?)?,
            },
            "Error" => Response::Error {
                error: ServiceError::from_tree(json::required(o, "error")?)?,
            },
            _ => return Ok(None),
        }))
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

    pub fn to_tree(self) -> Json {
        self.as_str().into()
    }

    pub fn from_tree(j: &Json) -> Result<License, JsonError> {
        Ok(License::ALL[json::one_of(j, "license", &License::ALL.map(License::as_str))?])
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

    pub fn to_tree(self) -> Json {
        self.as_str().into()
    }

    pub fn from_tree(j: &Json) -> Result<ErrorCode, JsonError> {
        Ok(ErrorCode::ALL[json::one_of(j, "code", &ErrorCode::ALL.map(ErrorCode::as_str))?])
    }
}

impl ServiceError {
    pub fn to_tree(&self) -> Json {
        let mut j = Json::object(vec![
            ("code", self.code.as_str().into()),
            ("text", self.text.as_str().into()),
        ]);
        if !self.fields.is_empty() {
            j.push(
                "fields",
                Json::Array(self.fields.iter().map(FieldError::to_tree).collect()),
            );
        }
        j
    }

    pub fn from_tree(j: &Json) -> Result<ServiceError, JsonError> {
        let o = json::object(j, "error")?;
        let fields = match json::member(o, "fields")? {
            None => Vec::new(),
            Some(Json::Array(list)) => list
                .iter()
                .map(FieldError::from_tree)
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(JsonError("fields must be a list".into())),
        };
        Ok(ServiceError {
            code: ErrorCode::from_tree(json::required(o, "code")?)?,
            text: json::string(o, "text")?.unwrap_or_default(),
            fields,
        })
    }
}

impl PresenceGuard {
    const KINDS: [&'static str; 2] = ["claim", "release"];

    /// `guard` and, with a claim, `restore` from a `SetPresence`'s members (`null` counts as absent).
    fn read(o: &Members) -> Result<Option<PresenceGuard>, JsonError> {
        let Some(g) = json::optional(o, "guard")? else {
            return Ok(None);
        };
        if json::one_of(g, "guard", &Self::KINDS)? == 1 {
            return Ok(Some(PresenceGuard::Release));
        }
        let restore = match json::optional(o, "restore")? {
            None => Presence::available(),
            Some(r) => {
                let r = json::object(r, "restore")?;
                Presence {
                    activity: json::string(r, "activity")?.unwrap_or_default(),
                    note: json::string(r, "note")?.unwrap_or_default(),
                }
            }
        };
        Ok(Some(PresenceGuard::Claim { restore }))
    }
}

#[cfg(feature = "serde")]
json::serialize_via_tree!(License, ErrorCode, ServiceError);

/// Reads a service message (app side). Errors are for traces; the text never contains message content.
pub fn parse_response(text: &str) -> Result<Envelope<Response>, String> {
    Json::parse(text)
        .and_then(|tree| Envelope::from_tree(&tree))
        .map_err(|e| ["unreadable service message: ", &e.0].concat())
}

/// Reads a request (service side, and the simulator's).
pub fn parse_request(text: &str) -> Result<Envelope<Request>, String> {
    if text.len() > MAX_MESSAGE_LEN {
        return Err("message too large".into());
    }
    Json::parse(text)
        .and_then(|tree| Envelope::from_tree(&tree))
        .map_err(|e| ["unreadable request: ", &e.0].concat())
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
