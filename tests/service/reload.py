"""Service tests, SIGHUP reload (src/reload.c, docs/operations.md "Reload"):
    reload.py CASE FLOWQ TMPDIR

keep      a query whose file did not change keeps its state: a group with
          two records before the reload and one after is one match of 3
          (it would be none if the reload had restarted the query)
changed   a changed query ends as at end of input -- its open group closes
          and matches at once, counted (queries_retired, reload_flushed) --
          and the new text starts afresh; a new query starts, a removed
          one ends
refused   a query with an error, or a configuration with an unknown key,
          is refused with its problem said (file:line:col); the running
          query keeps its state and flowq keeps running
sources   a socket added to the configuration is bound and receives, a
          removed one is closed (the port can be bound again); a socket
          that cannot be bound refuses the reload and the old one stays
fixed     a changed option other than sources and queries is said to take
          effect at the next restart, and the rest is applied
"""
import json
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "live"))
from livelib import WAIT, Flowq, fail, free_port, v5  # noqa: E402

CASE, FLOWQ, TMP = sys.argv[1:4]
os.makedirs(TMP, exist_ok=True)

QUERY = """splitter S {}
filter f {
    dstport = 80
}
grouper g {
    module m {
        srcip = srcip
    }
    aggregate srcip, count(rec_id) as n
}
groupfilter gf {
    n >= %d
}
ungrouper U {}
S branch A -> f -> g -> gf -> U
"""


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)   # as an editor saves it
    return path


def config(sources, queries, extra=""):
    return write("flowq.conf", "source: [%s]\nquery: [%s]\njson: true\n"
                 "window: 1h\n%s" % (", ".join("udp://127.0.0.1:%d" % p
                                              for p in sources),
                                     ", ".join(queries), extra))


class Run:
    def __init__(self, port):
        self.out = os.path.join(TMP, "out.json")
        for p in (self.out, self.out + ".err"):
            if os.path.exists(p):
                os.unlink(p)
        self.f = Flowq(FLOWQ, ["-v", "run", "--config",
                               os.path.join(TMP, "flowq.conf"), "-o",
                               self.out, "--stats-json"], self.out)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.now = int(time.time() * 1000)
        self.sent = 0
        # SIGUSR1 before flowq handles it would end flowq.
        self.f.wait_for(lambda: "ready: every source is open" in
                        self.f.stderr(), "flowq ready")

    def send(self, port, src, n, dport=80):
        for _ in range(n):
            self.sent += 1
            st = self.now - 60000 + self.sent
            self.sock.sendto(v5([(st, st + 10, src, 0x0a000063,
                                  10000 + self.sent, dport)], self.now,
                                seq=self.sent), ("127.0.0.1", port))

    def stats(self):
        """The counters now (SIGUSR1), as the last JSON line of stderr."""
        before = self.f.stderr().count("\n")
        self.f.p.send_signal(signal.SIGUSR1)
        end = time.time() + WAIT
        while time.time() < end:
            lines = self.f.stderr().splitlines()
            for l in lines[before:]:
                if l.startswith("{"):
                    return json.loads(l)
            time.sleep(0.05)
        fail("no counters on SIGUSR1: " + self.f.stderr())

    def wait_records(self, port, n):
        """Until the engine has n records (and the socket is bound)."""
        end = time.time() + WAIT
        while time.time() < end:
            if self.f.p.poll() is not None:
                fail("flowq ended: " + self.f.stderr())
            try:
                if self.stats()["engine"]["records"] >= n:
                    return
            except (KeyError, ValueError):
                pass
            time.sleep(0.05)
        fail("the engine never had %d records: %s" % (n, self.f.stderr()))

    def reload(self, what="reload: queries"):
        before = self.f.stderr().count(what)
        self.f.p.send_signal(signal.SIGHUP)
        self.f.wait_for(lambda: self.f.stderr().count(what) > before,
                        "%r after SIGHUP" % what)

    def matches(self):
        return [json.loads(l) for l in self.f.lines()]

    def stop(self):
        err = self.f.stop()
        last = [l for l in err.splitlines() if l.startswith("{")][-1]
        return json.loads(last), err


def two_records(threshold):
    """flowq running query q (n >= threshold) with a group of two."""
    port = free_port()
    q = write("q.flw", QUERY % threshold)
    config([port], [q])
    r = Run(port)
    r.send(port, 0x0a000001, 2)
    r.wait_records(port, 2)
    return port, q, r


def case_keep():
    port, q, r = two_records(3)
    r.reload()
    if "1 kept" not in r.f.stderr():
        fail("the unchanged query was not kept: " + r.f.stderr())
    r.send(port, 0x0a000001, 1)
    r.wait_records(port, 3)
    st, err = r.stop()
    m = r.matches()
    if len(m) != 1 or m[0]["groups"]["A"]["n"] != 3:
        fail("want one match of 3 records spanning the reload: %r" % m)
    e = st["engine"]
    if e["reloads"] != 1 or e["queries_retired"] != 0:
        fail("counters: %r" % e)


def case_changed():
    port = free_port()
    q = write("q.flw", QUERY % 2)
    gone = write("gone.flw", QUERY % 2)
    config([port], [q, gone])
    r = Run(port)
    r.send(port, 0x0a000001, 2)
    r.wait_records(port, 2)
    write("q.flw", QUERY % 3)
    new = write("new.flw", QUERY % 1)
    config([port], [q, new])
    r.reload()
    if "1 restarted, 1 new, 1 removed" not in r.f.stderr():
        fail("reload tally: " + r.f.stderr())
    # The retired queries' groups closed at the reload: one match each,
    # in the file now, before the input ends.
    r.f.wait_for(lambda: len(r.matches()) >= 2, "the retired queries' "
                 "matches")
    got = sorted((m["query"], m["groups"]["A"]["n"]) for m in r.matches())
    if got != [("gone", 2), ("q", 2)]:
        fail("matches at the reload: %r" % got)
    r.send(port, 0x0a000001, 1)
    r.wait_records(port, 3)
    st, err = r.stop()
    got = sorted((m["query"], m["groups"]["A"]["n"]) for m in r.matches())
    # q restarted with n >= 3 has one record: no match; new (n >= 1): one.
    if got != [("gone", 2), ("new", 1), ("q", 2)]:
        fail("matches at the end: %r" % got)
    e = st["engine"]
    if (e["reloads"], e["queries_retired"], e["queries_added"],
            e["reload_flushed"]) != (1, 2, 2, 2):
        fail("counters: %r" % e)


def case_refused():
    port, q, r = two_records(3)
    write("q.flw", (QUERY % 3).replace("n >= 3", "n >= "))
    r.reload("reload refused")
    if "q.flw:12:10: error:" not in r.f.stderr():
        fail("the query's error was not said: " + r.f.stderr())
    write("q.flw", QUERY % 3)
    config([port], [q], "windw: 5min\n")
    r.reload("reload refused")
    if "flowq.conf:5:1: error: unknown option 'windw'" not in r.f.stderr():
        fail("the file's error was not said: " + r.f.stderr())
    r.send(port, 0x0a000001, 1)
    r.wait_records(port, 3)
    st, err = r.stop()
    m = r.matches()
    if len(m) != 1 or m[0]["groups"]["A"]["n"] != 3:
        fail("the running query lost its state: %r" % m)
    e = st["engine"]
    if (e["reloads"], e["reloads_refused"]) != (0, 2):
        fail("counters: %r" % e)


def can_bind(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def case_sources():
    p1, p2 = free_port(), free_port()
    q = write("q.flw", QUERY % 1)
    config([p1], [q])
    r = Run(p1)
    if can_bind(p1):
        fail("the first port is not bound")
    # A port someone else holds: refused, the old socket stays.
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("127.0.0.1", 0))
    busy = holder.getsockname()[1]
    config([busy], [q])
    r.reload("reload refused")
    r.send(p1, 0x0a000001, 1)
    r.wait_records(p1, 1)
    holder.close()
    config([p2], [q])
    r.reload()
    if "sources 1 bound, 1 closed" not in r.f.stderr():
        fail("reload tally: " + r.f.stderr())
    if not can_bind(p1):
        fail("the removed socket is still bound")
    r.send(p2, 0x0a000002, 1)
    r.wait_records(p2, 2)
    st, err = r.stop()
    srcs = [s["source"] for s in st["ingest"]["sources"]]
    if srcs != ["udp://127.0.0.1:%d" % p2]:
        fail("sources at the end: %r" % srcs)
    if len(r.matches()) != 2:
        fail("matches: %r" % r.matches())


def case_fixed():
    port = free_port()
    q = write("q.flw", QUERY % 1)
    config([port], [q], "lateness: 10s\n")
    r = Run(port)
    q2 = write("q2.flw", QUERY % 1)
    config([port], [q, q2], "lateness: 20s\n")
    r.reload()
    if "take effect at the next restart, not now: lateness" not in \
            r.f.stderr():
        fail("the changed option was not said: " + r.f.stderr())
    r.send(port, 0x0a000001, 1)
    r.wait_records(port, 1)
    st, err = r.stop()
    if sorted(m["query"] for m in r.matches()) != ["q", "q2"]:
        fail("the new query was not applied: %r" % r.matches())


CASES = {"keep": case_keep, "changed": case_changed, "refused": case_refused,
         "sources": case_sources, "fixed": case_fixed}
CASES[CASE]()
print("ok")
