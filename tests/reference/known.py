"""known.py - expected values of the golden tests, computed independently.

The golden tests (tests/golden/run.py, golden.py) check flowq's output on
fixed inputs.  Their expected values must not be flowq's own output copied
into the test, so they are computed here at test time from sources that
share no code with flowq:

  records   tests/tools/ftread.py (an independent flow-tools reader);
  matches   tests/reference/flowq_ref.py (the naive SPEC section 4
            evaluator) on the JSON form of the query below, written by
            hand from tests/queries/paper-http-download.flw (the same text
            as examples/http-download.flw), not produced by flowq's parser;
  late      a direct transcription of SPEC section 5's stream time for
            one exporter (late_count).

Python 3 standard library only.
"""
import collections
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import flowq_ref  # noqa: E402
import ftread     # noqa: E402


def _t(op, lhs, rhs):
    return {"op": op, "lhs": lhs, "rhs": rhs, "not": False}


def _f(name):
    return {"field": name}


def _v(value):
    return {"value": value}


def _rel(a, op, b, delta=None):
    return {"kind": "rel", "a": a, "op": op, "b": b, "delta": delta,
            "rdelta": False}


def _grouper(union_field, union_name):
    # module g1 { srcip = srcip; dstip = dstip; etime < stime delta 1s }
    # aggregate srcip, dstip, sum(bytes) as bytes, count(rec_id) as n,
    #           bitOR(tcp_flags) as flags, union(<field>) as <name>
    return {"modules": [{"name": "g1", "rules": [
        _rel("srcip", "=", "srcip"), _rel("dstip", "=", "dstip"),
        _rel("etime", "<", "stime", 1000)]}],
        "aggregates": [
            {"name": "srcip", "func": "field", "field": "srcip"},
            {"name": "dstip", "func": "field", "field": "dstip"},
            {"name": "bytes", "func": "sum", "field": "bytes"},
            {"name": "n", "func": "count", "field": "rec_id"},
            {"name": "flags", "func": "bitOR", "field": "tcp_flags"},
            {"name": union_name, "func": "union", "field": union_field}]}


def _m(branch, field):
    return {"branch": branch, "field": field}


def paper_query(name):
    """The Flowy paper's HTTP download query (tests/queries/
    paper-http-download.flw, examples/http-download.flw) in the
    reference's JSON form (tests/reference/README.md)."""
    # groupfilter ggf { bitAND(flags, 0x13) = 0x13 }
    ggf = [[_t("=", {"bitAND": [_f("flags"), _v(0x13)]}, _v(0x13))]]
    return {
        "name": name,
        "branches": {
            "A": {"filter": [[_t("=", _f("dstport"), _v(80))]],
                  "grouper": _grouper("srcport", "srcports"),
                  "groupfilter": ggf},
            "B": {"filter": [[_t("=", _f("srcport"), _v(80))]],
                  "grouper": _grouper("dstport", "dstports"),
                  "groupfilter": ggf},
        },
        "merger": {"modules": [{"name": "m1", "branches": ["B", "A"], "lines": [
            [dict(_t("=", _m("A", "srcip"), _m("B", "dstip")), delta=None)],
            [dict(_t("=", _m("A", "srcports"), _m("B", "dstports")), delta=None)],
            [dict(_t("<", _m("A", "bytes"), _m("B", "bytes")), delta=None)],
            [{"allen": "oi", "x": "B", "y": "A", "delta": None},
             {"allen": "d", "x": "B", "y": "A", "delta": None}]]}],
            "export": "m1"},
        "ungrouper": True,
    }


def ft_records(paths):
    """The records of flow-tools files/directories as `flowq print --json`
    prints them (rec_ids from 1), read by ftread."""
    out = []
    for p in ftread.paths(paths):
        for r in ftread.read_file(p):
            r["rec_id"] = len(out) + 1
            out.append(r)
    return out


def match_key(m):
    """A match known by its groups' rec_ids per branch."""
    return tuple(sorted((b, tuple(g["rec_ids"])) for b, g in m["groups"].items()))


def paper_matches(records, name="paper"):
    """The reference's matches of the paper query, as a list of match
    objects (SPEC section 6 form, records included, batch order).

    flowq_ref.evaluate() on a whole trace is O(records x groups) in the
    grouper and O(groups^2) in the merger: 250 s of CPU on trace-2012.  The
    query's own rules allow an exact partition, which this function uses:
    - records that pass neither branch filter (dstport = 80, srcport = 80)
      can be left out: they reach no stage, and rec_ids are kept;
    - both groupers key on srcip = srcip and dstip = dstip, so a record can
      only join a group of its own (srcip, dstip): the groups of each pair
      are formed from that pair's records alone, in the same order;
    - a tuple needs A.srcip = B.dstip and A.srcports = B.dstports, so the
      merger runs per (client, port set): A groups by (srcip, srcports),
      B groups by (dstip, dstports).
    The reference's own functions (run_branch, run_merger) do all the
    evaluation; only the batch order is then made over all tuples, as
    evaluate() does (latest etime, then smallest rec_ids by branch name).
    For small inputs tests may call flowq_ref.evaluate() directly; both
    give the same result (checked by run:example)."""
    q = paper_query(name)
    recs = [flowq_ref.record_fields(r) for r in
            sorted(records, key=lambda r: r["rec_id"])
            if r["dstport"] == 80 or r["srcport"] == 80]
    by_id = {r["rec_id"]: r for r in records}
    pairs = collections.OrderedDict()
    for r in recs:
        pairs.setdefault((r["srcip"], r["dstip"]), []).append(r)
    groups = {}
    for b, br in q["branches"].items():
        groups[b] = [g for part in pairs.values()
                     for g in flowq_ref.run_branch(b, br, part)]
    parts = collections.defaultdict(lambda: {"A": [], "B": []})
    for g in groups["A"]:
        parts[(g.fields["srcip"], g.fields["srcports"])]["A"].append(g)
    for g in groups["B"]:
        parts[(g.fields["dstip"], g.fields["dstports"])]["B"].append(g)
    tuples = []
    for part in parts.values():
        if part["A"] and part["B"]:
            tuples += flowq_ref.run_merger(q["merger"], part)

    def order(t):
        time = max(g.fields["etime"] for g in t.values())
        return (time, tuple(t[b].rec_ids[0] for b in sorted(t)))

    tuples.sort(key=order)
    out, printed = [], set()
    for n, t in enumerate(tuples, 1):
        m = {"query": name, "match": n,
             "time": max(g.fields["etime"] for g in t.values()),
             "groups": {b: flowq_ref.group_json(t[b]) for b in sorted(t)}}
        recs_of = {}
        for g in t.values():
            for r in g.recs:
                recs_of[r["rec_id"]] = r
        ids = sorted(recs_of, key=lambda i: (recs_of[i]["stime"], i))
        m["records"] = [by_id[i] for i in ids if i not in printed]
        printed.update(ids)
        out.append(m)
    return out


def late_count(records, lateness=90000, max_skew=600000):
    """Records of a one-exporter replay that SPEC section 5 calls late:
    etime < T on arrival, T = (largest etime seen) - L, where a record whose
    etime lies more than --max-skew after its arrival (export header time)
    is "future" and does not advance T.  Returns (late, future, past):
    `past` counts records arriving while the exporter's largest etime lay
    more than --max-skew behind its arrival time (then SPEC's other rule
    applies and this simple model does not; callers require past = 0)."""
    if len({r["exporter"] for r in records}) != 1:
        raise ValueError("late_count models one exporter")
    front = None
    late = future = past = 0
    for r in records:
        arrival = r["unix_secs"] * 1000 + r["unix_nsecs"] // 1000000
        if front is not None and front < arrival - max_skew:
            past += 1
        if r["etime"] > arrival + max_skew:
            future += 1
            continue
        if front is not None and r["etime"] < front - lateness:
            late += 1
        front = r["etime"] if front is None else max(front, r["etime"])
    return late, future, past
