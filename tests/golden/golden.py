#!/usr/bin/env python3
"""End-to-end tests of `flowq print`: input -> flowq -> checked output.

Usage: golden.py CASE FLOWQ FTGEN SHARED_DIR TMPDIR
Exit 0 pass, 1 fail, 77 skip (e.g. ../shared absent).
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import ftread  # noqa: E402  (the independent reader)

CASE, FLOWQ, FTGEN, SHARED, TMP = sys.argv[1:6]

# tests/run-valgrind: run flowq under valgrind through its wrapper.
if os.environ.get("FQ_VALGRIND"):
    os.environ["FQ_VG_REAL"] = os.path.abspath(FLOWQ)
    FLOWQ = os.environ["FQ_VALGRIND"]
TRACES = os.path.join(SHARED, "data", "traces")


def run(args, **kw):
    return subprocess.run([FLOWQ] + args, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, **kw)


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def need_shared(path):
    if not os.path.exists(path):
        print("SKIP: %s absent" % path)
        sys.exit(77)


def ref_json(paths):
    """The independent reader's JSON Lines for files/directories."""
    import io
    import json
    buf = io.StringIO()
    n = 0
    for p in ftread.paths(paths):
        for r in ftread.read_file(p):
            n += 1
            r["rec_id"] = n
            buf.write(json.dumps(r, separators=(",", ":")) + "\n")
    return buf.getvalue().encode()


def same_json(paths, label):
    p = run(["print", "--json"] + paths)
    if p.returncode != 0:
        fail("%s: exit %d: %s" % (label, p.returncode, p.stderr.decode()))
    want = ref_json(paths)
    if p.stdout != want:
        a, b = p.stdout.splitlines(), want.splitlines()
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                fail("%s: line %d differs\nflowq: %s\n  ref: %s" % (label, i + 1, x, y))
        fail("%s: %d lines vs %d in the reference" % (label, len(a), len(b)))
    return len(want.splitlines())


def case_trace2009_json():
    f = os.path.join(TRACES, "trace-2009.ftz")
    need_shared(f)
    n = same_json([f], "trace-2009")
    # 556: the record count ../shared/data/README.md gives for
    # trace-2009.ftz (the data's own description); same_json has already
    # checked every record against ftread.
    if n != 556:
        fail("trace-2009 has %d records, expected 556" % n)


TEXT_COLUMNS = ["start", "dur_ms", "srcip", "sport", "dstip", "dport", "prot",
                "packets", "bytes", "flags"]
LEFT = ("start", "srcip", "dstip", "flags")


def case_trace2009_text():
    """`flowq print` text: the header of docs/output.md's columns, then one
    line per record whose values are ftread's (independent reader) and
    which stand under their header: text columns left-aligned with it,
    numbers right-aligned.  (This replaced expected/trace-2009.txt, a copy
    of flowq's own output.)"""
    import re
    f = os.path.join(TRACES, "trace-2009.ftz")
    need_shared(f)
    p = run(["print", f])
    if p.returncode != 0:
        fail("exit %d: %s" % (p.returncode, p.stderr.decode()))
    lines = p.stdout.decode().splitlines()
    head = [(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", lines[0])]
    if [h[0] for h in head] != TEXT_COLUMNS:
        fail("header %r" % lines[0])
    cols = {h[0]: h[1:] for h in head}
    recs = list(ftread.read_file(f))
    if len(lines) - 1 != len(recs):
        fail("%d record lines, ftread reads %d records" % (len(lines) - 1, len(recs)))
    for n, (line, r) in enumerate(zip(lines[1:], recs), 2):
        toks = [(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", line)]
        if len(toks) != 11 or toks[4][0] != "->":
            fail("line %d: %r" % (n, line))
        toks = toks[:4] + toks[5:]
        want = [r["stime_iso"], str(r["duration"]), r["srcip"], str(r["srcport"]),
                r["dstip"], str(r["dstport"]), str(r["prot"]), str(r["packets"]),
                str(r["bytes"]), "0x%02x" % r["tcp_flags"]]
        if [t[0] for t in toks] != want:
            fail("line %d: %r; ftread: %r" % (n, line, " ".join(want)))
        for name, (text, a, b) in zip(TEXT_COLUMNS, toks):
            if (a != cols[name][0]) if name in LEFT else (b != cols[name][1]):
                fail("line %d: %s %r is not aligned under its header:\n%s\n%s"
                     % (n, name, text, lines[0], line))


def case_trace2012_count():
    f = os.path.join(TRACES, "trace-2012.ftz")
    need_shared(f)
    ref = [0, 0, 0]
    for r in ftread.read_file(f):
        ref[0] += 1
        ref[1] += r["packets"]
        ref[2] += r["bytes"]
    # 276,449: the record count ../shared/data/README.md gives for
    # trace-2012.ftz; ftread must read as many.
    if ref[0] != 276449:
        fail("ftread reads %d records of trace-2012, its README says 276,449" % ref[0])
    p = run(["print", "--count", f])
    if p.returncode != 0 or p.stdout != b"%d\n" % ref[0]:
        fail("count: %r exit %d" % (p.stdout, p.returncode))
    p = run(["print", "--json", f])
    import json
    n = pk = by = 0
    for line in p.stdout.splitlines():
        r = json.loads(line)
        n, pk, by = n + 1, pk + r["packets"], by + r["bytes"]
    if [n, pk, by] != ref:
        fail("totals %r vs independent reading %r" % ([n, pk, by], ref))


def case_flowy_dir():
    d = os.path.join(TRACES, "flowy-2009-12-07")
    need_shared(d)
    same_json([d], "flowy directory")


def case_formats():
    """Every format the writer makes reads the same in flowq and ftread."""
    with tempfile.TemporaryDirectory(dir=TMP) as t:
        for sv, dvs in ((3, (1, 5, 6, 7, 1005)), (1, (1, 5))):
            for dv in dvs:
                for be in (0, 1):
                    for z in (0, 1):
                        f = os.path.join(t, "ft-%d-%d-%d-%d" % (sv, dv, be, z))
                        args = [FTGEN, f, "-n", "3000", "-s", str(sv), "-d", str(dv)]
                        args += ["-b"] if be else []
                        args += ["-z"] if z else []
                        subprocess.run(args, check=True)
                        same_json([f], os.path.basename(f))
        # The directory: ft-* files in name order, others ignored.
        open(os.path.join(t, "README"), "w").write("not a flow file\n")
        same_json([t], "directory")


def case_corrupt():
    with tempfile.TemporaryDirectory(dir=TMP) as t:
        f = os.path.join(t, "ft-cut")
        subprocess.run([FTGEN, f, "-n", "1000"], check=True)
        size = os.path.getsize(f)
        os.truncate(f, size - 30)
        p = run(["print", "--count", f])
        err = p.stderr.decode()
        if p.returncode != 1:
            fail("exit %d, expected 1" % p.returncode)
        # From the file's layout, not from flowq: ftgen wrote 1000 v5
        # records of 64 bytes (flow-tools' fts3rec_v5) after the header;
        # cutting 30 bytes leaves 999 whole ones, the damage at the start
        # of the 1000th.
        if p.stdout != b"999\n":
            fail("records before the damage: %r" % p.stdout)
        hdr = size - 1000 * 64
        want = "%s: byte %d: short record" % (f, hdr + 999 * 64)
        if want not in err:
            fail("message %r lacks %r" % (err, want))
        # A corrupt file followed by a good one: both read, exit 1.
        g = os.path.join(t, "good")
        subprocess.run([FTGEN, g, "-n", "10", "-z"], check=True)
        p = run(["print", "--count", f, g])
        # 999 before the damage + the 10 ftgen wrote into the good file.
        if p.returncode != 1 or p.stdout != b"1009\n":
            fail("corrupt then good: exit %d out %r" % (p.returncode, p.stdout))
        bad = os.path.join(t, "bad")
        open(bad, "wb").write(b"\x00" * 100)
        p = run(["print", bad])
        if p.returncode != 1 or b"bad magic" not in p.stderr:
            fail("bad magic: exit %d %r" % (p.returncode, p.stderr))


def case_usage():
    for args in (["print"], ["frobnicate"], ["print", "--bogus", "x"],
                 ["print", "--allow", "not-an-ip", "x"], [],
                 ["print", "udp2://1.2.3.4:5"]):
        p = run(args)
        lines = p.stderr.decode().strip().splitlines()
        if p.returncode != 2 or len(lines) != 1:
            fail("%r: exit %d, stderr %r" % (args, p.returncode, p.stderr))
    p = run(["print", "/nonexistent/file"])
    if p.returncode != 1 or b"/nonexistent/file" not in p.stderr:
        fail("missing file: exit %d %r" % (p.returncode, p.stderr))
    p = run(["--version"])
    if p.returncode != 0 or not p.stdout.startswith(b"flowq "):
        fail("--version")
    p = run(["--help"])
    if p.returncode != 0 or b"print" not in p.stdout or b"--json" not in p.stdout:
        fail("--help")


def case_closed_stdout():
    """A closed output ends with a clear message, not a crash."""
    with tempfile.TemporaryDirectory(dir=TMP) as t:
        f = os.path.join(t, "ft-big")
        subprocess.run([FTGEN, f, "-n", "200000", "-z"], check=True)
        p = subprocess.Popen([FLOWQ, "print", "--json", f],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        p.stdout.read(1000)
        p.stdout.close()
        err = p.stderr.read().decode()
        rc = p.wait()
        if rc != 1 or "cannot write output" not in err:
            fail("exit %d, stderr %r" % (rc, err))


def case_full_disk():
    """A full disk (/dev/full) ends with a clear message and exit 1, for
    print and for a query, not a crash or a silent loss."""
    if not os.path.exists("/dev/full"):
        print("SKIP: no /dev/full")
        sys.exit(77)
    with tempfile.TemporaryDirectory(dir=TMP) as t:
        f = os.path.join(t, "ft")
        subprocess.run([FTGEN, f, "-n", "20000"], check=True)
        ex = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "..", "..", "examples")
        q = os.path.join(ex, "http-download.flw")
        fq = os.path.join(ex, "http-downloads.ft")
        for args in (["print", "--json", f], ["run", "--json", q, "-s", fq]):
            with open("/dev/full", "wb") as full:
                p = subprocess.run([FLOWQ] + args, stdout=full,
                                   stderr=subprocess.PIPE)
            err = p.stderr.decode()
            if p.returncode != 1 or "No space left on device" not in err:
                fail("%r: exit %d, stderr %r" % (args, p.returncode, err))


CASES = {
    "full-disk": case_full_disk,
    "trace-2009-json": case_trace2009_json,
    "trace-2009-text": case_trace2009_text,
    "trace-2012-count": case_trace2012_count,
    "flowy-dir": case_flowy_dir,
    "formats": case_formats,
    "corrupt": case_corrupt,
    "usage": case_usage,
    "closed-stdout": case_closed_stdout,
}

if __name__ == "__main__":
    CASES[CASE]()
    print("PASS")
