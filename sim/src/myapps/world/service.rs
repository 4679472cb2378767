//! The AppPlatform's side towards the shipped service: the lines to and from the runtime host of
//! [`super::super::runtime`] (the service's APIs once it is ready, what it sends on a connection, its log
//! lines, its exit). What the service sends on an app websocket goes out in [`super::app_ws`]; on a PBX
//! connection, to [`super::pbx_api`].

use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

use super::{str_field, World};

impl World {
    pub(crate) fn attach_runtime(&mut self, tx: UnboundedSender<String>) {
        self.runtime = Some(tx);
    }

    /// The simulator stops: the host's stdin closes and it removes the instance.
    pub(crate) fn detach_runtime(&mut self) {
        self.runtime = None;
    }

    pub(crate) fn runtime_running(&self) -> bool {
        self.runtime.is_some()
    }

    pub(crate) fn send_runtime(&mut self, v: Value) {
        if let Some(tx) = &self.runtime {
            let _ = tx.send(v.to_string());
        }
    }

    /// A line from the host. `Some` once the service is ready (or failed before).
    pub(crate) fn on_runtime(&mut self, line: &str) -> Option<Result<(), String>> {
        let v: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(_) => {
                self.note(None, "service", &format!("runtime: {line}"));
                return None;
            }
        };
        let text = |k: &str| str_field(&v, k).to_string();
        let id = v.get("id").and_then(Value::as_u64).unwrap_or(0);
        match str_field(&v, "t") {
            "ready" => {
                let list = |k: &str| -> Vec<String> {
                    v.get(k)
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default()
                };
                self.json_apis = list("json");
                self.pbx_apis = list("pbx");
                self.note(
                    None,
                    "service",
                    &format!(
                        "app service kuando.js running: JsonApi {:?}, PbxApi {:?}",
                        self.json_apis, self.pbx_apis
                    ),
                );
                self.connect_app_object();
                self.push_views();
                return Some(Ok(()));
            }
            "send" => {
                let t = text("text");
                if self.conns.contains_key(&id) {
                    self.send_app(id, t);
                } else if self.pbx_conns.contains_key(&id) {
                    self.on_pbx(id, &t);
                }
            }
            "detach" => {
                if let Some(c) = self.pbx_conns.remove(&id) {
                    self.note(
                        None,
                        "pbx",
                        &format!("the service closed its {} connection", c.api),
                    );
                }
            }
            // The service's own log lines (`kuando-service: …`), as the instance log shows them.
            "log" => self.log(None, "service", "log", "note", &text("text")),
            "error" => {
                let t = text("text");
                self.note(None, "service", &format!("runtime failed: {t}"));
                return Some(Err(t));
            }
            _ => self.note(None, "service", &format!("runtime: {line}")),
        }
        self.push_views();
        None
    }

    pub(crate) fn runtime_stderr(&mut self, line: &str) {
        self.note(None, "service", &format!("runtime stderr: {line}"));
    }

    pub(crate) fn runtime_exited(&mut self, status: &str) {
        self.note(
            None,
            "service",
            &format!("app service runtime stopped ({status})"),
        );
        self.runtime = None;
        self.pbx_conns.clear();
        self.drop_app_conns();
        self.push_views();
    }

    /// The instance's process is gone: every app websocket to it drops (dropping a connection's sender
    /// ends its pump, which closes the socket). Called with the runtime detached, so nothing is sent to it.
    fn drop_app_conns(&mut self) {
        let ids: Vec<u64> = self.conns.keys().copied().collect();
        for cid in ids {
            self.remove_conn(cid);
        }
    }
}
