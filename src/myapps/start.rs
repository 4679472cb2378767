//! Start-up parameters: myApps opens an app as
//! `<app>.htm?lang=..&scheme=dark|light&name=<PBX app object>&title=..&url=<app url>&originalUrl=..`; every
//! other query parameter is an app argument.

/// Light or dark colour scheme of the myApps client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scheme {
    /// The SDK's default when myApps sends no scheme.
    #[default]
    Dark,
    Light,
}

impl Scheme {
    /// `dark` / `light`, case-insensitive; anything else is `None` (the caller keeps what it had).
    pub fn parse(s: &str) -> Option<Scheme> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("dark") {
            Some(Scheme::Dark)
        } else if s.eq_ignore_ascii_case("light") {
            Some(Scheme::Light)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Dark => "dark",
            Scheme::Light => "light",
        }
    }
}

/// The parameters myApps starts an app with. Missing values are empty (or the default for `lang`/`scheme`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartParams {
    /// Language code as myApps sent it (e.g. `de`); `en` when absent.
    pub lang: String,
    pub scheme: Scheme,
    /// The PBX app object's name: the websocket login is only done with a `Login` for this object.
    pub name: String,
    pub title: String,
    /// The app's URL, from which [`StartParams::ws_url`] derives the websocket URL.
    pub url: String,
    pub original_url: String,
    /// Every other parameter, in order, duplicates kept (see [`StartParams::arg`]).
    pub args: Vec<(String, String)>,
}

impl Default for StartParams {
    fn default() -> Self {
        StartParams {
            // The SDK falls back to the browser's language; the core has no browser, and English is the
            // language every text of the apps exists in.
            lang: "en".to_string(),
            scheme: Scheme::Dark,
            name: String::new(),
            title: String::new(),
            url: String::new(),
            original_url: String::new(),
            args: Vec::new(),
        }
    }
}

impl StartParams {
    /// Reads `location.search`, with or without the leading `?`. Never fails: pairs without `=` are skipped
    /// (as the SDK does), bad percent escapes and escapes that are not UTF-8 are kept literally, an unknown
    /// scheme leaves the default, and for the named parameters the last occurrence wins (again as the SDK).
    /// `+` is kept as `+`: myApps encodes with `encodeURIComponent`, which writes a space as `%20`.
    pub fn parse(query: &str) -> StartParams {
        let mut p = StartParams::default();
        let q = query.trim();
        let q = q.strip_prefix('?').unwrap_or(q);
        // A fragment is not part of `location.search`; tolerate a caller that passes it anyway.
        let q = q.split('#').next().unwrap_or("");
        for pair in q.split('&') {
            let Some((key, value)) = pair.split_once('=') else {
                continue;
            };
            let key = decode(key);
            let value = decode(value);
            match key.as_str() {
                "lang" => {
                    if !value.trim().is_empty() {
                        p.lang = value.trim().to_string();
                    }
                }
                "scheme" => {
                    if let Some(s) = Scheme::parse(&value) {
                        p.scheme = s;
                    }
                }
                "name" => p.name = value,
                "title" => p.title = value,
                "url" => p.url = value,
                "originalUrl" => p.original_url = value,
                _ => p.args.push((key, value)),
            }
        }
        p
    }

    /// The first value of app argument `name` (the SDK's `start.args[name]`).
    pub fn arg(&self, name: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The app websocket URL: [`StartParams::url`] cut at its last `/` (the page name goes), `http` → `ws`,
    /// `https` → `wss` (`ws`/`wss` stay). The slash itself goes too, as in the SDK's `start.url`, which is what
    /// the AppPlatform is known to accept: `https://ap/dom/inst/innovaphone-kuando` → `wss://ap/dom/inst`.
    /// Query and fragment are dropped. `None` when there is no URL, no host or another scheme.
    pub fn ws_url(&self) -> Option<String> {
        ws_url(&self.url)
    }
}

/// `s` with its `%XX` escapes decoded. A `%` without two hex digits after it stays as it is, and a value
/// whose escapes do not decode to UTF-8 is kept as written (myApps' `encodeURIComponent` writes neither).
pub fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map_or_else(|_| s.to_string(), |d| d.into_owned())
}

/// See [`StartParams::ws_url`].
pub fn ws_url(url: &str) -> Option<String> {
    let url = url.trim();
    let url = url.split(['?', '#']).next().unwrap_or("");
    let (scheme, rest) = url.split_once(':')?;
    let rest = rest.strip_prefix("//")?;
    let ws = if scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("wss") {
        "wss"
    } else if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("ws") {
        "ws"
    } else {
        return None;
    };
    let (host, path) = match rest.find('/') {
        Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i..).unwrap_or("")),
        None => (rest, ""),
    };
    if host.is_empty() {
        return None;
    }
    // `path` is empty or starts with `/`, so the last slash is always found when there is a path.
    let dir = path.rfind('/').map_or("", |i| path.get(..i).unwrap_or(""));
    Some([ws, "://", host, dir].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MYAPPS: &str = "?lang=de&scheme=light&name=kuando&title=Connector%20for%20kuando%C2%AE\
        &url=https%3A%2F%2Fap.example.com%2Fexample.com%2Fkuandoconnector%2Finnovaphone-kuando\
        &originalUrl=https%3A%2F%2Fap.example.com%2Fexample.com%2Fkuandoconnector%2Finnovaphone-kuando\
        &debug=1&debug=2";

    #[test]
    fn reads_what_myapps_sends() {
        let p = StartParams::parse(MYAPPS);
        assert_eq!(p.lang, "de");
        assert_eq!(p.scheme, Scheme::Light);
        assert_eq!(p.name, "kuando");
        assert_eq!(p.title, "Connector for kuando®");
        assert_eq!(
            p.url,
            "https://ap.example.com/example.com/kuandoconnector/innovaphone-kuando"
        );
        assert_eq!(p.original_url, p.url);
        assert_eq!(p.arg("debug"), Some("1"));
        assert_eq!(p.args.len(), 2);
        assert_eq!(
            p.ws_url().as_deref(),
            Some("wss://ap.example.com/example.com/kuandoconnector")
        );
        // Without the `?` it is the same.
        assert_eq!(StartParams::parse(&MYAPPS[1..]), p);
    }

    #[test]
    fn missing_and_odd_values_fall_back() {
        let p = StartParams::parse("");
        assert_eq!(p, StartParams::default());
        assert_eq!(p.lang, "en");
        assert_eq!(p.scheme, Scheme::Dark);
        assert_eq!(p.ws_url(), None);

        let p = StartParams::parse("scheme=purple&lang=&name&title=%zz%&x=a+b&=v");
        assert_eq!(p.scheme, Scheme::Dark);
        assert_eq!(p.lang, "en");
        assert_eq!(p.name, "", "a pair without `=` is skipped");
        assert_eq!(p.title, "%zz%", "a bad escape stays literal");
        assert_eq!(p.arg("x"), Some("a+b"));
        assert_eq!(p.arg(""), Some("v"));
        assert_eq!(StartParams::parse("scheme=DARK").scheme, Scheme::Dark);
        assert_eq!(StartParams::parse("lang=%FF").lang, "%FF");
    }

    #[test]
    fn websocket_url_from_app_url() {
        let cases = [
            (
                "https://ap/dom/inst/innovaphone-kuando",
                Some("wss://ap/dom/inst"),
            ),
            (
                "http://ap:8080/dom/inst/app.htm?x=1#y",
                Some("ws://ap:8080/dom/inst"),
            ),
            ("HTTPS://ap/dom/inst/", Some("wss://ap/dom/inst")),
            ("wss://ap/dom/inst/app", Some("wss://ap/dom/inst")),
            ("https://ap/app", Some("wss://ap")),
            ("https://ap", Some("wss://ap")),
            ("https://", None),
            ("ftp://ap/dom/app", None),
            ("ap/dom/app", None),
            ("", None),
        ];
        for (url, want) in cases {
            assert_eq!(ws_url(url).as_deref(), want, "{url}");
        }
    }
}
