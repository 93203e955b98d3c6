#!/usr/bin/env python3
"""selftest.py - unit tests of the reference evaluator (and of the
generator) on small cases computed by hand from SPEC section 4.

Usage: selftest.py [FLOWQ]   (with FLOWQ, generated traces are also checked
against `flowq print --json` and generated queries against `flowq check`)
"""
import ipaddress
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import flowq_ref as ref  # noqa: E402
import gen              # noqa: E402

FLOWQ = None

BASE = {"exporter": "192.0.2.250", "domain": 0, "srcip": "10.0.0.1",
        "dstip": "192.0.2.1", "nexthop": "0.0.0.0", "srcport": 40000,
        "dstport": 80, "prot": 6, "tos": 0, "tcp_flags": 0x1b, "packets": 1,
        "bytes": 100, "input": 0, "output": 0, "src_as": 0, "dst_as": 0,
        "src_mask": 0, "dst_mask": 0, "engine_type": 0, "engine_id": 0,
        "sampling": 1, "unix_secs": 0, "unix_nsecs": 0, "sysUpTime": 0}


def recs(*specs):
    """Records from (stime, etime, {overrides}) tuples, rec_id 1, 2, ..."""
    out = []
    for i, sp in enumerate(specs, 1):
        st, et = sp[0], sp[1]
        r = dict(BASE)
        if len(sp) > 2:
            r.update(sp[2])
        r.update(rec_id=i, stime=st, etime=et, duration=et - st,
                 stime_iso="x", etime_iso="x")
        out.append(r)
    return out


def F(field):
    return {"field": field}


def V(v):
    return {"value": v}


def term(lhs, op, rhs, neg=False):
    return {"op": op, "lhs": lhs, "rhs": rhs, "not": neg}


def rel(a, op, b, delta=None, rdelta=False):
    return {"kind": "rel", "a": a, "op": op, "b": b, "delta": delta, "rdelta": rdelta}


def absr(t):
    return {"kind": "abs", "term": t}


def single(branch, name="q", ungroup=True):
    return {"name": name, "branches": {"A": branch}, "merger": None, "ungrouper": ungroup}


def group_ids(matches):
    return [[tuple(g["rec_ids"]) for _, g in sorted(m["groups"].items())] for m in matches]


class Comparisons(unittest.TestCase):
    def test_delta_rules(self):
        cd = ref.compare_delta
        # = iff |a - b| <= D
        self.assertTrue(cd("=", 1000, 1500, 500))
        self.assertTrue(cd("=", 1500, 1000, 500))
        self.assertFalse(cd("=", 1000, 1501, 500))
        # < and <= iff b <= a + D (b may be before a: overlap allowed)
        self.assertTrue(cd("<", 1000, 2000, 1000))
        self.assertFalse(cd("<", 1000, 2001, 1000))
        self.assertTrue(cd("<", 1000, 0, 1000))
        self.assertTrue(cd("<=", 1000, 1000, 0))
        self.assertFalse(cd("<=", 1000, 1001, 0))
        # > and >= iff b >= a - D
        self.assertTrue(cd(">", 1000, 500, 500))
        self.assertFalse(cd(">", 1000, 499, 500))
        self.assertTrue(cd(">=", 1000, 5000, 0))
        # != iff |a - b| > D
        self.assertTrue(cd("!=", 1000, 1501, 500))
        self.assertFalse(cd("!=", 1000, 1500, 500))

    def test_plain_compare_and_families(self):
        v4 = ipaddress.ip_address("10.0.0.1")
        v4b = ipaddress.ip_address("10.0.0.2")
        v6 = ipaddress.ip_address("::1")
        self.assertTrue(ref.compare("<", v4, v4b))
        self.assertTrue(ref.compare("=", v4, ipaddress.ip_address("10.0.0.1")))
        for op in ("=", "<", ">", "<=", ">="):
            self.assertFalse(ref.compare(op, v4, v6), op)
            self.assertFalse(ref.compare(op, v6, v4), op)
        self.assertTrue(ref.compare("!=", v4, v6))
        # min/max put IPv4 before IPv6
        self.assertEqual(ref.aggregate("min", "srcip", [{"srcip": v6}, {"srcip": v4b}]), v4b)
        self.assertEqual(ref.aggregate("max", "srcip", [{"srcip": v4}, {"srcip": v6}]), v6)
        # sets: = is set equality, in is membership / subset
        s1, s2 = frozenset([80, 8080]), frozenset([8080, 80])
        self.assertTrue(ref.compare("=", s1, s2))
        self.assertTrue(ref.member(80, s1))
        self.assertFalse(ref.member(81, s1))
        self.assertTrue(ref.member(frozenset([80]), s1))
        self.assertFalse(ref.member(frozenset([80, 443]), s1))
        with self.assertRaises(ref.RefError):
            ref.compare("<", s1, s2)

    def test_set_literal(self):
        s = ref.SetLit(["10.0.0.0/8", "192.0.2.1", ["198.51.100.10", "198.51.100.20"], 53])
        ip = ipaddress.ip_address
        self.assertTrue(s.contains(ip("10.200.0.1")))
        self.assertTrue(s.contains(ip("192.0.2.1")))
        self.assertFalse(s.contains(ip("192.0.2.2")))
        self.assertTrue(s.contains(ip("198.51.100.20")))
        self.assertFalse(s.contains(ip("198.51.100.21")))
        self.assertFalse(s.contains(ip("::ffff:10.0.0.1")))   # IPv6 never in a v4 prefix
        self.assertTrue(s.contains(53))
        self.assertFalse(s.contains(54))
        p = ref.SetLit([[1024, 65535], 80])
        self.assertTrue(p.contains(1024) and p.contains(65535) and p.contains(80))
        self.assertFalse(p.contains(1023))


class Allen(unittest.TestCase):
    def check(self, rel, x, y, delta, want):
        self.assertEqual(ref.allen(rel, x, y, delta), want, "%s %s %s delta %s" % (x, rel, y, delta))

    def test_each_relation_exact(self):
        cases = [  # (rel, x, y, holds)
            ("<", (0, 10), (11, 20), True), ("<", (0, 10), (10, 20), False),
            (">", (11, 20), (0, 10), True), (">", (10, 20), (0, 10), False),
            ("m", (0, 10), (10, 20), True), ("m", (0, 10), (11, 20), False),
            ("mi", (10, 20), (0, 10), True), ("mi", (11, 20), (0, 10), False),
            ("o", (0, 10), (5, 15), True), ("o", (0, 10), (0, 15), False),
            ("o", (0, 10), (5, 10), False),
            ("oi", (5, 15), (0, 10), True), ("oi", (0, 10), (5, 15), False),
            ("s", (0, 5), (0, 10), True), ("s", (0, 10), (0, 10), False),
            ("s", (1, 5), (0, 10), False),
            ("si", (0, 10), (0, 5), True), ("si", (0, 5), (0, 10), False),
            ("d", (2, 5), (0, 10), True), ("d", (0, 5), (0, 10), False),
            ("di", (0, 10), (2, 5), True), ("di", (2, 5), (0, 10), False),
            ("f", (5, 10), (0, 10), True), ("f", (0, 10), (0, 10), False),
            ("f", (5, 9), (0, 10), False),
            ("fi", (0, 10), (5, 10), True), ("fi", (5, 10), (0, 10), False),
            ("=", (0, 10), (0, 10), True), ("=", (0, 10), (0, 11), False),
        ]
        for r, x, y, want in cases:
            self.check(r, x, y, None, want)

    def test_long_spellings(self):
        longs = {"before": "<", "after": ">", "equals": "=", "meets": "m",
                 "met-by": "mi", "overlaps": "o", "overlapped-by": "oi",
                 "starts": "s", "started-by": "si", "during": "d",
                 "contains": "di", "finishes": "f", "finished-by": "fi"}
        x, y = (0, 10), (5, 15)
        for lg, sh in longs.items():
            self.assertEqual(ref.allen(lg, x, y), ref.allen(sh, x, y), lg)
            self.assertEqual(ref.allen(lg, y, x), ref.allen(sh, y, x), lg)

    def test_with_delta(self):
        # < delta D: strictly before and gap <= D
        self.check("<", (0, 10), (15, 20), 5, True)
        self.check("<", (0, 10), (16, 20), 5, False)
        self.check("<", (0, 10), (10, 20), 5, False)     # still strict
        self.check("<", (0, 10), (10, 20), 0, False)
        self.check("<", (0, 10), (11, 20), 0, False)     # delta 0: gap must be 0
        self.check("<", (0, 10), (1000, 2000), None, True)
        self.check(">", (15, 20), (0, 10), 5, True)
        self.check(">", (16, 20), (0, 10), 5, False)
        # m: |x.etime - y.stime| <= D, either side
        self.check("m", (0, 10), (12, 20), 2, True)
        self.check("m", (0, 10), (8, 20), 2, True)
        self.check("m", (0, 10), (13, 20), 2, False)
        self.check("mi", (12, 20), (0, 10), 2, True)
        # s: stime ~ and x.etime < y.etime (strict)
        self.check("s", (2, 5), (0, 10), 2, True)
        self.check("s", (3, 5), (0, 10), 2, False)
        self.check("s", (2, 10), (0, 10), 2, False)
        self.check("si", (0, 10), (2, 5), 2, True)
        # f: etime ~ and x.stime > y.stime (strict)
        self.check("f", (5, 11), (0, 10), 1, True)
        self.check("f", (5, 12), (0, 10), 1, False)
        self.check("f", (0, 9), (0, 10), 1, False)
        self.check("fi", (0, 10), (5, 11), 1, True)
        # = : both ends ~
        self.check("=", (0, 10), (3, 7), 3, True)
        self.check("=", (0, 10), (4, 10), 3, False)
        # o, oi, d, di ignore delta
        self.check("o", (0, 10), (0, 15), 5, False)
        self.check("o", (0, 10), (5, 15), 5, True)
        self.check("oi", (0, 15), (0, 10), 5, False)
        self.check("d", (0, 5), (0, 10), 5, False)
        self.check("d", (1, 9), (0, 10), 100, True)
        self.check("di", (0, 10), (0, 5), 5, False)


class Stages(unittest.TestCase):
    def test_filter_cnf_not_or(self):
        rs = recs((0, 1, {"dstport": 80}), (0, 1, {"dstport": 8080}),
                  (0, 1, {"dstport": 443}), (0, 1, {"dstport": 80, "srcip": "192.0.2.9"}),
                  (0, 1, {"dstport": 80, "tcp_flags": 0x02}), (0, 1, {"dstport": 80, "tos": 4}))
        f = [[term(F("dstport"), "=", V(80)), term(F("dstport"), "=", V(8080))],
             [term(F("tos"), "notin", {"set": [1, [3, 5]]})],
             [term(F("srcip"), "in", {"set": ["192.0.2.0/24"]}, neg=True),
              term(F("prot"), "=", V(17))],                     # (NOT a) OR b
             [term({"bitAND": [F("tcp_flags"), V(0x12)]}, "=", V(0x12))]]
        q = single({"filter": f})
        self.assertEqual(group_ids(ref.evaluate(q, rs)), [[(1,)], [(2,)]])

    def test_rdelta_chains_delta_does_not(self):
        rs = recs((0, 100), (900, 1000), (1900, 2000))
        g = {"modules": [{"name": "g", "rules": [rel("etime", "<", "stime", 1000, True)]}],
             "aggregates": []}
        self.assertEqual(group_ids(ref.evaluate(single({"grouper": g}), rs)), [[(1, 2, 3)]])
        g["modules"][0]["rules"] = [rel("etime", "<", "stime", 1000, False)]
        # r3.stime 1900 > first.etime 100 + 1000: a new group
        self.assertEqual(group_ids(ref.evaluate(single({"grouper": g}), rs)), [[(1, 2)], [(3,)]])
        # without delta: R.etime < r.stime against the first record
        g["modules"][0]["rules"] = [rel("etime", "<", "stime")]
        self.assertEqual(group_ids(ref.evaluate(single({"grouper": g}), recs((0, 100), (50, 60), (200, 300)))),
                         [[(2,)], [(1, 3)]])

    def test_oldest_group_first_and_modules_ored(self):
        # group 1 keyed by srcip 10.0.0.1, group 2 by dstip; r3 fits both -> group 1
        rs = recs((0, 1, {"srcip": "10.0.0.1", "dstip": "192.0.2.1"}),
                  (1, 2, {"srcip": "10.0.0.2", "dstip": "192.0.2.2"}),
                  (2, 3, {"srcip": "10.0.0.1", "dstip": "192.0.2.2"}),
                  (3, 4, {"srcip": "10.0.0.3", "dstip": "192.0.2.2"}))
        g = {"modules": [{"name": "a", "rules": [rel("srcip", "=", "srcip")]},
                         {"name": "b", "rules": [rel("dstip", "=", "dstip")]}],
             "aggregates": [{"name": "n", "func": "count", "field": "rec_id"}]}
        out = ref.evaluate(single({"grouper": g}), rs)
        # r4 cannot join (1, 3): its first record's dstip is 192.0.2.1
        self.assertEqual(group_ids(out), [[(1, 3)], [(2, 4)]])
        self.assertEqual([m["time"] for m in out], [3, 4])
        self.assertEqual([m["groups"]["A"]["n"] for m in out], [2, 2])

    def test_absolute_rules_drop_and_start(self):
        rs = recs((0, 1, {"dstport": 443}), (1, 2, {"dstport": 80}),
                  (2, 3, {"dstport": 443}), (3, 4, {"dstport": 53, "prot": 17}))
        g = {"modules": [{"name": "web", "rules": [absr(term(F("dstport"), "=", V(80))),
                                                   rel("srcip", "=", "srcip")]},
                         {"name": "dns", "rules": [absr(term(F("prot"), "=", V(17)))]}],
             "aggregates": []}
        # r1 dropped (fails both modules' absolute rules); r2 starts a group;
        # r3 cannot join (absolute dstport = 80 fails, prot != 17) and is
        # dropped; r4 joins r2's group through module dns (its rules hold).
        out = ref.evaluate(single({"grouper": g}), rs)
        self.assertEqual(group_ids(out), [[(2, 4)]])

    def test_module_without_rules_one_group(self):
        rs = recs((0, 5), (100, 200, {"srcip": "10.9.9.9"}), (7, 8))
        g = {"modules": [{"name": "all", "rules": []}], "aggregates": []}
        out = ref.evaluate(single({"grouper": g}), rs)
        self.assertEqual(group_ids(out), [[(1, 2, 3)]])
        grp = out[0]["groups"]["A"]
        self.assertEqual((grp["stime"], grp["etime"], grp["duration"], grp["records"]), (0, 200, 200, 3))
        self.assertEqual([r["rec_id"] for r in out[0]["records"]], [1, 3, 2])  # (stime, rec_id)

    def test_aggregates(self):
        rs = recs((10, 20, {"bytes": 1, "srcport": 5, "tcp_flags": 0x03, "dstip": "192.0.2.9"}),
                  (0, 30, {"bytes": 2, "srcport": 3, "tcp_flags": 0x06, "dstip": "10.0.0.7"}),
                  (5, 6, {"bytes": 2, "srcport": 7, "tcp_flags": 0x12, "dstip": "192.0.2.10"}))
        aggs = [("sum", "bytes", "s"), ("count", "rec_id", "n"), ("min", "srcport", "lo"),
                ("max", "dstip", "hi"), ("min", "dstip", "lod"), ("avg", "bytes", "av"),
                ("union", "srcport", "ports"), ("union", "dstip", "ips"),
                ("bitOR", "tcp_flags", "or"), ("bitAND", "tcp_flags", "and"),
                ("first", "srcport", "fst"), ("last", "srcport", "lst"),
                ("field", "dstip", "dstip"), ("field", "duration", "td")]
        g = {"modules": [{"name": "all", "rules": []}],
             "aggregates": [{"name": n, "func": f, "field": x} for f, x, n in aggs]}
        grp = ref.evaluate(single({"grouper": g}), rs)[0]["groups"]["A"]
        want = {"s": 5, "n": 3, "lo": 3, "hi": "192.0.2.10", "lod": "10.0.0.7",
                "ports": [3, 5, 7], "ips": ["10.0.0.7", "192.0.2.9", "192.0.2.10"],
                "or": 0x17, "and": 0x02, "fst": 5, "lst": 7, "dstip": "192.0.2.9",
                "td": 10, "stime": 0, "etime": 30, "duration": 30, "records": 3,
                "rec_ids": [1, 2, 3]}
        av = grp.pop("av")
        self.assertIsInstance(av, float)
        self.assertAlmostEqual(av, 5 / 3, places=12)
        self.assertEqual(grp, want)

    def test_group_filter_and_no_ungrouper(self):
        rs = recs((0, 1, {"srcip": "10.0.0.1", "bytes": 600}), (1, 2, {"srcip": "10.0.0.1", "bytes": 600}),
                  (2, 3, {"srcip": "10.0.0.2", "bytes": 700}))
        g = {"modules": [{"name": "k", "rules": [rel("srcip", "=", "srcip")]}],
             "aggregates": [{"name": "bytes", "func": "sum", "field": "bytes"}]}
        gf = [[term(F("bytes"), ">", V(1000))]]
        out = ref.evaluate(single({"grouper": g, "groupfilter": gf}, ungroup=False), rs)
        self.assertEqual(len(out), 1)
        self.assertNotIn("records", out[0])
        self.assertEqual(out[0]["groups"]["A"]["bytes"], 1200)
        self.assertEqual((out[0]["query"], out[0]["match"], out[0]["time"]), ("q", 1, 2))

    def test_branch_without_grouper(self):
        rs = recs((5, 9, {"bytes": 77}))
        out = ref.evaluate(single({}), rs)
        grp = out[0]["groups"]["A"]
        self.assertEqual(grp["records"], 1)
        self.assertEqual(grp["rec_ids"], [1])
        self.assertEqual(grp["bytes"], 77)
        self.assertEqual(grp["srcip"], "10.0.0.1")
        self.assertEqual((grp["stime"], grp["etime"], grp["duration"]), (5, 9, 4))
        self.assertNotIn("rec_id", grp)
        self.assertNotIn("stime_iso", grp)


def two_branch_query(modules, export="m1", ungroup=True):
    br = {"filter": [[term(F("dstport"), "=", V(80))]]}
    brc = {"filter": [[term(F("dstport"), "=", V(53))]]}
    return {"name": "q", "branches": {"A": br, "B": dict(br), "C": brc},
            "merger": {"modules": modules, "export": export}, "ungrouper": ungroup}


class Merger(unittest.TestCase):
    def test_subtracting_module(self):
        # A/B see the two web records (1, 2), C the DNS record (3).
        rs = recs((100, 200, {"srcip": "10.0.0.1"}), (300, 400, {"srcip": "10.0.0.2"}),
                  (90, 95, {"dstport": 53, "srcip": "10.0.0.1"}))
        m1 = {"name": "m1", "branches": ["A", "B"],
              "lines": [[{"allen": "<", "x": "A", "y": "B", "delta": None}]]}
        out = ref.evaluate(two_branch_query([m1]), rs)
        self.assertEqual(group_ids(out), [[(1,), (2,)]])
        # m2: A preceded by DNS from the same client within 10 ms -> A=1 rejected
        m2 = {"name": "m2", "branches": ["A", "C"],
              "lines": [[{"op": "=", "lhs": {"branch": "A", "field": "srcip"},
                          "rhs": {"branch": "C", "field": "srcip"}, "delta": None}],
                         [{"allen": "<", "x": "C", "y": "A", "delta": 10}]]}
        self.assertEqual(ref.evaluate(two_branch_query([m1, m2]), rs), [])
        # gap 5 ms > delta 4: nothing rejected
        m2["lines"][1][0]["delta"] = 4
        self.assertEqual(group_ids(ref.evaluate(two_branch_query([m1, m2]), rs)), [[(1,), (2,)]])
        # subtracting module over the export's own branches rejects only its tuples
        m3 = {"name": "m3", "branches": ["B", "A"],
              "lines": [[{"allen": "m", "x": "A", "y": "B", "delta": 100}]]}
        self.assertEqual(ref.evaluate(two_branch_query([m1, m3]), rs), [])

    def test_merger_rules_delta_sets(self):
        rs = recs((0, 10, {"bytes": 100}), (20, 30, {"bytes": 150}))
        def q(line):
            m = {"name": "m1", "branches": ["A", "B"],
                 "lines": [[{"allen": "<", "x": "A", "y": "B", "delta": None}], line]}
            return group_ids(ref.evaluate(two_branch_query([m]), rs))
        cmpb = {"op": ">", "lhs": {"branch": "A", "field": "bytes"},
                "rhs": {"branch": "B", "field": "bytes"}, "delta": 50}
        self.assertEqual(q([cmpb]), [[(1,), (2,)]])      # 150 >= 100 - 50
        cmpb["op"] = "="
        self.assertEqual(q([cmpb]), [[(1,), (2,)]])      # |100 - 150| <= 50
        cmpb["delta"] = 49
        self.assertEqual(q([cmpb]), [])
        cmpb["delta"] = None
        cmpb["op"] = "<"
        self.assertEqual(q([cmpb]), [[(1,), (2,)]])
        self.assertEqual(q([dict(cmpb, **{"not": True})]), [])

    def test_batch_order_and_record_dedup(self):
        # A: records 1, 2 (web); B the same records; C unused
        rs = recs((0, 50, {"srcip": "10.0.0.1"}), (10, 20, {"srcip": "10.0.0.2"}))
        m1 = {"name": "m1", "branches": ["B", "A"],
              "lines": [[{"allen": "d", "x": "A", "y": "B", "delta": None},
                         {"allen": "=", "x": "A", "y": "B", "delta": None}]]}
        out = ref.evaluate(two_branch_query([m1]), rs)
        # tuples: (A1,B1) time 50, (A2,B1) time 50, (A2,B2) time 20
        self.assertEqual(group_ids(out), [[(2,), (2,)], [(1,), (1,)], [(2,), (1,)]])
        self.assertEqual([m["match"] for m in out], [1, 2, 3])
        self.assertEqual([m["time"] for m in out], [20, 50, 50])
        # record 2 printed with match 1, record 1 with match 2, nothing new in 3
        self.assertEqual([[r["rec_id"] for r in m["records"]] for m in out], [[2], [1], []])
        self.assertEqual(sorted(out[0]["groups"]), ["A", "B"])


    def test_order_branches_in_byte_order(self):
        # branches "a" and "B": strcmp puts "B" first; four matches, all at
        # time 10, ordered by (B's smallest rec_id, a's smallest rec_id)
        rs = recs((0, 10), (0, 10))
        m1 = {"name": "m1", "branches": ["a", "B"],
              "lines": [[{"allen": "=", "x": "a", "y": "B", "delta": None}]]}
        q = {"name": "q", "branches": {"a": {}, "B": {}},
             "merger": {"modules": [m1], "export": "m1"}, "ungrouper": True}
        out = ref.evaluate(q, rs)
        self.assertEqual([(m["groups"]["a"]["rec_ids"], m["groups"]["B"]["rec_ids"]) for m in out],
                         [([1], [1]), ([2], [1]), ([1], [2]), ([2], [2])])
        self.assertEqual([[r["rec_id"] for r in m["records"]] for m in out], [[1], [2], [], []])


class HarnessCompare(unittest.TestCase):
    """difftest.compare must see every kind of difference (and accept the
    tolerated ones)."""

    def setUp(self):
        import difftest
        self.cmp = difftest.compare
        rs = recs((0, 10, {"bytes": 1}), (5, 20, {"bytes": 2}), (30, 40, {"bytes": 4}))
        g = {"modules": [{"name": "k", "rules": [rel("etime", ">=", "stime")]}],
             "aggregates": [{"name": "av", "func": "avg", "field": "bytes"},
                            {"name": "ports", "func": "union", "field": "dstport"},
                            {"name": "b", "func": "sum", "field": "bytes"}]}
        self.q = single({"grouper": g})
        self.ref = ref.evaluate(self.q, rs)
        self.assertEqual(group_ids(self.ref), [[(1, 2)], [(3,)]])

    def eng(self):
        return json.loads(json.dumps(self.ref))

    def test_identical_and_tolerated(self):
        self.assertEqual(self.cmp(self.ref, self.eng(), self.q), [])
        e = self.eng()
        e[0]["groups"]["A"]["av"] = 1.5 * (1 + 1e-12)
        e[1]["groups"]["A"]["av"] = 4          # integral avg printed as integer
        self.assertEqual(self.cmp(self.ref, e, self.q), [])

    def test_differences_found(self):
        e = self.eng()
        e[0]["groups"]["A"]["av"] = 1.5001
        self.assertTrue(self.cmp(self.ref, e, self.q))
        e = self.eng()
        e[0]["groups"]["A"]["b"] = 3.0          # integer printed as real
        self.assertTrue(self.cmp(self.ref, e, self.q))
        e = self.eng()
        del e[1]
        self.assertTrue(any("missing match" in x for x in self.cmp(self.ref, e, self.q)))
        e = self.eng()
        e.reverse()
        for n, m in enumerate(e, 1):
            m["match"] = n
        self.assertTrue(self.cmp(self.ref, e, self.q))
        self.assertEqual(self.cmp(self.ref, e, self.q, strict_order=False), [])
        e = self.eng()
        e[1]["records"].append(e[0]["records"][0])
        self.assertTrue(any("more than once" in x for x in self.cmp(self.ref, e, self.q)))
        e = self.eng()
        e[0]["records"].reverse()
        self.assertTrue(self.cmp(self.ref, e, self.q, strict_order=False))
        e = self.eng()
        e[0]["groups"]["A"]["extra"] = 1
        self.assertTrue(self.cmp(self.ref, e, self.q))
        e = self.eng()
        e[0]["query"] = "other"
        self.assertTrue(self.cmp(self.ref, e, self.q))
        e = self.eng()
        e[0]["records"][0]["bytes"] = 99
        self.assertTrue(self.cmp(self.ref, e, self.q))


class Generator(unittest.TestCase):
    def test_trace_deterministic_and_layout(self):
        with tempfile.TemporaryDirectory() as d:
            a, b = os.path.join(d, "a.ft"), os.path.join(d, "b.ft")
            ea = gen.make_trace(7, a, 120)
            eb = gen.make_trace(7, b, 120)
            with open(a, "rb") as fa, open(b, "rb") as fb:
                da, db = fa.read(), fb.read()
            self.assertEqual(da, db)
            self.assertEqual(ea, eb)
            self.assertEqual(da[:4], b"\xcf\x10\x01\x03")
            hlen = int.from_bytes(da[4:8], "little")
            self.assertEqual((len(da) - hlen) % 64, 0)
            self.assertEqual((len(da) - hlen) // 64, 120)
            if FLOWQ:
                p = subprocess.run([FLOWQ, "print", "--json", "ft:" + a],
                                   stdout=subprocess.PIPE, check=True)
                got = [json.loads(x) for x in p.stdout.decode().splitlines()]
                self.assertEqual(len(got), len(ea))
                for g, e in zip(got, ea):
                    self.assertEqual({k: g[k] for k in e}, e)

    def test_ipfix_dual_stack(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "t.ipfix")
            exp = gen.make_trace(3, p, 200, fmt="ipfix")
            v6 = [e for e in exp if ":" in e["srcip"]]
            self.assertTrue(20 < len(v6) < 180, len(v6))
            self.assertTrue(all(":" in e["dstip"] for e in v6))
            if FLOWQ:
                r = subprocess.run([FLOWQ, "print", "--json", "ipfix:" + p],
                                   stdout=subprocess.PIPE, check=True)
                got = [json.loads(x) for x in r.stdout.decode().splitlines()]
                self.assertEqual(len(got), len(exp))
                for g, e in zip(got, exp):
                    self.assertEqual({k: g[k] for k in e}, e)

    def test_trace_has_every_allen_relation(self):
        """The traces are realistic enough that every Allen relation holds
        exactly (no delta) between some web flows."""
        with tempfile.TemporaryDirectory() as d:
            exp = gen.make_trace(11, os.path.join(d, "t.ft"), 300)
        req = [(r["stime"], r["etime"]) for r in exp if r["dstport"] in (80, 8080) and r["prot"] == 6]
        res = [(r["stime"], r["etime"]) for r in exp if r["srcport"] in (80, 8080) and r["prot"] == 6]
        self.assertGreater(len(req), 20)
        self.assertGreater(len(res), 20)
        web = req + res
        seen = {rel for rel in set(ref.ALLEN_NAMES.values())
                if any(ref.allen(rel, x, y) for x in web for y in web if x is not y)}
        # between requests and their responses alone: all but f (a response
        # never starts before its request) -- fi is its mirror
        self.assertEqual({rel for rel in set(ref.ALLEN_NAMES.values())
                          if any(ref.allen(rel, x, y) for x in req for y in res)},
                         set(ref.ALLEN_NAMES.values()) - {"f"})
        self.assertEqual(seen, set(ref.ALLEN_NAMES.values()))
        # records leave the exporter after they end, in export order, with
        # less disorder than the default lateness (90 s): streaming bounds
        ends = [r["etime"] for r in exp]
        self.assertLess(max(max(ends[:i + 1]) - e for i, e in enumerate(ends)), 90000)
        self.assertTrue(all(r["unix_secs"] * 1000 + r["unix_nsecs"] // 1000000 >= r["etime"]
                            for r in exp))
        self.assertLess(max(r["duration"] for r in exp), 600000)

    def test_query_coverage(self):
        """Over 400 generated queries every Allen relation (both spellings),
        every aggregate function and every rule kind appears."""
        rels, words, funcs, kinds = set(), set(), set(), set()
        nbs = set()
        subtract = 0
        for s in range(400):
            text, q = gen.make_query(s)
            nbs.add(len(q["branches"]))
            for b in q["branches"].values():
                if b.get("grouper"):
                    for m in b["grouper"]["modules"]:
                        if not m["rules"]:
                            kinds.add("empty-module")
                        for r in m["rules"]:
                            kinds.add(r["kind"] + ("-rdelta" if r.get("rdelta") else
                                                   "-delta" if r.get("delta") is not None else ""))
                    funcs.update(a["func"] for a in b["grouper"]["aggregates"])
                else:
                    kinds.add("no-grouper")
            if q["merger"]:
                subtract += len(q["merger"]["modules"]) > 1
                for m in q["merger"]["modules"]:
                    for ln in m["lines"]:
                        for t in ln:
                            if "allen" in t:
                                rels.add(t["allen"])
                            else:
                                kinds.add("merger-" + t["op"])
            for lg in ("before", "after", "equals", "meets", "met-by", "overlaps",
                       "overlapped-by", "starts", "started-by", "during", "contains",
                       "finishes", "finished-by"):
                if " %s " % lg in text:
                    words.add(lg)
        self.assertEqual(rels, set(ref.ALLEN_NAMES.values()))
        self.assertEqual(len(words), 13)
        self.assertEqual(funcs, {"sum", "count", "min", "max", "avg", "union", "bitOR",
                                 "bitAND", "first", "last", "field"})
        self.assertTrue({"abs", "rel", "rel-delta", "rel-rdelta", "empty-module",
                         "no-grouper", "merger-in", "merger-=", "merger-<"} <= kinds, kinds)
        self.assertEqual(nbs, {1, 2, 3, 4})
        self.assertGreater(subtract, 20)

    @unittest.skipUnless(os.environ.get("FLOWQ_SELFTEST_CHECK", "1") == "1", "disabled")
    def test_queries_pass_flowq_check(self):
        if not FLOWQ:
            self.skipTest("no flowq binary given")
        with tempfile.TemporaryDirectory() as d:
            paths = []
            for s in range(150):
                text, _ = gen.make_query("check-%d" % s)
                p = os.path.join(d, "q%d.fq" % s)
                with open(p, "w") as f:
                    f.write(text)
                paths.append(p)
            r = subprocess.run([FLOWQ, "check"] + paths, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
            errs = [x for x in r.stderr.decode().splitlines() if "error" in x]
            self.assertEqual(r.returncode, 0, "\n".join(errs[:20]))


if __name__ == "__main__":
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        FLOWQ = sys.argv.pop(1)
    unittest.main(verbosity=1)
