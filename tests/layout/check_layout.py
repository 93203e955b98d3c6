#!/usr/bin/env python3
"""check_layout.py SRC_ROOT [--report]

The house rules of docs/architecture.md, checked on the source tree:

  floors   every #include "x.h" of a file in folder F names a header of F
           itself or of a floor below F (core 0; grammar, collector 1;
           pipeline 2; src 3) -- the count of upward imports must be 0;
  cycles   no include cycle between files of different folders;
  sizes    no file over 1,000 lines in collector/, grammar/, pipeline/;
           no function over 150 lines outside generated code.

Prints every violation and exits 1 if there is one; --report also prints
the largest files and the longest functions.
"""
import os
import re
import sys

FLOORS = {"core": 0, "grammar": 1, "collector": 1, "pipeline": 2, "src": 3}
MAX_FILE = 1000
MAX_FUNC = 150
SIZED = ("collector", "grammar", "pipeline")


def sources(root):
    for top in FLOORS:
        for d, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if f.endswith((".c", ".h", ".re")):
                    yield os.path.join(d, f)


def top_of(root, path):
    return os.path.relpath(path, root).split(os.sep)[0]


def functions(text):
    """(name, first line, length) of every top-level function body."""
    lines = text.split("\n")
    out = []
    i = 0
    while i < len(lines):
        m = re.match(r"^([A-Za-z_]\w*)\(", lines[i])
        if m and i > 0 and lines[i - 1].strip() and \
                not lines[i - 1].rstrip().endswith((";", "}", "*/")) and \
                not lines[i - 1].startswith("#"):
            start = i - 1
            j = i
            while j < len(lines) and lines[j] != "{" and \
                    not lines[j].rstrip().endswith(";"):
                j += 1
            if j < len(lines) and lines[j] == "{":
                k = j
                while k < len(lines) and lines[k] != "}":
                    k += 1
                out.append((m.group(1), start + 1, k - start + 1))
                i = k
        i += 1
    return out


def main():
    root = os.path.abspath(sys.argv[1])
    report = "--report" in sys.argv
    headers = {}     # basename -> [path]
    files = list(sources(root))
    for p in files:
        if p.endswith(".h"):
            headers.setdefault(os.path.basename(p), []).append(p)
    bad = []
    edges = {}       # path -> set of included paths (other folders)
    for p in files:
        top = top_of(root, p)
        text = open(p, encoding="utf-8", errors="replace").read()
        for inc in re.findall(r'^#include "([^"]+)"', text, re.M):
            cands = headers.get(os.path.basename(inc), [])
            # a header of the file's own folder wins, as the compiler's
            # search order has it (own directory first)
            own = [c for c in cands if top_of(root, c) == top]
            if own or not cands:
                continue
            dst = cands[0]
            dtop = top_of(root, dst)
            if FLOORS[dtop] > FLOORS[top] or (FLOORS[dtop] == FLOORS[top]
                                              and dtop != top):
                bad.append("upward import: %s includes %s (%s)" % (
                    os.path.relpath(p, root), inc, dtop))
            edges.setdefault(p, set()).add(dst)
        n = text.count("\n")
        if top in SIZED and n > MAX_FILE:
            bad.append("file over %d lines: %s (%d)" % (
                MAX_FILE, os.path.relpath(p, root), n))
        if p.endswith(".c"):
            for name, line, length in functions(text):
                if length > MAX_FUNC:
                    bad.append("function over %d lines: %s:%d %s (%d)" % (
                        MAX_FUNC, os.path.relpath(p, root), line, name,
                        length))
    # cycles across folders: a path back to the start through edges
    def reach(a, b, seen):
        for n in edges.get(a, ()):
            if n == b:
                return True
            if n not in seen:
                seen.add(n)
                if reach(n, b, seen):
                    return True
        return False
    for a, outs in edges.items():
        for b in outs:
            if reach(b, a, set()):
                bad.append("include cycle across folders: %s <-> %s" % (
                    os.path.relpath(a, root), os.path.relpath(b, root)))
    ups = sum(1 for b in bad if b.startswith("upward"))
    cyc = sum(1 for b in bad if b.startswith("include cycle"))
    print("upward imports: %d; include cycles across folders: %d" % (ups, cyc))
    if report:
        sizes = sorted(((open(p).read().count("\n"), os.path.relpath(p, root))
                        for p in files), reverse=True)[:10]
        print("largest files:")
        for n, p in sizes:
            print("  %5d %s" % (n, p))
        funcs = []
        for p in files:
            if p.endswith(".c"):
                for name, line, length in functions(open(p).read()):
                    funcs.append((length, "%s:%d %s" % (
                        os.path.relpath(p, root), line, name)))
        print("longest functions:")
        for n, f in sorted(funcs, reverse=True)[:10]:
            print("  %5d %s" % (n, f))
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
