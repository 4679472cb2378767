//! Faults injected with `POST /_sim/fault`: what the hub does instead of answering, for which actions and
//! how many times.

use serde_json::{json, Value};

use super::super::lenient::{get_ci, number};

/// An injected fault (`POST /_sim/fault`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FaultMode {
    #[default]
    None,
    /// Close the connection without an answer. `refuse` is the same: a real refusal would also take the
    /// control API on this port down, and a browser cannot tell the two apart (both are a network error).
    Close,
    /// Answer after this many milliseconds.
    Delay(u64),
    /// 200 with a body that is no JSON at all.
    Garbage,
    /// This status with a short text body.
    Status(u16),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fault {
    pub mode: FaultMode,
    /// The name it was set with (`refuse`, `close`, ...), for the state view.
    pub name: String,
    /// Lower-case actions it applies to (`probe` for `GET /`); empty: every hub request.
    pub actions: Vec<String>,
    /// How many more requests it hits; `None`: until changed.
    pub times: Option<u32>,
}

impl Fault {
    /// Parses `{"mode": "delay", "ms": 1500, "actions": ["currentpresence"], "times": 2}`.
    pub fn from_json(v: &Value) -> Result<Fault, String> {
        let o = v.as_object().ok_or("expected a JSON object")?;
        let raw = get_ci(o, "mode").ok_or("missing \"mode\"")?;
        let name = match raw {
            Value::String(s) => s.trim().to_ascii_lowercase(),
            Value::Number(n) => n.to_string(),
            _ => return Err("\"mode\" must be a string or a status number".into()),
        };
        let mode = match name.as_str() {
            "none" | "off" | "" => FaultMode::None,
            "refuse" | "close" => FaultMode::Close,
            "garbage" => FaultMode::Garbage,
            "delay" => {
                let ms = get_ci(o, "ms")
                    .and_then(number)
                    .ok_or("delay needs \"ms\"")?;
                FaultMode::Delay(ms.clamp(0, 600_000) as u64)
            }
            s => match s.parse::<u16>() {
                Ok(code) if (400..=599).contains(&code) => FaultMode::Status(code),
                _ => {
                    return Err(format!(
                    "unknown mode {s:?} (none, refuse, close, delay, garbage, or a status 400..599)"
                ))
                }
            },
        };
        let actions = match get_ci(o, "actions").or_else(|| get_ci(o, "action")) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s.trim().to_ascii_lowercase()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(|s| s.trim().to_ascii_lowercase())
                .collect(),
            Some(_) => return Err("\"actions\" must be a list of action names".into()),
        };
        let times = get_ci(o, "times")
            .and_then(number)
            .map(|n| n.clamp(0, u32::MAX.into()) as u32);
        Ok(Fault {
            name: if mode == FaultMode::None {
                "none".into()
            } else {
                name
            },
            mode,
            actions,
            times,
        })
    }

    pub(super) fn to_json(&self) -> Value {
        let ms = match self.mode {
            FaultMode::Delay(ms) => Some(ms),
            _ => None,
        };
        json!({"mode": if self.name.is_empty() { "none" } else { &self.name }, "ms": ms,
               "actions": self.actions, "times": self.times})
    }
}
