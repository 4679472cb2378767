//! The `postMessage` protocol between an app and the myApps launcher: JSON texts in both directions.
//!
//! Parsing is tolerant (unknown fields ignored, missing fields empty, ids as number or string) and never
//! panics: a message that cannot be used comes back as [`Ignored`] with a reason for the trace. Building is
//! exact: the texts the app posts, field for field as the spec shows them.

use super::start::Scheme;
use super::{clip, scalar, text, truthy};
use crate::json::Json;

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

/// `ApiUpdate`: `apis` is `{api: {provider: {title, url, info, model}}}`. Kept as JSON: it is read by path
/// (see [`ApiUpdate::model`]), and a walk over a [`Json`] tree (`get`, `at`) cannot fail on an unexpected
/// shape.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApiUpdate {
    pub apis: Json,
    pub default_api_providers: Json,
}

impl ApiUpdate {
    /// The providers of `api`, in the order of their names, each once.
    pub fn providers(&self, api: &str) -> Vec<&str> {
        // Sorted as a sorted map listed them before: the first provider with a user wins in `own_user`, and
        // that must not depend on the order myApps happens to write. Inserted in place: a handful of names,
        // and the standard sort is some 3 KB of wasm.
        let mut names: Vec<&str> = Vec::new();
        if let Some(Json::Object(m)) = self.apis.get(api) {
            for (k, _) in m {
                let at = names.partition_point(|n| *n < k.as_str());
                if names.get(at) != Some(&k.as_str()) {
                    names.insert(at, k);
                }
            }
        }
        names
    }

    /// The model of `provider` for `api`; `Null` when there is none.
    pub fn model(&self, api: &str, provider: &str) -> &Json {
        self.apis.at(api).at(provider).at("model")
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
    pub msg: Json,
}

impl ApiMsg {
    /// The `mt` of the inner message, or `""`.
    pub fn mt(&self) -> &str {
        self.msg.get("mt").and_then(Json::as_str).unwrap_or("")
    }
}

/// The `Login` myApps posts in answer to `getLogin`. `info` is kept as compact JSON with its keys in the order
/// myApps sent them: the PBX computed the digest over that text, so a reordered key fails the login. This is
/// what innovaphone's own client sends too (it parses the Login and writes `info` back with
/// `JSON.stringify`); for what a PBX writes into `info` (strings, whole numbers, booleans) the text is
/// byte for byte the one myApps posted. Not cut out raw with serde_json's `RawValue`: that alone cost the
/// hidden app 30 KB of wasm (its error paths pull in float formatting). The session key (`key`) that myApps may add is not read at all: the connector does not
/// encrypt, and a key that is never stored cannot leak.
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
    /// `info` as compact JSON in myApps' key order, `None` when absent.
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
        let mut info = Json::parse(raw).unwrap_or_default();
        if let Json::String(s) = &info {
            info = Json::parse(s).unwrap_or_default();
        }
        truthy(info.get("unlicensed"))
    }
}

impl LauncherMsg {
    /// Reads one message from myApps. Like `JSON.parse` in the launcher, a field given twice counts with its
    /// last value.
    pub fn parse(text_in: &str) -> Result<LauncherMsg, Ignored> {
        // `info` must keep its key order (see `LoginMsg`): the tree keeps members in text order.
        let tree = Json::parse(text_in).map_err(|_| Ignored("not JSON".into()))?;
        let Json::Object(mut members) = tree else {
            return Err(Ignored(
                "not a JSON object with the launcher's fields".into(),
            ));
        };
        let mut infos = Vec::new();
        members.retain_mut(|(k, v)| {
            if k != "info" {
                return true;
            }
            infos.push(v.to_text());
            false
        });
        // The large members are moved out, not cloned later. The last one counts, as with the rest (`get`).
        let mut take = |name: &str| match members.iter().rposition(|(k, _)| k == name) {
            Some(i) => members.swap_remove(i).1,
            None => Json::Null,
        };
        let (msg, apis, default_api_providers) =
            (take("msg"), take("apis"), take("defaultApiProviders"));
        let w = Json::Object(members);
        let f = |name: &str| w.get(name);
        let mt = match f("mt") {
            Some(Json::String(s)) => s.as_str(),
            _ => return Err(Ignored("no mt".into())),
        };
        let api_msg = |w: &Json, msg: Json| -> Result<ApiMsg, Ignored> {
            let api = text(w.get("api"));
            if api.is_empty() {
                return Err(Ignored([mt, " without api"].concat()));
            }
            Ok(ApiMsg {
                api,
                provider: text(w.get("provider")),
                consumer: text(w.get("consumer")),
                src: scalar(w.get("src")),
                msg,
            })
        };
        Ok(match mt {
            "ApiUpdate" => LauncherMsg::ApiUpdate(ApiUpdate {
                apis,
                default_api_providers,
            }),
            "ApiResult" => LauncherMsg::ApiResult(api_msg(&w, msg)?),
            "ApiRequest" => LauncherMsg::ApiRequest(api_msg(&w, msg)?),
            "Login" => {
                // With `info` twice, which one the PBX signed is unknown, and a login with the other one
                // would fail anyway.
                if infos.len() > 1 {
                    return Err(Ignored("Login with info given twice".into()));
                }
                let info = infos.pop();
                LauncherMsg::Login(LoginMsg {
                    src: scalar(f("src")),
                    app: text(f("app")),
                    domain: text(f("domain")),
                    sip: text(f("sip")),
                    guid: text(f("guid")),
                    dn: text(f("dn")),
                    pbx_obj: text(f("pbxObj")),
                    info,
                    digest: text(f("digest")),
                })
            }
            "SetLang" => match scalar(f("lang")) {
                Some(l) if !l.trim().is_empty() => LauncherMsg::SetLang(l.trim().to_string()),
                _ => return Err(Ignored("SetLang without lang".into())),
            },
            "SetScheme" => match f("scheme").and_then(Json::as_str).and_then(Scheme::parse) {
                Some(s) => LauncherMsg::SetScheme(s),
                None => return Err(Ignored("SetScheme without a known scheme".into())),
            },
            "PrepareReload" => LauncherMsg::PrepareReload,
            "ApiConsumerClosed" => LauncherMsg::ApiConsumerClosed {
                api: text(f("api")),
                consumer: text(f("consumer")),
            },
            "SetArgs" => LauncherMsg::SetArgs(match f("args") {
                Some(Json::Object(m)) => {
                    // In the message's order; an argument given twice counts once, with its last value.
                    let mut args: Vec<(String, String)> = Vec::new();
                    for (k, v) in m.iter().rev() {
                        if !args.iter().any(|(a, _)| a == k) {
                            if let Some(v) = scalar(Some(v)) {
                                args.push((k.clone(), v));
                            }
                        }
                    }
                    args.reverse();
                    args
                }
                _ => Vec::new(),
            }),
            other => return Err(Ignored(["unknown mt \"", &clip(other, 32), "\""].concat())),
        })
    }
}

/// Every message the app posts: `mt` first, then the fields given, in the spec's order (`api`, `provider`,
/// `consumer`, `src`, `app`, `challenge`, `msg`).
fn out(mt: &str, fields: &[(&str, Option<&str>)], msg: Option<&Json>) -> String {
    let mut j = Json::object(vec![("mt", mt.into())]);
    for (name, value) in fields {
        if let Some(v) = value {
            j.push(name, (*v).into());
        }
    }
    if let Some(msg) = msg {
        j.push("msg", msg.clone());
    }
    j.to_text()
}

/// `{"mt":"Alive"}`: posted once the app is loaded.
pub fn alive() -> String {
    out("Alive", &[], None)
}

/// `{"mt":"PrepareReloadComplete"}`: the answer to `PrepareReload` (lib1.htm).
pub fn prepare_reload_complete() -> String {
    out("PrepareReloadComplete", &[], None)
}

/// `{"mt":"ConsumeApi","api":A}`: myApps answers with `ApiUpdate`, now and on every change.
pub fn consume_api(api: &str) -> String {
    out("ConsumeApi", &[("api", Some(api))], None)
}

/// `{"mt":"RegisterApi","api":A}`: the app provides `api`.
pub fn register_api(api: &str) -> String {
    out("RegisterApi", &[("api", Some(api))], None)
}

/// `{"mt":"ApiRequest","api":A,"provider":P,"src":S,"msg":M}`; `provider` `None` = myApps' default.
pub fn api_request(api: &str, provider: Option<&str>, src: Option<&str>, msg: &Json) -> String {
    out(
        "ApiRequest",
        &[("api", Some(api)), ("provider", provider), ("src", src)],
        Some(msg),
    )
}

/// `{"mt":"ApiResult","api":A,"consumer":C,"src":S,"msg":M}`: the answer as provider of `api`.
pub fn api_result(api: &str, consumer: &str, src: Option<&str>, msg: &Json) -> String {
    out(
        "ApiResult",
        &[
            ("api", Some(api)),
            ("consumer", Some(consumer)),
            ("src", src),
        ],
        Some(msg),
    )
}

/// `{"mt":"getLogin","src":S,"app":NAME,"challenge":CH}`: asks myApps to sign the websocket challenge.
pub fn get_login(src: &str, app: &str, challenge: &str) -> String {
    out(
        "getLogin",
        &[
            ("src", Some(src)),
            ("app", Some(app)),
            ("challenge", Some(challenge)),
        ],
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn j(v: serde_json::Value) -> Json {
        Json::from(&v)
    }

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
            api_request("A", Some("@client"), Some("7"), &j(json!({"mt":"X"}))),
            r#"{"mt":"ApiRequest","api":"A","provider":"@client","src":"7","msg":{"mt":"X"}}"#
        );
        assert_eq!(
            api_request("A", None, None, &j(json!({}))),
            r#"{"mt":"ApiRequest","api":"A","msg":{}}"#
        );
        assert_eq!(
            api_result("A", "phone", Some("s"), &j(json!({"mt":"XResult"}))),
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
    }

    #[test]
    fn a_field_given_twice_counts_with_its_last_value() {
        let t = r#"{"mt":"ApiUpdate","apis":{"A":{"p":{"model":{"x":1}},"o":{},"p":{"model":{"x":2}}}}}"#;
        let Ok(LauncherMsg::ApiUpdate(u)) = LauncherMsg::parse(t) else {
            panic!("unreadable ApiUpdate")
        };
        assert_eq!(u.providers("A"), ["o", "p"]);
        assert_eq!(u.model("A", "p").get("x"), Some(&Json::from(2u64)));
        assert_eq!(u.model("A", "o"), &Json::Null);
        assert_eq!(u.model("B", "p"), &Json::Null);
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
