//! How the settings ([`crate::config`]) and the app ⇄ service protocol ([`crate::proto`]) read and write JSON
//! with serde: three rules the derives alone do not give.
//!
//! - **Objects only.** serde_json fills a derived struct from a JSON array too, field by field in order, and a
//!   derived unit enum from a one-entry object (`{"blink":null}`). No app writes either and the service
//!   refuses both, so these types do too: structs derive with `#[serde(remote = "Self")]` (the derives become
//!   inherent functions) and [`objects_only!`] implements the traits with [`ObjectOnly`] in between; unit
//!   enums are written and read by their one name ([`by_name!`], the names the UI and traces use too).
//! - **The whole text is checked.** A derive skips an unknown field without looking into it (no depth limit,
//!   no check of escapes or number range), so [`object_from_checked_text`] first reads the text as a
//!   `serde_json::Value`, which checks all of it; a field given twice is still refused by the derive.
//! - **Errors never quote a value.** serde_json's type errors quote the value they did not expect, which may
//!   be a token: [`error_text`] keeps the field names, the expectation and the position, not the value.

use serde::de::{Deserialize, Deserializer, Visitor};

/// A deserializer that offers only a map: a derived struct read through it refuses a JSON array.
pub(crate) struct ObjectOnly<D>(pub D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// `Serialize` and `Deserialize` for structs derived with `#[serde(remote = "Self")]`: written as derived,
/// read from a JSON object only.
macro_rules! objects_only {
    ($($t:ty),* $(,)?) => {$(
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                <$t>::serialize(self, s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <$t>::deserialize($crate::wire::ObjectOnly(d))
            }
        }
    )*};
}
pub(crate) use objects_only;

/// `Serialize` and `Deserialize` for a unit enum with `ALL` and `as_str`: its name as a JSON string, nothing
/// else. `$expected` lists the names for the error.
macro_rules! by_name {
    ($t:ty, $expected:expr) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let name = String::deserialize(d)?;
                <$t>::ALL
                    .into_iter()
                    .find(|x| x.as_str() == name)
                    .ok_or_else(|| {
                        <D::Error as serde::de::Error>::invalid_value(
                            serde::de::Unexpected::Other("an unknown name"),
                            &$expected,
                        )
                    })
            }
        }
    };
}
pub(crate) use by_name;

/// `T` from a whole JSON text that must be an object, checked as a whole first (see the module's rules).
pub(crate) fn object_from_checked_text<'a, T: Deserialize<'a>>(
    text: &'a str,
) -> serde_json::Result<T> {
    serde_json::from_str::<serde_json::Value>(text)?;
    object_from_text(text)
}

/// `T` from a whole JSON text that must be an object, not checked beyond what `T` reads (for a second look
/// at a text [`object_from_checked_text`] has read).
pub(crate) fn object_from_text<'a, T: Deserialize<'a>>(text: &'a str) -> serde_json::Result<T> {
    let mut de = serde_json::Deserializer::from_str(text);
    let t = T::deserialize(ObjectOnly(&mut de))?;
    de.end()?;
    Ok(t)
}

/// serde_json's error as a text for traces and replies, without the value it may quote.
pub(crate) fn error_text(e: &serde_json::Error) -> String {
    let text = e.to_string();
    // Missing and duplicate fields are named, never quoted; syntax errors name a position only.
    if e.classify() != serde_json::error::Category::Data
        || text.starts_with("missing field")
        || text.starts_with("duplicate field")
    {
        return text;
    }
    match text.split_once(", expected ") {
        Some((_, expected)) => format!("wrong type or value, expected {expected}"),
        None => format!("wrong value at line {} column {}", e.line(), e.column()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_errors_keep_the_expectation_and_drop_the_value() {
        let e = serde_json::from_str::<u32>(r#""verysecret""#).unwrap_err();
        let text = error_text(&e);
        assert!(!text.contains("verysecret"), "{text}");
        assert!(text.contains("expected u32"), "{text}");
        let e = serde_json::from_str::<u32>("12x").unwrap_err();
        assert_eq!(error_text(&e), e.to_string());
    }
}
