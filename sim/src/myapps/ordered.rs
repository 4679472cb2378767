//! A JSON value that keeps the order of object keys, for one purpose: checking the `AppLogin` digest.
//!
//! The PBX computes the digest over `info` as compact JSON in the order it wrote the keys; the AppPlatform
//! re-serialises the `info` it receives in `AppLogin` (compact, keys in the order received) and compares. So an
//! app that reorders or drops keys of `info` fails to log in on a real system, and must fail here too.
//! `serde_json::Value` sorts keys (the crate's `preserve_order` feature would change that for every crate in
//! the workspace build), hence this small type. Parsing and re-serialising (rather than comparing raw text)
//! matches JavaScript's `JSON.stringify(JSON.parse(..))`: whitespace and escapes such as `\u00ae` do not
//! matter, key order does.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ordered {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Ordered>),
    Object(Vec<(String, Ordered)>),
}

impl Ordered {
    /// Compact JSON text, keys in their original order.
    pub(crate) fn to_compact(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The member `key` of an object (the first, should it repeat).
    pub(crate) fn get(&self, key: &str) -> Option<&Ordered> {
        match self {
            Ordered::Object(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

impl Serialize for Ordered {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Ordered::Null => s.serialize_unit(),
            Ordered::Bool(b) => s.serialize_bool(*b),
            Ordered::Number(n) => n.serialize(s),
            Ordered::String(t) => s.serialize_str(t),
            Ordered::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    seq.serialize_element(i)?;
                }
                seq.end()
            }
            Ordered::Object(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OrderedVisitor)
    }
}

struct OrderedVisitor;

impl<'de> Visitor<'de> for OrderedVisitor {
    type Value = Ordered;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Ordered, E> {
        Ok(Ordered::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Ordered, E> {
        Ok(Ordered::Null)
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Ordered, E> {
        Ok(Ordered::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Ordered, E> {
        Ok(Ordered::Number(n.into()))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Ordered, E> {
        Ok(Ordered::Number(n.into()))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Ordered, E> {
        // JSON has no NaN/infinity, so `from_f64` only fails for input serde_json would not produce.
        Ok(serde_json::Number::from_f64(n).map_or(Ordered::Null, Ordered::Number))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Ordered, E> {
        Ok(Ordered::String(s.to_string()))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Ordered, E> {
        Ok(Ordered::String(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ordered, A::Error> {
        let mut items = Vec::new();
        while let Some(i) = seq.next_element()? {
            items.push(i);
        }
        Ok(Ordered::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
        let mut entries: Vec<(String, Ordered)> = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Ordered>()? {
            // Like JSON.parse: a repeated key keeps its first position and takes the last value.
            if let Some(e) = entries.iter_mut().find(|(ek, _)| *ek == k) {
                e.1 = v;
            } else {
                entries.push((k, v));
            }
        }
        Ok(Ordered::Object(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order_and_normalises_like_json_stringify() {
        let o: Ordered = serde_json::from_str(
            r#" { "z" : 1, "a" : [true, null, "\u00ae"], "m": {"y":2,"b":-1.5} } "#,
        )
        .unwrap();
        assert_eq!(
            o.to_compact(),
            r#"{"z":1,"a":[true,null,"®"],"m":{"y":2,"b":-1.5}}"#
        );
        let dup: Ordered = serde_json::from_str(r#"{"a":1,"b":2,"a":3}"#).unwrap();
        assert_eq!(dup.to_compact(), r#"{"a":3,"b":2}"#);
    }
}
