//! A JSON tree that keeps object members in their order, duplicates included, for the service protocol
//! ([`crate::proto`]), the settings ([`crate::config`]) and the texts the myApps bridge writes.
//!
//! Why not `#[derive(Serialize, Deserialize)]` on those types: in the hidden app's wasm the derives, serde's
//! buffering for `#[serde(tag = "mt")]` and `#[serde(flatten)]`, and the error texts they carry cost some
//! 100 KB of the 150 KB budget. Here serde_json still does every byte of the JSON syntax (parsing, escaping,
//! number formatting); only the mapping between the tree and the Rust types is written out, once, in each
//! type's module. Members stay in order so that a written text has the fields in the documented order, and
//! duplicates stay visible so that a reader can refuse a repeated field as the derives did (the service
//! vectors pin that).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Number, Value};

/// Object members in text order.
pub type Members = Vec<(String, Json)>;

/// One JSON value. Equality compares objects member by member, in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Json {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Json>),
    Object(Members),
}

/// Why a text is not what a reader expects. Names fields and what they should be, never their values (a value
/// may be the hub token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError(pub String);

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Json {
    /// Parses one JSON text (serde_json's grammar and limits: no trailing text, nesting at most 128).
    pub fn parse(text: &str) -> Result<Json, JsonError> {
        serde_json::from_str(text).map_err(|e| {
            JsonError(format!(
                "not JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })
    }

    /// Compact JSON text, as JavaScript's `JSON.stringify` writes it for the same members (strings are
    /// escaped alike; numbers differ only in the spelling of floats, e.g. `1.0` for `1`).
    pub fn to_text(&self) -> String {
        // Writing strings and numbers from `Number` cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// An object from `(name, value)` pairs, in this order.
    pub fn object<const N: usize>(members: [(&str, Json); N]) -> Json {
        Json::Object(
            members
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Members> {
        match self {
            Json::Object(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Vec<Json>> {
        match self {
            Json::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The member `name` of an object; of several, the last, as JavaScript's `JSON.parse` keeps it. `None`
    /// for other values. For tolerant reading by path; [`member`] is the strict reader.
    pub fn get(&self, name: &str) -> Option<&Json> {
        self.as_object()?
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// [`Json::get`], or `Null` when absent: `j.at("a").at("b")` walks a path that may not exist.
    pub fn at(&self, name: &str) -> &Json {
        static NULL: Json = Json::Null;
        self.get(name).unwrap_or(&NULL)
    }

    /// `(name, value)` added at the end of an object (nothing for other values).
    pub fn push(&mut self, name: &str, value: Json) {
        if let Json::Object(m) = self {
            m.push((name.to_string(), value));
        }
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Json {
        Json::String(s.to_string())
    }
}

impl From<String> for Json {
    fn from(s: String) -> Json {
        Json::String(s)
    }
}

impl From<bool> for Json {
    fn from(b: bool) -> Json {
        Json::Bool(b)
    }
}

impl From<u64> for Json {
    fn from(n: u64) -> Json {
        Json::Number(n.into())
    }
}

impl From<u32> for Json {
    fn from(n: u32) -> Json {
        Json::Number(n.into())
    }
}

impl From<u8> for Json {
    fn from(n: u8) -> Json {
        Json::Number(n.into())
    }
}

/// Parses a text into a `serde_json::Value` (last value of a repeated member wins, as in `Value`), through the
/// same reader as [`Json::parse`]. The wasm apps use no `Value` at all (its sorted map is a B-tree, some
/// 20 KB of wasm); this and the conversions below are for native code and tests.
pub fn value(text: &str) -> Result<Value, JsonError> {
    Json::parse(text).map(Value::from)
}

impl From<Json> for Value {
    fn from(j: Json) -> Value {
        match j {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(b),
            Json::Number(n) => Value::Number(n),
            Json::String(s) => Value::String(s),
            Json::Array(a) => Value::Array(a.into_iter().map(Value::from).collect()),
            Json::Object(members) => {
                // Inserted one by one, not collected: `collect` into a map sorts and bulk-builds, which is
                // 5 KB more code in the wasm than the `insert` it needs anyway.
                let mut m = serde_json::Map::new();
                for (k, v) in members {
                    m.insert(k, v.into());
                }
                Value::Object(m)
            }
        }
    }
}

/// A `serde_json::Value` as a tree (tests build their inputs with `json!`); its members come in `Value`'s
/// order.
impl From<&Value> for Json {
    fn from(v: &Value) -> Json {
        match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => Json::Number(n.clone()),
            Value::String(s) => Json::String(s.clone()),
            Value::Array(a) => Json::Array(a.iter().map(Json::from).collect()),
            Value::Object(m) => {
                Json::Object(m.iter().map(|(k, v)| (k.clone(), v.into())).collect())
            }
        }
    }
}

impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(v: Option<T>) -> Json {
        v.map_or(Json::Null, Into::into)
    }
}

// ---------------------------------------------------------------------------------------------------------
// Reading objects field by field, with the rules the serde derives had: a missing field is `None` (the
// caller defaults it), a field given twice is an error, a field of the wrong type is an error (`null`
// included: only `Option` fields accept it, see `optional`).
// ---------------------------------------------------------------------------------------------------------

/// `j` as an object; `what` names it in the error.
pub fn object<'a>(j: &'a Json, what: &str) -> Result<&'a Members, JsonError> {
    j.as_object()
        .ok_or_else(|| JsonError(format!("{what} must be an object")))
}

/// The member `name`; an error when the object has it more than once.
pub fn member<'a>(o: &'a Members, name: &str) -> Result<Option<&'a Json>, JsonError> {
    let mut found = None;
    for (k, v) in o {
        if k == name {
            if found.is_some() {
                return Err(JsonError(format!("{name} is given twice")));
            }
            found = Some(v);
        }
    }
    Ok(found)
}

/// The member `name`, where `null` counts as absent (an `Option` field).
pub fn optional<'a>(o: &'a Members, name: &str) -> Result<Option<&'a Json>, JsonError> {
    Ok(member(o, name)?.filter(|v| !matches!(v, Json::Null)))
}

/// The member `name`, which must be there.
pub fn required<'a>(o: &'a Members, name: &str) -> Result<&'a Json, JsonError> {
    member(o, name)?.ok_or_else(|| JsonError(format!("{name} is missing")))
}

/// A string member.
pub fn string(o: &Members, name: &str) -> Result<Option<String>, JsonError> {
    member(o, name)?.map(|v| as_string(v, name)).transpose()
}

/// `j` as a string; `what` names it in the error.
pub fn as_string(j: &Json, what: &str) -> Result<String, JsonError> {
    j.as_str()
        .map(str::to_string)
        .ok_or_else(|| JsonError(format!("{what} must be a string")))
}

/// A whole-number member in `0..=max`. Like serde: `2.0`, `2e0` and `-0` are not whole numbers here.
pub fn uint(o: &Members, name: &str, max: u64) -> Result<Option<u64>, JsonError> {
    member(o, name)?
        .map(|v| match v {
            Json::Number(n) => n.as_u64().filter(|n| *n <= max),
            _ => None,
        })
        .map(|n| n.ok_or_else(|| JsonError(format!("{name} must be a number from 0 to {max}"))))
        .transpose()
}

/// A boolean member.
pub fn boolean(o: &Members, name: &str) -> Result<Option<bool>, JsonError> {
    member(o, name)?
        .map(|v| match v {
            Json::Bool(b) => Ok(*b),
            _ => Err(JsonError(format!("{name} must be true or false"))),
        })
        .transpose()
}

/// A string member that must be one of `names` (compared exactly); returns the index.
pub fn one_of(j: &Json, what: &str, names: &[&str]) -> Result<usize, JsonError> {
    j.as_str()
        .and_then(|s| names.iter().position(|n| *n == s))
        .ok_or_else(|| JsonError(format!("{what} has an unknown value")))
}

// ---------------------------------------------------------------------------------------------------------
// serde glue: serde_json reads and writes the text.
// ---------------------------------------------------------------------------------------------------------

/// `impl Serialize` through the type's `to_tree()`, so that the simulator and the tests can still put these
/// types into `json!` and `serde_json::to_value`. Generic code: it costs the wasm apps nothing unless used.
macro_rules! serialize_via_tree {
    ($($t:ty),* $(,)?) => {$(
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.to_tree().serialize(s)
            }
        }
    )*};
}
pub(crate) use serialize_via_tree;

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Number(n) => n.serialize(s),
            Json::String(t) => s.serialize_str(t),
            Json::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    seq.serialize_element(i)?;
                }
                seq.end()
            }
            Json::Object(members) => {
                let mut map = s.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Json, E> {
        Ok(Json::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Json, E> {
        Ok(Json::Number(n.into()))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Json, E> {
        Ok(Json::Number(n.into()))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Json, E> {
        // serde_json refuses NaN and infinities while parsing, so `from_f64` cannot fail here.
        Ok(Number::from_f64(n).map_or(Json::Null, Json::Number))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Json, E> {
        Ok(Json::String(s.to_string()))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Json, E> {
        Ok(Json::String(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(i) = seq.next_element()? {
            items.push(i);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members = Vec::new();
        while let Some(member) = map.next_entry()? {
            members.push(member);
        }
        Ok(Json::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_keep_their_order_and_duplicates() {
        let j = Json::parse(r#"{"b":1,"a":[true,null,"x"],"b":2.5}"#).unwrap();
        let o = object(&j, "it").unwrap();
        assert_eq!(o.len(), 3);
        assert_eq!(j.to_text(), r#"{"b":1,"a":[true,null,"x"],"b":2.5}"#);
        assert!(member(o, "b").is_err());
        assert!(member(o, "a").unwrap().is_some());
        assert!(member(o, "c").unwrap().is_none());
    }

    #[test]
    fn numbers_read_as_serde_reads_integers() {
        let j = Json::parse(r#"{"a":2,"b":2.0,"c":-0,"d":-1,"e":2e0,"f":256,"g":"2"}"#).unwrap();
        let o = object(&j, "it").unwrap();
        assert_eq!(uint(o, "a", 255).unwrap(), Some(2));
        for bad in ["b", "c", "d", "e", "f", "g"] {
            assert!(uint(o, bad, 255).is_err(), "{bad}");
        }
        assert_eq!(uint(o, "x", 255).unwrap(), None);
    }

    #[test]
    fn errors_do_not_quote_values() {
        let j = Json::parse(r#"{"token":12345678,"t":"verysecret"}"#).unwrap();
        let o = object(&j, "it").unwrap();
        let e = string(o, "token").unwrap_err();
        assert!(!e.0.contains("12345678"), "{e}");
        let e = one_of(member(o, "t").unwrap().unwrap(), "t", &["a"]).unwrap_err();
        assert!(!e.0.contains("verysecret"), "{e}");
        let e = Json::parse(r#"{"a":"verysecret"#).unwrap_err();
        assert!(!e.0.contains("verysecret"), "{e}");
    }

    #[test]
    fn values_read_like_serde_json_values() {
        for t in [
            r#"{"b":[1,-2,2.5,1e300,"\ud83d\ude00",null,true],"a":{}}"#,
            r#"{"a":1,"a":2}"#,
            "[]",
            "\"x\"",
        ] {
            let ours = value(t).unwrap();
            let theirs: Value = serde_json::from_str(t).unwrap();
            assert_eq!(ours, theirs, "{t}");
        }
        for bad in ["", "{", "[1,]", "01", "\"\\ud800\"", "1 2"] {
            assert!(value(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_keeps_the_order_and_spelling_javascript_gives() {
        // What myApps' JSON.stringify writes comes back unchanged.
        for t in [
            r#"{"z":1,"appobj":"kuando","apps":[{"name":"a"}],"unlicensed":true,"n":null,"q":"\"\\\n\u0001é/"}"#,
            r#"[-5,18446744073709551615,0.5,""]"#,
        ] {
            assert_eq!(Json::parse(t).unwrap().to_text(), t);
        }
    }
}
