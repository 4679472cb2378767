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
                    // The login says licensed; only the kind is unknown: the basic license. A verdict the
                    // service gave in this session (its "no license" too) stands over a failed re-check.
                    if matches!(self.verdict, Verdict::Pending | Verdict::Unchecked(_)) {
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

    /// Every verdict the service can have given, then a re-check that fails with each cause: a verdict of the
    /// service stands (licensed or not, nothing retried); without one, a flagged login is unchecked (not
    /// licensed, retried), an unflagged one licensed.
    #[test]
    fn a_failed_recheck_after_each_verdict() {
        let causes = [
            (Some(ErrorCode::NoAdmin), Cause::NoAdmin),
            (Some(ErrorCode::Pbx), Cause::Pbx),
            (None, Cause::Pbx),
        ];
        for flagged in [true, false] {
            for (code, cause) in causes {
                let e = code.map(err);
                for first in [
                    None,
                    Some(License::None),
                    Some(License::Connector),
                    Some(License::WithBusylight),
                ] {
                    let mut r = LicenseRules::new();
                    r.handle_login(flagged);
                    if let Some(l) = first {
                        r.handle_result(0, Some(l), None);
                    }
                    let before = r.verdict();
                    let v = r.handle_result(100, None, e.as_ref());
                    let want = match (first, flagged) {
                        (Some(_), _) => before,
                        (None, true) => Verdict::Unchecked(cause),
                        (None, false) => Verdict::Licensed(License::Connector),
                    };
                    assert_eq!(v, want, "flagged {flagged}, first {first:?}, {code:?}");
                    assert_eq!(r.verdict(), want);
                    let retry = matches!(want, Verdict::Unchecked(_));
                    assert_eq!(
                        r.poll_timeout(),
                        retry.then_some(100 + RETRY_MIN_MS),
                        "flagged {flagged}, first {first:?}, {code:?}"
                    );
                    if first == Some(License::None) {
                        assert_eq!(
                            v.license(),
                            Some(License::None),
                            "no license stays no license"
                        );
                    }
                }
            }
        }
    }

    /// A second failed check after an unchecked one names the newest cause and waits twice as long.
    #[test]
    fn an_unchecked_verdict_follows_the_newest_cause() {
        let mut r = LicenseRules::new();
        r.handle_login(true);
        r.handle_result(0, None, Some(&err(ErrorCode::Pbx)));
        let v = r.handle_result(0, None, Some(&err(ErrorCode::NoAdmin)));
        assert_eq!(v, Verdict::Unchecked(Cause::NoAdmin));
        assert_eq!(r.poll_timeout(), Some(2 * RETRY_MIN_MS));
        let v = r.handle_result(0, None, Some(&err(ErrorCode::Pbx)));
        assert_eq!(v, Verdict::Unchecked(Cause::Pbx));
        assert_eq!(r.poll_timeout(), Some(4 * RETRY_MIN_MS));
    }

    /// Re-logins (a reconnect, another session): an unflagged login licenses what was pending or unchecked
    /// and ends the retry, but never overrides the service's "no license"; a flagged one changes no verdict.
    #[test]
    fn re_logins() {
        // Unchecked, then an unflagged login: licensed, nothing retried.
        let mut r = LicenseRules::new();
        r.handle_login(true);
        r.handle_result(0, None, Some(&err(ErrorCode::NoAdmin)));
        assert!(r.poll_timeout().is_some());
        r.handle_login(false);
        assert_eq!(r.verdict(), Verdict::Licensed(License::Connector));
        assert_eq!(r.poll_timeout(), None);

        // The service said no license; an unflagged re-login does not override it.
        let mut r = LicenseRules::new();
        r.handle_login(true);
        r.handle_result(0, Some(License::None), None);
        r.handle_login(false);
        assert_eq!(r.verdict(), Verdict::Unlicensed);
        assert_eq!(r.verdict().license(), Some(License::None));

        // The with-Busylight license stays with-Busylight over an unflagged re-login.
        let mut r = LicenseRules::new();
        r.handle_login(true);
        r.handle_result(0, Some(License::WithBusylight), None);
        r.handle_login(false);
        assert_eq!(r.verdict(), Verdict::Licensed(License::WithBusylight));

        // A flagged re-login after a licensed one: the verdict stays until the service answers.
        let mut r = LicenseRules::new();
        r.handle_login(false);
        r.handle_login(true);
        assert_eq!(r.verdict(), Verdict::Licensed(License::Connector));
        assert_eq!(
            r.handle_result(0, Some(License::None), None),
            Verdict::Unlicensed
        );

        // Pending stays pending over a flagged login.
        let mut r = LicenseRules::new();
        r.handle_login(true);
        assert_eq!(r.verdict(), Verdict::Pending);
        assert_eq!(r.verdict().license(), None);
        assert_eq!(r.poll_timeout(), None);
    }

    /// The retry fires once at its time; a disconnect drops it (the next `Connected` asks anyway).
    #[test]
    fn a_retry_is_dropped_by_a_disconnect() {
        let mut r = LicenseRules::new();
        r.handle_login(true);
        r.handle_result(0, None, None);
        assert_eq!(r.poll_timeout(), Some(RETRY_MIN_MS));
        r.handle_disconnected();
        assert_eq!(r.poll_timeout(), None);
        assert!(!r.poll_retry(RETRY_MAX_MS));
        assert_eq!(r.verdict(), Verdict::Unchecked(Cause::Pbx));
    }

    #[test]
    fn verdicts_as_licenses() {
        assert_eq!(Verdict::Pending.license(), None);
        assert_eq!(Verdict::Unchecked(Cause::NoAdmin).license(), None);
        assert_eq!(Verdict::Unlicensed.license(), Some(License::None));
        assert_eq!(
            Verdict::Licensed(License::WithBusylight).license(),
            Some(License::WithBusylight)
        );
    }
}
