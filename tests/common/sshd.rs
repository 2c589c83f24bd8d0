//! Real OpenSSH servers on loopback that play NetScaler appliances: each has its own port,
//! host key and `sshd_config` in a temporary folder, runs in the foreground (`-D`) as a child
//! of the test and is killed when dropped, and serves a fixture tree through a `ForceCommand`
//! (`tests/support/netscaler-cli`) that answers the CLI's `shell "tar ..."`.
//!
//! A password login needs sshd to read a password hash: without PAM it reads `/etc/shadow`.
//! The test never changes the machine's: the password server runs in a private mount
//! namespace (`unshare -m`, root only) in which a temporary shadow file with a known hash is
//! bind-mounted over `/etc/shadow`.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How a server lets the test user in.
pub enum Login<'a> {
    /// Password authentication only, with this password.
    Password(&'a str),
    /// Public keys only, those of this `authorized_keys` file.
    Key(&'a Path),
    /// Nobody gets in.
    Refuse,
}

/// A running test sshd.
pub struct Sshd {
    pub port: u16,
    /// `[127.0.0.1]:PORT TYPE KEY`, for a known_hosts file.
    pub known_host: String,
    pub log: PathBuf,
    child: Child,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The name of the user this test runs as.
pub fn user_name() -> String {
    let out = Command::new("id").arg("-un").output().expect("run id -un");
    String::from_utf8(out.stdout)
        .expect("user name")
        .trim()
        .to_owned()
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    l.local_addr().expect("local address").port()
}

/// Runs `cmd`, failing the test with its standard error when it does not succeed.
pub fn run_ok(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A new ed25519 key pair at `path` and `path.pub`, without a passphrase.
pub fn keygen(path: &Path) {
    run_ok(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "sporen-test", "-f"])
            .arg(path),
    );
}

/// Starts a server in `dir` (created) for `login`, serving the fixture tree `root` as the
/// appliance's `/`, and waits until it accepts connections.
pub fn start(sshd: &Path, dir: &Path, login: &Login<'_>, root: &Path) -> Sshd {
    std::fs::create_dir_all(dir).expect("server folder");
    // Debian's sshd refuses to start without its privilege separation folder.
    let _ = std::fs::create_dir_all("/run/sshd");
    let host_key = dir.join("host_key");
    keygen(&host_key);
    let port = free_port();
    let config = dir.join("sshd_config");
    std::fs::write(&config, sshd_config(dir, port, login, root)).expect("write sshd_config");
    let log = dir.join("sshd.log");
    let mut cmd = match login {
        Login::Password(pw) => in_private_shadow(sshd, dir, pw),
        _ => Command::new(sshd),
    };
    cmd.arg("-D")
        .arg("-f")
        .arg(&config)
        .arg("-E")
        .arg(&log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let child = cmd.spawn().expect("start sshd");
    let public = std::fs::read_to_string(dir.join("host_key.pub")).expect("host key");
    let key: Vec<&str> = public.split_whitespace().take(2).collect();
    let mut server = Sshd {
        port,
        known_host: format!("[127.0.0.1]:{port} {}", key.join(" ")),
        log,
        child,
    };
    wait_ready(&mut server);
    server
}

fn sshd_config(dir: &Path, port: u16, login: &Login<'_>, root: &Path) -> String {
    let cli = super::project().join("tests/support/netscaler-cli");
    let (password, pubkey, keys, allow) = match login {
        Login::Password(_) => ("yes", "no", "none".to_owned(), user_name()),
        Login::Key(k) => ("no", "yes", k.display().to_string(), user_name()),
        Login::Refuse => (
            "no",
            "yes",
            "none".to_owned(),
            "nobody-may-log-in".to_owned(),
        ),
    };
    format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nPidFile {pid}\nUsePAM no\nStrictModes no\n\
PermitRootLogin yes\nPasswordAuthentication {password}\nKbdInteractiveAuthentication no\n\
PubkeyAuthentication {pubkey}\nAuthorizedKeysFile {keys}\nAllowUsers {allow}\n\
ForceCommand {cli} {root}\nX11Forwarding no\nAllowTcpForwarding no\nPermitTTY no\n\
LogLevel VERBOSE\nMaxStartups 30\n",
        hk = dir.join("host_key").display(),
        pid = dir.join("sshd.pid").display(),
        cli = cli.display(),
        root = root.display(),
    )
}

/// `sshd` in a private mount namespace whose `/etc/shadow` gives the test user `password`.
fn in_private_shadow(sshd: &Path, dir: &Path, password: &str) -> Command {
    let hash = run_ok(Command::new("openssl").args(["passwd", "-6", password]));
    let hash = String::from_utf8(hash).expect("hash").trim().to_owned();
    let shadow = dir.join("shadow");
    std::fs::write(
        &shadow,
        format!("{}:{hash}:19000:0:99999:7:::\n", user_name()),
    )
    .expect("write shadow");
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c"])
        .arg("mount --bind \"$1\" /etc/shadow && shift && exec \"$@\"")
        .arg("sh")
        .arg(&shadow)
        .arg(sshd);
    cmd
}

/// Waits up to 15 s for the server to accept a connection; fails with its log when it exited.
fn wait_ready(s: &mut Sshd) {
    let start = Instant::now();
    loop {
        if TcpStream::connect(("127.0.0.1", s.port)).is_ok() {
            return;
        }
        let exited = s.child.try_wait().expect("sshd status");
        if exited.is_some() || start.elapsed() > Duration::from_secs(15) {
            panic!(
                "sshd on port {} did not start ({exited:?}):\n{}",
                s.port,
                std::fs::read_to_string(&s.log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
