#!/usr/bin/env python3
"""Hostile traffic against a live flowq (issue 7 item 4), loopback only.

Usage: hostile.py CASE FLOWQ HOSTILE_SEND TMPDIR [SANITIZE]
Exit 0 pass, 1 fail.  SANITIZE is meson's b_sanitize option ("none",
"address,undefined", ...): it only changes the memory bound, see RSS_BOUND.

Cases:
  traffic         1,000,000 random and mutated datagrams mixed with 30,000
                  valid NetFlow v5/v9/IPFIX exports and 10,000 datagrams
                  from an exporter outside --allow;
  template-flood  100,000 template records from one exporter over 16 IPFIX
                  and 8 v9 observation domains (ids redefined over and over,
                  opening with the largest templates a datagram can carry),
                  with 3,000 valid datagrams alongside.

Both start `flowq print --json --stats-json --stats-interval 1 --allow
127.0.0.1/32 --allow 127.0.0.2/32 -s udp://127.0.0.1:PORT`, run
hostile_send (see the comment at its top for who sends what, and how it
paces itself on flowq's socket queue), wait until flowq's socket has
counted every datagram sent, read flowq's peak RSS (VmHWM), stop it with
SIGTERM and check:

  - flowq exited 0 on SIGTERM, with no sanitizer report;
  - the socket received every datagram sent (`datagrams`), the kernel
    dropped none (`kernel_drops` 0, never unknown), no receive error;
  - accounting: the decoder saw every datagram the socket received, and
    datagrams = decoded + malformed + refused + session_limit + no_memory;
    per exporter datagrams = decoded + malformed; every exporter's datagram
    count equals what the sender sent from that address and port; refused =
    what was sent from outside --allow; records printed = records counted;
  - every valid record arrived, exactly once, field for field (exporter,
    domain, addresses, ports, protocol, packets, bytes, start and end ms),
    and nothing else came from the valid exporters; the valid exporters
    have no malformed datagram, no unknown template, no sequence loss;
  - the hostile datagrams were really hostile: each malformed reason of
    the three protocols was hit;
  - template flood: in every counter sample (one a second) and at the end
    the flood exporter holds at most the per-exporter cap of templates
    (512, docs/decoders.md), templates_refused > 0, and flowq's peak RSS
    stays below RSS_BOUND.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

CASE, FLOWQ, SEND, TMP = sys.argv[1:5]
SANITIZE = sys.argv[5] if len(sys.argv) > 5 else "none"
TMP = os.path.join(TMP, "hostile-" + CASE)
os.makedirs(TMP, exist_ok=True)
ASAN = "address" in SANITIZE

SEED = int(os.environ.get("HOSTILE_SEED", "20240607"))
TEMPLATE_CAP = 512          # FQ__DEFAULT_MAX_TEMPLATES, docs/decoders.md
# Peak RSS bound for flowq, in KiB.  What flowq holds by design: the UDP
# receive buffer (20 x 64 KiB), the decoder with its batch and IPFIX copy
# buffers (about 1.3 MiB), libfixbuf's information model, and per exporter
# at most 512 templates in 4 MiB of compiled templates in flowq's mirror,
# plus the same templates in libfixbuf, at most 256 fields each
# (docs/decoders.md, "Templates: cap, lifetime, memory").  Measured: about
# 9 MiB for traffic and 11 MiB for the flood in the normal build.  64 MiB
# leaves room for allocator slack and still catches a cap that does not
# hold: before the collector bounded libfixbuf's templates, the flood's
# opening run of the largest templates took flowq past 900 MiB.  Under
# ASan freed memory waits in a 256 MiB quarantine and every allocation
# carries redzones and shadow memory (measured: 96 MiB traffic, 157 MiB
# flood), so the bound is 512 MiB there.
RSS_BOUND = 512 * 1024 if ASAN else 64 * 1024
# Every reason the hostile datagrams must have produced somewhere.
REASONS = ["short", "version", "v5_count", "v5_length",
           "length", "set_length", "set_id", "template", "record",
           "domain_limit"]
# Header fields that disagree with the datagram: decoded all the same and
# counted (docs/decoders.md, "Anomalies"); v9_count was a malformed reason
# before issue 18.
ANOMALIES = ["anomaly:v5_count_mismatch", "anomaly:v9_count_mismatch",
             "anomaly:length_mismatch"]


RUNNING = []                # processes to kill when the test fails


def fail(msg):
    print("FAIL: " + msg)
    for p in RUNNING:
        if p.poll() is None:
            p.kill()
            p.wait()
    sys.exit(1)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def bound(port):
    try:
        with open("/proc/net/udp") as f:
            for line in f.readlines()[1:]:
                local = line.split()[1]
                if int(local.rsplit(":", 1)[1], 16) == port:
                    return True
    except OSError:
        fail("/proc/net/udp is not readable: the kernel-drop counter "
             "cannot be checked")
    return False


def softnet_drops():
    """Packets dropped by the kernel before any socket (per-CPU backlog
    full), summed over CPUs: reported when datagrams went missing."""
    total = 0
    try:
        with open("/proc/net/softnet_stat") as f:
            for line in f:
                total += int(line.split()[1], 16)
    except OSError:
        return None
    return total


class Flowq:
    def __init__(self, port, extra):
        self.out = os.path.join(TMP, "records.json")
        self.err = os.path.join(TMP, "flowq.err")
        args = [FLOWQ, "print", "--json", "--stats-json",
                "--stats-interval", "1",
                "--allow", "127.0.0.1/32", "--allow", "127.0.0.2/32",
                "-s", "udp://127.0.0.1:%d" % port] + extra
        self.p = subprocess.Popen(args, stdout=open(self.out, "wb"),
                                  stderr=open(self.err, "wb"))
        RUNNING.append(self.p)
        deadline = time.time() + 30
        while not bound(port):
            if self.p.poll() is not None:
                fail("flowq exited %d before binding: %s" %
                     (self.p.returncode, self.stderr()))
            if time.time() > deadline:
                self.p.kill()
                fail("flowq did not bind 127.0.0.1:%d" % port)
            time.sleep(0.02)

    def stderr(self):
        return open(self.err, "rb").read().decode(errors="replace")

    def samples(self):
        """Every counter object flowq printed so far (one per line)."""
        out = []
        for line in self.stderr().splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass        # a line being written right now
        return out

    def alive(self, what):
        if self.p.poll() is not None:
            fail("flowq died (status %d) %s: %s" %
                 (self.p.returncode, what, self.stderr()[-3000:]))

    def fresh_stats(self):
        """Counters printed after now (SIGUSR1)."""
        n = len(self.samples())
        self.p.send_signal(signal.SIGUSR1)
        while True:
            self.alive("while printing counters")
            s = self.samples()
            if len(s) > n:
                return s[-1]
            time.sleep(0.05)

    def vm_hwm(self):
        with open("/proc/%d/status" % self.p.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        fail("no VmHWM in /proc/%d/status" % self.p.pid)

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.p.kill()
            fail("flowq did not exit within 120 s of SIGTERM")
        err = self.stderr()
        for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                    "Assertion", "Segmentation"):
            if bad in err:
                i = err.index(bad)
                fail("sanitizer/crash report from flowq: %s" %
                     err[max(0, i - 200):i + 3000])
        if rc != 0:
            fail("flowq exited %d on SIGTERM: %s" % (rc, err[-3000:]))
        return self.samples()[-1]


def send(mode, port, args):
    recs = os.path.join(TMP, "expected.txt")
    cmd = [SEND, mode, "--port", str(port), "--seed", str(SEED),
           "--records", recs] + args
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    RUNNING.append(p)
    out, err = p.communicate()
    if p.returncode != 0:
        return None, p.returncode, err.decode(errors="replace"), recs
    return json.loads(out), 0, "", recs


def wait_received(fq, total):
    """Until flowq's socket has counted all `total` datagrams.  Fails at
    once on a kernel drop; a socket that stops counting for 60 s while
    datagrams are missing means they were lost (or flowq hangs)."""
    last, since = -1, time.time()
    while True:
        st = fq.fresh_stats()
        src = st["sources"][0]
        if src.get("kernel_drops") is None:
            fail("kernel_drops unknown (no /proc/net/udp line for the "
                 "socket): the test cannot prove nothing was dropped")
        if src["kernel_drops"] != 0:
            fail("the kernel dropped %d datagrams at flowq's socket (its "
                 "receive buffer overflowed: rcvbuf %s, sender queue limit "
                 "too high or pacing broken): %s" %
                 (src["kernel_drops"], src["rcvbuf"], src))
        if src["datagrams"] == total:
            return st
        if src["datagrams"] > total:
            fail("socket counted %d datagrams, only %d were sent" %
                 (src["datagrams"], total))
        if src["datagrams"] != last:
            last, since = src["datagrams"], time.time()
        elif time.time() - since > 60:
            fail("flowq's socket counted %d of %d datagrams and no more "
                 "for 60 s (kernel_drops %d; packets dropped before any "
                 "socket, /proc/net/softnet_stat: %s)" %
                 (src["datagrams"], total, src["kernel_drops"],
                  softnet_drops()))
        time.sleep(0.1)


def expected_records(path):
    want = {}
    with open(path) as f:
        for line in f:
            # Addresses as inet_ntop() prints them, which is also the
            # text form flowq prints (RFC 5952 for IPv6).
            ex, dom, src, dst, sp, dp, prot, pk, by, st, et = line.split()
            if src in want:
                fail("sender bug: source address %s used twice" % src)
            want[src] = (ex, int(dom), src, dst, int(sp), int(dp),
                         int(prot), int(pk), int(by), int(st), int(et))
    return want


def check_records(path, want):
    """Every line of flowq's output; those of 127.0.0.1 must be exactly
    the expected records.  Returns (lines, lines of valid exporters)."""
    got, lines = 0, 0
    marker = b'"exporter":"127.0.0.1"'
    seen = set()
    with open(path, "rb") as f:
        for line in f:
            lines += 1
            if marker not in line:
                continue
            r = json.loads(line.decode())
            key = r["srcip"]
            t = (r["exporter"], r["domain"], key, r["dstip"], r["srcport"],
                 r["dstport"], r["prot"], r["packets"], r["bytes"],
                 r["stime"], r["etime"])
            w = want.get(key)
            if w is None:
                fail("a record from a valid exporter that was never sent: "
                     "%s" % line.decode())
            if key in seen:
                fail("a valid record arrived twice: %s" % line.decode())
            if t != w:
                fail("valid record differs:\n  got:  %r\n  sent: %r" % (t, w))
            seen.add(key)
            got += 1
    if got != len(want):
        missing = [k for k in want if k not in seen][:5]
        fail("%d of %d valid records arrived; missing e.g. %s" %
             (got, len(want), [want[k] for k in missing]))
    return lines, got


def check_accounting(st, summary):
    src = st["sources"][0]
    dec = st["decoder"]
    total = summary["datagrams"]
    if src["datagrams"] != total:
        fail("socket received %d datagrams, sender sent %d" %
             (src["datagrams"], total))
    if src["errors"] or src["truncated"]:
        fail("receive errors/truncation: %s" % src)
    if src["kernel_drops"] != 0:
        fail("kernel drops at the end: %s" % src)
    if dec["datagrams"] != src["datagrams"]:
        fail("decoder saw %d datagrams, socket received %d" %
             (dec["datagrams"], src["datagrams"]))
    parts = (dec["decoded"] + dec["malformed"] + dec["refused"] +
             dec["session_limit"] + dec["no_memory"])
    if parts != dec["datagrams"]:
        fail("datagrams %d != decoded %d + malformed %d + refused %d + "
             "session_limit %d + no_memory %d" %
             (dec["datagrams"], dec["decoded"], dec["malformed"],
              dec["refused"], dec["session_limit"], dec["no_memory"]))
    if dec["exporters_expired"]:
        fail("exporter sessions expired during a short test: %s" % dec)
    exs = {(e["exporter"], e["port"]): e for e in st["exporters"]}
    dsum = dmal = ddec = recs = 0
    for e in st["exporters"]:
        mal = sum(e["malformed_by_reason"].values())
        if mal != e["malformed"]:
            fail("exporter %s:%d: malformed %d != sum of reasons %s" %
                 (e["exporter"], e["port"], e["malformed"],
                  e["malformed_by_reason"]))
        if e["decoded"] + e["malformed"] != e["datagrams"]:
            fail("exporter %s:%d: datagrams %d != decoded %d + malformed %d"
                 % (e["exporter"], e["port"], e["datagrams"], e["decoded"],
                    e["malformed"]))
        dsum += e["datagrams"]
        dmal += e["malformed"]
        ddec += e["decoded"]
        recs += e["records"]
    if (ddec, dmal, recs) != (dec["decoded"], dec["malformed"],
                              dec["records"]):
        fail("decoder totals %s differ from the exporters' sums (decoded "
             "%d malformed %d records %d)" % (dec, ddec, dmal, recs))
    if recs != st["records"]:
        fail("exporters decoded %d records, ingest counted %d" %
             (recs, st["records"]))
    refused = 0
    for s in summary["exporters"]:
        if s["role"] == "refused":
            refused += s["datagrams"]
            if (s["addr"], s["port"]) in exs:
                fail("an exporter outside --allow got a session: %s" % s)
            continue
        e = exs.get((s["addr"], s["port"]))
        if e is None:
            if s["datagrams"]:
                fail("no exporter session for %s" % s)
            continue
        if e["datagrams"] != s["datagrams"]:
            fail("exporter %s:%d (%s): flowq counted %d datagrams, %d were "
                 "sent" % (s["addr"], s["port"], s["role"], e["datagrams"],
                           s["datagrams"]))
    if dec["refused"] != refused:
        fail("refused %d, %d datagrams were sent from outside --allow" %
             (dec["refused"], refused))
    if dec["session_limit"] or dec["no_memory"]:
        fail("datagrams dropped for lack of room: %s" % dec)
    return exs


def check_valid(exs, summary):
    names = {"valid-v5": "v5", "valid-v9": "v9", "valid-ipfix": "ipfix"}
    for s in summary["exporters"]:
        if s["role"] not in names:
            continue
        e = exs[(s["addr"], s["port"])]
        want = summary["valid"][names[s["role"]]]["records"]
        bad = {k: e[k] for k in ("malformed", "unknown_template_records",
                                 "unknown_template_sets", "sequence_lost",
                                 "sequence_resets", "templates_refused")
               if e[k]}
        if bad or e["records"] != want:
            fail("valid exporter %s: records %d (sent %d), %s" %
                 (s["role"], e["records"], want, bad or e))


def run_case(mode, send_args, extra=()):
    port = free_port()
    fq = Flowq(port, list(extra))
    # The sender keeps flowq's socket queue below half its receive buffer
    # (at least 256 KiB, what the sender needs for a 64 KiB datagram), so
    # that it reads the queue rarely when the buffer is large.
    src = fq.fresh_stats()["sources"][0]
    rcvbuf = src["rcvbuf"]
    limit = max(rcvbuf // 2, 256 * 1024)
    if limit > rcvbuf - 64 * 1024:
        fail("flowq's receive buffer is %d bytes: too small to pace 64 KiB "
             "datagrams without risking drops (raise net.core.rmem_max)" %
             rcvbuf)
    send_args = send_args + ["--queue-limit", str(limit)]
    t0 = time.time()
    summary, rc, err, recs = send(mode, port, send_args)
    if rc != 0:
        fq.alive("during the run")
        fail("hostile_send exited %d: %s" % (rc, err))
    t_send = time.time() - t0
    fq.alive("after the sender finished")
    wait_received(fq, summary["datagrams"])
    hwm = fq.vm_hwm()
    samples = fq.samples()
    st = fq.stop()
    samples.append(st)
    print("timing: sender %.1f s, until flowq had read all and exited "
          "%.1f s" % (t_send, time.time() - t0 - t_send))
    return summary, st, samples, hwm, t_send, recs, fq


def report(summary, st, hwm, t_send, lines, got):
    dec = st["decoder"]
    src = st["sources"][0]
    reasons, anom = {}, {}
    for e in st["exporters"]:
        for k, v in e["malformed_by_reason"].items():
            reasons[k] = reasons.get(k, 0) + v
        for k, v in e.get("anomalies_by_reason", {}).items():
            anom[k] = anom.get(k, 0) + v
    print("sent %d datagrams in %.1f s (%s)" %
          (summary["datagrams"], t_send, summary["pacing"]))
    print("valid: %s" % summary["valid"])
    print("socket: datagrams %d kernel_drops %d rcvbuf %d" %
          (src["datagrams"], src["kernel_drops"], src["rcvbuf"]))
    print("decoder: %s" % dec)
    print("malformed by reason: %s" % reasons)
    print("anomalies (decoded all the same): %s" % anom)
    reasons.update(("anomaly:" + k, v) for k, v in anom.items())
    print("records printed %d, valid records checked %d" % (lines, got))
    print("flowq peak RSS (VmHWM) %d KiB, bound %d KiB" % (hwm, RSS_BOUND))
    return reasons


def case_traffic():
    summary, st, _, hwm, t_send, recs, fq = run_case(
        "traffic", ["--hostile", "1000000", "--valid", "30000",
                    "--refused", "10000"])
    exs = check_accounting(st, summary)
    check_valid(exs, summary)
    lines, got = check_records(fq.out, expected_records(recs))
    if lines != st["records"]:
        fail("flowq printed %d records and counted %d" %
             (lines, st["records"]))
    print("garbage: %s" % summary["garbage"])
    reasons = report(summary, st, hwm, t_send, lines, got)
    missing = [r for r in REASONS + ANOMALIES if not reasons.get(r)]
    if missing:
        fail("no hostile datagram was malformed for reason(s) %s" % missing)
    if hwm > RSS_BOUND:
        fail("flowq's peak RSS %d KiB is above %d KiB" % (hwm, RSS_BOUND))
    os.remove(fq.out)


def case_template_flood():
    summary, st, samples, hwm, t_send, recs, fq = run_case(
        "flood", ["--templates", "100000", "--valid", "3000"])
    exs = check_accounting(st, summary)
    check_valid(exs, summary)
    lines, got = check_records(fq.out, expected_records(recs))
    if lines != st["records"]:
        fail("flowq printed %d records and counted %d" %
             (lines, st["records"]))
    fl = summary["flood"]
    key = (fl["addr"], fl["port"])
    peak = 0
    for s in samples:
        for e in s["exporters"]:
            if (e["exporter"], e["port"]) == key:
                peak = max(peak, e["templates_active"])
    e = exs[key]
    print("flood: %s" % fl)
    print("flood exporter: %s" % e)
    print("templates_active peak over %d samples: %d (cap %d)" %
          (len(samples), peak, TEMPLATE_CAP))
    report(summary, st, hwm, t_send, lines, got)
    if peak > TEMPLATE_CAP:
        fail("the flood exporter held %d templates, cap %d" %
             (peak, TEMPLATE_CAP))
    if e["templates_refused"] == 0:
        fail("the flood never hit the template cap (templates_refused 0)")
    if e["domains"] != fl["ipfix_domains"] + fl["v9_domains"]:
        fail("flood exporter has %d domains, %d were used" %
             (e["domains"], fl["ipfix_domains"] + fl["v9_domains"]))
    if hwm > RSS_BOUND:
        fail("flowq's peak RSS %d KiB is above %d KiB" % (hwm, RSS_BOUND))
    os.remove(fq.out)


CASES = {"traffic": case_traffic, "template-flood": case_template_flood}

if __name__ == "__main__":
    t = time.time()
    CASES[CASE]()
    print("PASS (%.1f s)" % (time.time() - t))
