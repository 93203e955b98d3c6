#!/usr/bin/env python3
"""Live behaviour of `flowq run`, seen the way an operator sees it:
NetFlow v5 datagrams sent over loopback UDP, the output file read while
flowq still runs, signals sent to the process.

Usage: live.py CASE FLOWQ TMPDIR
Exit 0 pass, 1 fail.

No assertion is about time: a test waits (up to a generous limit) for
what the README promises to appear *before* it sends SIGTERM; if it only
appears after, or never, the test fails.

Cases:
  output        a match written to -o FILE can be read from the file while
                flowq still runs (SPEC section 6, Delivery);
  sighup        the -o file and the --record capture renamed away, SIGHUP:
                later matches and datagrams go to new files of the old
                names, none is lost or written twice, flowq keeps running;
  syslog        --syslog local3@SOCKET: each match arrives at a syslog
                socket (a stand-in for /dev/log) as an RFC 5424 message
                whose structured data names the query and whose message is
                the match's JSON line;
  past-skew     an exporter whose clock is stuck in 1970, sending more
                often than --exporter-idle, beside a live one: the live
                one's groups keep closing (SPEC section 5), and the stuck
                one's records are counted as past.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

from livelib import WAIT, Flowq, fail, free_port, v5

CASE, FLOWQ, TMP = sys.argv[1:4]
os.makedirs(TMP, exist_ok=True)


FILTER = "splitter S {}\nfilter f {\n  prot = 6\n}\nS branch A -> f\n"


def start(t, query, extra=()):
    port = free_port()
    q = os.path.join(t, "q.flw")
    open(q, "w").write(query)
    out = os.path.join(t, "out.json")
    f = Flowq(FLOWQ, ["run", "--json", q, "-s", "udp://127.0.0.1:%d" % port,
               "-o", out] + list(extra), out)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    return f, sock, ("127.0.0.1", port)


def send_until(f, sock, dest, dgram, pred, what):
    """Send dgram (again, in case flowq was not listening yet) until pred."""
    end = time.monotonic() + WAIT
    while time.monotonic() < end:
        sock.sendto(dgram, dest)
        t = time.monotonic() + 0.5
        while time.monotonic() < t:
            if pred():
                return
            time.sleep(0.02)
    fail("%s: not there after %.0f s while flowq runs" % (what, WAIT))


def case_output():
    with tempfile.TemporaryDirectory(dir=TMP) as t:
        f, sock, dest = start(t, FILTER)
        now = int(time.time() * 1000)
        dg = v5([(now - 2000, now - 1000, 0x0a000001, 0x0a000002, 1234, 80)],
                now)
        send_until(f, sock, dest, dg, lambda: len(f.lines()) >= 1,
                   "a match in the -o file")
        m = json.loads(f.lines()[0])
        if m.get("query") != "q" or "groups" not in m:
            fail("not a match: %r" % m)
        f.stop()


def case_sighup():
    with tempfile.TemporaryDirectory(dir=TMP) as t:
        rec = os.path.join(t, "rec.pcap")
        f, sock, dest = start(t, FILTER, ["--record", rec])
        now = int(time.time() * 1000)

        def dg(port):
            return v5([(now - 2000, now - 1000, 0x0a000001, 0x0a000002,
                        port, 80)], now)
        send_until(f, sock, dest, dg(1), lambda: len(f.lines()) >= 1,
                   "the first match")
        # Every datagram sent from here on must be matched exactly once,
        # in the old file or in the new one.
        old = f.out + ".1"
        os.rename(f.out, old)
        os.rename(rec, rec + ".1")
        sock.sendto(dg(2), dest)
        f.p.send_signal(signal.SIGHUP)
        f.wait_for(lambda: os.path.exists(f.out), "a new file after SIGHUP")
        for port in range(3, 13):
            sock.sendto(dg(port), dest)
        want = set(range(1, 13))

        def seen():
            return [json.loads(l)["groups"]["A"]["srcport"]
                    for l in f.lines(old) + f.lines()]
        f.wait_for(lambda: set(seen()) >= want, "every match, old and new file")
        f.stop()
        got = seen()
        if sorted(got) != sorted(set(got)):
            fail("a match written twice: %r" % sorted(got))
        if not any(json.loads(l)["groups"]["A"]["srcport"] >= 3
                   for l in f.lines()):
            fail("nothing went to the reopened file")
        # The two captures replay to the datagrams' records, each once.
        p = subprocess.run([FLOWQ, "print", "--json", rec + ".1", rec],
                           capture_output=True)
        ports = sorted(json.loads(l)["srcport"] for l in p.stdout.splitlines())
        if p.returncode != 0 or sorted(set(ports)) != sorted(want) or \
                len(ports) != len(got):
            fail("--record across SIGHUP replays to %r (exit %d)" %
                 (ports, p.returncode))


def case_past_skew():
    """A: a live clock, records 10 s apart (separate groups).  P: its clock
    in 1970, a datagram every 100 ms.  With --lateness 1s --max-duration
    1s, A's first group closes once T = A's largest etime - 1 s passes its
    deadline (etime + 1 s) + M (1 s): at A's third record.  If P held T
    back, nothing would close before SIGTERM."""
    q = ("splitter S {}\nfilter f {\n  prot = 6\n}\n"
         "grouper g {\n  module m {\n    srcip = srcip\n"
         "    etime < stime rdelta 1s\n  }\n"
         "  aggregate srcip, count(rec_id) as n\n}\n"
         "S branch A -> f -> g\n")
    with tempfile.TemporaryDirectory(dir=TMP) as t:
        f, sock, dest = start(t, q, ["--lateness", "1s", "--max-duration", "1s",
                                     "--stats-json"])
        now = int(time.time() * 1000)
        a = [v5([(now - 30000 + k * 10000 - 100, now - 30000 + k * 10000,
                  0x0a000001, 0x0a000002, 1234, 80)], now, engine_id=1)
             for k in range(4)]
        # Its header says 1970-01-01T02:46:40Z; its flows end then too.
        stuck = v5([(9998000, 9999000, 0x0a000009, 0x0a000002, 1234, 80)],
                   10000000, engine_id=2)
        end = time.monotonic() + WAIT
        sent = 0
        while time.monotonic() < end and len(f.lines()) < 2:
            sock.sendto(stuck, dest)
            sock.sendto(a[sent % 4] if sent < 8 else a[3], dest)
            sent += 1
            time.sleep(0.1)
        if len(f.lines()) < 2:
            fail("the live exporter's groups did not close while the stuck "
                 "one sent (%d matches)" % len(f.lines()))
        err = f.stop()
        st = json.loads(err.strip().splitlines()[-1])["engine"]
        if st["past"] < 1:
            fail("the stuck exporter's records were not counted as past: %r" % st)


def case_syslog():
    import re
    with tempfile.TemporaryDirectory(dir=TMP) as t:
        path = os.path.join(t, "log.sock")
        log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        log.bind(path)
        log.settimeout(0.2)
        f, sock, dest = start(t, FILTER, ["--syslog", "local3@" + path])
        now = int(time.time() * 1000)
        dg = v5([(now - 2000, now - 1000, 0x0a000001, 0x0a000002, 1234, 80)],
                now)
        msg = None
        end = time.monotonic() + WAIT
        while msg is None and time.monotonic() < end:
            sock.sendto(dg, dest)
            try:
                msg = log.recv(65536).decode()
            except socket.timeout:
                pass
        if msg is None:
            fail("no syslog message while flowq runs")
        m = re.match(r'<(\d+)>1 (\S+) (\S+) flowq (\d+) match '
                     r'\[flowq@32473 query="q" match="(\d+)"\] (\{.*\})$', msg)
        if not m:
            fail("not an RFC 5424 message of the documented form: %r" % msg)
        # local3 = 19, notice = 5
        if int(m.group(1)) != 19 * 8 + 5:
            fail("PRI %s, want %d" % (m.group(1), 19 * 8 + 5))
        if int(m.group(4)) != f.p.pid:
            fail("PROCID %s is not flowq's pid %d" % (m.group(4), f.p.pid))
        if not re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$",
                        m.group(2)):
            fail("timestamp %r is not RFC 3339 UTC" % m.group(2))
        j = json.loads(m.group(6))
        if j["query"] != "q" or j["match"] != int(m.group(5)):
            fail("message body %r does not match its structured data" % j)
        f.stop()


CASES = {"output": case_output, "sighup": case_sighup, "syslog": case_syslog,
         "past-skew": case_past_skew}

if __name__ == "__main__":
    CASES[CASE]()
    print("ok")
