//! What the apps make of the user's license, as the AppPlatform runtime hands it out
//! (docs/platform-facts.md §4.4).
//!
//! The runtime accepts every login the PBX issued and flags the unlicensed ones: the `Login` from myApps
//! carries `info.unlicensed: true` when the PBX found no license head-matching the app's name. So:
//! - `info.unlicensed` absent or false: `App(innovaphone-kuando)` (or a license heading it) matched —
//!   licensed; the service's `GetLicense` only tells whether it is the with-Busylight one.
//! - `info.unlicensed: true`: only the service's `CheckAppLic` for both licenses can tell (a user with only
//!   `App(innovaphone-kuando-with-busylight)` is flagged too, as is everybody in a free test mode).
//!   If that check cannot be made (no PbxAdminApi because the app object lacks the Admin option, a PBX
//!   error, a timeout) the user is **not** treated as licensed: [`LicenseRules`] asks again with back-off,
//!   quietly, and [`Verdict::Unchecked`] names the cause for the config app's banner.

use crate::backoff::Backoff;
use crate::proto::{ErrorCode, License, ServiceError};

/// First retry of a check that could not be made, doubling up to [`RETRY_MAX_MS`]: an administrator fixes the
/// app object in minutes, and an always-running app on every PC must not knock faster than that.
pub const RETRY_MIN_MS: u64 = 10_000;
pub const RETRY_MAX_MS: u64 = 300_000;

/// Why the license could not be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause {
    /// The service has no PbxAdminApi connection: the app object needs the Admin option.
    NoAdmin,
    /// The PBX is not connected, refused or did not answer, or the service failed.
    Pbx,
}

/// What is known about the license.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Nothing yet.
    Pending,
    Licensed(License),
    /// No license: the connector stops.
    Unlicensed,
    /// The login was flagged unlicensed and the check could not be made: not licensed, retrying.
    Unchecked(Cause),
}

impl Verdict {
    /// The license for the engine, once known (`Some(License::None)` stops it; `None` while unknown).
    pub fn license(self) -> Option<License> {
        match self {
            Verdict::Licensed(l) => Some(l),
            Verdict::Unlicensed => Some(License::None),
            Verdict::Pending | Verdict::Unchecked(_) => None,
        }
    }
}

/// The license rules of one app (sans-IO: time comes in, "ask again now" goes out).
#[derive(Debug, Clone)]
pub struct LicenseRules {
    /// `info.unlicensed` of the Login used for this app's session; `None` before one came.
    flagged: Option<bool>,
    verdict: Verdict,
    retry_at: Option<u64>,
    backoff: Backoff,
}

impl Default for LicenseRules {
    fn default() -> Self {
        LicenseRules::new()
    }
}

impl LicenseRules {
    pub const fn new() -> LicenseRules {
        LicenseRules {
            flagged: None,
            verdict: Verdict::Pending,
            retry_at: None,
            backoff: Backoff::new(RETRY_MIN_MS, RETRY_MAX_MS),
        }
    }

    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// The `Login` for this app (its `pbxObj` is the app's own object) with its `info.unlicensed`.
    pub fn handle_login(&mut self, unlicensed: bool) {
        self.flagged = Some(unlicensed);
        if !unlicensed {
            // The PBX itself found the license: nothing to retry for.
            self.retry_at = None;
            if matches!(self.verdict, Verdict::Pending | Verdict::Unchecked(_)) {
                self.verdict = Verdict::Licensed(License::Connector);
            }
        }
    }

    /// The service's `GetLicenseResult`. Returns the new verdict.
    pub fn handle_result(
        &mut self,
        now_ms: u64,
        license: Option<License>,
        error: Option<&ServiceError>,
    ) -> Verdict {
        match (license, error) {
            (Some(License::None), _) => {
                self.verdict = Verdict::Unlicensed;
                self.done();
            }
            (Some(l), _) => {
                self.verdict = Verdict::Licensed(l);
                self.done();
            }
            (None, e) => {
                if self.flagged == Some(false) {
                    // The login says licensed; only the kind is unknown: the basic license.
                    if !matches!(self.verdict, Verdict::Licensed(_)) {
                        self.verdict = Verdict::Licensed(License::Connector);
                    }
                    self.done();
                } else if !matches!(self.verdict, Verdict::Licensed(_) | Verdict::Unlicensed) {
                    // A verdict the service gave in this session stands over a failed re-check; without
                    // one the user is not licensed, and the check is retried.
                    let cause = match e.map(|e| e.code) {
                        Some(ErrorCode::NoAdmin) => Cause::NoAdmin,
                        _ => Cause::Pbx,
                    };
                    self.verdict = Verdict::Unchecked(cause);
                    let wait = self.backoff.fail(0);
                    self.retry_at = Some(now_ms.saturating_add(wait));
                }
            }
        }
        self.verdict
    }

    fn done(&mut self) {
        self.retry_at = None;
        self.backoff.reset();
    }

    /// When to call [`LicenseRules::poll_retry`].
    pub fn poll_timeout(&self) -> Option<u64> {
        self.retry_at
    }

    /// True once when the check should be asked again now.
    pub fn poll_retry(&mut self, now_ms: u64) -> bool {
        match self.retry_at {
            Some(at) if now_ms >= at => {
                self.retry_at = None;
                true
            }
            _ => false,
        }
    }

    /// The session went down: a retry waits for the next `Connected`, which asks anyway.
    pub fn handle_disconnected(&mut self) {
        self.retry_at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: ErrorCode) -> ServiceError {
        ServiceError {
            code,
            text: "x".into(),
            fields: vec![],
        }
    }

    #[test]
    fn a_login_without_the_flag_is_licensed_even_when_the_check_fails() {
        let mut r = LicenseRules::new();
        r.handle_login(false);
        assert_eq!(r.verdict(), Verdict::Licensed(License::Connector));
        assert_eq!(
            r.handle_result(0, None, Some(&err(ErrorCode::Pbx))),
            Verdict::Licensed(License::Connector)
        );
        assert_eq!(r.poll_timeout(), None);
        assert_eq!(
            r.handle_result(0, Some(License::WithBusylight), None),
            Verdict::Licensed(License::WithBusylight)
        );
    }

    #[test]
    fn a_flagged_login_is_decided_by_the_service() {
        for (answer, verdict) in [
            (License::None, Verdict::Unlicensed),
            (License::Connector, Verdict::Licensed(License::Connector)),
            (
                License::WithBusylight,
                Verdict::Licensed(License::WithBusylight),
            ),
        ] {
            let mut r = LicenseRules::new();
            r.handle_login(true);
            assert_eq!(r.verdict(), Verdict::Pending);
            assert_eq!(r.handle_result(0, Some(answer), None), verdict);
            assert_eq!(r.poll_timeout(), None);
        }
    }

    #[test]
    fn a_check_that_cannot_be_made_is_not_a_license_and_is_retried_with_back_off() {
        let mut r = LicenseRules::new();
        r.handle_login(true);
        let v = r.handle_result(1000, None, Some(&err(ErrorCode::NoAdmin)));
        assert_eq!(v, Verdict::Unchecked(Cause::NoAdmin));
        assert_eq!(v.license(), None, "not licensed, not 'no license' either");
        assert_eq!(r.poll_timeout(), Some(1000 + RETRY_MIN_MS));
        assert!(!r.poll_retry(1000 + RETRY_MIN_MS - 1));
        assert!(r.poll_retry(1000 + RETRY_MIN_MS));
        assert!(!r.poll_retry(1000 + RETRY_MIN_MS), "once");
        let v = r.handle_result(20_000, None, Some(&err(ErrorCode::Pbx)));
        assert_eq!(v, Verdict::Unchecked(Cause::Pbx));
        assert_eq!(r.poll_timeout(), Some(20_000 + 2 * RETRY_MIN_MS));
        for _ in 0..20 {
            r.handle_result(0, None, None);
        }
        assert_eq!(r.poll_timeout(), Some(RETRY_MAX_MS), "capped");
        assert_eq!(
            r.handle_result(0, Some(License::Connector), None),
            Verdict::Licensed(License::Connector)
        );
        assert_eq!(r.poll_timeout(), None);
    }

    #[test]
    fn a_failed_recheck_keeps_the_services_answer() {
        let mut r = LicenseRules::new();
        r.handle_login(true);
        r.handle_result(0, Some(License::WithBusylight), None);
        assert_eq!(
            r.handle_result(5, None, Some(&err(ErrorCode::Pbx))),
            Verdict::Licensed(License::WithBusylight)
        );
        assert_eq!(r.poll_timeout(), None);
    }
}
