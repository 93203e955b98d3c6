#!/usr/bin/env python3
"""collector:ipfix-native - `--ipfix-decoder native` gives the records
libfixbuf gives, through the flowq binary.

Usage: ipfix_native.py FLOWQ FLOWGEN SHARED_DIR TMPDIR

For a generated IPFIX trace (bench/flowgen, 20,000 records, as raw
datagrams and as a pcap) and for every IPFIX capture of
SHARED_DIR/data/exports/raw (each vendor's template file replayed before
its data files; skipped when the shared data is absent), `flowq print
--json` with the default decoder and with `--ipfix-decoder native` must be
byte-identical, and so must the per-exporter counters.  A bad value of the
option is a usage error (exit 2, one line).
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

FLOWQ, FLOWGEN, SHARED, TMP = sys.argv[1:5]
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def run(args):
    return subprocess.run([FLOWQ] + args, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)


def exporters(stderr):
    for line in stderr.decode().splitlines():
        if line.startswith("{"):
            st = json.loads(line)
            ex = st.get("exporters") or st.get("ingest", {}).get("exporters")
            return ex
    return None


def compare(name, sources):
    args = ["print", "--json", "--stats-json"]
    for s in sources:
        args += ["-s", s]
    a = run(args)
    b = run(args[:1] + ["--ipfix-decoder", "native"] + args[1:])
    if a.returncode != 0 or b.returncode != 0:
        fail("%s: exit %d / %d: %r" % (name, a.returncode, b.returncode,
                                       b.stderr[-300:]))
        return 0
    n = a.stdout.count(b"\n")
    if a.stdout != b.stdout:
        fail("%s: records differ (%d / %d lines)" %
             (name, n, b.stdout.count(b"\n")))
    if exporters(a.stderr) != exporters(b.stderr):
        fail("%s: counters differ:\n%s\n%s" %
             (name, exporters(a.stderr), exporters(b.stderr)))
    return n


def main():
    with tempfile.TemporaryDirectory(dir=TMP) as t:
        for fmt, kind in (("ipfix", "raw:"), ("pcap-ipfix", "pcap:")):
            path = os.path.join(t, "gen." + fmt)
            subprocess.run([FLOWGEN, "--records", "20000", "--seed", "3",
                            "--format", fmt, "--quiet", "-o", path],
                           check=True)
            n = compare("flowgen " + fmt, [kind + path])
            if n != 20000:
                fail("flowgen %s: %d records, not 20000" % (fmt, n))
    raw = os.path.join(SHARED, "data", "exports", "raw")
    total = 0
    if os.path.isdir(raw):
        files = sorted(glob.glob(os.path.join(raw, "logstash-ipfix*.dat")))
        # A vendor's template file first, then its data files.
        groups = {}
        for f in files:
            base = os.path.basename(f)[len("logstash-ipfix"):-4]
            vendor = base.split("_")[2] if base.startswith("_test_") else ""
            groups.setdefault(vendor, []).append(f)
        for vendor, fs in sorted(groups.items()):
            fs.sort(key=lambda f: ("tpl" not in os.path.basename(f), f))
            total += compare("shared ipfix %s" % (vendor or "plain"),
                             ["raw:" + f for f in fs])
        print("shared IPFIX captures: %d records identical" % total)
    else:
        print("shared data absent: generated traces only")
    p = run(["print", "--ipfix-decoder", "bogus", "raw:/dev/null"])
    lines = p.stderr.decode().strip().splitlines()
    if p.returncode != 2 or len(lines) != 1:
        fail("bad --ipfix-decoder: exit %d, %r" % (p.returncode, p.stderr))
    if failures:
        sys.exit(1)
    print("ok")


main()
