#!/usr/bin/env python3
"""flowq_ref.py - a deliberately naive reference evaluator of SPEC section 4.

Independent of flowq's C engine and of its query front end: the query comes
in the structured JSON form described in tests/reference/README.md, the
records as the JSON Lines of `flowq print --json`.  Clarity over speed:
every stage is a direct transcription of the batch semantics (nested loops,
no indexes).  Python 3 standard library only.

Usage:  flowq_ref.py QUERY.json RECORDS.jsonl [-o OUT.jsonl]
Output: one JSON line per match, in SPEC section 4 batch order, in the
SPEC section 6 match form.
"""
import functools
import ipaddress
import json
import sys

ADDR_FIELDS = ("exporter", "srcip", "dstip", "nexthop")
# Keys of a printed record that are not record fields.
NOT_FIELDS = ("stime_iso", "etime_iso")
BUILTIN_GROUP_FIELDS = ("stime", "etime", "duration", "records")


class RefError(Exception):
    """A query the reference cannot evaluate (type error, unknown name)."""


# --------------------------------------------------------------------------
# Values: int (numbers, times), float (avg), IPv4Address / IPv6Address,
# frozenset (union aggregates), SetLit (a set literal of a query).

def is_addr(v):
    return isinstance(v, (ipaddress.IPv4Address, ipaddress.IPv6Address))


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def value_key(v):
    """Total order used for min/max and for printing sets: numbers by value,
    addresses IPv4 before IPv6, then by numeric value."""
    if is_addr(v):
        return (1, v.version, int(v))
    return (0, 0, v)


def parse_const(c):
    """A constant of the JSON query form: a JSON number, or an address text."""
    if isinstance(c, bool):
        raise RefError("boolean constant %r" % (c,))
    if isinstance(c, (int, float)):
        return c
    if isinstance(c, str):
        try:
            return parse_addr(c)
        except ValueError:
            raise RefError("bad constant %r" % (c,))
    raise RefError("bad constant %r" % (c,))


class SetLit:
    """A set literal: values, inclusive ranges and prefixes, mixed."""

    def __init__(self, items):
        self.items = []
        for it in items:
            if isinstance(it, list):
                if len(it) != 2:
                    raise RefError("range needs two ends: %r" % (it,))
                self.items.append(("range", parse_const(it[0]), parse_const(it[1])))
            elif isinstance(it, str) and "/" in it:
                self.items.append(("prefix", ipaddress.ip_network(it, strict=False)))
            else:
                self.items.append(("value", parse_const(it)))

    def contains(self, x):
        for it in self.items:
            if is_addr(x) != (it[0] == "prefix" or is_addr(it[1])):
                continue        # an address is never a number
            if it[0] == "value":
                if compare("=", x, it[1]):
                    return True
            elif it[0] == "range":
                if compare(">=", x, it[1]) and compare("<=", x, it[2]):
                    return True
            else:
                if is_addr(x) and x.version == it[1].version and x in it[1]:
                    return True
        return False


def compare(op, a, b):
    """op(a, b) for plain values.  IPv4 and IPv6 are never equal and never
    ordered: = and the order operators are false between them, != is true.
    Sets compare only with = and != (set equality)."""
    if isinstance(a, frozenset) or isinstance(b, frozenset):
        if not (isinstance(a, frozenset) and isinstance(b, frozenset)):
            raise RefError("set compared with a non-set")
        if op == "=":
            return a == b
        if op == "!=":
            return a != b
        raise RefError("operator %s on sets" % op)
    if is_addr(a) or is_addr(b):
        if not (is_addr(a) and is_addr(b)):
            raise RefError("address compared with a number: %r %s %r" % (a, op, b))
        if a.version != b.version:
            return op == "!="
        a, b = int(a), int(b)
    elif not (is_num(a) and is_num(b)):
        raise RefError("cannot compare %r %s %r" % (a, op, b))
    if op == "=":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == ">":
        return a > b
    if op == "<=":
        return a <= b
    if op == ">=":
        return a >= b
    raise RefError("unknown operator %r" % (op,))


def compare_delta(op, a, b, d):
    """The tolerant comparison of SPEC section 4, a = R.a (or A.x), b = r.b
    (or B.y):  = iff |a-b| <= D;  < and <= iff b <= a + D;  > and >= iff
    b >= a - D;  != iff |a-b| > D."""
    if not (is_num(a) and is_num(b)):
        raise RefError("delta comparison needs numbers: %r %s %r" % (a, op, b))
    if op == "=":
        return abs(a - b) <= d
    if op in ("<", "<="):
        return b <= a + d
    if op in (">", ">="):
        return b >= a - d
    if op == "!=":
        return abs(a - b) > d
    raise RefError("unknown operator %r" % (op,))


def member(x, s):
    """x in s: s a SetLit or a frozenset (union aggregate).  A set x is
    tested for being a subset."""
    if isinstance(x, frozenset):
        return all(member(e, s) for e in x)
    if isinstance(s, SetLit):
        return s.contains(x)
    if isinstance(s, frozenset):
        return any(compare("=", x, e) for e in s)
    # a single value on the right is a set of one
    return compare("=", x, s)


# --------------------------------------------------------------------------
# Expressions and terms of filters and group filters.

def eval_expr(e, fields):
    if "field" in e:
        if e["field"] not in fields:
            raise RefError("unknown field %r" % e["field"])
        return fields[e["field"]]
    if "value" in e:
        return parse_const(e["value"])
    if "set" in e:
        return SetLit(e["set"])
    for fn in ("bitAND", "bitOR"):
        if fn in e:
            a, b = (eval_expr(x, fields) for x in e[fn])
            if not (isinstance(a, int) and isinstance(b, int)):
                raise RefError("%s needs integers" % fn)
            return a & b if fn == "bitAND" else a | b
    raise RefError("bad expression %r" % (e,))


def eval_term(t, fields):
    lhs = eval_expr(t["lhs"], fields)
    rhs = eval_expr(t["rhs"], fields)
    op = t["op"]
    if op in ("in", "notin"):
        r = member(lhs, rhs)
        if op == "notin":
            r = not r
    else:
        if isinstance(rhs, SetLit) or isinstance(lhs, SetLit):
            raise RefError("set literal with %s" % op)
        r = compare(op, lhs, rhs)
    return (not r) if t.get("not") else r


def eval_cnf(lines, fields):
    """Lines ANDed, the terms of a line ORed.  None or [] = pass all."""
    if not lines:
        return True
    return all(any(eval_term(t, fields) for t in line) for line in lines)


# --------------------------------------------------------------------------
# Records.

@functools.lru_cache(maxsize=None)
def parse_addr(text):
    return ipaddress.ip_address(text)


def record_fields(rec):
    """Field values of a printed record (addresses parsed)."""
    f = {}
    for k, v in rec.items():
        if k in NOT_FIELDS:
            continue
        f[k] = parse_addr(v) if k in ADDR_FIELDS else v
    if "duration" not in f:
        f["duration"] = f["etime"] - f["stime"]
    return f


# --------------------------------------------------------------------------
# Grouper.

def rule_holds(rule, first, last, r):
    """One grouper rule for record r against group (first, last record)."""
    if rule["kind"] == "abs":
        return eval_term(rule["term"], r)
    a, op, b = rule["a"], rule["op"], rule["b"]
    R = last if rule.get("rdelta") else first
    d = rule.get("delta")
    if d is None:
        return compare(op, R[a], r[b])
    return compare_delta(op, R[a], r[b], d)


def module_joins(module, group, r):
    return all(rule_holds(x, group[0], group[-1], r) for x in module["rules"])


def module_starts(module, r):
    return all(eval_term(x["term"], r) for x in module["rules"] if x["kind"] == "abs")


def run_grouper(grouper, recs):
    """Batch grouper: every group open to the end, kept in creation order.
    Returns (groups, dropped): groups as lists of record-field dicts."""
    modules = grouper.get("modules") or [{"name": "all", "rules": []}]
    groups, dropped = [], 0
    for r in recs:
        for g in groups:                     # oldest open group first
            if any(module_joins(m, g, r) for m in modules):
                g.append(r)
                break
        else:
            if any(module_starts(m, r) for m in modules):
                groups.append([r])
            else:
                dropped += 1
    return groups, dropped


def aggregate(func, field, recs):
    vals = [r[field] for r in recs]
    if func == "field" or func == "first":
        return vals[0]
    if func == "last":
        return vals[-1]
    if func == "count":
        return len(vals)
    if func == "union":
        return frozenset(vals)
    if func == "min":
        return min(vals, key=value_key)
    if func == "max":
        return max(vals, key=value_key)
    if func in ("sum", "avg", "bitOR", "bitAND"):
        if not all(isinstance(v, int) for v in vals):
            raise RefError("%s(%s) needs numbers" % (func, field))
        if func == "sum":
            return sum(vals)
        if func == "avg":
            return sum(vals) / len(vals)
        acc = vals[0]
        for v in vals[1:]:
            acc = (acc | v) if func == "bitOR" else (acc & v)
        return acc
    raise RefError("unknown aggregate function %r" % (func,))


def group_fields(grouper, recs):
    """The fields of a group: built-ins plus aggregates (or, without a
    grouper, the single record's own fields plus records = 1)."""
    if grouper is None:
        f = dict(recs[0])
        f["records"] = 1
    else:
        f = {}
        for a in grouper.get("aggregates", []):
            if a["name"] in BUILTIN_GROUP_FIELDS:
                raise RefError("aggregate named %s" % a["name"])
            f[a["name"]] = aggregate(a["func"], a["field"], recs)
        f["stime"] = min(r["stime"] for r in recs)
        f["etime"] = max(r["etime"] for r in recs)
        f["duration"] = f["etime"] - f["stime"]
        f["records"] = len(recs)
    return f


class Group:
    def __init__(self, branch, recs, fields, grouper=None):
        self.branch = branch
        self.grouper = grouper
        self.recs = recs
        self.fields = fields
        self.rec_ids = tuple(sorted(r["rec_id"] for r in recs))

    def __repr__(self):
        return "Group(%s %s)" % (self.branch, list(self.rec_ids))


def run_branch(name, br, recs):
    """Filter -> grouper -> group filter of one branch.  Each branch sees
    every record, in rec_id order."""
    passed = [r for r in recs if eval_cnf(br.get("filter"), r)]
    grouper = br.get("grouper")
    if grouper is None:
        raw = [[r] for r in passed]
    else:
        raw, _ = run_grouper(grouper, passed)
    out = []
    for g in raw:
        f = group_fields(grouper, g)
        if eval_cnf(br.get("groupfilter"), f):
            out.append(Group(name, g, f, grouper))
    return out


# --------------------------------------------------------------------------
# Merger.

ALLEN_NAMES = {
    "<": "<", "before": "<", ">": ">", "after": ">", "=": "=", "equals": "=",
    "m": "m", "meets": "m", "mi": "mi", "met-by": "mi", "o": "o",
    "overlaps": "o", "oi": "oi", "overlapped-by": "oi", "s": "s",
    "starts": "s", "si": "si", "started-by": "si", "d": "d", "during": "d",
    "di": "di", "contains": "di", "f": "f", "finishes": "f",
    "fi": "fi", "finished-by": "fi",
}


def allen(rel, x, y, delta=None):
    """Allen relation rel between intervals x = (stime, etime) and y with an
    optional delta (None = no delta), exactly as the SPEC section 4 table.
    delta widens the approximate endpoints (a ~ b iff |a - b| <= delta, exact
    without delta) and bounds the gap of < and >; o, oi, d, di ignore it."""
    rel = ALLEN_NAMES[rel]
    xs, xe = x
    ys, ye = y
    tol = delta or 0

    def approx(a, b):
        return abs(a - b) <= tol

    if rel == "<":
        return xe < ys and (delta is None or ys - xe <= delta)
    if rel == ">":
        return allen("<", y, x, delta)
    if rel == "m":
        return approx(xe, ys)
    if rel == "mi":
        return allen("m", y, x, delta)
    if rel == "o":
        return xs < ys < xe < ye
    if rel == "oi":
        return allen("o", y, x, delta)
    if rel == "s":
        return approx(xs, ys) and xe < ye
    if rel == "si":
        return allen("s", y, x, delta)
    if rel == "d":
        return ys < xs and xe < ye
    if rel == "di":
        return allen("d", y, x, delta)
    if rel == "f":
        return approx(xe, ye) and xs > ys
    if rel == "fi":
        return allen("f", y, x, delta)
    if rel == "=":
        return approx(xs, ys) and approx(xe, ye)
    raise RefError("unknown relation %r" % (rel,))


def merger_value(e, tup):
    if "branch" in e:
        g = tup[e["branch"]]
        if e["field"] not in g.fields:
            raise RefError("unknown group field %s.%s" % (e["branch"], e["field"]))
        return g.fields[e["field"]]
    if "value" in e:
        return parse_const(e["value"])
    if "set" in e:
        return SetLit(e["set"])
    raise RefError("bad merger operand %r" % (e,))


def merger_term(t, tup):
    if "allen" in t:
        x, y = tup[t["x"]], tup[t["y"]]
        r = allen(t["allen"], (x.fields["stime"], x.fields["etime"]),
                  (y.fields["stime"], y.fields["etime"]), t.get("delta"))
    else:
        a = merger_value(t["lhs"], tup)
        b = merger_value(t["rhs"], tup)
        op = t["op"]
        if op in ("in", "notin"):
            r = member(a, b)
            if op == "notin":
                r = not r
        elif t.get("delta") is not None:
            r = compare_delta(op, a, b, t["delta"])
        else:
            r = compare(op, a, b)
    return (not r) if t.get("not") else r


def term_branches(t):
    if "allen" in t:
        return {t["x"], t["y"]}
    return {e["branch"] for e in (t["lhs"], t["rhs"]) if "branch" in e}


def module_matches(module, groups):
    """All tuples (dict branch -> Group) of the module's branches for which
    every line holds.  The full cross product, enumerated branch by branch;
    a line is tested as soon as all the branches it names are bound (which
    only skips tuples that fail anyway)."""
    branches = list(module["branches"])
    lines = module.get("lines", [])
    line_br = [set().union(*(term_branches(t) for t in line)) if line else set()
               for line in lines]
    for lb in line_br:
        if not lb <= set(branches):
            raise RefError("module %s names a branch it does not list"
                           % module.get("name"))
    out = []

    def rec(i, tup):
        if i == len(branches):
            out.append(dict(tup))
            return
        b = branches[i]
        bound = set(branches[:i + 1])
        last = i == len(branches) - 1
        ready = [ln for ln, lb in zip(lines, line_br)
                 if lb <= bound and (b in lb or (last and not lb))]
        for g in groups[b]:
            tup[b] = g
            if all(any(merger_term(t, tup) for t in ln) for ln in ready):
                rec(i + 1, tup)
            del tup[b]

    rec(0, {})
    return out


def run_merger(merger, groups):
    """The export module's matches minus every tuple for which another module
    has a match agreeing with it on the branches they share."""
    modules = {m["name"]: m for m in merger["modules"]}
    export = modules[merger["export"]]
    result = module_matches(export, groups)
    for name, m in modules.items():
        if name == export["name"]:
            continue
        shared = [b for b in export["branches"] if b in m["branches"]]
        if not shared:
            raise RefError("module %s shares no branch with the export" % name)
        reject = set()
        for t in module_matches(m, groups):
            reject.add(tuple(t[b].rec_ids for b in shared))
        result = [t for t in result
                  if tuple(t[b].rec_ids for b in shared) not in reject]
    return result


# --------------------------------------------------------------------------
# Whole query and output.

def out_value(v):
    if is_addr(v):
        return str(v)
    if isinstance(v, frozenset):
        return [out_value(x) for x in sorted(v, key=value_key)]
    if isinstance(v, float):
        return v
    return v


def group_json(g):
    """The group object of a match.  A group of one (branch without grouper)
    prints the record's fields except rec_id, which its rec_ids carries."""
    o = {k: out_value(v) for k, v in g.fields.items()
         if not (g.grouper is None and k == "rec_id")}
    o["rec_ids"] = list(g.rec_ids)
    return o


def evaluate(query, records):
    """Evaluate a query (JSON form) on printed records; return the list of
    match objects (SPEC section 6 form) in batch order."""
    records = sorted(records, key=lambda r: r["rec_id"])
    by_id = {r["rec_id"]: r for r in records}
    recs = [record_fields(r) for r in records]
    branches = query["branches"]
    if not branches:
        raise RefError("query without branches")
    groups = {b: run_branch(b, br, recs) for b, br in branches.items()}
    merger = query.get("merger")
    if merger is None:
        if len(branches) != 1:
            raise RefError("several branches need a merger")
        (b,) = branches
        tuples = [{b: g} for g in groups[b]]
    else:
        tuples = run_merger(merger, groups)

    def order(t):
        time = max(g.fields["etime"] for g in t.values())
        return (time, tuple(t[b].rec_ids[0] for b in sorted(t)))

    tuples.sort(key=order)
    out, printed = [], set()
    for n, t in enumerate(tuples, 1):
        m = {"query": query["name"], "match": n,
             "time": max(g.fields["etime"] for g in t.values()),
             "groups": {b: group_json(t[b]) for b in sorted(t)}}
        if query.get("ungrouper", True):
            recs_of = {}
            for g in t.values():
                for r in g.recs:
                    recs_of[r["rec_id"]] = r
            ids = sorted(recs_of, key=lambda i: (recs_of[i]["stime"], i))
            m["records"] = [by_id[i] for i in ids if i not in printed]
            printed.update(ids)
        out.append(m)
    return out


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(ln) for ln in f if ln.strip()]


def main(argv):
    args = argv[1:]
    out = sys.stdout
    if "-o" in args:
        i = args.index("-o")
        out = open(args[i + 1], "w")
        del args[i:i + 2]
    if len(args) != 2:
        sys.stderr.write("usage: flowq_ref.py QUERY.json RECORDS.jsonl [-o OUT]\n")
        return 2
    with open(args[0]) as f:
        query = json.load(f)
    try:
        matches = evaluate(query, read_jsonl(args[1]))
    except RefError as e:
        sys.stderr.write("flowq_ref: %s\n" % e)
        return 1
    for m in matches:
        out.write(json.dumps(m, separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
