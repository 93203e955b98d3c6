#!/usr/bin/env python3
"""gen.py - deterministic generator of flow traces and flow queries for the
differential tests (Python 3 standard library only).

Traces: HTTP-like request/response sessions (client -> server dport 80/8080
and back), DNS lookups just before sessions, scans, background traffic,
long flows, overlapping intervals so that every Allen relation occurs, IPv4
address reuse; written as flow-tools files (stream v3, little-endian,
uncompressed, record version 5).

Queries: every rule kind, Allen relation (short and long spellings) and
aggregate, 1-4 branches, subtracting modules, optional stages left out;
emitted both as flowq query text (SPEC section 3) and as the reference's
JSON form (README.md).

Usage:
  gen.py trace SEED OUT.ft [--records N] [--late] [--expect OUT.jsonl]
  gen.py query SEED OUT.fq OUT.json
"""
import ipaddress
import json
import random
import struct
import sys

WRAP = 1 << 32

# --------------------------------------------------------------------------
# Traces


class Flow:
    __slots__ = ("stime", "etime", "src", "dst", "sport", "dport", "prot",
                 "tos", "flags", "packets", "bytes", "exporter", "input",
                 "output", "src_as", "dst_as", "src_mask", "dst_mask",
                 "nexthop", "export")

    def __init__(self, stime, etime, src, dst, sport, dport, prot, flags=0,
                 packets=1, nbytes=64, tos=0):
        self.stime, self.etime = int(stime), int(etime)
        self.src, self.dst = src, dst
        self.sport, self.dport, self.prot = sport, dport, prot
        self.flags, self.packets, self.bytes, self.tos = flags, packets, nbytes, tos
        self.exporter = 0
        self.input = self.output = 0
        self.src_as = self.dst_as = 0
        self.src_mask = self.dst_mask = 0
        self.nexthop = "0.0.0.0"
        self.export = None


class TraceGen:
    """Builds a list of flows with realistic timing."""

    def __init__(self, seed, records=200, span_ms=None, max_dur=None):
        self.rng = random.Random("trace-%s" % seed)
        r = self.rng
        self.target = records
        self.t0 = 1700000000000 + r.randrange(0, 86400000)
        # the trace covers a few minutes; streaming bounds: lasting < M (10
        # min), no group wider than W (15 min) -- the whole trace stays
        # inside 12 minutes.
        self.span = span_ms or r.choice([60000, 120000, 240000, 480000])
        self.max_dur = max_dur or min(self.span // 2, 300000)
        self.flows = []
        self.clients = ["10.1.0.%d" % i for i in r.sample(range(2, 250), r.randint(3, 12))]
        self.servers = (["192.0.2.%d" % i for i in r.sample(range(1, 250), r.randint(2, 5))]
                        + ["198.51.100.%d" % i for i in r.sample(range(1, 250), r.randint(1, 3))])
        self.dns = r.choice(["10.0.0.53", "192.0.2.53"])
        self.scanner = "203.0.113.%d" % r.randint(1, 254)

    def t(self):
        return self.t0 + self.rng.randrange(0, self.span)

    def eport(self):
        return self.rng.randint(1024, 65535)

    def add(self, f):
        self.flows.append(f)
        return f

    def dns_lookup(self, client, at):
        r = self.rng
        sp = self.eport()
        rtt = r.choice([0, 1, 2, 5, 12, 30])
        q = self.add(Flow(at, at, client, self.dns, sp, 53, 17, 0, 1, r.randint(40, 90)))
        self.add(Flow(at + rtt, at + rtt + r.choice([0, 0, 1]), self.dns, client, 53,
                      sp, 17, 0, 1, r.randint(60, 500)))
        return q

    def http_session(self):
        r = self.rng
        c = r.choice(self.clients)
        s = r.choice(self.servers)
        port = r.choice([80, 80, 8080])
        t = self.t()
        if r.random() < 0.6:
            # DNS just before: ending exactly at the request's start (m),
            # or a little before it (<)
            gap = r.choice([0, 0, 1, 3, 20, 150, 900, 2500, 4000, 7000])
            self.dns_lookup(c, t - gap - r.choice([0, 0, 2]))
        for _ in range(r.choice([1, 1, 2, 3, 4])):
            cp = self.eport()
            dur = r.choice([0, 5, 40, 200, 900, 3000, 15000, r.randint(1, 30000)])
            rtt = r.choice([0, 0, 1, 3, 10, 40])
            tail = r.choice([0, 0, 0, 1, -1, 4, -6, 30, -30])
            end = t + dur
            ok = r.random() < 0.8
            req_flags = r.choice([0x1b, 0x1a, 0x1f, 0x18]) if ok else 0x02
            res_flags = r.choice([0x1b, 0x13, 0x1a, 0x12]) if ok else 0x14
            self.add(Flow(t, end, c, s, cp, port, 6, req_flags,
                          r.randint(1, 20), r.randint(40, 3000) if ok else 60))
            rs, re_ = t + rtt, max(t + rtt, end + tail)
            self.add(Flow(rs, re_, s, c, port, cp, 6, res_flags,
                          r.randint(1, 400), r.choice([40, r.randint(200, 3000),
                                                       r.randint(1000, 900000)])))
            t = end + r.choice([0, 1, 10, 300, 800, 1000, 1001, 1500, 4000])

    def scan(self):
        r = self.rng
        t = self.t()
        dst_base = r.choice(self.servers + self.clients)
        net = dst_base.rsplit(".", 1)[0]
        for i in range(r.randint(3, 12)):
            dport = r.choice([22, 23, 80, 443, 8080, 3389, 445]) if r.random() < 0.5 else r.randint(1, 1024)
            self.add(Flow(t, t, self.scanner, "%s.%d" % (net, r.randint(1, 254)),
                          r.choice([40000, self.eport()]), dport, 6, 0x02, 1, r.choice([40, 44, 60])))
            t += r.choice([0, 1, 2, 5, 50])

    def background(self):
        r = self.rng
        t = self.t()
        kind = r.random()
        hosts = self.clients + self.servers
        a, b = r.choice(hosts), r.choice(hosts)
        dur = r.choice([0, 10, 100, 2000, r.randint(0, 60000)])
        if kind < 0.3:
            self.add(Flow(t, t + dur, a, b, 123, 123, 17, 0, r.randint(1, 4), r.randint(76, 400)))
        elif kind < 0.5:
            self.add(Flow(t, t + dur, a, b, self.eport(), r.choice([22, 25, 443]), 6,
                          r.choice([0x18, 0x1b, 0x10]), r.randint(1, 100), r.randint(40, 90000), tos=r.choice([0, 0, 4, 8])))
        elif kind < 0.65:
            self.add(Flow(t, t + dur, a, b, 0, r.choice([0x0800, 0x0000, 0x0303]), 1, 0, r.randint(1, 5), r.randint(28, 500)))
        elif kind < 0.8:
            # address reuse: a client address acting as a web server
            self.add(Flow(t, t + dur, a, r.choice(self.clients), self.eport(), 8080, 6,
                          0x1b, r.randint(1, 30), r.randint(40, 5000)))
        else:
            self.add(Flow(t, t + dur, a, b, self.eport(), self.eport(), 17, 0, r.randint(1, 50), r.randint(28, 20000), tos=r.choice([0, 1, 3])))

    def long_flow(self):
        r = self.rng
        t = self.t0 + r.randrange(0, max(1, self.span // 3))
        dur = r.randint(self.max_dur // 3, self.max_dur)
        c, s = r.choice(self.clients), r.choice(self.servers)
        cp = self.eport()
        port = r.choice([80, 443, 8080, 22])
        self.add(Flow(t, t + dur, c, s, cp, port, 6, 0x1b, r.randint(100, 5000), r.randint(10000, 5000000)))
        if r.random() < 0.7:
            self.add(Flow(t + r.choice([0, 2]), t + dur + r.choice([0, 0, 3]), s, c, port, cp, 6, 0x1b,
                          r.randint(100, 5000), r.randint(10000, 50000000)))

    def allen_pairs(self):
        """Pairs of flows whose intervals stand in each Allen relation with
        exact endpoints (m, s, f, = need equal ms)."""
        r = self.rng
        c, s = r.choice(self.clients), r.choice(self.servers)
        t = self.t()
        a = r.randint(50, 5000)
        b = r.randint(1, a - 1) if a > 1 else 1
        shapes = [(0, a, a, a + b), (0, a, 0, a + b), (0, a + b, b, a + b),
                  (0, a, 0, a), (0, a + b, b, a), (0, a, b, a + b), (0, a, a + b, a + 2 * b)]
        xs, xe, ys, ye = r.choice(shapes)
        cp = self.eport()
        port = r.choice([80, 8080])
        self.add(Flow(t + xs, t + xe, c, s, cp, port, 6, 0x1b, 5, r.randint(100, 3000)))
        self.add(Flow(t + ys, t + ye, s, c, port, cp, 6, 0x1b, 7, r.randint(100, 30000)))

    def build(self):
        r = self.rng
        makers = [(self.http_session, 6), (self.allen_pairs, 2), (self.background, 4),
                  (self.scan, 1), (self.long_flow, 1)]
        total = sum(w for _, w in makers)
        while len(self.flows) < self.target:
            x = r.uniform(0, total)
            for fn, w in makers:
                x -= w
                if x <= 0:
                    fn()
                    break
        del self.flows[self.target:]
        for f in self.flows:
            if f.stime < self.t0 - 60000:
                f.stime = self.t0 - 60000
                f.etime = max(f.etime, f.stime)
        return self.flows


def assign_export(flows, seed, late=False):
    """Exporters, router fields and export times; returns flows in export
    (file) order.  A record is exported 0..30 s after its end (the disorder
    stays far below the default lateness of 90 s).  With late, a few records
    are exported 5-8 minutes after their end, at the end of the file."""
    r = random.Random("export-%s" % seed)
    exporters = r.choice([["192.0.2.250"], ["192.0.2.250", "198.51.100.250"]])
    for i, f in enumerate(flows):
        f.exporter = r.randrange(len(exporters))
        f.export = f.etime + r.choice([0, 5, 100, 1000, 2000, r.randint(0, 30000)])
        f.input, f.output = r.choice([(1, 2), (2, 1), (3, 1)])
        f.src_as = r.choice([0, 0, 64500, 65001])
        f.dst_as = r.choice([0, 64501, 65002])
        f.src_mask, f.dst_mask = r.choice([(24, 24), (16, 24), (0, 0), (32, 8)])
        f.nexthop = r.choice(["0.0.0.0", "10.255.0.1", "10.255.0.2"])
    order = sorted(range(len(flows)), key=lambda i: (flows[i].export, i))
    out = [flows[i] for i in order]
    if late and out:
        last = max(f.export for f in out)
        k = max(1, len(out) // 50)
        for _ in range(k):
            src = r.choice(out)
            st = max(f.etime for f in out) - r.randint(300000, 480000)
            f = Flow(st, st + r.randint(0, 2000), src.src, src.dst, src.sport, src.dport,
                     src.prot, src.flags, src.packets, src.bytes)
            f.exporter = 0
            f.export = last
            out.append(f)
    return out, exporters


def ip2int(s):
    return int(ipaddress.IPv4Address(s))


def write_ft(path, flows, exporters, seed):
    """flow-tools stream v3, little-endian, uncompressed, record version 5.
    Returns the records as `flowq print --json` should print them."""
    r = random.Random("ft-%s" % seed)
    boots = []
    for _ in exporters:
        if r.random() < 0.3:
            # uptime wraps at 2^32 ms inside the trace
            first = min(f.stime for f in flows) if flows else 0
            boots.append(first - WRAP + r.randint(1000, 200000))
        else:
            boots.append((min(f.stime for f in flows) if flows else 0) - r.randint(3600000, 400000000))
    engines = [(r.randint(0, 3), r.randint(0, 255)) for _ in exporters]
    tlv = struct.pack("<HHH", 2, 2, 5) + struct.pack("<HHI", 8, 4, 0)
    hlen = 8 + len(tlv)
    body = bytearray()
    expect = []
    for i, f in enumerate(flows):
        e = f.exporter
        boot = boots[e]
        secs = f.export // 1000
        nsecs = (f.export % 1000) * 1000000 + r.randint(0, 999999)
        up = (f.export - boot) % WRAP
        first = (f.stime - boot) % WRAP
        last = (f.etime - boot) % WRAP
        et, ei = engines[e]
        body += struct.pack("<IIIIIIIHHIIIIHHBBBBBBBBHH", secs, nsecs, up,
                            ip2int(exporters[e]), ip2int(f.src), ip2int(f.dst),
                            ip2int(f.nexthop), f.input, f.output, f.packets,
                            f.bytes, first, last, f.sport, f.dport, f.prot,
                            f.tos, f.flags, 0, et, ei, f.src_mask, f.dst_mask,
                            f.src_as, f.dst_as)
        expect.append({
            "rec_id": i + 1, "exporter": exporters[e], "domain": et << 8 | ei,
            "srcip": f.src, "dstip": f.dst, "nexthop": f.nexthop,
            "srcport": f.sport, "dstport": f.dport, "prot": f.prot,
            "tos": f.tos, "tcp_flags": f.flags, "packets": f.packets,
            "bytes": f.bytes, "stime": f.stime, "etime": f.etime,
            "duration": f.etime - f.stime, "input": f.input,
            "output": f.output, "src_as": f.src_as, "dst_as": f.dst_as,
            "src_mask": f.src_mask, "dst_mask": f.dst_mask,
            "engine_type": et, "engine_id": ei, "sampling": 1,
            "unix_secs": secs, "unix_nsecs": nsecs, "sysUpTime": up})
    with open(path, "wb") as fp:
        fp.write(b"\xcf\x10\x01\x03" + struct.pack("<I", hlen) + tlv + bytes(body))
    return expect


# IPFIX (RFC 7011) file: the way to get IPv6 (and mixed v4/v6) records in.
IPFIX_FIELDS4 = [(8, 4), (12, 4)]
IPFIX_FIELDS6 = [(27, 16), (28, 16)]
IPFIX_COMMON = [(7, 2), (11, 2), (4, 1), (5, 1), (6, 2), (2, 8), (1, 8), (10, 4),
                (14, 4), (152, 8), (153, 8)]


def v6_of(v4):
    """The IPv6 address a dual-stack host uses: 2001:db8:: + its v4 bits."""
    return str(ipaddress.IPv6Address((0x20010db8 << 96) | ip2int(v4)))


def dual_stack(flows, seed, share=0.2):
    """Some hosts also speak IPv6: a flow touching one of them has both
    endpoints in IPv6 (the same hosts appear with v4 and v6 addresses)."""
    r = random.Random("v6-%s" % seed)
    hosts = sorted({f.src for f in flows} | {f.dst for f in flows})
    v6 = {h for h in hosts if r.random() < share}
    for f in flows:
        if (f.src in v6 or f.dst in v6) and r.random() < 0.8:
            f.src, f.dst = v6_of(f.src), v6_of(f.dst)
    return flows


def write_ipfix(path, flows, seed, domain=7):
    """IPFIX file: one template for IPv4 and one for IPv6 records, data sets
    of up to 20 records.  Returns the fields `flowq print --json` must show."""
    r = random.Random("ipfix-%s" % seed)

    def tmpl(tid, fields):
        return struct.pack(">HH", tid, len(fields)) + b"".join(struct.pack(">HH", i, n) for i, n in fields)

    t4 = IPFIX_FIELDS4 + IPFIX_COMMON
    t6 = IPFIX_FIELDS6 + IPFIX_COMMON
    tset = tmpl(256, t4) + tmpl(257, t6)
    tset = struct.pack(">HH", 2, 4 + len(tset)) + tset
    out = bytearray()
    expect = []
    seq = 0
    i = 0
    first = True
    while i < len(flows):
        chunk = flows[i:i + r.randint(1, 20)]
        sets = bytearray(tset if first else b"")
        first = False
        k = 0
        while k < len(chunk):
            v6 = ":" in chunk[k].src
            body = bytearray()
            while k < len(chunk) and (":" in chunk[k].src) == v6:
                f = chunk[k]
                if v6:
                    body += ipaddress.IPv6Address(f.src).packed + ipaddress.IPv6Address(f.dst).packed
                else:
                    body += struct.pack(">II", ip2int(f.src), ip2int(f.dst))
                body += struct.pack(">HHBBHQQIIQQ", f.sport, f.dport, f.prot, f.tos, f.flags,
                                    f.packets, f.bytes, f.input, f.output, f.stime, f.etime)
                expect.append({"rec_id": len(expect) + 1, "srcip": f.src, "dstip": f.dst,
                               "srcport": f.sport, "dstport": f.dport, "prot": f.prot,
                               "tos": f.tos, "tcp_flags": f.flags, "packets": f.packets,
                               "bytes": f.bytes, "stime": f.stime, "etime": f.etime,
                               "duration": f.etime - f.stime, "input": f.input,
                               "output": f.output, "domain": domain})
                k += 1
            sets += struct.pack(">HH", 257 if v6 else 256, 4 + len(body)) + body
        export = max(f.export for f in chunk) // 1000
        out += struct.pack(">HHIII", 10, 16 + len(sets), export, seq, domain) + sets
        seq += len(chunk)
        i += len(chunk)
    with open(path, "wb") as fp:
        fp.write(bytes(out))
    return expect


def make_trace(seed, path, records=200, late=False, span_ms=None, fmt="ft"):
    """Write a trace; fmt "ft" (flow-tools, IPv4) or "ipfix" (dual stack).
    Returns the records (or, for IPFIX, the fields it sets) as `flowq print
    --json` must print them."""
    if fmt == "ipfix":
        flows = dual_stack(TraceGen(seed, records, span_ms).build(), seed)
        flows, _ = assign_export(flows, seed, late)
        return write_ipfix(path, flows, seed)

    flows = TraceGen(seed, records, span_ms).build()
    flows, exporters = assign_export(flows, seed, late)
    return write_ft(path, flows, exporters, seed)


# --------------------------------------------------------------------------
# Queries
#
# Every piece is built twice: as query text and as the reference JSON form.

ALLEN = [("<", "before"), (">", "after"), ("=", "equals"), ("m", "meets"),
         ("mi", "met-by"), ("o", "overlaps"), ("oi", "overlapped-by"),
         ("s", "starts"), ("si", "started-by"), ("d", "during"),
         ("di", "contains"), ("f", "finishes"), ("fi", "finished-by")]

# Field types of a record (canonical name -> type) and aliases used in text.
REC_TYPES = {
    "srcip": "addr", "dstip": "addr", "nexthop": "addr", "exporter": "addr",
    "srcport": "num", "dstport": "num", "prot": "num", "tos": "num",
    "tcp_flags": "num", "packets": "num", "bytes": "num", "stime": "time",
    "etime": "time", "duration": "time", "input": "num", "output": "num",
    "src_as": "num", "dst_as": "num", "src_mask": "num", "dst_mask": "num",
}
ALIASES = {
    "srcip": ["srcaddr", "sourceIPv4Address"], "dstip": ["dstaddr", "destinationIPv4Address"],
    "srcport": ["sourceTransportPort"], "dstport": ["destinationTransportPort"],
    "prot": ["proto", "protocolIdentifier"], "bytes": ["dOctets", "octetDeltaCount"],
    "packets": ["dPkts", "packetDeltaCount"], "duration": ["td"],
    "tcp_flags": ["tcpControlBits"], "exporter": ["exaddr"], "tos": ["ipClassOfService"],
}


def dur_text(r, ms):
    opts = ["%dms" % ms, "%d" % ms]
    if ms % 1000 == 0:
        opts += ["%ds" % (ms // 1000), "%d sec" % (ms // 1000), "%dsec" % (ms // 1000)]
    if ms % 60000 == 0:
        opts += ["%dmin" % (ms // 60000)]
    return r.choice(opts)


def num_text(r, v):
    return ("0x%x" % v) if (v > 1 and r.random() < 0.25) else str(v)


class QueryGen:
    def __init__(self, seed, nbranches=None):
        self.r = random.Random("query-%s" % seed)
        self.seed = seed
        self.defs = []          # (kind, body text) -> name
        self.def_names = {}
        self.composites = {}    # composite filter name -> json lines
        self.nb = nbranches

    # --- filters --------------------------------------------------------
    def fname(self, canon):
        r = self.r
        if canon in ALIASES and r.random() < 0.2:
            return r.choice(ALIASES[canon])
        return canon

    def term(self, canon, op, value_text, value_json, neg=False, fn=None):
        """A comparison term over a record field."""
        f = self.fname(canon)
        lhs_t, lhs_j = f, {"field": canon}
        if fn:
            kind, mask = fn
            lhs_t = "%s(%s, %s)" % (kind, f, num_text(self.r, mask))
            lhs_j = {kind: [{"field": canon}, {"value": mask}]}
        if op in ("in", "notin"):
            rhs_j = {"set": value_json}
        else:
            rhs_j = {"value": value_json}
        t = "%s%s %s %s" % ("NOT " if neg else "", lhs_t, op, value_text)
        return t, {"op": op, "lhs": lhs_j, "rhs": rhs_j, "not": neg}

    def proto_term(self, p):
        r = self.r
        name = {6: "TCP", 17: "UDP", 1: "ICMP"}[p]
        txt = r.choice(['protocol("%s")' % name, 'protocol("%s")' % name.lower(), str(p)])
        return self.term("prot", "=", txt, p)

    def port_any(self, canon, ports):
        r = self.r
        c = r.random()
        if c < 0.4:
            return [self.term(canon, "=", str(p), p) for p in ports]
        if c < 0.8 or len(ports) == 1:
            return [self.term(canon, "in", "[%s]" % ", ".join(map(str, ports)), list(ports))]
        return [self.term(canon, "in", "[%d..%d]" % (min(ports), max(ports)),
                          [[min(ports), max(ports)]])]

    def role_filter(self, role):
        """Base filter lines (each a list of (text, json) terms) of a role."""
        r = self.r
        L = []
        if role == "req":
            L.append([self.proto_term(6)])
            L.append(self.port_any("dstport", [80, 8080]))
        elif role == "res":
            L.append([self.proto_term(6)])
            L.append(self.port_any("srcport", [80, 8080]))
        elif role == "dns":
            L.append([self.proto_term(17)])
            L.append([self.term("dstport", "=", "53", 53)])
        elif role == "dnsres":
            L.append([self.proto_term(17)])
            L.append([self.term("srcport", "=", "53", 53)])
        elif role == "scan":
            if r.random() < 0.5:
                L.append([self.term("tcp_flags", "=", "0x02", 2)])
            else:
                L.append([self.term("tcp_flags", "=", "2", 2, fn=("bitAND", 0x3f))])
            L.append([self.proto_term(6)])
        elif role == "udp":
            L.append([self.proto_term(17)])
        elif role == "big":
            v = r.choice([500, 1000, 5000])
            L.append([self.term("bytes", ">", num_text(r, v), v)])
        return L

    def extra_line(self):
        r = self.r
        c = r.randrange(17)
        if c == 0:
            return [self.term("srcip", "in", "203.0.113.0/24", ["203.0.113.0/24"], neg=True)]
        if c == 1:
            return [self.term("srcip", "in", "[10.1.0.0/24, 192.0.2.1, 198.51.100.1..198.51.100.200]",
                              ["10.1.0.0/24", "192.0.2.1", ["198.51.100.1", "198.51.100.200"]]),
                    self.term("dstip", "in", "10.0.0.0/8", ["10.0.0.0/8"])]
        if c == 2:
            return [self.term("packets", ">=", "1", 1)]
        if c == 3:
            return [self.term("dstip", "!=", "10.0.0.53", "10.0.0.53")]
        if c == 4:
            return [self.term("tos", "notin", "[1, 3..5]", [1, [3, 5]])]
        if c == 5:
            return [self.term("srcport", "in", "[1024..65535]", [[1024, 65535]]),
                    self.term("srcport", "=", "53", 53)]
        if c == 6:
            v = r.choice([1000, 5000, 60000])
            return [self.term("duration", "<", dur_text(r, v), v)]
        if c == 7:
            return [self.term("bytes", ">=", "40", 40), self.term("prot", "=", "1", 1, neg=True)]
        if c == 8:
            return [self.term("tcp_flags", "!=", "0", 0, fn=("bitOR", 0x10))]
        if c == 9:
            return [self.term("dstport", "notin", "[22, 23, 3389]", [22, 23, 3389])]
        if c == 10:
            return [self.term("srcip", "!=", "dstip", None)]  # replaced below
        if c == 11:
            return [self.term("dstip", "<", "198.51.100.0", "198.51.100.0"),
                    self.term("dstip", ">=", "198.51.100.128", "198.51.100.128")]
        if c == 12:
            return [self.term("input", "<=", "2", 2), self.term("dst_as", "=", "0", 0, neg=True)]
        if c == 13:
            return [self.term("srcip", "in", "[10.1.0.0/24, 2001:db8::/32]",
                              ["10.1.0.0/24", "2001:db8::/32"]),
                    self.term("dstip", "in", "2001:db8::c000:200/120", ["2001:db8::c000:200/120"])]
        if c == 14:
            return [self.term("dstip", "notin", "[2001:db8::a01:0/112, 192.0.2.0/28]",
                              ["2001:db8::a01:0/112", "192.0.2.0/28"])]
        if c == 15:
            return [self.term("srcip", "!=", "2001:db8::a00:35", "2001:db8::a00:35"),
                    self.term("srcip", ">", "2001:db8::", "2001:db8::")]
        return [self.term("bytes", "<", "1000000", 1000000)]

    def filter_lines(self, role):
        r = self.r
        lines = self.role_filter(role)
        for _ in range(r.choice([0, 0, 1, 1, 2])):
            ln = self.extra_line()
            if ln[0][1]["rhs"].get("value", 0) is None:   # field-to-field term
                f1, f2 = r.choice([("srcip", "dstip"), ("srcport", "dstport")])
                op = r.choice(["!=", "<", ">="])
                ln = [("%s %s %s" % (self.fname(f1), op, self.fname(f2)),
                       {"op": op, "lhs": {"field": f1}, "rhs": {"field": f2}, "not": False})]
            lines.append(ln)
        r.shuffle(lines)
        return lines

    def composite(self, lines):
        """Move one single-term line into a named composite filter."""
        r = self.r
        cands = [i for i, ln in enumerate(lines) if len(ln) == 1]
        if not cands or r.random() < 0.7:
            return lines, None
        i = r.choice(cands)
        t, j = lines[i][0]
        name = self.define("filter", "    %s\n" % t, "is-%d" % len(self.defs))
        neg = False
        if r.random() < 0.3:
            neg = True
            j = dict(j, **{"not": not j["not"]})
        lines = list(lines)
        lines[i] = [(("NOT " if neg else "") + name, j)]
        return lines, name

    def define(self, kind, body, hint):
        key = (kind, body)
        if key in self.def_names:
            return self.def_names[key]
        name = hint
        self.def_names[key] = name
        self.defs.append("%s %s {\n%s}\n" % (kind, name, body))
        return name

    @staticmethod
    def cnf_text(lines):
        return "".join("    %s\n" % " OR ".join(t for t, _ in ln) for ln in lines)

    @staticmethod
    def cnf_json(lines):
        return [[j for _, j in ln] for ln in lines]

    # --- grouper --------------------------------------------------------
    KEYS = {"req": ("srcip", "dstip"), "res": ("dstip", "srcip"), "dns": ("srcip", "dstip"),
            "dnsres": ("dstip", "srcip"), "scan": ("srcip", "dstip"), "udp": ("srcip", "dstip"),
            "big": ("srcip", "dstip"), "any": ("srcip", "dstip")}

    def rel_rule(self, a, op, b, delta=None, rdelta=False):
        t = "%s %s %s" % (self.fname(a), op, self.fname(b))
        if delta is not None:
            t += " %s %s" % ("rdelta" if rdelta else "delta", dur_text(self.r, delta)
                             if REC_TYPES.get(a) == "time" else str(delta))
        return t, {"kind": "rel", "a": a, "op": op, "b": b, "delta": delta, "rdelta": rdelta}

    def abs_rule(self, tj):
        t, j = tj
        return t, {"kind": "abs", "term": j}

    def time_rule(self):
        r = self.r
        c = r.randrange(8)
        D = r.choice([0, 10, 500, 1000, 1000, 2000, 5000, 30000])
        if c <= 2:
            return self.rel_rule("etime", "<", "stime", D, rdelta=True)
        if c == 3:
            return self.rel_rule("stime", "<=", "stime", D)
        if c == 4:
            return self.rel_rule("stime", "=", "stime", D, rdelta=r.random() < 0.5)
        if c == 5:
            return self.rel_rule("etime", ">=", "stime")
        if c == 6:
            return self.rel_rule("etime", "<=", "stime", D)
        return self.rel_rule("etime", ">", "stime", D, rdelta=True)

    def module(self, role):
        r = self.r
        client, server = self.KEYS[role]
        rules = []
        c = r.random()
        if c < 0.05:
            return rules        # no rules: one group
        keys = r.choice([[client], [client, server], [client, server], [client, "prot"],
                         [server, "dstport"], []])
        for k in keys:
            rules.append(self.rel_rule(k, "=", k))
        if r.random() < 0.15:
            rules.append(r.choice([self.rel_rule("srcport", "!=", "srcport"),
                                   self.rel_rule("bytes", ">=", "bytes", 500),
                                   self.rel_rule("srcip", "=", "dstip"),
                                   self.rel_rule("dstport", "<", "dstport"),
                                   self.rel_rule("packets", "!=", "packets", 2)]))
        if r.random() < 0.8:
            rules.append(self.time_rule())
        if r.random() < 0.25:
            rules.append(self.abs_rule(r.choice([
                self.term("bytes", ">", "100", 100),
                self.term("dstport", "=", "80", 80),
                self.term("srcip", "in", "10.1.0.0/16", ["10.1.0.0/16"]),
                self.term("tcp_flags", "=", "0x1b", 0x1b, fn=("bitAND", 0x1b)),
                self.term("packets", "<", "10", 10)])))
        r.shuffle(rules)
        return rules

    AGG_POOL = [
        ("sum", "bytes", "bytes"), ("sum", "packets", "pkts"), ("count", "rec_id", "n"),
        ("count", "srcport", None), ("avg", "bytes", "avgb"), ("avg", "duration", "avgdur"),
        ("min", "srcport", "minsp"), ("max", "dstport", "maxdp"), ("min", "srcip", "minsrc"),
        ("max", "dstip", "maxdst"), ("min", "stime", "first_start"), ("max", "etime", "last_end"),
        ("union", "srcport", "srcports"), ("union", "dstport", "dstports"),
        ("union", "dstip", "dsts"), ("union", "srcip", "srcs"), ("bitOR", "tcp_flags", "flags"),
        ("bitAND", "tcp_flags", "andflags"), ("first", "srcport", "fsp"),
        ("last", "dstport", "ldp"), ("sum", "duration", "busy"), ("first", "bytes", None),
        ("last", "bytes", "lastbytes"), ("min", "bytes", None), ("max", "packets", "maxpk"),
        ("union", "prot", "prots"), ("last", "srcip", "lastsrc"), ("bitOR", "tos", "tosor"),
    ]

    def aggregates(self, role, need):
        r = self.r
        client, server = self.KEYS[role]
        out = []        # (text, json, type)
        names = set()
        bare = []
        if "client" in need or r.random() < 0.6:
            bare.append(client)
        if "server" in need or r.random() < 0.4:
            bare.append(server)
        if r.random() < 0.2:
            bare.append(r.choice(["srcport", "dstport", "prot", "td", "srcaddr"]))
        for b in bare:
            canon = {"td": "duration", "srcaddr": "srcip"}.get(b, b)
            if b in names:
                continue
            names.add(b)
            out.append((b, {"name": b, "func": "field", "field": canon},
                        "time" if canon == "duration" else REC_TYPES[canon]))
        pool = list(self.AGG_POOL)
        r.shuffle(pool)
        k = r.randint(0, 6)
        for want in ("bytes", "ports", "flags", "n"):
            if want in need:
                pick = {"bytes": ("sum", "bytes", "bytes"),
                        "ports": r.choice([("union", "srcport", "srcports"), ("union", "dstport", "dstports")]),
                        "flags": ("bitOR", "tcp_flags", "flags"),
                        "n": ("count", "rec_id", "n")}[want]
                pool.insert(0, pick)
                k += 1
        for fn, field, name in pool[:k]:
            written = self.fname(field) if field != "rec_id" else field
            nm = name or "%s_%s" % (fn, written)     # FUNC_FIELD as written
            if nm in names:
                continue
            names.add(nm)
            ft = "num" if field == "rec_id" else REC_TYPES[field]
            if fn == "union":
                typ = "set_" + ("addr" if ft == "addr" else "num")
            elif fn in ("count",):
                typ = "num"
            elif fn == "avg":
                typ = "real"
            else:
                typ = ft
            text = "%s(%s)" % (fn, written)
            if name:
                text += " as %s" % name
            out.append((text, {"name": nm, "func": fn, "field": field}, typ))
        return out

    def grouper(self, role, need):
        r = self.r
        nmod = r.choice([1, 1, 1, 2, 2, 3])
        mods = [self.module(role) for _ in range(nmod)]
        aggs = self.aggregates(role, need)
        body = ""
        mj = []
        for i, rules in enumerate(mods):
            body += "    module g%d {\n" % (i + 1)
            body += "".join("        %s\n" % t for t, _ in rules)
            body += "    }\n"
            mj.append({"name": "g%d" % (i + 1), "rules": [j for _, j in rules]})
        if aggs:
            parts = [t for t, _, _ in aggs]
            lines, cur = [], []
            for p in parts:
                cur.append(p)
                if len(cur) == 4:
                    lines.append(", ".join(cur))
                    cur = []
            if cur:
                lines.append(", ".join(cur))
            body += "    aggregate " + ",\n              ".join(lines) + "\n"
        fields = {"stime": "time", "etime": "time", "duration": "time", "records": "num"}
        for _, j, typ in aggs:
            fields[j["name"]] = typ
        return body, {"modules": mj, "aggregates": [j for _, j, _ in aggs]}, fields

    # --- group filter ----------------------------------------------------
    def gterm(self, f, op, vt, vj, neg=False, fn=None):
        lhs_t, lhs_j = f, {"field": f}
        if fn:
            lhs_t = "%s(%s, %s)" % (fn[0], f, num_text(self.r, fn[1]))
            lhs_j = {fn[0]: [{"field": f}, {"value": fn[1]}]}
        rhs = {"set": vj} if op in ("in", "notin") else {"value": vj}
        return ("%s%s %s %s" % ("NOT " if neg else "", lhs_t, op, vt),
                {"op": op, "lhs": lhs_j, "rhs": rhs, "not": neg})

    def groupfilter(self, fields):
        r = self.r
        cands = []
        cands.append([self.gterm("records", ">=", "1", 1)])
        cands.append([self.gterm("records", ">", "1", 1), self.gterm("duration", ">=", "1s", 1000)])
        cands.append([self.gterm("records", "=", "1", 1, neg=True), self.gterm("duration", "<", "5s", 5000)])
        for f, typ in fields.items():
            if f in ("stime", "etime", "records"):
                continue
            if f in ("bytes", "pkts", "busy", "lastbytes", "maxpk"):
                v = r.choice([100, 1000, 5000])
                cands.append([self.gterm(f, r.choice([">", ">=", "<"]), str(v), v)])
            elif f == "flags":
                cands.append([self.gterm(f, "=", "0x12", 0x12, fn=("bitAND", 0x12)),
                              self.gterm(f, "=", "0", 0, fn=("bitAND", 0x10))])
            elif f == "avgb" or f == "avgdur":
                cands.append([self.gterm(f, ">", "100", 100)])
            elif typ == "addr":
                cands.append([self.gterm(f, "in", "[10.0.0.0/8, 192.0.2.0/24, 2001:db8::a00:0/104]",
                                         ["10.0.0.0/8", "192.0.2.0/24", "2001:db8::a00:0/104"])])
            elif f == "n":
                cands.append([self.gterm(f, ">=", "2", 2), self.gterm("records", "<", "2", 2)])
            elif f == "dstport" or f == "srcport":
                cands.append([self.gterm(f, "notin", "[22, 23]", [22, 23])])
            elif typ == "set_num" and f in ("srcports", "dstports"):
                # subset of a literal, membership of a constant
                cands.append([self.gterm(f, r.choice(["in", "notin"]), "[80, 8080, 1024..65535]",
                                         [80, 8080, [1024, 65535]])])
                p = r.choice([80, 8080, 53])
                cands.append([("%s in %s" % (p, f), {"op": "in", "lhs": {"value": p},
                                                     "rhs": {"field": f}, "not": False}),
                              self.gterm("records", ">", "3", 3)])
            elif typ == "set_addr":
                cands.append([self.gterm(f, "in", "[10.0.0.0/8, 192.0.2.0/24, 198.51.100.0/24]",
                                         ["10.0.0.0/8", "192.0.2.0/24", "198.51.100.0/24"])])
        lines = r.sample(cands, min(len(cands), r.choice([1, 1, 2])))
        return lines

    # --- merger ----------------------------------------------------------
    def allen_line(self, x, y):
        r = self.r
        k = r.choice([1, 2, 2, 3, 4] if self.nbr <= 2 else [2, 3, 4, 5])
        rels = r.sample(ALLEN, k)
        terms = []
        for short, long_ in rels:
            word = long_ if r.random() < 0.35 else short
            delta = None
            if r.random() < 0.5:
                delta = r.choice([0, 1, 5, 50, 1000, 5000])
            t = "%s %s %s" % (x, word, y)
            if delta is not None:
                t += " %s %s" % ("rdelta" if r.random() < 0.1 else "delta", dur_text(r, delta))
            terms.append((t, {"allen": short, "x": x, "y": y, "delta": delta}))
        return terms

    def mterm(self, a, fa, op, b, fb, delta=None, neg=False):
        t = "%s%s.%s %s %s.%s" % ("NOT " if neg else "", a, fa, op, b, fb)
        if delta is not None:
            timed = fa in ("stime", "etime", "duration") and fb in ("stime", "etime", "duration")
            t += " delta %s" % (dur_text(self.r, delta) if timed else str(delta))
        return t, {"op": op, "lhs": {"branch": a, "field": fa},
                   "rhs": {"branch": b, "field": fb}, "delta": delta, "not": neg}

    def link_line(self, a, b, info):
        """A comparison line between two branches' group fields."""
        r = self.r
        fa, fb = info[a]["fields"], info[b]["fields"]
        opts = []
        ca, cb = info[a]["client"], info[b]["client"]
        if ca in fa and cb in fb:
            opts += [[self.mterm(a, ca, "=", b, cb)]] * 4
        sa, sb = info[a]["server"], info[b]["server"]
        if sa in fa and sb in fb:
            opts += [[self.mterm(a, sa, "=", b, sb)]] * 2
        for x, tx in fa.items():
            for y, ty in fb.items():
                if tx in ("num", "time", "real") and ty in ("num", "time", "real") and x == y and x in ("bytes", "records", "duration", "n", "stime", "etime"):
                    op = r.choice(["<", ">=", "!=", "=", "<="])
                    delta = r.choice([None, None, 100, 1000]) if op != "!=" else None
                    opts.append([self.mterm(a, x, op, b, y, delta)])
                if tx.startswith("set_") and tx == ty:
                    opts.append([self.mterm(a, x, r.choice(["=", "in", "!="]), b, y)])
                if tx == "addr" and ty == "set_addr":
                    opts.append([self.mterm(a, x, r.choice(["in", "in", "notin"]), b, y)])
                if tx == "num" and ty == "set_num" and x in ("dstport", "srcport"):
                    opts.append([self.mterm(a, x, "in", b, y)])
        if not opts:
            return None
        return r.choice(opts)

    def merger(self, names, info):
        r = self.r
        order = list(names)
        r.shuffle(order)
        nexp = len(names) if len(names) <= 2 or r.random() < 0.6 else len(names) - 1
        exp = order[:nexp]
        extra = order[nexp:]
        lines = []
        for i in range(1, len(exp)):
            j = r.randrange(i)
            x, y = (exp[i], exp[j]) if r.random() < 0.5 else (exp[j], exp[i])
            linked = False
            if r.random() < 0.85:
                lines.append(self.allen_line(x, y))
                linked = True
            if r.random() < 0.75:
                ln = self.link_line(x, y, info)
                if ln:
                    lines.append(ln)
                    linked = True
            if not linked:
                lines.append(self.allen_line(x, y))
        if r.random() < 0.2:
            ln = self.const_line(r.choice(exp), info)
            if ln:
                lines.append(ln)
        r.shuffle(lines)
        modules = [("m1", exp, lines)]
        nsub = len(extra) or (1 if r.random() < 0.3 else 0)
        for k in range(nsub):
            if extra:
                other = extra[k]
                a = r.choice(exp)
                br = [a, other]
            else:
                br = r.sample(exp, min(len(exp), 2))
                a, other = br[0], br[-1]
            sl = []
            if a != other:
                if r.random() < 0.8:
                    sl.append(self.allen_line(other, a))
                ln = self.link_line(a, other, info)
                if ln:
                    sl.append(ln)
            if not sl and len(br) == 1:
                sl.append([self.gterm_m(a)])
            modules.append(("m%d" % (k + 2), br, sl))
        implicit = len(modules) == 1 and r.random() < 0.3
        body = ""
        mj = []
        for name, br, ls in modules:
            inner = "branches %s\n" % ", ".join(br)
            inner += "".join("%s\n" % " OR ".join(t for t, _ in ln) for ln in ls)
            if implicit:
                body += "".join("    %s\n" % x for x in inner.splitlines())
            else:
                body += "    module %s {\n" % name
                body += "".join("        %s\n" % x for x in inner.splitlines())
                body += "    }\n"
            mj.append({"name": name, "branches": list(br),
                       "lines": [[j for _, j in ln] for ln in ls]})
        if not implicit and (len(modules) > 1 or r.random() < 0.7):
            body += "    export m1\n"
        return body, {"modules": mj, "export": "m1"}, exp

    def const_line(self, a, info):
        """A merger line comparing one branch's group field with a constant."""
        r = self.r
        opts = []
        for f, typ in info[a]["fields"].items():
            if f in ("bytes", "records", "duration", "n", "packets", "pkts"):
                v = r.choice([1, 2, 100, 1000])
                op = r.choice([">", ">=", "<", "!="])
                opts.append(("%s.%s %s %d" % (a, f, op, v),
                             {"op": op, "lhs": {"branch": a, "field": f}, "rhs": {"value": v},
                              "delta": None, "not": False}))
            elif typ == "addr":
                op = r.choice(["in", "in", "notin"])
                opts.append(("%s.%s %s 10.0.0.0/8" % (a, f, op),
                             {"op": op, "lhs": {"branch": a, "field": f},
                              "rhs": {"set": ["10.0.0.0/8"]}, "delta": None, "not": False}))
            elif typ == "set_num":
                opts.append(("%s.%s in [0..65535]" % (a, f),
                             {"op": "in", "lhs": {"branch": a, "field": f},
                              "rhs": {"set": [[0, 65535]]}, "delta": None, "not": False}))
        return [r.choice(opts)] if opts else None

    def gterm_m(self, a):
        t = "%s.records >= 1" % a
        return t, {"op": ">=", "lhs": {"branch": a, "field": "records"}, "rhs": {"value": 1},
                   "delta": None, "not": False}

    # --- whole query ----------------------------------------------------
    def build(self):
        r = self.r
        nb = self.nb or r.choice([1, 1, 2, 2, 2, 3, 3, 4])
        self.nbr = nb
        pools = [["A", "B", "C", "D"], ["req", "res", "dns", "x"], ["B", "A", "d", "Q"],
                 ["b1", "b-2", "C", "a"]]
        names = r.choice(pools)[:nb]
        r.shuffle(names)
        roles_pool = ["req", "res", "dns", "dnsres", "scan", "udp", "big", "any"]
        if nb >= 2 and r.random() < 0.7:
            base = r.choice([["req", "res", "dns", "dnsres"], ["res", "req", "dns", "any"],
                             ["req", "res", "big", "scan"]])
            roles = base[:nb]
        else:
            roles = [r.choice(roles_pool) for _ in range(nb)]
        info = {}
        jbranches = {}
        wiring = []
        ungroup = r.random() < 0.75
        for name, role in zip(names, roles):
            stages = []
            jb = {"filter": None, "grouper": None, "groupfilter": None}
            if role != "any" or r.random() < 0.3:
                lines = self.filter_lines(role)
                if lines:
                    lines, _ = self.composite(lines)
                    fn = self.define("filter", self.cnf_text(lines), "f-%s" % name)
                    stages.append(fn)
                    jb["filter"] = self.cnf_json(lines)
            grouped = nb == 1 and r.random() < 0.85 or nb > 1 and r.random() < 0.8
            client, server = self.KEYS[role]
            if grouped:
                need = set(r.sample(["client", "server", "bytes", "ports", "flags", "n"], r.randint(1, 3)))
                if nb > 1:
                    need.add("client")
                body, gj, fields = self.grouper(role, need)
                stages.append(self.define("grouper", body, "g_%s" % name))
                jb["grouper"] = gj
            else:
                fields = dict(REC_TYPES)
                fields["records"] = "num"
            if r.random() < 0.35:
                gl = self.groupfilter(fields)
                if gl:
                    stages.append(self.define("groupfilter", self.cnf_text(gl), "gf_%s" % name))
                    jb["groupfilter"] = self.cnf_json(gl)
            info[name] = {"fields": fields, "client": client, "server": server}
            jbranches[name] = jb
            wiring.append((name, stages))
        text = "# generated by tests/reference/gen.py, seed %s\nsplitter S {}\n\n" % self.seed
        mj = None
        if nb > 1:
            mbody, mj, exp = self.merger(names, info)
            self.defs.append("merger M {\n%s}\n" % mbody)
        if ungroup:
            self.defs.append("%s U {}\n" % r.choice(["ungrouper", "ungrouper", "ungroup"]))
        text += "\n".join(self.defs) + "\n"
        for name, stages in wiring:
            chain = ["S branch %s" % name] + stages
            if nb > 1:
                chain.append("M")
            elif ungroup:
                chain.append("U")
                if r.random() < 0.5:
                    chain.append('"stdout"')
            text += " -> ".join(chain) + "\n"
        if nb > 1 and ungroup:
            text += "M -> U" + (' -> "stdout"' if r.random() < 0.5 else "") + "\n"
        q = {"name": None, "branches": jbranches, "merger": mj, "ungrouper": ungroup}
        return text, q


def make_query(seed, nbranches=None):
    return QueryGen(seed, nbranches).build()


def main(argv):
    if len(argv) >= 4 and argv[1] == "trace":
        n, late, expect = 200, False, None
        args = argv[4:]
        if "--records" in args:
            n = int(args[args.index("--records") + 1])
        late = "--late" in args
        exp = make_trace(argv[2], argv[3], n, late)
        if "--expect" in args:
            with open(args[args.index("--expect") + 1], "w") as f:
                for e in exp:
                    f.write(json.dumps(e) + "\n")
        return 0
    if len(argv) == 5 and argv[1] == "query":
        text, q = make_query(argv[2])
        import os
        q["name"] = os.path.splitext(os.path.basename(argv[3]))[0]
        with open(argv[3], "w") as f:
            f.write(text)
        with open(argv[4], "w") as f:
            json.dump(q, f, indent=1)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
