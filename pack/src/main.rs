//! `kuando-pack package [--root DIR] [--pkg DIR] [--out DIR] --build N --label L [--runtime DIR]`
//! lays out the release tree and prints it; `kuando-pack check FILE.zip…` checks zips. Exit status 1 on a
//! problem, 2 on bad arguments.

use std::path::PathBuf;
use std::process::ExitCode;

use kuando_pack::{check, layout};

fn usage() -> ExitCode {
    eprintln!(
        "usage: kuando-pack package [--root DIR] [--pkg DIR] [--out DIR] --build N --label L [--runtime DIR]\n\
         \x20      kuando-pack check FILE.zip..."
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("package") => package(&args[1..]),
        Some("check") if args.len() > 1 => {
            let mut bad = false;
            for f in &args[1..] {
                match std::fs::read(f).map_err(|e| vec![format!("{f}: {e}")]) {
                    Ok(b) => match check::check_zip(&b) {
                        Ok(entries) => {
                            println!("{f}: package check passed ({} files)", entries.len())
                        }
                        Err(p) => {
                            bad = true;
                            eprintln!("{f}: package check failed:\n  {}", p.join("\n  "));
                        }
                    },
                    Err(p) => {
                        bad = true;
                        eprintln!("{}", p.join("\n"));
                    }
                }
            }
            if bad {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => usage(),
    }
}

fn package(args: &[String]) -> ExitCode {
    let mut o = layout::Options {
        root: PathBuf::from("."),
        pkg: PathBuf::from("pkg"),
        out: PathBuf::from("dist"),
        build: String::new(),
        label: String::new(),
        runtime: None,
    };
    let mut pkg_set = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let Some(v) = it.next() else {
            return usage();
        };
        match a.as_str() {
            "--root" => o.root = PathBuf::from(v),
            "--pkg" => {
                o.pkg = PathBuf::from(v);
                pkg_set = true;
            }
            "--out" => o.out = PathBuf::from(v),
            "--build" => o.build = v.clone(),
            "--label" => o.label = v.clone(),
            "--runtime" => o.runtime = Some(PathBuf::from(v)),
            _ => return usage(),
        }
    }
    if !pkg_set {
        o.pkg = o.root.join("pkg");
    }
    let entries = match layout::httpfiles(&o) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("kuando-pack: {e}");
            return ExitCode::from(1);
        }
    };
    match layout::layout(&o) {
        Ok(t) => {
            print!("{}", layout::report(&o, &t, &entries));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kuando-pack: {e}");
            ExitCode::from(1)
        }
    }
}
