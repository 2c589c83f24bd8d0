//! Embeds the shipped rule packs (`rules/**/*.toml`) and the appliance profile
//! (`profiles/*.toml`) into the binary, so `sporen` runs with no files beside it.

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
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
    let mut files = Vec::new();
    collect(&manifest.join(sub), &mut files);
    writeln!(code, "pub static {name}: &[(&str, &str)] = &[").unwrap();
    for f in files {
        let rel = f
            .strip_prefix(manifest)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        writeln!(
            code,
            "    ({rel:?}, include_str!({:?})),",
            f.display().to_string()
        )
        .unwrap();
    }
    writeln!(code, "];").unwrap();
    println!("cargo:rerun-if-changed={sub}");
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let mut code = String::new();
    table(&manifest, "rules", "PACKS", &mut code);
    table(&manifest, "profiles", "PROFILES", &mut code);
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("embedded.rs");
    std::fs::write(out, code).unwrap();
}
