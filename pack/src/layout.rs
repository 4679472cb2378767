//! The release tree as innovaphone's build lays it out (`docs/platform-facts.md` §5.5):
//!
//! ```text
//! <out>/apps.json                                   the App Store entry (§1.6)
//! <out>/<build>/innovaphone-kuando_files             "innovaphone-kuando,innovaphone-kuando.png,httpfiles.zip"
//! <out>/<build>/<arch>/innovaphone-kuando/innovaphone-kuando       innovaphone's JavaScript runtime, renamed
//! <out>/<build>/<arch>/innovaphone-kuando/innovaphone-kuando.png   the AP Manager's icon
//! <out>/<build>/<arch>/innovaphone-kuando/httpfiles.zip            everything else, flat
//! ```
//!
//! for `<arch>` = arm, arm64, x86_64. The runtime binary is innovaphone's, not ours: it is copied in from
//! `--runtime DIR` (`DIR/<arch>/generic`, as the SDK and the App Store download ship it); without it the tree
//! lacks exactly those three files, and [`Tree::missing`] says which.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use serde_json::json;

/// The App-ID: the App Store's id, the folder on the web server, the licence name base (`App(innovaphone-kuando)`
/// as the concept names the licence) and the name of the hidden app's page.
pub const APP_ID: &str = "innovaphone-kuando";
/// The sub-folder in each platform folder, and the binary the AP Manager starts: as innovaphone's build names
/// both, `<manufacturer>-<app>` (§1.5).
pub const FOLDER: &str = APP_ID;
pub const BINARY: &str = APP_ID;
pub const ARCHES: [&str; 3] = ["arm", "arm64", "x86_64"];
/// The product's name in the App Store and the PBX Manager.
pub const TITLE: &str = "Connector for kuando®";
pub const MANUFACTURER: &str = "innovaphone";
/// The oldest firmware the app is for (`versions[].id` in `apps.json`): 13r3, where `com.innovaphone.autostart`
/// is documented (docs/platform-facts.md §5.3).
pub const RELEASE: &str = "13r3";

/// Where the runtime binaries come from (printed when they are missing).
pub const RUNTIME_SOURCE: &str = "innovaphone's JavaScript Runtime: the `jse/<arch>/generic` files of the \
innovaphone SDK, or the JavaScript Runtime download at https://store.innovaphone.com/release/download.htm";

/// `httpfiles.zip`, entry name → source path relative to the repository root (`pkg/` = the wasm build), besides
/// the service scripts (`service/`, as `config.json`'s `javascript.eval` lists them: [`service_scripts`]). All at
/// the zip root. The check (`crate::check`) proves that the runtime needs each and that nothing named is missing.
pub const HTTPFILES: &[(&str, &str)] = &[
    ("config.json", "service/config.json"),
    ("plugins.json", "manager/plugins.json"),
    ("innovaphone-kuando.htm", "www/innovaphone-kuando.htm"),
    ("innovaphone-kuando.js", "www/innovaphone-kuando.js"),
    ("kuando_connector.js", "pkg/kuando_connector.js"),
    ("kuando_connector_bg.wasm", "pkg/kuando_connector_bg.wasm"),
    (
        "innovaphone-kuando-config.htm",
        "www/innovaphone-kuando-config.htm",
    ),
    (
        "innovaphone-kuando-config.js",
        "www/innovaphone-kuando-config.js",
    ),
    (
        "innovaphone-kuando-config.css",
        "www/innovaphone-kuando-config.css",
    ),
    (
        "innovaphone-kuando-config.png",
        "www/innovaphone-kuando-config.png",
    ),
    ("kuando_config.js", "pkg/kuando_config.js"),
    ("kuando_config_bg.wasm", "pkg/kuando_config_bg.wasm"),
    (
        "innovaphone.kuandomanager.js",
        "manager/innovaphone.kuandomanager.js",
    ),
    (
        "innovaphone.kuandomanagertexts.js",
        "manager/innovaphone.kuandomanagertexts.js",
    ),
    (
        "innovaphone.kuandomanager.png",
        "manager/innovaphone.kuandomanager.png",
    ),
];
/// The icon beside the binary (the AP Manager's and App Store's picture of the app).
pub const ICON_SOURCE: &str = "www/innovaphone-kuando-config.png";

/// What to lay out.
pub struct Options {
    /// The repository root.
    pub root: PathBuf,
    /// The wasm build (`pkg/` of the root by default).
    pub pkg: PathBuf,
    /// The tree goes to `<out>/<build>/`, `apps.json` to `<out>/`.
    pub out: PathBuf,
    pub build: String,
    pub label: String,
    /// A folder with `arm/generic`, `arm64/generic`, `x86_64/generic`.
    pub runtime: Option<PathBuf>,
}

/// The laid-out tree.
pub struct Tree {
    /// Every file written, relative to `out`, with its size.
    pub files: Vec<(String, u64)>,
    /// The runtime binaries not there (no `--runtime`), relative to `out`.
    pub missing: Vec<String>,
}

fn source(o: &Options, rel: &str) -> PathBuf {
    match rel.strip_prefix("pkg/") {
        Some(f) => o.pkg.join(f),
        None => o.root.join(rel),
    }
}

fn read(p: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(p).map_err(|e| {
        let hint = if p.extension().is_some_and(|x| x == "wasm") {
            " (build the apps first: ./build.sh)"
        } else {
            ""
        };
        format!("{}: {e}{hint}", p.display())
    })
}

/// A build number is digits only (the AP Manager compares them, §1.4), a label one word.
pub fn valid_build(b: &str) -> bool {
    !b.is_empty() && b.len() <= 9 && b.bytes().all(|c| c.is_ascii_digit())
}
pub fn valid_label(l: &str) -> bool {
    !l.is_empty() && l.len() <= 32 && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
}

/// The service scripts of `config.json` (its text): the `javascript.eval` names in order, each a file of
/// `service/` that goes to the zip root. The one list of them: the runtime, the simulator and the tests read it
/// too.
pub fn service_scripts(config: &[u8]) -> Result<Vec<String>, String> {
    let v: serde_json::Value =
        serde_json::from_slice(config).map_err(|e| format!("service/config.json: {e}"))?;
    let list = v["javascript"]["eval"]
        .as_array()
        .ok_or("service/config.json: javascript.eval is not a list of file names")?;
    list.iter()
        .map(|f| match f.as_str() {
            Some(s) if !s.is_empty() && !s.contains(['/', '\\', '*']) && s != ".." => {
                Ok(s.to_string())
            }
            _ => Err(format!(
                "service/config.json: javascript.eval: {f} is not a file of service/"
            )),
        })
        .collect()
}

/// The entries of `httpfiles.zip`, in [`HTTPFILES`] order with the service scripts after `config.json`, plus
/// `build.txt` and `label.txt`.
pub fn httpfiles(o: &Options) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = vec![
        (
            "build.txt".to_string(),
            format!("{}\n", o.build).into_bytes(),
        ),
        (
            "label.txt".to_string(),
            format!("{}\n", o.label).into_bytes(),
        ),
    ];
    for (name, rel) in HTTPFILES {
        let data = read(&source(o, rel))?;
        let scripts = match *name {
            "config.json" => service_scripts(&data)?,
            _ => Vec::new(),
        };
        out.push((name.to_string(), data));
        for f in scripts {
            let data = read(&o.root.join("service").join(&f))?;
            out.push((f, data));
        }
    }
    Ok(out)
}

/// A zip of the entries, all at the root, Deflate, with a fixed time stamp so that the same files give the same
/// bytes.
pub fn zip(entries: &[(String, Vec<u8>)]) -> Result<Vec<u8>, String> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    for (name, data) in entries {
        w.start_file(name.as_str(), opts)
            .map_err(|e| format!("zip {name}: {e}"))?;
        w.write_all(data).map_err(|e| format!("zip {name}: {e}"))?;
    }
    w.finish()
        .map(Cursor::into_inner)
        .map_err(|e| format!("zip: {e}"))
}

/// The App Store entry (§1.6: `{"apps":[…]}`).
pub fn apps_json(build: &str, label: &str) -> String {
    let v = json!({"apps": [{
        "id": APP_ID,
        "folder": FOLDER,
        "binary": BINARY,
        "versions": [{"id": RELEASE, "build": build, "label": label}],
        "manufacturer": MANUFACTURER,
        "title": TITLE,
        "description": "Keeps a person's busy state in sync between myApps and the kuando® Busylight \
    (through Plenom's kuandoHUB), and MS Teams, Zoom or Webex calls seen by the hub in the PBX presence.",
        "license_type": "innovaphone",
        "license_info": "App(innovaphone-kuando) per user",
        "langs": ["en", "de"],
    }]});
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

/// Lays out the tree (replacing `<out>/<build>/`), checks the zip it wrote, and lists what it made.
pub fn layout(o: &Options) -> Result<Tree, String> {
    if !valid_build(&o.build) {
        return Err(format!(
            "build number {:?}: digits only (e.g. 1031)",
            o.build
        ));
    }
    if !valid_label(&o.label) {
        return Err(format!(
            "label {:?}: one word such as dvl, beta1, final",
            o.label
        ));
    }
    let entries = httpfiles(o)?;
    let zip = zip(&entries)?;
    crate::check::check_zip(&zip).map_err(|p| {
        format!(
            "the package check refuses httpfiles.zip:\n  {}",
            p.join("\n  ")
        )
    })?;
    let icon = read(&o.root.join(ICON_SOURCE))?;
    let runtime = match &o.runtime {
        Some(dir) => {
            let mut bins = Vec::new();
            for arch in ARCHES {
                let p = dir.join(arch).join("generic");
                bins.push(read(&p).map_err(|e| format!("--runtime: {e}"))?);
            }
            Some(bins)
        }
        None => None,
    };
    let base = o.out.join(&o.build);
    if base.exists() {
        std::fs::remove_dir_all(&base).map_err(|e| format!("{}: {e}", base.display()))?;
    }
    let mut t = Tree {
        files: Vec::new(),
        missing: Vec::new(),
    };
    let mut write = |rel: String, data: &[u8]| -> Result<(), String> {
        let p = o.out.join(&rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        std::fs::write(&p, data).map_err(|e| format!("{}: {e}", p.display()))?;
        t.files.push((rel, data.len() as u64));
        Ok(())
    };
    write("apps.json".into(), apps_json(&o.build, &o.label).as_bytes())?;
    write(
        format!("{}/{APP_ID}_files", o.build),
        format!("{BINARY},{BINARY}.png,httpfiles.zip").as_bytes(),
    )?;
    for (i, arch) in ARCHES.iter().enumerate() {
        let dir = format!("{}/{arch}/{FOLDER}", o.build);
        match &runtime {
            Some(bins) => {
                write(format!("{dir}/{BINARY}"), &bins[i])?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let p = o.out.join(format!("{dir}/{BINARY}"));
                    let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755));
                }
            }
            None => t.missing.push(format!("{dir}/{BINARY}")),
        }
        write(format!("{dir}/{BINARY}.png"), &icon)?;
        write(format!("{dir}/httpfiles.zip"), &zip)?;
    }
    Ok(t)
}

/// The listing `./build.sh package` prints: the tree with every file and size, the zip's entries, and what is
/// missing with where to get it.
pub fn report(o: &Options, t: &Tree, entries: &[(String, Vec<u8>)]) -> String {
    let mut s = format!(
        "release tree {} (App-ID {APP_ID}, build {}, label {}):\n",
        o.out.display(),
        o.build,
        o.label
    );
    let mut all: Vec<(String, Option<u64>)> =
        t.files.iter().map(|(f, n)| (f.clone(), Some(*n))).collect();
    all.extend(t.missing.iter().map(|f| (f.clone(), None)));
    all.sort();
    for (f, n) in &all {
        match n {
            Some(n) => s.push_str(&format!("  {f:<58} {n:>9} bytes\n")),
            None => s.push_str(&format!("  {f:<58}   MISSING\n")),
        }
    }
    s.push_str("httpfiles.zip (all at the zip root):\n");
    for (f, d) in entries {
        s.push_str(&format!("  {f:<58} {:>9} bytes\n", d.len()));
    }
    if t.missing.is_empty() {
        s.push_str("complete: ready for the App Store or a developer-mode upload\n");
    } else {
        s.push_str(&format!(
            "missing {} file(s), innovaphone's runtime renamed to {BINARY}:\n",
            t.missing.len()
        ));
        for (f, arch) in t.missing.iter().zip(ARCHES) {
            s.push_str(&format!("  {f}  <-  {arch}/generic\n"));
        }
        s.push_str(&format!(
            "get them from {RUNTIME_SOURCE}, then run ./build.sh package --runtime DIR \
(DIR holding arm/generic, arm64/generic, x86_64/generic)\n"
        ));
    }
    s
}
