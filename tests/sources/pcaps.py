#!/usr/bin/env python3
"""sources:pcaps -- the project's own captures in pcaps/ (pcaps/README.md).

Usage: pcaps.py FLOWQ FLOWGEN SOURCE_ROOT TMPDIR
Exit 0 pass, 1 fail, 77 skip (tshark absent: says so).

1. pcaps/make-pcaps.py, run again with this build's flowgen, remakes
   every capture byte for byte, and pcaps/README.md lists each of them.
2. http-downloads-v5.pcap replays to exactly the records of
   examples/http-downloads.ft: `flowq print --json` of the two is
   byte-identical, and equal to the independent flow-tools reader
   (tests/tools/ftread.py) on the .ft file.
3. tshark, an independent decoder, finds in each export capture
   (http-downloads-v5, flowgen-v5, -v9, -ipfix) the records flowq finds:
   the same multiset of (srcip, dstip, srcport, dstport, prot, packets,
   bytes); the three flowgen captures hold the same 500 flows.
4. traffic.pcap is well formed for tshark (no malformed frame, no bad
   IPv4/TCP/UDP/ICMP checksum).
"""
import collections
import filecmp
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile

FLOWQ, FLOWGEN, ROOT, TMP = sys.argv[1:5]
PCAPS = os.path.join(ROOT, "pcaps")
sys.path.insert(0, os.path.join(ROOT, "tests", "tools"))
import ftread  # noqa: E402

EXPORTS = ["http-downloads-v5.pcap", "flowgen-v5.pcap", "flowgen-v9.pcap",
           "flowgen-ipfix.pcap"]
ALL = EXPORTS + ["traffic.pcap"]


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def flowq(args):
    p = subprocess.run([FLOWQ] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if p.returncode != 0:
        fail("flowq %s: exit %d: %s" % (" ".join(args), p.returncode,
                                        p.stderr.decode(errors="replace")))
    return p.stdout


def remade():
    with tempfile.TemporaryDirectory(dir=TMP) as t:
        subprocess.run([sys.executable, os.path.join(PCAPS, "make-pcaps.py"),
                        "--flowgen", FLOWGEN, t], check=True)
        made = sorted(os.listdir(t))
        if made != sorted(ALL):
            fail("make-pcaps.py made %s, expected %s" % (made, sorted(ALL)))
        for f in made:
            if not filecmp.cmp(os.path.join(t, f), os.path.join(PCAPS, f),
                               shallow=False):
                fail("pcaps/%s differs from what make-pcaps.py makes now: "
                     "remake it (pcaps/make-pcaps.sh) if the generator "
                     "changed on purpose" % f)
    readme = open(os.path.join(PCAPS, "README.md")).read()
    stored = sorted(f for f in os.listdir(PCAPS) if f.endswith(".pcap"))
    if stored != sorted(ALL):
        fail("pcaps/ holds %s, make-pcaps.py makes %s" % (stored, sorted(ALL)))
    for f in stored:
        if "`%s`" % f not in readme:
            fail("pcaps/README.md does not list %s" % f)
    print("ok: %d captures remade byte-identical" % len(made))


def example_pcap():
    ft = os.path.join(ROOT, "examples", "http-downloads.ft")
    a = flowq(["print", "--json", os.path.join(PCAPS, "http-downloads-v5.pcap")])
    b = flowq(["print", "--json", ft])
    buf = io.StringIO()
    for n, r in enumerate(ftread.read_file(ft), 1):
        r["rec_id"] = n
        buf.write(json.dumps(r, separators=(",", ":")) + "\n")
    if a != b:
        fail("http-downloads-v5.pcap and http-downloads.ft print differently")
    if a != buf.getvalue().encode():
        fail("http-downloads-v5.pcap: flowq differs from ftread on the .ft")
    print("ok: http-downloads-v5.pcap = http-downloads.ft (%d records)" %
          a.count(b"\n"))


KEYS = ("srcip", "dstip", "srcport", "dstport", "prot", "packets", "bytes")
TSHARK = ("cflow.srcaddr", "cflow.dstaddr", "cflow.srcport", "cflow.dstport",
          "cflow.protocol", "cflow.packets", "cflow.octets")


def tshark_records(path):
    args = ["tshark", "-r", path, "-T", "fields", "-E", "occurrence=a",
            "-E", "aggregator=|", "-E", "separator=\t"]
    for f in TSHARK:
        args += ["-e", f]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        fail("tshark on %s: %s" % (path, p.stderr.decode(errors="replace")))
    recs = collections.Counter()
    for line in p.stdout.decode().splitlines():
        cols = [c.split("|") if c else [] for c in line.split("\t")]
        if not any(cols):
            continue        # a template-only frame
        n = {len(c) for c in cols}
        if len(n) != 1:
            fail("%s: tshark gives fields of different counts: %r" % (path, line))
        for vals in zip(*cols):
            recs[(vals[0], vals[1]) + tuple(int(v) for v in vals[2:])] += 1
    return recs


def flowq_records(path):
    recs = collections.Counter()
    for line in flowq(["print", "--json", path]).splitlines():
        r = json.loads(line)
        recs[tuple(r[k] for k in KEYS)] += 1
    return recs


def against_tshark():
    flowgen = None
    for f in EXPORTS:
        p = os.path.join(PCAPS, f)
        a, b = flowq_records(p), tshark_records(p)
        if not a or a != b:
            fail("%s: flowq %d records, tshark %d; only flowq: %s; only "
                 "tshark: %s" % (f, sum(a.values()), sum(b.values()),
                                 list((a - b).items())[:3],
                                 list((b - a).items())[:3]))
        if f.startswith("flowgen-"):
            if flowgen is not None and a != flowgen:
                fail("%s holds other flows than flowgen-v5.pcap" % f)
            flowgen = a
        print("ok: %s: %d records, the same as tshark's" % (f, sum(a.values())))
    if sum(flowgen.values()) != 500:
        fail("flowgen captures: %d records, made with --records 500" %
             sum(flowgen.values()))


def traffic_clean():
    p = subprocess.run(["tshark", "-o", "ip.check_checksum:TRUE",
                        "-o", "tcp.check_checksum:TRUE",
                        "-o", "udp.check_checksum:TRUE",
                        "-r", os.path.join(PCAPS, "traffic.pcap"), "-Y",
                        "_ws.malformed || ip.checksum.status == 2 || "
                        "tcp.checksum.status == 2 || udp.checksum.status == 2 "
                        "|| icmp.checksum.status == 2"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0 or p.stdout.strip():
        fail("traffic.pcap: tshark finds bad frames: %s%s" %
             (p.stdout.decode()[:500], p.stderr.decode()[:500]))
    print("ok: traffic.pcap well formed")


remade()
example_pcap()
if shutil.which("tshark") is None:
    print("SKIP: tshark not installed (Debian package tshark): the captures "
          "were not compared with an independent decoder")
    sys.exit(77)
against_tshark()
traffic_clean()
print("PASS")
