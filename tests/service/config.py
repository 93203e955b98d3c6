"""Service tests, the configuration file (`--config`, docs/operations.md):
    config.py CASE FLOWQ SRCROOT TMPDIR

example      the shipped etc/flowq.conf passes `flowq check --config`
             (its /etc and /var paths pointed into a scratch directory)
diagnostics  every problem of a wrong file is said with FILE:LINE:COL,
             in one check, exit 1; broken YAML is said with its place
same         `run --config` prints what the same options on the command
             line print, byte for byte
override     an option on the command line replaces the file's: -s
             replaces the file's source list, query words its queries,
             --count its json
errors       `run --config` refuses a wrong file before reading anything
             (exit 1, the file's line said), a missing file (exit 1) and a
             --config without a name (exit 2)
"""
import os
import subprocess
import sys

CASE, FLOWQ, SRC, TMP = sys.argv[1:5]
EX_FT = os.path.join(SRC, "examples", "http-downloads.ft")
EX_Q = os.path.join(SRC, "examples", "http-download.flw")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def flowq(*args):
    p = subprocess.run([FLOWQ] + list(args), capture_output=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def write(name, text):
    os.makedirs(TMP, exist_ok=True)
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def case_example():
    with open(os.path.join(SRC, "etc", "flowq.conf")) as f:
        text = f.read()
    if "/etc/flowq/queries/http-download.flw" not in text:
        fail("etc/flowq.conf does not name the installed example query")
    logdir = os.path.join(TMP, "log")
    os.makedirs(logdir, exist_ok=True)
    text = text.replace("/etc/flowq/queries/http-download.flw", EX_Q)
    text = text.replace("/var/log/flowq", logdir)
    path = write("example.conf", text)
    rc, out, err = flowq("check", "--config", path)
    if rc != 0 or not out.rstrip().endswith(
            "example.conf: ok (1 query, 3 sources)"):
        fail("check of the example: rc %d\n%s\n%s" % (rc, out, err))
    if "branch A" not in out:
        fail("check --config does not print the query's plan:\n" + out)


def case_diagnostics():
    path = write("bad.conf", "\n".join([
        "source:",
        "  - udp://127.0.0.1:99999",          # 2:5 bad port
        "jsn: true",                          # 3:1 unknown, suggestion
        "json: true",
        "json: false",                        # 5:1 twice
        "window: abc",                        # 6:9 not a duration
        "lateness: [1s, 2s]",                 # 7:11 not a list option
        "count: 3",                           # 8:8 a flag
        "config: other.conf",                 # 9:1 not settable
        "max-state: lots",                    # 10:12 not MiB
        "query: [%s, %s]" % (EX_Q, os.path.join(TMP, "missing.flw")),
        ""]))
    rc, out, err = flowq("check", "--config", path)
    want = [
        "bad.conf:2:5: error: 127.0.0.1:99999",
        "bad.conf:3:1: error: unknown option 'jsn' (did you mean 'json'?)",
        "bad.conf:5:1: error: given twice (first on line 4)",
        "bad.conf:6:9: error: 'abc' is not a duration",
        "bad.conf:7:11: error: 'lateness' takes one value, not a list",
        "bad.conf:8:8: error: 'count' takes true or false",
        "bad.conf:9:1: error: 'config' cannot be set",
        "bad.conf:10:12: error: --max-state: 'lots' is not a number of MiB",
        "missing.flw: error: cannot open query file",
    ]
    if rc != 1:
        fail("check of a wrong file: rc %d, want 1\n%s" % (rc, err))
    for w in want:
        if w not in err:
            fail("not said: %r\nstderr:\n%s" % (w, err))
    if ": ok" in out:
        fail("a wrong file said to be ok:\n" + out)
    path = write("broken.conf", "json: true\nsource: [udp://:2055\n")
    rc, out, err = flowq("check", "--config", path)
    if rc != 1 or "broken.conf:3:1: error: not YAML" not in err:
        fail("broken YAML: rc %d\n%s" % (rc, err))
    path = write("nested.conf", "rcvbuf:\n  size: 10\n")
    rc, out, err = flowq("check", "--config", path, EX_Q)
    if rc != 1 or "nested.conf:2:3: error: the value of 'rcvbuf'" not in err:
        fail("a mapping as value: rc %d\n%s" % (rc, err))


def case_same():
    path = write("same.conf", "source: %s\nquery: %s\njson: yes\n"
                 "no-records: true\nlateness: 5s\n" % (EX_FT, EX_Q))
    rc1, out1, err1 = flowq("run", "--config", path)
    rc2, out2, err2 = flowq("run", EX_Q, "-s", EX_FT, "--json",
                            "--no-records", "--lateness", "5s")
    if rc1 != 0 or rc2 != 0:
        fail("rc %d/%d\n%s\n%s" % (rc1, rc2, err1, err2))
    if out1 != out2 or out1.count('"match"') < 1:
        fail("--config output differs from the command line's:\n%s\n--\n%s"
             % (out1, out2))


def case_override():
    missing = os.path.join(TMP, "absent.ft")
    path = write("over.conf", "source: [%s]\nquery: [%s]\njson: true\n"
                 % (missing, os.path.join(TMP, "absent.flw")))
    rc, out, err = flowq("run", "--config", path, "-s", EX_FT, EX_Q,
                         "--count")
    if rc != 0:
        fail("command line did not replace the file's sources and "
             "queries: rc %d\n%s" % (rc, err))
    if out.strip() != '{"query":"http-download","matches":5}':
        fail("--count with the file's json: %r" % out)
    rc, out, err = flowq("run", "--config", path, EX_Q, "--count")
    if rc != 1 or "absent.ft" not in err:
        fail("the file's source was not used: rc %d\n%s" % (rc, err))


def case_errors():
    path = write("wrong.conf", "source: %s\nquery: %s\nwindow: 10\n"
                 % (EX_FT, EX_Q))
    rc, out, err = flowq("run", "--config", path)
    if rc != 1 or "wrong.conf:3:9: error: '10' is not a duration" not in err \
            or out:
        fail("run with a wrong file: rc %d\n%s\n%s" % (rc, out, err))
    rc, out, err = flowq("run", "--config", os.path.join(TMP, "no.conf"))
    if rc != 1 or "no.conf: error: cannot open" not in err:
        fail("missing file: rc %d\n%s" % (rc, err))
    rc, out, err = flowq("run", EX_Q, "--config")
    if rc != 2 or "--config needs a file name" not in err:
        fail("--config without a name: rc %d\n%s" % (rc, err))


CASES = {"example": case_example, "diagnostics": case_diagnostics,
         "same": case_same, "override": case_override,
         "errors": case_errors}
CASES[CASE]()
print("ok")
