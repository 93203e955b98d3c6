#!/usr/bin/env python3
"""Exporter restart (issue 18 item 4): templates of a restarted exporter
are withdrawn, not used on its new layout.

Usage: restart.py CASE FLOWQ TMPDIR     CASE: v9, ipfix, ipfix-native
Exit 0 pass, 1 fail.

One exporter sends template 256 (v9) or 300 (IPFIX), layout A, and 3
records in two datagrams; then it "restarts": the sequence number goes back
to 0 (v9: sysUptime back near 0; IPFIX: the export time goes on), and it
sends 4 records of a different layout B of the same length under the same
template id before it announces B, then B and the same 4 records again.
(A late datagram of the first run, sequence a little back, comes
between: not a restart.)  flowq must emit exactly the 3 + 4 records sent after their templates,
field by field, count one restart and the records (v9) or set (IPFIX) of
the unknown template.  Before restart detection flowq read the 4 early
records with layout A: 11 records, garbage among them (protocol 0,
etime before stime).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wirelib import Flowq, fail, ip4, ipfix, record, set_, template, v9  # noqa

CASE, FLOWQ, TMP = sys.argv[1:4]
NOW = int(time.time())

# (element id, length): v9 and IPFIX share these ids; IPFIX counters and
# times are 8 bytes (flowStart/EndMilliseconds 152/153), v9's 4
# (FIRST/LAST_SWITCHED 22/21, uptime based).
if CASE == "v9":
    A = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (2, 4), (1, 4),
         (22, 4), (21, 4)]
else:
    A = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (2, 8), (1, 8),
         (152, 8), (153, 8)]
B = list(reversed(A))           # same length, every field elsewhere
TID = 256 if CASE == "v9" else 300


def flow(i, start_ms, end_ms):
    """Record i as flowq must print it (and its wire values)."""
    return {"srcip": "10.0.%d.1" % i, "dstip": "10.1.%d.2" % i,
            "srcport": 1000 + i, "dstport": 53, "prot": 17,
            "packets": 10 + i, "bytes": 1000 + i,
            "stime": start_ms, "etime": end_ms}


def wire(f, layout, uptime=None, secs=None):
    vals = {8: ip4(f["srcip"]), 12: ip4(f["dstip"]), 7: f["srcport"],
            11: f["dstport"], 4: f["prot"], 2: f["packets"],
            1: f["bytes"], 152: f["stime"], 153: f["etime"]}
    if uptime is not None:      # v9: times as sysUptime of the record
        vals[22] = uptime - (secs * 1000 - f["stime"])
        vals[21] = uptime - (secs * 1000 - f["etime"])
    values = [vals[e] for e, _ in layout]
    return record(layout, values)


def main():
    extra = ["--ipfix-decoder", "native"] if CASE == "ipfix-native" else []
    fq = Flowq(FLOWQ, TMP, "restart-" + CASE, extra)
    base = NOW * 1000
    before = [flow(i, base - 20000 + i, base - 10000 + i) for i in range(3)]
    after = [flow(10 + i, base - 900 + i, base - 100 + i) for i in range(4)]
    tset = 0 if CASE == "v9" else 2
    if CASE == "v9":
        up = 5000000
        dgs = [
            v9(0, up, NOW, [set_(tset, template(TID, A)),
                            set_(TID, b"".join(wire(f, A, up, NOW)
                                               for f in before[:2]))], 3),
            v9(1, up + 1000, NOW,
               [set_(TID, wire(before[2], A, up + 1000, NOW))], 1),
            # a late datagram (sequence and uptime a little back, the
            # same boot time): no restart
            v9(0, up, NOW, [set_(tset, template(TID, A))], 1),
            # restart: sequence 0, uptime 1 s; B's records before B
            v9(0, 1000, NOW, [set_(TID, b"".join(wire(f, B, 1000, NOW)
                                                 for f in after))], 4),
            v9(1, 1100, NOW, [set_(tset, template(TID, B)),
                              set_(TID, b"".join(wire(f, B, 1100, NOW)
                                                 for f in after))], 5),
        ]
    else:
        dgs = [
            ipfix(0, NOW, [set_(tset, template(TID, A)),
                           set_(TID, b"".join(wire(f, A)
                                              for f in before[:2]))]),
            ipfix(2, NOW, [set_(TID, wire(before[2], A))]),
            # a late message (sequence a little back): no restart
            ipfix(1, NOW, [set_(tset, template(TID, A))]),
            # restart: sequence 0, the export time goes on
            ipfix(0, NOW + 1, [set_(TID, b"".join(wire(f, B)
                                                  for f in after))]),
            ipfix(0, NOW + 1, [set_(tset, template(TID, B)),
                               set_(TID, b"".join(wire(f, B)
                                                  for f in after))]),
        ]
    for d in dgs:
        fq.send(d)
    recs, ex = fq.stop(len(dgs))
    keys = list(before[0])
    got = sorted(tuple(r[k] for k in keys) for r in recs)
    want = sorted(tuple(f[k] for k in keys) for f in before + after)
    print("records %d (want %d), exporter_restarts %s, "
          "unknown_template_records %s, unknown_template_sets %s" %
          (len(got), len(want), ex.get("exporter_restarts"),
           ex.get("unknown_template_records"),
           ex.get("unknown_template_sets")))
    if got != want:
        bad = [r for r in got if r not in want][:3]
        fail("records differ: %d, expected %d; not sent: %s" %
             (len(got), len(want), bad))
    if ex.get("exporter_restarts") != 1:
        fail("exporter_restarts %s, expected 1" % ex.get("exporter_restarts"))
    if CASE == "v9" and ex.get("unknown_template_records") != 4:
        fail("unknown_template_records %s, expected 4" %
             ex.get("unknown_template_records"))
    if ex.get("unknown_template_sets") != 1:
        fail("unknown_template_sets %s, expected 1" %
             ex.get("unknown_template_sets"))
    if ex["malformed"] != 0:
        fail("malformed %s" % ex["malformed_by_reason"])
    print("ok: %s restart: 7 records as sent, 1 restart, the early set "
          "counted as unknown" % CASE)


main()
