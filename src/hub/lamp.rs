//! Lamp values on the hub's scales: colour levels, sounds, volume, blink times, and the commands that use
//! them.

use serde::Serialize;

/// The connector's lamp states (the slots of the settings' lamp scheme), in the order of the lamp's priority
/// (highest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LampSlot {
    Ringing,
    Dialing,
    Connected,
    Held,
    Busy,
    Dnd,
    Away,
    Lunch,
}

impl LampSlot {
    pub const ALL: [LampSlot; 8] = [
        LampSlot::Ringing,
        LampSlot::Dialing,
        LampSlot::Connected,
        LampSlot::Held,
        LampSlot::Busy,
        LampSlot::Dnd,
        LampSlot::Away,
        LampSlot::Lunch,
    ];

    /// The order of the slots in the settings' JSON.
    pub const JSON_ORDER: [LampSlot; 8] = [
        LampSlot::Ringing,
        LampSlot::Dialing,
        LampSlot::Connected,
        LampSlot::Held,
        LampSlot::Busy,
        LampSlot::Away,
        LampSlot::Dnd,
        LampSlot::Lunch,
    ];

    /// The JSON field name.
    pub fn as_str(self) -> &'static str {
        match self {
            LampSlot::Ringing => "ringing",
            LampSlot::Dialing => "dialing",
            LampSlot::Connected => "connected",
            LampSlot::Held => "held",
            LampSlot::Busy => "busy",
            LampSlot::Dnd => "dnd",
            LampSlot::Away => "away",
            LampSlot::Lunch => "lunch",
        }
    }
}

/// The default volume kuandoHUB offers (75 %).
pub const DEFAULT_VOLUME: u8 = 75;

/// One colour channel on the hub's scale, 0..=100. The type makes the manual's own mistake (sending 255)
/// impossible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
#[serde(transparent)]
pub struct Level(u8);

impl Level {
    pub const MAX: u8 = 100;

    pub fn new(v: u8) -> Option<Level> {
        (v <= Self::MAX).then_some(Level(v))
    }

    /// A 0..=255 byte (as in `#rrggbb`) scaled to 0..=100, rounded to nearest.
    pub fn from_byte(b: u8) -> Level {
        Level(((u32::from(b) * 100 + 127) / 255) as u8)
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// A lamp colour on the hub's 0..=100 scale; serialized as the POST interface's colour object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Rgb {
    #[serde(rename = "RedRgbValue")]
    pub red: Level,
    #[serde(rename = "GreenRgbValue")]
    pub green: Level,
    #[serde(rename = "BlueRgbValue")]
    pub blue: Level,
}

impl Rgb {
    pub const OFF: Rgb = Rgb {
        red: Level(0),
        green: Level(0),
        blue: Level(0),
    };

    pub fn new(red: u8, green: u8, blue: u8) -> Option<Rgb> {
        Some(Rgb {
            red: Level::new(red)?,
            green: Level::new(green)?,
            blue: Level::new(blue)?,
        })
    }

    /// Parses `#rrggbb` (the `#` optional, any case).
    pub fn from_hex(s: &str) -> Option<Rgb> {
        let h = s.trim();
        let h = h.strip_prefix('#').unwrap_or(h);
        if h.len() != 6 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let byte = |i: usize| {
            u8::from_str_radix(h.get(i..i + 2).unwrap_or_default(), 16)
                .ok()
                .map(Level::from_byte)
        };
        Some(Rgb {
            red: byte(0)?,
            green: byte(2)?,
            blue: byte(4)?,
        })
    }
}

/// The hub's sounds, by their HTTP numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sound {
    None = 0,
    FairyTale = 1,
    Funky = 2,
    KuandoTrain = 3,
    OpenOffice = 4,
    Quiet = 5,
    TelephoneNordic = 6,
    TelephoneOriginal = 7,
    TelephonePickMeUp = 8,
}

impl Sound {
    pub const MAX: u8 = 8;
    pub const ALL: [Sound; 9] = [
        Sound::None,
        Sound::FairyTale,
        Sound::Funky,
        Sound::KuandoTrain,
        Sound::OpenOffice,
        Sound::Quiet,
        Sound::TelephoneNordic,
        Sound::TelephoneOriginal,
        Sound::TelephonePickMeUp,
    ];

    pub fn from_number(n: u8) -> Option<Sound> {
        Sound::ALL.get(usize::from(n)).copied()
    }

    pub fn number(self) -> u8 {
        self as u8
    }

    /// The name kuandoHUB shows.
    pub fn name(self) -> &'static str {
        match self {
            Sound::None => "None",
            Sound::FairyTale => "Fairy Tale",
            Sound::Funky => "Funky",
            Sound::KuandoTrain => "Kuando Train",
            Sound::OpenOffice => "Open Office",
            Sound::Quiet => "Quiet",
            Sound::TelephoneNordic => "Telephone Nordic",
            Sound::TelephoneOriginal => "Telephone Original",
            Sound::TelephonePickMeUp => "Telephone Pick Me Up",
        }
    }
}

/// Sound volume, 0..=100 (0 = mute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Volume(u8);

impl Volume {
    pub fn new(v: u8) -> Option<Volume> {
        (v <= 100).then_some(Volume(v))
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl Default for Volume {
    fn default() -> Self {
        Volume(DEFAULT_VOLUME)
    }
}

/// Blink on/off time in tenths of a second (the hub's unit), at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tenths(u8);

impl Tenths {
    /// The hub's default, 0.5 s.
    pub const DEFAULT: Tenths = Tenths(5);

    pub fn new(v: u8) -> Option<Tenths> {
        (v >= 1).then_some(Tenths(v))
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// What the connector can ask the lamp to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LampCommand {
    Light(Rgb),
    Blink {
        color: Rgb,
        on: Tenths,
        off: Tenths,
    },
    Pulse(Rgb),
    Alert {
        color: Rgb,
        sound: Sound,
        volume: Volume,
    },
    Jingle {
        color: Rgb,
        sound: Sound,
        volume: Volume,
    },
    ColorWithFlash {
        color: Rgb,
        flash: Rgb,
    },
    /// Releases the connector's source: a lower-priority source (e.g. Manual Changer's green) shows.
    Off,
    /// Like `Off`, for when the connector ends ("use Logout instead of Off in case of ending your software").
    Logout,
}

impl LampCommand {
    /// Blinking with the hub's default 0.5 s / 0.5 s.
    pub fn blink(color: Rgb) -> LampCommand {
        LampCommand::Blink {
            color,
            on: Tenths::DEFAULT,
            off: Tenths::DEFAULT,
        }
    }

    /// True for the commands that release the sender (`Off`, `Logout`) instead of showing something.
    pub fn releases(&self) -> bool {
        matches!(self, LampCommand::Off | LampCommand::Logout)
    }

    /// The POST interface's `action` of this command (`Light`, `Blink`, ..., `Off`).
    pub fn action_name(&self) -> &'static str {
        self.post_names().0
    }

    /// `(action, eventtype, eventname)` of the POST interface, as the manual's table names them for a command
    /// without a meaning of its own (see [`event_names`] for the labels the connector's states get).
    pub(super) fn post_names(&self) -> (&'static str, &'static str, &'static str) {
        match self {
            LampCommand::Light(_) => ("Light", "Light", "Color"),
            LampCommand::Blink { .. } => ("Blink", "Blink", "Blink"),
            LampCommand::Pulse(_) => ("Pulse", "Pulse", "Pulse"),
            LampCommand::Alert { .. } => ("Alert", "Alert", "Alert"),
            LampCommand::Jingle { .. } => ("Jingle", "Jingle", "Jingle"),
            LampCommand::ColorWithFlash { .. } => ("ColorWithFlash", "Light", "ColorWithFlash"),
            LampCommand::Off => ("Off", "Light", "Off"),
            LampCommand::Logout => ("Logout", "", ""),
        }
    }

    /// The decoded `parameter` of the POST interface.
    pub(super) fn parameter(&self) -> Option<Parameter> {
        Some(match *self {
            LampCommand::Light(c) => Parameter::Color(c),
            LampCommand::Blink { color, on, off } => Parameter::Blink {
                color,
                ontime: on.0,
                offtime: off.0,
            },
            LampCommand::Pulse(color) => Parameter::Pulse { color },
            LampCommand::Alert {
                color,
                sound,
                volume,
            }
            | LampCommand::Jingle {
                color,
                sound,
                volume,
            } => Parameter::Sound {
                color,
                clip: sound.number(),
                volume: volume.0,
            },
            LampCommand::ColorWithFlash { color, flash } => Parameter::Flash { color, flash },
            LampCommand::Off | LampCommand::Logout => return None,
        })
    }

    /// A short description for traces, e.g. `Blink #ff0000` (on the 0..100 scale: `Blink 100/0/0`).
    pub fn describe(&self) -> String {
        let (action, _, _) = self.post_names();
        match self {
            LampCommand::Light(c)
            | LampCommand::Pulse(c)
            | LampCommand::Blink { color: c, .. }
            | LampCommand::ColorWithFlash { color: c, .. } => format!("{action} {c}"),
            LampCommand::Alert {
                color: c,
                sound,
                volume,
            }
            | LampCommand::Jingle {
                color: c,
                sound,
                volume,
            } => format!("{action} {c} sound {} volume {}", sound.name(), volume.0),
            LampCommand::Off | LampCommand::Logout => action.to_string(),
        }
    }
}

/// `red/green/blue` on the hub's scale, as traces show a colour.
impl std::fmt::Display for Rgb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.red.0, self.green.0, self.blue.0)
    }
}

/// The `parameter` of a POST lamp command, fields in the manual's order (serialized as a plain object).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub(super) enum Parameter {
    Color(Rgb),
    Blink { color: Rgb, ontime: u8, offtime: u8 },
    Pulse { color: Rgb },
    Sound { color: Rgb, clip: u8, volume: u8 },
    Flash { color: Rgb, flash: Rgb },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn red() -> Rgb {
        Rgb::new(100, 0, 0).unwrap()
    }

    #[test]
    fn levels_are_0_to_100() {
        assert!(Level::new(100).is_some());
        assert!(Level::new(101).is_none());
        assert!(Rgb::new(255, 0, 0).is_none());
        assert_eq!(Level::from_byte(255).get(), 100);
        assert_eq!(Level::from_byte(0).get(), 0);
        assert_eq!(Level::from_byte(0xb4).get(), 71);
        assert_eq!(Rgb::from_hex("#B400E1"), Rgb::new(71, 0, 88));
        assert_eq!(Rgb::from_hex("00ff00"), Rgb::new(0, 100, 0));
        for bad in ["", "#fff", "#gg0000", "#ff00000", "red", "#ff000é"] {
            assert_eq!(Rgb::from_hex(bad), None, "{bad}");
        }
    }

    #[test]
    fn sounds_use_the_hub_numbering() {
        assert_eq!(Sound::from_number(0), Some(Sound::None));
        assert_eq!(Sound::from_number(3), Some(Sound::KuandoTrain));
        assert_eq!(Sound::from_number(8), Some(Sound::TelephonePickMeUp));
        assert_eq!(Sound::from_number(9), None);
        assert_eq!(Sound::TelephoneNordic.number(), 6);
        assert_eq!(Volume::new(101), None);
        assert_eq!(Volume::default().get(), 75);
    }

    #[test]
    fn describe_for_traces() {
        assert_eq!(LampCommand::blink(red()).describe(), "Blink 100/0/0");
        assert_eq!(LampCommand::Off.describe(), "Off");
        assert_eq!(
            LampCommand::Alert {
                color: red(),
                sound: Sound::Funky,
                volume: Volume::default()
            }
            .describe(),
            "Alert 100/0/0 sound Funky volume 75"
        );
    }
}
