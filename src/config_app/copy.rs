//! "Copy diagnosis": asks the hidden app for its part, then the browser for its facts, builds the report
//! ([`super::diagnosis`]) and hands it to the driver for the clipboard (or a download).

use super::i18n::Lang;
use super::live::HiddenDiagnosis;
use super::{diagnosis, ConfigAction, ConfigApp};
use crate::proto::License;

/// What became of the last "Copy diagnosis".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CopyState {
    Idle,
    /// Waiting for the hidden app's part.
    Collecting,
    /// Handed to the driver.
    Copying,
    Copied,
    /// The clipboard refused; the report was downloaded as a file.
    Downloaded,
    /// Neither worked: the report is shown for copying by hand.
    Failed,
}

#[derive(Debug)]
pub(super) struct CopyDiagnosis {
    pub state: CopyState,
    /// The last report, shown for reading (and copying by hand).
    pub report: Option<String>,
    /// Browser facts for the diagnosis, from the driver (asked for with [`ConfigAction::BrowserFacts`]).
    pub env: Vec<(String, String)>,
    /// The hidden app's part of a diagnosis whose report waits for the browser facts.
    pub pending: Option<Option<HiddenDiagnosis>>,
}

impl CopyDiagnosis {
    pub fn new() -> Self {
        CopyDiagnosis {
            state: CopyState::Idle,
            report: None,
            env: Vec::new(),
            pending: None,
        }
    }
}

impl ConfigApp {
    pub(super) fn copy_diagnosis(&mut self, now_ms: u64) {
        if self.copy.state != CopyState::Collecting {
            self.copy.state = CopyState::Collecting;
            let out = self.live.request_diagnosis(now_ms);
            self.live_out(out);
        }
    }

    /// Facts about the browser for the diagnosis (time, user agent), the answer to
    /// [`ConfigAction::BrowserFacts`]: the waiting report is built with them.
    pub fn handle_env(&mut self, env: Vec<(String, String)>) {
        self.copy.env = env;
        if let Some(hidden) = self.copy.pending.take() {
            let report = self.diagnosis(hidden.as_ref());
            self.trace("diagnosis built");
            self.copy.report = Some(report.clone());
            self.copy.state = CopyState::Copying;
            self.changed = true;
            self.actions.push_back(ConfigAction::Copy(report));
        }
    }

    /// What the driver made of [`ConfigAction::Copy`]: `Ok(true)` in the clipboard, `Ok(false)` downloaded.
    pub fn handle_copied(&mut self, result: Result<bool, String>) {
        self.changed = true;
        self.copy.state = match result {
            Ok(true) => CopyState::Copied,
            Ok(false) => CopyState::Downloaded,
            Err(why) => {
                self.trace(&format!("diagnosis not copied: {why}"));
                CopyState::Failed
            }
        };
    }

    /// The report for support (see [`diagnosis`]).
    pub fn diagnosis(&self, hidden: Option<&HiddenDiagnosis>) -> String {
        let rows = self.status_rows(Lang::En);
        let license = self.service.license.map_or("not known", License::as_str);
        let check = self.hub.describe();
        let service = format!("{:?}", self.service.state);
        let secrets = self.settings.secrets();
        let s = &self.settings;
        diagnosis::report(&diagnosis::Facts {
            env: &self.copy.env,
            stored: s.stored.as_ref(),
            edited: Some(&s.form).filter(|_| s.dirty()),
            service: &service,
            license,
            check: &check,
            rows: &rows,
            model: self.live.model().map(|m| m.raw.as_str()),
            hidden,
            secrets: &secrets,
        })
    }
}
