//! The hub's base URL: the one narrow form the connector accepts (`http[s]://host[:port][/path]`).

use std::fmt;

/// The longest hub URL accepted, in characters (as long as any text of the settings).
pub const MAX_URL_LEN: usize = 512;

/// Why a hub URL is not usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    Empty,
    TooLong,
    NotHttp,
    Credentials,
    ControlCharacters,
    Whitespace,
    NoHost,
    BadPort,
    QueryOrFragment,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl UrlError {
    /// What is wrong, after the field's name ("kuandoHUB URL has no host name").
    pub fn as_str(&self) -> &'static str {
        match self {
            UrlError::Empty => "is empty",
            UrlError::TooLong => "must be at most 512 characters",
            UrlError::NotHttp => "must start with http:// or https://",
            UrlError::Credentials => {
                "must not contain a user name or password (use the access token)"
            }
            UrlError::ControlCharacters => "must not contain control characters",
            UrlError::Whitespace => "must not contain spaces",
            UrlError::NoHost => "has no host name",
            UrlError::BadPort => "has an invalid port (1 to 65535)",
            UrlError::QueryOrFragment => "must not contain ? or #",
        }
    }
}

impl std::error::Error for UrlError {}

/// A validated hub base URL, always ending in `/`.
///
/// Hand-written rather than the `url` crate: its IDNA tables alone would blow the hidden app's size budget,
/// and the connector accepts only one narrow form (`http[s]://host[:port][/path]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    pub fn parse(s: &str) -> Result<BaseUrl, UrlError> {
        if s.chars().any(char::is_control) {
            return Err(UrlError::ControlCharacters);
        }
        let s = s.trim();
        if s.is_empty() {
            return Err(UrlError::Empty);
        }
        if s.chars().count() > MAX_URL_LEN {
            return Err(UrlError::TooLong);
        }
        if s.chars().any(char::is_whitespace) {
            return Err(UrlError::Whitespace);
        }
        let (scheme, rest) = s.split_once("://").ok_or(UrlError::NotHttp)?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(UrlError::NotHttp);
        }
        if rest.contains(['?', '#']) {
            return Err(UrlError::QueryOrFragment);
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err(UrlError::Credentials);
        }
        let (host, port) = split_port(authority)?;
        if host.is_empty() || host == "[]" {
            return Err(UrlError::NoHost);
        }
        let host_ok = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            v6.chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        } else {
            // Non-ASCII letters pass as they are (an internationalised name): the browser converts the host
            // with IDNA when it fetches, and refuses what IDNA refuses. Checking them here would need
            // Unicode's letter tables in the wasm.
            host.chars().all(|c| {
                c.is_ascii_alphanumeric()
                    || matches!(c, '-' | '.' | '_')
                    || (!c.is_ascii() && !c.is_whitespace())
            })
        };
        if !host_ok {
            return Err(UrlError::NoHost);
        }
        // ASCII lowercasing is enough: the browser maps a non-ASCII host (IDNA) itself when it fetches, and
        // `str::to_lowercase` would add its Unicode tables to the wasm.
        let host = host.to_ascii_lowercase();
        let mut url = match port {
            Some(p) => format!("{scheme}://{host}:{p}{path}"),
            None => format!("{scheme}://{host}{path}"),
        };
        if !url.ends_with('/') {
            url.push('/');
        }
        Ok(BaseUrl(url))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for a hub on this PC, where the hub checks no token.
    pub fn is_loopback(&self) -> bool {
        // A `BaseUrl` is always `scheme://authority/…`.
        let authority = self
            .0
            .split_once("://")
            .and_then(|(_, r)| r.split('/').next())
            .unwrap_or_default();
        let host = authority.split(':').next().unwrap_or("");
        host == "localhost" || host.starts_with("127.") || authority.starts_with("[::1]")
    }
}

fn split_port(authority: &str) -> Result<(&str, Option<u16>), UrlError> {
    // `[v6]:port` or `host:port`; a bare IPv6 without brackets is not a valid URL host.
    let colon = if authority.starts_with('[') {
        authority
            .as_bytes()
            .windows(2)
            .position(|w| w == b"]:")
            .map(|i| i + 1)
    } else {
        authority.rfind(':')
    };
    match colon {
        None => Ok((authority, None)),
        Some(i) => {
            let digits = authority.get(i + 1..).unwrap_or_default();
            if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(UrlError::BadPort);
            }
            match digits.parse::<u16>() {
                Ok(p) if p > 0 => Ok((authority.get(..i).unwrap_or_default(), Some(p))),
                _ => Err(UrlError::BadPort),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_with_or_without_slash() {
        assert_eq!(
            BaseUrl::parse("http://localhost:8989").unwrap().as_str(),
            "http://localhost:8989/"
        );
        assert_eq!(
            BaseUrl::parse("http://localhost:8989/").unwrap().as_str(),
            "http://localhost:8989/"
        );
        assert_eq!(
            BaseUrl::parse(" HTTPS://Hub.Example:443/kuando ")
                .unwrap()
                .as_str(),
            "https://hub.example:443/kuando/"
        );
        assert_eq!(
            BaseUrl::parse("http://[::1]:8989").unwrap().as_str(),
            "http://[::1]:8989/"
        );
        assert_eq!(
            BaseUrl::parse("http://Bücher.example:8989")
                .unwrap()
                .as_str(),
            "http://bücher.example:8989/"
        );
        for bad in [
            "http://a b",
            "http://a\u{3000}b",
            "http://a!b",
            "http://a/b c",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(BaseUrl::parse("ws://x"), Err(UrlError::NotHttp));
        assert_eq!(BaseUrl::parse("http://a@b"), Err(UrlError::Credentials));
        assert_eq!(BaseUrl::parse("http://a:0/"), Err(UrlError::BadPort));
        assert_eq!(BaseUrl::parse("http://a:/"), Err(UrlError::BadPort));
        assert_eq!(
            BaseUrl::parse("http://a/?x=1"),
            Err(UrlError::QueryOrFragment)
        );
        assert_eq!(
            BaseUrl::parse("http://a/\u{0}"),
            Err(UrlError::ControlCharacters)
        );
        assert!(BaseUrl::parse("http://localhost:8989")
            .unwrap()
            .is_loopback());
        assert!(BaseUrl::parse("http://127.0.0.1:8989")
            .unwrap()
            .is_loopback());
        assert!(!BaseUrl::parse("http://192.168.0.100:8989")
            .unwrap()
            .is_loopback());
    }
}
