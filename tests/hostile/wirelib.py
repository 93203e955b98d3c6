"""Helpers of the crafted-datagram tests (restart.py, times.py): a flowq
`print --json --stats-json` on a loopback UDP port, datagrams sent to it
from one socket, NetFlow v9 and IPFIX builders.  Loopback only; every
wait has a generous timeout and no assertion depends on timing."""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def bound(port):
    with open("/proc/net/udp") as f:
        for line in f.readlines()[1:]:
            if int(line.split()[1].rsplit(":", 1)[1], 16) == port:
                return True
    return False


class Flowq:
    """flowq print --json --stats-json -s udp://127.0.0.1:PORT [extra]."""

    def __init__(self, flowq, tmp, tag, extra=()):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        os.makedirs(tmp, exist_ok=True)
        self.out = os.path.join(tmp, tag + ".json")
        self.err = os.path.join(tmp, tag + ".err")
        self.p = subprocess.Popen(
            [flowq, "print", "--json", "--stats-json"] + list(extra) +
            ["-s", "udp://127.0.0.1:%d" % self.port],
            stdout=open(self.out, "wb"), stderr=open(self.err, "wb"))
        deadline = time.time() + 10
        while not bound(self.port):
            if time.time() > deadline or self.p.poll() is not None:
                self.p.kill()
                fail("flowq did not bind: " + open(self.err).read())
            time.sleep(0.02)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))

    def send(self, dg):
        self.sock.sendto(dg, ("127.0.0.1", self.port))

    def stop(self, datagrams):
        """Waits until flowq has taken `datagrams` off its socket (its
        receive queue empty), stops it; returns (records, exporter
        counters of our one exporter)."""
        deadline = time.time() + 20
        while time.time() < deadline and queued(self.port):
            time.sleep(0.05)
        time.sleep(0.3)
        self.p.send_signal(signal.SIGINT)
        try:
            rc = self.p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.p.kill()
            fail("flowq did not exit on SIGINT")
        err = open(self.err, errors="replace").read()
        if rc != 0:
            fail("flowq exited %d: %s" % (rc, err))
        stats = None
        for line in reversed(err.splitlines()):
            if line.startswith("{"):
                stats = json.loads(line)
                break
        if stats is None:
            fail("no JSON counters: " + err)
        ex = stats["exporters"]
        if len(ex) != 1 or ex[0]["datagrams"] != datagrams:
            fail("exporters %s, expected one with %d datagrams" %
                 (ex, datagrams))
        recs = [json.loads(l) for l in open(self.out) if l.strip()]
        return recs, ex[0]


def queued(port):
    """Bytes waiting in the receive queue of the UDP socket on port."""
    with open("/proc/net/udp") as f:
        for line in f.readlines()[1:]:
            v = line.split()
            if int(v[1].rsplit(":", 1)[1], 16) == port:
                return int(v[4].split(":")[1], 16)
    return 0


def v9(seq, uptime, secs, flowsets, count, source=7):
    body = b"".join(flowsets)
    return struct.pack(">HHIIII", 9, count, uptime, secs, seq, source) + body


def ipfix(seq, secs, sets, domain=7):
    body = b"".join(sets)
    return struct.pack(">HHIII", 10, 16 + len(body), secs, seq,
                       domain) + body


def set_(sid, body):
    """A v9 flowset or IPFIX set, padded to 4 bytes."""
    body += b"\0" * (-len(body) % 4)
    return struct.pack(">HH", sid, 4 + len(body)) + body


def template(tid, fields):
    """Template record: fields as (element id, length)."""
    return struct.pack(">HH", tid, len(fields)) + b"".join(
        struct.pack(">HH", f, n) for f, n in fields)


def record(fields, values):
    """A data record: each value packed in its field's length."""
    out = b""
    for (f, n), v in zip(fields, values):
        if isinstance(v, bytes):
            out += v
        else:
            out += (v % (1 << (8 * n))).to_bytes(n, "big")
    return out


def ip4(s):
    return socket.inet_aton(s)
