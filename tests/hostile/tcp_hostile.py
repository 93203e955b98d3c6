#!/usr/bin/env python3
"""Hostile TCP peers against a live flowq (issue 18, part 2), loopback only.

Usage: tcp_hostile.py CASE FLOWQ TMPDIR [SANITIZE]
Exit 0 pass, 1 fail.

Every case starts `flowq print --json --stats-json -s tcp://127.0.0.1:PORT`
(plus the case's options), drives it with Python sockets, reads its
counters with SIGUSR1, stops it with SIGTERM and demands exit 0 with no
sanitizer report.  A legitimate exporter (127.0.0.1) sends IPFIX messages
(a template, then data records with unique source addresses); the records
flowq prints for 127.0.0.1 must be exactly those sent, each once.  It
retries while flowq refuses it (reset or closed before it could send) and
counts as delivered once flowq has read its messages and its end of
stream (flowq closes the connection after that).

Nothing here asserts a duration: where something must happen (a timeout
firing, a connection being accepted) the test waits for it up to a
generous limit and fails only if it never does.

Cases:
  slowloris      --tcp-idle 3s --tcp-progress 2s.  First 600 connections
                 from one address (127.0.0.2): 200 send an IPFIX header
                 one byte a second, 200 send a header announcing 65535
                 bytes and then nothing, 200 send nothing.  The per-peer
                 cap (default 16) must refuse all but 16 and the
                 legitimate exporter must deliver at once.  Then the same
                 mix from 40 addresses (127.0.1.1-40, 16 each: 640 > the
                 512 cap): the cap is full, the legitimate exporter is
                 refused until the timeouts close the slowloris
                 connections (which never reconnect), then delivers.  Every
                 slowloris connection must end closed by flowq, counted as
                 an idle or progress timeout.
  allow          --allow 127.0.0.1/32: 600 idle connections from
                 127.0.0.2 are refused at accept (counted as not_allowed,
                 none holds a slot) and the allowed exporter delivers.
  peer-cap       --tcp-max-per-peer 4: 20 idle connections from
                 127.0.0.2, 4 are kept and 16 refused (peer_limit); an
                 exporter from 127.0.0.1 still delivers.
  sessions       3 rounds of 1000 short connections, each one IPFIX
                 message (template + one record): all records arrive, each
                 connection's exporter session is freed when it closes
                 (exporters_active back to 0, exporters_closed 3000) and
                 flowq's RSS (/proc/PID/status) does not grow from round 1
                 to round 3 by more than RSS_GROWTH.
  emfile         flowq under RLIMIT_NOFILE 64 with a udp:// and a tcp://
                 source; 100 idle TCP connections: every one is accepted,
                 refused (counted) or waiting in the backlog, never closed
                 silently; accepting pauses; the udp:// socket's
                 kernel_drops still updates (datagrams sent while flowq is
                 stopped with SIGSTOP overflow a 4 KiB receive buffer);
                 once the connections close, the legitimate exporter is
                 accepted and delivers.

Options that the flowq under test does not know (--tcp-*) are left out,
so that the same test can be run against a build from before them to see
what it does there.
"""
import json
import os
import resource
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

CASE, FLOWQ, TMP = sys.argv[1:4]
SANITIZE = sys.argv[4] if len(sys.argv) > 4 else "none"
ASAN = "address" in SANITIZE
TMP = os.path.join(TMP, "tcp-hostile-" + CASE)
os.makedirs(TMP, exist_ok=True)

# Generous limits for things that must happen (a loaded 2-core machine,
# sanitizer builds); never thresholds of a measurement.
WAIT = 60
# Growth of flowq's RSS allowed from round 1 to round 3 of `sessions`.
# Before sessions were freed at close, each connection kept ~76 KiB
# (libfixbuf's session and flowq's), so 2000 more connections added
# ~150 MiB; what is left is allocator slack.  ASan keeps freed memory in
# quarantine; the test caps it at 16 MiB for flowq (ASAN_OPTIONS).
RSS_GROWTH = (48 if ASAN else 16) * 1024

RUNNING = []
PROBLEMS = []


def fail(msg):
    print("FAIL: " + msg)
    for p in RUNNING:
        if p.poll() is None:
            p.kill()
            p.wait()
    sys.exit(1)


def check(cond, msg):
    """A failed check is reported, and the case goes on, so that one run
    against an old build shows everything that is wrong there."""
    if not cond:
        print("CHECK FAILED: " + msg)
        PROBLEMS.append(msg)
    return cond


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n if hard == resource.RLIM_INFINITY else min(n, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listening(port, udp):
    path = "/proc/net/udp" if udp else "/proc/net/tcp"
    with open(path) as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local, state = fields[1], fields[3]
            if int(local.rsplit(":", 1)[1], 16) == port and \
                    (udp or state == "0A"):
                return True
    return False


FLOWQ_HELP = subprocess.run([FLOWQ, "--help"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT).stdout.decode()


def known(opts):
    """Leave out options this flowq does not have (see the docstring)."""
    out, i = [], 0
    while i < len(opts):
        o = opts[i]
        takes = i + 1 < len(opts) and not opts[i + 1].startswith("--")
        if o.startswith("--tcp-") and o not in FLOWQ_HELP:
            print("note: this flowq has no %s; left out" % o)
        else:
            out.append(o)
            if takes:
                out.append(opts[i + 1])
        i += 2 if takes else 1
    return out


class Flowq:
    def __init__(self, sources, opts, nofile=None):
        self.out = os.path.join(TMP, "records.json")
        self.err = os.path.join(TMP, "flowq.err")
        args = [FLOWQ, "print", "--json", "--stats-json"]
        for s in sources:
            args += ["-s", s]
        args += known(opts)
        env = dict(os.environ)
        if ASAN:
            env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") +
                                   ":quarantine_size_mb=16").lstrip(":")

        def limit():
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        self.p = subprocess.Popen(args, stdout=open(self.out, "wb"),
                                  stderr=open(self.err, "wb"), env=env,
                                  preexec_fn=limit)
        RUNNING.append(self.p)
        for s in sources:
            port = int(s.rsplit(":", 1)[1])
            deadline = time.time() + WAIT
            while not listening(port, s.startswith("udp")):
                self.alive("before listening")
                if time.time() > deadline:
                    fail("flowq does not listen on %s" % s)
                time.sleep(0.02)

    def stderr(self):
        return open(self.err, "rb").read().decode(errors="replace")

    def samples(self):
        out = []
        for line in self.stderr().splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def alive(self, what):
        if self.p.poll() is not None:
            fail("flowq died (status %d) %s: %s" %
                 (self.p.returncode, what, self.stderr()[-3000:]))

    def stats(self):
        """Counters printed after now (SIGUSR1)."""
        n = len(self.samples())
        self.p.send_signal(signal.SIGUSR1)
        deadline = time.time() + WAIT
        while True:
            self.alive("while printing counters")
            s = self.samples()
            if len(s) > n:
                return s[-1]
            if time.time() > deadline:
                fail("flowq printed no counters within %d s of SIGUSR1" %
                     WAIT)
            time.sleep(0.05)

    def tcp(self, st=None):
        st = st or self.stats()
        return [s for s in st["sources"] if s["kind"] == "tcp"][0]

    def wait_for(self, what, pred, limit=WAIT):
        """Counters once pred(counters) holds; (False, last) after limit."""
        deadline = time.time() + limit
        while True:
            st = self.stats()
            if pred(st):
                return True, st
            if time.time() > deadline:
                print("waited %d s for %s; last counters: %s" %
                      (limit, what, json.dumps(st)[:2000]))
                return False, st
            time.sleep(0.2)

    def status(self, key):
        with open("/proc/%d/status" % self.p.pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        fail("no %s in /proc/%d/status" % (key, self.p.pid))

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.p.kill()
            fail("flowq did not exit within 120 s of SIGTERM")
        err = self.stderr()
        for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                    "Assertion", "Segmentation"):
            if bad in err:
                i = err.index(bad)
                fail("sanitizer/crash report from flowq: %s" %
                     err[max(0, i - 200):i + 3000])
        if rc != 0:
            fail("flowq exited %d on SIGTERM: %s" % (rc, err[-3000:]))
        return self.samples()[-1]


def tcp_get(st, key, reason=None):
    """A tcp source counter; 0 when this flowq does not have it."""
    if reason:
        return st.get("refused_by_reason", {}).get(reason, 0)
    v = st.get(key, 0)
    return v if v is not None else 0


# ---------------------------------------------------------------------
# IPFIX messages of the legitimate exporter.

FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (2, 8), (1, 8),
          (152, 8), (153, 8)]
TEMPLATE = struct.pack("!HHHH", 2, 8 + 4 * len(FIELDS), 256, len(FIELDS)) + \
    b"".join(struct.pack("!HH", ie, ln) for ie, ln in FIELDS)
BASE_MS = 1700000000000
NEXT = [1]                      # next record number (unique source address)


def record(i):
    src = "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)
    return (src, "192.0.2.1", 1024 + i % 60000, 80, 6, i % 1000 + 1,
            (i % 1000 + 1) * 100, BASE_MS + i, BASE_MS + i + 1000)


def pack(r):
    return struct.pack("!4s4sHHBQQQQ", socket.inet_aton(r[0]),
                       socket.inet_aton(r[1]), *r[2:])


def messages(n, per=100):
    """Template first, then n records, per to a message."""
    recs = []
    for _ in range(n):
        recs.append(record(NEXT[0]))
        NEXT[0] += 1
    msgs, seq = [], 0
    for k in range(0, max(n, 1), per):
        chunk = recs[k:k + per]
        body = TEMPLATE if k == 0 else b""
        if chunk:
            data = b"".join(pack(r) for r in chunk)
            body += struct.pack("!HH", 256, 4 + len(data)) + data
        msgs.append(struct.pack("!HHIII", 10, 16 + len(body),
                                int(time.time()), seq, 1) + body)
        seq += len(chunk)
    return b"".join(msgs), recs


def try_deliver(port, payload, src="127.0.0.1", refusal_wait=0.3):
    """One attempt: True if flowq read everything and closed after our
    end of stream, False if it refused or reset the connection."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((src, 0))
        s.settimeout(WAIT)
        s.connect(("127.0.0.1", port))
        # A refused connection is reset (or closed) at once: do not send
        # into it.
        r, _, _ = select.select([s], [], [], refusal_wait)
        if r:
            return False
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        while True:
            b = s.recv(4096)
            if not b:
                return True
    except (ConnectionError, socket.timeout, OSError):
        return False
    finally:
        s.close()


def deliver(fq, port, n, limit=WAIT):
    """Send n records over one connection, retrying while refused.
    Returns the records sent, or None if it never got through."""
    payload, recs = messages(n)
    deadline = time.time() + limit
    tries = 0
    while time.time() < deadline:
        tries += 1
        fq.alive("while the exporter connects")
        if try_deliver(port, payload):
            print("legitimate exporter: %d records delivered (attempt %d)"
                  % (n, tries))
            return recs
        time.sleep(0.2)
    print("legitimate exporter: refused for %d s (%d attempts)" %
          (limit, tries))
    return None


def output_records(path):
    got = []
    with open(path, "rb") as f:
        for line in f:
            if b'"exporter":"127.0.0.1"' not in line:
                continue
            r = json.loads(line.decode())
            got.append((r["srcip"], r["dstip"], r["srcport"], r["dstport"],
                        r["prot"], r["packets"], r["bytes"], r["stime"],
                        r["etime"]))
    return got


def check_records(fq, sent):
    """The records printed for 127.0.0.1 are exactly `sent`, each once
    (waiting for flowq's output to reach the file)."""
    want = sorted(sent)
    deadline = time.time() + WAIT
    while True:
        got = sorted(output_records(fq.out))
        if got == want or time.time() > deadline:
            break
        time.sleep(0.1)
    if check(got == want, "records of the legitimate exporter: %d printed, "
             "%d sent, %d distinct printed" % (len(got), len(want),
                                                len(set(got)))):
        print("records: all %d sent arrived, each once" % len(want))


# ---------------------------------------------------------------------
# Slowloris peers.

HEADER = struct.pack("!HHIII", 10, 1000, int(time.time()), 0, 1)
STALL = struct.pack("!HHIII", 10, 65535, int(time.time()), 0, 1)


class Attack:
    """kinds: (n_drip, n_stall, n_silent) per source address."""

    def __init__(self, port, addrs, kinds):
        self.socks = []         # (socket, kind)
        self.stop = False
        for a in addrs:
            for kind, n in zip(("drip", "stall", "silent"), kinds):
                for _ in range(n):
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    s.bind((a, 0))
                    s.settimeout(WAIT)
                    try:
                        s.connect(("127.0.0.1", port))
                        if kind == "stall":
                            s.send(STALL)
                    except OSError:
                        pass    # refused at once: nothing to hold
                    s.setblocking(False)
                    self.socks.append([s, kind, 0, True])
        self.thread = threading.Thread(target=self.drip, daemon=True)
        self.thread.start()

    def drip(self):
        """One byte a second on every drip connection still open."""
        while not self.stop:
            for e in self.socks:
                s, kind, off, up = e
                if kind != "drip" or not up:
                    continue
                try:
                    s.send(HEADER[off % len(HEADER):off % len(HEADER) + 1])
                    e[2] = off + 1
                except OSError:
                    e[3] = False
            time.sleep(1)

    def closed_by_peer(self):
        """How many connections flowq has closed (EOF or reset)."""
        n = 0
        for e in self.socks:
            s = e[0]
            try:
                if s.recv(1) == b"":
                    e[3] = False
            except BlockingIOError:
                continue
            except OSError:
                e[3] = False
            if not e[3]:
                n += 1
        return n

    def close(self):
        self.stop = True
        self.thread.join()
        for e in self.socks:
            e[0].close()


def case_slowloris():
    raise_nofile(4096)
    port = free_port(socket.SOCK_STREAM)
    fq = Flowq(["tcp://127.0.0.1:%d" % port],
               ["--tcp-idle", "3s", "--tcp-progress", "2s"])
    sent = []

    # 1. One address tries to take every slot.
    a1 = Attack(port, ["127.0.0.2"], (200, 200, 200))
    ok, st = fq.wait_for("600 connections from 127.0.0.2 accounted for",
                         lambda st: fq.tcp(st)["connections"] +
                         fq.tcp(st)["refused"] >= 600)
    t = fq.tcp(st)
    print("one address, 600 connections: %s" % json.dumps(t))
    check(t["open"] <= 16, "127.0.0.2 holds %d connections (cap 16)" %
          t["open"])
    check(tcp_get(t, None, "peer_limit") > 0, "nothing refused at the "
          "per-peer cap")
    recs = deliver(fq, port, 500, limit=30)
    check(recs is not None, "the legitimate exporter was locked out by "
          "600 slowloris connections from one other address")
    sent += recs or []
    a1.close()
    ok, st = fq.wait_for("127.0.0.2's connections to close",
                         lambda st: fq.tcp(st)["open"] == 0)

    # 2. 40 addresses fill the connection cap.
    addrs = ["127.0.1.%d" % i for i in range(1, 41)]
    before = fq.tcp(st)
    a2 = Attack(port, addrs, (6, 5, 5))
    ok, st = fq.wait_for("640 connections from 40 addresses accounted for",
                         lambda st: fq.tcp(st)["connections"] +
                         fq.tcp(st)["refused"] >= before["connections"] +
                         before["refused"] + 640)
    t = fq.tcp(st)
    print("40 addresses, 640 connections: %s" % json.dumps(t))
    check(tcp_get(t, None, "connection_limit") > 0,
          "the 512-connection cap was never reached")
    recs = deliver(fq, port, 500)
    check(recs is not None, "the legitimate exporter stayed locked out of "
          "a full connection cap held by slowloris peers")
    sent += recs or []
    # Every slowloris connection flowq accepted ends closed by flowq.
    ok, st = fq.wait_for("every slowloris connection closed",
                         lambda st: fq.tcp(st)["open"] == 0)
    t = fq.tcp(st)
    check(ok, "%d slowloris connections still open" % t["open"])
    held = a2.closed_by_peer()
    print("after the timeouts: %s; %d of %d attack connections closed by "
          "flowq (the rest were refused)" % (json.dumps(t), held,
                                             len(a2.socks)))
    # Every attack connection it accepted (all but the legitimate one)
    # flowq closed for a timeout: idle for the silent ones, progress for
    # the others.
    def timeouts(t):
        return tcp_get(t, "idle_timeouts") + tcp_get(t, "progress_timeouts")
    d_acc = t["connections"] - before["connections"]
    check(timeouts(t) - timeouts(before) == d_acc - 1,
          "%d timeouts for %d slowloris connections accepted" %
          (timeouts(t) - timeouts(before), d_acc - 1))
    check(tcp_get(t, "idle_timeouts") > tcp_get(before, "idle_timeouts"),
          "no idle timeout counted")
    check(tcp_get(t, "progress_timeouts") >
          tcp_get(before, "progress_timeouts"), "no progress timeout counted")
    a2.close()
    check_records(fq, sent)
    st = fq.stop()
    print("final: %s" % json.dumps(fq.tcp(st)))


def case_allow():
    raise_nofile(4096)
    port = free_port(socket.SOCK_STREAM)
    fq = Flowq(["tcp://127.0.0.1:%d" % port], ["--allow", "127.0.0.1/32"])
    a = Attack(port, ["127.0.0.2"], (0, 0, 600))
    ok, st = fq.wait_for("600 connections from 127.0.0.2 accounted for",
                         lambda st: fq.tcp(st)["connections"] +
                         fq.tcp(st)["refused"] >= 600)
    t = fq.tcp(st)
    print("600 idle connections from outside --allow: %s" % json.dumps(t))
    check(t["open"] == 0, "connections from outside --allow hold %d slots"
          % t["open"])
    check(tcp_get(t, None, "not_allowed") == 600, "refused as not allowed: "
          "%d of 600" % tcp_get(t, None, "not_allowed"))
    recs = deliver(fq, port, 300, limit=30)
    check(recs is not None, "the allowed exporter was locked out by idle "
          "connections from a refused address")
    check_records(fq, recs or [])
    a.close()
    st = fq.stop()
    check(st["decoder"]["refused"] == 0, "datagrams from a refused peer "
          "reached the decoder: %s" % st["decoder"])


def case_peer_cap():
    raise_nofile(4096)
    port = free_port(socket.SOCK_STREAM)
    fq = Flowq(["tcp://127.0.0.1:%d" % port], ["--tcp-max-per-peer", "4"])
    a = Attack(port, ["127.0.0.2"], (0, 0, 20))
    ok, st = fq.wait_for("20 connections from 127.0.0.2 accounted for",
                         lambda st: fq.tcp(st)["connections"] +
                         fq.tcp(st)["refused"] >= 20)
    t = fq.tcp(st)
    print("20 idle connections from one address, cap 4: %s" % json.dumps(t))
    check(t["open"] == 4, "127.0.0.2 holds %d connections (cap 4)" %
          t["open"])
    check(tcp_get(t, None, "peer_limit") == 16, "refused at the per-peer "
          "cap: %d of 16" % tcp_get(t, None, "peer_limit"))
    recs = deliver(fq, port, 100, limit=30)
    check(recs is not None, "another address was refused while one "
          "address sat at its cap")
    check_records(fq, recs or [])
    a.close()
    fq.stop()


def case_sessions():
    raise_nofile(4096)
    port = free_port(socket.SOCK_STREAM)
    fq = Flowq(["tcp://127.0.0.1:%d" % port],
               ["--tcp-max-per-peer", "512"])
    sent, rss = [], []
    for rnd in range(3):
        for _ in range(1000):
            payload, recs = messages(1)
            if not try_deliver(port, payload, refusal_wait=0):
                fail("a short connection was refused: %s" % fq.tcp())
            sent += recs
        ok, st = fq.wait_for("every session of round %d freed" % (rnd + 1),
                             lambda st: fq.tcp(st)["open"] == 0 and
                             st["decoder"]["exporters_active"] == 0,
                             limit=15)
        rss.append(fq.status("VmRSS"))
        print("round %d: %d connections, exporters_active %d, "
              "exporters_closed %s, VmRSS %d KiB" %
              (rnd + 1, 1000 * (rnd + 1), st["decoder"]["exporters_active"],
               fq.tcp(st).get("exporters_closed"), rss[-1]))
        check(ok, "round %d: %d exporter sessions still active after "
              "their connections closed" %
              (rnd + 1, st["decoder"]["exporters_active"]))
    check(rss[2] - rss[0] <= RSS_GROWTH, "VmRSS grew by %d KiB from round "
          "1 to round 3 (bound %d KiB)" % (rss[2] - rss[0], RSS_GROWTH))
    check_records(fq, sent)
    st = fq.stop()
    t = fq.tcp(st)
    check(tcp_get(t, "exporters_closed") == 3000, "exporters_closed %d, "
          "3000 connections closed" % tcp_get(t, "exporters_closed"))
    check(st["decoder"]["records"] == 3000 and
          st["decoder"]["datagrams"] == 3000, "decoder totals %s" %
          st["decoder"])


def case_emfile():
    raise_nofile(4096)
    tport = free_port(socket.SOCK_STREAM)
    uport = free_port(socket.SOCK_DGRAM)
    nofile = 64
    fq = Flowq(["udp://127.0.0.1:%d" % uport, "tcp://127.0.0.1:%d" % tport],
               ["--rcvbuf", "4096", "--tcp-max-per-peer", "512"],
               nofile=nofile)
    udp = lambda st: [s for s in st["sources"] if s["kind"] == "udp"][0]
    st = fq.stats()
    if udp(st)["kernel_drops"] is None:
        fail("kernel_drops unknown before the test: /proc/net/udp?")
    # 1. More connections than descriptors.
    n = 100
    conns = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(WAIT)
        try:
            s.connect(("127.0.0.1", tport))
        except ConnectionError:
            pass        # refused at once (counted by flowq as fd_limit)
        conns.append(s)
    ok, st = fq.wait_for("every connection accepted, refused or waiting",
                         lambda st: fq.tcp(st)["connections"] +
                         fq.tcp(st)["refused"] +
                         (fq.tcp(st).get("backlog") or 0) == n)
    t = fq.tcp(st)
    print("%d connections under RLIMIT_NOFILE %d: %s" %
          (n, nofile, json.dumps(t)))
    check(ok, "flowq accounts for %d of %d connections (accepted %d, "
          "refused %d, waiting %s): the others were closed uncounted" %
          (t["connections"] + t["refused"] + (t.get("backlog") or 0), n,
           t["connections"], t["refused"], t.get("backlog")))
    check(tcp_get(t, None, "fd_limit") > 0 and
          tcp_get(t, "accept_pauses") > 0,
          "running out of descriptors was not counted")
    fds = len(os.listdir("/proc/%d/fd" % fq.p.pid))
    print("flowq holds %d descriptors of %d" % (fds, nofile))
    # 2. The UDP socket's kernel drop counter still reads.
    fq.p.send_signal(signal.SIGSTOP)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(200):
        u.sendto(bytes([0, 5]) + bytes(998), ("127.0.0.1", uport))
    u.close()
    fq.p.send_signal(signal.SIGCONT)
    ok, st = fq.wait_for("kernel_drops to update",
                         lambda st: (udp(st)["kernel_drops"] or 0) > 0 and
                         udp(st)["datagrams"] + udp(st)["kernel_drops"] ==
                         200, limit=30)
    print("udp after 200 datagrams into a stopped flowq: %s" %
          json.dumps(udp(st)))
    check(ok, "kernel_drops is stale (%s) with %d datagrams received of 200"
          % (udp(st)["kernel_drops"], udp(st)["datagrams"]))
    if PROBLEMS:
        # Connections closed uncounted or a stale counter: what follows
        # (waiting for them to close, then delivering) would only add
        # minutes of waiting to the report.
        fail("%d check(s) failed:\n  %s" % (len(PROBLEMS),
                                            "\n  ".join(PROBLEMS)))
    # 3. The connections go; flowq serves again.
    for s in conns:
        s.close()
    ok, st = fq.wait_for("the connections to close",
                         lambda st: fq.tcp(st)["open"] == 0 and
                         not fq.tcp(st).get("backlog"))
    check(ok, "connections still held after the peers closed them: %s" %
          fq.tcp(st))
    recs = deliver(fq, tport, 200)
    check(recs is not None, "flowq does not serve once the connections "
          "closed")
    check_records(fq, recs or [])
    # The udp:// source is socket 0 and keeps its (UDP) session; no
    # session of the tcp:// source (socket 1) may stay.
    tcp_ex = lambda st: [e for e in st["exporters"] if e["socket"] == 1]
    ok, st = fq.wait_for("the exporter's session freed",
                         lambda st: not tcp_ex(st), limit=15)
    check(ok, "%d sessions of closed TCP connections still active" %
          len(tcp_ex(st)))
    err = fq.stderr()
    print("log lines about refusals and pauses: %d" %
          sum(1 for l in err.splitlines()
              if "refused" in l or "paused" in l))
    fq.stop()


CASES = {"slowloris": case_slowloris, "allow": case_allow,
         "peer-cap": case_peer_cap,
         "sessions": case_sessions, "emfile": case_emfile}

if __name__ == "__main__":
    t0 = time.time()
    CASES[CASE]()
    if PROBLEMS:
        fail("%d check(s) failed:\n  %s" % (len(PROBLEMS),
                                            "\n  ".join(PROBLEMS)))
    print("PASS (%.1f s)" % (time.time() - t0))
