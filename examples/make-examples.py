#!/usr/bin/env python3
"""Make the shipped example traces (deterministic).

examples/http-downloads.ft: a flow-tools file (stream v3, little-endian,
uncompressed, NetFlow v5 records) with a few HTTP downloads — a client's
request connections to port 80 and the server's overlapping, larger
responses — between DNS lookups, a port scan and background traffic.  The
HTTP download query of the Flowy paper (examples/http-download.flw) finds
the downloads in it.

Usage: examples/make-examples.py [OUTDIR]
"""
import os
import random
import struct
import sys

BASE = 1335772141  # 2012-04-30T07:49:01Z


def ip(s):
    a, b, c, d = (int(x) for x in s.split("."))
    return a << 24 | b << 16 | c << 8 | d


def record(st_ms, en_ms, src, dst, sport, dport, prot, pkts, octets, flags):
    # Export at the flow's end + 30 s; the router booted 10 days earlier.
    exp_ms = en_ms + 30000
    secs, msec = divmod(exp_ms, 1000)
    uptime = 864000000 + (exp_ms - BASE * 1000)
    first = uptime - (exp_ms - st_ms)
    last = uptime - (exp_ms - en_ms)
    return struct.pack("<IIIIIIIHHIIIIHHBBBBBBBBHH",
                       secs, msec * 1000000, uptime, ip("192.0.2.254"),
                       ip(src), ip(dst), ip("192.0.2.1"), 1, 2, pkts, octets,
                       first & 0xFFFFFFFF, last & 0xFFFFFFFF, sport, dport,
                       prot, 0, flags, 0, 0, 0, 24, 24, 0, 0)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
        os.path.abspath(__file__))
    rnd = random.Random(2012)
    recs = []
    t0 = BASE * 1000
    # Three HTTP downloads: 2-4 request connections, each answered.
    for k, (client, server) in enumerate([("10.1.0.11", "198.51.100.80"),
                                          ("10.1.0.12", "203.0.113.8"),
                                          ("10.1.0.13", "198.51.100.80")]):
        start = t0 + k * 120000
        recs.append((start - 400, start - 380, client, "10.1.0.1", 50000 + k,
                     53, 17, 1, 70, 0))
        recs.append((start - 390, start - 370, "10.1.0.1", client, 53,
                     50000 + k, 17, 1, 230, 0))
        t = start
        for c in range(2 + k):
            port = 40000 + 10 * k + c
            dur = rnd.randint(2000, 9000)
            recs.append((t, t + dur, client, server, port, 80, 6,
                         8 + c, 900 + 100 * c, 0x1b))
            recs.append((t + 20, t + dur - 20, server, client, 80, port, 6,
                         40 + 5 * c, 52000 + 4000 * c, 0x1b))
            t += dur + rnd.randint(100, 800)
    # A port scan: one SYN per port, no answers.
    for p in range(20, 45):
        t = t0 + 30000 + p * 15
        recs.append((t, t, "203.0.113.66", "10.1.0.12", 61000, p, 6, 1, 44,
                     0x02))
    # Background: NTP and ICMP.
    for i in range(30):
        t = t0 + i * 9000
        recs.append((t, t + 1, "10.1.0.20", "192.0.2.123", 123, 123, 17, 1,
                     76, 0))
        recs.append((t + 5, t + 6, "10.1.0.21", "10.1.0.22", 0, 2048, 1, 1,
                     84, 0))
    # Export order: by end time, as a router flushes them.
    recs.sort(key=lambda r: (r[1], r[0]))
    body = b"".join(record(*r) for r in recs)
    tlv = struct.pack("<HHH", 2, 2, 5) + struct.pack("<HHI", 8, 4, 0)
    hdr = b"\xcf\x10\x01\x03" + struct.pack("<I", 8 + len(tlv)) + tlv
    with open(os.path.join(out, "http-downloads.ft"), "wb") as f:
        f.write(hdr + body)
    print("wrote %d records" % len(recs))


if __name__ == "__main__":
    main()
