//! The simulated Busylights: the lamps the hub lists, and a lamp as a person sees it (colour, effect,
//! sound) for the control API and the lamp page.

use kuando_connector::hub::{LampCommand, Rgb, Sound, Tenths};
use serde_json::{json, Value};

use super::{Command, Notification};

/// One simulated Busylight.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub model: String,
    pub product_id: String,
    pub usb_id: String,
    pub unique_id: String,
    pub path: String,
    /// Set by a command with `path=`: such commands address one lamp directly, outside the priorities
    /// ("not all devices are controlled by the priorities settings anymore" [M p.16]).
    pub direct: Option<Command>,
}

impl Device {
    pub(super) fn simulated(i: usize) -> Device {
        let (model, pid) = if i.is_multiple_of(2) {
            ("Busylight UC Omega", "3BCD")
        } else {
            ("Busylight UC Alpha", "3BCA")
        };
        let n = i + 1;
        Device {
            model: model.into(),
            product_id: pid.into(),
            usb_id: "27BB".into(),
            unique_id: format!("SIM{n:04}"),
            // Windows HID paths contain `\`, `?`, `#`, `&` and `{}`: a client that does not URL-encode the
            // path (as the manual warns) fails here as it would on a real PC.
            path: format!(
                r"\\?\hid#vid_27bb&pid_{}#sim{n:04}#{{4d1e55b2-f16f-11cf-88cb-001111000030}}",
                pid.to_ascii_lowercase()
            ),
            direct: None,
        }
    }

    pub(super) fn to_json(&self) -> Value {
        json!({
            "ModelName": self.model,
            "ProductID": self.product_id,
            "USBID": self.usb_id,
            "UniqueID": self.unique_id,
            "HIDDevicePath": self.path,
            "FirmwareRelease": "2.4",
            "IsLightSupported": true,
            "IsSoundSupported": true,
            "IsJingleClipSupport": true,
        })
    }
}

fn to_byte(l: u8) -> u8 {
    ((u16::from(l.min(100)) * 255 + 50) / 100) as u8
}

pub(super) fn rgb_json(c: Rgb) -> Value {
    let (r, g, b) = (c.red.get(), c.green.get(), c.blue.get());
    json!({"red": r, "green": g, "blue": b,
           "hex": format!("#{:02x}{:02x}{:02x}", to_byte(r), to_byte(g), to_byte(b))})
}

/// The lamp as a person sees it. `effect`: off, light, blink, pulse, alert (blinking and ringing),
/// jingle (steady, sound played once) or colorwithflash; a notification shows as the underlying colour
/// with the notification colour flashing over it **[inferred]**: "a global notification ... even if the
/// underlying presence state is not shown".
pub fn lamp_json(cmd: Option<&Command>, notification: Option<&Notification>) -> Value {
    let mut v = json!({
        "effect": "off", "color": rgb_json(Rgb::OFF), "flash": null, "ontime": null, "offtime": null,
        "sound": null, "volume": null, "sound_repeats": false,
        "source": null, "action": null, "eventname": null, "notification": null, "describe": "Off",
    });
    if let Some(c) = cmd {
        v["source"] = json!(c.sender);
        v["action"] = json!(c.action);
        v["eventname"] = json!(c.eventname);
        v["describe"] = json!(c.effect.describe());
        let sound = |s: Sound| json!({"number": s.number(), "name": s.name()});
        match c.effect {
            LampCommand::Light(col) => {
                v["effect"] = json!("light");
                v["color"] = rgb_json(col);
            }
            LampCommand::Pulse(col) => {
                v["effect"] = json!("pulse");
                v["color"] = rgb_json(col);
            }
            LampCommand::Blink { color, on, off } => {
                v["effect"] = json!("blink");
                v["color"] = rgb_json(color);
                v["ontime"] = json!(on.get());
                v["offtime"] = json!(off.get());
            }
            LampCommand::Alert {
                color,
                sound: s,
                volume,
            } => {
                v["effect"] = json!("alert");
                v["color"] = rgb_json(color);
                v["ontime"] = json!(Tenths::DEFAULT.get());
                v["offtime"] = json!(Tenths::DEFAULT.get());
                v["sound"] = sound(s);
                v["volume"] = json!(volume.get());
                v["sound_repeats"] = json!(true);
            }
            LampCommand::Jingle {
                color,
                sound: s,
                volume,
            } => {
                v["effect"] = json!("jingle");
                v["color"] = rgb_json(color);
                v["sound"] = sound(s);
                v["volume"] = json!(volume.get());
            }
            LampCommand::ColorWithFlash { color, flash } => {
                v["effect"] = json!("colorwithflash");
                v["color"] = rgb_json(color);
                v["flash"] = rgb_json(flash);
            }
            LampCommand::Off | LampCommand::Logout => {}
        }
    }
    if let Some(n) = notification {
        v["effect"] = json!("colorwithflash");
        v["flash"] = rgb_json(n.color);
        v["notification"] =
            json!({"sender": n.sender, "eventtype": n.eventtype, "eventname": n.eventname});
    }
    v
}

#[cfg(test)]
mod tests {
    use super::super::{presence_command, MANUAL_CHANGER};
    use super::*;

    #[test]
    fn colours_scale_to_bytes() {
        assert_eq!(to_byte(100), 255);
        assert_eq!(to_byte(50), 128);
        assert_eq!(to_byte(0), 0);
        let c = presence_command(MANUAL_CHANGER, "Light", "DND");
        assert_eq!(lamp_json(Some(&c), None)["color"]["hex"], "#b500e0"); // #b400e1 rounded through the 0..100 scale
    }
}
