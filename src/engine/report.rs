//! What the engine tells beyond [`super::Status`], for the live status panel and the diagnosis (issue 14):
//! the hub's running command as it came, the trace ring, and redaction with the engine's own secret. In a
//! module of its own so that the engine's decisions stay where they are.

use super::{Connector, RequestId};
use crate::hub::RequestKind;
use crate::ring::TraceRing;
use crate::trace;

impl Connector {
    /// The hub's last reported running command of this session as `(sender, eventtype, eventname)`; `None`:
    /// nothing running, or no answer yet.
    pub fn hub_report(&self) -> Option<(&str, &str, &str)> {
        self.last_running
            .as_ref()
            .map(|(s, t, n)| (s.as_str(), t.as_str(), n.as_str()))
    }

    /// The last trace lines, every group whatever the trace flags say (see [`crate::ring`]).
    pub fn trace_ring(&self) -> &TraceRing {
        &self.out.ring
    }

    /// Keeps a line the app around the engine traced, so that the ring has the whole story in order.
    pub fn keep_trace(&mut self, line: &str) {
        self.out.ring.push(line);
    }

    /// `text` with the hub token and token parameters masked, for texts from outside (hub answers).
    pub fn redact(&self, text: &str) -> String {
        trace::redact(text, &[self.out.secret.as_str()])
    }

    /// What request `id` in flight on a lane is for (`None`: not in flight, or a `Logout`).
    pub fn request_kind(&self, id: RequestId) -> Option<RequestKind> {
        [self.poll_lane, self.lamp_lane]
            .into_iter()
            .flatten()
            .find(|f| f.id == id)
            .map(|f| f.kind)
    }
}
