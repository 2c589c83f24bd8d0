#!/usr/bin/env python3
"""Writes a large synthetic appliance tree for the scan benchmark.

usage: make-appliance.py DIR [SCALE]

SCALE 1 gives about 200 MB of logs (plain and gzip rotations) and 20,000 small files in the
directories the rules look at. Content is benign traffic with a handful of planted hits, so the
benchmark exercises the common case: almost every line is read and rejected.
"""
import gzip
import os
import random
import sys

root = sys.argv[1]
scale = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
rnd = random.Random(19781)


def write(rel, data, mode="w"):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(data)


def access_lines(n):
    for i in range(n):
        ip = f"198.51.{rnd.randrange(256)}.{rnd.randrange(256)}"
        path = rnd.choice(["/vpn/index.html", "/vpn/pluginlist.xml", "/cgi/login", "/logon/LogonPoint/index.html",
                           "/vpns/portal/scripts/newbm.pl", "/vpn/media/logo.png"])
        yield (f'{ip} - - [{10 + i % 18:02d}/Jan/2020:{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d} +0000] '
               f'"GET {path} HTTP/1.1" 200 {rnd.randrange(100, 90000)} "-" "Mozilla/5.0 (Windows NT 10.0; Win64; x64)" '
               f'"Time: {rnd.randrange(1000, 99999)} microsecs"\n')


def bash_lines(n):
    for i in range(n):
        yield (f'Jan {10 + i % 18:2d} {i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d} <local7.notice> ns-gw01 bash[{1000 + i % 5000}]: '
               f'root on (null) shell_command="for pid in $PROF_PIDS; do kill -0 $pid >/dev/null 2>&1; done; sleep 60"\n')


def cron_lines(n):
    for i in range(n):
        yield (f'Jan {10 + i % 18:2d} {i % 24:02d}:{i % 60:02d}:00 <cron.info> ns-gw01 /usr/sbin/cron[{3000 + i % 9000}]: '
               f'(root) CMD (   nsfsyncd -p)\n')


def log(rel, gen, n, rotations):
    per = max(1, n // (rotations + 1))
    write(rel, "".join(gen(per)))
    for r in range(rotations):
        data = "".join(gen(per)).encode()
        if r % 3 == 2:
            write(f"{rel}.{r}", data, "wb")
        else:
            write(f"{rel}.{r}.gz", gzip.compress(data, 6), "wb")


n = int(1_000_000 * scale)
log("var/log/httpaccess.log", access_lines, n, 5)
log("var/log/bash.log", bash_lines, n // 2, 10)
log("var/log/sh.log", bash_lines, n // 10, 3)
log("var/log/notice.log", bash_lines, n // 4, 5)
log("var/log/cron", cron_lines, n // 2, 5)
log("var/log/httperror.log", lambda k: ("[notice] child pid exited\n" for _ in range(k)), n // 10, 2)
log("var/log/ns.log", lambda k: (f"Jan 27 08:14:09 <local0.info> 192.0.2.10  01/27/2020:08:14:09 GMT ns-gw01 0-PPE-0 : SSLVPN LOGIN {i} 0 : Context u{i}@198.51.100.23 - SessionId: {i} - User u{i} - Client_ip 198.51.100.23\n" for i in range(k)), n // 4, 3)
for i in range(int(20000 * scale)):
    d = rnd.choice(["var/vpn/bookmark", "var/netscaler/logon/themes/Default", "var/netscaler/gui/admin_ui/php",
                    "netscaler/portal/templates", "var/nstmp/monitors"])
    ext = "html" if d.startswith("netscaler/portal") else "xml"
    write(f"{d}/f{i}.{ext}", f'<?xml version="1.0"?><user username="u{i}"><bookmarks/></user>\n' * rnd.randrange(1, 40))
write("flash/nsconfig/ns.conf", "#NS13.0 Build 47.24\nset ns hostName ns-gw01\n")
write("flash/boot/loader.conf", 'kernel="/ns-13.0-47.24"\n')
write("flash/.version", "NetScaler 13.0 build 47\n")
# A few planted hits so the benchmark also measures finding creation.
write("var/vpn/bookmark/planted.xml", "<user username=\"../../../netscaler/portal/templates/x\">[% template.new({'BLOCK'='x'}) %]</user>\n")
with open(os.path.join(root, "var/log/httpaccess.log"), "a") as f:
    f.write('203.0.113.44 - - [11/Jan/2020:23:41:09 +0000] "GET /vpn/../vpns/portal/x.xml HTTP/1.1" 200 696 "-" "x"\n')
