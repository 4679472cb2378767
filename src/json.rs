//! A JSON tree that keeps object members in their order, duplicates included, for the service protocol
//! ([`crate::proto`]), the settings ([`crate::config`]) and the texts the myApps bridge writes.
//!
//! Why not `#[derive(Serialize, Deserialize)]` on those types: in the hidden app's wasm the derives, serde's
//! buffering for `#[serde(tag = "mt")]` and `#[serde(flatten)]`, and the error texts they carry cost some
//! 100 KB of the 150 KB budget. Only the mapping between the tree and the Rust types is written out, once, in
//! each type's module. Members stay in order so that a written text has the fields in the documented order,
//! and duplicates stay visible so that a reader can refuse a repeated field as the derives did (the service
//! vectors pin that).
//!
//! Why an own reader and writer instead of serde_json's: the apps need nothing but "text to tree" and "tree
//! to compact text", and serde_json's parser, serializer, float parsing and formatting and the `Visitor` glue
//! were some 15 KB of the hidden app's wasm, against a few hundred lines here. The grammar and limits are
//! serde_json's (RFC 8259 strictly, nesting at most 127 deep, numbers within f64's range), and serde_json
//! stays the oracle the tests compare with (`tests/json_props.rs`). Numbers are kept as their literal text
//! ([`Number`]): the apps only ask "which whole number" and "zero or not", which the text answers without
//! float parsing (another 8 KB), and a number goes back out spelt as it came in.

use std::cmp::Ordering;
use std::fmt;

#[cfg(feature = "serde")]
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
#[cfg(feature = "serde")]
use serde_json::Value;

/// Object members in text order.
pub type Members = Vec<(String, Json)>;

/// One JSON value. Equality compares objects member by member, in order, and numbers by their spelling
/// (`1.0` is not `1`).
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

/// A JSON number as its literal text, exactly as read (`-12`, `2.50`, `1e300`) or as written from an
/// integer. Always a valid JSON number literal: it is only made by the reader, from integers, or from a
/// `serde_json::Number`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number(String);

impl Number {
    /// The literal text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value of a plain non-negative integer literal that fits a `u64`. As serde_json reads numbers,
    /// `2.0`, `2e0` and `-0` are not integers (nor `-1`).
    pub fn as_u64(&self) -> Option<u64> {
        digits_value(self.0.as_bytes())
    }

    /// The value of a plain integer literal that fits an `i64` (`-0` is none, as in serde_json).
    pub fn as_i64(&self) -> Option<i64> {
        match self.0.strip_prefix('-') {
            Some(m) => match digits_value(m.as_bytes())? {
                0 => None,
                // Up to 2^63: `as` gives `i64::MIN` for 2^63, whose negation wraps to itself.
                m if m <= 1 << 63 => Some((m as i64).wrapping_neg()),
                _ => None,
            },
            None => i64::try_from(self.as_u64()?).ok(),
        }
    }

    /// Whether the value is zero: every digit of the mantissa is `0` (`0`, `-0`, `0.00`, `0e5`).
    pub fn is_zero(&self) -> bool {
        self.0
            .bytes()
            .take_while(|b| !matches!(b, b'e' | b'E'))
            .all(|b| matches!(b, b'0' | b'-' | b'.'))
    }

    /// The value as integer text when it is a whole number, as JavaScript would print it: an integer literal
    /// as written (`-0` as `0`), and `1.0`, `2.50e1`, `1e3` as `1`, `25`, `1000` while below 2^53 in size
    /// (beyond, a float is no exact integer anyway). `None` for fractions and bigger floats. Worked out on the
    /// text: float parsing would cost the wasm some 8 KB.
    pub fn whole_text(&self) -> Option<String> {
        if self.is_zero() {
            return Some("0".into());
        }
        if !self.0.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
            return Some(self.0.clone());
        }
        let (negative, digits, point) = self.decompose();
        if point < digits.len() as i64 || point > 16 {
            return None;
        }
        let mut n: u64 = 0;
        for i in 0..point {
            let d = digits.get(i as usize).map_or(0, |&b| b - b'0');
            n = n * 10 + u64::from(d);
        }
        (n < 1 << 53).then(|| decimal(n, negative))
    }

    /// Whether the value is within f64's range, as JavaScript's `Number()` decides it (the service refuses
    /// `1e400` with serde_json's rules, and the apps must agree with it). The limit is 2^1024 - 2^970, the
    /// first value that rounds to infinity; it is compared in its first 20 digits, so a literal agreeing with
    /// all of them and going on counts as out of range. serde_json itself reads less exactly near the limit.
    fn in_range(&self) -> bool {
        // Without an exponent, up to 308 characters are below 10^308: the common case, decided without
        // allocating.
        if self.0.len() <= 308 && !self.0.bytes().any(|b| matches!(b, b'e' | b'E')) {
            return true;
        }
        let (_, digits, point) = self.decompose();
        if digits.is_empty() || point < 309 {
            return true;
        }
        if point > 309 {
            return false;
        }
        // 0.digits × 10^309 against the limit's first 20 digits.
        const LIMIT: &[u8] = b"17976931348623158079";
        let n = digits.len().min(LIMIT.len());
        match digits.get(..n).cmp(&LIMIT.get(..n)) {
            Ordering::Less => true,
            Ordering::Equal => digits.len() <= LIMIT.len(),
            Ordering::Greater => false,
        }
    }

    /// The literal as `(negative, digits, point)` with value `0.digits × 10^point`, the digits without
    /// leading and trailing zeros (none for zero). The exponent is capped far beyond any range that matters,
    /// so that no arithmetic overflows.
    fn decompose(&self) -> (bool, Vec<u8>, i64) {
        let t = self.0.as_bytes();
        let split = t
            .iter()
            .position(|b| matches!(b, b'e' | b'E'))
            .unwrap_or(t.len());
        let (mantissa, exponent) = t.split_at(split);
        let mut point: i64 = 0;
        for &b in exponent.iter().filter(|b| b.is_ascii_digit()) {
            point = (point * 10 + i64::from(b - b'0')).min(1 << 40);
        }
        if exponent.contains(&b'-') {
            point = -point;
        }
        let mut digits = Vec::new();
        let mut in_fraction = false;
        for &b in mantissa {
            match b {
                b'.' => in_fraction = true,
                b'0'..=b'9' => {
                    if !digits.is_empty() || b != b'0' {
                        digits.push(b);
                        point += i64::from(!in_fraction);
                    } else {
                        // A leading zero: `0.05` is `0.5 × 10^-1`.
                        point -= i64::from(in_fraction);
                    }
                }
                _ => {}
            }
        }
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
        (t.first() == Some(&b'-'), digits, point)
    }
}

/// The value of a non-empty run of ASCII digits, if it fits.
fn digits_value(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

impl From<u64> for Number {
    fn from(n: u64) -> Number {
        Number(n.to_string())
    }
}

impl From<u32> for Number {
    fn from(n: u32) -> Number {
        Number(n.to_string())
    }
}

impl From<u8> for Number {
    fn from(n: u8) -> Number {
        Number(n.to_string())
    }
}

impl From<i64> for Number {
    fn from(n: i64) -> Number {
        Number(decimal(n.unsigned_abs(), n < 0))
    }
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
    /// Parses one JSON text: RFC 8259 with serde_json's limits (no trailing text but whitespace, nesting at
    /// most 127 deep, lone surrogate escapes refused). The error says where, never what was there.
    pub fn parse(text: &str) -> Result<Json, JsonError> {
        let mut r = Reader {
            text,
            bytes: text.as_bytes(),
            pos: 0,
        };
        if let Some(v) = r.value(MAX_DEPTH) {
            r.skip_space();
            if r.pos == r.bytes.len() {
                return Ok(v);
            }
        }
        // Line and column of the byte where reading stopped (columns count bytes, from 1).
        let read = r.bytes.get(..r.pos).unwrap_or(r.bytes);
        let line = 1 + read.iter().filter(|&&b| b == b'\n').count();
        let column = 1 + read.iter().rev().take_while(|&&b| b != b'\n').count();
        Err(JsonError(format!(
            "not JSON (line {line}, column {column})"
        )))
    }

    /// Compact JSON text, as JavaScript's `JSON.stringify` writes it for the same members: strings escaped
    /// alike, numbers spelt as they were read.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(&n.0),
            Json::String(s) => write_string(s, out),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(k, out);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    /// An object from `(name, value)` pairs, in this order. A `Vec`, not an array of const length: each
    /// length was its own copy of this function in the wasm.
    pub fn object(members: Vec<(&str, Json)>) -> Json {
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
#[cfg(feature = "serde")]
pub fn value(text: &str) -> Result<Value, JsonError> {
    Json::parse(text).map(Value::from)
}

#[cfg(feature = "serde")]
impl From<Json> for Value {
    fn from(j: Json) -> Value {
        match j {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(b),
            // serde_json's own reading of the literal. `null` in case serde_json refuses it: at the very edge
            // of f64's range it reads approximately (see `Number::in_range`).
            Json::Number(n) => n.0.parse().map_or(Value::Null, Value::Number),
            Json::String(s) => Value::String(s),
            Json::Array(a) => Value::Array(a.into_iter().map(Value::from).collect()),
            Json::Object(members) => {
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
/// order, its numbers spelt as serde_json writes them (`1.0` for the float 1).
#[cfg(feature = "serde")]
impl From<&Value> for Json {
    fn from(v: &Value) -> Json {
        match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => Json::Number(Number(n.to_string())),
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
        .ok_or_else(|| JsonError([what, " must be an object"].concat()))
}

/// The member `name`; an error when the object has it more than once.
pub fn member<'a>(o: &'a Members, name: &str) -> Result<Option<&'a Json>, JsonError> {
    let mut found = None;
    for (k, v) in o {
        if k == name {
            if found.is_some() {
                return Err(JsonError([name, " is given twice"].concat()));
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
    member(o, name)?.ok_or_else(|| JsonError([name, " is missing"].concat()))
}

/// A string member.
pub fn string(o: &Members, name: &str) -> Result<Option<String>, JsonError> {
    member(o, name)?.map(|v| as_string(v, name)).transpose()
}

/// `j` as a string; `what` names it in the error.
pub fn as_string(j: &Json, what: &str) -> Result<String, JsonError> {
    j.as_str()
        .map(str::to_string)
        .ok_or_else(|| JsonError([what, " must be a string"].concat()))
}

/// A whole-number member in `0..=max`. Like serde: `2.0`, `2e0` and `-0` are not whole numbers here.
pub fn uint(o: &Members, name: &str, max: u64) -> Result<Option<u64>, JsonError> {
    member(o, name)?
        .map(|v| match v {
            Json::Number(n) => n.as_u64().filter(|n| *n <= max),
            _ => None,
        })
        .map(|n| {
            n.ok_or_else(|| {
                JsonError([name, " must be a number from 0 to ", &max.to_string()].concat())
            })
        })
        .transpose()
}

/// A boolean member.
pub fn boolean(o: &Members, name: &str) -> Result<Option<bool>, JsonError> {
    member(o, name)?
        .map(|v| match v {
            Json::Bool(b) => Ok(*b),
            _ => Err(JsonError([name, " must be true or false"].concat())),
        })
        .transpose()
}

/// A string member that must be one of `names` (compared exactly); returns the index.
pub fn one_of(j: &Json, what: &str, names: &[&str]) -> Result<usize, JsonError> {
    j.as_str()
        .and_then(|s| names.iter().position(|n| *n == s))
        .ok_or_else(|| JsonError([what, " has an unknown value"].concat()))
}

// ---------------------------------------------------------------------------------------------------------
// The reader and the string writer.
// ---------------------------------------------------------------------------------------------------------

/// Containers nested deeper than this are refused, as serde_json refuses them (its limit of 128 counts the
/// refused level). Bounds the recursion: a hostile text cannot overflow the stack.
const MAX_DEPTH: usize = 127;

/// Recursive descent over the bytes. Every step returns `None` on the first error, with `pos` where it
/// stopped; slices of `text` are only cut next to ASCII bytes, which are always character boundaries.
struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        self.pos += usize::from(hit);
        hit
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// One value, leading whitespace included; `depth` is how many containers may still open.
    fn value(&mut self, depth: usize) -> Option<Json> {
        self.skip_space();
        let b = self.peek()?;
        if matches!(b, b'[' | b'{') {
            let depth = depth.checked_sub(1)?;
            self.pos += 1;
            let close = b + 2; // `]` and `}` follow their opening bracket two places on in ASCII.
            let mut items = Vec::new();
            let mut members = Vec::new();
            self.skip_space();
            if !self.eat(close) {
                loop {
                    if b == b'{' {
                        self.skip_space();
                        if self.peek() != Some(b'"') {
                            return None;
                        }
                        let name = self.string()?;
                        self.skip_space();
                        if !self.eat(b':') {
                            return None;
                        }
                        members.push((name, self.value(depth)?));
                    } else {
                        items.push(self.value(depth)?);
                    }
                    self.skip_space();
                    if self.eat(close) {
                        break;
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            return Some(if b == b'{' {
                Json::Object(members)
            } else {
                Json::Array(items)
            });
        }
        let word = |w: &str, v: Json| -> Option<(usize, Json)> {
            self.bytes
                .get(self.pos..)?
                .starts_with(w.as_bytes())
                .then_some((w.len(), v))
        };
        let (len, v) = match b {
            b'"' => return self.string().map(Json::String),
            b't' => word("true", Json::Bool(true))?,
            b'f' => word("false", Json::Bool(false))?,
            b'n' => word("null", Json::Null)?,
            _ => return self.number(),
        };
        self.pos += len;
        Some(v)
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, kept as text.
    fn number(&mut self) -> Option<Json> {
        let start = self.pos;
        self.eat(b'-');
        match self.peek()? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.eat(b'.') {
            self.some_digits()?;
        }
        if self.eat(b'e') || self.eat(b'E') {
            let _ = self.eat(b'+') || self.eat(b'-');
            self.some_digits()?;
        }
        let n = Number(self.text.get(start..self.pos)?.to_string());
        n.in_range().then_some(Json::Number(n))
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    fn some_digits(&mut self) -> Option<()> {
        let start = self.pos;
        self.digits();
        (self.pos > start).then_some(())
    }

    /// A string; `pos` is at its opening quote.
    fn string(&mut self) -> Option<String> {
        self.pos += 1;
        let mut out = String::new();
        let mut run = self.pos;
        loop {
            match self.peek()? {
                b'"' => {
                    out.push_str(self.text.get(run..self.pos)?);
                    self.pos += 1;
                    return Some(out);
                }
                b'\\' => {
                    out.push_str(self.text.get(run..self.pos)?);
                    self.pos += 1;
                    let e = self.peek()?;
                    self.pos += 1;
                    out.push(match e {
                        b'"' | b'\\' | b'/' => char::from(e),
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return None,
                    });
                    run = self.pos;
                }
                // Control characters must be escaped.
                0..=0x1f => return None,
                _ => self.pos += 1,
            }
        }
    }

    /// The character of `\uXXXX` (after the `u`), or of a surrogate pair `\uD83D\uDE00`; a lone surrogate
    /// is an error, as in serde_json (it is no character, and a Rust string cannot hold it).
    fn unicode_escape(&mut self) -> Option<char> {
        let high = self.hex4()?;
        let code = match high {
            0xD800..=0xDBFF => {
                if !(self.eat(b'\\') && self.eat(b'u')) {
                    return None;
                }
                let low = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return None;
                }
                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            }
            _ => high,
        };
        // `None` for a lone low surrogate.
        char::from_u32(code)
    }

    fn hex4(&mut self) -> Option<u32> {
        let mut n = 0;
        for _ in 0..4 {
            n = n * 16 + char::from(self.peek()?).to_digit(16)?;
            self.pos += 1;
        }
        Some(n)
    }
}

/// `s` as a JSON string, escaped as serde_json and JavaScript's `JSON.stringify` escape it: `"`, `\` and the
/// control characters (`\b \f \n \r \t`, the others `\u00XX` in lowercase hex); `/`, DEL and everything
/// beyond ASCII as they are.
fn write_string(s: &str, out: &mut String) {
    out.push('"');
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x0c => "\\f",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        // `i` is at an ASCII byte, so both ends are character boundaries.
        out.push_str(s.get(run..i).unwrap_or_default());
        run = i + 1;
        if short.is_empty() {
            out.push_str("\\u00");
            out.push(if b < 0x10 { '0' } else { '1' });
            out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        } else {
            out.push_str(short);
        }
    }
    out.push_str(s.get(run..).unwrap_or_default());
    out.push('"');
}

// ---------------------------------------------------------------------------------------------------------
// serde glue, for the simulator and the tests (generic code: the wasm apps do not use it, so it costs them
// nothing).
// ---------------------------------------------------------------------------------------------------------

/// `impl Serialize` through the type's `to_tree()`, so that the simulator and the tests can still put these
/// types into `json!` and `serde_json::to_value`.
#[cfg(feature = "serde")]
macro_rules! serialize_via_tree {
    ($($t:ty),* $(,)?) => {$(
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.to_tree().serialize(s)
            }
        }
    )*};
}
#[cfg(feature = "serde")]
pub(crate) use serialize_via_tree;

#[cfg(feature = "serde")]
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

/// As serde_json reads the literal: an integer when it is one that fits, else a float.
#[cfg(feature = "serde")]
impl Serialize for Number {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let Some(u) = self.as_u64() {
            s.serialize_u64(u)
        } else if let Some(i) = self.as_i64() {
            s.serialize_i64(i)
        } else {
            // A valid literal always parses.
            s.serialize_f64(self.0.parse().unwrap_or(f64::NAN))
        }
    }
}

/// `n` in decimal, with a minus sign when `negative` (for `-n`, which may be `i64::MIN`).
fn decimal(n: u64, negative: bool) -> String {
    if negative {
        format!("-{n}")
    } else {
        n.to_string()
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

    #[test]
    fn nesting_is_limited_as_in_serde_json_without_overflowing_the_stack() {
        for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
            let nested = |n: usize| open.repeat(n) + "1" + &close.repeat(n);
            assert!(Json::parse(&nested(127)).is_ok());
            assert!(serde_json::from_str::<Value>(&nested(127)).is_ok());
            assert!(Json::parse(&nested(128)).is_err());
            assert!(serde_json::from_str::<Value>(&nested(128)).is_err());
            assert!(Json::parse(&open.repeat(100_000)).is_err());
        }
    }

    #[test]
    fn lone_surrogates_are_refused_pairs_read() {
        for bad in [
            r#""\ud800""#,
            r#""\uDC00""#,
            r#""\ud800\u0041""#,
            r#""\ud800\n""#,
            r#""\ud800x""#,
            r#""\udbff\udbff""#,
            r#""\u12""#,
            r#""\u12g4""#,
        ] {
            assert!(Json::parse(bad).is_err(), "{bad}");
            assert!(serde_json::from_str::<Value>(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Json::parse(r#""\uD83D\uDE00\u00e9\u0000""#),
            Ok(Json::String("😀é\0".into()))
        );
    }

    #[test]
    fn numbers_beyond_f64_are_refused_as_javascript_number_overflows() {
        // 2^1024 - 2^970 is the first value rounding to infinity; f64::MAX is 1.7976931348623157e308.
        let max = "17976931348623157".to_string() + &"0".repeat(292);
        for ok in [
            "1e308",
            "1.7976931348623157e308",
            "1.7976931348623158e308",
            "-1.7976931348623158079e308",
            "0.1e309",
            max.as_str(),
            "0e99999999999999999999",
            "1e-99999999999999999999",
            "0.0000000000000000000000000001e336",
        ] {
            assert!(Json::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "1e309",
            "-1e400",
            "1.7976931348623159e308",
            "1.79769313486231581e308",
            "2e308",
            "0.2e310",
            "1e99999999999999999999",
            &("1".to_string() + &"0".repeat(309)),
        ] {
            assert!(Json::parse(bad).is_err(), "{bad}");
        }
        // serde_json agrees away from the very edge (where it reads approximately: this serde_json refuses
        // f64::MAX written out in full, `max`, which JavaScript reads).
        for t in ["1e308", "0.1e309", "1e309", "-1e400", "2e308"] {
            assert_eq!(
                Json::parse(t).is_ok(),
                serde_json::from_str::<Value>(t).is_ok(),
                "{t}"
            );
        }
    }

    #[test]
    fn numbers_answer_what_the_apps_ask() {
        let n = |t: &str| match Json::parse(t) {
            Ok(Json::Number(n)) => n,
            other => panic!("{t}: {other:?}"),
        };
        assert_eq!(n("-9223372036854775808").as_i64(), Some(i64::MIN));
        assert_eq!(n("-9223372036854775809").as_i64(), None);
        assert_eq!(n("18446744073709551615").as_u64(), Some(u64::MAX));
        assert_eq!(n("18446744073709551616").as_u64(), None);
        for zero in ["0", "-0", "0.000", "-0.0e7", "0E-3"] {
            assert!(n(zero).is_zero(), "{zero}");
            assert_eq!(n(zero).whole_text().as_deref(), Some("0"), "{zero}");
        }
        for (t, whole) in [
            ("12", Some("12")),
            ("-12", Some("-12")),
            (
                "123456789012345678901234567890",
                Some("123456789012345678901234567890"),
            ),
            ("1.0", Some("1")),
            ("-2.50e1", Some("-25")),
            ("1E3", Some("1000")),
            ("1200e-2", Some("12")),
            ("0.5e1", Some("5")),
            ("9007199254740991.0", Some("9007199254740991")),
            ("9007199254740992.0", None),
            ("1.5", None),
            ("1e-1", None),
            ("1e300", None),
        ] {
            assert_eq!(n(t).whole_text().as_deref(), whole, "{t}");
            assert!(!n(t).is_zero(), "{t}");
        }
    }

    #[test]
    fn errors_say_where_without_quoting() {
        assert_eq!(
            Json::parse("{\n  \"a\": x}").unwrap_err().0,
            "not JSON (line 2, column 8)"
        );
        assert_eq!(
            Json::parse("").unwrap_err().0,
            "not JSON (line 1, column 1)"
        );
        assert_eq!(
            Json::parse("[1] secret").unwrap_err().0,
            "not JSON (line 1, column 5)"
        );
    }

    #[test]
    fn control_characters_are_escaped_as_javascript_escapes_them() {
        let all: String = (0u8..0x20)
            .map(char::from)
            .chain("\"\\/\u{7f}é".chars())
            .collect();
        let ours = Json::String(all.clone()).to_text();
        assert_eq!(ours, serde_json::to_string(&all).unwrap());
        assert!(ours.contains(r"\u0000") && ours.contains(r"\u001f") && ours.contains(r"\b\t\n"));
        assert_eq!(Json::parse(&ours), Ok(Json::String(all)));
    }
}
