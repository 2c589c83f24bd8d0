//! Embeds the shipped rule packs (`rules/**/*.toml`) into the binary, so `sporen` runs with no
//! files beside it (each appliance family embeds its own data files, see `src/appliance/`). A
//! missing or empty folder stops the build: a binary without them would give verdicts without
//! its rules.

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    // A missing folder would build a binary without its rules, which fails every
    // scan: stop the build instead.
    let rd = std::fs::read_dir(dir).unwrap_or_else(|e| {
        panic!(
            "{} cannot be read ({e}): the rule packs are part of the build",
            dir.display()
        )
    });
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
}

fn table(manifest: &Path, sub: &str, name: &str, code: &mut String) {
    let dir = manifest.join(sub);
    assert!(
        dir.is_dir(),
        "{} is missing: sporen embeds every *.toml in it and cannot be built without it",
        dir.display()
    );
    let mut files = Vec::new();
    collect(&dir, &mut files);
    assert!(
        !files.is_empty(),
        "{} holds no *.toml files: sporen would be built without them",
        dir.display()
    );
    writeln!(code, "pub static {name}: &[(&str, &str)] = &[").unwrap();
    for f in files {
        let rel = f
            .strip_prefix(manifest)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        // Relative to the manifest at compile time, so a build directory reused from another
        // checkout never embeds that checkout's files.
        writeln!(
            code,
            "    ({rel:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/{rel}\"))),"
        )
        .unwrap();
        println!("cargo:rerun-if-changed={rel}");
    }
    assert!(
        !code.ends_with("= &[\n"),
        "{sub}/ holds no *.toml files: the rule packs are part of the build"
    );
    writeln!(code, "];").unwrap();
    println!("cargo:rerun-if-changed={sub}");
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let mut code = String::new();
    table(&manifest, "rules", "PACKS", &mut code);
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("embedded.rs");
    std::fs::write(out, code).unwrap();
}
