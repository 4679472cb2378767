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
//! | `GetLicense`                        | `GetLicenseResult {license}`                    |
//! | anything unreadable                 | `Error {error}` (or `<mt>Result {error}` when `mt` was readable) |

use serde::{Deserialize, Serialize};

use crate::config::{Config, FieldError};

/// The JsonApi name of the connector's service.
pub const API: &str = "kuando";

/// Longest message the service accepts or sends (the AppPlatform's `send` limit).
pub const MAX_MESSAGE_LEN: usize = 65_535;

/// A request from an app to the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mt")]
pub enum Request {
    /// The user's settings (defaults when none are stored).
    GetConfig,
    /// Validate and store the user's settings.
    SetConfig { config: Box<Config> },
    /// Set the user's own PBX presence (`contact "tel:"`).
    SetPresence {
        #[serde(default)]
        activity: String,
        #[serde(default)]
        note: String,
    },
    /// Which of the concept's licenses the user has.
    GetLicense,
}

/// The licenses of the concept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum License {
    /// No license: the connector stops.
    None,
    /// `App(innovaphone-kuando)`: works with and without a Busylight.
    Connector,
    /// `App(innovaphone-kuando-with-busylight)`: a Busylight is part of the setup.
    WithBusylight,
}

/// Error codes in results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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
}

/// An error in a result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceError {
    pub code: ErrorCode,
    /// Human-readable; never contains the token.
    #[serde(default)]
    pub text: String,
    /// For `invalidConfig`: every bad field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

/// A message from the service to an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mt")]
pub enum Response {
    GetConfigResult {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config: Option<Config>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ServiceError>,
    },
    SetConfigResult {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config: Option<Config>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ServiceError>,
    },
    SetPresenceResult {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ServiceError>,
    },
    GetLicenseResult {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        license: Option<License>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ServiceError>,
    },
    /// Pushed to the user's other connections after a `SetConfig`.
    ConfigChanged { config: Config },
    /// The answer to a message whose `mt` could not be read.
    Error { error: ServiceError },
}

/// The envelope every message travels in: `{"api":"kuando","src":..,"mt":..,...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub api: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Reads a service message (app side). Errors are for traces; the text never contains message content.
pub fn parse_response(text: &str) -> Result<Envelope<Response>, String> {
    serde_json::from_str(text).map_err(|e| {
        format!(
            "unreadable service message (line {}, column {})",
            e.line(),
            e.column()
        )
    })
}

/// Reads a request (service side, and the simulator's).
pub fn parse_request(text: &str) -> Result<Envelope<Request>, String> {
    if text.len() > MAX_MESSAGE_LEN {
        return Err("message too large".into());
    }
    serde_json::from_str(text).map_err(|e| {
        format!(
            "unreadable request (line {}, column {})",
            e.line(),
            e.column()
        )
    })
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
