#!/usr/bin/env python3
"""End-to-end tests of the live and replay sources through the flowq binary.

Usage: e2e.py CASE FLOWQ SHARED_DIR TMPDIR
Exit 0 pass, 1 fail, 77 skip.

Only loopback addresses are ever used.  Cases:
  udp-live      datagrams sent to `print --json -s udp://127.0.0.1:P` give the
                records of the same datagrams replayed from raw: files
                (exporter 0.0.0.0 there, 127.0.0.1 live);
  udp-live6     the same over udp://[::1]:P;
  record        `--record` of a live run on two sockets (IPv4 and IPv6)
                replays to byte-identical `print --json` output;
  tcp-live      IPFIX messages over tcp:// in odd-sized writes, two
                connections, one cut in the middle of a message (counted as
                half_sent, not decoded);
  pcapng        every shared capture converted to pcapng (editcap) replays
                to the same output;
  raw-split     every Logstash fixture splits into datagrams that cover the
                file (checked by an independent splitter in this script);
  softflowd     softflowd -r CAPTURE exports NetFlow v5, v9 and IPFIX over
                UDP to nfcapd, which repeats every datagram to flowq: flowq's
                records equal nfdump's, every field both show, times to the
                ms; then IPFIX over TCP (softflowd -P tcp) to flowq's tcp://
                source gives nfdump's records of the IPFIX-over-UDP run
                (nfcapd has no TCP listener); prints the table capture x
                version x transport: records flowq, records nfcapd,
                equal; CAPTURE is the
                project's own pcaps/traffic.pcap (skipped, saying so, when
                softflowd/nfcapd/nfdump are absent);
  softflowd-afs, softflowd-mptcp-v0, softflowd-edns-opts,
  softflowd-ntp-control  the same with the shared tcpdump-*.pcap captures
                (real traffic; softflowd's v9 header count leaves out its
                templates, which flowq once dropped as malformed).

Every skip prints its reason ("SKIP: ...") and exits 77; tests/run-all
fails the run on any skip under CI=true.
"""
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

CASE, FLOWQ, SHARED, TMP = sys.argv[1:5]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# tests/run-valgrind: run flowq under valgrind through its wrapper.
if os.environ.get("FQ_VALGRIND"):
    os.environ["FQ_VG_REAL"] = os.path.abspath(FLOWQ)
    FLOWQ = os.environ["FQ_VALGRIND"]
RAW = os.path.join(SHARED, "data", "exports", "raw")
TMP = os.path.join(TMP, "e2e-" + CASE)
os.makedirs(TMP, exist_ok=True)


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def skip(msg):
    print("SKIP: " + msg)
    sys.exit(77)


def need(path):
    if not os.path.exists(path):
        skip("%s absent" % path)


def split(data):
    """Independent splitter: NetFlow v5/v9/IPFIX datagrams of a raw file.
    Returns (datagrams, padding_bytes, malformed)."""
    out, pos, pad = [], 0, 0
    while pos < len(data):
        if data[pos] == 0 and (pos + 1 >= len(data) or data[pos + 1] == 0):
            pos += 1
            pad += 1
            continue
        if len(data) - pos < 4:
            return out, pad, True
        ver, x = struct.unpack_from(">HH", data, pos)
        if ver == 5:
            n = 24 + 48 * x
        elif ver == 10:
            n = x if x >= 16 else None
        elif ver == 9:
            n = 20
            while True:
                if pos + n == len(data):
                    break
                left = len(data) - pos - n
                if left < 4:
                    break
                sid, slen = struct.unpack_from(">HH", data, pos + n)
                if 2 <= sid <= 255:
                    break
                if sid == 0 and slen == 0:
                    break
                if slen < 4:
                    n = None
                    break
                n += slen
        else:
            n = None
        if n is None or pos + n > len(data) or n > 65535:
            return out, pad, True
        out.append(data[pos:pos + n])
        pos += n
    return out, pad, False


def free_port(kind, family=socket.AF_INET):
    s = socket.socket(family, kind)
    s.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def bound(port, proto):
    """Is something bound to the local port (from /proc/net/*)?"""
    for name in (proto, proto + "6"):
        try:
            with open("/proc/net/" + name) as f:
                for line in f.readlines()[1:]:
                    local = line.split()[1]
                    if int(local.rsplit(":", 1)[1], 16) == port:
                        return True
        except OSError:
            pass
    return False


def start_flowq(args, ports, proto="udp"):
    out = open(os.path.join(TMP, "live.json"), "wb")
    err = open(os.path.join(TMP, "live.err"), "wb")
    p = subprocess.Popen([FLOWQ] + args, stdout=out, stderr=err)
    deadline = time.time() + 5
    while not all(bound(pt, proto) for pt in ports):
        if time.time() > deadline or p.poll() is not None:
            p.kill()
            fail("flowq did not bind %s: %s" % (ports, open(err.name).read()))
        time.sleep(0.02)
    return p, out.name, err.name


def stop_flowq(p, outname, errname):
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        fail("flowq did not exit on SIGINT")
    err = open(errname, "rb").read().decode(errors="replace")
    if rc != 0:
        fail("flowq exited %d: %s" % (rc, err))
    return open(outname, "rb").read(), err


def run(args):
    p = subprocess.run([FLOWQ] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def stats_json(err):
    for line in reversed(err.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    fail("no JSON counters on stderr: " + err)


# Files replayed in this order: templates before data.
FILES = [
    "logstash-netflow5.dat",
    "logstash-netflow5_test_juniper_mx80.dat",
    "logstash-netflow9_test_cisco_asa_1_tpl.dat",
    "logstash-netflow9_test_cisco_asa_1_data.dat",
    "logstash-netflow9_test_nprobe_tpl.dat",
    "logstash-netflow9_test_nprobe_data.dat",
    "logstash-ipfix_test_mikrotik_tpl.dat",
    "logstash-ipfix_test_mikrotik_data258.dat",
    "logstash-netflow9_test_softflowd_tpl_data.dat",
]


def datagrams_of(files):
    dgs = []
    for f in files:
        d, _, bad = split(open(os.path.join(RAW, f), "rb").read())
        if bad:
            fail("%s: does not split" % f)
        dgs += d
    return dgs


def replay_json(files, exporter):
    rc, out, err = run(["print", "--json"] +
                       ["raw:" + os.path.join(RAW, f) for f in files])
    if rc != 0:
        fail("replay exit %d: %s" % (rc, err))
    return out.replace(b'"exporter":"0.0.0.0"',
                       b'"exporter":"%s"' % exporter.encode())


def compare(got, want, label):
    if got == want:
        return
    a, b = got.splitlines(), want.splitlines()
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            fail("%s: line %d differs\n  got: %s\n want: %s" %
                 (label, i + 1, x, y))
    fail("%s: %d lines, expected %d" % (label, len(a), len(b)))


def case_udp_live(v6):
    need(RAW)
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    host = "::1" if v6 else "127.0.0.1"
    port = free_port(socket.SOCK_DGRAM, fam)
    spec = "udp://[::1]:%d" % port if v6 else "udp://127.0.0.1:%d" % port
    p, o, e = start_flowq(["print", "--json", "--stats-json", "-s", spec],
                          [port])
    s = socket.socket(fam, socket.SOCK_DGRAM)
    dgs = datagrams_of(FILES)
    for d in dgs:
        s.sendto(d, (host, port))
        time.sleep(0.002)
    out, err = stop_flowq(p, o, e)
    st = stats_json(err)
    src = st["sources"][0]
    if src["datagrams"] != len(dgs):
        fail("socket counted %s datagrams, sent %d" % (src["datagrams"],
                                                       len(dgs)))
    for k in ("kernel_drops", "rcvbuf", "errors", "bytes"):
        if k not in src:
            fail("counter %s missing: %s" % (k, src))
    if src["kernel_drops"] != 0:
        fail("kernel drops on loopback at low rate: %s" % src)
    compare(out, replay_json(FILES, host), "live vs raw: replay")
    n = out.count(b"\n")
    if n == 0:
        fail("no records")
    print("ok: %d datagrams, %d records, rcvbuf %d" %
          (len(dgs), n, src["rcvbuf"]))


def case_record():
    need(RAW)
    p4 = free_port(socket.SOCK_DGRAM)
    p6 = free_port(socket.SOCK_DGRAM, socket.AF_INET6)
    cap = os.path.join(TMP, "rec.pcap")
    p, o, e = start_flowq(["print", "--json", "--record", cap,
                           "-s", "udp://127.0.0.1:%d" % p4,
                           "-s", "udp://[::1]:%d" % p6], [p4, p6])
    s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    dgs = datagrams_of(FILES)
    for d in dgs:
        s4.sendto(d, ("127.0.0.1", p4))
        s6.sendto(d, ("::1", p6))
        time.sleep(0.002)
    # A datagram too large for most exporters, still recorded whole.
    big = struct.pack(">HH", 10, 60000) + bytes(59996)
    s4.sendto(big, ("127.0.0.1", p4))
    live, _ = stop_flowq(p, o, e)
    if live.count(b"\n") == 0:
        fail("no records live")
    rc, replay, err = run(["print", "--json", cap])
    if rc != 0:
        fail("replay of the recording exited %d: %s" % (rc, err))
    compare(replay, live, "replay of --record vs live")
    rc, out, err = run(["print", "--json", "--stats-json", "pcap:" + cap])
    st = stats_json(err)["sources"][0]
    if st["datagrams"] != 2 * len(dgs) + 1:
        fail("recording holds %s datagrams, sent %d" %
             (st["datagrams"], 2 * len(dgs) + 1))
    if shutil.which("tshark"):
        # The synthesized frames are well formed: IPv4 header and IPv6 UDP
        # checksums good, every frame decoded as CFLOW.
        t = subprocess.run(["tshark", "-o", "udp.check_checksum:TRUE",
                            "-o", "ip.check_checksum:TRUE", "-r", cap,
                            "-Y", "ip.checksum.status == 2 || "
                            "udp.checksum.status == 2 || !cflow"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        if t.returncode == 0 and t.stdout.strip():
            fail("tshark finds bad or undecoded frames in the recording:\n" +
                 t.stdout.decode()[:500])
    else:
        print("note: tshark not installed: the recording's frames were not "
              "checked with it (Debian package tshark)")
    print("ok: %d records byte-identical after --record" %
          live.count(b"\n"))


def case_tcp_live():
    trace = os.path.join(SHARED, "data", "traces", "trace-2009.ipfix")
    need(trace)
    data = open(trace, "rb").read()
    msgs, _, bad = split(data)
    if bad or not msgs:
        fail("trace-2009.ipfix does not split")
    port = free_port(socket.SOCK_STREAM)
    p, o, e = start_flowq(["print", "--json", "--stats-json", "-s",
                           "tcp://127.0.0.1:%d" % port], [port], "tcp")
    a = socket.create_connection(("127.0.0.1", port))
    stream = b"".join(msgs)
    for i in range(0, len(stream), 1001):
        a.sendall(stream[i:i + 1001])
    b = socket.create_connection(("127.0.0.1", port))
    b.sendall(msgs[0][:len(msgs[0]) // 2])
    time.sleep(0.3)
    b.close()
    time.sleep(0.2)
    a.close()
    out, err = stop_flowq(p, o, e)
    src = stats_json(err)["sources"][0]
    want = {"connections": 2, "messages": len(msgs), "half_sent": 1,
            "framing_errors": 0}
    for k, v in want.items():
        if src.get(k) != v:
            fail("tcp counter %s = %s, expected %s: %s" %
                 (k, src.get(k), v, src))
    rc, ref, err = run(["print", "--json", "ipfix:" + trace])
    # The half-sent message was not decoded: only connection a's records.
    ref = ref.replace(b'"exporter":"0.0.0.0"', b'"exporter":"127.0.0.1"')
    compare(out, ref, "tcp vs ipfix: replay")
    print("ok: %d messages, %d records" % (len(msgs), out.count(b"\n")))


def case_raw_split():
    need(RAW)
    n = 0
    for f in sorted(os.listdir(RAW)):
        data = open(os.path.join(RAW, f), "rb").read()
        dgs, pad, bad = split(data)
        rc, _, err = run(["print", "--count", "--stats-json", "raw:" +
                          os.path.join(RAW, f)])
        if rc != 0:
            fail("%s: exit %d (a malformed tail is not an error): %s" %
                 (f, rc, err))
        st = stats_json(err)["sources"][0]
        if st["datagrams"] != len(dgs) or st["malformed"] != int(bad) or \
                st["bytes"] != sum(map(len, dgs)):
            fail("%s: flowq %s, independent splitter %d datagrams %d "
                 "bytes malformed %s" % (f, st, len(dgs),
                                         sum(map(len, dgs)), bad))
        if not bad and st["bytes"] + st["padding_bytes"] != len(data):
            fail("%s: datagrams and padding do not cover the file" % f)
        n += 1
    print("ok: %d files" % n)


NFDUMP_FMT = "fmt:%ts|%te|%sa|%da|%sp|%dp|%pr|%pkt|%byt|%flg|%tos|%in|%out"
PROTOS = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMP6": 58}
# The fields both sides show, in this order (times in ms).
KEYS = ("stime", "etime", "srcip", "dstip", "srcport", "dstport", "prot",
        "packets", "bytes", "tcp_flags", "tos", "input", "output")


def iso_ms(s):
    """nfdump's "2013-02-25 12:56:35.701" (TZ=UTC) as epoch ms."""
    import calendar
    import datetime
    main, _, frac = s.strip().partition(".")
    t = datetime.datetime.strptime(main, "%Y-%m-%d %H:%M:%S")
    return calendar.timegm(t.timetuple()) * 1000 + int((frac + "000")[:3])


def nfdump_records(files, ipfix):
    """nfdump's records as tuples of KEYS.  nfdump 1.7.1 reads softflowd's
    IPFIX flowStartSysUpTime/flowEndSysUpTime the wrong way round (its
    records end before they start, by exactly the flow's duration): with
    `ipfix` the two times are compared as the interval they span."""
    recs = []
    for f in files:
        p = subprocess.run(["nfdump", "-q", "-N", "-r", f, "-o", NFDUMP_FMT],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=dict(os.environ, TZ="UTC"))
        if p.returncode != 0:
            fail("nfdump: " + p.stderr.decode())
        for line in p.stdout.decode().splitlines():
            v = [x.strip() for x in line.split("|")]
            if len(v) != 13 or not v[2]:
                continue
            ts, te = iso_ms(v[0]), iso_ms(v[1])
            if ipfix:
                ts, te = min(ts, te), max(ts, te)
            pr = PROTOS.get(v[6], int(v[6]) if v[6].isdigit() else v[6])
            dp = v[5]
            if "." in dp:       # ICMP type.code, as flowq's type*256+code
                t, c = dp.split(".")
                dp = int(t) * 256 + int(c)
            flags = sum(1 << (7 - i) for i, ch in enumerate(v[9])
                        if ch != ".")
            recs.append((ts, te, v[2], v[3], int(v[4]), int(dp), pr,
                         int(v[7]), int(v[8]), flags, int(v[10]),
                         int(v[11]), int(v[12])))
    return sorted(recs)


def flowq_records(out):
    return sorted(tuple(json.loads(line)[k] for k in KEYS)
                  for line in out.decode().splitlines())


def need_softflowd():
    for tool in ("softflowd", "softflowctl", "nfcapd", "nfdump"):
        if shutil.which(tool) is None:
            skip(tool + " not installed (Debian packages softflowd, nfdump; "
                 ".ci/run installs them)")


def softflowd(cap, args, tag):
    """softflowd -r CAP -a exporting with `args`, run to the end: with -r
    and -a, softflowd 1.1.0 sleeps in poll() on its control socket between
    batches and every control command wakes it.  Ask for statistics until
    the packet count stops growing, then `shutdown` expires and exports
    every flow.  (A shutdown sent before it has read the capture would
    export nothing.)"""
    ctl = os.path.join(TMP, "sfd-%s.ctl" % tag)
    if os.path.exists(ctl):
        os.unlink(ctl)
    sf = subprocess.Popen(["softflowd", "-r", cap, "-a", "-d", "-c", ctl,
                           "-p", os.path.join(TMP, "sfd.pid")] + args,
                          stdout=open(os.path.join(TMP, "sfd.log"), "w"),
                          stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    last = -1
    while time.time() < deadline and sf.poll() is None:
        if os.path.exists(ctl):
            r = subprocess.run(["softflowctl", "-c", ctl, "statistics"],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
            m = re.search(rb"Packets processed: (\d+)", r.stdout)
            n = int(m.group(1)) if m else -1
            if n > 0 and n == last:
                subprocess.run(["softflowctl", "-c", ctl, "shutdown"],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            last = n
        time.sleep(0.2)
    try:
        sf.wait(timeout=10)
    except subprocess.TimeoutExpired:
        sf.kill()
        fail("%s: softflowd did not finish" % tag)
    time.sleep(0.3)


def exporter_bad(err):
    """flowq's exporter counters after a softflowd run: what dropped or
    changed records (malformed datagrams, unknown templates, restarts,
    time anomalies), as a message; "" when nothing did.  A header count
    that disagrees with the flowsets (v9_count_mismatch) is what
    softflowd sends: counted, not a failure."""
    bad = []
    for e in stats_json(err)["exporters"]:
        for k in ("malformed", "unknown_template_records",
                  "exporter_restarts"):
            if e.get(k):
                bad.append("%s=%s" % (k, e[k]))
        for k, v in e.get("anomalies_by_reason", {}).items():
            if k.startswith("time_") or k == "negative_duration":
                bad.append("%s=%s" % (k, v))
    return " ".join(bad)


def anomalies(err):
    anom = {}
    for e in stats_json(err)["exporters"]:
        for k, v in e.get("anomalies_by_reason", {}).items():
            anom[k] = anom.get(k, 0) + v
    return anom


def via_nfcapd(cap, ver):
    """softflowd -v VER over UDP to nfcapd, which repeats every datagram to
    flowq (-R): flowq's records and nfdump's, of the same datagrams."""
    tag = "v%s" % ver
    d = os.path.join(TMP, "nf" + ver)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    p1 = free_port(socket.SOCK_DGRAM)
    p2 = free_port(socket.SOCK_DGRAM)
    fq, o, e = start_flowq(["print", "--json", "--stats-json", "-s",
                            "udp://127.0.0.1:%d" % p1], [p1])
    nc = subprocess.Popen(["nfcapd", "-b", "127.0.0.1", "-p", str(p2),
                           "-w", d, "-R", "127.0.0.1/%d" % p1],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 5
    while not bound(p2, "udp"):
        if time.time() > deadline or nc.poll() is not None:
            fq.kill()
            skip("nfcapd did not start")
        time.sleep(0.02)
    softflowd(cap, ["-n", "127.0.0.1:%d" % p2, "-v", ver], tag)
    out, err = stop_flowq(fq, o, e)
    nc.send_signal(signal.SIGTERM)
    nc.wait(timeout=10)
    files = sorted(os.path.join(d, f) for f in os.listdir(d)
                   if f.startswith("nfcapd.") and "current" not in f)
    if not files:
        fail("%s: nfcapd wrote no file" % tag)
    return flowq_records(out), nfdump_records(files, ver == "10"), err


def over_tcp(cap):
    """softflowd -P tcp -v 10 to flowq's tcp:// source (nfcapd 1.7.1 has
    no TCP listener, and NetFlow v5/v9 have no length to frame a stream
    by: IPFIX is the only version over TCP)."""
    port = free_port(socket.SOCK_STREAM)
    fq, o, e = start_flowq(["print", "--json", "--stats-json", "-s",
                            "tcp://127.0.0.1:%d" % port], [port], "tcp")
    softflowd(cap, ["-P", "tcp", "-n", "127.0.0.1:%d" % port, "-v", "10"],
              "tcp")
    out, err = stop_flowq(fq, o, e)
    src = stats_json(err)["sources"][0]
    bad = exporter_bad(err)
    if src.get("connections") != 1 or src.get("framing_errors") != 0:
        bad += " source counters %s" % src
    return flowq_records(out), bad


def differ(got, want):
    miss = [r for r in want if r not in got][:3]
    extra = [r for r in got if r not in want][:3]
    return "flowq %d records, reference %d\n  only reference: %s\n" \
           "  only flowq: %s" % (len(got), len(want), miss, extra)


def case_softflowd(cap):
    """softflowd -r CAPTURE exporting NetFlow v5, v9 and IPFIX over UDP
    through nfcapd to flowq: flowq's records equal nfdump's, field by field
    (times to the ms); IPFIX over TCP straight to flowq: nfdump's records
    of the IPFIX-over-UDP run.  A capture without IPv4 flows gives no v5
    record (v5 cannot carry IPv6): then both sides must have none.  Prints
    one table row per version and transport, then fails on any that
    differs."""
    need_softflowd()
    need(cap)
    name = os.path.basename(cap)
    rows, errs, want10, v9 = [], [], None, None
    for ver in ("9", "5", "10"):
        got, want, err = via_nfcapd(cap, ver)
        if ver == "9":
            v9 = want
            if not want:
                errs.append("v9: nfdump shows no records")
        if ver == "5" and not want and any(":" not in r[2] for r in v9):
            errs.append("v5: nfdump shows no records, but there are IPv4 "
                        "flows")
        if ver == "10":
            want10 = want
        bad = exporter_bad(err)
        if got != want:
            errs.append("v%s: %s" % (ver, differ(got, want)))
        if bad:
            errs.append("v%s: exporter counters %s" % (ver, bad))
        anom = anomalies(err)
        rows.append((ver, "udp", len(got), len(want),
                     got == want and not bad,
                     " anomalies %s" % anom if anom else ""))
    tcp, bad = over_tcp(cap)
    if tcp != want10:
        errs.append("IPFIX over TCP: %s" % differ(tcp, want10))
    if bad:
        errs.append("IPFIX over TCP: %s" % bad)
    rows.append(("10", "tcp", len(tcp), len(want10),
                 tcp == want10 and not bad, " (nfcapd: UDP, no TCP)"))
    print("%-26s %-5s %-4s %12s %13s %s" % ("capture", "ver", "trsp",
          "records flowq", "records nfcapd", "equal"))
    for ver, tr, a, b, eq, note in rows:
        print("%-26s v%-4s %-4s %12d %13d  %s%s" % (name, ver, tr, a, b,
              "yes" if eq else "NO", note))
    if errs:
        fail("; ".join(errs))
    print("ok: %s" % name)


def case_pcapng():
    pdir = os.path.join(SHARED, "data", "exports", "pcap")
    need(pdir)
    if shutil.which("editcap") is None:
        skip("editcap not installed (Debian package wireshark-common)")
    n = 0
    for f in sorted(os.listdir(pdir)):
        src = os.path.join(pdir, f)
        ng = os.path.join(TMP, f + "ng")
        subprocess.run(["editcap", "-F", "pcapng", src, ng], check=True)
        a = run(["print", "--json", src])
        b = run(["print", "--json", ng])
        if a[0] != 0 or a != b:
            fail("%s: pcap and pcapng replay differ: %s / %s" %
                 (f, a[2], b[2]))
        n += 1
    # Template capture before its data capture, as pcapng.
    a = run(["print", "--json", os.path.join(TMP, "akvorado-template.pcapng"),
             os.path.join(TMP, "akvorado-data.pcapng")])
    if a[0] != 0 or a[1].count(b"\n") == 0:
        fail("template pcapng then data pcapng gave no records: " + a[2])
    print("ok: %d captures identical as pcapng; template+data gives %d "
          "records" % (n, a[1].count(b"\n")))


CASES = {
    "pcapng": case_pcapng,
    "udp-live": lambda: case_udp_live(False),
    "udp-live6": lambda: case_udp_live(True),
    "record": case_record,
    "tcp-live": case_tcp_live,
    "raw-split": case_raw_split,
    "softflowd": lambda: case_softflowd(os.path.join(ROOT, "pcaps", "traffic.pcap")),
}
# The shared packet captures (../shared/data/traffic), real traffic.
for _c in ("afs", "mptcp-v0", "edns-opts", "ntp-control"):
    CASES["softflowd-" + _c] = (lambda c: lambda: case_softflowd(
        os.path.join(SHARED, "data", "traffic", "tcpdump-%s.pcap" % c)))(_c)

if CASE not in CASES:
    fail("unknown case " + CASE)
CASES[CASE]()
