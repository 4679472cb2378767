//! The release tree and the package check, on the repository's real files with a stand-in wasm build (so the
//! tests need no wasm toolchain; `./build.sh test` also checks the package of the real build).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use kuando_pack::check::{self, Entries};
use kuando_pack::layout::{self, Options, ARCHES, BINARY};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf()
}

/// A wasm build as wasm-bindgen lays it out: glue that names its wasm.
fn fake_pkg(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for app in ["kuando_connector", "kuando_config"] {
        std::fs::write(
            dir.join(format!("{app}.js")),
            format!("let w;export default async function(){{const u=new URL(\"{app}_bg.wasm\",import.meta.url);}}"),
        )
        .unwrap();
        std::fs::write(dir.join(format!("{app}_bg.wasm")), b"\0asm\x01\0\0\0").unwrap();
    }
}

fn options(tmp: &Path, runtime: Option<PathBuf>) -> Options {
    let pkg = tmp.join("pkg");
    fake_pkg(&pkg);
    Options {
        root: repo(),
        pkg,
        out: tmp.join("dist"),
        build: "1042".into(),
        label: "dvl".into(),
        runtime,
    }
}

fn good_entries(tmp: &Path) -> Entries {
    layout::httpfiles(&options(tmp, None))
        .unwrap()
        .into_iter()
        .collect()
}

fn problems(e: &Entries) -> String {
    check::check_entries(e).err().unwrap_or_default().join("\n")
}

#[test]
fn without_runtime_the_tree_lacks_exactly_the_three_binaries_and_says_where_to_get_them() {
    let tmp = tempfile::tempdir().unwrap();
    let o = options(tmp.path(), None);
    let t = layout::layout(&o).expect("layout");
    assert_eq!(
        t.missing,
        ARCHES
            .iter()
            .map(|a| format!("1042/{a}/innovaphone-kuando/innovaphone-kuando"))
            .collect::<Vec<_>>()
    );
    let files: BTreeSet<&str> = t.files.iter().map(|(f, _)| f.as_str()).collect();
    let mut want = BTreeSet::from(["apps.json", "1042/innovaphone-kuando_files"]);
    let per_arch: Vec<String> = ARCHES
        .iter()
        .flat_map(|a| {
            [
                format!("1042/{a}/innovaphone-kuando/innovaphone-kuando.png"),
                format!("1042/{a}/innovaphone-kuando/httpfiles.zip"),
            ]
        })
        .collect();
    want.extend(per_arch.iter().map(String::as_str));
    assert_eq!(files, want);
    for (f, size) in &t.files {
        assert_eq!(
            std::fs::metadata(o.out.join(f)).unwrap().len(),
            *size,
            "{f}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(o.out.join("1042/innovaphone-kuando_files")).unwrap(),
        "innovaphone-kuando,innovaphone-kuando.png,httpfiles.zip"
    );
    let entries = layout::httpfiles(&o).unwrap();
    let report = layout::report(&o, &t, &entries);
    for a in ARCHES {
        assert!(
            report.contains(&format!(
                "1042/{a}/innovaphone-kuando/innovaphone-kuando  <-  {a}/generic"
            )),
            "{report}"
        );
    }
    assert!(report.contains("store.innovaphone.com/release/download.htm"));
    assert!(report.contains("--runtime DIR"));
    assert!(report.contains("kuando_connector_bg.wasm"), "lists the zip");
}

#[test]
fn the_zip_holds_what_the_runtime_needs_flat_with_build_and_label() {
    let tmp = tempfile::tempdir().unwrap();
    let o = options(tmp.path(), None);
    layout::layout(&o).unwrap();
    let zip = std::fs::read(o.out.join("1042/x86_64/innovaphone-kuando/httpfiles.zip")).unwrap();
    let names: BTreeSet<String> = check::check_zip(&zip).expect("check").into_iter().collect();
    // The service scripts are the ones config.json evaluates: every one of them, and nothing else of service/.
    let config = std::fs::read(repo().join("service/config.json")).unwrap();
    let scripts = layout::service_scripts(&config).unwrap();
    assert_eq!(scripts.first().map(String::as_str), Some("kuando.js"));
    assert_eq!(scripts.last().map(String::as_str), Some("fleet.js"));
    let mut in_service: Vec<String> = std::fs::read_dir(repo().join("service"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".js"))
        .collect();
    in_service.sort();
    let mut listed = scripts.clone();
    listed.sort();
    assert_eq!(
        listed, in_service,
        "every service/*.js is in javascript.eval"
    );
    let want: BTreeSet<String> = [
        "build.txt",
        "label.txt",
        "config.json",
        "plugins.json",
        "innovaphone-kuando.htm",
        "innovaphone-kuando.js",
        "kuando_connector.js",
        "kuando_connector_bg.wasm",
        "innovaphone-kuando-config.htm",
        "innovaphone-kuando-config.js",
        "innovaphone-kuando-config.css",
        "innovaphone-kuando-config.png",
        "kuando_config.js",
        "kuando_config_bg.wasm",
        "innovaphone.kuandomanager.js",
        "innovaphone.kuandomanagertexts.js",
        "innovaphone.kuandomanager.png",
    ]
    .into_iter()
    .map(String::from)
    .chain(scripts)
    .collect();
    assert_eq!(names, want);
    let e = check::read_zip(&zip).unwrap();
    assert_eq!(e["build.txt"], b"1042\n");
    assert_eq!(e["label.txt"], b"dvl\n");
    // The same zip for every platform, and the same bytes for the same files.
    for a in ARCHES {
        let z = std::fs::read(
            o.out
                .join(format!("1042/{a}/innovaphone-kuando/httpfiles.zip")),
        )
        .unwrap();
        assert_eq!(z, zip, "{a}");
    }
    assert_eq!(layout::zip(&layout::httpfiles(&o).unwrap()).unwrap(), zip);
}

#[test]
fn with_runtime_each_platform_gets_innovaphones_binary_renamed() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = tmp.path().join("jse");
    for a in ARCHES {
        std::fs::create_dir_all(rt.join(a)).unwrap();
        std::fs::write(rt.join(a).join("generic"), format!("ELF runtime for {a}")).unwrap();
    }
    let o = options(tmp.path(), Some(rt));
    let t = layout::layout(&o).unwrap();
    assert!(t.missing.is_empty());
    for a in ARCHES {
        let p = o.out.join(format!("1042/{a}/innovaphone-kuando/{BINARY}"));
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            format!("ELF runtime for {a}")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o111,
                0o111
            );
        }
    }
    let report = layout::report(&o, &t, &layout::httpfiles(&o).unwrap());
    assert!(report.contains("complete"), "{report}");
    assert!(!report.contains("MISSING"));
}

#[test]
fn a_runtime_folder_without_a_platform_is_refused_and_nothing_is_half_written() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = tmp.path().join("jse");
    std::fs::create_dir_all(rt.join("arm")).unwrap();
    std::fs::write(rt.join("arm").join("generic"), "x").unwrap();
    let o = options(tmp.path(), Some(rt));
    let e = layout::layout(&o).err().expect("refused");
    assert!(e.contains("arm64/generic"), "{e}");
    assert!(!o.out.join("1042").exists());
}

#[test]
fn build_number_and_label_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let mut o = options(tmp.path(), None);
    o.build = "12a".into();
    assert!(layout::layout(&o).is_err());
    o.build = "1042".into();
    o.label = "two words".into();
    assert!(layout::layout(&o).is_err());
}

#[test]
fn apps_json_is_an_app_store_entry() {
    let v: serde_json::Value = serde_json::from_str(&layout::apps_json("1042", "final")).unwrap();
    let app = &v["apps"][0];
    assert_eq!(app["id"], "innovaphone-kuando");
    assert_eq!(app["folder"], "innovaphone-kuando");
    assert_eq!(app["binary"], "innovaphone-kuando");
    assert_eq!(app["title"], "Connector for kuando®");
    assert_eq!(
        app["versions"],
        serde_json::json!([{"id": "13r3", "build": "1042", "label": "final"}])
    );
}

#[test]
fn the_check_finds_a_missing_service_script_plugin_file_page_file_or_wasm() {
    let tmp = tempfile::tempdir().unwrap();
    let good = good_entries(tmp.path());
    assert_eq!(problems(&good), "");
    for (gone, named_by) in [
        ("kuando.js", "config.json javascript.eval"),
        ("kuando-guard-claims.js", "config.json javascript.eval"),
        (
            "innovaphone.kuandomanagertexts.js",
            "plugins.json plugins[0].lang",
        ),
        (
            "innovaphone.kuandomanager.png",
            "plugins.json plugins[0].icon",
        ),
        (
            "innovaphone-kuando-config.css",
            "innovaphone-kuando-config.htm",
        ),
        ("innovaphone-kuando.js", "innovaphone-kuando.htm"),
        ("kuando_connector.js", "innovaphone-kuando.js"),
        ("kuando_config_bg.wasm", "kuando_config.js"),
        (
            "innovaphone-kuando-config.htm",
            "config.json apis.innovaphone-kuando-config",
        ),
        ("label.txt", "the runtime"),
    ] {
        let mut e = good.clone();
        e.remove(gone);
        let p = problems(&e);
        assert!(
            p.contains(&format!("{gone}: named by {named_by}, missing")),
            "{gone}: {p}"
        );
    }
}

#[test]
fn service_scripts_are_files_of_service_in_the_order_config_json_lists_them() {
    let ok = br#"{"javascript":{"eval":["b.js","a.js"]}}"#;
    assert_eq!(layout::service_scripts(ok).unwrap(), ["b.js", "a.js"]);
    for bad in [
        r#"{"javascript":{"eval":["sub/a.js"]}}"#,
        r#"{"javascript":{"eval":["sub/*"]}}"#,
        r#"{"javascript":{"eval":[".."]}}"#,
        r#"{"javascript":{"eval":[1]}}"#,
        r#"{"javascript":{}}"#,
        "{",
    ] {
        assert!(layout::service_scripts(bad.as_bytes()).is_err(), "{bad}");
    }
}

#[test]
fn the_check_refuses_bad_manifests() {
    let tmp = tempfile::tempdir().unwrap();
    let good = good_entries(tmp.path());
    let with = |f: &str, text: &str| {
        let mut e = good.clone();
        e.insert(f.into(), text.as_bytes().to_vec());
        problems(&e)
    };
    assert!(with("plugins.json", "{\"plugins\":[").contains("plugins.json: does not parse"));
    assert!(with("config.json", "[1]").contains("config.json: not a JSON object"));
    let config = String::from_utf8(good["config.json"].clone()).unwrap();
    let p = with(
        "config.json",
        &config.replacen('{', "{\"wake\":\"phone\",", 1),
    );
    assert!(
        p.contains("config.json: key \"wake\" is not one the spec documents"),
        "{p}"
    );
    let p = with(
        "plugins.json",
        r#"{"plugins":[{"js":"innovaphone.kuandomanager","icon":"innovaphone.kuandomanager.png","lang":"innovaphone.kuandomanagertexts","title":"x"}]}"#,
    );
    assert!(p.contains("key \"title\""), "{p}");
    let p = with(
        "plugins.json",
        r#"{"plugins":[{"js":"innovaphone.kuandomanager.js","icon":"innovaphone.kuandomanager.png","lang":"innovaphone.kuandomanagertexts"}]}"#,
    );
    assert!(p.contains("without .js"), "{p}");
    assert!(with("build.txt", "10a\n").contains("build.txt: must be one line"));
    assert!(with("label.txt", "dvl\nx\n").contains("label.txt: must be one line"));
}

#[test]
fn the_check_refuses_anything_the_runtime_does_not_need() {
    let tmp = tempfile::tempdir().unwrap();
    let mut e = good_entries(tmp.path());
    e.insert("README.md".into(), b"# notes".to_vec());
    e.insert("innovaphone-kuando-config.svg".into(), b"<svg/>".to_vec());
    let p = problems(&e);
    assert!(
        p.contains("README.md: nothing the runtime loads needs it"),
        "{p}"
    );
    assert!(p.contains("innovaphone-kuando-config.svg: nothing"), "{p}");
}

#[test]
fn the_check_refuses_sub_folders_and_references_into_them() {
    let tmp = tempfile::tempdir().unwrap();
    let good = good_entries(tmp.path());
    // A zip with a sub-folder entry, either separator.
    for name in ["pkg/kuando_connector.js", "pkg\\kuando_connector.js"] {
        let mut list: Vec<(String, Vec<u8>)> = good.clone().into_iter().collect();
        list.push((name.into(), b"x".to_vec()));
        let zip = layout::zip(&list).unwrap();
        let p = check::check_zip(&zip).err().unwrap_or_default().join("\n");
        assert!(p.contains("not at the zip root"), "{name}: {p}");
    }
    // A shim that still loads its glue from pkg/.
    let mut e = good.clone();
    e.insert(
        "innovaphone-kuando.js".into(),
        b"import init from \"./pkg/kuando_connector.js\"; init();".to_vec(),
    );
    let p = problems(&e);
    assert!(p.contains("references ./pkg/kuando_connector.js"), "{p}");
    assert!(check::check_zip(b"not a zip").is_err());
}
