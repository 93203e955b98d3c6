#!/usr/bin/env python3
"""Exporter sessions under a flood of sources (issue 18 item 3).

Usage: sessions.py CASE FLOWQ TMPDIR [SANITIZE]   CASE: evict, memory, idle
Exit 0 pass, 1 fail.  SANITIZE (meson's b_sanitize): under a sanitizer
the RSS bound is not checked (redzones and quarantine), the rest is.

evict: flowq runs with --max-sessions 100.  100 IPFIX exporters (127.0.0.x
addresses, their own ports) each send a template and a record; the first
one then sends a second record, so the second exporter is the least
recently active.  A new exporter sends its template and three records:
they must all be decoded, one session evicted (sessions_evicted 1, none
dropped as session_limit), the second exporter's session the one gone,
and the first one's template still there (its third record decoded).
Before, the table cap was fixed at 65,536 and a new exporter past it was
refused (--max-sessions did not exist: flowq exits 2).

idle: flowq runs with --session-idle 1s.  Exporter A sends its template
and a record, stays silent 2.5 s, while B sends its template and a record;
then A sends a record: A's session was freed with its template (counted as
exporters_expired), so that record is counted under an unknown template,
not decoded; B, active, keeps its template.  Before, the option did not
exist (the idle timeout was fixed at 60 minutes).

memory: 20,000 IPFIX exporters (100 loopback addresses x 200 source
ports) each send a template, then, once all templates are in, one record
each: every record must be decoded with the template its exporter sent
(templates survive while the session is idle) and flowq's resident memory
at the end stays within 120 MB.  Before, a session cost about 75 KB (a
libfixbuf buffer of 64 KiB each): 1.5 GB.
"""
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wirelib import Flowq, fail, ip4, ipfix, queued, record, set_, template  # noqa

CASE, FLOWQ, TMP = sys.argv[1:4]
SANITIZED = len(sys.argv) > 4 and sys.argv[4] not in ("", "none")
NOW = int(time.time())
TID = 300
LAYOUT = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (2, 8), (1, 8),
          (152, 8), (153, 8)]
RSS_CAP_KB = 120 * 1000


def data(i):
    """Record i: its source port and address name it."""
    ms = NOW * 1000
    return record(LAYOUT, [ip4("10.%d.%d.%d" % (i >> 16, (i >> 8) & 255,
                                                i & 255)),
                           ip4("10.8.0.1"), i & 0xffff, 53, 17, 1 + i, 100 + i,
                           ms - 2000, ms - 1000])


def tpl_dg(seq):
    return ipfix(seq, NOW, [set_(2, template(TID, LAYOUT))])


def data_dg(seq, i):
    return ipfix(seq, NOW, [set_(TID, data(i))])


def sock_at(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((addr, port))
    except OSError:
        s.close()
        return None
    return s


def wait_drained(fq, limit=1 << 20):
    deadline = time.time() + 30
    while queued(fq.port) > limit and time.time() < deadline:
        time.sleep(0.01)


def stop(fq):
    """Stops flowq once its socket is drained: (records, counters, rss kB)."""
    wait_drained(fq, 0)
    time.sleep(0.3)
    rss = 0
    with open("/proc/%d/status" % fq.p.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    fq.p.send_signal(2)
    try:
        rc = fq.p.wait(timeout=30)
    except Exception:
        fq.p.kill()
        fail("flowq did not exit on SIGINT")
    err = open(fq.err, errors="replace").read()
    if rc != 0:
        fail("flowq exited %d: %s" % (rc, err[-2000:]))
    stats = None
    for line in reversed(err.splitlines()):
        if line.startswith("{"):
            stats = json.loads(line)
            break
    if stats is None:
        fail("no JSON counters: " + err[-2000:])
    recs = [json.loads(l) for l in open(fq.out) if l.strip()]
    return recs, stats, rss


def totals(stats):
    """The decoder's totals of --stats-json."""
    t = stats.get("decoder")
    if not isinstance(t, dict):
        fail("no decoder counters: %s" % sorted(stats))
    return t


def evict():
    fq = Flowq(FLOWQ, TMP, "sessions-evict", ["--max-sessions", "100"])
    socks = []
    for k in range(100):
        s = None
        for port in range(41000 + k, 60000, 100):
            s = sock_at("127.0.0.%d" % (2 + k), port)
            if s:
                break
        if s is None:
            fail("no source port for exporter %d" % k)
        socks.append(s)
        s.sendto(tpl_dg(0), ("127.0.0.1", fq.port))
        s.sendto(data_dg(0, k), ("127.0.0.1", fq.port))
        if k % 20 == 19:
            wait_drained(fq, 0)
    wait_drained(fq, 0)
    # Exporter 0 is active again: exporter 1 is now the oldest.
    socks[0].sendto(data_dg(1, 1000), ("127.0.0.1", fq.port))
    wait_drained(fq, 0)
    new = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    new.bind(("127.0.0.1", 0))
    new.sendto(tpl_dg(0), ("127.0.0.1", fq.port))
    for j in range(3):
        new.sendto(data_dg(j, 2000 + j), ("127.0.0.1", fq.port))
    wait_drained(fq, 0)
    socks[0].sendto(data_dg(2, 1001), ("127.0.0.1", fq.port))
    recs, stats, _ = stop(fq)
    ports = sorted(r["srcport"] for r in recs)
    want = sorted(list(range(100)) + [1000, 1001, 2000, 2001, 2002])
    if ports != want:
        fail("records %s, expected %s" % (ports[95:], want[95:]))
    t = totals(stats)
    print("counters: %s" % json.dumps(t))
    if t.get("sessions_evicted") != 1 or t["session_limit"] != 0:
        fail("sessions_evicted %s session_limit %s, expected 1 and 0" %
             (t.get("sessions_evicted"), t["session_limit"]))
    if t["exporters_active"] != 100:
        fail("exporters_active %s, expected 100" % t["exporters_active"])
    held = {(e["exporter"], e["port"]) for e in stats["exporters"]}
    gone = socks[1].getsockname()
    if gone in held or socks[0].getsockname() not in held or \
            new.getsockname() not in held:
        fail("the evicted session is not the least recently active one")


def idle():
    fq = Flowq(FLOWQ, TMP, "sessions-idle", ["--session-idle", "1s"])
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.bind(("127.0.0.1", 0))
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b.bind(("127.0.0.1", 0))
    dst = ("127.0.0.1", fq.port)
    a.sendto(tpl_dg(0), dst)
    a.sendto(data_dg(0, 1), dst)
    b.sendto(tpl_dg(0), dst)
    b.sendto(data_dg(0, 2), dst)
    for k in range(5):          # B stays active, A silent
        time.sleep(0.5)
        b.sendto(data_dg(1 + k, 3 + k), dst)
    wait_drained(fq, 0)
    a.sendto(data_dg(1, 100), dst)
    b.sendto(data_dg(6, 101), dst)
    recs, stats, _ = stop(fq)
    t = totals(stats)
    print("counters: %s" % json.dumps(t))
    ports = sorted(r["srcport"] for r in recs)
    if ports != [1, 2, 3, 4, 5, 6, 7, 101]:
        fail("records %s, expected 1-7 and 101 (not A's 100)" % ports)
    if t.get("exporters_expired") != 1:
        fail("exporters_expired %s, expected 1" % t.get("exporters_expired"))
    ea = [e for e in stats["exporters"]
          if (e["exporter"], e["port"]) == a.getsockname()]
    if len(ea) != 1 or ea[0]["unknown_template_sets"] != 1:
        fail("A's new session: %s, expected one unknown template set" % ea)


def memory(n=20000):
    fq = Flowq(FLOWQ, TMP, "sessions-memory", [])
    srcs = []
    k = 0
    for a in range(100):
        addr = "127.3.0.%d" % (1 + a)
        for port in range(42000, 60000):
            if len(srcs) == (a + 1) * (n // 100):
                break
            s = sock_at(addr, port)
            if s is None:
                continue
            s.sendto(tpl_dg(0), ("127.0.0.1", fq.port))
            s.close()
            srcs.append((addr, port))
            k += 1
            if k % 200 == 0:
                wait_drained(fq)
    wait_drained(fq, 0)
    for i, (addr, port) in enumerate(srcs):
        s = sock_at(addr, port)
        if s is None:
            fail("source %s:%d taken meanwhile" % (addr, port))
        s.sendto(data_dg(1, i), ("127.0.0.1", fq.port))
        s.close()
        if i % 200 == 199:
            wait_drained(fq)
    recs, stats, rss = stop(fq)
    t = totals(stats)
    print("exporters %d, records %d, RSS %d kB, counters: %s" %
          (len(srcs), len(recs), rss, json.dumps(t)))
    got = sorted(r["srcport"] for r in recs)
    if got != sorted(i & 0xffff for i in range(n)):
        fail("%d records decoded of %d" % (len(recs), n))
    if t["exporters_active"] != n or t["session_limit"] != 0:
        fail("exporters_active %s session_limit %s" %
             (t["exporters_active"], t["session_limit"]))
    if rss > RSS_CAP_KB and not SANITIZED:
        fail("RSS %d kB after %d IPFIX exporters, above %d kB" %
             (rss, n, RSS_CAP_KB))


def main():
    if CASE == "evict":
        evict()
    elif CASE == "idle":
        idle()
    elif CASE == "memory":
        memory(int(os.environ.get("FQ_SESSIONS_N", "20000")))
    else:
        fail("unknown case " + CASE)
    print("PASS")


main()
