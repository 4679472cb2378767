//! "Test lamp" and "Test sound": a short sequence of commands through the hub's GET interface (source
//! `HTTP`), never the connector's own sender, so that a test cannot overwrite the lamp state the hidden app
//! set; the final `off` releases only the test's source, also after a failed step.

use std::collections::VecDeque;

use super::hub_check::TestStatus;
use super::i18n::Text;
use super::{ConfigApp, Purpose};
use crate::hub::{self, Endpoint, HubError, HubOutcome, LampCommand, Rgb, Sound, Volume};

/// How long each colour of the lamp test shows.
pub const LAMP_STEP_MS: u64 = 800;
/// How long the sound test plays before the lamp is given back.
pub const SOUND_TEST_MS: u64 = 3_000;

/// A running lamp or sound test.
#[derive(Debug, Clone, Default)]
pub(super) enum Sequence {
    #[default]
    None,
    /// Commands still to send, each after the previous one's delay.
    Running {
        endpoint: Endpoint,
        steps: VecDeque<(LampCommand, u64)>,
        next_at: Option<u64>,
    },
}

impl Sequence {
    pub fn running(&self) -> bool {
        matches!(self, Sequence::Running { .. })
    }

    /// When the next command is due.
    pub fn next_at(&self) -> Option<u64> {
        match self {
            Sequence::Running { next_at, .. } => *next_at,
            Sequence::None => None,
        }
    }
}

/// Red, green, blue, a white blink, then off.
pub(super) fn lamp_test_steps() -> VecDeque<(LampCommand, u64)> {
    let c = |r, g, b| Rgb::new(r, g, b).unwrap_or(Rgb::OFF);
    VecDeque::from([
        (LampCommand::Light(c(100, 0, 0)), LAMP_STEP_MS),
        (LampCommand::Light(c(0, 100, 0)), LAMP_STEP_MS),
        (LampCommand::Light(c(0, 0, 100)), LAMP_STEP_MS),
        (LampCommand::blink(c(100, 100, 100)), LAMP_STEP_MS * 2),
        (LampCommand::Off, 0),
    ])
}

/// The ringing setting's colour, sound and volume for [`SOUND_TEST_MS`], then off.
pub(super) fn sound_test_steps(
    ringing: &crate::config::LampSetting,
) -> VecDeque<(LampCommand, u64)> {
    let color = Rgb::from_hex(&ringing.color).unwrap_or(Rgb::OFF);
    // A ringing setting without sound still tests the speaker: with kuandoHUB's default sound.
    let sound = Sound::from_number(ringing.sound)
        .filter(|s| *s != Sound::None)
        .unwrap_or(Sound::KuandoTrain);
    let volume = Volume::new(ringing.volume).unwrap_or_default();
    VecDeque::from([
        (
            LampCommand::Alert {
                color,
                sound,
                volume,
            },
            SOUND_TEST_MS,
        ),
        (LampCommand::Off, 0),
    ])
}

impl ConfigApp {
    pub(super) fn start_lamp_test(&mut self, now_ms: u64, sound: bool) {
        if !self.lamp_tests_possible() {
            return;
        }
        let Some(ep) = self.form_endpoint() else {
            self.hub.test = TestStatus::Failed(Text::FixErrors.get(self.lang).to_string());
            return;
        };
        let steps = if sound {
            sound_test_steps(&self.settings.form.lamp.ringing)
        } else {
            lamp_test_steps()
        };
        self.hub.test = TestStatus::Running;
        self.sequence = Sequence::Running {
            endpoint: ep,
            steps,
            next_at: Some(now_ms),
        };
        self.run_sequence(now_ms);
    }

    pub(super) fn lamp_answer(&mut self, now_ms: u64, last: bool, outcome: &HubOutcome) {
        let result = match outcome {
            HubOutcome::Answer { status, body } => hub::parse_command_response(*status, body),
            HubOutcome::Timeout => Err(HubError::Timeout),
            HubOutcome::Network => Err(HubError::Network),
        };
        match result {
            Ok(()) if last => {
                self.sequence = Sequence::None;
                if self.hub.test == TestStatus::Running {
                    self.hub.test = TestStatus::Ok(Text::TestDone.get(self.lang).to_string());
                }
            }
            Ok(()) => {}
            Err(e) => {
                self.hub.test = TestStatus::Failed(Text::translate(self.lang, &e.to_string()));
                // Give the lamp back even after a failed step, unless the failing step was the release.
                let release = match std::mem::take(&mut self.sequence) {
                    Sequence::Running { endpoint, .. } if !last => Some(endpoint),
                    _ => None,
                };
                if let Some(ep) = release {
                    self.sequence = Sequence::Running {
                        endpoint: ep,
                        steps: VecDeque::from([(LampCommand::Off, 0)]),
                        next_at: Some(now_ms),
                    };
                    self.run_sequence(now_ms);
                }
            }
        }
    }

    pub(super) fn run_sequence(&mut self, now_ms: u64) {
        let Sequence::Running {
            endpoint,
            steps,
            next_at,
        } = &mut self.sequence
        else {
            return;
        };
        if !next_at.is_some_and(|t| t <= now_ms) {
            return;
        }
        let Some((cmd, delay)) = steps.pop_front() else {
            *next_at = None;
            return;
        };
        let last = steps.is_empty();
        *next_at = if last { None } else { Some(now_ms + delay) };
        let request = endpoint.get_command(cmd);
        self.send_hub(Purpose::Lamp { last }, request);
    }

    /// Lamp and sound tests need a working hub with a Busylight, no test running and a license.
    pub(super) fn lamp_tests_possible(&self) -> bool {
        let devices = self.hub.test_devices.as_ref().or(self.hub.devices.as_ref());
        self.hub.hub_ok()
            && devices.is_some_and(|d| !d.is_empty())
            && !self.sequence.running()
            && !self.service.has_no_license()
    }
}
