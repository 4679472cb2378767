//! The settings form: the settings as saved and as edited, the errors per field, the token's visibility and
//! what became of "Save".

use std::collections::BTreeMap;

use super::i18n::{Lang, Text};
use crate::config::{Config, FieldError};
use crate::hub::Endpoint;

/// Result line of the save button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveState {
    Idle,
    Saving,
    Saved,
    Failed(String),
}

/// The form's state.
#[derive(Debug)]
pub(super) struct Settings {
    /// As the service has them (`None`: not loaded yet).
    pub stored: Option<Config>,
    /// As the user edits them.
    pub form: Config,
    /// Input that could not even be read (e.g. letters in a number field), per field.
    pub input_errors: BTreeMap<String, String>,
    pub token_visible: bool,
    pub save: SaveState,
}

impl Settings {
    pub fn new() -> Self {
        Settings {
            stored: None,
            form: Config::default(),
            input_errors: BTreeMap::new(),
            token_visible: false,
            save: SaveState::Idle,
        }
    }

    /// Loaded from the service: the form shows them.
    pub fn loaded(&mut self, c: Config) {
        self.form = c.clone();
        self.stored = Some(c);
        self.input_errors.clear();
    }

    /// Saved elsewhere (another client of the same user): taken unless the user is editing.
    pub fn changed_elsewhere(&mut self, c: Config) {
        let editing = self.dirty();
        self.stored = Some(c.clone());
        if !editing {
            self.form = c;
            self.input_errors.clear();
        }
    }

    /// The user changed a field (see [`super::ConfigApp::handle_input`]).
    pub fn input(&mut self, field: &str, value: &str) {
        self.input_errors.remove(field);
        if matches!(self.save, SaveState::Saved | SaveState::Failed(_)) {
            self.save = SaveState::Idle;
        }
        if let Err(e) = self.form.set_field(field, value) {
            self.input_errors.insert(field.into(), e.message);
        }
    }

    /// "Defaults": keeps where the hub is and the token; defaults are about the lamp and the rest.
    pub fn defaults(&mut self) {
        self.form = Config {
            hub_url: std::mem::take(&mut self.form.hub_url),
            token: std::mem::take(&mut self.form.token),
            ..Config::default()
        };
        self.input_errors.clear();
    }

    /// The form differs from the saved settings.
    pub fn dirty(&self) -> bool {
        self.stored.as_ref() != Some(&self.form)
    }

    /// Errors per field, in the UI language: the form's validation, then what could not be read.
    pub fn errors(&self, lang: Lang) -> BTreeMap<String, String> {
        let mut errors: BTreeMap<String, String> = BTreeMap::new();
        for FieldError { field, message } in self.form.validate() {
            errors
                .entry(field)
                .or_insert_with(|| Text::translate(lang, &message));
        }
        for (f, m) in &self.input_errors {
            errors.insert(f.clone(), Text::translate(lang, m));
        }
        errors
    }

    /// The edited hub, unless its URL or token is in error.
    pub fn form_endpoint(&self, lang: Lang) -> Option<Endpoint> {
        let errors = self.errors(lang);
        if errors.contains_key("hubUrl") || errors.contains_key("token") {
            return None;
        }
        self.form.endpoint().ok()
    }

    /// The saved hub (the defaults' while nothing is loaded).
    pub fn stored_endpoint(&self) -> Option<Endpoint> {
        let c = self.stored.clone().unwrap_or_default();
        c.endpoint().ok()
    }

    /// Every token the app knows, to mask in traces and reports.
    pub fn secrets(&self) -> Vec<&str> {
        let mut s = vec![self.form.token.as_str()];
        if let Some(c) = &self.stored {
            s.push(c.token.as_str());
        }
        s
    }
}

/// Whether the hub URL deserves the "kuandoHUB listens on localhost" hint: its host is an IPv4 loopback
/// address (`127.x.x.x`). **[inferred]** kuandoHUB's default listen prefix is `http://localhost:8989/`
/// (Windows `HttpListener` / http.sys), and http.sys matches a request's host name against the prefix, so a
/// request to `http://127.0.0.1:8989/` may be refused ("Invalid Hostname") while `localhost` works
/// (docs/platform-facts.md §1.2). A hint, never an error: a hub configured with a `+` or `*` prefix
/// answers on both.
pub fn loopback_ip_hint(url: &str) -> bool {
    // Split at the first `:`, which must be followed by `//` (a scheme has no `:`).
    let Some(rest) = url
        .trim()
        .split_once(':')
        .and_then(|(_, r)| r.strip_prefix("//"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = host.split(':').next().unwrap_or("");
    let octets: Vec<&str> = host.split('.').collect();
    octets.len() == 4
        && octets[0] == "127"
        && octets
            .iter()
            .all(|o| !o.is_empty() && o.bytes().all(|b| b.is_ascii_digit()))
}
