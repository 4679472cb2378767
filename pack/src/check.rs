//! The package check: reads `httpfiles.zip` back and finds what would make the app fail on an AppPlatform
//! (`docs/platform-facts.md` §5.2, §5.3, §6.1): a file that a manifest or a page names and the
//! zip lacks, a manifest that does not parse or uses keys the spec does not know, an entry not at the zip
//! root, and anything the runtime does not need.
//!
//! "Needed" is what can be reached from the roots: `config.json`, `plugins.json`, `build.txt`, `label.txt`,
//! the service scripts (`javascript.eval`), the plugin's script, icon and texts, and each app of
//! `config.json`'s `apis` (`<app>.htm`, and `<app>.png`, the icon myApps shows beside it, when there is one);
//! from every page and script on, what it references (script `src`, stylesheet `href`, image `src`, module
//! imports, the `.wasm` a wasm-bindgen glue loads, `url(…)` in CSS).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Read};

use serde_json::Value;

/// The files of one `httpfiles.zip`, by entry name.
pub type Entries = BTreeMap<String, Vec<u8>>;

/// Reads every entry of a zip. Fails on a zip that does not read, a directory entry, an entry in a
/// sub-folder (either separator) and a name given twice.
pub fn read_zip(bytes: &[u8]) -> Result<Entries, Vec<String>> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| vec![format!("httpfiles.zip does not read as a zip: {e}")])?;
    let mut out = Entries::new();
    let mut problems = Vec::new();
    for i in 0..zip.len() {
        let mut f = match zip.by_index(i) {
            Ok(f) => f,
            Err(e) => {
                problems.push(format!("entry {i} does not read: {e}"));
                continue;
            }
        };
        let name = f.name().to_string();
        if f.is_dir() || name.contains('/') || name.contains('\\') {
            problems.push(format!(
                "{name}: not at the zip root (everything must be, see ARCHITECTURE.md)"
            ));
            continue;
        }
        let mut data = Vec::new();
        if let Err(e) = f.read_to_end(&mut data) {
            problems.push(format!("{name}: does not unpack: {e}"));
            continue;
        }
        if out.insert(name.clone(), data).is_some() {
            problems.push(format!("{name}: in the zip twice"));
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Checks a zip: every problem found, or the list of its entries.
pub fn check_zip(bytes: &[u8]) -> Result<Vec<String>, Vec<String>> {
    let entries = read_zip(bytes)?;
    check_entries(&entries)?;
    Ok(entries.keys().cloned().collect())
}

/// Top-level keys of `config.json` the AppPlatform documents (docs/platform-facts.md §5.3).
const CONFIG_KEYS: &[&str] = &[
    "$schema",
    "javascript",
    "database",
    "config",
    "dbfiles",
    "apis",
    "serviceApis",
];
const DATABASE_CMDS: &[&str] = &["table", "statement", "sequence"];
const TABLE_CMDS: &[&str] = &["column", "constraint", "index"];
const CONFIG_CMDS: &[&str] = &["item", "mode"];
const PLUGIN_KEYS: &[&str] = &["js", "icon", "lang", "domains"];

/// Checks a set of entries (see the module text).
pub fn check_entries(e: &Entries) -> Result<(), Vec<String>> {
    let mut p = Vec::new();
    let mut needed = BTreeSet::new();
    // Each root or reference: (file, who names it).
    let mut todo: Vec<(String, String)> = Vec::new();
    for root in ["config.json", "plugins.json", "build.txt", "label.txt"] {
        todo.push((root.into(), "the runtime".into()));
    }
    check_line(
        e,
        "build.txt",
        |v| v.bytes().all(|b| b.is_ascii_digit()),
        "a build number",
        &mut p,
    );
    check_line(
        e,
        "label.txt",
        |v| v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
        "a label such as dvl or final",
        &mut p,
    );
    if let Some(c) = json_file(e, "config.json", &mut p) {
        config_refs(&c, e, &mut todo, &mut p);
    }
    if let Some(c) = json_file(e, "plugins.json", &mut p) {
        plugin_refs(&c, &mut todo, &mut p);
    }
    while let Some((f, by)) = todo.pop() {
        if !needed.insert(f.clone()) {
            continue;
        }
        let Some(data) = e.get(&f) else {
            p.push(format!("{f}: named by {by}, missing from httpfiles.zip"));
            continue;
        };
        let text = String::from_utf8_lossy(data);
        let refs = if f.ends_with(".htm") || f.ends_with(".html") {
            page_refs(&text)
        } else if f.ends_with(".js") {
            script_refs(&text)
        } else if f.ends_with(".css") {
            css_refs(&text)
        } else {
            Vec::new()
        };
        for r in refs {
            match local_name(&r) {
                Some(n) => todo.push((n, f.clone())),
                None => p.push(format!(
                    "{f}: references {r}, which is not a file beside it at the zip root"
                )),
            }
        }
    }
    for name in e.keys() {
        if !needed.contains(name) {
            p.push(format!(
                "{name}: nothing the runtime loads needs it (no sources, tests or spare files in the package)"
            ));
        }
    }
    if p.is_empty() {
        Ok(())
    } else {
        Err(p)
    }
}

fn check_line(e: &Entries, f: &str, ok: impl Fn(&str) -> bool, what: &str, p: &mut Vec<String>) {
    if let Some(d) = e.get(f) {
        let v = String::from_utf8_lossy(d);
        let v = v.trim_end_matches(['\r', '\n']);
        if v.is_empty() || v.contains(['\r', '\n']) || !ok(v) {
            p.push(format!("{f}: must be one line with {what}, is {v:?}"));
        }
    }
}

fn json_file(e: &Entries, f: &str, p: &mut Vec<String>) -> Option<Value> {
    let d = e.get(f)?;
    match serde_json::from_slice::<Value>(d) {
        Ok(v) if v.is_object() => Some(v),
        Ok(_) => {
            p.push(format!("{f}: not a JSON object"));
            None
        }
        Err(err) => {
            p.push(format!("{f}: does not parse: {err}"));
            None
        }
    }
}

fn unknown_keys(v: &Value, known: &[&str], what: &str, p: &mut Vec<String>) {
    if let Some(o) = v.as_object() {
        for k in o.keys() {
            if !known.contains(&k.as_str()) {
                p.push(format!("{what}: key {k:?} is not one the spec documents"));
            }
        }
    } else {
        p.push(format!("{what}: must be an object"));
    }
}

fn init_cmds(v: &Value, known: &[&str], what: &str, p: &mut Vec<String>) -> Vec<Value> {
    let Some(init) = v.get("init") else {
        return Vec::new();
    };
    let Some(items) = init.as_array() else {
        p.push(format!("{what}.init: must be an array"));
        return Vec::new();
    };
    for (i, c) in items.iter().enumerate() {
        match c.get("cmd").and_then(Value::as_str) {
            Some(cmd) if known.contains(&cmd) => {}
            other => p.push(format!(
                "{what}.init[{i}]: cmd {other:?} is not one the spec documents"
            )),
        }
    }
    items.clone()
}

fn config_refs(c: &Value, e: &Entries, todo: &mut Vec<(String, String)>, p: &mut Vec<String>) {
    unknown_keys(c, CONFIG_KEYS, "config.json", p);
    if let Some(js) = c.get("javascript") {
        unknown_keys(js, &["eval"], "config.json javascript", p);
        match js.get("eval").and_then(Value::as_array) {
            Some(files) => {
                for f in files {
                    match f.as_str() {
                        // A wildcard runs a sub-tree; this package has none (everything at the root).
                        Some(s) if !s.contains('*') => {
                            todo.push((s.to_string(), "config.json javascript.eval".into()))
                        }
                        _ => p.push(format!(
                            "config.json javascript.eval: {f} is not a file name"
                        )),
                    }
                }
            }
            None => p.push("config.json javascript.eval: must be an array of file names".into()),
        }
    }
    if let Some(db) = c.get("database") {
        unknown_keys(db, &["init"], "config.json database", p);
        for t in init_cmds(db, DATABASE_CMDS, "config.json database", p) {
            if t.get("cmd").and_then(Value::as_str) == Some("table") {
                init_cmds(&t, TABLE_CMDS, "config.json database table", p);
            }
        }
    }
    if let Some(cfg) = c.get("config") {
        unknown_keys(cfg, &["init"], "config.json config", p);
        init_cmds(cfg, CONFIG_CMDS, "config.json config", p);
    }
    if let Some(apis) = c.get("apis") {
        match apis.as_object() {
            Some(o) => {
                for (app, v) in o {
                    let by = format!("config.json apis.{app}");
                    todo.push((format!("{app}.htm"), by.clone()));
                    let icon = format!("{app}.png");
                    if e.contains_key(&icon) {
                        todo.push((icon, by.clone()));
                    }
                    for (k, _) in v.as_object().into_iter().flatten() {
                        // Client API ids are dotted names (`com.innovaphone.autostart`).
                        if k != "hidden" && k != "presence" && !k.contains('.') {
                            p.push(format!(
                                "{by}: key {k:?} is neither hidden, presence nor an API id"
                            ));
                        }
                    }
                }
            }
            None => p.push("config.json apis: must be an object".into()),
        }
    }
}

fn plugin_refs(c: &Value, todo: &mut Vec<(String, String)>, p: &mut Vec<String>) {
    unknown_keys(c, &["plugins"], "plugins.json", p);
    let Some(list) = c.get("plugins").and_then(Value::as_array) else {
        p.push("plugins.json: plugins must be an array".into());
        return;
    };
    for (i, pl) in list.iter().enumerate() {
        let what = format!("plugins.json plugins[{i}]");
        unknown_keys(pl, PLUGIN_KEYS, &what, p);
        let s = |k: &str| pl.get(k).and_then(Value::as_str).map(str::to_string);
        // `js` and `lang` are named without `.js` (the manager adds it), `icon` with `.png`.
        match s("js") {
            Some(js) if !js.ends_with(".js") => {
                todo.push((format!("{js}.js"), format!("{what}.js")))
            }
            other => p.push(format!(
                "{what}.js: {other:?} must name the script without .js"
            )),
        }
        match s("lang") {
            Some(l) if !l.ends_with(".js") => {
                todo.push((format!("{l}.js"), format!("{what}.lang")))
            }
            other => p.push(format!(
                "{what}.lang: {other:?} must name the texts without .js"
            )),
        }
        match s("icon") {
            Some(icon) if icon.ends_with(".png") => todo.push((icon, format!("{what}.icon"))),
            other => p.push(format!("{what}.icon: {other:?} must name a .png")),
        }
        if pl.get("domains").is_some_and(|d| !d.is_boolean()) {
            p.push(format!("{what}.domains: must be true or false"));
        }
    }
}

/// `src="…"` and `href="…"` of a page (script, stylesheet, icon, image).
pub fn page_refs(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=", "href="] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            if let Some(v) = quoted(rest) {
                out.push(v.to_string());
            }
        }
    }
    out
}

/// Module imports (`from "./x.js"`, `import("./x.js")`) and the `.wasm` a glue names (wasm-bindgen's
/// `new URL("x_bg.wasm", import.meta.url)`).
pub fn script_refs(js: &str) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["from", "import("] {
        let mut rest = js;
        while let Some(i) = rest.find(key) {
            rest = &rest[i + key.len()..];
            if let Some(v) = quoted(rest.trim_start()) {
                if v.starts_with("./") || v.starts_with("../") || v.ends_with(".js") {
                    out.push(v.to_string());
                }
            }
        }
    }
    // Any string literal that names a .wasm file.
    for q in ['"', '\'', '`'] {
        for (i, part) in js.split(q).enumerate() {
            if i % 2 == 1 && part.ends_with(".wasm") && !part.contains(char::is_whitespace) {
                out.push(part.to_string());
            }
        }
    }
    out
}

/// `url(…)` of a stylesheet (`data:` URLs need no file).
pub fn css_refs(css: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = css;
    while let Some(i) = rest.find("url(") {
        rest = &rest[i + 4..];
        let end = rest.find(')').unwrap_or(rest.len());
        let v = rest[..end].trim().trim_matches(['"', '\'']);
        if !v.starts_with("data:") {
            out.push(v.to_string());
        }
    }
    out
}

fn quoted(s: &str) -> Option<&str> {
    let q = s.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let body = &s[1..];
    body.find(q).map(|end| &body[..end])
}

/// `x`, `./x` → `x`; anything with a scheme, an absolute path or a sub-folder → `None`.
fn local_name(r: &str) -> Option<String> {
    let n = r.strip_prefix("./").unwrap_or(r);
    let n = n.split(['?', '#']).next().unwrap_or(n);
    let ok = !n.is_empty() && !n.contains(['/', '\\', ':']);
    ok.then(|| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_and_script_references() {
        let html =
            r#"<link rel="stylesheet" href="a.css"><script type="module" src='a.js'></script>"#;
        assert_eq!(page_refs(html), ["a.js", "a.css"]);
        let js =
            r#"import init, { x } from "./g.js"; const u = new URL('g_bg.wasm', import.meta.url);"#;
        assert_eq!(script_refs(js), ["./g.js", "g_bg.wasm"]);
        assert_eq!(
            css_refs("a{background:url(i.png)} b{x:url('data:image/png;base64,AA')}"),
            ["i.png"]
        );
        assert_eq!(local_name("./x.js"), Some("x.js".into()));
        assert_eq!(local_name("pkg/x.js"), None);
        assert_eq!(local_name("https://e.com/x.js"), None);
    }
}
