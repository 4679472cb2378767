//! Chrome's Local Network Access permission (Chrome 142+; `docs/platform-facts.md` §2.2): a request from an
//! https page on a public origin to `localhost` / a LAN address needs the user's permission, and a myApps app
//! (a cross-origin iframe) only gets it when myApps delegates it (`allow=`), an enterprise policy allows it,
//! or the app runs in the myApps Launcher. Without it the fetch fails exactly like "no kuandoHUB".
//!
//! The drivers read the permission's state with `navigator.permissions.query` (feature-detected, see
//! [`NAMES`]); the decisions are here and in the engine / config app:
//! - `denied`: the hidden app does not hammer the hub (one try per [`crate::engine::RETRY_MAX_MS`]) and says
//!   "the browser blocks access to kuandoHUB", not "no kuandoHUB detected";
//! - `prompt`: failures show as "not reachable, or the browser asks" with the ordinary back-off (Chromium
//!   reports `prompt` also where the permission does not apply, so nothing is held back; see ARCHITECTURE.md);
//!   the config app shows a banner with a button whose click makes the request, so the browser can ask;
//! - `granted`, or a browser that does not know the permission (`unknown`): as before.

/// The permission names to ask for, most specific first: `loopback-network` and `local-network` from
/// Chrome 145, `local-network-access` (Chrome 142, later an alias of both). The first name the browser
/// knows gives the state; a browser that knows none (or has no Permissions API) is [`Permission::Unknown`].
/// **[inferred]** The hub normally listens on `localhost`, so the loopback name comes first.
pub const NAMES: &[&str] = &["loopback-network", "local-network", "local-network-access"];

/// The permission's state as the browser reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Permission {
    /// The browser does not know the permission, or asking failed: behave as without it.
    #[default]
    Unknown,
    Granted,
    /// The browser will ask the user at the next request.
    Prompt,
    Denied,
}

impl Permission {
    /// `PermissionStatus.state` (`granted`, `denied`, `prompt`); anything else is `Unknown`.
    pub fn parse(state: &str) -> Permission {
        match state.trim() {
            "granted" => Permission::Granted,
            "prompt" => Permission::Prompt,
            "denied" => Permission::Denied,
            _ => Permission::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Unknown => "unknown",
            Permission::Granted => "granted",
            Permission::Prompt => "prompt",
            Permission::Denied => "denied",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_parse_and_anything_else_is_unknown() {
        for p in [
            Permission::Granted,
            Permission::Prompt,
            Permission::Denied,
            Permission::Unknown,
        ] {
            assert_eq!(Permission::parse(p.as_str()), p);
        }
        assert_eq!(Permission::parse("GRANTED"), Permission::Unknown);
        assert_eq!(Permission::parse(""), Permission::Unknown);
    }
}
