#!/usr/bin/env python3
"""Run the seeds' queries on the shared traces; per-stage counts as Markdown.

Usage: bench/seed-queries.py FLOWQ [SHARED_DIR] [--timeout S] > table.md

For every query (the five published Flowy queries, the paper's HTTP
download query, the thesis' Skype and NAT64 signatures) and every trace
(trace-2009, trace-2012, the flowy-2009-12-07 directory) it runs
`flowq run --no-records --stats-json` in --batch and in default streaming
mode, and prints per branch: records passing the filter, groups, groups out
of the group filter; per query: matches, wall time, late records.
"""
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    args = sys.argv[1:]
    timeout = 300
    if "--timeout" in args:
        i = args.index("--timeout")
        timeout = float(args[i + 1])
        del args[i:i + 2]
    flowq = args[0]
    shared = args[1] if len(args) > 1 else os.path.join(ROOT, "..", "shared")
    fq = os.path.join(shared, "data", "queries", "flowy")
    queries = [os.path.join(fq, n) for n in sorted(os.listdir(fq))]
    queries += [os.path.join(ROOT, "tests", "queries", n) for n in (
        "paper-http-download.flw", "thesis-skype-signature.flw",
        "thesis-nat64-skype-failure.flw")]
    tr = os.path.join(shared, "data", "traces")
    traces = [os.path.join(tr, n) for n in (
        "trace-2009.ftz", "trace-2012.ftz", "flowy-2009-12-07")]
    print("| query | trace | mode | per branch: filter out / groups / group filter out | matches | late | wall s |")
    print("|---|---|---|---|---|---|---|")
    for q in queries:
        for t in traces:
            for mode in ("batch", "stream"):
                cmd = [flowq, "run", "--json", "--no-records", "--stats-json", q, "-s", t]
                if mode == "batch":
                    cmd.insert(2, "--batch")
                t0 = time.perf_counter()
                try:
                    p = subprocess.run(cmd, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, timeout=timeout)
                except subprocess.TimeoutExpired:
                    print("| %s | %s | %s | did not finish in %d s | | | |" % (
                        os.path.basename(q), os.path.basename(t), mode, timeout))
                    continue
                wall = time.perf_counter() - t0
                if p.returncode != 0:
                    print("| %s | %s | %s | exit %d | | | |" % (
                        os.path.basename(q), os.path.basename(t), mode, p.returncode))
                    continue
                st = json.loads(p.stderr.decode().strip().splitlines()[-1])["engine"]
                qs = st["queries"][0]
                br = "; ".join("%s: %d / %d / %d" % (
                    b, c["filter_out"], c["groups"], c["groupfilter_out"])
                    for b, c in sorted(qs["branches"].items()))
                print("| %s | %s | %s | %s | %d | %d | %.2f |" % (
                    os.path.basename(q), os.path.basename(t), mode, br,
                    qs["matches"], st["late"], wall))
                sys.stdout.flush()


if __name__ == "__main__":
    main()
