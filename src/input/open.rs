//! Turns what the user named (folders, archives, images, `-`, an SSH host) into an
//! [`Evidence`]: sniffs the file type, reads plain tars and images in place, spools compressed
//! and streamed inputs into a private temporary file, runs the SSH collection, and records
//! every input's digest. Never writes to the evidence; the spool never lies inside it.

use super::digest::{Hashing, InputDigests};
use super::dir::DirEvidence;
use super::spool::{self, Filled, Spool, Stop};
use super::ssh::{SshOptions, remote_gaps, ssh_args, watch_stderr};
use super::tar::{BANNER_MAX, Growing, TarEvidence, find_tar_start};
use super::ufs::{ImageEvidence, ReadAt};
use super::unsupported;
use super::{Entry, Evidence, Listing};
use super::{Layout, Limits};
use crate::model::{EvPath, Gap, GapCause, InputFile};
use anyhow::{Context, Result, bail};
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What to open: target paths, or an SSH host.
#[derive(Clone, Debug)]
pub(crate) struct InputSpec {
    /// Folders, archives, images or `-`.
    pub(crate) targets: Vec<PathBuf>,
    /// `[user@]host` to collect from over SSH instead.
    pub(crate) ssh: Option<String>,
    /// The ssh client to run.
    pub(crate) ssh_program: PathBuf,
    /// Run the remote command through the appliance's CLI (the layout's `ssh_shell`).
    pub(crate) ssh_cli: bool,
    /// Batch mode and `-o` options of the ssh client.
    pub(crate) ssh_options: SshOptions,
    /// Where spool files go (`--temp-dir`); `None`: `$TMPDIR`, else `/tmp`.
    pub(crate) temp_dir: Option<PathBuf>,
    /// Most bytes unpacked or received into a spool (`--max-unpacked`).
    pub(crate) max_unpacked: u64,
    /// Budgets of a tar archive (`--max-entries`, `--max-link-bytes`).
    pub(crate) limits: Limits,
    /// How the appliance family's archives, images and SSH collection map onto its tree.
    pub(crate) layout: Layout,
    /// `--quiet`: the SSH command is not printed before it runs.
    pub(crate) quiet: bool,
}

impl Default for InputSpec {
    fn default() -> Self {
        InputSpec {
            targets: Vec::new(),
            ssh: None,
            ssh_program: PathBuf::from("ssh"),
            ssh_cli: true,
            ssh_options: SshOptions::default(),
            temp_dir: None,
            max_unpacked: spool::DEFAULT_MAX_UNPACKED,
            limits: Limits::default(),
            layout: Layout::default(),
            quiet: false,
        }
    }
}

/// The remote command `--ssh` runs: a tar of the layout's SSH paths to standard output, through
/// the appliance's CLI when `cli`. It reads, it never writes on the appliance. tar's complaints
/// go to standard error, which ssh brings back: paths it could not read become coverage gaps.
pub fn ssh_remote_command(layout: &Layout, cli: bool) -> String {
    let excludes: String = layout
        .ssh_exclude
        .iter()
        .map(|e| format!("--exclude '{e}' "))
        .collect();
    let tar = format!("tar -cf - -C / {excludes}{}", layout.ssh_paths.join(" "));
    match (cli, layout.ssh_shell) {
        (true, Some(shell)) => format!("{shell} \"{tar}\""),
        _ => tar,
    }
}

/// Evidence with what was learnt while receiving it: input digests, and gaps and notes from
/// unpacking (a budget reached, a damaged stream).
struct Received {
    inner: Box<dyn Evidence>,
    digests: InputDigests,
    gaps: Vec<Gap>,
    notes: Vec<String>,
}

impl Evidence for Received {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    fn list(&self) -> Listing {
        let mut l = self.inner.list();
        l.gaps.extend(self.gaps.iter().cloned());
        l
    }

    fn open(&self, entry: &Entry) -> io::Result<Box<dyn Read + Send + '_>> {
        self.inner.open(entry)
    }

    fn resolve(&self, path: &EvPath) -> Option<EvPath> {
        self.inner.resolve(path)
    }

    fn describe(&self) -> Option<String> {
        let mut parts = self.notes.clone();
        parts.extend(self.inner.describe());
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    fn inputs(&self) -> Vec<InputFile> {
        self.digests.collect()
    }

    fn stated_digests(&self, entry: &Entry) -> Option<(Option<String>, Option<String>)> {
        self.inner.stated_digests(entry)
    }
}

/// A compressed or streamed input copied into a spool.
struct Spooled {
    file: Arc<File>,
    len: u64,
    stop: Option<Stop>,
    /// The archive indexed while it was copied (`None` inside once taken).
    tar: Option<Growing>,
    /// Bytes before the data that were skipped (a banner before a gzip stream).
    skipped: usize,
    compressed: bool,
    trailing: u64,
    input: InputFile,
}

impl Spooled {
    /// The gap and notes the spooling leaves for the report.
    fn remarks(&self) -> (Vec<Gap>, Vec<String>) {
        let mut notes = Vec::new();
        if self.compressed {
            notes.push(format!("gzip-compressed, {} bytes unpacked", self.len));
        }
        if self.skipped > 0 {
            notes.push(format!("{} bytes before the archive skipped", self.skipped));
        }
        if self.trailing > 0 {
            notes.push(format!(
                "{} bytes after the gzip stream are not gzip and were ignored",
                self.trailing
            ));
        }
        let gaps = self
            .stop
            .iter()
            .map(|s| {
                let (cause, blocks) = match s {
                    Stop::Budget(_) => (GapCause::TooLarge, true),
                    // Nothing of the archive is missing: what follows its end is not part of it.
                    Stop::AfterArchive { .. } => (GapCause::CorruptArchive, false),
                    Stop::Failed(..) | Stop::NotTar => (GapCause::CorruptArchive, true),
                };
                Gap::new(EvPath::root(), cause, s.detail(), blocks)
            })
            .collect();
        (gaps, notes)
    }

    /// Why nothing usable came out of it, for an error message.
    fn why_unusable(&self) -> String {
        match &self.stop {
            // The error itself already says there is no archive.
            Some(Stop::NotTar) | None => String::new(),
            Some(s) => format!("; {}", s.detail()),
        }
    }
}

/// Where spools go, checked once.
struct Spooler<'a> {
    spec: &'a InputSpec,
    /// The folder, or why it cannot be used (an error only once a spool is needed).
    temp: std::result::Result<PathBuf, String>,
}

impl Spooler<'_> {
    /// A new spool that indexes a tar archive as it arrives; a `stream` stops early when
    /// it holds none.
    fn spool(&self, stream: bool) -> Result<Spool> {
        let temp = self.temp.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut s = Spool::new(temp, self.spec.max_unpacked).with_context(|| {
            format!(
                "cannot create a temporary file in {} (--temp-dir)",
                temp.display()
            )
        })?;
        s.watch_tar(self.spec.limits.max_entries, stream);
        Ok(s)
    }
}

/// The folder for temporary files: `--temp-dir`, `$TMPDIR` or `/tmp`, refused when it lies
/// inside a target (sporen never writes into evidence).
pub(crate) fn usable_temp_dir(a: &InputSpec) -> Result<PathBuf> {
    let given = a.temp_dir.clone().unwrap_or_else(std::env::temp_dir);
    let real = std::fs::canonicalize(&given)
        .with_context(|| format!("--temp-dir {}: cannot use it", given.display()))?;
    if !real.is_dir() {
        bail!("--temp-dir {}: not a folder", given.display());
    }
    for t in a.targets.iter().filter(|t| t.as_os_str() != "-") {
        if let Ok(rt) = std::fs::canonicalize(t)
            && real.starts_with(&rt)
        {
            bail!(
                "--temp-dir {} is inside the evidence {}: refused (choose a folder outside it)",
                given.display(),
                t.display()
            );
        }
    }
    Ok(real)
}

/// Why a single TARGET is refused: it is neither a folder nor a file (a FIFO, a socket, a device).
const NOT_EVIDENCE: &str = "not a folder, a tar archive, a disk image or -";

/// Why `-` is refused among several TARGETs.
const STDIN_ALONE: &str = "- (standard input) can only be the only TARGET";

/// Why a folder or a special file is refused among several TARGETs.
const IMAGES_ONLY: &str = "several TARGETs must all be disk images";

/// The real path of a TARGET and what `stat` says of it, without opening it. The TARGET is the
/// user's own path: a symbolic link to it is followed (links inside the evidence never are).
/// `failed` starts the error message (`cannot scan`, `cannot read`).
fn stat_target(target: &Path, failed: &str) -> Result<(PathBuf, Metadata)> {
    let why = || format!("{failed} {}", target.display());
    let real = std::fs::canonicalize(target).with_context(why)?;
    let meta = std::fs::metadata(&real).with_context(why)?;
    Ok((real, meta))
}

/// Refuses an SSH host that is empty or that ssh would read as an option.
pub(crate) fn check_ssh_host(host: &str) -> Result<()> {
    if host.is_empty() || host.starts_with('-') {
        bail!(
            "--ssh host `{host}` is empty or starts with `-`: refused (ssh would read it as an option)"
        );
    }
    Ok(())
}

/// Why the temporary folder cannot be used, when one is given (`--temp-dir`) or will surely be
/// needed (`-`, `--ssh`); the default folder of other inputs is checked only once a compressed
/// input needs it. [`open_evidence`] checks again as it opens.
pub(crate) fn check_temp_dir(spec: &InputSpec) -> Option<String> {
    let streamed =
        spec.ssh.is_some() || matches!(spec.targets.as_slice(), [t] if t.as_os_str() == "-");
    if spec.temp_dir.is_none() && !streamed {
        return None;
    }
    usable_temp_dir(spec).err().map(|e| format!("{e:#}"))
}

/// The problems of the TARGETs that `stat` shows, one per TARGET at most, without opening any:
/// a path that does not exist, one that is neither a folder nor a file (a FIFO, a device), `-`
/// among several TARGETs, a folder among disk images. [`open_evidence`] checks again as it
/// opens, since the filesystem may change in between.
pub(crate) fn check_targets(targets: &[PathBuf]) -> Vec<String> {
    let message = |e: anyhow::Error| format!("{e:#}");
    match targets {
        [t] if t.as_os_str() == "-" => Vec::new(),
        [t] => match stat_target(t, "cannot scan") {
            Ok((_, m)) if m.is_dir() || m.is_file() => Vec::new(),
            Ok(_) => vec![format!("cannot scan {}: {NOT_EVIDENCE}", t.display())],
            Err(e) => vec![message(e)],
        },
        several => several
            .iter()
            .filter_map(|t| {
                if t.as_os_str() == "-" {
                    return Some(STDIN_ALONE.to_owned());
                }
                match stat_target(t, "cannot read") {
                    Ok((_, m)) if m.is_file() => None,
                    Ok(_) => Some(format!("cannot scan {}: {IMAGES_ONLY}", t.display())),
                    Err(e) => Some(message(e)),
                }
            })
            .collect(),
    }
}

/// Opens the evidence an [`InputSpec`] names; returns it and the name the report gives it.
pub(crate) fn open_evidence(a: &InputSpec) -> Result<(Box<dyn Evidence>, String)> {
    // A --temp-dir given is checked at once; the default only when a spool is needed (a
    // folder scan of `/` must not fail because /tmp lies inside it).
    let temp = usable_temp_dir(a).map_err(|e| format!("{e:#}"));
    if a.temp_dir.is_some()
        && let Err(e) = &temp
    {
        bail!("{e}");
    }
    let ctx = Spooler { spec: a, temp };
    if let Some(host) = &a.ssh {
        return open_ssh(&ctx, host);
    }
    let [target] = a.targets.as_slice() else {
        return open_images(&ctx, &a.targets);
    };
    if target.as_os_str() == "-" {
        let stdin = io::stdin().lock();
        let s = spool_stream(&ctx, stdin, "-")?;
        let ev =
            tar_from_spool(a, s, "tar-stdin").context("standard input is not a tar archive")?;
        return Ok((ev, "-".to_owned()));
    }
    let name = target.display().to_string();
    let (real, meta) = stat_target(target, "cannot scan")?;
    if meta.is_dir() {
        let ev = DirEvidence::with_limits(target, &a.limits)
            .with_context(|| format!("cannot scan {name}"))?;
        return Ok((Box::new(ev), name));
    }
    if !meta.is_file() {
        bail!("cannot scan {name}: {NOT_EVIDENCE}");
    }
    let file = super::dir::open_read_only(&real).with_context(|| format!("cannot read {name}"))?;
    let mut head = vec![0u8; BANNER_MAX + 512];
    let n = read_full_at(&file, &mut head).with_context(|| format!("cannot read {name}"))?;
    let head = &head[..n];
    refuse_unsupported(&file, meta.len(), head, &name)?;
    if crate::util::bytes::is_gzip(head) {
        let s = spool_file(&ctx, file, &name)?;
        if s.tar.as_ref().is_some_and(|t| !t.not_tar()) {
            let ev = tar_from_spool(a, s, "tar")
                .with_context(|| format!("cannot read {name} as a tar archive"))?;
            return Ok((ev, name));
        }
        return images_from(
            vec![(name.clone(), Image::Spooled(Box::new(s)))],
            name,
            &a.layout,
            &a.limits,
        );
    }
    if find_tar_start(head).is_some() {
        let file = Arc::new(file);
        let ev = TarEvidence::open(file.clone(), meta.len(), "tar", &a.layout, &a.limits)
            .with_context(|| format!("cannot read {name} as a tar archive"))?;
        let digests = InputDigests::default();
        digests.hash_in_background(name.clone(), file);
        return Ok((
            received(Box::new(ev), digests, Vec::new(), Vec::new()),
            name,
        ));
    }
    open_images(&ctx, std::slice::from_ref(target))
}

/// Stops with a clear error when the file is in a format sporen does not read (xz, bzip2,
/// zstd, zip, 7z, E01, VMDK, VHD/VHDX, QCOW, VDI), naming it and the command that converts it.
/// Reads the last 512 bytes too (a fixed VHD's footer), with a positioned read-only read.
fn refuse_unsupported(file: &File, len: u64, head: &[u8], name: &str) -> Result<()> {
    let mut tail = [0u8; 512];
    let tail = match len.checked_sub(512) {
        Some(at) if at > 0 => {
            let n = std::os::unix::fs::FileExt::read_at(file, &mut tail, at)
                .with_context(|| format!("cannot read {name}"))?;
            &tail[..n]
        }
        _ => &[][..],
    };
    match unsupported::recognise(head, tail) {
        Some(u) => bail!("{}", u.message(name)),
        None => Ok(()),
    }
}

fn received(
    inner: Box<dyn Evidence>,
    digests: InputDigests,
    gaps: Vec<Gap>,
    notes: Vec<String>,
) -> Box<dyn Evidence> {
    Box::new(Received {
        inner,
        digests,
        gaps,
        notes,
    })
}

/// Reads from the start of `f` until `buf` is full or the file ends.
fn read_full_at(f: &File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match std::os::unix::fs::FileExt::read_at(f, &mut buf[n..], n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Decompresses a gzip file into a spool, hashing the file as it goes (to its last byte, even
/// when unpacking stopped early).
fn spool_file(ctx: &Spooler<'_>, file: File, name: &str) -> Result<Spooled> {
    let mut spool = ctx.spool(false)?;
    let size = file.metadata()?.len();
    let mut hashed = Hashing::new(file);
    let trailing = spool::gunzip_into(&mut spool, &mut hashed)
        .with_context(|| format!("cannot write the temporary copy of {name}"))?;
    // The digest covers the whole file, also when unpacking stopped early.
    spool::drain(&mut hashed);
    let complete = hashed.count() == size;
    let input = hashed.finish(name, complete);
    let Filled {
        file,
        len,
        stop,
        tar,
    } = spool.finish()?;
    Ok(Spooled {
        file,
        len,
        stop,
        tar,
        skipped: 0,
        compressed: true,
        trailing: trailing.0,
        input,
    })
}

/// Copies a stream (standard input, SSH) into a spool: decompressed when a gzip stream starts
/// within its first 64 KiB (after a banner), as received otherwise.
fn spool_stream(ctx: &Spooler<'_>, src: impl Read, name: &str) -> Result<Spooled> {
    let mut spool = ctx.spool(true)?;
    let mut hashed = Hashing::new(src);
    let mut head = Vec::with_capacity(BANNER_MAX + 512);
    (&mut hashed)
        .take(BANNER_MAX as u64 + 512)
        .read_to_end(&mut head)
        .with_context(|| format!("cannot read {name}"))?;
    let gz_at = (0..head.len().min(BANNER_MAX).saturating_sub(2))
        .find(|&i| head[i..].starts_with(&[0x1f, 0x8b, 0x08]));
    let tar_at = find_tar_start(&head);
    if gz_at.is_none()
        && tar_at.is_none()
        && let Some(u) = unsupported::recognise(&head, &[])
    {
        bail!("{}", u.message_stream(name));
    }
    let out = match gz_at {
        Some(at) if tar_at.is_none_or(|t| at < t) => {
            let src = io::Cursor::new(&head[at..]).chain(&mut hashed);
            let trailing = spool::gunzip_into(&mut spool, src)?;
            (at, true, trailing.0)
        }
        _ => {
            let mut src = io::Cursor::new(&head[..]).chain(&mut hashed);
            spool.copy_from(&mut src)?;
            (0, false, 0)
        }
    };
    let complete = spool.stop().is_none();
    let input = hashed.finish(name, complete);
    let Filled {
        file,
        len,
        stop,
        tar,
    } = spool.finish()?;
    Ok(Spooled {
        file,
        len,
        stop,
        tar,
        skipped: out.0,
        compressed: out.1,
        trailing: out.2,
        input,
    })
}

/// The tar indexed while it was spooled.
fn tar_from_spool(a: &InputSpec, s: Spooled, kind: &'static str) -> Result<Box<dyn Evidence>> {
    tar_from_spool_with(a, s, kind, Vec::new())
}

/// [`tar_from_spool`] with gaps learnt elsewhere (the remote tar's complaints).
fn tar_from_spool_with(
    a: &InputSpec,
    mut s: Spooled,
    kind: &'static str,
    extra: Vec<Gap>,
) -> Result<Box<dyn Evidence>> {
    let indexed = s
        .tar
        .take()
        .map(|t| t.into_evidence(kind, &a.layout, &a.limits));
    let ev = match indexed {
        Some(Ok(ev)) => ev,
        Some(Err(e)) => bail!("{e}{}", s.why_unusable()),
        None => bail!("no tar archive{}", s.why_unusable()),
    };
    let (mut gaps, notes) = s.remarks();
    gaps.extend(extra);
    let digests = InputDigests::default();
    digests.push(s.input);
    Ok(received(Box::new(ev), digests, gaps, notes))
}

/// Runs the ssh client and reads the tar it streams, with `--` before the host so that a host
/// cannot be taken for an option. Prompts (password, host key) go to the terminal as ssh asks
/// them there; the client's standard error is shown and read for the remote tar's complaints.
fn open_ssh(ctx: &Spooler<'_>, host: &str) -> Result<(Box<dyn Evidence>, String)> {
    check_ssh_host(host)?;
    let a = ctx.spec;
    let remote = ssh_remote_command(&a.layout, a.ssh_cli);
    let args = ssh_args(&a.ssh_options, host, &remote);
    if !a.quiet {
        eprintln!(
            "sporen: running: {} {}",
            a.ssh_program.display(),
            crate::report::sanitize::escape_str(&args.join(" "))
        );
    }
    let mut child = std::process::Command::new(&a.ssh_program)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", a.ssh_program.display()))?;
    let name = format!("ssh://{host}");
    let stdout = child.stdout.take().context("no stream from ssh")?;
    let stderr = child.stderr.take().map(watch_stderr);
    let spooled = spool_stream(ctx, stdout, &name);
    let stopped_early = spooled.as_ref().map_or(true, |s| s.stop.is_some());
    let status = finish_client(&mut child, stopped_early);
    let remote_errors = stderr
        .map(|t| t.join().unwrap_or_default())
        .unwrap_or_default();
    let s = spooled?;
    if s.len == 0 {
        let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
        let said = remote_errors
            .last()
            .map_or(String::new(), |l| format!(": {l}"));
        bail!(
            "{} exited with {status} and sent no data{said}",
            a.ssh_program.display()
        );
    }
    let ev = tar_from_spool_with(a, s, "ssh", remote_gaps(&remote_errors))
        .with_context(|| format!("the stream from {host} is not a tar archive"))?;
    Ok((ev, name))
}

/// Waits for the ssh client to exit once its stream ended, so that the last of its standard
/// error arrives; a client that stopped early (a budget, an error) or lingers is killed.
fn finish_client(
    child: &mut std::process::Child,
    stopped_early: bool,
) -> io::Result<std::process::ExitStatus> {
    if !stopped_early {
        for _ in 0..100 {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    let _ = child.kill();
    child.wait()
}

/// A disk image read in place, or from a spool.
enum Image {
    File(Arc<File>),
    Spooled(Box<Spooled>),
}

/// Opens raw disk images (plain or gzip) and mounts the filesystems in them by content.
fn open_images(ctx: &Spooler<'_>, paths: &[PathBuf]) -> Result<(Box<dyn Evidence>, String)> {
    let mut images = Vec::new();
    for p in paths {
        let name = p.display().to_string();
        if p.as_os_str() == "-" {
            bail!("{STDIN_ALONE}");
        }
        let real = std::fs::canonicalize(p).with_context(|| format!("cannot read {name}"))?;
        let f = super::dir::open_read_only(&real).with_context(|| format!("cannot read {name}"))?;
        if !f.metadata()?.is_file() {
            bail!("cannot scan {name}: {IMAGES_ONLY}");
        }
        let mut magic = [0u8; unsupported::HEAD_LEN];
        let n = read_full_at(&f, &mut magic)?;
        refuse_unsupported(&f, f.metadata()?.len(), &magic[..n], &name)?;
        if crate::util::bytes::is_gzip(&magic[..n]) {
            images.push((
                name.clone(),
                Image::Spooled(Box::new(spool_file(ctx, f, &name)?)),
            ));
        } else {
            images.push((name, Image::File(Arc::new(f))));
        }
    }
    let names = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" + ");
    images_from(images, names, &ctx.spec.layout, &ctx.spec.limits)
}

fn images_from(
    images: Vec<(String, Image)>,
    names: String,
    layout: &Layout,
    limits: &Limits,
) -> Result<(Box<dyn Evidence>, String)> {
    let digests = InputDigests::default();
    let mut gaps = Vec::new();
    let mut notes = Vec::new();
    let mut devs: Vec<(String, Arc<dyn ReadAt>)> = Vec::new();
    let mut why = String::new();
    for (name, img) in images {
        match img {
            Image::File(f) => {
                digests.hash_in_background(name.clone(), f.clone());
                devs.push((name, f));
            }
            Image::Spooled(s) => {
                let (g, n) = s.remarks();
                gaps.extend(g);
                notes.extend(n.into_iter().map(|n| format!("{name}: {n}")));
                why.push_str(&s.why_unusable());
                digests.push(s.input.clone());
                devs.push((name, s.file.clone()));
            }
        }
    }
    let ev = ImageEvidence::with_limits(devs, layout, limits).with_context(|| {
        format!("cannot scan {names}: not a folder, a tar archive or a UFS disk image{why}")
    })?;
    Ok((received(Box::new(ev), digests, gaps, notes), names))
}
