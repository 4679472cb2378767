//! One wake-up timer per state machine: armed for the core's `poll_timeout()`, re-armed whenever that
//! changes. Dropping or re-arming cancels the previous timeout, so nothing leaks and no stale wake-up fires.

use gloo_timers::callback::Timeout;

#[derive(Default)]
pub struct Wakeup {
    armed: Option<(u64, Timeout)>,
}

impl Wakeup {
    /// Arms for `deadline_ms` (in `clock::now_ms` time), unless already armed for exactly that deadline.
    /// `None` disarms.
    pub fn set(&mut self, deadline_ms: Option<u64>, now_ms: u64, fire: impl FnOnce() + 'static) {
        match deadline_ms {
            None => self.armed = None,
            Some(d) => {
                if matches!(&self.armed, Some((at, _)) if *at == d) {
                    return;
                }
                let delay = d.saturating_sub(now_ms).min(u64::from(u32::MAX >> 1)) as u32;
                self.armed = Some((d, Timeout::new(delay, fire)));
            }
        }
    }

    /// Forgets the armed deadline after it fired (so the same deadline can be armed again).
    pub fn fired(&mut self) {
        self.armed = None;
    }
}
