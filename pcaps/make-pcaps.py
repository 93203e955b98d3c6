#!/usr/bin/env python3
"""Make the captures of pcaps/ (deterministic: byte-identical on every run).

Usage: pcaps/make-pcaps.py --flowgen BUILD/bench/flowgen [OUTDIR]
       (pcaps/make-pcaps.sh builds flowgen and runs this; OUTDIR defaults
       to the directory of this script)

Files (see pcaps/README.md):
  http-downloads-v5.pcap  the records of examples/http-downloads.ft as the
                          router would have exported them: NetFlow v5
                          datagrams in Ethernet/IPv4/UDP frames
  traffic.pcap            ordinary packets (not flow exports) of a few
                          hosts -- TCP sessions, DNS, NTP, ICMP echo, IPv6
                          UDP -- to feed a real exporter (softflowd -r)
  flowgen-v5.pcap, flowgen-v9.pcap, flowgen-ipfix.pcap
                          bench/flowgen --records 500 --seed 1: the same
                          500 flows of four exporters in the three export
                          formats

Python 3 standard library only.
"""
import os
import random
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


# ---- frames ---------------------------------------------------------------

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4b(s):
    return bytes(int(x) for x in s.split("."))


def ip6b(s):
    import ipaddress
    return ipaddress.IPv6Address(s).packed


def ipv4(src, dst, proto, payload, ident):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF,
                    0x4000, 64, proto, 0, ip4b(src), ip4b(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload


def l4_csum(pseudo, seg, off):
    c = csum(pseudo + seg)
    if c == 0 and off == 6:         # UDP: 0 means "no checksum"
        c = 0xFFFF
    return seg[:off] + struct.pack("!H", c) + seg[off + 2:]


def pseudo4(src, dst, proto, n):
    return ip4b(src) + ip4b(dst) + struct.pack("!BBH", 0, proto, n)


def udp4(src, dst, sport, dport, payload, ident):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    seg = l4_csum(pseudo4(src, dst, 17, len(seg)), seg, 6)
    return ipv4(src, dst, 17, seg, ident)


def tcp4(src, dst, sport, dport, seq, ack, flags, payload, ident):
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF,
                      ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0) + payload
    seg = l4_csum(pseudo4(src, dst, 6, len(seg)), seg, 16)
    return ipv4(src, dst, 6, seg, ident)


def icmp4(src, dst, typ, ident, seq, ipid):
    body = struct.pack("!BBHHH", typ, 0, 0, ident, seq) + bytes(range(32))
    body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    return ipv4(src, dst, 1, body, ipid)


def udp6(src, dst, sport, dport, payload):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    pseudo = ip6b(src) + ip6b(dst) + struct.pack("!IxxxB", len(seg), 17)
    seg = l4_csum(pseudo, seg, 6)
    return struct.pack("!IHBB16s16s", 6 << 28, len(seg), 17, 64,
                       ip6b(src), ip6b(dst)) + seg


def ether(l3, v6=False, to_router=True):
    a, b = b"\x02\x00\x00\x00\x00\x01", b"\x02\x00\x00\x00\x00\x02"
    dst, src = (a, b) if to_router else (b, a)
    return dst + src + (b"\x86\xdd" if v6 else b"\x08\x00") + l3


def pcap(frames):
    """Classic pcap, little-endian, microseconds, Ethernet.
    frames: (time_us, frame bytes)."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for t, f in frames:
        out.append(struct.pack("<IIII", t // 1000000, t % 1000000, len(f), len(f)))
        out.append(f)
    return b"".join(out)


# ---- http-downloads-v5.pcap --------------------------------------------------

def ft_v5_records(path):
    """(header fields, 48-byte NetFlow v5 record) of each record of a
    flow-tools stream v3 file with v5 records, little-endian, uncompressed
    (the layout examples/make-examples.py writes)."""
    data = open(path, "rb").read()
    if data[:4] != b"\xcf\x10\x01\x03":
        raise SystemExit("%s: not a little-endian stream v3 flow-tools file" % path)
    hlen = struct.unpack("<I", data[4:8])[0]
    body = data[hlen:]
    out = []
    for i in range(0, len(body), 64):
        (secs, nsecs, up, exa, src, dst, nh, inp, outp, pk, by, first, last,
         sp, dp, prot, tos, fl, _pad, et, ei, sm, dm, sa, da) = struct.unpack(
            "<IIIIIIIHHIIIIHHBBBBBBBBHH", body[i:i + 64])
        # NetFlow v5 record (Cisco's layout): addresses, ifIndexes, counters,
        # First/Last uptime, ports, pad, flags, prot, tos, AS, masks, pad.
        rec = struct.pack(">IIIHHIIIIHHBBBBHHBBH", src, dst, nh, inp, outp, pk,
                          by, first, last, sp, dp, 0, fl, prot, tos, sa, da,
                          sm, dm, 0)
        out.append(((exa, secs, nsecs, up, et, ei), rec))
    return out


def http_downloads_v5():
    recs = ft_v5_records(os.path.join(ROOT, "examples", "http-downloads.ft"))
    frames, seq, ident = [], 0, 0
    k = 0
    while k < len(recs):
        hdr = recs[k][0]
        n = 1
        while k + n < len(recs) and recs[k + n][0] == hdr and n < 30:
            n += 1
        exa, secs, nsecs, up, et, ei = hdr
        dg = struct.pack(">HHIIIIBBH", 5, n, up, secs, nsecs, seq, et, ei, 0)
        dg += b"".join(r for _, r in recs[k:k + n])
        ident += 1
        exs = "%d.%d.%d.%d" % tuple(exa.to_bytes(4, "big"))
        frames.append((secs * 1000000 + nsecs // 1000,
                       ether(udp4(exs, "192.0.2.250", 2055, 2055, dg, ident))))
        seq += n
        k += n
    return pcap(frames)


# ---- traffic.pcap ------------------------------------------------------------

def traffic():
    rnd = random.Random(2026)
    t0 = 1700000000 * 1000000
    pk = []         # (time_us, order, frame)
    ident = [0]

    def add(t, l3, v6=False, to_router=True):
        ident[0] += 1
        pk.append((t, ident[0], ether(l3, v6, to_router)))

    def nid():
        return ident[0] + 1

    clients = ["10.9.0.%d" % i for i in range(11, 17)]
    servers = [("198.51.100.80", 80), ("203.0.113.8", 80),
               ("198.51.100.44", 443), ("203.0.113.22", 22)]
    # TCP sessions: handshake, data both ways, FIN both ways.
    for s in range(14):
        c = clients[s % len(clients)]
        srv, port = servers[rnd.randrange(len(servers))]
        sport = 40000 + s * 7
        t = t0 + rnd.randrange(0, 90000000)
        cs, ss = rnd.randrange(1 << 32), rnd.randrange(1 << 32)
        add(t, tcp4(c, srv, sport, port, cs, 0, 0x02, b"", nid()))
        t += rnd.randrange(1000, 40000)
        add(t, tcp4(srv, c, port, sport, ss, cs + 1, 0x12, b"", nid()), to_router=False)
        t += rnd.randrange(100, 2000)
        add(t, tcp4(c, srv, sport, port, cs + 1, ss + 1, 0x10, b"", nid()))
        cs += 1
        ss += 1
        req = b"GET /file%d HTTP/1.1\r\nHost: x\r\n\r\n" % s
        add(t + 50, tcp4(c, srv, sport, port, cs, ss, 0x18, req, nid()))
        cs += len(req)
        for k in range(rnd.randrange(2, 9)):
            t += rnd.randrange(2000, 300000)
            data = bytes([65 + k]) * rnd.randrange(200, 1400)
            add(t, tcp4(srv, c, port, sport, ss, cs, 0x18, data, nid()), to_router=False)
            ss += len(data)
            t += rnd.randrange(100, 5000)
            add(t, tcp4(c, srv, sport, port, cs, ss, 0x10, b"", nid()))
        t += rnd.randrange(1000, 20000)
        add(t, tcp4(c, srv, sport, port, cs, ss, 0x11, b"", nid()))
        t += rnd.randrange(1000, 20000)
        add(t, tcp4(srv, c, port, sport, ss, cs + 1, 0x11, b"", nid()), to_router=False)
        t += rnd.randrange(100, 2000)
        add(t, tcp4(c, srv, sport, port, cs + 1, ss + 1, 0x10, b"", nid()))
    # DNS lookups and NTP polls.
    for q in range(10):
        c = clients[q % len(clients)]
        t = t0 + rnd.randrange(0, 100000000)
        sport = 50000 + q
        qd = struct.pack("!HHHHHH", q, 0x0100, 1, 0, 0, 0) + b"\x04host\x02ex\x00\x00\x01\x00\x01"
        add(t, udp4(c, "10.9.0.1", sport, 53, qd, nid()))
        an = qd[:2] + b"\x81\x80" + qd[4:] + b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x00\x00\x04" + bytes([198, 51, 100, q])
        add(t + rnd.randrange(500, 30000), udp4("10.9.0.1", c, 53, sport, an, nid()), to_router=False)
    for n in range(6):
        t = t0 + n * 16000000 + rnd.randrange(0, 1000000)
        add(t, udp4("10.9.0.20", "192.0.2.123", 123, 123, bytes(48), nid()))
        add(t + 20000, udp4("192.0.2.123", "10.9.0.20", 123, 123, bytes(48), nid()), to_router=False)
    # ICMP echo.
    for n in range(8):
        t = t0 + n * 1000000 + 500000
        add(t, icmp4("10.9.0.30", "10.9.0.1", 8, 0x77, n, nid()))
        add(t + 300, icmp4("10.9.0.1", "10.9.0.30", 0, 0x77, n, nid()), to_router=False)
    # IPv6 UDP.
    for n in range(5):
        t = t0 + 3000000 + n * 2000000
        add(t, udp6("2001:db8::11", "2001:db8:1::99", 50100, 40002, b"v6 %d" % n), v6=True)
    pk.sort()
    return pcap([(t, f) for t, _, f in pk])


def flowgen_pcaps(flowgen, out):
    for fmt in ("v5", "v9", "ipfix"):
        subprocess.run([flowgen, "--records", "500", "--seed", "1", "--format",
                        "pcap-" + fmt, "--quiet", "-o",
                        os.path.join(out, "flowgen-%s.pcap" % fmt)], check=True)


def main(argv):
    args = argv[1:]
    flowgen = None
    if args[:1] == ["--flowgen"]:
        flowgen, args = args[1], args[2:]
    out = args[0] if args else HERE
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "http-downloads-v5.pcap"), "wb") as f:
        f.write(http_downloads_v5())
    with open(os.path.join(out, "traffic.pcap"), "wb") as f:
        f.write(traffic())
    if flowgen:
        flowgen_pcaps(flowgen, out)
    else:
        print("make-pcaps.py: no --flowgen: flowgen-*.pcap not made", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)
