//! Property tests of the project's own JSON reader and writer (`kuando_connector::json`) against serde_json as
//! the oracle: the same texts are accepted and refused, accepted ones read to the same values, written texts
//! read back to the same tree and are spelt as serde_json spells them, and no input panics.
//!
//! Where the two differ on purpose: a number at the very edge of f64's range (`1.79769313486231581e308`), which
//! serde_json reads approximately; the generated numbers stay far from it.
#![cfg(not(target_arch = "wasm32"))]

use kuando_connector::json::{self, Json, Number};
use proptest::prelude::*;
use serde_json::Value;

/// Both accept `t` or both refuse it; when both accept, the values are equal (numbers compared as serde_json
/// reads our literal, so `2.50` and `2.5` are the same float, `1` and `1.0` are not).
fn same_as_serde(t: &str) -> Result<(), TestCaseError> {
    let ours = Json::parse(t);
    let theirs = serde_json::from_str::<Value>(t);
    match (ours, theirs) {
        (Ok(j), Ok(v)) => prop_assert_eq!(Value::from(j), v, "{:?}", t),
        (Err(_), Err(_)) => {}
        (o, v) => prop_assert!(false, "{:?}: ours {:?}, serde_json {:?}", t, o, v),
    }
    Ok(())
}

/// Numbers within f64's range, in every spelling JSON allows.
fn number_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        "-?(0|[1-9][0-9]{0,25})(\\.[0-9]{1,6})?([eE][+-]?[0-9]{1,2})?",
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::to_string(&f).unwrap_or_default()),
    ]
}

/// Inside a string: plain text, the short escapes, `\u` escapes of any code unit but a surrogate, surrogate
/// pairs, and characters beyond ASCII. (Lone surrogates come in through the mutations.)
fn string_literal() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-z /é😀\u{7f}]{0,4}",
        "\\\\[\"\\\\/bfnrt]",
        any::<u16>()
            .prop_filter("no surrogate", |u| !(0xd800..0xe000).contains(u))
            .prop_map(|u| format!("\\u{u:04x}")),
        (0xd800u16..0xdc00, 0xdc00u16..0xe000).prop_map(|(h, l)| format!("\\u{h:04X}\\u{l:04x}")),
    ];
    prop::collection::vec(piece, 0..5).prop_map(|p| format!("\"{}\"", p.concat()))
}

fn space() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just(""), Just(""), Just(" "), Just("\n\t "), Just("\r\n")]
}

/// Valid JSON texts with optional whitespace everywhere whitespace may go.
fn json_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        Just("false".to_string()),
        number_literal(),
        string_literal(),
    ];
    leaf.prop_recursive(5, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec((space(), inner.clone(), space()), 0..5).prop_map(|v| {
                let items: Vec<String> = v.iter().map(|(a, i, b)| format!("{a}{i}{b}")).collect();
                format!("[{}]", items.join(","))
            }),
            prop::collection::vec((string_literal(), space(), inner), 0..5).prop_map(|v| {
                let members: Vec<String> =
                    v.iter().map(|(k, s, i)| format!("{k}{s}:{s}{i}")).collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

/// Characters that matter to a JSON reader, for mutations and for noise.
fn json_char() -> impl Strategy<Value = char> {
    prop_oneof![
        prop::sample::select(
            "[]{}:,\"\\/ \t\n\r0123456789-+.eEtrufalsnbu\u{0}\u{1f}\u{7f}é😀x"
                .chars()
                .collect::<Vec<_>>()
        ),
        any::<char>(),
    ]
}

#[derive(Debug, Clone)]
enum Edit {
    Insert(prop::sample::Index, char),
    /// Tokens a reader must get right: lone and broken surrogate escapes, numbers out of range or spelt
    /// wrongly, separators.
    InsertToken(prop::sample::Index, &'static str),
    Delete(prop::sample::Index),
    Replace(prop::sample::Index, char),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<prop::sample::Index>(), json_char()).prop_map(|(i, c)| Edit::Insert(i, c)),
        (
            any::<prop::sample::Index>(),
            prop::sample::select(vec![
                "\\ud800",
                "\\uDFFF",
                "\\udbff\\u0041",
                "\\ud800\\",
                "\\u12",
                "\\ud83d\\ude00",
                "1e400",
                "-1e309",
                "2e308",
                "1e308",
                "-0",
                "01",
                "1.",
                ",",
                "]",
                "}",
                "\"\":",
            ])
        )
            .prop_map(|(i, t)| Edit::InsertToken(i, t)),
        any::<prop::sample::Index>().prop_map(Edit::Delete),
        (any::<prop::sample::Index>(), json_char()).prop_map(|(i, c)| Edit::Replace(i, c)),
    ]
}

/// A valid text with up to three characters inserted, deleted or replaced: mostly invalid in one place.
fn mutated_text() -> impl Strategy<Value = String> {
    (json_text(), prop::collection::vec(edit(), 1..4)).prop_map(|(t, edits)| {
        let mut c: Vec<char> = t.chars().collect();
        for e in edits {
            match e {
                Edit::Insert(i, ch) => c.insert(i.index(c.len() + 1), ch),
                Edit::InsertToken(i, t) => {
                    let at = i.index(c.len() + 1);
                    c.splice(at..at, t.chars());
                }
                Edit::Delete(i) if !c.is_empty() => {
                    c.remove(i.index(c.len()));
                }
                Edit::Replace(i, ch) if !c.is_empty() => {
                    let at = i.index(c.len());
                    c[at] = ch;
                }
                _ => {}
            }
        }
        c.into_iter().collect()
    })
}

/// Trees as the apps build them: integers only (serde_json would spell floats its own way), any strings,
/// members in any order, names repeated.
fn tree() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<u64>().prop_map(Json::from),
        any::<i64>().prop_map(|n| Json::Number(Number::from(n))),
        any::<String>().prop_map(Json::String),
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Json::Array),
            prop::collection::vec(("[ab\"\\\\\n\u{1}é]{0,3}", inner), 0..5).prop_map(Json::Object),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn valid_texts_read_as_serde_json_reads_them(t in json_text()) {
        prop_assert!(Json::parse(&t).is_ok(), "{:?}", t);
        same_as_serde(&t)?;
    }

    #[test]
    fn mutated_texts_are_accepted_and_refused_as_serde_json_does(t in mutated_text()) {
        same_as_serde(&t)?;
    }

    #[test]
    fn noise_is_accepted_and_refused_as_serde_json_does(
        t in prop_oneof![
            any::<String>(),
            prop::collection::vec(json_char(), 0..30).prop_map(|c| c.into_iter().collect()),
        ]
    ) {
        same_as_serde(&t)?;
    }

    #[test]
    fn number_literals_read_as_serde_json_reads_them(
        t in prop_oneof![
            number_literal(),
            // Out of range too, and wrongly spelt.
            "-?(0|[1-9][0-9]{0,25})(\\.[0-9]{1,6})?([eE][+-]?[0-9]{1,3})?",
            "-?[0-9]{0,3}\\.?[0-9]{0,3}([eE][+-]?[0-9]{0,4})?",
        ]
    ) {
        same_as_serde(&t)?;
        if let (Ok(Json::Number(n)), Ok(v)) = (Json::parse(&t), serde_json::from_str::<Value>(&t)) {
            prop_assert_eq!(n.as_u64(), v.as_u64(), "{}", t);
            prop_assert_eq!(n.as_i64(), v.as_i64(), "{}", t);
            prop_assert_eq!(n.as_str(), t.as_str());
        }
    }

    #[test]
    fn written_trees_read_back_and_are_spelt_as_serde_json_spells_them(j in tree()) {
        let text = j.to_text();
        prop_assert_eq!(Json::parse(&text), Ok(j.clone()));
        // serde_json writing the same tree through `Serialize for Json`, members in the same order.
        prop_assert_eq!(&text, &serde_json::to_string(&j).unwrap_or_default());
    }

    #[test]
    fn read_texts_are_written_back_as_they_came_without_whitespace(t in json_text()) {
        let j = Json::parse(&t).map_err(|e| TestCaseError::fail(e.0))?;
        let text = j.to_text();
        prop_assert_eq!(Json::parse(&text), Ok(j));
        // Numbers keep their spelling: serde_json reads the written text to the same values.
        prop_assert_eq!(json::value(&text).ok(), serde_json::from_str::<Value>(&t).ok());
    }

    #[test]
    fn integers_are_written_as_rust_writes_them(n in any::<i64>(), u in any::<u64>()) {
        let (signed, unsigned) = (Number::from(n), Number::from(u));
        prop_assert_eq!(signed.as_str(), n.to_string());
        prop_assert_eq!(unsigned.as_str(), u.to_string());
    }

    /// Integral values read as the integer, checked against f64 where f64 is exact (at most 15 significant
    /// digits, exponents far from underflow).
    #[test]
    fn whole_numbers_read_as_their_integer(
        t in prop_oneof![
            "-?(0|[1-9][0-9]{0,7})\\.[0-9]{1,7}([eE][+-]?[0-9]{1,2})?",
            "-?(0|[1-9][0-9]{0,7})[eE][+-]?[0-9]{1,2}",
        ]
    ) {
        let Ok(Json::Number(n)) = Json::parse(&t) else {
            return Err(TestCaseError::fail(format!("{t} does not read")));
        };
        let f: f64 = t.parse().map_err(|_| TestCaseError::fail("f64"))?;
        let expected = (f.fract() == 0.0 && f.abs() < 2f64.powi(53)).then(|| (f as i64).to_string());
        prop_assert_eq!(n.whole_text(), expected, "{}", t);
        prop_assert_eq!(n.is_zero(), f == 0.0, "{}", t);
    }
}
