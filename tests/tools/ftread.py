#!/usr/bin/env python3
"""Independent flow-tools reader (Python 3 standard library only).

Written apart from flowq's C reader from the flow-tools file layout, so that
the two can check each other: it prints the same JSON Lines as
`flowq print --json` (or totals with --totals).

Usage: ftread.py [--totals] FILE_OR_DIR...
"""
import datetime
import json
import os
import struct
import sys
import zlib

REC_SIZE = {1: 60, 5: 64, 6: 72, 7: 68, 1005: 72}


def ip4(v):
    return "%d.%d.%d.%d" % (v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255)


def iso(ms):
    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=ms)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def to_ms(secs, nsecs, uptime, t):
    return secs * 1000 + nsecs // 1000000 - ((uptime - t) & 0xFFFFFFFF)


def read_file(path):
    data = open(path, "rb").read()
    if data[0:2] != b"\xcf\x10":
        raise ValueError("%s: bad magic" % path)
    e = ">" if data[2] == 2 else "<"
    sv = data[3]
    if sv == 3:
        hlen = struct.unpack(e + "I", data[4:8])[0]
        off, dv, flags = 8, None, 0
        while off + 4 <= hlen:
            t, l = struct.unpack(e + "HH", data[off:off + 4])
            v = data[off + 4:off + 4 + l]
            if t == 2:
                dv = struct.unpack(e + "H", v[:2])[0]
            elif t == 8:
                flags = struct.unpack(e + "I", v[:4])[0]
            off += 4 + l
        size = REC_SIZE[dv]
    elif sv == 1:
        hlen = 360
        dv = struct.unpack(e + "H", data[4:6])[0]
        dv = 1 if dv == 65535 else dv
        flags = struct.unpack(e + "I", data[16:20])[0]
        size = 60
    else:
        raise ValueError("stream version %d" % sv)
    body = data[hlen:]
    if flags & 2:
        body = zlib.decompress(body)
    if len(body) % size:
        raise ValueError("%s: partial record" % path)
    for i in range(0, len(body), size):
        p = body[i:i + size]
        r = {}
        if sv == 1:
            (secs, msecs, src, dst, nh, inp, outp, pk, by, first, last, sp, dp,
             _pad, prot, tos, fl) = struct.unpack(e + "IIIIIHHIIIIHHHBBB", p[:49])
            nsecs = (msecs * 1000000) & 0xFFFFFFFF
            exa, up = 0, 0
            et = ei = sm = dm = sa = da = 0
            if dv == 5:
                sa, da = struct.unpack(e + "HH", p[52:56])
                sm, dm = p[56], p[57]
            st = secs * 1000 + msecs - ((0 - first) & 0xFFFFFFFF)
            en = secs * 1000 + msecs - ((0 - last) & 0xFFFFFFFF)
        else:
            (secs, nsecs, up, exa, src, dst, nh, inp, outp, pk, by, first, last,
             sp, dp, prot, tos, fl) = struct.unpack(e + "IIIIIIIHHIIIIHHBBB", p[:55])
            et = ei = sm = dm = sa = da = 0
            if dv != 1:
                et, ei, sm, dm = p[56], p[57], p[58], p[59]
                sa, da = struct.unpack(e + "HH", p[60:64])
            st = to_ms(secs, nsecs, up, first)
            en = to_ms(secs, nsecs, up, last)
        r = {"rec_id": 0, "exporter": ip4(exa), "domain": et << 8 | ei,
             "srcip": ip4(src), "dstip": ip4(dst), "nexthop": ip4(nh),
             "srcport": sp, "dstport": dp, "prot": prot, "tos": tos,
             "tcp_flags": fl, "packets": pk, "bytes": by,
             "stime": st, "stime_iso": iso(st), "etime": en, "etime_iso": iso(en),
             "duration": en - st, "input": inp, "output": outp,
             "src_as": sa, "dst_as": da, "src_mask": sm, "dst_mask": dm,
             "engine_type": et, "engine_id": ei, "sampling": 1,
             "unix_secs": secs, "unix_nsecs": nsecs, "sysUpTime": up}
        yield r


def paths(args):
    for a in args:
        if os.path.isdir(a):
            for n in sorted(os.listdir(a)):
                if n.startswith("ft-"):
                    yield os.path.join(a, n)
        else:
            yield a


def main():
    args = sys.argv[1:]
    totals = "--totals" in args
    args = [a for a in args if a != "--totals"]
    n = pk = by = 0
    out = sys.stdout
    for path in paths(args):
        for r in read_file(path):
            n += 1
            r["rec_id"] = n
            pk += r["packets"]
            by += r["bytes"]
            if not totals:
                out.write(json.dumps(r, separators=(",", ":")) + "\n")
    if totals:
        print("records %d packets %d bytes %d" % (n, pk, by))


if __name__ == "__main__":
    main()
