#!/usr/bin/env python3
"""Shutdown always completes (issue 18): SIGTERM ends flowq even when
what it writes to does not cooperate, and nothing it started survives it.

Usage: shutdown.py CASE FLOWQ TMPDIR
Exit 0 pass, 1 fail.

No assertion is about time: after the signal each case waits, up to a
generous limit, for flowq to exit; flowq without a grace period never
exits at all, so the limit only bounds the test.

Cases:
  hung-hook      an --exec hook whose shell ignores EOF and SIGTERM and
                 which started a child of its own (dash forks; the child
                 ignores SIGTERM too): after SIGTERM flowq exits 0 with
                 its final counters, and neither the shell nor the child
                 is left running;
  stuck-stdout   stdout a pipe whose reader never reads, flowq blocked in
                 write(): SIGTERM ends it at the end of --grace with exit
                 status 1, "cannot write output: given up ..." and the
                 final counters on stderr;
  second-signal  the same stuck stdout with --grace inf: a first SIGTERM
                 leaves flowq waiting, a second ends it at once with exit
                 status 128 + 15.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

from livelib import Flowq, fail, free_port, v5, wait_until

CASE, FLOWQ, TMP = sys.argv[1:4]
os.makedirs(TMP, exist_ok=True)
LIMIT = 60.0          # the most a test waits for flowq to exit
FILTER = "splitter S {}\nfilter f {\n  prot = 6\n}\nS branch A -> f\n"


def start(t, args, stdout=subprocess.DEVNULL):
    port = free_port()
    q = os.path.join(t, "q.flw")
    open(q, "w").write(FILTER)
    out = os.path.join(t, "out")
    f = Flowq(FLOWQ, ["run", "--json", q, "-s", "udp://127.0.0.1:%d" % port,
                      "--stats-json"] + args, out, stdout=stdout)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    return f, sock, ("127.0.0.1", port)


def alive(pid):
    """Running, that is: neither gone nor a zombie waiting to be reaped."""
    try:
        with open("/proc/%d/stat" % pid) as st:
            return st.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def exit_status(f):
    try:
        return f.p.wait(timeout=LIMIT)
    except subprocess.TimeoutExpired:
        f.p.kill()
        f.p.wait()
        fail("flowq still running %.0f s after the stop signal" % LIMIT)


def final_counters(f):
    """The --stats-json line on stderr (the hook's warnings may follow)."""
    lines = f.stderr().strip().splitlines()
    for line in reversed(lines):
        if line.startswith("{"):
            return json.loads(line)
    fail("no final counters on stderr: %r" % lines[-3:])


def case_hung_hook():
    with tempfile.TemporaryDirectory(dir=TMP) as t:
        pids = os.path.join(t, "pids")
        hook = ("trap '' TERM; sleep 1000 & echo $! > %s.tmp; "
                "echo $$ >> %s.tmp; mv %s.tmp %s; "
                "while :; do sleep 1; done" % (pids, pids, pids, pids))
        f, sock, dest = start(t, ["-o", os.path.join(t, "out"),
                                  "--grace", "1s", "--exec", hook])
        wait_until(lambda: os.path.exists(pids), "the hook's pid file", f.p)
        child, shell = [int(x) for x in open(pids).read().split()]
        if not (alive(child) and alive(shell)):
            fail("the hook is not running")
        now = int(time.time() * 1000)
        sock.sendto(v5([(now - 2000, now - 1000, 0x0a000001, 0x0a000002,
                         1234, 80)], now), dest)
        f.wait_for(lambda: len(f.lines()) >= 1, "the match")
        f.p.send_signal(signal.SIGTERM)
        rc = exit_status(f)
        if rc != 0:
            fail("exit status %d: %s" % (rc, f.stderr()))
        st = final_counters(f)
        if st["engine"]["exec"]["sent"] != 1:
            fail("the hook's counters: %r" % st)
        # flowq has exited; its hook's group was killed before that.
        wait_until(lambda: not alive(shell) and not alive(child),
                   "the hook gone after flowq")


def stuck_flowq(t, args):
    """flowq writing matches to a pipe nobody reads, until it blocks."""
    r, w = os.pipe()
    f, sock, dest = start(t, args, stdout=w)
    os.close(w)
    now = int(time.time() * 1000)
    recs = [(now - 2000, now - 1000, 0x0a000001, 0x0a000002, p, 80)
            for p in range(30)]

    def blocked():
        sock.sendto(v5(recs, now), dest)
        with open("/proc/%d/wchan" % f.p.pid) as wc:
            return wc.read().strip().endswith("pipe_write")
    wait_until(blocked, "flowq blocked writing to the pipe", f.p)
    return f, r


def case_stuck_stdout():
    with tempfile.TemporaryDirectory(dir=TMP) as t:
        f, r = stuck_flowq(t, ["--grace", "1s"])
        f.p.send_signal(signal.SIGTERM)
        rc = exit_status(f)
        os.close(r)
        err = f.stderr()
        if rc != 1 or "cannot write output: given up" not in err:
            fail("exit status %d, stderr %r" % (rc, err[-400:]))
        st = final_counters(f)
        if st["engine"]["records"] < 30:
            fail("final counters: %r" % st["engine"])


def case_second_signal():
    with tempfile.TemporaryDirectory(dir=TMP) as t:
        f, r = stuck_flowq(t, ["--grace", "inf"])
        f.p.send_signal(signal.SIGTERM)
        # A limit, not a threshold: with no grace limit, flowq must still
        # be waiting on the pipe.
        try:
            f.p.wait(timeout=1.0)
            fail("flowq exited (%d) on the first signal with --grace inf"
                 % f.p.returncode)
        except subprocess.TimeoutExpired:
            pass
        f.p.send_signal(signal.SIGTERM)
        rc = exit_status(f)
        os.close(r)
        if rc != 128 + signal.SIGTERM:
            fail("exit status %d after the second SIGTERM, want %d" %
                 (rc, 128 + signal.SIGTERM))


CASES = {"hung-hook": case_hung_hook, "stuck-stdout": case_stuck_stdout,
         "second-signal": case_second_signal}

if __name__ == "__main__":
    CASES[CASE]()
    print("ok")
