#!/usr/bin/env python3
"""End-to-end tests of `flowq run`: queries on traces -> checked matches.

Usage: run.py CASE FLOWQ SOURCE_ROOT SHARED_DIR TMPDIR
Exit 0 pass, 1 fail, 77 skip.
"""
import json
import os
import subprocess
import sys
import tempfile

CASE, FLOWQ, ROOT, SHARED, TMP = sys.argv[1:6]

# tests/run-valgrind: run flowq under valgrind through its wrapper.
if os.environ.get("FQ_VALGRIND"):
    os.environ["FQ_VG_REAL"] = os.path.abspath(FLOWQ)
    FLOWQ = os.environ["FQ_VALGRIND"]
TRACES = os.path.join(SHARED, "data", "traces")
EX = os.path.join(ROOT, "examples")
QUERIES = os.path.join(ROOT, "tests", "queries")
PAPER = os.path.join(QUERIES, "paper-http-download.flw")


def run(args, **kw):
    return subprocess.run([FLOWQ] + args, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, **kw)


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def need(path):
    if not os.path.exists(path):
        print("SKIP: %s absent" % path)
        sys.exit(77)


def matches(out):
    """Set of matches (branch -> rec_ids) and set of printed rec_ids."""
    ms, recs, order = set(), [], []
    for line in out.splitlines():
        m = json.loads(line)
        key = tuple(sorted((b, tuple(g["rec_ids"])) for b, g in m["groups"].items()))
        ms.add(key)
        order.append(m["time"])
        recs += [r["rec_id"] for r in m.get("records", [])]
    if len(recs) != len(set(recs)):
        fail("a record was printed twice")
    return ms, set(recs), order


def ok_run(args):
    p = run(args)
    if p.returncode != 0:
        fail("%r: exit %d: %s" % (args, p.returncode, p.stderr.decode()))
    return p


def case_example():
    """The Quick start example finds exactly its three downloads' groups."""
    p = ok_run(["run", "--json", os.path.join(EX, "http-download.flw"),
                "-s", os.path.join(EX, "http-downloads.ft")])
    ms, recs, _ = matches(p.stdout)
    if len(ms) != 5:
        fail("example: %d matches, expected 5" % len(ms))
    for line in p.stdout.splitlines():
        m = json.loads(line)
        a, b = m["groups"]["A"], m["groups"]["B"]
        # The merger's rules hold on every match.
        if a["srcip"] != b["dstip"] or a["srcports"] != b["dstports"] or \
                not a["bytes"] < b["bytes"] or a["flags"] & 0x13 != 0x13:
            fail("match violates the query: %s" % line)
        # B d A (A.stime < B.stime, B.etime < A.etime) or B oi A
        # (A.stime < B.stime < A.etime < B.etime).
        d = a["stime"] < b["stime"] and b["etime"] < a["etime"]
        oi = a["stime"] < b["stime"] < a["etime"] < b["etime"]
        if not (d or oi):
            fail("neither B d A nor B oi A: %s" % line)
        want = sorted(a["rec_ids"] + b["rec_ids"])
        got = sorted(r["rec_id"] for r in m["records"])
        if got != want:
            fail("records of a match %r vs its groups %r" % (got, want))
    b = ok_run(["run", "--batch", "--json", os.path.join(EX, "http-download.flw"),
                "-s", os.path.join(EX, "http-downloads.ft")])
    if matches(b.stdout)[:2] != (ms, recs):
        fail("example: batch and streaming differ")


def case_paper_2009():
    f = os.path.join(TRACES, "trace-2009.ftz")
    need(f)
    b = ok_run(["run", "--batch", "--json", PAPER, "-s", f])
    s = ok_run(["run", "--json", PAPER, "-s", f])
    mb, rb, order = matches(b.stdout)
    ms, rs, _ = matches(s.stdout)
    if not mb:
        fail("no match on trace-2009")
    if (mb, rb) != (ms, rs):
        fail("streaming differs from batch on trace-2009")
    if order != sorted(order):
        fail("batch matches are not in time order")


def case_paper_2012():
    f = os.path.join(TRACES, "trace-2012.ftz")
    need(f)
    b = ok_run(["run", "--batch", "--json", "--no-records", PAPER, "-s", f])
    s = ok_run(["run", "--json", "--no-records", "--stats-json", PAPER, "-s", f])
    mb, _, _ = matches(b.stdout)
    ms, _, _ = matches(s.stdout)
    if len(mb) != 654 or mb != ms:
        fail("trace-2012: batch %d matches, streaming %d, equal %s" %
             (len(mb), len(ms), mb == ms))
    stats = json.loads(s.stderr.decode().strip().splitlines()[-1])
    if stats["engine"]["late"] != 0 or stats["engine"]["records"] != 276449:
        fail("unexpected counters %r" % stats["engine"])
    if b"records" in b.stdout.split(b"\n")[0].split(b'"groups"')[1].split(b"}}")[-1]:
        fail("--no-records printed records")


def case_deterministic():
    f = os.path.join(EX, "http-downloads.ft")
    q = os.path.join(EX, "http-download.flw")
    a = ok_run(["run", "--json", q, "-s", f]).stdout
    with tempfile.TemporaryDirectory(dir=TMP) as t:
        out = os.path.join(t, "out.json")
        ok_run(["run", "--json", q, "-s", f, "-o", out])
        if open(out, "rb").read() != a:
            fail("-o FILE differs from stdout, or output not deterministic")


def case_two_queries():
    """Each query de-duplicates its own records."""
    f = os.path.join(EX, "http-downloads.ft")
    q = os.path.join(EX, "http-download.flw")
    with tempfile.TemporaryDirectory(dir=TMP) as t:
        q2 = os.path.join(t, "copy.flw")
        open(q2, "w").write(open(q).read())
        p = ok_run(["run", "--json", q, q2, "-s", f])
        per = {}
        for line in p.stdout.splitlines():
            m = json.loads(line)
            per.setdefault(m["query"], []).extend(r["rec_id"] for r in m["records"])
        if set(per) != {"http-download", "copy"}:
            fail("query names %r" % sorted(per))
        if sorted(per["copy"]) != sorted(per["http-download"]):
            fail("the two queries printed different records")


def case_errors():
    q = os.path.join(EX, "http-download.flw")
    f = os.path.join(EX, "http-downloads.ft")
    # The query's own input endpoint names an HDF5 file: say to give -s.
    p = run(["run", q])
    if p.returncode != 2 or b"give the sources with -s" not in p.stderr:
        fail("h5 endpoint: exit %d %r" % (p.returncode, p.stderr))
    with tempfile.TemporaryDirectory(dir=TMP) as t:
        bad = os.path.join(t, "bad.flw")
        open(bad, "w").write("filter f {\n  dstprot = 80\n}\n"
                             "S branch A -> f -> U\nungrouper U {}\n"
                             "splitter S {}\n")
        p = run(["run", bad, "-s", f])
        if p.returncode != 1 or b"did you mean 'dstport'" not in p.stderr:
            fail("query error: exit %d %r" % (p.returncode, p.stderr))
    for args in (["run", "--window", "900", q, "-s", f],
                 ["run", "--lateness", "abc", q, "-s", f],
                 ["run", "--stats-interval", "0", q, "-s", f],
                 ["run", "--speed", "fast", q, "-s", f],
                 ["run"], ["run", "--bogus", q]):
        p = run(args)
        if p.returncode != 2 or len(p.stderr.decode().strip().splitlines()) != 1:
            fail("%r: exit %d %r" % (args, p.returncode, p.stderr))


def case_text():
    p = ok_run(["run", os.path.join(EX, "http-download.flw"), "-s",
                os.path.join(EX, "http-downloads.ft")])
    lines = p.stdout.decode().splitlines()
    heads = [l for l in lines if l.startswith("# http-download match ")]
    recs = [l for l in lines if l.startswith("http-download ")]
    if len(heads) != 5 or len(recs) != 18:
        fail("text: %d match headers, %d record lines" % (len(heads), len(recs)))


def case_exec():
    """--exec gets every match's JSON line; a dying hook is restarted;
    SIGTERM flushes and exits 0."""
    import signal
    import socket
    import time
    q = os.path.join(EX, "http-download.flw")
    f = os.path.join(EX, "http-downloads.ft")
    with tempfile.TemporaryDirectory(dir=TMP) as t:
        got = os.path.join(t, "hook.out")
        p = ok_run(["run", "--json", "--exec", "cat > " + got, q, "-s", f])
        if open(got, "rb").read() != p.stdout:
            fail("the hook's lines differ from the --json output")
        # A hook that dies at once, with a live UDP source that keeps flowq
        # running (and restarting the hook every second) until SIGTERM;
        # the matches themselves are flushed at SIGTERM.
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        hook = "exit 1"
        proc = subprocess.Popen([FLOWQ, "run", "--json", "--stats-json",
                                 "--exec", hook, q, "-s", f, "-s",
                                 "udp://127.0.0.1:%d" % port],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(2.5)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        if proc.returncode != 0:
            fail("SIGTERM: exit %d %r" % (proc.returncode, err[-500:]))
        if len(out.splitlines()) != 5:
            fail("matches before SIGTERM: %d" % len(out.splitlines()))
        stats = json.loads(err.decode().strip().splitlines()[-1])
        ex = stats["engine"]["exec"]
        if ex["restarts"] < 1 or ex["lines"] != 5:
            fail("hook counters %r" % ex)
        if ex["sent"] + ex["dropped"] != ex["lines"]:
            fail("every line is sent or counted as dropped: %r" % ex)


def write_ft(path, recs):
    """flow-tools v3, little-endian, uncompressed, v5 records:
    (exaddr, arrival_ms, stime_ms, etime_ms) -> one TCP flow each."""
    import struct
    body = b""
    for exa, arr, st, en in recs:
        secs, ms = divmod(arr, 1000)
        up = 1000000000
        body += struct.pack("<IIIIIIIHHIIIIHHBBBBBBBBHH", secs, ms * 1000000,
                            up, exa, 0x0a000001, 0x0a000002, 0, 0, 0, 1, 40,
                            (up - (arr - st)) & 0xFFFFFFFF,
                            (up - (arr - en)) & 0xFFFFFFFF,
                            1234, 80, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    tlv = struct.pack("<HHH", 2, 2, 5) + struct.pack("<HHI", 8, 4, 0)
    hdr = b"\xcf\x10\x01\x03" + struct.pack("<I", 8 + len(tlv)) + tlv
    open(path, "wb").write(hdr + body)


def case_exporters():
    """Stream time follows the slowest active exporter; an idle one stops
    holding it back; many exporters are tracked (SPEC section 5)."""
    base = 1335772141000
    A, B = 0xc0000201, 0xc0000202
    recs = [(B, base + t * 1000 + 1000, base + t * 1000, base + t * 1000)
            for t in range(10)]
    recs += [(A, base + t * 1000 + 1000, base + t * 1000, base + t * 1000)
             for t in range(10, 1000, 10)]
    # 490 s behind A's front: late only once B has gone idle.
    recs.append((A, base + 1000000, base + 500000, base + 500000))
    with tempfile.TemporaryDirectory(dir=TMP) as t:
        q = os.path.join(t, "tcp.flw")
        open(q, "w").write("splitter S {}\nfilter f {\n  prot = 6\n}\n"
                           "S branch A -> f\n")
        f = os.path.join(t, "two.ft")
        write_ft(f, recs)

        def late(extra):
            p = ok_run(["run", "--json", "--stats-json", q, "-s", f] + extra)
            st = json.loads(p.stderr.decode().strip().splitlines()[-1])["engine"]
            if len(p.stdout.splitlines()) != len(recs):
                fail("%d matches for %d records" % (len(p.stdout.splitlines()), len(recs)))
            return st["late"], st["untracked"]
        if late([]) != (1, 0):
            fail("default: B idle after 5 min, the old record is late: %r" % (late([]),))
        if late(["--exporter-idle", "inf"]) != (0, 0):
            fail("B never idle: it holds T back, nothing is late")
        # 20000 exporters, one record each, through the exporter index.
        many = [(0x0b000000 + i, base + i * 10 + 1000, base + i * 10,
                 base + i * 10) for i in range(20000)]
        g = os.path.join(t, "many.ft")
        write_ft(g, many)
        p = ok_run(["run", "--json", "--no-records", "--stats-json", q, "-s", g])
        st = json.loads(p.stderr.decode().strip().splitlines()[-1])["engine"]
        if st["records"] != 20000 or st["untracked"] != 0 or \
                len(p.stdout.splitlines()) != 20000:
            fail("many exporters: %r" % st)


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}

if __name__ == "__main__":
    CASES[CASE]()
    print("PASS")
