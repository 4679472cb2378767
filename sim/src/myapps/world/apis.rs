//! myApps as the relay of client APIs between the app frames of one client (issue 14), as the spec describes
//! it (`docs/platform-facts.md` §3.2, §3.3): a provider registers with
//! `RegisterApi` and publishes its model with `ApiModel{api, model}`; myApps keeps the newest model and hands
//! it to every consumer in `ApiUpdate` (now, and on every change). When an app's frame goes (reloaded or
//! closed), its consumers get an `ApiUpdate` without it, and the providers of what it consumed get
//! `ApiConsumerClosed{api, consumer}`.

use serde_json::{json, Value};

use super::{obj_by_frame, wire, AppObject, Frame, World};

impl World {
    /// `ApiModel` from a provider frame: kept, and passed on to the API's consumers.
    pub(super) fn on_api_model(
        &mut self,
        sid: u64,
        user: &str,
        obj: &'static AppObject,
        api: &str,
        msg: &Value,
    ) {
        let model = msg.get("model").cloned().unwrap_or(Value::Null);
        let Some(f) = self.frame_mut(sid, obj.frame) else {
            return;
        };
        if !f.registered.contains(api) {
            // Tolerant, as a relay: kept anyway, shown once the frame registers the API.
            self.note(
                Some(user),
                obj.frame,
                &format!("ApiModel for {api}, which this app did not register (kept)"),
            );
        }
        if let Some(f) = self.frame_mut(sid, obj.frame) {
            f.models.insert(api.to_string(), model);
        }
        self.update_consumers(sid, api);
    }

    /// The app of a frame is gone (`old` is what myApps knew of it): what it provided is withdrawn from the
    /// consumers, and the providers of what it consumed learn that the consumer closed. The frame itself is
    /// already empty (a new app instance consumes and provides nothing yet).
    pub(super) fn frame_gone(&mut self, sid: u64, obj: &'static AppObject, old: Frame) {
        for api in &old.registered {
            self.update_consumers(sid, api);
        }
        for api in &old.consumed {
            for provider in self.frames_where(sid, |f| f.registered.contains(api)) {
                if provider != obj.frame && obj_by_frame(provider).is_some() {
                    let text = wire(&json!({"mt": "ApiConsumerClosed", "api": api,
                                            "consumer": obj.name}));
                    self.post(sid, provider, text);
                }
            }
        }
    }
}
