#!/usr/bin/env python3
"""Time sanity (issue 18 item 5): crafted IPFIX records with times no
exporter should send, live over UDP, then replayed from the capture flowq
recorded of them and printed as text.

Usage: times.py FLOWQ TMPDIR
Exit 0 pass, 1 fail.

Records (flowStartMilliseconds, flowEndMilliseconds; now = export time):
  r0 now-5 s, now-1 s          fine
  r1 2^64-1, now-1 s           -1 ms read as a signed number: 1969
  r2 2^64-8000 years, now-1 s  year -6000 before
  r3 1975, now-1 s             representable, before 1990
  r4 now-1 s, now-5 s          etime before stime
  r5 now, now+1 day            past arrival + --max-skew (10 min)
  r6 2^64-1000, 2^64-500       no start nor end time at all
docs/decoders.md ("Times") says what becomes of each: kept, a time that
is no time replaced by the record's other time or the export time, a
negative duration's etime set to stime, and every one counted by reason.
A capture taken on 2013-01-01 with a record of 2020, replayed: the window
is the capture's own (arrival = capture time), so it is time_future.
flowq before: r1, r2, r6 carried negative times (text: 1969 and
"-6029-..." years), r4 a negative duration, and nothing was counted.
"""
import json
import os
import re
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wirelib import Flowq, fail, ip4, ipfix, record, set_, template  # noqa

FLOWQ, TMP = sys.argv[1:3]
NOW = int(time.time())
T = NOW * 1000
M64 = 1 << 64
YEARS8000 = 8000 * 365 * 86400 * 1000
DAY = 86400 * 1000
L = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (2, 8), (1, 8), (152, 8),
     (153, 8)]
# (wire start, wire end, printed stime, printed etime)
CASES = [
    (T - 5000, T - 1000, T - 5000, T - 1000),
    (M64 - 1, T - 1000, T - 1000, T - 1000),
    (M64 - YEARS8000, T - 1000, T - 1000, T - 1000),
    (157766400000, T - 1000, 157766400000, T - 1000),
    (T - 1000, T - 5000, T - 1000, T - 1000),
    (T, T + DAY, T, T + DAY),
    (M64 - 1000, M64 - 500, T, T),
]
WANT_ANOM = {"time_invalid": 4, "time_before_1990": 1,
             "negative_duration": 1, "time_future": 1}


def pcap_of(ts, payload):
    """A one-packet Ethernet/IPv4/UDP capture taken at Unix time ts."""
    udp = struct.pack(">HHHH", 40000, 4739, 8 + len(payload), 0) + payload
    iph = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17,
                      0, ip4("127.0.0.1"), ip4("127.0.0.1"))
    csum = sum(struct.unpack(">10H", iph))
    csum = (csum & 0xffff) + (csum >> 16)
    iph = iph[:10] + struct.pack(">H", ~csum & 0xffff) + iph[12:]
    frame = b"\0" * 12 + b"\x08\x00" + iph + udp
    return (struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1) +
            struct.pack("<IIII", ts, 0, len(frame), len(frame)) + frame)


def old_capture(errs):
    """Replayed, "now" is the capture's time: in a capture of 2013-01-01
    a record of 2013 is fine and one of 2020 is in the future (by the wall
    clock neither would be)."""
    t13 = 1356998400
    recs = b"".join(record(L, [ip4("10.7.0.%d" % i), ip4("10.8.0.1"),
                               3000 + i, 80, 6, 1, 100, s, s + 1000])
                    for i, s in enumerate([t13 * 1000 - 5000,
                                           1577836800000]))
    path = os.path.join(TMP, "old.pcap")
    with open(path, "wb") as f:
        f.write(pcap_of(t13, ipfix(0, t13, [set_(2, template(400, L)),
                                              set_(400, recs)])))
    p = subprocess.run([FLOWQ, "print", "--json", "--stats-json", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    st = [json.loads(x) for x in p.stderr.decode().splitlines()
          if x.startswith("{")]
    n = len(p.stdout.splitlines())
    anom = st[-1]["exporters"][0].get("anomalies_by_reason") if st else None
    print("capture of 2013: exit %d, %d records, anomalies %s" %
          (p.returncode, n, anom))
    if p.returncode != 0 or n != 2 or anom != {"time_future": 2}:
        errs.append("capture of 2013: exit %d, %d records, anomalies %s, "
                    "want 2 records, time_future 2 (stime and etime of "
                    "the 2020 record)" % (p.returncode, n, anom))


def main():
    cap = os.path.join(TMP, "times.pcap")
    fq = Flowq(FLOWQ, TMP, "times", ["--record", cap])
    recs = b"".join(record(L, [ip4("10.9.0.%d" % i), ip4("10.8.0.1"),
                               2000 + i, 80, 6, 1, 100, s, e])
                    for i, (s, e, _, _) in enumerate(CASES))
    fq.send(ipfix(0, NOW, [set_(2, template(400, L)), set_(400, recs)]))
    got, ex = fq.stop(1)
    errs = []
    by_port = {r["srcport"]: r for r in got}
    for i, (_, _, st, et) in enumerate(CASES):
        r = by_port.get(2000 + i)
        if r is None:
            errs.append("r%d missing" % i)
        elif (r["stime"], r["etime"]) != (st, et):
            errs.append("r%d stime %d etime %d, want %d %d" %
                        (i, r["stime"], r["etime"], st, et))
    anom = ex.get("anomalies_by_reason")
    print("live: %d records; anomalies %s" % (len(got), anom))
    if anom != WANT_ANOM:
        errs.append("anomalies %s, want %s" % (anom, WANT_ANOM))
    # The text printer: no negative or five-digit year, ever.  Replayed,
    # the window is the capture's: arrival is the packet's capture time,
    # so the same times are out of it.
    p = subprocess.run([FLOWQ, "print", "--stats-json", cap],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    text = p.stdout.decode(errors="replace")
    rst = [json.loads(x) for x in p.stderr.decode().splitlines()
           if x.startswith("{")]
    ranom = rst[-1]["exporters"][0].get("anomalies_by_reason") if rst \
        else None
    print("replay: anomalies %s" % ranom)
    if ranom != WANT_ANOM:
        errs.append("replay: anomalies %s, want %s" % (ranom, WANT_ANOM))
    years = [int(y) for y in re.findall(r"(-?\d+)-\d\d-\d\dT", text)]
    print("replay: exit %d, years printed %s" % (p.returncode,
                                                  sorted(set(years))))
    if p.returncode != 0 or len(text.splitlines()) < len(CASES):
        errs.append("replay: exit %d, %d lines" %
                    (p.returncode, len(text.splitlines())))
    if any(y < 0 or y > 9999 for y in years) or re.search(r"\s-\d+-\d\d-",
                                                          text):
        errs.append("a year outside 0000-9999 printed: %s" %
                    sorted(set(years)))
    old_capture(errs)
    if errs:
        fail("; ".join(errs))
    print("ok: 7 crafted records, times settled and counted")


main()
