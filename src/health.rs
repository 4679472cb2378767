//! The hidden app's health report for the administrator's fleet view: a compact summary of this client,
//! sent to the service when it changes, never on a timer — at most one per [`MIN_GAP_MS`], except when it
//! turns from fine to not fine or back. What it holds (README "What the fleet view collects"): running or
//! not, the license, the kuandoHUB's state in one word, the last such problem, the Busylight count, whether
//! the hub is on this PC, the app's build and the browser's name and major version. No presence, no call, no
//! hub URL, no token, no trace text. The client is named by a random id the driver keeps per browser profile.

use crate::engine::{HubStatus, Status};
use crate::proto::License;

/// Least time between two reports that do not change fine into not fine or back.
pub const MIN_GAP_MS: u64 = 60_000;

/// How long the first report waits for the connector to settle (license known, the hub's first answer and
/// its Busylights): a report of the start-up's passing states would stand for a minute.
pub const SETTLE_MS: u64 = 10_000;

/// One report, as the service keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub run: bool,
    /// The hub's state in one word (the service's `HEALTH_HUB`).
    pub hub: String,
    pub lic: Option<License>,
    pub lamps: Option<u64>,
    /// The hub runs on this PC (its URL names a loopback host).
    pub local: bool,
    /// The last problem with the hub, as a hub state word.
    pub err: Option<String>,
    pub build: String,
    pub browser: String,
}

impl Health {
    /// Fine: running, the hub answering, a Busylight (or no word yet how many).
    pub fn fine(&self) -> bool {
        self.run && self.hub == "ok" && self.lamps != Some(0)
    }
}

/// The hub's state as the report names it.
pub fn hub_word(h: HubStatus) -> &'static str {
    match h {
        HubStatus::Unknown => "unknown",
        HubStatus::NotConfigured => "notConfigured",
        HubStatus::Reachable => "ok",
        HubStatus::Unreachable => "unreachable",
        HubStatus::Unauthorized => "unauthorized",
        HubStatus::TooOld => "tooOld",
        HubStatus::Blocked => "blocked",
        HubStatus::NeedsPermission => "asks",
    }
}

/// Whether a hub base URL names this PC: `localhost`, `127.x.x.x` or `[::1]`.
pub fn is_local(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host.starts_with('[') {
        host.split_inclusive(']').next().unwrap_or(host)
    } else {
        host.split(':').next().unwrap_or(host)
    };
    let host = host.to_ascii_lowercase();
    host == "localhost" || host.starts_with("127.") || host == "[::1]"
}

/// The browser's name and major version from its user agent (`Edge 131`, `Chrome 131`, `Firefox 133`,
/// `Safari 17`), or `""`; a myApps Launcher names itself first.
pub fn browser_of(ua: &str) -> String {
    for (token, name) in [
        ("myApps/", "myApps Launcher"),
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Version/", "Safari"),
    ] {
        if let Some((_, after)) = ua.split_once(token) {
            let major: String = after
                .chars()
                .take_while(char::is_ascii_digit)
                .take(6)
                .collect();
            return if major.is_empty() {
                name.to_string()
            } else {
                format!("{name} {major}")
            };
        }
    }
    String::new()
}

/// Decides when a report goes out.
#[derive(Debug, Default)]
pub struct HealthReporter {
    /// The client's id and browser, from the driver; nothing is reported without an id.
    client: String,
    browser: String,
    current: Option<Health>,
    sent: Option<Health>,
    sent_at: Option<u64>,
    /// The session to the service is up.
    connected: bool,
    /// The service said reports are switched off on this instance.
    off: bool,
    last_err: Option<String>,
    /// When the first status came (the settling time counts from it), and whether it has settled.
    first_at: Option<u64>,
    settled: bool,
}

impl HealthReporter {
    /// The driver's facts: the id kept in the browser profile and the user agent.
    pub fn set_identity(&mut self, client: &str, user_agent: &str) {
        self.client = client.chars().take(40).collect();
        self.browser = browser_of(user_agent);
        if let Some(c) = &mut self.current {
            c.browser = self.browser.clone();
        }
    }

    /// The client's id (empty until the driver told).
    pub fn client(&self) -> &str {
        &self.client
    }

    pub fn on_status(&mut self, now: u64, st: &Status) {
        self.first_at.get_or_insert(now);
        let hub = hub_word(st.hub);
        let answered = !matches!(st.hub, HubStatus::Unknown)
            && (st.hub != HubStatus::Reachable || st.devices.is_some() || st.no_device);
        // Settled: unlicensed (it stops there), or the settings are in and the hub answered (or it stopped).
        let configured = st.hub_url.is_some() || st.hub == HubStatus::NotConfigured;
        if st.license == Some(License::None)
            || (st.license.is_some() && configured && (!st.running || answered))
        {
            self.settled = true;
        }
        if !matches!(st.hub, HubStatus::Reachable | HubStatus::Unknown) {
            self.last_err = Some(hub.into());
        }
        self.current = Some(Health {
            run: st.running,
            hub: hub.into(),
            lic: st.license,
            lamps: if st.no_device {
                Some(0)
            } else {
                st.devices.map(|n| n as u64)
            },
            local: st.hub_url.as_deref().is_some_and(is_local),
            err: self.last_err.clone(),
            build: crate::status::version().into(),
            browser: self.browser.clone(),
        });
    }

    /// The session is up (every report is owed again: the service may have restarted) or down.
    pub fn on_connected(&mut self, up: bool) {
        self.connected = up;
        if up {
            self.sent = None;
            self.sent_at = None;
        }
    }

    /// The service keeps no reports on this instance: none is sent any more.
    pub fn on_off(&mut self) {
        self.off = true;
    }

    fn due_at(&self) -> Option<u64> {
        if !self.connected || self.off || self.client.is_empty() {
            return None;
        }
        let cur = self.current.as_ref()?;
        if !self.settled {
            return Some(self.first_at?.saturating_add(SETTLE_MS));
        }
        match (&self.sent, self.sent_at) {
            (Some(s), _) if s == cur => None,
            // What was not known yet (the Busylights right after the hub answered) goes at once.
            (Some(s), _) if s.lamps.is_none() && cur.lamps.is_some() => Some(0),
            (Some(s), Some(at)) if s.fine() == cur.fine() => Some(at.saturating_add(MIN_GAP_MS)),
            _ => Some(0),
        }
    }

    /// The report to send now, if one is due.
    pub fn poll(&mut self, now: u64) -> Option<(String, Health)> {
        if self.due_at()? > now {
            return None;
        }
        let cur = self.current.clone()?;
        self.sent = Some(cur.clone());
        self.sent_at = Some(now);
        Some((self.client.clone(), cur))
    }

    /// When a held-back report is due.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.due_at().filter(|&t| t > 0)
    }
}

/// The client id to report under: `stored` (what the driver read from the browser profile) when it has the
/// shape this app writes, else a new one of 20 letters and digits made from `random` (values in `[0, 1)`, the
/// browser's `Math.random()`: an id, not a secret). The flag says whether the driver must store it.
pub fn client_id(stored: Option<&str>, mut random: impl FnMut() -> f64) -> (String, bool) {
    if let Some(id) = stored
        .filter(|id| (8..=40).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return (id.to_string(), false);
    }
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let id = (0..20)
        .map(|_| DIGITS[(random() * 36.0) as usize % DIGITS.len()] as char)
        .collect();
    (id, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_client_id_is_kept_only_in_the_shape_this_app_writes() {
        let never = || -> f64 { panic!("no new id needed") };
        assert_eq!(
            client_id(Some("abcdefgh12345678"), never),
            ("abcdefgh12345678".into(), false)
        );
        let mut n = 0.0;
        let mut next = || {
            n = (n + 0.37) % 1.0;
            n
        };
        for bad in [
            None,
            Some(""),
            Some("short"),
            Some("has space 123456"),
            Some(&"x".repeat(41)[..]),
        ] {
            let (id, store) = client_id(bad, &mut next);
            assert!(store, "{bad:?}");
            assert_eq!(id.len(), 20);
            assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
        }
    }

    fn status(hub: HubStatus, devices: usize) -> Status {
        Status {
            license: Some(License::WithBusylight),
            hub,
            hub_url: Some("http://localhost:8989/".into()),
            devices: Some(devices),
            no_device: devices == 0,
            lamp: None,
            hub_state: None,
            presence_applied: None,
            presence_user: None,
            calls: 0,
            hidden_calls: None,
            last_error: None,
            next_retry_ms: None,
            running: true,
            token_in_url: false,
            missed_call_since: None,
        }
    }

    fn reporter() -> HealthReporter {
        let mut r = HealthReporter::default();
        r.set_identity(
            "abcdefgh12345678",
            "Mozilla/5.0 Chrome/131.0.6778.85 Safari/537.36",
        );
        r.on_connected(true);
        r
    }

    #[test]
    fn reports_on_change_at_most_once_a_minute_except_between_fine_and_not_fine() {
        let mut r = reporter();
        r.on_status(0, &status(HubStatus::Reachable, 1));
        let (id, h) = r.poll(1_000).expect("first report");
        assert_eq!(id, "abcdefgh12345678");
        assert!(h.fine() && h.local);
        assert_eq!(h.browser, "Chrome 131");
        assert_eq!(r.poll(2_000), None, "nothing changed");
        // Two Busylights: still fine, so it waits for the minute.
        r.on_status(0, &status(HubStatus::Reachable, 2));
        assert_eq!(r.poll(2_000), None);
        assert_eq!(r.poll_timeout(), Some(61_000));
        assert_eq!(r.poll(61_000).map(|(_, h)| h.lamps), Some(Some(2)));
        // The Busylights were not known when the hub first answered: their count follows at once.
        let mut st = status(HubStatus::Reachable, 1);
        st.devices = None;
        st.no_device = false;
        let mut q = reporter();
        q.on_status(0, &st);
        assert!(q.poll(20_000).is_some(), "settled after the settling time");
        st.devices = Some(1);
        q.on_status(20_500, &st);
        assert_eq!(q.poll(20_500).map(|(_, h)| h.lamps), Some(Some(1)));
        // The hub goes away: at once, and back at once.
        r.on_status(0, &status(HubStatus::Unreachable, 2));
        let (_, down) = r.poll(62_000).expect("not fine at once");
        assert_eq!(
            (down.hub.as_str(), down.err.as_deref()),
            ("unreachable", Some("unreachable"))
        );
        r.on_status(0, &status(HubStatus::Reachable, 2));
        let (_, up) = r.poll(63_000).expect("fine again at once");
        assert!(up.fine());
        assert_eq!(
            up.err.as_deref(),
            Some("unreachable"),
            "the last problem stays"
        );
    }

    #[test]
    fn nothing_without_a_session_an_id_or_when_switched_off_and_again_after_a_reconnect() {
        let mut r = HealthReporter::default();
        r.on_status(0, &status(HubStatus::Reachable, 1));
        r.on_connected(true);
        assert_eq!(r.poll(0), None, "no id yet");
        r.set_identity("abcdefgh12345678", "");
        assert!(r.poll(0).is_some());
        r.on_connected(false);
        r.on_status(0, &status(HubStatus::TooOld, 1));
        assert_eq!(r.poll(1), None);
        r.on_connected(true);
        assert_eq!(r.poll(2).map(|(_, h)| h.hub), Some("tooOld".into()));
        r.on_connected(true);
        assert!(r.poll(3).is_some(), "the service may have restarted");
        r.on_off();
        r.on_status(0, &status(HubStatus::Reachable, 1));
        assert_eq!(r.poll(100_000), None);
    }

    #[test]
    fn the_first_report_waits_until_license_hub_and_busylights_are_known_or_ten_seconds() {
        let mut r = reporter();
        let mut st = status(HubStatus::Unknown, 0);
        st.license = None;
        st.devices = None;
        st.no_device = false;
        r.on_status(1_000, &st);
        assert_eq!(r.poll(1_000), None);
        st.license = Some(License::Connector);
        st.hub = HubStatus::Reachable;
        r.on_status(2_000, &st);
        assert_eq!(r.poll(2_000), None, "the Busylights are not known yet");
        st.devices = Some(1);
        r.on_status(3_000, &st);
        assert_eq!(r.poll(3_000).map(|(_, h)| h.lamps), Some(Some(1)));
        // A license check that never answers: reported after the settling time anyway.
        let mut r = reporter();
        st.license = None;
        r.on_status(5_000, &st);
        assert_eq!(r.poll_timeout(), Some(15_000));
        assert_eq!(r.poll(14_999), None);
        assert!(r.poll(15_000).is_some());
        // Licensed, but the settings are not in yet: not settled.
        let mut r = reporter();
        st.license = Some(License::Connector);
        st.running = false;
        st.hub_url = None;
        r.on_status(0, &st);
        assert_eq!(r.poll(0), None);
        // An unlicensed connector settles at once: it is stopped.
        let mut r = reporter();
        st.license = Some(License::None);
        st.running = false;
        st.hub = HubStatus::Unknown;
        r.on_status(0, &st);
        assert_eq!(r.poll(0).and_then(|(_, h)| h.lic), Some(License::None));
    }

    #[test]
    fn local_hosts_and_browsers() {
        for (u, l) in [
            ("http://localhost:8989/", true),
            ("http://127.0.0.1:8989", true),
            ("http://[::1]:8989/", true),
            ("http://LOCALHOST/", true),
            ("http://user@localhost.evil.com/", false),
            ("http://pc-12.example.com:8989/", false),
            ("http://10.0.0.5:8989/", false),
            ("http://localhost.evil.com@10.0.0.5/", false),
            ("http://a:b@127.0.0.2/x?y#z", true),
            ("localhost:8989", true),
            ("http://[::1]", true),
            ("http://[::2]:8989/", false),
            ("", false),
        ] {
            assert_eq!(is_local(u), l, "{u}");
        }
        assert_eq!(
            browser_of(
                "Mozilla/5.0 (Windows NT 10.0) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70"
            ),
            "Edge 131"
        );
        assert_eq!(
            browser_of("Mozilla/5.0 Gecko/20100101 Firefox/133.0"),
            "Firefox 133"
        );
        assert_eq!(
            browser_of("Mozilla/5.0 Version/17.1 Safari/605.1.15"),
            "Safari 17"
        );
        assert_eq!(browser_of("curl/8"), "");
        assert_eq!(browser_of("x Chrome/ y"), "Chrome");
        assert_eq!(browser_of("myApps/14r2 Chrome/131"), "myApps Launcher 14");
    }
}
