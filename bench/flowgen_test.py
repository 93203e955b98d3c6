#!/usr/bin/env python3
"""bench:flowgen - flowgen's inputs are what flowq reads, in every format.

Usage: flowgen_test.py FLOWGEN FLOWQ QUERY.flw

Generates a small trace (20,000 records) in every format and checks through
the flowq binary that
  - every format gives exactly that many records, with no malformed
    datagram and no sequence gap;
  - every format gives the same records on the fields all of them carry
    (everything but rec_id, the exporter address, which raw: files lack,
    and the export header fields unix_secs/unix_nsecs/sysUpTime, which
    depend on how records are cut into datagrams and which IPFIX lacks);
  - formats cut into the same datagrams give the same records in the same
    order, header fields included (ft, ftz, v5, pcap-v5; v9, pcap-v9;
    ipfix, pcap-ipfix);
  - the traffic looks as documented: the four exporter domains, flows no
    longer than the 5 min active timeout, export disorder below 18 s,
    HTTP, DNS, scan and background flows, and the Flowy HTTP download
    query finds downloads;
  - the same seed gives the same bytes, another seed other bytes;
  - --stretch repeats a trace with shifted times, in ft and in v5 form.
Files go to a temporary directory that is removed at the end.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

N = 20000
SEED = 7
FORMATS = ["ft", "ftz", "v5", "v9", "ipfix", "pcap-v5", "pcap-v9",
           "pcap-ipfix"]
PER_DATAGRAM = {"unix_secs", "unix_nsecs", "sysUpTime"}
NOT_COMMON = {"rec_id", "exporter"} | PER_DATAGRAM
SAME_CUT = [["ft", "ftz", "v5", "pcap-v5"], ["v9", "pcap-v9"],
            ["ipfix", "pcap-ipfix"]]

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def source(fmt, path):
    if fmt.startswith("pcap"):
        return "pcap:" + path
    if fmt in ("v5", "v9", "ipfix"):
        return "raw:" + path
    return path


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if p.returncode != 0:
        sys.exit("%s: exit %d\n%s" % (" ".join(cmd), p.returncode,
                                       p.stderr))
    return p


def generate(flowgen, d, fmt, seed, name=None):
    path = os.path.join(d, name or ("gen." + fmt))
    run([flowgen, "--records", str(N), "--seed", str(seed), "--format", fmt,
         "-o", path, "--quiet"])
    return path


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def records(flowq, src):
    out = run([flowq, "print", "--json", "-s", src]).stdout
    return [json.loads(line) for line in out.splitlines()]


def common(r):
    return tuple(sorted((k, v) for k, v in r.items() if k not in NOT_COMMON))


def main():
    flowgen, flowq, query = sys.argv[1:4]
    with tempfile.TemporaryDirectory(prefix="flowgen-test-") as d:
        paths, recs = {}, {}
        for fmt in FORMATS:
            paths[fmt] = generate(flowgen, d, fmt, SEED)
            src = source(fmt, paths[fmt])
            p = run([flowq, "print", "--count", "--stats-json", "-s", src])
            check(p.stdout.strip() == str(N),
                  "%s: %s records, want %d" % (fmt, p.stdout.strip(), N))
            stats = json.loads(p.stderr.strip().splitlines()[-1])
            for e in stats["exporters"]:
                for k in ("malformed", "sequence_lost", "sequence_resets",
                          "unknown_template_records"):
                    check(e[k] == 0, "%s: exporter %s: %s %d" %
                          (fmt, e["exporter"], k, e[k]))
            recs[fmt] = records(flowq, src)
        # An IPFIX datagram file is also an RFC 5655 file.
        p = run([flowq, "print", "--count", "-s", "ipfix:" + paths["ipfix"]])
        check(p.stdout.strip() == str(N), "ipfix: as ipfix: source")

        # The same records on the common fields, in every format.
        ref = sorted(common(r) for r in recs["ft"])
        for fmt in FORMATS[1:]:
            check(sorted(common(r) for r in recs[fmt]) == ref,
                  "%s: records differ from ft on common fields" % fmt)
        # The same order and headers where the datagrams are the same.
        for group in SAME_CUT:
            base = [{k: v for k, v in r.items() if k != "exporter"}
                    for r in recs[group[0]]]
            for fmt in group[1:]:
                got = [{k: v for k, v in r.items() if k != "exporter"}
                       for r in recs[fmt]]
                check(got == base, "%s: not record for record equal to %s"
                      % (fmt, group[0]))
        check(all(r["exporter"] == "0.0.0.0" for r in recs["v5"]),
              "raw: exporter")
        check([r["exporter"] for r in recs["ft"]] ==
              [r["exporter"] for r in recs["pcap-v5"]],
              "ft exaddr = pcap source address")

        # The model.
        ft = recs["ft"]
        check({r["domain"] for r in ft} == {1, 2, 257, 258}, "domains")
        check({r["exporter"] for r in ft} ==
              {"192.0.2.1", "192.0.2.2", "192.0.2.3"}, "exporters")
        check(max(r["duration"] for r in ft) <= 300000, "active timeout")
        front, late = 0, 0
        for r in ft:
            front = max(front, r["etime"])
            late = max(late, front - r["etime"])
        check(late < 18000, "export disorder %d ms" % late)
        check(0 < late, "no export disorder at all")

        def count(pred):
            return sum(1 for r in ft if pred(r))
        http = count(lambda r: r["prot"] == 6 and 80 in (r["srcport"],
                     r["dstport"]) and r["tcp_flags"] == 0x1b)
        https = count(lambda r: r["prot"] == 6 and r["dstport"] == 443)
        dns = count(lambda r: r["prot"] == 17 and r["dstport"] == 53)
        syn = count(lambda r: r["prot"] == 6 and r["tcp_flags"] == 0x02
                    and r["packets"] == 1)
        icmp = count(lambda r: r["prot"] == 1)
        print("http %d https %d dns queries %d single SYNs %d icmp %d"
              % (http, https, dns, syn, icmp))
        check(http > N // 10 and https > N // 20 and dns > N // 20 and
              syn > 50 and icmp > 50, "traffic mix")
        p = run([flowq, "run", "--json", "--no-records", query, "-s",
                 paths["ft"]])
        matches = len(p.stdout.splitlines())
        print("HTTP download query: %d matches" % matches)
        check(matches > 10, "HTTP download query matches")

        # Determinism.
        for fmt in FORMATS:
            again = generate(flowgen, d, fmt, SEED, "again." + fmt)
            check(digest(again) == digest(paths[fmt]),
                  "%s: same seed, different bytes" % fmt)
            os.unlink(again)
        other = generate(flowgen, d, "ft", SEED + 1, "other.ft")
        check(digest(other) != digest(paths["ft"]), "other seed, same bytes")

        # Stretch.
        lo = min(r["stime"] for r in ft)
        hi = max(r["etime"] for r in ft)
        shift = ((hi - lo + 999) // 1000 + 1) * 1000
        for fmt in ("ft", "v5"):
            out = os.path.join(d, "stretch." + fmt)
            run([flowgen, "--stretch", paths["ft"], "--times", "3",
                 "--format", fmt, "-o", out, "--quiet"])
            got = records(flowq, source(fmt, out))
            check(len(got) == 3 * N, "stretch %s: %d records" %
                  (fmt, len(got)))
            ok = len(got) == 3 * N
            drop = ("rec_id", "stime_iso", "etime_iso", "exporter")
            for k in range(3) if ok else []:
                for a, b in zip(ft, got[k * N:(k + 1) * N]):
                    want = {f: v for f, v in a.items() if f not in drop}
                    have = {f: v for f, v in b.items() if f not in drop}
                    want["stime"] += k * shift
                    want["etime"] += k * shift
                    want["unix_secs"] += k * shift // 1000
                    if want != have:
                        ok = False
                        print("stretch %s copy %d:\n %s\n %s" %
                              (fmt, k, want, have))
                        break
            check(ok, "stretch %s: copies shifted by %d ms" % (fmt, shift))
            if fmt == "v5":
                # v5 datagrams are rebuilt exactly as the ft file had them.
                check(os.path.getsize(out) ==
                      3 * os.path.getsize(paths["v5"]),
                      "stretch v5: datagrams rebuilt")
    if failures:
        sys.exit("%d check(s) failed" % len(failures))
    print("ok")


if __name__ == "__main__":
    main()
