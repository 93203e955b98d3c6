#!/usr/bin/env python3
"""Measure the disorder of a flow trace, to set stream-time defaults.

Reads `flowq print --json` output on stdin.  Per exporter, a record's lag
is (largest etime seen so far) - (its etime): how far behind the stream's
front it arrives.  Also reports flow durations.  SPEC section 5 sets the
defaults of --lateness and --max-duration from these figures.

Usage: flowq print --json TRACE | bench/disorder.py
"""
import json
import sys


def pct(v, p):
    if not v:
        return 0
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p / 100))]


front = {}
lags, durs = [], []
for line in sys.stdin:
    r = json.loads(line)
    key = (r["exporter"], r["domain"])
    f = front.get(key)
    lags.append(0 if f is None or r["etime"] >= f else f - r["etime"])
    if f is None or r["etime"] > f:
        front[key] = r["etime"]
    durs.append(r["etime"] - r["stime"])

n = len(lags)
print("records %d exporters %d" % (n, len(front)))
for p in (50, 90, 99, 99.9, 100):
    print("lag p%-5s %8.1f s   duration p%-5s %8.1f s" %
          (p, pct(lags, p) / 1000, p, pct(durs, p) / 1000))
over5 = sum(1 for d in durs if d > 300000)
over10 = sum(1 for d in durs if d > 600000)
print("flows over 5 min: %d (%.2f%%), over 10 min: %d (%.3f%%)" %
      (over5, 100.0 * over5 / max(n, 1), over10, 100.0 * over10 / max(n, 1)))
