//! The hub's answers: their status, type and body as the real hub writes them, and what the too-old hub
//! answers to an action it does not know.

use serde_json::Value;

/// What the too-old hub answers to `currentpresence` unless told otherwise.
pub const DEFAULT_TOO_OLD_ANSWER: &str = "Unknown action";

/// The answer of a hub too old for `currentpresence`. No source shows what an old kuandoHUB answers to an
/// action it does not know **[inferred]**, so the shape is a setting: `html` (an HTML error page, 200),
/// `empty` (an empty 200), or any other text, answered as plain text with 200 (e.g. `Unknown action`,
/// `Action not supported`). The connector calls only plain texts naming an unknown action "too old"; the
/// other shapes are a hub answering badly.
pub fn too_old_reply(answer: &str) -> Reply {
    match answer.trim() {
        "html" => Reply {
            status: 200,
            content_type: "text/html; charset=utf-8",
            body:
                "<html><head><title>Error</title></head><body><h1>Unknown action</h1></body></html>"
                    .into(),
            error: Some("too old: an HTML page for currentpresence".into()),
        },
        "empty" => Reply {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: String::new(),
            error: Some("too old: an empty answer for currentpresence".into()),
        },
        text => Reply::text(text),
    }
}

/// An answer of the hub API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    /// Why the request did nothing, for the request log (the hub itself says little).
    pub error: Option<String>,
}

impl Reply {
    pub(super) fn json(v: &Value) -> Reply {
        Reply {
            status: 200,
            content_type: "application/json; charset=utf-8",
            body: v.to_string(),
            error: None,
        }
    }

    /// `{"response": "OK"}`, spaced exactly as the concept shows the real hub's liveness answer. Control
    /// commands answer the same: their success body is undocumented and clients only check the status.
    pub fn ok() -> Reply {
        Reply {
            status: 200,
            content_type: "application/json; charset=utf-8",
            body: r#"{"response": "OK"}"#.into(),
            error: None,
        }
    }

    /// The manual defines only 200, 401 and 404 for the hub **[inferred]**: a request the hub cannot use
    /// (unknown action, broken JSON) is answered 200 with a plain-text message, as a .NET HttpListener
    /// handler that does not set a status would. The request log records the reason.
    pub(super) fn text(msg: &str) -> Reply {
        Reply {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: msg.into(),
            error: Some(msg.into()),
        }
    }

    pub(super) fn no_device(why: &str) -> Reply {
        Reply {
            status: 404,
            content_type: "text/plain; charset=utf-8",
            body: "Busylight device is not connected".into(),
            error: Some(why.into()),
        }
    }

    /// The macOS Busylight HTTP server's way: status 200, the text `NO_DEVICE` **[inferred]** (a public
    /// client only checks that the text is in the answer).
    pub(super) fn no_device_text(why: &str) -> Reply {
        Reply {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: "NO_DEVICE".into(),
            error: Some(why.into()),
        }
    }

    pub fn unauthorized() -> Reply {
        Reply {
            status: 401,
            content_type: "text/plain; charset=utf-8",
            body: "http token invalid".into(),
            error: Some("missing or wrong access token".into()),
        }
    }
}
