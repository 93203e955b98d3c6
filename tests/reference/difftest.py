#!/usr/bin/env python3
"""difftest.py - differential tests of `flowq run` against the reference.

For each case i: a trace and a query are generated (seeded by i, gen.py),
the records are decoded with `flowq print --json`, the query runs through
`flowq run --batch --json` and through flowq_ref.py, and the two are
compared: the set of matches (a match is known by its groups' rec_ids per
branch), every group's aggregates, the output records and which match prints
each of them, and the batch order.  Some cases also run in streaming mode
(no --batch; the traces stay inside the streaming bounds by construction)
and must give the same matches and records.  Finally a trace with
deliberately late records must make a "late" counter of --stats-json
non-zero.

Usage:
  difftest.py --flowq PATH [--quick | --long] [--cases N] [--start I]
              [--jobs J] [--keep DIR] [--case I] [-v]
  --quick   CI: 2000 cases, small traces (default)
  --long    local: 5000 cases, traces of up to 3000 records
  --case I  run one case and print everything (reproduction)
  --keep    where failing cases are saved (default: difftest-failures/)

Every one of the N cases runs, however long it takes: there is no
wall-clock budget.  A case whose flowq run exceeds the per-call timeout
(RUN_TIMEOUT) fails; a case for which no query could be chosen fails too.
The run fails unless exactly N cases ran and agreed (the summary line says
"N of N cases ran"); meson's own timeout on the test fails it, never skips
it.  The cases are deterministic: case i is seeded by its number.

Exit: 0 all N cases ran and agree, 1 a mismatch, fewer than N cases run,
or `flowq run` missing, 2 bad usage.
"""
import argparse
import json
import re
import math
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import flowq_ref  # noqa: E402
import gen        # noqa: E402

RUN_TIMEOUT = 60
REF_BUDGET = {"quick": 8, "long": 120}   # CPU seconds of the reference per query attempt
MAX_MATCHES = 3000


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout()


def run(cmd, timeout=RUN_TIMEOUT):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, b"", b"timeout after %ds" % timeout
    return p.returncode, p.stdout, p.stderr


def flowq_has_run(flowq):
    rc, out, err = run([flowq, "run", "--help"], timeout=20)
    text = (out + err).decode("utf-8", "replace")
    return rc == 0 and "unknown command" not in text, text.strip()


# --------------------------------------------------------------------------
# Case construction


class Mode:
    def __init__(self, name):
        self.name = name
        self.long = name == "long"

    def params(self, i):
        """(branch count, trace records, streaming check?) of case i."""
        r = random.Random("case-%s-%d" % (self.name, i))
        nb = r.choice([1, 1, 2, 2, 2, 3, 3, 4])
        if self.long:
            n = {1: 3000, 2: 2000, 3: 800, 4: 400}[nb]
            n = r.randint(n // 4, n)
        else:
            n = {1: 400, 2: 300, 3: 200, 4: 160}[nb]
            n = r.randint(max(60, n // 5), n)
        stream = r.random() < (0.25 if not self.long else 0.5)
        # some batch-only cases carry records exported minutes late: --batch
        # must not care about the input order
        late = not stream and r.random() < 0.1
        # some batch-only cases are IPFIX files with IPv6 (dual-stack) hosts
        fmt = "ipfix" if not stream and r.random() < 0.25 else "ft"
        return nb, n, stream, late, fmt


def choose_query(i, nb, records, budget):
    """The first of up to four generated queries whose reference result is
    non-empty and not huge (some empty ones are kept on purpose).
    Returns (attempt, text, query, matches) or None."""
    r = random.Random("accept-%d" % i)
    for attempt in range(4):
        text, q = gen.make_query("%d.%d" % (i, attempt), nb)
        q["name"] = "case%d" % i
        # CPU time, not wall clock: the choice must not depend on the load
        old = signal.signal(signal.SIGVTALRM, _alarm)
        signal.setitimer(signal.ITIMER_VIRTUAL, budget)
        try:
            ms = flowq_ref.evaluate(q, records)
        except Timeout:
            continue
        finally:
            signal.setitimer(signal.ITIMER_VIRTUAL, 0)
            signal.signal(signal.SIGVTALRM, old)
        if len(ms) > MAX_MATCHES:
            continue
        if ms or attempt == 3 or r.random() < 0.12:
            return attempt, text, q, ms
    return None


# --------------------------------------------------------------------------
# Comparison

def match_key(m):
    return tuple(sorted((b, tuple(g.get("rec_ids", []))) for b, g in m["groups"].items()))


def key_text(k):
    return " ".join("%s:%s" % (b, list(ids)) for b, ids in k)


def same_value(ref, eng):
    if isinstance(ref, bool) or isinstance(eng, bool):
        return ref == eng
    if isinstance(ref, float):      # avg: a real number, 1e-9 relative
        if isinstance(eng, bool) or not isinstance(eng, (int, float)):
            return False
        if ref == eng:
            return True
        return abs(ref - eng) <= 1e-9 * max(abs(ref), abs(eng))
    if isinstance(ref, list):
        if not isinstance(eng, list):
            return False
        return (sorted(json.dumps(x) for x in ref) == sorted(json.dumps(x) for x in eng))
    return type(ref) == type(eng) and ref == eng


def compare_groups(rg, eg):
    """Differences between a reference group object and the engine's."""
    out = []
    for k in sorted(set(rg) | set(eg)):
        if k not in eg:
            out.append("field %s missing (reference: %s)" % (k, json.dumps(rg[k])))
        elif k not in rg:
            out.append("field %s not expected (engine: %s)" % (k, json.dumps(eg[k])))
        elif not same_value(rg[k], eg[k]):
            out.append("field %s: reference %s, engine %s"
                       % (k, json.dumps(rg[k]), json.dumps(eg[k])))
    return out


def parse_output(data):
    """Match objects of flowq's --json output; (matches, problems)."""
    ms, probs = [], []
    for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            o = json.loads(line)
        except ValueError:
            probs.append("output line %d is not JSON: %.100s" % (n, line))
            continue
        if not isinstance(o, dict) or "groups" not in o:
            probs.append("output line %d is not a match: %.100s" % (n, line))
            continue
        ms.append(o)
    return ms, probs


def compare(ref, eng, query, strict_order=True):
    """A list of difference lines (empty = agree).  strict_order: batch
    (order, numbering and record attribution must agree); otherwise only
    the set of matches, their groups and the set of printed records."""
    d = []
    name = query["name"]
    ungroup = query.get("ungrouper", True)
    rk = [match_key(m) for m in ref]
    ek = [match_key(m) for m in eng]
    rset, eset = set(rk), set(ek)
    if len(eset) != len(ek):
        seen = set()
        for k in ek:
            if k in seen:
                d.append("match printed twice: %s" % key_text(k))
            seen.add(k)
    missing = [k for k in rk if k not in eset]
    extra = [k for k in ek if k not in rset]
    for k in missing[:5]:
        d.append("missing match (reference has it): %s" % key_text(k))
    if len(missing) > 5:
        d.append("... %d more missing matches" % (len(missing) - 5))
    for k in extra[:5]:
        d.append("unexpected match (engine only): %s" % key_text(k))
    if len(extra) > 5:
        d.append("... %d more unexpected matches" % (len(extra) - 5))
    rby = {match_key(m): m for m in ref}
    nd = 0
    for n, m in enumerate(eng, 1):
        k = match_key(m)
        if m.get("query") != name:
            d.append("match %d: query %r, expected %r" % (n, m.get("query"), name))
        if strict_order and m.get("match") != n:
            d.append("match %d: numbered %r" % (n, m.get("match")))
        if k not in rby:
            continue
        rm = rby[k]
        if m.get("time") != rm["time"]:
            d.append("match %s: time %r, reference %r" % (key_text(k), m.get("time"), rm["time"]))
        for b in sorted(rm["groups"]):
            diffs = compare_groups(rm["groups"][b], m["groups"].get(b, {}))
            for x in diffs:
                if nd < 12:
                    d.append("match %s, group %s: %s" % (key_text(k), b, x))
                nd += 1
        if not ungroup and "records" in m:
            d.append("match %s has records but the query has no ungrouper" % key_text(k))
        if ungroup:
            recs = m.get("records")
            if not isinstance(recs, list):
                d.append("match %s: no records array" % key_text(k))
                continue
            ids = [x.get("rec_id") for x in recs]
            byid = {x["rec_id"]: x for x in rm["records"]}
            if strict_order:
                want = [x["rec_id"] for x in rm["records"]]
                if ids != want:
                    d.append("match %s: records %s, reference %s" % (key_text(k), ids, want))
            else:
                srt = sorted(recs, key=lambda x: (x.get("stime", 0), x.get("rec_id", 0)))
                if recs != srt:
                    d.append("match %s: records not in (stime, rec_id) order: %s"
                             % (key_text(k), ids))
            for x in recs:
                want = byid.get(x.get("rec_id"))
                if want is not None and want != x:
                    d.append("match %s: record %s differs from flowq print: %s"
                             % (key_text(k), x.get("rec_id"),
                                ", ".join("%s=%r/%r" % (f, x.get(f), want.get(f))
                                          for f in sorted(set(x) | set(want))
                                          if x.get(f) != want.get(f))))
    if nd > 12:
        d.append("... %d more group field differences" % (nd - 12))
    if ungroup:
        rp = [x["rec_id"] for m in ref for x in m.get("records", [])]
        ep = [x.get("rec_id") for m in eng for x in m.get("records", []) if isinstance(m.get("records"), list)]
        if len(ep) != len(set(ep)):
            dup = sorted({x for x in ep if ep.count(x) > 1})
            d.append("records printed more than once: %s" % dup[:20])
        if set(rp) != set(ep):
            d.append("printed records: missing %s, unexpected %s"
                     % (sorted(set(rp) - set(ep))[:20], sorted(set(ep) - set(rp))[:20]))
    if strict_order and not d and rk != ek:
        for n, (a, b) in enumerate(zip(rk, ek), 1):
            if a != b:
                d.append("batch order differs first at match %d: reference %s, engine %s"
                         % (n, key_text(a), key_text(b)))
                break
    return d


# --------------------------------------------------------------------------
# One case


def write_case(dirpath, i, text, q, records, ref):
    os.makedirs(dirpath, exist_ok=True)
    with open(os.path.join(dirpath, q["name"] + ".fq"), "w") as f:
        f.write(text)
    with open(os.path.join(dirpath, q["name"] + ".json"), "w") as f:
        json.dump(q, f, indent=1)
        f.write("\n")
    with open(os.path.join(dirpath, "records.jsonl"), "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    with open(os.path.join(dirpath, "reference.jsonl"), "w") as f:
        for m in ref:
            f.write(json.dumps(m, separators=(",", ":")) + "\n")


def run_case(args):
    """Returns a dict: status ok/fail/skip, counts, report text."""
    flowq, mode_name, i, keep, verbose = args
    mode = Mode(mode_name)
    nb, n, stream, late, fmt = mode.params(i)
    tmp = tempfile.mkdtemp(prefix="flowq-diff-")
    res = {"case": i, "status": "ok", "matches": 0, "stream": False, "report": ""}
    try:
        trace = os.path.join(tmp, "trace." + fmt)
        expect = gen.make_trace(i, trace, n, late=late, fmt=fmt)
        src = fmt + ":" + trace
        rc, out, err = run([flowq, "print", "--json", src])
        if rc != 0:
            res.update(status="fail", report="case %d: flowq print failed (%s): %s"
                       % (i, rc, err.decode(errors="replace")))
            return res
        records = [json.loads(x) for x in out.decode().splitlines() if x.strip()]
        bad = [e["rec_id"] for e, p in zip(expect, records)
               if any(p.get(k) != v for k, v in e.items())]
        if len(records) != len(expect) or bad:
            res.update(status="fail", report="case %d: flowq print disagrees with the "
                       "generated trace (records %d/%d, first differing rec_id %s)"
                       % (i, len(records), len(expect), bad[:1]))
            return res
        chosen = choose_query(i, nb, records, REF_BUDGET[mode_name])
        if chosen is None:
            # Counted as not run: the summary then fails (fewer than N ran).
            res.update(status="skip", report="case %d: no query small enough "
                       "(every attempt over %gs of reference CPU or %d matches)"
                       % (i, REF_BUDGET[mode_name], MAX_MATCHES))
            return res
        attempt, text, q, ref = chosen
        res["matches"] = len(ref)
        res["branches"] = nb
        res["records"] = n
        qpath = os.path.join(tmp, q["name"] + ".fq")
        with open(qpath, "w") as f:
            f.write(text)
        with open(os.path.join(tmp, q["name"] + ".json"), "w") as f:
            json.dump(q, f)
        report = []
        rc, out, err = run([flowq, "run", "--batch", "--json", qpath, "-s", src])
        if rc != 0:
            report.append("flowq run --batch exited %s: %s" % (rc, err.decode(errors="replace").strip()[:2000]))
            eng = []
        else:
            eng, probs = parse_output(out)
            report += probs
            report += compare(ref, eng, q, strict_order=True)
        if stream and not report:
            res["stream"] = True
            rc, sout, err = run([flowq, "run", "--json", qpath, "-s", src])
            if rc != 0:
                report.append("flowq run (streaming) exited %s: %s"
                              % (rc, err.decode(errors="replace").strip()[:2000]))
            else:
                seng, probs = parse_output(sout)
                report += ["streaming: " + x for x in probs + compare(ref, seng, q, strict_order=False)]
        if not report:
            report += early_check(flowq, qpath, src, out, ["--batch"])
        if stream and not report:
            report += early_check(flowq, qpath, src, sout, [])
        if verbose:
            sys.stdout.write("=== case %d (attempt %d, %d branches, %d records, %d matches)\n%s\n"
                             % (i, attempt, nb, n, len(ref), text))
            sys.stdout.write("--- reference\n")
            for m in ref:
                sys.stdout.write(json.dumps(m) + "\n")
            sys.stdout.write("--- engine (batch)\n%s" % out.decode(errors="replace"))
        if report:
            where = os.path.join(keep, "case-%d" % i)
            write_case(where, i, text, q, records, ref)
            shutil.copy(trace, os.path.join(where, os.path.basename(trace)))
            with open(os.path.join(where, "engine.jsonl"), "wb") as f:
                f.write(out)
            head = ("=" * 72 + "\nMISMATCH case %d (mode %s, query attempt %d, %d branches, "
                    "%d records, %s%s, %d reference matches)\nflowq run --batch --json %s -s %s\n"
                    % (i, mode_name, attempt, nb, n, fmt, " with late records" if late else "",
                       len(ref), os.path.basename(qpath), fmt + ":" + os.path.basename(trace)))
            body = "\n".join("  " + x for x in report)
            repro = ("saved in %s\nreproduce: %s %s --flowq %s --%s --case %d -v\n"
                     "reference alone: %s %s %s %s\n"
                     % (where, sys.executable, os.path.join(HERE, "difftest.py"), flowq,
                        mode_name, i, sys.executable, os.path.join(HERE, "flowq_ref.py"),
                        os.path.join(where, q["name"] + ".json"),
                        os.path.join(where, "records.jsonl")))
            res.update(status="fail", report=head + "query:\n" + text + "differences:\n"
                       + body + "\n" + repro)
            with open(os.path.join(where, "report.txt"), "w") as f:
                f.write(res["report"])
        return res
    except Exception as e:   # a harness or reference error is a failure too
        import traceback
        res.update(status="fail", report="case %d: harness error: %s\n%s"
                   % (i, e, traceback.format_exc()))
        return res
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


EARLY_MEMBER = re.compile(rb',"early":[0-9]+,"time":')


def early_check(flowq, qpath, src, plain, mode):
    """--early (SPEC section 5): with the early matches and retractions
    taken out and the "early" member of the final matches removed, the
    output is byte for byte the run's without --early; and every early
    match is settled exactly once, by a final match or a retraction."""
    rc, out, err = run([flowq, "run", "--json", "--early"] + mode + [qpath, "-s", src])
    what = "--early %s" % " ".join(mode)
    if rc != 0:
        return ["%s exited %s: %s" % (what, rc, err.decode(errors="replace").strip()[:500])]
    def ident(m):   # a tuple is known by its groups' first records
        return tuple(sorted((b, g["rec_ids"][0]) for b, g in m["groups"].items()))
    finals, early, settled, final_ids = [], {}, [], set()
    retracted, confirmed = [], []
    for line in out.splitlines(keepends=True):
        m = json.loads(line)
        if "retract" in m:
            settled.append(m["retract"])
            retracted.append(m["retract"])
        elif "match" in m:
            finals.append(EARLY_MEMBER.sub(b',"time":', line))
            final_ids.add(ident(m))
            if "early" in m:
                settled.append(m["early"])
                confirmed.append((m["early"], ident(m)))
        else:
            early[m["early"]] = ident(m)
    probs = []
    for e, i in confirmed:
        if early.get(e) != i:
            probs.append("%s: final match names early %d of another tuple" % (what, e))
    for e in retracted:
        if early.get(e) in final_ids:
            probs.append("%s: early %d retracted, yet its tuple is a final match"
                         % (what, e))
    if b"".join(finals) != plain:
        probs.append("%s: the final matches differ from the run without it" % what)
    if sorted(settled) != sorted(early) or len(settled) != len(set(settled)):
        probs.append("%s: early matches %d, settled %d (%d distinct)"
                     % (what, len(early), len(settled), len(set(settled))))
    return probs


def late_check(flowq, keep):
    """A trace with records exported 5-8 minutes after their end: the
    streaming run must count them as late (a counter whose key contains
    "late" is non-zero)."""
    tmp = tempfile.mkdtemp(prefix="flowq-late-")
    try:
        trace = os.path.join(tmp, "late.ft")
        gen.make_trace("late", trace, 400, late=True)
        q = os.path.join(tmp, "late.fq")
        with open(q, "w") as f:
            f.write("splitter S {}\n"
                    "grouper g {\n    module m {\n        srcip = srcip\n"
                    "        etime < stime rdelta 1s\n    }\n"
                    "    aggregate srcip, count(rec_id) as n\n}\n"
                    "ungrouper U {}\n"
                    "S branch A -> g -> U\n")
        rc, out, err = run([flowq, "run", "--json", "--stats-json", q, "-s", "ft:" + trace])
        if rc != 0:
            return "late check: flowq run --stats-json exited %s: %s" % (
                rc, err.decode(errors="replace")[:2000])
        found = []

        def walk(o, path):
            if isinstance(o, dict):
                for k, v in o.items():
                    walk(v, path + [str(k)])
            elif isinstance(o, list):
                for n, v in enumerate(o):
                    walk(v, path + [str(n)])
            elif isinstance(o, (int, float)) and not isinstance(o, bool):
                if any("late" in p.lower() for p in path):
                    found.append((".".join(path), o))

        text = err.decode(errors="replace")
        objs = 0
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    walk(json.loads(line), [])
                    objs += 1
                except ValueError:
                    pass
        if objs == 0:
            try:
                walk(json.loads(text), [])
                objs = 1
            except ValueError:
                pass
        if objs == 0:
            return "late check: no JSON object on stderr of --stats-json:\n" + text[:2000]
        if not any(v > 0 for _, v in found):
            return ("late check: no non-zero counter named *late* (found: %s)"
                    % (found or "no key containing 'late'"))
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv):
    ap = argparse.ArgumentParser(description="differential tests: flowq run vs reference")
    ap.add_argument("--flowq", required=True)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true")
    g.add_argument("--long", action="store_true")
    ap.add_argument("--cases", type=int)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--keep", default="difftest-failures")
    ap.add_argument("--case", type=int)
    ap.add_argument("--max-failures", type=int, default=10)
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args(argv[1:])
    mode = "long" if a.long else "quick"
    cases = a.cases or (5000 if a.long else 2000)
    flowq = os.path.abspath(a.flowq)
    if os.environ.get("FQ_VALGRIND"):
        # tests/run-valgrind: each flowq process runs under memcheck, some
        # 30x slower; 100 cases still cover every query shape generated.
        os.environ["FQ_VG_REAL"] = flowq
        flowq = os.environ["FQ_VALGRIND"]
        cases = min(cases, 100)
        print("under valgrind (FQ_VALGRIND): %d cases" % cases)
    keep = os.path.abspath(a.keep)
    ok, text = flowq_has_run(flowq)
    if not ok:
        print("FAIL: '%s run --help' failed (%s): the differential tests "
              "cannot run" % (flowq, text.splitlines()[0] if text else "no output"))
        return 1
    t0 = time.time()
    if a.case is not None:
        r = run_case((flowq, mode, a.case, keep, a.v))
        print(r["report"] or "case %d: %s (%d matches)" % (a.case, r["status"], r["matches"]))
        return 1 if r["status"] == "fail" else 0
    jobs = [(flowq, mode, i, keep, a.v) for i in range(a.start, a.start + cases)]
    stats = {"ok": 0, "fail": 0, "skip": 0}
    nonempty = streamed = done = 0
    failures = []
    with multiprocessing.Pool(max(1, a.jobs)) as pool:
        for r in pool.imap_unordered(run_case, jobs, chunksize=4):
            done += 1
            stats[r["status"]] += 1
            nonempty += r["matches"] > 0
            streamed += r["stream"]
            if r["status"] == "skip":
                print(r["report"])
            if r["status"] == "fail":
                failures.append(r)
                if len(failures) <= a.max_failures:
                    print(r["report"])
                    sys.stdout.flush()
    late = late_check(flowq, keep)
    if late:
        print(late)
    ran = stats["ok"] + stats["fail"]
    print("difftest %s: %d of %d cases ran (%d with matches, %d also streamed): %d agree, "
          "%d differ, %d without a query; late check %s; %.1fs"
          % (mode, ran, cases, nonempty, streamed, stats["ok"], stats["fail"],
             stats["skip"], "FAILED" if late else "ok", time.time() - t0))
    if ran != cases:
        print("FAIL: %d of the %d cases ran; every case must run" % (ran, cases))
    if failures:
        print("failing cases: %s" % " ".join(str(r["case"]) for r in sorted(failures, key=lambda r: r["case"])[:50]))
    return 1 if failures or late or ran != cases else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
