#!/usr/bin/env python3
"""Writes a synthetic NetScaler appliance tree of a real gateway's shape, for the benchmark.

usage: make-appliance.py DIR [SCALE]

SCALE 1 gives the shape of a busy gateway (about 1.06 GiB on disk):
  * about 99,800 small files: GUI and portal themes, unpacked install trees, 20,000 bookmarks;
  * 392 MB of plain logs (ns.log, httpaccess.log, bash.log, notice.log, cron, auth.log, ...);
  * 75 hourly rotations `name.N.gz` (about 300 MB on disk, 2.35 GB of text);
  * about 11 million log lines in all;
  * core dumps, two kernel images and an install tarball (incompressible bytes).
SCALE 2 and 4 double and quadruple the logs and the files (the memory test compares them).

Lines are benign traffic of the kinds a gateway writes, their times steady from rotation to
rotation (an hour per rotation), with a handful of planted hits so that findings are made too:
the benchmark measures the common case, in which almost every line is read and rejected.
Deterministic: the same SCALE gives the same bytes.
"""
import gzip
import multiprocessing
import os
import random
import sys
import zlib

MB = 1_000_000
# (log, current plain MB, rotations, MB of text per rotation) at scale 1.
LOGS = [
    ("var/log/ns.log", 120, 25, 40),
    ("var/log/httpaccess.log", 150, 25, 40),
    ("var/log/bash.log", 20, 10, 15),
    ("var/log/notice.log", 30, 10, 12),
    ("var/log/cron", 20, 5, 16),
    ("var/log/auth.log", 10, 0, 0),
    ("var/log/httperror.log", 10, 0, 0),
    ("var/log/nsvpn.log", 20, 0, 0),
    ("var/log/sh.log", 5, 0, 0),
    ("var/log/messages", 7, 0, 0),
]
# The newest line of every log: 2020-01-27 08:00:00 UTC. Rotation N ends N hours before.
END = 1580112000
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
PATHS = ["/vpn/index.html", "/vpn/pluginlist.xml", "/cgi/login", "/logon/LogonPoint/index.html",
         "/logon/LogonPoint/tmindex.html", "/vpn/media/logo.png", "/citrix/store/resources/v2",
         "/cgi/setclient?wica", "/vpn/js/gateway_login_view.js", "/p/u/getAuthenticationRequirements.do",
         "/logon/themes/Default/css/base.css", "/Citrix/StoreWeb/receiver/images/common/icon.png"]
AGENTS = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.117",
          "CitrixReceiver/19.12.0.119 Windows/10.0 (Citrix Workspace)", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_2)",
          "AGEE Java Client", "Mozilla/5.0 (X11; Linux x86_64; rv:72.0) Gecko/20100101 Firefox/72.0"]


def civil(t):
    """(year, month, day, h, m, s) of a Unix time, UTC."""
    days, rem = divmod(t, 86400)
    h, rem = divmod(rem, 3600)
    mi, s = divmod(rem, 60)
    # Howard Hinnant's civil_from_days.
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    mo = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (mo <= 2), mo, d, h, mi, s


def syslog_head(t):
    y, mo, d, h, mi, s = civil(t)
    return f"{MONTHS[mo - 1]} {d:2d} {h:02d}:{mi:02d}:{s:02d}"


def ip(rnd):
    return f"{rnd.choice((198, 203, 100, 84, 145))}.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"


SESSIONS_PER_HOUR = 20000


def session(k):
    """Session `k` of the gateway: its user, session id and client address, always the same."""
    r = random.Random(k)
    return f"u{r.randrange(4000)}", 100000 + k, ip(r)


class NsLog:
    """ns.log of one hour: sessions log in in order (SESSIONS_PER_HOUR an hour, numbered from
    the oldest rotation on) and are used from their own address, the hour they log in or the
    next; nothing is used before it logged in, so a benign log makes no finding."""

    def __init__(self, hour, lines):
        self.hour, self.lines, self.last = hour, lines, None

    def __call__(self, rnd, t, i):
        y, mo, d, h, mi, s = civil(t)
        gmt = f"{mo:02d}/{d:02d}/{y}:{h:02d}:{mi:02d}:{s:02d} GMT"
        head = f"{syslog_head(t)} <local0.info> 10.20.0.11  {gmt} ns-gw01 0-PPE-{i % 4} : "
        base = self.hour * SESSIONS_PER_HOUR
        logged = base + i * SESSIONS_PER_HOUR // self.lines
        oldest = max(0, base - SESSIONS_PER_HOUR)
        k = rnd.randrange(10)
        if logged != self.last or logged == oldest:
            self.last = logged
            user, sid, cip = session(logged)
            return (head + f"default SSLVPN LOGIN {rnd.randrange(10**8)} 0 : Context {user}@{cip} - SessionId: {sid} - "
                    f"User {user} - Client_ip {cip} - Nat_ip \"Mapped Ip\" - Vserver 10.20.0.20:443 - Browser_type "
                    f"\"{rnd.choice(AGENTS)}\" - SSLVPN_client_type ICA - Group(s) \"N/A\"\n")
        user, sid, cip = session(rnd.randrange(oldest, logged))
        if k < 4:
            return (head + f"default TCP CONNSTAT {rnd.randrange(10**8)} 0 : Source {cip}:{rnd.randrange(1024, 65535)} - "
                    f"Destination 10.20.1.{rnd.randrange(255)}:443 - Start Time {gmt} - Duration 00:00:{s:02d}  - "
                    f"Total_bytes_send {rnd.randrange(10**6)} - Total_bytes_recv {rnd.randrange(10**6)}\n")
        if k < 6:
            return (head + f"default SSLVPN HTTPREQUEST {rnd.randrange(10**8)} 0 : Context {user}@{cip} - SessionId: {sid}"
                    f" - 10.20.1.{rnd.randrange(255)} User {user} : Group(s) N/A : Vserver 10.20.0.20:443 - {gmt} : "
                    f"SSO is ON : GET {rnd.choice(PATHS)} - -\n")
        if k < 8:
            return (head + f"default SSLVPN TCPCONNSTAT {rnd.randrange(10**8)} 0 : Context {user}@{cip} - SessionId: {sid}"
                    f" - User {user} - Client_ip {cip} - Nat_ip 10.20.0.21 - Vserver 10.20.0.20:443 - "
                    f"Source {cip}:{rnd.randrange(1024, 65535)} - Destination 10.20.1.{rnd.randrange(255)}:1494 - "
                    f"Start_time \"{gmt}\" - End_time \"{gmt}\" - Duration 00:00:{s:02d}  - Total_bytes_send "
                    f"{rnd.randrange(10**6)} - Total_bytes_recv {rnd.randrange(10**6)} - Total_compressedbytes_send 0 - "
                    f"Total_compressedbytes_recv 0 - Compression_ratio_send 0.00% - Compression_ratio_recv 0.00% - "
                    f"Access Allowed - Group(s) \"N/A\"\n")
        return head + f"default AAA Message {rnd.randrange(10**8)} 0 :  \"In receive_ldap_user_search_event: ldap_first_entry returned null, user {user} not found\"\n"


def vpn_line(rnd, t, i):
    return (f"{syslog_head(t)} <local0.info> ns-gw01 nsvpnd[{5000 + i % 700}]: ica proxy: connection to 10.20.1.{rnd.randrange(255)}:1494 "
            f"for STA ticket {rnd.randrange(16**16):016X} closed after {rnd.randrange(10**5)} s\n")


def access_line(rnd, t, i):
    y, mo, d, h, mi, s = civil(t)
    status = rnd.choice((200, 200, 200, 200, 304, 302, 404))
    return (f'{ip(rnd)} - - [{d:02d}/{MONTHS[mo - 1]}/{y}:{h:02d}:{mi:02d}:{s:02d} +0000] '
            f'"{rnd.choice(("GET", "GET", "GET", "POST"))} {rnd.choice(PATHS)} HTTP/1.1" {status} '
            f'{rnd.randrange(100, 90000)} "https://gw.example.nl/vpn/index.html" "{rnd.choice(AGENTS)}" '
            f'"Time: {rnd.randrange(1000, 99999)} microsecs"\n')


SHELL = ["show ns ip", "show ha node", "stat lb vserver", "show ssl certKey", "shell df -h", "show run | grep vserver",
         "save ns config", "show ns runningConfig", "sh ver", "stat system"]


def bash_line(rnd, t, i):
    return (f'{syslog_head(t)} <local7.notice> ns-gw01 bash[{1000 + i % 50000}]: nsroot on /dev/pts/{i % 4} '
            f'shell_command="{rnd.choice(SHELL)}"\n')


def notice_line(rnd, t, i):
    return (f"{syslog_head(t)} <local0.notice> ns-gw01 nsaaad[{2000 + i % 900}]: "
            f"authentication of user u{rnd.randrange(4000)} from {ip(rnd)} succeeded (LDAP), session {rnd.randrange(10**9)}\n")


def cron_line(rnd, t, i):
    return (f"{syslog_head(t)} <cron.info> ns-gw01 /usr/sbin/cron[{3000 + i % 90000}]: (root) CMD "
            f"({rnd.choice(('   nsfsyncd -p', '/netscaler/nsppe_stat.sh', '/usr/libexec/atrun', 'newsyslog'))})\n")


def auth_line(rnd, t, i):
    return f"{syslog_head(t)} <auth.info> ns-gw01 sshd[{4000 + i % 9000}]: Accepted keyboard-interactive/pam for nsroot from 10.20.9.{i % 250} port {rnd.randrange(1024, 65535)} ssh2\n"


def error_line(rnd, t, i):
    y, mo, d, h, mi, s = civil(t)
    return f"[{['Mon','Tue','Wed','Thu','Fri','Sat','Sun'][(t // 86400 + 3) % 7]} {MONTHS[mo - 1]} {d:02d} {h:02d}:{mi:02d}:{s:02d} {y}] [notice] child pid {rnd.randrange(1000, 99999)} exit signal Segmentation fault (11)\n"


def msg_line(rnd, t, i):
    return f"{syslog_head(t)} <kern.info> ns-gw01 kernel: em{i % 2}: link state changed to UP; nsppe pid {rnd.randrange(100, 999)} heartbeat ok\n"


GENERATORS = {"ns.log": None, "httpaccess.log": access_line, "bash.log": bash_line, "notice.log": notice_line,
              "cron": cron_line, "auth.log": auth_line, "httperror.log": error_line, "nsvpn.log": vpn_line,
              "sh.log": bash_line, "messages": msg_line}


def text(name, seed, size, end, hour):
    """About `size` bytes of `name` lines, evenly spread over the hour before `end`; `hour`
    counts the hours from the oldest rotation on."""
    rnd = random.Random(seed)
    gen = GENERATORS[name] or NsLog(hour, 1000)
    sample = random.Random(seed)
    probe = sum(len(gen(sample, end, i)) for i in range(200)) / 200
    lines = max(1, int(size / probe))
    if name == "ns.log":
        # Every line is written: the sessions of the hour log in from its first line to its last.
        gen = NsLog(hour, lines)
    out = [gen(rnd, end - 3600 + i * 3600 // lines, i) for i in range(lines)]
    return "".join(out).encode()


def write_log(job):
    root, rel, rotation, size, rotations = job
    name = os.path.basename(rel)
    end = END - 3600 * rotation
    data = text(name, zlib.crc32(f"{rel}.{rotation}".encode()), size, end, rotations - rotation)
    if rotation == 0:
        path = os.path.join(root, rel)
        open(path, "wb").write(data)
    else:
        path = os.path.join(root, f"{rel}.{rotation - 1}.gz")
        with open(path, "wb") as f:
            f.write(gzip.compress(data, 6, mtime=0))
    os.utime(path, (end, end))
    return len(data)


def small_files(root, scale, rnd):
    """About 99,800 small files at scale 1, where a gateway keeps them."""
    groups = [
        ("var/netscaler/gui/admin_ui/php/application/views", 30000, ("php", "js", "html"), 200, 3000),
        ("netscaler/portal/themes/Default", 8000, ("css", "js", "html", "png"), 200, 6000),
        ("var/netscaler/logon/themes/Default", 6000, ("css", "js", "png"), 200, 5000),
        ("var/nsinstall/build-13.0-47.24_nc/usr/lib", 25000, ("so", "a", "pl", "py"), 200, 3000),
        ("var/vpn/bookmark", 20000, ("xml",), 120, 1500),
        ("netscaler/portal/themes/X1", 2000, ("html", "xml"), 200, 3000),
        ("var/nstmp/monitors", 4000, ("xml", "out"), 100, 1000),
        ("var/netscaler/nsbackup", 4000, ("conf", "txt"), 200, 3000),
    ]
    count = 0
    for base, n, exts, lo, hi in groups:
        for i in range(int(n * scale)):
            folder = os.path.join(root, base, f"d{i // 500:03d}")
            if i % 500 == 0:
                os.makedirs(folder, exist_ok=True)
            ext = exts[i % len(exts)]
            size = rnd.randrange(lo, hi)
            if ext in ("png", "so", "a"):
                body = rnd.randbytes(size)
            elif ext == "xml" and "bookmark" in base:
                body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<user username="u{i}">\n'
                        + "".join(f'<bookmark title="Intranet {j}" url="https://intranet.example.nl/app{j}" descr="x"/>\n'
                                  for j in range(size // 90)) + "</user>\n").encode()
            else:
                word = f"/* {base} {i} */ function f{i}(a) {{ return a + {i}; }}\n".encode()
                body = (word * (size // len(word) + 1))[:size]
            with open(os.path.join(folder, f"f{i:05d}.{ext}"), "wb") as f:
                f.write(body)
            count += 1
    return count


def binaries(root, scale, rnd):
    """Core dumps, kernel images and an install tarball: gzip of bytes no rule reads as text."""
    big = [("var/core/1/NSPPE-00-1234.gz", 40), ("flash/ns-13.0-47.24.gz", 50),
           ("flash/ns-12.1-55.18.gz", 50), ("var/nsinstall/build-13.0-47.24_nc.tgz", 30)]
    for rel, mb in big:
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as f:
            for _ in range(int(mb * scale)):
                f.write(rnd.randbytes(MB))


def config(root):
    files = {
        "flash/nsconfig/ns.conf": "#NS13.0 Build 47.24\n# Last modified by `save config`, Mon Jan 27 07:00:00 2020\nset ns hostName ns-gw01\n"
                                  "add vpn vserver gw SSL 10.20.0.20 443\nenable ns feature SSLVPN AAA RESPONDER\n",
        "flash/boot/loader.conf": 'kernel="/ns-13.0-47.24"\n',
        "flash/.version": "NetScaler 13.0 build 47\n",
        "var/nslog/newnslog": "",
        "flash/nsconfig/rc.netscaler": "nsapimgr_wr.sh -ys skip_systemaccess_policyeval=0\n",
    }
    for rel, body in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "w").write(body)


def plant(root):
    """A few hits, so that the benchmark also measures finding creation."""
    with open(os.path.join(root, "var/vpn/bookmark/d000/planted.xml"), "w") as f:
        f.write("<user username=\"../../../netscaler/portal/templates/x\">[% template.new({'BLOCK'='x'}) %]</user>\n")
    with open(os.path.join(root, "var/log/httpaccess.log"), "a") as f:
        f.write('203.0.113.44 - - [27/Jan/2020:07:59:09 +0000] "GET /vpn/../vpns/portal/x.xml HTTP/1.1" 200 696 "-" "x"\n')


def main():
    root = sys.argv[1]
    scale = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    rnd = random.Random(19781)
    os.makedirs(os.path.join(root, "var/log"), exist_ok=True)
    jobs = []
    for rel, plain, rotations, per in LOGS:
        n = int(rotations * scale)
        jobs.append((root, rel, 0, int(plain * MB * scale), n))
        jobs += [(root, rel, r + 1, int(per * MB), n) for r in range(n)]
    # Largest first, so that both workers finish together.
    jobs.sort(key=lambda j: -j[3])
    with multiprocessing.Pool() as pool:
        text_bytes = sum(pool.map(write_log, jobs, chunksize=1))
    files = small_files(root, scale, rnd)
    binaries(root, scale, rnd)
    config(root)
    plant(root)
    print(f"{root}: {files} small files, {len(jobs)} logs ({text_bytes / MB:.0f} MB of text)", file=sys.stderr)


if __name__ == "__main__":
    main()
