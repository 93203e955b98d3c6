#!/usr/bin/env python3
"""Seed inputs of the `pcap` fuzz target, made from the project's own data.

Wraps each collector-v9-ipfix seed (a 1-byte header, then datagrams each
prefixed by a 16-bit length; see tests/collector/fuzz_dec.c) into a classic
pcap of Ethernet/IPv4/UDP frames from one exporter, and writes one capture
whose datagram is split into two IPv4 fragments, so fuzzing starts inside
the decoders and the reassembly code.  The other pcap seeds are the small
captures tests/sources/test_sources.c writes (link types, VLAN, IPv6,
truncated files).

Usage: tests/fuzz/pcap-seeds.py   (writes into tests/fuzz/corpus/pcap/)
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, 'corpus', 'collector-v9-ipfix')
OUT = os.path.join(HERE, 'corpus', 'pcap')


def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ip4(payload, ident=1, frag=0, mf=0, proto=17):
    flags = (0x2000 if mf else 0) | (frag // 8)
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), ident,
                    flags, 64, proto, 0, bytes([192, 0, 2, 1]),
                    bytes([192, 0, 2, 9]))
    h = h[:10] + struct.pack('!H', csum(h)) + h[12:]
    return h + payload


def udp(payload, sport=2055, dport=9995):
    return struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload


def ether(ip):
    return b'\x02\0\0\0\0\x02' + b'\x02\0\0\0\0\x01' + b'\x08\x00' + ip


def pcap(frames):
    out = [struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)]
    for i, f in enumerate(frames):
        out.append(struct.pack('<IIII', 1700000000 + i, 0, len(f), len(f)))
        out.append(f)
    return b''.join(out)


def datagrams(seed):
    off, out = 1, []
    while len(seed) - off >= 2:
        n = min(struct.unpack('!H', seed[off:off + 2])[0], len(seed) - off - 2)
        out.append(seed[off + 2:off + 2 + n])
        off += 2 + n
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in sorted(os.listdir(SRC)):
        if not name.startswith('seed-'):
            continue
        with open(os.path.join(SRC, name), 'rb') as f:
            dgs = datagrams(f.read())
        frames = [ether(ip4(udp(d), ident=i + 1)) for i, d in enumerate(dgs)]
        with open(os.path.join(OUT, 'gen-v9ipfix-' + name), 'wb') as f:
            f.write(pcap(frames))
    # One datagram in two fragments (offsets in units of 8 bytes).
    with open(os.path.join(SRC, 'seed-00'), 'rb') as f:
        dg = udp(datagrams(f.read())[0])
    cut = (len(dg) // 2) & ~7
    frames = [ether(ip4(dg[:cut], ident=77, mf=1)),
              ether(ip4(dg[cut:], ident=77, frag=cut))]
    with open(os.path.join(OUT, 'gen-fragmented'), 'wb') as f:
        f.write(pcap(frames))


if __name__ == '__main__':
    main()
