"""Service tests, the metrics endpoint (`run --metrics ADDR:PORT`,
docs/operations.md "Metrics"):
    metrics.py CASE FLOWQ SRCROOT TMPDIR

scrape    (with --exec, a sink that keeps counters)
          NetFlow v5 sent from a thread while /metrics is scraped with
          urllib; every scrape is Prometheus text whose counters never go
          back; /healthz and /readyz 200.  Once traffic stops, every
          number of --stats-json (SIGUSR1) is in the scrape with the same
          value: the family whose HELP names its JSON path, the sample
          whose label values are the JSON's (array elements' strings, an
          exporter as address:port, map keys); the alert-latency
          histogram's buckets, sum and count agree with the JSON's
cap       --metrics-exporters 3 with 6 exporters: the 3 with most records
          keep their label, the others are exporter="other", the sums
          equal the JSON's
shutdown  flowq blocked writing to a pipe nobody reads: /healthz turns
          503 (no heartbeat from the loop for 10 s), /readyz says 503
          once SIGTERM came, while flowq is still shutting down
conflict  a --metrics port already in use stops flowq at start (exit 1,
          said); a wrong spelling is bad usage (exit 2)
promtool  `promtool check metrics` accepts a scrape (skipped when
          promtool is absent, outside CI)
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "live"))
from livelib import WAIT, Flowq, fail, free_port, v5, wait_until  # noqa

CASE, FLOWQ, SRC, TMP = sys.argv[1:5]
os.makedirs(TMP, exist_ok=True)
QUERY = "splitter S {}\nfilter f {\n  prot = 6\n}\nS branch A -> f\n"


def free_tcp_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def get(mport, path):
    """(status, content type, body) of GET http://127.0.0.1:mport/path."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (mport, path),
                                    timeout=WAIT) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """Prometheus text -> ({family: help}, {family: type},
    {(name, frozenset(labels.items())): value})."""
    helps, types, samples = {}, {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, h = line[7:].partition(" ")
            helps[name] = h
        elif line.startswith("# TYPE "):
            name, t = line[7:].split(" ")
            types[name] = t
        elif line and not line.startswith("#"):
            m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
            if not m:
                fail("not a sample line: %r" % line)
            labels = {k: re.sub(r"\\(.)", lambda e: "\n" if e.group(1) ==
                                "n" else e.group(1), v)
                      for k, v in LABEL.findall(m.group(3) or "")}
            key = (m.group(1), frozenset(labels.items()))
            if key in samples:
                fail("sample twice: %r" % line)
            samples[key] = float(m.group(4))
    return helps, types, samples


def scrape(mport):
    st, ctype, body = get(mport, "/metrics")
    if st != 200 or not ctype.startswith("text/plain; version=0.0.4"):
        fail("/metrics: %d %s\n%s" % (st, ctype, body[:300]))
    return body


class Run:
    """flowq run --metrics on a UDP source; senders are UDP sockets (one
    exporter session each), sending from a thread."""

    def __init__(self, t, extra=(), stdout=subprocess.DEVNULL):
        self.port, self.mport = free_port(), free_tcp_port()
        # A query name with a quote and a backslash: label values are
        # escaped as the text format wants.
        q = os.path.join(t, 'we"ird\\q.flw')
        open(q, "w").write(QUERY)
        out = os.path.join(t, "out")
        args = ["run", "--json", q, "-s", "udp://127.0.0.1:%d" % self.port,
                "--stats-json", "--metrics", "127.0.0.1:%d" % self.mport]
        if stdout == subprocess.DEVNULL:
            args += ["-o", out]
        self.f = Flowq(FLOWQ, args + list(extra), out, stdout=stdout)
        self.sent = 0
        self.stop_ev = threading.Event()
        wait_until(lambda: self.readyz() == 200, "/readyz 200", self.f.p)

    def readyz(self):
        try:
            return get(self.mport, "/readyz")[0]
        except (urllib.error.URLError, ConnectionError):
            return None

    def send(self, socks, rounds=None, sport=80):
        """Exporter i sends datagrams of i+1 records, round after round."""
        seq = [0] * len(socks)
        n = 0
        while not self.stop_ev.is_set() and (rounds is None or n < rounds):
            now = int(time.time() * 1000)
            for i, s in enumerate(socks):
                recs = [(now - 2000, now - 1000, 0x0a000001 + i, 0x0a000002,
                         1000 + k, sport) for k in range(i + 1)]
                s.sendto(v5(recs, now, seq=seq[i], engine_id=i % 2),
                         ("127.0.0.1", self.port))
                seq[i] += i + 1
                self.sent += i + 1
            n += 1
            time.sleep(0.002)

    def start_sending(self, socks):
        self.thread = threading.Thread(target=self.send, args=(socks,))
        self.thread.start()

    def stop_sending(self):
        self.stop_ev.set()
        self.thread.join()

    def settled(self):
        """Scrape until every datagram sent is counted; the last scrape."""
        got = {}

        def done():
            got["t"] = scrape(self.mport)
            s = parse(got["t"])[2]
            return s.get(("flowq_ingest_records_total", frozenset())) == \
                self.sent
        wait_until(done, "all %d records in the scrape" % self.sent, self.f.p)
        return got["t"]

    def stats_json(self):
        """The --stats-json object SIGUSR1 prints to stderr."""
        before = self.f.stderr().count("\n")
        self.f.p.send_signal(signal.SIGUSR1)
        wait_until(lambda: self.f.stderr().count("\n") > before,
                   "the counters after SIGUSR1", self.f.p)
        return json.loads(self.f.stderr().splitlines()[before])


def senders(n):
    return [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]


def leaves(j, path="", ctx=()):
    """(concrete path, label values of the context, value) of every number
    of the JSON; histogram objects (with "buckets") as one leaf."""
    if isinstance(j, dict):
        if "buckets" in j:
            yield path, ctx, j
            return
        for k, v in j.items():
            sub = (path + "." if path else "") + k
            if sub == "engine.queries" and isinstance(v, dict):
                sub = "engine"   # with --exec: {"exec":..,"queries":{..}}
            if not isinstance(v, str):
                yield from leaves(v, sub, ctx)
    elif isinstance(j, list):
        for e in j:
            if isinstance(e, dict):
                strs = [v for k, v in e.items() if isinstance(v, str) and
                        not (k == "exporter" and "port" in e)]
                if "exporter" in e and "port" in e:
                    strs.append("%s:%d" % (e["exporter"], e["port"]))
                for k, v in e.items():
                    if not isinstance(v, str):
                        yield from leaves(v, path + "[]." + k,
                                          ctx + tuple(strs))
    else:
        yield path, ctx, j


# Numbers the scrape gives in another shape: an exporter's records are
# the sum of its domains' (checked apart), port and socket are in the
# exporter label, quantiles are Prometheus's to compute from the buckets.
DERIVED = re.compile(r"(^ingest\.exporters\[\]\.(records|port|socket)$)|"
                     r"(\.p50_ms$|\.p99_ms$)")


def families_by_path(helps):
    """{regex of the JSON path: family} from the HELP lines."""
    fams = {}
    for name, h in helps.items():
        m = re.search(r"\(--stats-json (\S+)\)$", h)
        if not m:
            fail("HELP of %s does not name its JSON path: %r" % (name, h))
        rx = re.escape(m.group(1)).replace(r"\*", r"([^.]+)")
        fams[re.compile(rx + "$")] = name
    return fams


def find(fams, path):
    for rx, name in fams.items():
        m = rx.match(path)
        if m:
            return name, m.groups()
    fail("no family in the scrape for --stats-json %s" % path)


def series(samples, name, values):
    """The value of family `name`'s sample whose label values are
    `values` (as a set)."""
    for (n, labels), v in samples.items():
        if n == name and sorted(x for _, x in labels) == sorted(values):
            return v
    fail("no sample %s with label values %r" % (name, sorted(values)))


def check_histogram(samples, name, ctx, h):
    if series(samples, name + "_count", ctx) != h["count"]:
        fail("%s_count %r: JSON %r" % (name, ctx, h["count"]))
    if abs(series(samples, name + "_sum", ctx) - h["sum_ms"] / 1000) > 1e-6:
        fail("%s_sum %r: JSON %r ms" % (name, ctx, h["sum_ms"]))
    for (n, labels), v in samples.items():
        d = dict(labels)
        le = d.pop("le", None)
        if n != name + "_bucket" or sorted(d.values()) != sorted(ctx):
            continue
        want = h["count"] if le == "+Inf" else sum(
            c for b, c in h["buckets"]
            if b is not None and round(b * 1000) <= round(float(le) * 1e6))
        if v != want:
            fail("%s_bucket %r le=%s: %r, JSON %r" % (name, ctx, le, v, want))


def check_equal(text, st):
    """Every number of the --stats-json object st is in the scrape."""
    helps, types, samples = parse(text)
    fams = families_by_path(helps)
    n = 0
    for path, ctx, v in leaves(st):
        if v is None or DERIVED.search(path):
            continue
        name, keys = find(fams, path)
        want = ctx + keys
        if isinstance(v, dict):
            check_histogram(samples, name, want, v)
        else:
            got = series(samples, name, want)
            exp = float(v) / 1000 if path.endswith("_ms") else float(v)
            if abs(got - exp) > 1e-9 * max(1, abs(exp)):
                fail("%s%r = %r, --stats-json %s = %r" % (name, want, got,
                                                          path, v))
            if types[name] == "counter" and not name.endswith("_total"):
                fail("counter %s without _total" % name)
        n += 1
    for e in st["ingest"]["exporters"]:
        ep = "%s:%d" % (e["exporter"], e["port"])
        tot = sum(v for (nm, lb), v in samples.items()
                  if nm == "flowq_exporter_records_total" and
                  dict(lb)["exporter"] == ep)
        if tot != e["records"]:
            fail("exporter %s: domains sum to %r, JSON records %r" %
                 (ep, tot, e["records"]))
    return n


def case_scrape():
    with tempfile.TemporaryDirectory(dir=TMP) as t:
        # --exec: a sink with counters of its own, and a second latency sink
        r = Run(t, ["--exec", "cat > /dev/null"])
        socks = senders(2)
        socks[0].sendto(b"\x00\x05short", ("127.0.0.1", r.port))  # malformed
        r.start_sending(socks)
        last = -1
        try:
            for i in range(8):
                text = scrape(r.mport)
                s = parse(text)[2]
                recs = s.get(("flowq_ingest_records_total", frozenset()), 0)
                if recs < last:
                    fail("records went back: %r after %r" % (recs, last))
                last = recs
                for p in ("/healthz", "/readyz"):
                    if get(r.mport, p)[0] != 200:
                        fail("%s not 200 while flowq runs" % p)
                time.sleep(0.1)
        finally:
            r.stop_sending()
        if last <= 0:
            fail("no record counted in the scrapes while traffic flowed")
        text = r.settled()
        st = r.stats_json()
        n = check_equal(text, st)
        for name in ("flowq_exporter_records_total",
                     "flowq_socket_kernel_drops_total",
                     "flowq_malformed_total", "flowq_query_matches_total",
                     "flowq_stream_lag_seconds", "flowq_state_bytes",
                     "flowq_alert_latency_seconds"):
            if "# TYPE %s " % name not in text:
                fail("no family %s" % name)
        if 'flowq_malformed_total{exporter="127.0.0.1:' not in text or \
                'reason="short"} 1' not in text:
            fail("the malformed datagram is not in the scrape")
        r.f.stop()
        print("%d numbers of --stats-json found equal in the scrape "
              "(%d records)" % (n, r.sent))


def case_cap():
    with tempfile.TemporaryDirectory(dir=TMP) as t:
        r = Run(t, ["--metrics-exporters", "3"])
        socks = senders(6)
        r.start_sending(socks)
        time.sleep(0.5)
        r.stop_sending()
        text = r.settled()
        st = r.stats_json()
        samples = parse(text)[2]
        exps = sorted(st["ingest"]["exporters"], key=lambda e: -e["records"])
        if len(exps) != 6:
            fail("6 exporter sessions expected: %r" % exps)
        for name, key in (("flowq_exporter_records_total", "records"),
                          ("flowq_exporter_datagrams_total", "datagrams")):
            got = {}
            for (nm, lb), v in samples.items():
                if nm == name:
                    ep = dict(lb)["exporter"]
                    got[ep] = got.get(ep, 0) + v
            want = {"%s:%d" % (e["exporter"], e["port"]): e[key]
                    for e in exps[:3]}
            want["other"] = sum(e[key] for e in exps[3:])
            if got != want:
                fail("%s by exporter: %r, expected %r" % (name, got, want))
        if 'domain="other"' not in text:
            fail("the folded exporters' domains are not domain=\"other\"")
        r.f.stop()
        print("6 exporters: 3 kept + other, sums equal")


def case_shutdown():
    with tempfile.TemporaryDirectory(dir=TMP) as t:
        rd, wr = os.pipe()
        r = Run(t, ["--grace", "30s"], stdout=wr)
        os.close(wr)
        s = senders(1)[0]
        now = int(time.time() * 1000)
        recs = [(now - 2000, now - 1000, 0x0a000001, 0x0a000002, p, 80)
                for p in range(30)]

        def blocked():
            s.sendto(v5(recs, now), ("127.0.0.1", r.port))
            with open("/proc/%d/wchan" % r.f.p.pid) as wc:
                return wc.read().strip().endswith("pipe_write")
        if get(r.mport, "/healthz")[0] != 200:
            fail("/healthz not 200 while the loop runs")
        wait_until(blocked, "flowq blocked writing to the pipe", r.f.p)
        # The loop's heartbeat stops: /healthz says so (after 10 s), while
        # the HTTP thread still answers.
        wait_until(lambda: get(r.mport, "/healthz")[0] == 503,
                   "/healthz 503 while the loop is blocked", r.f.p)
        if r.readyz() != 200:
            fail("/readyz not 200 before the stop")
        r.f.p.send_signal(signal.SIGTERM)
        wait_until(lambda: r.readyz() == 503, "/readyz 503 after SIGTERM",
                   r.f.p)
        if r.f.p.poll() is not None:
            fail("flowq exited before the check")

        def drain():
            while os.read(rd, 65536):
                pass
        th = threading.Thread(target=drain)
        th.start()
        rc = r.f.p.wait(timeout=60)
        th.join()
        os.close(rd)
        if rc != 0:
            fail("exit status %d: %s" % (rc, r.f.stderr()[-300:]))
        print("/readyz 503 during the shutdown")


def case_conflict():
    hold = socket.socket()
    hold.bind(("127.0.0.1", 0))
    hold.listen(1)
    port = hold.getsockname()[1]
    q = os.path.join(TMP, "q.flw")
    open(q, "w").write(QUERY)
    p = subprocess.run([FLOWQ, "run", q, "-s", "udp://127.0.0.1:%d" %
                        free_port(), "--metrics", "127.0.0.1:%d" % port],
                       capture_output=True, timeout=WAIT,
                       stdin=subprocess.DEVNULL)
    err = p.stderr.decode()
    if p.returncode != 1 or "cannot listen on 127.0.0.1:%d" % port not in err:
        fail("port in use: exit %d, stderr %r" % (p.returncode, err))
    p = subprocess.run([FLOWQ, "run", q, "-s", "udp://127.0.0.1:1",
                        "--metrics", "nowhere"], capture_output=True,
                       timeout=WAIT, stdin=subprocess.DEVNULL)
    err = p.stderr.decode()
    if p.returncode != 2 or "is not ADDR:PORT" not in err:
        fail("--metrics nowhere: exit %d, stderr %r" % (p.returncode, err))
    hold.close()
    print("port in use: exit 1, said")


def case_promtool():
    tool = shutil.which("promtool")
    if tool is None:
        if os.environ.get("CI") == "true":
            fail("promtool is not installed (Debian package prometheus)")
        print("SKIP: promtool not installed (Debian package prometheus)")
        sys.exit(77)
    with tempfile.TemporaryDirectory(dir=TMP) as t:
        r = Run(t)
        socks = senders(3)
        socks[0].sendto(b"\x00\x05short", ("127.0.0.1", r.port))
        r.start_sending(socks)
        time.sleep(0.3)
        try:
            text = scrape(r.mport)
        finally:
            r.stop_sending()
        r.f.stop()
    p = subprocess.run([tool, "check", "metrics"], input=text.encode(),
                       capture_output=True, timeout=WAIT)
    if p.returncode != 0:
        fail("promtool check metrics: %d\n%s%s" % (
            p.returncode, p.stdout.decode(), p.stderr.decode()))
    print("promtool check metrics: ok (%d lines)" % text.count("\n"))


{"scrape": case_scrape, "cap": case_cap, "shutdown": case_shutdown,
 "conflict": case_conflict, "promtool": case_promtool}[CASE]()
