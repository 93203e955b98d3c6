#!/usr/bin/env python3
"""Compare flowq's decoder with tshark's on the shared export captures.

usage: tshark_compare.py DEC_DUMP SHARED_DIR [TMPDIR]

For each vendor group (a template file replayed before its data files) the
datagrams of all its files are written into one pcap (raw files are split
by the protocols' own headers and wrapped in Ethernet/IPv4/UDP at test
time, in a temporary directory).  Both tshark and dec_dump (flowq's decoder)
read that same pcap.  Per group, the number of data records must agree and,
record by record in order, every field tshark shows of: addresses, next
hop, ports, protocol, ToS, TCP flags, packet and byte counts, interfaces,
AS numbers, masks, start and end times.

Exit 0 when every group agrees, 1 otherwise, 77 (skip) without tshark or
the shared data.
"""
import datetime
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

GROUPS = [
    ["pcap/akvorado-nfv5.pcap"],
    ["pcap/akvorado-data+templates.pcap"],
    ["pcap/akvorado-template.pcap", "pcap/akvorado-data.pcap"],
    ["pcap/akvorado-options-template.pcap", "pcap/akvorado-options-data.pcap"],
    ["pcap/akvorado-samplingrate-template.pcap",
     "pcap/akvorado-samplingrate-data.pcap"],
    ["pcap/akvorado-icmp-template.pcap", "pcap/akvorado-icmp-data.pcap"],
    ["pcap/akvorado-ipfixprobe-templates.pcap",
     "pcap/akvorado-ipfixprobe-data.pcap"],
    ["pcap/akvorado-physicalinterfaces.pcap"],
    ["pcap/akvorado-mpls.pcap"],
    ["raw/logstash-netflow5.dat"],
    ["raw/logstash-netflow5_test_juniper_mx80.dat"],
    ["raw/logstash-netflow5_test_microtik.dat"],
    ["raw/logstash-netflow5_test_invalid01.dat"],
    ["raw/logstash-netflow5_test_invalid02.dat"],
    ["raw/logstash-netflow9_test_0length_fields_tpl_data.dat"],
    ["raw/logstash-netflow9_test_cisco_asa_1_tpl.dat",
     "raw/logstash-netflow9_test_cisco_asa_1_data.dat"],
    ["raw/logstash-netflow9_test_cisco_asr9k_opttpl256.dat",
     "raw/logstash-netflow9_test_cisco_asr9k_tpl260.dat",
     "raw/logstash-netflow9_test_cisco_asr9k_data260.dat"],
    ["raw/logstash-netflow9_test_huawei_netstream_tpl.dat",
     "raw/logstash-netflow9_test_huawei_netstream_data.dat"],
    ["raw/logstash-netflow9_test_invalid01.dat"],
    ["raw/logstash-netflow9_test_iptnetflow_reduced_size_encoding_tpldata260.dat"],
    ["raw/logstash-netflow9_test_macaddr_tpl.dat",
     "raw/logstash-netflow9_test_macaddr_data.dat"],
    ["raw/logstash-netflow9_test_nprobe_tpl.dat",
     "raw/logstash-netflow9_test_nprobe_data.dat"],
    ["raw/logstash-netflow9_test_paloalto_panos_tpl.dat",
     "raw/logstash-netflow9_test_paloalto_panos_data.dat"],
    ["raw/logstash-netflow9_test_softflowd_tpl_data.dat"],
    ["raw/logstash-netflow9_test_ubnt_edgerouter_tpl.dat",
     "raw/logstash-netflow9_test_ubnt_edgerouter_data1024.dat",
     "raw/logstash-netflow9_test_ubnt_edgerouter_data1025.dat"],
    ["raw/logstash-netflow9_test_valid01.dat"],
    ["raw/logstash-ipfix.dat"],
    ["raw/logstash-ipfix_test_barracuda_tpl.dat",
     "raw/logstash-ipfix_test_barracuda_data256.dat"],
    ["raw/logstash-ipfix_test_ixia_tpldata256.dat"],
    ["raw/logstash-ipfix_test_ixia_tpldata271.dat"],
    ["raw/logstash-ipfix_test_mikrotik_tpl.dat",
     "raw/logstash-ipfix_test_mikrotik_data258.dat",
     "raw/logstash-ipfix_test_mikrotik_data259.dat"],
    ["raw/logstash-ipfix_test_nokia_bras_tpl.dat",
     "raw/logstash-ipfix_test_nokia_bras_data256.dat"],
    ["raw/logstash-ipfix_test_openbsd_pflow_tpl.dat",
     "raw/logstash-ipfix_test_openbsd_pflow_data.dat"],
    ["raw/logstash-ipfix_test_procera_tpl52935.dat",
     "raw/logstash-ipfix_test_procera_data52935.dat"],
    ["raw/logstash-ipfix_test_vmware_vds_tpl.dat",
     "raw/logstash-ipfix_test_vmware_vds_data264.dat",
     "raw/logstash-ipfix_test_vmware_vds_data266.dat",
     "raw/logstash-ipfix_test_vmware_vds_data266_267.dat"],
    ["raw/logstash-ipfix_test_yaf_tpls_option_tpl.dat",
     "raw/logstash-ipfix_test_yaf_tpl45841.dat",
     "raw/logstash-ipfix_test_yaf_data45841.dat"],
]

PORT = 2055

# Deliberately invalid captures: flowq must count them malformed and emit
# nothing (tshark decodes what it can of them).
INVALID = {
    "logstash-netflow5_test_invalid01.dat",
    "logstash-netflow5_test_invalid02.dat",
}
# A v9 header count below the number of flowsets: tshark stops after
# `count` flowsets (the templates) and shows no record; flowq takes the
# count as advisory, decodes the records whose flowsets parse and counts
# the anomaly (docs/decoders.md, "Anomalies").  Records flowq must emit.
COUNT_MISMATCH = {
    "logstash-netflow9_test_invalid01.dat": 2,
}


def be16(b, o):
    return struct.unpack_from(">H", b, o)[0]


def split_raw(b):
    """Same rule as dec_files.h; a bad tail is kept whole."""
    out, off = [], 0
    while off < len(b):
        rest, n = b[off:], 0
        if len(rest) >= 4:
            v = be16(rest, 0)
            if v == 5:
                n = 24 + 48 * be16(rest, 2)
            elif v == 10:
                n = be16(rest, 2)
                if n < 16:
                    n = 0
            elif v == 9 and len(rest) >= 20:
                o = 20
                while len(rest) - o >= 4:
                    i, ln = be16(rest, o), be16(rest, o + 2)
                    if i == 9:
                        break
                    if i == 0 and ln == 0:
                        while o < len(rest) and rest[o] == 0:
                            o += 1
                        break
                    if ln < 4 or ln > len(rest) - o:
                        o = -1
                        break
                    o += ln
                if o >= 0:
                    n = len(rest) if len(rest) - o < 4 else o
            if n > len(rest):
                n = 0
        if n == 0:
            out.append(rest)
            break
        out.append(rest[:n])
        off += n
    return out


def read_pcap(b):
    """UDP payloads of a classic Ethernet/IPv4 pcap: (src, sport, ts, data)."""
    magic = struct.unpack_from("<I", b, 0)[0]
    e = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    link = struct.unpack_from(e + "I", b, 20)[0]
    off, out = 24, []
    while len(b) - off >= 16:
        sec, frac, caplen, _ = struct.unpack_from(e + "IIII", b, off)
        off += 16
        p = b[off:off + caplen]
        off += caplen
        ts = sec + frac / (1e9 if nano else 1e6)
        if link != 1 or len(p) < 14:
            continue
        et, q = be16(p, 12), 14
        while et in (0x8100, 0x88A8):
            et, q = be16(p, q + 2), q + 4
        if et != 0x0800 or p[q + 9] != 17:
            continue
        ihl = (p[q] & 15) * 4
        src = ".".join(str(x) for x in p[q + 12:q + 16])
        u = q + ihl
        sport, ulen = be16(p, u), be16(p, u + 4)
        out.append((src, sport, ts, p[u + 8:u + ulen]))
    return out


def write_pcap(path, dgs):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for src, sport, ts, data in dgs:
            udp = struct.pack(">HHHH", sport, PORT, 8 + len(data), 0) + data
            s = bytes(int(x) for x in src.split("."))
            ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0,
                             64, 17, 0, s, bytes([127, 0, 0, 1])) + udp
            fr = b"\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x01\x08\x00" + ip
            sec = int(ts)
            f.write(struct.pack("<IIII", sec, int((ts - sec) * 1e6),
                                len(fr), len(fr)))
            f.write(fr)


DATA_KEYS = ("cflow.srcaddr", "cflow.srcaddrv6", "cflow.dstaddr",
             "cflow.dstaddrv6", "cflow.octets", "cflow.packets",
             "cflow.octets64", "cflow.packets64", "cflow.srcport",
             "cflow.dstport", "cflow.protocol")


def flows(node, hdr, out):
    """Data records in tshark's tree, in order, with their header."""
    for k, v in node.items():
        if not isinstance(v, dict):
            continue
        if k.startswith("pdu ") or k.startswith("Flow "):
            if any(x in v for x in DATA_KEYS):
                out.append((v, hdr))
        else:
            flows(v, hdr, out)


def tshark_records(pcap):
    r = subprocess.run(["tshark", "-n", "-r", pcap, "-d",
                        "udp.port==%d,cflow" % PORT, "-T", "json"],
                       capture_output=True, text=True)
    out = []
    # tshark repeats keys (reverse elements of biflows): keep the first.
    def first(pairs):
        d = {}
        for k, v in pairs:
            d.setdefault(k, v)
        return d
    for pkt in json.loads(r.stdout or "[]", object_pairs_hook=first):
        layers = pkt["_source"]["layers"]
        c = layers.get("cflow")
        if not isinstance(c, dict):
            continue
        hdr = dict(c)
        ts = c.get("cflow.timestamp_tree", {})
        hdr.update(ts)
        flows(c, hdr, out)
    return out


def num(s):
    if s is None:
        return None
    s = str(s)
    try:
        return int(s, 0)
    except ValueError:
        try:
            return float(s)
        except ValueError:
            return None


def abs_ms(s):
    """tshark's 'Sep 28, 2025 16:18:43.634000000 UTC' to epoch ms."""
    try:
        s = s.replace(" UTC", "")
        main, _, frac = s.partition(".")
        t = datetime.datetime.strptime(" ".join(main.split()),
                                       "%b %d, %Y %H:%M:%S")
        t = t.replace(tzinfo=datetime.timezone.utc)
        return int(t.timestamp()) * 1000 + int((frac + "000")[:3])
    except ValueError:
        return None


def pick(v4, v6):
    """SPEC 1: the non-zero family, IPv4 when both are; both zero: v4."""
    if v4 not in (None, "0.0.0.0") or v6 is None:
        return v4
    if v6 != "::" or v4 is None:
        return v6
    return v4


def expect(rec, hdr):
    """What flowq should print, from tshark's view (None = not compared)."""
    g = rec.get
    e = {}
    src = pick(g("cflow.srcaddr"), g("cflow.srcaddrv6"))
    dst = pick(g("cflow.dstaddr"), g("cflow.dstaddrv6"))
    e["srcip"] = src
    e["dstip"] = dst
    e["srcport"] = num(g("cflow.srcport"))
    e["dstport"] = num(g("cflow.dstport"))
    e["prot"] = num(g("cflow.protocol"))
    e["packets"] = num(g("cflow.packets", g("cflow.packets64")))
    e["bytes"] = num(g("cflow.octets", g("cflow.octets64")))
    e["nexthop"] = pick(g("cflow.nexthop"), g("cflow.nexthopv6"))
    for k, f in (("tos", "cflow.tos"), ("tcp_flags", "cflow.tcpflags"),
                 ("input", "cflow.inputint"), ("output", "cflow.outputint"),
                 ("src_as", "cflow.srcas"), ("dst_as", "cflow.dstas")):
        e[k] = num(g(f))
    v6 = ":" in str(src)
    e["src_mask"] = num(g("cflow.srcmaskv6" if v6 else "cflow.srcmask"))
    v6 = ":" in str(dst)
    e["dst_mask"] = num(g("cflow.dstmaskv6" if v6 else "cflow.dstmask"))
    td = g("cflow.timedelta_tree", {})
    up, secs = num(hdr.get("cflow.sysuptime")), num(hdr.get("cflow.unix_secs"))
    nsecs = num(hdr.get("cflow.unix_nsecs")) or 0
    if "cflow.timestart" in td and up is not None and secs is not None:
        upms = round(up * 1000)
        for k, f in (("stime", "cflow.timestart"), ("etime", "cflow.timeend")):
            t = num(td.get(f))
            if t is not None:
                e[k] = secs * 1000 + nsecs // 1000000 - \
                    ((upms - round(t * 1000)) % (1 << 32))
    for k, f in (("stime", "cflow.abstimestart"), ("etime", "cflow.abstimeend")):
        v = g(f) or td.get(f)
        ms = abs_ms(v) if v else None
        # tshark shows uptime-based IPFIX times (no systemInitTime known
        # to it) and some v9 FIRST_SWITCHED as 1970 dates: not compared.
        if ms is not None and ms > 10 ** 11:
            e[k] = ms
    return e


COLS = ["srcip", "dstip", "nexthop", "srcport", "dstport", "prot", "tos",
        "tcp_flags", "packets", "bytes", "stime", "etime", "input", "output",
        "src_as", "dst_as", "src_mask", "dst_mask", "sampling"]


def dump_records(dec_dump, pcap):
    r = subprocess.run([dec_dump, pcap], capture_output=True, text=True)
    recs, stats = [], ""
    for line in r.stdout.splitlines():
        if line.startswith("#") or line.startswith("exporters:"):
            stats += line + "\n"
            continue
        f = line.split("\t")
        if len(f) < 12:
            stats += line + "\n"
            continue
        d = dict(zip(COLS, f))
        for k in COLS[3:]:
            d[k] = int(d[k])
        recs.append(d)
    return recs, stats


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    dec_dump, shared = sys.argv[1], sys.argv[2]
    exports = os.path.join(shared, "data", "exports")
    if not shutil.which("tshark"):
        print("tshark not installed: skipped")
        return 77
    if not os.path.isdir(exports):
        print("no shared data at %s: skipped" % exports)
        return 77
    tmp = tempfile.mkdtemp(prefix="flowq-tshark-")
    bad = 0
    total_t = total_f = 0
    compared = {}
    try:
        for gi, group in enumerate(GROUPS):
            dgs = []
            for f in group:
                b = open(os.path.join(exports, f), "rb").read()
                if f.endswith(".pcap"):
                    dgs += read_pcap(b)
                else:
                    dgs += [("0.0.0.0", 0, 0.0, d) for d in split_raw(b)]
            pcap = os.path.join(tmp, "g%02d.pcap" % gi)
            write_pcap(pcap, dgs)
            ts = tshark_records(pcap)
            fq, stats = dump_records(dec_dump, pcap)
            total_t += len(ts)
            total_f += len(fq)
            name = os.path.basename(group[-1])
            mism = []
            if name in COUNT_MISMATCH:
                status = "ok (v9 count advisory: decoded, anomaly counted)"
                if (len(fq) != COUNT_MISMATCH[name] or
                        "v9_count_mismatch=1" not in stats or
                        not re.search(r"malformed 0 ", stats)):
                    status = "MISMATCH"
                    bad += 1
                print("%-70s tshark %4d flowq %4d  %s"
                      % (name, len(ts), len(fq), status))
                continue
            if name in INVALID:
                m = re.search(r"malformed (\d+)", stats)
                mal = m is not None and int(m.group(1)) > 0
                status = "ok (invalid: malformed, nothing emitted)"
                if fq or not mal:
                    status = "MISMATCH"
                    bad += 1
                print("%-70s tshark %4d flowq %4d  %s"
                      % (name, len(ts), len(fq), status))
                continue
            if len(ts) != len(fq):
                mism.append("record count: tshark %d, flowq %d"
                            % (len(ts), len(fq)))
            for i, ((rec, hdr), got) in enumerate(zip(ts, fq)):
                e = expect(rec, hdr)
                for k, v in e.items():
                    if v is None:
                        continue
                    compared[k] = compared.get(k, 0) + 1
                    if got[k] != v:
                        mism.append("record %d %s: tshark %s, flowq %s"
                                    % (i + 1, k, v, got[k]))
            status = "ok" if not mism else "MISMATCH"
            print("%-70s tshark %4d flowq %4d  %s"
                  % (name, len(ts), len(fq), status))
            for m in mism[:10]:
                print("    " + m)
            if mism:
                bad += 1
                print("    " + stats.strip().replace("\n", "\n    "))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("groups %d, mismatching %d; records tshark %d, flowq %d"
          % (len(GROUPS), bad, total_t, total_f))
    print("fields compared: " + ", ".join("%s %d" % kv
                                          for kv in sorted(compared.items())))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
