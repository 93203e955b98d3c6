"""Stored flows (collector/store/, `--store DIR`, the `store:DIR` source):
    store.py CASE FLOWQ SRCROOT TMPDIR

rotate     --store-rotate 1s while datagrams keep coming: finished files
           (flowq.YYYYMMDDhhmmss.ipfix, named by their interval's start,
           whole seconds) appear while flowq runs; each is read by other
           IPFIX readers -- libfixbuf's ipfixDump (when installed) and
           flowq's ipfix: source with both decoders -- to the same number
           of records; replaying the directory gives every record once
current    the file still being written (.current) is readable up to its
           last flush: `flowq print --count store:DIR` sees every record
           sent while flowq keeps running
replay     a live `flowq run --batch` (a grouping query) and a live
           `flowq print --json`, both over UDP with --store: the same
           query over store:DIR gives the same matches, byte for byte, and
           `flowq print --json store:DIR` the same records
since      three batches a second and more apart: --since/--until (RFC 3339
           and epoch seconds) between them give exactly the middle batch
expire-age files whose interval began before --store-max-age are deleted
           at start (counted, emptied day directories removed); younger
           ones and other files stay
expire-size over --store-max-size, the oldest files go first until the
           store fits (counted)
disk-full  writes fail (RLIMIT_FSIZE: EFBIG, as ENOSPC would): counted as
           write errors, every record is still counted by print, the file
           is cut back to whole messages and stays readable
errors     bad --store-rotate / --since values are bad usage (exit 2); a
           --store directory that cannot be made is exit 1
"""
import glob
import json
import os
import resource
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "live"))
from livelib import WAIT, Flowq, fail, free_port, v5, wait_until  # noqa

CASE, FLOWQ, SRC, TMP = sys.argv[1:5]
shutil.rmtree(TMP, ignore_errors=True)
os.makedirs(TMP)
NAME = re.compile(r"flowq\.(\d{12}|\d{14})(\.\d+)?\.ipfix$")


def run(args, **kw):
    return subprocess.run([FLOWQ] + args, capture_output=True, text=True,
                          timeout=60, **kw)


def count(spec, extra=()):
    r = run(["print", "--count", spec] + list(extra))
    if r.returncode != 0:
        fail("print --count %s: exit %d: %s" % (spec, r.returncode,
                                                 r.stderr))
    return int(r.stdout.strip())


def finished(d):
    return sorted(p for p in glob.glob(d + "/**/*", recursive=True)
                  if NAME.search(os.path.basename(p)))


def ip(a):
    return int.from_bytes(socket.inet_aton(a), "big")


def records(n, base, tag=0):
    """n TCP records with distinct ports, flows ending just before now."""
    now = int(time.time() * 1000)
    return [(now - 3000, now - 1000, ip("10.0.%d.%d" % (tag, i % 250 + 1)),
             ip("192.0.2.%d" % (i % 250 % 7 + 1)), base + i, 80)
            for i in range(n)]


def send(sock, dest, recs, per=20):
    now = int(time.time() * 1000)
    for i in range(0, len(recs), per):
        sock.sendto(v5(recs[i:i + per], now, seq=i), dest)


def listening(f, sock, dest, spec_count):
    """Send a probe record until the store has it: flowq is listening."""
    probe = records(1, 60000, tag=99)
    end = time.monotonic() + WAIT
    while time.monotonic() < end:
        send(sock, dest, probe)
        time.sleep(0.2)
        if f.p.poll() is not None:
            fail("flowq exited: " + f.stderr())
        if spec_count() > 0:
            return
    fail("flowq did not receive the probe")


def start(args, out, stdout=subprocess.DEVNULL):
    port = free_port()
    f = Flowq(FLOWQ, args + ["-s", "udp://127.0.0.1:%d" % port], out,
              stdout=stdout)
    return f, socket.socket(socket.AF_INET, socket.SOCK_DGRAM), \
        ("127.0.0.1", port)


def case_rotate():
    d = os.path.join(TMP, "st")
    f, sock, dest = start(["print", "--count", "--store", d,
                           "--store-rotate", "1s"], os.path.join(TMP, "o"))
    listening(f, sock, dest, lambda: count("store:" + d))
    sent = 0
    end = time.monotonic() + WAIT
    while len(finished(d)) < 3 and time.monotonic() < end:
        send(sock, dest, records(40, sent % 20000))
        sent += 40
        time.sleep(0.25)
        if f.p.poll() is not None:
            fail("flowq exited: " + f.stderr())
    files = finished(d)
    if len(files) < 3:
        fail("fewer than 3 rotated files after %d s: %r" % (WAIT, files))
    starts = [NAME.search(p).group(1) for p in files]
    if any(len(s) != 14 for s in starts) or len(set(starts)) != len(starts):
        fail("names are not one per second-long interval: %r" % files)
    # Rotated files are complete while flowq still runs: other readers.
    dump = shutil.which("ipfixDump")
    if dump is None and os.environ.get("CI") == "true":
        fail("CI=true but ipfixDump (package libfixbuf-tools) is missing")
    for p in files:
        n = count("ipfix:" + p)
        if n == 0 or n != count("ipfix:" + p, ["--ipfix-decoder", "native"]):
            fail("%s: ipfix: source reads %d records (libfixbuf) vs native"
                 % (p, n))
        if dump:
            r = subprocess.run([dump, "--in", p, "--stats"],
                               capture_output=True, text=True, timeout=60)
            m = re.search(r"(\d+) Data Records", r.stdout + r.stderr)
            if not m or int(m.group(1)) != n:
                fail("ipfixDump --stats %s: %r, flowq read %d" %
                     (p, (r.stdout + r.stderr)[-300:], n))
    print("rotated files read by %s and flowq's ipfix: source" %
          ("ipfixDump" if dump else "(ipfixDump not installed)"))
    err = f.stop()
    replayed = count("store:" + d) - count_probes(d)
    if replayed != sent:
        fail("sent %d, stored %d: %s" % (sent, replayed, err))
    if glob.glob(d + "/**/*.current", recursive=True):
        fail("a .current file is left after exit")


def case_current():
    d = os.path.join(TMP, "st")
    f, sock, dest = start(["print", "--count", "--store", d],
                          os.path.join(TMP, "o"))
    listening(f, sock, dest, lambda: count("store:" + d))
    recs = records(300, 1000)
    send(sock, dest, recs)
    f.wait_for(lambda: count("store:" + d) == len(recs) + count_probes(d),
               "all %d records readable from the current file" % len(recs))
    if finished(d):
        fail("a file was rotated early (default 5min): %r" % finished(d))
    if not glob.glob(d + "/**/*.ipfix.current", recursive=True):
        fail("no .current file while flowq runs")
    f.stop()
    if len(finished(d)) != 1:
        fail("not one finished file after exit: %r" % finished(d))


def count_probes(d):
    r = run(["print", "--json", "store:" + d])
    return sum(1 for l in r.stdout.splitlines()
               if json.loads(l)["srcport"] == 60000)


QUERY = """splitter S {}
filter web { dstport = 80 }
grouper g {
    module m1 {
        srcip = srcip
        dstip = dstip
    }
    aggregate srcip, dstip, sum(bytes) as bytes, count(rec_id) as n
}
groupfilter big { n >= 2 }
ungroup U {}
S branch A -> web -> g -> big -> U
"""


def case_replay():
    q = os.path.join(TMP, "q.flw")
    open(q, "w").write(QUERY)
    d1, d2 = os.path.join(TMP, "run"), os.path.join(TMP, "print")
    live_run = os.path.join(TMP, "live-run.json")
    fr, sock, dest_r = start(["run", "--batch", "--json", q, "--store", d1,
                              "-o", live_run], live_run)
    live_print = os.path.join(TMP, "live-print.json")
    out = open(live_print, "w")
    fp, _, dest_p = start(["print", "--json", "--store", d2],
                          os.path.join(TMP, "p"), stdout=out)
    listening(fr, sock, dest_r, lambda: count("store:" + d1))
    listening(fp, sock, dest_p, lambda: count("store:" + d2))
    recs = records(500, 2000)
    for i in range(0, len(recs), 100):
        for dest in (dest_r, dest_p):
            send(sock, dest, recs[i:i + 100])
        time.sleep(0.1)
    for f, d in ((fr, d1), (fp, d2)):
        f.wait_for(lambda: count("store:" + d) >= len(recs) + 1,
                   "records stored")
        f.stop()
    out.close()
    rep_run = os.path.join(TMP, "replay-run.json")
    r = run(["run", "--batch", "--json", q, "-s", "store:" + d1,
             "-o", rep_run])
    if r.returncode != 0:
        fail("run over store: exit %d: %s" % (r.returncode, r.stderr))
    a, b = open(live_run).read(), open(rep_run).read()
    if not a.strip() or a != b:
        fail("matches differ: live %d lines, replay %d lines" %
             (len(a.splitlines()), len(b.splitlines())))
    r = run(["print", "--json", "store:" + d2])
    a = open(live_print).read()
    if len(a.splitlines()) < len(recs) or a != r.stdout:
        fail("print differs: live %d records, replay %d" %
             (len(a.splitlines()), len(r.stdout.splitlines())))
    print("%d matches, %d records: same live and replayed" %
          (len(open(live_run).read().splitlines()), len(a.splitlines())))


def case_since():
    d = os.path.join(TMP, "st")
    f, sock, dest = start(["print", "--count", "--store", d,
                           "--store-rotate", "1s"], os.path.join(TMP, "o"))
    listening(f, sock, dest, lambda: count("store:" + d))
    marks = []
    for b in range(3):
        time.sleep(1.2)
        marks.append(time.time())
        send(sock, dest, records(50, 3000 + b * 100, tag=b + 1))
        want = 50 * (b + 1)
        f.wait_for(lambda: count("store:" + d) - count_probes(d) == want,
                   "batch %d" % b)
    f.stop()
    since = marks[1] - 0.6
    until = marks[2] - 0.6
    rfc = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(since)) + \
        (".%03dZ" % int(since % 1 * 1000))
    r = run(["print", "--json", "store:" + d, "--since", rfc,
             "--until", "%.3f" % until])
    got = [json.loads(l) for l in r.stdout.splitlines()]
    tags = {j["srcip"].split(".")[2] for j in got}
    if r.returncode != 0 or len(got) != 50 or tags != {"2"}:
        fail("--since %s --until %.3f: %d records of batches %r: %s" %
             (rfc, until, len(got), tags, r.stderr))


def fake(d, when, size, seq=""):
    t = time.gmtime(when)
    sub = os.path.join(d, time.strftime("%Y/%m/%d", t))
    os.makedirs(sub, exist_ok=True)
    p = os.path.join(sub, time.strftime("flowq.%Y%m%d%H%M", t) + seq +
                     ".ipfix")
    with open(p, "wb") as fh:
        fh.write(b"\0" * size)
    return p


def stats_store(r):
    for line in r.stderr.splitlines():
        if line.startswith("{"):
            return json.loads(line).get("store")
    fail("no --stats-json object: " + r.stderr)


def pcap():
    return os.path.join(SRC, "pcaps", "flowgen-v5.pcap")


def case_expire_age():
    d = os.path.join(TMP, "st")
    now = time.time()
    old = [fake(d, now - 86400 * 400, 1000), fake(d, now - 7200, 1000)]
    young = fake(d, now - 600, 1000)
    other = os.path.join(d, "notes.txt")
    open(other, "w").write("kept")
    r = run(["print", "--count", "--stats-json", "--store", d,
             "--store-max-age", "1h", pcap()])
    if r.returncode != 0:
        fail("exit %d: %s" % (r.returncode, r.stderr))
    st = stats_store(r)
    left = [p for p in old if os.path.exists(p)]
    if left or not os.path.exists(young) or not os.path.exists(other):
        fail("after --store-max-age 1h: old left %r, young %s, other %s" %
             (left, os.path.exists(young), os.path.exists(other)))
    if st["expired_files"] != 2 or st["expired_bytes"] != 2000:
        fail("expiry not counted: %r" % st)
    if os.path.exists(os.path.dirname(old[0])):
        fail("the emptied day directory of %s is still there" % old[0])
    own = [p for p in finished(d) if p not in old + [young]]
    if len(own) != 1 or count("ipfix:" + own[0]) != 500:
        fail("the run's own file is not there: %r" % own)


def case_expire_size():
    d = os.path.join(TMP, "st")
    now = time.time()
    files = [fake(d, now - 3600 + 60 * i, 300 * 1024) for i in range(5)]
    r = run(["print", "--count", "--stats-json", "--store", d,
             "--store-max-size", "1", pcap()])
    if r.returncode != 0:
        fail("exit %d: %s" % (r.returncode, r.stderr))
    st = stats_store(r)
    gone = [os.path.exists(p) for p in files]
    # 1.5 MiB of old files + the run's own: the two oldest go.
    if gone != [False, False, True, True, True] or st["expired_files"] != 2:
        fail("after --store-max-size 1: present %r, stats %r" % (gone, st))
    total = sum(os.path.getsize(p) for p in finished(d))
    if total > 1 << 20:
        fail("store still %d bytes" % total)


def case_disk_full():
    d = os.path.join(TMP, "st")

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
    port = free_port()
    p = subprocess.Popen([FLOWQ, "print", "--count", "--stats-json",
                          "--store", d, "-s", "udp://127.0.0.1:%d" % port],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, preexec_fn=limit)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dest = ("127.0.0.1", port)
    wait_until(lambda: count("store:" + d) > 0 if finished_or_current(d)
               else send(sock, dest, records(1, 60000, tag=99)),
               "flowq listening", p)
    sent = count("store:" + d)
    for i in range(10):
        send(sock, dest, records(40, 4000 + 40 * i))
        sent += 40
        time.sleep(0.3)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    st = stats_store(subprocess.CompletedProcess([], p.returncode, out, err))
    if int(out.strip()) < sent or st["write_errors"] < 1:
        fail("with writes failing: printed %r of %d, stats %r" %
             (out, sent, st))
    n = count("store:" + d)
    size = sum(os.path.getsize(q) for q in finished(d))
    if not 0 < n < sent or size > 20000:
        fail("cut-back file: %d records readable, %d bytes" % (n, size))
    print("exit %d, %d write errors, %d dropped, %d records kept of %d "
          "(%d bytes)" % (p.returncode, st["write_errors"], st["dropped"],
                          n, sent, size))


def finished_or_current(d):
    return glob.glob(d + "/**/*.ipfix*", recursive=True)


def case_errors():
    for args, want in ((["--store-rotate", "500ms"], 2),
                       (["--store-rotate", "soon"], 2),
                       (["--since", "yesterday"], 2),
                       (["--until", "2026-13-01T00:00:00Z"], 2),
                       (["--store-max-size", "0"], 2),
                       (["--store", "/proc/flowq-store"], 1)):
        r = run(["print", "--count", pcap()] + args)
        if r.returncode != want:
            fail("%r: exit %d, want %d: %s" % (args, r.returncode, want,
                                                r.stderr))


{"rotate": case_rotate, "current": case_current, "replay": case_replay,
 "since": case_since, "expire-age": case_expire_age,
 "expire-size": case_expire_size, "disk-full": case_disk_full,
 "errors": case_errors}[CASE]()
print("PASS")
