//! The browser's Local Network Access permission and the "Allow access to kuandoHUB" button: while the
//! permission is `denied` no check goes out from the background; while it is `prompt` the user's click makes
//! the request, so that the browser can ask.

use super::ConfigApp;
use crate::lna::Permission;

#[derive(Debug)]
pub(super) struct LocalNetwork {
    /// As the driver last reported it (see [`crate::lna`]).
    pub permission: Permission,
    /// Started by the driver, which reports the permission soon: no check before it did, so that no
    /// request goes out on page load while the browser would ask (the Chrome guide's advice).
    pub pending: bool,
}

impl LocalNetwork {
    pub fn new() -> Self {
        LocalNetwork {
            permission: Permission::Unknown,
            pending: false,
        }
    }

    /// No check from the background while the permission is denied. While `prompt` the checks go on: the app
    /// is open, the user looks at it, and `prompt` is reported also where the permission does not apply.
    pub fn holds_checks(&self) -> bool {
        self.permission == Permission::Denied
    }
}

impl ConfigApp {
    /// The browser's Local Network Access permission (`PermissionStatus.state`, or `unknown`), at start and on
    /// every change. While it is `prompt` or `denied` no check goes out from the background; allowed again,
    /// the hub is checked at once.
    pub fn handle_local_network(&mut self, now_ms: u64, state: &str) {
        let p = Permission::parse(state);
        let first = std::mem::take(&mut self.lna.pending);
        if p == self.lna.permission && !first {
            return;
        }
        let was = self.lna.permission;
        self.lna.permission = p;
        self.changed = true;
        let t = format!("local network permission: {}", p.as_str());
        self.trace(&t);
        if was == Permission::Denied
            || first
            || (was == Permission::Prompt && p != Permission::Prompt)
        {
            self.recheck(now_ms);
        }
    }

    /// "Allow access to kuandoHUB": the check from the user's click.
    pub(super) fn allow_local_network(&mut self) {
        self.trace("local network access requested by the user");
        self.check_now();
    }
}
