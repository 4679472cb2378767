//! The `postMessage` protocol between an app and the myApps launcher: JSON texts in both directions.
//!
//! Parsing is tolerant (unknown fields ignored, missing fields empty, ids as number or string) and never
//! panics: a message that cannot be used comes back as [`Ignored`] with a reason for the trace. Building is
//! exact: the texts the app posts, field for field as the spec shows them (derived structs write their fields
//! in declaration order).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use super::start::Scheme;
use super::{clip, scalar, text, truthy};

/// A message from myApps to the app.
#[derive(Debug, Clone, PartialEq)]
pub enum LauncherMsg {
    /// The APIs the app consumes (sent after `ConsumeApi` and on every change).
    ApiUpdate(ApiUpdate),
    /// A reply or event from the provider of a consumed API (`provider` set).
    ApiResult(ApiMsg),
    /// A request to an API this app provides (`consumer` set).
    ApiRequest(ApiMsg),
    /// The answer to `getLogin`: the credentials for the app websocket.
    Login(LoginMsg),
    SetLang(String),
    SetScheme(Scheme),
    /// New app arguments (scalar values as text; others are skipped).
    SetArgs(Vec<(String, String)>),
    /// myApps is about to close and reload the app: answer [`prepare_reload_complete`] once done.
    PrepareReload,
    /// A consumer of an API this app provides went away (`{api, consumer}`).
    ApiConsumerClosed {
        api: String,
        consumer: String,
    },
}

/// Why a launcher message was not used. For traces; quotes at most a short piece of the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored(pub String);

impl std::fmt::Display for Ignored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `ApiUpdate`: `apis` is `{api: {provider: {title, url, info, model}}}`. Kept as a JSON value: it is read
/// by path (see [`ApiUpdate::model`]), and indexing a [`Value`] gives `Null` for an unexpected shape instead
/// of failing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApiUpdate {
    pub apis: Value,
    pub default_api_providers: Value,
}

impl ApiUpdate {
    /// The providers of `api`, in the order of their names, each once: the first provider with a user wins
    /// in `own_user`, and that must not depend on the order myApps happens to write.
    pub fn providers(&self, api: &str) -> Vec<&str> {
        match self.apis.get(api) {
            Some(Value::Object(m)) => m.keys().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// The model of `provider` for `api`; `Null` when there is none.
    pub fn model(&self, api: &str, provider: &str) -> &Value {
        &self.apis[api][provider]["model"]
    }

    /// The provider myApps uses for `api` when a request names none.
    pub fn default_provider(&self, api: &str) -> Option<&str> {
        self.default_api_providers.get(api)?.as_str()
    }
}

/// `ApiResult` / `ApiRequest`. Absent names are empty.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApiMsg {
    pub api: String,
    /// Who answered (in an `ApiResult`).
    pub provider: String,
    /// Who asked (in an `ApiRequest`): for `phoneinfo`, the phone app the call belongs to.
    pub consumer: String,
    pub src: Option<String>,
    /// The API's own message (`{"mt":..}`); `Null` when absent.
    pub msg: Value,
}

impl ApiMsg {
    /// The `mt` of the inner message, or `""`.
    pub fn mt(&self) -> &str {
        self.msg.get("mt").and_then(Value::as_str).unwrap_or("")
    }
}

/// The `Login` myApps posts in answer to `getLogin`. `info` is kept as the very text myApps posted (serde_json's
/// `RawValue`): the PBX computed the digest over it, so a reordered key or a rewritten number fails the login.
/// myApps writes it with `JSON.stringify`, as innovaphone's own client writes it back. The session key
/// (`key`) that myApps may add is not read at all: the connector does not encrypt, and a key that is never
/// stored cannot leak.
#[derive(Clone, PartialEq, Default)]
pub struct LoginMsg {
    /// Echo of the `getLogin`'s `src` (older launchers omit it).
    pub src: Option<String>,
    /// The htm name of the app.
    pub app: String,
    pub domain: String,
    pub sip: String,
    pub guid: String,
    pub dn: String,
    /// The PBX app object this login is for.
    pub pbx_obj: String,
    /// `info` as myApps wrote it, `None` when absent (or `null`).
    pub info: Option<String>,
    pub digest: String,
}

impl std::fmt::Debug for LoginMsg {
    // By hand so that the digest, a credential for this challenge, never reaches a trace via `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginMsg")
            .field("src", &self.src)
            .field("app", &self.app)
            .field("domain", &self.domain)
            .field("sip", &self.sip)
            .field("guid", &self.guid)
            .field("dn", &self.dn)
            .field("pbx_obj", &self.pbx_obj)
            .field("info", &self.info)
            .field("digest", &"***")
            .finish()
    }
}

impl LoginMsg {
    /// True when `info.unlicensed` is set: the user has no license for this app. Read with JavaScript
    /// truthiness like the SDK (see `truthy`), also when `info` came as a JSON string holding the object.
    pub fn unlicensed(&self) -> bool {
        let Some(raw) = &self.info else {
            return false;
        };
        let mut info: Value = serde_json::from_str(raw).unwrap_or_default();
        if let Value::String(s) = &info {
            info = serde_json::from_str(s).unwrap_or_default();
        }
        truthy(info.get("unlicensed"))
    }
}

/// The `info` of a `Login`, cut out as the text myApps posted (the rest of the message is read as a
/// [`Value`], whose objects are sorted by key).
#[derive(Deserialize)]
struct LoginInfo<'a> {
    #[serde(borrow, default)]
    info: Option<&'a RawValue>,
}

impl LauncherMsg {
    /// Reads one message from myApps. Like `JSON.parse` in the launcher, a field given twice counts with its
    /// last value.
    pub fn parse(text_in: &str) -> Result<LauncherMsg, Ignored> {
        let tree: Value = serde_json::from_str(text_in).map_err(|_| Ignored("not JSON".into()))?;
        let Value::Object(mut w) = tree else {
            return Err(Ignored(
                "not a JSON object with the launcher's fields".into(),
            ));
        };
        // The large members are moved out, not cloned.
        let mut take = |name: &str| w.remove(name).unwrap_or_default();
        let (msg, apis, default_api_providers) =
            (take("msg"), take("apis"), take("defaultApiProviders"));
        let f = |name: &str| w.get(name);
        let mt = match f("mt") {
            Some(Value::String(s)) => s.as_str(),
            _ => return Err(Ignored("no mt".into())),
        };
        let api_msg = |msg: Value| -> Result<ApiMsg, Ignored> {
            let api = text(f("api"));
            if api.is_empty() {
                return Err(Ignored(format!("{mt} without api")));
            }
            Ok(ApiMsg {
                api,
                provider: text(f("provider")),
                consumer: text(f("consumer")),
                src: scalar(f("src")),
                msg,
            })
        };
        Ok(match mt {
            "ApiUpdate" => LauncherMsg::ApiUpdate(ApiUpdate {
                apis,
                default_api_providers,
            }),
            "ApiResult" => LauncherMsg::ApiResult(api_msg(msg)?),
            "ApiRequest" => LauncherMsg::ApiRequest(api_msg(msg)?),
            "Login" => {
                // The text was read above, so only a second `info` fails here: which one the PBX signed
                // is unknown, and a login with the other one would fail anyway.
                let info = serde_json::from_str::<LoginInfo>(text_in)
                    .map_err(|_| Ignored("Login with info given twice".into()))?
                    .info;
                LauncherMsg::Login(LoginMsg {
                    src: scalar(f("src")),
                    app: text(f("app")),
                    domain: text(f("domain")),
                    sip: text(f("sip")),
                    guid: text(f("guid")),
                    dn: text(f("dn")),
                    pbx_obj: text(f("pbxObj")),
                    info: info.map(|i| i.get().to_string()),
                    digest: text(f("digest")),
                })
            }
            "SetLang" => match scalar(f("lang")) {
                Some(l) if !l.trim().is_empty() => LauncherMsg::SetLang(l.trim().to_string()),
                _ => return Err(Ignored("SetLang without lang".into())),
            },
            "SetScheme" => match f("scheme").and_then(Value::as_str).and_then(Scheme::parse) {
                Some(s) => LauncherMsg::SetScheme(s),
                None => return Err(Ignored("SetScheme without a known scheme".into())),
            },
            "PrepareReload" => LauncherMsg::PrepareReload,
            "ApiConsumerClosed" => LauncherMsg::ApiConsumerClosed {
                api: text(f("api")),
                consumer: text(f("consumer")),
            },
            // By name (a JSON object's order carries no meaning); an argument given twice counts with its
            // last value, as with `JSON.parse`.
            "SetArgs" => LauncherMsg::SetArgs(match f("args") {
                Some(Value::Object(m)) => m
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), scalar(Some(v))?)))
                    .collect(),
                _ => Vec::new(),
            }),
            other => return Err(Ignored(format!("unknown mt \"{}\"", clip(other, 32)))),
        })
    }
}

/// Every message the app posts: `mt` first, then the fields given, in the spec's order (`api`, `provider`,
/// `consumer`, `src`, `app`, `challenge`, `msg`); absent ones are left out.
#[derive(Serialize)]
struct Out<'a, M: Serialize> {
    mt: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    api: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consumer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    src: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    app: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    challenge: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    msg: Option<&'a M>,
}

/// A message that is only its `mt` (`{"mt":"Watch"}`), inside an API message or on its own.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mt<'a> {
    pub mt: &'a str,
}

impl<M: Serialize> Default for Out<'_, M> {
    fn default() -> Self {
        Out {
            mt: "",
            api: None,
            provider: None,
            consumer: None,
            src: None,
            app: None,
            challenge: None,
            msg: None,
        }
    }
}

impl<M: Serialize> Out<'_, M> {
    fn text(&self) -> String {
        // Writing strings and derived structs into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn bare(mt: &str, api: Option<&str>) -> String {
    Out::<()> {
        mt,
        api,
        ..Out::default()
    }
    .text()
}

/// `{"mt":"Alive"}`: posted once the app is loaded.
pub fn alive() -> String {
    bare("Alive", None)
}

/// `{"mt":"PrepareReloadComplete"}`: the answer to `PrepareReload` (lib1.htm).
pub fn prepare_reload_complete() -> String {
    bare("PrepareReloadComplete", None)
}

/// `{"mt":"ConsumeApi","api":A}`: myApps answers with `ApiUpdate`, now and on every change.
pub fn consume_api(api: &str) -> String {
    bare("ConsumeApi", Some(api))
}

/// `{"mt":"RegisterApi","api":A}`: the app provides `api`.
pub fn register_api(api: &str) -> String {
    bare("RegisterApi", Some(api))
}

/// `{"mt":"ApiRequest","api":A,"provider":P,"src":S,"msg":M}`; `provider` `None` = myApps' default.
pub fn api_request(
    api: &str,
    provider: Option<&str>,
    src: Option<&str>,
    msg: &impl Serialize,
) -> String {
    Out {
        mt: "ApiRequest",
        api: Some(api),
        provider,
        src,
        msg: Some(msg),
        ..Out::default()
    }
    .text()
}

/// `{"mt":"ApiResult","api":A,"consumer":C,"src":S,"msg":M}`: the answer as provider of `api`.
pub fn api_result(api: &str, consumer: &str, src: Option<&str>, msg: &impl Serialize) -> String {
    Out {
        mt: "ApiResult",
        api: Some(api),
        consumer: Some(consumer),
        src,
        msg: Some(msg),
        ..Out::default()
    }
    .text()
}

/// `{"mt":"getLogin","src":S,"app":NAME,"challenge":CH}`: asks myApps to sign the websocket challenge.
pub fn get_login(src: &str, app: &str, challenge: &str) -> String {
    Out::<()> {
        mt: "getLogin",
        src: Some(src),
        app: Some(app),
        challenge: Some(challenge),
        ..Out::default()
    }
    .text()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builders_write_the_spec_texts() {
        assert_eq!(alive(), r#"{"mt":"Alive"}"#);
        assert_eq!(
            consume_api("com.innovaphone.phone"),
            r#"{"mt":"ConsumeApi","api":"com.innovaphone.phone"}"#
        );
        assert_eq!(
            register_api("com.innovaphone.phoneinfo"),
            r#"{"mt":"RegisterApi","api":"com.innovaphone.phoneinfo"}"#
        );
        assert_eq!(
            api_request("A", Some("@client"), Some("7"), &json!({"mt":"X"})),
            r#"{"mt":"ApiRequest","api":"A","provider":"@client","src":"7","msg":{"mt":"X"}}"#
        );
        assert_eq!(
            api_request("A", None, None, &json!({})),
            r#"{"mt":"ApiRequest","api":"A","msg":{}}"#
        );
        assert_eq!(
            api_result("A", "phone", Some("s"), &json!({"mt":"XResult"})),
            r#"{"mt":"ApiResult","api":"A","consumer":"phone","src":"s","msg":{"mt":"XResult"}}"#
        );
        assert_eq!(
            get_login("1", "kuando", "abc"),
            r#"{"mt":"getLogin","src":"1","app":"kuando","challenge":"abc"}"#
        );
    }

    #[test]
    fn reasons_for_unusable_messages() {
        let reason = |t: &str| LauncherMsg::parse(t).unwrap_err().0;
        assert_eq!(reason("hello"), "not JSON");
        assert_eq!(
            reason("[1,2]"),
            "not a JSON object with the launcher's fields"
        );
        assert_eq!(reason(r#"{"api":"x"}"#), "no mt");
        assert_eq!(reason(r#"{"mt":5}"#), "no mt");
        assert_eq!(
            reason(r#"{"mt":"ApiRequest","msg":{}}"#),
            "ApiRequest without api"
        );
        assert_eq!(
            reason(r#"{"mt":"SetScheme","scheme":"blue"}"#),
            "SetScheme without a known scheme"
        );
        assert_eq!(reason(r#"{"mt":"SetLang"}"#), "SetLang without lang");
        assert_eq!(
            reason(r#"{"mt":"Action","type":"ShowApp"}"#),
            r#"unknown mt "Action""#
        );
        // With `info` twice, which one the PBX signed is unknown.
        assert_eq!(
            reason(r#"{"mt":"Login","info":{},"info":{"a":1}}"#),
            "Login with info given twice"
        );
    }

    #[test]
    fn a_field_given_twice_counts_with_its_last_value() {
        let t = r#"{"mt":"ApiUpdate","apis":{"A":{"p":{"model":{"x":1}},"o":{},"p":{"model":{"x":2}}}}}"#;
        let Ok(LauncherMsg::ApiUpdate(u)) = LauncherMsg::parse(t) else {
            panic!("unreadable ApiUpdate")
        };
        assert_eq!(u.providers("A"), ["o", "p"]);
        assert_eq!(u.model("A", "p").get("x"), Some(&json!(2)));
        assert_eq!(u.model("A", "o"), &Value::Null);
        assert_eq!(u.model("B", "p"), &Value::Null);
        assert_eq!(
            LauncherMsg::parse(r#"{"mt":"SetLang","lang":"de","mt":"SetScheme","scheme":"light"}"#),
            Ok(LauncherMsg::SetScheme(Scheme::Light))
        );
        assert_eq!(
            LauncherMsg::parse(r#"{"mt":"SetArgs","args":{"b":"1","a":"2","b":"3"}}"#),
            Ok(LauncherMsg::SetArgs(vec![
                ("a".into(), "2".into()),
                ("b".into(), "3".into())
            ]))
        );
    }

    #[test]
    fn prepare_reload_and_consumer_closed() {
        assert_eq!(
            LauncherMsg::parse(r#"{"mt":"PrepareReload","x":1}"#),
            Ok(LauncherMsg::PrepareReload)
        );
        assert_eq!(
            LauncherMsg::parse(
                r#"{"mt":"ApiConsumerClosed","api":"com.innovaphone.phoneinfo","consumer":"softphone"}"#
            ),
            Ok(LauncherMsg::ApiConsumerClosed {
                api: "com.innovaphone.phoneinfo".into(),
                consumer: "softphone".into()
            })
        );
        assert_eq!(
            prepare_reload_complete(),
            r#"{"mt":"PrepareReloadComplete"}"#
        );
    }

    #[test]
    fn settings_messages() {
        assert_eq!(
            LauncherMsg::parse(r#"{"mt":"SetLang","lang":"de"}"#),
            Ok(LauncherMsg::SetLang("de".into()))
        );
        assert_eq!(
            LauncherMsg::parse(r#"{"mt":"SetScheme","scheme":"light"}"#),
            Ok(LauncherMsg::SetScheme(Scheme::Light))
        );
        assert_eq!(
            LauncherMsg::parse(r#"{"mt":"SetArgs","args":{"a":"1","b":2,"c":{}}}"#),
            Ok(LauncherMsg::SetArgs(vec![
                ("a".into(), "1".into()),
                ("b".into(), "2".into())
            ]))
        );
    }

    #[test]
    fn login_keeps_info_verbatim_and_hides_the_digest() {
        let t = r#"{"mt":"Login","src":3,"app":"innovaphone-kuando","domain":"d","sip":"bob","guid":"g","dn":"Bob","pbxObj":"kuando","info":{"z":1,"appobj":"kuando","unlicensed":true},"digest":"secretdigest","key":"sessionkey"}"#;
        let LauncherMsg::Login(l) = LauncherMsg::parse(t).unwrap() else {
            panic!("not a Login")
        };
        assert_eq!(l.src.as_deref(), Some("3"));
        assert_eq!(l.pbx_obj, "kuando");
        assert_eq!(
            l.info.as_deref(),
            Some(r#"{"z":1,"appobj":"kuando","unlicensed":true}"#)
        );
        assert!(l.unlicensed());
        let dbg = format!("{l:?}");
        assert!(
            !dbg.contains("secretdigest") && !dbg.contains("sessionkey"),
            "{dbg}"
        );
    }

    #[test]
    fn unlicensed_reads_like_javascript() {
        let with = |info: &str| {
            LoginMsg {
                info: Some(info.into()),
                ..LoginMsg::default()
            }
            .unlicensed()
        };
        assert!(with(r#"{"unlicensed":true}"#));
        assert!(with(r#"{"unlicensed":1}"#));
        assert!(with(r#"{"unlicensed":"true"}"#));
        assert!(with(r#""{\"unlicensed\":true}""#));
        assert!(!with(r#"{"unlicensed":false}"#));
        assert!(!with(r#"{"unlicensed":0}"#));
        assert!(!with(r#"{"unlicensed":"false"}"#));
        assert!(!with(r#"{"lics":1}"#));
        assert!(!with("null"));
        assert!(!LoginMsg::default().unlicensed());
    }
}
