//! What the hidden app takes out of the launcher messages: its own user, the calls of every phone app, and
//! its own presence. Everything is read by path from JSON, so an unexpected shape gives "nothing" instead of
//! an error.

use super::launcher::{self, ApiMsg, ApiUpdate};
use super::{scalar, text, API_CLIENT, API_PHONE, API_PHONEINFO, CLIENT_PROVIDER};
use crate::json::Json;
use crate::state::{CallEvent, CallInfo, CallKey, CallState, Direction, Presence};

/// The logged-in user, from the `com.innovaphone.client` model.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct User {
    pub domain: String,
    pub sip: String,
    pub guid: String,
    pub dn: String,
    pub num: String,
    pub email: String,
}

/// The own user from `apis["com.innovaphone.client"]["@client"].model.user`. The client API has exactly
/// that provider; should a launcher name it differently, its default provider (then any provider with a
/// user) is used. `None` without a user with a `sip`: presence cannot be subscribed without it.
pub fn own_user(update: &ApiUpdate) -> Option<User> {
    let from = |provider: &str| -> Option<User> {
        let u = update.model(API_CLIENT, provider).at("user");
        let sip = text(u.get("sip"));
        if sip.is_empty() {
            return None;
        }
        Some(User {
            domain: text(u.get("domain")),
            sip,
            guid: text(u.get("guid")),
            dn: text(u.get("dn")),
            num: text(u.get("num")),
            email: text(u.get("email")),
        })
    };
    from(CLIENT_PROVIDER)
        .or_else(|| from(update.default_provider(API_CLIENT)?))
        .or_else(|| update.providers(API_CLIENT).into_iter().find_map(from))
}

/// The calls one phone app (a `com.innovaphone.phone` provider) has, keyed by call id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneCalls {
    pub provider: String,
    pub calls: Vec<(String, CallInfo)>,
}

/// Every `com.innovaphone.phone` provider with its calls (`model.calls`). A provider without calls (a
/// softphone's model is `{}`) is listed with none, so that the caller can forget calls it still had from
/// that provider; calls without an `id` are skipped (they cannot be matched with later events).
pub fn phone_calls(update: &ApiUpdate) -> Vec<PhoneCalls> {
    update
        .providers(API_PHONE)
        .into_iter()
        .map(|p| PhoneCalls {
            provider: p.to_string(),
            calls: match update.model(API_PHONE, p).at("calls") {
                Json::Array(calls) => calls
                    .iter()
                    .filter_map(|c| Some((scalar(c.get("id"))?, call_info(c))))
                    .collect(),
                _ => Vec::new(),
            },
        })
        .collect()
}

fn call_info(call: &Json) -> CallInfo {
    CallInfo {
        dir: call
            .get("dir")
            .and_then(Json::as_str)
            .and_then(Direction::parse),
        state: call
            .get("state")
            .and_then(Json::as_str)
            .and_then(|s| s.parse::<CallState>().ok()),
    }
}

/// A call event from a `com.innovaphone.phoneinfo` `ApiRequest`; the call is keyed by the phone app that sent
/// it (`consumer`) and its `id`. `None` for other APIs, other messages, or without an `id`.
pub fn call_event(req: &ApiMsg) -> Option<CallEvent> {
    if req.api != API_PHONEINFO {
        return None;
    }
    let key = || Some(CallKey::new(&req.consumer, &scalar(req.msg.get("id"))?));
    match req.mt() {
        "CallAdded" => Some(CallEvent::Added(key()?)),
        "CallUpdated" => Some(CallEvent::Updated(key()?, call_info(&req.msg))),
        "CallRemoved" => Some(CallEvent::Removed(key()?)),
        _ => None,
    }
}

/// The user's own presence (`contact "tel:"`) from a `PresenceUpdated` of the client API, only for `own_sip`
/// (compared ignoring ASCII case, as the PBX does for names). `None` for anything else, and while the
/// subscription is down (`up:false`), when the PBX does not know the presence.
///
/// A `presence` list without a `"tel:"` entry reads as available: the SDK's example of a user without phone
/// presence lists only `calendar:` and `im:`. **[inferred]** Treating it as "unknown" instead would leave the
/// connector believing a presence the user already cleared.
pub fn presence_update(res: &ApiMsg, own_sip: &str) -> Option<Presence> {
    let m = &res.msg;
    if res.api != API_CLIENT || res.mt() != "PresenceUpdated" || own_sip.is_empty() {
        return None;
    }
    let sip = scalar(m.get("sip")).unwrap_or_else(|| text(m.at("ep").get("sip")));
    if !sip.trim().eq_ignore_ascii_case(own_sip.trim()) || m.get("up") == Some(&Json::Bool(false)) {
        return None;
    }
    let list = m.get("presence")?.as_array()?;
    let tel = list.iter().find(|p| {
        p.get("contact")
            .and_then(Json::as_str)
            .is_some_and(|c| c.trim().eq_ignore_ascii_case("tel:"))
    });
    Some(match tel {
        Some(p) => Presence::new(&text(p.get("activity")), &text(p.get("note"))),
        None => Presence::available(),
    })
}

/// `SubscribePresence` for `sip` to the client API: myApps answers with `PresenceUpdated` now and on every
/// change.
pub fn subscribe_presence(sip: &str, src: Option<&str>) -> String {
    let msg = Json::object(vec![
        ("mt", "SubscribePresence".into()),
        ("sip", sip.into()),
    ]);
    launcher::api_request(API_CLIENT, Some(CLIENT_PROVIDER), src, &msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::myapps::LauncherMsg;
    use serde_json::{json, Value};

    fn update(apis: Value) -> ApiUpdate {
        ApiUpdate {
            apis: Json::from(&apis),
            default_api_providers: Json::Null,
        }
    }

    fn request(api: &str, consumer: &str, msg: Value) -> ApiMsg {
        ApiMsg {
            api: api.into(),
            consumer: consumer.into(),
            msg: Json::from(&msg),
            ..ApiMsg::default()
        }
    }

    #[test]
    fn own_user_from_the_client_model() {
        let u = update(json!({API_CLIENT: {"@client": {"model": {"user": {
            "domain": "example.com", "sip": "bob", "guid": "5db8", "dn": "Bob Hansen", "num": 201,
            "email": "bob@example.com"}}}}}));
        let user = own_user(&u).unwrap();
        assert_eq!(user.sip, "bob");
        assert_eq!(user.num, "201");
        assert_eq!(user.dn, "Bob Hansen");
        assert_eq!(own_user(&update(json!({}))), None);
        assert_eq!(
            own_user(&update(
                json!({API_CLIENT: {"@client": {"model": {"user": {}}}}})
            )),
            None
        );
        assert_eq!(own_user(&update(json!({API_CLIENT: []}))), None);
        // Another provider name still yields the user.
        let other = update(json!({API_CLIENT: {"client2": {"model": {"user": {"sip": "eve"}}}}}));
        assert_eq!(own_user(&other).unwrap().sip, "eve");
    }

    #[test]
    fn phone_calls_per_provider() {
        let u = update(json!({API_PHONE: {
            "dev:SwPh": {"title": "Softphone", "model": {}},
            "dev:IP232": {"model": {"registered": true, "calls": [
                {"id": 1, "dir": "i", "state": "Alerting"},
                {"id": "2", "dir": "o", "state": "weird"},
                {"dir": "o", "state": "Connected"}
            ]}}
        }}));
        let pc = phone_calls(&u);
        assert_eq!(pc.len(), 2);
        assert_eq!(pc[0].provider, "dev:IP232");
        assert_eq!(
            pc[0].calls,
            vec![
                (
                    "1".to_string(),
                    CallInfo {
                        dir: Some(Direction::Incoming),
                        state: Some(CallState::Alerting)
                    }
                ),
                (
                    "2".to_string(),
                    CallInfo {
                        dir: Some(Direction::Outgoing),
                        state: None
                    }
                )
            ]
        );
        assert_eq!(pc[1].provider, "dev:SwPh");
        assert!(pc[1].calls.is_empty());
    }

    #[test]
    fn phoneinfo_events() {
        let key = CallKey::new("softphone", "7");
        assert_eq!(
            call_event(&request(
                API_PHONEINFO,
                "softphone",
                json!({"mt":"CallAdded","id":7})
            )),
            Some(CallEvent::Added(key.clone()))
        );
        assert_eq!(
            call_event(&request(
                API_PHONEINFO,
                "softphone",
                json!({"mt":"CallUpdated","id":"7","dir":"o","state":"Ringback"})
            )),
            Some(CallEvent::Updated(
                key.clone(),
                CallInfo {
                    dir: Some(Direction::Outgoing),
                    state: Some(CallState::Ringback)
                }
            ))
        );
        assert_eq!(
            call_event(&request(
                API_PHONEINFO,
                "softphone",
                json!({"mt":"CallRemoved","id":7.0})
            )),
            Some(CallEvent::Removed(key))
        );
        assert_eq!(
            call_event(&request(API_PHONEINFO, "s", json!({"mt":"CallAdded"}))),
            None
        );
        assert_eq!(
            call_event(&request(API_PHONE, "s", json!({"mt":"CallAdded","id":1}))),
            None
        );
        assert_eq!(
            call_event(&request(API_PHONEINFO, "s", json!({"mt":"Other","id":1}))),
            None
        );
        assert_eq!(call_event(&request(API_PHONEINFO, "s", json!([1]))), None);
    }

    #[test]
    fn own_tel_presence_only() {
        let msg = |v: Value| request(API_CLIENT, "", v);
        let full = json!({"mt":"PresenceUpdated","sip":"Bob","up":true,"presence":[
            {"contact":"im:","activity":"away","note":"x"},
            {"contact":"tel:","activity":"dnd","note":"meeting #until:5","status":"open"}]});
        assert_eq!(
            presence_update(&msg(full.clone()), "bob"),
            Some(Presence::new("dnd", "meeting #until:5"))
        );
        assert_eq!(presence_update(&msg(full.clone()), "alice"), None);
        assert_eq!(presence_update(&msg(full), ""), None);
        let no_tel = json!({"mt":"PresenceUpdated","sip":"bob","presence":[{"contact":"im:","activity":"busy"}]});
        assert_eq!(
            presence_update(&msg(no_tel), "bob"),
            Some(Presence::available())
        );
        let down = json!({"mt":"PresenceUpdated","sip":"bob","up":false,"presence":[]});
        assert_eq!(presence_update(&msg(down), "bob"), None);
        let no_list = json!({"mt":"PresenceUpdated","sip":"bob"});
        assert_eq!(presence_update(&msg(no_list), "bob"), None);
        let by_ep = json!({"mt":"PresenceUpdated","ep":{"sip":"bob"},"presence":[{"contact":"tel:","activity":"busy"}]});
        assert_eq!(
            presence_update(&msg(by_ep), "bob"),
            Some(Presence::new("busy", ""))
        );
    }

    #[test]
    fn subscribe_presence_text_reads_back() {
        let t = subscribe_presence("bob", Some("9"));
        assert_eq!(
            t,
            r#"{"mt":"ApiRequest","api":"com.innovaphone.client","provider":"@client","src":"9","msg":{"mt":"SubscribePresence","sip":"bob"}}"#
        );
        // The launcher side of a consumer's request reads it as an ApiRequest.
        let Ok(LauncherMsg::ApiRequest(r)) = LauncherMsg::parse(&t) else {
            panic!("unreadable")
        };
        assert_eq!(r.mt(), "SubscribePresence");
    }
}
