"""Service tests, template persistence (--state-dir; collector/session/
tpl_state.c, collector/decode/tpl_persist.c):
    state.py CASE FLOWQ TMPDIR

v9, ipfix, ipfix-native
          an exporter sends its template and data to flowq, flowq stops
          (the state saved at exit), starts again, and the exporter's next
          datagram -- data only -- decodes at once, field for field, with
          no unknown-template count and no sequence loss; without
          --state-dir the same datagram is unknown-template
sampling  a v9 exporter's sampling (options record) is restored too:
          the records after the restart carry it
expired   a template saved longer ago than the template lifetime is
          not restored (the file is edited to make it old)
corrupt   a damaged or foreign state file is said and ignored: flowq
          runs and decodes the exporter's next template and data
restarted an exporter that restarted while flowq was down (sequence
          and uptime back) has its restored templates withdrawn, not
          applied to its new layout
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "hostile"))
from wirelib import bound, fail, ip4, ipfix, queued, record, set_, template, v9  # noqa

CASE, FLOWQ, TMP = sys.argv[1:4]
shutil.rmtree(TMP, ignore_errors=True)
os.makedirs(TMP)
STATE = os.path.join(TMP, "state")
NOW = int(time.time())
IPFIX = CASE != "v9" and CASE not in ("sampling", "restarted")
TID = 300 if IPFIX else 256
if IPFIX:
    LAYOUT = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (2, 8), (1, 8),
              (152, 8), (153, 8)]
else:
    LAYOUT = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (2, 4), (1, 4),
              (22, 4), (21, 4)]
UP = 5000000


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


PORT, SRC = free_port(), free_port()
SOCK = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
SOCK.bind(("127.0.0.1", SRC))     # the exporter keeps its source port


def flow(i):
    ms = NOW * 1000 - 5000 + i
    return {"srcip": "10.0.%d.1" % i, "dstip": "10.1.%d.2" % i,
            "srcport": 1000 + i, "dstport": 53, "prot": 17,
            "packets": 10 + i, "bytes": 1000 + i, "stime": ms,
            "etime": ms + 100}


def data(flows, uptime=UP):
    out = b""
    for f in flows:
        v = {8: ip4(f["srcip"]), 12: ip4(f["dstip"]), 7: f["srcport"],
             11: f["dstport"], 4: f["prot"], 2: f["packets"],
             1: f["bytes"], 152: f["stime"], 153: f["etime"],
             22: uptime - (NOW * 1000 - f["stime"]),
             21: uptime - (NOW * 1000 - f["etime"])}
        out += record(LAYOUT, [v[e] for e, _ in LAYOUT])
    return set_(TID, out)


def dgram(seq, sets, count, uptime=UP):
    if IPFIX:
        return ipfix(seq, NOW, sets)
    return v9(seq, uptime, NOW, sets, count)


def tset():
    return set_(2 if IPFIX else 0, template(TID, LAYOUT))


class Run:
    def __init__(self, tag, state=True, extra=()):
        self.out = os.path.join(TMP, tag + ".json")
        self.err = os.path.join(TMP, tag + ".err")
        args = [FLOWQ, "-v", "print", "--json", "--stats-json",
                "-s", "udp://127.0.0.1:%d" % PORT] + list(extra)
        if state:
            args += ["--state-dir", STATE]
        if CASE == "ipfix-native":
            args += ["--ipfix-decoder", "native"]
        self.p = subprocess.Popen(args, stdout=open(self.out, "wb"),
                                  stderr=open(self.err, "wb"))
        end = time.time() + 10
        while not bound(PORT):
            if time.time() > end or self.p.poll() is not None:
                self.p.kill()
                fail("flowq did not bind: " + open(self.err).read())
            time.sleep(0.02)

    def send(self, dg):
        SOCK.sendto(dg, ("127.0.0.1", PORT))

    def stop(self):
        end = time.time() + 20
        while time.time() < end and queued(PORT):
            time.sleep(0.05)
        time.sleep(0.3)
        self.p.send_signal(signal.SIGINT)
        rc = self.p.wait(timeout=20)
        err = open(self.err, errors="replace").read()
        if rc != 0:
            fail("flowq exited %d: %s" % (rc, err))
        stats = [json.loads(l) for l in err.splitlines()
                 if l.startswith("{")][-1]
        recs = [json.loads(l) for l in open(self.out) if l.strip()]
        ex = stats["exporters"][0] if stats["exporters"] else {}
        return recs, ex, stats, err


def same(recs, flows, what):
    keys = ("srcip", "dstip", "srcport", "dstport", "prot", "packets",
            "bytes", "stime", "etime")
    got = [{k: r[k] for k in keys} for r in recs]
    if got != flows:
        fail("%s: records\n%r\nwant\n%r" % (what, got, flows))


def first_run(seq=0):
    r = Run("first")
    r.send(dgram(seq, [tset(), data([flow(0)])], 2))
    recs, ex, st, err = r.stop()
    same(recs, [flow(0)], "before the restart")
    if not os.path.exists(os.path.join(STATE, "templates")):
        fail("no state file after the first run: " + err)
    return st


def case_restore():
    first_run()
    nxt = [flow(1), flow(2)]
    seq = 1 if IPFIX else 1        # IPFIX: records so far; v9: datagrams
    r = Run("second")
    r.send(dgram(seq, [data(nxt)], 2))
    recs, ex, st, err = r.stop()
    same(recs, nxt, "data-only datagram after the restart")
    if ex.get("unknown_template_records") or ex.get("unknown_template_sets") \
            or ex.get("sequence_lost") or ex.get("sequence_resets"):
        fail("counters after the restore: %r" % ex)
    if st["templates"]["restored"] != 1:
        fail("templates counters: %r" % st["templates"])
    # Without --state-dir the same datagram finds no template.
    r = Run("plain", state=False)
    r.send(dgram(seq + 2, [data(nxt)], 2))
    recs, ex, st, err = r.stop()
    if recs or not (ex.get("unknown_template_records") or
                    ex.get("unknown_template_sets")):
        fail("without --state-dir: %r %r" % (recs, ex))


def case_sampling():
    r = Run("first")
    opt_tpl = struct.pack(">HHH", 257, 4, 4) + struct.pack(
        ">HHHH", 1, 4, 34, 4)       # scope system, SAMPLING_INTERVAL
    opt_data = struct.pack(">II", 0, 100)
    r.send(v9(0, UP, NOW, [set_(1, opt_tpl), set_(257, opt_data), tset(),
                           data([flow(0)])], 4))
    recs, ex, st, err = r.stop()
    if recs[0].get("sampling") != 100:
        fail("sampling before the restart: %r" % recs)
    r = Run("second")
    r.send(v9(1, UP + 1000, NOW, [data([flow(1)], UP + 1000)], 1))
    recs, ex, st, err = r.stop()
    if len(recs) != 1 or recs[0].get("sampling") != 100:
        fail("sampling after the restore: %r\n%s" % (recs, err))


def rewrite_state(fn):
    """Apply fn to the state file's entries' refreshed_ms (re-signed)."""
    path = os.path.join(STATE, "templates")
    b = bytearray(open(path, "rb").read())
    # one entry: find its refreshed_ms by layout (tpl_state.c)
    off = 8 + 8 + 4
    sl = struct.unpack_from(">H", b, off)[0]
    off += 2 + sl + 1 + 16 + 2 + 1 + 4 + 1 + 6 * 4 + 8
    ns = b[off]
    off += 1 + 8 * ns
    old = struct.unpack_from(">q", b, off)[0]
    struct.pack_into(">q", b, off, fn(old))
    struct.pack_into(">I", b, len(b) - 4, zlib.crc32(bytes(b[:-4])))
    open(path, "wb").write(bytes(b))


def case_expired():
    first_run()
    rewrite_state(lambda ms: ms - 24 * 3600 * 1000)
    r = Run("second")
    r.send(dgram(1, [data([flow(1)])], 1))
    recs, ex, st, err = r.stop()
    if recs or st["templates"]["restored"] != 0 or \
            "1 past their lifetime" not in err:
        fail("an old template was restored: %r\n%s" % (recs, err))


def case_corrupt():
    os.makedirs(STATE)
    path = os.path.join(STATE, "templates")
    for junk in (b"", b"FQTPLST\x01" + os.urandom(100),
                 b"not a state file at all\n" * 10):
        open(path, "wb").write(junk)
        r = Run("corrupt")
        r.send(dgram(0, [tset(), data([flow(0)])], 2))
        recs, ex, st, err = r.stop()
        if "ignored, templates are learnt afresh" not in err:
            fail("a bad state file was not said: " + err)
        same(recs, [flow(0)], "after a bad state file")


def case_restarted():
    first_run(seq=41)
    # The exporter rebooted meanwhile: sequence 0, uptime 2 s, and a new
    # layout under the same id sent before its template.
    global LAYOUT
    LAYOUT = list(reversed(LAYOUT))
    r = Run("second")
    r.send(v9(0, 2000, NOW + 10, [data([flow(1)], 2000)], 1))
    r.send(v9(1, 2100, NOW + 10, [tset(), data([flow(2)], 2100)], 2))
    recs, ex, st, err = r.stop()
    if ex.get("exporter_restarts") != 1:
        fail("the restart was not seen: %r" % ex)
    if len(recs) != 1:
        fail("records of the new layout read with the restored template: "
             "%r" % recs)


CASES = {"v9": case_restore, "ipfix": case_restore,
         "ipfix-native": case_restore, "sampling": case_sampling,
         "expired": case_expired, "corrupt": case_corrupt,
         "restarted": case_restarted}
CASES[CASE]()
print("ok")
