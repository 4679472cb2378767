//! The myApps bridge, sans-IO: everything an app inside myApps says to the launcher (`postMessage`) and to its
//! app service (the app websocket), as plain data in and text out. The wasm drivers in `web` only move these
//! texts between the browser and this module.
//!
//! - [`start`]: the start-up parameters myApps puts in the page's query string, and the websocket URL.
//! - [`launcher`]: the `postMessage` protocol, parsed tolerantly and built exactly.
//! - [`domain`]: what the hidden app needs out of those messages (own user, calls, own presence).
//! - [`session`]: the app websocket login through the launcher, reconnects and keep-alives.
//!
//! Wire facts come from `docs/platform-facts.md` §3 (itself from innovaphone's public SDK). This is
//! the project's own implementation of that protocol; no SDK file is used.

pub mod domain;
pub mod launcher;
pub mod session;
pub mod start;

pub use domain::{
    call_event, own_user, phone_calls, presence_update, subscribe_presence, PhoneCalls, User,
};
pub use launcher::{ApiMsg, ApiUpdate, Ignored, LauncherMsg, LoginMsg};
pub use session::{AppSession, SendError, SessionAction, SessionEvent};
pub use start::{Scheme, StartParams};

use crate::json::Json;

/// The call events API the hidden app provides (myApps starts the app when calls happen).
pub const API_PHONEINFO: &str = "com.innovaphone.phoneinfo";
/// The phone API the hidden app consumes to learn the calls that exist at start.
pub const API_PHONE: &str = "com.innovaphone.phone";
/// The client API: own user and presence subscriptions.
pub const API_CLIENT: &str = "com.innovaphone.client";
/// The only provider of [`API_CLIENT`].
pub const CLIENT_PROVIDER: &str = "@client";
/// Declared by the hidden app so that myApps starts it on every client and never closes it.
pub const API_AUTOSTART: &str = "com.innovaphone.autostart";

/// A JSON scalar as text: ids come as numbers from one sender and as strings from another, and both must key
/// the same call. Integral floats (`1.0`) read as `1`. Anything else (null, bool, array, object) is `None`.
pub(crate) fn scalar(v: Option<&Json>) -> Option<String> {
    match v? {
        Json::String(s) => Some(s.clone()),
        // Integral floats read as integers while exact (below 2^53); larger ones and fractions as written.
        Json::Number(n) => Some(n.whole_text().unwrap_or_else(|| n.as_str().to_string())),
        _ => None,
    }
}

/// [`scalar`] or `""`: for display fields where absent and empty mean the same.
pub(crate) fn text(v: Option<&Json>) -> String {
    scalar(v).unwrap_or_default()
}

/// JavaScript truthiness, as the SDK tests flags like `ok` and `info.unlicensed`: `true`, a non-zero number,
/// or a non-empty string; except that the strings `"false"` and `"0"` are false here, since a sender writing
/// them surely means false.
pub(crate) fn truthy(v: Option<&Json>) -> bool {
    match v {
        Some(Json::Bool(b)) => *b,
        Some(Json::Number(n)) => !n.is_zero(),
        Some(Json::String(s)) => !matches!(s.trim(), "" | "false" | "0"),
        Some(Json::Array(_)) | Some(Json::Object(_)) => true,
        Some(Json::Null) | None => false,
    }
}

/// At most `max` characters of `s`, for quoting outside text in a reason without flooding a trace.
pub(crate) fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => [s.get(..i).unwrap_or(""), "…"].concat(),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scalar(v: Option<&serde_json::Value>) -> Option<String> {
        super::scalar(v.map(Json::from).as_ref())
    }

    fn truthy(v: Option<&serde_json::Value>) -> bool {
        super::truthy(v.map(Json::from).as_ref())
    }

    #[test]
    fn ids_read_the_same_as_number_or_string() {
        assert_eq!(scalar(Some(&json!(1))).as_deref(), Some("1"));
        assert_eq!(scalar(Some(&json!("1"))).as_deref(), Some("1"));
        assert_eq!(scalar(Some(&json!(1.0))).as_deref(), Some("1"));
        assert_eq!(scalar(Some(&json!(-3))).as_deref(), Some("-3"));
        assert_eq!(scalar(Some(&json!(1.5))).as_deref(), Some("1.5"));
        assert_eq!(
            scalar(Some(&json!(u64::MAX))).as_deref(),
            Some("18446744073709551615")
        );
        assert_eq!(scalar(Some(&json!(null))), None);
        assert_eq!(scalar(Some(&json!(true))), None);
        assert_eq!(scalar(Some(&json!({}))), None);
        assert_eq!(scalar(None), None);
    }

    #[test]
    fn truthiness() {
        for t in [
            json!(true),
            json!(1),
            json!(-0.5),
            json!("true"),
            json!("yes"),
            json!({}),
        ] {
            assert!(truthy(Some(&t)), "{t}");
        }
        for f in [
            json!(false),
            json!(0),
            json!(""),
            json!("false"),
            json!("0"),
            json!(null),
        ] {
            assert!(!truthy(Some(&f)), "{f}");
        }
        assert!(!truthy(None));
    }

    #[test]
    fn clip_cuts_on_character_boundaries() {
        assert_eq!(clip("abc", 5), "abc");
        assert_eq!(clip("äöüß", 2), "äö…");
    }
}
