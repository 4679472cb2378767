//! "Copy diagnosis" (issue 14): the plain-text report a user hands to support. Built by the config app from
//! what it knows (its settings, the service and hub checks, the live status) and what the hidden app sends
//! back (its last trace lines, every group, and the hub's last answers). The token never appears in it: the
//! settings are written with the token masked, and the whole text goes through [`crate::trace::redact`]
//! with every token the config app knows (which also masks `accesstoken=` / `http_token=` values of any
//! token).
//!
//! Config app only: `format!` is fine here.

use super::live::{dur, HiddenDiagnosis, StatusRow};
use crate::config::Config;
use crate::trace::{self, MASK};

/// Everything the report is made of.
#[derive(Debug, Clone, Default)]
pub struct Facts<'a> {
    /// Facts of the browser the driver adds (time, user agent, language), as `(name, value)`.
    pub env: &'a [(String, String)],
    /// The settings as saved (`None`: not loaded).
    pub stored: Option<&'a Config>,
    /// The settings in the form, if they differ from the saved ones (unsaved edits).
    pub edited: Option<&'a Config>,
    /// The app service connection and license as the config app sees them.
    pub service: &'a str,
    pub license: &'a str,
    /// The config app's own hub check.
    pub check: &'a str,
    /// The live status rows (English) and the model as it came.
    pub rows: &'a [StatusRow],
    pub model: Option<&'a str>,
    /// The hidden app's part; `None`: not running on this client or no answer.
    pub hidden: Option<&'a HiddenDiagnosis>,
    /// Tokens to mask, whatever they are.
    pub secrets: &'a [&'a str],
}

/// The settings as JSON with the token masked.
fn settings_text(c: &Config) -> String {
    let mut c = c.clone();
    if !c.token.is_empty() {
        c.token = MASK.to_string();
    }
    c.to_json()
}

/// The report, token-free.
pub fn report(f: &Facts) -> String {
    let mut out = String::new();
    let mut line = |s: &str| {
        out.push_str(s);
        out.push('\n');
    };
    line("Connector for kuando® — diagnosis for support");
    line(&format!(
        "config app (innovaphone-kuando-config): {}",
        crate::status::version()
    ));
    match f.hidden {
        Some(h) if !h.version.is_empty() => {
            line(&format!("hidden app (innovaphone-kuando): {}", h.version))
        }
        Some(_) => line("hidden app (innovaphone-kuando): version not told"),
        None => line("hidden app (innovaphone-kuando): not running on this client or no answer"),
    }
    for (k, v) in f.env {
        line(&format!("{k}: {v}"));
    }
    line("");
    line("== settings (token masked) ==");
    match f.stored {
        Some(c) => line(&settings_text(c)),
        None => line("not loaded"),
    }
    if let Some(e) = f.edited {
        line(&format!("unsaved edits: {}", settings_text(e)));
    }
    line("");
    line("== config app ==");
    line(&format!("app service: {}", f.service));
    line(&format!("license: {}", f.license));
    line(&format!("kuandoHUB check: {}", f.check));
    line("");
    line("== status of the hidden app ==");
    for r in f.rows {
        line(&format!("{}: {}", r.label, r.value));
    }
    if let Some(m) = f.model {
        line(&format!("model: {m}"));
    }
    line("");
    line("== kuandoHUB's last answers ==");
    match f.hidden {
        Some(h) if !h.answers.is_empty() => {
            for (what, ago, text) in &h.answers {
                line(&format!("{what} ({} ago): {text}", dur(*ago)));
            }
        }
        Some(_) => line("none yet"),
        None => line("not available"),
    }
    line("");
    match f.hidden {
        Some(h) => {
            line(&format!(
                "== the hidden app's last {} trace lines (all groups) ==",
                h.lines.len()
            ));
            for l in &h.lines {
                line(l);
            }
        }
        None => line("== the hidden app's trace: not available =="),
    }
    trace::redact(&out, f.secrets)
}

/// The file name a downloaded report gets.
pub const FILE_NAME: &str = "kuando-diagnosis.txt";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config_app::live::Tone;

    #[test]
    fn no_token_in_the_report_wherever_it_stood() {
        let token = "Tok3n-s3cr3t";
        let stored = Config {
            token: token.into(),
            ..Config::default()
        };
        let edited = Config {
            token: "0ther-T0ken".into(),
            ..Config::default()
        };
        let hidden = HiddenDiagnosis {
            lines: vec![
                format!("kuando-log: init http get request: http://h:8989/?action=currentpresence&accesstoken={token}&http_token={token}"),
                "kuando-log: hub said accesstoken=another-one&x=1".into(),
                format!("kuando-log: odd text {token}"),
            ],
            answers: vec![(
                "currentpresence".into(),
                1500,
                format!("HTTP 200 {{\"echo\":\"http_token={token}\"}}"),
            )],
            version: "0.1.0".into(),
        };
        let rows = vec![StatusRow {
            key: "hub",
            label: "kuandoHUB".into(),
            value: format!("http://h:8989/?accesstoken={token}"),
            tone: Tone::Ok,
        }];
        let env = vec![("user agent".to_string(), format!("Chrome {token}"))];
        let r = report(&Facts {
            env: &env,
            stored: Some(&stored),
            edited: Some(&edited),
            service: "up",
            license: "connector",
            check: "ok",
            rows: &rows,
            model: Some(&format!("{{\"err\":\"{token}\"}}")),
            hidden: Some(&hidden),
            secrets: &[token, "0ther-T0ken"],
        });
        for bad in [token, "0ther-T0ken", "another-one"] {
            assert!(!r.contains(bad), "{bad} in the report:\n{r}");
        }
        assert!(!r.contains("accesstoken=T") && !r.contains("http_token=T"));
        // What support needs is there.
        assert!(r.contains("hidden app (innovaphone-kuando): 0.1.0"), "{r}");
        assert!(r.contains("currentpresence (1 s ago): HTTP 200"), "{r}");
        assert!(r.contains("kuando-log: odd text ***"), "{r}");
        assert!(r.contains("\"token\":\"***\""), "{r}");
        assert!(r.contains("last 3 trace lines"), "{r}");
    }

    #[test]
    fn without_the_hidden_app_the_report_says_so() {
        let r = report(&Facts {
            service: "down",
            license: "unknown",
            check: "not checked",
            ..Facts::default()
        });
        assert!(r.contains("not running on this client or no answer"), "{r}");
        assert!(r.contains("== the hidden app's trace: not available =="));
        assert!(r.contains("settings (token masked) ==\nnot loaded"));
    }
}
