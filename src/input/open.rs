//! Turns what the user named (folders, archives, images, `-`, an SSH host) into an
//! [`Evidence`]: sniffs the file type, decompresses, and runs the SSH collection. Never writes
//! to the evidence.

use super::Evidence;
use super::dir::DirEvidence;
use super::tar::TarEvidence;
use anyhow::{Context, Result, bail};
use std::io::{self, Read};
use std::path::PathBuf;

/// What to open: target paths, or an SSH host.
#[derive(Clone, Debug, Default)]
pub struct InputSpec {
    /// Folders, archives, images or `-`.
    pub targets: Vec<PathBuf>,
    /// `[user@]host` to collect from over SSH instead.
    pub ssh: Option<String>,
    /// The ssh client to run.
    pub ssh_program: PathBuf,
    /// Put `shell` before the remote command (the NetScaler CLI).
    pub ssh_cli: bool,
}

/// The paths `--ssh` collects: everything the rules and the verdict read, without core dumps
/// and upgrade packages (large, and not evidence of an attack by themselves).
pub const SSH_PATHS: &[&str] = &[
    "flash/boot/loader.conf",
    "flash/.version",
    "flash/nsconfig",
    "var/log",
    "var/nslog",
    "var/vpn",
    "var/netscaler/logon",
    "var/netscaler/gui",
    "var/netscaler/portal",
    "var/tmp",
    "var/nstmp",
    "var/cron",
    "var/at",
    "var/run/nshttp_profile_ids",
    "var/python/bin",
    "netscaler/portal",
    "netscaler/ns_gui/vpn",
    "netscaler/ns_gui/vpns",
    "netscaler/ns_gui/epa",
    "netscaler/ns_gui/admin_ui/rdx/core/css/images",
    "tmp",
    "etc/passwd",
    "etc/crontab",
    "etc/httpd.conf",
    "etc/rc",
    "etc/rc.local",
    "etc/rc.d",
    "root/.ssh",
    "boot",
];

/// The remote command `--ssh` runs: a tar of [`SSH_PATHS`] to standard output. It reads, it
/// never writes on the appliance (tar's warnings about absent paths go to standard error).
pub fn ssh_remote_command(cli: bool) -> String {
    let tar = format!(
        "tar -cf - -C / --exclude 'var/tmp/support' {} 2>/dev/null",
        SSH_PATHS.join(" ")
    );
    if cli { format!("shell \"{tar}\"") } else { tar }
}

/// Opens the evidence an [`InputSpec`] names; returns it and the name the report gives it.
pub fn open_evidence(a: &InputSpec) -> Result<(Box<dyn Evidence>, String)> {
    if let Some(host) = &a.ssh {
        let remote = ssh_remote_command(a.ssh_cli);
        eprintln!(
            "sporen: running: {} -o BatchMode=yes {host} {remote}",
            a.ssh_program.display()
        );
        let out = std::process::Command::new(&a.ssh_program)
            .arg("-o")
            .arg("BatchMode=yes")
            .arg(host)
            .arg(&remote)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .output()
            .with_context(|| format!("cannot run {}", a.ssh_program.display()))?;
        if out.stdout.is_empty() {
            bail!(
                "{} exited with {} and sent no data",
                a.ssh_program.display(),
                out.status
            );
        }
        let ev = TarEvidence::read(&out.stdout[..], "ssh")
            .with_context(|| format!("the stream from {host} is not a tar archive"))?;
        return Ok((Box::new(ev), format!("ssh://{host}")));
    }
    let [target] = a.targets.as_slice() else {
        return open_images(&a.targets);
    };
    if target.as_os_str() == "-" {
        let ev = TarEvidence::read(io::stdin().lock(), "tar-stdin")
            .context("standard input is not a tar archive")?;
        return Ok((Box::new(ev), "-".to_owned()));
    }
    let name = target.display().to_string();
    let meta = std::fs::metadata(target).with_context(|| format!("cannot scan {name}"))?;
    if meta.is_dir() {
        let ev = DirEvidence::new(target).with_context(|| format!("cannot scan {name}"))?;
        return Ok((Box::new(ev), name));
    }
    if !meta.is_file() {
        bail!("cannot scan {name}: not a folder, a tar archive, a disk image or -");
    }
    let mut head = vec![0u8; 64 * 1024];
    let n = crate::input::dir::open_read_only(target)
        .and_then(|mut f| f.read(&mut head))
        .with_context(|| format!("cannot read {name}"))?;
    let head = &head[..n];
    let plain_tar =
        crate::input::tar::looks_like_archive(head) && !crate::scan::read::is_gzip(head);
    if plain_tar {
        let f = crate::input::dir::open_read_only(target)
            .with_context(|| format!("cannot read {name}"))?;
        let ev = TarEvidence::read(f, "tar")
            .with_context(|| format!("cannot read {name} as a tar archive"))?;
        return Ok((Box::new(ev), name));
    }
    if crate::scan::read::is_gzip(head) {
        // A gzip tar, or a gzip disk image (dd | gzip): decompress once, in memory.
        let mut bytes = Vec::new();
        flate2::read::MultiGzDecoder::new(crate::input::dir::open_read_only(target)?)
            .read_to_end(&mut bytes)
            .with_context(|| format!("cannot decompress {name}"))?;
        if crate::input::tar::looks_like_archive(&bytes[..bytes.len().min(64 * 1024)]) {
            let mut ev = TarEvidence::read(&bytes[..], "tar")
                .with_context(|| format!("cannot read {name} as a tar archive"))?;
            ev.description = format!("gzip-compressed {}", ev.description);
            return Ok((Box::new(ev), name));
        }
        return open_images(std::slice::from_ref(target));
    }
    open_images(std::slice::from_ref(target))
}

/// Opens raw disk images (plain or gzip) and mounts the filesystems in them by content.
fn open_images(paths: &[PathBuf]) -> Result<(Box<dyn Evidence>, String)> {
    use crate::input::ufs::{ImageEvidence, ReadAt};
    use std::sync::Arc;
    let mut images: Vec<(String, Arc<dyn ReadAt>)> = Vec::new();
    for p in paths {
        let name = p.display().to_string();
        if p.as_os_str() == "-" {
            bail!("- (standard input) can only be the only TARGET");
        }
        let f =
            crate::input::dir::open_read_only(p).with_context(|| format!("cannot read {name}"))?;
        if !f.metadata()?.is_file() {
            bail!("cannot scan {name}: several TARGETs must all be disk images");
        }
        let mut magic = [0u8; 2];
        let n = crate::input::dir::open_read_only(p)?.read(&mut magic)?;
        if crate::scan::read::is_gzip(&magic[..n]) {
            let mut bytes = Vec::new();
            flate2::read::MultiGzDecoder::new(f)
                .read_to_end(&mut bytes)
                .with_context(|| format!("cannot decompress {name}"))?;
            images.push((name, Arc::new(bytes)));
        } else {
            images.push((name, Arc::new(f)));
        }
    }
    let names = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" + ");
    let ev = ImageEvidence::open(images).with_context(|| {
        format!("cannot scan {names}: not a folder, a tar archive or a UFS disk image")
    })?;
    Ok((Box::new(ev), names))
}
