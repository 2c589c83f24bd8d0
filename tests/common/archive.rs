//! Archives: tar members written header by header (so a test can make any typeflag, name or PAX
//! record an attacker could), a tar of a folder as `tar -cf` writes it, gzip and gunzip, and a
//! probe rule that names the files holding a marker.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A ustar header block with a valid checksum. `name` longer than 100 bytes is cut (use a PAX
/// `path` record for long names).
pub fn header(name: &[u8], typeflag: u8, size: u64, link: &[u8]) -> [u8; 512] {
    let mut h = [0u8; 512];
    let n = name.len().min(100);
    h[..n].copy_from_slice(&name[..n]);
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    if size < 1 << 33 {
        h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    } else {
        // GNU base-256: the high bit of the first byte set, the number big-endian.
        h[124] = 0x80;
        h[128..136].copy_from_slice(&size.to_be_bytes());
    }
    h[136..148].copy_from_slice(b"13606263020\0"); // 2020-01-10
    h[156] = typeflag;
    let l = link.len().min(100);
    h[157..157 + l].copy_from_slice(&link[..l]);
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

/// Data padded to whole 512-byte blocks.
pub fn padded(data: &[u8]) -> Vec<u8> {
    let mut v = data.to_vec();
    v.resize(data.len().div_ceil(512) * 512, 0);
    v
}

/// A member with a header of `typeflag` and `data`.
pub fn typed(name: &str, typeflag: u8, data: &[u8]) -> Vec<u8> {
    let mut v = header(name.as_bytes(), typeflag, data.len() as u64, b"").to_vec();
    v.extend(padded(data));
    v
}

/// A regular file member.
pub fn file(name: &str, data: &[u8]) -> Vec<u8> {
    typed(name, b'0', data)
}

/// A directory member.
pub fn dir(name: &str) -> Vec<u8> {
    header(name.as_bytes(), b'5', 0, b"").to_vec()
}

/// A hard link member.
pub fn hard_link(name: &str, target: &str) -> Vec<u8> {
    header(name.as_bytes(), b'1', 0, target.as_bytes()).to_vec()
}

/// A symbolic link member.
pub fn symlink(name: &str, target: &str) -> Vec<u8> {
    header(name.as_bytes(), b'2', 0, target.as_bytes()).to_vec()
}

/// A PAX extended header (`x`) with the given records, applying to the next member.
pub fn pax(records: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in records {
        // The length counts itself: find the fixed point.
        let rest = k.len() + v.len() + 3;
        let mut len = rest + 1;
        while len.to_string().len() + rest != len {
            len = len.to_string().len() + rest;
        }
        body.extend(format!("{len} {k}=").as_bytes());
        body.extend(*v);
        body.push(b'\n');
    }
    typed("PaxHeaders/x", b'x', &body)
}

/// The two zero blocks that end an archive.
pub fn end() -> Vec<u8> {
    vec![0u8; 1024]
}

/// Members followed by the end marker.
pub fn archive(members: &[Vec<u8>]) -> Vec<u8> {
    let mut v = members.concat();
    v.extend(end());
    v
}

/// A tar of `root` as `tar -cf` writes it: modes, owners, times and symbolic links kept, the two
/// zero blocks of the end marker last and nothing after them.
pub fn tar_of(root: &Path) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(false);
    b.mode(tar::HeaderMode::Complete);
    b.append_dir_all(".", root).expect("tar a folder");
    b.into_inner().expect("finish tar")
}

/// `data` gzip'd (fast: test inputs only need to be gzip).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    gzip_with(data, flate2::Compression::fast())
}

/// `data` gzip'd as small as gzip can (for files committed to the repository).
pub fn gzip_best(data: &[u8]) -> Vec<u8> {
    gzip_with(data, flate2::Compression::best())
}

fn gzip_with(data: &[u8], level: flate2::Compression) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), level);
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip finish")
}

/// `mib` MiB of zeros as a run of gzip members (one member compressed once, repeated): what
/// `gzip` of the zeros would unpack to, without compressing them in the test.
pub fn gzip_zeros(mib: usize) -> Vec<u8> {
    gzip(&vec![0u8; 1 << 20]).repeat(mib)
}

/// Gunzips a file (a committed image, a rotated log).
pub fn gunzip(p: &Path) -> Vec<u8> {
    let f = std::fs::File::open(p).unwrap_or_else(|e| panic!("open {}: {e}", p.display()));
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(f)
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("gunzip {}: {e}", p.display()));
    out
}

/// Writes a rule pack whose one rule flags every file (of `paths`) holding `marker`.
pub fn probe_rules(dir: &Path, marker: &str, paths: &[&str]) -> PathBuf {
    let p = dir.join("probe.toml");
    let paths = paths
        .iter()
        .map(|p| format!("{p:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    std::fs::write(
        &p,
        format!(
            "[pack]\nid = \"probe\"\ntitle = \"probe\"\ndescription = \"Where the marker is.\"\n\n\
             [[rule]]\nid = \"probe.marker\"\ntitle = \"file holding the marker\"\n\
             description = \"d\"\nseverity = \"medium\"\n[rule.file]\npaths = [{paths}]\n\
             [rule.file.content]\nany = [{marker:?}]\n"
        ),
    )
    .unwrap();
    p
}

/// Runs sporen with the probe rules only and a JSON report; extra arguments go first.
pub fn probe_scan(target: &Path, rules: &Path, extra: &[&str]) -> (Output, serde_json::Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sporen"));
    cmd.arg("scan")
        .args(extra)
        .arg(target)
        .arg("--no-builtin-rules")
        .arg("--rules")
        .arg(rules)
        .args(["--format", "json"]);
    let out = cmd.output().expect("run sporen");
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, v)
}
