//! Trace and error texts without `core::fmt`.
//!
//! The hidden app's texts only ever join strings and whole numbers. `format!` does that through the
//! formatting machinery (argument tables at every call, padding, integer formatting), which cost the hidden
//! app some 6 KB of its 150 KB budget (measured with every `format!` of its code paths taken out). These
//! two functions do the same with a few hundred bytes. `format!` stays in tests, the simulators and the
//! config app.

/// The parts, joined.
pub fn cat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        out.push_str(p);
    }
    out
}

/// `n` in decimal.
pub fn num(n: u64) -> String {
    decimal(n, false)
}

/// `n` in decimal, with a minus sign when `negative` (for `-n`).
pub fn decimal(mut n: u64, negative: bool) -> String {
    let mut reversed = Vec::with_capacity(21);
    loop {
        reversed.push(b'0' + (n % 10) as u8);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if negative {
        reversed.push(b'-');
    }
    reversed.iter().rev().map(|&b| char::from(b)).collect()
}

/// `s[r]`, or `""` where `r` is out of range or not on character boundaries (never, where the callers'
/// indices come from searching `s`). Indexing a `str` panics with a formatted message instead: its
/// `slice_error_fail` and the `char` `Debug` it brings were some 3 KB of the hidden app.
pub fn part<R: core::slice::SliceIndex<str, Output = str>>(s: &str, r: R) -> &str {
    s.get(r).unwrap_or("")
}

/// The index of the last `b` in `s` (an ASCII byte, so the index is a character boundary). `str::rfind`
/// with a `char` runs the reverse character searcher, some 600 bytes of the hidden app.
pub fn rfind_byte(s: &str, b: u8) -> Option<usize> {
    s.bytes().rposition(|c| c == b)
}

/// `scheme://rest` as `(scheme, rest)`, split at the first `:`, which must be followed by `//`. The same as
/// `split_once("://")` for every scheme the apps accept (a scheme has no `:`), without the substring searcher
/// that `split_once(&str)` brings into the wasm (~2 KB).
pub fn split_scheme(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once(':')?;
    Some((scheme, rest.strip_prefix("//")?))
}

/// Whether `s` has more than `max` characters (`chars().count() > max` without the counting routine).
pub fn longer_than(s: &str, max: usize) -> bool {
    // Every character has exactly one byte that is not a continuation byte (`10xx_xxxx`).
    s.bytes().filter(|b| b & 0xC0 != 0x80).count() > max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_join_and_numbers_read_as_format_writes_them() {
        assert_eq!(cat(&["call ", "a", "/", "7", " added"]), "call a/7 added");
        assert_eq!(cat(&[]), "");
        for n in [0, 7, 10, 65535, u64::MAX] {
            assert_eq!(num(n), format!("{n}"));
            assert_eq!(decimal(n, true), format!("-{n}"));
        }
    }

    #[test]
    fn schemes_split_at_colon_slash_slash() {
        assert_eq!(split_scheme("http://a/b"), Some(("http", "a/b")));
        assert_eq!(split_scheme("wss://h:1"), Some(("wss", "h:1")));
        assert_eq!(split_scheme("http:/a"), None);
        assert_eq!(split_scheme("a"), None);
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        for s in ["", "a", "äöü", "😀x", "e\u{301}"] {
            let n = s.chars().count();
            assert!(longer_than(s, n.saturating_sub(1)) == (n > 0), "{s}");
            assert!(!longer_than(s, n), "{s}");
        }
    }

    #[test]
    fn parts_and_last_bytes_agree_with_indexing_and_rfind() {
        let s = "wss://h:1/a/ä/b";
        for (a, b) in [(0, 3), (5, 9), (0, s.len()), (4, 4)] {
            assert_eq!(part(s, a..b), &s[a..b]);
        }
        assert_eq!(part(s, 9..), &s[9..]);
        assert_eq!(part(s, ..=2), &s[..=2]);
        // Off a character boundary or out of range: empty rather than a panic.
        let umlaut = s.find('ä').unwrap_or(0);
        assert_eq!(part(s, umlaut + 1..), "");
        assert_eq!(part(s, 3..99), "");
        for (t, b) in [(s, b'/'), (s, b':'), ("", b'/'), ("abc", b'/'), ("/", b'/')] {
            assert_eq!(rfind_byte(t, b), t.rfind(char::from(b)), "{t}");
        }
    }
}
