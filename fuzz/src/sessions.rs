//! Structured input for the `correlate` target: SSLVPN LOGIN and TCPCONNSTAT records with
//! random users, sessions and addresses spread over ns.log rotations, rendered in the
//! appliance's own line format (`tail` headers between files, see `checks::correlate`).
//! Renders only; never scans.

use arbitrary::Arbitrary;
use std::fmt::Write;

/// Users the records are mostly about, so that sessions and sources collide.
const USERS: [&str; 5] = ["alice", "bob", "carol", "mallory", "nsroot"];
/// The rotations records go to.
const FILES: [&str; 4] = crate::checks::ROTATIONS;

/// A user name: one of a few, or any text.
#[derive(Arbitrary, Debug)]
pub enum User {
    Known(u8),
    Raw(String),
}

/// An address as logged: IPv4 in a few networks, IPv6, or any text.
#[derive(Arbitrary, Debug)]
pub enum Addr {
    V4 { net: u8, host: u8 },
    Any4([u8; 4]),
    V6([u16; 8]),
    Raw(String),
}

/// One ns.log line.
#[derive(Arbitrary, Debug)]
pub enum Record {
    Login {
        file: u8,
        minute: u16,
        user: User,
        session: u16,
        client: Addr,
    },
    Conn {
        file: u8,
        minute: u16,
        user: User,
        session: u16,
        client: Addr,
        source: Addr,
        port: u16,
    },
    Other {
        file: u8,
        text: String,
    },
}

/// The records of one run, in log order.
#[derive(Arbitrary, Debug)]
pub struct Sessions {
    pub records: Vec<Record>,
}

fn user(u: &User) -> String {
    match u {
        User::Known(i) => USERS[usize::from(*i) % USERS.len()].to_owned(),
        User::Raw(s) => s.clone(),
    }
}

fn addr(a: &Addr) -> String {
    match a {
        Addr::V4 { net, host } => format!("198.51.{}.{host}", net % 4),
        Addr::Any4([a, b, c, d]) => format!("{a}.{b}.{c}.{d}"),
        Addr::V6(s) => std::net::Ipv6Addr::from(*s).to_string(),
        Addr::Raw(s) => s.clone(),
    }
}

/// `Oct 30 08:02:11 <local0.info> 192.0.2.10  10/30/2023:08:02:11 GMT ns-gw01 0-PPE-0 : `
fn prefix(minute: u16) -> String {
    let (h, m) = (minute / 60 % 24, minute % 60);
    format!(
        "Oct 30 {h:02}:{m:02}:11 <local0.info> 192.0.2.10  10/30/2023:{h:02}:{m:02}:11 GMT ns-gw01 0-PPE-0 : "
    )
}

impl Record {
    fn file(&self) -> &'static str {
        let f = match self {
            Record::Login { file, .. } | Record::Conn { file, .. } | Record::Other { file, .. } => {
                *file
            }
        };
        FILES[usize::from(f) % FILES.len()]
    }

    fn line(&self) -> String {
        match self {
            Record::Login {
                minute,
                user: u,
                session,
                client,
                ..
            } => {
                let (u, c) = (user(u), addr(client));
                format!(
                    "{}default SSLVPN LOGIN 5240392 0 : Context {u}@{c} - SessionId: {session} - User {u} - Client_ip {c} - Nat_ip \"Mapped Ip\" - Vserver 192.0.2.20:443",
                    prefix(*minute)
                )
            }
            Record::Conn {
                minute,
                user: u,
                session,
                client,
                source,
                port,
                ..
            } => {
                let (u, c, s) = (user(u), addr(client), addr(source));
                format!(
                    "{}default SSLVPN TCPCONNSTAT 5240469 0 : Context {u}@{c} - SessionId: {session}- User {u} - Client_ip {c} - Nat_ip 192.0.2.11 - Vserver 192.0.2.20:443 - Source {s}:{port} - Destination 192.0.2.101:443",
                    prefix(*minute)
                )
            }
            Record::Other { text, .. } => text.clone(),
        }
    }
}

impl Sessions {
    /// The rotations as `tail` shows them: `==> name <==` before each file's lines.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for name in FILES {
            let lines: Vec<String> = self
                .records
                .iter()
                .filter(|r| r.file() == name)
                .map(Record::line)
                .collect();
            if lines.is_empty() {
                continue;
            }
            let _ = writeln!(out, "==> {name} <==");
            for l in lines {
                let _ = writeln!(out, "{l}");
            }
        }
        out
    }
}
