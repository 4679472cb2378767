//! The app service as the config app sees it: the app websocket's state and the license, checked with the
//! same rules as the hidden app (`crate::license`).

use crate::license::{Cause, LicenseRules, Verdict};
use crate::proto::License;

/// The app websocket's state, as the session reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceState {
    Connecting,
    Up,
    Down,
    Unlicensed,
}

#[derive(Debug)]
pub(super) struct Service {
    pub state: ServiceState,
    /// `None` until the service told.
    pub license: Option<License>,
    pub rules: LicenseRules,
    /// The PBX app object (`start.name`) whose `Login` tells this app's license flag; `None`: any.
    pub obj_name: Option<String>,
}

impl Service {
    pub fn new() -> Self {
        Service {
            state: ServiceState::Connecting,
            license: None,
            rules: LicenseRules::new(),
            obj_name: None,
        }
    }

    /// The service said: no license.
    pub fn has_no_license(&self) -> bool {
        self.license == Some(License::None)
    }

    /// No license, as the service or the session said.
    pub fn unlicensed(&self) -> bool {
        self.has_no_license() || self.state == ServiceState::Unlicensed
    }

    /// Why the license could not be checked, if it could not.
    pub fn unchecked(&self) -> Option<Cause> {
        match self.rules.verdict() {
            Verdict::Unchecked(cause) => Some(cause),
            _ => None,
        }
    }
}
