//! The PBX's users as the people at the phones see them: presence (`tel:`), licenses and client settings
//! (scheme, language, reload), each delivered to the launcher pages of the user. Their calls are in
//! [`super::phone`]; the PBX's object store (App objects, config templates) is [`super::super::pbx`]; its
//! side of the service's PbxApi connections is [`super::pbx_api`].

use kuando_connector::proto::License;
use kuando_connector::state::Presence;
use serde_json::{json, Value};

use super::super::{APP_OBJECTS, DOMAIN};
use super::{obj_by_frame, wire, Call, World};

/// Longest activity / note the simulated PBX accepts (it refuses longer ones instead of cutting them).
const MAX_ACTIVITY_LEN: usize = 64;
const MAX_NOTE_LEN: usize = 256;

/// A PBX user.
pub(super) struct User {
    pub name: String,
    pub sip: String,
    pub guid: String,
    pub dn: String,
    pub num: String,
    pub email: String,
    /// `contact "tel:"`: the presence the user set (by hand or through the app service).
    pub presence: Presence,
    pub license: License,
    pub calls: Vec<Call>,
    pub(super) next_call: u32,
}

impl User {
    pub(super) fn model(&self) -> Value {
        json!({"domain": DOMAIN, "sip": self.sip, "guid": self.guid, "dn": self.dn, "num": self.num,
               "email": self.email})
    }
}

pub(super) fn license_name(l: License) -> &'static str {
    match l {
        License::None => "none",
        License::Connector => "connector",
        License::WithBusylight => "withBusylight",
    }
}

/// Parses a license name as the control API and the launcher send it.
pub(crate) fn parse_license(s: &str) -> Option<License> {
    match s.trim() {
        "none" | "unlicensed" => Some(License::None),
        "connector" | LIC_CONNECTOR => Some(License::Connector),
        "withBusylight" | "with-busylight" | "busylight" | LIC_WITH_BUSYLIGHT => {
            Some(License::WithBusylight)
        }
        _ => None,
    }
}

/// The two license names of the concept.
pub(super) const LIC_CONNECTOR: &str = "App(innovaphone-kuando)";
pub(super) const LIC_WITH_BUSYLIGHT: &str = "App(innovaphone-kuando-with-busylight)";

/// The license names a user holds.
fn held(l: License) -> &'static [&'static str] {
    match l {
        License::None => &[],
        License::Connector => &[LIC_CONNECTOR],
        License::WithBusylight => &[LIC_WITH_BUSYLIGHT],
    }
}

/// Whether the PBX finds an app license for the app `htm`: licenses head-match the app name, so
/// `App(innovaphone-kuando)` licenses `innovaphone-kuando` and `innovaphone-kuando-config`, while
/// `App(innovaphone-kuando-with-busylight)` licenses neither (licensing.htm: "App(example-app) also licenses
/// example-app-light").
pub(super) fn licensed_for(l: License, htm: &str) -> bool {
    held(l).iter().any(|lic| {
        lic.strip_prefix("App(")
            .and_then(|r| r.strip_suffix(')'))
            .is_some_and(|name| htm.starts_with(name))
    })
}

/// `CheckAppLic{lic}`: does the user hold that license. [inferred] By name, not by head-match: the service
/// asks for each of the concept's licenses by its full name, and a user with `App(innovaphone-kuando)` must
/// not read as holding the with-Busylight one (the concept: the basic license works with or without a lamp).
pub(super) fn holds(l: License, lic: &str) -> bool {
    held(l).iter().any(|h| h.eq_ignore_ascii_case(lic.trim()))
}

impl World {
    /// Sets a user's `tel:` presence and tells every subscriber. `by` is for the log.
    pub(crate) fn set_presence(&mut self, user: &str, p: Presence, by: &str) -> Result<(), String> {
        if p.activity.chars().count() > MAX_ACTIVITY_LEN
            || p.note.chars().count() > MAX_NOTE_LEN
            || p.activity.chars().any(char::is_control)
        {
            return Err(
                "presence refused: activity or note too long or with control characters".into(),
            );
        }
        let Some(u) = self.users.get_mut(user) else {
            return Err(format!("no user {user:?}"));
        };
        u.presence = p.clone();
        let sip = u.sip.clone();
        self.note(
            Some(user),
            "pbx",
            &format!(
                "presence of {user} set by {by}: activity {:?} note {:?}",
                p.activity, p.note
            ),
        );
        let mut posts = Vec::new();
        for (sid, s) in &self.sessions {
            for (fname, f) in &s.frames {
                for (_, src) in f.subs.iter().filter(|(s, _)| *s == sip) {
                    posts.push((*sid, *fname, src.clone()));
                }
            }
        }
        for (sid, frame, src) in posts {
            let text = self.presence_result(&sip, &src);
            self.post(sid, frame, text);
        }
        self.notify_pbx_subscribers(&sip);
        self.push_views();
        Ok(())
    }

    pub(crate) fn set_license(&mut self, user: &str, l: License) -> Result<(), String> {
        let Some(u) = self.users.get_mut(user) else {
            return Err(format!("no user {user:?}"));
        };
        u.license = l;
        self.note(
            Some(user),
            "pbx",
            &format!("license of {user}: {}", license_name(l)),
        );
        self.push_views();
        Ok(())
    }

    /// SetScheme / SetLang to every app of the user's launchers (or of all launchers).
    pub(crate) fn set_client(
        &mut self,
        user: Option<&str>,
        scheme: Option<&str>,
        lang: Option<&str>,
    ) -> Result<(), String> {
        if let Some(u) = user {
            if !self.user_exists(u) {
                return Err(format!("no user {u:?}"));
            }
        }
        if let Some(s) = scheme {
            if s != "light" && s != "dark" {
                return Err("scheme must be light or dark".into());
            }
        }
        if let Some(l) = lang {
            let ok = (2..=8).contains(&l.len())
                && l.chars().all(|c| c.is_ascii_alphabetic() || c == '-');
            if !ok {
                return Err("lang must be a language code such as en or de".into());
            }
        }
        for sid in self.sessions_of(user) {
            if let Some(s) = self.sessions.get_mut(&sid) {
                if let Some(sc) = scheme {
                    s.scheme = sc.to_string();
                }
                if let Some(l) = lang {
                    s.lang = l.to_string();
                }
            }
            for o in &APP_OBJECTS {
                if let Some(sc) = scheme {
                    self.post(
                        sid,
                        o.frame,
                        wire(&json!({"mt": "SetScheme", "scheme": sc})),
                    );
                }
                if let Some(l) = lang {
                    self.post(sid, o.frame, wire(&json!({"mt": "SetLang", "lang": l})));
                }
            }
        }
        self.push_views();
        Ok(())
    }

    /// myApps is about to reload an app (e.g. attach/detach in myApps for Windows): `PrepareReload`, then the
    /// iframe is loaded again when the app answers `PrepareReloadComplete` (lib1.htm).
    pub(crate) fn prepare_reload(&mut self, user: &str, frame: &str) -> Result<(), String> {
        let Some(obj) = obj_by_frame(frame) else {
            return Err(format!("no app frame {frame:?}: hidden or config"));
        };
        let sids = self.user_sessions(user)?;
        for sid in sids {
            if let Some(f) = self.frame_mut(sid, obj.frame) {
                f.reload_requested = true;
            }
            self.post(sid, obj.frame, wire(&json!({"mt": "PrepareReload"})));
        }
        self.push_views();
        Ok(())
    }

    pub(super) fn user_sessions(&self, user: &str) -> Result<Vec<u64>, String> {
        if !self.user_exists(user) {
            return Err(format!("no user {user:?}"));
        }
        Ok(self.sessions_of(Some(user)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn licenses_head_match_the_app_name() {
        assert!(licensed_for(License::Connector, "innovaphone-kuando"));
        assert!(licensed_for(
            License::Connector,
            "innovaphone-kuando-config"
        ));
        assert!(!licensed_for(License::WithBusylight, "innovaphone-kuando"));
        assert!(!licensed_for(
            License::WithBusylight,
            "innovaphone-kuando-config"
        ));
        assert!(!licensed_for(License::None, "innovaphone-kuando"));
    }
}
