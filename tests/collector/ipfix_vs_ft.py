#!/usr/bin/env python3
"""The 2009 trace as an IPFIX file must decode to the same records as the
same trace as a flow-tools file (NFQL examples, ../shared/data/traces).

usage: ipfix_vs_ft.py FLOWQ SHARED_DIR    (exit 77 when the data is absent)

Compared as multisets (the two files order records differently) on every
field both formats carry; ToS is not in the IPFIX file's template.
"""
import collections
import json
import os
import subprocess
import sys

KEYS = ["srcip", "dstip", "nexthop", "srcport", "dstport", "prot", "packets",
        "bytes", "stime", "etime", "tcp_flags", "input", "output", "src_as",
        "dst_as", "src_mask", "dst_mask", "sampling"]


def records(flowq, src):
    r = subprocess.run([flowq, "print", "--json", src], capture_output=True,
                       text=True)
    if r.returncode != 0:
        print(r.stderr)
        sys.exit(1)
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


def main():
    flowq, shared = sys.argv[1], sys.argv[2]
    traces = os.path.join(shared, "data", "traces")
    ipfix = os.path.join(traces, "trace-2009.ipfix")
    ft = os.path.join(traces, "trace-2009.ftz")
    if not (os.path.exists(ipfix) and os.path.exists(ft)):
        print("no shared traces: skipped")
        return 77
    a = records(flowq, "ipfix:" + ipfix)
    b = records(flowq, ft)
    ca = collections.Counter(tuple(x[k] for k in KEYS) for x in a)
    cb = collections.Counter(tuple(x[k] for k in KEYS) for x in b)
    same = sum((ca & cb).values())
    print("ipfix %d records, flow-tools %d, identical %d" % (len(a), len(b), same))
    for k, v in list((ca - cb).items())[:5]:
        print("only ipfix:", dict(zip(KEYS, k)))
    for k, v in list((cb - ca).items())[:5]:
        print("only flow-tools:", dict(zip(KEYS, k)))
    return 0 if len(a) == len(b) == same and same > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
