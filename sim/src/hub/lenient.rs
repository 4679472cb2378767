//! Lenient JSON, as kuandoHUB must accept it: the manual's own POST examples are not valid JSON.
//!
//! They contain line breaks inside the `parameter` string, a trailing comma (`Pulse`), and in one example
//! (`StartNotification`) unescaped quotes inside `parameter` plus a stray `"` after the closing brace. A real
//! .NET hub would most likely reject some of these; the simulator accepts everything it can recover, and
//! names each repair in the request log, so a test can assert that the connector never needed any.
//!
//! No crate does this particular repair (JSON5 still rejects raw line breaks in strings and unescaped quotes),
//! so it is a small hand-written pass that turns the text into strict JSON for `serde_json`.

use serde_json::{Map, Value};

/// Parses `text` as JSON, repairing the manual's mistakes if strict parsing fails. Returns the value and the
/// repairs that were needed (empty for strict JSON).
pub fn parse(text: &str) -> Result<(Value, Vec<String>), String> {
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Err("empty".into());
    }
    if let Ok(v) = serde_json::from_str(text) {
        return Ok((v, Vec::new()));
    }
    // First without the quote recovery: it is a guess and must not touch text that is fine otherwise.
    for recover_quotes in [false, true] {
        let mut notes = Vec::new();
        let fixed = repair(text, recover_quotes, &mut notes);
        if let Ok(v) = serde_json::from_str(&fixed) {
            notes.sort();
            notes.dedup();
            return Ok((v, notes));
        }
    }
    match serde_json::from_str::<Value>(text) {
        Err(e) => Err(format!("not JSON ({e})")),
        Ok(_) => Err("not JSON".into()),
    }
}

/// One pass over the text: escapes control characters inside strings, drops trailing commas, ignores text
/// after the first complete value, and (with `recover_quotes`) treats a string that starts with `{` as an
/// embedded JSON document whose unescaped quotes are escaped until its braces balance.
fn repair(src: &str, recover_quotes: bool, notes: &mut Vec<String>) -> String {
    let c: Vec<char> = src.chars().collect();
    let n = c.len();
    let mut out = String::with_capacity(src.len() + 16);
    let mut depth = 0usize;
    let mut i = 0;
    while i < n {
        match c[i] {
            '"' if recover_quotes && c.get(i + 1) == Some(&'{') => {
                out.push('"');
                let mut j = i + 1;
                let mut braces = 0usize;
                while j < n {
                    let d = c[j];
                    if d == '\\' && j + 1 < n {
                        out.push(d);
                        out.push(c[j + 1]);
                        j += 2;
                        continue;
                    }
                    match d {
                        '{' => braces += 1,
                        '}' => braces = braces.saturating_sub(1),
                        _ => {}
                    }
                    if d == '"' {
                        out.push_str("\\\"");
                        notes.push("unescaped quotes inside a string".into());
                    } else {
                        push_in_string(&mut out, d, notes);
                    }
                    j += 1;
                    if braces == 0 {
                        break;
                    }
                }
                // Blanks between the embedded document's last `}` and the closing quote are dropped.
                let mut k = j;
                while k < n && c[k].is_whitespace() {
                    k += 1;
                }
                if k < n && c[k] == '"' {
                    j = k + 1;
                }
                out.push('"');
                i = j;
            }
            '"' => {
                out.push('"');
                let mut j = i + 1;
                while j < n {
                    let d = c[j];
                    if d == '\\' && j + 1 < n {
                        out.push(d);
                        out.push(c[j + 1]);
                        j += 2;
                        continue;
                    }
                    if d == '"' {
                        out.push('"');
                        break;
                    }
                    push_in_string(&mut out, d, notes);
                    j += 1;
                }
                i = j + 1;
            }
            ',' => {
                let mut k = i + 1;
                while k < n && c[k].is_whitespace() {
                    k += 1;
                }
                if k < n && (c[k] == '}' || c[k] == ']') {
                    notes.push("trailing comma".into());
                } else {
                    out.push(',');
                }
                i += 1;
            }
            '{' | '[' => {
                depth += 1;
                out.push(c[i]);
                i += 1;
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                out.push(c[i]);
                i += 1;
                if depth == 0 {
                    if c[i..].iter().any(|ch| !ch.is_whitespace()) {
                        notes.push("text after the JSON value ignored".into());
                    }
                    break;
                }
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    out
}

fn push_in_string(out: &mut String, d: char, notes: &mut Vec<String>) {
    if d.is_control() {
        notes.push("line break or control character inside a string".into());
        match d {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            _ => out.push_str(&format!("\\u{:04x}", u32::from(d))),
        }
    } else {
        out.push(d);
    }
}

/// A field by name, ignoring ASCII case: the hub is a .NET program whose JSON reader matches property names
/// case-insensitively, so `Action` and `action` are the same field.
pub fn get_ci<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    o.get(key).or_else(|| {
        o.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// A field as text: strings as they are, numbers and booleans written out, `null`/missing as `None`.
pub fn text(o: &Map<String, Value>, key: &str) -> Option<String> {
    match get_ci(o, key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A number, also from a string (`"100"`), rounded; `None` when absent or not a number.
pub fn number(v: &Value) -> Option<i64> {
    let f = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    f.is_finite().then(|| f.round().clamp(-1e12, 1e12) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strict_json_needs_no_repair() {
        let (v, notes) = parse(r#"{"action":"Light","parameter":"{\"a\":1}"}"#).unwrap();
        assert_eq!(v["action"], "Light");
        assert!(notes.is_empty());
    }

    #[test]
    fn line_breaks_in_strings_and_trailing_commas() {
        let text = "{\n \"action\":\"Pulse\",\n \"parameter\":\"{\n  \\\"color\\\":{\n   \\\"RedRgbValue\\\":255\n  },\n }\"\n}";
        let (v, notes) = parse(text).unwrap();
        assert_eq!(v["action"], "Pulse");
        assert!(notes.iter().any(|n| n.contains("line break")));
        let (p, notes) = parse(v["parameter"].as_str().unwrap()).unwrap();
        assert_eq!(p, json!({"color": {"RedRgbValue": 255}}));
        assert_eq!(notes, vec!["trailing comma".to_string()]);
    }

    #[test]
    fn unescaped_quotes_and_a_stray_quote_after_the_body() {
        let text = "{\n \"action\":\"StartNotification\",\n \"parameter\":\"{\n  \"RedRgbValue\":0,\n  \"BlueRgbValue\":255\n  }\"\n}\"";
        let (v, notes) = parse(text).unwrap();
        assert_eq!(v["action"], "StartNotification");
        assert!(notes.iter().any(|n| n.contains("unescaped quotes")));
        assert!(notes.iter().any(|n| n.contains("after the JSON value")));
        let (p, _) = parse(v["parameter"].as_str().unwrap()).unwrap();
        assert_eq!(p["BlueRgbValue"], 255);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            "",
            "   ",
            "{",
            "}",
            "\"",
            "{\"a\":",
            "nope",
            "{\"a\":\"{\"}",
            "[,]",
            "\u{feff}",
        ] {
            let _ = parse(bad);
        }
        assert!(parse("nope").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn numbers_as_text() {
        assert_eq!(number(&json!("100")), Some(100));
        assert_eq!(number(&json!(49.6)), Some(50));
        assert_eq!(number(&json!("x")), None);
        assert_eq!(number(&json!(null)), None);
        assert_eq!(number(&json!(1e300)), Some(1_000_000_000_000));
    }
}
