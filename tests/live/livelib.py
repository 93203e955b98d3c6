"""Helpers shared by the live tests (live.py, shutdown.py): a NetFlow v5
datagram builder and a flowq process whose -o file is read while it runs.
Waits are generous limits for what must happen, never timing thresholds.
"""
import os
import signal
import socket
import struct
import subprocess
import sys
import time

WAIT = 20.0          # the most a test waits for something promised at once


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def v5(records, unix_ms, uptime=100000000, engine_id=0, seq=0):
    """A NetFlow v5 datagram: records are (stime_ms, etime_ms, srcip,
    dstip, srcport, dstport) in absolute time; the header says the export
    happened at unix_ms with the router up for `uptime` ms."""
    secs, ms = divmod(unix_ms, 1000)
    hdr = struct.pack(">HHIIIIBBH", 5, len(records), uptime, secs,
                      ms * 1000000, seq, 0, engine_id, 0)
    body = b""
    for st, et, src, dst, sp, dp in records:
        first = (uptime - (unix_ms - st)) & 0xFFFFFFFF
        last = (uptime - (unix_ms - et)) & 0xFFFFFFFF
        body += struct.pack(">IIIHHIIIIHHBBBBHHBBH", src, dst, 0, 0, 0, 1,
                            100, first, last, sp, dp, 0, 0x18, 6, 0, 0, 0,
                            0, 0, 0)
    return hdr + body


def wait_until(pred, what, proc=None, limit=WAIT):
    """Poll pred until true; fail after `limit` seconds, or at once when
    proc (a Popen) exits first."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            fail("flowq exited (%d) while waiting for %s" %
                 (proc.returncode, what))
        if pred():
            return
        time.sleep(0.05)
    fail("%s: not there after %.0f s while flowq runs" % (what, limit))


class Flowq:
    def __init__(self, flowq, args, out, stdout=subprocess.DEVNULL):
        self.out = out
        self.err = open(out + ".err", "wb")
        self.p = subprocess.Popen([flowq] + args, stdout=stdout,
                                  stderr=self.err)

    def lines(self, path=None):
        """The complete lines of the file (a line being written is not)."""
        try:
            with open(path or self.out) as f:
                text = f.read()
        except FileNotFoundError:
            return []
        return [l for l in text[:text.rfind("\n") + 1].splitlines() if l]

    def wait_for(self, pred, what):
        wait_until(pred, what, self.p)

    def stderr(self):
        return open(self.out + ".err").read()

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        rc = self.p.wait(timeout=60)
        self.err.close()
        if rc != 0:
            fail("exit status %d after SIGTERM: %s" % (rc, self.stderr()))
        return self.stderr()
