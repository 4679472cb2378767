//! Trace lines. Every line of the hidden app starts with `kuando-log:`, of the config app with
//! `kuando-config-log:` (the concept tells admins to filter for these). A token never reaches a trace: token
//! query parameters are cut out of URLs, and any known secret is replaced by `***` wherever it stands.

/// Which app writes the trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum App {
    /// The hidden app `innovaphone-kuando`.
    Connector,
    /// The config app `innovaphone-kuando-config`.
    Config,
}

impl App {
    pub fn prefix(self) -> &'static str {
        match self {
            App::Connector => "kuando-log:",
            App::Config => "kuando-config-log:",
        }
    }
}

/// The query parameters that carry the hub token.
const TOKEN_PARAMS: [&str; 2] = ["accesstoken", "http_token"];

/// The mask for a secret.
pub const MASK: &str = "***";

/// Replaces the values of `accesstoken=`/`http_token=` (up to `&`, `#`, whitespace or a quote) and every
/// occurrence of each non-empty secret by `***`.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = redact_params(text);
    for s in secrets {
        if !s.is_empty() {
            out = out.replace(s, &mask_for(s));
        }
    }
    out
}

/// `***`, unless the secret itself contains `*`: then replacing could form the secret anew (`a**` inside
/// `aa**` becomes `a***`), so the mask uses a character the secret does not contain.
fn mask_for(secret: &str) -> String {
    let c = ['*', '#', '~']
        .into_iter()
        .chain('\u{2460}'..='\u{24ff}')
        .find(|&c| !secret.contains(c))
        .unwrap_or('\u{fffd}');
    std::iter::repeat_n(c, 3).collect()
}

fn redact_params(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while !rest.is_empty() {
        // A parameter starts after `?`, `&` or at a word boundary; its name compares case-insensitively.
        let at_boundary = !out.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        for p in TOKEN_PARAMS {
            let param = rest
                .split_at_checked(p.len())
                .filter(|(name, _)| at_boundary && name.eq_ignore_ascii_case(p))
                .and_then(|(name, after)| Some((name, after.strip_prefix('=')?)));
            if let Some((name, value)) = param {
                out.push_str(name);
                out.push('=');
                let end = value
                    .find(|c: char| {
                        c == '&' || c == '#' || c == '"' || c == '\'' || c.is_whitespace()
                    })
                    .unwrap_or(value.len());
                if end > 0 {
                    out.push_str(MASK);
                }
                rest = value.get(end..).unwrap_or_default();
                continue 'scan;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

/// A complete trace text: every line prefixed, secrets redacted.
pub fn line(app: App, text: &str, secrets: &[&str]) -> String {
    let clean = redact(text, secrets);
    let mut out = String::with_capacity(clean.len() + 24);
    for (i, l) in clean.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(app.prefix());
        out.push(' ');
        out.push_str(l.trim_end_matches('\r'));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(
            line(App::Connector, "Instance Connected", &[]),
            "kuando-log: Instance Connected"
        );
        assert_eq!(line(App::Config, "saved", &[]), "kuando-config-log: saved");
    }

    #[test]
    fn every_line_of_a_multi_line_text_is_prefixed() {
        assert_eq!(
            line(App::Connector, "a\r\nb\nc", &[]),
            "kuando-log: a\nkuando-log: b\nkuando-log: c"
        );
    }

    #[test]
    fn token_query_parameters_are_masked() {
        let url = "init http get request: http://h:8989/?action=currentpresence&accesstoken=abc%20d&http_token=abc%20d";
        assert_eq!(
            redact(url, &[]),
            "init http get request: http://h:8989/?action=currentpresence&accesstoken=***&http_token=***"
        );
        assert_eq!(
            redact("http://h/?HTTP_TOKEN=x#frag", &[]),
            "http://h/?HTTP_TOKEN=***#frag"
        );
        // An empty token stays visibly empty, as in the concept's trace.
        assert_eq!(
            redact("http://localhost:8989/?http_token=", &[]),
            "http://localhost:8989/?http_token="
        );
        // Other parameters that merely end in the same letters are left alone.
        assert_eq!(
            redact("my_http_token=1 xaccesstoken=2", &[]),
            "my_http_token=1 xaccesstoken=2"
        );
    }

    /// A value ends at `&`, `#`, a quote or any blank; a parameter name at the very end (no `=`) is no
    /// parameter, and nothing breaks on it.
    #[test]
    fn token_values_end_where_the_url_ends() {
        for (text, want) in [
            ("accesstoken=abc def", "accesstoken=*** def"),
            ("accesstoken=abc\tdef", "accesstoken=***\tdef"),
            ("accesstoken=abc\ndef", "accesstoken=***\ndef"),
            ("'accesstoken=abc' x", "'accesstoken=***' x"),
            ("\"http_token=abc\" x", "\"http_token=***\" x"),
            ("?http_token=abc&x=1", "?http_token=***&x=1"),
            ("?http_token=abc#x", "?http_token=***#x"),
            ("ends with accesstoken", "ends with accesstoken"),
            ("ends with http_token", "ends with http_token"),
            ("accesstoken=", "accesstoken="),
            ("accesstoken", "accesstoken"),
            (
                "é http_token=ü ö accesstoken€",
                "é http_token=*** ö accesstoken€",
            ),
        ] {
            assert_eq!(redact(text, &[]), want, "{text:?}");
        }
    }

    #[test]
    fn secrets_are_masked_anywhere() {
        let t = line(
            App::Config,
            "hub said: bad token s3cr3t! (s3cr3t)",
            &["s3cr3t", ""],
        );
        assert_eq!(t, "kuando-config-log: hub said: bad token ***! (***)");
        assert!(!line(App::Connector, "ééé token=ü", &["ü"]).contains('ü'));
        // A mask never forms the secret anew.
        assert!(!redact("aa**", &["a**"]).contains("a**"));
        assert!(!redact("x*#~y", &["*#~"]).contains("*#~"));
    }
}
