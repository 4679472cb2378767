//! The red banners at the top of the app: what stops the connector, from the license, the service, the
//! browser's permission and the hub check, each with what the user can do.

use super::i18n::Text;
use super::ConfigApp;
use crate::engine::HubStatus;
use crate::license::Cause;
use crate::lna::Permission;
use crate::proto::License;

/// A red banner at the top of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Banner {
    NoLicense,
    /// The license could not be checked: the app object lacks the Admin option.
    LicenseNoAdmin,
    /// The license could not be checked: the PBX did not answer or failed.
    LicenseUnchecked,
    ServiceDown,
    NoHub,
    TokenRejected,
    TooOld,
    NoBusylight,
    /// The hub answers, but not understandably (garbage, HTML, 5xx).
    BadAnswer,
    /// The browser's Local Network Access permission is `prompt`: the button below makes the request from
    /// the user's click so that the browser can ask.
    LocalNetworkPrompt,
    /// The permission is `denied`: what the user and the administrator can do.
    LocalNetworkDenied,
}

impl Banner {
    pub fn text(self) -> Text {
        match self {
            Banner::NoLicense => Text::BannerNoLicense,
            Banner::LicenseNoAdmin => Text::BannerLicenseNoAdmin,
            Banner::LicenseUnchecked => Text::BannerLicenseUnchecked,
            Banner::ServiceDown => Text::BannerService,
            Banner::NoHub => Text::BannerNoHub,
            Banner::TokenRejected => Text::BannerToken,
            Banner::TooOld => Text::BannerTooOld,
            Banner::NoBusylight => Text::BannerNoBusylight,
            Banner::BadAnswer => Text::BannerBadAnswer,
            Banner::LocalNetworkPrompt => Text::BannerLnaPrompt,
            Banner::LocalNetworkDenied => Text::BannerLnaDenied,
        }
    }
}

impl ConfigApp {
    /// The banners that apply now, most fundamental first.
    pub(super) fn banners(&self) -> Vec<Banner> {
        let mut banners = Vec::new();
        if let Some(cause) = self.service.unchecked() {
            banners.push(match cause {
                Cause::NoAdmin => Banner::LicenseNoAdmin,
                Cause::Pbx => Banner::LicenseUnchecked,
            });
        }
        if self.service.unlicensed() {
            banners.push(Banner::NoLicense);
            return banners;
        }
        if self.service.state == super::ServiceState::Down {
            banners.push(Banner::ServiceDown);
        }
        // A blocked request looks exactly like "no kuandoHUB". Denied: that banner would be wrong. Prompt
        // and no answer: either may be true (Chromium reports `prompt` also where the permission does not
        // apply), so both banners show, the permission's with its button.
        let unreachable = self.hub.status == HubStatus::Unreachable;
        match self.lna.permission {
            Permission::Denied => banners.push(Banner::LocalNetworkDenied),
            Permission::Prompt if unreachable => banners.push(Banner::LocalNetworkPrompt),
            _ => {}
        }
        if self.hub.garbled {
            banners.push(Banner::BadAnswer);
        }
        match self.hub.status {
            HubStatus::Unreachable if self.lna.holds_checks() => {}
            HubStatus::Unreachable => banners.push(Banner::NoHub),
            HubStatus::Unauthorized => banners.push(Banner::TokenRejected),
            HubStatus::TooOld => banners.push(Banner::TooOld),
            _ => {}
        }
        // "No Busylight" is an error only for a user whose license includes one; for everybody else the
        // connector simply works without a lamp (kuandoHUB innovaphone Edition).
        if self.hub.no_lamp() && self.service.license == Some(License::WithBusylight) {
            banners.push(Banner::NoBusylight);
        }
        banners
    }

    /// Show the "Allow access to kuandoHUB" button (permission `prompt`, no answer from the hub).
    pub(super) fn offers_local_network_button(&self) -> bool {
        self.lna.permission == Permission::Prompt
            && self.hub.status == HubStatus::Unreachable
            && !self.service.unlicensed()
    }
}
